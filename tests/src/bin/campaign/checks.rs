//! The invariants checked after every round: one chain (the same header, so the same block
//! hash and state root, at every height on every node, block times never going back), every transaction a node reported
//! final final at the same height on every node, no validator caught voting two ways, and
//! each node's memory under a bound.

use std::collections::BTreeMap;
use std::time::Duration;

use sigil_tests::flood::rss_bytes;
use sigil_tests::network::Network;

use crate::load::FinalTx;
use sigil_tests::http;

/// Resident memory a node may use (a 2-core test machine's nodes use a small part of it); a
/// node above it is growing without bound.
pub const MAX_RSS_BYTES: u64 = 2 << 30;

/// What the checks found so far.
#[derive(Debug, Default)]
pub struct Checks {
    /// The header every node must hold at each height (the first one seen).
    headers: BTreeMap<u64, serde_json::Value>,
    /// The height up to which each node's chain was compared.
    compared: Vec<u64>,
    /// Final transactions not checked yet (above some node's tip when last seen).
    waiting: Vec<FinalTx>,
    /// Final transactions checked on every node.
    pub txs_checked: usize,
    /// Heights at which two nodes hold different blocks.
    pub forks: u64,
    /// Transactions a node reported final that another node does not hold final there.
    pub lost: u64,
    /// Nodes that recorded evidence of a validator voting two ways.
    pub equivocations: u64,
    /// Highest resident memory seen per node, bytes.
    pub peak_rss: Vec<u64>,
}

impl Checks {
    pub fn new(nodes: usize) -> Checks {
        Checks {
            compared: vec![0; nodes],
            peak_rss: vec![0; nodes],
            ..Checks::default()
        }
    }

    /// Node `i` was restarted: its whole chain is compared again.
    pub fn restarted(&mut self, i: usize) {
        self.compared[i] = 0;
    }

    /// Compares every node's blocks above what was compared, up to its tip; the problems found.
    pub fn chain(&mut self, net: &Network) -> Vec<String> {
        let mut problems = Vec::new();
        for i in 0..net.nodes.len() {
            let api = &net.node(i).api;
            let tip = tip(api).unwrap_or(0);
            for height in self.compared[i] + 1..=tip {
                let header = match http::get(api, &format!("/v1/blocks/{height}"), Duration::ZERO) {
                    Ok((200, block)) => block["block"]["header"].clone(),
                    other => {
                        problems.push(format!("node {i}: block {height}: {other:?}"));
                        break;
                    }
                };
                // Block times never go back (a proposer's clock behind its parent's time
                // stamps the parent's).
                if let Some(parent) = self.headers.get(&(height - 1))
                    && header["time_ms"].as_u64() < parent["time_ms"].as_u64()
                {
                    problems.push(format!(
                        "node {i}: block {height}'s time {} is before its parent's {}",
                        header["time_ms"], parent["time_ms"]
                    ));
                }
                let first = self.headers.entry(height).or_insert_with(|| header.clone());
                if *first != header {
                    self.forks += 1;
                    problems.push(format!(
                        "fork at height {height}: node {i} holds {header}, another node {first}"
                    ));
                }
                self.compared[i] = height;
            }
        }
        problems
    }

    /// Checks on every node each final transaction (`fresh` and those waiting) whose height
    /// every node has reached; the problems found.
    pub fn txs(&mut self, net: &Network, fresh: &[FinalTx]) -> Vec<String> {
        let mut problems = Vec::new();
        self.waiting.extend_from_slice(fresh);
        let tips: Vec<u64> = (0..net.nodes.len())
            .map(|i| tip(&net.node(i).api).unwrap_or(0))
            .collect();
        let lowest = tips.iter().copied().min().unwrap_or(0);
        let (ready, later): (Vec<FinalTx>, Vec<FinalTx>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|tx| tx.height <= lowest);
        self.waiting = later;
        for tx in ready {
            for i in 0..net.nodes.len() {
                let api = &net.node(i).api;
                let seen = http::get(api, &format!("/v1/txs/{}", tx.id), Duration::ZERO);
                let held = matches!(&seen, Ok((200, v))
                    if (v["status"] == "final" || v["status"] == "failed")
                        && v["height"].as_u64() == Some(tx.height));
                if !held {
                    self.lost += 1;
                    problems.push(format!(
                        "{} transaction {} reported final at height {} by node {} is not so on node {i}: {seen:?}",
                        tx.kind.label(),
                        tx.id,
                        tx.height,
                        tx.node
                    ));
                }
            }
            self.txs_checked += 1;
        }
        problems
    }

    /// Asks every node for evidence of a validator voting two ways (a restarted validator
    /// that forgot a vote it sent, say); the problems found.
    pub fn evidence(&mut self, net: &Network) -> Vec<String> {
        let mut problems = Vec::new();
        for i in 0..net.nodes.len() {
            match http::get(&net.node(i).api, "/v1/evidence", Duration::ZERO) {
                Ok((200, list)) if list.as_array().is_some_and(Vec::is_empty) => {}
                other => {
                    self.equivocations += 1;
                    problems.push(format!(
                        "node {i} holds evidence of a double vote: {other:?}"
                    ));
                }
            }
        }
        problems
    }

    /// Reads each running node's resident memory; the nodes above [`MAX_RSS_BYTES`].
    pub fn memory(&mut self, net: &Network) -> Vec<String> {
        let mut problems = Vec::new();
        for i in net.running() {
            let Some(rss) = rss_bytes(net.node(i).pid()) else {
                continue;
            };
            self.peak_rss[i] = self.peak_rss[i].max(rss);
            if rss > MAX_RSS_BYTES {
                problems.push(format!(
                    "node {i} uses {} MiB of memory (bound {} MiB)",
                    rss >> 20,
                    MAX_RSS_BYTES >> 20
                ));
            }
        }
        problems
    }

    /// Final transactions not checked yet.
    pub fn unchecked(&self) -> usize {
        self.waiting.len()
    }
}

/// The tip height node `api` reports, if it answers.
pub fn tip(api: &str) -> Option<u64> {
    match http::get(api, "/v1/status", Duration::ZERO) {
        Ok((200, status)) => status["tip"]["height"].as_u64(),
        _ => None,
    }
}
