//! `sigild`: the Sigil node. Keeps the ledger, produces blocks (single validator) or decides them
//! with the other validators, or follows them as a full node; answers DNS for chain names from
//! the finalized state and serves the HTTP API. With `--light` it is a resolver without a
//! ledger that answers chain names only from proofs fetched from peers.

mod anchor;
mod devcert;
mod light;
mod logging;
mod networking;
mod usage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use sigil_core::read::NameReader;
use sigil_registry::ledger::Ledger;
use sigil_registry::mempool::MempoolBounds;
use sigil_registry::net::SwarmStatus;
use sigil_registry::node::Node;
use sigil_registry::store::{self, Engine};
use sigil_tools::config::{self, FileConfig};
use sigil_tools::devchain;
use sigil_tools::pidfile::PidFile;
use tokio::sync::watch;

/// The Sigil node: ledger, block production, DNS resolver and HTTP API.
#[derive(Debug, Parser)]
#[command(
    name = "sigild",
    version,
    after_help = "Start a development chain with `sigild --dev`; then use the `sigil` CLI."
)]
struct Args {
    /// Create a single-validator development chain in the data folder on first start, and reuse it afterwards.
    #[arg(long)]
    dev: bool,
    /// TOML configuration file; flags override its settings.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data folder [default: `sigil` under the user's data directory].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Address for DNS over UDP and TCP [default: 127.0.0.1:5353].
    #[arg(long, value_name = "ADDR")]
    dns_listen: Option<SocketAddr>,
    /// Address of the HTTP API [default: 127.0.0.1:8645].
    #[arg(long, value_name = "ADDR")]
    api_listen: Option<SocketAddr>,
    /// Resolver for names outside the chain's top-level domains (repeatable): an IP address,
    /// port 53 unless given (`192.0.2.53`, `192.0.2.53:5353`, `[2001:db8::53]:53`); without
    /// one, such queries are REFUSED.
    #[arg(long, value_name = "ADDR", value_parser = config::parse_upstream)]
    upstream: Vec<SocketAddr>,
    /// Clients whose questions for names outside the chain are forwarded to --upstream: a
    /// CIDR block or an address (repeatable); others get REFUSED with an Extended DNS Error
    /// [default: loopback, 127.0.0.0/8 and ::1].
    #[arg(long, value_name = "CIDR", value_parser = sigil_resolver::allow::parse_net)]
    forward_allow: Vec<sigil_resolver::allow::IpNet>,
    /// Answers of its own (chain names, refusals, errors) sent over UDP per second to one
    /// source prefix (/24 for IPv4, /56 for IPv6); beyond it every second answer is sent
    /// truncated, so that real clients retry over TCP, and the others are dropped; 0 turns
    /// the limit off [default: 1000].
    #[arg(long, value_name = "N")]
    rrl_responses_per_second: Option<u32>,
    /// Address for DNS over TLS (RFC 7858), e.g. 127.0.0.1:853; needs --tls-cert and
    /// --tls-key, or --dev for a self-signed certificate.
    #[arg(long, value_name = "ADDR")]
    dot_listen: Option<SocketAddr>,
    /// Address for DNS over HTTPS (RFC 8484, GET and POST at /dns-query), e.g. 127.0.0.1:443;
    /// needs --tls-cert and --tls-key, or --dev for a self-signed certificate.
    #[arg(long, value_name = "ADDR")]
    doh_listen: Option<SocketAddr>,
    /// PEM certificate (then any intermediates) for DNS over TLS and HTTPS [with --dev:
    /// a self-signed one made in the data folder].
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Memory for cached DNS answers to chain names, in MiB; 0 turns the cache off [default: 64].
    #[arg(long, value_name = "MIB")]
    dns_cache_mb: Option<u64>,
    /// State versions kept before old tree nodes and values are pruned [default: 1000].
    #[arg(long, value_name = "BLOCKS")]
    prune_window_blocks: Option<u64>,
    /// Store engine, `redb` or `sled`, for a new data folder [default: redb]; a data folder
    /// keeps the engine that created it, and starting it with the other one is refused.
    #[arg(long, value_name = "ENGINE")]
    store: Option<Engine>,
    /// Run as a light resolver: no ledger; chain names are answered only from proofs fetched
    /// from the --peer nodes and checked against the validators of --genesis (followed
    /// through their changes); what cannot be proven is SERVFAIL with an Extended DNS Error.
    #[arg(long, requires_all = ["peer", "genesis"], conflicts_with_all = ["dev", "config", "store", "prune_window_blocks"])]
    light: bool,
    /// Light resolver: a node's HTTP API to fetch proofs from (repeatable; asked in order),
    /// e.g. http://127.0.0.1:8645.
    #[arg(long, value_name = "URL", requires = "light")]
    peer: Vec<String>,
    /// Light resolver: the chain's genesis.json, whose validators are trusted first.
    #[arg(long, value_name = "FILE", requires = "light")]
    genesis: Option<PathBuf>,
    /// Light resolver: answers are refused (SERVFAIL) once the newest header it verified is
    /// older than this, by the header's time [default: 60].
    #[arg(long, value_name = "SECS", requires = "light")]
    max_age: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print what the data folder's database holds, by part (blocks, the state tree, indexes)
    /// and key prefix, and how much of its file is in use; the node must be stopped.
    StoreUsage {
        /// Also give each figure per this many units (e.g. the names registered).
        #[arg(long, value_name = "N")]
        per: Option<u64>,
    },
}

