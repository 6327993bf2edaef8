//! Spam benchmark with real processes: an honest `sigil name register` on an idle
//! `sigild --dev` node, then again while fresh keys flood the node over HTTP as fast as they
//! can (the flood of the `spam` test).
//!
//! `cargo bench -p sigil-tests --bench spam -- [KEYS] [THREADS] [CREATE_BITS] [UPDATE_BITS] [BLOCK_INTERVAL_MS] [OWNERS]`
//!
//! OWNERS (0 unless given) name owners flood 8 KiB updates besides the fresh keys, and the
//! honest user then starts once half the mempool's byte bound is pending.
//!
//! Prints the registration's blocks and seconds idle and under the flood, what the flood got
//! (admitted, asked for more work, refused) and the node's peak resident memory.

use std::time::Duration;

use sigil_core::limits::MAX_MEMPOOL_BYTES;
use sigil_core::tx::WorkParams;
use sigil_tests::flood::{FloodPlan, chain, honest_under_flood};
use sigil_tests::{Node, ok};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let keys = *args.first().unwrap_or(&1_000) as usize;
    let threads = *args.get(1).unwrap_or(&3) as usize;
    let work = WorkParams {
        create_bits: *args.get(2).unwrap_or(&8) as u32,
        update_bits: *args.get(3).unwrap_or(&4) as u32,
    };
    let interval_ms = *args.get(4).unwrap_or(&1_000);
    let owners = *args.get(5).unwrap_or(&0) as usize;

    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path().join("node");
    chain(&data, work, interval_ms);
    let node = Node::start(&data, &[]);
    let keystore = dir.path().join("keys");
    ok(node.sigil(&keystore, &["key", "new", "honest"]));
    let plan = FloodPlan {
        work,
        keys,
        owners,
        threads,
        before: 3_000,
        pool_bytes: if owners > 0 {
            MAX_MEMPOOL_BYTES as u64 / 2
        } else {
            0
        },
        timeout: Duration::from_secs(600),
    };
    let report = honest_under_flood(&node, &keystore, plan);
    println!(
        "{keys} flooding keys and {owners} name owners on {threads} threads, create_bits {}, update_bits {}, blocks every {interval_ms} ms",
        work.create_bits, work.update_bits
    );
    println!("{report}");
}
