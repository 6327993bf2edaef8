//! Transactions waiting for a block: bounded by count and bytes, overall and per signer; each
//! checked against the pending state (the final state after every pending transaction, in
//! order); under load only transactions with more work are admitted, and when full the least
//! work is evicted first. A signer past its own bound may borrow room the pool does not need;
//! borrowed room is given back first. Blocks are built from the oldest.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use crate::error::Result;
use crate::evicted::{Evicted, EvictionReason};
use sigil_core::error::TxError;
use sigil_core::limits::{
    MAX_MEMPOOL_BYTES, MAX_MEMPOOL_TXS, MAX_PENDING_BYTES_PER_SIGNER, MAX_PENDING_PER_SIGNER,
    MAX_PENDING_PER_SIGNER_BORROWING, MEMPOOL_PRESSURE_PERMILLE, MEMPOOL_PRESSURE_STEP_PERMILLE,
};
use sigil_core::state::{ChainParams, Overlay, StateRead, apply_pending};
use sigil_core::tx::SignedTx;
use sigil_core::types::{Hash, Height, PublicKey};

/// Why the mempool refused a transaction that is otherwise valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error(transparent)]
    Invalid(#[from] TxError),
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    #[error(
        "this node is under load ({fill_percent}% full) and now admits only transactions whose work stamp has at least {required} leading zero bits (this one has {got}); compute a stamp for {required} bits and submit again (sigil does this itself)"
    )]
    MoreWork {
        required: u32,
        got: u32,
        fill_percent: u32,
    },
    #[error(
        "{signer} already has {count} pending transactions ({bytes} bytes), as many as this node holds of one signer now; wait for some to be final"
    )]
    TooManyPending {
        signer: PublicKey,
        count: usize,
        bytes: usize,
    },
    #[error(
        "this node is a development chain's only block producer (`sigild --dev`), which cannot hand blocks over to other validators; change validators on a network (`sigil localnet up`)"
    )]
    DevChainValidators,
    #[error("the node could not check the transaction: {0}; see the node's log")]
    Internal(String),
}

impl MempoolError {
    /// The stamp bits the node would admit the transaction with, when more work is the answer.
    pub fn required_bits(&self) -> Option<u32> {
        match self {
            MempoolError::MoreWork { required, .. }
            | MempoolError::Invalid(TxError::InsufficientWork { required, .. }) => Some(*required),
            _ => None,
        }
    }

    /// A stable machine-readable code: the API's error code and the metrics' reason.
    pub fn code(&self) -> &'static str {
        match self {
            MempoolError::Invalid(tx) => tx.code(),
            MempoolError::Duplicate(_) => "duplicate",
            MempoolError::MoreWork { .. } => "more_work",
            MempoolError::TooManyPending { .. } => "busy",
            MempoolError::DevChainValidators => "dev_chain_validators",
            MempoolError::Internal(_) => "internal",
        }
    }
}

/// How much the mempool holds, over all signers (`[mempool]` in `sigil.toml`; by default
/// [`MAX_MEMPOOL_TXS`] and [`MAX_MEMPOOL_BYTES`]). Per-signer bounds are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolBounds {
    /// Pending transactions at most.
    pub max_txs: usize,
    /// Bytes of pending transactions at most.
    pub max_bytes: usize,
}

impl Default for MempoolBounds {
    fn default() -> Self {
        MempoolBounds {
            max_txs: MAX_MEMPOOL_TXS,
            max_bytes: MAX_MEMPOOL_BYTES,
        }
    }
}

/// One pending transaction.
struct Entry {
    stx: SignedTx,
    id: Hash,
    bytes: usize,
    /// The work its stamp proves, in bits.
    work: u32,
}

/// One signer's pending transactions, in nonce order (admission order keys).
#[derive(Default)]
struct SignerQueue {
    seqs: VecDeque<u64>,
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    /// Pending transactions by admission order.
    entries: BTreeMap<u64, Entry>,
    ids: HashMap<Hash, u64>,
    signers: HashMap<PublicKey, SignerQueue>,
    /// (work, newest first): the first is the next to evict.
    by_work: BTreeSet<(u32, Reverse<u64>)>,
    bytes: usize,
    /// Signers with more than [`MAX_PENDING_PER_SIGNER`] pending: their transactions past
    /// that many are borrowed room.
    borrowers: HashSet<PublicKey>,
    /// Borrowed transactions over all signers, and their bytes.
    borrowed: usize,
    borrowed_bytes: usize,
    next_seq: u64,
    /// The pending state: every change of the pending transactions over the final state.
    /// After an eviction it may still hold the evicted transactions' changes (their signer's
    /// nonce is restored at once) until the next block rebuilds it.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    bounds: MempoolBounds,
    /// Transactions recently evicted for the bounds.
    evicted: Evicted,
}