/// The `--rrl-responses-per-second` in force.
/// The ready line's fields for DNS over TLS and HTTPS, when `dns` serves them: their addresses
/// and the pin of the certificate (a full node's and a light resolver's line alike).
fn push_encrypted_dns(ready: &mut String, dns: &sigil_resolver::DnsServer) {
    if let Some(addr) = dns.dot_addr() {
        ready.push_str(&format!(" dot={addr}"));
    }
    if let Some(addr) = dns.doh_addr() {
        ready.push_str(&format!(" doh=https://{addr}{}", sigil_resolver::DOH_PATH));
    }
    if let Some(pin) = dns.tls_pin() {
        ready.push_str(&format!(" tls-pin={pin}"));
    }
}

fn rrl_rate(flag: Option<u32>) -> u32 {
    flag.unwrap_or(sigil_resolver::limits::DEFAULT_RRL_RESPONSES_PER_SECOND)
}

/// The `--forward-allow` list in force: loopback when none is given.
fn forward_allow(nets: Vec<sigil_resolver::allow::IpNet>) -> sigil_resolver::allow::ForwardAllow {
    if nets.is_empty() {
        sigil_resolver::allow::ForwardAllow::loopback()
    } else {
        sigil_resolver::allow::ForwardAllow::new(nets)
    }
}

/// Default `--max-age` of a light resolver, in seconds.
const DEFAULT_LIGHT_MAX_AGE_SECS: u64 = 60;

/// The certificate and key of the encrypted DNS listeners: none when neither listens; the
/// given files; or, on a dev node without them, a self-signed pair made once in `data`.
fn tls_files(
    dot_listen: Option<SocketAddr>,
    doh_listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    dev: bool,
    data: &std::path::Path,
) -> anyhow::Result<Option<sigil_resolver::TlsFiles>> {
    Ok(match (tls_cert, tls_key) {
        _ if dot_listen.is_none() && doh_listen.is_none() => None,
        (Some(cert), Some(key)) => Some(sigil_resolver::TlsFiles { cert, key }),
        (None, None) if dev => {
            let (cert, key) = devcert::ensure(data)?;
            Some(sigil_resolver::TlsFiles { cert, key })
        }
        (None, None) => anyhow::bail!(
            "--dot-listen and --doh-listen need a certificate: pass --tls-cert FILE --tls-key FILE (PEM; or tls_cert and tls_key in the config file), or start with --dev for a self-signed one"
        ),
        _ => anyhow::bail!(
            "a TLS certificate needs its key: give both --tls-cert FILE and --tls-key FILE (or tls_cert and tls_key in the config file)"
        ),
    })
}

