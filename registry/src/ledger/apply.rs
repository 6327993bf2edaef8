//! The ledger's write path: execute a block's transactions against the tip, build its header,
//! and commit it with its commit certificate as one atomic batch: flushed at once, or applied
//! to the sync group and flushed with it.

use sigil_core::block::{Block, Commit, Header, tx_root};
use sigil_core::state::{ValidatorSet, execute_block_checked, keys};
use sigil_core::tx::SignedTx;
use sigil_core::types::{Hash, PublicKey, decode, encode};

use super::{
    Ledger, PRUNE_ENTRIES_PER_BLOCK, Prepared, Receipt, StoredBlock, StoredHeader, Tip, block_key,
    header_key, prefix,
};
use crate::error::{Error, Result};
use crate::store::Batch;
use crate::tree::StateTree;

impl Prepared {
    /// The validator set the block hands over to, if its execution changed the set.
    pub fn next_validators_hash(&self) -> Result<Option<Hash>> {
        match self.execution.writes.get(keys::VALIDATORS) {
            Some(Some(bytes)) => {
                let set: ValidatorSet =
                    decode(bytes).map_err(|e| Error::corrupt("validator set", e))?;
                Ok(Some(set.hash()))
            }
            _ => Ok(None),
        }
    }
}

impl Ledger {
    /// Executes `txs` as the block after the tip and computes its state root. Signatures
    /// verified before (at admission, in an earlier execution) are not verified again; the
    /// others are verified on every core first.
    pub fn prepare(&self, txs: &[SignedTx]) -> Result<Prepared> {
        let tip = self.head();
        let height = tip.height + 1;
        let signatures = self.signatures.check_block(txs);
        let execution = execute_block_checked(
            &self.head_state(),
            self.params(),
            height,
            txs,
            |index, _| signatures.holds[index],
        )?;
        let mut batch = Batch::default();
        let state_root =
            StateTree::new(self.work()).update(height, &execution.writes, &mut batch)?;
        Ok(Prepared {
            height,
            state_root,
            tx_root: tx_root(txs),
            execution,
            base: tip.hash,
            batch,
            tx_ids: signatures.ids,
        })
    }

    /// The header of a prepared block, proposed by `proposer` at `time_ms`.
    pub fn header(&self, prepared: &Prepared, proposer: PublicKey, time_ms: u64) -> Result<Header> {
        let tip = self.head();
        let validators_hash = self.head_validators()?.hash();
        let next_validators_hash = prepared.next_validators_hash()?.unwrap_or(validators_hash);
        Ok(Header {
            chain_id: self.params().chain_id.clone(),
            height: prepared.height,
            time_ms: time_ms.max(tip.time_ms),
            prev_hash: prepared.base,
            tx_root: prepared.tx_root,
            state_root: prepared.state_root,
            validators_hash,
            next_validators_hash,
            proposer,
        })
    }

    /// Commits a prepared block with its commit certificate: one atomic batch (with the blocks
    /// of the sync group, if any), flushed, then the new tip becomes visible.
    pub fn commit(&self, prepared: Prepared, block: Block, commit: Commit) -> Result<()> {
        self.commit_unflushed(prepared, block, commit)?;
        self.flush_group()?;
        Ok(())
    }

    /// Commits a prepared block with its commit certificate to the sync group: the next block
    /// executes on it, but it is neither durable nor visible to clients (nor the tip) before
    /// [`Ledger::flush_group`]. A crash before that loses it, and the blocks before it in the
    /// group, whole.
    pub fn commit_unflushed(&self, prepared: Prepared, block: Block, commit: Commit) -> Result<()> {
        let header = &block.header;
        let tip = self.head();
        let mismatch = |what: &str| {
            Error::invalid(format!(
                "block {} does not match its execution: {what}",
                header.height
            ))
        };
        if prepared.base != tip.hash
            || header.prev_hash != tip.hash
            || header.height != tip.height + 1
        {
            return Err(mismatch("it does not extend the current tip"));
        }
        if header.state_root != prepared.state_root {
            return Err(mismatch("state root"));
        }
        if header.tx_root != tx_root(&block.txs) || header.tx_root != prepared.tx_root {
            return Err(mismatch("transaction root"));
        }
        // Signatures the engine verified (votes as they came, a synced certificate before it
        // decided) are remembered: only the others are verified here.
        commit
            .verify_with(
                header,
                &self.head_validators()?,
                |key, message, signature| {
                    self.signatures().check_signature(key, message, signature)
                },
            )
            .map_err(|e| Error::invalid(e.to_string()))?;

        let Prepared {
            height,
            execution,
            mut batch,
            tx_ids,
            ..
        } = prepared;
        // The ids are the block's: its transaction root is the prepared one's.
        for (index, (id, outcome)) in tx_ids.iter().zip(&execution.outcomes).enumerate() {
            let receipt = Receipt {
                height,
                index: index as u32,
                error: outcome.as_ref().err().map(|e| e.to_string()),
            };
            batch.put([prefix::RECEIPT, &id.0].concat(), encode(&receipt));
        }
        crate::snapshots::index_block(self.work(), height, &execution.index, &mut batch)?;
        for (key, value) in execution.index {
            batch.put(key, value);
        }
        if height > self.prune_window_blocks {
            StateTree::new(self.work()).prune(
                height - self.prune_window_blocks,
                PRUNE_ENTRIES_PER_BLOCK,
                &mut batch,
            )?;
        }
        let new_tip = Tip::of(header);
        batch.put(
            header_key(height),
            encode(&StoredHeader {
                header: header.clone(),
                commit: Some(commit.clone()),
            }),
        );
        batch.put(
            block_key(height),
            encode(&StoredBlock {
                block,
                commit: Some(commit),
            }),
        );
        batch.put(prefix::TIP.to_vec(), height.to_be_bytes().to_vec());
        self.work().apply(batch)?;
        self.group_applied(new_tip, execution.writes.into_keys().collect());
        Ok(())
    }
}
