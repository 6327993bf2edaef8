//! Governance of the validator set through real blocks on a ledger: votes below two thirds
//! wait, the vote that passes two thirds changes the set in its block, the new set decides the
//! blocks after it, bad votes are refused, and light clients follow the change by its handoff.

use std::sync::Arc;
use std::time::Duration;

use sigil_core::block::{Block, Commit, CommitSig, Genesis, Header, follow_handoffs, vote_bytes};
use sigil_core::error::TxError;
use sigil_core::limits::{MAX_PENDING_VOTES_PER_VALIDATOR, VALIDATOR_VOTE_TTL_BLOCKS};
use sigil_core::paging::{Order, PageRequest};
use sigil_core::state::{
    ChainParams, PendingChange, ValidatorSet, execute_block, keys, pending, pending_at,
};
use sigil_core::tx::{Op, SignedTx, Transaction, ValidatorChange};
use sigil_core::types::decode;
use sigil_core::types::{Keypair, PublicKey};
use sigil_registry::ledger::Ledger;
use sigil_registry::node::Node;
use sigil_registry::store::{SledStore, Store};

const CHAIN: &str = "gov-chain";

struct Chain {
    ledger: Arc<Ledger>,
    /// Every key that may sign a commit; each commit is signed by the current set's members.
    keys: Vec<Keypair>,
    nonces: Vec<u64>,
}

impl Chain {
    fn new(store: Arc<dyn Store>, keys: Vec<Keypair>) -> Chain {
        let genesis = Genesis {
            genesis_time_ms: 0,
            params: ChainParams {
                chain_id: CHAIN.into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: 1,
                reveal_max_blocks: 5,
                name_ttl_blocks: 100,
                grace_blocks: 10,
                block_interval_ms: 10,
                work: Default::default(),
            },
            validators: ValidatorSet::equal_power(keys.iter().map(Keypair::public)),
        };
        let ledger = Arc::new(Ledger::open(store, genesis, 1000).unwrap());
        let nonces = vec![0; keys.len()];
        Chain {
            ledger,
            keys,
            nonces,
        }
    }

    fn vote(&mut self, voter: usize, change: &ValidatorChange) -> SignedTx {
        let tx = Transaction {
            chain_id: CHAIN.into(),
            signer: self.keys[voter].public(),
            nonce: self.nonces[voter],
            stamp: 0,
            op: Op::ValidatorVote {
                change: change.clone(),
            },
        };
        self.nonces[voter] += 1;
        tx.sign(&self.keys[voter])
    }

    /// Executes `txs` and commits the block with the signatures of `signers`.
    fn block_signed_by(
        &self,
        txs: Vec<SignedTx>,
        signers: &[usize],
    ) -> Result<(Header, Vec<Result<(), TxError>>), String> {
        let prepared = self.ledger.prepare(&txs).unwrap();
        let outcomes = prepared.execution.outcomes.clone();
        let header = self
            .ledger
            .header(&prepared, self.keys[signers[0]].public(), 0)
            .unwrap();
        let commit = commit_by(&header, signers.iter().map(|&i| &self.keys[i]));
        self.ledger
            .commit(
                prepared,
                Block {
                    header: header.clone(),
                    txs,
                },
                commit,
            )
            .map_err(|e| e.to_string())?;
        Ok((header, outcomes))
    }

    /// A block signed by every member of the current set.
    fn block(&self, txs: Vec<SignedTx>) -> (Header, Vec<Result<(), TxError>>) {
        let set = self.ledger.validators().unwrap();
        let signers: Vec<usize> = (0..self.keys.len())
            .filter(|&i| set.power_of(&self.keys[i].public()).is_some())
            .collect();
        self.block_signed_by(txs, &signers).unwrap()
    }

    fn public(&self, i: usize) -> PublicKey {
        self.keys[i].public()
    }
}

fn commit_by<'a>(header: &Header, keys: impl Iterator<Item = &'a Keypair>) -> Commit {
    let block_hash = header.hash();
    let message = vote_bytes(&header.chain_id, header.height, 0, &block_hash);
    Commit {
        height: header.height,
        round: 0,
        block_hash,
        signatures: keys
            .map(|key| CommitSig {
                validator: key.public(),
                signature: key.sign(&message),
            })
            .collect(),
    }
}

fn keys(n: usize) -> Vec<Keypair> {
    (0..n).map(|_| Keypair::generate()).collect()
}

fn mem() -> Arc<dyn Store> {
    Arc::new(sigil_registry::store::MemStore::default())
}

