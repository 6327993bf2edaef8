//! The proven snapshot: what a round over it reads and notes missing, and which proofs get in
//! (only those of the keys asked, at the snapshot's header, signed by its set, whose tree
//! proof holds), built over a real state tree.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use hickory_proto::rr::{Name, RecordType};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use sigil_core::block::{Commit, Header, tx_root};
use sigil_core::proof::{Blake3Hasher, StateProof, key_hash};
use sigil_core::records::Record;
use sigil_core::state::{NameEntry, ValidatorSet, keys};
use sigil_core::types::{Hash, Keypair, encode};

use super::check_proofs;
use super::peers::PeerError;
use super::snapshot::{Round, Snapshot};
use crate::answer::answer_tracked;

const CHAIN: &str = "light-unit";

/// A state tree in memory, one version.
#[derive(Default)]
struct Tree {
    nodes: RwLock<HashMap<NodeKey, Node>>,
    values: RwLock<HashMap<KeyHash, OwnedValue>>,
}

impl TreeReader for Tree {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.read().unwrap().get(node_key).cloned())
    }
    fn get_value_option(
        &self,
        _: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.values.read().unwrap().get(&key_hash).cloned())
    }
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        unimplemented!("not needed")
    }
}

/// A chain of one validator whose state at height 5 holds `state`.
struct Chain {
    tree: Tree,
    header: Header,
    commit: Commit,
    set: ValidatorSet,
}

impl Chain {
    fn new(state: &[(Vec<u8>, Vec<u8>)]) -> Chain {
        let tree = Tree::default();
        let jmt = JellyfishMerkleTree::<_, Blake3Hasher>::new(&tree);
        let (root, update) = jmt
            .put_value_set(state.iter().map(|(k, v)| (key_hash(k), Some(v.clone()))), 5)
            .unwrap();
        for (key, node) in update.node_batch.nodes() {
            tree.nodes
                .write()
                .unwrap()
                .insert(key.clone(), node.clone());
        }
        for ((_, hash), value) in update.node_batch.values() {
            if let Some(value) = value {
                tree.values.write().unwrap().insert(*hash, value.clone());
            }
        }
        let key = Keypair::generate();
        let set = ValidatorSet::equal_power([key.public()]);
        let header = Header {
            chain_id: CHAIN.into(),
            height: 5,
            time_ms: 1,
            prev_hash: Hash::ZERO,
            tx_root: tx_root(&[]),
            state_root: Hash(root.0),
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
            proposer: key.public(),
        };
        let commit = Commit::sign(&header, 0, &key);
        Chain {
            tree,
            header,
            commit,
            set,
        }
    }

