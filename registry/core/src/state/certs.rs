//! Certificates: hashes and facts of X.509 certificates bound to names by their owners or by
//! issuers (CAs) the owners authorized, revocation with an RFC 5280 reason, and batches. The
//! ledger never parses X.509: the transaction carries the facts, and validity dates are checked
//! by clients against their own clocks.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::names::owned_active;
use super::{IndexEntry, NameEntry, Overlay, StateRead, TxContext, Verdict, index, keys};
pub use crate::cert::{CertFacts, RevocationReason};
use crate::error::{Result, TxError};
use crate::limits::{MAX_ACTIVE_CERTS_PER_NAME, MAX_CERT_SANS, MAX_CERTS_PER_BATCH};
use crate::types::{Hash, Height, PublicKey, encode};
use crate::{name, san};

/// When, why and by whom a certificate was revoked.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Revocation {
    pub height: Height,
    pub reason: RevocationReason,
    pub by: PublicKey,
}

/// A certificate of a name on the ledger, under `cert/<name>/<sha256>`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CertEntry {
    #[serde(flatten)]
    pub facts: CertFacts,
    /// The owner of the name when the certificate was registered: the certificate speaks for
    /// the name only while this key still owns it.
    pub owner: PublicKey,
    /// The key that registered it: the owner or an authorized issuer.
    pub registered_by: PublicKey,
    pub registered_at: Height,
    pub revoked: Option<Revocation>,
}

/// Why a certificate on the ledger does not speak for its name, by the ledger alone (the
/// validity window is the client's to check against its clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerStanding {
    Active,
    Revoked(Revocation),
    /// The name is no longer registered, or has expired.
    NameGone,
    /// The name now belongs to another key than the one the certificate was registered under.
    WrongOwner {
        now: PublicKey,
    },
}

impl CertEntry {
    /// What the ledger says of this certificate, given its name's entry at `height`.
    pub fn standing(&self, name: Option<&NameEntry>, height: Height) -> LedgerStanding {
        if let Some(revocation) = &self.revoked {
            return LedgerStanding::Revoked(revocation.clone());
        }
        match name {
            Some(entry) if entry.is_active_at(height) && entry.owner == self.owner => {
                LedgerStanding::Active
            }
            Some(entry) if entry.is_active_at(height) => {
                LedgerStanding::WrongOwner { now: entry.owner }
            }
            _ => LedgerStanding::NameGone,
        }
    }
}

/// Why a certificate does not speak for a host: the one rule TLS clients (`sigil-ca-bridge`)
/// and DNS (the resolver's TLSA records) both apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Silence {
    Revoked(Revocation),
    /// The host is neither the certificate's registered name nor under it, or none of the
    /// certificate's names matches the host.
    NameMismatch,
    /// The name now belongs to another key than the one the certificate was registered under.
    WrongOwner {
        now: PublicKey,
    },
    /// The name is no longer registered, or has expired.
    NameGone,
    NotYetValid {
        not_before: i64,
    },
    Expired {
        not_after: i64,
    },
}

impl CertEntry {
    /// Whether this certificate speaks for `host` (normalized, no trailing dot) at `height`
    /// and unix time `now_secs`, given its registered name's entry `name` at that height: not
    /// revoked, bound to the registered name `host` is or lies under, one of its names matching
    /// `host`, the name active and owned by the key it was registered under, and inside its
    /// validity window. Checked in that order; the first failure is the answer.
    pub fn speaks_for(
        &self,
        host: &str,
        tlds: &[String],
        name: Option<&NameEntry>,
        height: Height,
        now_secs: i64,
    ) -> std::result::Result<(), Silence> {
        let standing = self.standing(name, height);
        if let LedgerStanding::Revoked(r) = standing {
            return Err(Silence::Revoked(r));
        }
        let facts = &self.facts;
        let bound_here = matches!(
            name::place(host, tlds),
            name::Placement::Under { name, .. } if name == facts.name
        );
        if !bound_here || !facts.sans.iter().any(|s| san::matches(s, host)) {
            return Err(Silence::NameMismatch);
        }
        match standing {
            LedgerStanding::Active => {}
            LedgerStanding::Revoked(r) => return Err(Silence::Revoked(r)),
            LedgerStanding::WrongOwner { now } => return Err(Silence::WrongOwner { now }),
            LedgerStanding::NameGone => return Err(Silence::NameGone),
        }
        within_validity(facts.not_before, facts.not_after, now_secs)
    }
}

/// Whether unix time `now_secs` lies inside the validity window `not_before..=not_after`.
pub fn within_validity(
    not_before: i64,
    not_after: i64,
    now_secs: i64,
) -> std::result::Result<(), Silence> {
    if now_secs < not_before {
        return Err(Silence::NotYetValid { not_before });
    }
    if now_secs > not_after {
        return Err(Silence::Expired { not_after });
    }
    Ok(())
}

