//! Every rule of the certificate ledger, exercised through real blocks on a ledger: who may
//! register and revoke (owner, authorized issuer, nobody else), names a certificate may carry,
//! revocation for good, batches all-or-nothing, the per-name limit, ownership changes, proofs
//! and the history beside the tree.

use std::sync::Arc;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::error::{SanError, TxError};
use sigil_core::limits::{MAX_ACTIVE_CERTS_PER_NAME, MAX_CERT_SANS, MAX_CERTS_PER_BATCH};
use sigil_core::read::NameReader;
use sigil_core::state::{
    CertEntry, CertFacts, ChainParams, LedgerStanding, RevocationReason, ValidatorSet, keys,
};
use sigil_core::tx::{Op, SignedTx, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair, decode};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::MemStore;

const REVEAL_MIN: u64 = 1;
const TTL: u64 = 30;
const GRACE: u64 = 5;

struct Chain {
    ledger: Ledger,
    validator: Keypair,
}

type Outcomes = Vec<Result<(), TxError>>;

impl Chain {
    fn new() -> Chain {
        let validator = Keypair::generate();
        let genesis = Genesis {
            genesis_time_ms: 0,
            params: ChainParams {
                chain_id: "test-chain".into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: REVEAL_MIN,
                reveal_max_blocks: 5,
                name_ttl_blocks: TTL,
                grace_blocks: GRACE,
                block_interval_ms: 10,
                work: Default::default(),
            },
            validators: ValidatorSet::equal_power([validator.public()]),
        };
        let ledger = Ledger::open(Arc::new(MemStore::default()), genesis, 1000).unwrap();
        Chain { ledger, validator }
    }

    fn block(&self, txs: Vec<SignedTx>) -> Outcomes {
        let prepared = self.ledger.prepare(&txs).unwrap();
        let outcomes = prepared.execution.outcomes.clone();
        let header = self
            .ledger
            .header(&prepared, self.validator.public(), 0)
            .unwrap();
        let commit = Commit::sign(&header, 0, &self.validator);
        self.ledger
            .commit(prepared, Block { header, txs }, commit)
            .unwrap();
        outcomes
    }

    /// One transaction in its own block; its outcome.
    fn one(&self, tx: SignedTx) -> Result<(), TxError> {
        self.block(vec![tx]).pop().unwrap()
    }

    fn wait(&self, blocks: u64) {
        for _ in 0..blocks {
            self.block(vec![]);
        }
    }

    fn cert(&self, name: &str, hash: &Hash) -> Option<CertEntry> {
        self.ledger.cert_entry(name, hash).unwrap()
    }

    fn standing(&self, name: &str, hash: &Hash) -> LedgerStanding {
        let cert = self.cert(name, hash).expect("certificate on the ledger");
        let name = self.ledger.name_entry(&cert.facts.name).unwrap();
        cert.standing(name.as_ref(), self.ledger.tip().height)
    }
}

struct User {
    key: Keypair,
    nonce: u64,
}

impl User {
    fn new() -> User {
        User {
            key: Keypair::generate(),
            nonce: 0,
        }
    }

    fn tx(&mut self, op: Op) -> SignedTx {
        let tx = Transaction {
            chain_id: "test-chain".into(),
            signer: self.key.public(),
            nonce: self.nonce,
            stamp: 0,
            op,
        };
        self.nonce += 1;
        tx.sign(&self.key)
    }

    /// Registers `name` through commit and reveal.
    fn register_name(&mut self, chain: &Chain, name: &str) {
        let salt = Hash([9; 32]);
        let commitment = name_commitment(name, &salt, &self.key.public());
        assert_eq!(chain.one(self.tx(Op::NameCommit { commitment })), Ok(()));
        chain.wait(REVEAL_MIN - 1);
        let op = Op::NameRegister {
            name: name.into(),
            salt,
            records: vec![],
        };
        assert_eq!(chain.one(self.tx(op)), Ok(()));
    }
}

/// Facts of a made-up certificate: distinct hashes per `seed`, a year of validity.
fn facts(name: &str, seed: u8, sans: &[&str]) -> CertFacts {
    CertFacts {
        name: name.into(),
        cert_sha256: Hash([seed; 32]),
        spki_sha256: Hash([seed.wrapping_add(100); 32]),
        not_before: 1_700_000_000,
        not_after: 1_700_000_000 + 365 * 86_400,
        sans: sans.iter().map(|s| s.to_string()).collect(),
    }
}

