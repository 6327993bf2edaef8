//! `sigild`'s configuration: one TOML file, each field overridable by a flag.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const DEFAULT_DNS_LISTEN: &str = "127.0.0.1:5353";
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8645";
pub const DEFAULT_PRUNE_WINDOW_BLOCKS: u64 = 100_000;
pub const DEFAULT_CACHE_MB: u64 = 64;

/// The node's settings, as read from `sigil.toml` (every field optional there).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Folder of the chain's data (genesis, validator key, database).
    pub data: Option<PathBuf>,
    pub dns_listen: Option<SocketAddr>,
    pub api_listen: Option<SocketAddr>,
    /// Resolvers for names outside the chain's top-level domains.
    pub upstream: Option<Vec<SocketAddr>>,
    /// State versions kept before old tree nodes are pruned.
    pub prune_window_blocks: Option<u64>,
    /// sled page cache, in MiB.
    pub cache_mb: Option<u64>,
    /// Requests per second one client address may make to the API's expensive endpoints
    /// (status, blocks, proofs, cap tables, histories); it may save up five seconds' worth.
    pub api_expensive_per_sec: Option<u32>,
    /// How much the mempool holds.
    pub mempool: Option<MempoolConfig>,
    /// Our libp2p swarm: transaction gossip, headers and proofs.
    pub p2p: Option<P2pConfig>,
    /// The consensus engine's libp2p swarm (validators and full nodes).
    pub consensus: Option<ConsensusConfig>,
}

/// `[p2p]`: where our swarm listens and whom it dials first.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct P2pConfig {
    /// A multiaddr, e.g. `/ip4/0.0.0.0/tcp/26602`.
    pub listen: Option<String>,
    /// Peers dialled at start and re-dialled when their connection drops.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// Find peers on the local network with mDNS.
    #[serde(default)]
    pub mdns: bool,
}

/// `[mempool]`: the pending transactions the node holds at most, by count and by bytes (each
/// at least 1); under them, the node asks more work as the pool fills and evicts the least.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolConfig {
    pub max_txs: Option<usize>,
    pub max_bytes: Option<usize>,
}

impl MempoolConfig {
    /// The bounds it sets over the defaults; an error names a zero bound.
    pub fn bounds(&self) -> anyhow::Result<sigil_registry::mempool::MempoolBounds> {
        let mut bounds = sigil_registry::mempool::MempoolBounds::default();
        for (key, value, field) in [
            ("max_txs", self.max_txs, &mut bounds.max_txs),
            ("max_bytes", self.max_bytes, &mut bounds.max_bytes),
        ] {
            match value {
                Some(0) => anyhow::bail!(
                    "[mempool] {key} = 0 in the config file would refuse every transaction; give at least 1 or remove it for the default ({field})"
                ),
                Some(v) => *field = v,
                None => {}
            }
        }
        Ok(bounds)
    }
}

/// `[consensus]`: where the engine's swarm listens and its persistent peers.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusConfig {
    /// A multiaddr, e.g. `/ip4/0.0.0.0/tcp/26603`.
    pub listen: Option<String>,
    #[serde(default)]
    pub peers: Vec<String>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("config file {} is invalid: {e}", path.display()))
    }
}

/// The default data folder: `sigil` under the user's data directory.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("sigil")
}
