//! Proposals for heights not yet final, kept in the ledger's store across a crash so the
//! consensus engine can be handed them back (`StartedRound`): by height, round and block hash,
//! flushed when kept, deleted once their height is final or when out of the height window.
//! The ledger stores them as it is given them; which to keep is the consensus app's rule.

use sigil_core::types::Hash;

use super::Ledger;
use crate::error::Result;
use crate::prefixes::UNDECIDED;
use crate::store::{Batch, Store, prefix_end};

/// The store key of a kept proposal: height, round, block hash.
pub(crate) fn undecided_key(height: u64, round: u32, id: &Hash) -> Vec<u8> {
    [
        UNDECIDED,
        &height.to_be_bytes(),
        &round.to_be_bytes(),
        &id.0,
    ]
    .concat()
}

/// How many proposals for heights not yet final `store` holds (what a restart reloads).
pub fn stored_proposals(store: &dyn Store) -> Result<usize> {
    Ok(store
        .scan(UNDECIDED, &prefix_end(UNDECIDED), usize::MAX)?
        .len())
}

/// A kept proposal as the store holds it: its key, to delete it by, and its encoding.
pub struct KeptProposal {
    key: Vec<u8>,
    pub bytes: Vec<u8>,
}

impl Ledger {
    /// Keeps the encoding of a proposal for `height` and `round` whose block hashes to `id`,
    /// flushed before it returns.
    pub fn keep_proposal(&self, height: u64, round: u32, id: &Hash, bytes: Vec<u8>) -> Result<()> {
        let mut batch = Batch::default();
        batch.put(undecided_key(height, round, id), bytes);
        self.store.apply(batch)?;
        self.store.flush()?;
        Ok(())
    }

    /// Deletes the kept proposals of heights up to `height` (now final).
    pub fn forget_proposals_through(&self, height: u64) -> Result<()> {
        let stale = self.store.scan(
            UNDECIDED,
            &undecided_key(height + 1, 0, &Hash::ZERO),
            usize::MAX,
        )?;
        if !stale.is_empty() {
            let mut batch = Batch::default();
            for (key, _) in stale {
                batch.delete(key);
            }
            self.store.apply(batch)?;
        }
        Ok(())
    }

    /// Deletes the kept proposals of `height` and beyond, unread; returns how many there were.
    pub fn drop_proposals_from(&self, height: u64) -> Result<usize> {
        let start = undecided_key(height, 0, &Hash::ZERO);
        let mut dropped = 0usize;
        loop {
            let beyond = self.store.scan(&start, &prefix_end(UNDECIDED), 1024)?;
            if beyond.is_empty() {
                break;
            }
            let mut batch = Batch::default();
            for (key, _) in beyond {
                batch.delete(key);
                dropped += 1;
            }
            self.store.apply(batch)?;
        }
        Ok(dropped)
    }

    /// The kept proposals of heights below `height`, in order of height, round and hash.
    pub fn kept_proposals_below(&self, height: u64) -> Result<Vec<KeptProposal>> {
        Ok(self
            .store
            .scan(
                UNDECIDED,
                &undecided_key(height, 0, &Hash::ZERO),
                usize::MAX,
            )?
            .into_iter()
            .map(|(key, bytes)| KeptProposal { key, bytes })
            .collect())
    }

    /// Deletes `proposals` from the store.
    pub fn delete_proposals(&self, proposals: Vec<KeptProposal>) -> Result<()> {
        if proposals.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        for proposal in proposals {
            batch.delete(proposal.key);
        }
        self.store.apply(batch)
    }

    /// Flushes the store (after kept proposals were deleted).
    pub fn flush_proposals(&self) -> Result<()> {
        self.store.flush()
    }
}
