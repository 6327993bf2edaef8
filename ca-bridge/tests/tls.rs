//! Real TLS handshakes on loopback (rustls server, rustls client) with the ledger verifier:
//! registered certificates pass; unregistered, revoked, expired ones and certificates for another
//! name fail with their reason; revocation takes effect with the next block; on top of WebPKI
//! both checks must pass.

mod common;

use std::sync::Arc;

use common::{Chain, ca, client, connect, leaf, leaf_valid, provider, serve};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use sigil_ca_bridge::{DEFAULT_MAX_PROOF_AGE_SECS, LedgerVerifier, handshake_error, parse_der};
use sigil_core::state::RevocationReason;
use sigil_core::tx::Op;

fn register(chain: &mut Chain, issued: &common::Issued, name: &str) {
    let facts = parse_der(issued.cert.der()).unwrap().facts(name);
    assert_eq!(chain.send(Op::CertRegister { cert: facts }), Ok(()));
}

fn ledger_only(chain: &Chain) -> Arc<rustls::ClientConfig> {
    client(Arc::new(verifier(chain)))
}

/// A ledger verifier that takes proofs of any age: the test chain stamps its blocks at unix
/// time 0 (the age limit has its own test).
fn verifier(chain: &Chain) -> LedgerVerifier {
    LedgerVerifier::new(chain.source(), provider(), u64::MAX)
}

fn refused(result: Result<String, rustls::Error>, reason: &str) {
    match result {
        Ok(_) => panic!("the handshake succeeded; expected it to fail with `{reason}`"),
        Err(e) => {
            let said = handshake_error(&e);
            assert!(said.contains(reason), "`{said}` does not say `{reason}`")
        }
    }
}

#[test]
fn a_registered_certificate_passes_and_fails_from_the_block_that_revokes_it() {
    let mut chain = Chain::start();
    let root = ca("Sigil Test CA");
    let server = leaf(&["example.sigil", "*.example.sigil"], &root);
    let addr = serve(&server, &root);

    let config = ledger_only(&chain);
    refused(
        connect(config.clone(), addr, "example.sigil"),
        "unknown: certificate",
    );

    register(&mut chain, &server, "example.sigil");
    assert_eq!(
        connect(config.clone(), addr, "example.sigil").unwrap(),
        "ok"
    );
    assert_eq!(
        connect(config.clone(), addr, "www.example.sigil").unwrap(),
        "ok"
    );
    // The wildcard stands for one label only; the certificate is not for the other name.
    refused(
        connect(config.clone(), addr, "a.b.example.sigil"),
        "name mismatch",
    );
    // Under another name the ledger has no entry for it.
    refused(
        connect(config.clone(), addr, "other.sigil"),
        "unknown: certificate",
    );

    let sha = parse_der(server.cert.der()).unwrap().cert_sha256;
    let op = Op::CertRevoke {
        name: "example.sigil".into(),
        cert_sha256: sha,
        reason: RevocationReason::KeyCompromise,
    };
    assert_eq!(chain.send(op), Ok(()));
    let height = chain.ledger.tip().height;
    refused(
        connect(config, addr, "example.sigil"),
        &format!("revoked at height {height} (key-compromise)"),
    );
}

#[test]
fn an_expired_certificate_fails_though_registered() {
    let mut chain = Chain::start();
    let root = ca("Sigil Test CA");
    let server = leaf_valid(&["example.sigil"], &root, 2020, 2021);
    register(&mut chain, &server, "example.sigil");
    let addr = serve(&server, &root);
    refused(
        connect(ledger_only(&chain), addr, "example.sigil"),
        "expired",
    );
}

#[test]
fn an_expired_certificate_fails_though_the_ledger_claims_a_longer_validity() {
    let mut chain = Chain::start();
    let root = ca("Sigil Test CA");
    let server = leaf_valid(&["example.sigil"], &root, 2020, 2021);
    // The registrant states the window; this one claims the certificate is good until 2100.
    let mut facts = parse_der(server.cert.der()).unwrap().facts("example.sigil");
    facts.not_after = 4_102_444_800;
    assert_eq!(chain.send(Op::CertRegister { cert: facts }), Ok(()));
    let addr = serve(&server, &root);
    refused(
        connect(ledger_only(&chain), addr, "example.sigil"),
        "expired",
    );
}

#[test]
fn a_certificate_not_yet_valid_fails_though_registered() {
    let mut chain = Chain::start();
    let root = ca("Sigil Test CA");
    let server = leaf_valid(&["example.sigil"], &root, 2090, 2100);
    register(&mut chain, &server, "example.sigil");
    let addr = serve(&server, &root);
    refused(
        connect(ledger_only(&chain), addr, "example.sigil"),
        "not yet valid",
    );
}

#[test]
fn a_verifier_with_a_proof_age_limit_refuses_an_old_block() {
    let mut chain = Chain::start();
    let root = ca("Sigil Test CA");
    let server = leaf(&["example.sigil"], &root);
    register(&mut chain, &server, "example.sigil");
    let addr = serve(&server, &root);
    // The test chain stamps its blocks at unix time 0: decades old by the handshake's clock.
    let verifier = LedgerVerifier::new(chain.source(), provider(), DEFAULT_MAX_PROOF_AGE_SECS);
    refused(
        connect(client(Arc::new(verifier)), addr, "example.sigil"),
        "stale",
    );
}

#[test]
fn on_top_of_webpki_both_must_accept() {
    let mut chain = Chain::start();
    let root = ca("Sigil Test CA");
    let stranger = ca("Unknown CA");
    let server = leaf(&["example.sigil"], &root);
    let unregistered = leaf(&["example.sigil"], &root);
    let untrusted = leaf(&["example.sigil"], &stranger);
    register(&mut chain, &server, "example.sigil");
    register(&mut chain, &untrusted, "example.sigil");

    let mut roots = RootCertStore::empty();
    roots.add(root.der()).unwrap();
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let verifier = verifier(&chain).on_top_of(webpki.clone());
    let both = client(Arc::new(verifier));

    assert_eq!(
        connect(both.clone(), serve(&server, &root), "example.sigil").unwrap(),
        "ok"
    );
    refused(
        connect(both.clone(), serve(&unregistered, &root), "example.sigil"),
        "unknown: certificate",
    );
    // On the ledger, but WebPKI does not know its issuer.
    refused(
        connect(both, serve(&untrusted, &stranger), "example.sigil"),
        "UnknownIssuer",
    );
    // The plain WebPKI client, for comparison, accepts the unregistered certificate.
    let plain = client(webpki);
    assert_eq!(
        connect(plain, serve(&unregistered, &root), "example.sigil").unwrap(),
        "ok"
    );
}
