//! The foundation's acceptance path with real processes: `sigild --dev` in a temporary folder,
//! the `sigil` CLI against it, DNS questions over UDP and TCP, forwarding to a second DNS server
//! on loopback, and a SIGKILL while transactions are being submitted.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata::A};
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::{Node, api_get, ok, ok_json};

const BOTH: [Transport; 2] = [Transport::Udp, Transport::Tcp];

#[test]
fn register_resolve_update_prove_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);

    ok(node.sigil(&keys, &["key", "new", "alice"]));
    let alice = ok(node.sigil(&keys, &["key", "show", "alice"]))
        .trim()
        .to_string();
    assert!(alice.contains(char::is_alphanumeric));
    ok(node.sigil(
        &keys,
        &[
            "name",
            "register",
            "example.sigil",
            "--a",
            "192.0.2.7",
            "--txt",
            "hello",
            "--aaaa",
            "2001:db8::7",
        ],
    ));

    for transport in BOTH {
        let a = query(node.dns, "example.sigil.", RecordType::A, transport);
        assert_eq!(a.metadata.response_code, ResponseCode::NoError);
        assert!(a.metadata.authoritative);
        assert_eq!(answers(&a), vec!["192.0.2.7"]);
        let upper = query(node.dns, "EXAMPLE.Sigil.", RecordType::AAAA, transport);
        assert_eq!(answers(&upper), vec!["2001:db8::7"]);
        let txt = query(node.dns, "example.sigil.", RecordType::TXT, transport);
        assert_eq!(answers(&txt), vec!["hello"]);
        let missing = query(node.dns, "missing.sigil.", RecordType::A, transport);
        assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(missing.authorities[0].record_type(), RecordType::SOA);
        let nodata = query(node.dns, "example.sigil.", RecordType::MX, transport);
        assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
        assert!(nodata.answers.is_empty());
        // No upstream configured: other names are refused.
        let outside = query(node.dns, "example.com.", RecordType::A, transport);
        assert_eq!(outside.metadata.response_code, ResponseCode::Refused);
    }

    ok(node.sigil(
        &keys,
        &[
            "name",
            "update",
            "example.sigil",
            "--set",
            "www A 192.0.2.8",
            "--set",
            "@ MX 10 mail.example.sigil",
        ],
    ));
    // Final means answered: no waiting after the command returns.
    for transport in BOTH {
        assert_eq!(
            answers(&query(
                node.dns,
                "www.example.sigil.",
                RecordType::A,
                transport
            )),
            vec!["192.0.2.8"]
        );
        assert_eq!(
            answers(&query(
                node.dns,
                "example.sigil.",
                RecordType::MX,
                transport
            )),
            vec!["10 mail.example.sigil."]
        );
        assert_eq!(
            answers(&query(node.dns, "example.sigil.", RecordType::A, transport)),
            vec!["192.0.2.7"]
        );
    }

    let shown = ok(node.sigil(&keys, &["name", "show", "example.sigil"]));
    assert!(shown.contains(&alice), "owner missing from:\n{shown}");
    assert!(
        shown.contains("192.0.2.8") && shown.contains("mail.example.sigil"),
        "{shown}"
    );
    let shown = ok_json(node.sigil(&keys, &["--json", "name", "show", "example.sigil"]));
    assert_eq!(shown["owner"], alice.as_str(), "{shown}");

    ok(node.sigil(&keys, &["proof", "name", "example.sigil"]));
    ok(node.sigil(&keys, &["proof", "name", "absent.sigil"]));
    let status = ok_json(node.sigil(&keys, &["--json", "chain", "status"]));
    assert_eq!(status["chain_id"], node.chain_id.as_str(), "{status}");

    // Bad input gets a clear error and exit code 2, never a panic.
    let bad = node.sigil(
        &keys,
        &["name", "register", "bad..sigil", "--a", "192.0.2.1"],
    );
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.starts_with("sigil:") && stderr.contains("empty label"),
        "{stderr}"
    );
    // The TLD's own name server name is the node's: no one registers it, and the node
    // answers it (the name exists, with no data) rather than calling it NXDOMAIN.
    let reserved = node.sigil(
        &keys,
        &["name", "register", "ns1.sigil", "--a", "203.0.113.66"],
    );
    assert_eq!(reserved.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&reserved.stderr);
    assert!(
        stderr.starts_with("sigil: `ns1.sigil` is reserved"),
        "{stderr}"
    );
    for transport in BOTH {
        let ns = query(node.dns, "sigil.", RecordType::NS, transport);
        assert_eq!(answers(&ns), vec!["ns1.sigil."]);
        let a = query(node.dns, "ns1.sigil.", RecordType::A, transport);
        assert_eq!(a.metadata.response_code, ResponseCode::NoError);
        assert!(a.metadata.authoritative && a.answers.is_empty());
    }
    assert!(node.terminate(), "sigild did not exit cleanly on SIGTERM");
}

