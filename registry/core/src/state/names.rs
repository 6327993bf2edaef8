//! Names: commit-reveal registration (with pruning of commitments never revealed), update,
//! transfer, renewal, expiry and grace.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::{ChainParams, IndexEntry, Overlay, StateRead, TxContext, Verdict, index, keys};
use crate::error::{Error, Result, TxError};
use crate::limits::MAX_NAME_TERMS_AHEAD;
use crate::name;
use crate::records::{Record, validate_set};
use crate::tx::name_commitment;
use crate::types::{Hash, Height, PublicKey, encode};

/// A registered name.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct NameEntry {
    pub name: String,
    pub owner: PublicKey,
    pub records: Vec<Record>,
    pub registered_at: Height,
    pub updated_at: Height,
    /// The name resolves while the chain's height is below this.
    pub expires_at: Height,
}

impl NameEntry {
    pub fn is_active_at(&self, height: Height) -> bool {
        height < self.expires_at
    }
}

/// A pending registration commitment, under `commit/<committer><commitment>`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitEntry {
    pub owner: PublicKey,
    pub height: Height,
}

impl CommitEntry {
    /// The last height at which this commitment can be revealed.
    fn last_reveal(&self, params: &ChainParams) -> Height {
        self.height.saturating_add(params.reveal_max_blocks)
    }
}

/// A change to a name, kept in its history.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct NameEvent {
    pub name: String,
    pub height: Height,
    pub tx: Hash,
    pub action: String,
    pub owner: PublicKey,
    pub expires_at: Height,
}

impl NameEvent {
    /// Key of this event in the name's history, ordered by height and position in the block.
    fn index_key(&self, position: u32) -> Vec<u8> {
        [
            history_prefix(&self.name).as_slice(),
            &self.height.to_be_bytes(),
            &position.to_be_bytes(),
        ]
        .concat()
    }
}

/// Store key prefix of every event of `name`.
pub fn history_prefix(name: &str) -> Vec<u8> {
    [index::NAME_HISTORY, name.as_bytes(), &[0]].concat()
}

/// Step one of registration: records the commitment under the key that made it, and files it
/// under the height where its reveal window ends, for pruning.
pub(super) fn commit<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    commitment: &Hash,
) -> Result<Verdict> {
    let committer = context.signer();
    let key = keys::commit(&committer, commitment);
    if let Some(existing) = state.get_decoded::<CommitEntry>(&key)?
        && context.height <= existing.last_reveal(context.params)
    {
        reject!(TxError::DuplicateCommit {
            commitment: commitment.to_string()
        });
    }
    let entry = CommitEntry {
        owner: committer,
        height: context.height,
    };
    let last_reveal = entry.last_reveal(context.params);
    state.put(key, &entry);
    // One commitment per transaction, so one height's list holds at most a block's worth.
    let count_key = keys::commits_ending(last_reveal);
    let slot = state.get_decoded::<u32>(&count_key)?.unwrap_or(0);
    state.put(
        keys::commit_ending(last_reveal, slot),
        &(committer, *commitment),
    );
    state.put(count_key, &(slot + 1));
    Ok(Ok(Vec::new()))
}

/// Deletes, at the start of the block at `height`, every commitment whose reveal window ended
/// at the height before, with its place in the list. The work is bounded by the commitments of
/// one earlier block (at most [`MAX_TXS_PER_BLOCK`](crate::limits::MAX_TXS_PER_BLOCK)), and it
/// depends on the state alone, so the state root stays a function of the blocks.
pub(super) fn prune_commits<S: StateRead>(
    state: &mut Overlay<'_, S>,
    params: &ChainParams,
    height: Height,
) -> Result<()> {
    let Some(ended) = height.checked_sub(1) else {
        return Ok(());
    };
    let count_key = keys::commits_ending(ended);
    let Some(count) = state.get_decoded::<u32>(&count_key)? else {
        return Ok(());
    };
    for slot in 0..count {
        let slot_key = keys::commit_ending(ended, slot);
        let Some((committer, commitment)) = state.get_decoded::<(PublicKey, Hash)>(&slot_key)?
        else {
            return Err(Error::corrupt(
                "commitment list",
                format!("slot {slot} of {count} ending at height {ended} is missing"),
            ));
        };
        let key = keys::commit(&committer, &commitment);
        // Revealed commitments are gone already; one made again since has a later window.
        if let Some(entry) = state.get_decoded::<CommitEntry>(&key)?
            && entry.last_reveal(params) <= ended
        {
            state.delete(key);
        }
        state.delete(slot_key);
    }
    state.delete(count_key);
    Ok(())
}

