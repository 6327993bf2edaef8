//! The state machine: a pure function from (state, block height, transactions) to a set of
//! key changes and per-transaction outcomes. No clock, no I/O beyond reading the given state.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::{Error, Result, TxError};
use crate::name;
use crate::records::{Record, validate_set};
use crate::tx::{Op, SignedTx, name_commitment};
use crate::types::{Hash, Height, PublicKey, decode, encode};

/// Keys of the state tree, domain-separated by prefix.
pub mod keys {
    use crate::types::{Hash, PublicKey};

    pub const PARAMS: &[u8] = b"params";
    pub const VALIDATORS: &[u8] = b"validators";

    pub fn name(name: &str) -> Vec<u8> {
        [b"name/".as_slice(), name.as_bytes()].concat()
    }
    pub fn commit(commitment: &Hash) -> Vec<u8> {
        [b"commit/".as_slice(), &commitment.0].concat()
    }
    pub fn nonce(signer: &PublicKey) -> Vec<u8> {
        [b"nonce/".as_slice(), &signer.0].concat()
    }
}

/// Chain parameters, fixed at genesis (later changed only by governance).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ChainParams {
    pub chain_id: String,
    /// Top-level domains under which names are registered, e.g. `["sigil"]`.
    pub tlds: Vec<String>,
    /// A reveal is valid from `commit height + reveal_min_blocks` ...
    pub reveal_min_blocks: u64,
    /// ... up to `commit height + reveal_max_blocks`.
    pub reveal_max_blocks: u64,
    /// A name lives this many blocks after registration or renewal.
    pub name_ttl_blocks: u64,
    /// After expiry, only the owner may renew for this many blocks; then anyone may register.
    pub grace_blocks: u64,
    /// Target time between blocks.
    pub block_interval_ms: u64,
}

/// One validator and its voting power.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Validator {
    pub key: PublicKey,
    pub power: u64,
}

/// The validators of a height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ValidatorSet {
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// The given keys, in that order, with one vote each.
    pub fn equal_power(keys: impl IntoIterator<Item = PublicKey>) -> ValidatorSet {
        ValidatorSet {
            validators: keys
                .into_iter()
                .map(|key| Validator { key, power: 1 })
                .collect(),
        }
    }

    pub fn hash(&self) -> Hash {
        Hash::of(&encode(self))
    }

    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }

    pub fn power_of(&self, key: &PublicKey) -> Option<u64> {
        self.validators
            .iter()
            .find(|v| v.key == *key)
            .map(|v| v.power)
    }
}

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

/// A pending registration commitment.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitEntry {
    pub owner: PublicKey,
    pub height: Height,
}

/// Read access to state as of the last finished block.
pub trait StateRead {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    fn get_decoded<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>>
    where
        Self: Sized,
    {
        self.get(key)?
            .map(|bytes| decode(&bytes).map_err(|e| Error::corrupt("state value", e)))
            .transpose()
    }
}

/// Changes buffered over a base state: what a transaction or a block wrote.
pub struct Overlay<'a, S: StateRead> {
    base: &'a S,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a, S: StateRead> Overlay<'a, S> {
    pub fn new(base: &'a S) -> Self {
        Overlay {
            base,
            writes: BTreeMap::new(),
        }
    }

    fn put<T: BorshSerialize>(&mut self, key: Vec<u8>, value: &T) {
        self.writes.insert(key, Some(encode(value)));
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    pub fn into_writes(self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        self.writes
    }
}

impl<S: StateRead> StateRead for Overlay<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.writes.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(key),
        }
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

/// What executing a block produced.
#[derive(Debug, Default)]
pub struct BlockExecution {
    /// Every state key written, with its new value or `None` for a deletion; sorted.
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// One outcome per transaction, in block order: applied, or failed with the reason.
    pub outcomes: Vec<std::result::Result<(), TxError>>,
    /// Changes to names, for their histories.
    pub events: Vec<NameEvent>,
}

/// The nonce `signer` must use next.
pub fn next_nonce(state: &impl StateRead, signer: &PublicKey) -> Result<u64> {
    Ok(state.get_decoded::<u64>(&keys::nonce(signer))?.unwrap_or(0))
}

/// Executes the transactions of the block at `height` on `state`.
///
/// A transaction with a bad signature, chain id or nonce makes the whole block invalid (a
/// proposer must never include one). A transaction whose operation fails (name taken, not the
/// owner, ...) is kept in the block as failed: its nonce is used, its operation has no effect.
pub fn execute_block(
    state: &impl StateRead,
    params: &ChainParams,
    height: Height,
    txs: &[SignedTx],
) -> Result<BlockExecution> {
    let mut block = Overlay::new(state);
    let mut outcomes = Vec::with_capacity(txs.len());
    let mut events = Vec::new();
    for (index, stx) in txs.iter().enumerate() {
        let invalid = |error: TxError| Error::InvalidTx { index, error };
        stx.check_stateless(&params.chain_id).map_err(invalid)?;
        let expected = next_nonce(&block, &stx.tx.signer)?;
        if stx.tx.nonce != expected {
            return Err(invalid(TxError::BadNonce {
                signer: stx.tx.signer,
                expected,
                got: stx.tx.nonce,
            }));
        }
        let mut tx_overlay = Overlay::new(&block);
        let outcome = apply_op(&mut tx_overlay, params, height, stx)?;
        let writes = tx_overlay.into_writes();
        if let Ok(event) = &outcome {
            block.writes.extend(writes);
            events.extend(event.clone());
        }
        block.put(keys::nonce(&stx.tx.signer), &(expected + 1));
        outcomes.push(outcome.map(|_| ()));
    }
    Ok(BlockExecution {
        writes: block.into_writes(),
        outcomes,
        events,
    })
}

