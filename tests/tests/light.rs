//! The light resolver end to end (`sigild --light`), with real processes on loopback: a dev
//! chain whose names carry every record type, a registered certificate (TLSA) and a bound
//! identity (`_sigil-key`); a light resolver pointed at it answers as the full node does over
//! UDP and TCP, skips a dead peer for an honest one, restarts from its saved trust, and answers
//! SERVFAIL with an Extended DNS Error when no peer answers, the only header it can get is
//! older than `--max-age`, or a peer lies (the `liar` proxy: a changed record, another name's
//! proof, a rogue signer, a false absence), and takes an honest second peer's answer instead.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
use sigil_core::state::keys;
use sigil_tests::dns::{Transport, ede, query, query_edns};
use sigil_tests::liar::{Liar, Mode};
use sigil_tests::metrics::{scrape, value};
use sigil_tests::{Node, api_get, api_get_any, ok, ok_json, sigil};

const BOTH: [Transport; 2] = [Transport::Udp, Transport::Tcp];

/// The questions compared between the full node and the light resolver: every record type,
/// a CNAME chain, a referral with glue, TLSA from a registered certificate, an identity key,
/// NODATA, NXDOMAIN, the TLD's apex, and a name outside the chain.
const QUESTIONS: &[(&str, RecordType)] = &[
    ("shop.sigil.", RecordType::A),
    ("shop.sigil.", RecordType::TXT),
    ("shop.sigil.", RecordType::MX),
    ("www.shop.sigil.", RecordType::A),
    ("_443._tcp.shop.sigil.", RecordType::TLSA),
    ("_sigil-key.shop.sigil.", RecordType::TXT),
    ("example.sigil.", RecordType::AAAA),
    ("example.sigil.", RecordType::CAA),
    ("_sip._tcp.example.sigil.", RecordType::SRV),
    ("mail.sigil.", RecordType::MX),
    ("mx.mail.sigil.", RecordType::A),
    ("host.lab.sigil.", RecordType::A),
    ("lab.sigil.", RecordType::DS),
    ("missing.sigil.", RecordType::A),
    ("nothing.example.sigil.", RecordType::A),
    ("sigil.", RecordType::NS),
    ("sigil.", RecordType::SOA),
    // Outside the chain: REFUSED by both, neither having an upstream.
    ("example.com.", RecordType::A),
];

