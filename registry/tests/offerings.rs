//! Equity offerings through real blocks (ADR 0009): who opens, approves, subscribes, withdraws,
//! confirms and closes; every cap; the race for the last shares; all-or-nothing closing with the
//! register and its history; revoked subscribers dropped; lock-ups; and a property test of random
//! subscription sequences against the shares issued.

mod support;

use proptest::prelude::*;
use sigil_core::error::TxError;
use sigil_core::limits::MAX_OFFERING_INVESTORS;
use sigil_core::paging::{Order, PageRequest};
use sigil_core::state::{
    Change, OfferingEntry, OfferingStatus, OfferingTerms, StateRead, Subscription,
    SubscriptionState, balance, keys, slot_of_cursor,
};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Keypair};
use support::{Chain, Identity, company, issue_holder_op, issue_op, transfer_op};

const ACME: &str = "acme.sigil";
const ACME_ID: &str = "acme";
const SEED: &str = "seed";
const TERMS: Hash = Hash([0x5e; 32]);

/// A company with an admin, a platform identity and holders h-1.. with their keys.
struct Fixture {
    chain: Chain,
    admin: Identity,
    platform: Identity,
    holders: Vec<Keypair>,
}

fn holder(i: usize) -> String {
    format!("h-{}", i + 1)
}

fn clone_key(key: &Keypair) -> Keypair {
    Keypair::from_signing_key(key.signing_key().clone())
}

/// Terms: 100 to 1,000 common, at most 400 per investor, 5 investors, 10 blocks, no lock-up.
fn terms() -> OfferingTerms {
    OfferingTerms {
        class: "common".into(),
        terms_sha256: TERMS,
        shares_min: 100,
        shares_max: 1_000,
        investor_max: 400,
        max_investors: 5,
        closes_in_blocks: 10,
        lockup_blocks: 0,
        price: Some("1.00 EUR".into()),
        platform: None,
    }
}

fn subscribe_op(holder: &str, shares: u64) -> Op {
    Op::OfferingSubscribe {
        company: ACME.into(),
        offering: SEED.into(),
        holder: holder.into(),
        shares,
        terms_sha256: TERMS,
    }
}

fn confirm_op(holder: &str) -> Op {
    Op::OfferingConfirm {
        company: ACME.into(),
        offering: SEED.into(),
        holder: holder.into(),
    }
}

fn withdraw_op(holder: &str) -> Op {
    Op::OfferingWithdraw {
        company: ACME.into(),
        offering: SEED.into(),
        holder: holder.into(),
    }
}

fn close_op(offering: &str) -> Op {
    Op::OfferingClose {
        company: ACME.into(),
        offering: offering.into(),
    }
}

impl Fixture {
    fn new(holders: usize) -> Fixture {
        let mut chain = Chain::new();
        let admin = Identity::new("acme-admin");
        company(&mut chain, ACME, &admin, &["common", "preferred"]);
        let platform = Identity::new("portal");
        chain.ok(&platform.offline, platform.register_op());
        let keys: Vec<Keypair> = (0..holders).map(|_| Keypair::generate()).collect();
        for (i, key) in keys.iter().enumerate() {
            chain.ok(&admin.online, issue_holder_op(ACME, &holder(i), key));
        }
        Fixture {
            chain,
            admin,
            platform,
            holders: keys,
        }
    }

    /// Opens `SEED` with `terms`, signed by the admin.
    fn open(&mut self, terms: OfferingTerms) -> Result<(), TxError> {
        self.open_named(SEED, terms)
    }

    fn open_named(&mut self, offering: &str, terms: OfferingTerms) -> Result<(), TxError> {
        let key = clone_key(&self.admin.online);
        self.chain.run(
            &key,
            Op::OfferingOpen {
                company: ACME.into(),
                offering: offering.into(),
                terms: Box::new(terms),
            },
        )
    }

    fn holder_run(&mut self, i: usize, op: Op) -> Result<(), TxError> {
        let key = clone_key(&self.holders[i]);
        self.chain.run(&key, op)
    }

