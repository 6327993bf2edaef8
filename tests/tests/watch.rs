//! `sigil watch` with real processes: a dev node, `sigil watch` as a child process on names, an
//! identity, a company (every holder it issues or revokes) and a holder; each change made
//! through the CLI is printed once, as a proven event (and given to `--exec` on its standard
//! input); a killed watch resumes without repeating or losing events; a lying node (in its
//! proofs, or in the register log that says which holders changed) makes it stop with an error,
//! never print a false event.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, DnType, KeyPair, date_time_ymd};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigil_tests::company::{self, Setup};
use sigil_tests::liar::{Liar, Mode};
use sigil_tests::{Node, api_get, binary, ok};

/// Heights a node keeps the state of, in the test of pruned heights.
const PRUNE_WINDOW: u64 = 10;

/// Longest wait for the events of one change, or for a watch to start or stop.
const WAIT: Duration = Duration::from_secs(60);

/// A running `sigil --json watch ...`, its events read line by line.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    fn start(api: &str, keys: &Path, args: &[&str]) -> Watch {
        Watch::start_with(api, keys, &["--json", "watch"], args)
    }

    /// `sigil GLOBAL... ARGS...`: `global` ends with `watch`.
    fn start_with(api: &str, keys: &Path, global: &[&str], args: &[&str]) -> Watch {
        let mut child = Command::new(binary("sigil"))
            .args(["--node", api, "--keystore"])
            .arg(keys)
            .args(global)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sigil watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// The next event, parsed; panics after `WAIT`.
    fn next(&self, waiting_for: &str) -> Value {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no event while waiting for {waiting_for}: {e}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Reads events until one of kind `event` about `subject`; returns all read.
    fn until(&self, event: &str, subject: &str) -> Vec<Value> {
        let mut read = Vec::new();
        loop {
            let e = self.next(&format!("{event} of {subject}"));
            assert!(e.get("error").is_none(), "the watch failed: {e}");
            let done = e["event"] == event && e["subject"] == subject;
            read.push(e);
            if done {
                return read;
            }
        }
    }

    fn kill(mut self) {
        self.child.kill().expect("kill sigil watch");
        self.child.wait().expect("reap sigil watch");
    }

    /// Waits for the watch to exit by itself; its exit code and what it printed.
    fn exit(mut self) -> (Option<i32>, Vec<String>) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll sigil watch") {
                break status;
            }
            assert!(Instant::now() < deadline, "the watch did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        // Its stdout is closed: every line it printed is in the channel, or on its way.
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(WAIT) {
            lines.push(line);
        }
        (status.code(), lines)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The watch's saved state: the last height it finished, once it has finished one.
fn saved_height(keys: &Path, chain_id: &str) -> Option<u64> {
    let text = std::fs::read_to_string(keys.join("watch").join(format!("{chain_id}.json"))).ok()?;
    let state: Value = serde_json::from_str(&text).expect("the state file is JSON");
    state["height"].as_u64()
}

/// Waits until the watch has saved a height at least `height`.
fn wait_saved(keys: &Path, chain_id: &str, height: u64) {
    let deadline = Instant::now() + WAIT;
    while saved_height(keys, chain_id).is_none_or(|h| h < height) {
        assert!(
            Instant::now() < deadline,
            "the watch never saved height {height}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tip(node: &Node) -> u64 {
    api_get(&node.api, "/v1/status")["tip"]["height"]
        .as_u64()
        .expect("tip height")
}

/// A certificate for `name`, self-signed, as a PEM file in `dir`; its SHA-256 in hex.
fn certificate(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2100, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, cert.pem()).unwrap();
    (path, hex::encode(Sha256::digest(cert.der())))
}

fn kinds(events: &[Value]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for e in events {
        let key = (
            e["event"].as_str().unwrap_or_default().to_string(),
            e["subject"].as_str().unwrap_or_default().to_string(),
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[test]
fn watch_prints_each_proven_change_once_resumes_after_a_kill_and_feeds_exec() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    company::create(
        sigil,
        &Setup {
            classes: &["common"],
            holders: &[("h-0001", "holder1"), ("h-0002", "holder2")],
            keys: &[
                "bob", "erin", "carol", "ca", "holder3", "holder4", "holder5",
            ],
        },
    );
    ok(sigil(&["--key", "carol", "name", "register", "soon.sigil"]));
    let bob = ok(sigil(&["key", "show", "bob"])).trim().to_string();
    let erin = ok(sigil(&["key", "show", "erin"])).trim().to_string();
    let ca = ok(sigil(&["key", "show", "ca"])).trim().to_string();

    // acme.sigil renewed now lies far beyond the warning; soon.sigil comes within it 20 blocks
    // from now.
    ok(sigil(&["--key", "owner", "name", "renew", "acme.sigil"]));
    let soon = api_get(&node.api, "/v1/names/soon.sigil");
    let expires_at = soon["expires_at"].as_u64().unwrap();
    let warning = (expires_at - tip(&node) - 20).to_string();
    let exec_file = dir.path().join("exec.jsonl");
    let exec = format!("cat >> '{}'", exec_file.display());
    let args = [
        "acme.sigil",
        "soon.sigil",
        "--identity",
        company::ADMIN,
        // By its name: the id is read from the proven listing.
        "--company",
        "acme.sigil",
        "--holder",
        "h-0001",
        "--expiry-warning-blocks",
        &warning,
        "--exec",
        &exec,
    ];
    let watch = Watch::start(&node.api, &keys, &args);
    // A second watch, of the company alone (its own keystore: one watch per keystore).
    let company_keys = dir.path().join("company-watch");
    let company_watch = Watch::start(&node.api, &company_keys, &["--company", "acme"]);
    // The first proven state is the baseline: changes count from there.
    wait_saved(&keys, &node.chain_id, 1);
    wait_saved(&company_keys, &node.chain_id, 1);

    // Holders issued and revoked: every one is reported, without --holder.
    let holder = |args: &[&str]| ok(sigil(&[&["holder"], args].concat()));
    holder(&[
        "issue",
        "acme.sigil",
        "--holder",
        "h-0003",
        "--key",
        "holder3",
    ]);
    holder(&[
        "issue",
        "acme.sigil",
        "--holder",
        "h-0004",
        "--key",
        "holder4",
    ]);
    holder(&[
        "revoke",
        "acme.sigil",
        "--holder",
        "h-0003",
        "--reason",
        "left the company",
    ]);
    let holders = company_watch.until("holder-revoked", "holder h-0003 of acme");
    let mut expected_holders: BTreeMap<(String, String), usize> = [
        ("holder-issued", "holder h-0003 of acme"),
        ("holder-issued", "holder h-0004 of acme"),
        ("holder-revoked", "holder h-0003 of acme"),
    ]
    .into_iter()
    .map(|(e, s)| ((e.to_string(), s.to_string()), 1))
    .collect();
    assert_eq!(kinds(&holders), expected_holders, "{holders:#?}");
    let holder4 = ok(sigil(&["key", "show", "holder4"])).trim().to_string();
    assert_eq!(holders[1]["details"]["key"], holder4, "{holders:#?}");
    assert_eq!(
        holders[2]["details"]["reason"], "left the company",
        "{holders:#?}"
    );
    let revoked_at = holders[2]["height"].as_u64().unwrap();
    wait_saved(&company_keys, &node.chain_id, revoked_at + 1);
    company_watch.kill();
    // A holder issued while the company's watch is down, then a node whose register log names
    // another holder than the one changed: the watch stops, and prints nothing.
    holder(&[
        "issue",
        "acme.sigil",
        "--holder",
        "h-0005",
        "--key",
        "holder5",
    ]);
    let issued_at = api_get(&node.api, "/v1/companies/acme/holders/h-0005")["issued_at"]
        .as_u64()
        .expect("the holder's issue height");
    let liar = Liar::start(&node.api, Mode::ForgedLog);
    let (code, lines) = Watch::start(&liar.api, &company_keys, &["--company", "acme"]).exit();
    assert_eq!(code, Some(1), "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let error: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(error["error"]["code"], "not_verified", "{error}");
    assert!(
        saved_height(&company_keys, &node.chain_id).is_some_and(|h| h < issued_at),
        "the watch moved past the forged log"
    );
    // The honest node's log gives it.
    let company_watch = Watch::start(&node.api, &company_keys, &["--company", "acme"]);
    let resumed = company_watch.until("holder-issued", "holder h-0005 of acme");
    assert_eq!(resumed.len(), 1, "{resumed:#?}");
    assert_eq!(resumed[0]["height"], issued_at, "{resumed:#?}");
    company_watch.kill();

    let as_owner = |args: &[&str]| sigil(&[&["--key", "owner"], args].concat());
    ok(as_owner(&[
        "name",
        "update",
        "acme.sigil",
        "--set",
        "www A 192.0.2.9",
    ]));
    ok(sigil(&["identity", "bind", company::ADMIN, "acme.sigil"]));
    let (pem, sha256) = certificate(dir.path(), "acme.sigil");
    let pem = pem.to_str().unwrap();
    ok(as_owner(&["cert", "register", "acme.sigil", "--cert", pem]));
    ok(as_owner(&[
        "cert",
        "revoke",
        "acme.sigil",
        "--cert",
        pem,
        "--reason",
        "superseded",
    ]));
    // A certificate registered by an authorized issuer, not the owner.
    ok(as_owner(&[
        "cert",
        "authorize",
        "acme.sigil",
        "--issuer",
        "ca",
    ]));
    let (issued, issued_sha256) = certificate(dir.path(), "www.acme.sigil");
    ok(sigil(&[
        "--key",
        "ca",
        "cert",
        "register",
        "acme.sigil",
        "--cert",
        issued.to_str().unwrap(),
    ]));
    ok(sigil(&[
        "shares",
        "issue",
        "acme.sigil",
        "--class",
        "common",
        "--to",
        "h-0001",
        "--amount",
        "1000",
    ]));
    ok(sigil(&[
        "shares",
        "transfer",
        "acme.sigil",
        "--class",
        "common",
        "--from",
        "h-0001",
        "--to",
        "h-0002",
        "--amount",
        "100",
    ]));
    ok(sigil(&[
        "identity",
        "rotate",
        company::ADMIN,
        "--online",
        "erin",
    ]));
    ok(as_owner(&["name", "transfer", "acme.sigil", "--to", "bob"]));

    let mut events = watch.until("identity-unbound", "acme.sigil");
    // The full watch saw the holders too (h-0001 is watched by --holder: its events are its
    // own, and none came).
    expected_holders.insert(
        (
            "holder-issued".to_string(),
            "holder h-0005 of acme".to_string(),
        ),
        1,
    );
    // The expiry warning comes by height, whatever the order of the changes; renewed, the
    // name is out of the warning.
    if !events.iter().any(|e| e["event"] == "expiry-approaching") {
        events.extend(watch.until("expiry-approaching", "soon.sigil"));
    }
    ok(sigil(&["--key", "carol", "name", "renew", "soon.sigil"]));
    events.extend(watch.until("name-renewed", "soon.sigil"));
    let expected: BTreeMap<(String, String), usize> = [
        ("records-changed", "acme.sigil"),
        ("identity-bound", "acme.sigil"),
        ("cert-revoked", "acme.sigil"),
        ("identity-key-rotated", "identity acme-admin"),
        ("name-renewed", "soon.sigil"),
        ("name-transferred", "acme.sigil"),
        ("identity-unbound", "acme.sigil"),
        ("expiry-approaching", "soon.sigil"),
    ]
    .into_iter()
    .map(|(e, s)| ((e.to_string(), s.to_string()), 1))
    .chain(expected_holders)
    .chain([
        (
            (
                "shares-moved".to_string(),
                "holder h-0001 of acme".to_string(),
            ),
            2,
        ),
        (("cert-registered".to_string(), "acme.sigil".to_string()), 2),
    ])
    .collect();
    assert_eq!(kinds(&events), expected, "{events:#?}");

    // What each event says, and that it is anchored in a signed block.
    let find = |kind: &str| {
        events
            .iter()
            .filter(|e| e["event"] == kind)
            .cloned()
            .collect::<Vec<_>>()
    };
    let records = &find("records-changed")[0];
    assert!(
        records["details"]["added"][0]
            .as_str()
            .unwrap()
            .contains("www.acme.sigil. 300 IN A 192.0.2.9"),
        "{records}"
    );
    assert_eq!(
        find("identity-bound")[0]["details"]["identity"],
        "acme-admin"
    );
    let registered = find("cert-registered");
    assert_eq!(registered[0]["details"]["cert_sha256"], sha256);
    assert_eq!(registered[0]["details"]["by_issuer"], false);
    assert_eq!(registered[1]["details"]["cert_sha256"], issued_sha256);
    assert_eq!(registered[1]["details"]["by_issuer"], true);
    assert_eq!(registered[1]["details"]["registered_by"], ca);
    assert_eq!(find("cert-revoked")[0]["details"]["reason"], "superseded");
    assert_eq!(
        find("identity-key-rotated")[0]["details"]["online_key"],
        erin
    );
    assert_eq!(find("name-transferred")[0]["details"]["to"], bob);
    let shares: Vec<i64> = find("shares-moved")
        .iter()
        .map(|e| e["details"]["change"].as_i64().unwrap())
        .collect();
    assert_eq!(shares, [1000, -100]);
    let warning = &find("expiry-approaching")[0];
    assert_eq!(warning["details"]["expires_at"], expires_at);
    assert_eq!(warning["details"]["estimated"], true);
    assert!(
        warning["summary"].as_str().unwrap().contains("UTC")
            && warning["summary"].as_str().unwrap().contains("estimate"),
        "{warning}"
    );
    for e in &events {
        assert!(e["height"].as_u64() > e["since"].as_u64(), "{e}");
        assert_eq!(e["block_hash"].as_str().unwrap().len(), 64, "{e}");
        assert!(e["signatures"].as_u64() >= Some(1), "{e}");
    }

    // Killed once everything is saved, then a change while it is down: the restarted watch
    // reports that change, and nothing twice.
    let last = events
        .iter()
        .filter_map(|e| e["height"].as_u64())
        .max()
        .unwrap();
    wait_saved(&keys, &node.chain_id, last + 1);
    watch.kill();
    let as_bob = |args: &[&str]| sigil(&[&["--key", "bob"], args].concat());
    ok(as_bob(&[
        "name",
        "update",
        "acme.sigil",
        "--set",
        "mail A 192.0.2.10",
    ]));
    let watch = Watch::start(&node.api, &keys, &args);
    let resumed = watch.until("records-changed", "acme.sigil");
    assert_eq!(resumed.len(), 1, "{resumed:#?}");
    assert!(
        resumed[0]["details"]["added"][0]
            .as_str()
            .unwrap()
            .contains("192.0.2.10"),
        "{resumed:#?}"
    );
    let seen = resumed[0]["height"].as_u64().unwrap();
    wait_saved(&keys, &node.chain_id, seen + 2);
    assert!(
        watch.lines.try_recv().is_err(),
        "the restarted watch printed more than the one change"
    );
    watch.kill();
    events.extend(resumed);

    // --exec took every event, in order, as JSON on its standard input.
    let given: Vec<Value> = std::fs::read_to_string(&exec_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(given, events);
}

#[test]
fn a_failing_exec_keeps_its_events_and_a_lying_node_stops_the_watch() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    // A node that keeps the state of the last 10 heights only.
    let node = Node::start(
        &dir.path().join("data"),
        &["--prune-window-blocks", &PRUNE_WINDOW.to_string()],
    );
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    ok(sigil(&["key", "new", "alice"]));
    ok(sigil(&["name", "register", "example.sigil"]));

    // The command fails until the file `ok` exists: its event waits, then comes once.
    let flag = dir.path().join("ok");
    let got = dir.path().join("got.jsonl");
    let exec = format!("test -e '{}' && cat >> '{}'", flag.display(), got.display());
    let args = [
        "example.sigil",
        "--exec",
        exec.as_str(),
        "--exec-timeout",
        "5",
    ];
    let watch = Watch::start(&node.api, &keys, &args);
    wait_saved(&keys, &node.chain_id, 1);
    ok(sigil(&[
        "name",
        "update",
        "example.sigil",
        "--set",
        "@ A 192.0.2.1",
    ]));
    let printed = watch.until("records-changed", "example.sigil");
    let at = printed[0]["height"].as_u64().unwrap();
    wait_saved(&keys, &node.chain_id, at + 1);
    assert!(!got.exists(), "the failing command wrote something");
    std::fs::write(&flag, "").unwrap();
    let deadline = Instant::now() + WAIT;
    // `cat` creates the file, then writes the line.
    while !std::fs::read_to_string(&got).is_ok_and(|t| t.ends_with('\n')) {
        assert!(
            Instant::now() < deadline,
            "the kept event was never given again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    watch.kill();
    let given: Vec<Value> = std::fs::read_to_string(&got)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(given, printed);

    // A change the watch has not seen yet, then nodes that lie about it: each stops the
    // watch with an error and prints no event; the state does not move.
    ok(sigil(&[
        "name",
        "update",
        "example.sigil",
        "--set",
        "@ A 192.0.2.2",
    ]));
    let before = saved_height(&keys, &node.chain_id);
    for mode in [Mode::ChangedValue, Mode::FalseAbsence, Mode::RogueProofs] {
        let liar = Liar::start(&node.api, mode);
        let (code, lines) = Watch::start(&liar.api, &keys, &["example.sigil"]).exit();
        assert_eq!(code, Some(1), "{mode:?}: {lines:?}");
        assert_eq!(lines.len(), 1, "{mode:?}: {lines:?}");
        let error: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(error["error"]["code"], "not_verified", "{mode:?}: {error}");
        assert_eq!(saved_height(&keys, &node.chain_id), before, "{mode:?}");
    }
    // The honest node then gives the change, proven, as a line for people; by then the heights
    // the watch missed are pruned, and it goes on from the tip.
    let deadline = Instant::now() + WAIT;
    while tip(&node) <= before.unwrap() + PRUNE_WINDOW + 2 {
        assert!(Instant::now() < deadline, "the chain does not move");
        std::thread::sleep(Duration::from_millis(100));
    }
    let watch = Watch::start_with(&node.api, &keys, &["watch"], &["example.sigil"]);
    let line = watch
        .lines
        .recv_timeout(WAIT)
        .expect("the change, once the node is honest");
    assert!(
        line.ends_with(
            ": example.sigil: records changed: + example.sigil. 300 IN A 192.0.2.2; - example.sigil. 300 IN A 192.0.2.1"
        ) && line.contains(" UTC height "),
        "{line}"
    );
    let seen: u64 = line
        .split(" height ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|h| h.parse().ok())
        .expect("the line names its height");
    wait_saved(&keys, &node.chain_id, seen + 1);
    watch.kill();

    // A node that replays old proofs: what it first relays is true, the replays are caught
    // (a proof of another height than the one asked), and nothing false is printed.
    ok(sigil(&[
        "name",
        "update",
        "example.sigil",
        "--set",
        "@ A 192.0.2.3",
    ]));
    let liar = Liar::start(&node.api, Mode::ReplayOld);
    let (code, lines) = Watch::start(&liar.api, &keys, &["example.sigil"]).exit();
    assert_eq!(code, Some(1), "{lines:?}");
    let (last, printed) = lines.split_last().expect("the error line");
    let error: Value = serde_json::from_str(last).unwrap();
    assert_eq!(error["error"]["code"], "not_verified", "{error}");
    for line in printed {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            event["details"]["added"][0], "example.sigil. 300 IN A 192.0.2.3",
            "{event}"
        );
    }
}
