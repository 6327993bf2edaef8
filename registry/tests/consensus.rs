//! Four validators in one process, each with its own sled ledger and Malachite engine on
//! loopback: they finalize the same chain, every stored commit verifies, transactions submitted
//! to one node land on all, and three of them keep going when the fourth stops.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sigil_core::api::TxStatus;
use sigil_core::block::Genesis;
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::tx::{Op, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::consensus::{self, ConsensusConfig, ConsensusHandle, Multiaddr};
use sigil_registry::ledger::Ledger;
use sigil_registry::node::Node;
use sigil_registry::store::SledStore;
use tempfile::TempDir;

const CHAIN: &str = "consensus-test";
const WAIT: Duration = Duration::from_secs(90);

struct Validators {
    nodes: Vec<Arc<Node>>,
    engines: Vec<Option<ConsensusHandle>>,
    _dirs: Vec<TempDir>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn genesis(keys: &[Keypair]) -> Genesis {
    Genesis {
        genesis_time_ms: 0,
        params: ChainParams {
            chain_id: CHAIN.into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: 1,
            reveal_max_blocks: 100,
            name_ttl_blocks: 1000,
            grace_blocks: 10,
            block_interval_ms: 200,
            work: Default::default(),
        },
        validators: ValidatorSet::equal_power(keys.iter().map(Keypair::public)),
    }
}

async fn start_validators(n: usize) -> Validators {
    let keys: Vec<Keypair> = (0..n).map(|_| Keypair::generate()).collect();
    let genesis = genesis(&keys);
    let addrs: Vec<Multiaddr> = (0..n)
        .map(|_| {
            format!("/ip4/127.0.0.1/tcp/{}", free_port())
                .parse()
                .unwrap()
        })
        .collect();
    let mut nodes = Vec::new();
    let mut engines = Vec::new();
    let mut dirs = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        let dir = TempDir::new().unwrap();
        let store = Arc::new(SledStore::open(&dir.path().join("db"), 16 << 20).unwrap());
        let ledger = Arc::new(Ledger::open(store, genesis.clone(), 1000).unwrap());
        let node = Node::for_consensus(ledger);
        let peers = addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| a.clone())
            .collect();
        let config = ConsensusConfig::new(
            format!("validator-{i}"),
            dir.path(),
            addrs[i].clone(),
            peers,
        );
        let engine = consensus::start(node.clone(), Some(key), config)
            .await
            .unwrap();
        nodes.push(node);
        engines.push(Some(engine));
        dirs.push(dir);
    }
    Validators {
        nodes,
        engines,
        _dirs: dirs,
    }
}

/// Waits, bounded by `WAIT`, until every node in `which` has a final block at `height`.
async fn wait_for_height(nodes: &[Arc<Node>], which: &[usize], height: u64) {
    let waits = which.iter().map(|&i| {
        let mut tip = nodes[i].subscribe();
        async move {
            tip.wait_for(|t| t.height >= height).await.unwrap();
        }
    });
    tokio::time::timeout(WAIT, futures_join_all(waits))
        .await
        .unwrap_or_else(|_| {
            let tips: Vec<u64> = nodes.iter().map(|n| n.ledger().tip().height).collect();
            panic!("validators did not reach height {height} in time; tips {tips:?}")
        });
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    for f in futures {
        f.await;
    }
}

/// Every node has the same blocks up to `height`, each finalized by a commit that verifies.
fn assert_same_chain(nodes: &[Arc<Node>], which: &[usize], height: u64) {
    let first = nodes[which[0]].ledger();
    for h in 1..=height {
        let reference = first.block(h).unwrap().expect("block stored");
        for &i in which {
            let ledger = nodes[i].ledger();
            let stored = ledger.block(h).unwrap().expect("block stored");
            assert_eq!(
                stored.block.header.hash(),
                reference.block.header.hash(),
                "height {h}"
            );
            assert_eq!(
                stored.block.header.state_root,
                reference.block.header.state_root
            );
            let commit = stored.commit.expect("final blocks carry a commit");
            commit
                .verify(&stored.block.header, &ledger.validators().unwrap())
                .unwrap_or_else(|e| panic!("commit of height {h} on node {i}: {e}"));
        }
    }
}

fn name_commit(key: &Keypair, name: &str) -> sigil_core::tx::SignedTx {
    let commitment = name_commitment(name, &Hash([7; 32]), &key.public());
    Transaction {
        chain_id: CHAIN.into(),
        signer: key.public(),
        nonce: 0,
        stamp: 0,
        op: Op::NameCommit { commitment },
    }
    .sign(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_finalize_the_same_chain() {
    let started = Instant::now();
    let mut v = start_validators(4).await;
    let all = [0, 1, 2, 3];
    let users: Vec<Keypair> = (0..3).map(|_| Keypair::generate()).collect();
    let ids: Vec<Hash> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            v.nodes[0]
                .submit(name_commit(u, &format!("n{i}.sigil")))
                .unwrap()
        })
        .collect();

    wait_for_height(&v.nodes, &all, 5).await;
    assert_same_chain(&v.nodes, &all, 5);
    for node in &v.nodes {
        for id in &ids {
            assert!(
                matches!(node.tx_status(id).unwrap(), TxStatus::Final { .. }),
                "transaction {id} is final on every node"
            );
        }
    }
    eprintln!("4 validators reached height 5 in {:?}", started.elapsed());

    for engine in v.engines.iter_mut() {
        engine.take().unwrap().stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_of_four_validators_keep_finalizing() {
    let mut v = start_validators(4).await;
    wait_for_height(&v.nodes, &[0, 1, 2, 3], 2).await;
    v.engines[3].take().unwrap().stop();
    let stopped_at = v.nodes[3].ledger().tip().height;
    let live = [0, 1, 2];
    let target = v.nodes[0].ledger().tip().height + 4;
    wait_for_height(&v.nodes, &live, target).await;
    assert_same_chain(&v.nodes, &live, target);
    assert!(v.nodes[3].ledger().tip().height <= stopped_at + 1);
    for engine in v.engines.into_iter().flatten() {
        engine.stop();
    }
}
