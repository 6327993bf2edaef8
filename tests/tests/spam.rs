//! Spam: while 1,000 fresh keys flood a `sigild --dev` node over HTTP as fast as they can
//! (stamped commitments and 15 KB junk that fails on the state), an honest
//! `sigil name register` still goes final within a bounded number of blocks, and the node's
//! resident memory stays under a stated bound. The chain asks work stamps (a test genesis
//! with small nonzero bits), so stamps and the node's pressure policy are exercised.

use std::time::Duration;

use sigil_core::limits::{MAX_MEMPOOL_TXS, MAX_TXS_PER_BLOCK};
use sigil_core::tx::{Op, Transaction, WorkParams};
use sigil_core::types::{Hash, Keypair};
use sigil_tests::flood::{chain, honest_under_flood};
use sigil_tests::{Node, api_post, ok};

/// The work the test chain asks: small, so the test stays quick, but not zero.
const WORK: WorkParams = WorkParams {
    create_bits: 8,
    update_bits: 4,
};
const FLOOD_KEYS: usize = 1_000;
const FLOOD_THREADS: usize = 3;
/// Flood transactions admitted before the honest user starts.
const FLOOD_BEFORE: u64 = 3_000;
/// Blocks a development chain waits between a commit and its reveal.
const REVEAL_MIN_BLOCKS: u64 = 2;
/// Blocks an honest registration may take under the flood: its commit and its reveal each
/// wait at most behind a full mempool, plus the reveal delay and a few blocks of restamping.
const MAX_BLOCKS: u64 =
    2 * (MAX_MEMPOOL_TXS as u64).div_ceil(MAX_TXS_PER_BLOCK as u64) + REVEAL_MIN_BLOCKS + 8;
/// The node's resident memory bound under the flood: the mempool's 32 MiB of transactions
/// and their pending state, blocks of at most 4 MiB in flight, the store's 64 MiB cache and
/// the process itself.
const MAX_RSS_BYTES: u64 = 512 * 1024 * 1024;
/// Longest wait for the flood to get going.
const FLOOD_START_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn an_honest_registration_goes_final_under_a_flood_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    chain(&data, WORK, 1000);
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

    let report = honest_under_flood(
        &node,
        &keys,
        WORK,
        FLOOD_KEYS,
        FLOOD_THREADS,
        FLOOD_BEFORE,
        FLOOD_START_TIMEOUT,
    );
    println!("{report}");
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
