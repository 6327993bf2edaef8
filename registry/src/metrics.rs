//! The node's metrics for Prometheus (`GET /metrics`, the text format): one registry per node,
//! counted where things happen (blocks made final, rounds started, transactions refused,
//! proofs asked) and gauges read from the node when scraped. Other parts of the process (the
//! DNS server) add theirs with [`Metrics::register`]. Labels come from small fixed sets.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::api::ApiError;
use crate::consensus::tips::PeerTips;
use crate::mempool::MempoolError;
use crate::node::Node;
use sigil_core::api::SyncProgress;
use sigil_core::time::now_ms;
use sigil_core::types::Height;

/// The content type of the Prometheus text format this encoder writes.
pub const TEXT_FORMAT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// What a proof was asked for (the `kind` label of `sigil_proof_requests_total`).
#[derive(Debug, Clone, Copy)]
pub enum ProofKind {
    Name,
    Cert,
    Identity,
    Keys,
    Balance,
    Subscription,
}

impl ProofKind {
    fn label(self) -> &'static str {
        match self {
            ProofKind::Name => "name",
            ProofKind::Cert => "cert",
            ProofKind::Identity => "identity",
            ProofKind::Keys => "keys",
            ProofKind::Balance => "balance",
            ProofKind::Subscription => "subscription",
        }
    }
}

/// The node's registry, with the metrics it counts itself.
pub struct Metrics {
    registry: Mutex<Registry>,
    height: Gauge,
    tip_age: Gauge<f64, AtomicU64>,
    mempool_txs: Gauge,
    mempool_bytes: Gauge,
    peers: Gauge,
    store_bytes: Gauge,
    blocks_final: Counter,
    txs_final: Counter,
    rounds: Counter,
    round_timeouts: Counter,
    synced_blocks: Counter,
    peer_best_height: Gauge,
    blocks_behind: Gauge,
    peer_tips: Arc<PeerTips>,
    proofs: Family<KindLabel, Counter>,
    refused: Family<ReasonLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let metrics = Metrics {
            registry: Mutex::new(Registry::with_prefix("sigil")),
            height: Gauge::default(),
            tip_age: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            peers: Gauge::default(),
            store_bytes: Gauge::default(),
            blocks_final: Counter::default(),
            txs_final: Counter::default(),
            rounds: Counter::default(),
            round_timeouts: Counter::default(),
            synced_blocks: Counter::default(),
            peer_best_height: Gauge::default(),
            blocks_behind: Gauge::default(),
            peer_tips: Arc::default(),
            proofs: Family::default(),
            refused: Family::default(),
        };
        metrics.register(|r| metrics.register_own(r));
        metrics
    }
}

impl Metrics {
    /// Adds the node's own metrics to `r`.
    fn register_own(&self, r: &mut Registry) {
        r.register(
            "height",
            "Height of the last final block",
            self.height.clone(),
        );
        r.register_with_unit(
            "tip_age",
            "Time since the last final block was made (its proposer's clock)",
            Unit::Seconds,
            self.tip_age.clone(),
        );
        r.register(
            "blocks_final",
            "Blocks this node made final (produced, decided or synced) since it started",
            self.blocks_final.clone(),
        );
        r.register(
            "txs_final",
            "Transactions in the blocks this node made final since it started",
            self.txs_final.clone(),
        );
        r.register(
            "mempool_txs",
            "Transactions waiting in the mempool",
            self.mempool_txs.clone(),
        );
        r.register_with_unit(
            "mempool",
            "Encoded size of the transactions waiting in the mempool",
            Unit::Bytes,
            self.mempool_bytes.clone(),
        );
        r.register(
            "peers",
            "Peers connected on the transaction gossip network",
            self.peers.clone(),
        );
        r.register(
            "consensus_rounds",
            "Consensus rounds started",
            self.rounds.clone(),
        );
        r.register(
            "consensus_round_timeouts",
            "Consensus rounds that ended without a decision (a round above 0 started)",
            self.round_timeouts.clone(),
        );
        r.register(
            "sync_blocks",
            "Blocks received from peers by block sync and checked",
            self.synced_blocks.clone(),
        );
        r.register(
            "sync_peer_best_height",
            "Highest tip a consensus peer announced in the last 30 s (0: none did)",
            self.peer_best_height.clone(),
        );
        r.register(
            "sync_blocks_behind",
            "Blocks between this node's tip and the highest tip a peer announced (0: caught up)",
            self.blocks_behind.clone(),
        );
        r.register_with_unit(
            "store",
            "Size of the node's database on disk",
            Unit::Bytes,
            self.store_bytes.clone(),
        );
        r.register(
            "proof_requests",
            "Proof requests answered by the API, by what they prove",
            self.proofs.clone(),
        );
        r.register(
            "txs_refused",
            "Transactions refused by the mempool (from clients and peers), by reason",
            self.refused.clone(),
        );
    }

