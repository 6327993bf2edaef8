//! Certificates end to end with real processes: `sigil cert register/verify/revoke/list/fetch`
//! against `sigild --dev`, TLSA answers over UDP and TCP, a rustls server on loopback, and a
//! lying node (the `liar` proxy, forging an "active" answer for a revoked certificate) caught
//! by the CLI's own proof check.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hickory_proto::rr::RecordType;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
use sha2::{Digest, Sha256};
use sigil_core::state::{CertEntry, CertFacts};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Keypair, decode};
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::liar::{Liar, Mode};
use sigil_tests::txs::submit_final;
use sigil_tests::{Node, api_get, ok, ok_json, sigil};
use sigil_tools::devchain::{validator_pem, write_private};

struct Issued {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca() -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Sigil Test CA");
    let cert = params.self_signed(&key).unwrap();
    Issued { cert, key }
}

fn leaf(sans: &[&str], issuer: &Issued, from: i32, until: i32) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, sans[0]);
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(until, 1, 1);
    let cert = params.signed_by(&key, &issuer.cert, &issuer.key).unwrap();
    Issued { cert, key }
}

fn write(dir: &Path, file: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The fingerprint as `openssl x509 -fingerprint -sha256` prints it, computed here.
fn openssl_fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let pairs: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    format!("sha256 Fingerprint={}", pairs.join(":"))
}