#[test]
fn cached_answers_change_with_the_block_that_changes_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(
        &keys,
        &["name", "register", "cached.sigil", "--a", "192.0.2.10"],
    ));
    // Over UDP and TCP (whose answers are cached apart, never fitted to a datagram), which
    // must agree.
    let ask = |name: &str, rtype| {
        let udp = query(node.dns, name, rtype, Transport::Udp);
        let tcp = query(node.dns, name, rtype, Transport::Tcp);
        assert_eq!(udp.metadata.response_code, tcp.metadata.response_code);
        assert_eq!(answers(&udp), answers(&tcp));
        assert_eq!(udp.authorities, tcp.authorities);
        tcp
    };
    // Asked twice each, so that the answers are in the cache: a hit, NODATA and NXDOMAIN.
    for _ in 0..2 {
        assert_eq!(
            answers(&ask("cached.sigil.", RecordType::A)),
            ["192.0.2.10"]
        );
        let nodata = ask("cached.sigil.", RecordType::TXT);
        assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
        assert!(nodata.answers.is_empty());
        let missing = ask("later.sigil.", RecordType::A);
        assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
    }

    // The CLI returns once the change is final; the next question sees it.
    ok(node.sigil(
        &keys,
        &[
            "name",
            "update",
            "cached.sigil",
            "--set",
            "@ A 192.0.2.11",
            "--set",
            "@ TXT now-here",
        ],
    ));
    assert_eq!(
        answers(&ask("cached.sigil.", RecordType::A)),
        ["192.0.2.11"]
    );
    assert_eq!(
        answers(&ask("cached.sigil.", RecordType::TXT)),
        ["now-here"]
    );

    // A name that did not exist is answered once it is registered.
    ok(node.sigil(
        &keys,
        &["name", "register", "later.sigil", "--a", "192.0.2.12"],
    ));
    let registered = ask("later.sigil.", RecordType::A);
    assert_eq!(registered.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answers(&registered), ["192.0.2.12"]);

    // An answer too large for 512 bytes: truncated over UDP (cached so), whole over TCP.
    let texts: Vec<String> = (0..5)
        .map(|i| format!("@ TXT {}", "abcdefgh".repeat(18) + &i.to_string()))
        .collect();
    let mut args = vec!["name", "update", "cached.sigil"];
    for text in &texts {
        args.extend(["--set", text]);
    }
    ok(node.sigil(&keys, &args));
    for _ in 0..2 {
        let udp = query(node.dns, "cached.sigil.", RecordType::TXT, Transport::Udp);
        assert!(udp.metadata.truncation, "{udp:?}");
        assert!(udp.answers.len() < texts.len());
    }
    for _ in 0..2 {
        let tcp = query(node.dns, "cached.sigil.", RecordType::TXT, Transport::Tcp);
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), texts.len());
    }
    assert!(node.terminate(), "sigild did not exit cleanly on SIGTERM");
}

