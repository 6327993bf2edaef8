//! Golden state root: a fixed sequence of blocks using every operation must end at a fixed
//! root, so any change to what consensus computes (a rule, an encoding, a dependency) fails here.
//!
//! When a change of the state machine is intended, it is a hard fork for running chains: update
//! `GOLDEN_ROOT` to the root this test prints, and say so in the change.

use std::sync::Arc;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::error::TxError;
use sigil_core::records::Record;
use sigil_core::state::{CertFacts, ChainParams, OfferingTerms, RevocationReason, ValidatorSet};
use sigil_core::tx::{
    Consent, Op, SignedTx, Transaction, ValidatorChange, WorkParams, name_commitment,
};
use sigil_core::types::{Hash, Keypair, PublicKey};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::MemStore;

const GOLDEN_ROOT: &str = "dba7830ec3a07fb5bc21d77d5e55253cb59930336575dcf24c4fc036020953e6";
const CHAIN: &str = "golden";
/// Small but nonzero, so the stamp check is part of what the golden root vouches for.
const WORK: WorkParams = WorkParams {
    create_bits: 6,
    update_bits: 3,
};

/// A key derived from a fixed seed: the same on every machine and every run.
fn key(seed: u8) -> Keypair {
    Keypair::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
}

/// Every operation the golden sequence must use; adding an operation without extending the
/// sequence fails to compile here.
fn kind_is_covered(op: &Op) -> &'static str {
    match op {
        Op::NameCommit { .. }
        | Op::NameRegister { .. }
        | Op::NameUpdate { .. }
        | Op::NameTransfer { .. }
        | Op::NameRenew { .. }
        | Op::IdentityRegister { .. }
        | Op::IdentityRotate { .. }
        | Op::IdentityRecover { .. }
        | Op::IdentityRevoke { .. }
        | Op::IdentityBind { .. }
        | Op::CompanyRegister { .. }
        | Op::HolderIssue { .. }
        | Op::HolderRevoke { .. }
        | Op::HolderRotate { .. }
        | Op::SharesIssue { .. }
        | Op::SharesTransfer { .. }
        | Op::SharesRedeem { .. }
        | Op::CertIssuerAuthorize { .. }
        | Op::CertIssuerRevoke { .. }
        | Op::CertRegister { .. }
        | Op::CertRegisterBatch { .. }
        | Op::CertRevoke { .. }
        | Op::ValidatorVote { .. }
        | Op::IdentitySuspend { .. }
        | Op::CompanyAdmin { .. }
        | Op::CompanyMove { .. }
        | Op::OfferingOpen { .. }
        | Op::OfferingApprove { .. }
        | Op::OfferingSubscribe { .. }
        | Op::OfferingWithdraw { .. }
        | Op::OfferingConfirm { .. }
        | Op::OfferingClose { .. } => op.kind(),
    }
}

struct Golden {
    ledger: Ledger,
    validator: Keypair,
    nonces: std::collections::BTreeMap<PublicKey, u64>,
    kinds: std::collections::BTreeSet<&'static str>,
}

impl Golden {
    fn new() -> Golden {
        let validator = key(1);
        let genesis = Genesis {
            genesis_time_ms: 1_700_000_000_000,
            params: ChainParams {
                chain_id: CHAIN.into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: 1,
                reveal_max_blocks: 10,
                name_ttl_blocks: 1_000,
                grace_blocks: 10,
                block_interval_ms: 500,
                work: WORK,
            },
            validators: ValidatorSet::equal_power([validator.public()]),
        };
        Golden {
            ledger: Ledger::open(Arc::new(MemStore::default()), genesis, 1000).unwrap(),
            validator,
            nonces: Default::default(),
            kinds: Default::default(),
        }
    }

    fn tx(&mut self, signer: &Keypair, op: Op) -> SignedTx {
        self.kinds.insert(kind_is_covered(&op));
        let nonce = self.nonces.entry(signer.public()).or_insert(0);
        let mut tx = Transaction {
            chain_id: CHAIN.into(),
            signer: signer.public(),
            nonce: *nonce,
            stamp: 0,
            op,
        };
        *nonce += 1;
        assert!(tx.find_stamp(tx.required_bits(&WORK), |_| true));
        tx.sign(signer)
    }

