//! Transaction signatures checked once: verified ids remembered, unseen ones checked on all cores.
//!
//! The ids of signed transactions whose `verify_strict` check held are remembered (bounded,
//! oldest forgotten first). The key is the transaction id, the hash of the whole signed transaction (signature
//! included), so a remembered id stands for exactly the bytes that were verified: a verdict
//! taken from here is the one `verify_strict` gives, and a block executes the same whether its
//! transactions were seen before or not. Only signatures that hold are remembered; a bad one
//! is checked (and fails) every time.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use sigil_core::error::TxError;
use sigil_core::limits::{PARALLEL_VERIFY_MIN, SIGNATURE_CACHE_IDS};
use sigil_core::tx::{Op, SignedTx, Transaction};
use sigil_core::types::{Hash, Keypair, PublicKey, Signature};

/// Separates remembered consensus signatures from transaction ids in one memory.
const CONSENSUS_SIGNATURE_DOMAIN: &[u8] = b"sigil/remembered-consensus-signature/v1";

/// A transaction's signature verdicts for one block, in block order, with the transactions'
/// ids (computed once for both the check and the block's receipts).
pub struct BlockSignatures {
    pub ids: Vec<Hash>,
    pub holds: Vec<bool>,
}

pub struct SignatureCache {
    inner: Mutex<Remembered>,
    capacity: usize,
}

#[derive(Default)]
struct Remembered {
    ids: HashSet<Hash>,
    /// Admission order: the front is forgotten first.
    order: VecDeque<Hash>,
}