    /// Lets another part of the process add its metrics (under the `sigil_` prefix).
    pub fn register(&self, add: impl FnOnce(&mut Registry)) {
        add(&mut self.registry.lock().expect("metrics registry lock"));
    }

    /// `blocks` blocks holding `txs` transactions became final.
    pub fn finalized(&self, blocks: u64, txs: u64) {
        self.blocks_final.inc_by(blocks);
        self.txs_final.inc_by(txs);
    }

    /// The consensus engine started `round`.
    pub fn started_round(&self, round: u32) {
        self.rounds.inc();
        if round > 0 {
            self.round_timeouts.inc();
        }
    }

    /// Block sync handed a block that checked.
    pub fn synced_block(&self) {
        self.synced_blocks.inc();
    }

    /// The tips the consensus peers announce (the network's codec fills it).
    pub fn peer_tips(&self) -> Arc<PeerTips> {
        self.peer_tips.clone()
    }

    /// How far a node at `height` is from the best tip a peer announced lately, if any did.
    pub fn sync_progress(&self, height: Height) -> Option<SyncProgress> {
        self.peer_tips.best().map(|best| SyncProgress {
            peer_best_height: best,
            blocks_behind: best.saturating_sub(height),
        })
    }

    pub fn proof_requested(&self, kind: ProofKind) {
        self.proofs
            .get_or_create(&KindLabel { kind: kind.label() })
            .inc();
    }

    /// The mempool refused a transaction for `e`.
    pub fn refused(&self, e: &MempoolError) {
        self.refused
            .get_or_create(&ReasonLabel { reason: e.code() })
            .inc();
    }

    /// The registry in the text format, with the gauges read from `node` now.
    pub fn encode(&self, node: &Node) -> Result<String, crate::Error> {
        let tip = node.ledger().tip();
        self.height.set(tip.height as i64);
        let sync = self.sync_progress(tip.height);
        // A peer's word may be any height: clamped, never wrapped negative.
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.peer_best_height
            .set(gauge(sync.map_or(0, |s| s.peer_best_height)));
        self.blocks_behind
            .set(gauge(sync.map_or(0, |s| s.blocks_behind)));
        let age_ms = now_ms().saturating_sub(tip.time_ms);
        self.tip_age.set(age_ms as f64 / 1000.0);
        self.mempool_txs.set(node.mempool().len() as i64);
        self.mempool_bytes.set(node.mempool().bytes() as i64);
        self.peers.set(
            node.network_status()
                .map_or(0, |network| network.peers.len()) as i64,
        );
        self.store_bytes
            .set(node.ledger().store().size_on_disk()? as i64);
        let mut text = String::new();
        encode(
            &mut text,
            &self.registry.lock().expect("metrics registry lock"),
        )
        .map_err(|e| crate::Error::invalid(format!("cannot encode the metrics: {e}")))?;
        Ok(text)
    }
}

/// `GET /metrics`.
pub async fn scrape(State(node): State<Arc<Node>>) -> Result<Response, ApiError> {
    let text = tokio::task::spawn_blocking(move || node.metrics().encode(&node))
        .await
        .map_err(|e| crate::Error::invalid(format!("the metrics task failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response())
}