    /// Commits one block at a fixed time; returns the outcomes.
    fn block(&mut self, txs: Vec<SignedTx>) -> Vec<Result<(), TxError>> {
        let prepared = self.ledger.prepare(&txs).unwrap();
        let outcomes = prepared.execution.outcomes.clone();
        let height = self.ledger.tip().height + 1;
        let time = 1_700_000_000_000 + height * 500;
        let header = self
            .ledger
            .header(&prepared, self.validator.public(), time)
            .unwrap();
        let commit = Commit::sign(&header, 0, &self.validator);
        self.ledger
            .commit(prepared, Block { header, txs }, commit)
            .unwrap();
        outcomes
    }

    /// One block of transactions that must all apply.
    fn ok(&mut self, ops: Vec<(&Keypair, Op)>) {
        let txs: Vec<SignedTx> = ops.into_iter().map(|(k, op)| self.tx(k, op)).collect();
        let kinds: Vec<&str> = txs.iter().map(|t| t.tx.op.kind()).collect();
        for (outcome, kind) in self.block(txs).into_iter().zip(kinds) {
            if let Err(e) = outcome {
                panic!("{kind} failed in the golden sequence: {e}");
            }
        }
    }

    /// One transaction that must fail (its nonce is used, its operation has no effect).
    fn fails(&mut self, signer: &Keypair, op: Op) {
        let tx = self.tx(signer, op);
        assert!(self.block(vec![tx]).pop().unwrap().is_err());
    }
}

/// An identity's consent (by its online key) to `purpose` about `subject`, sent by `sender`.
fn consent(key: &Keypair, purpose: &str, id: &str, subject: &[&str], sender: &Keypair) -> Consent {
    Consent::sign(key, CHAIN, purpose, id, subject, &sender.public(), 1_000)
}

fn cert(name: &str, seed: u8) -> CertFacts {
    CertFacts {
        name: name.into(),
        cert_sha256: Hash([seed; 32]),
        spki_sha256: Hash([seed.wrapping_add(1); 32]),
        not_before: 1_700_000_000,
        not_after: 1_800_000_000,
        sans: vec![name.into(), format!("*.{name}")],
    }
}

