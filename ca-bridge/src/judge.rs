//! The client's judgement of a certificate: check a node's proofs of a name's certificate
//! against trusted validators, then decide from the proven entries and the client's own clock
//! whether the certificate speaks for a host name, or exactly why not.

use std::fmt;

use sigil_core::name::{Placement, place};
use sigil_core::proof::CertProof;
use sigil_core::state::{
    CertEntry, NameEntry, Revocation, Silence, ValidatorSet, keys, within_validity,
};
use sigil_core::types::{Hash, Height, PublicKey};
use x509_parser::time::ASN1Time;

use crate::error::{Error, Result};

/// What a checked proof says about one certificate of one name, at one height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The registered name the certificate was looked up under.
    pub registered_name: String,
    pub cert_sha256: Hash,
    pub height: Height,
    pub block_hash: Hash,
    /// The time of the proven block, as its proposer stamped it (unix milliseconds).
    pub block_time_ms: u64,
    /// The certificate's entry under the name; `None`: proven absent.
    pub entry: Option<CertEntry>,
    /// The name's entry at the same height; `None`: proven absent (or not proven, when the
    /// certificate is absent).
    pub name: Option<NameEntry>,
}

/// The registered name a host name lies under (`www.example.sigil` → `example.sigil`): the
/// name whose certificates may speak for the host.
pub fn registered_name(host: &str, tlds: &[String]) -> std::result::Result<String, Refusal> {
    match place(host, tlds) {
        Placement::Under { name, .. } => Ok(name.to_string()),
        _ => Err(Refusal::OutsideChain {
            host: host.to_string(),
            tlds: tlds.to_vec(),
        }),
    }
}

/// Checks a node's answer about the certificate `cert_sha256` of the registered name `name`
/// against the trusted validator set: the proofs verify, they are of the right keys, at one
/// header, and the entries decode.
pub fn verify_cert_proof(
    answer: &CertProof,
    name: &str,
    cert_sha256: &Hash,
    chain_id: &str,
    trusted: &ValidatorSet,
) -> Result<Proven> {
    let fail = Error::ProofMismatch;
    let entry: Option<CertEntry> = answer.cert.verify_entry(
        &keys::cert(name, cert_sha256),
        &format!("certificate {cert_sha256} of `{name}`"),
        chain_id,
        trusted,
    )?;
    let header = &answer.cert.header;
    let mut name_entry = None;
    if let Some(entry) = &entry {
        if entry.facts.cert_sha256 != *cert_sha256 || entry.facts.name != name {
            return Err(fail(format!(
                "the proven entry is of certificate {} of `{}`, not {cert_sha256} of `{name}`",
                entry.facts.cert_sha256, entry.facts.name
            )));
        }
        let Some(name_proof) = &answer.name else {
            return Err(fail(format!(
                "the node sent no proof of `{name}`, the name the certificate is bound to"
            )));
        };
        if name_proof.header.hash() != header.hash() {
            return Err(fail(
                "the proofs of the certificate and of its name are of different blocks".into(),
            ));
        }
        name_entry = name_proof.verify_entry::<NameEntry>(
            &keys::name(name),
            &format!("the name `{name}`"),
            chain_id,
            trusted,
        )?;
        if let Some(n) = &name_entry
            && n.name != name
        {
            return Err(fail(format!(
                "the proven name entry is of `{}`, not `{name}`",
                n.name
            )));
        }
    }
    Ok(Proven {
        registered_name: name.to_string(),
        cert_sha256: *cert_sha256,
        height: header.height,
        block_hash: header.hash(),
        block_time_ms: header.time_ms,
        entry,
        name: name_entry,
    })
}

/// Why a certificate does not speak for a host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not on the ledger for the name.
    Unknown {
        name: String,
        cert_sha256: Hash,
    },
    /// The host lies under none of the chain's top-level domains: no name of the ledger speaks
    /// for it.
    OutsideChain {
        host: String,
        tlds: Vec<String>,
    },
    Revoked(Revocation),
    NotYetValid {
        not_before: i64,
    },
    Expired {
        not_after: i64,
    },
    /// Bound to another name, or none of its names is the host.
    NameMismatch {
        host: String,
        name: String,
        sans: Vec<String>,
    },
    /// The name now belongs to another key than the one the certificate was registered under.
    WrongOwner {
        name: String,
        registered_under: PublicKey,
        owner_now: PublicKey,
    },
    /// The name it is bound to has expired or is gone.
    NameGone {
        name: String,
    },
    /// The proof is of a block older than the client accepts: a node can replay an old, validly
    /// signed proof to hide a later revocation.
    Stale {
        height: Height,
        age_secs: u64,
        max_age_secs: u64,
    },
    /// The proof's block claims a time ahead of the client's clock by more than
    /// [`MAX_FUTURE_SKEW_SECS`]: with such a time it would look fresh for as long as it
    /// claims, so its age cannot be judged.
    FromTheFuture {
        height: Height,
        ahead_secs: u64,
    },
}

pub use sigil_core::proof::{DEFAULT_MAX_PROOF_AGE_SECS, MAX_FUTURE_SKEW_SECS};

