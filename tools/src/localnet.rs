//! A local test network in one folder: a shared genesis with N validators, and one node folder
//! per validator (`node1`, `node2`, ...) or full node (`full1`, ...) holding its genesis copy,
//! validator key if any, and `sigil.toml` with its own loopback ports. `localnet.json` lists
//! the nodes for `sigil localnet up|status|down`.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sigil_core::block::Genesis;
use sigil_core::state::ValidatorSet;
use sigil_core::types::{Keypair, PublicKey};

use crate::config::{ConsensusConfig, FileConfig, P2pConfig};
use crate::devchain::{self, VALIDATOR_KEY_FILE};

/// The file listing a local network's nodes.
pub const MANIFEST_FILE: &str = "localnet.json";
/// Each node's configuration file, inside its folder.
pub const CONFIG_FILE: &str = "sigil.toml";
/// Most validators a local network may have.
pub const MAX_VALIDATORS: usize = 32;
/// Ports each node takes, consecutive from its base: DNS, API, our swarm, the engine's swarm.
const PORTS_PER_NODE: u16 = 4;

/// One node of a local network and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    pub name: String,
    pub dir: PathBuf,
    /// The node's validator key; `None` for a full node.
    #[serde(default)]
    pub validator: Option<PublicKey>,
    pub dns: SocketAddr,
    pub api: SocketAddr,
    /// Our libp2p swarm: transaction gossip, headers and proofs.
    pub p2p: String,
    /// The consensus engine's libp2p swarm.
    pub consensus: String,
}

impl NodeEntry {
    /// A node on loopback with the [`PORTS_PER_NODE`] ports from `base`: DNS, API, our swarm,
    /// the engine's swarm.
    fn on_ports(dir: PathBuf, name: String, validator: Option<PublicKey>, base: u16) -> NodeEntry {
        let loopback = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        NodeEntry {
            name,
            dir,
            validator,
            dns: loopback(base),
            api: loopback(base + 1),
            p2p: format!("/ip4/127.0.0.1/tcp/{}", base + 2),
            consensus: format!("/ip4/127.0.0.1/tcp/{}", base + 3),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }
}

/// A local network's manifest: its chain and its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub chain_id: String,
    pub nodes: Vec<NodeEntry>,
}

impl Manifest {
    pub fn load(dir: &Path) -> anyhow::Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "no local network in {}; create one with `sigil localnet up --dir {}`",
                dir.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a local network manifest", path.display()))
    }

    /// Writes the manifest into `dir` atomically: a complete file or the previous one.
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        fs::write(&tmp, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, dir.join(MANIFEST_FILE))
            .with_context(|| format!("cannot write {}", dir.join(MANIFEST_FILE).display()))
    }

    /// How many of the nodes are validators.
    pub fn validator_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.validator.is_some()).count()
    }

    /// The first port after every node's ports: where the next node's block starts.
    fn next_base_port(&self) -> anyhow::Result<u16> {
        let last = self
            .nodes
            .iter()
            .map(|n| n.dns.port())
            .max()
            .context("the manifest lists no node")?;
        last.checked_add(PORTS_PER_NODE)
            .context("no ports left above the network's last node; give --base-port")
    }
}

/// Creates a network of `validators` nodes in `dir` (which must not hold one yet), with ports
/// from `base_port` up, checked free now, and blocks `block_interval_ms` apart (the
/// development default when `None`; 0 decides as fast as the network allows).
pub fn create(
    dir: &Path,
    validators: usize,
    base_port: u16,
    block_interval_ms: Option<u64>,
) -> anyhow::Result<Manifest> {
    if !(1..=MAX_VALIDATORS).contains(&validators) {
        bail!("a local network has 1 to {MAX_VALIDATORS} validators, not {validators}");
    }
    if dir.join(MANIFEST_FILE).exists() {
        bail!(
            "{} already holds a local network; start it with `sigil localnet up --dir {}` or pick another folder",
            dir.display(),
            dir.display()
        );
    }
    check_port_range(base_port, validators)?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;

    let keys: Vec<Keypair> = (0..validators).map(|_| Keypair::generate()).collect();
    let chain_id = format!("sigil-local-{}", &keys[0].public().to_string()[..8]);
    let mut params = devchain::dev_params(chain_id.clone());
    if let Some(ms) = block_interval_ms {
        params.block_interval_ms = ms;
    }
    let genesis = Genesis {
        genesis_time_ms: sigil_core::time::now_ms(),
        params,
        validators: ValidatorSet::equal_power(keys.iter().map(Keypair::public)),
    };

    let nodes: Vec<NodeEntry> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let name = format!("node{}", i + 1);
            NodeEntry::on_ports(
                dir.join(&name),
                name,
                Some(key.public()),
                base_port + i as u16 * PORTS_PER_NODE,
            )
        })
        .collect();
    for node in &nodes {
        check_free(node.dns.port())?;
    }
    for (node, key) in nodes.iter().zip(&keys) {
        fs::create_dir_all(&node.dir)
            .with_context(|| format!("cannot create {}", node.dir.display()))?;
        devchain::write_private(
            &node.dir.join(VALIDATOR_KEY_FILE),
            devchain::validator_pem(key)?.as_bytes(),
        )?;
        fs::write(node.config_path(), node_config(node, &nodes)?)?;
        devchain::write_genesis(&node.dir, &genesis)?;
    }
    devchain::write_genesis(&dir, &genesis)?;
    let manifest = Manifest { chain_id, nodes };
    // The manifest last: its presence marks a complete network folder.
    manifest.save(&dir)?;
    Ok(manifest)
}

