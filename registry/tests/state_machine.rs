//! Every rule of the name ledger, exercised through real blocks on a ledger: commit-reveal
//! (front-running), taken names, expiry and grace, ownership, nonces (replay, re-ordering),
//! record limits, proofs, determinism and restart.

use std::sync::Arc;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::error::{Error, TxError};
use sigil_core::read::NameReader;
use sigil_core::records::Record;
use sigil_core::state::{ChainParams, NameEntry, Validator, ValidatorSet, dry_run, keys};
use sigil_core::tx::{Op, SignedTx, Transaction, ValidatorChange, name_commitment};
use sigil_core::types::{Hash, Keypair, decode};
use sigil_registry::ledger::Ledger;
use sigil_registry::mempool::MempoolError;
use sigil_registry::node::Node;
use sigil_registry::store::{MemStore, SledStore, Store};

const REVEAL_MIN: u64 = 2;
const REVEAL_MAX: u64 = 5;
const TTL: u64 = 10;
const GRACE: u64 = 6;

fn genesis(validator: &Keypair) -> Genesis {
    Genesis {
        genesis_time_ms: 0,
        params: ChainParams {
            chain_id: "test-chain".into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: REVEAL_MIN,
            reveal_max_blocks: REVEAL_MAX,
            name_ttl_blocks: TTL,
            grace_blocks: GRACE,
            block_interval_ms: 10,
            work: Default::default(),
        },
        validators: ValidatorSet::equal_power([validator.public()]),
    }
}

struct Chain {
    ledger: Ledger,
    validator: Keypair,
}

type Outcomes = Vec<Result<(), TxError>>;

impl Chain {
    fn new() -> Chain {
        Chain::on(Arc::new(MemStore::default()), Keypair::generate())
    }

    fn on(store: Arc<dyn Store>, validator: Keypair) -> Chain {
        let ledger = Ledger::open(store, genesis(&validator), 1000).unwrap();
        Chain { ledger, validator }
    }

    /// Executes and commits a block; `Err` if the block itself is invalid.
    fn try_block(&self, txs: Vec<SignedTx>) -> Result<Outcomes, Error> {
        let prepared = self.ledger.prepare(&txs)?;
        let outcomes = prepared.execution.outcomes.clone();
        let header = self.ledger.header(&prepared, self.validator.public(), 0)?;
        let commit = Commit::sign(&header, 0, &self.validator);
        self.ledger
            .commit(prepared, Block { header, txs }, commit)?;
        Ok(outcomes)
    }

    fn block(&self, txs: Vec<SignedTx>) -> Outcomes {
        self.try_block(txs).unwrap()
    }

    fn wait(&self, blocks: u64) {
        for _ in 0..blocks {
            self.block(vec![]);
        }
    }

    fn height(&self) -> u64 {
        self.ledger.tip().height
    }

    fn entry(&self, name: &str) -> Option<NameEntry> {
        self.ledger.name_entry(name).unwrap()
    }
}

/// A user: a key and its next nonce.
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

    fn commit(&mut self, name: &str, salt: Hash) -> SignedTx {
        let commitment = name_commitment(name, &salt, &self.key.public());
        self.tx(Op::NameCommit { commitment })
    }

    fn reveal(&mut self, name: &str, salt: Hash, records: &[&str]) -> SignedTx {
        let records = records.iter().map(|r| Record::parse(r).unwrap()).collect();
        self.tx(Op::NameRegister {
            name: name.into(),
            salt,
            records,
        })
    }
}

/// Commits, waits the minimum, reveals; asserts success.
fn register(chain: &Chain, user: &mut User, name: &str) {
    let salt = Hash([7; 32]);
    assert_eq!(chain.block(vec![user.commit(name, salt)]), vec![Ok(())]);
    chain.wait(REVEAL_MIN - 1);
    assert_eq!(
        chain.block(vec![user.reveal(name, salt, &["@ A 192.0.2.7"])]),
        vec![Ok(())]
    );
}