fn register(cert: CertFacts) -> Op {
    Op::CertRegister { cert }
}

/// Revokes certificate `seed` of `example.sigil`.
fn revoke(seed: u8, reason: RevocationReason) -> Op {
    Op::CertRevoke {
        name: "example.sigil".into(),
        cert_sha256: Hash([seed; 32]),
        reason,
    }
}

#[test]
fn the_owner_registers_a_certificate_and_its_presence_and_absence_are_provable() {
    let chain = Chain::new();
    let mut alice = User::new();
    alice.register_name(&chain, "example.sigil");
    let op = register(facts(
        "Example.Sigil",
        1,
        &["example.sigil", "*.example.sigil"],
    ));
    assert_eq!(chain.one(alice.tx(op)), Ok(()));
    let height = chain.ledger.tip().height;

    let entry = chain.cert("example.sigil", &Hash([1; 32])).unwrap();
    assert_eq!(
        entry.facts.name, "example.sigil",
        "the name is stored normalized"
    );
    assert_eq!(entry.owner, alice.key.public());
    assert_eq!(entry.registered_by, alice.key.public());
    assert_eq!(entry.registered_at, height);
    assert_eq!(entry.revoked, None);
    assert_eq!(
        chain.standing("example.sigil", &Hash([1; 32])),
        LedgerStanding::Active
    );
    let active = chain.ledger.active_certs("example.sigil").unwrap();
    assert_eq!(active, vec![entry.clone()]);

    let validators = chain.ledger.validators().unwrap();
    let proof = chain
        .ledger
        .prove(&keys::cert("example.sigil", &Hash([1; 32])))
        .unwrap();
    let value = proof.verify("test-chain", &validators).unwrap().unwrap();
    assert_eq!(decode::<CertEntry>(value).unwrap(), entry);
    let absent = chain
        .ledger
        .prove(&keys::cert("example.sigil", &Hash([2; 32])))
        .unwrap();
    assert_eq!(absent.verify("test-chain", &validators).unwrap(), None);
    // A proof that claims presence for the absent key does not verify.
    let mut forged = absent.clone();
    forged.value = proof.value.clone();
    assert!(forged.verify("test-chain", &validators).is_err());

    let history = chain.ledger.cert_history("example.sigil", 100).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "register");
    assert_eq!(history[0].cert_sha256, Some(Hash([1; 32])));
    assert_eq!(history[0].height, height);
}

#[test]
fn a_certificates_names_must_cover_its_name_and_stay_inside_it() {
    let chain = Chain::new();
    let mut alice = User::new();
    alice.register_name(&chain, "example.sigil");
    let refused = |alice: &mut User, cert: CertFacts| chain.one(alice.tx(register(cert)));

    assert!(matches!(
        refused(&mut alice, facts("example.sigil", 1, &["example.com"])),
        Err(TxError::InvalidSan(SanError::NotCovered { .. }))
    ));
    assert!(matches!(
        refused(&mut alice, facts("example.sigil", 1, &["example.sigil", "bank.sigil"])),
        Err(TxError::InvalidSan(SanError::OtherName { ref other, .. })) if other == "bank.sigil"
    ));
    assert!(matches!(
        refused(&mut alice, facts("example.sigil", 1, &["*.sigil"])),
        Err(TxError::InvalidSan(SanError::WholeTld { .. }))
    ));
    assert!(matches!(
        refused(
            &mut alice,
            facts("example.sigil", 1, &["WWW.example.sigil"])
        ),
        Err(TxError::InvalidSan(SanError::NotCanonical { .. }))
    ));
    assert!(matches!(
        refused(&mut alice, facts("example.sigil", 1, &["w*.example.sigil"])),
        Err(TxError::InvalidSan(SanError::Invalid { .. }))
    ));
    assert!(matches!(
        refused(&mut alice, facts("example.sigil", 1, &[])),
        Err(TxError::InvalidSan(SanError::None { .. }))
    ));
    let many: Vec<String> = (0..=MAX_CERT_SANS)
        .map(|i| format!("h{i}.example.sigil"))
        .collect();
    let mut cert = facts("example.sigil", 1, &[]);
    cert.sans = many;
    assert!(matches!(
        refused(&mut alice, cert),
        Err(TxError::TooManySans { .. })
    ));
    let mut cert = facts("example.sigil", 1, &["example.sigil"]);
    cert.not_after = cert.not_before;
    assert!(matches!(
        refused(&mut alice, cert),
        Err(TxError::CertBadWindow { .. })
    ));
    assert_eq!(
        chain.cert("example.sigil", &Hash([1; 32])),
        None,
        "nothing was registered"
    );

    // A subname alone, a wildcard under the name, and names outside the chain are fine.
    assert_eq!(
        refused(
            &mut alice,
            facts("example.sigil", 1, &["www.example.sigil", "example.com"])
        ),
        Ok(())
    );
    assert_eq!(
        refused(&mut alice, facts("example.sigil", 2, &["*.example.sigil"])),
        Ok(())
    );
}