    fn admin_run(&mut self, op: Op) -> Result<(), TxError> {
        let key = clone_key(&self.admin.online);
        self.chain.run(&key, op)
    }

    fn subscribe(&mut self, i: usize, shares: u64) -> Result<(), TxError> {
        self.holder_run(i, subscribe_op(&holder(i), shares))
    }

    fn offering(&self, offering: &str) -> OfferingEntry {
        self.chain
            .ledger
            .latest()
            .get_decoded(&keys::offering(ACME_ID, offering))
            .unwrap()
            .expect("the offering exists")
    }

    fn subscription(&self, i: usize) -> Subscription {
        self.chain
            .ledger
            .latest()
            .get_decoded(&keys::subscription(ACME_ID, SEED, &holder(i)))
            .unwrap()
            .expect("the subscription exists")
    }

    fn balance(&self, i: usize) -> u64 {
        balance(&self.chain.ledger.latest(), ACME_ID, "common", &holder(i)).unwrap()
    }

    fn issued(&self) -> u64 {
        let company = self.chain.ledger.company(ACME_ID).unwrap().unwrap();
        company.classes[0].issued
    }

    /// Empty blocks until the height is past the offering's deadline.
    fn pass_deadline(&mut self) {
        let closes_at = self.offering(SEED).closes_at.expect("open");
        while self.chain.height() <= closes_at {
            self.chain.block(vec![]);
        }
    }
}

#[test]
fn only_the_admin_opens_and_the_terms_must_hold() {
    let mut f = Fixture::new(1);
    let stranger = clone_key(&f.holders[0]);
    let op = Op::OfferingOpen {
        company: ACME.into(),
        offering: SEED.into(),
        terms: Box::new(terms()),
    };
    let err = f.chain.run(&stranger, op).unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    let broken: Vec<(OfferingTerms, &str)> = vec![
        (
            OfferingTerms {
                shares_min: 2_000,
                ..terms()
            },
            "min above max",
        ),
        (
            OfferingTerms {
                shares_min: 0,
                ..terms()
            },
            "zero min",
        ),
        (
            OfferingTerms {
                max_investors: MAX_OFFERING_INVESTORS + 1,
                ..terms()
            },
            "too many investors",
        ),
        (
            OfferingTerms {
                closes_in_blocks: 0,
                ..terms()
            },
            "no period",
        ),
        (
            OfferingTerms {
                price: Some("x".repeat(65)),
                ..terms()
            },
            "long price",
        ),
    ];
    for (t, what) in broken {
        let err = f.open(t).unwrap_err();
        assert!(matches!(err, TxError::BadOffering { .. }), "{what}: {err}");
    }
    let err = f
        .open(OfferingTerms {
            class: "nope".into(),
            ..terms()
        })
        .unwrap_err();
    assert!(matches!(err, TxError::UnknownClass { .. }), "{err}");
    let err = f
        .open(OfferingTerms {
            platform: Some("nobody".into()),
            ..terms()
        })
        .unwrap_err();
    assert!(matches!(err, TxError::IdentityNotFound { .. }), "{err}");
    f.open(terms()).unwrap();
    let err = f.open(terms()).unwrap_err();
    assert!(matches!(err, TxError::OfferingExists { .. }), "{err}");
    let entry = f.offering(SEED);
    assert_eq!(entry.status, OfferingStatus::Open);
    assert_eq!(entry.closes_at, Some(f.chain.height() - 1 + 10));
}

