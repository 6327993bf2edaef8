//! Companies, shareholders and shares through real blocks: who may do what, every rejection,
//! rotated-out and revoked keys, double spends in one block and across two, the register at
//! any height with its CSV and histories, balance proofs, and conservation of every class's
//! total under thousands of random operations (property test against a model).

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use sigil_core::error::{Error, TxError};
use sigil_core::read::NameReader;
use sigil_core::state::{Change, CompanyEntry, balance, keys};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Keypair, decode};
use support::{Chain, Identity, company, company_op, issue_holder_op, issue_op, transfer_op};

const ACME: &str = "acme.sigil";
/// The id of the company listed under `ACME`, under which its register is kept.
const ACME_ID: &str = "acme";

/// A company with an admin and holders h-1.. with their keys; h-1 holds `initial` common.
struct Fixture {
    chain: Chain,
    admin: Identity,
    holders: Vec<Keypair>,
    /// The owner of `ACME`, who listed the company.
    company_owner: Keypair,
}

impl Fixture {
    fn new(holders: usize, initial: u64) -> Fixture {
        let mut chain = Chain::new();
        let admin = Identity::new("acme-admin");
        let company_owner = company(&mut chain, ACME, &admin, &["common", "preferred-a"]);
        let keys: Vec<Keypair> = (0..holders).map(|_| Keypair::generate()).collect();
        for (i, key) in keys.iter().enumerate() {
            chain.ok(&admin.online, issue_holder_op(ACME, &holder(i), key));
        }
        if initial > 0 {
            chain.ok(&admin.online, issue_op(ACME, "common", "h-1", initial));
        }
        Fixture {
            chain,
            admin,
            holders: keys,
            company_owner,
        }
    }

    fn balance(&self, class: &str, holder: &str) -> u64 {
        balance(&self.chain.ledger.latest(), ACME_ID, class, holder).unwrap()
    }

    fn admin_run(&mut self, op: Op) -> Result<(), TxError> {
        let key = self.admin.online.insecure_clone();
        self.chain.run(&key, op)
    }
}

/// `h-1`, `h-2`, ... for holder index 0, 1, ...
fn holder(i: usize) -> String {
    format!("h-{}", i + 1)
}

trait InsecureClone {
    fn insecure_clone(&self) -> Keypair;
}

impl InsecureClone for Keypair {
    fn insecure_clone(&self) -> Keypair {
        Keypair::from_signing_key(self.signing_key().clone())
    }
}

