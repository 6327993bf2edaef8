//! Spam: while 1,000 fresh keys flood a `sigild --dev` node over HTTP as fast as they can
//! (stamped commitments and 15 KB junk that fails on the state), and name owners flood valid
//! 8 KiB updates, an honest `sigil name register` still goes final within a bounded number of
//! blocks, and the node's mempool and resident memory stay under stated bounds. The updates
//! reach the mempool's byte bound long before its count bound, so the byte bound is what holds
//! the pool (read from `mempool_bytes` in `/v1/status`). The chain asks work stamps (a test
//! genesis with small nonzero bits), so stamps and the node's pressure policy are exercised.

use std::time::Duration;

use sigil_core::limits::{
    MAX_BLOCK_BYTES, MAX_MEMPOOL_BYTES, MAX_MEMPOOL_TXS, MAX_TX_BYTES, MAX_TXS_PER_BLOCK,
};
use sigil_core::tx::{Op, Transaction, WorkParams};
use sigil_core::types::{Hash, Keypair};
use sigil_tests::flood::{FloodPlan, chain, honest_under_flood};
use sigil_tests::{Node, api_post, ok};

/// The work the test chain asks: small, so the test stays quick, but not zero.
const WORK: WorkParams = WorkParams {
    create_bits: 8,
    update_bits: 4,
};
const FLOOD_KEYS: usize = 1_000;
/// Name owners flooding 8 KiB updates: with their per-signer bound (2 MiB pending each) they
/// can fill the count bound of the mempool with over 160 MiB, five times its byte bound.
const FLOOD_OWNERS: usize = 100;
const FLOOD_THREADS: usize = 3;
/// Flood transactions admitted before the honest user starts...
const FLOOD_BEFORE: u64 = 3_000;
/// ...and bytes pending then: half the byte bound, where the node comes under pressure (asks
/// more work). Past it, a debug flooder on the loaded test machine gains little on the blocks.
const FLOOD_POOL_BYTES: u64 = MAX_MEMPOOL_BYTES as u64 / 2;
/// Time between blocks: long enough that the flood outruns what blocks take out of the pool
/// (4 MiB a block) on a loaded machine: without the byte bound a debug flooder filled it to
/// 88 MiB.
const BLOCK_INTERVAL_MS: u64 = 10_000;
/// Blocks a development chain waits between a commit and its reveal.
const REVEAL_MIN_BLOCKS: u64 = 2;
/// Blocks it takes to empty a full mempool: by count, or by bytes (a block is cut short by
/// at most one transaction), whichever is more.
const FULL_POOL_BLOCKS: u64 = {
    let by_count = (MAX_MEMPOOL_TXS as u64).div_ceil(MAX_TXS_PER_BLOCK as u64);
    let by_bytes = (MAX_MEMPOOL_BYTES as u64).div_ceil((MAX_BLOCK_BYTES - MAX_TX_BYTES) as u64);
    if by_count > by_bytes {
        by_count
    } else {
        by_bytes
    }
};
/// Blocks an honest registration may take under the flood: its commit and its reveal each
/// wait at most behind a full mempool, plus the reveal delay and a few blocks of restamping.
const MAX_BLOCKS: u64 = 2 * FULL_POOL_BLOCKS + REVEAL_MIN_BLOCKS + 8;
/// The node's resident memory bound under the flood. The mempool holds at most 32 MiB of
/// transactions (asserted on its own below), blocks are at most 4 MiB and the store's cache
/// 64 MiB. A debug node on redb (the default store) peaked at 223 MiB here; on sled, whose
/// memory grows far past its cache setting (832 MiB against redb's 204 MiB in the ledger
/// bench), at 710 MiB.
const MAX_RSS_BYTES: u64 = 512 * 1024 * 1024;
/// Longest wait for the flood to get going.
const FLOOD_START_TIMEOUT: Duration = Duration::from_secs(300);