#[test]
fn a_named_platform_opens_the_offering_with_its_approval_of_the_terms() {
    let mut f = Fixture::new(1);
    f.open(OfferingTerms {
        platform: Some("portal".into()),
        ..terms()
    })
    .unwrap();
    assert_eq!(f.offering(SEED).status, OfferingStatus::Proposed);
    let err = f.subscribe(0, 10).unwrap_err();
    assert!(matches!(err, TxError::OfferingStatus { .. }), "{err}");
    let approve = |terms_sha256| Op::OfferingApprove {
        company: ACME.into(),
        offering: SEED.into(),
        terms_sha256,
    };
    let err = f.admin_run(approve(TERMS)).unwrap_err();
    assert!(matches!(err, TxError::NotOfferingAuthority { .. }), "{err}");
    let platform = clone_key(&f.platform.online);
    let err = f.chain.run(&platform, approve(Hash([1; 32]))).unwrap_err();
    assert!(matches!(err, TxError::TermsMismatch { .. }), "{err}");
    f.chain.ok(&platform, approve(TERMS));
    let entry = f.offering(SEED);
    assert_eq!(entry.status, OfferingStatus::Open);
    assert_eq!(entry.opened_at, Some(f.chain.height()));
    assert_eq!(entry.closes_at, Some(f.chain.height() + 10));
    f.subscribe(0, 10).unwrap();
    let err = f.chain.run(&platform, approve(TERMS)).unwrap_err();
    assert!(matches!(err, TxError::OfferingStatus { .. }), "{err}");
}

#[test]
fn subscriptions_are_signed_by_active_holders_over_the_terms_within_every_cap() {
    let mut f = Fixture::new(7);
    f.open(OfferingTerms {
        closes_in_blocks: 50,
        ..terms()
    })
    .unwrap();
    // Signed by another key, over other terms, above the per-investor cap, for nothing.
    let err = f
        .chain
        .run(&clone_key(&f.holders[1]), subscribe_op("h-1", 10))
        .unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    let mut other_terms = subscribe_op("h-1", 10);
    if let Op::OfferingSubscribe { terms_sha256, .. } = &mut other_terms {
        *terms_sha256 = Hash([2; 32]);
    }
    let err = f.holder_run(0, other_terms).unwrap_err();
    assert!(matches!(err, TxError::TermsMismatch { .. }), "{err}");
    let err = f.subscribe(0, 401).unwrap_err();
    assert!(matches!(err, TxError::InvestorMax { .. }), "{err}");
    let err = f.subscribe(0, 0).unwrap_err();
    assert!(matches!(err, TxError::AmountZero), "{err}");
    // A revoked holder is no verified investor any more.
    f.admin_run(Op::HolderRevoke {
        company: ACME.into(),
        holder: "h-7".into(),
        reason: "kyc-expired".into(),
    })
    .unwrap();
    let err = f.subscribe(6, 10).unwrap_err();
    assert!(matches!(err, TxError::HolderRevoked { .. }), "{err}");
    // The total: 400 + 400 = 800, then 300 passes the 1,000 maximum.
    f.subscribe(0, 400).unwrap();
    f.subscribe(1, 400).unwrap();
    let err = f.subscribe(2, 300).unwrap_err();
    assert!(
        matches!(
            err,
            TxError::OfferingFull {
                remaining: 200,
                asked: 300,
                ..
            }
        ),
        "{err}"
    );
    // A new amount replaces a pending subscription's.
    f.subscribe(0, 300).unwrap();
    assert_eq!(f.offering(SEED).subscribed, 700);
    assert_eq!(f.subscription(0).shares, 300);
    // The race for the last 300 shares: two subscriptions in one block, exactly one fits.
    let txs = vec![
        f.chain
            .tx(&clone_key(&f.holders[2]), subscribe_op("h-3", 200)),
        f.chain
            .tx(&clone_key(&f.holders[3]), subscribe_op("h-4", 200)),
    ];
    let outcomes = f.chain.block(txs);
    assert_eq!(outcomes[0], Ok(()));
    assert!(
        matches!(
            outcomes[1],
            Err(TxError::OfferingFull { remaining: 100, .. })
        ),
        "{:?}",
        outcomes[1]
    );
    // The investor count: 3 so far, two more fit, the sixth does not.
    f.subscribe(3, 50).unwrap();
    f.subscribe(4, 50).unwrap();
    let err = f.subscribe(5, 1).unwrap_err();
    assert!(
        matches!(err, TxError::TooManyInvestors { max: 5, .. }),
        "{err}"
    );
    let entry = f.offering(SEED);
    assert_eq!((entry.subscribed, entry.investors), (1_000, 5));
    // The deadline.
    f.holder_run(4, withdraw_op("h-5")).unwrap();
    f.pass_deadline();
    let err = f.subscribe(5, 1).unwrap_err();
    assert!(matches!(err, TxError::OfferingStatus { .. }), "{err}");
}

