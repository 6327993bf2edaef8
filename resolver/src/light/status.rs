//! The light resolver's `/v1/status`: the full node's shape, with what it trusts and how its
//! peers stand.

use sigil_core::api::{ChainStatus, LightStatus};
use sigil_core::block::{Genesis, Tip};
use sigil_core::time::now_ms;

use super::Light;

impl Light {
    /// The status `/v1/status` serves, in the full node's shape: the newest verified header
    /// as the tip, the trusted set as the validators, and the light resolver's own fields.
    pub fn status(&self, genesis: &Genesis) -> ChainStatus {
        let snapshot = self.current();
        let trust = self.trust.lock().expect("trust lock poisoned").clone();
        let (tip, age) = match &snapshot {
            Some(s) => (
                Tip::of(&s.header),
                now_ms().saturating_sub(s.header.time_ms) / 1000,
            ),
            None => (
                Tip {
                    height: 0,
                    hash: sigil_core::types::Hash::ZERO,
                    state_root: sigil_core::types::Hash::ZERO,
                    time_ms: genesis.genesis_time_ms,
                },
                now_ms().saturating_sub(genesis.genesis_time_ms) / 1000,
            ),
        };
        ChainStatus {
            chain_id: self.chain_id.clone(),
            genesis_hash: genesis.hash(),
            tip,
            params: genesis.params.clone(),
            validators: trust.validators,
            last_validator_change: None,
            pending_validator_changes: Vec::new(),
            mempool_txs: 0,
            mempool_bytes: 0,
            network: None,
            consensus: None,
            sync: None,
            mempool_recheck: None,
            light: Some(LightStatus {
                trusted_height: self.trusted_height(),
                trusted_age_secs: age,
                max_age_secs: self.max_age_secs,
                fresh: self.is_fresh(),
                peers: self.peers.standings(),
            }),
        }
    }
}