    fn prove(&self, key: &[u8]) -> StateProof {
        let jmt = JellyfishMerkleTree::<_, Blake3Hasher>::new(&self.tree);
        let (value, proof) = jmt.get_with_proof(key_hash(key), 5).unwrap();
        StateProof {
            key: key.to_vec(),
            value,
            proof: encode(&proof),
            header: self.header.clone(),
            commit: self.commit.clone(),
            validators: self.set.clone(),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::new(Snapshot::new(
            self.header.clone(),
            self.commit.clone(),
            self.set.clone(),
        ))
    }
}

fn shop() -> NameEntry {
    NameEntry {
        name: "shop.sigil".into(),
        owner: Keypair::generate().public(),
        records: vec![Record::parse("@ 300 A 192.0.2.20").unwrap()],
        registered_at: 1,
        updated_at: 1,
        expires_at: 1_000,
    }
}

fn bogus(result: Result<(), PeerError>) -> String {
    match result {
        Err(PeerError::Bogus(why)) => why,
        other => panic!("expected a bogus answer, got {other:?}"),
    }
}

#[test]
fn a_round_answers_from_proven_keys_and_notes_each_missing_one() {
    let name_key = keys::name("shop.sigil");
    let chain = Chain::new(&[(name_key.clone(), encode(&shop()))]);
    let snapshot = chain.snapshot();
    let tlds: Arc<[String]> = vec!["sigil".to_string()].into();
    let qname = Name::from_str("shop.sigil.").unwrap();

    // Nothing proven yet: the answer is computed but the name's key is noted missing.
    let round = Round::new(snapshot.clone(), tlds.clone());
    answer_tracked(&round, &qname, RecordType::A).unwrap();
    assert_eq!(round.missing(), vec![name_key.clone()]);

    // Its proof goes in; the answer then needs nothing more and carries the record.
    check_proofs(
        CHAIN,
        &snapshot,
        std::slice::from_ref(&name_key),
        &[chain.prove(&name_key)],
    )
    .unwrap();
    let round = Round::new(snapshot.clone(), tlds.clone());
    let (answer, _) = answer_tracked(&round, &qname, RecordType::A)
        .unwrap()
        .unwrap();
    assert!(round.missing().is_empty());
    assert_eq!(answer.answers[0].data.to_string(), "192.0.2.20");

    // A proven absence is an answer too: NXDOMAIN once `missing.sigil`'s absence is proven.
    let missing_key = keys::name("missing.sigil");
    let missing = Name::from_str("missing.sigil.").unwrap();
    let round = Round::new(snapshot.clone(), tlds.clone());
    answer_tracked(&round, &missing, RecordType::A).unwrap();
    assert_eq!(round.missing(), vec![missing_key.clone()]);
    check_proofs(
        CHAIN,
        &snapshot,
        std::slice::from_ref(&missing_key),
        &[chain.prove(&missing_key)],
    )
    .unwrap();
    assert_eq!(snapshot.get(&missing_key), Some(None));
    let round = Round::new(snapshot, tlds);
    let (answer, _) = answer_tracked(&round, &missing, RecordType::A)
        .unwrap()
        .unwrap();
    assert!(round.missing().is_empty());
    assert_eq!(answer.rcode, hickory_proto::op::ResponseCode::NXDomain);
}

#[test]
fn only_proofs_of_the_keys_asked_at_the_header_signed_by_its_set_go_in() {
    let name_key = keys::name("shop.sigil");
    let other_key = keys::name("other.sigil");
    let chain = Chain::new(&[
        (name_key.clone(), encode(&shop())),
        (other_key.clone(), encode(&shop())),
    ]);
    let snapshot = chain.snapshot();
    let good = chain.prove(&name_key);

    // The proof of another key than the one asked.
    let why = bogus(check_proofs(
        CHAIN,
        &snapshot,
        std::slice::from_ref(&name_key),
        &[chain.prove(&other_key)],
    ));
    assert!(why.contains("proof of key"), "{why}");
    // A changed value: the tree proof no longer holds under the signed root.
    let mut changed = good.clone();
    changed.value = Some(encode(&NameEntry {
        records: vec![Record::parse("@ 300 A 203.0.113.66").unwrap()],
        ..shop()
    }));
    let why = bogus(check_proofs(
        CHAIN,
        &snapshot,
        std::slice::from_ref(&name_key),
        &[changed],
    ));
    assert!(why.contains("tree proof"), "{why}");
    // A claimed absence of a name that exists.
    let mut absent = good.clone();
    absent.value = None;
    bogus(check_proofs(
        CHAIN,
        &snapshot,
        std::slice::from_ref(&name_key),
        &[absent],
    ));
    // Another header (a later one, signed by the same set) than the snapshot's.
    let mut later = good.clone();
    later.header.height = 6;
    let why = bogus(check_proofs(
        CHAIN,
        &snapshot,
        std::slice::from_ref(&name_key),
        &[later],
    ));
    assert!(why.contains("another header"), "{why}");
    // A header and commit signed by a key that is not the snapshot's validator.
    let impostor = Keypair::generate();
    let forged_set = ValidatorSet::equal_power([impostor.public()]);
    let mut forged = good.clone();
    forged.commit = Commit::sign(&forged.header, 0, &impostor);
    forged.validators = forged_set;
    let why = bogus(check_proofs(
        CHAIN,
        &snapshot,
        std::slice::from_ref(&name_key),
        &[forged],
    ));
    assert!(why.contains("not the trusted set"), "{why}");
    // One bad proof in a batch keeps the good one out too; the right count is required.
    bogus(check_proofs(
        CHAIN,
        &snapshot,
        &[name_key.clone(), other_key.clone()],
        &[good.clone(), chain.prove(&name_key)],
    ));
    bogus(check_proofs(
        CHAIN,
        &snapshot,
        &[name_key.clone(), other_key.clone()],
        std::slice::from_ref(&good),
    ));
    assert!(snapshot.is_empty());
    // The honest proof goes in.
    check_proofs(CHAIN, &snapshot, std::slice::from_ref(&name_key), &[good]).unwrap();
    assert!(snapshot.get(&name_key).unwrap().is_some());
}

#[test]
fn a_newer_header_with_the_same_state_root_keeps_what_was_proven() {
    let entry = encode(&shop());
    let chain = Chain::new(&[(keys::name("shop.sigil"), entry.clone())]);
    let first = chain.snapshot();
    first.insert(keys::name("shop.sigil"), Some(entry.clone()));
    // An empty block: a newer header, the same state root.
    let mut quiet = chain.header.clone();
    quiet.height += 1;
    let kept = first.next(quiet, chain.commit.clone(), chain.set.clone());
    assert_eq!(kept.get(&keys::name("shop.sigil")), Some(Some(entry)));
    assert!(kept.unchanged_since(first.height()) && kept.unchanged_since(kept.height()));
    assert!(
        !kept.unchanged_since(first.height() - 1),
        "before the first header known"
    );
    // A block that wrote something: nothing proven is kept, nothing is known unchanged.
    let mut busy = kept.header.clone();
    busy.height += 1;
    busy.state_root = Hash::of(b"another state");
    let fresh = kept.next(busy, chain.commit.clone(), chain.set.clone());
    assert!(fresh.is_empty());
    assert!(!fresh.unchanged_since(kept.height()) && fresh.unchanged_since(fresh.height()));
    // An older or equal header never inherits (the caller adopts only newer ones).
    let same_height = first.next(
        chain.header.clone(),
        chain.commit.clone(),
        chain.set.clone(),
    );
    assert!(same_height.is_empty());
}