#[test]
fn only_the_owner_or_an_issuer_it_authorized_manages_certificates() {
    let chain = Chain::new();
    let mut alice = User::new();
    let mut ca = User::new();
    let mut mallory = User::new();
    alice.register_name(&chain, "example.sigil");
    let cert = || facts("example.sigil", 1, &["example.sigil"]);

    assert!(matches!(
        chain.one(ca.tx(register(cert()))),
        Err(TxError::NotCertAuthority { .. })
    ));
    assert!(matches!(
        chain.one(mallory.tx(register(facts("unknown.sigil", 1, &["unknown.sigil"])))),
        Err(TxError::NameNotFound { .. })
    ));
    // Only the owner authorizes.
    let authorize = |issuer: &User| Op::CertIssuerAuthorize {
        name: "example.sigil".into(),
        issuer: issuer.key.public(),
    };
    assert!(matches!(
        chain.one(mallory.tx(authorize(&mallory))),
        Err(TxError::NotOwner { .. })
    ));
    assert_eq!(chain.one(alice.tx(authorize(&ca))), Ok(()));
    assert!(matches!(
        chain.one(alice.tx(authorize(&ca))),
        Err(TxError::IssuerAlreadyAuthorized { .. })
    ));
    // The issuer registers; the entry keeps the owner it speaks for.
    assert_eq!(chain.one(ca.tx(register(cert()))), Ok(()));
    let entry = chain.cert("example.sigil", &Hash([1; 32])).unwrap();
    assert_eq!(entry.owner, alice.key.public());
    assert_eq!(entry.registered_by, ca.key.public());
    // Strangers neither revoke nor register.
    assert!(matches!(
        chain.one(mallory.tx(revoke(1, RevocationReason::KeyCompromise))),
        Err(TxError::NotCertAuthority { .. })
    ));
    // Withdrawn: the issuer can do nothing more; what it registered stays.
    let deauthorize = Op::CertIssuerRevoke {
        name: "example.sigil".into(),
        issuer: ca.key.public(),
    };
    assert_eq!(chain.one(alice.tx(deauthorize.clone())), Ok(()));
    assert!(matches!(
        chain.one(alice.tx(deauthorize)),
        Err(TxError::IssuerNotAuthorized { .. })
    ));
    assert!(matches!(
        chain.one(ca.tx(register(facts("example.sigil", 2, &["example.sigil"])))),
        Err(TxError::NotCertAuthority { .. })
    ));
    assert!(matches!(
        chain.one(ca.tx(revoke(1, RevocationReason::Superseded))),
        Err(TxError::NotCertAuthority { .. })
    ));
    assert_eq!(
        chain.standing("example.sigil", &Hash([1; 32])),
        LedgerStanding::Active
    );
    // Re-authorized, the issuer revokes.
    assert_eq!(chain.one(alice.tx(authorize(&ca))), Ok(()));
    assert_eq!(
        chain.one(ca.tx(revoke(1, RevocationReason::CaCompromise))),
        Ok(())
    );
    let actions: Vec<String> = chain
        .ledger
        .cert_history("example.sigil", 100)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "authorize-issuer",
            "register",
            "deauthorize-issuer",
            "authorize-issuer",
            "revoke"
        ]
    );
}

