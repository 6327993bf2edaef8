//! Governance of the validator set: validators vote for a change (add a key, remove a key); the
//! change takes effect in the block where the votes pass two thirds of the current voting power,
//! and the new set decides every block after that one.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::{IndexEntry, Overlay, StateRead, TxContext, ValidatorSet, Verdict, index, keys};
use crate::error::{Error, Result, TxError};
use crate::limits::{MAX_PENDING_VALIDATOR_CHANGES, MAX_VALIDATOR_POWER, MAX_VALIDATORS};
use crate::tx::ValidatorChange;
use crate::types::{Height, PublicKey, encode};

/// A change some validators have voted for, not yet enough of them.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PendingChange {
    pub change: ValidatorChange,
    /// The validators that voted for it, in the order of their votes.
    pub votes: Vec<PublicKey>,
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

/// The pending changes, oldest first.
pub fn pending(state: &impl StateRead) -> Result<Vec<PendingChange>> {
    Ok(state
        .get_decoded(keys::VALIDATOR_VOTES)?
        .unwrap_or_default())
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
    let mut pending = pending(state)?;
    let position = match pending.iter().position(|p| p.change == *change) {
        Some(position) => position,
        None if pending.len() >= MAX_PENDING_VALIDATOR_CHANGES => reject!(refuse(format!(
            "{MAX_PENDING_VALIDATOR_CHANGES} changes are already pending; vote for one of them or wait until they pass"
        ))),
        None => {
            pending.push(PendingChange {
                change: change.clone(),
                votes: Vec::new(),
            });
            pending.len() - 1
        }
    };
    let entry = &mut pending[position];
    if entry.votes.contains(&signer) {
        reject!(TxError::AlreadyVoted {
            signer,
            change: change.to_string(),
        });
    }
    entry.votes.push(signer);
    let voted: u128 = entry
        .votes
        .iter()
        .filter_map(|key| set.power_of(key))
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