/// A full node whose chain holds the names of [`QUESTIONS`].
fn chain(dir: &Path) -> Node {
    let keys = dir.join("keys");
    // Every proof and status read comes from loopback, one client to the node: allow the
    // tests' rate of them.
    let config = dir.join("sigil.toml");
    std::fs::write(&config, "api_expensive_per_sec = 100000\n").unwrap();
    let node = Node::start(&dir.join("data"), &["--config", config.to_str().unwrap()]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(&keys, &["key", "new", "bob"]));
    let zone = dir.join("names.zone");
    std::fs::write(
        &zone,
        format!(
            "$ORIGIN sigil.\n$TTL 600\n@ SOA ns1.sigil. admin.sigil. 1 3600 600 86400 300\n@ NS ns1.sigil.\n\
             ns1 A 127.0.0.1\nshop A 192.0.2.20\nshop TXT \"open 9-5\"\nwww.shop CNAME shop.sigil.\n\
             _25._tcp.shop TLSA 3 1 1 {}\nmail MX 10 mx.mail.sigil.\nmx.mail A 192.0.2.25\n\
             lab NS ns.lab.sigil.\nns.lab A 192.0.2.53\nlab DS 12345 13 2 {}\n\
             example AAAA 2001:db8::7\nexample CAA 0 issue \"ca.example\"\n\
             _sip._tcp.example SRV 10 60 5060 sip.example.sigil.\nsip.example A 192.0.2.60\n",
            "ab".repeat(32),
            "cd".repeat(32)
        ),
    )
    .unwrap();
    let report = ok_json(node.sigil(
        &keys,
        &[
            "--key",
            "alice",
            "--json",
            "name",
            "import",
            zone.to_str().unwrap(),
        ],
    ));
    assert_eq!(report["registered"].as_u64(), Some(4), "{report}");

    // A certificate registered for shop.sigil: TLSA 3 1 1 and 3 0 1 at _443._tcp.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Light Test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["shop.sigil".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "shop.sigil");
    leaf.not_before = date_time_ymd(2024, 1, 1);
    leaf.not_after = date_time_ymd(2100, 1, 1);
    let leaf = leaf.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let pem = dir.join("shop.pem");
    std::fs::write(&pem, leaf.pem()).unwrap();
    ok(node.sigil(
        &keys,
        &[
            "--key",
            "alice",
            "cert",
            "register",
            "shop.sigil",
            "--cert",
            pem.to_str().unwrap(),
        ],
    ));

    // An identity bound to shop.sigil: its key at _sigil-key.shop.sigil.
    ok(node.sigil(
        &keys,
        &[
            "--key",
            "alice",
            "identity",
            "register",
            "shop-admin",
            "--online",
            "alice",
            "--offline",
            "bob",
        ],
    ));
    ok(node.sigil(
        &keys,
        &[
            "--key",
            "alice",
            "identity",
            "bind",
            "shop-admin",
            "shop.sigil",
        ],
    ));
    node
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A message as compared between the two servers: response code, AA bit and each section's
/// records as text, except the SOA serial (each server's own height).
fn normalized(message: &Message) -> String {
    let section = |records: &[hickory_proto::rr::Record]| -> Vec<String> {
        records
            .iter()
            .map(|r| match &r.data {
                RData::SOA(soa) => format!(
                    "{} {} SOA {} {} (serial) {} {} {} {}",
                    r.name,
                    r.ttl,
                    soa.mname,
                    soa.rname,
                    soa.refresh,
                    soa.retry,
                    soa.expire,
                    soa.minimum
                ),
                data => format!("{} {} {} {}", r.name, r.ttl, r.record_type(), data),
            })
            .collect()
    };
    format!(
        "{:?} aa={} answers={:?} authority={:?} additional={:?}",
        message.metadata.response_code,
        message.metadata.authoritative,
        section(&message.answers),
        section(&message.authorities),
        section(&message.additionals)
    )
}

/// Polls `check` until it returns `Some`, for up to 60 s.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_light_resolver_answers_as_the_full_node_skips_dead_peers_and_restarts_from_saved_trust() {
    let dir = tempfile::tempdir().unwrap();
    let node = chain(dir.path());
    let genesis = node.data.join("genesis.json");
    let dead = closed_port();
    let light_data = dir.path().join("light");
    let resolver = Node::start_light(&light_data, &genesis, &[&dead, &node.api], &[]);

    // Every answer the same as the full node's, over both transports, the dead first peer
    // skipped for the honest second one.
    for transport in BOTH {
        for &(name, rtype) in QUESTIONS {
            let full = query(node.dns, name, rtype, transport);
            // Twice: the first fetches proofs, the second answers from the proven snapshot.
            for _ in 0..2 {
                let answer = query(resolver.dns, name, rtype, transport);
                assert_eq!(
                    normalized(&answer),
                    normalized(&full),
                    "{name} {rtype} over {transport:?}"
                );
            }
        }
    }
    // The answers carry what the chain holds (not two empty answers that agree).
    let shop = query(resolver.dns, "shop.sigil.", RecordType::A, Transport::Udp);
    assert_eq!(shop.answers[0].data.to_string(), "192.0.2.20");
    let tlsa = query(
        resolver.dns,
        "_443._tcp.shop.sigil.",
        RecordType::TLSA,
        Transport::Udp,
    );
    assert_eq!(tlsa.answers.len(), 2, "{tlsa:?}");
    let key = query(
        resolver.dns,
        "_sigil-key.shop.sigil.",
        RecordType::TXT,
        Transport::Tcp,
    );
    assert!(
        key.answers[0].data.to_string().contains("id=shop-admin"),
        "{key:?}"
    );
    let missing = query(
        resolver.dns,
        "missing.sigil.",
        RecordType::A,
        Transport::Udp,
    );
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);

    // `sigil chain status` against the light resolver: the trusted header and each peer.
    let keys = dir.path().join("keys");
    let status = ok_json(sigil(&resolver.api, &keys, &["--json", "chain", "status"]));
    let trusted = status["light"]["trusted_height"].as_u64().unwrap();
    assert!(trusted > 0, "{status}");
    assert_eq!(status["tip"]["height"].as_u64(), Some(trusted), "{status}");
    assert_eq!(status["light"]["fresh"], true, "{status}");
    assert_eq!(
        status["light"]["peers"][0]["standing"], "unreachable",
        "{status}"
    );
    assert_eq!(status["light"]["peers"][1]["standing"], "ok", "{status}");
    let human = ok(sigil(&resolver.api, &keys, &["chain", "status"]));
    assert!(human.contains("light resolver"), "{human}");

    // Its `/metrics`, read with Prometheus's parser: the trusted header, the dead peer's
    // refusals beside the honest one's headers and proofs, and DNS answers by type and code,
    // most of them from the answer cache (each question above was asked twice over UDP).
    let before = scrape(&resolver.api);
    for _ in 0..3 {
        let a = query(resolver.dns, "shop.sigil.", RecordType::A, Transport::Udp);
        assert_eq!(a.metadata.response_code, ResponseCode::NoError);
    }
    let after = scrape(&resolver.api);
    let delta = |sample: &str| value(&after, sample) - value(&before, sample);
    let height = value(&after, "sigil_light_trusted_height{}");
    assert!(height >= trusted as f64, "{after:?}");
    let age = value(&after, "sigil_light_header_age_seconds{}");
    assert!((0.0..=60.0).contains(&age), "{after:?}");
    assert!(value(&after, "sigil_light_headers_verified_total{}") >= 1.0);
    assert!(
        value(
            &after,
            r#"sigil_light_headers_refused_total{reason="unreachable"}"#
        ) >= 1.0
    );
    assert!(value(&after, "sigil_light_proofs_fetched_total{}") >= 1.0);
    assert_eq!(
        value(
            &after,
            r#"sigil_light_proofs_refused_total{reason="bogus"}"#
        ),
        0.0
    );
    assert_eq!(
        delta(r#"sigil_dns_queries_total{qtype="A",rcode="NOERROR"}"#),
        3.0
    );
    assert_eq!(
        ["hit", "miss", "unregistered"]
            .map(|o| delta(&format!(
                r#"sigil_dns_answer_cache_lookups_total{{outcome="{o}"}}"#
            )))
            .iter()
            .sum::<f64>(),
        3.0
    );
    assert!(
        value(
            &after,
            r#"sigil_dns_answer_cache_lookups_total{outcome="hit"}"#
        ) >= 1.0
    );
    assert!(
        after
            .keys()
            .all(|k| !k.contains("shop") && !k.contains("127.0.0.1"))
    );

    // A restart answers at once from the saved trust: its ready line shows the saved header,
    // before any peer is asked (its only peer now is dead).
    assert!(
        resolver.terminate(),
        "the light resolver did not exit cleanly"
    );
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(light_data.join("light-trust.json")).unwrap(),
    )
    .unwrap();
    let saved_height = saved["newest"]["header"]["height"].as_u64().unwrap();
    assert!(saved_height >= trusted, "{saved}");
    let restarted = Node::start_light(&light_data, &genesis, &[&node.api], &[]);
    assert_eq!(restarted.start_height, saved_height);
    for transport in BOTH {
        let full = query(node.dns, "www.shop.sigil.", RecordType::A, transport);
        let answer = query(restarted.dns, "www.shop.sigil.", RecordType::A, transport);
        assert_eq!(normalized(&answer), normalized(&full), "{transport:?}");
    }
}

