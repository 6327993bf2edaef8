//! A node's networking from its configuration: our libp2p swarm (transaction gossip both ways,
//! headers and proofs for peers) and the consensus engine (validators and full nodes).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use sigil_core::types::Keypair;
use sigil_registry::consensus::{self, ConsensusHandle};
use sigil_registry::net::{Keypair as NetKeypair, Multiaddr, NetConfig, NetHandle, Network};
use sigil_registry::node::Node;
use tokio::sync::mpsc;

use sigil_tools::config::{ConsensusConfig, P2pConfig};
use sigil_tools::devchain;

/// The node's identity on our swarm, kept in the data folder so peers see the same id after
/// a restart.
pub const NODE_KEY_FILE: &str = "node.pem";
/// Client transactions waiting to be gossiped.
const RELAY_QUEUE: usize = 4_096;
/// Where our swarm listens when `[p2p]` does not say.
const DEFAULT_P2P_LISTEN: &str = "/ip4/0.0.0.0/tcp/26602";
/// Where the engine's swarm listens when `[consensus]` does not say.
const DEFAULT_CONSENSUS_LISTEN: &str = "/ip4/0.0.0.0/tcp/26603";

/// Starts our swarm: gossiped transactions go into the node's mempool, and transactions
/// clients submit to this node are gossiped.
pub async fn start_p2p(
    config: &P2pConfig,
    data: &Path,
    node: &Arc<Node>,
) -> anyhow::Result<NetHandle> {
    let listen = multiaddr(
        config.listen.as_deref().unwrap_or(DEFAULT_P2P_LISTEN),
        "[p2p] listen",
    )?;
    let identity = node_identity(data)?;
    let net_key = NetKeypair::ed25519_from_bytes(identity.signing_key().to_bytes())
        .map_err(|e| anyhow::anyhow!("{NODE_KEY_FILE} cannot be a network identity: {e}"))?;
    let mut net_config = NetConfig::new(listen, net_key);
    net_config.bootstrap = config
        .bootstrap
        .iter()
        .map(|a| multiaddr(a, "[p2p] bootstrap"))
        .collect::<anyhow::Result<_>>()?;
    net_config.mdns = config.mdns;
    // Signatures verified on gossip are not verified again at admission or in a block.
    net_config.signatures = node.ledger().signatures().clone();
    let chain_id = node.ledger().params().chain_id.clone();
    let (net, mut inbound) = Network::spawn(net_config, &chain_id, node.ledger().clone())
        .await
        .context("cannot start the p2p network")?;

    // Admitted gossip is forwarded; the rest goes no further than this node.
    let receiver = node.clone();
    let reports = net.clone();
    tokio::spawn(async move {
        while let Some(gossiped) = inbound.recv().await {
            let node = receiver.clone();
            let net = reports.clone();
            let (id, from) = (gossiped.id, gossiped.from);
            match tokio::task::spawn_blocking(move || node.admit_gossiped(&gossiped, &net)).await {
                Ok(Ok(_)) => tracing::debug!(tx = %id, %from, "gossiped transaction admitted"),
                Ok(Err(e)) => {
                    tracing::debug!(tx = %id, %from, error = %e, "gossiped transaction not admitted")
                }
                Err(e) => tracing::error!(error = %e, "admitting a gossiped transaction panicked"),
            }
        }
    });
    let (relay, mut outbound) = mpsc::channel(RELAY_QUEUE);
    node.relay_to(relay);
    let gossip = net.clone();
    tokio::spawn(async move {
        while let Some(tx) = outbound.recv().await {
            let id = tx.id();
            if let Err(e) = gossip.publish(tx).await {
                tracing::debug!(tx = %id, error = %e, "transaction not gossiped");
            }
        }
    });
    Ok(net)
}

/// Starts the consensus engine as validator `key`, or as a full node with `None`, with its
/// write-ahead log in `data`.
pub async fn start_consensus(
    config: &ConsensusConfig,
    data: &Path,
    node: &Arc<Node>,
    key: Option<Keypair>,
) -> anyhow::Result<(ConsensusHandle, String)> {
    let listen_text = config.listen.as_deref().unwrap_or(DEFAULT_CONSENSUS_LISTEN);
    let listen = multiaddr(listen_text, "[consensus] listen")?;
    let peers = config
        .peers
        .iter()
        .map(|a| multiaddr(a, "[consensus] peers"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let moniker = match &key {
        Some(key) => key.public().to_string()[..8].to_string(),
        None => "full-node".to_string(),
    };
    let mut engine_config = consensus::ConsensusConfig::new(moniker, data, listen, peers);
    // One peer id per node across restarts, on both swarms; two processes that share a
    // validator key (a misconfiguration consensus must survive) are still two peers.
    engine_config.identity = Some(Arc::new(node_identity(data)?));
    let handle = consensus::start(node.clone(), key, engine_config)
        .await
        .context("cannot start consensus")?;
    Ok((handle, listen_text.to_string()))
}

fn multiaddr(text: &str, setting: &str) -> anyhow::Result<Multiaddr> {
    text.parse().map_err(|e| {
        anyhow::anyhow!("{setting} `{text}` is not a multiaddr ({e}); write one such as /ip4/127.0.0.1/tcp/26602")
    })
}

/// The node's network identity from `node.pem`, created on first start.
fn node_identity(data: &Path) -> anyhow::Result<Keypair> {
    let path = data.join(NODE_KEY_FILE);
    if !path.exists() {
        devchain::write_private(
            &path,
            devchain::validator_pem(&Keypair::generate())?.as_bytes(),
        )?;
    }
    let pem = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let key = SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{} is not a PKCS#8 ed25519 key: {e}", path.display()))?;
    Ok(Keypair::from_signing_key(key))
}