fn failed(outcomes: Outcomes) -> TxError {
    assert_eq!(outcomes.len(), 1);
    outcomes.into_iter().next().unwrap().unwrap_err()
}

#[test]
fn commit_then_reveal_registers_within_the_window() {
    let chain = Chain::new();
    let mut alice = User::new();
    let salt = Hash([1; 32]);
    chain.block(vec![alice.commit("example.sigil", salt)]);
    let committed_at = chain.height();
    // One block later is too early.
    let err = failed(chain.block(vec![alice.reveal("example.sigil", salt, &[])]));
    assert!(
        matches!(err, TxError::RevealTooEarly { earliest, .. } if earliest == committed_at + REVEAL_MIN),
        "{err}"
    );
    assert!(chain.entry("example.sigil").is_none());
    // The failed reveal used nonce 1; the next one carries nonce 2 and lands at commit + 2.
    assert_eq!(
        chain.block(vec![alice.reveal(
            "Example.SIGIL",
            salt,
            &["@ A 192.0.2.7", "www TXT hello"]
        )]),
        vec![Ok(())]
    );
    let entry = chain.entry("example.sigil").unwrap();
    assert_eq!(entry.owner, alice.key.public());
    assert_eq!(entry.records.len(), 2);
    assert_eq!(entry.expires_at, chain.height() + TTL);
}

#[test]
fn a_reveal_too_late_fails() {
    let chain = Chain::new();
    let mut alice = User::new();
    let salt = Hash([1; 32]);
    chain.block(vec![alice.commit("late.sigil", salt)]);
    chain.wait(REVEAL_MAX);
    // Admission for the next block still sees the commitment, and says why the reveal fails.
    let late = alice.reveal("late.sigil", salt, &[]);
    let next = chain.height() + 1;
    let verdict = dry_run(&chain.ledger.latest(), chain.ledger.params(), next, &late).unwrap();
    assert!(
        matches!(verdict, Err(TxError::RevealTooLate { .. })),
        "{verdict:?}"
    );
    // The block prunes the commitment as it starts: the reveal finds none.
    let err = failed(chain.block(vec![late]));
    assert!(matches!(err, TxError::NoCommit { .. }), "{err}");
}

#[test]
fn front_running_fails() {
    let chain = Chain::new();
    let mut alice = User::new();
    let mut mallory = User::new();
    let salt = Hash([9; 32]);
    // A reveal with no commit at all.
    let err = failed(chain.block(vec![mallory.reveal("prize.sigil", salt, &[])]));
    assert!(matches!(err, TxError::NoCommit { .. }), "{err}");
    // Mallory copies Alice's name and salt from her reveal: Alice's commitment binds her key.
    chain.block(vec![alice.commit("prize.sigil", salt)]);
    chain.wait(REVEAL_MIN);
    let err = failed(chain.block(vec![mallory.reveal("prize.sigil", salt, &[])]));
    assert!(matches!(err, TxError::NoCommit { .. }), "{err}");
    assert_eq!(
        chain.block(vec![alice.reveal("prize.sigil", salt, &[])]),
        vec![Ok(())]
    );
    assert_eq!(
        chain.entry("prize.sigil").unwrap().owner,
        alice.key.public()
    );
}

