//! What a transaction says about a certificate: its facts, as the client parsed them, and the
//! reasons a certificate may be revoked for. Transactions carry them; the state machine
//! (`state::certs`) checks and keeps them.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::types::Hash;

/// What a transaction says about a certificate: parsed by the client, checked for consistency
/// (names, window) by the ledger.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CertFacts {
    /// The registered name the certificate is bound to, e.g. `example.sigil`.
    pub name: String,
    /// SHA-256 of the certificate's DER (TLSA `3 0 1`, the OpenSSL fingerprint).
    pub cert_sha256: Hash,
    /// SHA-256 of its SubjectPublicKeyInfo (TLSA `3 1 1`).
    pub spki_sha256: Hash,
    /// Start of the validity window, unix seconds.
    pub not_before: i64,
    /// End of the validity window, unix seconds.
    pub not_after: i64,
    /// DNS subject alternative names, canonical (lowercase, no trailing dot, `*.` wildcards).
    pub sans: Vec<String>,
}

/// Why a certificate was revoked: the RFC 5280 CRLReason codes that end a certificate for good
/// (`certificateHold` and `removeFromCRL` have no place on a ledger where revocation is final).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum RevocationReason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 8] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The spelling used on the command line and in JSON, e.g. `key-compromise`.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::CaCompromise => "ca-compromise",
            RevocationReason::AffiliationChanged => "affiliation-changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation-of-operation",
            RevocationReason::PrivilegeWithdrawn => "privilege-withdrawn",
            RevocationReason::AaCompromise => "aa-compromise",
        }
    }

    /// The RFC 5280 reason code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = String;

    /// Accepts the kebab-case spelling, the RFC 5280 camelCase one, or the numeric code.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let wanted: String = s
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        RevocationReason::ALL
            .into_iter()
            .find(|r| r.as_str().replace('-', "") == wanted || r.code().to_string() == wanted)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a revocation reason; use one of {}",
                    RevocationReason::ALL.map(|r| r.as_str()).join(", ")
                )
            })
    }
}
