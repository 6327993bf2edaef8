//! Name commitments under attack, with real processes: a victim runs `sigil name register`
//! through a relay that an attacker controls (a node or gateway on the transaction's way, which
//! sees it as gossip would). The attacker copies the victim's commitment and lands the copy
//! under its own key before the victim's commit; a second attacker reads the victim's commit
//! from its final block and copies it before the victim reveals. The victim still registers
//! the name, and neither copy lets an attacker reveal it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use sigil_core::tx::{Op, SignedTx};
use sigil_core::types::{Hash, Keypair, PublicKey};
use sigil_registry::ledger::StoredBlock;
use sigil_tests::txs::{submit, submit_final};
use sigil_tests::{Node, api_get, ok_json, sigil};

/// What the attackers did, for the test to check afterwards.
#[derive(Default)]
struct Seen {
    /// The victim's key and commitment, as copied from its submission.
    copied: Option<(PublicKey, Hash)>,
    /// The commitment the second attacker read from the victim's final block.
    read_from_block: Option<Hash>,
}

/// The attackers' relay: passes every request to the node at `real`, but copies a name
/// commitment it sees submitted (first attacker, before passing it on), and before passing
/// on a reveal, reads that commit back from its block and copies it (second attacker).
fn attacker_relay(
    real: &str,
    chain_id: &str,
    front_runner: Keypair,
    block_reader: Keypair,
) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    let real = real.to_string();
    let chain_id = chain_id.to_string();
    let keys = Arc::new((front_runner, block_reader));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (real, chain_id, keys, seen) =
                (real.clone(), chain_id.clone(), keys.clone(), shared.clone());
            std::thread::spawn(move || {
                relay_one(stream, &real, |head, body| {
                    if head.starts_with("POST /v1/txs ") {
                        attack(&real, &chain_id, &keys.0, &keys.1, body, &seen);
                    }
                })
            });
        }
    });
    (url, seen)
}

/// What the attackers do with a submission on its way to the node.
fn attack(
    real: &str,
    chain_id: &str,
    front_runner: &Keypair,
    block_reader: &Keypair,
    body: &[u8],
    seen: &Mutex<Seen>,
) {
    let request: serde_json::Value = serde_json::from_slice(body).expect("JSON body");
    let bytes = hex::decode(request["tx"].as_str().expect("tx")).expect("hex");
    let stx = SignedTx::from_bytes(&bytes).expect("a transaction");
    match stx.tx.op {
        Op::NameCommit { commitment } => {
            // Front-running: the copy is final before the victim's commit reaches the node.
            submit_final(real, chain_id, front_runner, Op::NameCommit { commitment });
            seen.lock().unwrap().copied = Some((stx.tx.signer, commitment));
        }
        Op::NameRegister { .. } => {
            // Before the reveal: find the victim's commit in the chain's blocks and copy it.
            let victim = stx.tx.signer;
            let tip = api_get(real, "/v1/status")["tip"]["height"]
                .as_u64()
                .expect("tip height");
            let commitment = (1..=tip)
                .rev()
                .find_map(|height| {
                    let block: StoredBlock =
                        serde_json::from_value(api_get(real, &format!("/v1/blocks/{height}")))
                            .expect("a block");
                    block.block.txs.iter().find_map(|t| match &t.tx.op {
                        Op::NameCommit { commitment } if t.tx.signer == victim => Some(*commitment),
                        _ => None,
                    })
                })
                .expect("the victim's commit is in a block");
            submit_final(real, chain_id, block_reader, Op::NameCommit { commitment });
            seen.lock().unwrap().read_from_block = Some(commitment);
        }
        _ => {}
    }
}

/// Reads one HTTP/1.1 request from `client`, lets `inspect` see its head and body, passes it to
/// the node at `real` and the node's answer back.
fn relay_one(client: TcpStream, real: &str, inspect: impl FnOnce(&str, &[u8])) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        // One request per connection: the relay closes after each answer.
        if !lower.starts_with("connection:") {
            head.push_str(&line);
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    inspect(&head, &body);
    let mut upstream = TcpStream::connect(real.trim_start_matches("http://")).unwrap();
    upstream
        .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
        .unwrap();
    upstream.write_all(&body).unwrap();
    let mut answer = Vec::new();
    let _ = upstream.read_to_end(&mut answer);
    let mut client = client;
    let _ = client.write_all(&answer);
    let _ = client.flush();
    let _ = client.shutdown(std::net::Shutdown::Both);
}

/// The same key, for the test and for the relay.
fn copy(key: &Keypair) -> Keypair {
    Keypair::from_signing_key(key.signing_key().clone())
}

#[test]
fn copied_commitments_neither_block_the_victims_registration_nor_serve_the_attackers() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let front_runner = Keypair::generate();
    let block_reader = Keypair::generate();
    let (relay, seen) = attacker_relay(
        &node.api,
        &node.chain_id,
        copy(&front_runner),
        copy(&block_reader),
    );

    let shown = ok_json(node.sigil(&keys, &["--json", "key", "new", "victim"]));
    let victim_key: PublicKey = shown["public_key"].as_str().unwrap().parse().unwrap();
    // The victim's CLI talks to the node through the attackers' relay.
    let registered = ok_json(sigil(
        &relay,
        &keys,
        &[
            "--json",
            "name",
            "register",
            "prize.sigil",
            "--a",
            "192.0.2.7",
        ],
    ));

    // Both copies were final, under the attackers' keys, before the victim's reveal.
    let (signer, commitment) = seen
        .lock()
        .unwrap()
        .copied
        .expect("the front-runner copied the commitment");
    assert_eq!(signer, victim_key);
    assert_eq!(seen.lock().unwrap().read_from_block, Some(commitment));
    // The victim owns the name.
    let entry = api_get(&node.api, "/v1/names/prize.sigil");
    assert_eq!(entry["owner"], victim_key.to_string(), "{entry}");
    assert_eq!(entry["active"], true, "{entry}");

    // Knowing the name and salt from the victim's reveal, neither attacker can reveal with its
    // copy: the commitment binds the victim's key.
    let height = registered["height"].as_u64().unwrap();
    let block: StoredBlock =
        serde_json::from_value(api_get(&node.api, &format!("/v1/blocks/{height}"))).unwrap();
    let (name, salt) = block
        .block
        .txs
        .iter()
        .find_map(|t| match &t.tx.op {
            Op::NameRegister { name, salt, .. } if t.tx.signer == victim_key => {
                Some((name.clone(), *salt))
            }
            _ => None,
        })
        .expect("the victim's reveal");
    for attacker in [&front_runner, &block_reader] {
        let (status, body) = submit(
            &node.api,
            &node.chain_id,
            attacker,
            Op::NameRegister {
                name: name.clone(),
                salt,
                records: vec![],
            },
        );
        assert!(!status.contains("202"), "{status} {body}");
        assert_eq!(body["error"]["code"], "no_commit", "{body}");
    }
}
