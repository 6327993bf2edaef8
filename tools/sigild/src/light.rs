//! `sigild --light`: a DNS resolver that holds no ledger and answers chain names only from
//! proofs fetched from peers and checked against the validators it trusts; serves its status
//! at `/v1/status` and its metrics at `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sigil_core::block::Genesis;
use sigil_core::read::NameReader;
use sigil_registry::metrics::TEXT_FORMAT;
use sigil_resolver::light::{Light, LightConfig, LightRegistry};
use tokio::sync::watch;

/// What `sigild --light` is started with.
pub struct LightArgs {
    pub peers: Vec<String>,
    pub genesis: PathBuf,
    pub data: PathBuf,
    pub dns: sigil_resolver::DnsConfig,
    pub api_listen: SocketAddr,
    pub max_age_secs: u64,
}

pub async fn run(args: LightArgs) -> anyhow::Result<()> {
    if args.peers.is_empty() {
        anyhow::bail!(
            "--light needs at least one --peer URL (a node's HTTP API, e.g. http://127.0.0.1:8645)"
        );
    }
    for peer in &args.peers {
        // The HTTP client is built without TLS: an https:// peer could never be reached.
        // Proofs are checked against the validators' keys, so TLS would add privacy, not trust.
        if peer.starts_with("https://") {
            anyhow::bail!(
                "--peer {peer}: https peers are not supported; give the peer's API over http \
                 (e.g. http://127.0.0.1:8645): every answer is proven against the validators' \
                 keys whatever the transport"
            );
        }
        if !peer.starts_with("http://") {
            anyhow::bail!(
                "--peer {peer}: give the peer's API as a URL, e.g. http://127.0.0.1:8645"
            );
        }
    }
    let text = std::fs::read_to_string(&args.genesis)
        .with_context(|| format!("cannot read the genesis file {}", args.genesis.display()))?;
    let genesis: Genesis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid genesis file", args.genesis.display()))?;
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create the data folder {}", args.data.display()))?;
    let light = Arc::new(Light::open(LightConfig {
        peers: args.peers.clone(),
        genesis: genesis.clone(),
        data: args.data.clone(),
        max_age_secs: args.max_age_secs,
    })?);

    let api = tokio::net::TcpListener::bind(args.api_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen for the API on {}; pass --api-listen ADDR",
                args.api_listen
            )
        })?;
    let api_addr = api.local_addr()?;
    let dns_anchor = match &args.dns.zone_key {
        Some(key) => Some(crate::anchor::anchor(key, light.tlds())?),
        None => None,
    };
    let dns = sigil_resolver::serve_light(args.dns, light.clone()).await?;

    let registry = LightRegistry::new(&light, dns.metrics());

    let (stop_tx, stop_rx) = watch::channel(false);
    let refresher = tokio::spawn(light.clone().run(stop_rx.clone()));
    let mut api_stop = stop_rx.clone();
    let state = Arc::new(ApiState {
        light: light.clone(),
        genesis: genesis.clone(),
        registry,
    });
    let api_task = tokio::spawn(async move {
        let router = axum::Router::new()
            .route("/v1/status", get(status))
            .route("/metrics", get(metrics))
            .merge(dns_anchor.map(crate::anchor::router).unwrap_or_default())
            .with_state(state);
        let limits = sigil_registry::http::HttpLimits::default();
        sigil_registry::http::serve(api, router, limits, async move {
            let _ = api_stop.wait_for(|stop| *stop).await;
        })
        .await;
    });

    // Printed at once, from the saved trust: a restart answers without waiting for a peer.
    let mut ready = format!(
        "sigild ready: chain={} height={} dns={} api=http://{} data={} light=true",
        genesis.chain_id(),
        light.trusted_height(),
        dns.local_addr(),
        api_addr,
        args.data.display()
    );
    crate::push_encrypted_dns(&mut ready, &dns);
    println!("{ready}");
    println!(
        "{}",
        serde_json::to_string(&light.status(&genesis)).expect("a status serializes")
    );
    tracing::info!(dns = %dns.local_addr(), dot = ?dns.dot_addr(), doh = ?dns.doh_addr(), api = %api_addr, peers = ?args.peers, "light resolver serving");

    crate::shutdown_signal().await;
    tracing::info!("shutting down");
    stop_tx.send_replace(true);
    let _ = refresher.await;
    api_task.await.context("API task failed")?;
    dns.shutdown().await.context("DNS server shutdown failed")?;
    Ok(())
}

/// What the light resolver's API serves from.
struct ApiState {
    light: Arc<Light>,
    genesis: Genesis,
    /// The light resolver's metrics and its DNS server's.
    registry: LightRegistry,
}

async fn status(State(state): State<Arc<ApiState>>) -> Json<sigil_core::api::ChainStatus> {
    Json(state.light.status(&state.genesis))
}

/// `GET /metrics`: the Prometheus text format, as the full node's.
async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    match state.registry.encode(&state.light) {
        Ok(text) => ([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the metrics: {e}"),
        )
            .into_response(),
    }
}
