//! A full node syncing a long chain is killed (abort, as `kill -9`) in the middle of a sync
//! group: it restarts at a consistent height and state root, at or above every height it had
//! reported final, syncs the blocks it lost again, and holds the validator's chain.

use std::io::{Read, Write};
use std::time::Duration;

use sigil_tests::network::Network;

/// Height from which the syncing node aborts inside a group (the chain is longer).
const CRASH_FROM: u64 = 600;
/// Blocks the validator decides before the full node starts syncing.
const CHAIN_BLOCKS: u64 = 800;
/// Bound for deciding or syncing the chain.
const LONG: Duration = Duration::from_secs(300);
/// Bound for a few block times.
const BLOCKS: Duration = Duration::from_secs(60);

/// `GET path` on `api`; `None` once the node no longer answers.
fn try_get(api: &str, path: &str) -> Option<serde_json::Value> {
    let addr = api.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(BLOCKS)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| serde_json::from_str(body).ok())
        .flatten()
}

#[test]
fn a_node_killed_inside_a_sync_group_restarts_consistent_and_finishes_syncing() {
    let mut net = Network::layout_paced(1, Some(0));
    net.restart(0);
    let full = net.start_full_node();
    net.wait_block(full, 3, BLOCKS);
    net.kill(full);
    net.wait_block(0, CHAIN_BLOCKS, LONG);

    let hook = format!("in-group:{CRASH_FROM}");
    net.restart_env(full, &[("SIGIL_CRASH_AT", &hook)]);
    // What clients see while it syncs, until it dies: the highest tip it reported final.
    let api = net.node(full).api.clone();
    let mut reported = 0;
    let deadline = std::time::Instant::now() + LONG;
    while let Some(status) = try_get(&api, "/v1/status") {
        assert!(
            std::time::Instant::now() < deadline,
            "{hook}: still running at height {reported}"
        );
        reported = reported.max(status["tip"]["height"].as_u64().expect("tip height"));
        // Returns once the next block is final (or the node is gone).
        let next = format!("/v1/blocks/{}?wait_ms=10000", reported + 1);
        if try_get(&api, &next).is_none() && try_get(&api, "/v1/status").is_none() {
            break;
        }
    }
    let status = net.wait_exit(full, LONG);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(6),
        "{hook}: the node should abort inside a group, not {status}"
    );

    // It opens its store (the tip's state root checked against the tree) at a block boundary
    // no lower than anything it reported final, and below the chain it was syncing.
    net.restart(full);
    let restarted = net.node(full).start_height;
    assert!(
        restarted >= reported,
        "reported {reported} final, restarted at {restarted}"
    );
    assert!(restarted < net.height(0), "restarted at {restarted}");

    // It syncs the rest, the lost group again, and holds the validator's blocks.
    let target = net.height(0);
    net.wait_block(full, target, LONG);
    for height in [restarted, restarted + 1, CRASH_FROM, target] {
        let header = |i: usize| net.wait_block(i, height, BLOCKS)["block"]["header"].clone();
        assert_eq!(header(full), header(0), "block {height}");
    }
}
