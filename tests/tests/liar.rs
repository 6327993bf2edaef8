//! Every lie of a lying peer is refused by the CLI's proof checks, with the failed step named:
//! a dev `sigild`, the `liar` proxy in front of it in each mode, and the `sigil` commands that
//! check proofs (`proof name`, `cert verify`, `cert fetch` against a TLS server on loopback,
//! `proof balance`, `proof identity`, `proof subscription`) run through the proxy. The honest mode, the control,
//! verifies with the same commands.

use std::net::SocketAddr;
use std::path::Path;

use rcgen::{CertificateParams, DnType, KeyPair, date_time_ymd};
use sha2::{Digest, Sha256};
use sigil_tests::liar::{Liar, Mode};
use sigil_tests::{Node, api_get, company, ok, sigil};

/// The offering the subscriptions are proven in.
const OFFERING: &str = "seed-2027";
/// A second name, whose proofs the other-key liar serves for [`company::NAME`]'s.
const OTHER: &str = "other.sigil";

/// A proof-checking command, as run against a node.
struct Check {
    what: &'static str,
    args: Vec<String>,
    /// Its exit code when the node's validators cannot be trusted: 1 (a negative answer) for
    /// the checks that report it as their result, 2 (an error) for `cert fetch`, which stops
    /// before it connects.
    untrusted_exit: i32,
}

/// What [`chain`] set up.
struct Chain {
    /// The fingerprint of `acme.sigil`'s certificate.
    cert: String,
    /// The fingerprint of `other.sigil`'s certificate.
    other_cert: String,
    /// A TLS server presenting `acme.sigil`'s certificate.
    tls: SocketAddr,
}

