//! X.509 certificates on the Sigil ledger: fingerprints in the form TLSA records and
//! `openssl x509 -fingerprint -sha256` use, PEM/DER parsing into the facts a transaction
//! carries, the client-side judgement of a certificate against proven ledger state, and a
//! rustls `ServerCertVerifier` backed by the ledger.

mod error;
pub mod judge;
pub mod parse;
pub mod verifier;

pub use error::{Error, Result};
pub use judge::{
    DEFAULT_MAX_PROOF_AGE_SECS, Proven, Refusal, check_fresh, judge, registered_name,
    verify_cert_proof,
};
pub use parse::{ParsedCert, parse_chain, parse_der};
pub use verifier::{CertSource, LedgerVerifier, ProofSource, handshake_error};

use sha2::{Digest, Sha256};
use sigil_core::types::Hash;

/// SHA-256 of DER bytes (a whole certificate, or its SubjectPublicKeyInfo).
pub fn sha256(der: &[u8]) -> Hash {
    Hash(Sha256::digest(der).into())
}

/// The fingerprint as OpenSSL prints it: uppercase hex pairs joined by colons.
pub fn openssl_form(fingerprint: &Hash) -> String {
    fingerprint
        .0
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses a fingerprint given as plain hex, as colon-separated pairs, or as a whole OpenSSL line
/// (`sha256 Fingerprint=AB:CD:...`).
pub fn parse_fingerprint(text: &str) -> Result<Hash> {
    let value = text.trim().rsplit('=').next().unwrap_or_default();
    let hex: String = value.chars().filter(|c| *c != ':').collect();
    hex.parse()
        .map_err(|_| Error::BadFingerprint(text.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip_through_the_openssl_form() {
        // SHA-256 of the empty string, a known value.
        let fp = sha256(b"");
        assert_eq!(
            fp.to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let printed = openssl_form(&fp);
        assert!(printed.starts_with("E3:B0:C4"));
        assert_eq!(parse_fingerprint(&printed).unwrap(), fp);
        assert_eq!(
            parse_fingerprint(&format!("sha256 Fingerprint={printed}\n")).unwrap(),
            fp
        );
        assert_eq!(parse_fingerprint(&fp.to_string()).unwrap(), fp);
        assert!(parse_fingerprint("AB:CD").is_err());
        assert!(parse_fingerprint("zz").is_err());
    }
}
