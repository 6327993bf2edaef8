//! `sigild`'s configuration: one TOML file, each field overridable by a flag.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sigil_core::limits::{MAX_MEMPOOL_BYTES, MAX_MEMPOOL_TXS};

pub const DEFAULT_DNS_LISTEN: &str = "127.0.0.1:5353";
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8645";
/// The API proves values at the tip; 1,000 versions (about 8 minutes of 500 ms blocks) outlast a
/// client's 300 s `--max-age` for a proof of a recent block.
pub const DEFAULT_PRUNE_WINDOW_BLOCKS: u64 = 1_000;
pub const DEFAULT_CACHE_MB: u64 = 64;

/// The node's settings, as read from `sigil.toml` (every field optional there).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Folder of the chain's data (genesis, validator key, database).
    pub data: Option<PathBuf>,
    pub dns_listen: Option<SocketAddr>,
    pub api_listen: Option<SocketAddr>,
    /// Resolvers for names outside the chain's top-level domains: `ADDR:PORT`, or a bare
    /// IPv4/IPv6 address for port 53.
    #[serde(default, deserialize_with = "upstreams")]
    pub upstream: Option<Vec<SocketAddr>>,
    /// Clients whose questions for names outside the chain are forwarded to `upstream`
    /// (CIDR blocks or addresses); the others are REFUSED. Unset: loopback only.
    pub forward_allow: Option<Vec<String>>,
    /// Answers of the node's own sent over UDP per second to one source prefix (0: no limit).
    pub rrl_responses_per_second: Option<u32>,
    /// State versions kept before old tree nodes are pruned.
    pub prune_window_blocks: Option<u64>,
    /// Store engine of a new database: `redb` (the default) or `sled`; a database keeps the
    /// engine that created it.
    pub store: Option<String>,
    /// The store's page cache, in MiB.
    pub cache_mb: Option<u64>,
    /// Cache of encoded DNS answers to chain names, in MiB (0 turns it off).
    pub dns_cache_mb: Option<u64>,
    /// Address for DNS over TLS (RFC 7858); needs `tls_cert` and `tls_key` (or `--dev`).
    pub dot_listen: Option<SocketAddr>,
    /// Address for DNS over HTTPS (RFC 8484, `/dns-query`); needs `tls_cert` and `tls_key`
    /// (or `--dev`).
    pub doh_listen: Option<SocketAddr>,
    /// PEM certificate (then any intermediates) DNS over TLS and HTTPS serve.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
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
    /// The bounds it sets over the defaults (`max_txs`, `max_bytes`); an error names a zero
    /// bound.
    pub fn bounds(&self) -> anyhow::Result<(usize, usize)> {
        let mut bounds = (MAX_MEMPOOL_TXS, MAX_MEMPOOL_BYTES);
        for (key, value, field) in [
            ("max_txs", self.max_txs, &mut bounds.0),
            ("max_bytes", self.max_bytes, &mut bounds.1),
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

/// The port of an upstream resolver given without one.
pub const DEFAULT_UPSTREAM_PORT: u16 = 53;

/// An upstream resolver: `ADDR:PORT` (`[V6]:PORT` for IPv6), or a bare IPv4 or IPv6 address
/// for port [`DEFAULT_UPSTREAM_PORT`].
pub fn parse_upstream(input: &str) -> Result<SocketAddr, String> {
    let input = input.trim();
    if let Ok(addr) = input.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = input.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DEFAULT_UPSTREAM_PORT))
        .map_err(|_| {
            format!(
                "`{input}` is not a resolver address: give an IP address, optionally with a port \
                 (e.g. 192.0.2.53, 192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353; port {DEFAULT_UPSTREAM_PORT} by default)"
            )
        })
}

fn upstreams<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<SocketAddr>>, D::Error> {
    let Some(list) = Option::<Vec<String>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    list.iter()
        .map(|s| parse_upstream(s).map_err(serde::de::Error::custom))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The default data folder: `sigil` under the user's data directory.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("sigil")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_default_to_port_53() {
        assert_eq!(
            parse_upstream("127.0.0.1"),
            Ok("127.0.0.1:53".parse().unwrap())
        );
        assert_eq!(parse_upstream("::1"), Ok("[::1]:53".parse().unwrap()));
        assert_eq!(parse_upstream("[::1]"), Ok("[::1]:53".parse().unwrap()));
        assert_eq!(
            parse_upstream("10.0.0.1:5353"),
            Ok("10.0.0.1:5353".parse().unwrap())
        );
        assert!(
            parse_upstream("dns.example")
                .unwrap_err()
                .contains("port 53")
        );
        let file: FileConfig = toml::from_str("upstream = [\"192.0.2.1\", \"[::1]:54\"]").unwrap();
        assert_eq!(
            file.upstream.unwrap(),
            [
                "192.0.2.1:53".parse().unwrap(),
                "[::1]:54".parse::<SocketAddr>().unwrap()
            ]
        );
        assert!(toml::from_str::<FileConfig>("upstream = [\"x\"]").is_err());
        assert!(toml::from_str::<FileConfig>("").unwrap().upstream.is_none());
    }

    #[test]
    fn encrypted_dns_settings_are_read() {
        let file: FileConfig = toml::from_str(
            "dot_listen = \"127.0.0.1:853\"\ndoh_listen = \"[::1]:443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"",
        )
        .unwrap();
        assert_eq!(file.dot_listen, Some("127.0.0.1:853".parse().unwrap()));
        assert_eq!(file.doh_listen, Some("[::1]:443".parse().unwrap()));
        assert_eq!(file.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(file.tls_key, Some(PathBuf::from("k.pem")));
    }
}
