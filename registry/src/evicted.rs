//! The transactions the mempool evicted (to stay within its bounds, or because they no longer
//! apply), remembered by id (the newest [`MAX_EVICTED_REMEMBERED`], in memory only) so their
//! status says why they left instead of `unknown`.

use std::collections::{HashMap, VecDeque};

use sigil_core::limits::MAX_EVICTED_REMEMBERED;
use sigil_core::types::Hash;

/// Why a pending transaction was evicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvictionReason {
    /// The pool was full and a transaction with more work took its place.
    MempoolFull,
    /// After a block it no longer applied (another transaction took what it needed): the
    /// error it would have failed with.
    NoLongerApplies(String),
    /// An earlier pending transaction of its signer no longer applied, so neither could it.
    EarlierDropped,
}

impl EvictionReason {
    /// What the transaction's status says, with what its sender can do.
    pub fn explain(&self) -> String {
        match self {
            EvictionReason::MempoolFull => "the mempool was full; send it again".to_string(),
            EvictionReason::NoLongerApplies(error) => {
                format!("it no longer applies after the last block: {error}")
            }
            EvictionReason::EarlierDropped => {
                "an earlier pending transaction of its signer no longer applies; send it again \
                 once that is sorted out"
                    .to_string()
            }
        }
    }
}

/// Recently evicted transaction ids, oldest forgotten first.
#[derive(Debug)]
pub struct Evicted {
    order: VecDeque<Hash>,
    reasons: HashMap<Hash, EvictionReason>,
    capacity: usize,
}

impl Default for Evicted {
    fn default() -> Self {
        Evicted::with_capacity(MAX_EVICTED_REMEMBERED)
    }
}

impl Evicted {
    fn with_capacity(capacity: usize) -> Evicted {
        Evicted {
            order: VecDeque::new(),
            reasons: HashMap::new(),
            capacity,
        }
    }

    /// Remembers that `id` was evicted for `reason`, forgetting the oldest beyond the bound.
    pub fn record(&mut self, id: Hash, reason: EvictionReason) {
        if self.reasons.insert(id, reason).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.reasons.remove(&old);
            }
        }
    }

    /// Why `id` was evicted, if it was recently.
    pub fn reason(&self, id: &Hash) -> Option<EvictionReason> {
        self.reasons.get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_evictions_are_remembered_within_the_bound() {
        let mut evicted = Evicted::with_capacity(3);
        let ids: Vec<Hash> = (0..5u8).map(|n| Hash([n; 32])).collect();
        for id in &ids {
            evicted.record(*id, EvictionReason::MempoolFull);
        }
        // Evicted twice (sent again, evicted again): one entry.
        evicted.record(ids[4], EvictionReason::MempoolFull);
        assert_eq!(evicted.order.len(), 3);
        assert_eq!(evicted.reasons.len(), 3);
        assert_eq!(evicted.reason(&ids[0]), None);
        assert_eq!(evicted.reason(&ids[1]), None);
        for id in &ids[2..] {
            assert_eq!(evicted.reason(id), Some(EvictionReason::MempoolFull));
        }
    }
}