#[test]
fn only_the_name_owner_creates_a_company_with_valid_classes() {
    let mut chain = Chain::new();
    let owner = Keypair::generate();
    chain.register_name(&owner, ACME);
    let admin = Identity::new("acme-admin");
    let create = |chain: &Chain, sender: &Keypair, classes: &[&str]| {
        company_op(chain, "acme", ACME, sender, &admin, classes)
    };
    let op = create(&chain, &owner, &["common"]);
    let err = chain.run(&owner, op).unwrap_err();
    assert!(matches!(err, TxError::IdentityNotFound { .. }), "{err}");
    chain.ok(&admin.offline, admin.register_op());
    let op = create(&chain, &admin.online, &["common"]);
    let err = chain.run(&admin.online, op).unwrap_err();
    assert!(matches!(err, TxError::NotOwner { .. }), "{err}");
    for classes in [&[][..], &["common", "common"], &["Common"]] {
        let op = create(&chain, &owner, classes);
        let err = chain.run(&owner, op).unwrap_err();
        assert!(
            matches!(err, TxError::BadClasses { .. } | TxError::InvalidId { .. }),
            "{classes:?}: {err}"
        );
    }
    let many: Vec<String> = (0..17).map(|i| format!("c{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let op = create(&chain, &owner, &many);
    assert!(matches!(
        chain.run(&owner, op),
        Err(TxError::BadClasses { .. })
    ));
    // A company id is never a name.
    let op = company_op(&chain, "acme.sigil", ACME, &owner, &admin, &["common"]);
    let err = chain.run(&owner, op).unwrap_err();
    assert!(matches!(err, TxError::InvalidCompanyId { .. }), "{err}");
    let op = create(&chain, &owner, &["common", "preferred-a"]);
    chain.ok(&owner, op);
    let op = create(&chain, &owner, &["common"]);
    let err = chain.run(&owner, op).unwrap_err();
    assert!(matches!(err, TxError::CompanyIdTaken { .. }), "{err}");
    let op = company_op(&chain, "acme-2", ACME, &owner, &admin, &["common"]);
    let err = chain.run(&owner, op).unwrap_err();
    assert!(matches!(err, TxError::NameHasCompany { .. }), "{err}");
    let entry: CompanyEntry = chain.ledger.company(ACME).unwrap().unwrap();
    assert_eq!(entry.admin, "acme-admin");
    assert_eq!(entry.class_names(), "common, preferred-a");
}

#[test]
fn only_the_admin_issues_revokes_rotates_and_issues_shares() {
    let mut f = Fixture::new(1, 0);
    let stranger = Keypair::generate();
    let owner_like = f.holders[0].insecure_clone();
    let ops = [
        issue_holder_op(ACME, "h-9", &stranger),
        Op::HolderRevoke {
            company: ACME.into(),
            holder: "h-1".into(),
            reason: "lost-key".into(),
        },
        Op::HolderRotate {
            company: ACME.into(),
            holder: "h-1".into(),
            new_key: stranger.public(),
        },
        issue_op(ACME, "common", "h-1", 10),
        Op::SharesRedeem {
            company: ACME.into(),
            class: "common".into(),
            from: "h-1".into(),
            amount: 1,
        },
    ];
    for op in ops {
        for key in [&stranger, &owner_like] {
            let err = f.chain.run(key, op.clone()).unwrap_err();
            assert!(
                matches!(err, TxError::WrongSigner { .. }),
                "{}: {err}",
                op.kind()
            );
        }
    }
    assert_eq!(f.balance("common", "h-1"), 0);
    // Unknown company, holder exists, bad holder id.
    let err = f
        .admin_run(issue_op("nope.sigil", "common", "h-1", 1))
        .unwrap_err();
    assert!(matches!(err, TxError::CompanyNotFound { .. }), "{err}");
    let err = f
        .admin_run(issue_holder_op(ACME, "h-1", &stranger))
        .unwrap_err();
    assert!(matches!(err, TxError::HolderExists { .. }), "{err}");
    let err = f
        .admin_run(issue_holder_op(ACME, "H 1", &stranger))
        .unwrap_err();
    assert!(matches!(err, TxError::InvalidId { .. }), "{err}");
    let err = f
        .admin_run(Op::HolderRevoke {
            company: ACME.into(),
            holder: "h-1".into(),
            reason: String::new(),
        })
        .unwrap_err();
    assert!(matches!(err, TxError::BadReason { .. }), "{err}");
    // A revoked admin identity signs nothing.
    let admin_offline = f.admin.offline.insecure_clone();
    f.chain.ok(
        &admin_offline,
        Op::IdentityRevoke {
            id: "acme-admin".into(),
        },
    );
    let err = f.admin_run(issue_op(ACME, "common", "h-1", 1)).unwrap_err();
    assert!(matches!(err, TxError::IdentityRevoked { .. }), "{err}");
}

#[test]
fn issue_and_transfer_reject_every_bad_input() {
    let mut f = Fixture::new(3, 1000);
    let h1 = f.holders[0].insecure_clone();
    let h2 = f.holders[1].insecure_clone();
    type Case = (Keypair, Op, fn(&TxError) -> bool);
    let cases: Vec<Case> = vec![
        (
            h1.insecure_clone(),
            transfer_op("nope.sigil", "common", "h-1", "h-2", 1),
            |e| matches!(e, TxError::CompanyNotFound { .. }),
        ),
        (
            h1.insecure_clone(),
            transfer_op(ACME, "series-z", "h-1", "h-2", 1),
            |e| matches!(e, TxError::UnknownClass { classes, .. } if classes == "common, preferred-a"),
        ),
        (
            h1.insecure_clone(),
            transfer_op(ACME, "common", "h-1", "h-9", 1),
            |e| matches!(e, TxError::HolderNotFound { holder, .. } if holder == "h-9"),
        ),
        (
            h1.insecure_clone(),
            transfer_op(ACME, "common", "h-9", "h-2", 1),
            |e| matches!(e, TxError::HolderNotFound { holder, .. } if holder == "h-9"),
        ),
        (
            h1.insecure_clone(),
            transfer_op(ACME, "common", "h-1", "h-2", 0),
            |e| matches!(e, TxError::AmountZero),
        ),
        (
            h1.insecure_clone(),
            transfer_op(ACME, "common", "h-1", "h-2", 1001),
            |e| {
                matches!(
                    e,
                    TxError::InsufficientBalance {
                        balance: 1000,
                        amount: 1001,
                        ..
                    }
                )
            },
        ),
        (
            h1.insecure_clone(),
            transfer_op(ACME, "preferred-a", "h-1", "h-2", 1),
            |e| matches!(e, TxError::InsufficientBalance { balance: 0, .. }),
        ),
        (
            h1.insecure_clone(),
            transfer_op(ACME, "common", "h-1", "h-1", 1),
            |e| matches!(e, TxError::SameHolder { .. }),
        ),
        // h-2's key cannot move h-1's shares.
        (
            h2.insecure_clone(),
            transfer_op(ACME, "common", "h-1", "h-2", 1),
            |e| {
                matches!(
                    e,
                    TxError::WrongSigner {
                        needed: "holder",
                        ..
                    }
                )
            },
        ),
    ];
    for (key, op, expected) in cases {
        let err = f.chain.run(&key, op.clone()).unwrap_err();
        assert!(expected(&err), "{op:?}: {err}");
    }
    assert_eq!(f.balance("common", "h-1"), 1000);
    // Issuing past the 64-bit total overflows, checked on the class total.
    f.admin_run(issue_op(ACME, "preferred-a", "h-2", u64::MAX))
        .unwrap();
    let err = f
        .admin_run(issue_op(ACME, "preferred-a", "h-3", 1))
        .unwrap_err();
    assert!(matches!(err, TxError::AmountOverflow { .. }), "{err}");
    let err = f.admin_run(issue_op(ACME, "common", "h-3", 0)).unwrap_err();
    assert!(matches!(err, TxError::AmountZero), "{err}");
    // The whole u64 can move.
    f.chain.ok(
        &h2,
        transfer_op(ACME, "preferred-a", "h-2", "h-3", u64::MAX),
    );
    assert_eq!(f.balance("preferred-a", "h-3"), u64::MAX);
    assert_eq!(f.balance("preferred-a", "h-2"), 0);
    f.chain
        .ok(&h1, transfer_op(ACME, "common", "h-1", "h-2", 1000));
    assert_eq!(f.balance("common", "h-2"), 1000);
}

#[test]
fn a_revoked_holder_neither_signs_nor_receives() {
    let mut f = Fixture::new(3, 100);
    let h1 = f.holders[0].insecure_clone();
    let h2 = f.holders[1].insecure_clone();
    f.chain
        .ok(&h1, transfer_op(ACME, "common", "h-1", "h-2", 40));
    f.admin_run(Op::HolderRevoke {
        company: ACME.into(),
        holder: "h-2".into(),
        reason: "lost-key".into(),
    })
    .unwrap();
    let revoked = f.chain.height();
    let err = f
        .chain
        .run(&h1, transfer_op(ACME, "common", "h-1", "h-2", 1))
        .unwrap_err();
    assert!(
        matches!(&err, TxError::HolderRevoked { holder, revoked_at, reason, .. }
            if holder == "h-2" && *revoked_at == revoked && reason == "lost-key"),
        "{err}"
    );
    let err = f
        .chain
        .run(&h2, transfer_op(ACME, "common", "h-2", "h-3", 1))
        .unwrap_err();
    assert!(matches!(err, TxError::HolderRevoked { .. }), "{err}");
    let err = f.admin_run(issue_op(ACME, "common", "h-2", 1)).unwrap_err();
    assert!(matches!(err, TxError::HolderRevoked { .. }), "{err}");
    let holder = f.chain.ledger.holder(ACME_ID, "h-2").unwrap().unwrap();
    assert!(!holder.is_active());
    assert_eq!(holder.keys[0].until, Some(revoked));
    assert_eq!(f.balance("common", "h-2"), 40);
}

#[test]
fn revoke_then_transfer_in_one_block_fails_and_the_other_order_applies() {
    let mut f = Fixture::new(3, 100);
    let h1 = f.holders[0].insecure_clone();
    let admin = f.admin.online.insecure_clone();
    let revoke = |holder: &str| Op::HolderRevoke {
        company: ACME.into(),
        holder: holder.into(),
        reason: "court-order".into(),
    };
    let txs = vec![
        f.chain.tx(&admin, revoke("h-1")),
        f.chain
            .tx(&h1, transfer_op(ACME, "common", "h-1", "h-2", 10)),
    ];
    let outcomes = f.chain.block(txs);
    assert_eq!(outcomes[0], Ok(()));
    assert!(
        matches!(outcomes[1], Err(TxError::HolderRevoked { .. })),
        "{outcomes:?}"
    );
    assert_eq!(f.balance("common", "h-1"), 100);
    // Reinstated with a new key by rotation: the old key stays void.
    let new_key = Keypair::generate();
    f.admin_run(Op::HolderRotate {
        company: ACME.into(),
        holder: "h-1".into(),
        new_key: new_key.public(),
    })
    .unwrap();
    // Transfer first, then revoke of the recipient: the transfer applies.
    let txs = vec![
        f.chain
            .tx(&new_key, transfer_op(ACME, "common", "h-1", "h-2", 10)),
        f.chain.tx(&admin, revoke("h-2")),
    ];
    assert_eq!(f.chain.block(txs), vec![Ok(()), Ok(())]);
    assert_eq!(f.balance("common", "h-2"), 10);
}

#[test]
fn a_rotated_out_holder_key_signs_nothing() {
    let mut f = Fixture::new(2, 100);
    let old = f.holders[0].insecure_clone();
    let new_key = Keypair::generate();
    let rotate = |key: &Keypair| Op::HolderRotate {
        company: ACME.into(),
        holder: "h-1".into(),
        new_key: key.public(),
    };
    f.admin_run(rotate(&new_key)).unwrap();
    let rotated = f.chain.height();
    let err = f
        .chain
        .run(&old, transfer_op(ACME, "common", "h-1", "h-2", 1))
        .unwrap_err();
    assert!(
        matches!(err, TxError::KeyRotatedOut { valid_until, current, .. }
            if valid_until == rotated && current == new_key.public()),
        "{err}"
    );
    // A key the holder once had cannot come back.
    let err = f.admin_run(rotate(&old)).unwrap_err();
    assert!(matches!(err, TxError::KeyReused { .. }), "{err}");
    f.chain
        .ok(&new_key, transfer_op(ACME, "common", "h-1", "h-2", 1));
    assert_eq!(f.balance("common", "h-2"), 1);
}

#[test]
fn a_double_spend_applies_once_in_one_block_or_in_two() {
    let mut f = Fixture::new(3, 100);
    let h1 = f.holders[0].insecure_clone();
    // Two transfers of 80 of the same 100 shares in one block: the first wins.
    let txs = vec![
        f.chain
            .tx(&h1, transfer_op(ACME, "common", "h-1", "h-2", 80)),
        f.chain
            .tx(&h1, transfer_op(ACME, "common", "h-1", "h-3", 80)),
    ];
    let outcomes = f.chain.block(txs);
    assert_eq!(outcomes[0], Ok(()));
    assert!(
        matches!(
            outcomes[1],
            Err(TxError::InsufficientBalance {
                balance: 20,
                amount: 80,
                ..
            })
        ),
        "{outcomes:?}"
    );
    assert_eq!(
        (
            f.balance("common", "h-1"),
            f.balance("common", "h-2"),
            f.balance("common", "h-3")
        ),
        (20, 80, 0)
    );
    // Across two blocks.
    let first = f
        .chain
        .tx(&h1, transfer_op(ACME, "common", "h-1", "h-2", 15));
    let second = f
        .chain
        .tx(&h1, transfer_op(ACME, "common", "h-1", "h-3", 15));
    assert_eq!(f.chain.block(vec![first]), vec![Ok(())]);
    let outcomes = f.chain.block(vec![second]);
    assert!(
        matches!(outcomes[0], Err(TxError::InsufficientBalance { .. })),
        "{outcomes:?}"
    );
    // The same spend signed twice with one nonce (sent to two nodes): a block cannot hold both.
    let a = f
        .chain
        .tx(&h1, transfer_op(ACME, "common", "h-1", "h-2", 5));
    let mut b = a.clone();
    b.tx.op = transfer_op(ACME, "common", "h-1", "h-3", 5);
    let b = b.tx.sign(&h1);
    let err = f.chain.try_block(vec![a.clone(), b.clone()]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTx {
                index: 1,
                error: TxError::BadNonce { .. }
            }
        ),
        "{err}"
    );
    assert_eq!(f.chain.block(vec![b]), vec![Ok(())]);
    let err = f.chain.try_block(vec![a]).unwrap_err();
    assert!(matches!(err, Error::InvalidTx { index: 0, .. }), "{err}");
    assert_eq!(
        (
            f.balance("common", "h-1"),
            f.balance("common", "h-2"),
            f.balance("common", "h-3")
        ),
        (0, 95, 5)
    );
}

#[test]
fn the_register_at_any_height_histories_and_csv() {
    let mut f = Fixture::new(2, 1_000_000);
    let issued_at = f.chain.height();
    let h1 = f.holders[0].insecure_clone();
    f.chain
        .ok(&h1, transfer_op(ACME, "common", "h-1", "h-2", 2500));
    let transferred_at = f.chain.height();
    f.admin_run(Op::HolderRevoke {
        company: ACME.into(),
        holder: "h-1".into(),
        reason: "lost-key".into(),
    })
    .unwrap();
    f.admin_run(Op::SharesRedeem {
        company: ACME.into(),
        class: "common".into(),
        from: "h-2".into(),
        amount: 500,
    })
    .unwrap();
    let tip = f.chain.height();

    let before = f
        .chain
        .ledger
        .cap_table(ACME_ID, issued_at)
        .unwrap()
        .unwrap();
    assert_eq!(before.holders[0].balances, [1_000_000, 0]);
    assert_eq!(before.holders[1].balances, [0, 0]);
    let after = f
        .chain
        .ledger
        .cap_table(ACME_ID, transferred_at)
        .unwrap()
        .unwrap();
    assert_eq!(after.holders[0].balances, [997_500, 0]);
    assert_eq!(after.holders[1].balances, [2500, 0]);
    assert!(after.holders[0].active);
    let now = f
        .chain
        .ledger
        .cap_table(ACME_ID, u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(now.height, tip);
    assert!(!now.holders[0].active);
    assert_eq!(now.holders[1].balances, [2000, 0]);
    assert_eq!(now.classes[0].issued, 1_000_000);
    assert_eq!(now.classes[0].redeemed, 500);
    assert_eq!(now.classes[0].outstanding, 999_500);
    // The table agrees with the balances in state.
    for row in &now.holders {
        assert_eq!(row.balances[0], f.balance("common", &row.holder));
    }
    assert!(f.chain.ledger.cap_table(ACME_ID, 1).unwrap().is_none());
    assert!(
        f.chain
            .ledger
            .cap_table("nope.sigil", tip)
            .unwrap()
            .is_none()
    );

    let csv = now.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "holder,key,status,attr_hash,common,preferred-a");
    assert_eq!(
        lines[1],
        format!("h-1,{},revoked,,997500,0", f.holders[0].public())
    );
    assert_eq!(
        lines[2],
        format!("h-2,{},active,,2000,0", f.holders[1].public())
    );

    let history = f.chain.ledger.holder_history(ACME_ID, "h-2", 100).unwrap();
    let summary: Vec<(&str, Option<u64>)> = history
        .iter()
        .map(|e| {
            let action = match &e.event.change {
                Change::HolderIssued { .. } => "issued",
                Change::Transferred { .. } => "transferred",
                Change::Redeemed { .. } => "redeemed",
                other => panic!("unexpected {other:?}"),
            };
            (action, e.balance_after)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("issued", None),
            ("transferred", Some(2500)),
            ("redeemed", Some(2000))
        ]
    );
}

#[test]
fn a_balance_is_proven_against_the_signed_header() {
    let f = Fixture::new(2, 777);
    let trusted = f.chain.ledger.validators().unwrap();
    let proof = f
        .chain
        .ledger
        .prove(&keys::balance(ACME_ID, "common", "h-1"))
        .unwrap();
    let value = proof.verify(support::CHAIN, &trusted).unwrap().unwrap();
    assert_eq!(decode::<u64>(value).unwrap(), 777);
    // A zero balance is proven absent.
    let absent = f
        .chain
        .ledger
        .prove(&keys::balance(ACME_ID, "common", "h-2"))
        .unwrap();
    assert_eq!(absent.verify(support::CHAIN, &trusted).unwrap(), None);
    let mut forged = proof.clone();
    forged.value = Some(sigil_core::types::encode(&1_000_000u64));
    assert!(forged.verify(support::CHAIN, &trusted).is_err());
}

#[test]
fn a_holder_carries_the_hash_of_its_off_ledger_data() {
    let mut f = Fixture::new(0, 0);
    let key = Keypair::generate();
    let attr = Hash::of(b"Jane Doe, 1 Main St, passport 123");
    f.admin_run(Op::HolderIssue {
        company: ACME.into(),
        holder: "jane".into(),
        key: key.public(),
        attr_hash: Some(attr),
    })
    .unwrap();
    let entry = f.chain.ledger.holder(ACME_ID, "jane").unwrap().unwrap();
    assert_eq!(entry.attr_hash, Some(attr));
    let table = f
        .chain
        .ledger
        .cap_table(ACME_ID, u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(table.holders[0].attr_hash, Some(attr));
}

/// One random step of the property test.
#[derive(Debug, Clone)]
enum Step {
    Issue {
        class: usize,
        to: usize,
        amount: u64,
    },
    Transfer {
        class: usize,
        from: usize,
        to: usize,
        amount: u64,
        /// `None`: the sender's current key; else the key of that holder index (or a
        /// stranger's for `HOLDERS`).
        signer: Option<usize>,
    },
    Redeem {
        class: usize,
        from: usize,
        amount: u64,
    },
    Revoke {
        holder: usize,
    },
    Rotate {
        holder: usize,
    },
}

const HOLDERS: usize = 5;
/// Class 2 does not exist: steps on it must fail.
const CLASSES: [&str; 3] = ["common", "preferred-a", "series-z"];

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..300, 1 => Just(u64::MAX - 5), 1 => 300u64..5000]
}