#[derive(Default)]
pub struct Mempool {
    inner: Mutex<Inner>,
}

impl Mempool {
    /// Sets how much the pool holds (before the node admits anything; a smaller bound takes
    /// effect as transactions leave).
    pub fn set_bounds(&self, bounds: MempoolBounds) {
        self.lock().bounds = bounds;
    }

    /// The nonce `signer`'s next transaction must carry, if it has transactions pending.
    pub fn pending_nonce(&self, signer: &PublicKey) -> Option<u64> {
        let inner = self.lock();
        let queue = inner.signers.get(signer)?;
        let last = queue.seqs.back()?;
        Some(inner.entries[last].stx.tx.nonce + 1)
    }

    /// Whether the signer has transactions pending.
    pub fn has_pending(&self, signer: &PublicKey) -> bool {
        self.lock().signers.contains_key(signer)
    }

    pub fn contains(&self, id: &Hash) -> bool {
        self.lock().ids.contains_key(id)
    }

    /// Why `id` was evicted, if it was recently (and is not pending again).
    pub fn evicted(&self, id: &Hash) -> Option<EvictionReason> {
        self.lock().evicted.reason(id)
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the pending transactions.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The stamp bits this node now asks of a transaction beyond what the chain asks: none
    /// below the pressure threshold, then one more for each step of fill (local policy, never
    /// consensus).
    pub fn pressure_bits(&self) -> u32 {
        pressure_bits(self.lock().fill_permille())
    }

    /// Admits a transaction whose signature and stamp were checked against the chain's rules:
    /// its nonce must follow on the signer's pending ones and its operation must apply to the
    /// pending state (over `state`, the final state, as in the block at `height`). Under load
    /// its stamp must carry the extra bits of [`Mempool::pressure_bits`]; when full it must
    /// carry more work than the least-work pending transaction, which is evicted with its
    /// signer's later ones.
    pub fn add<S: StateRead>(
        &self,
        stx: SignedTx,
        state: &S,
        params: &ChainParams,
        height: Height,
    ) -> Result<std::result::Result<Hash, MempoolError>> {
        let mut inner = self.lock();
        let id = stx.id();
        if inner.ids.contains_key(&id) {
            return Ok(Err(MempoolError::Duplicate(id)));
        }
        let bytes = stx.to_bytes().len();
        let signer = stx.tx.signer;
        if let Some(queue) = inner.signers.get(&signer)
            && (queue.bytes + bytes > MAX_PENDING_BYTES_PER_SIGNER
                || (queue.seqs.len() >= MAX_PENDING_PER_SIGNER
                    && !inner.may_borrow(queue.seqs.len(), bytes)))
        {
            return Ok(Err(MempoolError::TooManyPending {
                signer,
                count: queue.seqs.len(),
                bytes: queue.bytes,
            }));
        }
        let work = stx.tx.work_bits();
        let fill = inner.fill_permille();
        let required = stx
            .tx
            .required_bits(&params.work)
            .saturating_add(pressure_bits(fill));
        // Borrowed room is given back before more work is asked.
        let full = inner.full_without_borrowed_for(bytes);
        let least = inner.by_work.first().map(|(w, _)| *w).unwrap_or(0);
        let required = if full {
            required.max(least + 1)
        } else {
            required
        };
        if work < required {
            return Ok(Err(MempoolError::MoreWork {
                required,
                got: work,
                fill_percent: (fill / 10) as u32,
            }));
        }
        // The operation must apply to the pending state before anything is evicted for it.
        let pending = Overlay::with_writes(state, std::mem::take(&mut inner.writes));
        let mut scratch = Overlay::new(&pending);
        let verdict = apply_pending(&mut scratch, params, height, &stx);
        let changes = scratch.into_writes();
        inner.writes = pending.into_writes();
        if let Err(e) = verdict? {
            return Ok(Err(e.into()));
        }
        while inner.full_for(bytes) {
            // Borrowed room first: another signer's transactions past its own bound, newest
            // first, whatever their work.
            if let Some(&borrower) = inner.borrowers.iter().find(|b| **b != signer) {
                let first_borrowed = inner.signers[&borrower].seqs[MAX_PENDING_PER_SIGNER];
                let evicted = inner.evict_from(&borrower, first_borrowed);
                tracing::debug!(%borrower, evicted = evicted.len(), "evicted borrowed pending transactions");
                for id in evicted {
                    inner.evicted.record(id, EvictionReason::MempoolFull);
                }
                continue;
            }
            // The least work of another signer (evicting one of this signer's own would
            // break its nonce sequence).
            let victim = inner
                .by_work
                .iter()
                .find(|(_, Reverse(seq))| inner.entries[seq].stx.tx.signer != signer)
                .map(|&(least, Reverse(seq))| (least, seq));
            let Some((least, seq)) = victim.filter(|(least, _)| *least < work) else {
                return Ok(Err(MempoolError::MoreWork {
                    required: least.max(victim.map_or(0, |v| v.0)) + 1,
                    got: work,
                    fill_percent: (fill / 10) as u32,
                }));
            };
            let victim = inner.entries[&seq].stx.tx.signer;
            let evicted = inner.evict_from(&victim, seq);
            tracing::debug!(%victim, evicted = evicted.len(), work, least, "evicted least-work pending transactions");
            for id in evicted {
                inner.evicted.record(id, EvictionReason::MempoolFull);
            }
        }
        inner.writes.extend(changes);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.insert(
            seq,
            Entry {
                stx,
                id,
                bytes,
                work,
            },
        );
        Ok(Ok(id))
    }

    /// The oldest transactions, at most `max_txs` of them and `max_bytes` in all, left in place
    /// until a block commits them.
    pub fn peek(&self, max_txs: usize, max_bytes: usize) -> Vec<SignedTx> {
        let inner = self.lock();
        let mut budget = max_bytes;
        inner
            .entries
            .values()
            .take(max_txs)
            .take_while(|e| {
                let fits = e.bytes <= budget;
                budget = budget.saturating_sub(e.bytes);
                fits
            })
            .map(|e| e.stx.clone())
            .collect()
    }

    /// After a block: forgets its transactions, then rebuilds the pending state over the new
    /// final `state` by applying the rest in order as in the block at `height`; a transaction
    /// that no longer applies (its nonce was used by another block, its name was taken, its
    /// reveal window passed) is dropped with its signer's later ones. Returns how many were
    /// dropped that way.
    pub fn rebuild<S: StateRead>(
        &self,
        included: &[SignedTx],
        state: &S,
        params: &ChainParams,
        height: Height,
    ) -> Result<usize> {
        let mut inner = self.lock();
        for stx in included {
            if let Some(seq) = inner.ids.get(&stx.id()).copied() {
                inner.remove(seq);
            }
        }
        let mut pending = Overlay::new(state);
        let mut doomed: Vec<(PublicKey, u64, String)> = Vec::new();
        let mut failed: HashSet<PublicKey> = HashSet::new();
        for (seq, entry) in &inner.entries {
            let signer = entry.stx.tx.signer;
            if failed.contains(&signer) {
                continue;
            }
            if let Err(e) = apply_pending(&mut pending, params, height, &entry.stx)? {
                tracing::debug!(tx = %entry.id, %signer, error = %e, "dropping a pending transaction that no longer applies");
                failed.insert(signer);
                doomed.push((signer, *seq, e.to_string()));
            }
        }
        let writes = pending.into_writes();
        let mut dropped = 0;
        for (signer, seq, error) in doomed {
            let ids = inner.evict_from(&signer, seq);
            dropped += ids.len();
            inner.record_dropped(ids, error);
        }
        inner.writes = writes;
        Ok(dropped)
    }

    /// Drops every pending transaction of `signer` (after the first turned out invalid with
    /// `error`, the rest cannot apply either). Returns what was dropped.
    pub fn drop_signer(&self, signer: &PublicKey, error: &str) -> Vec<SignedTx> {
        let mut inner = self.lock();
        let Some(first) = inner
            .signers
            .get(signer)
            .and_then(|q| q.seqs.front().copied())
        else {
            return Vec::new();
        };
        let seqs: Vec<u64> = inner.signers[signer].seqs.iter().copied().collect();
        let txs = seqs.iter().map(|s| inner.entries[s].stx.clone()).collect();
        let ids = inner.evict_from(signer, first);
        inner.record_dropped(ids, error.to_string());
        txs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("mempool lock poisoned")
    }
}

impl Inner {
    /// Remembers why `ids` (one signer's, oldest first) left: the first no longer applied with
    /// `error`, the rest followed it.
    fn record_dropped(&mut self, ids: Vec<Hash>, error: String) {
        let mut reason = EvictionReason::NoLongerApplies(error);
        for id in ids {
            self.evicted.record(
                id,
                std::mem::replace(&mut reason, EvictionReason::EarlierDropped),
            );
        }
    }

