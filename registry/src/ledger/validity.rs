//! Whether a block can be the next one, by the ledger's rules: its header names this chain,
//! extends the tip, is built by a validator of the current set, keeps time (not before its
//! parent; not beyond the clock drift from the caller's clock, never read here, unless the
//! block is already decided), and is within the block limits; and executing it gives the roots
//! its header claims.

use sigil_core::block::{Block, Header, tx_root};
use sigil_core::limits::{MAX_BLOCK_BYTES, MAX_CLOCK_DRIFT_MS, MAX_TXS_PER_BLOCK};
use sigil_core::types::encode;

use super::{Ledger, Prepared};
use crate::error::Result;

impl Ledger {
    /// Why `block` cannot follow the head (the tip, or the sync group's last block), judged at
    /// `now_ms` (unix milliseconds); `None`: it may be executed. A decided block (synced with
    /// its commit certificate) is judged without a clock (`now_ms` `None`): the validators
    /// that decided it judged its time, and a node whose clock is behind must still follow.
    pub fn block_problem(&self, block: &Block, now_ms: Option<u64>) -> Result<Option<String>> {
        let tip = self.head();
        let validators = self.head_validators()?;
        let header = &block.header;
        let problem = if header.chain_id != self.genesis().chain_id() {
            Some(format!("it is for chain `{}`", header.chain_id))
        } else if header.height != tip.height + 1 || header.prev_hash != tip.hash {
            Some("it does not extend our tip".to_string())
        } else if validators.power_of(&header.proposer).is_none() {
            Some(format!(
                "its header names {}, not a validator",
                header.proposer
            ))
        } else if header.validators_hash != validators.hash() {
            Some("it names another validator set".to_string())
        } else if header.time_ms < tip.time_ms {
            Some("its time is before its parent's".to_string())
        } else if let Some(now_ms) = now_ms
            && header.time_ms > now_ms + MAX_CLOCK_DRIFT_MS
        {
            Some(format!(
                "its time is {} ms ahead of this validator's clock (at most {MAX_CLOCK_DRIFT_MS} ms allowed)",
                header.time_ms - now_ms
            ))
        } else if block.txs.len() > MAX_TXS_PER_BLOCK || encode(block).len() > MAX_BLOCK_BYTES {
            Some("it is too large".to_string())
        } else if header.tx_root != tx_root(&block.txs) {
            Some("its transaction root is wrong".to_string())
        } else {
            None
        };
        Ok(problem)
    }

    /// Why the execution `prepared` contradicts `header` (its state root, or the validator set
    /// it hands over to); `None`: the header is what executing its block gives.
    pub fn execution_problem(
        &self,
        prepared: &Prepared,
        header: &Header,
    ) -> Result<Option<String>> {
        if prepared.state_root != header.state_root {
            return Ok(Some(format!(
                "executing it gives state root {}, not {}",
                prepared.state_root, header.state_root
            )));
        }
        let next_validators = match prepared.next_validators_hash()? {
            Some(hash) => hash,
            None => self.head_validators()?.hash(),
        };
        if header.next_validators_hash != next_validators {
            return Ok(Some(format!(
                "it hands over to validator set {}, but executing it gives set {next_validators}",
                header.next_validators_hash
            )));
        }
        Ok(None)
    }
}