/// Lays out a full node for the network in `dir`: folder `fullN` (the first free N) with the
/// genesis and a `sigil.toml` on ports from `base_port` (after the last node's when `None`;
/// checked free now) that names every node as a peer, and adds it to the manifest, so that
/// `localnet up`, `status` and `down` include it. The node has no validator key; `sigild
/// --config` on it follows the chain.
pub fn add_full_node(dir: &Path, base_port: Option<u16>) -> anyhow::Result<NodeEntry> {
    let mut manifest = Manifest::load(dir)?;
    let base_port = match base_port {
        Some(port) => port,
        None => manifest.next_base_port()?,
    };
    check_port_range(base_port, 1)?;
    if let Some(holder) = manifest
        .nodes
        .iter()
        .find(|n| n.dns.port().abs_diff(base_port) < PORTS_PER_NODE)
    {
        bail!(
            "port {base_port} is taken by {} of this network (it uses {}..={}); choose other ports with --base-port",
            holder.name,
            holder.dns.port(),
            holder.dns.port() + PORTS_PER_NODE - 1
        );
    }
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let name = (1..)
        .map(|n| format!("full{n}"))
        .find(|name| !dir.join(name).exists())
        .expect("a free folder name");
    let node = NodeEntry::on_ports(dir.join(&name), name, None, base_port);
    check_free(base_port)?;
    let genesis = devchain::load(&dir)
        .with_context(|| format!("{} has no genesis", dir.display()))?
        .genesis;
    fs::create_dir_all(&node.dir)
        .with_context(|| format!("cannot create {}", node.dir.display()))?;
    devchain::write_genesis(&node.dir, &genesis)?;
    manifest.nodes.push(node.clone());
    fs::write(node.config_path(), node_config(&node, &manifest.nodes)?)?;
    // The manifest last, as in `create`.
    manifest.save(&dir)?;
    Ok(node)
}

/// `sigil.toml` of one node: its folder, ports, and every other node as a peer.
fn node_config(node: &NodeEntry, all: &[NodeEntry]) -> anyhow::Result<String> {
    let others = |f: fn(&NodeEntry) -> &String| -> Vec<String> {
        all.iter()
            .filter(|n| n.name != node.name)
            .map(|n| f(n).clone())
            .collect()
    };
    let config = FileConfig {
        data: Some(node.dir.clone()),
        dns_listen: Some(node.dns),
        api_listen: Some(node.api),
        p2p: Some(P2pConfig {
            listen: Some(node.p2p.clone()),
            bootstrap: others(|n| &n.p2p),
            mdns: false,
        }),
        consensus: Some(ConsensusConfig {
            listen: Some(node.consensus.clone()),
            peers: others(|n| &n.consensus),
        }),
        ..FileConfig::default()
    };
    Ok(format!(
        "# {} of a local Sigil network; start it with `sigild --config {}`\n{}",
        node.name,
        node.config_path().display(),
        toml::to_string_pretty(&config)?
    ))
}

/// Fails unless `nodes` nodes fit between 1024 and 65535 from `base_port` up.
fn check_port_range(base_port: u16, nodes: usize) -> anyhow::Result<()> {
    let needed = nodes as u32 * u32::from(PORTS_PER_NODE);
    if u32::from(base_port) + needed > u32::from(u16::MAX) || base_port < 1024 {
        bail!("--base-port {base_port} leaves no room for {needed} ports between 1024 and 65535");
    }
    Ok(())
}

