//! A proposer that goes silent after a polka, with real processes on loopback: four validators,
//! one (D) stopped so that the other three are exactly a quorum. At height `H` the round-0
//! proposer (A) runs with `SIGIL_WITHHOLD=precommit:H`: it proposes and prevotes, the three
//! prevotes make a polka (B and C lock on A's block and precommit it), and A goes silent before
//! its precommit, so round 0 cannot decide. Then D comes back with
//! `SIGIL_MISS_PROPOSAL=H:0`, so it never holds A's round-0 proposal (as if the network had lost
//! it; gossip would otherwise still serve it to D for a few heartbeats): round 0 ends without a
//! decision, the later rounds' proposers must re-propose the locked value (the engine's
//! `RestreamProposal`, signed by them, the header still naming A), and that block is decided
//! in a round > 0.

use std::time::{Duration, Instant};

use sigil_tests::api_get;
use sigil_tests::network::Network;

/// Generous bound for a few block times on a loaded 2-core machine.
const BLOCKS: Duration = Duration::from_secs(60);
/// The height A goes silent at: a few blocks in, so the three are deciding at their pace.
const H: u64 = 6;

#[test]
fn the_next_proposer_re_proposes_a_locked_value_and_it_is_decided_in_a_later_round() {
    let mut net = Network::layout(4);
    // Proposers take turns in the genesis order: round r of height h is validator (h + r) % 4.
    let genesis = sigil_tools::devchain::load(&net.manifest.nodes[0].dir)
        .unwrap()
        .genesis;
    let order: Vec<String> = genesis
        .validators
        .validators
        .iter()
        .map(|v| v.key.to_string())
        .collect();
    let node_of = |turn: u64| {
        let key = &order[(turn % 4) as usize];
        net.manifest
            .nodes
            .iter()
            .position(|n| n.validator.map(|k| k.to_string()).as_ref() == Some(key))
            .expect("every validator has a node")
    };
    let (a, b, c, d) = (node_of(H), node_of(H + 1), node_of(H + 2), node_of(H + 3));
    let a_key = order[(H % 4) as usize].clone();

    let hook = format!("precommit:{H}");
    net.restart_env(a, &[("SIGIL_WITHHOLD", &hook)]);
    net.restart(b);
    net.restart(c);
    let status = api_get(&net.node(b).api, "/v1/status");
    let served: Vec<&str> = status["validators"]["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        served, order,
        "the chain's validator order is the genesis's"
    );

    // The three decide every block up to H - 1, then stall at H: B holds A's proposal of
    // round 0, and without A's precommit (and D) nothing more happens, not even a timeout.
    net.wait_block(b, H - 1, BLOCKS);
    let proposal = wait_for_round_zero_proposal(&net, b, H);
    for i in [b, c] {
        let consensus = api_get(&net.node(i).api, "/v1/status")["consensus"].clone();
        assert_eq!(
            (consensus["height"].as_u64(), consensus["round"].as_u64()),
            (Some(H), Some(0)),
            "node {i} left round 0 of height {H} without A's precommit: {consensus}"
        );
    }

    // D is back: it syncs to H - 1 and joins the later rounds. It must not hold A's round-0
    // proposal (with it, B, C and D would decide round 0), which gossip may still serve it.
    let miss = format!("{H}:0");
    net.restart_env(d, &[("SIGIL_MISS_PROPOSAL", &miss)]);
    let block = net.wait_block(b, H, BLOCKS);
    let header = &block["block"]["header"];
    let commit = &block["commit"];
    assert_eq!(header["height"], H, "{block}");
    assert_eq!(
        header["proposer"], a_key,
        "the decided block is not the one A built and B and C locked on: {block}"
    );
    assert_eq!(
        commit["block_hash"], proposal,
        "the decided block is not round 0's proposal: {block}"
    );
    let round = commit["round"]
        .as_u64()
        .expect("the commit names its round");
    assert!(
        round > 0,
        "decided in round {round}, not a later one: {block}"
    );
    let signers: Vec<&str> = commit["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["validator"].as_str().unwrap())
        .collect();
    assert!(
        !signers.contains(&a_key.as_str()),
        "A withheld its precommit, yet signed the commit: {block}"
    );
    eprintln!("height {H}: A's block decided in round {round}, signed by {signers:?}");

    // The chain goes on, and A, restarted without the hook, catches up with it.
    for i in [b, c, d] {
        net.wait_block(i, H + 3, BLOCKS);
    }
    net.kill(a);
    net.restart(a);
    let target = net.height(b) + 2;
    net.wait_block(a, target, BLOCKS);
    net.assert_one_chain(target);
}

/// Waits until node `i`'s consensus holds the proposal of round 0 of `height`; its id.
fn wait_for_round_zero_proposal(net: &Network, i: usize, height: u64) -> String {
    let deadline = Instant::now() + BLOCKS;
    loop {
        let status = api_get(&net.node(i).api, "/v1/status");
        let consensus = &status["consensus"];
        if consensus["height"] == height
            && consensus["round"] == 0
            && let Some(id) = consensus["proposal"].as_str()
        {
            return id.to_string();
        }
        assert!(
            consensus["height"].as_u64() <= Some(height),
            "node {i} went past height {height}: {status}"
        );
        assert!(
            Instant::now() < deadline,
            "node {i} holds no proposal of round 0 of height {height} after {BLOCKS:?}: {status}"
        );
        // Asks again after a long-poll on the height's block (a quarter second, or at once
        // if the block came, which the next status shows).
        let _ = net.try_wait_block(i, height, Duration::from_millis(250));
    }
}
