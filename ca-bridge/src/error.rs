//! The errors of `sigil-ca-bridge`: certificate files that cannot be used, and proofs that do
//! not hold.

use sigil_core::proof::ProofError;

/// Result alias of the certificate bridge.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a certificate, a fingerprint or a proof was refused. Messages name the offending value
/// and say what to give instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "`{0}` is not a SHA-256 fingerprint: give 64 hex digits, with or without colons (as `openssl x509 -fingerprint -sha256` prints)"
    )]
    BadFingerprint(String),
    #[error("the input is empty; give a certificate in PEM or DER form")]
    Empty,
    #[error(
        "the input is neither PEM (`-----BEGIN CERTIFICATE-----`) nor DER; give a certificate file such as `server.pem`"
    )]
    Garbage,
    #[error(
        "this is a private key (`{label}`), not a certificate; give the certificate file (`-----BEGIN CERTIFICATE-----`) and keep the key secret"
    )]
    PrivateKey { label: String },
    #[error("PEM block `{label}` is not a certificate; give a `-----BEGIN CERTIFICATE-----` block")]
    NotCertificate { label: String },
    #[error("PEM block {index} is damaged: {detail}")]
    BadPem { index: usize, detail: String },
    #[error(
        "the DER data is truncated: the certificate announces {need} bytes but only {have} are there; the file is incomplete"
    )]
    Truncated { have: usize, need: usize },
    #[error("certificate {index} of the input does not parse as X.509: {detail}")]
    BadCertificate { index: usize, detail: String },
    #[error(
        "the chain is in the wrong order: certificate {index} (`{subject}`) was not issued by the next one (`{next}`); put the server's certificate first, then each issuer"
    )]
    WrongOrder {
        index: usize,
        subject: String,
        next: String,
    },
    #[error("certificate name `{san}` cannot be used: {detail}")]
    BadSan { san: String, detail: String },
    #[error("the node's proof does not hold: {0}")]
    Proof(ProofError),
    #[error("the node's proofs do not fit together: {0}")]
    ProofMismatch(String),
    #[error("the node could not be asked for the certificate's proofs: {0}")]
    Fetch(String),
}

/// The cause is said in the message, not chained as `source()` too (so it is said once).
impl From<ProofError> for Error {
    fn from(e: ProofError) -> Self {
        Error::Proof(e)
    }
}
