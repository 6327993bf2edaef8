//! The registry's network over real swarms on 127.0.0.1: transaction gossip reaches every node
//! once, and only once the node admitted it; client requests return headers and proofs that
//! verify, and a peer gossiping garbage or invalid transactions is disconnected, kept off, and
//! its messages go nowhere.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, gossipsub, identity, noise, tcp, yamux};
use tokio::sync::mpsc;
use tokio::time::timeout;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::records::Record;
use sigil_core::state::{ChainParams, NameEntry, ValidatorSet};
use sigil_core::tx::{Op, SignedTx, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair, decode};
use sigil_registry::ledger::Ledger;
use sigil_registry::net::{
    ClientRequests, Error, GossipVerdict, InboundTx, NetConfig, NetHandle, NetStatus, Network,
    tx_topic,
};
use sigil_registry::node::Node;
use sigil_registry::store::MemStore;

const CHAIN: &str = "test-chain";
const TEST_TIMEOUT: Duration = Duration::from_secs(20);
const WAIT: Duration = Duration::from_secs(10);

fn genesis(validator: &Keypair) -> Genesis {
    Genesis {
        genesis_time_ms: 0,
        params: ChainParams {
            chain_id: CHAIN.into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: 1,
            reveal_max_blocks: 5,
            name_ttl_blocks: 100,
            grace_blocks: 10,
            block_interval_ms: 10,
            work: Default::default(),
        },
        validators: ValidatorSet::equal_power([validator.public()]),
    }
}

/// A one-validator chain over an in-memory store.
struct Chain {
    ledger: Arc<Ledger>,
    validator: Keypair,
}

impl Chain {
    fn new() -> Chain {
        let validator = Keypair::generate();
        let ledger = Ledger::open(Arc::new(MemStore::default()), genesis(&validator), 1000)
            .expect("ledger opens");
        Chain {
            ledger: Arc::new(ledger),
            validator,
        }
    }

    fn block(&self, txs: Vec<SignedTx>) {
        let prepared = self.ledger.prepare(&txs).unwrap();
        assert!(prepared.execution.outcomes.iter().all(|o| o.is_ok()));
        let header = self
            .ledger
            .header(&prepared, self.validator.public(), 0)
            .unwrap();
        let commit = Commit::sign(&header, 0, &self.validator);
        self.ledger
            .commit(prepared, Block { header, txs }, commit)
            .unwrap();
    }
}

fn tx(key: &Keypair, chain_id: &str, nonce: u64) -> SignedTx {
    Transaction {
        chain_id: chain_id.into(),
        signer: key.public(),
        nonce,
        stamp: 0,
        op: Op::NameCommit {
            commitment: Hash([nonce as u8; 32]),
        },
    }
    .sign(key)
}

async fn node(
    bootstrap: Vec<Multiaddr>,
    serve: Arc<dyn ClientRequests>,
) -> (NetHandle, mpsc::Receiver<InboundTx>) {
    let listen = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
    node_at(
        listen,
        identity::Keypair::generate_ed25519(),
        bootstrap,
        serve,
    )
    .await
}

async fn node_at(
    listen: Multiaddr,
    keypair: identity::Keypair,
    bootstrap: Vec<Multiaddr>,
    serve: Arc<dyn ClientRequests>,
) -> (NetHandle, mpsc::Receiver<InboundTx>) {
    let mut config = NetConfig::new(listen, keypair);
    config.bootstrap = bootstrap;
    Network::spawn(config, CHAIN, serve)
        .await
        .expect("network starts")
}

/// `handle`'s dialable address, with its peer id.
fn address(handle: &NetHandle) -> Multiaddr {
    let addr = handle.listen_addrs().into_iter().next().expect("listening");
    addr.with(Protocol::P2p(handle.local_peer_id()))
}

async fn wait_until(handle: &NetHandle, what: &str, f: impl FnMut(&NetStatus) -> bool) {
    let mut status = handle.status();
    timeout(WAIT, status.wait_for(f))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "timed out waiting until {what}: {:?}",
                handle.status().borrow()
            )
        })
        .expect("network task running");
}

async fn next(rx: &mut mpsc::Receiver<InboundTx>) -> InboundTx {
    timeout(WAIT, rx.recv())
        .await
        .expect("a transaction arrives in time")
        .expect("network task running")
}

