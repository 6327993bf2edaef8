//! Companies and shareholders: a company is a register with an id of its own, listed under a
//! registered name by the name's owner, with an admin identity and share classes; the admin
//! issues, revokes and re-keys holders (the company's allowlist: only a hash of personal data is
//! on the ledger) and issues or redeems shares; a holder's key signs its transfers. A listing
//! counts only under the owner who made it: when the name changes hands the company keeps its
//! register under its id and can move to another name; the admin identity can be replaced
//! (ADR 0007). Every change goes to the company's register log and to each holder's history,
//! from which the register at any height is rebuilt.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::identities::{self, KeyHistory, KeyPeriod, KeyRole, check_consent, check_id};
use super::offerings::{self, OfferingStep};
use super::{IndexEntry, NameEntry, Overlay, StateRead, TxContext, Verdict, index, keys, names};
use crate::error::{Result, TxError};
use crate::limits::{MAX_ID_BYTES, MAX_REASON_BYTES, MAX_SHARE_CLASSES};
use crate::paging::Cursor;
use crate::tx::Consent;
use crate::types::{Hash, Height, PublicKey, encode};

/// One class of shares and its totals.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ShareClass {
    pub name: String,
    pub issued: u64,
    pub redeemed: u64,
}

impl ShareClass {
    /// Shares of the class held by holders: issued minus redeemed.
    pub fn outstanding(&self) -> u64 {
        self.issued - self.redeemed
    }
}

/// A company: its register's id, the name it is listed under, its admin identity and its share
/// classes.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CompanyEntry {
    /// The register's id, for good: holders and balances are kept under it.
    pub id: String,
    /// The name the company was last listed under.
    pub name: String,
    /// The owner of `name` who listed it: the listing counts only while that key owns the name.
    pub listed_by: PublicKey,
    /// Id of the identity whose online key signs the admin's operations.
    pub admin: String,
    pub classes: Vec<ShareClass>,
    pub created_at: Height,
}

impl CompanyEntry {
    /// Whether the company speaks for its name: `name_entry` (the name's entry now) is still
    /// owned by the key that listed it.
    pub fn is_listed(&self, name_entry: Option<&NameEntry>) -> bool {
        name_entry.is_some_and(|n| n.name == self.name && n.owner == self.listed_by)
    }

    pub fn class_names(&self) -> String {
        self.classes
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Why a holder was revoked, and when.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct HolderRevocation {
    pub height: Height,
    pub reason: String,
}

/// A verified shareholder of a company.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct HolderEntry {
    pub company: String,
    pub holder: String,
    /// The key that signs this holder's transfers now.
    pub key: PublicKey,
    /// A hash of the holder's off-ledger data (name, address, KYC file), if the admin gave one.
    pub attr_hash: Option<Hash>,
    pub issued_at: Height,
    pub revoked: Option<HolderRevocation>,
    /// Every key the holder has had, with its validity.
    pub keys: Vec<KeyPeriod>,
}

impl KeyHistory for HolderEntry {
    fn periods(&self) -> &[KeyPeriod] {
        &self.keys
    }
}

impl HolderEntry {
    pub fn is_active(&self) -> bool {
        self.revoked.is_none()
    }

    pub(super) fn revoked_error(&self) -> std::result::Result<(), TxError> {
        match &self.revoked {
            None => Ok(()),
            Some(r) => Err(TxError::HolderRevoked {
                company: self.company.clone(),
                holder: self.holder.clone(),
                revoked_at: r.height,
                reason: r.reason.clone(),
            }),
        }
    }
}

/// What changed in a company's register.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    Created {
        admin: String,
        classes: Vec<String>,
    },
    HolderIssued {
        holder: String,
        key: PublicKey,
        attr_hash: Option<Hash>,
    },
    HolderRevoked {
        holder: String,
        reason: String,
    },
    HolderRotated {
        holder: String,
        key: PublicKey,
    },
    Issued {
        class: String,
        to: String,
        amount: u64,
    },
    Transferred {
        class: String,
        from: String,
        to: String,
        amount: u64,
    },
    Redeemed {
        class: String,
        from: String,
        amount: u64,
    },
    /// The admin identity was replaced.
    AdminReplaced {
        admin: String,
    },
    /// The company was listed under another name (by that name's owner `owner`).
    Moved {
        name: String,
        owner: PublicKey,
    },
    /// A step of one of the company's equity offerings (ADR 0009).
    Offering {
        offering: String,
        step: OfferingStep,
    },
    /// Shares issued to a subscriber by the close of a funded offering.
    OfferingIssued {
        offering: String,
        class: String,
        to: String,
        amount: u64,
    },
}