#[test]
fn a_light_resolver_answers_servfail_with_the_reason_when_nothing_is_proven() {
    let dir = tempfile::tempdir().unwrap();
    let node = chain(dir.path());
    let genesis = node.data.join("genesis.json");

    // Only a dead peer: nothing proven, and the EDE says no peer answered.
    let dead = closed_port();
    let alone = Node::start_light(&dir.path().join("alone"), &genesis, &[&dead], &[]);
    for transport in BOTH {
        let answer = query_edns(alone.dns, "shop.sigil.", RecordType::A, transport);
        assert_eq!(answer.metadata.response_code, ResponseCode::ServFail);
        assert!(answer.answers.is_empty());
        let (code, text) = ede(&answer).expect("an Extended DNS Error");
        assert_eq!(code, 22, "{text}");
        assert!(text.contains("no peer answered"), "{text}");
    }

    // A peer that replays the first proofs it relayed (old headers replayed): the header it
    // serves grows older than --max-age, and answers stop, with the stale EDE.
    let proxy = Liar::start(&node.api, Mode::ReplayOld);
    let stale = Node::start_light(
        &dir.path().join("stale"),
        &genesis,
        &[&proxy.api],
        &["--max-age", "3"],
    );
    let fresh = query_edns(stale.dns, "shop.sigil.", RecordType::A, Transport::Udp);
    assert_eq!(
        fresh.metadata.response_code,
        ResponseCode::NoError,
        "{fresh:?}"
    );
    assert_eq!(fresh.answers[0].data.to_string(), "192.0.2.20");
    let refused = wait_for("a stale answer", || {
        let answer = query_edns(stale.dns, "shop.sigil.", RecordType::A, Transport::Udp);
        (answer.metadata.response_code == ResponseCode::ServFail).then_some(answer)
    });
    assert!(refused.answers.is_empty());
    let (code, text) = ede(&refused).expect("an Extended DNS Error");
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("stale: "), "{text}");
    // Over TCP too, and the cached answer is not served either.
    let tcp = query_edns(stale.dns, "shop.sigil.", RecordType::A, Transport::Tcp);
    assert_eq!(tcp.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&tcp).map(|(code, _)| code), Some(0));

    // With the honest node as second peer, the replayed header is passed over (its peer set
    // aside) and the answer is proven from the node's fresh one.
    let both = Node::start_light(
        &dir.path().join("both"),
        &genesis,
        &[&proxy.api, &node.api],
        &["--max-age", "3"],
    );
    for transport in BOTH {
        let answer = query_edns(both.dns, "shop.sigil.", RecordType::A, transport);
        assert_eq!(
            answer.metadata.response_code,
            ResponseCode::NoError,
            "{answer:?}"
        );
        assert_eq!(answer.answers[0].data.to_string(), "192.0.2.20");
    }
    let status = api_get(&both.api, "/v1/status");
    assert_eq!(
        status["light"]["peers"][0]["standing"], "set_aside",
        "{status}"
    );
    let why = status["light"]["peers"][0]["last_error"].as_str().unwrap();
    assert!(why.contains("stale"), "{status}");
    let metrics = scrape(&both.api);
    assert!(
        value(
            &metrics,
            r#"sigil_light_headers_refused_total{reason="stale"}"#
        ) >= 1.0,
        "{metrics:?}"
    );
    assert_eq!(status["light"]["peers"][1]["standing"], "ok", "{status}");
}

