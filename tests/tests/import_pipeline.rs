//! `sigil name import` with several batches in flight against a node whose mempool holds
//! fewer transactions than one batch: the refused submissions are waited out and sent again,
//! every name ends up registered and answered over DNS, and a second run registers nothing.

use hickory_proto::rr::RecordType;
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::{Node, ok, ok_json};

/// The node's mempool bound: a third of one batch, so every batch's commits (and reveals)
/// are refused for a full mempool until blocks make room.
const MEMPOOL_TXS: usize = 40;
const BATCH: usize = 120;
const IN_FLIGHT: usize = 3;
/// Enough names for more batches than may be in flight at once.
const NAMES: usize = 480;

#[test]
fn a_pipelined_import_through_a_small_mempool_registers_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sigil.toml");
    std::fs::write(&config, format!("[mempool]\nmax_txs = {MEMPOOL_TXS}\n")).unwrap();
    let node = Node::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let keys = dir.path().join("keys");
    ok(node.sigil(&keys, &["key", "new", "importer"]));

    let address = |n: usize| format!("192.0.2.{}", n % 250 + 1);
    let mut zone = String::from("$ORIGIN sigil.\n$TTL 600\n");
    for n in 0..NAMES {
        zone.push_str(&format!("pipe{n} A {}\n", address(n)));
    }
    let file = dir.path().join("many.zone");
    std::fs::write(&file, zone).unwrap();
    let import = |args: &[&str]| {
        let mut all = vec!["--json", "name", "import", file.to_str().unwrap()];
        all.extend_from_slice(args);
        node.sigil(&keys, &all)
    };
    let (batch, in_flight) = (BATCH.to_string(), IN_FLIGHT.to_string());

    let report = ok_json(import(&["--batch", &batch, "--in-flight", &in_flight]));
    assert_eq!(report["names"], NAMES, "{report}");
    assert_eq!(report["registered"], NAMES, "{report}");
    assert_eq!(
        report["failed"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    for n in 0..NAMES {
        let answer = query(
            node.dns,
            &format!("pipe{n}.sigil."),
            RecordType::A,
            Transport::Udp,
        );
        assert_eq!(answers(&answer), vec![address(n)], "pipe{n}.sigil");
    }

    // Run again: nothing is registered twice, and each name says why.
    let again = import(&["--batch", &batch, "--in-flight", &in_flight]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["registered"], 0, "{again}");
    let failed = again["failed"].as_array().unwrap();
    assert_eq!(failed.len(), NAMES, "{again}");
    assert!(
        failed
            .iter()
            .all(|f| f["reason"].as_str().unwrap().contains("already registered")),
        "{again}"
    );
}
