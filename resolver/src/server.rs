//! The DNS server: binds UDP and TCP on one address, answers UDP on its own threads and TCP on
//! a task per connection (both from the answer cache first), DNS over TLS and HTTPS on their
//! own addresses when asked, and shuts down gracefully.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use sigil_core::read::NameReader;
use tokio::net::{TcpListener, UdpSocket};
use tokio_rustls::TlsAcceptor;
use tracing::info;

use crate::allow::ForwardAllow;
use crate::cache::AnswerCache;
use crate::dnssec::ZoneKey;
use crate::error::{Error, Result};
use crate::handler::Handler;
use crate::light::Light;
use crate::limits::{BIND_ATTEMPTS, DEFAULT_ANSWER_CACHE_BYTES, DEFAULT_RRL_RESPONSES_PER_SECOND};
use crate::metrics::DnsMetrics;
use crate::rrl::RateLimiter;
use crate::tcp::{TcpServer, Transport};
use crate::tls::{Identity, TlsFiles};
use crate::udp::UdpThreads;

/// Default DNS listen address of `sigild`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5353);

/// Where the DNS server listens and where it forwards names outside the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// UDP and TCP address; port 0 picks a free port (the same one for both).
    pub listen: SocketAddr,
    /// Upstream resolvers for names outside the chain; none means such queries are REFUSED.
    pub upstream: Vec<SocketAddr>,
    /// Bound of the cache of encoded answers to chain names, in bytes; 0 turns it off.
    pub cache_bytes: u64,
    /// Address for DNS over TLS (RFC 7858), if any; needs `tls`.
    pub dot_listen: Option<SocketAddr>,
    /// Address for DNS over HTTPS (RFC 8484, at `/dns-query`), if any; needs `tls`.
    pub doh_listen: Option<SocketAddr>,
    /// The certificate DNS over TLS and HTTPS serve.
    pub tls: Option<TlsFiles>,
    /// Answers of our own (not forwarded) per second to one source prefix over UDP, beyond
    /// which they are dropped or slip out truncated (`rrl`); 0 turns the limit off.
    pub rrl_responses_per_second: u32,
    /// The clients whose questions for names outside the chain are forwarded to `upstream`;
    /// the others are REFUSED.
    pub forward_allow: ForwardAllow,
    /// The key chain answers are signed with for clients that set the DO bit (DNSSEC); none:
    /// answers are never signed.
    pub zone_key: Option<Arc<ZoneKey>>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            listen: DEFAULT_LISTEN,
            upstream: Vec::new(),
            cache_bytes: DEFAULT_ANSWER_CACHE_BYTES,
            dot_listen: None,
            doh_listen: None,
            tls: None,
            rrl_responses_per_second: DEFAULT_RRL_RESPONSES_PER_SECOND,
            forward_allow: ForwardAllow::default(),
            zone_key: None,
        }
    }
}

/// A running DNS server. Dropping it stops the server abruptly; `shutdown` stops it gracefully.
pub struct DnsServer {
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    tcp: TcpServer,
    udp: UdpThreads,
    dot: Option<(SocketAddr, TcpServer)>,
    doh: Option<(SocketAddr, TcpServer)>,
    tls_pin: Option<String>,
    metrics: DnsMetrics,
}

/// The ALPN protocol of DNS over TLS (RFC 7858's registration).
const DOT_ALPN: &[u8] = b"dot";

/// Starts answering DNS on `config.listen` (UDP and TCP) from `reader`, forwarding other names
/// to `config.upstream`.
pub async fn serve(config: DnsConfig, reader: Arc<dyn NameReader>) -> Result<DnsServer> {
    let handler = Handler::new(reader.clone(), &config.upstream)?;
    serve_with(config, reader, handler).await
}

/// Starts a light resolver's DNS server on `config.listen`: chain names answered only from
/// what `light` proves, other names forwarded to `config.upstream`.
pub async fn serve_light(config: DnsConfig, light: Arc<Light>) -> Result<DnsServer> {
    let handler = Handler::light(light.clone(), &config.upstream)?;
    serve_with(config, light, handler).await
}