#[test]
fn a_light_resolver_answers_servfail_to_every_lie_and_the_truth_beside_an_honest_peer() {
    let dir = tempfile::tempdir().unwrap();
    let node = chain(dir.path());
    let genesis = node.data.join("genesis.json");
    // Each lie of a peer (the `liar` proxy in front of the node) is refused with the EDE that
    // says a proof does not verify; with the honest node as second peer, the liar is set aside
    // and the answer is the node's.
    let lies = [
        (Mode::ChangedValue, "a changed record"),
        (Mode::OtherKey, "the proof of another name"),
        (
            Mode::RogueSigner,
            "a header signed by keys that are not validators, and a forged handoff",
        ),
        (
            Mode::RogueProofs,
            "proofs signed by keys that are not validators",
        ),
        (
            Mode::FalseAbsence,
            "an absence claimed for a name that exists",
        ),
    ];
    for (mode, lie) in lies {
        let liar = Liar::start_learning(&node.api, mode, &["/v1/names/example.sigil/proof"]);
        let folder = dir.path().join(mode.as_str());
        let alone = Node::start_light(&folder.join("alone"), &genesis, &[&liar.api], &[]);
        for transport in BOTH {
            let answer = query_edns(alone.dns, "shop.sigil.", RecordType::A, transport);
            println!(
                "{mode:?} {transport:?}: {:?} {:?}",
                answer.metadata.response_code,
                ede(&answer)
            );
            assert_eq!(
                answer.metadata.response_code,
                ResponseCode::ServFail,
                "{lie}: {answer:?}"
            );
            assert!(answer.answers.is_empty(), "{lie}: {answer:?}");
            let (code, text) = ede(&answer).expect("an Extended DNS Error");
            assert_eq!(code, 6, "{lie}: {text}");
        }
        // Counted as a refusal for a lie (of a header, or of the proofs), and nothing fetched.
        let metrics = scrape(&alone.api);
        let bogus = value(
            &metrics,
            r#"sigil_light_headers_refused_total{reason="bogus"}"#,
        ) + value(
            &metrics,
            r#"sigil_light_proofs_refused_total{reason="bogus"}"#,
        );
        assert!(bogus >= 1.0, "{lie}: {metrics:?}");
        assert_eq!(
            value(&metrics, "sigil_light_proofs_fetched_total{}"),
            0.0,
            "{lie}"
        );
        let both = Node::start_light(&folder.join("both"), &genesis, &[&liar.api, &node.api], &[]);
        for transport in BOTH {
            let answer = query_edns(both.dns, "shop.sigil.", RecordType::A, transport);
            assert_eq!(
                answer.metadata.response_code,
                ResponseCode::NoError,
                "{lie}: {answer:?}"
            );
            assert_eq!(answer.answers[0].data.to_string(), "192.0.2.20", "{lie}");
        }
        let status = api_get(&both.api, "/v1/status");
        assert_eq!(
            status["light"]["peers"][0]["standing"], "set_aside",
            "{lie}: {status}"
        );
        assert_eq!(
            status["light"]["peers"][1]["standing"], "ok",
            "{lie}: {status}"
        );
    }
}