/// Registers [`company::NAME`] (with an A record) and [`OTHER`], a certificate for each, the
/// company with holders `h-0001` and `h-0002`, shares for both, and a subscription of each to
/// [`OFFERING`]; an identity `portal` beside [`company::ADMIN`]; all through the honest node,
/// whose validators the keystore then pins. Starts a TLS server with `acme.sigil`'s
/// certificate.
fn chain(node: &Node, keys: &Path, dir: &Path) -> Chain {
    let sigil = |args: &[&str]| node.sigil(keys, args);
    company::create(
        sigil,
        &company::Setup {
            classes: &["common"],
            holders: &[("h-0001", "h1"), ("h-0002", "h2")],
            keys: &["portal-on", "portal-off"],
        },
    );
    ok(sigil(&[
        "--key",
        "owner",
        "name",
        "register",
        OTHER,
        "--a",
        "192.0.2.8",
    ]));
    let mut fingerprints = Vec::new();
    let mut tls = None;
    for name in [company::NAME, OTHER] {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.not_before = date_time_ymd(2024, 1, 1);
        params.not_after = date_time_ymd(2100, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        let pem = dir.join(format!("{name}.pem"));
        std::fs::write(&pem, cert.pem()).unwrap();
        ok(sigil(&[
            "cert",
            "register",
            name,
            "--cert",
            pem.to_str().unwrap(),
        ]));
        fingerprints.push(hex::encode(Sha256::digest(cert.der())));
        tls.get_or_insert_with(|| {
            sigil_tests::tls::server(vec![cert.der().clone()], key.serialize_der())
        });
    }
    for holder in ["h-0001", "h-0002"] {
        ok(sigil(&[
            "shares",
            "issue",
            company::NAME,
            "--class",
            "common",
            "--to",
            holder,
            "--amount",
            "1000",
        ]));
    }
    company::identity(sigil, "portal", "portal-on", "portal-off");
    let terms = dir.join("terms.pdf");
    std::fs::write(&terms, b"the terms").unwrap();
    ok(sigil(&[
        "offering",
        "open",
        company::NAME,
        "--id",
        OFFERING,
        "--class",
        "common",
        "--shares-min",
        "100",
        "--shares-max",
        "500",
        "--investor-max",
        "400",
        "--max-investors",
        "10",
        "--closes-in-blocks",
        "100000",
        "--terms",
        terms.to_str().unwrap(),
        "--platform",
        "portal",
        "--lockup-blocks",
        "100000",
        "--price",
        "1.00 EUR",
    ]));
    ok(sigil(&["offering", "approve", company::NAME, OFFERING]));
    for holder in ["h-0001", "h-0002"] {
        ok(sigil(&[
            "offering",
            "subscribe",
            company::NAME,
            OFFERING,
            "--holder",
            holder,
            "--shares",
            "100",
        ]));
    }
    // A proof checked against the node pins its validators: the keystore trusts them from now
    // on, whatever a liar reports later.
    ok(sigil(&["proof", "name", company::NAME]));
    let other_cert = fingerprints.pop().unwrap();
    Chain {
        cert: fingerprints.pop().unwrap(),
        other_cert,
        tls: tls.unwrap(),
    }
}

/// Runs `check` through `node` with `--json` (and `extra` arguments); returns its exit code and
/// its JSON answer.
fn run(node: &str, keys: &Path, check: &Check, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["--json"];
    args.extend(check.args.iter().map(String::as_str));
    args.extend(extra);
    let output = sigil(node, keys, &args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // A failed command (exit 2) says why as `{"error": {"message"}}`.
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {stdout}\nstderr: {}",
            check.what,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

/// The answer says the proof verified.
fn assert_verified(mode: Mode, check: &Check, code: i32, json: &serde_json::Value) {
    let verified = json["verified"] == true || json["valid"] == true;
    assert!(
        code == 0 && verified,
        "{} through a {} liar: exit {code}: {json}",
        check.what,
        mode.as_str()
    );
}

/// The answer refuses the proof (exit `code_expected`, nothing verified) and its reason holds
/// every one of `needles`.
fn assert_refused(
    mode: Mode,
    check: &Check,
    (code, json): (i32, serde_json::Value),
    code_expected: i32,
    needles: &[&str],
) {
    let context = format!(
        "{} through a {} liar: exit {code}: {json}",
        check.what,
        mode.as_str()
    );
    assert_eq!(code, code_expected, "{context}");
    assert_ne!(json["verified"], true, "{context}");
    assert_ne!(json["valid"], true, "{context}");
    let reason = json["error"]
        .as_str()
        .or(json["error"]["message"].as_str())
        .or(json["message"].as_str())
        .unwrap_or_else(|| panic!("no reason: {context}"));
    for needle in needles {
        assert!(reason.contains(needle), "`{needle}` not said: {context}");
    }
}

#[test]
fn every_lie_of_a_lying_peer_is_refused_and_the_honest_peer_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    // The node sees the test, the CLI and the liar as one client on loopback, asking far above
    // a client's default rate for proofs and status.
    let config = dir.path().join("sigil.toml");
    std::fs::write(&config, "api_expensive_per_sec = 100000\n").unwrap();
    let node = Node::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let chain = chain(&node, &keys, dir.path());
    let company_id = "acme";
    // An identity that does not exist is proven absent (exit 1), not refused.
    let absent = sigil(&node.api, &keys, &["--json", "proof", "identity", "nobody"]);
    assert_eq!(absent.status.code(), Some(1));
    let absent: serde_json::Value = serde_json::from_slice(&absent.stdout).unwrap();
    assert_eq!(absent["verified"], true, "{absent}");
    assert!(absent.get("identity").is_none(), "{absent}");
    let server = format!("{}:443", company::NAME);
    let checks = [
        Check {
            what: "proof name",
            args: vec!["proof".into(), "name".into(), company::NAME.into()],
            untrusted_exit: 1,
        },
        Check {
            what: "cert verify",
            args: [
                "cert",
                "verify",
                "--sha256",
                &chain.cert,
                "--name",
                company::NAME,
            ]
            .map(String::from)
            .to_vec(),
            untrusted_exit: 1,
        },
        Check {
            what: "cert fetch",
            args: [
                "cert",
                "fetch",
                &server,
                "--connect",
                &chain.tls.to_string(),
            ]
            .map(String::from)
            .to_vec(),
            untrusted_exit: 2,
        },
        Check {
            what: "proof balance",
            args: [
                "proof",
                "balance",
                company::NAME,
                "--class",
                "common",
                "--holder",
                "h-0001",
            ]
            .map(String::from)
            .to_vec(),
            untrusted_exit: 1,
        },
        Check {
            what: "proof identity",
            args: ["proof", "identity", company::ADMIN]
                .map(String::from)
                .to_vec(),
            untrusted_exit: 1,
        },
        Check {
            what: "proof subscription",
            args: [
                "proof",
                "subscription",
                company::NAME,
                OFFERING,
                "--holder",
                "h-0001",
            ]
            .map(String::from)
            .to_vec(),
            untrusted_exit: 1,
        },
    ];
    // The same questions about the other name, identity, holder and subscription: what an
    // other-key liar serves instead.
    let learn = [
        format!("/v1/names/{OTHER}/proof"),
        "/v1/identities/portal/proof".to_string(),
        format!("/v1/names/{OTHER}/certs/{}/proof", chain.other_cert),
        format!("/v1/companies/{company_id}/holders/h-0002/balances/common/proof"),
        format!("/v1/companies/{company_id}/offerings/{OFFERING}/subscriptions/h-0002/proof"),
    ];
    let learn: Vec<&str> = learn.iter().map(String::as_str).collect();

    for mode in Mode::ALL {
        let liar = Liar::start_learning(&node.api, mode, &learn);
        let refused_because: &[&str] = match mode {
            Mode::Honest => {
                for check in &checks {
                    let (code, json) = run(&liar.api, &keys, check, &[]);
                    assert_verified(mode, check, code, &json);
                }
                continue;
            }
            Mode::ChangedValue | Mode::FalseAbsence => &["does not match the signed state root"],
            Mode::OtherKey => &["a proof of another key than"],
            Mode::RogueSigner => &["reports validator set", "is not signed by the trusted set"],
            Mode::RogueProofs => &["the proof is signed by validator set"],
            Mode::ForgedLog => unreachable!("not in Mode::ALL: it leaves proofs true"),
            Mode::ReplayOld => {
                // The first answers are the node's own, fresh; the liar keeps them.
                for check in &checks {
                    let (code, json) = run(&liar.api, &keys, check, &[]);
                    assert_verified(mode, check, code, &json);
                }
                // Past `--max-age 1` with a second to spare: `cert fetch` reads the clock in
                // whole seconds (rustls' time), so an age may count up to a second short.
                wait_for_chain_time(&node.api, 3_500);
                &["stale: the proof is of block"]
            }
        };
        let extra: &[&str] = if mode == Mode::ReplayOld {
            &["--max-age", "1"]
        } else {
            &[]
        };
        for check in &checks {
            let answer = run(&liar.api, &keys, check, extra);
            let code = match mode {
                Mode::RogueSigner => check.untrusted_exit,
                _ => 1,
            };
            assert_refused(mode, check, answer, code, refused_because);
        }
    }
}

/// Waits, block by block, until the chain's clock is more than `ms` past its tip's time now.
fn wait_for_chain_time(api: &str, ms: u64) {
    let from = api_get(api, "/v1/status")["tip"]["time_ms"]
        .as_u64()
        .unwrap();
    loop {
        let tip = &api_get(api, "/v1/status")["tip"];
        if tip["time_ms"].as_u64().unwrap() > from + ms {
            return;
        }
        let next = tip["height"].as_u64().unwrap() + 1;
        api_get(api, &format!("/v1/blocks/{next}?wait_ms=10000"));
    }
}
