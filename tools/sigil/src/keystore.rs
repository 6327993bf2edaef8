//! The keystore folder: signing keys as PKCS#8 PEM files (`NAME.pem`, mode 0600, in a 0700
//! folder) and the private files beside them (pending registrations, pinned validator sets).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, EncodePrivateKey, KeypairBytes, spki::der::pem::LineEnding,
};
use sigil_core::types::{Keypair, PublicKey};

/// Longest key name.
const MAX_KEY_NAME_BYTES: usize = 64;
const KEY_EXTENSION: &str = "pem";

#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// The keystore at `dir`, or at `sigil/keys` under the user's data directory.
    pub fn new(dir: Option<PathBuf>) -> anyhow::Result<Keystore> {
        let dir = match dir {
            Some(dir) => dir,
            None => dirs::data_dir()
                .context("cannot find the user's data directory; pass --keystore DIR or set SIGIL_KEYSTORE")?
                .join("sigil")
                .join("keys"),
        };
        Ok(Keystore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keystore folder or one of its subfolders, created private (0700) if missing.
    /// Says so on stderr when it creates the keystore itself.
    pub fn private_dir(&self, sub: Option<&str>) -> anyhow::Result<PathBuf> {
        if !self.dir.is_dir() {
            create_private_dir(&self.dir)?;
            eprintln!("sigil: created keystore {}", self.dir.display());
        }
        match sub {
            None => Ok(self.dir.clone()),
            Some(sub) => {
                let path = self.dir.join(sub);
                if !path.is_dir() {
                    create_private_dir(&path)?;
                }
                Ok(path)
            }
        }
    }

    /// Where key `name` is (or would be) kept.
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.{KEY_EXTENSION}"))
    }

    /// Creates key `name`; refuses to replace an existing one.
    pub fn create(&self, name: &str) -> anyhow::Result<(Keypair, PathBuf)> {
        check_key_name(name)?;
        let path = self.key_path(name);
        if path.exists() {
            bail!(
                "key `{name}` already exists at {}; choose another name (keys are never overwritten)",
                path.display()
            );
        }
        self.private_dir(None)?;
        let key = Keypair::generate();
        // PKCS#8 v1 (no embedded public key): OpenSSL 3.0 cannot read the v2 form that
        // `SigningKey::to_pkcs8_pem` writes.
        let pem = KeypairBytes {
            secret_key: key.signing_key().to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the key as PKCS#8: {e}"))?;
        write_private_new(&path, pem.as_bytes()).map_err(|e| {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists)
            {
                anyhow::anyhow!(
                    "key `{name}` already exists at {}; choose another name",
                    path.display()
                )
            } else {
                e
            }
        })?;
        Ok((key, path))
    }

    /// The names of the keys, sorted.
    pub fn list(&self) -> anyhow::Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the keystore {}", self.dir.display()));
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some(KEY_EXTENSION) || !path.is_file() {
                continue;
            }
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && check_key_name(stem).is_ok()
            {
                names.push(stem.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Loads key `name`.
    pub fn load(&self, name: &str) -> anyhow::Result<Keypair> {
        check_key_name(name)?;
        let path = self.key_path(name);
        let pem = match fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let known = self.list().unwrap_or_default();
                bail!(
                    "no key `{name}` in {}; {}",
                    self.dir.display(),
                    if known.is_empty() {
                        format!("create it with `sigil key new {name}`")
                    } else {
                        format!("the keys are: {}", known.join(", "))
                    }
                );
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        parse_pem(&path, &pem)
    }

    /// Loads a key from a PEM file outside the keystore (e.g. a node's `validator.pem`).
    pub fn load_file(path: &Path) -> anyhow::Result<Keypair> {
        let pem = fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        parse_pem(path, &pem)
    }

    /// The key to sign with: `wanted` (a key of the keystore, or a path to a PEM file if it
    /// contains a `/` or ends in `.pem`), or the only key of the keystore.
    pub fn select(&self, wanted: Option<&str>) -> anyhow::Result<(String, Keypair)> {
        if let Some(path) = wanted.filter(|w| w.contains('/') || w.ends_with(".pem")) {
            return Ok((path.to_string(), Keystore::load_file(Path::new(path))?));
        }
        if let Some(name) = wanted {
            return Ok((name.to_string(), self.load(name)?));
        }
        let names = self.list()?;
        match names.as_slice() {
            [] => bail!(
                "no keys in {}; create one with `sigil key new NAME` (or point --keystore at your keys)",
                self.dir.display()
            ),
            [only] => Ok((only.clone(), self.load(only)?)),
            _ => bail!(
                "the keystore {} has several keys ({}); choose one with --key NAME or SIGIL_KEY",
                self.dir.display(),
                names.join(", ")
            ),
        }
    }

    /// The key that must sign: `wanted` (`--key`) if given, else the keystore key whose public
    /// key is one of `must_sign`, tried in order (each paired with who it is, e.g. "the owner
    /// of `x.sigil`"). Every command signed by a key the chain names finds it here. When none
    /// is in the keystore, the error names the key(s) that must sign and how to import one.
    pub fn signer(
        &self,
        wanted: Option<&str>,
        must_sign: &[(PublicKey, String)],
    ) -> anyhow::Result<(String, Keypair)> {
        if wanted.is_some() {
            return self.select(wanted);
        }
        let names = self.list()?;
        for (public, _) in must_sign {
            if let Some(name) = names
                .iter()
                .find(|name| self.load_quiet(name).is_some_and(|k| k.public() == *public))
            {
                return Ok((name.clone(), self.load(name)?));
            }
        }
        let needed = must_sign
            .iter()
            .map(|(public, who)| format!("{who} ({public})"))
            .collect::<Vec<_>>()
            .join(" or ");
        let held = if names.is_empty() {
            "it holds no keys".to_string()
        } else {
            format!("its keys are {}", names.join(", "))
        };
        bail!(
            "this must be signed by {needed}, and no key of the keystore {} is that key ({held}); \
             import its PEM file with `sigil key import NAME FILE`, point --keystore at the folder \
             that holds it, or give --key NAME|FILE",
            self.dir.display()
        )
    }

    /// Copies the key in the PEM file `from` into the keystore as `name` (mode 0600); refuses
    /// a key that is not ed25519, and a name or a key already there.
    pub fn import(&self, name: &str, from: &Path) -> anyhow::Result<(Keypair, PathBuf)> {
        check_key_name(name)?;
        let key = Keystore::load_file(from)?;
        if let Some(existing) = self.name_of(&key.public()) {
            bail!(
                "the key in {} is already in the keystore as `{existing}`",
                from.display()
            );
        }
        let path = self.key_path(name);
        if path.exists() {
            bail!(
                "key `{name}` already exists at {}; choose another name (keys are never overwritten)",
                path.display()
            );
        }
        self.private_dir(None)?;
        let pem = KeypairBytes {
            secret_key: key.signing_key().to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the key as PKCS#8: {e}"))?;
        write_private_new(&path, pem.as_bytes())?;
        Ok((key, path))
    }

    /// The name of the keystore's key with public key `public`, if there is one.
    pub fn name_of(&self, public: &PublicKey) -> Option<String> {
        self.list()
            .ok()?
            .into_iter()
            .find(|name| self.load_quiet(name).is_some_and(|k| k.public() == *public))
    }

    fn load_quiet(&self, name: &str) -> Option<Keypair> {
        let pem = fs::read_to_string(self.key_path(name)).ok()?;
        SigningKey::from_pkcs8_pem(&pem)
            .ok()
            .map(Keypair::from_signing_key)
    }
}

/// A PKCS#8 ed25519 key read from `path`, refusing encrypted ones with what to do instead.
fn parse_pem(path: &Path, pem: &str) -> anyhow::Result<Keypair> {
    if pem.contains("ENCRYPTED PRIVATE KEY") {
        bail!(
            "{} is password-encrypted, which this sigil cannot read yet; decrypt it with `openssl pkey -in {0} -out {0}.plain` and keep it private",
            path.display()
        );
    }
    let key = SigningKey::from_pkcs8_pem(pem).map_err(|e| not_ed25519(path, pem, &e))?;
    warn_if_readable_by_others(path);
    Ok(Keypair::from_signing_key(key))
}

/// Why the PEM text of `path` is no signing key: another algorithm (only ed25519 signs), or not
/// a PKCS#8 key at all; either way, how to make one that signs.
fn not_ed25519(path: &Path, pem: &str, error: &dyn std::fmt::Display) -> anyhow::Error {
    const MAKE: &str = "only ed25519 keys sign Sigil transactions; create one with `sigil key new NAME` \
                        or `openssl genpkey -algorithm ed25519 -out key.pem` (then `sigil key import NAME key.pem`)";
    let error = error.to_string();
    // The PKCS#8 algorithm OIDs (and the legacy PEM labels) of the usual other keys.
    let algorithm = [
        ("1.2.840.113549.1.1.1", "BEGIN RSA PRIVATE KEY", "an RSA"),
        (
            "1.2.840.10045.2.1",
            "BEGIN EC PRIVATE KEY",
            "an elliptic-curve (ECDSA)",
        ),
        ("1.2.840.10040.4.1", "BEGIN DSA PRIVATE KEY", "a DSA"),
        ("1.3.101.111", "-", "an X448"),
        ("1.3.101.110", "-", "an X25519"),
        ("1.3.101.113", "-", "an ed448"),
    ]
    .into_iter()
    .find(|(oid, label, _)| error.contains(oid) || pem.contains(label))
    .map(|(_, _, what)| what);
    match algorithm {
        Some(what) => anyhow::anyhow!("{} holds {what} key; {MAKE}", path.display()),
        None if pem.contains("-----BEGIN") && pem.contains("PRIVATE KEY") => anyhow::anyhow!(
            "{} holds a private key sigil cannot use ({error}); {MAKE}",
            path.display()
        ),
        None => anyhow::anyhow!("{} is not a PEM private key; {MAKE}", path.display()),
    }
}

/// Key names become file names: letters, digits, `.`, `_` and `-`, not starting with `.` or `-`.
pub fn check_key_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_KEY_NAME_BYTES
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if !ok {
        bail!(
            "`{name}` is not a valid key name; use up to {MAX_KEY_NAME_BYTES} letters, digits, `.`, `_` or `-`, e.g. `alice`"
        );
    }
    Ok(())
}

fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // `mode` applies to folders the builder creates; make sure the last one is private
    // even when an umask or an earlier run left it wider.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(())
}

/// Writes a new owner-only (0600) file at `path` in one step: a temporary file is written and
/// flushed, then linked to `path`, which fails if `path` exists, so nothing is ever replaced
/// and a crash never leaves a half-written file there.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = temp_path(path);
    write_temp(&tmp, bytes)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked.with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

/// Writes an owner-only (0600) file at `path`, replacing it atomically if it exists.
pub fn write_private_replace(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = temp_path(path);
    write_temp(&tmp, bytes)?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

fn write_temp(tmp: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let _ = fs::remove_file(tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "sigil: warning: {} can be read by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(Some(dir.path().join("keys"))).unwrap();
        let (created, path) = store.create("alice").unwrap();
        assert_eq!(path, dir.path().join("keys/alice.pem"));
        let loaded = store.load("alice").unwrap();
        assert_eq!(loaded.public(), created.public());
        let pem = fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        // The v1 form `openssl genpkey -algorithm ed25519` writes: 48 DER bytes, version 0.
        assert_eq!(pem.lines().nth(1).map(str::len), Some(64), "{pem}");
        assert!(pem.contains("MC4CAQAwBQYDK2VwBCIEI"), "{pem}");
        assert_eq!(store.list().unwrap(), ["alice"]);
        assert_eq!(store.name_of(&created.public()).as_deref(), Some("alice"));
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(Some(dir.path().join("a/keys"))).unwrap();
        let (_, path) = store.create("k").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(mode(&store.private_dir(Some("pending")).unwrap()), 0o700);
    }

    #[test]
    fn never_overwrites_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(Some(dir.path().to_path_buf())).unwrap();
        let (first, path) = store.create("bob").unwrap();
        let before = fs::read(&path).unwrap();
        let err = store.create("bob").unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(store.load("bob").unwrap().public(), first.public());
        // The atomic path refuses too, even if the early check is raced.
        assert!(write_private_new(&path, b"x").is_err());
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn selects_the_only_key_or_asks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(Some(dir.path().to_path_buf())).unwrap();
        assert!(
            store
                .select(None)
                .unwrap_err()
                .to_string()
                .contains("sigil key new")
        );
        store.create("one").unwrap();
        assert_eq!(store.select(None).unwrap().0, "one");
        store.create("two").unwrap();
        let err = store.select(None).unwrap_err().to_string();
        assert!(err.contains("one, two") && err.contains("--key"), "{err}");
        assert_eq!(store.select(Some("two")).unwrap().0, "two");
        let err = store.select(Some("three")).unwrap_err().to_string();
        assert!(err.contains("one, two"), "{err}");
    }

    #[test]
    fn refuses_bad_key_names() {
        for bad in ["", "../x", "a/b", ".hidden", "-flag", "sp ace"] {
            assert!(check_key_name(bad).is_err(), "{bad:?}");
        }
        check_key_name("alice_2.work-key").unwrap();
    }
}
