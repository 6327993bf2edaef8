//! Replication with real processes: four `sigild` validators on loopback, laid out like
//! `sigil localnet up`. A transaction sent to one node is final and answered over DNS on all;
//! blocks keep coming with one validator killed, stop (without a fork) with two, and resume
//! when they return; a validator killed at any point, including between voting and committing,
//! restarts from its write-ahead log and catches up without voting twice, and refuses to start
//! on a damaged one; a full node started late syncs every block and follows, even with its
//! clock 30 s behind;
//! validators vote a new validator in, and it decides blocks with them; partitions (2|2, 1|3)
//! stall the minority without a fork and heal; a validator signing twice is caught on record.

use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::links::Links;
use sigil_tests::metrics::{scrape, value};
use sigil_tests::network::Network;
use sigil_tests::{api_get, ok, ok_json, sigil};

/// Generous bound for a few block times on a loaded 2-core machine.
const BLOCKS: Duration = Duration::from_secs(60);

#[test]
fn a_name_registered_on_one_node_is_final_and_answered_on_every_node() {
    let net = Network::start(4);
    let keys = net.dir.path().join("keys");
    ok(sigil(&net.node(0).api, &keys, &["key", "new", "alice"]));
    // Sent to node 2; its commit and reveal reach the proposers by gossip.
    ok(sigil(
        &net.node(1).api,
        &keys,
        &["name", "register", "replicated.sigil", "--a", "192.0.2.61"],
    ));
    let height = net.height(1);
    for i in 0..4 {
        net.wait_block(i, height, BLOCKS);
        for transport in [Transport::Udp, Transport::Tcp] {
            let answer = query(
                net.node(i).dns,
                "replicated.sigil.",
                RecordType::A,
                transport,
            );
            assert_eq!(
                answers(&answer),
                vec!["192.0.2.61"],
                "node {i} over {transport:?}"
            );
        }
    }
    // The proof from any node verifies against the validators' signatures.
    let proof = ok_json(sigil(
        &net.node(3).api,
        &keys,
        &["--json", "proof", "name", "replicated.sigil"],
    ));
    assert_eq!(proof["verified"], true, "{proof}");
    net.assert_one_chain(height);
}

#[test]
fn blocks_continue_without_one_validator_stop_without_two_and_resume() {
    let mut net = Network::start(4);
    net.wait_block(0, 2, BLOCKS);

    net.kill(3);
    let h = net.height(0);
    for i in 0..3 {
        net.wait_block(i, h + 3, BLOCKS);
    }

    // Two of four down: a third of the power is missing, so nothing can be final.
    net.kill(2);
    let stalled = net.height(0).max(net.height(1));
    assert!(
        net.try_wait_block(0, stalled + 2, Duration::from_secs(5))
            .is_none(),
        "a block became final with half the validators down"
    );
    // Rounds that cannot decide end in timeouts, which the metrics count.
    let samples = scrape(&net.node(0).api);
    assert!(
        value(&samples, "sigil_consensus_round_timeouts_total{}") >= 1.0,
        "{samples:?}"
    );
    assert!(
        value(&samples, "sigil_consensus_rounds_total{}")
            > value(&samples, "sigil_consensus_round_timeouts_total{}")
    );

    net.restart(2);
    net.restart(3);
    for i in 0..4 {
        net.wait_block(i, stalled + 3, BLOCKS);
    }
    net.assert_one_chain(stalled + 3);
}