    /// How full the pool is without borrowed room, by count or by bytes, whichever is fuller,
    /// in thousandths: what the work asked of everyone follows.
    fn fill_permille(&self) -> usize {
        let by_count = (self.entries.len() - self.borrowed) * 1000 / self.bounds.max_txs.max(1);
        let by_bytes = (self.bytes - self.borrowed_bytes) * 1000 / self.bounds.max_bytes.max(1);
        by_count.max(by_bytes)
    }

    /// Whether one more transaction of `bytes` would exceed the bounds.
    fn full_for(&self, bytes: usize) -> bool {
        self.entries.len() >= self.bounds.max_txs || self.bytes + bytes > self.bounds.max_bytes
    }

    /// Whether one more transaction of `bytes` would exceed the bounds once every borrowed
    /// transaction is evicted.
    fn full_without_borrowed_for(&self, bytes: usize) -> bool {
        self.entries.len() - self.borrowed >= self.bounds.max_txs
            || self.bytes - self.borrowed_bytes + bytes > self.bounds.max_bytes
    }

    /// Whether a signer with `pending` transactions (at least its own bound) may borrow room
    /// for one more of `bytes`: below [`MAX_PENDING_PER_SIGNER_BORROWING`], and only while the
    /// whole pool, borrowed room included, stays under the pressure threshold after it.
    fn may_borrow(&self, pending: usize, bytes: usize) -> bool {
        let max = |bound: usize| bound.max(1);
        pending < MAX_PENDING_PER_SIGNER_BORROWING
            && (self.entries.len() + 1) * 1000 / max(self.bounds.max_txs)
                < MEMPOOL_PRESSURE_PERMILLE
            && (self.bytes + bytes) * 1000 / max(self.bounds.max_bytes) < MEMPOOL_PRESSURE_PERMILLE
    }