#[test]
fn an_honest_registration_goes_final_under_a_flood_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    chain(&data, WORK, BLOCK_INTERVAL_MS);
    let node = Node::start(&data, &[]);
    let keys = dir.path().join("keys");
    ok(node.sigil(&keys, &["key", "new", "honest"]));

    // The chain asks work: a transaction without enough is refused with what it needs.
    let key = Keypair::generate();
    let mut tx = Transaction {
        chain_id: node.chain_id.clone(),
        signer: key.public(),
        nonce: 0,
        stamp: 0,
        op: Op::NameCommit {
            commitment: Hash::ZERO,
        },
    };
    while tx.work_bits() >= WORK.create_bits {
        tx.stamp += 1;
    }
    let (status, answer) = api_post(
        &node.api,
        "/v1/txs",
        &serde_json::json!({ "tx": hex::encode(tx.sign(&key).to_bytes()) }),
    );
    assert!(status.contains("400"), "{status}: {answer}");
    assert_eq!(answer["error"]["code"], "insufficient_work", "{answer}");
    assert_eq!(
        answer["error"]["required_bits"], WORK.create_bits,
        "{answer}"
    );

    let plan = FloodPlan {
        work: WORK,
        keys: FLOOD_KEYS,
        owners: FLOOD_OWNERS,
        threads: FLOOD_THREADS,
        before: FLOOD_BEFORE,
        pool_bytes: FLOOD_POOL_BYTES,
        timeout: FLOOD_START_TIMEOUT,
    };
    let report = honest_under_flood(&node, &keys, plan);
    println!("{report}");
    let pool = &report.rechecks;
    assert!(
        pool.peak_pool_bytes <= MAX_MEMPOOL_BYTES as u64,
        "the node's mempool reached {} bytes ({} transactions) under the flood (bound {MAX_MEMPOOL_BYTES})",
        pool.peak_pool_bytes,
        pool.peak_pool_txs
    );
    assert!(
        report.flood_blocks <= MAX_BLOCKS,
        "the honest registration took {} blocks under the flood (bound {MAX_BLOCKS})",
        report.flood_blocks
    );
    assert!(
        report.peak_rss <= MAX_RSS_BYTES,
        "the node's resident memory reached {} MiB under the flood (bound {} MiB)",
        report.peak_rss / (1024 * 1024),
        MAX_RSS_BYTES / (1024 * 1024)
    );
}

/// Transactions the small mempool of [`a_full_mempool_asks_more_work_and_evicts_the_least`]
/// holds.
const SMALL_MEMPOOL_TXS: usize = 8;

/// A commitment by `key` (at nonce 0) with a stamp of at least `bits`, and at most `most`.
fn stamped_commit(
    chain_id: &str,
    key: &Keypair,
    n: u8,
    bits: u32,
    most: u32,
) -> (Transaction, String) {
    let mut tx = Transaction {
        chain_id: chain_id.to_string(),
        signer: key.public(),
        nonce: 0,
        stamp: 0,
        op: Op::NameCommit {
            commitment: Hash([n; 32]),
        },
    };
    while !(tx.find_stamp(bits, |_| true) && tx.work_bits() <= most) {
        tx.stamp += 1;
    }
    let hex = hex::encode(tx.clone().sign(key).to_bytes());
    (tx, hex)
}

