//! `sigild`'s configuration: one TOML file, each field overridable by a flag.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_DNS_LISTEN: &str = "127.0.0.1:5353";
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8645";
pub const DEFAULT_PRUNE_WINDOW_BLOCKS: u64 = 100_000;
pub const DEFAULT_CACHE_MB: u64 = 64;

/// The node's settings, as read from `sigil.toml` (every field optional there).
#[derive(Debug, Clone, Default, Deserialize)]
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
