//! What the DNS server counts for the node's (or the light resolver's) `/metrics`: responses
//! by question type and response code, and how long each took, read from the response bytes as
//! they are sent (so answers from the cache and the fast NXDOMAIN path count too), and what the
//! answer cache gave. Labels come from small fixed sets: never a name or a client address.

use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabels {
    qtype: &'static str,
    rcode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabel {
    qtype: &'static str,
}

/// 100 µs to ~1.6 s, by fours: a cached answer, a ledger read, an upstream round trip.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 8))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// What a look-up in the answer cache gave.
#[derive(Debug, Clone, Copy)]
pub enum CacheOutcome {
    /// An answer that still holds.
    Hit,
    /// No such registered name, by the cache's index of names.
    Unregistered,
    /// Nothing: the answer is computed.
    Miss,
}

/// The DNS server's counters; clones share them.
#[derive(Clone, Debug)]
pub struct DnsMetrics {
    queries: Family<QueryLabels, Counter>,
    latency: Family<TypeLabel, Histogram, fn() -> Histogram>,
    cache: Family<OutcomeLabel, Counter>,
    /// The counters of `cache`, made once: the cached path counts without a look-up.
    cache_counters: [Counter; 3],
}

impl Default for DnsMetrics {
    fn default() -> DnsMetrics {
        let cache = Family::<OutcomeLabel, Counter>::default();
        let counter = |outcome| cache.get_or_create(&OutcomeLabel { outcome }).clone();
        let cache_counters = [counter("hit"), counter("unregistered"), counter("miss")];
        DnsMetrics {
            queries: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            cache,
            cache_counters,
        }
    }
}

impl DnsMetrics {
    /// Adds these metrics to `registry`, under `dns_`.
    pub fn register(&self, registry: &mut Registry) {
        let dns = registry.sub_registry_with_prefix("dns");
        dns.register(
            "queries",
            "DNS responses sent (UDP, TCP, TLS and HTTPS), by question type and response code",
            self.queries.clone(),
        );
        dns.register_with_unit(
            "response_duration",
            "Time from receiving a DNS query to sending its response, by question type",
            Unit::Seconds,
            self.latency.clone(),
        );
        dns.register(
            "answer_cache_lookups",
            "Look-ups in the answer cache of chain names (UDP, TCP and DNS over TLS): hit, unregistered (NXDOMAIN from the index of names) or miss",
            self.cache.clone(),
        );
    }

    /// Counts a look-up in the answer cache.
    pub fn cache_lookup(&self, outcome: CacheOutcome) {
        let i = match outcome {
            CacheOutcome::Hit => 0,
            CacheOutcome::Unregistered => 1,
            CacheOutcome::Miss => 2,
        };
        self.cache_counters[i].inc();
    }

    /// Counts `response`, about to be sent for a query received at `received`.
    pub fn sent(&self, response: &[u8], received: Instant) {
        let qtype = qtype_of(response);
        self.queries
            .get_or_create(&QueryLabels {
                qtype,
                rcode: rcode_of(response),
            })
            .inc();
        self.latency
            .get_or_create(&TypeLabel { qtype })
            .observe(received.elapsed().as_secs_f64());
    }
}

/// The response code in the header (the extended bits of an OPT record count as `other`).
fn rcode_of(response: &[u8]) -> &'static str {
    match response.get(3).map(|b| b & 0x0f) {
        Some(0) => "NOERROR",
        Some(1) => "FORMERR",
        Some(2) => "SERVFAIL",
        Some(3) => "NXDOMAIN",
        Some(4) => "NOTIMP",
        Some(5) => "REFUSED",
        _ => "other",
    }
}

/// The type of the response's first question (`none` without one).
fn qtype_of(response: &[u8]) -> &'static str {
    let questions = response.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]));
    if questions.unwrap_or(0) == 0 {
        return "none";
    }
    let mut at = 12;
    loop {
        match response.get(at) {
            Some(0) => break,
            // A compression pointer has no place in the first question.
            Some(&len) if len & 0xc0 == 0 => at += 1 + usize::from(len),
            _ => return "other",
        }
    }
    let Some(code) = response
        .get(at + 1..at + 3)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
    else {
        return "other";
    };
    match code {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        43 => "DS",
        48 => "DNSKEY",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        255 => "ANY",
        257 => "CAA",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_and_code_are_read_from_the_response() {
        // id, flags (QR, NXDOMAIN), one question: a.sigil TXT IN.
        let mut response = vec![0, 1, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
        response.extend_from_slice(b"\x01a\x05sigil\x00\x00\x10\x00\x01");
        assert_eq!(qtype_of(&response), "TXT");
        assert_eq!(rcode_of(&response), "NXDOMAIN");
        assert_eq!(qtype_of(&response[..20]), "other");
        assert_eq!(qtype_of(&response[..4]), "none");
    }
}
