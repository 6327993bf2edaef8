//! Replication benchmark with real processes: four `sigild` validators on loopback (release
//! builds), loaded by many signers at once through every node's API, then a fresh full node
//! syncing the whole chain.
//!
//! `cargo bench -p sigil-tests --bench replication -- [SIGNERS] [TXS_PER_SIGNER] [BLOCK_INTERVAL_MS] [SYNC_BLOCKS]`
//!
//! Prints transactions final per second under sustained load, the time from submission to
//! finality (median and 99th percentile), and the blocks per second a fresh full node syncs
//! once the chain is `SYNC_BLOCKS` long (the loaded blocks among them; 0 skips the sync),
//! beside the blocks per second the validators decide meanwhile. First it prints its reference:
//! this machine's `verify_strict` rate measured in the same run.
//! `BLOCK_INTERVAL_MS` is the genesis's least time between blocks (500 as in `localnet up`;
//! 0 decides blocks as fast as the validators agree, which makes a long chain quickly).

use std::time::{Duration, Instant};

use sigil_core::limits::MAX_API_CONNECTIONS_PER_CLIENT;
use sigil_core::tx::{Op, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::signatures::VerifyRate;
use sigil_tests::api_post;
use sigil_tests::network::Network;

/// Transactions a signer has in flight before it waits for them.
const BURST: u64 = 20;
/// Bound for anything the benchmark waits on.
const LONG: Duration = Duration::from_secs(3_600);

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let signers = *args.first().unwrap_or(&64) as usize;
    let per_signer = *args.get(1).unwrap_or(&200);
    let interval_ms = *args.get(2).unwrap_or(&500);
    let sync_blocks = *args.get(3).unwrap_or(&0);
    // Each signer holds one connection to one of the four nodes, and a node serves at most
    // MAX_API_CONNECTIONS_PER_CLIENT from one address (a few spare for the bench's own reads).
    let most = 4 * (MAX_API_CONNECTIONS_PER_CLIENT - 4);
    if signers > most {
        eprintln!(
            "at most {most} signers: each holds a connection to one of 4 nodes, and a node takes {MAX_API_CONNECTIONS_PER_CLIENT} from one client"
        );
        std::process::exit(2);
    }

    // The reference, taken before the nodes start: every validator checks every transaction's
    // signature once, so four on these cores cannot finalize more than a quarter of it.
    let rate = VerifyRate::measure(5_000);
    println!(
        "reference: {rate}; four validators each verifying every signature once: at most {:.0} tx/s from signatures alone",
        rate.all_cores / 4.0
    );

    let mut net = Network::layout_paced(4, Some(interval_ms));
    for i in 0..4 {
        net.restart(i);
    }
    net.wait_block(0, 1, Duration::from_secs(60));
    let chain_id = net.node(0).chain_id.clone();
    let apis: Vec<String> = (0..4).map(|i| net.node(i).api.clone()).collect();

    println!(
        "load: {signers} signers x {per_signer} transactions, bursts of {BURST}, spread over 4 nodes, blocks at least {interval_ms} ms apart"
    );
    let start = Instant::now();
    let first_height = net.height(0);
    let workers: Vec<_> = (0..signers)
        .map(|s| {
            let api = apis[s % apis.len()].clone();
            let chain_id = chain_id.clone();
            std::thread::spawn(move || load(&api, &chain_id, s as u64, per_signer))
        })
        .collect();
    let mut latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("load thread"))
        .collect();
    let elapsed = start.elapsed();
    let blocks = net.height(0) - first_height;
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "final: {} transactions in {:.1} s = {:.0} tx/s over {blocks} blocks; submission to finality: median {} ms, p99 {} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(50).as_millis(),
        pct(99).as_millis()
    );
    if sync_blocks == 0 {
        return;
    }

    // A fresh full node syncs the whole chain, loaded blocks included, from genesis. The
    // reference: the blocks per second the validators decide meanwhile, on the same cores.
    net.wait_block(0, sync_blocks, LONG);
    let start = Instant::now();
    let full = net.start_full_node();
    let target = net.height(0);
    net.wait_block(full, target, LONG);
    let took = start.elapsed();
    let decided = net.height(0) - target;
    println!(
        "sync: a fresh full node reached height {target} in {:.1} s = {:.0} blocks/s (start included); the validators decided {decided} blocks meanwhile = {:.0} blocks/s",
        took.as_secs_f64(),
        target as f64 / took.as_secs_f64(),
        decided as f64 / took.as_secs_f64()
    );
}

/// One signer: sends `count` name commitments in bursts, waiting for each burst to be final;
/// returns each transaction's time from submission to finality.
fn load(api: &str, chain_id: &str, signer: u64, count: u64) -> Vec<Duration> {
    let key = Keypair::generate();
    let mut latencies = Vec::new();
    let mut nonce = 0;
    while nonce < count {
        let burst: Vec<(Hash, Instant)> = (nonce..(nonce + BURST).min(count))
            .map(|n| {
                let name = format!("bench-{signer}-{n}.sigil");
                let commitment = name_commitment(&name, &Hash::of(name.as_bytes()), &key.public());
                let stx = Transaction {
                    chain_id: chain_id.to_string(),
                    signer: key.public(),
                    nonce: n,
                    stamp: 0,
                    op: Op::NameCommit { commitment },
                }
                .sign(&key);
                let sent = Instant::now();
                let (status, body) = api_post(
                    api,
                    "/v1/txs",
                    &serde_json::json!({ "tx": hex(&stx.to_bytes()) }),
                );
                assert!(status.contains("202"), "submit: {status} {body}");
                (stx.id(), sent)
            })
            .collect();
        nonce += burst.len() as u64;
        for (id, sent) in burst {
            let status = sigil_tests::api_get(api, &format!("/v1/txs/{id}?wait_ms=60000"));
            assert_eq!(status["status"], "final", "{status}");
            latencies.push(sent.elapsed());
        }
    }
    latencies
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