/// Fails, naming the port, if any port of the node at `base` is taken (all TCP, and DNS's UDP).
fn check_free(base: u16) -> anyhow::Result<()> {
    for port in base..base + PORTS_PER_NODE {
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).with_context(|| {
            format!("port {port} on 127.0.0.1 is taken; choose other ports with --base-port")
        })?;
    }
    UdpSocket::bind((Ipv4Addr::LOCALHOST, base)).with_context(|| {
        format!("UDP port {base} on 127.0.0.1 is taken; choose other ports with --base-port")
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `layout` from the first block of ports found free, below the kernel's ephemeral
    /// range so that no outgoing connection of a concurrent test holds one of them.
    fn on_free_ports<T>(mut layout: impl FnMut(u16) -> anyhow::Result<T>) -> T {
        let mut last_error = String::new();
        for block in 0..100 {
            match layout(21_000 + block * 100) {
                Ok(value) => return value,
                Err(e) if e.to_string().contains("is taken") => last_error = e.to_string(),
                Err(e) => panic!("{e:#}"),
            }
        }
        panic!("no free block of ports: {last_error}");
    }

    #[test]
    fn every_node_gets_its_own_ports_key_and_the_same_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("net");
        let manifest = on_free_ports(|base| create(&net, 4, base, None));
        assert_eq!(manifest.nodes.len(), 4);
        assert_eq!(Manifest::load(&net).unwrap(), manifest);
        let mut ports: Vec<u16> = manifest
            .nodes
            .iter()
            .flat_map(|n| [n.dns.port(), n.api.port()])
            .collect();
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), 8);
        let genesis = devchain::load(&manifest.nodes[0].dir).unwrap().genesis;
        for node in &manifest.nodes {
            let chain = devchain::load(&node.dir).unwrap();
            assert_eq!(chain.genesis, genesis);
            assert_eq!(Some(chain.validator.unwrap().public()), node.validator);
            let config = FileConfig::load(&node.config_path()).unwrap();
            assert_eq!(config.api_listen, Some(node.api));
            let p2p = config.p2p.unwrap();
            assert_eq!(p2p.listen.as_deref(), Some(node.p2p.as_str()));
            assert_eq!(p2p.bootstrap.len(), 3);
            assert!(!p2p.bootstrap.contains(&node.p2p));
            assert_eq!(config.consensus.unwrap().peers.len(), 3);
        }
        assert_eq!(genesis.validators.validators.len(), 4);

        let again = create(&net, 4, 41000, None).unwrap_err().to_string();
        assert!(again.contains("already holds"), "{again}");
    }

    #[test]
    fn a_full_node_gets_the_genesis_fresh_ports_and_every_validator_as_peer() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("net");
        let manifest = on_free_ports(|base| create(&net, 3, base, Some(0)));
        assert_eq!(
            devchain::load(&manifest.nodes[0].dir)
                .unwrap()
                .genesis
                .params
                .block_interval_ms,
            0
        );
        let full = on_free_ports(|base| add_full_node(&net, Some(base)));
        assert_eq!(full.name, "full1");
        assert_eq!(full.validator, None);
        let chain = devchain::load(&full.dir).unwrap();
        assert!(chain.validator.is_none());
        assert_eq!(
            chain.genesis,
            devchain::load(&manifest.nodes[0].dir).unwrap().genesis
        );
        let config = FileConfig::load(&full.config_path()).unwrap();
        assert_eq!(config.dns_listen, Some(full.dns));
        let peers = config.consensus.unwrap().peers;
        assert_eq!(peers.len(), 3);
        for node in &manifest.nodes {
            assert!(peers.contains(&node.consensus));
        }
        assert_eq!(config.p2p.unwrap().bootstrap.len(), 3);
        // The manifest lists it after the validators; the next full node gets its own folder
        // and, unless told, the ports after the last node's.
        let listed = Manifest::load(&net).unwrap();
        assert_eq!(listed.nodes[..3], manifest.nodes[..]);
        assert_eq!(listed.nodes[3], full);
        assert_eq!(listed.validator_count(), 3);
        match add_full_node(&net, None) {
            Ok(second) => {
                assert_eq!(second.name, "full2");
                let highest = listed.nodes.iter().map(|n| n.dns.port()).max().unwrap();
                assert_eq!(second.dns.port(), highest + PORTS_PER_NODE);
                let config = FileConfig::load(&second.config_path()).unwrap();
                assert_eq!(config.consensus.unwrap().peers.len(), 4);
            }
            // Another test may hold the next ports; the error says what to do.
            Err(e) => assert!(e.to_string().contains("--base-port"), "{e:#}"),
        }
        let clash = add_full_node(&net, Some(manifest.nodes[1].dns.port() + 2)).unwrap_err();
        assert!(clash.to_string().contains("taken by node2"), "{clash:#}");
        assert!(add_full_node(&dir.path().join("none"), Some(41220)).is_err());
    }

    #[test]
    fn bad_sizes_and_ports_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(create(dir.path(), 0, 41000, None).is_err());
        assert!(create(dir.path(), MAX_VALIDATORS + 1, 41000, None).is_err());
        let err = create(dir.path(), 4, 65530, None).unwrap_err().to_string();
        assert!(err.contains("--base-port"), "{err}");
    }
}
