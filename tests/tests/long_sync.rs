//! A node away for 10,000 blocks: a one-validator chain deciding blocks as fast as it can (so
//! the absence takes a minute, not hours) and a full node that follows it, is killed, misses
//! 10,000 blocks (one of them registering a name), comes back, syncs, and follows the tip.
//! Every block the returning node holds is then checked the way a client would: linked to its
//! parent and carrying a commit certificate signed by the validator set.
//!
//! Its own test binary, so the 10,000 blocks are not decided beside the other network tests.

use std::time::Duration;

use hickory_proto::rr::RecordType;
use sigil_core::block::Genesis;
use sigil_registry::ledger::StoredBlock;
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::network::Network;
use sigil_tests::{api_get, ok, sigil};

const AWAY_BLOCKS: u64 = 10_000;
/// Bound for deciding or syncing the 10,000 blocks (about a minute each on a 2-core machine).
const LONG: Duration = Duration::from_secs(900);
/// Bound for a few block times.
const BLOCKS: Duration = Duration::from_secs(60);

#[test]
fn a_node_away_for_ten_thousand_blocks_syncs_every_one_verified_then_follows() {
    let mut net = Network::layout_paced(1, Some(0));
    net.restart(0);
    let full = net.start_full_node();
    net.wait_block(full, 5, BLOCKS);
    let left = net.height(full);
    net.kill(full);

    // While it is away, a name is registered.
    let keys = net.dir.path().join("keys");
    ok(sigil(&net.node(0).api, &keys, &["key", "new", "alice"]));
    ok(sigil(
        &net.node(0).api,
        &keys,
        &["name", "register", "away.sigil", "--a", "192.0.2.44"],
    ));
    net.wait_block(0, left + AWAY_BLOCKS, LONG);

    // This test reads every block back through the API, far above a client's default rate.
    let config = net.manifest.nodes[full].dir.join("sigil.toml");
    let mut text = std::fs::read_to_string(&config).expect("the full node's sigil.toml");
    text.insert_str(0, "api_expensive_per_sec = 100000\n");
    std::fs::write(&config, text).expect("write sigil.toml");
    let back = std::time::Instant::now();
    net.restart(full);
    let missed = net.height(0) - net.node(full).start_height;
    assert!(missed >= AWAY_BLOCKS, "away for only {missed} blocks");
    // It catches up with where the chain was when it came back, then keeps up with blocks
    // decided after that.
    let caught_up = net.height(0);
    net.wait_block(full, caught_up, LONG);
    let took = back.elapsed().as_secs_f64();
    let synced = caught_up - net.node(full).start_height;
    let decided = net.height(0) - caught_up;
    println!(
        "synced {synced} blocks in {took:.1} s = {:.0} blocks/s (start included); the validator decided {decided} meanwhile = {:.0} blocks/s",
        synced as f64 / took,
        decided as f64 / took
    );
    let followed = net.height(0) + 20;
    net.wait_block(full, followed, BLOCKS);

    // Every block it holds, from genesis: linked to its parent, finalized by the validators.
    let genesis: Genesis = sigil_tools::devchain::load(&net.manifest.nodes[full].dir)
        .expect("the full node's genesis")
        .genesis;
    let block = |height: u64| -> StoredBlock {
        let json = api_get(&net.node(full).api, &format!("/v1/blocks/{height}"));
        serde_json::from_value(json).expect("a stored block")
    };
    let mut parent = block(0).block.header.hash();
    for height in 1..=followed {
        let stored = block(height);
        let header = &stored.block.header;
        assert_eq!(
            header.prev_hash, parent,
            "block {height} does not follow its parent"
        );
        stored
            .commit
            .as_ref()
            .unwrap_or_else(|| panic!("block {height} has no commit"))
            .verify(header, &genesis.validators)
            .unwrap_or_else(|e| panic!("block {height}: {e}"));
        parent = header.hash();
    }
    // The validator holds the same chain: the same tip, hence every block below it.
    let tip = |i: usize| api_get(&net.node(i).api, &format!("/v1/blocks/{followed}"));
    assert_eq!(tip(full)["block"]["header"], tip(0)["block"]["header"]);

    // The name registered while it was away resolves there.
    for transport in [Transport::Udp, Transport::Tcp] {
        let answer = query(net.node(full).dns, "away.sigil.", RecordType::A, transport);
        assert_eq!(answers(&answer), ["192.0.2.44"], "{transport:?}");
    }
}
