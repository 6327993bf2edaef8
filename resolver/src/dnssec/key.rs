//! The zone key a node signs its DNS answers with: ed25519 (DNSSEC algorithm 15), made on
//! first start in the data folder (PKCS#8 PEM, mode 0600), never overwritten; its DNSKEY and
//! DS records are the trust anchor validating resolvers are given.

use std::fmt;
use std::fs;
use std::path::Path;

use data_encoding::BASE64;
use hickory_proto::dnssec::crypto::Ed25519SigningKey;
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{DigestType, PublicKey, SigningKey, TBS};
use hickory_proto::rr::Name;
use rustls::pki_types::PrivatePkcs8KeyDer;

use crate::error::{Error, Result};
use crate::limits::DNSKEY_TTL_SECS;

/// The zone key's file in a node's data folder.
pub const ZONE_KEY_FILE: &str = "dns-zone-key.pem";

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// The key that signs every zone (top-level domain) the node answers for. One key is both
/// the key-signing and the zone-signing key (flags 257: zone key, secure entry point).
pub struct ZoneKey {
    signing: Ed25519SigningKey,
    dnskey: DNSKEY,
    key_tag: u16,
}

impl fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZoneKey({} {})", self.key_tag, self.dnskey)
    }
}

impl PartialEq for ZoneKey {
    fn eq(&self, other: &Self) -> bool {
        self.dnskey == other.dnskey
    }
}

impl Eq for ZoneKey {}

impl ZoneKey {
    /// The key in `path`, made there first if there is none (the folder too).
    pub fn load_or_create(path: &Path) -> Result<ZoneKey> {
        let error = |detail: String| Error::ZoneKey {
            path: path.to_path_buf(),
            detail,
        };
        if !path.exists() {
            let pkcs8 = Ed25519SigningKey::generate_pkcs8()
                .map_err(|e| error(format!("cannot generate a key: {e}")))?;
            // Of two processes making a key at once, the first kept is the one used.
            sigil_core::durable::create_private(path, pem(pkcs8.secret_pkcs8_der()).as_bytes())
                .map_err(|e| error(format!("cannot write it: {e}")))?;
        }
        let text = fs::read_to_string(path).map_err(|e| error(format!("cannot read it: {e}")))?;
        let der = unpem(&text).ok_or_else(|| error("it is not a PEM private key".into()))?;
        ZoneKey::from_pkcs8(&der).map_err(error)
    }

    /// The key of PKCS#8 (v2, with the public key) bytes.
    pub fn from_pkcs8(der: &[u8]) -> Result<ZoneKey, String> {
        let signing = Ed25519SigningKey::from_pkcs8(&PrivatePkcs8KeyDer::from(der.to_vec()))
            .map_err(|e| format!("not an ed25519 PKCS#8 key: {e}"))?;
        let public = signing
            .to_public_key()
            .map_err(|e| format!("no public key: {e}"))?;
        let dnskey = DNSKEY::new(true, true, false, public);
        let key_tag = dnskey
            .calculate_key_tag()
            .map_err(|e| format!("no key tag: {e}"))?;
        Ok(ZoneKey {
            signing,
            dnskey,
            key_tag,
        })
    }

    /// The DNSKEY record data.
    pub fn dnskey(&self) -> &DNSKEY {
        &self.dnskey
    }

    /// The key tag RRSIG records name the key by.
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }

    /// The DS record data of the key at `zone` (SHA-256 digest).
    pub fn ds(&self, zone: &Name) -> Result<DS> {
        let digest = self
            .dnskey
            .to_digest(zone, DigestType::SHA256)
            .map_err(|e| Error::Sign(e.to_string()))?;
        Ok(DS::new(
            self.key_tag,
            self.dnskey.public_key().algorithm(),
            DigestType::SHA256,
            digest.as_ref().to_vec(),
        ))
    }

    /// The trust anchor of the zone of top-level domain `tld` in zone-file form: the apex
    /// (`sigil.`), and its DNSKEY and DS records.
    pub fn anchor(&self, tld: &str) -> Result<(String, String, String)> {
        let zone = Name::from_ascii(format!("{tld}."))
            .map_err(|e| Error::BadName {
                name: tld.to_string(),
                detail: e.to_string(),
            })?
            .to_lowercase();
        Ok((
            zone.to_string(),
            format!("{zone} {DNSKEY_TTL_SECS} IN DNSKEY {}", self.dnskey),
            format!("{zone} {DNSKEY_TTL_SECS} IN DS {}", self.ds(&zone)?),
        ))
    }

    /// Signs `tbs`.
    pub(crate) fn sign(&self, tbs: &TBS) -> Result<Vec<u8>> {
        self.signing
            .sign(tbs)
            .map_err(|e| Error::Sign(e.to_string()))
    }
}

fn pem(der: &[u8]) -> String {
    let body = BASE64.encode(der);
    let mut out = String::with_capacity(body.len() + 64);
    out.push_str(PEM_BEGIN);
    out.push('\n');
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

fn unpem(text: &str) -> Option<Vec<u8>> {
    let body = text.split(PEM_BEGIN).nth(1)?.split(PEM_END).next()?;
    let body: String = body.split_whitespace().collect();
    BASE64.decode(body.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("sigil-zone-key-{}", std::process::id()));
        let path = dir.join("sub").join(ZONE_KEY_FILE);
        let made = ZoneKey::load_or_create(&path).unwrap();
        assert_eq!(u8::from(made.dnskey().public_key().algorithm()), 15);
        assert_eq!(made.dnskey().flags(), 257);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = ZoneKey::load_or_create(&path).unwrap();
        assert_eq!(made, again, "the key was replaced");
        let (zone, dnskey, ds) = made.anchor("SIGIL").unwrap();
        assert_eq!(zone, "sigil.");
        assert!(
            dnskey.starts_with("sigil. 3600 IN DNSKEY 257 3 15 "),
            "{dnskey}"
        );
        assert!(
            ds.starts_with(&format!("sigil. 3600 IN DS {} 15 2 ", made.key_tag())),
            "{ds}"
        );
        fs::write(&path, "garbage").unwrap();
        let error = ZoneKey::load_or_create(&path).unwrap_err().to_string();
        assert!(error.contains("not a PEM private key"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