/// Checks a transaction's operation against `state` as if it were in the block at `height`,
/// without keeping any change: the mempool's admission check.
pub fn dry_run(
    state: &impl StateRead,
    params: &ChainParams,
    height: Height,
    stx: &SignedTx,
) -> Result<std::result::Result<(), TxError>> {
    let mut overlay = Overlay::new(state);
    Ok(apply_op(&mut overlay, params, height, stx)?.map(|_| ()))
}

/// Applies one operation. The outer `Result` is a storage failure; the inner one the
/// operation's own verdict. On an inner error the overlay must be discarded.
fn apply_op<S: StateRead>(
    state: &mut Overlay<'_, S>,
    params: &ChainParams,
    height: Height,
    stx: &SignedTx,
) -> Result<std::result::Result<Option<NameEvent>, TxError>> {
    let signer = stx.tx.signer;
    let event = |entry: &NameEntry, action: &str| NameEvent {
        name: entry.name.clone(),
        height,
        tx: stx.id(),
        action: action.to_string(),
        owner: entry.owner,
        expires_at: entry.expires_at,
    };
    macro_rules! reject {
        ($e:expr) => {
            return Ok(Err($e.into()))
        };
    }
    macro_rules! check {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => reject!(e),
            }
        };
    }
    match &stx.tx.op {
        Op::NameCommit { commitment } => {
            let key = keys::commit(commitment);
            if let Some(existing) = state.get_decoded::<CommitEntry>(&key)?
                && height <= existing.height + params.reveal_max_blocks
            {
                reject!(TxError::DuplicateCommit {
                    commitment: commitment.to_string()
                });
            }
            state.put(
                key,
                &CommitEntry {
                    owner: signer,
                    height,
                },
            );
            Ok(Ok(None))
        }
        Op::NameRegister {
            name,
            salt,
            records,
        } => {
            let name = check!(name::registrable(name, &params.tlds));
            check!(validate_set(records));
            let commit_key = keys::commit(&name_commitment(&name, salt, &signer));
            let Some(commit) = state.get_decoded::<CommitEntry>(&commit_key)? else {
                reject!(TxError::NoCommit { name });
            };
            if commit.owner != signer {
                reject!(TxError::NoCommit { name });
            }
            let earliest = commit.height + params.reveal_min_blocks;
            let latest = commit.height + params.reveal_max_blocks;
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
                records: records.clone(),
                registered_at: height,
                updated_at: height,
                expires_at: height + params.name_ttl_blocks,
            };
            state.put(keys::name(&name), &entry);
            Ok(Ok(Some(event(&entry, "register"))))
        }
        Op::NameUpdate { name, records } => {
            let mut entry = check!(owned_active(state, params, height, name, &signer)?);
            check!(validate_set(records));
            entry.records = records.clone();
            entry.updated_at = height;
            state.put(keys::name(&entry.name), &entry);
            Ok(Ok(Some(event(&entry, "update"))))
        }
        Op::NameTransfer { name, new_owner } => {
            let mut entry = check!(owned_active(state, params, height, name, &signer)?);
            entry.owner = *new_owner;
            entry.updated_at = height;
            state.put(keys::name(&entry.name), &entry);
            Ok(Ok(Some(event(&entry, "transfer"))))
        }
        Op::NameRenew { name } => {
            let mut entry = check!(owned(state, params, name, &signer)?);
            let grace_until = entry.expires_at + params.grace_blocks;
            if height >= grace_until {
                reject!(TxError::NameExpired {
                    name: entry.name,
                    expired_at: entry.expires_at
                });
            }
            entry.expires_at = entry.expires_at.max(height) + params.name_ttl_blocks;
            entry.updated_at = height;
            state.put(keys::name(&entry.name), &entry);
            Ok(Ok(Some(event(&entry, "renew"))))
        }
    }
}

/// The entry of `name` if `signer` owns it (active or not).
fn owned(
    state: &impl StateRead,
    params: &ChainParams,
    name: &str,
    signer: &PublicKey,
) -> Result<std::result::Result<NameEntry, TxError>> {
    let name = match name::registrable(name, &params.tlds) {
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
fn owned_active(
    state: &impl StateRead,
    params: &ChainParams,
    height: Height,
    name: &str,
    signer: &PublicKey,
) -> Result<std::result::Result<NameEntry, TxError>> {
    Ok(owned(state, params, name, signer)?.and_then(|entry| {
        if entry.is_active_at(height) {
            Ok(entry)
        } else {
            Err(TxError::NameExpired {
                name: entry.name,
                expired_at: entry.expires_at,
            })
        }
    }))
}