    fn insert(&mut self, seq: u64, entry: Entry) {
        let signer = entry.stx.tx.signer;
        let queue = self.signers.entry(signer).or_default();
        queue.seqs.push_back(seq);
        queue.bytes += entry.bytes;
        if queue.seqs.len() > MAX_PENDING_PER_SIGNER {
            self.borrowed += 1;
            self.borrowed_bytes += entry.bytes;
            self.borrowers.insert(signer);
        }
        self.bytes += entry.bytes;
        self.ids.insert(entry.id, seq);
        self.by_work.insert((entry.work, Reverse(seq)));
        self.entries.insert(seq, entry);
    }

    /// Removes one transaction (the oldest of its signer, or one being evicted from the end).
    fn remove(&mut self, seq: u64) -> Option<Entry> {
        let entry = self.entries.remove(&seq)?;
        self.ids.remove(&entry.id);
        self.by_work.remove(&(entry.work, Reverse(seq)));
        self.bytes -= entry.bytes;
        let signer = entry.stx.tx.signer;
        if let Some(queue) = self.signers.get_mut(&signer) {
            // Blocks take a signer's oldest, evictions its newest.
            let at = if queue.seqs.front() == Some(&seq) {
                Some(0)
            } else if queue.seqs.back() == Some(&seq) {
                Some(queue.seqs.len() - 1)
            } else {
                queue.seqs.iter().position(|s| *s == seq)
            };
            if let Some(at) = at {
                if queue.seqs.len() > MAX_PENDING_PER_SIGNER {
                    // One fewer borrowed: this one, or the first borrowed, which now fits.
                    let returned = if at >= MAX_PENDING_PER_SIGNER {
                        entry.bytes
                    } else {
                        self.entries[&queue.seqs[MAX_PENDING_PER_SIGNER]].bytes
                    };
                    self.borrowed -= 1;
                    self.borrowed_bytes -= returned;
                }
                queue.seqs.remove(at);
            }
            queue.bytes -= entry.bytes;
            if queue.seqs.len() <= MAX_PENDING_PER_SIGNER {
                self.borrowers.remove(&signer);
            }
            if queue.seqs.is_empty() {
                self.signers.remove(&signer);
            }
        }
        Some(entry)
    }