fn main() {
    limit_malloc_arenas();
    logging::init();
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new().expect("cannot start the async runtime");
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("sigild: {e:#}");
        std::process::exit(exit_code(&e));
    }
}

/// Arenas glibc's allocator may use (what `MALLOC_ARENA_MAX` sets).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS: libc::c_int = 2;

/// glibc gives threads that allocate at the same time arenas of their own and keeps what is
/// freed in them: the node's resident memory then follows the peak of its threads' transient
/// allocations (blocks, batches, re-checks), not what it holds. With two arenas a node that
/// imported 100,000 names and answered DNS held 190 MiB instead of 325 (BENCHMARKS.md, "Import
/// at scale"). An operator's own `MALLOC_ARENA_MAX` is left as it is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a parameter of the allocator, and runs first in `main`,
        // before any other thread of this process exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

/// Exit code [`EXIT_INCOMPATIBLE_DATA`] for a data folder this version cannot read, 2 for
/// any other error.
fn exit_code(e: &anyhow::Error) -> i32 {
    let incompatible = e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<sigil_registry::error::Error>(),
            Some(sigil_registry::error::Error::IncompatibleStore { .. })
        )
    });
    if incompatible {
        EXIT_INCOMPATIBLE_DATA
    } else {
        2
    }
}

/// Exit code of `sigild` when the data folder was written by an incompatible version.
const EXIT_INCOMPATIBLE_DATA: i32 = 3;

