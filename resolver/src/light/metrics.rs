//! What the light resolver counts for its `/metrics`: the trusted header's height and age
//! (read when scraped), headers and proofs from its peers verified or refused (by why), beside
//! its DNS server's counters (`crate::metrics`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::Light;
use super::peers::PeerError;
use crate::metrics::DnsMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The light resolver's own metrics; clones share them.
#[derive(Clone, Debug, Default)]
pub(super) struct LightMetrics {
    pub(super) trusted_height: Gauge,
    pub(super) header_age: Gauge<f64, AtomicU64>,
    headers_verified: Counter,
    headers_refused: Family<ReasonLabel, Counter>,
    proofs_fetched: Counter,
    proofs_refused: Family<ReasonLabel, Counter>,
}

/// Why a peer's answer was refused (the `reason` label).
fn reason(e: &PeerError) -> &'static str {
    match e {
        PeerError::Unreachable(_) => "unreachable",
        PeerError::Bogus(_) => "bogus",
        PeerError::Stale(_) => "stale",
    }
}

impl LightMetrics {
    /// Adds these metrics to `registry`, under `light_`.
    fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("light");
        r.register(
            "trusted_height",
            "Height of the newest header verified against the trusted validators (0: none yet)",
            self.trusted_height.clone(),
        );
        r.register_with_unit(
            "header_age",
            "Time since the trusted header was made (its proposer's clock); answers are refused past --max-age",
            Unit::Seconds,
            self.header_age.clone(),
        );
        r.register(
            "headers_verified",
            "Newest headers asked of peers that verified against the trusted validators and were fresh",
            self.headers_verified.clone(),
        );
        r.register(
            "headers_refused",
            "Newest headers asked of peers and not taken, by reason: unreachable (no answer), bogus (does not verify), stale (older than --max-age)",
            self.headers_refused.clone(),
        );
        r.register(
            "proofs_fetched",
            "Proofs of state keys fetched from peers that verified against the trusted header",
            self.proofs_fetched.clone(),
        );
        r.register(
            "proofs_refused",
            "Requests for proofs whose answer was not taken, by reason: unreachable, bogus",
            self.proofs_refused.clone(),
        );
    }

    /// Counts the outcome of asking a peer for its newest header.
    pub(super) fn header(&self, outcome: &Result<(), PeerError>) {
        match outcome {
            Ok(()) => self.headers_verified.inc(),
            Err(e) => self
                .headers_refused
                .get_or_create(&ReasonLabel { reason: reason(e) })
                .inc(),
        };
    }

    /// Counts the outcome of asking a peer for the proofs of `keys` keys.
    pub(super) fn proofs(&self, outcome: &Result<(), PeerError>, keys: usize) {
        match outcome {
            Ok(()) => self.proofs_fetched.inc_by(keys as u64),
            Err(e) => self
                .proofs_refused
                .get_or_create(&ReasonLabel { reason: reason(e) })
                .inc(),
        };
    }
}

/// The light resolver's registry for `GET /metrics`: its own metrics and its DNS server's,
/// under `sigil_` as the full node's.
pub struct LightRegistry(Registry);

impl LightRegistry {
    pub fn new(light: &Light, dns: &DnsMetrics) -> LightRegistry {
        let mut registry = Registry::with_prefix("sigil");
        light.metrics.register(&mut registry);
        dns.register(&mut registry);
        LightRegistry(registry)
    }

    /// The metrics in the Prometheus text format, with `light`'s gauges read now.
    pub fn encode(&self, light: &Light) -> Result<String, std::fmt::Error> {
        light.read_gauges();
        let mut text = String::new();
        encode(&mut text, &self.0)?;
        Ok(text)
    }
}