#[test]
fn a_validator_killed_at_any_point_restarts_from_its_log_without_voting_twice() {
    // Nodes 1 and 3 keep their blocks in sled, 0 and 2 in redb (the default): one chain.
    let mut net = Network::layout(4);
    for i in [1, 3] {
        net.set_store(i, "sled");
    }
    for i in 0..4 {
        net.restart(i);
    }
    net.wait_block(0, 3, BLOCKS);
    net.kill(1);
    let behind = net.height(0);
    // The others move on well past where it stopped.
    net.wait_block(0, behind + 10, BLOCKS);
    net.restart(1);
    let target = net.height(0) + 2;
    net.wait_block(1, target, BLOCKS);

    // Between voting and committing: the engine has decided the block (this validator's
    // precommit is logged and sent) and the node dies before the block reaches its store;
    // then the same right after the store flush, before the engine hears of it, on each
    // engine (node 3 on sled, node 2 on redb): the flushed block is there after the restart.
    for (node, point, kept) in [
        (2, "before-commit", 1),
        (3, "after-commit", 0),
        (2, "after-commit", 0),
    ] {
        net.kill(node);
        let crash_height = net.height(0) + 3;
        let hook = format!("{point}:{crash_height}");
        net.restart_env(node, &[("SIGIL_CRASH_AT", &hook)]);
        let status = net.wait_exit(node, BLOCKS);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(6),
            "{hook}: the node should abort there, not {status}"
        );
        net.restart(node);
        // It restarts from its store (without the block, or with it), replays its log, and
        // catches up by block sync.
        assert_eq!(net.node(node).start_height, crash_height - kept, "{hook}");
        let target = net.height(0) + 2;
        net.wait_block(node, target, BLOCKS);
    }
    let tip = net.height(0);
    net.assert_one_chain(tip);
    // Nobody saw any validator vote two ways.
    for i in 0..4 {
        let evidence = sigil_tests::api_get(&net.node(i).api, "/v1/evidence");
        assert_eq!(evidence, serde_json::json!([]), "node {i}");
    }
}

/// Stops a CLI-started network even when the test fails.
struct Down(std::path::PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let dir = self.0.to_str().unwrap().to_string();
        let _ = sigil(
            "http://127.0.0.1:1",
            &self.0,
            &["localnet", "down", "--dir", &dir],
        );
    }
}