fn step() -> impl Strategy<Value = Step> {
    let class = 0..CLASSES.len();
    let holder = 0..HOLDERS;
    prop_oneof![
        3 => (class.clone(), holder.clone(), prop_oneof![9 => 1_000u64..100_000, 1 => amount()])
            .prop_map(|(class, to, amount)| Step::Issue { class, to, amount }),
        12 => (class.clone(), holder.clone(), holder.clone(), amount(), proptest::option::weighted(0.2, 0..HOLDERS + 1))
            .prop_map(|(class, from, to, amount, signer)| Step::Transfer { class, from, to, amount, signer }),
        2 => (class, holder.clone(), amount())
            .prop_map(|(class, from, amount)| Step::Redeem { class, from, amount }),
        1 => holder.clone().prop_map(|holder| Step::Revoke { holder }),
        2 => holder.prop_map(|holder| Step::Rotate { holder }),
    ]
}

/// What the test expects of the register: the rules restated plainly.
#[derive(Default)]
struct Model {
    balances: BTreeMap<(usize, usize), u64>,
    issued: [u64; 2],
    redeemed: [u64; 2],
    revoked: [bool; HOLDERS],
}

impl Model {
    fn bal(&self, class: usize, holder: usize) -> u64 {
        self.balances.get(&(class, holder)).copied().unwrap_or(0)
    }