/// One entry of a company's register log.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CompanyEvent {
    pub company: String,
    pub height: Height,
    /// Position of the transaction in its block.
    pub index: u32,
    pub tx: Hash,
    pub change: Change,
}

/// One entry of a holder's history: a change that concerns the holder, and its balance of the
/// change's class afterwards (for share movements).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct HolderEvent {
    pub event: CompanyEvent,
    pub balance_after: Option<u64>,
}

/// Store key prefix of a company's register log.
pub fn register_log_prefix(company: &str) -> Vec<u8> {
    [index::REGISTER_LOG, company.as_bytes(), &[0]].concat()
}

/// The page cursor from which a register log (or a holder's history), read oldest first,
/// starts at the first change made at `height`: an entry's position begins with its height.
pub fn log_cursor_at(height: Height) -> Cursor {
    Cursor::new(height.to_be_bytes().to_vec())
}

/// Store key prefix of one holder's history.
pub fn holder_history_prefix(company: &str, holder: &str) -> Vec<u8> {
    [
        index::SHARE_HISTORY,
        company.as_bytes(),
        &[0],
        holder.as_bytes(),
        &[0],
    ]
    .concat()
}

/// The balance of `holder` in `class` of `company` (0 when absent).
pub fn balance(state: &impl StateRead, company: &str, class: &str, holder: &str) -> Result<u64> {
    Ok(state
        .get_decoded::<u64>(&keys::balance(company, class, holder))?
        .unwrap_or(0))
}

/// Index entries of the changes of one transaction: the register log, and the history of each
/// holder concerned with its balance after the change. The first change of a transaction is
/// keyed by (height, position); further ones (an offering's close) add a sequence number.
pub(super) struct Recorder<'c> {
    context: &'c TxContext<'c>,
    entries: Vec<IndexEntry>,
    changes: u32,
}

impl<'c> Recorder<'c> {
    pub(super) fn new(context: &'c TxContext<'c>) -> Self {
        Recorder {
            context,
            entries: Vec::new(),
            changes: 0,
        }
    }

    /// Records one change (and keeps the recorder for more).
    pub(super) fn add(&mut self, company: &str, change: Change, holders: &[(&str, Option<u64>)]) {
        let mut position = [
            self.context.height.to_be_bytes().as_slice(),
            &self.context.index.to_be_bytes(),
        ]
        .concat();
        if self.changes > 0 {
            position.extend(self.changes.to_be_bytes());
        }
        self.changes += 1;
        let event = CompanyEvent {
            company: company.to_string(),
            height: self.context.height,
            index: self.context.index,
            tx: self.context.stx.id(),
            change,
        };
        for (holder, balance_after) in holders {
            let key = [holder_history_prefix(company, holder), position.clone()].concat();
            let value = HolderEvent {
                event: event.clone(),
                balance_after: *balance_after,
            };
            self.entries.push((key, encode(&value)));
        }
        let key = [register_log_prefix(company), position].concat();
        self.entries.push((key, encode(&event)));
    }

    pub(super) fn finish(self) -> Vec<IndexEntry> {
        self.entries
    }

    /// Records the transaction's one change.
    fn record(
        mut self,
        company: &str,
        change: Change,
        holders: &[(&str, Option<u64>)],
    ) -> Vec<IndexEntry> {
        self.add(company, change, holders);
        self.finish()
    }
}

