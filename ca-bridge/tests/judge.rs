//! The client's checks of a node's answer about a certificate (every way a node can lie or
//! mix up its proofs) and the judgement of a proven certificate.

mod common;

use common::{CHAIN, Chain, ca, leaf};
use sigil_ca_bridge::{Error, Refusal, check_fresh, judge, parse_der, verify_cert_proof};
use sigil_core::state::{CertEntry, ValidatorSet};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Keypair, decode, encode};

const NOW: i64 = 1_800_000_000; // 2027

fn registered() -> (Chain, Hash) {
    let mut chain = Chain::start();
    let root = ca("CA");
    let server = leaf(&["example.sigil"], &root);
    let facts = parse_der(server.cert.der()).unwrap().facts("example.sigil");
    let sha = facts.cert_sha256;
    chain.send(Op::CertRegister { cert: facts }).unwrap();
    (chain, sha)
}

fn proof_error(result: Result<sigil_ca_bridge::Proven, Error>, says: &str) {
    match result {
        Err(e @ (Error::Proof(_) | Error::ProofMismatch(_))) => {
            let detail = e.to_string();
            assert!(detail.contains(says), "`{detail}` lacks `{says}`")
        }
        other => panic!("expected a proof error saying `{says}`, got {other:?}"),
    }
}

#[test]
fn an_honest_answer_is_proven_and_judged() {
    let (chain, sha) = registered();
    let trusted = chain.ledger.validators().unwrap();
    let answer = chain.ledger.prove_cert("example.sigil", &sha).unwrap();
    let proven = verify_cert_proof(&answer, "example.sigil", &sha, CHAIN, &trusted).unwrap();
    assert_eq!(proven.height, chain.ledger.tip().height);
    assert_eq!(proven.name.as_ref().unwrap().name, "example.sigil");
    let tlds = vec!["sigil".to_string()];
    let entry = judge(&proven, "example.sigil", &tlds, NOW).unwrap();
    assert_eq!(entry.facts.cert_sha256, sha);

    // Absent certificates are proven absent, and judged unknown.
    let absent = Hash([9; 32]);
    let answer = chain.ledger.prove_cert("example.sigil", &absent).unwrap();
    let proven = verify_cert_proof(&answer, "example.sigil", &absent, CHAIN, &trusted).unwrap();
    assert_eq!(proven.entry, None);
    assert_eq!(
        judge(&proven, "example.sigil", &tlds, NOW).unwrap_err(),
        Refusal::Unknown {
            name: "example.sigil".into(),
            cert_sha256: absent
        }
    );
}

#[test]
fn every_kind_of_lie_or_mix_up_is_refused() {
    let (mut chain, sha) = registered();
    let trusted = chain.ledger.validators().unwrap();
    let honest = chain.ledger.prove_cert("example.sigil", &sha).unwrap();

    // A proof of another certificate.
    let other = chain
        .ledger
        .prove_cert("example.sigil", &Hash([9; 32]))
        .unwrap();
    proof_error(
        verify_cert_proof(&other, "example.sigil", &sha, CHAIN, &trusted),
        "another key",
    );
    // The certificate's proof offered for another name.
    proof_error(
        verify_cert_proof(&honest, "other.sigil", &sha, CHAIN, &trusted),
        "another key",
    );
    // The name's proof left out.
    let mut no_name = honest.clone();
    no_name.name = None;
    proof_error(
        verify_cert_proof(&no_name, "example.sigil", &sha, CHAIN, &trusted),
        "no proof of",
    );
    // A tampered entry.
    let mut forged = honest.clone();
    let mut entry: CertEntry = decode(forged.cert.value.as_deref().unwrap()).unwrap();
    entry.facts.not_after += 1;
    forged.cert.value = Some(encode(&entry));
    proof_error(
        verify_cert_proof(&forged, "example.sigil", &sha, CHAIN, &trusted),
        "does not match the signed state root",
    );
    // Validators the client does not trust.
    let strangers = ValidatorSet::equal_power([Keypair::generate().public()]);
    proof_error(
        verify_cert_proof(&honest, "example.sigil", &sha, CHAIN, &strangers),
        "trusted set",
    );
    // Another chain.
    proof_error(
        verify_cert_proof(&honest, "example.sigil", &sha, "other-chain", &trusted),
        "chain",
    );
    // The name proven at another block than the certificate.
    chain
        .send(Op::NameUpdate {
            name: "example.sigil".into(),
            records: vec![],
        })
        .unwrap();
    let mut mixed = honest.clone();
    mixed.name = chain.ledger.prove_cert("example.sigil", &sha).unwrap().name;
    proof_error(
        verify_cert_proof(&mixed, "example.sigil", &sha, CHAIN, &trusted),
        "different blocks",
    );
}

#[test]
fn a_transferred_name_makes_the_owner_wrong() {
    let (mut chain, sha) = registered();
    let trusted = chain.ledger.validators().unwrap();
    let new_owner = Keypair::generate().public();
    chain
        .send(Op::NameTransfer {
            name: "example.sigil".into(),
            new_owner,
        })
        .unwrap();
    let answer = chain.ledger.prove_cert("example.sigil", &sha).unwrap();
    let proven = verify_cert_proof(&answer, "example.sigil", &sha, CHAIN, &trusted).unwrap();
    let refusal = judge(&proven, "example.sigil", &["sigil".into()], NOW).unwrap_err();
    assert!(
        matches!(refusal, Refusal::WrongOwner { owner_now, .. } if owner_now == new_owner),
        "{refusal}"
    );
    assert!(refusal.to_string().starts_with("wrong owner"));
}

#[test]
fn a_proof_of_an_old_block_is_stale() {
    let (chain, sha) = registered();
    let trusted = chain.ledger.validators().unwrap();
    let answer = chain.ledger.prove_cert("example.sigil", &sha).unwrap();
    let proven = verify_cert_proof(&answer, "example.sigil", &sha, CHAIN, &trusted).unwrap();
    // The test chain stamps its blocks at time 0.
    assert_eq!(proven.block_time_ms, 0);
    assert_eq!(check_fresh(&proven, 300_000, 300), Ok(()));
    let refusal = check_fresh(&proven, 301_000, 300).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Stale {
            height: proven.height,
            age_secs: 301,
            max_age_secs: 300
        }
    );
    assert!(refusal.to_string().contains("may be hiding newer blocks"));
    // A block time far ahead of the client's clock would never look old: refused too, while
    // a little clock difference is not.
    let mut ahead = proven.clone();
    ahead.block_time_ms = 1_000_000 + 30_000;
    assert_eq!(check_fresh(&ahead, 1_000_000, 300), Ok(()));
    ahead.block_time_ms = 1_000_000 + 3_600_000;
    assert_eq!(
        check_fresh(&ahead, 1_000_000, 300),
        Err(Refusal::FromTheFuture {
            height: proven.height,
            ahead_secs: 3_600
        })
    );
}
