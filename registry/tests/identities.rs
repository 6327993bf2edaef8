//! Identities (Certcoin) through real blocks: registration, rotation and recovery by the
//! offline key, revocation by either key, the validity interval of every key, binding to a
//! name and its subnames.

mod support;

use sigil_core::error::TxError;
use sigil_core::read::NameReader;
use sigil_core::state::{KeyHistory, KeyRole};
use sigil_core::tx::Op;
use sigil_core::types::Keypair;
use support::{Chain, Identity, company, issue_holder_op};

#[test]
fn register_checks_id_keys_and_signer() {
    let mut chain = Chain::new();
    let alice = Identity::new("alice");
    let stranger = Keypair::generate();
    let err = chain.run(&stranger, alice.register_op()).unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    let same = Op::IdentityRegister {
        id: "alice".into(),
        online_key: alice.online.public(),
        offline_key: alice.online.public(),
    };
    let err = chain.run(&alice.online, same).unwrap_err();
    assert!(matches!(err, TxError::SameKeys { .. }), "{err}");
    for bad in ["", "Alice", "-a", "a/b", "a".repeat(65).as_str()] {
        let op = Op::IdentityRegister {
            id: bad.into(),
            online_key: alice.online.public(),
            offline_key: alice.offline.public(),
        };
        let err = chain.run(&alice.online, op).unwrap_err();
        assert!(matches!(err, TxError::InvalidId { .. }), "{bad}: {err}");
    }
    // Either key may register.
    chain.ok(&alice.online, alice.register_op());
    let entry = chain.ledger.identity("alice").unwrap().unwrap();
    assert_eq!(entry.online_key, alice.online.public());
    assert_eq!(entry.offline_key, alice.offline.public());
    let err = chain.run(&alice.offline, alice.register_op()).unwrap_err();
    assert!(matches!(err, TxError::IdentityTaken { .. }), "{err}");
}

#[test]
fn rotation_needs_the_offline_key_and_keeps_every_interval() {
    let mut chain = Chain::new();
    let alice = Identity::new("alice");
    chain.ok(&alice.offline, alice.register_op());
    let registered = chain.height();
    let next = Keypair::generate();
    let rotate = |key: &Keypair| Op::IdentityRotate {
        id: "alice".into(),
        new_online_key: key.public(),
    };
    // The online key cannot replace itself.
    let err = chain.run(&alice.online, rotate(&next)).unwrap_err();
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
    // Nor may the new key be one the identity already had.
    let err = chain
        .run(&alice.offline, rotate(&alice.online))
        .unwrap_err();
    assert!(matches!(err, TxError::KeyReused { .. }), "{err}");
    chain.ok(&alice.offline, rotate(&next));
    let rotated = chain.height();
    let entry = chain.ledger.identity("alice").unwrap().unwrap();
    assert_eq!(entry.online_key, next.public());
    // Each key is judged at a height by the interval it was valid in.
    let old = alice.online.public();
    assert_eq!(entry.role_at(&old, registered), Some(KeyRole::Online));
    assert_eq!(entry.role_at(&old, rotated - 1), Some(KeyRole::Online));
    assert_eq!(entry.role_at(&old, rotated), None);
    assert_eq!(
        entry.role_at(&next.public(), rotated),
        Some(KeyRole::Online)
    );
    assert_eq!(entry.role_at(&next.public(), rotated - 1), None);
    assert_eq!(entry.key_at(KeyRole::Online, registered), Some(old));
    assert_eq!(
        entry.key_at(KeyRole::Offline, rotated),
        Some(alice.offline.public())
    );
    assert_eq!(entry.retired(&old), Some(rotated));
    let history = chain.ledger.identity_history("alice", 100).unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["register", "rotate"]);
}