async fn serve_with(
    config: DnsConfig,
    reader: Arc<dyn NameReader>,
    handler: Handler,
) -> Result<DnsServer> {
    let encrypted = config.dot_listen.is_some() || config.doh_listen.is_some();
    let identity = match (&config.tls, encrypted) {
        (Some(files), true) => Some(Identity::load(files)?),
        (None, true) => return Err(Error::NoCertificate),
        (_, false) => None,
    };
    let cache = (config.cache_bytes > 0)
        .then(|| Arc::new(AnswerCache::new(config.cache_bytes, reader.tip_height())));
    if let Some(cache) = &cache {
        // The names are listed before the first question: from then on, a question under a
        // name that is not registered is answered without a ledger read.
        let (cache, reader) = (cache.clone(), reader.clone());
        tokio::task::spawn_blocking(move || cache.index_names(reader))
            .await
            .map_err(|e| Error::Thread(io::Error::other(e)))?
            .map_err(Error::Thread)?;
    }
    let handler = Arc::new(
        handler
            .serving_on(config.listen)
            .forwarding_for(config.forward_allow.clone())
            .signing_with(config.zone_key.clone())
            .caching_in(cache),
    );
    let limiter = (config.rrl_responses_per_second > 0)
        .then(|| Arc::new(RateLimiter::new(config.rrl_responses_per_second)));
    let metrics = handler.metrics().clone();
    let (udp, tcp) = bind(config.listen).await?;
    let bind_error = |cause| Error::Bind {
        addr: config.listen,
        cause,
    };
    let udp_addr = udp.local_addr().map_err(bind_error)?;
    let tcp_addr = tcp.local_addr().map_err(bind_error)?;
    let udp = udp.into_std().map_err(bind_error)?;
    udp.set_nonblocking(false).map_err(bind_error)?;
    let udp = UdpThreads::start(
        udp,
        handler.clone(),
        limiter,
        tokio::runtime::Handle::current(),
    )
    .map_err(bind_error)?;
    let tcp = TcpServer::start(tcp, handler.clone(), Transport::Plain);
    info!(
        %udp_addr,
        %tcp_addr,
        upstream = ?config.upstream,
        forward_allow = ?config.forward_allow.nets(),
        rrl_responses_per_second = config.rrl_responses_per_second,
        cache_bytes = config.cache_bytes,
        "DNS server listening"
    );
    let mut dot = None;
    let mut doh = None;
    if let Some(identity) = &identity {
        if let Some(addr) = config.dot_listen {
            // Clients that offer ALPN must offer `dot`; the others are served too.
            let tls = TlsAcceptor::from(identity.server_config(vec![DOT_ALPN.to_vec()])?);
            let listener = bind_encrypted(addr, "DNS over TLS", "--dot-listen").await?;
            let addr = listener
                .local_addr()
                .map_err(|cause| Error::BindEncrypted {
                    service: "DNS over TLS",
                    flag: "--dot-listen",
                    addr,
                    cause,
                })?;
            info!(dot_addr = %addr, tls_pin = %identity.pin, "DNS over TLS listening");
            dot = Some((
                addr,
                TcpServer::start(listener, handler.clone(), Transport::Tls(tls)),
            ));
        }
        if let Some(addr) = config.doh_listen {
            let alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            let tls = TlsAcceptor::from(identity.server_config(alpn)?);
            let listener = bind_encrypted(addr, "DNS over HTTPS", "--doh-listen").await?;
            let addr = listener
                .local_addr()
                .map_err(|cause| Error::BindEncrypted {
                    service: "DNS over HTTPS",
                    flag: "--doh-listen",
                    addr,
                    cause,
                })?;
            info!(doh_addr = %addr, tls_pin = %identity.pin, "DNS over HTTPS listening");
            doh = Some((
                addr,
                TcpServer::start(listener, handler, Transport::Https(tls)),
            ));
        }
    }
    Ok(DnsServer {
        udp_addr,
        tcp_addr,
        tcp,
        udp,
        dot,
        doh,
        tls_pin: identity.map(|identity| identity.pin),
        metrics,
    })
}

async fn bind_encrypted(
    addr: SocketAddr,
    service: &'static str,
    flag: &'static str,
) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|cause| Error::BindEncrypted {
            service,
            flag,
            addr,
            cause,
        })
}

/// Binds UDP and TCP on `addr`. With port 0, both get the same free port: UDP picks one and TCP
/// follows, retried if that port is taken for TCP.
async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener)> {
    let bind_error = |source: io::Error| match source.kind() {
        io::ErrorKind::AddrInUse => Error::AddrInUse { addr },
        _ => Error::Bind {
            addr,
            cause: source,
        },
    };
    let attempts = if addr.port() == 0 { BIND_ATTEMPTS } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(addr).await.map_err(bind_error)?;
        let port = udp.local_addr().map_err(bind_error)?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(bind_error(last.unwrap_or_else(|| {
        io::Error::from(io::ErrorKind::AddrInUse)
    })))
}

impl DnsServer {
    /// The address DNS is served on; UDP and TCP share it (the actual port when `listen` had
    /// port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The bound UDP address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The bound TCP address; same port as UDP.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The bound DNS over TLS address, if serving it.
    pub fn dot_addr(&self) -> Option<SocketAddr> {
        self.dot.as_ref().map(|(addr, _)| *addr)
    }

    /// The bound DNS over HTTPS address, if serving it.
    pub fn doh_addr(&self) -> Option<SocketAddr> {
        self.doh.as_ref().map(|(addr, _)| *addr)
    }

    /// The SHA-256 SPKI pin (base64) of the certificate DNS over TLS and HTTPS serve.
    pub fn tls_pin(&self) -> Option<&str> {
        self.tls_pin.as_deref()
    }

    /// What the server counts (add it to the node's registry with [`DnsMetrics::register`]).
    pub fn metrics(&self) -> &DnsMetrics {
        &self.metrics
    }

    /// Runs until the server stops on its own, which only a socket failure makes it do.
    pub async fn wait(&mut self) -> Result<()> {
        self.tcp.wait().await.map_err(Error::Stopped)
    }

    /// Stops accepting queries and connections, and waits for the server's tasks and threads
    /// to end.
    pub async fn shutdown(self) -> Result<()> {
        self.tcp.stop().await.map_err(Error::Stopped)?;
        for (_, server) in self.dot.into_iter().chain(self.doh) {
            server.stop().await.map_err(Error::Stopped)?;
        }
        let udp = self.udp;
        // The threads notice within the poll interval.
        let _ = tokio::task::spawn_blocking(move || udp.stop()).await;
        info!(udp_addr = %self.udp_addr, "DNS server stopped");
        Ok(())
    }
}