    /// Removes `signer`'s transaction `seq` and its later ones (their nonces cannot apply
    /// without it) and restores the signer's nonce in the pending state. Returns their ids.
    fn evict_from(&mut self, signer: &PublicKey, seq: u64) -> Vec<Hash> {
        let Some(queue) = self.signers.get(signer) else {
            return Vec::new();
        };
        let Some(at) = queue.seqs.iter().position(|s| *s == seq) else {
            return Vec::new();
        };
        let doomed: Vec<u64> = queue.seqs.iter().skip(at).copied().collect();
        let first_nonce = self.entries[&seq].stx.tx.nonce;
        let ids = doomed
            .iter()
            .filter_map(|s| self.remove(*s))
            .map(|e| e.id)
            .collect();
        self.writes.insert(
            sigil_core::state::keys::nonce(signer),
            Some(sigil_core::types::encode(&first_nonce)),
        );
        ids
    }
}

/// Extra stamp bits asked at a fill of `permille`: none below the pressure threshold, then one
/// more per step.
fn pressure_bits(permille: usize) -> u32 {
    if permille < MEMPOOL_PRESSURE_PERMILLE {
        return 0;
    }
    1 + ((permille - MEMPOOL_PRESSURE_PERMILLE) / MEMPOOL_PRESSURE_STEP_PERMILLE) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_core::state::keys;
    use sigil_core::tx::{Op, Transaction, WorkParams};
    use sigil_core::types::{Keypair, encode};

    /// A final state held in memory.
    #[derive(Default)]
    struct Memory(BTreeMap<Vec<u8>, Vec<u8>>);

    impl StateRead for Memory {
        fn get(&self, key: &[u8]) -> sigil_core::Result<Option<Vec<u8>>> {
            Ok(self.0.get(key).cloned())
        }
    }

    fn params() -> ChainParams {
        ChainParams {
            chain_id: "c".into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: 1,
            reveal_max_blocks: 10,
            name_ttl_blocks: 100,
            grace_blocks: 10,
            block_interval_ms: 10,
            work: WorkParams::default(),
        }
    }

    fn tx(key: &Keypair, nonce: u64, tag: u64, bits: u32) -> SignedTx {
        let mut tx = Transaction {
            chain_id: "c".into(),
            signer: key.public(),
            nonce,
            stamp: 0,
            op: Op::NameCommit {
                commitment: Hash::of(&tag.to_le_bytes()),
            },
        };
        assert!(tx.find_stamp(bits, |_| true));
        tx.sign(key)
    }

    fn add(
        pool: &Mempool,
        state: &Memory,
        stx: SignedTx,
    ) -> std::result::Result<Hash, MempoolError> {
        pool.add(stx, state, &params(), 1).unwrap()
    }

    #[test]
    fn nonces_follow_on_and_operations_apply_to_the_pending_state() {
        let pool = Mempool::default();
        let state = Memory::default();
        let key = Keypair::generate();
        assert!(add(&pool, &state, tx(&key, 0, 1, 0)).is_ok());
        assert!(matches!(
            add(&pool, &state, tx(&key, 0, 1, 0)),
            Err(MempoolError::Duplicate(_))
        ));
        assert!(matches!(
            add(&pool, &state, tx(&key, 2, 2, 0)),
            Err(MempoolError::Invalid(TxError::BadNonce { expected: 1, .. }))
        ));
        // The second transaction is dry-run on the state after the first: the same commitment
        // again is refused; from another key it is that key's own commitment.
        assert!(matches!(
            add(&pool, &state, tx(&key, 1, 1, 0)),
            Err(MempoolError::Invalid(TxError::DuplicateCommit { .. }))
        ));
        let other = Keypair::generate();
        assert!(add(&pool, &state, tx(&other, 0, 1, 0)).is_ok());
        assert!(add(&pool, &state, tx(&key, 1, 2, 0)).is_ok());
        assert_eq!(pool.pending_nonce(&key.public()), Some(2));

        // A block with the first: the rest stays and still applies.
        let first = pool.peek(1, usize::MAX);
        let mut state = state;
        state.0.insert(keys::nonce(&key.public()), encode(&1u64));
        assert_eq!(pool.rebuild(&first, &state, &params(), 2).unwrap(), 0);
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.pending_nonce(&key.public()), Some(2));
        // Another block used the key's next nonce: its pending transaction is dropped.
        state.0.insert(keys::nonce(&key.public()), encode(&2u64));
        let dropped = pool.peek(2, usize::MAX)[1].id();
        assert_eq!(pool.rebuild(&[], &state, &params(), 3).unwrap(), 1);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.pending_nonce(&key.public()), None);
        // Its status says why it left.
        let reason = pool
            .evicted(&dropped)
            .expect("a dropped transaction is remembered");
        assert!(
            reason
                .explain()
                .starts_with("it no longer applies after the last block: "),
            "{reason:?}"
        );
        // A replay of a final nonce is refused against the state nonce.
        assert!(matches!(
            add(&pool, &state, tx(&key, 1, 9, 0)),
            Err(MempoolError::Invalid(TxError::BadNonce { .. }))
        ));
    }

    #[test]
    fn under_load_more_work_is_asked_and_the_least_work_evicted() {
        assert_eq!(pressure_bits(0), 0);
        assert_eq!(pressure_bits(MEMPOOL_PRESSURE_PERMILLE - 1), 0);
        assert_eq!(pressure_bits(MEMPOOL_PRESSURE_PERMILLE), 1);
        assert!(pressure_bits(1000) > pressure_bits(MEMPOOL_PRESSURE_PERMILLE));

        let pool = Mempool::default();
        let state = Memory::default();
        // Fill the pool past the threshold by hand, with the least work.
        let filler = Keypair::generate();
        {
            let mut inner = pool.lock();
            for seq in 0..MAX_MEMPOOL_TXS as u64 {
                let stx = tx(&filler, seq, 0, 0);
                let entry = Entry {
                    id: Hash::of(&seq.to_le_bytes()),
                    bytes: 100,
                    work: 0,
                    stx,
                };
                let signer = Keypair::generate().public();
                let mut entry = entry;
                entry.stx.tx.signer = signer;
                inner.insert(seq, entry);
            }
            inner.next_seq = MAX_MEMPOOL_TXS as u64;
        }
        let honest = Keypair::generate();
        // A stamp with no work at all.
        let mut weak = tx(&honest, 0, 7, 0);
        while weak.tx.work_bits() > 0 {
            weak.tx.stamp += 1;
        }
        let refused = add(&pool, &state, weak.tx.sign(&honest)).unwrap_err();
        let required = refused
            .required_bits()
            .expect("the refusal names the work asked");
        assert!(required >= pressure_bits(1000), "{refused}");
        assert!(
            refused
                .to_string()
                .contains(&format!("{required} leading zero bits"))
        );
        let id = add(&pool, &state, tx(&honest, 0, 7, required)).unwrap();
        assert!(pool.contains(&id));
        assert_eq!(pool.len(), MAX_MEMPOOL_TXS);
        // The newest of the least work went first.
        assert!(
            !pool
                .lock()
                .entries
                .contains_key(&(MAX_MEMPOOL_TXS as u64 - 1))
        );
        assert!(pool.lock().entries.contains_key(&0));
    }

    /// Adds `key`'s transactions from `nonce` on until one is refused; returns the refusal.
    fn add_until_refused(
        pool: &Mempool,
        state: &Memory,
        key: &Keypair,
        nonce: &mut u64,
        limit: u64,
    ) -> Option<MempoolError> {
        for _ in 0..limit {
            let stx = tx(key, *nonce, *nonce, pool.pressure_bits());
            match add(pool, state, stx) {
                Ok(_) => *nonce += 1,
                Err(e) => return Some(e),
            }
        }
        None
    }

    #[test]
    fn a_signer_is_bounded() {
        let pool = Mempool::default();
        let state = Memory::default();
        let key = Keypair::generate();
        let refused = add_until_refused(&pool, &state, &key, &mut 0, u64::MAX);
        assert!(
            matches!(refused, Some(MempoolError::TooManyPending { .. })),
            "{refused:?}"
        );
        // An idle pool lends a signer room up to a block's worth.
        assert_eq!(pool.len(), MAX_PENDING_PER_SIGNER_BORROWING);
    }

    #[test]
    fn borrowed_room_asks_no_work_of_others_and_is_given_back_first() {
        let pool = Mempool::default();
        let max_txs = 3 * MAX_PENDING_PER_SIGNER;
        pool.set_bounds(MempoolBounds {
            max_txs,
            max_bytes: MAX_MEMPOOL_BYTES,
        });
        let state = Memory::default();
        // One signer borrows until the whole pool would reach the pressure threshold.
        let borrower = Keypair::generate();
        let mut nonce = 0;
        let refused = add_until_refused(&pool, &state, &borrower, &mut nonce, u64::MAX);
        assert!(
            matches!(refused, Some(MempoolError::TooManyPending { .. })),
            "{refused:?}"
        );
        let lent = max_txs * MEMPOOL_PRESSURE_PERMILLE / 1000 - 1;
        assert_eq!(pool.len(), lent);
        let newest = pool.peek(lent, usize::MAX).last().unwrap().id();
        // Its borrowed transactions do not make the node ask more work of anyone.
        assert_eq!(pool.pressure_bits(), 0);

        // Others fill the pool: the borrowed room goes first, whatever its work.
        let others = [Keypair::generate(), Keypair::generate()];
        for other in &others {
            let refused =
                add_until_refused(&pool, &state, other, &mut 0, MAX_PENDING_PER_SIGNER as u64);
            assert!(refused.is_none(), "{refused:?}");
        }
        assert!(!pool.contains(&newest));
        assert_eq!(pool.evicted(&newest), Some(EvictionReason::MempoolFull));
        let inner = pool.lock();
        assert_eq!(
            inner.signers[&borrower.public()].seqs.len(),
            MAX_PENDING_PER_SIGNER
        );
        assert_eq!((inner.borrowed, inner.borrowed_bytes), (0, 0));
        assert!(inner.borrowers.is_empty());
        assert_eq!(inner.entries.len(), 3 * MAX_PENDING_PER_SIGNER);
        drop(inner);
        // Its own share stays: the borrower is back at its bound, not past it.
        let refused = add_until_refused(&pool, &state, &borrower, &mut nonce, 1);
        assert!(
            matches!(refused, Some(MempoolError::TooManyPending { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn borrowed_counts_follow_blocks_and_evictions() {
        let pool = Mempool::default();
        let state = Memory::default();
        let key = Keypair::generate();
        let extra = 7;
        let mut nonce = 0;
        let refused = add_until_refused(
            &pool,
            &state,
            &key,
            &mut nonce,
            (MAX_PENDING_PER_SIGNER + extra) as u64,
        );
        assert!(refused.is_none(), "{refused:?}");
        let check = |borrowed: usize| {
            let inner = pool.lock();
            assert_eq!(inner.borrowed, borrowed);
            let queue = &inner.signers[&key.public()];
            let bytes: usize = queue
                .seqs
                .iter()
                .skip(MAX_PENDING_PER_SIGNER)
                .map(|s| inner.entries[s].bytes)
                .sum();
            assert_eq!(inner.borrowed_bytes, bytes);
            assert_eq!(inner.borrowers.len(), usize::from(borrowed > 0));
        };
        check(extra);
        // A block takes the oldest three: three borrowed ones now fit.
        let block = pool.peek(3, usize::MAX);
        let mut state = state;
        state.0.insert(keys::nonce(&key.public()), encode(&3u64));
        assert_eq!(pool.rebuild(&block, &state, &params(), 2).unwrap(), 0);
        check(extra - 3);
        // Another block took the key's next nonce elsewhere: everything pending is dropped.
        state.0.insert(keys::nonce(&key.public()), encode(&4u64));
        pool.rebuild(&[], &state, &params(), 3).unwrap();
        assert!(pool.is_empty());
        let inner = pool.lock();
        assert_eq!((inner.borrowed, inner.borrowed_bytes), (0, 0));
    }
}