#[test]
fn a_change_waits_for_two_thirds_then_the_new_set_decides_the_next_blocks() {
    // Four validators and a fifth key that is not one yet.
    let mut chain = Chain::new(mem(), keys(5));
    let genesis_set = chain.ledger.validators().unwrap();
    assert_eq!(genesis_set.validators.len(), 5);
    // Make the genesis set four validators by removing the fifth: 4 of 5 votes pass.
    let remove_fifth = ValidatorChange::Remove {
        key: chain.public(4),
    };
    let votes = (0..4).map(|i| chain.vote(i, &remove_fifth)).collect();
    let (header, outcomes) = chain.block(votes);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let four = chain.ledger.validators().unwrap();
    assert_eq!(four.validators.len(), 4);
    assert_eq!(header.validators_hash, genesis_set.hash());
    assert_eq!(header.next_validators_hash, four.hash());

    // Add the fifth back: two of four votes (half the power) wait, listed as pending.
    let add_fifth = ValidatorChange::Add {
        key: chain.public(4),
        power: 1,
    };
    let votes = vec![chain.vote(0, &add_fifth), chain.vote(1, &add_fifth)];
    let (header, outcomes) = chain.block(votes);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(chain.ledger.validators().unwrap(), four);
    assert_eq!(header.next_validators_hash, four.hash());
    let waiting = pending(&chain.ledger.latest()).unwrap();
    assert_eq!(waiting.len(), 1);
    let voters: Vec<PublicKey> = waiting[0].votes.iter().map(|v| v.validator).collect();
    assert_eq!(voters, vec![chain.public(0), chain.public(1)]);

    // The third vote passes two thirds: the set changes in this very block.
    let vote = chain.vote(2, &add_fifth);
    let (header, outcomes) = chain.block(vec![vote]);
    assert_eq!(outcomes, vec![Ok(())]);
    let five = chain.ledger.validators().unwrap();
    assert_eq!(five.validators.len(), 5);
    assert_eq!(header.validators_hash, four.hash());
    assert_eq!(header.next_validators_hash, five.hash());
    assert!(pending(&chain.ledger.latest()).unwrap().is_empty());

    // From the next block on, the new set decides: three of five is not enough any more.
    let short = chain.block_signed_by(vec![], &[0, 1, 2]).unwrap_err();
    assert!(short.contains("not more than two thirds"), "{short}");
    chain.block_signed_by(vec![], &[0, 1, 2, 4]).unwrap();

    // Two handoffs since genesis, each checked against the set before it; read a page of one
    // at a time, oldest first, then newest first.
    let read = |order: Order| {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = chain
                .ledger
                .handoffs_page(&PageRequest {
                    limit: Some(1),
                    order,
                    cursor,
                })
                .unwrap();
            assert!(page.items.len() <= 1);
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c.parse().unwrap()),
                None => return all,
            }
        }
    };
    let handoffs = read(Order::Asc);
    assert_eq!(handoffs.len(), 2);
    assert!(handoffs[0].header.height < handoffs[1].header.height);
    let newest_first: Vec<u64> = read(Order::Desc).iter().map(|h| h.header.height).collect();
    assert_eq!(
        newest_first,
        [handoffs[1].header.height, handoffs[0].header.height]
    );
    assert_eq!(
        chain
            .ledger
            .last_validator_change()
            .unwrap()
            .map(|c| c.height),
        Some(handoffs[1].header.height)
    );
    assert_eq!(
        follow_handoffs(CHAIN, &genesis_set, &handoffs).unwrap(),
        five
    );
    assert_eq!(follow_handoffs(CHAIN, &four, &handoffs).unwrap(), five);
    // A handoff that claims another new set than its header names is refused.
    let mut forged = handoffs.clone();
    forged[1].validators = four.clone();
    assert!(follow_handoffs(CHAIN, &genesis_set, &forged).is_err());
}