#[test]
fn a_full_mempool_asks_more_work_and_evicts_the_least() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    // No block during the test (one interval is ten minutes), so what is admitted stays.
    chain(&data, WORK, 600_000);
    let config = dir.path().join("sigil.toml");
    std::fs::write(
        &config,
        format!("[mempool]\nmax_txs = {SMALL_MEMPOOL_TXS}\n"),
    )
    .unwrap();
    let node = Node::start(&data, &["--config", config.to_str().unwrap()]);
    // The first block comes at start; the next not before the test ends.
    sigil_tests::api_get(&node.api, "/v1/blocks/1?wait_ms=30000");
    let submit = |hex: &str| api_post(&node.api, "/v1/txs", &serde_json::json!({ "tx": hex }));
    let status_of =
        |id: &str| sigil_tests::api_get(&node.api, &format!("/v1/txs/{id}"))["status"].clone();

    // Fill it from several keys, each with the least work the node asks at that moment: the
    // chain's bits, then more as the pool fills (the answer says how many).
    let mut admitted: Vec<(String, u32)> = Vec::new();
    let mut asked_more = 0;
    for n in 0..SMALL_MEMPOOL_TXS as u8 {
        let key = Keypair::generate();
        let mut bits = WORK.create_bits;
        loop {
            let (tx, hex) = stamped_commit(&node.chain_id, &key, n, bits, u32::MAX);
            let (status, answer) = submit(&hex);
            if status.contains("202") {
                admitted.push((answer["id"].as_str().unwrap().to_string(), tx.work_bits()));
                break;
            }
            assert!(status.contains("503"), "{status}: {answer}");
            assert_eq!(answer["error"]["code"], "more_work", "{answer}");
            let required = answer["error"]["required_bits"]
                .as_u64()
                .expect("required_bits") as u32;
            assert!(required > tx.work_bits(), "{answer}");
            bits = required;
            asked_more += 1;
        }
    }
    assert!(asked_more > 0, "the filling pool never asked more work");
    for (id, _) in &admitted {
        assert_eq!(status_of(id), "pending");
    }

    // Full: a transaction with no more work than the least pending is refused, with the
    // bits that would get it in.
    let least = admitted.iter().map(|(_, w)| *w).min().unwrap();
    let key = Keypair::generate();
    let (tx, hex) = stamped_commit(&node.chain_id, &key, 0xee, WORK.create_bits, least);
    assert!(tx.work_bits() <= least);
    let (status, answer) = submit(&hex);
    assert!(status.contains("503"), "{status}: {answer}");
    assert_eq!(answer["error"]["code"], "more_work", "{answer}");
    let required = answer["error"]["required_bits"]
        .as_u64()
        .expect("required_bits") as u32;
    assert!(required > least, "{answer}");

    // With that much work it gets in, and the least-work transaction (the newest of those with
    // the least) leaves the pool: its status says it was evicted, the others' is still pending.
    let (tx, hex) = stamped_commit(&node.chain_id, &key, 0xee, required, u32::MAX);
    let (status, answer) = submit(&hex);
    assert!(status.contains("202"), "{status}: {answer}");
    let newcomer = answer["id"].as_str().unwrap().to_string();
    assert!(tx.work_bits() >= required);
    let victim = admitted
        .iter()
        .rposition(|(_, w)| *w == least)
        .expect("a least-work transaction");
    for (i, (id, _)) in admitted.iter().enumerate() {
        let expected = if i == victim { "evicted" } else { "pending" };
        assert_eq!(status_of(id), expected, "transaction {i} of {admitted:?}");
    }
    assert_eq!(status_of(&newcomer), "pending");

    // Its sender reads why, and what to do, with `sigil tx status`; a pending one says so.
    let keys = dir.path().join("keys");
    let victim_id = &admitted[victim].0;
    let human = node.sigil(&keys, &["tx", "status", victim_id]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(1), "{text}");
    assert_eq!(
        text.trim(),
        format!("{victim_id}: evicted: the mempool was full; send it again")
    );
    let json = node.sigil(&keys, &["--json", "tx", "status", victim_id]);
    assert_eq!(json.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(json["id"], victim_id.as_str(), "{json}");
    assert_eq!(json["status"], "evicted", "{json}");
    assert_eq!(
        json["reason"], "the mempool was full; send it again",
        "{json}"
    );
    let pending = ok(node.sigil(&keys, &["tx", "status", &newcomer]));
    assert_eq!(pending.trim(), format!("{newcomer}: pending"));
}
