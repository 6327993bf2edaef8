//! The state machine: a pure function from (state, block height, transactions) to a set of
//! key changes and per-transaction outcomes. No clock, no I/O beyond reading the given state.
//!
//! This module holds what every operation shares (parameters, validators, the overlay, block
//! execution); each family of operations has its own module and is dispatched from `apply_op`.

/// Refuses the transaction: returns its error as the operation's verdict.
macro_rules! reject {
    ($e:expr) => {
        return Ok(Err($e.into()))
    };
}

/// Unwraps an operation-level result or refuses the transaction with its error.
macro_rules! check {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => reject!(e),
        }
    };
}

mod certs;
mod companies;
mod identities;
mod names;
mod offerings;
mod validators;

pub use certs::{
    CertEntry, CertEvent, CertFacts, IssuerEntry, LedgerStanding, Revocation, RevocationReason,
    Silence, active_certs, cert_history_prefix, cert_names_prefix, within_validity,
};
pub use companies::{
    Change, CompanyEntry, CompanyEvent, HolderEntry, HolderEvent, HolderRevocation, ShareClass,
    balance, check_company_id, company_id, holder_history_prefix, log_cursor_at,
    register_log_prefix,
};
pub use identities::{
    IdentityEntry, IdentityEvent, KeyHistory, KeyPeriod, KeyRole, check_id, identity_history_prefix,
};
pub use names::{CommitEntry, NameEntry, NameEvent, history_prefix};
pub use offerings::{
    Lock, OfferingEntry, OfferingStatus, OfferingStep, OfferingTerms, Subscription,
    SubscriptionState, locked, offerings_prefix, slot_of_cursor, subscriptions_page,
};
pub use validators::{PendingChange, PendingVote, ValidatorSetChange, pending, pending_at};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::{Error, Result, TxError};
use crate::tx::{Op, SignedTx, WorkParams};
use crate::types::{Hash, Height, PublicKey, decode, encode};

/// Keys of the state tree, domain-separated by prefix.
pub mod keys {
    use crate::types::{Hash, Height, PublicKey};

    pub const PARAMS: &[u8] = b"params";
    /// The validator set that decides the next block.
    pub const VALIDATORS: &[u8] = b"validators";
    /// Validator changes voted for by some validators, not yet by enough.
    pub const VALIDATOR_VOTES: &[u8] = b"validators/votes";

