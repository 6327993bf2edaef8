//! Identities (Certcoin) through real blocks: registration, rotation and recovery by the
//! offline key, revocation by either key, the validity interval of every key, binding to a
//! name and its subnames.

mod support;

use sigil_registry::error::TxError;
use sigil_registry::read::NameReader;
use sigil_registry::state::{KeyHistory, KeyRole};
use sigil_registry::tx::Op;
use sigil_registry::types::Keypair;
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
    // Either current key revokes; the online one here.
    chain.ok(&online, Op::IdentityRevoke { id: "alice".into() });
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
    let bind = |name: &str| Op::IdentityBind {
        id: "alice".into(),
        name: name.into(),
    };
    let err = chain.run(&alice.online, bind("example.sigil")).unwrap_err();
    assert!(matches!(err, TxError::NotOwner { .. }), "{err}");
    let err = chain.run(&owner, bind("other.sigil")).unwrap_err();
    assert!(matches!(err, TxError::NameNotFound { .. }), "{err}");
    let err = chain.run(&owner, bind("example.com")).unwrap_err();
    assert!(matches!(err, TxError::InvalidName(_)), "{err}");
    let err = chain
        .run(
            &owner,
            Op::IdentityBind {
                id: "nobody".into(),
                name: "example.sigil".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, TxError::IdentityNotFound { .. }), "{err}");
    chain.ok(&owner, bind("Alice.Example.sigil"));
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