/// Checks a company id: an id (see [`check_id`]) without `.`, so that it is never a name.
pub fn check_company_id(id: &str) -> std::result::Result<(), TxError> {
    if check_id("company", id).is_err() || id.contains('.') {
        return Err(TxError::InvalidCompanyId {
            id: id.to_string(),
            max: MAX_ID_BYTES,
        });
    }
    Ok(())
}

/// The id of the company `input` names: a company id, or a name (with a `.`) whose current
/// owner lists a company under it. `None` if there is none.
pub fn company_id(state: &impl StateRead, tlds: &[String], input: &str) -> Result<Option<String>> {
    if !input.contains('.') {
        if check_company_id(input).is_err() {
            return Ok(None);
        }
        let exists = state.get(&keys::company(input))?.is_some();
        return Ok(exists.then(|| input.to_string()));
    }
    let Ok(name) = crate::name::registrable(input, tlds) else {
        return Ok(None);
    };
    let Some(entry) = state.get_decoded::<NameEntry>(&keys::name(&name))? else {
        return Ok(None);
    };
    state.get_decoded::<String>(&keys::company_listing(&name, &entry.owner))
}

/// Writes the listing of `company` under `name_entry` (owned by the transaction's signer),
/// after checking that the owner lists no other company there.
fn list<S: StateRead>(
    state: &mut Overlay<'_, S>,
    company: &mut CompanyEntry,
    name_entry: &NameEntry,
) -> Result<std::result::Result<(), TxError>> {
    let link = keys::company_listing(&name_entry.name, &name_entry.owner);
    if let Some(other) = state.get_decoded::<String>(&link)? {
        return Ok(Err(TxError::NameHasCompany {
            name: name_entry.name.clone(),
            company: other,
        }));
    }
    state.put(link, &company.id);
    company.name = name_entry.name.clone();
    company.listed_by = name_entry.owner;
    Ok(Ok(()))
}

pub(super) fn register<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    id: &str,
    name: &str,
    admin: &str,
    classes: &[String],
    consent: &Consent,
) -> Result<Verdict> {
    check!(check_company_id(id));
    let name_entry = check!(names::owned_active(state, context, name)?);
    let name = name_entry.name.clone();
    let bad_classes = || TxError::BadClasses {
        count: classes.len(),
        max: MAX_SHARE_CLASSES,
        classes: classes.join(", "),
    };
    if classes.is_empty() || classes.len() > MAX_SHARE_CLASSES {
        reject!(bad_classes());
    }
    for (i, class) in classes.iter().enumerate() {
        check!(check_id("share class", class));
        if classes[..i].contains(class) {
            reject!(bad_classes());
        }
    }
    let admin_entry = check!(identities::existing(state, admin)?);
    check!(check_consent(
        &admin_entry,
        context,
        "company-register",
        &[id, &name],
        consent
    ));
    if state.get(&keys::company(id))?.is_some() {
        reject!(TxError::CompanyIdTaken { id: id.to_string() });
    }
    let mut entry = CompanyEntry {
        id: id.to_string(),
        name: name.clone(),
        listed_by: name_entry.owner,
        admin: admin.to_string(),
        classes: classes
            .iter()
            .map(|c| ShareClass {
                name: c.clone(),
                issued: 0,
                redeemed: 0,
            })
            .collect(),
        created_at: context.height,
    };
    check!(list(state, &mut entry, &name_entry)?);
    state.put(keys::company(id), &entry);
    let change = Change::Created {
        admin: admin.to_string(),
        classes: classes.to_vec(),
    };
    Ok(Ok(Recorder::new(context).record(id, change, &[])))
}

