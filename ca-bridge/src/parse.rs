//! Certificate files: PEM or DER, one certificate or a chain (server's first), parsed into
//! the facts the ledger keeps (hashes, validity window, DNS names), with a clear error for
//! anything else (garbage, a truncated file, a private key, a chain out of order).

use sigil_core::san;
use sigil_core::state::CertFacts;
use sigil_core::types::Hash;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{Error, Result};
use crate::sha256;

/// What a certificate says, as far as the ledger cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCert {
    pub der: Vec<u8>,
    /// SHA-256 of the DER (the OpenSSL fingerprint, TLSA `3 0 1`).
    pub cert_sha256: Hash,
    /// SHA-256 of the SubjectPublicKeyInfo (TLSA `3 1 1`).
    pub spki_sha256: Hash,
    /// Validity window, unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// DNS subject alternative names, canonical (lowercase, `*.` wildcards kept).
    pub sans: Vec<String>,
    pub subject: String,
    pub issuer: String,
    raw_subject: Vec<u8>,
    raw_issuer: Vec<u8>,
}

impl ParsedCert {
    /// The facts a registration of this certificate for `name` carries.
    pub fn facts(&self, name: &str) -> CertFacts {
        CertFacts {
            name: name.to_string(),
            cert_sha256: self.cert_sha256,
            spki_sha256: self.spki_sha256,
            not_before: self.not_before,
            not_after: self.not_after,
            sans: self.sans.clone(),
        }
    }
}

/// Parses one DER certificate.
pub fn parse_der(der: &[u8]) -> Result<ParsedCert> {
    let mut certs = parse_der_sequence(der)?;
    match certs.len() {
        1 => Ok(certs.remove(0)),
        n => Err(Error::BadCertificate {
            index: 1,
            detail: format!("expected one certificate, found {n}"),
        }),
    }
}

/// Parses a certificate file: PEM (one or more `CERTIFICATE` blocks) or DER (one or more
/// certificates back to back). A chain must start with the server's certificate, each
/// following one the issuer of the one before.
pub fn parse_chain(input: &[u8]) -> Result<Vec<ParsedCert>> {
    let trimmed = input.trim_ascii_start();
    if trimmed.is_empty() {
        return Err(Error::Empty);
    }
    let certs = if trimmed.starts_with(b"-----BEGIN") {
        parse_pem(trimmed)?
    } else if trimmed[0] == 0x30 {
        parse_der_sequence(input)?
    } else {
        return Err(Error::Garbage);
    };
    check_order(&certs)?;
    Ok(certs)
}

fn parse_pem(input: &[u8]) -> Result<Vec<ParsedCert>> {
    let mut certs = Vec::new();
    for (i, block) in Pem::iter_from_buffer(input).enumerate() {
        let block = block.map_err(|e| Error::BadPem {
            index: i + 1,
            detail: e.to_string(),
        })?;
        if block.label.contains("PRIVATE KEY") {
            return Err(Error::PrivateKey { label: block.label });
        }
        if block.label != "CERTIFICATE" {
            return Err(Error::NotCertificate { label: block.label });
        }
        let der = block.contents;
        check_length(&der)?;
        certs.push(parse_one(&der, i + 1)?);
    }
    if certs.is_empty() {
        return Err(Error::Garbage);
    }
    Ok(certs)
}

fn parse_der_sequence(mut der: &[u8]) -> Result<Vec<ParsedCert>> {
    if der.is_empty() {
        return Err(Error::Empty);
    }
    let mut certs = Vec::new();
    while !der.is_empty() {
        let len = check_length(der)?;
        certs.push(parse_one(&der[..len], certs.len() + 1)?);
        der = &der[len..];
    }
    Ok(certs)
}

/// The length of the DER element at the start of `der`, checked against what is there.
fn check_length(der: &[u8]) -> Result<usize> {
    let have = der.len();
    let garbage = || Error::BadCertificate {
        index: 1,
        detail: "not a DER SEQUENCE".into(),
    };
    if have < 2 || der[0] != 0x30 {
        return Err(if have == 0 { Error::Empty } else { garbage() });
    }
    let (header, len) = match der[1] {
        short @ 0..=0x7f => (2, short as usize),
        0x81..=0x84 => {
            let n = (der[1] & 0x7f) as usize;
            if have < 2 + n {
                return Err(Error::Truncated { have, need: 2 + n });
            }
            let len = der[2..2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (2 + n, len)
        }
        _ => return Err(garbage()),
    };
    let need = header + len;
    if have < need {
        return Err(Error::Truncated { have, need });
    }
    Ok(need)
}

fn parse_one(der: &[u8], index: usize) -> Result<ParsedCert> {
    let bad = |detail: String| Error::BadCertificate { index, detail };
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
    if !rest.is_empty() {
        return Err(bad(format!("{} bytes after the certificate", rest.len())));
    }
    let mut sans = Vec::new();
    let extension = cert
        .subject_alternative_name()
        .map_err(|e| bad(format!("bad subject alternative names: {e}")))?;
    if let Some(extension) = extension {
        for general in &extension.value.general_names {
            if let GeneralName::DNSName(name) = general {
                let canonical = san::normalize(name).map_err(|e| Error::BadSan {
                    san: name.to_string(),
                    detail: e.to_string(),
                })?;
                if !sans.contains(&canonical) {
                    sans.push(canonical);
                }
            }
        }
    }
    Ok(ParsedCert {
        der: der.to_vec(),
        cert_sha256: sha256(der),
        spki_sha256: sha256(cert.public_key().raw),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        sans,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        raw_subject: cert.subject().as_raw().to_vec(),
        raw_issuer: cert.issuer().as_raw().to_vec(),
    })
}

/// Each certificate must be issued by the next one.
fn check_order(certs: &[ParsedCert]) -> Result<()> {
    for (i, pair) in certs.windows(2).enumerate() {
        if pair[0].raw_issuer != pair[1].raw_subject {
            return Err(Error::WrongOrder {
                index: i + 1,
                subject: pair[0].subject.clone(),
                next: pair[1].subject.clone(),
            });
        }
    }
    Ok(())
}