#[test]
fn localnet_up_status_and_down_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("localnet");
    let dir_arg = dir.to_str().unwrap().to_string();
    // Ports for four validators and, after theirs, the full node added below.
    let base = sigil_tests::network::reserve_ports(5).to_string();
    let keys = tmp.path().join("keys");
    let _down = Down(dir.clone());
    let cli = |args: &[&str]| sigil("http://127.0.0.1:1", &keys, args);

    let up = ok_json(cli(&[
        "--json",
        "localnet",
        "up",
        "--dir",
        &dir_arg,
        "--validators",
        "4",
        "--base-port",
        &base,
    ]));
    let nodes = up.as_array().expect("one entry per node");
    assert_eq!(nodes.len(), 4, "{up}");
    for node in nodes {
        assert!(node["status"].is_object(), "{node}");
        assert!(node["dns"].is_string() && node["api"].is_string(), "{node}");
    }
    // Blocks are being finalized by the four processes.
    let api = format!("http://{}", nodes[3]["api"].as_str().unwrap());
    let block = sigil_tests::api_get(&api, "/v1/blocks/3?wait_ms=60000");
    assert_eq!(block["block"]["header"]["height"], 3);

    // A full node joins: laid out on the next ports, started, synced, listed.
    let added = ok_json(cli(&["--json", "localnet", "add-node", "--dir", &dir_arg]));
    let nodes = added.as_array().expect("one entry per node");
    assert_eq!(nodes.len(), 5, "{added}");
    let full = &nodes[4];
    assert_eq!(full["name"], "full1", "{full}");
    assert!(full["validator"].is_null(), "{full}");
    let full_api = format!("http://{}", full["api"].as_str().unwrap());
    let synced = sigil_tests::api_get(&full_api, "/v1/blocks/3?wait_ms=60000");
    assert_eq!(synced["block"]["header"], block["block"]["header"]);

    let status = ok_json(cli(&["--json", "localnet", "status", "--dir", &dir_arg]));
    assert_eq!(status.as_array().unwrap().len(), 5);
    for node in status.as_array().unwrap() {
        assert_eq!(
            node["status"]["validators"]["validators"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
        assert!(
            node["status"]["network"]["consensus_listen"].is_string(),
            "{node}"
        );
    }
    // `up` again starts nothing new and reports the same network.
    let again = ok_json(cli(&["--json", "localnet", "up", "--dir", &dir_arg]));
    assert_eq!(again.as_array().unwrap().len(), 5);

    let down = ok_json(cli(&["--json", "localnet", "down", "--dir", &dir_arg]));
    assert_eq!(down.as_array().unwrap().len(), 5, "{down}");
    let after = cli(&["localnet", "status", "--dir", &dir_arg]);
    assert_eq!(after.status.code(), Some(1), "status of a stopped network");
    assert!(String::from_utf8_lossy(&after.stdout).contains("down"));
}

#[test]
fn a_full_node_started_late_syncs_every_block_and_answers_dns_even_with_its_clock_behind() {
    let mut net = Network::start(4);
    let keys = net.dir.path().join("keys");
    ok(sigil(&net.node(0).api, &keys, &["key", "new", "alice"]));
    ok(sigil(
        &net.node(2).api,
        &keys,
        &["name", "register", "follower.sigil", "--a", "192.0.2.71"],
    ));
    let registered = net.height(2);
    net.wait_block(0, registered + 5, BLOCKS);

    // No validator key: it follows the validators, each block synced with its commit.
    let full = net.start_full_node();
    assert_eq!(net.manifest.nodes[full].validator, None);
    let target = net.height(0);
    net.wait_block(full, target, BLOCKS);
    net.assert_one_chain(target);
    for transport in [Transport::Udp, Transport::Tcp] {
        let answer = query(
            net.node(full).dns,
            "follower.sigil.",
            RecordType::A,
            transport,
        );
        assert_eq!(answers(&answer), vec!["192.0.2.71"], "over {transport:?}");
    }
    // Its proofs carry the validators' signatures.
    let proof = ok_json(sigil(
        &net.node(full).api,
        &keys,
        &["--json", "proof", "name", "follower.sigil"],
    ));
    assert_eq!(proof["verified"], true, "{proof}");

    // And it keeps following the tip.
    let later = net.height(0) + 3;
    let ours = net.wait_block(full, later, BLOCKS);
    let theirs = net.wait_block(0, later, BLOCKS);
    assert_eq!(ours["block"]["header"], theirs["block"]["header"]);
    // Its metrics show the blocks it synced and the peers it has.
    let samples = scrape(&net.node(full).api);
    assert!(
        value(&samples, "sigil_sync_blocks_total{}") >= 1.0,
        "{samples:?}"
    );
    assert!(
        value(&samples, "sigil_blocks_final_total{}") >= target as f64,
        "{samples:?}"
    );
    // Its sync progress: the validators announce their tips; caught up, it is 0 blocks behind
    // the best of them (polled: a tip announced may be a block before or after its own).
    let deadline = Instant::now() + BLOCKS;
    loop {
        let samples = scrape(&net.node(full).api);
        let best = value(&samples, "sigil_sync_peer_best_height{}");
        let own = value(&samples, "sigil_height{}");
        if best >= own && value(&samples, "sigil_sync_blocks_behind{}") == 0.0 {
            assert!(best >= later as f64, "{samples:?}");
            break;
        }
        assert!(Instant::now() < deadline, "never caught up: {samples:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = api_get(&net.node(full).api, "/v1/status");
    assert!(
        status["sync"]["peer_best_height"].as_u64() >= Some(later),
        "{status}"
    );
    assert!(status["sync"]["blocks_behind"].is_u64(), "{status}");
    let human = ok(sigil(&net.node(full).api, &keys, &["chain", "status"]));
    assert!(
        human.contains("behind the best tip a peer announced"),
        "{human}"
    );

    // A full node whose clock is 30 s behind (far past the drift a proposal may have) still
    // follows: a decided block comes with its certificate, and the validators that decided it
    // judged its time. It used to refuse every block as ahead of its clock, forever.
    let lib = sigil_tests::clock::libfaketime()
        .expect("libfaketime, to set a node's clock off (apt-get install faketime)");
    let late = net.layout_node_with_key(None);
    let env = sigil_tests::clock::offset_env(&lib, -30_000);
    net.restart_env(late, &env.each_ref().map(|(k, v)| (*k, v.as_str())));
    let target = net.height(0) + 2;
    let ours = net.wait_block(late, target, BLOCKS);
    let theirs = net.wait_block(0, target, BLOCKS);
    assert_eq!(ours["block"]["header"], theirs["block"]["header"]);
}

#[test]
fn a_damaged_write_ahead_log_stops_the_validator_with_a_clear_error() {
    let mut net = Network::start(4);
    net.wait_block(0, 3, BLOCKS);
    net.kill(1);
    let wal = net.manifest.nodes[1].dir.join("consensus").join("wal");
    let original = std::fs::read(&wal).expect("the validator has a write-ahead log");
    let expect_refusal = |what: &str| {
        let started = std::time::Instant::now();
        let (status, stderr) = net.run_to_exit(1, Duration::from_secs(60));
        assert!(!status.success(), "{what}: sigild started on it: {stderr}");
        assert!(
            stderr.contains(&wal.display().to_string()) && stderr.contains("move it aside"),
            "{what}: the error names neither the file nor the remedy: {stderr}"
        );
        eprintln!("{what}: refused in {:?}", started.elapsed());
    };

    // An entry whose checksum does not match its data (after the 12-byte header).
    let mut corrupt = if original.len() >= 12 {
        original[..12].to_vec()
    } else {
        [1u32.to_be_bytes().as_slice(), &0u64.to_be_bytes()].concat()
    };
    corrupt.push(0); // not compressed
    corrupt.extend_from_slice(&4u64.to_be_bytes());
    corrupt.extend_from_slice(&0xdead_beef_u32.to_be_bytes());
    corrupt.extend_from_slice(b"junk");
    std::fs::write(&wal, &corrupt).unwrap();
    expect_refusal("corrupted entry");

    // Doing what the message says brings it back: it rejoins from its stored blocks.
    std::fs::rename(&wal, wal.with_extension("damaged")).unwrap();
    net.restart(1);
    let target = net.height(0) + 2;
    net.wait_block(1, target, BLOCKS);

    // A log cut inside its 12-byte header holds no entry (its creation was cut off): the node
    // moves it aside itself and starts on a fresh log, with no operator.
    net.kill(1);
    let log = std::fs::read(&wal).expect("the restarted validator has a log");
    std::fs::write(&wal, &log[..6]).unwrap();
    net.restart(1);
    assert_eq!(
        std::fs::read(wal.with_extension("torn")).expect("the torn log set aside"),
        &log[..6]
    );
    let target = net.height(0) + 2;
    net.wait_block(1, target, BLOCKS);
    net.assert_one_chain(target);
}

#[test]
fn validators_vote_a_new_validator_in_and_it_decides_blocks_with_them() {
    let mut net = Network::start(4);
    let keys = net.dir.path().join("keys");
    // A fifth node with its own validator key, following the chain as a full node for now.
    let newcomer = sigil_core::types::Keypair::generate();
    let fifth = net.start_node_with_key(Some(&newcomer));
    let newcomer_hex = newcomer.public().to_string();
    let validator_pem = |i: usize| {
        net.manifest.nodes[i]
            .dir
            .join("validator.pem")
            .to_string_lossy()
            .into_owned()
    };
    let vote = |i: usize| {
        ok_json(sigil(
            &net.node(i).api,
            &keys,
            &[
                "--json",
                "--key",
                &validator_pem(i),
                "validators",
                "propose-add",
                &newcomer_hex,
            ],
        ))
    };
    // First contact: the CLI pins the four validators of genesis.
    net.wait_block(0, 1, BLOCKS);
    let before = ok_json(sigil(
        &net.node(0).api,
        &keys,
        &["--json", "proof", "name", "nobody.sigil"],
    ));
    assert_eq!(before["verified"], true, "{before}");
    // Two of four votes are half the power: recorded, not applied.
    for i in 0..2 {
        let voted = vote(i);
        assert_eq!(voted["applied"], false, "{voted}");
    }
    let listed = ok_json(sigil(
        &net.node(3).api,
        &keys,
        &["--json", "validators", "list"],
    ));
    assert_eq!(listed["pending"].as_array().unwrap().len(), 1, "{listed}");
    // The third vote passes two thirds: the newcomer is a validator from the next block.
    let voted = vote(2);
    assert_eq!(voted["applied"], true, "{voted}");
    let changed_at = voted["height"].as_u64().unwrap();
    let listed = ok_json(sigil(
        &net.node(fifth).api,
        &keys,
        &["--json", "validators", "list"],
    ));
    assert_eq!(
        listed["validators"]["validators"].as_array().unwrap().len(),
        5,
        "{listed}"
    );
    // The change, read from the paged list of changes; the status names only its height.
    let changes = listed["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{listed}");
    assert_eq!(changes[0]["height"], changed_at, "{listed}");
    let status = sigil_tests::api_get(&net.node(fifth).api, "/v1/status");
    assert_eq!(status["last_validator_change"], changed_at, "{status}");
    assert!(status.get("validator_changes").is_none(), "{status}");

    // With one of the first four stopped, blocks are final only if the newcomer signs them:
    // four of five is more than two thirds, three of five is not.
    net.kill(3);
    let tip = net.height(0).max(changed_at + 1);
    let block = net.wait_block(0, tip + 3, BLOCKS);
    let signers: Vec<&str> = block["commit"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["validator"].as_str().unwrap())
        .collect();
    assert!(signers.contains(&newcomer_hex.as_str()), "{block}");
    // The CLI's pinned set (first contact before the change) follows the handoff.
    let proof = ok_json(sigil(
        &net.node(fifth).api,
        &keys,
        &["--json", "proof", "name", "nobody.sigil"],
    ));
    assert_eq!(proof["verified"], true, "{proof}");
    net.assert_one_chain(tip + 3);
}

#[test]
fn partitions_stop_the_minority_never_fork_and_heal() {
    let mut net = Network::layout(4);
    let links = Links::between(&net);
    for i in 0..4 {
        net.restart(i);
    }
    net.wait_block(0, 2, BLOCKS);

    // 2 | 2: neither side has more than two thirds; no block is final anywhere.
    links.partition(&[0, 1], &[2, 3]);
    let stalled = (0..4).map(|i| net.height(i)).max().unwrap();
    for i in 0..4 {
        assert!(
            net.try_wait_block(i, stalled + 2, Duration::from_secs(8))
                .is_none(),
            "node {i} finalized a block across a 2|2 partition"
        );
    }
    // Healed: blocks are final again within a few block times, on one chain.
    links.heal();
    for i in 0..4 {
        net.wait_block(i, stalled + 3, BLOCKS);
    }
    net.assert_one_chain(stalled + 3);

    // 1 | 3: the three go on; the one alone does not.
    links.partition(&[0], &[1, 2, 3]);
    let alone = net.height(0);
    let majority = net.height(1);
    for i in 1..4 {
        net.wait_block(i, majority + 3, BLOCKS);
    }
    assert!(
        net.try_wait_block(0, alone + 2, Duration::from_millis(500))
            .is_none(),
        "the isolated validator finalized blocks alone"
    );
    // Healed: the one catches up with the blocks it missed, on the same chain.
    links.heal();
    net.wait_block(0, majority + 4, BLOCKS);
    net.assert_one_chain(majority + 4);
}

#[test]
fn a_validator_signing_twice_breaks_nothing_and_its_evidence_is_recorded() {
    let mut net = Network::start(4);
    // The fourth validator's key runs in a second process too (the classic double-signing
    // misconfiguration): when it proposes, the two propose different blocks and vote for them.
    let key = sigil_tools::devchain::load(&net.manifest.nodes[3].dir)
        .unwrap()
        .validator
        .unwrap();
    let twin = net.start_node_with_key(Some(&key));
    let byzantine = key.public().to_string();
    // The twin first catches up (it equivocates only once it votes at the tip), then the
    // key proposes every fourth height: within forty heights it has proposed twice over.
    let joined = net.height(0);
    net.wait_block(twin, joined, BLOCKS);
    let mut height = net.height(0);
    let caught = loop {
        let recorded: Vec<serde_json::Value> = (0..3)
            .flat_map(|i| {
                sigil_tests::api_get(&net.node(i).api, "/v1/evidence")
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        if let Some(e) = recorded.into_iter().next() {
            break e;
        }
        assert!(
            height < joined + 40,
            "no evidence of the double signer in 40 heights after it joined"
        );
        height += 1;
        net.wait_block(0, height, BLOCKS);
    };
    assert_eq!(caught["validator"], byzantine.as_str(), "{caught}");
    assert_ne!(caught["values"][0], caught["values"][1], "{caught}");
    // Safety held throughout: the three honest validators hold one chain.
    net.kill(twin);
    net.kill(3);
    let tip = net.height(0);
    net.assert_one_chain(tip);
}