/// Replaces the admin identity, with the new admin's consent. Signed by the current admin
/// identity's offline key (its root, which also works while the identity is suspended); once
/// that identity is revoked for good, by the key that listed the company, which appointed it.
pub(super) fn replace_admin<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    admin: &str,
    consent: &Consent,
) -> Result<Verdict> {
    let mut company = check!(existing_company(state, context, company)?);
    let signer = context.signer();
    let current = check!(identities::existing(state, &company.admin)?);
    if current.revoked_at.is_some() {
        if signer != company.listed_by {
            reject!(TxError::NotCompanyAuthority {
                company: company.id,
                signer,
                reason: format!(
                    "its admin `{}` is revoked for good, so only {}, the owner of `{}` who listed the company, may appoint another",
                    current.id, company.listed_by, company.name
                ),
            });
        }
    } else {
        check!(current.authorize(&signer, &[KeyRole::Offline]));
    }
    let new_admin = check!(identities::existing(state, admin)?);
    check!(check_consent(
        &new_admin,
        context,
        "company-admin",
        &[&company.id],
        consent
    ));
    company.admin = admin.to_string();
    state.put(keys::company(&company.id), &company);
    let change = Change::AdminReplaced {
        admin: admin.to_string(),
    };
    Ok(Ok(Recorder::new(context).record(&company.id, change, &[])))
}

/// Lists a company under another name, signed by that name's owner with the company admin's
/// consent: the register keeps its id, the old name's listing is removed.
pub(super) fn relist<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    name: &str,
    consent: &Consent,
) -> Result<Verdict> {
    let mut company = check!(existing_company(state, context, company)?);
    let name_entry = check!(names::owned_active(state, context, name)?);
    let admin = check!(identities::existing(state, &company.admin)?);
    check!(check_consent(
        &admin,
        context,
        "company-move",
        &[&company.id, &name_entry.name],
        consent
    ));
    let old = keys::company_listing(&company.name, &company.listed_by);
    let old_target = state.get_decoded::<String>(&old)?;
    check!(list(state, &mut company, &name_entry)?);
    if old_target.as_deref() == Some(company.id.as_str()) {
        state.delete(old);
    }
    state.put(keys::company(&company.id), &company);
    let change = Change::Moved {
        name: name_entry.name.clone(),
        owner: name_entry.owner,
    };
    Ok(Ok(Recorder::new(context).record(&company.id, change, &[])))
}

pub(super) fn issue_holder<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    holder: &str,
    key: &PublicKey,
    attr_hash: &Option<Hash>,
) -> Result<Verdict> {
    let company = check!(admin_of(state, context, company)?);
    check!(check_id("holder", holder));
    let holder_key = keys::holder(&company.id, holder);
    if state.get_decoded::<HolderEntry>(&holder_key)?.is_some() {
        reject!(TxError::HolderExists {
            company: company.id,
            holder: holder.to_string()
        });
    }
    let entry = HolderEntry {
        company: company.id.clone(),
        holder: holder.to_string(),
        key: *key,
        attr_hash: *attr_hash,
        issued_at: context.height,
        revoked: None,
        keys: vec![KeyPeriod {
            key: *key,
            role: KeyRole::Holder,
            from: context.height,
            until: None,
        }],
    };
    state.put(holder_key, &entry);
    let change = Change::HolderIssued {
        holder: holder.to_string(),
        key: *key,
        attr_hash: *attr_hash,
    };
    Ok(Ok(Recorder::new(context).record(
        &company.id,
        change,
        &[(holder, None)],
    )))
}

pub(super) fn revoke_holder<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    holder: &str,
    reason: &str,
) -> Result<Verdict> {
    let company = check!(admin_of(state, context, company)?);
    if reason.is_empty() || reason.len() > MAX_REASON_BYTES {
        reject!(TxError::BadReason {
            bytes: reason.len(),
            max: MAX_REASON_BYTES
        });
    }
    let mut entry = check!(existing_holder(state, &company, holder)?);
    check!(entry.revoked_error());
    for period in entry.keys.iter_mut().filter(|p| p.until.is_none()) {
        period.until = Some(context.height);
    }
    entry.revoked = Some(HolderRevocation {
        height: context.height,
        reason: reason.to_string(),
    });
    state.put(keys::holder(&company.id, holder), &entry);
    let change = Change::HolderRevoked {
        holder: holder.to_string(),
        reason: reason.to_string(),
    };
    Ok(Ok(Recorder::new(context).record(
        &company.id,
        change,
        &[(holder, None)],
    )))
}