#[test]
fn a_name_answered_nxdomain_is_answered_once_registered_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data) = (dir.path().join("keys"), dir.path().join("data"));
    let node = Node::start(&data, &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(
        &keys,
        &["name", "register", "first.sigil", "--a", "192.0.2.20"],
    ));
    // Names that are not registered, each asked once (none is in the answer cache): NXDOMAIN
    // from the index of registered names, over UDP with and without EDNS, and over TCP.
    let nxdomain = |answer: &Message| {
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        assert!(answer.metadata.authoritative);
        assert_eq!(answer.authorities.len(), 1);
        assert_eq!(answer.authorities[0].record_type(), RecordType::SOA);
    };
    nxdomain(&query(
        node.dns,
        "soon.sigil.",
        RecordType::A,
        Transport::Udp,
    ));
    nxdomain(&query(
        node.dns,
        "www.SOON.sigil.",
        RecordType::AAAA,
        Transport::Udp,
    ));
    let edns = query_edns(node.dns, "_443._tcp.soon.sigil.", RecordType::TLSA, 1232);
    nxdomain(&edns);
    assert_eq!(edns.edns.as_ref().map(|e| e.max_payload()), Some(1232));
    nxdomain(&query(
        node.dns,
        "soon.sigil.",
        RecordType::TXT,
        Transport::Tcp,
    ));

    // Registered: the CLI returns once it is final, and the next question sees it.
    ok(node.sigil(
        &keys,
        &[
            "name",
            "register",
            "soon.sigil",
            "--a",
            "192.0.2.21",
            "--txt",
            "here",
        ],
    ));
    for transport in BOTH {
        assert_eq!(
            answers(&query(node.dns, "soon.sigil.", RecordType::A, transport)),
            ["192.0.2.21"]
        );
        assert_eq!(
            answers(&query(node.dns, "soon.sigil.", RecordType::TXT, transport)),
            ["here"]
        );
    }
    assert!(node.terminate(), "sigild did not exit cleanly on SIGTERM");

    // After a restart the index is listed from the ledger: both names are answered, others
    // are not.
    let node = Node::start(&data, &[]);
    for (name, address) in [
        ("first.sigil.", "192.0.2.20"),
        ("soon.sigil.", "192.0.2.21"),
    ] {
        assert_eq!(
            answers(&query(node.dns, name, RecordType::A, Transport::Udp)),
            [address]
        );
    }
    nxdomain(&query(
        node.dns,
        "never.sigil.",
        RecordType::A,
        Transport::Udp,
    ));
    assert!(node.terminate(), "sigild did not exit cleanly on SIGTERM");
}

/// Asks `server` one question over UDP with an EDNS buffer of `payload` bytes.
fn query_edns(
    server: std::net::SocketAddr,
    name: &str,
    rtype: RecordType,
    payload: u16,
) -> Message {
    let mut message = Message::query();
    message.metadata.id = 0x2b1d;
    message.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii(name).unwrap(),
        rtype,
    ));
    let mut edns = hickory_proto::op::Edns::new();
    edns.set_max_payload(payload);
    message.set_edns(edns);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    socket.send_to(&message.to_vec().unwrap(), server).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = socket.recv_from(&mut buf).expect("no UDP answer in time");
    let answer = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(answer.metadata.id, message.metadata.id);
    answer
}

/// A DNS server standing in for the internet: answers `example.com. A 198.51.100.1`.
fn start_upstream(stop: Arc<AtomicBool>) -> std::net::SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let Ok(request) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut response = Message::response(request.metadata.id, request.metadata.op_code);
            response.metadata.recursion_available = true;
            for q in &request.queries {
                response.add_query(q.clone());
                if q.query_type() == RecordType::A
                    && q.name().to_ascii().eq_ignore_ascii_case("example.com.")
                {
                    response.add_answer(Record::from_rdata(
                        q.name().clone(),
                        60,
                        RData::A(A::new(198, 51, 100, 1)),
                    ));
                }
            }
            let _ = socket.send_to(&response.to_vec().unwrap(), from);
        }
    });
    addr
}

#[test]
fn names_outside_the_chain_are_forwarded_upstream() {
    let stop = Arc::new(AtomicBool::new(false));
    let upstream = start_upstream(stop.clone());
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        &dir.path().join("data"),
        &["--upstream", &upstream.to_string()],
    );
    for transport in BOTH {
        let answer = query(node.dns, "example.com.", RecordType::A, transport);
        assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
        assert_eq!(answers(&answer), vec!["198.51.100.1"]);
        assert!(!answer.metadata.authoritative);
    }
    // Chain names are still answered by the ledger.
    let chain = query(node.dns, "nothing.sigil.", RecordType::A, Transport::Udp);
    assert_eq!(chain.metadata.response_code, ResponseCode::NXDomain);
    stop.store(true, Ordering::Relaxed);
}