#[test]
fn a_fixed_sequence_of_every_operation_ends_at_the_golden_root() {
    let mut g = Golden::new();
    let alice = key(10);
    let bob = key(11);
    let ca = key(12);
    let (admin_on, admin_off) = (key(20), key(21));
    let (ident_on, ident_off) = (key(22), key(23));
    let (h1, h2) = (key(30), key(31));
    let newcomer = key(40);

    // Names: commit, reveal, update, renew, transfer; a reveal without commit fails.
    let salt = Hash([5; 32]);
    let names = [
        "acme.sigil",
        "alice.sigil",
        "bücher.sigil",
        "acme-holdings.sigil",
    ];
    g.ok(names
        .iter()
        .map(|n| {
            (
                &alice,
                Op::NameCommit {
                    commitment: name_commitment(
                        &sigil_core::name::registrable(n, &["sigil".to_string()]).unwrap(),
                        &salt,
                        &alice.public(),
                    ),
                },
            )
        })
        .collect());
    g.ok(names
        .iter()
        .map(|n| {
            (
                &alice,
                Op::NameRegister {
                    name: sigil_core::name::registrable(n, &["sigil".to_string()]).unwrap(),
                    salt,
                    records: vec![
                        Record::parse("@ 300 A 192.0.2.1").unwrap(),
                        Record::parse("@ AAAA 2001:db8::1").unwrap(),
                        Record::parse("www CNAME acme.sigil.").unwrap(),
                        Record::parse("@ MX 10 mail.acme.sigil.").unwrap(),
                        Record::parse("@ TXT \"v=golden\"").unwrap(),
                        Record::parse("_sip._tcp SRV 10 5 5060 sip.acme.sigil.").unwrap(),
                        Record::parse("sub NS ns1.example.net.").unwrap(),
                        Record::parse("@ CAA 0 issue \"ca.example\"").unwrap(),
                    ],
                },
            )
        })
        .collect());
    g.fails(
        &bob,
        Op::NameRegister {
            name: "bob.sigil".into(),
            salt,
            records: vec![],
        },
    );
    g.ok(vec![
        (
            &alice,
            Op::NameUpdate {
                name: "alice.sigil".into(),
                records: vec![Record::parse("@ A 192.0.2.2").unwrap()],
            },
        ),
        (
            &alice,
            Op::NameRenew {
                name: "alice.sigil".into(),
            },
        ),
        (
            &alice,
            Op::NameTransfer {
                name: "alice.sigil".into(),
                new_owner: bob.public(),
            },
        ),
    ]);

    // Certificates: an issuer authorized, single and batch registration, revocation, the
    // issuer withdrawn.
    g.ok(vec![
        (
            &alice,
            Op::CertIssuerAuthorize {
                name: "acme.sigil".into(),
                issuer: ca.public(),
            },
        ),
        (
            &alice,
            Op::CertRegister {
                cert: cert("acme.sigil", 100),
            },
        ),
    ]);
    g.ok(vec![
        (
            &ca,
            Op::CertRegisterBatch {
                certs: vec![cert("acme.sigil", 110), cert("acme.sigil", 120)],
            },
        ),
        (
            &ca,
            Op::CertRevoke {
                name: "acme.sigil".into(),
                cert_sha256: Hash([110; 32]),
                reason: RevocationReason::KeyCompromise,
            },
        ),
        (
            &alice,
            Op::CertIssuerRevoke {
                name: "acme.sigil".into(),
                issuer: ca.public(),
            },
        ),
    ]);

    // Identities: register, rotate, recover, bind, revoke.
    g.ok(vec![
        (
            &admin_off,
            Op::IdentityRegister {
                id: "acme-admin".into(),
                online_key: admin_on.public(),
                offline_key: admin_off.public(),
            },
        ),
        (
            &ident_off,
            Op::IdentityRegister {
                id: "someone".into(),
                online_key: ident_on.public(),
                offline_key: ident_off.public(),
            },
        ),
    ]);
    let (ident_on2, ident_on3, ident_off3) = (key(24), key(25), key(26));
    g.ok(vec![
        (
            &ident_off,
            Op::IdentityRotate {
                id: "someone".into(),
                new_online_key: ident_on2.public(),
            },
        ),
        (
            &alice,
            Op::IdentityBind {
                id: "acme-admin".into(),
                name: "acme.sigil".into(),
                consent: consent(&admin_on, "bind", "acme-admin", &["acme.sigil"], &alice),
            },
        ),
    ]);
    g.ok(vec![(
        &ident_off,
        Op::IdentityRecover {
            id: "someone".into(),
            new_online_key: ident_on3.public(),
            new_offline_key: ident_off3.public(),
        },
    )]);
    g.ok(vec![(
        &ident_on3,
        Op::IdentitySuspend {
            id: "someone".into(),
        },
    )]);
    g.ok(vec![(
        &ident_off3,
        Op::IdentityRevoke {
            id: "someone".into(),
        },
    )]);

    // A company, its holders and shares.
    g.ok(vec![(
        &alice,
        Op::CompanyRegister {
            id: "acme".into(),
            name: "acme.sigil".into(),
            admin: "acme-admin".into(),
            classes: vec!["common".into(), "preferred".into()],
            consent: consent(
                &admin_on,
                "company-register",
                "acme-admin",
                &["acme", "acme.sigil"],
                &alice,
            ),
        },
    )]);
    let holder = |h: &str, k: &Keypair| Op::HolderIssue {
        company: "acme.sigil".into(),
        holder: h.into(),
        key: k.public(),
        attr_hash: Some(Hash([9; 32])),
    };
    g.ok(vec![
        (&admin_on, holder("h-1", &h1)),
        (&admin_on, holder("h-2", &h2)),
        (
            &admin_on,
            Op::SharesIssue {
                company: "acme.sigil".into(),
                class: "common".into(),
                to: "h-1".into(),
                amount: 1_000,
            },
        ),
    ]);
    g.ok(vec![
        (
            &h1,
            Op::SharesTransfer {
                company: "acme.sigil".into(),
                class: "common".into(),
                from: "h-1".into(),
                to: "h-2".into(),
                amount: 250,
            },
        ),
        (
            &admin_on,
            Op::SharesRedeem {
                company: "acme.sigil".into(),
                class: "common".into(),
                from: "h-2".into(),
                amount: 50,
            },
        ),
        (
            &admin_on,
            Op::HolderRevoke {
                company: "acme.sigil".into(),
                holder: "h-2".into(),
                reason: "left".into(),
            },
        ),
    ]);
    let h2_new = key(32);
    g.ok(vec![(
        &admin_on,
        Op::HolderRotate {
            company: "acme.sigil".into(),
            holder: "h-2".into(),
            new_key: h2_new.public(),
        },
    )]);

    // The company gets a new admin (by the old admin's offline key, with the new one's
    // consent) and moves to another name of its lister.
    let (admin2_on, admin2_off) = (key(27), key(28));
    g.ok(vec![(
        &admin2_off,
        Op::IdentityRegister {
            id: "acme-admin-2".into(),
            online_key: admin2_on.public(),
            offline_key: admin2_off.public(),
        },
    )]);
    g.ok(vec![(
        &admin_off,
        Op::CompanyAdmin {
            company: "acme".into(),
            admin: "acme-admin-2".into(),
            consent: consent(
                &admin2_on,
                "company-admin",
                "acme-admin-2",
                &["acme"],
                &admin_off,
            ),
        },
    )]);
    g.ok(vec![(
        &alice,
        Op::CompanyMove {
            company: "acme".into(),
            name: "acme-holdings.sigil".into(),
            consent: consent(
                &admin2_on,
                "company-move",
                "acme-admin-2",
                &["acme", "acme-holdings.sigil"],
                &alice,
            ),
        },
    )]);

    // An equity round approved by a platform: subscriptions, a withdrawal, confirmations by
    // the platform and the admin, and a close once the maximum is confirmed.
    let (portal_on, portal_off) = (key(33), key(34));
    g.ok(vec![(
        &portal_off,
        Op::IdentityRegister {
            id: "portal".into(),
            online_key: portal_on.public(),
            offline_key: portal_off.public(),
        },
    )]);
    let terms_sha256 = Hash([7; 32]);
    g.ok(vec![(
        &admin2_on,
        Op::OfferingOpen {
            company: "acme".into(),
            offering: "seed".into(),
            terms: Box::new(OfferingTerms {
                class: "common".into(),
                terms_sha256,
                shares_min: 100,
                shares_max: 500,
                investor_max: 400,
                max_investors: 10,
                closes_in_blocks: 50,
                lockup_blocks: 5,
                price: Some("1.00 EUR".into()),
                platform: Some("portal".into()),
            }),
        },
    )]);
    g.ok(vec![(
        &portal_on,
        Op::OfferingApprove {
            company: "acme".into(),
            offering: "seed".into(),
            terms_sha256,
        },
    )]);
    let subscribe = |holder: &str, shares: u64| Op::OfferingSubscribe {
        company: "acme".into(),
        offering: "seed".into(),
        holder: holder.into(),
        shares,
        terms_sha256,
    };
    let confirm = |holder: &str| Op::OfferingConfirm {
        company: "acme".into(),
        offering: "seed".into(),
        holder: holder.into(),
    };
    g.ok(vec![
        (&h1, subscribe("h-1", 300)),
        (&h2_new, subscribe("h-2", 150)),
        (
            &h2_new,
            Op::OfferingWithdraw {
                company: "acme".into(),
                offering: "seed".into(),
                holder: "h-2".into(),
            },
        ),
        (&h2_new, subscribe("h-2", 200)),
    ]);
    g.ok(vec![
        (&portal_on, confirm("h-1")),
        (&admin2_on, confirm("h-2")),
    ]);
    g.ok(vec![(
        &alice,
        Op::OfferingClose {
            company: "acme".into(),
            offering: "seed".into(),
        },
    )]);

    // Governance: the single validator votes a second one in.
    let validator = key(1);
    g.ok(vec![(
        &validator,
        Op::ValidatorVote {
            change: ValidatorChange::Add {
                key: newcomer.public(),
                power: 1,
            },
        },
    )]);

    let every_kind: std::collections::BTreeSet<&str> = [
        "commit",
        "register",
        "update",
        "transfer",
        "renew",
        "validator-vote",
        "authorize-issuer",
        "deauthorize-issuer",
        "cert-register",
        "cert-register-batch",
        "cert-revoke",
        "identity-register",
        "identity-rotate",
        "identity-recover",
        "identity-revoke",
        "identity-bind",
        "identity-suspend",
        "company-admin",
        "company-move",
        "company-register",
        "holder-issue",
        "holder-revoke",
        "holder-rotate",
        "shares-issue",
        "shares-transfer",
        "shares-redeem",
        "offering-open",
        "offering-approve",
        "offering-subscribe",
        "offering-withdraw",
        "offering-confirm",
        "offering-close",
    ]
    .into();
    assert_eq!(
        g.kinds, every_kind,
        "the golden sequence must use every operation"
    );

    let root = g.ledger.tip().state_root.to_string();
    assert_eq!(
        root, GOLDEN_ROOT,
        "the state root of the golden sequence changed: consensus now computes something \
         else. If that is intended (a hard fork), set GOLDEN_ROOT to {root}"
    );
}
