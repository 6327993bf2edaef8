//! What a node reports about its own work in `/v1/status`: the consensus round it is in, and
//! what re-checking the mempool cost after the last block.

use std::sync::Mutex;

use sigil_core::api::{ConsensusRound, MempoolRecheck};
use sigil_core::types::Hash;

#[derive(Default)]
pub struct Activity {
    round: Mutex<Option<ConsensusRound>>,
    recheck: Mutex<Option<MempoolRecheck>>,
}

impl Activity {
    /// The consensus engine started `round` of `height`.
    pub fn started_round(&self, height: u64, round: u32) {
        *self.round.lock().expect("activity lock poisoned") = Some(ConsensusRound {
            height,
            round,
            proposal: None,
        });
    }

    /// This node holds `proposal`, checked, for `round` of `height` (kept only if that is the
    /// round the engine is in).
    pub fn holds_proposal(&self, height: u64, round: u32, proposal: Hash) {
        if let Some(current) = self.round.lock().expect("activity lock poisoned").as_mut()
            && (current.height, current.round) == (height, round)
        {
            current.proposal = Some(proposal);
        }
    }

    pub fn round(&self) -> Option<ConsensusRound> {
        *self.round.lock().expect("activity lock poisoned")
    }

    /// The mempool was re-checked after a block.
    pub fn rechecked(&self, recheck: MempoolRecheck) {
        *self.recheck.lock().expect("activity lock poisoned") = Some(recheck);
    }

    pub fn recheck(&self) -> Option<MempoolRecheck> {
        *self.recheck.lock().expect("activity lock poisoned")
    }
}