#[test]
fn revocation_is_final_and_leaves_the_active_set() {
    let chain = Chain::new();
    let mut alice = User::new();
    alice.register_name(&chain, "example.sigil");
    for seed in [1, 2] {
        let op = register(facts("example.sigil", seed, &["example.sigil"]));
        assert_eq!(chain.one(alice.tx(op)), Ok(()));
    }
    assert_eq!(
        chain.one(alice.tx(revoke(1, RevocationReason::KeyCompromise))),
        Ok(())
    );
    let revoked_at = chain.ledger.tip().height;
    let LedgerStanding::Revoked(revocation) = chain.standing("example.sigil", &Hash([1; 32]))
    else {
        panic!("certificate 1 is not revoked");
    };
    assert_eq!(revocation.height, revoked_at);
    assert_eq!(revocation.reason, RevocationReason::KeyCompromise);
    assert_eq!(revocation.by, alice.key.public());
    let active: Vec<Hash> = chain
        .ledger
        .active_certs("example.sigil")
        .unwrap()
        .iter()
        .map(|c| c.facts.cert_sha256)
        .collect();
    assert_eq!(active, vec![Hash([2; 32])]);

    assert!(matches!(
        chain.one(alice.tx(revoke(1, RevocationReason::Superseded))),
        Err(TxError::CertAlreadyRevoked { height, .. }) if height == revoked_at
    ));
    assert!(matches!(
        chain.one(alice.tx(register(facts("example.sigil", 1, &["example.sigil"])))),
        Err(TxError::CertExists { .. })
    ));
    assert!(matches!(
        chain.one(alice.tx(revoke(3, RevocationReason::Unspecified))),
        Err(TxError::CertNotFound { .. })
    ));
    // The last active certificate revoked: the per-name list is gone from the tree.
    assert_eq!(
        chain.one(alice.tx(revoke(2, RevocationReason::Superseded))),
        Ok(())
    );
    assert!(
        chain
            .ledger
            .active_certs("example.sigil")
            .unwrap()
            .is_empty()
    );
    let last = chain.ledger.cert_history("example.sigil", 100).unwrap();
    assert_eq!(
        last.last().unwrap().reason,
        Some(RevocationReason::Superseded)
    );
}