async fn run(args: Args) -> anyhow::Result<()> {
    if args.light {
        let data = args.data.unwrap_or_else(config::default_data_dir);
        let tls = tls_files(
            args.dot_listen,
            args.doh_listen,
            args.tls_cert,
            args.tls_key,
            false,
            &data,
        )?;
        let zone_key = anchor::zone_key(&data)?;
        return light::run(light::LightArgs {
            peers: args.peer,
            genesis: args.genesis.expect("clap requires --genesis with --light"),
            data,
            dns: sigil_resolver::DnsConfig {
                dot_listen: args.dot_listen,
                doh_listen: args.doh_listen,
                tls,
                zone_key: Some(zone_key),
                listen: args
                    .dns_listen
                    .unwrap_or(config::DEFAULT_DNS_LISTEN.parse()?),
                upstream: args.upstream,
                cache_bytes: match args.dns_cache_mb {
                    Some(mb) => mb.saturating_mul(1024 * 1024),
                    None => sigil_resolver::DnsConfig::default().cache_bytes,
                },
                rrl_responses_per_second: rrl_rate(args.rrl_responses_per_second),
                forward_allow: forward_allow(args.forward_allow),
            },
            api_listen: args
                .api_listen
                .unwrap_or(config::DEFAULT_API_LISTEN.parse()?),
            max_age_secs: args.max_age.unwrap_or(DEFAULT_LIGHT_MAX_AGE_SECS),
        })
        .await;
    }
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let data = args
        .data
        .or(file.data)
        .unwrap_or_else(config::default_data_dir);
    let dns_listen = args
        .dns_listen
        .or(file.dns_listen)
        .unwrap_or(config::DEFAULT_DNS_LISTEN.parse()?);
    let api_listen = args
        .api_listen
        .or(file.api_listen)
        .unwrap_or(config::DEFAULT_API_LISTEN.parse()?);
    let forward_allow = if args.forward_allow.is_empty() {
        let nets = file.forward_allow.clone().unwrap_or_default();
        let nets = nets
            .iter()
            .map(|net| sigil_resolver::allow::parse_net(net))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("forward_allow in the config file: {e}"))?;
        forward_allow(nets)
    } else {
        forward_allow(args.forward_allow)
    };
    let upstream = if args.upstream.is_empty() {
        file.upstream.unwrap_or_default()
    } else {
        args.upstream
    };
    let prune_window = args
        .prune_window_blocks
        .or(file.prune_window_blocks)
        .unwrap_or(config::DEFAULT_PRUNE_WINDOW_BLOCKS);
    let engine = match (args.store, &file.store) {
        (Some(engine), _) => engine,
        (None, Some(name)) => name
            .parse()
            .map_err(|e| anyhow::anyhow!("store = \"{name}\" in the config file: {e}"))?,
        (None, None) => Engine::default(),
    };
    let cache_bytes = file.cache_mb.unwrap_or(config::DEFAULT_CACHE_MB) * 1024 * 1024;
    let dns_cache_bytes = match args.dns_cache_mb.or(file.dns_cache_mb) {
        Some(mb) => mb.saturating_mul(1024 * 1024),
        None => sigil_resolver::DnsConfig::default().cache_bytes,
    };

    let chain = if devchain::exists(&data) {
        devchain::load(&data)?
    } else if args.dev {
        let chain = devchain::create(&data)?;
        eprintln!(
            "sigild: created development chain `{}` in {}",
            chain.genesis.chain_id(),
            data.display()
        );
        chain
    } else {
        anyhow::bail!(
            "no chain in {}; start with --dev to create a development chain there",
            data.display()
        );
    };

    if let Some(Command::StoreUsage { per }) = args.command {
        return usage::print(engine, &chain.db, cache_bytes, per);
    }
    // redb never gives freed pages back to the file system while it runs; compacting the
    // file when most of it is free is done here, before anything holds the database.
    if let Some((before, after)) = store::compact(engine, &chain.db)
        .with_context(|| format!("cannot compact the database in {}", chain.db.display()))?
    {
        eprintln!("sigild: compacted the database from {before} to {after} bytes");
    }
    let store = store::open(engine, &chain.db, cache_bytes).map_err(|e| match e {
        // Says what to do itself.
        e @ sigil_registry::error::Error::WrongEngine { .. } => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!(
            "cannot open the {engine} database in {} (is another sigild using it?)",
            chain.db.display()
        )),
    })?;
    // Once this process holds the database, its pid file says which process serves `data`
    // (`sigil localnet down` reads it); it goes when the node stops cleanly.
    let _pid_file = PidFile::write(&data)?;
    let ledger = Arc::new(Ledger::open(store, chain.genesis, prune_window)?);
    let (max_txs, max_bytes) = file.mempool.clone().unwrap_or_default().bounds()?;
    let tip = ledger.tip();
    tracing::info!(chain = %ledger.params().chain_id, height = tip.height, store = %engine, state_root = %tip.state_root, "ledger open");
    // With a [consensus] section the engine decides blocks with the other validators (or, on
    // a node without a validator key, this full node follows them); without one this is the
    // single validator of a development chain and produces them.
    let (node, consensus_key) = match (&file.consensus, chain.validator) {
        (Some(_), key) => (Node::for_consensus(ledger.clone()), key),
        (None, Some(validator)) => (Node::new(ledger.clone(), validator)?, None),
        (None, None) => anyhow::bail!(
            "{} has no validator key ({}), so this node can only follow a network as a full node: add a [consensus] section with the validators' addresses in `peers` to the config file",
            data.display(),
            devchain::VALIDATOR_KEY_FILE
        ),
    };
    node.mempool()
        .set_bounds(MempoolBounds { max_txs, max_bytes });
    let net = match &file.p2p {
        Some(p2p) => Some(networking::start_p2p(p2p, &data, &node).await?),
        None => None,
    };
    let mut consensus = match &file.consensus {
        Some(config) => {
            Some(networking::start_consensus(config, &data, &node, consensus_key).await?)
        }
        None => None,
    };
    if let Some(net) = &net {
        node.attach_network(SwarmStatus {
            net: net.clone(),
            consensus_listen: consensus.as_ref().map(|(_, listen)| listen.clone()),
        });
    }

    let dot_listen = args.dot_listen.or(file.dot_listen);
    let doh_listen = args.doh_listen.or(file.doh_listen);
    let tls_cert = args.tls_cert.or(file.tls_cert);
    let tls_key = args.tls_key.or(file.tls_key);
    let tls = tls_files(dot_listen, doh_listen, tls_cert, tls_key, args.dev, &data)?;

    let api = tokio::net::TcpListener::bind(api_listen)
        .await
        .with_context(|| {
            format!("cannot listen for the API on {api_listen}; pass --api-listen ADDR")
        })?;
    let api_addr = api.local_addr()?;
    let reader: Arc<dyn NameReader> = ledger.clone();
    let zone_key = anchor::zone_key(&data)?;
    let dns_anchor = anchor::anchor(&zone_key, reader.tlds())?;
    let dns = sigil_resolver::serve(
        sigil_resolver::DnsConfig {
            listen: dns_listen,
            upstream,
            cache_bytes: dns_cache_bytes,
            dot_listen,
            doh_listen,
            tls,
            rrl_responses_per_second: rrl_rate(
                args.rrl_responses_per_second
                    .or(file.rrl_responses_per_second),
            ),
            forward_allow,
            zone_key: Some(zone_key),
        },
        reader,
    )
    .await?;

    // One registry for `/metrics`: the node's own and the DNS server's.
    node.metrics()
        .register(|registry| dns.metrics().register(registry));

    let (stop_tx, stop_rx) = watch::channel(false);
    let producer = match &consensus {
        Some(_) => None,
        None => Some(tokio::spawn(node.clone().run(stop_rx.clone()))),
    };
    let mut api_stop = stop_rx.clone();
    let api_expensive_per_sec = file.api_expensive_per_sec;
    let api_task = tokio::spawn(async move {
        // Bounded connections, request deadlines and per-client rates: see `http`.
        let mut limits = sigil_registry::http::HttpLimits::default();
        if let Some(rate) = api_expensive_per_sec {
            limits.expensive_per_sec = rate;
            limits.expensive_burst = limits.expensive_burst.max(rate.saturating_mul(5));
        }
        let router =
            sigil_registry::api::router_with(node, &limits).merge(anchor::router(dns_anchor));
        sigil_registry::http::serve(api, router, limits, async move {
            let _ = api_stop.wait_for(|stop| *stop).await;
        })
        .await;
        Ok::<(), std::io::Error>(())
    });

    let mut ready = format!(
        "sigild ready: chain={} height={} dns={} api=http://{} data={}",
        ledger.params().chain_id,
        tip.height,
        dns.local_addr(),
        api_addr,
        data.display()
    );
    push_encrypted_dns(&mut ready, &dns);
    if let Some(net) = &net {
        for addr in net.listen_addrs() {
            ready.push_str(&format!(" p2p={addr}"));
        }
    }
    if let Some((_, listen)) = &consensus {
        ready.push_str(&format!(" consensus={listen}"));
    }
    println!("{ready}");
    tracing::info!(dns = %dns.local_addr(), dot = ?dns.dot_addr(), doh = ?dns.doh_addr(), tls_pin = ?dns.tls_pin(), api = %api_addr, data = %data.display(), "serving");

    // The consensus driver ends by itself only on a fault (a store that cannot write: a full
    // disk, an I/O error): the node then stops with that error rather than serve a chain it no
    // longer extends, and a restart resumes from what its store holds.
    let driver = async {
        match consensus.as_mut() {
            Some((handle, _)) => handle.join().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown_signal() => {}
        ended = driver => {
            let why = match ended {
                Ok(()) => "the consensus engine stopped".to_string(),
                Err(e) => e.to_string().trim_end_matches('.').to_string(),
            };
            tracing::error!(%why, "consensus stopped; stopping the node");
            anyhow::bail!("consensus stopped: {why}; restart the node (it resumes from its store) once the cause is fixed");
        }
    }
    tracing::info!("shutting down");
    stop_tx.send_replace(true);
    if let Some(producer) = producer {
        producer.await.context("block producer task failed")??;
    }
    if let Some((consensus, _)) = consensus {
        consensus.stop();
    }
    if let Some(net) = &net {
        net.stop().await;
    }
    api_task.await.context("API task failed")??;
    dns.shutdown().await.context("DNS server shutdown failed")?;
    ledger.store().flush()?;
    tracing::info!(height = ledger.tip().height, "stopped cleanly");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("cannot install the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