fn sha256_hex(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Runs `sigil cert verify` and returns its exit code and stdout (JSON).
fn verify(node: &str, keys: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--json", "cert", "verify"];
    all.extend(args);
    let output = sigil(node, keys, &all);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tlsa(dns: SocketAddr, transport: Transport) -> Vec<String> {
    tlsa_of(dns, "example.sigil", transport)
}

/// The TLSA records of port 443 of `name`, sorted, lowercase.
fn tlsa_of(dns: SocketAddr, name: &str, transport: Transport) -> Vec<String> {
    let mut found = answers(&query(
        dns,
        &format!("_443._tcp.{name}."),
        RecordType::TLSA,
        transport,
    ));
    found.sort();
    found.iter().map(|s| s.to_lowercase()).collect()
}

#[test]
fn register_verify_revoke_list_and_tlsa_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let files = dir.path();
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(&keys, &["name", "register", "example.sigil"]));
    ok(node.sigil(&keys, &["name", "register", "other.sigil"]));

    let root = ca();
    let good = leaf(&["example.sigil", "*.example.sigil"], &root, 2024, 2100);
    let good_pem = write(files, "good.pem", good.cert.pem());
    let good_der = write(files, "good.der", good.cert.der());
    let chain = write(
        files,
        "chain.pem",
        format!("{}{}", good.cert.pem(), root.cert.pem()),
    );
    let reversed = write(
        files,
        "reversed.pem",
        format!("{}{}", root.cert.pem(), good.cert.pem()),
    );
    let unknown = write(
        files,
        "unknown.pem",
        leaf(&["example.sigil"], &root, 2024, 2100).cert.pem(),
    );
    let expired = write(
        files,
        "expired.pem",
        leaf(&["example.sigil"], &root, 2020, 2021).cert.pem(),
    );
    let future = write(
        files,
        "future.pem",
        leaf(&["example.sigil"], &root, 2090, 2100).cert.pem(),
    );

    // Bad input: clear errors, exit 2, nothing sent.
    let bad_cases: [(PathBuf, &str); 5] = [
        (
            write(files, "garbage.pem", "not a certificate at all"),
            "neither PEM",
        ),
        (
            write(files, "key.pem", good.key.serialize_pem()),
            "private key",
        ),
        (
            write(
                files,
                "cut.der",
                &good.cert.der()[..good.cert.der().len() / 2],
            ),
            "truncated",
        ),
        (reversed, "wrong order"),
        (
            write(
                files,
                "bank.pem",
                leaf(&["bank.sigil"], &root, 2024, 2100).cert.pem(),
            ),
            "belongs to `bank.sigil`",
        ),
    ];
    for (file, message) in &bad_cases {
        let out = node.sigil(
            &keys,
            &["cert", "register", "example.sigil", "--cert", path(file)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
        assert!(stderr.contains(message), "{}: `{stderr}`", file.display());
    }

    ok(node.sigil(
        &keys,
        &[
            "cert",
            "register",
            "example.sigil",
            "--cert",
            path(&good_pem),
        ],
    ));
    // Outside their window they are refused without --force (tests/tests/cli_records.rs).
    for file in [&expired, &future] {
        ok(node.sigil(
            &keys,
            &[
                "cert",
                "register",
                "example.sigil",
                "--cert",
                path(file),
                "--force",
            ],
        ));
    }

    // Every way of naming the registered certificate is valid.
    let fingerprint = openssl_fingerprint(good.cert.der());
    let by_hash = ["--sha256", fingerprint.as_str(), "--name", "example.sigil"];
    for args in [
        vec![path(&good_pem), "--name", "example.sigil"],
        vec![path(&good_der), "--name", "example.sigil"],
        vec![path(&chain), "--name", "example.sigil"],
        vec![path(&good_pem), "--name", "WWW.example.sigil."],
        by_hash.to_vec(),
    ] {
        let (code, json) = verify(&node.api, &keys, &args);
        assert_eq!(code, 0, "{args:?}: {json}");
        assert_eq!(json["valid"], true, "{json}");
        assert_eq!(json["cert_sha256"], sha256_hex(good.cert.der()), "{json}");
    }
    let human = ok(node.sigil(
        &keys,
        &["cert", "verify", path(&good_pem), "--name", "example.sigil"],
    ));
    assert!(human.starts_with("valid:"), "{human}");

    // Each way to fail, with its reason and exit 1.
    for (args, reason, message) in [
        (
            vec![path(&unknown), "--name", "example.sigil"],
            "unknown",
            "is not on the ledger",
        ),
        // Not registered under the name the host lies under (it is under another name).
        (
            vec![path(&good_pem), "--name", "other.sigil"],
            "unknown",
            "is not on the ledger for `other.sigil`",
        ),
        (
            vec![path(&good_pem), "--name", "example.com"],
            "outside_chain",
            "under none of the chain's top-level domains",
        ),
        (
            vec![path(&good_pem), "--name", "a.b.example.sigil"],
            "name_mismatch",
            "name mismatch",
        ),
        (
            vec![path(&expired), "--name", "example.sigil"],
            "expired",
            "expired",
        ),
        (
            vec![path(&future), "--name", "example.sigil"],
            "not_yet_valid",
            "not yet valid",
        ),
    ] {
        let (code, json) = verify(&node.api, &keys, &args);
        assert_eq!(code, 1, "{args:?}: {json}");
        assert_eq!(json["reason"], reason, "{json}");
        assert!(
            json["message"].as_str().unwrap().contains(message),
            "{json}"
        );
    }

    // TLSA for the active, valid certificate only, over both transports.
    let expected = {
        let parsed = sigil_ca_bridge::parse_der(good.cert.der()).unwrap();
        let mut e = vec![
            format!("3 1 1 {}", parsed.spki_sha256),
            format!("3 0 1 {}", parsed.cert_sha256),
        ];
        e.sort();
        e
    };
    for transport in [Transport::Udp, Transport::Tcp] {
        assert_eq!(tlsa(node.dns, transport), expected, "{transport:?}");
    }

    // Revoke: verification fails with the height and reason, TLSA is gone at once.
    let revoked = ok_json(node.sigil(
        &keys,
        &[
            "--json",
            "cert",
            "revoke",
            "example.sigil",
            "--cert",
            path(&good_pem),
            "--reason",
            "key-compromise",
        ],
    ));
    let height = revoked["height"].as_u64().unwrap();
    let (code, json) = verify(&node.api, &keys, &by_hash);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "revoked");
    assert_eq!(
        json["message"],
        format!("revoked at height {height} (key-compromise)")
    );
    for transport in [Transport::Udp, Transport::Tcp] {
        assert!(tlsa(node.dns, transport).is_empty(), "{transport:?}");
    }

    let listed = ok_json(node.sigil(&keys, &["--json", "cert", "list", "example.sigil"]));
    let statuses: Vec<&str> = listed["certs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            format!("revoked at height {height} (key-compromise)").as_str(),
            "expired",
            "not yet valid"
        ]
    );
    let human = ok(node.sigil(&keys, &["cert", "list", "example.sigil"]));
    assert!(human.contains(&sha256_hex(good.cert.der())), "{human}");

    // A certificate registered by the previous owner stops speaking for a transferred name.
    let moved = leaf(&["other.sigil"], &root, 2024, 2100);
    let moved_pem = write(files, "moved.pem", moved.cert.pem());
    ok(node.sigil(
        &keys,
        &[
            "cert",
            "register",
            "other.sigil",
            "--cert",
            path(&moved_pem),
        ],
    ));
    ok(node.sigil(&keys, &["key", "new", "bob"]));
    ok(node.sigil(
        &keys,
        &[
            "--key",
            "alice",
            "name",
            "transfer",
            "other.sigil",
            "--to",
            "bob",
        ],
    ));
    let (code, json) = verify(
        &node.api,
        &keys,
        &[path(&moved_pem), "--name", "other.sigil"],
    );
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "wrong_owner", "{json}");
}