    /// Applies `step` if the rules allow it; whether it applied. `signed_by_holder`: the
    /// transfer is signed by the sender's current key.
    fn apply(&mut self, step: &Step, signed_by_holder: bool) -> bool {
        match *step {
            Step::Issue { class, to, amount } => {
                if class >= 2 || amount == 0 || self.revoked[to] {
                    return false;
                }
                let Some(total) = self.issued[class].checked_add(amount) else {
                    return false;
                };
                self.issued[class] = total;
                *self.balances.entry((class, to)).or_default() += amount;
                true
            }
            Step::Transfer {
                class,
                from,
                to,
                amount,
                ..
            } => {
                let ok = class < 2
                    && amount > 0
                    && !self.revoked[from]
                    && signed_by_holder
                    && !self.revoked[to]
                    && from != to
                    && self.bal(class, from) >= amount;
                if ok {
                    *self.balances.entry((class, from)).or_default() -= amount;
                    *self.balances.entry((class, to)).or_default() += amount;
                }
                ok
            }
            Step::Redeem {
                class,
                from,
                amount,
            } => {
                let ok = class < 2 && amount > 0 && self.bal(class, from) >= amount;
                if ok {
                    *self.balances.entry((class, from)).or_default() -= amount;
                    self.redeemed[class] += amount;
                }
                ok
            }
            Step::Revoke { holder } => !std::mem::replace(&mut self.revoked[holder], true),
            Step::Rotate { holder } => {
                self.revoked[holder] = false;
                true
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Thousands of random issues, transfers (some signed by the wrong key), redemptions,
    /// revocations and rotations, 40 to a block: every outcome is the model's, and after every
    /// block each class's balances sum to issued minus redeemed, in state and in the register
    /// rebuilt from the log.
    #[test]
    fn totals_are_conserved_under_random_operations(steps in proptest::collection::vec(step(), 1500..2500)) {
        let mut f = Fixture::new(HOLDERS, 0);
        let admin = f.admin.online.insecure_clone();
        let stranger = Keypair::generate();
        let mut model = Model::default();
        let (mut transfers, mut transfers_applied) = (0, 0);
        for chunk in steps.chunks(40) {
            let mut txs = Vec::new();
            let mut expected = Vec::new();
            for step in chunk {
                let (key, op, signed_by_holder) = match step {
                    Step::Issue { class, to, amount } => {
                        (admin.insecure_clone(), issue_op(ACME, CLASSES[*class], &holder(*to), *amount), false)
                    }
                    Step::Transfer { class, from, to, amount, signer } => {
                        let signer = signer.unwrap_or(*from);
                        let key = if signer == HOLDERS { &stranger } else { &f.holders[signer] };
                        let op = transfer_op(ACME, CLASSES[*class], &holder(*from), &holder(*to), *amount);
                        (key.insecure_clone(), op, signer == *from)
                    }
                    Step::Redeem { class, from, amount } => {
                        let op = Op::SharesRedeem {
                            company: ACME.into(),
                            class: CLASSES[*class].into(),
                            from: holder(*from),
                            amount: *amount,
                        };
                        (admin.insecure_clone(), op, false)
                    }
                    Step::Revoke { holder: h } => {
                        let op = Op::HolderRevoke { company: ACME.into(), holder: holder(*h), reason: "random".into() };
                        (admin.insecure_clone(), op, false)
                    }
                    Step::Rotate { holder: h } => {
                        let key = Keypair::generate();
                        let op = Op::HolderRotate { company: ACME.into(), holder: holder(*h), new_key: key.public() };
                        f.holders[*h] = key;
                        (admin.insecure_clone(), op, false)
                    }
                };
                expected.push(model.apply(step, signed_by_holder));
                txs.push(f.chain.tx(&key, op));
            }
            let outcomes = f.chain.block(txs);
            for ((step, outcome), expected) in chunk.iter().zip(&outcomes).zip(&expected) {
                prop_assert_eq!(outcome.is_ok(), *expected, "{:?}: {:?}", step, outcome);
                if matches!(step, Step::Transfer { .. }) {
                    transfers += 1;
                    transfers_applied += usize::from(outcome.is_ok());
                }
            }
            let company = f.chain.ledger.company(ACME).unwrap().unwrap();
            let table = f.chain.ledger.cap_table(ACME_ID, u64::MAX).unwrap().unwrap();
            for (class, totals) in company.classes.iter().enumerate() {
                let in_state: u128 = (0..HOLDERS).map(|h| f.balance(CLASSES[class], &holder(h)) as u128).sum();
                let in_table: u128 = table.holders.iter().map(|r| r.balances[class] as u128).sum();
                prop_assert_eq!(in_state, totals.outstanding() as u128);
                prop_assert_eq!(in_table, in_state);
                prop_assert_eq!(totals.issued, model.issued[class]);
                prop_assert_eq!(totals.redeemed, model.redeemed[class]);
                for h in 0..HOLDERS {
                    prop_assert_eq!(f.balance(CLASSES[class], &holder(h)), model.bal(class, h));
                }
            }
        }
        // The sequence exercised the rules, not only their refusals.
        // (About one in five applies; one in twenty-five is far below any plausible draw.)
        prop_assert!(
            transfers_applied * 25 >= transfers,
            "only {} of {} transfers applied",
            transfers_applied,
            transfers
        );
    }
}

#[test]
fn after_a_name_changes_hands_the_old_admin_speaks_no_more_for_it_and_the_register_survives() {
    let mut f = Fixture::new(2, 1000);
    let owner = f.chain.ledger.name_entry(ACME).unwrap().unwrap().owner;
    let listed = f.chain.ledger.company(ACME).unwrap().unwrap();
    assert_eq!(listed.id, ACME_ID);
    assert_eq!(listed.listed_by, owner);
    // The name is sold: the listing counts under the old owner only.
    let new_owner = Keypair::generate();
    let old_owner_key = f.company_owner.insecure_clone();
    f.chain.ok(
        &old_owner_key,
        Op::NameTransfer {
            name: ACME.into(),
            new_owner: new_owner.public(),
        },
    );
    assert!(f.chain.ledger.company(ACME).unwrap().is_none());
    // The old admin can no longer act under the name...
    let err = f.admin_run(issue_op(ACME, "common", "h-1", 1)).unwrap_err();
    assert!(matches!(err, TxError::CompanyNotFound { .. }), "{err}");
    // ... but the register stays its holders', under the company's id.
    let detached = f.chain.ledger.company(ACME_ID).unwrap().unwrap();
    let name_now = f.chain.ledger.name_entry(ACME).unwrap();
    assert!(!detached.is_listed(name_now.as_ref()));
    assert_eq!(f.balance("common", "h-1"), 1000);
    let h1 = f.holders[0].insecure_clone();
    f.chain
        .ok(&h1, transfer_op(ACME_ID, "common", "h-1", "h-2", 10));
    f.admin_run(issue_op(ACME_ID, "common", "h-2", 5)).unwrap();
    // The new owner starts its own company under the name, with a register of its own.
    let new_admin = Identity::new("new-admin");
    f.chain.ok(&new_admin.offline, new_admin.register_op());
    let op = company_op(&f.chain, "acme", ACME, &new_owner, &new_admin, &["common"]);
    let err = f.chain.run(&new_owner, op).unwrap_err();
    assert!(matches!(err, TxError::CompanyIdTaken { .. }), "{err}");
    let op = company_op(
        &f.chain,
        "acme-two",
        ACME,
        &new_owner,
        &new_admin,
        &["common"],
    );
    f.chain.ok(&new_owner, op);
    let now = f.chain.ledger.company(ACME).unwrap().unwrap();
    assert_eq!(now.id, "acme-two");
    // The old admin is not the new company's admin.
    let stranger = Keypair::generate();
    let err = f
        .admin_run(issue_holder_op(ACME, "h-1", &stranger))
        .unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    assert!(f.chain.ledger.holder("acme-two", "h-1").unwrap().is_none());
    // The old company moves to a name its side holds, with its admin's consent; the register
    // moves with it, intact.
    f.chain.register_name(&old_owner_key, "acme-holdings.sigil");
    let name = "acme-holdings.sigil";
    let forged = f.chain.consent(
        &stranger,
        "company-move",
        "acme-admin",
        &[ACME_ID, name],
        &old_owner_key,
    );
    let moved = |consent| Op::CompanyMove {
        company: ACME_ID.into(),
        name: name.into(),
        consent,
    };
    let err = f.chain.run(&old_owner_key, moved(forged)).unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    let consent = f.chain.consent(
        &f.admin.online,
        "company-move",
        "acme-admin",
        &[ACME_ID, name],
        &old_owner_key,
    );
    f.chain.ok(&old_owner_key, moved(consent));
    let relisted = f.chain.ledger.company(name).unwrap().unwrap();
    assert_eq!(relisted.id, ACME_ID);
    assert_eq!(relisted.name, name);
    assert_eq!(f.balance("common", "h-1"), 990);
    assert_eq!(f.balance("common", "h-2"), 15);
    f.admin_run(issue_op(name, "common", "h-2", 1)).unwrap();
    let table = f
        .chain
        .ledger
        .cap_table(ACME_ID, u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(table.holders[1].balances[0], 16);
    // The new owner's company under the old name is untouched.
    assert_eq!(
        f.chain.ledger.company(ACME).unwrap().unwrap().id,
        "acme-two"
    );
}

#[test]
fn a_company_admin_is_replaced_by_its_offline_key_or_after_revocation_by_the_lister() {
    let mut f = Fixture::new(1, 0);
    let second = Identity::new("second-admin");
    f.chain.ok(&second.offline, second.register_op());
    let replace = |chain: &Chain, sender: &Keypair, admin: &Identity| Op::CompanyAdmin {
        company: ACME.into(),
        admin: admin.id.clone(),
        consent: chain.consent(
            &admin.online,
            "company-admin",
            &admin.id,
            &[ACME_ID],
            sender,
        ),
    };
    // The admin's online key (perhaps stolen) cannot hand the company to someone else.
    let online = f.admin.online.insecure_clone();
    let op = replace(&f.chain, &online, &second);
    let err = f.chain.run(&online, op).unwrap_err();
    assert!(
        matches!(
            err,
            TxError::WrongSigner {
                needed: "offline",
                ..
            }
        ),
        "{err}"
    );
    // Nor can the name's owner while the admin identity lives.
    let lister = f.company_owner.insecure_clone();
    let op = replace(&f.chain, &lister, &second);
    let err = f.chain.run(&lister, op).unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    // The admin's offline key replaces it, even while the identity is suspended.
    f.chain.ok(
        &online,
        Op::IdentitySuspend {
            id: "acme-admin".into(),
        },
    );
    let offline = f.admin.offline.insecure_clone();
    let op = replace(&f.chain, &offline, &second);
    f.chain.ok(&offline, op);
    assert_eq!(
        f.chain.ledger.company(ACME).unwrap().unwrap().admin,
        "second-admin"
    );
    f.chain
        .ok(&second.online, issue_op(ACME, "common", "h-1", 7));
    let table = f
        .chain
        .ledger
        .cap_table(ACME_ID, u64::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(table.admin, "second-admin");
    // Once the admin identity is revoked for good, the key that listed the company appoints
    // the next one (a stranger cannot); the company is never frozen.
    f.chain.ok(
        &second.offline,
        Op::IdentityRevoke {
            id: "second-admin".into(),
        },
    );
    let third = Identity::new("third-admin");
    f.chain.ok(&third.offline, third.register_op());
    let stranger = Keypair::generate();
    let op = replace(&f.chain, &stranger, &third);
    let err = f.chain.run(&stranger, op).unwrap_err();
    assert!(matches!(err, TxError::NotCompanyAuthority { .. }), "{err}");
    let op = replace(&f.chain, &lister, &third);
    f.chain.ok(&lister, op);
    f.chain
        .ok(&third.online, issue_op(ACME, "common", "h-1", 3));
    assert_eq!(f.balance("common", "h-1"), 10);
}