/// Mallory copies Alice's commitment (from the mempool, or from a block) and lands it first
/// under her own key: Alice's commit and reveal still register the name, in a later block or
/// in the same one, and Mallory's copy reveals nothing.
#[test]
fn a_copied_commitment_neither_blocks_its_owner_nor_serves_the_copier() {
    let chain = Chain::new();
    let (mut alice, mut mallory) = (User::new(), User::new());
    let salt = Hash([11; 32]);
    let commitment = name_commitment("prize.sigil", &salt, &alice.key.public());
    // Front-run: the copy is final a block before Alice's own commit.
    let copy = mallory.tx(Op::NameCommit { commitment });
    assert_eq!(chain.block(vec![copy]), vec![Ok(())]);
    assert_eq!(
        chain.block(vec![alice.commit("prize.sigil", salt)]),
        vec![Ok(())]
    );
    chain.wait(REVEAL_MIN - 1);
    // Knowing the name and salt, Mallory's copy still matches no reveal of hers.
    let err = failed(chain.block(vec![mallory.reveal("prize.sigil", salt, &[])]));
    assert!(matches!(err, TxError::NoCommit { .. }), "{err}");
    assert_eq!(
        chain.block(vec![alice.reveal("prize.sigil", salt, &[])]),
        vec![Ok(())]
    );
    assert_eq!(
        chain.entry("prize.sigil").unwrap().owner,
        alice.key.public()
    );

    // The copy ahead of the original in the same block.
    let (mut bob, mut eve) = (User::new(), User::new());
    let salt = Hash([12; 32]);
    let commitment = name_commitment("second.sigil", &salt, &bob.key.public());
    let copy = eve.tx(Op::NameCommit { commitment });
    assert_eq!(
        chain.block(vec![copy, bob.commit("second.sigil", salt)]),
        vec![Ok(()), Ok(())]
    );
    chain.wait(REVEAL_MIN - 1);
    assert_eq!(
        chain.block(vec![bob.reveal("second.sigil", salt, &[])]),
        vec![Ok(())]
    );
    assert_eq!(chain.entry("second.sigil").unwrap().owner, bob.key.public());
}

#[test]
fn a_taken_name_cannot_be_registered_again() {
    let chain = Chain::new();
    let (mut alice, mut bob) = (User::new(), User::new());
    register(&chain, &mut alice, "taken.sigil");
    let salt = Hash([2; 32]);
    chain.block(vec![bob.commit("taken.sigil", salt)]);
    chain.wait(REVEAL_MIN - 1);
    let err = failed(chain.block(vec![bob.reveal("taken.sigil", salt, &[])]));
    assert!(matches!(err, TxError::NameTaken { .. }), "{err}");
    // Nor by its own owner a second time.
    let salt = Hash([3; 32]);
    chain.block(vec![alice.commit("taken.sigil", salt)]);
    chain.wait(REVEAL_MIN - 1);
    assert!(matches!(
        failed(chain.block(vec![alice.reveal("taken.sigil", salt, &[])])),
        TxError::NameTaken { .. }
    ));
}

#[test]
fn an_expired_name_stops_resolving_and_is_re_registrable_after_grace() {
    let chain = Chain::new();
    let (mut alice, mut bob) = (User::new(), User::new());
    register(&chain, &mut alice, "fleeting.sigil");
    let entry = chain.entry("fleeting.sigil").unwrap();
    chain.wait(entry.expires_at - chain.height());
    assert!(
        !chain
            .entry("fleeting.sigil")
            .unwrap()
            .is_active_at(chain.ledger.tip_height())
    );
    let err = failed(chain.block(vec![alice.tx(Op::NameUpdate {
        name: "fleeting.sigil".into(),
        records: vec![],
    })]));
    assert!(matches!(err, TxError::NameExpired { .. }), "{err}");
    // Bob, during the grace period: refused.
    let salt = Hash([4; 32]);
    chain.block(vec![bob.commit("fleeting.sigil", salt)]);
    chain.wait(REVEAL_MIN - 1);
    let err = failed(chain.block(vec![bob.reveal("fleeting.sigil", salt, &[])]));
    assert!(matches!(err, TxError::NameInGrace { .. }), "{err}");
    // After the grace period: Bob gets it.
    chain.wait(GRACE);
    let salt = Hash([5; 32]);
    chain.block(vec![bob.commit("fleeting.sigil", salt)]);
    chain.wait(REVEAL_MIN - 1);
    assert_eq!(
        chain.block(vec![bob.reveal("fleeting.sigil", salt, &["@ A 192.0.2.9"])]),
        vec![Ok(())]
    );
    assert_eq!(
        chain.entry("fleeting.sigil").unwrap().owner,
        bob.key.public()
    );
}

