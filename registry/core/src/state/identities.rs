//! Identities (Certcoin): an online key that signs day to day and an offline key kept cold, the
//! root. Registration; suspension (either key: the online key signs nothing more); rotation of
//! the online key and recovery of both (offline key, lifting a suspension); revocation for good
//! (offline key only); consent to be named by another key (binding to a name, company admin);
//! and the validity interval of every key the identity ever had, so that a signature is judged
//! by the key valid at its height.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::{IndexEntry, Overlay, StateRead, TxContext, Verdict, index, keys, names};
use crate::error::{Result, TxError};
use crate::limits::{MAX_CONSENT_BLOCKS, MAX_ID_BYTES, MAX_KEY_HISTORY};
use crate::tx::{Consent, consent_message};
use crate::types::{Hash, Height, PublicKey, encode};

/// What a key was for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// An identity's day-to-day key.
    Online,
    /// An identity's cold key: rotates, recovers, revokes.
    Offline,
    /// A shareholder's key: signs its transfers.
    Holder,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Online => "online",
            KeyRole::Offline => "offline",
            KeyRole::Holder => "holder",
        }
    }
}

/// A key and the heights it is valid at: from `from` (inclusive) until `until` (exclusive;
/// `None` while it is current). Within the block of a change, order in the block decides.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct KeyPeriod {
    pub key: PublicKey,
    pub role: KeyRole,
    pub from: Height,
    pub until: Option<Height>,
}

impl KeyPeriod {
    pub fn is_valid_at(&self, height: Height) -> bool {
        self.from <= height && self.until.is_none_or(|until| height < until)
    }
}

/// A history of keys: every key an identity or a holder has had, oldest first.
pub trait KeyHistory {
    fn periods(&self) -> &[KeyPeriod];

    /// The role `key` had at `height`, if it was valid then.
    fn role_at(&self, key: &PublicKey, height: Height) -> Option<KeyRole> {
        self.periods()
            .iter()
            .find(|p| p.key == *key && p.is_valid_at(height))
            .map(|p| p.role)
    }

    /// The key of `role` valid at `height`.
    fn key_at(&self, role: KeyRole, height: Height) -> Option<PublicKey> {
        self.periods()
            .iter()
            .find(|p| p.role == role && p.is_valid_at(height))
            .map(|p| p.key)
    }

    /// The last height `key` was valid at, if it ever was and is no longer.
    fn retired(&self, key: &PublicKey) -> Option<Height> {
        self.periods()
            .iter()
            .filter(|p| p.key == *key)
            .filter_map(|p| p.until)
            .max()
    }
}

/// A registered identity.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct IdentityEntry {
    pub id: String,
    pub online_key: PublicKey,
    pub offline_key: PublicKey,
    pub registered_at: Height,
    pub updated_at: Height,
    /// Set once revoked: no key of the identity signs anything from this height on.
    pub revoked_at: Option<Height>,
    /// Set while suspended: the online key signs nothing from this height on; the offline key
    /// lifts the suspension by rotating or recovering.
    pub suspended_at: Option<Height>,
    /// Every key the identity has had, with its role and validity.
    pub keys: Vec<KeyPeriod>,
}

impl KeyHistory for IdentityEntry {
    fn periods(&self) -> &[KeyPeriod] {
        &self.keys
    }
}

impl IdentityEntry {
    /// Neither revoked nor suspended: its online key signs for it.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none() && self.suspended_at.is_none()
    }

    /// Checks that `signer` may act for this identity now with a key of one of `roles`.
    pub fn authorize(
        &self,
        signer: &PublicKey,
        roles: &[KeyRole],
    ) -> std::result::Result<(), TxError> {
        if let Some(revoked_at) = self.revoked_at {
            return Err(TxError::IdentityRevoked {
                id: self.id.clone(),
                revoked_at,
            });
        }
        if let Some(suspended_at) = self.suspended_at {
            let offline_may = roles.contains(&KeyRole::Offline) && *signer == self.offline_key;
            if roles.contains(&KeyRole::Online) && !offline_may {
                return Err(TxError::IdentitySuspended {
                    id: self.id.clone(),
                    suspended_at,
                });
            }
        }
        let current = |role| match role {
            KeyRole::Offline => self.offline_key,
            _ => self.online_key,
        };
        if roles.iter().any(|&role| current(role) == *signer) {
            return Ok(());
        }
        let needed = roles[0];
        if let Some(valid_until) = self.retired(signer) {
            return Err(TxError::KeyRotatedOut {
                owner: self.id.clone(),
                key: *signer,
                valid_until,
                current: current(needed),
            });
        }
        Err(TxError::WrongSigner {
            owner: self.id.clone(),
            needed: if roles.len() > 1 {
                "online or offline"
            } else {
                needed.as_str()
            },
            expected: current(needed),
            signer: *signer,
        })
    }
}

