//! The certificate DNS over TLS and HTTPS serve: read from PEM files, turned into rustls server
//! settings, and its SHA-256 SPKI pin (RFC 7858 section 4.2) for clients that pin it.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Where the certificate chain and its private key are, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate, then any intermediates.
    pub cert: PathBuf,
    /// The certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A loaded certificate and key.
#[derive(Debug)]
pub(crate) struct Identity {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The SPKI pin of the first certificate.
    pub(crate) pin: String,
}

impl Identity {
    /// Reads `files` and checks that the key is the certificate's.
    pub(crate) fn load(files: &TlsFiles) -> Result<Identity> {
        let bad_cert = |detail: String| Error::Tls {
            path: files.cert.clone(),
            detail,
        };
        let certs = CertificateDer::pem_file_iter(&files.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad_cert(format!("not a PEM certificate file ({e})")))?;
        let first = certs
            .first()
            .ok_or_else(|| bad_cert("no CERTIFICATE block in it".into()))?;
        let pin = spki_pin(first).map_err(bad_cert)?;
        let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| Error::Tls {
            path: files.key.clone(),
            detail: format!("not a PEM private key file ({e})"),
        })?;
        let identity = Identity { certs, key, pin };
        identity.server_config(Vec::new())?;
        Ok(identity)
    }

    /// rustls settings serving this certificate, offering `alpn` (none: any client).
    pub(crate) fn server_config(&self, alpn: Vec<Vec<u8>>) -> Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(self.certs.clone(), self.key.clone_key())
            })
            .map_err(|e| Error::TlsPair {
                detail: e.to_string(),
            })?;
        config.alpn_protocols = alpn;
        Ok(Arc::new(config))
    }
}

/// The base64 SHA-256 digest of a certificate's SubjectPublicKeyInfo: the pin
/// `kdig +tls-pin=` and RFC 7858's SPKI pin sets take.
pub fn spki_pin(cert: &[u8]) -> Result<String, String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| format!("its first certificate cannot be parsed ({e})"))?;
    let digest = Sha256::digest(parsed.tbs_certificate.subject_pki.raw);
    Ok(data_encoding::BASE64.encode(&digest))
}
