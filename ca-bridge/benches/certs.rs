//! Certificate measurements, recorded in BENCHMARKS.md, in one run:
//!
//! `cargo bench -p sigil-ca-bridge --bench certs -- [VERIFICATIONS] [HANDSHAKES]`
//!
//! - certificate verifications per second through the CLI's library path: the node's proof of
//!   the certificate and its name (`Ledger::prove_cert`, sent as JSON as over HTTP), checked
//!   against the trusted validators (`verify_cert_proof`) and judged (`judge`); and the client
//!   side alone on a fetched answer;
//! - full TLS 1.3 handshakes per second on loopback (no resumption), with the plain WebPKI
//!   verifier, the ledger verifier alone, and the ledger verifier on top of WebPKI.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::{Chain, ca, connect, leaf, provider, serve};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::{ClientConfig, RootCertStore};
use sigil_ca_bridge::{LedgerVerifier, judge, parse_der, verify_cert_proof};
use sigil_core::proof::CertProof;
use sigil_core::tx::Op;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let verifications = args.first().copied().unwrap_or(20_000);
    let handshakes = args.get(1).copied().unwrap_or(2_000);

    let mut chain = Chain::start();
    let root = ca("Bench CA");
    let server = leaf(&["example.sigil"], &root);
    let facts = parse_der(server.cert.der()).unwrap().facts("example.sigil");
    let sha = facts.cert_sha256;
    chain.send(Op::CertRegister { cert: facts }).unwrap();
    // Some unrelated certificates so the tree is not trivially small.
    for _ in 0..200 {
        let other = leaf(&["example.sigil"], &root);
        let f = parse_der(other.cert.der()).unwrap().facts("example.sigil");
        let op = Op::CertRevoke {
            name: "example.sigil".into(),
            cert_sha256: f.cert_sha256,
            reason: sigil_core::state::RevocationReason::Superseded,
        };
        chain.send(Op::CertRegister { cert: f }).unwrap();
        chain.send(op).unwrap();
    }
    let trusted = chain.ledger.validators().unwrap();
    let tlds = vec!["sigil".to_string()];
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    println!("certs bench: {verifications} verifications, {handshakes} handshakes per verifier");

    // Whole library path: prove at the node, JSON over the wire, check and judge.
    let start = Instant::now();
    let mut json_bytes = 0;
    for _ in 0..verifications {
        let json =
            serde_json::to_vec(&chain.ledger.prove_cert("example.sigil", &sha).unwrap()).unwrap();
        json_bytes = json.len();
        let answer: CertProof = serde_json::from_slice(&json).unwrap();
        let proven =
            verify_cert_proof(&answer, "example.sigil", &sha, common::CHAIN, &trusted).unwrap();
        judge(&proven, "example.sigil", &tlds, now).unwrap();
    }
    let whole = start.elapsed();
    println!(
        "verify, node proof + JSON + client check: {:.0}/s ({:.1} µs each, answer {json_bytes} bytes)",
        verifications as f64 / whole.as_secs_f64(),
        whole.as_secs_f64() * 1e6 / verifications as f64
    );

    // Client side alone: check the proofs and judge an answer already fetched.
    let answer = chain.ledger.prove_cert("example.sigil", &sha).unwrap();
    let start = Instant::now();
    for _ in 0..verifications {
        let proven =
            verify_cert_proof(&answer, "example.sigil", &sha, common::CHAIN, &trusted).unwrap();
        judge(&proven, "example.sigil", &tlds, now).unwrap();
    }
    let client = start.elapsed();
    println!(
        "verify, client check of a fetched answer: {:.0}/s ({:.1} µs each)",
        verifications as f64 / client.as_secs_f64(),
        client.as_secs_f64() * 1e6 / verifications as f64
    );

    // TLS handshakes.
    let addr = serve(&server, &root);
    let mut roots = RootCertStore::empty();
    roots.add(root.der()).unwrap();
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let config = |verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>| {
        let mut c = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        c.resumption = Resumption::disabled();
        Arc::new(c)
    };
    // The bench chain stamps its blocks at unix time 0: proofs of any age are taken.
    let ledger = Arc::new(LedgerVerifier::new(chain.source(), provider(), u64::MAX));
    let both = Arc::new(
        LedgerVerifier::new(chain.source(), provider(), u64::MAX).on_top_of(webpki.clone()),
    );
    for (label, verifier) in [
        (
            "webpki",
            webpki.clone() as Arc<dyn rustls::client::danger::ServerCertVerifier>,
        ),
        ("ledger", ledger),
        ("ledger on webpki", both),
    ] {
        let config = config(verifier);
        // Warm up.
        for _ in 0..20 {
            connect(config.clone(), addr, "example.sigil").unwrap();
        }
        let start = Instant::now();
        for _ in 0..handshakes {
            connect(config.clone(), addr, "example.sigil").unwrap();
        }
        let took = start.elapsed();
        println!(
            "TLS handshakes, {label}: {:.0}/s ({:.0} µs each)",
            handshakes as f64 / took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / handshakes as f64
        );
    }
}