#[test]
fn holders_withdraw_while_open_and_keep_their_slot() {
    let mut f = Fixture::new(2);
    f.open(terms()).unwrap();
    f.subscribe(0, 300).unwrap();
    let err = f
        .chain
        .run(&clone_key(&f.holders[1]), withdraw_op("h-1"))
        .unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    let err = f.holder_run(1, withdraw_op("h-2")).unwrap_err();
    assert!(matches!(err, TxError::SubscriptionNotFound { .. }), "{err}");
    f.holder_run(0, withdraw_op("h-1")).unwrap();
    let entry = f.offering(SEED);
    assert_eq!((entry.subscribed, entry.investors, entry.slots), (0, 0, 1));
    assert_eq!(f.subscription(0).state, SubscriptionState::Withdrawn);
    let err = f.holder_run(0, withdraw_op("h-1")).unwrap_err();
    assert!(matches!(err, TxError::SubscriptionState { .. }), "{err}");
    // Subscribing again reuses the slot; a confirmed withdrawal leaves a refund owed.
    f.subscribe(0, 200).unwrap();
    assert_eq!(f.offering(SEED).slots, 1);
    f.admin_run(confirm_op("h-1")).unwrap();
    let err = f.subscribe(0, 100).unwrap_err();
    assert!(matches!(err, TxError::SubscriptionState { .. }), "{err}");
    f.holder_run(0, withdraw_op("h-1")).unwrap();
    let entry = f.offering(SEED);
    assert_eq!((entry.subscribed, entry.confirmed), (0, 0));
    assert!(f.subscription(0).refund_owed());
    // After the deadline nothing is withdrawn.
    f.subscribe(1, 100).unwrap();
    f.pass_deadline();
    let err = f.holder_run(1, withdraw_op("h-2")).unwrap_err();
    assert!(matches!(err, TxError::OfferingStatus { .. }), "{err}");
}

#[test]
fn only_the_admin_or_the_platform_confirms_payments() {
    let mut f = Fixture::new(3);
    f.open(OfferingTerms {
        platform: Some("portal".into()),
        ..terms()
    })
    .unwrap();
    let platform = clone_key(&f.platform.online);
    f.chain.ok(
        &platform,
        Op::OfferingApprove {
            company: ACME.into(),
            offering: SEED.into(),
            terms_sha256: TERMS,
        },
    );
    f.subscribe(0, 100).unwrap();
    f.subscribe(1, 100).unwrap();
    // The subscriber itself, another holder, the admin's offline key: refused.
    for key in [
        clone_key(&f.holders[0]),
        clone_key(&f.holders[2]),
        clone_key(&f.admin.offline),
    ] {
        let err = f.chain.run(&key, confirm_op("h-1")).unwrap_err();
        assert!(matches!(err, TxError::NotOfferingAuthority { .. }), "{err}");
    }
    f.chain.ok(&platform, confirm_op("h-1"));
    f.admin_run(confirm_op("h-2")).unwrap();
    let err = f.admin_run(confirm_op("h-2")).unwrap_err();
    assert!(matches!(err, TxError::SubscriptionState { .. }), "{err}");
    let err = f.admin_run(confirm_op("h-3")).unwrap_err();
    assert!(matches!(err, TxError::SubscriptionNotFound { .. }), "{err}");
    assert_eq!(f.offering(SEED).confirmed, 200);
    assert!(f.subscription(0).paid);
}