#[test]
fn the_proofs_endpoint_proves_many_keys_against_one_kept_header() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("data"), &["--prune-window-blocks", "3"]);
    let keys_dir = dir.path().join("keys");
    ok(node.sigil(&keys_dir, &["key", "new", "alice"]));
    ok(node.sigil(
        &keys_dir,
        &["name", "register", "shop.sigil", "--a", "192.0.2.20"],
    ));
    let asked = [keys::name("shop.sigil"), keys::name("missing.sigil")];
    let query: Vec<String> = asked
        .iter()
        .map(|k| format!("key={}", hex::encode(k)))
        .collect();
    let query = query.join("&");

    // At the tip: one proof per key, in order, against one header; each the same JSON shape
    // as a name's proof.
    let tip = api_get(&node.api, &format!("/v1/proofs?{query}"));
    let proofs = tip["proofs"].as_array().unwrap();
    assert_eq!(proofs.len(), 2, "{tip}");
    for (proof, key) in proofs.iter().zip(&asked) {
        assert_eq!(proof["key"], hex::encode(key));
        assert_eq!(proof["header"], proofs[0]["header"]);
        let mut fields: Vec<&String> = proof.as_object().unwrap().keys().collect();
        fields.sort();
        assert_eq!(
            fields,
            ["commit", "header", "key", "proof", "validators", "value"],
            "{proof}"
        );
    }
    assert!(proofs[0]["value"].is_string() && proofs[1]["value"].is_null());
    let single = api_get(&node.api, "/v1/names/shop.sigil/proof");
    let mut shape: Vec<&String> = single.as_object().unwrap().keys().collect();
    shape.sort();
    assert_eq!(
        shape,
        ["commit", "header", "key", "proof", "validators", "value"]
    );

    // At a kept height: that header.
    let height = proofs[0]["header"]["height"].as_u64().unwrap();
    let at = api_get(&node.api, &format!("/v1/proofs?{query}&height={height}"));
    assert_eq!(at["proofs"][0]["header"]["height"].as_u64(), Some(height));
    // A height past the prune window is gone (410), one above the tip not final (404).
    wait_for("the prune window to pass height 1", || {
        let tip = api_get(&node.api, "/v1/status")["tip"]["height"]
            .as_u64()
            .unwrap();
        (tip > height + 5).then_some(())
    });
    let (status, body) = api_get_any(&node.api, &format!("/v1/proofs?{query}&height={height}"));
    assert!(status.contains("410"), "{status} {body}");
    assert!(body.contains("height_pruned"), "{body}");
    let (status, body) = api_get_any(&node.api, &format!("/v1/proofs?{query}&height=999999999"));
    assert!(status.contains("404"), "{status} {body}");
    // Bounded: more keys than the limit, no key, a key that is not hex: 400.
    let many: Vec<String> = (0..=sigil_core::limits::MAX_PROOF_KEYS_PER_REQUEST)
        .map(|i| format!("key={}", hex::encode(keys::name(&format!("n{i}.sigil")))))
        .collect();
    for bad in [many.join("&"), String::new(), "key=zz".to_string()] {
        let (status, body) = api_get_any(&node.api, &format!("/v1/proofs?{bad}"));
        assert!(status.contains("400"), "{bad}: {status} {body}");
    }
}

