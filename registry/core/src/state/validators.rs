//! Governance of the validator set: validators vote for a change (add a key, remove a key); the
//! change takes effect in the block where the live votes pass two thirds of the current voting
//! power, and the new set decides every block after that one. A vote counts for
//! `VALIDATOR_VOTE_TTL_BLOCKS` blocks, and each validator has live votes in at most
//! `MAX_PENDING_VOTES_PER_VALIDATOR` pending changes: no validator can crowd out another's
//! votes. Expired votes are dropped when the next vote is cast (no work in blocks without one).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::{IndexEntry, Overlay, StateRead, TxContext, ValidatorSet, Verdict, index, keys};
use crate::error::{Error, Result, TxError};
use crate::limits::{
    MAX_PENDING_VOTES_PER_VALIDATOR, MAX_VALIDATOR_POWER, MAX_VALIDATORS, VALIDATOR_VOTE_TTL_BLOCKS,
};
use crate::tx::ValidatorChange;
use crate::types::{Height, PublicKey, encode};

/// A change some validators have voted for, not yet enough of them.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PendingChange {
    pub change: ValidatorChange,
    /// The votes for it, in the order they were cast.
    pub votes: Vec<PendingVote>,
}

/// One validator's vote for a pending change.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PendingVote {
    pub validator: PublicKey,
    /// The height of the block that holds the vote.
    pub height: Height,
    /// The vote counts while the chain's height is below this.
    pub expires_at: Height,
}

impl PendingVote {
    pub fn is_live_at(&self, height: Height) -> bool {
        height < self.expires_at
    }
}

/// A change that took effect: the set in force from the block after `height`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ValidatorSetChange {
    /// The block whose execution changed the set (decided by the old set).
    pub height: Height,
    pub change: ValidatorChange,
    /// The new set.
    pub validators: ValidatorSet,
}

impl ValidatorSet {
    /// This set with `change` applied, or why it cannot be.
    pub fn with(&self, change: &ValidatorChange) -> std::result::Result<ValidatorSet, String> {
        let mut next = self.clone();
        match change {
            ValidatorChange::Add { key, power } => {
                if self.power_of(key).is_some() {
                    return Err(format!("{key} is already a validator"));
                }
                if !(1..=MAX_VALIDATOR_POWER).contains(power) {
                    return Err(format!(
                        "a validator's power must be from 1 to {MAX_VALIDATOR_POWER}, not {power}"
                    ));
                }
                if self.validators.len() >= MAX_VALIDATORS {
                    return Err(format!(
                        "the set already has the most validators a set may have ({MAX_VALIDATORS})"
                    ));
                }
                next.validators.push(super::Validator {
                    key: *key,
                    power: *power,
                });
            }
            ValidatorChange::Remove { key } => {
                if self.power_of(key).is_none() {
                    return Err(format!("{key} is not a validator"));
                }
                next.validators.retain(|v| v.key != *key);
                if next.validators.is_empty() {
                    return Err("it is the last validator; a chain needs at least one".into());
                }
            }
        }
        Ok(next)
    }
}

/// The pending changes as stored, oldest first (expired votes may linger until the next vote).
pub fn pending(state: &impl StateRead) -> Result<Vec<PendingChange>> {
    Ok(state
        .get_decoded(keys::VALIDATOR_VOTES)?
        .unwrap_or_default())
}

/// The pending changes with the votes that still count at `height`, oldest first.
pub fn pending_at(state: &impl StateRead, height: Height) -> Result<Vec<PendingChange>> {
    let mut changes = pending(state)?;
    drop_expired(&mut changes, height);
    Ok(changes)
}

fn drop_expired(changes: &mut Vec<PendingChange>, height: Height) {
    for change in changes.iter_mut() {
        change.votes.retain(|v| v.is_live_at(height));
    }
    changes.retain(|c| !c.votes.is_empty());
}

/// Records the signer's vote for `change`, and applies the change once the votes pass two
/// thirds of the current set's power. Every other pending vote was cast for the old set and is
/// dropped with it.
pub(super) fn vote<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    change: &ValidatorChange,
) -> Result<Verdict> {
    let signer = context.signer();
    let set: ValidatorSet = state
        .get_decoded(keys::VALIDATORS)?
        .ok_or_else(|| Error::corrupt("validator set", "missing from state"))?;
    if set.power_of(&signer).is_none() {
        reject!(TxError::NotAValidator { signer });
    }
    let refuse = |reason: String| TxError::BadValidatorChange {
        change: change.to_string(),
        reason,
    };
    let next = check!(set.with(change).map_err(refuse));
    let height = context.height;
    let mut pending = pending_at(state, height)?;
    let mine: Vec<&PendingVote> = pending
        .iter()
        .flat_map(|p| p.votes.iter())
        .filter(|v| v.validator == signer)
        .collect();
    if mine.len() >= MAX_PENDING_VOTES_PER_VALIDATOR {
        let expires_at = mine.iter().map(|v| v.expires_at).min().unwrap_or(height);
        reject!(TxError::TooManyVotes {
            signer,
            max: MAX_PENDING_VOTES_PER_VALIDATOR,
            expires_at
        });
    }
    let position = match pending.iter().position(|p| p.change == *change) {
        Some(position) => position,
        None => {
            pending.push(PendingChange {
                change: change.clone(),
                votes: Vec::new(),
            });
            pending.len() - 1
        }
    };
    let entry = &mut pending[position];
    if entry.votes.iter().any(|v| v.validator == signer) {
        reject!(TxError::AlreadyVoted {
            signer,
            change: change.to_string(),
        });
    }
    entry.votes.push(PendingVote {
        validator: signer,
        height,
        expires_at: height + VALIDATOR_VOTE_TTL_BLOCKS,
    });
    let voted: u128 = entry
        .votes
        .iter()
        .filter_map(|v| set.power_of(&v.validator))
        .map(u128::from)
        .sum();
    if voted * 3 <= u128::from(set.total_power()) * 2 {
        state.put(keys::VALIDATOR_VOTES.to_vec(), &pending);
        return Ok(Ok(Vec::new()));
    }
    state.put(keys::VALIDATORS.to_vec(), &next);
    state.delete(keys::VALIDATOR_VOTES.to_vec());
    let record = ValidatorSetChange {
        height: context.height,
        change: change.clone(),
        validators: next,
    };
    Ok(Ok(vec![change_entry(&record, context.index)]))
}

/// The index entry of a change: ordered by height, then by position in the block.
fn change_entry(record: &ValidatorSetChange, position: u32) -> IndexEntry {
    (
        [
            index::VALIDATOR_CHANGES,
            &record.height.to_be_bytes(),
            &position.to_be_bytes(),
        ]
        .concat(),
        encode(record),
    )
}