    pub fn name(name: &str) -> Vec<u8> {
        [b"name/".as_slice(), name.as_bytes()].concat()
    }
    /// A pending name commitment, by the key that committed and the commitment: a copy of
    /// someone else's commitment is a separate entry, and counts only for a reveal by its copier.
    pub fn commit(committer: &PublicKey, commitment: &Hash) -> Vec<u8> {
        [b"commit/".as_slice(), &committer.0, &commitment.0].concat()
    }
    /// How many commitments have their reveal window end at height `last_reveal` (a `u32`).
    pub fn commits_ending(last_reveal: Height) -> Vec<u8> {
        [b"commit-end/".as_slice(), &last_reveal.to_be_bytes()].concat()
    }
    /// The `slot`-th commitment whose reveal window ends at `last_reveal`: its committer and
    /// commitment, so that the block after that height can prune it.
    pub fn commit_ending(last_reveal: Height, slot: u32) -> Vec<u8> {
        [
            b"commit-end/".as_slice(),
            &last_reveal.to_be_bytes(),
            &slot.to_be_bytes(),
        ]
        .concat()
    }
    pub fn nonce(signer: &PublicKey) -> Vec<u8> {
        [b"nonce/".as_slice(), &signer.0].concat()
    }
    /// A certificate of a registered name, by the name and the SHA-256 of its DER: the same
    /// certificate hash under another name is another entry, which never touches this one.
    /// Names hold no `/`, so these keys cannot collide.
    pub fn cert(name: &str, cert_sha256: &Hash) -> Vec<u8> {
        [b"cert/".as_slice(), name.as_bytes(), b"/", &cert_sha256.0].concat()
    }
    /// The registered, unrevoked certificates of a name (a list of hashes).
    pub fn certs_of(name: &str) -> Vec<u8> {
        [b"certs/".as_slice(), name.as_bytes()].concat()
    }
    /// An issuer authorized for a name's certificates by the name's owner `owner`: under
    /// another owner (after a transfer, or a new registration after expiry) it counts no more.
    pub fn cert_issuer(name: &str, owner: &PublicKey, issuer: &PublicKey) -> Vec<u8> {
        [
            b"cert-issuer/".as_slice(),
            name.as_bytes(),
            b"/",
            &owner.0,
            &issuer.0,
        ]
        .concat()
    }
    pub fn identity(id: &str) -> Vec<u8> {
        [b"identity/".as_slice(), id.as_bytes()].concat()
    }
    /// The identity bound to a name (its id) by the registered name's owner `owner`: under
    /// another owner the binding counts no more.
    pub fn identity_binding(name: &str, owner: &PublicKey) -> Vec<u8> {
        [b"identity-of/".as_slice(), name.as_bytes(), b"/", &owner.0].concat()
    }
    /// A company, by its id (its register's, for good).
    pub fn company(id: &str) -> Vec<u8> {
        [b"company/".as_slice(), id.as_bytes()].concat()
    }
    /// The company (its id) listed under a name by the name's owner `owner`: under another
    /// owner (after a transfer, or a new registration after expiry) the listing counts no more.
    pub fn company_listing(name: &str, owner: &PublicKey) -> Vec<u8> {
        [b"company-of/".as_slice(), name.as_bytes(), b"/", &owner.0].concat()
    }
    /// Holder ids, class names and company ids hold no `/`, so these keys cannot collide.
    pub fn holder(company: &str, holder: &str) -> Vec<u8> {
        [b"holder/", company.as_bytes(), b"/", holder.as_bytes()].concat()
    }
    /// An equity offering of a company (ADR 0009).
    pub fn offering(company: &str, offering: &str) -> Vec<u8> {
        [b"offering/", company.as_bytes(), b"/", offering.as_bytes()].concat()
    }
    /// A holder's subscription to an offering.
    pub fn subscription(company: &str, offering: &str, holder: &str) -> Vec<u8> {
        [
            b"subscription/",
            company.as_bytes(),
            b"/",
            offering.as_bytes(),
            b"/",
            holder.as_bytes(),
        ]
        .concat()
    }
    /// The holder in subscription slot `slot` of an offering: its subscribers in order.
    pub fn offering_slot(company: &str, offering: &str, slot: u32) -> Vec<u8> {
        [
            b"offering-slot/".as_slice(),
            company.as_bytes(),
            b"/",
            offering.as_bytes(),
            b"/",
            &slot.to_be_bytes(),
        ]
        .concat()
    }
    /// The running lock-ups of a holder's shares of a class.
    pub fn lock(company: &str, class: &str, holder: &str) -> Vec<u8> {
        [
            b"lock/",
            company.as_bytes(),
            b"/",
            class.as_bytes(),
            b"/",
            holder.as_bytes(),
        ]
        .concat()
    }
    /// The height of the last offering close: one close per block.
    pub const LAST_OFFERING_CLOSE: &[u8] = b"offering-close/last";
    pub fn balance(company: &str, class: &str, holder: &str) -> Vec<u8> {
        [
            b"balance/",
            company.as_bytes(),
            b"/",
            class.as_bytes(),
            b"/",
            holder.as_bytes(),
        ]
        .concat()
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
    /// The work stamp each kind of transaction must carry (none when absent from a
    /// `genesis.json`).
    #[serde(default)]
    pub work: WorkParams,
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

    pub(crate) fn put<T: BorshSerialize>(&mut self, key: Vec<u8>, value: &T) {
        self.writes.insert(key, Some(encode(value)));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// An overlay that already holds `writes` over `base` (a mempool's pending changes).
    pub fn with_writes(base: &'a S, writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Self {
        Overlay { base, writes }
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

/// What executing a block produced.
#[derive(Debug, Default)]
pub struct BlockExecution {
    /// Every state key written, with its new value or `None` for a deletion; sorted.
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// One outcome per transaction, in block order: applied, or failed with the reason.
    pub outcomes: Vec<std::result::Result<(), TxError>>,
    /// Entries of the histories and secondary indexes kept in the store beside the tree (not
    /// part of the state root; rebuildable from the blocks), from the applied transactions.
    pub index: Vec<IndexEntry>,
}

/// One entry of a history or secondary index: a store key (under a prefix of [`index`]) and its
/// value.
pub type IndexEntry = (Vec<u8>, Vec<u8>);

/// Store key prefixes of the histories and indexes beside the tree.
pub mod index {
    pub const NAME_HISTORY: &[u8] = b"cH";
    /// Changes of the validator set, by height: [`super::ValidatorSetChange`].
    pub const VALIDATOR_CHANGES: &[u8] = b"cV";
    /// Certificate history by name: registrations, revocations, issuer changes.
    pub const CERT_HISTORY: &[u8] = b"cC";
    /// The names each certificate was registered under, by its SHA-256 then the name (empty
    /// values): `GET /v1/certs/{sha256}` and the explorer find a certificate from it.
    pub const CERT_NAMES: &[u8] = b"cF";
    /// Changes of an identity, by id, height and position.
    pub const IDENTITY_HISTORY: &[u8] = b"cI";
    /// Changes concerning a holder, by company, holder, height and position.
    pub const SHARE_HISTORY: &[u8] = b"cS";
    /// Every change of a company's register, by company, height and position: the cap table
    /// at any height is rebuilt from it.
    pub const REGISTER_LOG: &[u8] = b"cT";
    /// A company's offerings by id (value: the offering id): `offering list` reads them.
    pub const OFFERINGS: &[u8] = b"cO";
}

/// What an operation may know about the transaction carrying it.
pub(crate) struct TxContext<'a> {
    pub params: &'a ChainParams,
    pub height: Height,
    /// Position in the block, to keep index keys of one block distinct.
    pub index: u32,
    pub stx: &'a SignedTx,
}

impl TxContext<'_> {
    pub fn signer(&self) -> PublicKey {
        self.stx.tx.signer
    }
}

/// An operation's verdict: applied (with its index entries) or refused. The overlay must be
/// discarded on refusal.
pub(crate) type Verdict = std::result::Result<Vec<IndexEntry>, TxError>;

/// The nonce `signer` must use next.
pub fn next_nonce(state: &impl StateRead, signer: &PublicKey) -> Result<u64> {
    Ok(state.get_decoded::<u64>(&keys::nonce(signer))?.unwrap_or(0))
}

/// Executes the transactions of the block at `height` on `state`.
///
/// A transaction with a bad signature, chain id, nonce or too little work in its stamp makes
/// the whole block invalid (a proposer must never include one). A transaction whose operation fails (name taken, not the
/// owner, ...) is kept in the block as failed: its nonce is used, its operation has no effect.
pub fn execute_block(
    state: &impl StateRead,
    params: &ChainParams,
    height: Height,
    txs: &[SignedTx],
) -> Result<BlockExecution> {
    execute_block_checked(state, params, height, txs, |_, stx| stx.signature_holds())
}

/// [`execute_block`] with each transaction's signature judged by `signature_holds(index, tx)`
/// instead of checked here: the caller's verdicts, computed beforehand (in parallel, or
/// remembered from an earlier check of the same signed bytes). They must be what
/// [`SignedTx::signature_holds`] answers for that transaction; then the execution is the same.
pub fn execute_block_checked(
    state: &impl StateRead,
    params: &ChainParams,
    height: Height,
    txs: &[SignedTx],
    signature_holds: impl Fn(usize, &SignedTx) -> bool,
) -> Result<BlockExecution> {
    let mut block = Overlay::new(state);
    names::prune_commits(&mut block, params, height)?;
    let mut outcomes = Vec::with_capacity(txs.len());
    let mut index_entries = Vec::new();
    for (index, stx) in txs.iter().enumerate() {
        let invalid = |error: TxError| Error::InvalidTx { index, error };
        stx.check_envelope(&params.chain_id).map_err(invalid)?;
        if !signature_holds(index, stx) {
            return Err(invalid(TxError::BadSignature {
                signer: stx.tx.signer,
            }));
        }
        stx.tx.check_work(&params.work).map_err(invalid)?;
        let expected = next_nonce(&block, &stx.tx.signer)?;
        if stx.tx.nonce != expected {
            return Err(invalid(TxError::BadNonce {
                signer: stx.tx.signer,
                expected,
                got: stx.tx.nonce,
            }));
        }
        let mut tx_overlay = Overlay::new(&block);
        let context = TxContext {
            params,
            height,
            index: index as u32,
            stx,
        };
        let outcome = apply_op(&mut tx_overlay, &context)?;
        let writes = tx_overlay.into_writes();
        if let Ok(entries) = &outcome {
            block.writes.extend(writes);
            index_entries.extend(entries.iter().cloned());
        }
        block.put(keys::nonce(&stx.tx.signer), &(expected + 1));
        outcomes.push(outcome.map(|_| ()));
    }
    Ok(BlockExecution {
        writes: block.into_writes(),
        outcomes,
        index: index_entries,
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
    let context = TxContext {
        params,
        height,
        index: 0,
        stx,
    };
    Ok(apply_op(&mut overlay, &context)?.map(|_| ()))
}

/// Applies a transaction to a mempool's pending state as if it were in the block at `height`:
/// its nonce must follow on and its operation must apply; then its changes and its nonce are
/// kept in `pending`. A refused transaction changes nothing (unlike in a block, where a failed
/// operation still uses its nonce).
pub fn apply_pending<S: StateRead>(
    pending: &mut Overlay<'_, S>,
    params: &ChainParams,
    height: Height,
    stx: &SignedTx,
) -> Result<std::result::Result<(), TxError>> {
    let expected = next_nonce(pending, &stx.tx.signer)?;
    if stx.tx.nonce != expected {
        return Ok(Err(TxError::BadNonce {
            signer: stx.tx.signer,
            expected,
            got: stx.tx.nonce,
        }));
    }
    let mut tx_overlay = Overlay::new(&*pending);
    let context = TxContext {
        params,
        height,
        index: 0,
        stx,
    };
    let verdict = apply_op(&mut tx_overlay, &context)?;
    let writes = tx_overlay.into_writes();
    if let Err(e) = verdict {
        return Ok(Err(e));
    }
    pending.writes.extend(writes);
    pending.put(keys::nonce(&stx.tx.signer), &(expected + 1));
    Ok(Ok(()))
}

/// Applies one operation. The outer `Result` is a storage failure; the inner one the
/// operation's own verdict.
fn apply_op<S: StateRead>(state: &mut Overlay<'_, S>, context: &TxContext<'_>) -> Result<Verdict> {
    match &context.stx.tx.op {
        Op::NameCommit { commitment } => names::commit(state, context, commitment),
        Op::NameRegister {
            name,
            salt,
            records,
        } => names::register(state, context, name, salt, records),
        Op::NameUpdate { name, records } => names::update(state, context, name, records),
        Op::NameTransfer { name, new_owner } => names::transfer(state, context, name, new_owner),
        Op::NameRenew { name } => names::renew(state, context, name),
        Op::ValidatorVote { change } => validators::vote(state, context, change),
        Op::CertIssuerAuthorize { name, issuer } => {
            certs::authorize_issuer(state, context, name, issuer)
        }
        Op::CertIssuerRevoke { name, issuer } => {
            certs::deauthorize_issuer(state, context, name, issuer)
        }
        Op::CertRegister { cert } => certs::register(state, context, cert),
        Op::CertRegisterBatch { certs } => certs::register_batch(state, context, certs),
        Op::CertRevoke {
            name,
            cert_sha256,
            reason,
        } => certs::revoke(state, context, name, cert_sha256, *reason),
        Op::IdentityRegister {
            id,
            online_key,
            offline_key,
        } => identities::register(state, context, id, online_key, offline_key),
        Op::IdentityRotate { id, new_online_key } => {
            identities::rotate(state, context, id, new_online_key)
        }
        Op::IdentityRecover {
            id,
            new_online_key,
            new_offline_key,
        } => identities::recover(state, context, id, new_online_key, new_offline_key),
        Op::IdentityRevoke { id } => identities::revoke(state, context, id),
        Op::IdentityBind { id, name, consent } => {
            identities::bind(state, context, id, name, consent)
        }
        Op::CompanyRegister {
            id,
            name,
            admin,
            classes,
            consent,
        } => companies::register(state, context, id, name, admin, classes, consent),
        Op::HolderIssue {
            company,
            holder,
            key,
            attr_hash,
        } => companies::issue_holder(state, context, company, holder, key, attr_hash),
        Op::HolderRevoke {
            company,
            holder,
            reason,
        } => companies::revoke_holder(state, context, company, holder, reason),
        Op::HolderRotate {
            company,
            holder,
            new_key,
        } => companies::rotate_holder(state, context, company, holder, new_key),
        Op::SharesIssue {
            company,
            class,
            to,
            amount,
        } => companies::issue_shares(state, context, company, class, to, *amount),
        Op::SharesTransfer {
            company,
            class,
            from,
            to,
            amount,
        } => companies::transfer(state, context, company, class, from, to, *amount),
        Op::SharesRedeem {
            company,
            class,
            from,
            amount,
        } => companies::redeem(state, context, company, class, from, *amount),
        Op::IdentitySuspend { id } => identities::suspend(state, context, id),
        Op::CompanyAdmin {
            company,
            admin,
            consent,
        } => companies::replace_admin(state, context, company, admin, consent),
        Op::CompanyMove {
            company,
            name,
            consent,
        } => companies::relist(state, context, company, name, consent),
        Op::OfferingOpen {
            company,
            offering,
            terms,
        } => offerings::open(state, context, company, offering, terms),
        Op::OfferingApprove {
            company,
            offering,
            terms_sha256,
        } => offerings::approve(state, context, company, offering, terms_sha256),
        Op::OfferingSubscribe {
            company,
            offering,
            holder,
            shares,
            terms_sha256,
        } => offerings::subscribe(
            state,
            context,
            company,
            offering,
            holder,
            *shares,
            terms_sha256,
        ),
        Op::OfferingWithdraw {
            company,
            offering,
            holder,
        } => offerings::withdraw(state, context, company, offering, holder),
        Op::OfferingConfirm {
            company,
            offering,
            holder,
        } => offerings::confirm(state, context, company, offering, holder),
        Op::OfferingClose { company, offering } => {
            offerings::close(state, context, company, offering)
        }
    }
}