#[test]
fn a_light_resolver_follows_a_validator_change_through_its_handoff() {
    let mut net = sigil_tests::network::Network::start(4);
    let keys_dir = net.dir.path().join("keys");
    let newcomer = sigil_core::types::Keypair::generate();
    let fifth = net.start_node_with_key(Some(&newcomer));
    let genesis = net.manifest.nodes[0].dir.join("genesis.json");
    let light_data = net.dir.path().join("light");
    net.wait_block(0, 1, Duration::from_secs(60));
    let resolver = Node::start_light(&light_data, &genesis, &[&net.node(0).api], &[]);
    // It trusts the genesis' four validators and answers from their proofs.
    let before = query(resolver.dns, "nobody.sigil.", RecordType::A, Transport::Udp);
    assert_eq!(
        before.metadata.response_code,
        ResponseCode::NXDomain,
        "{before:?}"
    );
    let status = api_get(&resolver.api, "/v1/status");
    assert_eq!(
        status["validators"]["validators"].as_array().unwrap().len(),
        4
    );

    // Three of four vote the newcomer in: from the next block, five validators sign.
    let newcomer_hex = newcomer.public().to_string();
    let mut changed_at = 0;
    for i in 0..3 {
        let pem = net.manifest.nodes[i].dir.join("validator.pem");
        let voted = ok_json(sigil(
            &net.node(i).api,
            &keys_dir,
            &[
                "--json",
                "--key",
                pem.to_str().unwrap(),
                "validators",
                "propose-add",
                &newcomer_hex,
            ],
        ));
        changed_at = voted["height"].as_u64().unwrap_or(0);
    }
    assert!(changed_at > 0);
    // The light resolver follows the handoff, signed by the old set, to the new set; saves
    // it; and answers from headers the new set signed.
    let status = wait_for("the light resolver to trust the new set", || {
        let status = api_get(&resolver.api, "/v1/status");
        let height = status["light"]["trusted_height"].as_u64().unwrap();
        let set = status["validators"]["validators"].as_array().unwrap().len();
        (height > changed_at + 1 && set == 5).then_some(status)
    });
    assert_eq!(status["light"]["fresh"], true, "{status}");
    let after = query(resolver.dns, "nobody.sigil.", RecordType::A, Transport::Tcp);
    assert_eq!(
        after.metadata.response_code,
        ResponseCode::NXDomain,
        "{after:?}"
    );
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(light_data.join("light-trust.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        saved["validators"]["validators"].as_array().unwrap().len(),
        5,
        "{saved}"
    );
    assert!(net.node(fifth).api.starts_with("http://"));
}
