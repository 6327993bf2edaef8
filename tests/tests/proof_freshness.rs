//! Clients refuse old proofs: a rogue node that replays a validly signed but old proof of a
//! name (it could hide a newer owner or records) is caught by `sigil proof name --max-age`,
//! while the real node's fresh proof verifies. The rogue node is the `liar` proxy in its
//! replay-old mode: it serves the first proof it relayed forever.

use sigil_tests::liar::{Liar, Mode};
use sigil_tests::{Node, api_get, ok, sigil};

#[test]
fn an_old_proof_replayed_by_a_node_is_refused_and_a_fresh_one_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(
        &keys,
        &["name", "register", "kept.sigil", "--a", "192.0.2.7"],
    ));
    // The rogue node relays the real node's proof once, and keeps it.
    let rogue = Liar::start(&node.api, Mode::ReplayOld);
    let proof = api_get(&rogue.api, "/v1/names/kept.sigil/proof");
    let proven_at = proof["header"]["time_ms"].as_u64().unwrap();

    // Wait, block by block, until the chain is more than 2 s past the kept proof.
    loop {
        let tip = &api_get(&node.api, "/v1/status")["tip"];
        if tip["time_ms"].as_u64().unwrap() > proven_at + 2_500 {
            break;
        }
        let next = tip["height"].as_u64().unwrap() + 1;
        api_get(&node.api, &format!("/v1/blocks/{next}?wait_ms=10000"));
    }

    let replayed = sigil(
        &rogue.api,
        &keys,
        &["--json", "proof", "name", "kept.sigil", "--max-age", "1"],
    );
    let stdout = String::from_utf8_lossy(&replayed.stdout);
    assert_eq!(replayed.status.code(), Some(1), "{stdout}");
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["verified"], false);
    assert!(
        answer["error"].as_str().unwrap().starts_with("stale"),
        "{stdout}"
    );
    // The real node's proof is fresh.
    let fresh = node.sigil(&keys, &["proof", "name", "kept.sigil"]);
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fresh.stdout)
    );
}
