//! A header request costs a header: a peer asking again and again for the headers of heights
//! that hold large blocks makes the serving node read a few hundred bytes per request from its
//! store, never the blocks (counted by a store that tallies every byte it is asked to read).

mod support;

use std::sync::Arc;
use std::time::Duration;

use libp2p::identity;
use libp2p::multiaddr::Protocol;
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Keypair};
use sigil_registry::net::{ClientRequests, NetConfig, NetHandle, Network};
use support::{CHAIN, Chain, CountingStore};
use tokio::time::timeout;

const TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Large blocks: this many transactions each.
const TXS_PER_BLOCK: usize = 2_000;
const BLOCKS: u64 = 3;
/// Requests for each height.
const ROUNDS: u64 = 10;
/// What one header with its one-signature commit may cost to read, at most.
const HEADER_READ_BOUND: u64 = 2 * 1024;

async fn node(bootstrap: Vec<libp2p::Multiaddr>, serve: Arc<dyn ClientRequests>) -> NetHandle {
    let mut config = NetConfig::new(
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        identity::Keypair::generate_ed25519(),
    );
    config.bootstrap = bootstrap;
    Network::spawn(config, CHAIN, serve)
        .await
        .expect("network starts")
        .0
}

/// A node that serves nothing: the requesting peer.
struct NoReads;

impl ClientRequests for NoReads {
    fn header(
        &self,
        _: u64,
    ) -> sigil_registry::Result<Option<sigil_registry::net::CommittedHeader>> {
        Err(sigil_registry::Error::invalid("serves nothing"))
    }

    fn name_proof(&self, _: &str) -> sigil_registry::Result<sigil_core::proof::StateProof> {
        Err(sigil_registry::Error::invalid("serves nothing"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_requests_for_heights_of_large_blocks_read_only_headers() {
    let store = Arc::new(CountingStore::default());
    let mut chain = Chain::with_store(store.clone());
    for block in 0..BLOCKS {
        let txs = (0..TXS_PER_BLOCK)
            .map(|i| {
                let key = Keypair::generate();
                let mut commitment = [0u8; 32];
                commitment[..8].copy_from_slice(&(block * 1_000_000 + i as u64).to_be_bytes());
                chain.tx(
                    &key,
                    Op::NameCommit {
                        commitment: Hash(commitment),
                    },
                )
            })
            .collect();
        chain.block(txs);
    }
    let ledger = Arc::new(chain.ledger);
    let block_bytes = sigil_core::types::encode(&ledger.block(1).unwrap().unwrap()).len();
    assert!(block_bytes > 100 * 1024, "blocks of {block_bytes} bytes");

    timeout(TEST_TIMEOUT, async {
        let server = node(vec![], ledger.clone()).await;
        let addr = server.listen_addrs()[0]
            .clone()
            .with(Protocol::P2p(server.local_peer_id()));
        let peer = node(vec![addr], Arc::new(NoReads)).await;
        let server_id = server.local_peer_id();
        let mut status = peer.status();
        status
            .wait_for(|s| s.peers.contains(&server_id))
            .await
            .expect("network running");

        let trusted = ledger.validators().unwrap();
        store.take_reads();
        for _ in 0..ROUNDS {
            for height in 1..=BLOCKS {
                let answer = peer
                    .request_header(server_id, height)
                    .await
                    .expect("served")
                    .expect("the height exists");
                assert_eq!(
                    answer.header,
                    ledger.block(height).unwrap().unwrap().block.header
                );
                answer
                    .commit
                    .expect("committed")
                    .verify(&answer.header, &trusted)
                    .unwrap();
                // The check above read the block; only the serving counts.
                store.take_reads();
            }
        }
        // Serve once more and count only the serving.
        store.take_reads();
        let requests = BLOCKS;
        for height in 1..=BLOCKS {
            peer.request_header(server_id, height).await.unwrap().unwrap();
        }
        let (entries, bytes) = store.take_reads();
        let per_request = bytes / requests;
        assert!(
            per_request <= HEADER_READ_BOUND,
            "a header request read {per_request} bytes ({entries} entries for {requests} requests) from the store; blocks are {block_bytes} bytes"
        );
        server.stop().await;
        peer.stop().await;
    })
    .await
    .expect("test finishes in time");
}