#[test]
fn a_batch_applies_all_or_nothing_within_its_bounds() {
    let chain = Chain::new();
    let mut alice = User::new();
    let mut bob = User::new();
    let mut ca = User::new();
    alice.register_name(&chain, "alice.sigil");
    bob.register_name(&chain, "bob.sigil");
    for (owner, name) in [(&mut alice, "alice.sigil"), (&mut bob, "bob.sigil")] {
        let op = Op::CertIssuerAuthorize {
            name: name.into(),
            issuer: ca.key.public(),
        };
        assert_eq!(chain.one(owner.tx(op)), Ok(()));
    }
    // One certificate of the batch is for a name the CA may not serve: nothing applies.
    let mut carol = User::new();
    carol.register_name(&chain, "carol.sigil");
    let batch = vec![
        facts("alice.sigil", 1, &["alice.sigil"]),
        facts("bob.sigil", 2, &["bob.sigil"]),
        facts("carol.sigil", 3, &["carol.sigil"]),
    ];
    let err = chain
        .one(ca.tx(Op::CertRegisterBatch {
            certs: batch.clone(),
        }))
        .unwrap_err();
    assert!(
        matches!(&err, TxError::InBatch { index: 2, error, .. } if matches!(**error, TxError::NotCertAuthority { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("certificate 2 of the batch"));
    assert_eq!(chain.cert("alice.sigil", &Hash([1; 32])), None);
    assert_eq!(chain.cert("bob.sigil", &Hash([2; 32])), None);

    // A certificate twice in one batch is refused as a duplicate.
    let twice = vec![batch[0].clone(), batch[0].clone()];
    assert!(matches!(
        chain.one(ca.tx(Op::CertRegisterBatch { certs: twice })),
        Err(TxError::InBatch { index: 1, ref error, .. }) if matches!(**error, TxError::CertExists { .. })
    ));
    assert!(matches!(
        chain.one(ca.tx(Op::CertRegisterBatch { certs: vec![] })),
        Err(TxError::BatchSize { count: 0, .. })
    ));
    let oversized: Vec<CertFacts> = (0..=MAX_CERTS_PER_BATCH as u8)
        .map(|i| facts("alice.sigil", i, &["alice.sigil"]))
        .collect();
    assert!(matches!(
        chain.one(ca.tx(Op::CertRegisterBatch { certs: oversized })),
        Err(TxError::BatchSize { .. })
    ));

    let ok = batch[..2].to_vec();
    assert_eq!(
        chain.one(ca.tx(Op::CertRegisterBatch { certs: ok })),
        Ok(())
    );
    assert_eq!(
        chain.standing("alice.sigil", &Hash([1; 32])),
        LedgerStanding::Active
    );
    assert_eq!(
        chain.standing("bob.sigil", &Hash([2; 32])),
        LedgerStanding::Active
    );
    assert_eq!(
        chain.cert("bob.sigil", &Hash([2; 32])).unwrap().owner,
        bob.key.public()
    );
}

#[test]
fn a_name_holds_a_bounded_number_of_active_certificates() {
    let chain = Chain::new();
    let mut alice = User::new();
    alice.register_name(&chain, "example.sigil");
    let certs: Vec<CertFacts> = (0..MAX_ACTIVE_CERTS_PER_NAME as u8)
        .map(|i| facts("example.sigil", i, &["example.sigil"]))
        .collect();
    for chunk in certs.chunks(MAX_CERTS_PER_BATCH) {
        let op = Op::CertRegisterBatch {
            certs: chunk.to_vec(),
        };
        assert_eq!(chain.one(alice.tx(op)), Ok(()));
    }
    let extra = || register(facts("example.sigil", 200, &["example.sigil"]));
    assert!(matches!(
        chain.one(alice.tx(extra())),
        Err(TxError::TooManyCerts { .. })
    ));
    assert_eq!(
        chain.one(alice.tx(revoke(0, RevocationReason::Superseded))),
        Ok(())
    );
    assert_eq!(chain.one(alice.tx(extra())), Ok(()));
}

#[test]
fn certificates_stop_speaking_for_a_name_that_changed_hands_or_expired() {
    let chain = Chain::new();
    let mut alice = User::new();
    let mut bob = User::new();
    let mut alices_ca = User::new();
    alice.register_name(&chain, "example.sigil");
    let op = register(facts("example.sigil", 1, &["example.sigil"]));
    assert_eq!(chain.one(alice.tx(op)), Ok(()));
    let authorize = Op::CertIssuerAuthorize {
        name: "example.sigil".into(),
        issuer: alices_ca.key.public(),
    };
    assert_eq!(chain.one(alice.tx(authorize)), Ok(()));
    let transfer = Op::NameTransfer {
        name: "example.sigil".into(),
        new_owner: bob.key.public(),
    };
    assert_eq!(chain.one(alice.tx(transfer)), Ok(()));
    // The issuer the old owner authorized speaks for the new owner in nothing.
    assert!(matches!(
        chain.one(alices_ca.tx(register(facts("example.sigil", 3, &["example.sigil"])))),
        Err(TxError::NotCertAuthority { .. })
    ));
    assert_eq!(
        chain.standing("example.sigil", &Hash([1; 32])),
        LedgerStanding::WrongOwner {
            now: bob.key.public()
        }
    );
    // The old owner can no longer revoke it; the new owner can.
    assert!(matches!(
        chain.one(alice.tx(revoke(1, RevocationReason::AffiliationChanged))),
        Err(TxError::NotCertAuthority { .. })
    ));
    let op = register(facts("example.sigil", 2, &["example.sigil"]));
    assert_eq!(chain.one(bob.tx(op)), Ok(()));
    assert_eq!(
        chain.standing("example.sigil", &Hash([2; 32])),
        LedgerStanding::Active
    );

    // Expired: no certificate speaks for it and none can be registered; revocation still works.
    let expires_at = chain
        .ledger
        .name_entry("example.sigil")
        .unwrap()
        .unwrap()
        .expires_at;
    chain.wait(expires_at - chain.ledger.tip().height);
    assert_eq!(
        chain.standing("example.sigil", &Hash([2; 32])),
        LedgerStanding::NameGone
    );
    assert!(matches!(
        chain.one(bob.tx(register(facts("example.sigil", 3, &["example.sigil"])))),
        Err(TxError::NameExpired { .. })
    ));
    assert_eq!(
        chain.one(bob.tx(revoke(1, RevocationReason::AffiliationChanged))),
        Ok(())
    );
}

/// A squatter registers another name's certificate hash under its own name first, then
/// revokes it for key compromise: the victim still registers the hash under its name, the
/// entry there is active and listed, and the squatter can neither revoke nor register under
/// the victim's name.
#[test]
fn a_certificate_hash_squatted_under_another_name_never_touches_the_victims_entry() {
    let chain = Chain::new();
    let (mut alice, mut mallory) = (User::new(), User::new());
    alice.register_name(&chain, "example.sigil");
    mallory.register_name(&chain, "evil.sigil");
    let victims = facts("example.sigil", 1, &["example.sigil", "*.example.sigil"]);
    let squatted = CertFacts {
        name: "evil.sigil".into(),
        sans: vec!["evil.sigil".into()],
        ..victims.clone()
    };
    assert_eq!(chain.one(mallory.tx(register(squatted))), Ok(()));
    let squatter_revokes = Op::CertRevoke {
        name: "evil.sigil".into(),
        cert_sha256: victims.cert_sha256,
        reason: RevocationReason::KeyCompromise,
    };
    assert_eq!(chain.one(mallory.tx(squatter_revokes)), Ok(()));
    assert!(matches!(
        chain.standing("evil.sigil", &Hash([1; 32])),
        LedgerStanding::Revoked(_)
    ));

    // The victim's registration and standing are its own; so are its batches.
    assert_eq!(chain.cert("example.sigil", &Hash([1; 32])), None);
    assert_eq!(chain.one(alice.tx(register(victims.clone()))), Ok(()));
    let batch = Op::CertRegisterBatch {
        certs: vec![facts("example.sigil", 2, &["example.sigil"])],
    };
    let squat_two = CertFacts {
        name: "evil.sigil".into(),
        sans: vec!["evil.sigil".into()],
        ..facts("example.sigil", 2, &[])
    };
    assert_eq!(chain.one(mallory.tx(register(squat_two))), Ok(()));
    assert_eq!(chain.one(alice.tx(batch)), Ok(()));
    for seed in [1, 2] {
        assert_eq!(
            chain.standing("example.sigil", &Hash([seed; 32])),
            LedgerStanding::Active
        );
    }
    let active: Vec<Hash> = chain
        .ledger
        .active_certs("example.sigil")
        .unwrap()
        .iter()
        .map(|c| c.facts.cert_sha256)
        .collect();
    assert_eq!(active, vec![Hash([1; 32]), Hash([2; 32])]);
    // The squatter's entries stay under its own name only.
    assert!(
        chain
            .ledger
            .active_certs("evil.sigil")
            .unwrap()
            .iter()
            .all(|c| c.facts.name == "evil.sigil")
    );
    // And it cannot reach the victim's entries.
    assert!(matches!(
        chain.one(mallory.tx(revoke(1, RevocationReason::KeyCompromise))),
        Err(TxError::NotCertAuthority { .. })
    ));
    assert_eq!(
        chain.standing("example.sigil", &Hash([1; 32])),
        LedgerStanding::Active
    );
}

#[test]
fn revocation_reasons_parse_in_every_usual_spelling() {
    for reason in RevocationReason::ALL {
        assert_eq!(reason.as_str().parse::<RevocationReason>(), Ok(reason));
        assert_eq!(
            reason.code().to_string().parse::<RevocationReason>(),
            Ok(reason)
        );
    }
    assert_eq!(
        "keyCompromise".parse::<RevocationReason>(),
        Ok(RevocationReason::KeyCompromise)
    );
    assert_eq!(
        "cACompromise".parse::<RevocationReason>(),
        Ok(RevocationReason::CaCompromise)
    );
    let err = "certificate-hold".parse::<RevocationReason>().unwrap_err();
    assert!(err.contains("key-compromise"), "{err}");
    assert_eq!(
        serde_json::to_string(&RevocationReason::KeyCompromise).unwrap(),
        "\"key-compromise\""
    );
}