impl std::fmt::Debug for SignatureCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureCache")
            .field("remembered", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for SignatureCache {
    fn default() -> Self {
        SignatureCache::new(SIGNATURE_CACHE_IDS)
    }
}

impl SignatureCache {
    /// A cache that remembers at most `capacity` ids.
    pub fn new(capacity: usize) -> SignatureCache {
        SignatureCache {
            inner: Mutex::new(Remembered::default()),
            capacity: capacity.max(1),
        }
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.lock().ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` is remembered as the id of a signed transaction whose signature holds.
    pub fn knows(&self, id: &Hash) -> bool {
        self.lock().ids.contains(id)
    }

    /// The stateless checks of a transaction ([`SignedTx::check_stateless`]), its signature
    /// verified only if not remembered, and remembered once it holds.
    pub fn check(&self, stx: &SignedTx, chain_id: &str) -> Result<(), TxError> {
        stx.check_envelope(chain_id)?;
        let id = stx.id();
        if self.knows(&id) {
            return Ok(());
        }
        if !stx.signature_holds() {
            return Err(TxError::BadSignature {
                signer: stx.tx.signer,
            });
        }
        self.remember(std::iter::once(id));
        Ok(())
    }

    /// Whether `signature` by `key` over `message` holds (`verify_strict`): answered from memory
    /// for a signature verified before, and remembered once it holds. For consensus messages
    /// (votes, commit certificates), so that a precommit verified when it arrived, or a synced
    /// commit certificate verified by the engine, is not verified again when its block is
    /// committed. Remembered under a hash of the key, signature and message, kept apart from
    /// transaction ids by its domain.
    pub fn check_signature(&self, key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
        let id = Hash(
            *blake3::Hasher::new()
                .update(CONSENSUS_SIGNATURE_DOMAIN)
                .update(&key.0)
                .update(&signature.0)
                .update(message)
                .finalize()
                .as_bytes(),
        );
        if self.knows(&id) {
            return true;
        }
        let holds = key.verify(message, signature);
        if holds {
            self.remember(std::iter::once(id));
        }
        holds
    }

    /// Whether each signature of `txs` holds: remembered ones at once, the others verified
    /// on every core (and remembered if they hold).
    pub fn check_block(&self, txs: &[SignedTx]) -> BlockSignatures {
        let ids = in_parallel(txs, |stx| stx.id());
        let mut holds: Vec<bool> = {
            let inner = self.lock();
            ids.iter().map(|id| inner.ids.contains(id)).collect()
        };
        let unseen: Vec<usize> = (0..txs.len()).filter(|&i| !holds[i]).collect();
        let verdicts = in_parallel(&unseen, |&i| txs[i].signature_holds());
        for (&i, verdict) in unseen.iter().zip(&verdicts) {
            holds[i] = *verdict;
        }
        self.remember(
            unseen
                .iter()
                .zip(&verdicts)
                .filter(|(_, holds)| **holds)
                .map(|(&i, _)| ids[i]),
        );
        BlockSignatures { ids, holds }
    }

    fn remember(&self, ids: impl IntoIterator<Item = Hash>) {
        let mut inner = self.lock();
        for id in ids {
            if inner.ids.insert(id) {
                inner.order.push_back(id);
            }
        }
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.ids.remove(&old);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.inner.lock().expect("signature cache lock poisoned")
    }
}

/// This machine's ed25519 `verify_strict` rate, the reference benchmarks print beside their
/// throughput (signature checks bound every transaction rate).
#[derive(Debug, Clone, Copy)]
pub struct VerifyRate {
    /// Checks per second on one core.
    pub one_core: f64,
    /// Checks per second on every core at once.
    pub all_cores: f64,
    pub cores: usize,
}

impl VerifyRate {
    /// Measures it on `count` transactions signed by distinct keys (key decoding included, as
    /// the node checks each transaction): once on one core, then four rounds on every core.
    pub fn measure(count: usize) -> VerifyRate {
        let signed: Vec<SignedTx> = (0..count)
            .map(|i| {
                let key = Keypair::generate();
                Transaction {
                    chain_id: "bench".into(),
                    signer: key.public(),
                    nonce: 0,
                    stamp: 0,
                    op: Op::NameCommit {
                        commitment: Hash::of(&(i as u64).to_be_bytes()),
                    },
                }
                .sign(&key)
            })
            .collect();
        let check = |part: &[SignedTx]| {
            for stx in part {
                assert!(
                    stx.signature_holds(),
                    "a freshly signed transaction must verify"
                );
            }
        };
        let started = Instant::now();
        check(&signed);
        let one_core = count as f64 / started.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let rounds = 4;
        let started = Instant::now();
        for _ in 0..rounds {
            std::thread::scope(|scope| {
                for part in signed.chunks(count.div_ceil(cores).max(1)) {
                    scope.spawn(move || check(part));
                }
            });
        }
        let all_cores = (rounds * count) as f64 / started.elapsed().as_secs_f64();
        VerifyRate {
            one_core,
            all_cores,
            cores,
        }
    }
}

impl std::fmt::Display for VerifyRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ed25519 verify_strict {:.0}/s on one core, {:.0}/s on {} cores (same run)",
            self.one_core, self.all_cores, self.cores
        )
    }
}

/// `f` of every item, in order, computed on every core when there are enough items.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores == 1 || items.len() < PARALLEL_VERIFY_MIN {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(cores);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .skip(1)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut all: Vec<R> = items[..chunk.min(items.len())].iter().map(f).collect();
        for worker in workers {
            // A panic in `f` is a bug: carry it to the caller as it would on one thread.
            all.extend(
                worker
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_core::tx::{Op, Transaction};
    use sigil_core::types::Keypair;

    fn signed(key: &Keypair, nonce: u64) -> SignedTx {
        Transaction {
            chain_id: "test".into(),
            signer: key.public(),
            nonce,
            stamp: 0,
            op: Op::NameCommit {
                commitment: Hash::of(&nonce.to_be_bytes()),
            },
        }
        .sign(key)
    }

    #[test]
    fn a_block_gets_verify_stricts_verdicts_whatever_was_seen_before() {
        let key = Keypair::generate();
        let txs: Vec<SignedTx> = (0..200).map(|n| signed(&key, n)).collect();
        let mut block = txs.clone();
        // A forged copy of a transaction the cache has seen: same signer, nonce and
        // operation, another signature.
        block[7].signature.0[0] ^= 1;
        block[150].signature.0[5] ^= 0x40;
        let expected: Vec<bool> = block.iter().map(SignedTx::signature_holds).collect();
        assert!(!expected[7] && !expected[150]);

        let fresh = SignatureCache::default();
        let seen = SignatureCache::default();
        assert_eq!(seen.check_block(&txs).holds, vec![true; 200]);
        assert_eq!(seen.len(), 200);
        assert_eq!(fresh.check_block(&block).holds, expected);
        let checked = seen.check_block(&block);
        assert_eq!(checked.holds, expected);
        assert_eq!(
            checked.ids,
            block.iter().map(SignedTx::id).collect::<Vec<_>>()
        );
        // Forged ones are never remembered.
        assert!(!seen.knows(&block[7].id()) && !fresh.knows(&block[150].id()));
        assert_eq!(fresh.len(), 198);
    }

    #[test]
    fn admission_remembers_only_what_holds_and_checks_the_envelope_each_time() {
        let key = Keypair::generate();
        let good = signed(&key, 0);
        let cache = SignatureCache::default();
        assert_eq!(cache.check(&good, "test"), Ok(()));
        assert!(cache.knows(&good.id()));
        // Remembered, yet still refused on another chain.
        assert!(matches!(
            cache.check(&good, "other"),
            Err(TxError::WrongChain { .. })
        ));
        let mut forged = good.clone();
        forged.signature.0[0] ^= 1;
        assert_eq!(
            cache.check(&forged, "test"),
            Err(TxError::BadSignature {
                signer: key.public()
            })
        );
        assert!(!cache.knows(&forged.id()));
    }

    #[test]
    fn the_oldest_ids_are_forgotten_beyond_the_bound() {
        let key = Keypair::generate();
        let cache = SignatureCache::new(3);
        let txs: Vec<SignedTx> = (0..5).map(|n| signed(&key, n)).collect();
        for stx in &txs {
            cache.check(stx, "test").unwrap();
        }
        assert_eq!(cache.len(), 3);
        assert!(!cache.knows(&txs[1].id()) && cache.knows(&txs[2].id()));
    }

    #[test]
    fn a_consensus_signature_is_remembered_only_for_its_own_key_message_and_bytes() {
        let key = Keypair::generate();
        let other = Keypair::generate();
        let cache = SignatureCache::default();
        let signature = key.sign(b"precommit 7");
        assert!(cache.check_signature(&key.public(), b"precommit 7", &signature));
        assert_eq!(cache.len(), 1);
        // Remembered: the same verdict again, without a new entry.
        assert!(cache.check_signature(&key.public(), b"precommit 7", &signature));
        assert_eq!(cache.len(), 1);
        // Another message, another key, or other bytes are verified, and fail.
        assert!(!cache.check_signature(&key.public(), b"precommit 8", &signature));
        assert!(!cache.check_signature(&other.public(), b"precommit 7", &signature));
        let mut forged = signature;
        forged.0[63] ^= 1;
        assert!(!cache.check_signature(&key.public(), b"precommit 7", &forged));
        assert_eq!(cache.len(), 1, "failed checks are never remembered");
    }
}