/// A TLS server on loopback presenting `leaf` and `issuer`.
fn tls_server(leaf: &Issued, issuer: &Issued) -> SocketAddr {
    sigil_tests::tls::server(
        vec![leaf.cert.der().clone(), issuer.cert.der().clone()],
        leaf.key.serialize_der(),
    )
}

#[test]
fn fetch_checks_a_live_server_against_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(&keys, &["name", "register", "example.sigil"]));
    let root = ca();
    let server = leaf(&["example.sigil"], &root, 2024, 2100);
    let pem = write(dir.path(), "server.pem", server.cert.pem());
    let addr = tls_server(&server, &root).to_string();
    let fetch = |target: &str| {
        let out = node.sigil(
            &keys,
            &["--json", "cert", "fetch", target, "--connect", &addr],
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let json: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), json)
    };

    let (code, json) = fetch("example.sigil:443");
    assert_eq!(code, Some(1), "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("unknown"),
        "{json}"
    );

    ok(node.sigil(
        &keys,
        &["cert", "register", "example.sigil", "--cert", path(&pem)],
    ));
    let (code, json) = fetch("example.sigil:443");
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["cert_sha256"], sha256_hex(server.cert.der()));

    let (code, json) = fetch("other.sigil:443");
    assert_eq!(code, Some(1), "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("not on the ledger for `other.sigil`"),
        "{json}"
    );

    ok(node.sigil(
        &keys,
        &[
            "cert",
            "revoke",
            "example.sigil",
            "--cert",
            path(&pem),
            "--reason",
            "superseded",
        ],
    ));
    let (code, json) = fetch("example.sigil:443");
    assert_eq!(code, Some(1), "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("(superseded)"),
        "{json}"
    );
}

#[test]
fn a_node_forging_an_active_answer_for_a_revoked_certificate_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(&keys, &["name", "register", "example.sigil"]));
    let root = ca();
    let server = leaf(&["example.sigil"], &root, 2024, 2100);
    let pem = write(dir.path(), "server.pem", server.cert.pem());
    ok(node.sigil(
        &keys,
        &["cert", "register", "example.sigil", "--cert", path(&pem)],
    ));
    ok(node.sigil(
        &keys,
        &[
            "cert",
            "revoke",
            "example.sigil",
            "--cert",
            path(&pem),
            "--reason",
            "key-compromise",
        ],
    ));
    let sha = sha256_hex(server.cert.der());
    // A liar in front of the node drops the revocation from the certificate's proven entry.
    let liar = Liar::start(&node.api, Mode::ChangedValue);
    let proven = |api: &str| -> CertEntry {
        let answer = api_get(api, &format!("/v1/names/example.sigil/certs/{sha}/proof"));
        decode(&hex::decode(answer["cert"]["value"].as_str().unwrap()).unwrap()).unwrap()
    };
    assert!(proven(&node.api).revoked.is_some());
    assert!(
        proven(&liar.api).revoked.is_none(),
        "the liar forges an active entry"
    );
    let args = [path(&pem), "--name", "example.sigil"];

    // Through the liar: the forged entry does not match the signed state root.
    let (code, json) = verify(&liar.api, &keys, &args);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["valid"], false, "{json}");
    assert_eq!(json["reason"], "unproven", "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("does not match the signed state root"),
        "{json}"
    );
    // Through the honest node: revoked, as the ledger says.
    let (code, json) = verify(&node.api, &keys, &args);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "revoked", "{json}");
}