/// A change to an identity, kept in its history.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct IdentityEvent {
    pub id: String,
    pub height: Height,
    pub tx: Hash,
    pub action: String,
    pub signer: PublicKey,
    pub online_key: PublicKey,
    pub offline_key: PublicKey,
    /// The name bound, for a binding.
    pub name: Option<String>,
}

/// Store key prefix of every event of identity `id`.
pub fn identity_history_prefix(id: &str) -> Vec<u8> {
    [index::IDENTITY_HISTORY, id.as_bytes(), &[0]].concat()
}

/// Checks an identity, holder or class id: 1 to 64 bytes of `a-z 0-9 - _ .`, starting with a
/// letter or digit.
pub fn check_id(what: &'static str, id: &str) -> std::result::Result<(), TxError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.')
        });
    if ok {
        Ok(())
    } else {
        Err(TxError::InvalidId {
            what,
            id: id.to_string(),
            max: MAX_ID_BYTES,
        })
    }
}

/// The identity `id`, or why there is none.
pub(super) fn existing(
    state: &impl StateRead,
    id: &str,
) -> Result<std::result::Result<IdentityEntry, TxError>> {
    if let Err(e) = check_id("identity", id) {
        return Ok(Err(e));
    }
    Ok(state
        .get_decoded::<IdentityEntry>(&keys::identity(id))?
        .ok_or(TxError::IdentityNotFound { id: id.to_string() }))
}

pub(super) fn register<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    id: &str,
    online_key: &PublicKey,
    offline_key: &PublicKey,
) -> Result<Verdict> {
    check!(check_id("identity", id));
    if online_key == offline_key {
        reject!(TxError::SameKeys { id: id.to_string() });
    }
    let signer = context.signer();
    if signer != *online_key && signer != *offline_key {
        reject!(TxError::WrongSigner {
            owner: id.to_string(),
            needed: "online or offline",
            expected: *offline_key,
            signer,
        });
    }
    if state
        .get_decoded::<IdentityEntry>(&keys::identity(id))?
        .is_some()
    {
        reject!(TxError::IdentityTaken { id: id.to_string() });
    }
    let height = context.height;
    let period = |key, role| KeyPeriod {
        key,
        role,
        from: height,
        until: None,
    };
    let entry = IdentityEntry {
        id: id.to_string(),
        online_key: *online_key,
        offline_key: *offline_key,
        registered_at: height,
        updated_at: height,
        revoked_at: None,
        suspended_at: None,
        keys: vec![
            period(*online_key, KeyRole::Online),
            period(*offline_key, KeyRole::Offline),
        ],
    };
    Ok(Ok(save(state, context, entry, "register", None)))
}

pub(super) fn rotate<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    id: &str,
    new_online_key: &PublicKey,
) -> Result<Verdict> {
    let mut entry = check!(existing(state, id)?);
    check!(entry.authorize(&context.signer(), &[KeyRole::Offline]));
    check!(replace_key(
        &mut entry.keys,
        &entry.id,
        KeyRole::Online,
        new_online_key,
        context.height
    ));
    entry.online_key = *new_online_key;
    entry.suspended_at = None;
    Ok(Ok(save(state, context, entry, "rotate", None)))
}

pub(super) fn recover<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    id: &str,
    new_online_key: &PublicKey,
    new_offline_key: &PublicKey,
) -> Result<Verdict> {
    let mut entry = check!(existing(state, id)?);
    check!(entry.authorize(&context.signer(), &[KeyRole::Offline]));
    if new_online_key == new_offline_key {
        reject!(TxError::SameKeys { id: id.to_string() });
    }
    let height = context.height;
    check!(replace_key(
        &mut entry.keys,
        &entry.id,
        KeyRole::Online,
        new_online_key,
        height
    ));
    check!(replace_key(
        &mut entry.keys,
        &entry.id,
        KeyRole::Offline,
        new_offline_key,
        height
    ));
    entry.online_key = *new_online_key;
    entry.offline_key = *new_offline_key;
    entry.suspended_at = None;
    Ok(Ok(save(state, context, entry, "recover", None)))
}

/// Suspends an identity (either key): its online key's period ends at this height. A thief
/// holding only the online key can do no more than this; the offline key recovers.
pub(super) fn suspend<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    id: &str,
) -> Result<Verdict> {
    let mut entry = check!(existing(state, id)?);
    check!(entry.authorize(&context.signer(), &[KeyRole::Online, KeyRole::Offline]));
    if let Some(suspended_at) = entry.suspended_at {
        reject!(TxError::IdentitySuspended {
            id: entry.id,
            suspended_at
        });
    }
    for period in entry
        .keys
        .iter_mut()
        .filter(|p| p.role == KeyRole::Online && p.until.is_none())
    {
        period.until = Some(context.height);
    }
    entry.suspended_at = Some(context.height);
    Ok(Ok(save(state, context, entry, "suspend", None)))
}