/// An issuer's authorization for a name, under `cert-issuer/<name>/<key>`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct IssuerEntry {
    pub name: String,
    pub issuer: PublicKey,
    pub authorized_at: Height,
}

/// A change to the certificates of a name, kept in its certificate history.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CertEvent {
    pub name: String,
    pub height: Height,
    pub tx: Hash,
    /// `register`, `revoke`, `authorize-issuer` or `deauthorize-issuer`.
    pub action: String,
    pub by: PublicKey,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<PublicKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RevocationReason>,
}

/// Store key prefix of the names a certificate was registered under.
pub fn cert_names_prefix(cert_sha256: &Hash) -> Vec<u8> {
    [index::CERT_NAMES, &cert_sha256.0].concat()
}

/// The index entry that finds `name` from the certificate's SHA-256 (its value is empty).
fn name_by_fingerprint(name: &str, cert_sha256: &Hash) -> IndexEntry {
    (
        [cert_names_prefix(cert_sha256).as_slice(), name.as_bytes()].concat(),
        Vec::new(),
    )
}

/// Store key prefix of the certificate history of `name`.
pub fn cert_history_prefix(name: &str) -> Vec<u8> {
    [index::CERT_HISTORY, name.as_bytes(), &[0]].concat()
}

impl CertEvent {
    /// Ordered by height, position in the block, and position in a batch.
    fn index_entry(&self, context: &TxContext<'_>, item: u32) -> IndexEntry {
        let key = [
            cert_history_prefix(&self.name).as_slice(),
            &self.height.to_be_bytes(),
            &context.index.to_be_bytes(),
            &item.to_be_bytes(),
        ]
        .concat();
        (key, encode(self))
    }

    fn new(context: &TxContext<'_>, name: &str, action: &str) -> CertEvent {
        CertEvent {
            name: name.to_string(),
            height: context.height,
            tx: context.stx.id(),
            action: action.to_string(),
            by: context.signer(),
            cert_sha256: None,
            issuer: None,
            reason: None,
        }
    }
}

/// The hashes of the certificates of `name` that are registered and not revoked.
pub fn active_certs(state: &impl StateRead, name: &str) -> Result<Vec<Hash>> {
    Ok(state
        .get_decoded::<Vec<Hash>>(&keys::certs_of(name))?
        .unwrap_or_default())
}

/// The owner authorizes `issuer` to register and revoke certificates of `name`.
pub(super) fn authorize_issuer<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    name: &str,
    issuer: &PublicKey,
) -> Result<Verdict> {
    let entry = check!(owned_active(state, context, name)?);
    let key = keys::cert_issuer(&entry.name, &entry.owner, issuer);
    if state.get(&key)?.is_some() {
        reject!(TxError::IssuerAlreadyAuthorized {
            name: entry.name,
            issuer: *issuer
        });
    }
    state.put(
        key,
        &IssuerEntry {
            name: entry.name.clone(),
            issuer: *issuer,
            authorized_at: context.height,
        },
    );
    let mut event = CertEvent::new(context, &entry.name, "authorize-issuer");
    event.issuer = Some(*issuer);
    Ok(Ok(vec![event.index_entry(context, 0)]))
}

/// The owner withdraws an issuer's authorization; what it registered stays.
pub(super) fn deauthorize_issuer<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    name: &str,
    issuer: &PublicKey,
) -> Result<Verdict> {
    let entry = check!(owned_active(state, context, name)?);
    let key = keys::cert_issuer(&entry.name, &entry.owner, issuer);
    if state.get(&key)?.is_none() {
        reject!(TxError::IssuerNotAuthorized {
            name: entry.name,
            issuer: *issuer
        });
    }
    state.delete(key);
    let mut event = CertEvent::new(context, &entry.name, "deauthorize-issuer");
    event.issuer = Some(*issuer);
    Ok(Ok(vec![event.index_entry(context, 0)]))
}

/// Binds one certificate to its name.
pub(super) fn register<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    facts: &CertFacts,
) -> Result<Verdict> {
    let event = check!(register_one(state, context, facts)?);
    Ok(Ok(vec![
        event.index_entry(context, 0),
        name_by_fingerprint(&event.name, &facts.cert_sha256),
    ]))
}

/// Binds every certificate of a batch, or none.
pub(super) fn register_batch<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    certs: &[CertFacts],
) -> Result<Verdict> {
    if certs.is_empty() || certs.len() > MAX_CERTS_PER_BATCH {
        reject!(TxError::BatchSize {
            count: certs.len(),
            max: MAX_CERTS_PER_BATCH
        });
    }
    let mut entries = Vec::with_capacity(certs.len());
    for (i, facts) in certs.iter().enumerate() {
        match register_one(state, context, facts)? {
            Ok(event) => {
                entries.push(name_by_fingerprint(&event.name, &facts.cert_sha256));
                entries.push(event.index_entry(context, i as u32));
            }
            Err(error) => reject!(TxError::InBatch {
                index: i,
                cert_sha256: facts.cert_sha256,
                error: Box::new(error)
            }),
        }
    }
    Ok(Ok(entries))
}

