//! The fault campaign in brief: three rounds of seeded faults (the campaign binary, as a user
//! runs it, one round a clock skewed to the ledger's bound) against four validators and a full
//! node under load, with no fork, no lost final transaction and progress after every heal. And the failure it found, on its own: a
//! validator whose disk fills stops with the error, and rejoins once restarted with room.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sigil_tests::disks::Disks;
use sigil_tests::network::Network;

/// The seed: its first three rounds draw a full disk on a validator, a crash hook between
/// voting and committing, and a validator's clock 5 s ahead, the most the ledger allows
/// (`campaign --list --rounds 3 --seed 1122`; where libfaketime is not installed no clock skew
/// is drawn, and the seed draws other faults). Where the test may mount a tmpfs (root), the
/// full disk is one (ENOSPC): a node used to stall on it, its consensus stopped and its API
/// up, and never recover.
const SEED: &str = "1122";
/// Bound for the whole run (setup, three rounds, the last checks).
const RUN: Duration = Duration::from_secs(600);

#[test]
fn three_seeded_fault_rounds_lose_nothing_and_never_fork() {
    // The binaries the campaign starts, built as this test run builds them.
    sigil_tests::binary("sigild");
    let mut child = Command::new(env!("CARGO_BIN_EXE_campaign"))
        .args(["--rounds", "3", "--seed", SEED])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the campaign");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            lines.push(line);
        }
        let _ = tx.send(lines);
    });
    let lines = match rx.recv_timeout(RUN) {
        Ok(lines) => lines,
        Err(_) => {
            let _ = child.kill();
            panic!("the campaign was still running after {RUN:?}");
        }
    };
    let status = child.wait().expect("reap the campaign");
    let summary = lines
        .iter()
        .find(|l| l.starts_with("campaign summary:"))
        .unwrap_or_else(|| panic!("no summary line in:\n{}", lines.join("\n")));
    assert!(status.success(), "{status}:\n{}", lines.join("\n"));
    assert!(summary.contains(" rounds=3 "), "{summary}");
    assert!(
        summary.contains(" forks=0 lost=0 double-votes=0 "),
        "{summary}"
    );
    if sigil_tests::clock::libfaketime().is_some() {
        assert!(
            summary.contains(" clock-skew=1] clock-skew-by=libfaketime "),
            "{summary}"
        );
    }
    // The load got transactions of every kind final and the checks read them on every node.
    for kind in ["names", "certs", "shares"] {
        assert!(!summary.contains(&format!(" {kind}=0")), "{summary}");
    }
}

/// Bound for a few block times on a loaded 2-core machine.
const BLOCKS: Duration = Duration::from_secs(60);

#[test]
fn a_validator_whose_disk_fills_stops_with_the_error_and_rejoins_with_room() {
    let mut net = Network::layout(4);
    let dirs: Vec<PathBuf> = net.manifest.nodes.iter().map(|n| n.dir.clone()).collect();
    let disks = Disks::mount(&dirs);
    if !disks.mounted() {
        // A full disk needs a file system of its own: a tmpfs, which only root may mount.
        eprintln!("not run: this process may not mount a tmpfs for the nodes' folders");
        return;
    }
    for i in 0..4 {
        net.restart(i);
    }
    net.wait_block(1, 3, BLOCKS);
    // No byte left: the next block it stores fails with ENOSPC. It used to keep running with
    // its consensus stopped, its API and DNS serving a chain it no longer extended.
    disks.fill(&dirs[1], 0).expect("shrink the tmpfs");
    let status = net.wait_exit(1, BLOCKS);
    assert_eq!(status.code(), Some(2), "{status}");
    // The others go on; with room again it resumes from its store and catches up.
    disks.free(&dirs[1]).expect("grow the tmpfs");
    net.restart(1);
    let target = net.height(0) + 2;
    net.wait_block(1, target, BLOCKS);
    net.assert_one_chain(target);
}