#[test]
fn a_proof_asked_for_at_the_change_block_waits_for_the_new_sets_first_block() {
    let mut chain = Chain::new(mem(), keys(4));
    let before = chain.ledger.validators().unwrap();
    chain.block(vec![]);
    let remove = ValidatorChange::Remove {
        key: chain.public(3),
    };
    let votes = (0..3).map(|i| chain.vote(i, &remove)).collect();
    let (change, _) = chain.block(votes);
    let after = chain.ledger.validators().unwrap();
    assert_ne!(after, before);
    // The tip was signed by the set before the change; clients already trust the new one.
    assert_eq!(change.validators_hash, before.hash());
    let node = Node::for_consensus(chain.ledger.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let waiting = tokio::spawn({
            let node = node.clone();
            async move {
                node.wait_past_handoff(Duration::from_secs(30))
                    .await
                    .unwrap();
                node.ledger().prove(&keys::name("x.sigil")).unwrap()
            }
        });
        // It waits while the change block is the tip...
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished());
        // ...and proves at the next block, signed by the new set.
        chain.block(vec![]);
        let proof = tokio::time::timeout(Duration::from_secs(30), waiting)
            .await
            .expect("the proof comes once the next block is final")
            .unwrap();
        assert_eq!(proof.header.height, change.height + 1);
        proof.verify(CHAIN, &after).unwrap();
        // With no change at the tip, nothing waits.
        let started = std::time::Instant::now();
        node.wait_past_handoff(Duration::from_secs(30))
            .await
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn a_removed_validator_signs_nothing_after_its_removal() {
    let mut chain = Chain::new(mem(), keys(4));
    let remove = ValidatorChange::Remove {
        key: chain.public(3),
    };
    let votes = (0..3).map(|i| chain.vote(i, &remove)).collect();
    chain.block(votes);
    let err = chain.block_signed_by(vec![], &[0, 1, 3]).unwrap_err();
    assert!(err.contains("is not a validator"), "{err}");
    chain.block_signed_by(vec![], &[0, 1, 2]).unwrap();
    // And it can no longer vote.
    let change = ValidatorChange::Remove {
        key: chain.public(0),
    };
    let vote = chain.vote(3, &change);
    let (_, outcomes) = chain.block(vec![vote]);
    assert!(
        matches!(outcomes[0], Err(TxError::NotAValidator { .. })),
        "{outcomes:?}"
    );
}

#[test]
fn bad_votes_are_refused_with_the_reason() {
    let mut chain = Chain::new(mem(), keys(4));
    let outsider = Keypair::generate();
    let add = |key: PublicKey, power: u64| ValidatorChange::Add { key, power };

    let twice = add(outsider.public(), 1);
    let first = chain.vote(0, &twice);
    let second = chain.vote(0, &twice);
    let (_, outcomes) = chain.block(vec![first, second]);
    assert_eq!(outcomes[0], Ok(()));
    assert!(
        matches!(outcomes[1], Err(TxError::AlreadyVoted { .. })),
        "{outcomes:?}"
    );

    let cases = [
        (add(chain.public(1), 1), "already a validator"),
        (add(outsider.public(), 0), "power must be"),
        (
            ValidatorChange::Remove {
                key: outsider.public(),
            },
            "is not a validator",
        ),
    ];
    for (change, reason) in cases {
        let vote = chain.vote(0, &change);
        let (_, outcomes) = chain.block(vec![vote]);
        match &outcomes[0] {
            Err(e @ TxError::BadValidatorChange { .. }) => {
                assert!(e.to_string().contains(reason), "{e}")
            }
            other => panic!("{change}: {other:?}"),
        }
    }

    // A key outside the set cannot vote.
    let tx = Transaction {
        chain_id: CHAIN.into(),
        signer: outsider.public(),
        nonce: 0,
        stamp: 0,
        op: Op::ValidatorVote {
            change: add(outsider.public(), 1),
        },
    }
    .sign(&outsider);
    let (_, outcomes) = chain.block(vec![tx]);
    assert!(
        matches!(outcomes[0], Err(TxError::NotAValidator { .. })),
        "{outcomes:?}"
    );

    // The last validator of a chain cannot be removed.
    let mut single = Chain::new(mem(), keys(1));
    let change = ValidatorChange::Remove {
        key: single.public(0),
    };
    let vote = single.vote(0, &change);
    let (_, outcomes) = single.block(vec![vote]);
    assert!(
        matches!(&outcomes[0], Err(e) if e.to_string().contains("last validator")),
        "{outcomes:?}"
    );
}

#[test]
fn a_ledger_reopened_after_a_change_checks_its_tip_against_the_set_that_decided_it() {
    let dir = tempfile::tempdir().unwrap();
    let all = keys(4);
    let fourth = all[3].public();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
    let mut chain = Chain::new(store, all);
    let remove = ValidatorChange::Remove { key: fourth };
    let votes = (0..3).map(|i| chain.vote(i, &remove)).collect();
    // The tip is the block that changed the set: it was decided by the old set of four.
    let (header, _) = chain.block(votes);
    let genesis = chain.ledger.genesis().clone();
    drop(chain);
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
    let ledger = Ledger::open(store, genesis, 1000).unwrap();
    assert_eq!(ledger.tip().hash, header.hash());
    assert_eq!(ledger.validators().unwrap().validators.len(), 3);
    assert_eq!(
        ledger
            .validators_deciding(header.height)
            .unwrap()
            .validators
            .len(),
        4
    );
    // A proof at that tip carries the set that signed it and verifies against it.
    let proof = ledger.prove(keys::VALIDATORS).unwrap();
    assert_eq!(proof.validators.validators.len(), 4);
    proof.verify(CHAIN, &proof.validators.clone()).unwrap();
}

#[test]
fn one_validator_flooding_votes_cannot_block_another_validators_vote() {
    let mut chain = Chain::new(mem(), keys(4));
    // Validator 0 votes for 64 distinct changes, as fast as one block takes them.
    let flood: Vec<SignedTx> = (0..64)
        .map(|_| {
            let change = ValidatorChange::Add {
                key: Keypair::generate().public(),
                power: 1,
            };
            chain.vote(0, &change)
        })
        .collect();
    let (_, outcomes) = chain.block(flood);
    let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(accepted, MAX_PENDING_VOTES_PER_VALIDATOR, "{outcomes:?}");
    assert!(
        outcomes[MAX_PENDING_VOTES_PER_VALIDATOR..]
            .iter()
            .all(|o| matches!(o, Err(TxError::TooManyVotes { .. }))),
        "{outcomes:?}"
    );
    // The others still vote, here for the flooder's own removal, and it passes.
    let remove = ValidatorChange::Remove {
        key: chain.public(0),
    };
    let votes = (1..4).map(|i| chain.vote(i, &remove)).collect();
    let (_, outcomes) = chain.block(votes);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let set = chain.ledger.validators().unwrap();
    assert_eq!(set.validators.len(), 3);
    assert!(set.power_of(&chain.public(0)).is_none());
}

#[test]
fn votes_expire_after_their_lifetime_and_free_the_voters_cap() {
    let mut chain = Chain::new(mem(), keys(4));
    let outsider = Keypair::generate();
    let add = ValidatorChange::Add {
        key: outsider.public(),
        power: 1,
    };
    let votes = vec![chain.vote(0, &add), chain.vote(1, &add)];
    let (header, outcomes) = chain.block(votes);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let voted_at = header.height;
    let params = chain.ledger.params().clone();
    // The third vote, executed at a chosen height (the state machine is a function of the
    // height): just before the first two expire it passes, from their expiry on it does not.
    let third = chain.vote(2, &add);
    let latest = chain.ledger.latest();
    let before = voted_at + VALIDATOR_VOTE_TTL_BLOCKS - 1;
    let run = execute_block(&latest, &params, before, std::slice::from_ref(&third)).unwrap();
    assert_eq!(run.outcomes, vec![Ok(())]);
    let set: ValidatorSet = decode(run.writes[keys::VALIDATORS].as_ref().unwrap()).unwrap();
    assert!(set.power_of(&outsider.public()).is_some());
    let expired = voted_at + VALIDATOR_VOTE_TTL_BLOCKS;
    let run = execute_block(&latest, &params, expired, std::slice::from_ref(&third)).unwrap();
    assert_eq!(run.outcomes, vec![Ok(())]);
    assert!(!run.writes.contains_key(keys::VALIDATORS));
    let waiting: Vec<PendingChange> =
        decode(run.writes[keys::VALIDATOR_VOTES].as_ref().unwrap()).unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].votes.len(), 1);
    assert_eq!(waiting[0].votes[0].validator, chain.public(2));
    // What the status shows: only live votes.
    assert_eq!(pending(&latest).unwrap()[0].votes.len(), 2);
    assert!(pending_at(&latest, expired).unwrap().is_empty());

    // A validator at its cap votes again once its votes expire.
    let mut chain = Chain::new(mem(), keys(4));
    let fill: Vec<SignedTx> = (0..MAX_PENDING_VOTES_PER_VALIDATOR)
        .map(|_| {
            let change = ValidatorChange::Add {
                key: Keypair::generate().public(),
                power: 1,
            };
            chain.vote(0, &change)
        })
        .collect();
    let (header, outcomes) = chain.block(fill);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let another = chain.vote(0, &add);
    let latest = chain.ledger.latest();
    let run = execute_block(
        &latest,
        &params,
        header.height + 1,
        std::slice::from_ref(&another),
    )
    .unwrap();
    assert!(
        matches!(&run.outcomes[0], Err(TxError::TooManyVotes { expires_at, .. })
            if *expires_at == header.height + VALIDATOR_VOTE_TTL_BLOCKS),
        "{:?}",
        run.outcomes
    );
    let later = header.height + VALIDATOR_VOTE_TTL_BLOCKS;
    let run = execute_block(&latest, &params, later, std::slice::from_ref(&another)).unwrap();
    assert_eq!(run.outcomes, vec![Ok(())]);
    let waiting: Vec<PendingChange> =
        decode(run.writes[keys::VALIDATOR_VOTES].as_ref().unwrap()).unwrap();
    assert_eq!(waiting.len(), 1, "the expired changes are dropped");
}