#[test]
fn a_close_before_the_deadline_is_refused_unless_the_maximum_is_confirmed() {
    let mut f = Fixture::new(3);
    f.open(OfferingTerms {
        shares_max: 500,
        ..terms()
    })
    .unwrap();
    f.subscribe(0, 400).unwrap();
    f.admin_run(confirm_op("h-1")).unwrap();
    let anyone = Keypair::generate();
    let err = f.chain.run(&anyone, close_op(SEED)).unwrap_err();
    assert!(
        matches!(err, TxError::CloseTooEarly { confirmed: 400, .. }),
        "{err}"
    );
    // Subscribed to the maximum is not enough: it must be confirmed.
    f.subscribe(1, 100).unwrap();
    let err = f.chain.run(&anyone, close_op(SEED)).unwrap_err();
    assert!(matches!(err, TxError::CloseTooEarly { .. }), "{err}");
    f.admin_run(confirm_op("h-2")).unwrap();
    f.chain.ok(&anyone, close_op(SEED));
    let entry = f.offering(SEED);
    assert_eq!(entry.status, OfferingStatus::Funded);
    assert_eq!((f.balance(0), f.balance(1)), (400, 100));
    let err = f.chain.run(&anyone, close_op(SEED)).unwrap_err();
    assert!(matches!(err, TxError::OfferingStatus { .. }), "{err}");
    let err = f.admin_run(confirm_op("h-1")).unwrap_err();
    assert!(matches!(err, TxError::OfferingStatus { .. }), "{err}");
}

#[test]
fn a_funded_close_issues_every_confirmed_subscription_at_once_and_records_it() {
    let mut f = Fixture::new(4);
    f.admin_run(issue_op(ACME, "common", "h-4", 7)).unwrap();
    f.open(terms()).unwrap();
    f.subscribe(0, 100).unwrap();
    f.subscribe(1, 200).unwrap();
    f.subscribe(2, 300).unwrap();
    f.admin_run(confirm_op("h-1")).unwrap();
    f.admin_run(confirm_op("h-2")).unwrap();
    f.pass_deadline();
    // Nothing is issued before the close.
    assert_eq!(f.issued(), 7);
    f.chain.ok(&Keypair::generate(), close_op(SEED));
    let height = f.chain.height();
    let entry = f.offering(SEED);
    assert_eq!(entry.status, OfferingStatus::Funded);
    assert_eq!((entry.issued, entry.closed_at), (300, Some(height)));
    assert_eq!(f.issued(), 307);
    assert_eq!((f.balance(0), f.balance(1), f.balance(2)), (100, 200, 0));
    assert_eq!(f.subscription(0).state, SubscriptionState::Issued);
    assert_eq!(f.subscription(2).state, SubscriptionState::Lapsed);
    assert!(!f.subscription(0).refund_owed() && !f.subscription(2).refund_owed());
    // The register and its history say which offering issued the shares, in the close's block.
    let log = f
        .chain
        .ledger
        .register_log_page(ACME_ID, &Default::default())
        .unwrap();
    let issued: Vec<(String, u64, u64)> = log
        .items
        .iter()
        .filter_map(|e| match &e.change {
            Change::OfferingIssued {
                offering,
                to,
                amount,
                ..
            } if offering == SEED => Some((to.clone(), *amount, e.height)),
            _ => None,
        })
        .collect();
    assert_eq!(
        issued,
        vec![("h-1".into(), 100, height), ("h-2".into(), 200, height)]
    );
    let history = f.chain.ledger.holder_history("acme", "h-2", 100).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.balance_after, Some(200));
    assert!(matches!(last.event.change, Change::OfferingIssued { .. }));
    let table = f.chain.ledger.cap_table(ACME_ID, height).unwrap().unwrap();
    let common = table.classes.iter().find(|c| c.class == "common").unwrap();
    assert_eq!(common.issued, 307);
}

#[test]
fn a_failed_round_issues_nothing_and_says_who_is_owed() {
    let mut f = Fixture::new(2);
    f.open(OfferingTerms {
        shares_min: 500,
        ..terms()
    })
    .unwrap();
    f.subscribe(0, 300).unwrap();
    f.subscribe(1, 300).unwrap();
    f.admin_run(confirm_op("h-1")).unwrap();
    f.pass_deadline();
    f.chain.ok(&Keypair::generate(), close_op(SEED));
    let entry = f.offering(SEED);
    assert_eq!((entry.status, entry.issued), (OfferingStatus::Failed, 0));
    assert_eq!((f.balance(0), f.balance(1), f.issued()), (0, 0, 0));
    assert_eq!(f.subscription(0).state, SubscriptionState::Failed);
    assert!(f.subscription(0).refund_owed());
    assert_eq!(f.subscription(1).state, SubscriptionState::Lapsed);
    assert!(!f.subscription(1).refund_owed());
}