/// Step two: the reveal of an earlier commitment by the same key, inside its window.
pub(super) fn register<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    name: &str,
    salt: &Hash,
    records: &[Record],
) -> Result<Verdict> {
    let TxContext { params, height, .. } = *context;
    let signer = context.signer();
    let name = check!(name::registrable(name, &params.tlds));
    check!(name::check_not_reserved(&name));
    check!(validate_set(records));
    // Only the signer's own commitment counts: a copy of it under another key is another entry.
    let commit_key = keys::commit(&signer, &name_commitment(&name, salt, &signer));
    let Some(commit) = state.get_decoded::<CommitEntry>(&commit_key)? else {
        reject!(TxError::NoCommit { name });
    };
    let earliest = commit.height.saturating_add(params.reveal_min_blocks);
    let latest = commit.last_reveal(params);
    if height < earliest {
        reject!(TxError::RevealTooEarly {
            name,
            committed_at: commit.height,
            earliest
        });
    }
    if height > latest {
        reject!(TxError::RevealTooLate {
            name,
            committed_at: commit.height,
            latest
        });
    }
    if let Some(existing) = state.get_decoded::<NameEntry>(&keys::name(&name))? {
        if existing.is_active_at(height) {
            reject!(TxError::NameTaken {
                name,
                owner: existing.owner,
                expires_at: existing.expires_at
            });
        }
        let grace_until = existing.expires_at + params.grace_blocks;
        if height < grace_until {
            reject!(TxError::NameInGrace {
                name,
                expired_at: existing.expires_at,
                grace_until
            });
        }
    }
    state.delete(commit_key);
    let entry = NameEntry {
        name: name.clone(),
        owner: signer,
        records: records.to_vec(),
        registered_at: height,
        updated_at: height,
        expires_at: height + params.name_ttl_blocks,
    };
    Ok(Ok(save(state, context, entry, "register")))
}

/// Replaces every record of an active name (owner only).
pub(super) fn update<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    name: &str,
    records: &[Record],
) -> Result<Verdict> {
    let mut entry = check!(owned_active(state, context, name)?);
    check!(validate_set(records));
    entry.records = records.to_vec();
    Ok(Ok(save(state, context, entry, "update")))
}

/// Gives an active name to another key (owner only).
pub(super) fn transfer<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    name: &str,
    new_owner: &PublicKey,
) -> Result<Verdict> {
    let mut entry = check!(owned_active(state, context, name)?);
    entry.owner = *new_owner;
    Ok(Ok(save(state, context, entry, "transfer")))
}

/// Extends a name by the chain's name lifetime, until its grace period ends (owner only), but
/// never to more than [`MAX_NAME_TERMS_AHEAD`] lifetimes past the current height.
pub(super) fn renew<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    name: &str,
) -> Result<Verdict> {
    let mut entry = check!(owned(state, context, name)?);
    let ttl = context.params.name_ttl_blocks;
    let grace_until = entry.expires_at.saturating_add(context.params.grace_blocks);
    if context.height >= grace_until {
        reject!(TxError::NameExpired {
            name: entry.name,
            expired_at: entry.expires_at
        });
    }
    let renewed = entry.expires_at.max(context.height).saturating_add(ttl);
    let furthest = context
        .height
        .saturating_add(ttl.saturating_mul(MAX_NAME_TERMS_AHEAD));
    if renewed > furthest {
        reject!(TxError::RenewTooEarly {
            name: entry.name,
            expires_at: entry.expires_at,
            renewable_from: entry
                .expires_at
                .saturating_sub(ttl.saturating_mul(MAX_NAME_TERMS_AHEAD - 1)),
            max_terms: MAX_NAME_TERMS_AHEAD,
        });
    }
    entry.expires_at = renewed;
    Ok(Ok(save(state, context, entry, "renew")))
}

/// Writes a changed entry and returns its history event.
fn save<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    mut entry: NameEntry,
    action: &str,
) -> Vec<IndexEntry> {
    entry.updated_at = context.height;
    state.put(keys::name(&entry.name), &entry);
    let event = NameEvent {
        name: entry.name,
        height: context.height,
        tx: context.stx.id(),
        action: action.to_string(),
        owner: entry.owner,
        expires_at: entry.expires_at,
    };
    vec![(event.index_key(context.index), encode(&event))]
}

/// The entry of `name` if `signer` owns it (active or not).
pub(super) fn owned(
    state: &impl StateRead,
    context: &TxContext<'_>,
    name: &str,
) -> Result<std::result::Result<NameEntry, TxError>> {
    let signer = &context.signer();
    let name = match name::registrable(name, &context.params.tlds) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e.into())),
    };
    let Some(entry) = state.get_decoded::<NameEntry>(&keys::name(&name))? else {
        return Ok(Err(TxError::NameNotFound { name }));
    };
    if entry.owner != *signer {
        return Ok(Err(TxError::NotOwner {
            name,
            owner: entry.owner,
            signer: *signer,
        }));
    }
    Ok(Ok(entry))
}

/// The entry of `name` if `signer` owns it and it has not expired.
pub(super) fn owned_active(
    state: &impl StateRead,
    context: &TxContext<'_>,
    name: &str,
) -> Result<std::result::Result<NameEntry, TxError>> {
    Ok(owned(state, context, name)?.and_then(|entry| {
        if entry.is_active_at(context.height) {
            Ok(entry)
        } else {
            Err(TxError::NameExpired {
                name: entry.name,
                expired_at: entry.expires_at,
            })
        }
    }))
}
