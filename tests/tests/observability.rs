//! How an operator and a user see a node, through the real binaries: `/metrics` read with
//! Prometheus's own text parser (python3-prometheus-client) before and after DNS queries and
//! transactions, and the explorer at `/` driven in headless Chromium (python3-selenium with
//! Debian's chromium-driver; `.ci/run` installs them).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use sha2::{Digest, Sha256};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Keypair};
use sigil_tests::dns::{Transport, query};
use sigil_tests::metrics::{scrape, value};
use sigil_tests::{Node, api_get, company, ok, txs};

/// Debian's Python, which has the packages the tests need.
const PYTHON: &str = "/usr/bin/python3";

#[test]
fn metrics_move_with_dns_queries_and_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    ok(sigil(&["key", "new", "alice"]));
    let before = scrape(&node.api);
    assert!(value(&before, "sigil_store_bytes{}") > 0.0, "{before:?}");

    ok(sigil(&[
        "--key",
        "alice",
        "name",
        "register",
        "example.sigil",
        "--a",
        "192.0.2.7",
    ]));
    // A transaction signed for another chain is refused by the mempool.
    let op = Op::NameCommit {
        commitment: Hash::ZERO,
    };
    let (status, answer) = txs::submit(&node.api, "another-chain", &Keypair::generate(), op);
    assert!(status.contains("400"), "{status}: {answer}");
    assert_eq!(answer["error"]["code"], "wrong_chain", "{answer}");
    for _ in 0..3 {
        let a = query(node.dns, "example.sigil.", RecordType::A, Transport::Udp);
        assert_eq!(a.metadata.response_code, ResponseCode::NoError);
    }
    for _ in 0..2 {
        let none = query(node.dns, "missing.sigil.", RecordType::TXT, Transport::Tcp);
        assert_eq!(none.metadata.response_code, ResponseCode::NXDomain);
    }
    api_get(&node.api, "/v1/names/example.sigil/proof");
    let after = scrape(&node.api);

    let delta = |sample: &str| value(&after, sample) - value(&before, sample);
    assert_eq!(
        delta(r#"sigil_dns_queries_total{qtype="A",rcode="NOERROR"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"sigil_dns_queries_total{qtype="TXT",rcode="NXDOMAIN"}"#),
        2.0
    );
    assert_eq!(
        delta(r#"sigil_dns_response_duration_seconds_count{qtype="A"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"sigil_dns_response_duration_seconds_bucket{le="+Inf",qtype="TXT"}"#),
        2.0
    );
    assert!(delta(r#"sigil_dns_response_duration_seconds_sum{qtype="A"}"#) > 0.0);
    assert_eq!(delta(r#"sigil_proof_requests_total{kind="name"}"#), 1.0);
    assert_eq!(
        delta(r#"sigil_txs_refused_total{reason="wrong_chain"}"#),
        1.0
    );
    // The commit and the reveal of the registration, each final in a block.
    assert!(delta("sigil_txs_final_total{}") >= 2.0, "{after:?}");
    assert!(delta("sigil_blocks_final_total{}") >= 1.0);
    let height = api_get(&node.api, "/v1/status")["tip"]["height"]
        .as_u64()
        .unwrap();
    assert!(value(&after, "sigil_height{}") >= value(&before, "sigil_height{}") + 1.0);
    assert!(value(&after, "sigil_height{}") <= height as f64);
    assert!(value(&after, "sigil_tip_age_seconds{}") >= 0.0);
    assert_eq!(value(&after, "sigil_mempool_txs{}"), 0.0);
    assert_eq!(value(&after, "sigil_peers{}"), 0.0);
    assert!(after.contains_key("sigil_consensus_rounds_total{}"));
    // No label holds a name or a client address.
    assert!(
        after
            .keys()
            .all(|k| !k.contains("example") && !k.contains("127.0.0.1"))
    );
}

/// Where the test writes the explorer's screenshot when asked to (README, "Explorer").
fn screenshot_path() -> Option<PathBuf> {
    std::env::var_os("SIGIL_EXPLORER_SCREENSHOT").map(PathBuf::from)
}

#[test]
fn the_explorer_shows_names_companies_and_refusals_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    company::create(
        sigil,
        &company::Setup {
            classes: &["common"],
            holders: &[("h-0001", "h1")],
            keys: &["alice"],
        },
    );
    ok(sigil(&[
        "shares",
        "issue",
        company::NAME,
        "--class",
        "common",
        "--to",
        "h-0001",
        "--amount",
        "1000",
    ]));
    // A hostile TXT record: the page must show it as text, never as markup.
    let xss = "<img src=x onerror=window.sigilXss=1>";
    ok(sigil(&[
        "--key",
        "alice",
        "name",
        "register",
        "example.sigil",
        "--a",
        "192.0.2.7",
        "--txt",
        xss,
    ]));

    // A certificate for the name, to be found from its fingerprint alone.
    let cert = rcgen::generate_simple_self_signed(vec!["example.sigil".to_string()]).unwrap();
    let pem = dir.path().join("example.pem");
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    ok(sigil(&[
        "--key",
        "alice",
        "cert",
        "register",
        "example.sigil",
        "--cert",
        pem.to_str().unwrap(),
    ]));
    let fingerprint: String = Sha256::digest(cert.cert.der())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let head = response_head(&node.api, "/");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self';"),
        "{head}"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/explorer_browser.py");
    // Bounded: every wait in the script is, and so is the whole run.
    let mut run = Command::new("timeout");
    run.args(["300", PYTHON]).arg(&script).args([
        node.api.as_str(),
        "example.sigil",
        "192.0.2.7",
        xss,
        "acme",
        "h-0001",
        "nothere.sigil",
        company::ADMIN,
        &fingerprint,
    ]);
    if let Some(path) = screenshot_path() {
        run.arg(path);
    }
    let output = run
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'selenium'"),
        "apt-get install python3-selenium chromium chromium-driver"
    );
    assert!(
        output.status.success(),
        "the browser checks failed:\n{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
}

/// The status line and headers of `GET path`, lowercase.
fn response_head(api: &str, path: &str) -> String {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(api.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    head.to_lowercase()
}