#[test]
fn a_subscriber_revoked_before_the_close_is_dropped() {
    let mut f = Fixture::new(3);
    f.open(OfferingTerms {
        shares_min: 300,
        ..terms()
    })
    .unwrap();
    f.subscribe(0, 200).unwrap();
    f.subscribe(1, 200).unwrap();
    f.subscribe(2, 50).unwrap();
    f.admin_run(confirm_op("h-1")).unwrap();
    f.admin_run(confirm_op("h-2")).unwrap();
    let revoke = |h: &str| Op::HolderRevoke {
        company: ACME.into(),
        holder: h.into(),
        reason: "sanctions".into(),
    };
    f.admin_run(revoke("h-2")).unwrap();
    f.admin_run(revoke("h-3")).unwrap();
    // Its payment cannot be confirmed any more, and the admin may free its reservation.
    let err = f.admin_run(confirm_op("h-3")).unwrap_err();
    assert!(matches!(err, TxError::HolderRevoked { .. }), "{err}");
    f.admin_run(withdraw_op("h-3")).unwrap();
    f.pass_deadline();
    f.chain.ok(&Keypair::generate(), close_op(SEED));
    // 200 confirmed by an active holder is below the 300 minimum: dropped, and the round fails.
    assert_eq!(f.offering(SEED).status, OfferingStatus::Failed);
    assert_eq!(f.subscription(1).state, SubscriptionState::Dropped);
    assert!(f.subscription(1).refund_owed());
    assert_eq!((f.balance(0), f.balance(1)), (0, 0));
}

#[test]
fn locked_up_shares_do_not_move_until_the_given_height() {
    let mut f = Fixture::new(2);
    f.admin_run(issue_op(ACME, "common", "h-1", 10)).unwrap();
    f.open(OfferingTerms {
        lockup_blocks: 20,
        ..terms()
    })
    .unwrap();
    f.subscribe(0, 100).unwrap();
    f.admin_run(confirm_op("h-1")).unwrap();
    f.pass_deadline();
    f.chain.ok(&Keypair::generate(), close_op(SEED));
    let until = f.chain.height() + 20;
    assert_eq!(f.balance(0), 110);
    // The 10 shares from before the round move; the round's 100 stay until `until`.
    f.holder_run(0, transfer_op(ACME, "common", "h-1", "h-2", 10))
        .unwrap();
    let err = f
        .holder_run(0, transfer_op(ACME, "common", "h-1", "h-2", 1))
        .unwrap_err();
    match &err {
        TxError::SharesLocked {
            locked,
            transferable,
            until: u,
            ..
        } => assert_eq!((*locked, *transferable, *u), (100, 0, until)),
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().contains(&format!("from height {until}")),
        "{err}"
    );
    while f.chain.height() + 1 < until {
        f.chain.block(vec![]);
    }
    // The transfer's block is `until`: the lock has ended.
    f.holder_run(0, transfer_op(ACME, "common", "h-1", "h-2", 100))
        .unwrap();
    assert_eq!(f.balance(1), 110);
}

#[test]
fn one_close_applies_per_block() {
    let mut f = Fixture::new(1);
    f.open(terms()).unwrap();
    f.open_named("seed-b", terms()).unwrap();
    f.pass_deadline();
    let anyone = Keypair::generate();
    let txs = vec![
        f.chain.tx(&anyone, close_op(SEED)),
        f.chain.tx(&anyone, close_op("seed-b")),
    ];
    let outcomes = f.chain.block(txs);
    assert_eq!(outcomes[0], Ok(()));
    assert!(
        matches!(outcomes[1], Err(TxError::OfferingCloseBusy { .. })),
        "{:?}",
        outcomes[1]
    );
    f.chain.ok(&anyone, close_op("seed-b"));
}

