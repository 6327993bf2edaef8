//! The fault campaign in brief: three rounds of seeded faults (the campaign binary, as a user
//! runs it) against four validators and a full node under load, with no fork, no lost final
//! transaction and progress after every heal.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The seed: its first three rounds draw a full disk on a validator, a crash hook between
/// voting and committing, and a 1|3 partition (`campaign --list --rounds 3 --seed 66`). Where
/// the test may mount a tmpfs (root), the full disk is one (ENOSPC): a node used to stall on
/// it, its consensus stopped and its API up, and never recover.
const SEED: &str = "66";
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
    assert!(summary.contains(" forks=0 lost=0 "), "{summary}");
    // The load got transactions of every kind final and the checks read them on every node.
    for kind in ["names", "certs", "shares"] {
        assert!(!summary.contains(&format!(" {kind}=0")), "{summary}");
    }
}