/// A, with B and C bootstrapping to it and all three meshed on the transaction topic.
async fn three_nodes(
    serve: Arc<dyn ClientRequests>,
) -> [(NetHandle, mpsc::Receiver<InboundTx>); 3] {
    let a = node(vec![], serve.clone()).await;
    let b = node(vec![address(&a.0)], serve.clone()).await;
    let c = node(vec![address(&a.0)], serve).await;
    let (a_id, b_id, c_id) = (
        a.0.local_peer_id(),
        b.0.local_peer_id(),
        c.0.local_peer_id(),
    );
    wait_until(&a.0, "A gossips with B and C", |s| {
        s.gossip_peers.contains(&b_id) && s.gossip_peers.contains(&c_id)
    })
    .await;
    wait_until(&b.0, "B gossips with A", |s| s.gossip_peers.contains(&a_id)).await;
    wait_until(&c.0, "C gossips with A", |s| s.gossip_peers.contains(&a_id)).await;
    [a, b, c]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_published_on_one_node_reaches_every_other_node_once() {
    timeout(TEST_TIMEOUT, async {
        let chain = Chain::new();
        let [(a, mut a_rx), (b, mut b_rx), (c, mut c_rx)] = three_nodes(chain.ledger.clone()).await;
        let key = Keypair::generate();
        let first = tx(&key, CHAIN, 0);
        c.publish(first.clone()).await.unwrap();
        let at_a = next(&mut a_rx).await;
        a.report(&at_a, GossipVerdict::Accept);
        assert_eq!(
            (at_a.tx, at_a.id, at_a.from),
            (first.clone(), first.id(), c.local_peer_id())
        );
        let at_b = next(&mut b_rx).await;
        assert_eq!((at_b.tx, at_b.from), (first.clone(), a.local_peer_id()));
        // Publishing it again anywhere is a duplicate.
        assert!(matches!(
            b.publish(first.clone()).await,
            Err(Error::Publish { .. })
        ));
        // Exactly once: the next thing each node receives is the second transaction.
        let second = tx(&key, CHAIN, 1);
        c.publish(second.clone()).await.unwrap();
        let at_a = next(&mut a_rx).await;
        a.report(&at_a, GossipVerdict::Accept);
        assert_eq!(at_a.tx, second);
        assert_eq!(next(&mut b_rx).await.tx, second);
        // The publisher never receives its own transactions.
        assert!(c_rx.try_recv().is_err());
        // A transaction that fails the stateless checks is refused before it leaves the node.
        let foreign = tx(&key, "other-chain", 2);
        assert!(matches!(
            c.publish(foreign).await,
            Err(Error::InvalidTx { .. })
        ));
        for handle in [a, b, c] {
            handle.stop().await;
        }
    })
    .await
    .expect("test finishes in time");
}

/// A validly signed transaction that A's admission refuses (its nonce is out of sequence,
/// or its operation fails on the pending state) is not forwarded: B first hears of the valid
/// transaction sent after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gossiped_transaction_is_forwarded_only_if_admitted() {
    timeout(TEST_TIMEOUT, async {
        let chain = Chain::new();
        let node = Node::for_consensus(chain.ledger.clone());
        let [(a, mut a_rx), (b, mut b_rx), (c, _)] = three_nodes(chain.ledger.clone()).await;
        let key = Keypair::generate();
        let admit = |inbound: InboundTx| {
            let node = node.clone();
            let a = a.clone();
            tokio::task::spawn_blocking(move || node.admit_gossiped(&inbound, &a))
        };
        // Out of sequence: the key has sent nothing yet.
        let skipping = tx(&key, CHAIN, 5);
        c.publish(skipping.clone()).await.unwrap();
        let at_a = next(&mut a_rx).await;
        assert_eq!(at_a.tx, skipping);
        assert!(admit(at_a).await.unwrap().is_err());
        // Fails on the pending state: the key's commitment again, already pending.
        let first = tx(&key, CHAIN, 0);
        c.publish(first.clone()).await.unwrap();
        let at_a = next(&mut a_rx).await;
        assert!(admit(at_a).await.unwrap().is_ok());
        assert_eq!(
            next(&mut b_rx).await.tx,
            first,
            "B heard a refused transaction"
        );
        let same = Transaction {
            nonce: 1,
            ..first.tx.clone()
        }
        .sign(&key);
        c.publish(same.clone()).await.unwrap();
        let at_a = next(&mut a_rx).await;
        assert_eq!(at_a.tx, same);
        assert!(admit(at_a).await.unwrap().is_err());
        // The next admitted one is the next thing B hears.
        let second = tx(&key, CHAIN, 1);
        c.publish(second.clone()).await.unwrap();
        let at_a = next(&mut a_rx).await;
        assert!(admit(at_a).await.unwrap().is_ok());
        assert_eq!(
            next(&mut b_rx).await.tx,
            second,
            "B heard a refused transaction"
        );
        // A stayed connected to C: refusals that may come from another view of the chain are
        // no reason to ban.
        assert!(a.peers().contains(&c.local_peer_id()));
        for handle in [a, b, c] {
            handle.stop().await;
        }
    })
    .await
    .expect("test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serves_headers_with_commits_and_name_proofs_that_verify() {
    timeout(TEST_TIMEOUT, async {
        let chain = Chain::new();
        let alice = Keypair::generate();
        let salt = Hash([3; 32]);
        let commit = Transaction {
            chain_id: CHAIN.into(),
            signer: alice.public(),
            nonce: 0,
            stamp: 0,
            op: Op::NameCommit {
                commitment: name_commitment("proven.sigil", &salt, &alice.public()),
            },
        };
        chain.block(vec![commit.sign(&alice)]);
        let register = Transaction {
            chain_id: CHAIN.into(),
            signer: alice.public(),
            nonce: 1,
            stamp: 0,
            op: Op::NameRegister {
                name: "proven.sigil".into(),
                salt,
                records: vec![Record::parse("@ A 192.0.2.7").unwrap()],
            },
        };
        chain.block(vec![register.sign(&alice)]);

        let (server, _) = node(vec![], chain.ledger.clone()).await;
        let (client, _) = node(vec![address(&server)], Arc::new(NoReads)).await;
        let server_id = server.local_peer_id();
        wait_until(&client, "the client is connected", |s| {
            s.peers.contains(&server_id)
        })
        .await;

        let trusted = chain.ledger.validators().unwrap();
        let at_2 = client
            .request_header(server_id, 2)
            .await
            .unwrap()
            .expect("height 2 exists");
        let stored = chain.ledger.block(2).unwrap().unwrap();
        assert_eq!(at_2.header, stored.block.header);
        let commit = at_2.commit.expect("height 2 is committed");
        commit.verify(&at_2.header, &trusted).unwrap();
        let genesis = client.request_header(server_id, 0).await.unwrap().unwrap();
        assert!(genesis.commit.is_none());
        assert!(
            client
                .request_header(server_id, 99)
                .await
                .unwrap()
                .is_none()
        );

        let proof = client
            .request_proof(server_id, "Proven.Sigil")
            .await
            .unwrap();
        let value = proof
            .verify(CHAIN, &trusted)
            .unwrap()
            .expect("the name is present");
        let entry: NameEntry = decode(value).unwrap();
        assert_eq!(entry.owner, alice.public());
        let absent = client
            .request_proof(server_id, "nobody.sigil")
            .await
            .unwrap();
        assert_eq!(absent.verify(CHAIN, &trusted).unwrap(), None);
        let refused = client.request_proof(server_id, "not a name").await;
        assert!(matches!(refused, Err(Error::Refused { .. })), "{refused:?}");
        // A node that serves nothing refuses rather than failing the connection.
        let from_client = server.request_header(client.local_peer_id(), 1).await;
        assert!(
            matches!(from_client, Err(Error::Refused { .. })),
            "{from_client:?}"
        );

        server.stop().await;
        client.stop().await;
    })
    .await
    .expect("test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_peer_that_goes_away_is_dialed_again_when_it_returns() {
    timeout(TEST_TIMEOUT, async {
        let serve: Arc<dyn ClientRequests> = Arc::new(NoReads);
        let key = identity::Keypair::generate_ed25519();
        let (a, _) = node_at(
            "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            key.clone(),
            vec![],
            serve.clone(),
        )
        .await;
        let a_id = a.local_peer_id();
        let listen = a.listen_addrs()[0].clone();
        let (b, _) = node(vec![address(&a)], serve.clone()).await;
        wait_until(&b, "B is connected to A", |s| s.peers.contains(&a_id)).await;
        a.stop().await;
        wait_until(&b, "B notices A is gone", |s| !s.peers.contains(&a_id)).await;
        // A comes back on the same address with the same identity; B finds it again.
        let (a, _) = node_at(listen, key, vec![], serve).await;
        wait_until(&b, "B is connected to A again", |s| s.peers.contains(&a_id)).await;
        a.stop().await;
        b.stop().await;
    })
    .await
    .expect("test finishes in time");
}

/// A peer that serves nothing.
struct NoReads;

impl ClientRequests for NoReads {
    fn header(
        &self,
        _: u64,
    ) -> sigil_registry::Result<Option<sigil_registry::net::CommittedHeader>> {
        Err(sigil_registry::Error::invalid(
            "this node serves no headers",
        ))
    }

    fn name_proof(&self, _: &str) -> sigil_registry::Result<sigil_core::proof::StateProof> {
        Err(sigil_registry::Error::invalid("this node serves no proofs"))
    }
}

/// A bare gossipsub swarm that publishes `payload` on the transaction topic to `target`, then
/// reports whether `target` disconnected it and refused it when it came back.
/// Returns Mallory's peer id once A has thrown it out and refused it again.
async fn mallory(target: Multiaddr, target_id: PeerId, payload: Vec<u8>) -> Result<PeerId, String> {
    let key = identity::Keypair::generate_ed25519();
    let me = key.public().to_peer_id();
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .build()
        .map_err(|e| e.to_string())?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_behaviour(|_| {
            let behaviour: Result<gossipsub::Behaviour, Box<dyn std::error::Error + Send + Sync>> =
                gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_config)
                    .map_err(Into::into);
            behaviour
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let topic = tx_topic(CHAIN);
    swarm
        .behaviour_mut()
        .subscribe(&topic)
        .map_err(|e| e.to_string())?;
    swarm.dial(target.clone()).map_err(|e| e.to_string())?;
    // Publish once the target is known to be subscribed.
    loop {
        match swarm.select_next_some().await {
            SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, .. })
                if peer_id == target_id =>
            {
                break;
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => return Err(error.to_string()),
            _ => {}
        }
    }
    swarm
        .behaviour_mut()
        .publish(topic, payload)
        .map_err(|e| e.to_string())?;
    loop {
        if let SwarmEvent::ConnectionClosed {
            peer_id,
            num_established: 0,
            ..
        } = swarm.select_next_some().await
            && peer_id == target_id
        {
            break;
        }
    }
    // Coming back does not work.
    swarm.dial(target).map_err(|e| e.to_string())?;
    loop {
        match swarm.select_next_some().await {
            SwarmEvent::ConnectionClosed { peer_id, .. } if peer_id == target_id => return Ok(me),
            SwarmEvent::OutgoingConnectionError { .. } => return Ok(me),
            _ => {}
        }
    }
}

/// Mallory gossips `payload` to A; A disconnects and bans it, delivers nothing and forwards
/// nothing to B; a valid transaction from C afterwards is the first thing A and B receive.
async fn gossiping_is_punished(payload: Vec<u8>) {
    timeout(TEST_TIMEOUT, async {
        let chain = Chain::new();
        let [(a, mut a_rx), (b, mut b_rx), (c, _)] = three_nodes(chain.ledger.clone()).await;
        let a_id = a.local_peer_id();
        let mallory = tokio::spawn(mallory(address(&a), a_id, payload));
        // Mallory connects, gossips, is thrown out and cannot come back. (Waiting on A's peer
        // list instead would race: the watch may never show Mallory connected at all.)
        let m = timeout(WAIT, mallory)
            .await
            .expect("mallory is disconnected in time")
            .unwrap()
            .expect("mallory is disconnected and kept off");

        let sentinel = tx(&Keypair::generate(), CHAIN, 0);
        c.publish(sentinel.clone()).await.unwrap();
        let at_a = next(&mut a_rx).await;
        a.report(&at_a, GossipVerdict::Accept);
        assert_eq!(at_a.tx, sentinel, "A received mallory's message");
        assert_eq!(
            next(&mut b_rx).await.tx,
            sentinel,
            "A forwarded mallory's message"
        );
        // A's status follows its swarm's events: wait for the disconnection to show there.
        a.status()
            .wait_for(|status| !status.peers.contains(&m))
            .await
            .expect("A's status is kept");
        for handle in [a, b, c] {
            handle.stop().await;
        }
    })
    .await
    .expect("test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gossiping_garbage_is_disconnected_and_its_garbage_goes_nowhere() {
    gossiping_is_punished(b"\xffthis is not a transaction".to_vec()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gossiping_a_forged_signature_is_disconnected() {
    let mut forged = tx(&Keypair::generate(), CHAIN, 0);
    forged.signature.0[0] ^= 1;
    gossiping_is_punished(forged.to_bytes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gossiping_another_chains_transaction_is_disconnected() {
    gossiping_is_punished(tx(&Keypair::generate(), "other-chain", 0).to_bytes()).await;
}