#[test]
fn a_proposed_offering_is_withdrawn_only_by_its_admin() {
    let mut f = Fixture::new(1);
    f.open(OfferingTerms {
        platform: Some("portal".into()),
        ..terms()
    })
    .unwrap();
    let err = f
        .chain
        .run(&Keypair::generate(), close_op(SEED))
        .unwrap_err();
    assert!(matches!(err, TxError::NotOfferingAuthority { .. }), "{err}");
    f.admin_run(close_op(SEED)).unwrap();
    assert_eq!(f.offering(SEED).status, OfferingStatus::Failed);
}

#[test]
fn subscriptions_and_offerings_are_read_a_page_at_a_time() {
    let mut f = Fixture::new(5);
    f.open(terms()).unwrap();
    for i in 0..5 {
        f.subscribe(i, 10 + i as u64).unwrap();
    }
    // h-2 withdraws and subscribes again: it keeps its slot, so it is listed once, second.
    f.holder_run(1, withdraw_op("h-2")).unwrap();
    f.subscribe(1, 99).unwrap();
    f.open_named("seed-b", terms()).unwrap();
    let entry = f.offering(SEED);
    let ledger = &f.chain.ledger;
    let walk = |order: Order, limit: usize| {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = ledger
                .subscriptions_page(&entry, after, Some(limit), order)
                .unwrap();
            assert!(page.items.len() <= limit);
            all.extend(page.items.into_iter().map(|s| (s.holder, s.shares)));
            match page.next_cursor {
                Some(c) => after = Some(slot_of_cursor(&c.parse().unwrap()).unwrap()),
                None => return all,
            }
        }
    };
    let expected: Vec<(String, u64)> = [
        ("h-1", 10),
        ("h-2", 99),
        ("h-3", 12),
        ("h-4", 13),
        ("h-5", 14),
    ]
    .into_iter()
    .map(|(h, n)| (h.to_string(), n))
    .collect();
    let reversed: Vec<_> = expected.iter().rev().cloned().collect();
    for limit in [1, 2, 5, 100] {
        assert_eq!(walk(Order::Asc, limit), expected, "limit {limit}");
        assert_eq!(walk(Order::Desc, limit), reversed, "limit {limit}");
    }
    // The list carries each offering's entry, a page at a time.
    let first = ledger
        .offerings_page(
            ACME_ID,
            &PageRequest {
                limit: Some(1),
                ..PageRequest::default()
            },
        )
        .unwrap();
    assert_eq!(first.items, std::slice::from_ref(&entry));
    let rest = ledger
        .offerings_page(
            ACME_ID,
            &PageRequest {
                limit: Some(1),
                cursor: Some(first.next_cursor.unwrap().parse().unwrap()),
                ..PageRequest::default()
            },
        )
        .unwrap();
    assert_eq!(rest.items, [f.offering("seed-b")]);
    assert_eq!(rest.next_cursor, None);
}

/// One random step of the property test.
#[derive(Debug, Clone)]
enum Step {
    Subscribe { holder: usize, shares: u64 },
    Withdraw { holder: usize },
    Confirm { holder: usize },
    Revoke { holder: usize },
    Close,
    Pass,
}

const HOLDERS: usize = 6;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..HOLDERS, 1u64..300).prop_map(|(holder, shares)| Step::Subscribe { holder, shares }),
        1 => (0..HOLDERS).prop_map(|holder| Step::Withdraw { holder }),
        3 => (0..HOLDERS).prop_map(|holder| Step::Confirm { holder }),
        1 => (0..HOLDERS).prop_map(|holder| Step::Revoke { holder }),
        1 => Just(Step::Close),
        1 => Just(Step::Pass),
    ]
}

/// What a close of `SEED` must issue, read from the state before it: the confirmed
/// subscriptions of holders still active.
fn expected_issue(f: &Fixture) -> u64 {
    let latest = f.chain.ledger.latest();
    (0..HOLDERS)
        .filter_map(|i| {
            latest
                .get_decoded::<Subscription>(&keys::subscription(ACME_ID, SEED, &holder(i)))
                .unwrap()
        })
        .filter(|s| s.state == SubscriptionState::Confirmed)
        .filter(|s| {
            f.chain
                .ledger
                .holder(ACME_ID, &s.holder)
                .unwrap()
                .is_some_and(|h| h.is_active())
        })
        .map(|s| s.shares)
        .sum()
}