impl Refusal {
    /// A stable code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unknown { .. } => "unknown",
            Refusal::OutsideChain { .. } => "outside_chain",
            Refusal::Revoked(_) => "revoked",
            Refusal::NotYetValid { .. } => "not_yet_valid",
            Refusal::Expired { .. } => "expired",
            Refusal::NameMismatch { .. } => "name_mismatch",
            Refusal::WrongOwner { .. } => "wrong_owner",
            Refusal::NameGone { .. } => "name_gone",
            Refusal::Stale { .. } => "stale",
            Refusal::FromTheFuture { .. } => "from_the_future",
        }
    }
}

/// A unix time as X.509 prints it (`Nov 24 22:32:18 2026 +00:00`).
pub fn show_time(unix_secs: i64) -> String {
    ASN1Time::from_timestamp(unix_secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("unix time {unix_secs}"))
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unknown { name, cert_sha256 } => write!(
                f,
                "unknown: certificate {cert_sha256} is not on the ledger for `{name}`"
            ),
            Refusal::OutsideChain { host, tlds } => write!(
                f,
                "outside the chain: `{host}` is under none of the chain's top-level domains ({})",
                tlds.join(", ")
            ),
            Refusal::Revoked(r) => write!(f, "revoked at height {} ({})", r.height, r.reason),
            Refusal::NotYetValid { not_before } => {
                write!(f, "not yet valid: valid from {}", show_time(*not_before))
            }
            Refusal::Expired { not_after } => {
                write!(f, "expired: valid until {}", show_time(*not_after))
            }
            Refusal::NameMismatch { host, name, sans } => write!(
                f,
                "name mismatch: the certificate is bound to `{name}` for {}, not `{host}`",
                sans.join(", ")
            ),
            Refusal::WrongOwner {
                name,
                registered_under,
                owner_now,
            } => write!(
                f,
                "wrong owner: registered while {registered_under} owned `{name}`, which now belongs to {owner_now}"
            ),
            Refusal::NameGone { name } => write!(
                f,
                "name gone: `{name}`, the name the certificate is bound to, has expired or is not registered"
            ),
            Refusal::Stale {
                height,
                age_secs,
                max_age_secs,
            } => write!(
                f,
                "stale: the proof is of block {height}, {age_secs} s old (more than {max_age_secs} s); the node may be hiding newer blocks, such as a revocation; ask another node"
            ),
            Refusal::FromTheFuture { height, ahead_secs } => write!(
                f,
                "from the future: block {height} claims a time {ahead_secs} s ahead of this machine's clock, so the proof's age cannot be judged; check this clock, or ask another node"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// Refuses a proof whose block is more than `max_age_secs` older than `now_ms` (unix
/// milliseconds, the client's clock), or from the future: the rule of
/// [`sigil_core::proof::check_fresh`], as a refusal.
pub fn check_fresh(proven: &Proven, now_ms: u64, max_age_secs: u64) -> Result<(), Refusal> {
    use sigil_core::proof::Unfresh;
    sigil_core::proof::check_fresh(proven.height, proven.block_time_ms, now_ms, max_age_secs)
        .map_err(|unfresh| match unfresh {
            Unfresh::Stale {
                height,
                age_secs,
                max_age_secs,
            } => Refusal::Stale {
                height,
                age_secs,
                max_age_secs,
            },
            Unfresh::FromTheFuture { height, ahead_secs } => {
                Refusal::FromTheFuture { height, ahead_secs }
            }
        })
}

/// Whether the proven certificate speaks for `host` (normalized, no trailing dot) at unix time
/// `now_secs`: on the ledger, not revoked, bound to the registered name `host` is or lies
/// under, one of its names matches `host`, the name still active and owned by the key it was
/// registered under, and inside its validity window.
pub fn judge<'p>(
    proven: &'p Proven,
    host: &str,
    tlds: &[String],
    now_secs: i64,
) -> std::result::Result<&'p CertEntry, Refusal> {
    let Some(entry) = &proven.entry else {
        return Err(Refusal::Unknown {
            name: proven.registered_name.clone(),
            cert_sha256: proven.cert_sha256,
        });
    };
    let facts = &entry.facts;
    entry
        .speaks_for(host, tlds, proven.name.as_ref(), proven.height, now_secs)
        .map_err(|silence| match silence {
            Silence::Revoked(r) => Refusal::Revoked(r),
            Silence::NameMismatch => Refusal::NameMismatch {
                host: host.to_string(),
                name: facts.name.clone(),
                sans: facts.sans.clone(),
            },
            Silence::WrongOwner { now } => Refusal::WrongOwner {
                name: facts.name.clone(),
                registered_under: entry.owner,
                owner_now: now,
            },
            Silence::NameGone => Refusal::NameGone {
                name: facts.name.clone(),
            },
            Silence::NotYetValid { not_before } => Refusal::NotYetValid { not_before },
            Silence::Expired { not_after } => Refusal::Expired { not_after },
        })?;
    Ok(entry)
}

/// Whether unix time `now_secs` lies inside the validity window `not_before..=not_after`.
pub fn check_validity(not_before: i64, not_after: i64, now_secs: i64) -> Result<(), Refusal> {
    within_validity(not_before, not_after, now_secs).map_err(|silence| match silence {
        Silence::NotYetValid { not_before } => Refusal::NotYetValid { not_before },
        _ => Refusal::Expired { not_after },
    })
}
