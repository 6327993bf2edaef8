//! Data folders `sigild` cannot read: one written by an incompatible version is refused with a
//! message saying what to do and its own exit code, never a decode error.

use std::time::Duration;

use sigil_registry::ledger::STORE_FORMAT;
use sigil_registry::store::{self, Batch, Engine};
use sigil_tests::{Node, run_sigild_to_exit};

/// `sigild`'s exit code for a data folder written by an incompatible version.
const EXIT_INCOMPATIBLE_DATA: i32 = 3;

#[test]
fn sigild_refuses_a_data_folder_written_in_another_store_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    Node::start(dir.path(), &[]).kill();
    let db = sigil_tools::devchain::load(dir.path()).unwrap().db;
    let args = [
        "--dev".as_ref(),
        "--data".as_ref(),
        dir.path().as_os_str(),
        "--dns-listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--api-listen".as_ref(),
        "127.0.0.1:0".as_ref(),
    ];
    // As older versions left it (format 2; format 3, the state tree's earlier layout), then as
    // a newer one would.
    for found in [2, 3, STORE_FORMAT + 1] {
        {
            let store =
                store::open(Engine::default(), &db, 1 << 20).expect("open the node's store");
            let mut batch = Batch::default();
            batch.put(b"mFormat".to_vec(), found.to_be_bytes().to_vec());
            store.apply(batch).unwrap();
            store.flush().unwrap();
        }
        let (status, stderr) = run_sigild_to_exit(&args, Duration::from_secs(60));
        assert_eq!(status.code(), Some(EXIT_INCOMPATIBLE_DATA), "{stderr}");
        let expected = format!(
            "this data folder was written by an incompatible version of sigild (store format {found}, this sigild reads format {STORE_FORMAT})"
        );
        assert!(stderr.contains(&expected), "{stderr}");
        assert!(stderr.contains("--data folder"), "{stderr}");
        assert!(!stderr.contains("corrupt"), "{stderr}");
    }
}

#[test]
fn sigild_refuses_a_data_folder_created_by_the_other_store_engine() {
    for (engine, other) in [("redb", "sled"), ("sled", "redb")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = Node::start(dir.path(), &["--store", engine]);
        let api = node.api.clone();
        sigil_tests::api_get(&api, "/v1/blocks/2?wait_ms=30000");
        node.kill();
        let data = dir.path().as_os_str();
        let base = [
            "--data".as_ref(),
            data,
            "--dns-listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--api-listen".as_ref(),
            "127.0.0.1:0".as_ref(),
        ];
        // With the other engine, by flag and by config file: refused, saying which engine
        // created the folder and how to ask for it; nothing started on an empty chain.
        let config = dir.path().join("other.toml");
        std::fs::write(&config, format!("store = \"{other}\"\n")).unwrap();
        let by_flag = [&base[..], &["--store".as_ref(), other.as_ref()]].concat();
        let by_file = [&base[..], &["--config".as_ref(), config.as_os_str()]].concat();
        for args in [by_flag, by_file] {
            let (status, stderr) = run_sigild_to_exit(&args, Duration::from_secs(60));
            assert_eq!(status.code(), Some(2), "{engine}: {stderr}");
            let expected = format!(
                "was created by the {engine} store engine, not {other}: set `store = \"{engine}\"` in the config file (or pass `--store {engine}`)"
            );
            assert!(stderr.contains(&expected), "{engine}: {stderr}");
        }
        // With its own engine it carries on from its blocks.
        let node = Node::start(dir.path(), &["--store", engine]);
        assert!(
            node.start_height >= 2,
            "{engine}: restarted at {}",
            node.start_height
        );
        node.kill();
    }
}
