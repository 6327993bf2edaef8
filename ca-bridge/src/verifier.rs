//! A rustls `ServerCertVerifier` that trusts the ledger (DANE-EE style): the server's
//! certificate is accepted if and only if the ledger, through proofs checked against trusted
//! validators, has it active for the server name among the entries of the registered name the
//! server name lies under. Usable alone or on top of another verifier (the usual WebPKI one);
//! the handshake's signature is always checked with the crypto provider's algorithms.
//!
//! rustls does not verify the certificate again when it resumes a session: a client that must
//! see a revocation at once sets `ClientConfig::resumption` to `Resumption::disabled()`.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sigil_core::proof::CertProof;
use sigil_core::state::ValidatorSet;
use sigil_core::types::Hash;

use crate::judge::{
    Proven, check_fresh, check_validity, judge, registered_name, verify_cert_proof,
};
use crate::parse::parse_der;
use crate::{Error, sha256};

/// Where the verifier learns what the ledger says about a certificate.
pub trait CertSource: Send + Sync {
    /// The proven ledger state of the certificate with this SHA-256 under the registered name
    /// `name` (entries under other names never count for it).
    fn lookup(&self, name: &str, cert_sha256: &Hash) -> Result<Proven, Error>;
    /// The chain's top-level domains.
    fn tlds(&self) -> &[String];
}

/// A source that fetches a node's proofs and checks them against trusted validators.
pub struct ProofSource<F> {
    fetch: F,
    chain_id: String,
    trusted: ValidatorSet,
    tlds: Vec<String>,
}

impl<F> ProofSource<F>
where
    F: Fn(&str, &Hash) -> Result<CertProof, String> + Send + Sync,
{
    /// `fetch` asks a node for the proofs of a name's certificate (and of the name); nothing it
    /// returns is believed unless it verifies against `trusted`.
    pub fn new(fetch: F, chain_id: &str, trusted: ValidatorSet, tlds: Vec<String>) -> Self {
        ProofSource {
            fetch,
            chain_id: chain_id.to_string(),
            trusted,
            tlds,
        }
    }
}

impl<F> CertSource for ProofSource<F>
where
    F: Fn(&str, &Hash) -> Result<CertProof, String> + Send + Sync,
{
    fn lookup(&self, name: &str, cert_sha256: &Hash) -> Result<Proven, Error> {
        let answer = (self.fetch)(name, cert_sha256).map_err(Error::Fetch)?;
        verify_cert_proof(&answer, name, cert_sha256, &self.chain_id, &self.trusted)
    }

    fn tlds(&self) -> &[String] {
        &self.tlds
    }
}

/// The verifier. `inner`, when given, must accept the certificate first (for example rustls'
/// `WebPkiServerVerifier`); the ledger then must have it active for the server name.
pub struct LedgerVerifier {
    source: Arc<dyn CertSource>,
    inner: Option<Arc<dyn ServerCertVerifier>>,
    provider: Arc<CryptoProvider>,
    /// Proofs of older blocks are refused (see [`check_fresh`]).
    max_proof_age_secs: u64,
    /// What the ledger said in the last certificate check (for reports).
    last: Mutex<Option<Proven>>,
}

impl fmt::Debug for LedgerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerVerifier")
            .field("inner", &self.inner.is_some())
            .finish()
    }
}

impl LedgerVerifier {
    /// The ledger alone decides (DANE-EE), from proofs of blocks at most `max_proof_age_secs`
    /// old by the handshake's clock ([`DEFAULT_MAX_PROOF_AGE_SECS`] unless there is a reason),
    /// so that a node cannot hide a revocation by replaying an old proof.
    pub fn new(
        source: Arc<dyn CertSource>,
        provider: Arc<CryptoProvider>,
        max_proof_age_secs: u64,
    ) -> LedgerVerifier {
        LedgerVerifier {
            source,
            inner: None,
            provider,
            max_proof_age_secs,
            last: Mutex::new(None),
        }
    }

    /// `inner` first, then the ledger.
    pub fn on_top_of(mut self, inner: Arc<dyn ServerCertVerifier>) -> LedgerVerifier {
        self.inner = Some(inner);
        self
    }

    /// What the ledger said in the last certificate check, if any.
    pub fn last_proven(&self) -> Option<Proven> {
        self.last.lock().map(|l| l.clone()).unwrap_or(None)
    }
}

/// Why a handshake failed, in words: the ledger's reason when the ledger verifier refused the
/// certificate (`revoked at height 12 (key-compromise)`), else rustls' own description.
pub fn handshake_error(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            inner.to_string()
        }
        other => other.to_string(),
    }
}

fn refuse(e: impl std::error::Error + Send + Sync + 'static) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
}

impl ServerCertVerifier for LedgerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(inner) = &self.inner {
            inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        }
        let ServerName::DnsName(host) = server_name else {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName,
            ));
        };
        let host = host.as_ref().trim_end_matches('.').to_ascii_lowercase();
        // Only the entries of the name the host lies under speak for it.
        let name = registered_name(&host, self.source.tlds()).map_err(refuse)?;
        let proven = self
            .source
            .lookup(&name, &sha256(end_entity))
            .map_err(refuse)?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some(proven.clone());
        }
        check_fresh(
            &proven,
            now.as_secs().saturating_mul(1000),
            self.max_proof_age_secs,
        )
        .map_err(refuse)?;
        let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        judge(&proven, &host, self.source.tlds(), now_secs).map_err(refuse)?;
        // The validity window on the ledger is the registrant's word; the certificate's own
        // window binds too.
        let own = parse_der(end_entity.as_ref()).map_err(refuse)?;
        check_validity(own.not_before, own.not_after, now_secs).map_err(refuse)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