/// Closes `SEED` in a block of its own; if it applies, checks the result against the state
/// before it. Returns whether it applied.
fn close_and_check(f: &mut Fixture, key: &Keypair) -> Result<bool, TestCaseError> {
    let expected = expected_issue(f);
    let issued_before = f.issued();
    if f.chain.run(key, close_op(SEED)).is_err() {
        prop_assert_eq!(f.issued(), issued_before);
        return Ok(false);
    }
    let entry = f.offering(SEED);
    let funded = expected >= entry.terms.shares_min;
    prop_assert_eq!(entry.status == OfferingStatus::Funded, funded);
    let issued = if funded { expected } else { 0 };
    prop_assert_eq!(entry.issued, issued);
    prop_assert!(issued <= entry.terms.shares_max);
    prop_assert_eq!(f.issued(), issued);
    let balances: u64 = (0..HOLDERS).map(|i| f.balance(i)).sum();
    prop_assert_eq!(balances, issued);
    for i in 0..HOLDERS {
        let sub: Option<Subscription> = f
            .chain
            .ledger
            .latest()
            .get_decoded(&keys::subscription(ACME_ID, SEED, &holder(i)))
            .unwrap();
        if let Some(sub) = sub {
            prop_assert!(!matches!(
                sub.state,
                SubscriptionState::Pending | SubscriptionState::Confirmed
            ));
            let shares = if sub.state == SubscriptionState::Issued {
                sub.shares
            } else {
                0
            };
            prop_assert_eq!(f.balance(i), shares, "{:?}", sub);
        }
    }
    Ok(true)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random subscriptions, withdrawals, confirmations, revocations and closes, several to a
    /// block: the live totals never pass the maximum and nothing is issued while the offering
    /// is open; a close issues exactly the confirmed subscriptions of active holders (read from
    /// the state before it) if they reach the minimum, and nothing otherwise.
    #[test]
    fn shares_issued_are_the_confirmed_subscriptions_of_funded_offerings(
        steps in proptest::collection::vec(step(), 20..80),
        per_block in 1usize..5,
    ) {
        let mut f = Fixture::new(HOLDERS);
        f.open(OfferingTerms {
            shares_min: 200,
            shares_max: 700,
            investor_max: 300,
            max_investors: 4,
            closes_in_blocks: 12,
            ..terms()
        })
        .unwrap();
        let admin = clone_key(&f.admin.online);
        let anyone = Keypair::generate();
        let mut closed = false;
        for chunk in steps.chunks(per_block) {
            let mut txs = Vec::new();
            let mut close = false;
            for step in chunk {
                let (key, op) = match step {
                    Step::Subscribe { holder: h, shares } => {
                        (clone_key(&f.holders[*h]), subscribe_op(&holder(*h), *shares))
                    }
                    Step::Withdraw { holder: h } => {
                        (clone_key(&f.holders[*h]), withdraw_op(&holder(*h)))
                    }
                    Step::Confirm { holder: h } => (clone_key(&admin), confirm_op(&holder(*h))),
                    Step::Revoke { holder: h } => (
                        clone_key(&admin),
                        Op::HolderRevoke {
                            company: ACME.into(),
                            holder: holder(*h),
                            reason: "random".into(),
                        },
                    ),
                    Step::Close => {
                        close = true;
                        continue;
                    }
                    Step::Pass => continue,
                };
                txs.push(f.chain.tx(&key, op));
            }
            f.chain.block(txs);
            let entry = f.offering(SEED);
            prop_assert!(entry.subscribed <= entry.terms.shares_max);
            prop_assert!(entry.confirmed <= entry.subscribed);
            prop_assert!(entry.investors <= entry.terms.max_investors);
            if entry.status == OfferingStatus::Open {
                prop_assert_eq!(f.issued(), 0);
            }
            if close && !closed {
                closed = close_and_check(&mut f, &anyone)?;
            }
        }
        if !closed {
            f.pass_deadline();
            prop_assert!(close_and_check(&mut f, &anyone)?);
        }
    }
}
