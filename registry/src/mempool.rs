//! Transactions waiting for a block: bounded, first in first out, at most one per (signer,
//! nonce) and with each signer's nonces consecutive, so every block built from the front is valid.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use crate::error::TxError;
use crate::limits::{MAX_MEMPOOL_TXS, MAX_PENDING_PER_SIGNER};
use crate::tx::SignedTx;
use crate::types::{Hash, PublicKey};

/// Why the mempool refused a transaction that is otherwise valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error(transparent)]
    Invalid(#[from] TxError),
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    #[error("the node's mempool is full ({0} transactions); retry in a few seconds")]
    Full(usize),
    #[error("{signer} already has {count} pending transactions; wait for them to be final")]
    TooManyPending { signer: PublicKey, count: usize },
    #[error(
        "this node is a development chain's only block producer (`sigild --dev`), which cannot hand blocks over to other validators; change validators on a network (`sigil localnet up`)"
    )]
    DevChainValidators,
    #[error("the node could not check the transaction: {0}; see the node's log")]
    Internal(String),
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<SignedTx>,
    ids: HashSet<Hash>,
    /// Per signer: the nonce its next transaction must carry, and how many it has pending.
    pending: HashMap<PublicKey, (u64, usize)>,
}

#[derive(Default)]
pub struct Mempool {
    inner: Mutex<Inner>,
}

impl Mempool {
    /// The nonce `signer`'s next transaction must carry, if it has transactions pending.
    pub fn pending_nonce(&self, signer: &PublicKey) -> Option<u64> {
        self.lock().pending.get(signer).map(|(next, _)| *next)
    }

    /// Whether the signer has transactions pending.
    pub fn has_pending(&self, signer: &PublicKey) -> bool {
        self.lock().pending.contains_key(signer)
    }

    pub fn contains(&self, id: &Hash) -> bool {
        self.lock().ids.contains(id)
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a transaction whose signature and operation were already checked. `state_nonce` is
    /// the signer's nonce in the final state.
    pub fn add(&self, stx: SignedTx, state_nonce: u64) -> Result<Hash, MempoolError> {
        let mut inner = self.lock();
        let id = stx.id();
        if inner.ids.contains(&id) {
            return Err(MempoolError::Duplicate(id));
        }
        if inner.queue.len() >= MAX_MEMPOOL_TXS {
            return Err(MempoolError::Full(MAX_MEMPOOL_TXS));
        }
        let signer = stx.tx.signer;
        let (expected, count) = inner
            .pending
            .get(&signer)
            .copied()
            .unwrap_or((state_nonce, 0));
        if stx.tx.nonce != expected {
            return Err(TxError::BadNonce {
                signer,
                expected,
                got: stx.tx.nonce,
            }
            .into());
        }
        if count >= MAX_PENDING_PER_SIGNER {
            return Err(MempoolError::TooManyPending { signer, count });
        }
        inner.pending.insert(signer, (expected + 1, count + 1));
        inner.ids.insert(id);
        inner.queue.push_back(stx);
        Ok(id)
    }

    /// The oldest `max` transactions, left in place until `remove` is called for them.
    pub fn peek(&self, max: usize) -> Vec<SignedTx> {
        self.lock().queue.iter().take(max).cloned().collect()
    }

    /// Removes transactions that are final (or were dropped). The removed ones must be the
    /// oldest of their signers.
    pub fn remove(&self, txs: &[SignedTx]) {
        let mut inner = self.lock();
        let gone: HashSet<Hash> = txs.iter().map(SignedTx::id).collect();
        inner.queue.retain(|t| !gone.contains(&t.id()));
        for stx in txs {
            inner.ids.remove(&stx.id());
            if let Some((_, count)) = inner.pending.get_mut(&stx.tx.signer) {
                *count -= 1;
                if *count == 0 {
                    inner.pending.remove(&stx.tx.signer);
                }
            }
        }
    }

    /// Drops every pending transaction of `signer` (after one of them turned out invalid, the
    /// rest cannot apply either). Returns what was dropped.
    pub fn drop_signer(&self, signer: &PublicKey) -> Vec<SignedTx> {
        let mut inner = self.lock();
        let (dropped, kept): (Vec<_>, Vec<_>) =
            inner.queue.drain(..).partition(|t| t.tx.signer == *signer);
        inner.queue = kept.into();
        for t in &dropped {
            inner.ids.remove(&t.id());
        }
        inner.pending.remove(signer);
        dropped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("mempool lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{Op, Transaction};
    use crate::types::Keypair;

    fn tx(key: &Keypair, nonce: u64) -> SignedTx {
        Transaction {
            chain_id: "c".into(),
            signer: key.public(),
            nonce,
            stamp: 0,
            op: Op::NameCommit {
                commitment: Hash([nonce as u8; 32]),
            },
        }
        .sign(key)
    }

    #[test]
    fn nonces_must_follow_on() {
        let pool = Mempool::default();
        let key = Keypair::generate();
        assert!(pool.add(tx(&key, 0), 0).is_ok());
        assert!(matches!(
            pool.add(tx(&key, 0), 0),
            Err(MempoolError::Duplicate(_))
        ));
        assert!(matches!(
            pool.add(tx(&key, 2), 0),
            Err(MempoolError::Invalid(TxError::BadNonce { expected: 1, .. }))
        ));
        assert!(pool.add(tx(&key, 1), 0).is_ok());
        assert_eq!(pool.pending_nonce(&key.public()), Some(2));
        let front = pool.peek(1);
        pool.remove(&front);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.pending_nonce(&key.public()), Some(2));
        pool.remove(&pool.peek(10));
        assert_eq!(pool.pending_nonce(&key.public()), None);
        // A replay of a final nonce is refused against the state nonce.
        assert!(matches!(
            pool.add(tx(&key, 1), 2),
            Err(MempoolError::Invalid(TxError::BadNonce { .. }))
        ));
    }
}
