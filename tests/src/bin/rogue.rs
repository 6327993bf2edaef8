//! A rogue peer on the consensus network: joins the validators' engine swarm with a key of its
//! own (the engine's own network actor and codec, as any node would) and floods proposal
//! streams until it is killed, printing `rogue sent N` after each batch.
//!
//! `rogue --node-dir DIR --peer ADDR... --mode MODE [--from-height H]`, where MODE is
//! - `junk`: one-part streams under fresh stream ids (a chunk with no `Init`);
//! - `future`: streams for heights from H upward that look like proposals but are signed by
//!   the rogue's own key, left without their end (never complete);
//! - `future-signed`: complete streams for heights from H upward, each signed (`Init` and
//!   `Fin`) by the validator key in DIR, for every round, as a faulty validator would.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use malachitebft_app_channel::app::config::{ConsensusConfig, P2pConfig, ValueSyncConfig};
use malachitebft_app_channel::app::engine::network::Msg;
use malachitebft_app_channel::app::metrics::SharedRegistry;
use malachitebft_app_channel::app::spawn::spawn_network_actor;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::Keypair as NetworkKeypair;
use malachitebft_app_channel::app::types::core::Round;
use malachitebft_app_channel::{NetworkIdentity, app::net::Multiaddr};
use sigil_core::block::{Block, Header};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::consensus::codec::SigilCodec;
use sigil_registry::consensus::context::{ProposalPart, SigilContext};
use sigil_registry::consensus::stream::{proposal_parts, stream_messages};

/// Messages published between two progress lines.
const BATCH: u64 = 100;
/// Pause between batches: about 2,000 messages a second, a flood for a validator.
const PAUSE: Duration = Duration::from_millis(50);

struct Args {
    node_dir: PathBuf,
    peers: Vec<Multiaddr>,
    mode: String,
    from_height: u64,
}

fn args() -> Args {
    let mut args = Args {
        node_dir: PathBuf::new(),
        peers: Vec::new(),
        mode: String::new(),
        from_height: 1_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--node-dir" => args.node_dir = value.into(),
            "--peer" => args.peers.push(value.parse().expect("a multiaddr")),
            "--mode" => args.mode = value,
            "--from-height" => args.from_height = value.parse().expect("a height"),
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

#[tokio::main]
async fn main() {
    let args = args();
    let chain = sigil_tools::devchain::load(&args.node_dir).expect("a node folder");
    let chain_id = chain.genesis.params.chain_id.clone();
    let validators = chain.genesis.validators.validators.len() as u32;
    let own = Keypair::generate();
    let signer = match args.mode.as_str() {
        "future-signed" => chain.validator.expect("a validator key in the node folder"),
        "junk" | "future" => Keypair::generate(),
        other => panic!("unknown mode {other}"),
    };

    let network_key = NetworkKeypair::ed25519_from_bytes(own.signing_key().to_bytes())
        .expect("an ed25519 network key");
    let author = network_key.public().to_peer_id().to_bytes();
    let identity = NetworkIdentity::new("rogue".into(), network_key, None);
    let config = ConsensusConfig {
        p2p: P2pConfig {
            listen_addr: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
            persistent_peers: args.peers.clone(),
            ..P2pConfig::default()
        },
        ..ConsensusConfig::default()
    };
    let network = spawn_network_actor::<SigilContext, _>(
        &config,
        &ValueSyncConfig::default(),
        identity,
        &SharedRegistry::global().with_moniker("rogue"),
        SigilCodec,
    )
    .await
    .expect("start the network actor");

    // Wait for the validators to be connected (their subscriptions follow at once).
    loop {
        let dump = network
            .call(Msg::DumpState, None)
            .await
            .expect("network actor answers");
        let connected = dump
            .success_or(())
            .ok()
            .flatten()
            .map_or(0, |d| d.peers.len());
        if connected >= args.peers.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("rogue connected");

    let mut sent = 0u64;
    let mut n = 0u64;
    loop {
        let mut batch = Vec::new();
        while (batch.len() as u64) < BATCH {
            n += 1;
            let height = args.from_height + n;
            match args.mode.as_str() {
                "junk" => batch.push(StreamMessage::new(
                    StreamId::new(Bytes::from(n.to_be_bytes().to_vec())),
                    1,
                    StreamContent::Data(ProposalPart::Data(vec![0xAB; 64])),
                )),
                "future" => {
                    let round = Round::new((n % u64::from(validators)) as u32);
                    let parts = proposal_parts(
                        &chain_id,
                        &signer,
                        &author,
                        height,
                        round,
                        Round::Nil,
                        &block(&chain_id, height, &signer),
                    );
                    let mut messages = stream_messages(height, round, parts);
                    messages.pop(); // no end: the stream never completes
                    batch.extend(messages);
                }
                _ => {
                    let height = args.from_height + n / u64::from(validators);
                    let round = Round::new((n % u64::from(validators)) as u32);
                    let parts = proposal_parts(
                        &chain_id,
                        &signer,
                        &author,
                        height,
                        round,
                        Round::Nil,
                        &block(&chain_id, height, &signer),
                    );
                    batch.extend(stream_messages(height, round, parts));
                }
            }
        }
        sent += batch.len() as u64;
        for message in batch {
            network
                .cast(Msg::PublishProposalPart(message))
                .expect("network actor takes messages");
        }
        // The actor handles its mailbox in order: once it answers, the batch is published.
        let _ = network.call(Msg::DumpState, None).await;
        println!("rogue sent {sent}");
        tokio::time::sleep(PAUSE).await;
    }
}

/// A block that decodes and names `height` and `proposer`, with nothing else true about it.
fn block(chain_id: &str, height: u64, proposer: &Keypair) -> Block {
    Block {
        header: Header {
            chain_id: chain_id.to_string(),
            height,
            time_ms: 0,
            prev_hash: Hash::ZERO,
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            validators_hash: Hash::ZERO,
            next_validators_hash: Hash::ZERO,
            proposer: proposer.public(),
        },
        txs: Vec::new(),
    }
}
