//! The development node's self-signed certificate for DNS over TLS and HTTPS: made once in the
//! data folder (its key readable by the owner only) and reused across restarts.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The certificate's file in the data folder (PEM).
pub const CERT_FILE: &str = "dev-tls-cert.pem";
/// Its private key's file in the data folder (PEM, PKCS#8, mode 0600).
pub const KEY_FILE: &str = "dev-tls-key.pem";

/// The names the certificate is for: the loopback names a development node is reached by.
const NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The paths of the certificate and key in `data`, made first if either is missing.
pub fn ensure(data: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (cert, key) = (data.join(CERT_FILE), data.join(KEY_FILE));
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    let names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    let made = rcgen::generate_simple_self_signed(names)
        .context("cannot make a self-signed TLS certificate")?;
    // The key first: a certificate is only ever next to its own key.
    write_new(&key, made.key_pair.serialize_pem().as_bytes(), 0o600)?;
    write_new(&cert, made.cert.pem().as_bytes(), 0o644)?;
    Ok((cert, key))
}

/// Writes `path` whole or not at all (a temporary file renamed over it), created with `mode`.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("pem.tmp");
    let _ = fs::remove_file(&tmp);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}
