//! The commands against an in-process node (memory store, fast blocks, HTTP API on loopback).

use std::path::Path;
use std::sync::Arc;

use clap::Parser;
use sigil_core::block::Genesis;
use sigil_core::read::NameReader;
use sigil_core::state::{ChainParams, NameEntry, Validator, ValidatorSet};
use sigil_core::types::Keypair;
use sigil_registry::ledger::Ledger;
use sigil_registry::node::Node;
use sigil_registry::store::MemStore;

use crate::args::Cli;
use crate::output::Exit;

/// A single-validator chain served on a background runtime for as long as it lives.
struct TestNode {
    url: String,
    ledger: Arc<Ledger>,
    _stop: tokio::sync::watch::Sender<bool>,
    _runtime: tokio::runtime::Runtime,
}

impl TestNode {
    fn start() -> TestNode {
        let validator = Keypair::generate();
        let genesis = Genesis {
            genesis_time_ms: 0,
            params: ChainParams {
                chain_id: "sigil-test".into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: 2,
                reveal_max_blocks: 100,
                name_ttl_blocks: 10_000,
                grace_blocks: 100,
                block_interval_ms: 50,
                work: Default::default(),
            },
            validators: ValidatorSet {
                validators: vec![Validator {
                    key: validator.public(),
                    power: 1,
                }],
            },
        };
        let ledger = Arc::new(Ledger::open(Arc::new(MemStore::default()), genesis, 1000).unwrap());
        let node = Node::new(ledger.clone(), validator).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        runtime.spawn(node.clone().run(stop_rx));
        runtime
            .spawn(async move { axum::serve(listener, sigil_registry::api::router(node)).await });
        TestNode {
            url,
            ledger,
            _stop: stop,
            _runtime: runtime,
        }
    }

    fn entry(&self, name: &str) -> Option<NameEntry> {
        self.ledger.name_entry(name).unwrap()
    }

    /// Runs `sigil` with this node and `keystore`; the exit status it would end with.
    fn sigil(&self, keystore: &Path, args: &[&str]) -> i32 {
        let mut argv = vec![
            "sigil",
            "--node",
            &self.url,
            "--keystore",
            keystore.to_str().unwrap(),
        ];
        argv.extend_from_slice(args);
        match crate::try_main(Cli::try_parse_from(argv).unwrap()) {
            Ok(exit) => exit.code(),
            Err(e) => {
                eprintln!("sigil {args:?}: {e:#}");
                2
            }
        }
    }
}

#[test]
fn every_command_against_a_node() {
    let node = TestNode::start();
    let dir = tempfile::tempdir().unwrap();
    let ks = dir.path().join("keys");
    let run = |args: &[&str]| node.sigil(&ks, args);

    assert_eq!(run(&["chain", "status"]), Exit::Ok.code());
    assert_eq!(run(&["name", "register", "a.sigil"]), 2, "no key yet");
    assert_eq!(run(&["key", "new", "alice"]), 0);
    assert_eq!(run(&["key", "new", "alice"]), 2, "never overwritten");

    assert_eq!(
        run(&[
            "name",
            "register",
            "a.sigil",
            "--a",
            "192.0.2.1",
            "--txt",
            "hello world"
        ]),
        0
    );
    let entry = node.entry("a.sigil").expect("registered");
    assert_eq!(entry.records.len(), 2);
    assert!(
        !ks.join("pending/a.sigil.json").exists(),
        "the pending salt is removed"
    );
    assert_eq!(run(&["name", "register", "a.sigil"]), 2, "already ours");
    assert_eq!(run(&["name", "show", "a.sigil"]), 0);
    assert_eq!(run(&["name", "show", "b.sigil"]), 1);

    assert_eq!(
        run(&[
            "name",
            "update",
            "a.sigil",
            "--set",
            "www A 192.0.2.2",
            "--delete",
            "@ A"
        ]),
        0
    );
    let records: Vec<String> = node
        .entry("a.sigil")
        .unwrap()
        .records
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        records,
        ["@ 300 TXT \"hello world\"", "www 300 A 192.0.2.2"]
    );
    // The TXT string with a space survived the round trip through the CLI.
    let sigil_core::records::Record { rdata, .. } = &node.entry("a.sigil").unwrap().records[0];
    assert_eq!(rdata[0] as usize, "hello world".len());

    assert_eq!(run(&["proof", "name", "a.sigil"]), 0);
    assert_eq!(
        run(&["proof", "name", "b.sigil"]),
        0,
        "absence is proven too"
    );
    let pin = std::fs::read_dir(ks.join("chains"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let pinned = std::fs::read_to_string(&pin).unwrap();
    std::fs::write(&pin, pinned.replace("\"power\": 1", "\"power\": 2")).unwrap();
    assert_eq!(
        run(&["proof", "name", "a.sigil"]),
        1,
        "a changed validator set does not verify"
    );
    std::fs::write(&pin, pinned).unwrap();

    let before = node.entry("a.sigil").unwrap().expires_at;
    assert_eq!(run(&["name", "renew", "a.sigil"]), 0);
    assert!(node.entry("a.sigil").unwrap().expires_at > before);
    assert_eq!(run(&["key", "new", "bob"]), 0);
    assert_eq!(
        run(&[
            "--key", "alice", "name", "transfer", "a.sigil", "--to", "bob"
        ]),
        0
    );
    let bob = crate::keystore::Keystore::new(Some(ks.clone()))
        .unwrap()
        .load("bob")
        .unwrap();
    assert_eq!(node.entry("a.sigil").unwrap().owner, bob.public());
    assert_eq!(
        run(&["--key", "alice", "name", "update", "a.sigil", "--clear"]),
        2,
        "not the owner"
    );
    assert_eq!(run(&["name", "history", "a.sigil"]), 0);

    let zone = dir.path().join("z.zone");
    std::fs::write(
        &zone,
        "$ORIGIN sigil.\n$TTL 300\n@ SOA ns1.sigil. admin.sigil. 1 3600 600 86400 300\n@ NS ns1.sigil.\n\
         ns1 A 127.0.0.1\nz1 A 10.0.0.1\nz1 TXT \"bench 1\"\n_443._tcp.z1 TLSA 3 1 1 \
         0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nz2 AAAA fd00::2\nz3 A 10.0.0.3\n",
    )
    .unwrap();
    assert_eq!(
        run(&[
            "--key",
            "alice",
            "name",
            "import",
            zone.to_str().unwrap(),
            "--batch",
            "2"
        ]),
        0
    );
    for name in ["z1.sigil", "z2.sigil", "z3.sigil"] {
        assert!(node.entry(name).is_some(), "{name} imported");
    }
    assert!(node.entry("ns1.sigil").is_none(), "glue is not a name");
    assert_eq!(
        run(&["--key", "alice", "name", "import", zone.to_str().unwrap()]),
        2,
        "taken names are failures"
    );
}
