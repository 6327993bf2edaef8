//! Evidence of equivocation: a validator that signed two different proposals, or two different
//! votes of one kind, in one round. The consensus engine detects it and never lets it break
//! safety; the node keeps it in the store (beside the chain, not in state) as proof against the
//! validator, for operators and for governance to act on.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Batch, Store, prefix_end};
use sigil_core::types::{Hash, Height, PublicKey, Signature, decode, encode};

// Store key prefix of evidence, by height.
use crate::prefixes::EVIDENCE as PREFIX;

/// What was signed twice.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum EquivocationKind {
    DoubleProposal,
    DoublePrevote,
    DoublePrecommit,
}

/// Two conflicting messages of one validator in one round.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Equivocation {
    pub validator: PublicKey,
    pub height: Height,
    pub round: u32,
    pub kind: EquivocationKind,
    /// The two block ids it signed (`None`: a vote for nil).
    pub values: [Option<Hash>; 2],
    /// Its signatures of the two messages.
    pub signatures: [Signature; 2],
}

impl Equivocation {
    fn key(&self) -> Vec<u8> {
        // One entry per pair of messages: observing the same pair again overwrites it.
        let pair = Hash::of(&encode(&(&self.kind, &self.round, &self.signatures)));
        [
            PREFIX,
            &self.height.to_be_bytes(),
            &self.validator.0,
            &pair.0,
        ]
        .concat()
    }
}

/// Stores `found` in one flushed batch.
pub fn record(store: &dyn Store, found: &[Equivocation]) -> Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::default();
    for evidence in found {
        batch.put(evidence.key(), encode(evidence));
    }
    store.apply(batch)?;
    store.flush()
}

/// The evidence recorded, oldest height first, at most `limit`.
pub fn list(store: &dyn Store, limit: usize) -> Result<Vec<Equivocation>> {
    store
        .scan(PREFIX, &prefix_end(PREFIX), limit)?
        .into_iter()
        .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt("evidence", e)))
        .collect()
}
