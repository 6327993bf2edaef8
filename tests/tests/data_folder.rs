//! Data folders `sigild` cannot read: one written by an incompatible version is refused with a
//! message saying what to do and its own exit code, never a decode error.

use std::time::Duration;

use sigil_registry::ledger::STORE_FORMAT;
use sigil_registry::store::{Batch, SledStore, Store};
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
            let store = SledStore::open(&db, 1 << 20).expect("open the node's store");
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
