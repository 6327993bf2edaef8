//! The resolver's error type: sockets that cannot be bound, upstreams that cannot be set up, and
//! ledger data that cannot be turned into DNS.

use std::net::SocketAddr;

use sigil_core::error::RecordError;

/// Result alias for the resolver.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong serving DNS.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("DNS address {addr} is in use; pass --dns-listen ADDR")]
    AddrInUse { addr: SocketAddr },
    // Causes are said in the messages, not chained again as `source()`.
    #[error("cannot listen for DNS on {addr}: {cause}; pass --dns-listen ADDR")]
    Bind {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error(
        "cannot use {path} for DNS over TLS and HTTPS: {detail}; pass --tls-cert FILE --tls-key FILE (PEM)"
    )]
    Tls {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error(
        "the TLS certificate and key cannot be served together ({detail}); pass the certificate's own key with --tls-key FILE"
    )]
    TlsPair { detail: String },
    #[error("cannot listen for {service} on {addr}: {cause}; pass {flag} ADDR")]
    BindEncrypted {
        service: &'static str,
        flag: &'static str,
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error(
        "--dot-listen and --doh-listen need a certificate: pass --tls-cert FILE --tls-key FILE (PEM)"
    )]
    NoCertificate,
    #[error("cannot set up the upstream resolvers {upstream}: {detail}")]
    Upstream { upstream: String, detail: String },
    #[error("reading the ledger failed: {0}")]
    Ledger(sigil_core::Error),
    #[error("record of `{name}` in the ledger cannot be decoded: {cause}")]
    Record { name: String, cause: RecordError },
    #[error("`{name}` from the ledger is not a valid DNS name: {detail}")]
    BadName { name: String, detail: String },
    #[error("the DNS server stopped: {0}")]
    Stopped(std::io::Error),
    #[error(
        "cannot use the DNS zone key {path}: {detail}; move the file away to make a new key (then give resolvers the new trust anchor: `sigil dns anchor`)"
    )]
    ZoneKey {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("cannot sign a DNS answer: {0}")]
    Sign(String),
    #[error("cannot start the DNS server's thread that indexes the registered names: {0}")]
    Thread(std::io::Error),
}

impl From<sigil_core::Error> for Error {
    fn from(e: sigil_core::Error) -> Self {
        Error::Ledger(e)
    }
}