/// Gives a holder a new key; a revoked holder is reinstated with it (its old key stays void).
pub(super) fn rotate_holder<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    holder: &str,
    new_key: &PublicKey,
) -> Result<Verdict> {
    let company = check!(admin_of(state, context, company)?);
    let mut entry = check!(existing_holder(state, &company, holder)?);
    let owner = format!("{holder} of {}", company.id);
    check!(identities::replace_key(
        &mut entry.keys,
        &owner,
        KeyRole::Holder,
        new_key,
        context.height
    ));
    entry.key = *new_key;
    entry.revoked = None;
    state.put(keys::holder(&company.id, holder), &entry);
    let change = Change::HolderRotated {
        holder: holder.to_string(),
        key: *new_key,
    };
    Ok(Ok(Recorder::new(context).record(
        &company.id,
        change,
        &[(holder, None)],
    )))
}

pub(super) fn issue_shares<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    class: &str,
    to: &str,
    amount: u64,
) -> Result<Verdict> {
    if amount == 0 {
        reject!(TxError::AmountZero);
    }
    let mut company = check!(admin_of(state, context, company)?);
    let class_index = check!(class_of(&company, class));
    let to_entry = check!(existing_holder(state, &company, to)?);
    check!(to_entry.revoked_error());
    let totals = &mut company.classes[class_index];
    let Some(issued) = totals.issued.checked_add(amount) else {
        reject!(TxError::AmountOverflow {
            company: company.id,
            class: class.to_string(),
            amount,
            total: totals.issued
        });
    };
    totals.issued = issued;
    // Balances sum to at most the issued total, which fits: no holder's balance can overflow.
    let after = balance(state, &company.id, class, to)? + amount;
    state.put(keys::balance(&company.id, class, to), &after);
    state.put(keys::company(&company.id), &company);
    let change = Change::Issued {
        class: class.to_string(),
        to: to.to_string(),
        amount,
    };
    Ok(Ok(Recorder::new(context).record(
        &company.id,
        change,
        &[(to, Some(after))],
    )))
}

pub(super) fn transfer<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    class: &str,
    from: &str,
    to: &str,
    amount: u64,
) -> Result<Verdict> {
    if amount == 0 {
        reject!(TxError::AmountZero);
    }
    let company = check!(existing_company(state, context, company)?);
    check!(class_of(&company, class));
    let sender = check!(existing_holder(state, &company, from)?);
    check!(sender.revoked_error());
    check!(holder_signed(&sender, &context.signer()));
    let recipient = check!(existing_holder(state, &company, to)?);
    check!(recipient.revoked_error());
    if from == to {
        reject!(TxError::SameHolder {
            holder: from.to_string()
        });
    }
    let from_balance = balance(state, &company.id, class, from)?;
    if from_balance < amount {
        reject!(TxError::InsufficientBalance {
            company: company.id,
            holder: from.to_string(),
            class: class.to_string(),
            balance: from_balance,
            amount
        });
    }
    check!(offerings::check_unlocked(
        state,
        context.height,
        &company.id,
        class,
        from,
        from_balance,
        amount
    )?);
    let to_balance = balance(state, &company.id, class, to)?;
    let Some(to_after) = to_balance.checked_add(amount) else {
        reject!(TxError::AmountOverflow {
            company: company.id,
            class: class.to_string(),
            amount,
            total: to_balance
        });
    };
    let from_after = from_balance - amount;
    put_balance(state, &company.id, class, from, from_after);
    put_balance(state, &company.id, class, to, to_after);
    let change = Change::Transferred {
        class: class.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        amount,
    };
    Ok(Ok(Recorder::new(context).record(
        &company.id,
        change,
        &[(from, Some(from_after)), (to, Some(to_after))],
    )))
}