#[test]
fn a_killed_node_restarts_with_every_final_transaction_and_the_same_state_root() {
    a_killed_node_restarts_with_every_final_transaction(&[]);
}

/// The same on the store engine that is not the default (redb is: see `store::Engine`).
#[test]
fn a_killed_node_on_sled_restarts_with_every_final_transaction_and_the_same_state_root() {
    a_killed_node_restarts_with_every_final_transaction(&["--store", "sled"]);
}

/// `kill -9` while transactions are being finalized: every one the CLI reported final is there
/// after the restart, at the same state root. `store` picks the engine.
fn a_killed_node_restarts_with_every_final_transaction(store: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = dir.path().join("keys");
    let node = Node::start(&data, store);
    ok(node.sigil(&keys, &["key", "new", "bob"]));
    ok(node.sigil(
        &keys,
        &["name", "register", "crash.sigil", "--a", "192.0.2.1"],
    ));

    // Updates are submitted one after another; every one the CLI reports final is sent back.
    let api = node.api.clone();
    let writer_keys = keys.clone();
    let (final_tx, final_rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let writer_stop = stop.clone();
    let writer = std::thread::spawn(move || {
        for i in 0.. {
            if writer_stop.load(Ordering::Relaxed) {
                break;
            }
            let record = format!("t{i} TXT \"update {i}\"");
            let out = sigil_tests::sigil(
                &api,
                &writer_keys,
                &["name", "update", "crash.sigil", "--set", &record],
            );
            if out.status.success() {
                let _ = final_tx.send(i);
            }
        }
    });
    // Kill once three updates are final, while the writer keeps submitting.
    let mut final_updates = Vec::new();
    while final_updates.len() < 3 {
        let i = final_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("updates did not become final");
        final_updates.push(i);
    }
    let before = api_get(&node.api, "/v1/status");
    node.kill();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    // Anything reported final before the writer noticed the kill counts too.
    final_updates.extend(final_rx.try_iter());

    let node = Node::start(&data, store);
    let height: u64 = before["tip"]["height"].as_u64().unwrap();
    assert!(
        node.start_height >= height,
        "restarted at {} below {height}",
        node.start_height
    );
    let block = api_get(&node.api, &format!("/v1/blocks/{height}"));
    assert_eq!(
        block["block"]["header"]["state_root"], before["tip"]["state_root"],
        "state root at {height} changed"
    );
    for i in final_updates {
        let name = format!("t{i}.crash.sigil.");
        let answer = query(node.dns, &name, RecordType::TXT, Transport::Udp);
        assert_eq!(
            answers(&answer),
            vec![format!("update {i}")],
            "final update {i} lost"
        );
    }
}

#[test]
fn transfer_renew_history_and_zone_import_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(&keys, &["key", "new", "bob"]));
    let bob = ok(node.sigil(&keys, &["key", "show", "bob"]))
        .trim()
        .to_string();
    let as_alice = |args: &[&str]| node.sigil(&keys, &[&["--key", "alice"], args].concat());
    let as_bob = |args: &[&str]| node.sigil(&keys, &[&["--key", "bob"], args].concat());

    ok(as_alice(&[
        "name",
        "register",
        "moving.sigil",
        "--txt",
        "two words",
    ]));
    let before = ok_json(as_alice(&["--json", "name", "show", "moving.sigil"]));
    ok(as_alice(&["name", "renew", "moving.sigil"]));
    let renewed = ok_json(as_alice(&["--json", "name", "show", "moving.sigil"]));
    assert!(
        renewed["expires_at"].as_u64() > before["expires_at"].as_u64(),
        "{before} then {renewed}"
    );
    ok(as_alice(&[
        "name",
        "transfer",
        "moving.sigil",
        "--to",
        "bob",
    ]));

    // The old owner can no longer change it; the new one can, and keeps the TXT string whole.
    let refused = as_alice(&["name", "update", "moving.sigil", "--set", "@ A 192.0.2.1"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("belongs to") && stderr.contains(&bob),
        "{stderr}"
    );
    ok(as_bob(&[
        "name",
        "update",
        "moving.sigil",
        "--set",
        "@ A 192.0.2.3",
    ]));
    for transport in BOTH {
        let a = query(node.dns, "moving.sigil.", RecordType::A, transport);
        assert_eq!(answers(&a), vec!["192.0.2.3"]);
        let txt = query(node.dns, "moving.sigil.", RecordType::TXT, transport);
        let Some(RData::TXT(txt)) = txt.answers.first().map(|r| &r.data) else {
            panic!("no TXT answer: {txt:?}");
        };
        assert_eq!(txt.txt_data.len(), 1, "the string was split: {txt:?}");
        assert_eq!(&*txt.txt_data[0], b"two words");
    }

    let history = ok_json(as_bob(&["--json", "name", "history", "moving.sigil"]));
    let actions: Vec<&str> = history
        .as_array()
        .expect("history is a list")
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["register", "renew", "transfer", "update"]);
    assert_eq!(history[3]["owner"], bob.as_str());
    let none = as_bob(&["name", "history", "never.sigil"]);
    assert_eq!(none.status.code(), Some(1));

    // A zone file moved onto the chain: every name with its records, a delegation with its DS.
    let zone = dir.path().join("moved.zone");
    std::fs::write(
        &zone,
        format!(
            "$ORIGIN sigil.\n$TTL 600\n@ SOA ns1.sigil. admin.sigil. 1 3600 600 86400 300\n@ NS ns1.sigil.\n\
             ns1 A 127.0.0.1\nshop A 192.0.2.20\nshop TXT \"open 9-5\"\nwww.shop CNAME shop.sigil.\n\
             _443._tcp.shop TLSA 3 1 1 {}\nmail MX 10 mx.mail.sigil.\nmx.mail A 192.0.2.25\n\
             lab NS ns.lab.sigil.\nns.lab A 192.0.2.53\nlab DS 12345 13 2 {}\n",
            "ab".repeat(32),
            "cd".repeat(32)
        ),
    )
    .unwrap();
    let report = ok_json(as_alice(&[
        "--json",
        "name",
        "import",
        zone.to_str().unwrap(),
    ]));
    assert_eq!(
        (report["names"].as_u64(), report["registered"].as_u64()),
        (Some(3), Some(3)),
        "{report}"
    );
    for transport in BOTH {
        let cname = query(node.dns, "www.shop.sigil.", RecordType::A, transport);
        assert_eq!(answers(&cname), vec!["shop.sigil.", "192.0.2.20"]);
        assert_eq!(cname.answers[1].ttl, 600);
        let tlsa = query(
            node.dns,
            "_443._tcp.shop.sigil.",
            RecordType::TLSA,
            transport,
        );
        assert_eq!(tlsa.answers.len(), 1, "{tlsa:?}");
        let mx = query(node.dns, "mail.sigil.", RecordType::MX, transport);
        assert_eq!(answers(&mx), vec!["10 mx.mail.sigil."]);
        // The delegated name refers to its own servers, with glue; its DS is answered here.
        let referral = query(node.dns, "host.lab.sigil.", RecordType::A, transport);
        assert!(!referral.metadata.authoritative && referral.answers.is_empty());
        assert_eq!(referral.authorities[0].record_type(), RecordType::NS);
        assert_eq!(referral.additionals[0].data.to_string(), "192.0.2.53");
        let ds = query(node.dns, "lab.sigil.", RecordType::DS, transport);
        assert!(ds.metadata.authoritative);
        assert_eq!(ds.answers.len(), 1, "{ds:?}");
        assert_eq!(ds.answers[0].record_type(), RecordType::DS);
    }
    let shop = ok_json(as_alice(&["--json", "name", "show", "shop.sigil"]));
    assert!(
        shop["records"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("@ 600 TXT \"open 9-5\"")),
        "{shop}"
    );
    // Importing again registers nothing and says why for each name.
    let again = as_alice(&["--json", "name", "import", zone.to_str().unwrap()]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["registered"], 0, "{again}");
    assert_eq!(again["failed"].as_array().unwrap().len(), 3, "{again}");
}