/// Revokes an identity for good: only its offline key, the root, may.
pub(super) fn revoke<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    id: &str,
) -> Result<Verdict> {
    let mut entry = check!(existing(state, id)?);
    check!(entry.authorize(&context.signer(), &[KeyRole::Offline]));
    for period in entry.keys.iter_mut().filter(|p| p.until.is_none()) {
        period.until = Some(context.height);
    }
    entry.revoked_at = Some(context.height);
    Ok(Ok(save(state, context, entry, "revoke", None)))
}

/// Checks that identity `entry` consented, with its current online key, to `purpose` about
/// `subject` in a transaction of this signer, at this height.
pub(super) fn check_consent(
    entry: &IdentityEntry,
    context: &TxContext<'_>,
    purpose: &str,
    subject: &[&str],
    consent: &Consent,
) -> std::result::Result<(), TxError> {
    let refuse = |reason: String| TxError::NoConsent {
        id: entry.id.clone(),
        purpose: purpose.to_string(),
        reason,
    };
    if let Some(revoked_at) = entry.revoked_at {
        return Err(TxError::IdentityRevoked {
            id: entry.id.clone(),
            revoked_at,
        });
    }
    if let Some(suspended_at) = entry.suspended_at {
        return Err(TxError::IdentitySuspended {
            id: entry.id.clone(),
            suspended_at,
        });
    }
    let height = context.height;
    if consent.until < height {
        return Err(refuse(format!(
            "the consent was valid until height {}, this is height {height}",
            consent.until
        )));
    }
    if consent.until - height > MAX_CONSENT_BLOCKS {
        return Err(refuse(format!(
            "the consent is valid until height {}, more than {MAX_CONSENT_BLOCKS} blocks ahead",
            consent.until
        )));
    }
    let message = consent_message(
        &context.params.chain_id,
        purpose,
        &entry.id,
        subject,
        &context.signer(),
        consent.until,
    );
    if !entry.online_key.verify(&message, &consent.signature) {
        return Err(refuse(format!(
            "the signature is not by its online key {} over this {purpose} by {}",
            entry.online_key,
            context.signer()
        )));
    }
    Ok(())
}

/// Binds identity `id` to `name` (a registered name or a host below it, e.g.
/// `alice.example.sigil`), signed by the owner of the registered name and consented to by the
/// identity: the resolver then serves the identity's online key at `_sigil-key.<name>`.
pub(super) fn bind<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    id: &str,
    name: &str,
    consent: &Consent,
) -> Result<Verdict> {
    let full = check!(crate::name::normalize(name, false));
    let registered = match crate::name::place(&full, &context.params.tlds) {
        crate::name::Placement::Under { name, .. } => name.to_string(),
        _ => {
            // Not below a TLD of the chain: let the name rules say why.
            check!(crate::name::registrable(&full, &context.params.tlds));
            full.clone()
        }
    };
    let owned = check!(names::owned_active(state, context, &registered)?);
    let entry = check!(existing(state, id)?);
    check!(check_consent(&entry, context, "bind", &[&full], consent));
    state.put(keys::identity_binding(&full, &owned.owner), &entry.id);
    Ok(Ok(event(context, &entry, "bind", Some(full))))
}

/// Ends the current key of `role` at `height` and starts `new_key`, in the key history `keys`
/// of `owner` (an identity, or a company's holder): a key is never reused, and the history is
/// bounded.
pub(super) fn replace_key(
    keys: &mut Vec<KeyPeriod>,
    owner: &str,
    role: KeyRole,
    new_key: &PublicKey,
    height: Height,
) -> std::result::Result<(), TxError> {
    if keys.iter().any(|p| p.key == *new_key) {
        return Err(TxError::KeyReused {
            owner: owner.to_string(),
            key: *new_key,
        });
    }
    if keys.len() >= MAX_KEY_HISTORY {
        return Err(TxError::KeyHistoryFull {
            owner: owner.to_string(),
            max: MAX_KEY_HISTORY,
        });
    }
    for period in keys
        .iter_mut()
        .filter(|p| p.role == role && p.until.is_none())
    {
        period.until = Some(height);
    }
    keys.push(KeyPeriod {
        key: *new_key,
        role,
        from: height,
        until: None,
    });
    Ok(())
}

fn save<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    mut entry: IdentityEntry,
    action: &str,
    name: Option<String>,
) -> Vec<IndexEntry> {
    entry.updated_at = context.height;
    state.put(keys::identity(&entry.id), &entry);
    event(context, &entry, action, name)
}

fn event(
    context: &TxContext<'_>,
    entry: &IdentityEntry,
    action: &str,
    name: Option<String>,
) -> Vec<IndexEntry> {
    let event = IdentityEvent {
        id: entry.id.clone(),
        height: context.height,
        tx: context.stx.id(),
        action: action.to_string(),
        signer: context.signer(),
        online_key: entry.online_key,
        offline_key: entry.offline_key,
        name,
    };
    let key = [
        identity_history_prefix(&entry.id).as_slice(),
        &context.height.to_be_bytes(),
        &context.index.to_be_bytes(),
    ]
    .concat();
    vec![(key, encode(&event))]
}
