//! Clients refuse old proofs: a rogue node that replays a validly signed but old proof of a
//! name (it could hide a newer owner or records) is caught by `sigil proof name --max-age`,
//! while the real node's fresh proof verifies. The rogue node is a real HTTP server on
//! loopback that relays the real node's status and answers proofs with the one it kept.

use std::io::{Read, Write};
use std::net::TcpListener;

use sigil_tests::{Node, api_get, ok, sigil};

/// Serves `proof` for every proof request and the real node's answer for anything else.
fn rogue_node(real_api: String, proof: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = if path.ends_with("/proof") {
                proof.clone()
            } else {
                api_get(&real_api, &path).to_string()
            };
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    format!("http://{addr}")
}

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
    let proof = api_get(&node.api, "/v1/names/kept.sigil/proof");
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

    let rogue = rogue_node(node.api.clone(), proof.to_string());
    let replayed = sigil(
        &rogue,
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