#[test]
fn an_authorized_issuer_registers_a_batch_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(&keys, &["key", "new", "ca"]));
    for name in ["example.sigil", "shop.sigil"] {
        ok(node.sigil(&keys, &["--key", "alice", "name", "register", name]));
    }
    let root = ca();
    let files: Vec<PathBuf> = ["example.sigil", "www.shop.sigil"]
        .iter()
        .enumerate()
        .map(|(i, san)| {
            let cert = leaf(&[san], &root, 2024, 2100);
            write(dir.path(), &format!("{i}.pem"), cert.cert.pem())
        })
        .collect();
    let batch = |key: &str| {
        let mut args = vec!["--key", key, "cert", "batch"];
        args.extend(files.iter().map(|f| path(f)));
        node.sigil(&keys, &args)
    };

    // Not yet authorized: the whole batch is refused, nothing registered.
    let refused = batch("ca");
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("may not manage the certificates"),
        "{stderr}"
    );

    for name in ["example.sigil", "shop.sigil"] {
        ok(node.sigil(
            &keys,
            &[
                "--key",
                "alice",
                "cert",
                "authorize",
                name,
                "--issuer",
                "ca",
            ],
        ));
    }
    let done = ok(batch("ca"));
    assert!(done.contains("registered 2 certificate(s)"), "{done}");
    let (code, json) = verify(
        &node.api,
        &keys,
        &[path(&files[1]), "--name", "www.shop.sigil"],
    );
    assert_eq!(code, 0, "{json}");

    ok(node.sigil(
        &keys,
        &[
            "--key",
            "ca",
            "cert",
            "revoke",
            "shop.sigil",
            "--cert",
            path(&files[1]),
            "--reason",
            "ca-compromise",
        ],
    ));
    let (code, json) = verify(
        &node.api,
        &keys,
        &[path(&files[1]), "--name", "www.shop.sigil"],
    );
    assert_eq!(code, 1, "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("(ca-compromise)"),
        "{json}"
    );

    // Withdrawn, the issuer can no longer revoke.
    ok(node.sigil(
        &keys,
        &[
            "--key",
            "alice",
            "cert",
            "deauthorize",
            "example.sigil",
            "--issuer",
            "ca",
        ],
    ));
    let out = node.sigil(
        &keys,
        &[
            "--key",
            "ca",
            "cert",
            "revoke",
            "example.sigil",
            "--cert",
            path(&files[0]),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let (code, _) = verify(
        &node.api,
        &keys,
        &[path(&files[0]), "--name", "example.sigil"],
    );
    assert_eq!(code, 0);
}

/// A certificate squatter: another name's owner learns the victim's certificate from the
/// victim's TLS server before the victim registers it, registers its hash under the squatter's
/// own name and revokes it for key compromise. The victim's certificate is untouched: the
/// victim registers it, `cert verify` and a TLS handshake through the ledger verifier accept
/// it, and the victim's TLSA records come from its own entries alone.
#[test]
fn a_certificate_hash_squatted_under_another_name_leaves_the_victims_certificate_alone() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "victim"]));
    ok(node.sigil(&keys, &["name", "register", "victim.sigil"]));
    // The squatter: its own key and name.
    let mallory = Keypair::generate();
    let mallory_pem = dir.path().join("mallory.pem");
    write_private(&mallory_pem, validator_pem(&mallory).unwrap().as_bytes()).unwrap();
    let as_mallory = |args: &[&str]| {
        let mut all = vec!["--key", path(&mallory_pem)];
        all.extend(args);
        node.sigil(&keys, &all)
    };
    ok(as_mallory(&["name", "register", "evil.sigil"]));

    // The victim's server is up before its certificate is on the ledger.
    let root = ca();
    let server = leaf(&["victim.sigil", "*.victim.sigil"], &root, 2024, 2100);
    let pem = write(dir.path(), "victim.pem", server.cert.pem());
    let addr = tls_server(&server, &root).to_string();
    let fetch = |args: Vec<&str>| {
        let out = node.sigil(&keys, &args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let json: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), json)
    };

    // The squatter reads the certificate's hash from a handshake with the victim's server ...
    let (code, seen) = fetch(vec![
        "--key",
        path(&mallory_pem),
        "--json",
        "cert",
        "fetch",
        "victim.sigil:443",
        "--connect",
        &addr,
    ]);
    assert_eq!(code, Some(1), "not on the ledger yet: {seen}");
    let sha_hex = seen["cert_sha256"]
        .as_str()
        .expect("the presented certificate");
    assert_eq!(sha_hex, sha256_hex(server.cert.der()));
    let sha: Hash = sha_hex.parse().unwrap();
    // ... registers it under its own name (the ledger checks the names, never the hash) ...
    let squatted = CertFacts {
        name: "evil.sigil".into(),
        cert_sha256: sha,
        spki_sha256: sha,
        not_before: 1_700_000_000,
        not_after: 4_000_000_000,
        sans: vec!["evil.sigil".into()],
    };
    submit_final(
        &node.api,
        &node.chain_id,
        &mallory,
        Op::CertRegister { cert: squatted },
    );
    // ... and revokes it for key compromise.
    ok(as_mallory(&[
        "cert",
        "revoke",
        "evil.sigil",
        "--sha256",
        sha_hex,
        "--reason",
        "key-compromise",
    ]));

    // The victim registers its certificate and every check says valid.
    ok(node.sigil(
        &keys,
        &["cert", "register", "victim.sigil", "--cert", path(&pem)],
    ));
    // Found from its fingerprint alone: both names, each with its own standing there.
    let listed = sigil_tests::api_get(&node.api, &format!("/v1/certs/{sha_hex}"));
    let standing: Vec<(&str, bool)> = listed["certs"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        standing,
        [("evil.sigil", false), ("victim.sigil", true)],
        "{listed}"
    );
    let unknown = sigil_tests::api_get(&node.api, &format!("/v1/certs/{}", "ab".repeat(32)));
    assert_eq!(unknown["certs"], serde_json::json!([]), "{unknown}");
    let expected = {
        let parsed = sigil_ca_bridge::parse_der(server.cert.der()).unwrap();
        let mut e = vec![
            format!("3 1 1 {}", parsed.spki_sha256),
            format!("3 0 1 {}", parsed.cert_sha256),
        ];
        e.sort();
        e
    };
    let victim_sees = |when: &str| {
        for name in ["victim.sigil", "www.victim.sigil"] {
            let (code, json) = verify(&node.api, &keys, &[path(&pem), "--name", name]);
            assert_eq!(code, 0, "{when}, {name}: {json}");
            assert_eq!(json["valid"], true, "{when}: {json}");
        }
        let (code, json) = fetch(vec![
            "--json",
            "cert",
            "fetch",
            "victim.sigil:443",
            "--connect",
            &addr,
        ]);
        assert_eq!(code, Some(0), "{when}: {json}");
        assert_eq!(json["valid"], true, "{when}: {json}");
        for transport in [Transport::Udp, Transport::Tcp] {
            assert_eq!(
                tlsa_of(node.dns, "victim.sigil", transport),
                expected,
                "{when}"
            );
            assert!(
                tlsa_of(node.dns, "evil.sigil", transport).is_empty(),
                "{when}: the squatter's revoked entry publishes nothing"
            );
        }
    };
    victim_sees("after the squat");

    // The squatter cannot reach the victim's entry either.
    let out = as_mallory(&[
        "cert",
        "revoke",
        "victim.sigil",
        "--sha256",
        sha_hex,
        "--reason",
        "key-compromise",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    victim_sees("after the squatter's revocation attempt");
}