#[test]
fn a_rotated_out_online_key_signs_nothing_for_the_identity() {
    let mut chain = Chain::new();
    let admin = Identity::new("acme-admin");
    company(&mut chain, "acme.sigil", &admin, &["common"]);
    let holder = Keypair::generate();
    chain.ok(&admin.online, issue_holder_op("acme.sigil", "h-1", &holder));
    let next = Keypair::generate();
    chain.ok(
        &admin.offline,
        Op::IdentityRotate {
            id: admin.id.clone(),
            new_online_key: next.public(),
        },
    );
    let rotated = chain.height();
    let err = chain
        .run(&admin.online, issue_holder_op("acme.sigil", "h-2", &holder))
        .unwrap_err();
    assert!(
        matches!(err, TxError::KeyRotatedOut { valid_until, current, .. }
            if valid_until == rotated && current == next.public()),
        "{err}"
    );
    // The offline key is not the admin's signing key either.
    let err = chain
        .run(
            &admin.offline,
            issue_holder_op("acme.sigil", "h-2", &holder),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            TxError::WrongSigner {
                needed: "online",
                ..
            }
        ),
        "{err}"
    );
    chain.ok(&next, issue_holder_op("acme.sigil", "h-2", &holder));
}

#[test]
fn recovery_replaces_both_keys_and_revocation_ends_the_identity() {
    let mut chain = Chain::new();
    let alice = Identity::new("alice");
    chain.ok(&alice.offline, alice.register_op());
    let (online, offline) = (Keypair::generate(), Keypair::generate());
    let recover = Op::IdentityRecover {
        id: "alice".into(),
        new_online_key: online.public(),
        new_offline_key: offline.public(),
    };
    let err = chain.run(&alice.online, recover.clone()).unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    chain.ok(&alice.offline, recover);
    let recovered = chain.height();
    // The old offline key is out now.
    let err = chain
        .run(&alice.offline, Op::IdentityRevoke { id: "alice".into() })
        .unwrap_err();
    assert!(
        matches!(err, TxError::KeyRotatedOut { valid_until, .. } if valid_until == recovered),
        "{err}"
    );
    // Only the offline key revokes.
    let err = chain
        .run(&online, Op::IdentityRevoke { id: "alice".into() })
        .unwrap_err();
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
    chain.ok(&offline, Op::IdentityRevoke { id: "alice".into() });
    let revoked = chain.height();
    let entry = chain.ledger.identity("alice").unwrap().unwrap();
    assert_eq!(entry.revoked_at, Some(revoked));
    assert!(entry.keys.iter().all(|p| p.until.is_some()));
    assert_eq!(
        entry.role_at(&online.public(), revoked - 1),
        Some(KeyRole::Online)
    );
    assert_eq!(entry.role_at(&online.public(), revoked), None);
    let err = chain
        .run(
            &offline,
            Op::IdentityRotate {
                id: "alice".into(),
                new_online_key: Keypair::generate().public(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, TxError::IdentityRevoked { .. }), "{err}");
    let err = chain
        .run(&offline, Op::IdentityRevoke { id: "bob".into() })
        .unwrap_err();
    assert!(matches!(err, TxError::IdentityNotFound { .. }), "{err}");
}

#[test]
fn the_name_owner_binds_an_identity_to_a_name_or_a_subname() {
    let mut chain = Chain::new();
    let owner = Keypair::generate();
    chain.register_name(&owner, "example.sigil");
    let alice = Identity::new("alice");
    chain.ok(&alice.offline, alice.register_op());
    let bind = |chain: &Chain, sender: &Keypair, name: &str| Op::IdentityBind {
        id: "alice".into(),
        name: name.into(),
        consent: chain.consent(&alice.online, "bind", "alice", &[name], sender),
    };
    let op = bind(&chain, &alice.online, "example.sigil");
    let err = chain.run(&alice.online, op).unwrap_err();
    assert!(matches!(err, TxError::NotOwner { .. }), "{err}");
    let op = bind(&chain, &owner, "other.sigil");
    let err = chain.run(&owner, op).unwrap_err();
    assert!(matches!(err, TxError::NameNotFound { .. }), "{err}");
    let op = bind(&chain, &owner, "example.com");
    let err = chain.run(&owner, op).unwrap_err();
    assert!(matches!(err, TxError::InvalidName(_)), "{err}");
    let err = chain
        .run(
            &owner,
            Op::IdentityBind {
                id: "nobody".into(),
                name: "example.sigil".into(),
                consent: chain.consent(&alice.online, "bind", "nobody", &["example.sigil"], &owner),
            },
        )
        .unwrap_err();
    assert!(matches!(err, TxError::IdentityNotFound { .. }), "{err}");
    // The consent covers the name in canonical form.
    let op = bind(&chain, &owner, "alice.example.sigil");
    let op = match op {
        Op::IdentityBind { id, consent, .. } => Op::IdentityBind {
            id,
            name: "Alice.Example.sigil".into(),
            consent,
        },
        _ => unreachable!(),
    };
    chain.ok(&owner, op);
    let bound = chain.ledger.bound_identity("alice.example.sigil").unwrap();
    assert_eq!(bound.unwrap().online_key, alice.online.public());
    assert!(
        chain
            .ledger
            .bound_identity("example.sigil")
            .unwrap()
            .is_none()
    );
    // The binding follows the identity's current key.
    let next = Keypair::generate();
    chain.ok(
        &alice.offline,
        Op::IdentityRotate {
            id: "alice".into(),
            new_online_key: next.public(),
        },
    );
    let bound = chain.ledger.bound_identity("alice.example.sigil").unwrap();
    assert_eq!(bound.unwrap().online_key, next.public());
    // A new owner of the name does not speak with the old owner's bindings.
    let new_owner = Keypair::generate();
    chain.ok(
        &owner,
        Op::NameTransfer {
            name: "example.sigil".into(),
            new_owner: new_owner.public(),
        },
    );
    assert!(
        chain
            .ledger
            .bound_identity("alice.example.sigil")
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_thief_with_the_online_key_can_only_suspend_and_the_offline_key_recovers() {
    let mut chain = Chain::new();
    let admin = Identity::new("acme-admin");
    company(&mut chain, "acme.sigil", &admin, &["common"]);
    let owner = Keypair::generate();
    chain.register_name(&owner, "acme-web.sigil");
    let op = Op::IdentityBind {
        id: admin.id.clone(),
        name: "acme-web.sigil".into(),
        consent: chain.consent(
            &admin.online,
            "bind",
            &admin.id,
            &["acme-web.sigil"],
            &owner,
        ),
    };
    chain.ok(&owner, op);
    // The thief holds the online key only: it cannot revoke the identity for good...
    let thief = &admin.online;
    let revoke = Op::IdentityRevoke {
        id: admin.id.clone(),
    };
    let err = chain.run(thief, revoke.clone()).unwrap_err();
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
    // ... nor replace the keys; it may only suspend.
    let err = chain
        .run(
            thief,
            Op::IdentityRotate {
                id: admin.id.clone(),
                new_online_key: Keypair::generate().public(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, TxError::WrongSigner { .. }), "{err}");
    let suspend = Op::IdentitySuspend {
        id: admin.id.clone(),
    };
    chain.ok(thief, suspend.clone());
    let suspended = chain.height();
    let entry = chain.ledger.identity(&admin.id).unwrap().unwrap();
    assert_eq!(entry.suspended_at, Some(suspended));
    assert!(!entry.is_active());
    // The online key's period ends at the suspension.
    let stolen = admin.online.public();
    assert_eq!(entry.role_at(&stolen, suspended - 1), Some(KeyRole::Online));
    assert_eq!(entry.role_at(&stolen, suspended), None);
    assert_eq!(entry.key_at(KeyRole::Online, suspended), None);
    // The suspended online key signs nothing for the identity, and DNS no longer serves it.
    let holder = Keypair::generate();
    let err = chain
        .run(thief, issue_holder_op("acme.sigil", "h-1", &holder))
        .unwrap_err();
    assert!(matches!(err, TxError::IdentitySuspended { .. }), "{err}");
    let err = chain.run(thief, suspend).unwrap_err();
    assert!(matches!(err, TxError::IdentitySuspended { .. }), "{err}");
    let bound = chain.ledger.bound_identity("acme-web.sigil").unwrap();
    assert!(!bound.unwrap().is_active());
    // The offline key, the root, recovers with a new online key.
    let fresh = Keypair::generate();
    chain.ok(
        &admin.offline,
        Op::IdentityRotate {
            id: admin.id.clone(),
            new_online_key: fresh.public(),
        },
    );
    let rotated = chain.height();
    let entry = chain.ledger.identity(&admin.id).unwrap().unwrap();
    assert!(entry.is_active());
    assert_eq!(entry.key_at(KeyRole::Online, rotated), Some(fresh.public()));
    assert_eq!(entry.key_at(KeyRole::Online, rotated - 1), None);
    assert_eq!(entry.role_at(&stolen, rotated), None);
    chain.ok(&fresh, issue_holder_op("acme.sigil", "h-1", &holder));
    let err = chain
        .run(thief, issue_holder_op("acme.sigil", "h-2", &holder))
        .unwrap_err();
    assert!(matches!(err, TxError::KeyRotatedOut { .. }), "{err}");
    // And only the offline key revokes for good.
    chain.ok(&admin.offline, revoke);
    let history = chain.ledger.identity_history(&admin.id, 100).unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["register", "bind", "suspend", "rotate", "revoke"]);
}

#[test]
fn a_binding_needs_the_identitys_consent() {
    let mut chain = Chain::new();
    let victim = Identity::new("victim");
    chain.ok(&victim.offline, victim.register_op());
    let evil = Keypair::generate();
    chain.register_name(&evil, "evil.sigil");
    let good = Keypair::generate();
    chain.register_name(&good, "good.sigil");
    let bind = |name: &str, consent| Op::IdentityBind {
        id: "victim".into(),
        name: name.into(),
        consent,
    };
    // The evil name's owner signs the consent itself: refused.
    let forged = chain.consent(&evil, "bind", "victim", &["evil.sigil"], &evil);
    let err = chain.run(&evil, bind("evil.sigil", forged)).unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    // A real consent to another name, or for another sender, does not carry over.
    let for_good = chain.consent(&victim.online, "bind", "victim", &["good.sigil"], &good);
    let err = chain
        .run(&evil, bind("evil.sigil", for_good.clone()))
        .unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    let good_name_evil_sender =
        chain.consent(&victim.online, "bind", "victim", &["evil.sigil"], &good);
    let err = chain
        .run(&evil, bind("evil.sigil", good_name_evil_sender))
        .unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    // Nor does one signed for another chain, for another purpose, or out of its window.
    let until = chain.height() + 10;
    let other_chain = sigil_core::tx::Consent::sign(
        &victim.online,
        "other-chain",
        "bind",
        "victim",
        &["good.sigil"],
        &good.public(),
        until,
    );
    let err = chain
        .run(&good, bind("good.sigil", other_chain))
        .unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    let other_purpose = chain.consent(
        &victim.online,
        "company-move",
        "victim",
        &["good.sigil"],
        &good,
    );
    let err = chain
        .run(&good, bind("good.sigil", other_purpose))
        .unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    let sign_until = |until| {
        sigil_core::tx::Consent::sign(
            &victim.online,
            support::CHAIN,
            "bind",
            "victim",
            &["good.sigil"],
            &good.public(),
            until,
        )
    };
    let stale = sign_until(chain.height());
    let err = chain.run(&good, bind("good.sigil", stale)).unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    let far = sign_until(chain.height() + 1 + sigil_core::limits::MAX_CONSENT_BLOCKS + 1);
    let err = chain.run(&good, bind("good.sigil", far)).unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
    assert!(chain.ledger.bound_identity("evil.sigil").unwrap().is_none());
    // With the identity's own consent the binding is made.
    chain.ok(&good, bind("good.sigil", for_good));
    let bound = chain.ledger.bound_identity("good.sigil").unwrap().unwrap();
    assert_eq!(bound.id, "victim");
    // A consent by a rotated-out key no longer counts.
    chain.ok(
        &victim.offline,
        Op::IdentityRotate {
            id: "victim".into(),
            new_online_key: Keypair::generate().public(),
        },
    );
    let old_key = chain.consent(&victim.online, "bind", "victim", &["www.good.sigil"], &good);
    let err = chain
        .run(&good, bind("www.good.sigil", old_key))
        .unwrap_err();
    assert!(matches!(err, TxError::NoConsent { .. }), "{err}");
}