#[test]
fn renewal_extends_and_only_the_owner_renews() {
    let chain = Chain::new();
    let (mut alice, mut bob) = (User::new(), User::new());
    register(&chain, &mut alice, "kept.sigil");
    let before = chain.entry("kept.sigil").unwrap().expires_at;
    let err = failed(chain.block(vec![bob.tx(Op::NameRenew {
        name: "kept.sigil".into(),
    })]));
    assert!(matches!(err, TxError::NotOwner { .. }), "{err}");
    assert_eq!(
        chain.block(vec![alice.tx(Op::NameRenew {
            name: "kept.sigil".into()
        })]),
        vec![Ok(())]
    );
    assert_eq!(chain.entry("kept.sigil").unwrap().expires_at, before + TTL);
    // Renewal inside the grace period still works; after it, it does not.
    chain.wait(before + TTL - chain.height());
    assert_eq!(
        chain.block(vec![alice.tx(Op::NameRenew {
            name: "kept.sigil".into()
        })]),
        vec![Ok(())]
    );
    let expires = chain.entry("kept.sigil").unwrap().expires_at;
    chain.wait(expires + GRACE - chain.height());
    let err = failed(chain.block(vec![alice.tx(Op::NameRenew {
        name: "kept.sigil".into(),
    })]));
    assert!(matches!(err, TxError::NameExpired { .. }), "{err}");
}

#[test]
fn a_name_is_renewed_at_most_one_lifetime_ahead() {
    let chain = Chain::new();
    let mut alice = User::new();
    register(&chain, &mut alice, "far.sigil");
    let renew = |alice: &mut User| {
        chain.block(vec![alice.tx(Op::NameRenew {
            name: "far.sigil".into(),
        })])
    };
    let first_expiry = chain.entry("far.sigil").unwrap().expires_at;
    assert_eq!(renew(&mut alice), vec![Ok(())]);
    let expires = chain.entry("far.sigil").unwrap().expires_at;
    assert_eq!(expires, first_expiry + TTL);
    // Already about two lifetimes ahead: another renewal now would carry it further.
    let err = failed(renew(&mut alice));
    assert!(
        matches!(err, TxError::RenewTooEarly { expires_at, renewable_from, max_terms: 2, .. }
            if expires_at == expires && renewable_from == expires - TTL),
        "{err}"
    );
    assert_eq!(chain.entry("far.sigil").unwrap().expires_at, expires);
    // From one lifetime before its expiry on, it renews again.
    chain.wait(expires - TTL - chain.height() - 1);
    assert_eq!(renew(&mut alice), vec![Ok(())]);
    assert_eq!(chain.entry("far.sigil").unwrap().expires_at, expires + TTL);
}

#[test]
fn commitments_leave_the_state_once_their_reveal_window_ends() {
    let chain = Chain::new();
    let (mut alice, mut bob) = (User::new(), User::new());
    let salt = Hash([21; 32]);
    let abandoned = keys::commit(
        &alice.key.public(),
        &name_commitment("never.sigil", &salt, &alice.key.public()),
    );
    let revealed = keys::commit(
        &bob.key.public(),
        &name_commitment("kept.sigil", &salt, &bob.key.public()),
    );
    assert_eq!(
        chain.block(vec![
            alice.commit("never.sigil", salt),
            bob.commit("kept.sigil", salt)
        ]),
        vec![Ok(()), Ok(())]
    );
    let last_reveal = chain.height() + REVEAL_MAX;
    let present = |key: &[u8]| chain.ledger.prove(key).unwrap().value.is_some();
    let listed = [
        keys::commits_ending(last_reveal),
        keys::commit_ending(last_reveal, 0),
        keys::commit_ending(last_reveal, 1),
    ];
    assert!(present(&abandoned) && present(&revealed));
    assert!(listed.iter().all(|key| present(key)));
    chain.wait(REVEAL_MIN - 1);
    assert_eq!(
        chain.block(vec![bob.reveal("kept.sigil", salt, &[])]),
        vec![Ok(())]
    );
    assert!(!present(&revealed), "a reveal uses its commitment up");
    // Bob commits the same again: a new commitment with a later window.
    assert_eq!(
        chain.block(vec![bob.commit("kept.sigil", salt)]),
        vec![Ok(())]
    );
    let bobs_last_reveal = chain.height() + REVEAL_MAX;
    // Up to the last height of its window, Alice's commitment waits for its reveal.
    chain.wait(last_reveal - chain.height());
    assert!(present(&abandoned));
    // The next block prunes it, with the list it was filed in; Bob's new one stays.
    chain.block(vec![]);
    assert!(!present(&abandoned));
    assert!(listed.iter().all(|key| !present(key)));
    assert!(present(&revealed));
    chain.wait(bobs_last_reveal + 1 - chain.height());
    assert!(!present(&revealed));
    assert!(!present(&keys::commits_ending(bobs_last_reveal)));
    // After its window, a commitment can be made again, afresh.
    assert_eq!(
        chain.block(vec![alice.commit("never.sigil", salt)]),
        vec![Ok(())]
    );
    chain.wait(REVEAL_MIN - 1);
    assert_eq!(
        chain.block(vec![alice.reveal("never.sigil", salt, &[])]),
        vec![Ok(())]
    );
}