pub(super) fn redeem<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    company: &str,
    class: &str,
    from: &str,
    amount: u64,
) -> Result<Verdict> {
    if amount == 0 {
        reject!(TxError::AmountZero);
    }
    let mut company = check!(admin_of(state, context, company)?);
    let class_index = check!(class_of(&company, class));
    check!(existing_holder(state, &company, from)?);
    let from_balance = balance(state, &company.id, class, from)?;
    if from_balance < amount {
        reject!(TxError::InsufficientBalance {
            company: company.id,
            holder: from.to_string(),
            class: class.to_string(),
            balance: from_balance,
            amount
        });
    }
    // Redeemed never exceeds issued: it only grows by shares some holder had.
    company.classes[class_index].redeemed += amount;
    let after = from_balance - amount;
    put_balance(state, &company.id, class, from, after);
    state.put(keys::company(&company.id), &company);
    let change = Change::Redeemed {
        class: class.to_string(),
        from: from.to_string(),
        amount,
    };
    Ok(Ok(Recorder::new(context).record(
        &company.id,
        change,
        &[(from, Some(after))],
    )))
}

/// A zero balance is no entry at all: absent and zero prove the same.
pub(super) fn put_balance<S: StateRead>(
    state: &mut Overlay<'_, S>,
    company: &str,
    class: &str,
    holder: &str,
    amount: u64,
) {
    let key = keys::balance(company, class, holder);
    if amount == 0 {
        state.delete(key);
    } else {
        state.put(key, &amount);
    }
}

/// The company `input` names (its id, or a name its current owner lists it under).
pub(super) fn existing_company(
    state: &impl StateRead,
    context: &TxContext<'_>,
    input: &str,
) -> Result<std::result::Result<CompanyEntry, TxError>> {
    let not_found = || TxError::CompanyNotFound {
        name: input.to_string(),
    };
    let Some(id) = company_id(state, &context.params.tlds, input)? else {
        return Ok(Err(not_found()));
    };
    Ok(state
        .get_decoded::<CompanyEntry>(&keys::company(&id))?
        .ok_or_else(not_found))
}

/// The company, if the signer is its admin identity's online key now.
pub(super) fn admin_of(
    state: &impl StateRead,
    context: &TxContext<'_>,
    name: &str,
) -> Result<std::result::Result<CompanyEntry, TxError>> {
    let company = match existing_company(state, context, name)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let admin = match identities::existing(state, &company.admin)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    Ok(admin
        .authorize(&context.signer(), &[KeyRole::Online])
        .map(|()| company))
}

pub(super) fn class_of(company: &CompanyEntry, class: &str) -> std::result::Result<usize, TxError> {
    company
        .classes
        .iter()
        .position(|c| c.name == class)
        .ok_or_else(|| TxError::UnknownClass {
            company: company.id.clone(),
            class: class.to_string(),
            classes: company.class_names(),
        })
}

pub(super) fn existing_holder(
    state: &impl StateRead,
    company: &CompanyEntry,
    holder: &str,
) -> Result<std::result::Result<HolderEntry, TxError>> {
    if let Err(e) = check_id("holder", holder) {
        return Ok(Err(e));
    }
    Ok(state
        .get_decoded::<HolderEntry>(&keys::holder(&company.id, holder))?
        .ok_or(TxError::HolderNotFound {
            company: company.id.clone(),
            holder: holder.to_string(),
        }))
}

/// Checks that `signer` is the holder's current key.
pub(super) fn holder_signed(
    holder: &HolderEntry,
    signer: &PublicKey,
) -> std::result::Result<(), TxError> {
    if holder.key == *signer {
        return Ok(());
    }
    let owner = format!("{} of {}", holder.holder, holder.company);
    if let Some(valid_until) = holder.retired(signer) {
        return Err(TxError::KeyRotatedOut {
            owner,
            key: *signer,
            valid_until,
            current: holder.key,
        });
    }
    Err(TxError::WrongSigner {
        owner,
        needed: "holder",
        expected: holder.key,
        signer: *signer,
    })
}