fn register_one<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    facts: &CertFacts,
) -> Result<std::result::Result<CertEvent, TxError>> {
    let entry = match authority(state, context, &facts.name, true)? {
        Ok(entry) => entry,
        Err(e) => return Ok(Err(e)),
    };
    if facts.sans.len() > MAX_CERT_SANS {
        return Ok(Err(TxError::TooManySans {
            count: facts.sans.len(),
            max: MAX_CERT_SANS,
        }));
    }
    if let Err(e) = san::check_for_name(&facts.sans, &entry.name, &context.params.tlds) {
        return Ok(Err(e.into()));
    }
    if facts.not_before >= facts.not_after {
        return Ok(Err(TxError::CertBadWindow {
            not_before: facts.not_before,
            not_after: facts.not_after,
        }));
    }
    // Keyed by name and hash: the same hash under another name (a squatter's, say) is another
    // entry that never touches this one.
    let key = keys::cert(&entry.name, &facts.cert_sha256);
    if state.get(&key)?.is_some() {
        return Ok(Err(TxError::CertExists {
            cert_sha256: facts.cert_sha256,
            name: entry.name,
        }));
    }
    let mut active = active_certs(state, &entry.name)?;
    if active.len() >= MAX_ACTIVE_CERTS_PER_NAME {
        return Ok(Err(TxError::TooManyCerts {
            name: entry.name,
            max: MAX_ACTIVE_CERTS_PER_NAME,
        }));
    }
    active.push(facts.cert_sha256);
    state.put(keys::certs_of(&entry.name), &active);
    state.put(
        key,
        &CertEntry {
            facts: CertFacts {
                name: entry.name.clone(),
                ..facts.clone()
            },
            owner: entry.owner,
            registered_by: context.signer(),
            registered_at: context.height,
            revoked: None,
        },
    );
    let mut event = CertEvent::new(context, &entry.name, "register");
    event.cert_sha256 = Some(facts.cert_sha256);
    Ok(Ok(event))
}

/// Revokes a certificate of `name` for good (the name's owner, or an authorized issuer, even
/// after the name expired).
pub(super) fn revoke<S: StateRead>(
    state: &mut Overlay<'_, S>,
    context: &TxContext<'_>,
    name: &str,
    cert_sha256: &Hash,
    reason: RevocationReason,
) -> Result<Verdict> {
    let name = check!(name::registrable(name, &context.params.tlds));
    let key = keys::cert(&name, cert_sha256);
    let Some(mut cert) = state.get_decoded::<CertEntry>(&key)? else {
        reject!(TxError::CertNotFound {
            cert_sha256: *cert_sha256,
            name
        });
    };
    if let Some(revocation) = &cert.revoked {
        reject!(TxError::CertAlreadyRevoked {
            cert_sha256: *cert_sha256,
            height: revocation.height
        });
    }
    check!(authority(state, context, &name, false)?);
    let mut active = active_certs(state, &name)?;
    active.retain(|h| h != cert_sha256);
    if active.is_empty() {
        state.delete(keys::certs_of(&name));
    } else {
        state.put(keys::certs_of(&name), &active);
    }
    cert.revoked = Some(Revocation {
        height: context.height,
        reason,
        by: context.signer(),
    });
    state.put(key, &cert);
    let mut event = CertEvent::new(context, &name, "revoke");
    event.cert_sha256 = Some(*cert_sha256);
    event.reason = Some(reason);
    Ok(Ok(vec![event.index_entry(context, 0)]))
}

/// The entry of `name` if the signer may manage its certificates: its owner, or an issuer the
/// owner authorized. `active`: the name must not have expired.
fn authority(
    state: &impl StateRead,
    context: &TxContext<'_>,
    input: &str,
    active: bool,
) -> Result<std::result::Result<NameEntry, TxError>> {
    let name = match name::registrable(input, &context.params.tlds) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e.into())),
    };
    let Some(entry) = state.get_decoded::<NameEntry>(&keys::name(&name))? else {
        return Ok(Err(TxError::NameNotFound { name }));
    };
    if active && !entry.is_active_at(context.height) {
        return Ok(Err(TxError::NameExpired {
            name,
            expired_at: entry.expires_at,
        }));
    }
    let signer = context.signer();
    if entry.owner != signer
        && state
            .get(&keys::cert_issuer(&name, &entry.owner, &signer))?
            .is_none()
    {
        return Ok(Err(TxError::NotCertAuthority {
            name,
            owner: entry.owner,
            signer,
        }));
    }
    Ok(Ok(entry))
}