#[test]
fn only_the_owner_updates_and_transfers() {
    let chain = Chain::new();
    let (mut alice, mut bob) = (User::new(), User::new());
    register(&chain, &mut alice, "owned.sigil");
    let records = vec![Record::parse("www A 192.0.2.8").unwrap()];
    let err = failed(chain.block(vec![bob.tx(Op::NameUpdate {
        name: "owned.sigil".into(),
        records: records.clone(),
    })]));
    assert!(matches!(err, TxError::NotOwner { .. }), "{err}");
    assert_eq!(
        chain.block(vec![alice.tx(Op::NameUpdate {
            name: "owned.sigil".into(),
            records: records.clone()
        })]),
        vec![Ok(())]
    );
    assert_eq!(chain.entry("owned.sigil").unwrap().records, records);
    let transfer = alice.tx(Op::NameTransfer {
        name: "owned.sigil".into(),
        new_owner: bob.key.public(),
    });
    assert_eq!(chain.block(vec![transfer]), vec![Ok(())]);
    let err = failed(chain.block(vec![alice.tx(Op::NameUpdate {
        name: "owned.sigil".into(),
        records: vec![],
    })]));
    assert!(matches!(err, TxError::NotOwner { .. }), "{err}");
    assert_eq!(
        chain.block(vec![bob.tx(Op::NameUpdate {
            name: "owned.sigil".into(),
            records: vec![]
        })]),
        vec![Ok(())]
    );
    let err = failed(chain.block(vec![bob.tx(Op::NameUpdate {
        name: "missing.sigil".into(),
        records: vec![],
    })]));
    assert!(matches!(err, TxError::NameNotFound { .. }), "{err}");
}

#[test]
fn replayed_and_reordered_nonces_make_a_block_invalid() {
    let chain = Chain::new();
    let mut alice = User::new();
    let first = alice.commit("a.sigil", Hash([1; 32]));
    chain.block(vec![first.clone()]);
    let tip = chain.ledger.tip();
    // Replay of a final transaction.
    let err = chain.try_block(vec![first.clone()]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTx {
                error: TxError::BadNonce {
                    expected: 1,
                    got: 0,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
    // Nonce 2 before nonce 1.
    let one = alice.commit("b.sigil", Hash([2; 32]));
    let two = alice.commit("c.sigil", Hash([3; 32]));
    let err = chain.try_block(vec![two.clone(), one.clone()]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTx {
                index: 0,
                error: TxError::BadNonce { .. }
            }
        ),
        "{err}"
    );
    // Nothing was written by the refused blocks.
    assert_eq!(chain.ledger.tip(), tip);
    assert_eq!(chain.block(vec![one, two]), vec![Ok(()), Ok(())]);
    // A signature from another chain, or a tampered one, is refused too.
    let mut forged = alice.commit("d.sigil", Hash([4; 32]));
    forged.tx.nonce = 4;
    let err = chain.try_block(vec![forged]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTx {
                error: TxError::BadSignature { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_node_refuses_bad_transactions_at_submission() {
    let validator = Keypair::generate();
    let ledger =
        Arc::new(Ledger::open(Arc::new(MemStore::default()), genesis(&validator), 1000).unwrap());
    let node = Node::new(ledger.clone(), validator).unwrap();
    let mut alice = User::new();
    let commit = alice.commit("sub.sigil", Hash([1; 32]));
    node.submit(commit.clone()).unwrap();
    assert!(node.submit(commit.clone()).is_err(), "duplicate");
    let reordered = {
        alice.nonce += 1;
        alice.commit("x.sigil", Hash([2; 32]))
    };
    let err = node.submit(reordered).unwrap_err().to_string();
    assert!(err.contains("bad nonce"), "{err}");
    node.produce_block().unwrap();
    let err = node.submit(commit).unwrap_err().to_string();
    assert!(err.contains("bad nonce"), "replay: {err}");
    // Operations that cannot apply are refused before they reach a block.
    let mut bob = User::new();
    let err = node
        .submit(bob.reveal("sub.sigil", Hash([1; 32]), &[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no commitment of this key"), "{err}");
}

#[test]
fn a_dev_chain_producer_refuses_validator_votes() {
    let validator = Keypair::generate();
    let ledger =
        Arc::new(Ledger::open(Arc::new(MemStore::default()), genesis(&validator), 1000).unwrap());
    let chain_id = ledger.params().chain_id.clone();
    // Its own vote would pass alone and hand the next block to a set it cannot sign for.
    let vote = Transaction {
        chain_id,
        signer: validator.public(),
        nonce: 0,
        stamp: 0,
        op: Op::ValidatorVote {
            change: ValidatorChange::Add {
                key: Keypair::generate().public(),
                power: 1,
            },
        },
    }
    .sign(&validator);
    let node = Node::new(ledger.clone(), validator).unwrap();
    let err = node.submit(vote).unwrap_err();
    assert!(matches!(err, MempoolError::DevChainValidators), "{err}");
    assert!(err.to_string().contains("sigil localnet up"), "{err}");
    node.produce_block().unwrap();
    assert_eq!(ledger.validators().unwrap().validators.len(), 1);
}

#[test]
fn record_limits_and_bad_names_are_refused() {
    let chain = Chain::new();
    let mut alice = User::new();
    register(&chain, &mut alice, "big.sigil");
    let txt = format!(
        "@ TXT {}",
        vec![format!("\"{}\"", "x".repeat(250)); 3].join(" ")
    );
    let records = vec![Record::parse(&txt).unwrap(); 12];
    let err = failed(chain.block(vec![alice.tx(Op::NameUpdate {
        name: "big.sigil".into(),
        records,
    })]));
    assert_eq!(err.code(), "record_too_large", "{err}");
    let err = failed(chain.block(vec![alice.tx(Op::NameRenew {
        name: "bad..sigil".into(),
    })]));
    assert_eq!(err.code(), "invalid_name", "{err}");
    let err = failed(chain.block(vec![alice.tx(Op::NameRenew {
        name: "big.example".into(),
    })]));
    assert_eq!(err.code(), "invalid_name", "{err}");
}

#[test]
fn the_tld_name_server_name_cannot_be_registered() {
    let chain = Chain::new();
    let mut mallory = User::new();
    // The commitment hides the name; the reveal is refused, in any spelling.
    for (seed, spelling) in [(3, "ns1.sigil"), (4, "NS1.Sigil.")] {
        let salt = Hash([seed; 32]);
        assert_eq!(
            chain.block(vec![mallory.commit("ns1.sigil", salt)]),
            vec![Ok(())]
        );
        chain.wait(REVEAL_MIN - 1);
        let err = failed(chain.block(vec![mallory.reveal(spelling, salt, &["@ A 203.0.113.66"])]));
        assert_eq!(err.code(), "invalid_name", "{err}");
        assert_eq!(
            err.to_string(),
            "invalid name: `ns1.sigil` is reserved: it is the name server name of the top-level domain `sigil` (its SOA and NS records name it), answered by every node; choose another name"
        );
        assert!(chain.entry("ns1.sigil").is_none());
    }
    // Names that only look like it are ordinary.
    register(&chain, &mut mallory, "ns2.sigil");
    register(&chain, &mut mallory, "ns1x.sigil");
}

#[test]
fn proofs_of_presence_and_absence_check_out_and_tampering_fails() {
    let chain = Chain::new();
    let mut alice = User::new();
    register(&chain, &mut alice, "proven.sigil");
    let trusted = chain.ledger.validators().unwrap();
    let proof = chain.ledger.prove(&keys::name("proven.sigil")).unwrap();
    let value = proof.verify("test-chain", &trusted).unwrap().unwrap();
    let entry: NameEntry = decode(value).unwrap();
    assert_eq!(entry.owner, alice.key.public());
    let absent = chain.ledger.prove(&keys::name("nobody.sigil")).unwrap();
    assert_eq!(absent.verify("test-chain", &trusted).unwrap(), None);

    let mut forged = proof.clone();
    let mut fake = entry.clone();
    fake.owner = User::new().key.public();
    forged.value = Some(sigil_core::types::encode(&fake));
    assert!(forged.verify("test-chain", &trusted).is_err());
    let mut hidden = proof.clone();
    hidden.value = None;
    assert!(hidden.verify("test-chain", &trusted).is_err());
    let mut wrong_root = proof.clone();
    wrong_root.header.state_root = Hash([0; 32]);
    assert!(wrong_root.verify("test-chain", &trusted).is_err());
    let other = ValidatorSet {
        validators: vec![Validator {
            key: User::new().key.public(),
            power: 1,
        }],
    };
    assert!(proof.verify("test-chain", &other).is_err());
    assert!(proof.verify("other-chain", &trusted).is_err());
}

#[test]
fn the_same_blocks_give_the_same_state_roots() {
    let validator = Keypair::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[3; 32]));
    let twin = Keypair::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[3; 32]));
    let a = Chain::on(Arc::new(MemStore::default()), validator);
    let b = Chain::on(Arc::new(MemStore::default()), twin);
    let mut alice = User::new();
    let salt = Hash([1; 32]);
    let blocks = vec![
        vec![alice.commit("same.sigil", salt)],
        vec![],
        vec![alice.reveal("same.sigil", salt, &["@ A 192.0.2.1"])],
    ];
    for txs in blocks {
        a.block(txs.clone());
        b.block(txs);
        assert_eq!(a.ledger.tip().state_root, b.ledger.tip().state_root);
    }
}

#[test]
fn a_reopened_ledger_resumes_at_the_same_height_and_root() {
    let dir = tempfile::tempdir().unwrap();
    let validator_seed = [5u8; 32];
    let key = || Keypair::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&validator_seed));
    let mut alice = User::new();
    let tip = {
        let chain = Chain::on(
            Arc::new(SledStore::open(dir.path(), 1 << 20).unwrap()),
            key(),
        );
        register(&chain, &mut alice, "durable.sigil");
        chain.ledger.tip()
    };
    let chain = Chain::on(
        Arc::new(SledStore::open(dir.path(), 1 << 20).unwrap()),
        key(),
    );
    assert_eq!(chain.ledger.tip(), tip);
    assert_eq!(
        chain.entry("durable.sigil").unwrap().owner,
        alice.key.public()
    );
    // Another chain's genesis is refused on the same data.
    drop(chain);
    let store = Arc::new(SledStore::open(dir.path(), 1 << 20).unwrap());
    let err = Ledger::open(store, genesis(&Keypair::generate()), 1000)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("another --data folder"), "{err}");
}
