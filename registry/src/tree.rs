//! The authenticated state tree: a Jellyfish Merkle Tree (`jmt`) hashed with blake3, version =
//! block height, stored in the `Store` beside everything else. Gives the state root of every
//! block, inclusion and non-inclusion proofs, reads at older heights, and pruning of versions
//! older than a window through the stale-node index written with every block.

use std::collections::BTreeMap;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};

use crate::error::{Error, Result};
use crate::prefixes::tree as prefix;
use crate::store::{Batch, Store, prefix_end};
use sigil_core::proof::{Blake3Hasher, Proof, key_hash};
use sigil_core::types::{Hash, Height, decode, encode};

/// The state tree over a store.
pub struct StateTree<'a> {
    store: &'a dyn Store,
}

impl<'a> StateTree<'a> {
    pub fn new(store: &'a dyn Store) -> Self {
        StateTree { store }
    }

    /// Writes the changes of `version` into `batch` and returns the new root. Nothing is visible
    /// until the batch is applied.
    pub fn update(
        &self,
        version: Height,
        writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        batch: &mut Batch,
    ) -> Result<Hash> {
        self.write(version, writes, batch, true)
    }

    /// [`StateTree::update`], with insertions in one pass down the tree when `batched`.
    fn write(
        &self,
        version: Height,
        writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        batch: &mut Batch,
        batched: bool,
    ) -> Result<Hash> {
        let reader = Reader(self.store);
        let tree = JellyfishMerkleTree::<_, Blake3Hasher>::new(&reader);
        // Insertions alone (the common block) go down the tree once for all its keys, each
        // node touched rebuilt once; a set with deletions goes key by key. Both give the
        // same tree: its root and nodes are a function of the keys and values.
        let inserts: Option<Vec<(KeyHash, OwnedValue)>> = writes
            .iter()
            .map(|(k, v)| v.clone().map(|v| (key_hash(k), v)))
            .collect();
        let (root, update) = match inserts {
            Some(inserts) if batched && !inserts.is_empty() => tree
                .batch_put_value_sets(vec![inserts], None, version)
                .map(|(mut roots, update)| (roots.remove(0), update)),
            _ => {
                let value_set = writes.iter().map(|(k, v)| (key_hash(k), v.clone()));
                tree.put_value_set(value_set, version)
            }
        }
        .map_err(|e| Error::tree(format!("{e:#}")))?;
        for (node_key, node) in update.node_batch.nodes() {
            batch.put([prefix::NODE, &encode(node_key)].concat(), encode(node));
        }
        // The value each one replaces (or deletes) moves to the history, with the version up
        // to which it held; the history's entries replaced by this version go in one list.
        let mut replaced = Vec::new();
        for ((v, hash), value) in update.node_batch.values() {
            let latest_key = latest_key(hash);
            if let Some(old) = self.store.get(&latest_key)? {
                let (old_version, old_value) = split_versioned(&old)?;
                batch.put(
                    history_key(hash, old_version),
                    [&v.to_be_bytes(), old_value].concat(),
                );
                replaced.push((hash.0, old_version));
            }
            match value {
                Some(value) => batch.put(latest_key, [&v.to_be_bytes(), value.as_slice()].concat()),
                None => batch.delete(latest_key),
            }
        }
        if !replaced.is_empty() {
            batch.put(
                stale_list_key(prefix::STALE_VALUE, version),
                encode(&replaced),
            );
        }
        let mut stale_nodes: BTreeMap<Version, Vec<NodeKey>> = BTreeMap::new();
        for stale in &update.stale_node_index_batch {
            stale_nodes
                .entry(stale.stale_since_version)
                .or_default()
                .push(stale.node_key.clone());
        }
        // A version that changes nothing (an empty block) gets a copy of the last root, and jmt
        // does not mark the copied root stale: marked here, or every empty block would keep a
        // root node for good. Versions are heights, one after another.
        let nodes = update.node_batch.nodes();
        if let (true, 1, Some(previous)) = (
            update.stale_node_index_batch.is_empty(),
            nodes.len(),
            version.checked_sub(1),
        ) && let Some(copy) = nodes
            .keys()
            .find(|k| k.version() == version && k.nibble_path().num_nibbles() == 0)
        {
            stale_nodes
                .entry(version)
                .or_default()
                .push(NodeKey::new(previous, copy.nibble_path().clone()));
        }
        for (since, nodes) in stale_nodes {
            batch.put(stale_list_key(prefix::STALE_NODE, since), encode(&nodes));
        }
        Ok(Hash(root.0))
    }

    /// The latest value of `key`: one store read, no tree walk.
    pub fn get_latest(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.store.get(&latest_key(&key_hash(key)))? {
            Some(bytes) => Ok(Some(split_versioned(&bytes)?.1.to_vec())),
            None => Ok(None),
        }
    }

    /// The value of `key` at `version`, with its proof.
    pub fn get_with_proof(&self, key: &[u8], version: Height) -> Result<(Option<Vec<u8>>, Proof)> {
        let reader = Reader(self.store);
        let tree = JellyfishMerkleTree::<_, Blake3Hasher>::new(&reader);
        tree.get_with_proof(key_hash(key), version)
            .map_err(|e| Error::tree(format!("{e:#}")))
    }

    /// The root at `version`.
    pub fn root(&self, version: Height) -> Result<Hash> {
        let reader = Reader(self.store);
        let tree = JellyfishMerkleTree::<_, Blake3Hasher>::new(&reader);
        Ok(Hash(
            tree.get_root_hash(version)
                .map_err(|e| Error::tree(format!("{e:#}")))?
                .0,
        ))
    }

    /// Adds to `batch` the deletion of the nodes and earlier values that no version at or after
    /// `oldest_kept` needs, one version's list at a time: at least one list of each kind when
    /// one is due, then more while fewer than `max_entries` are scheduled (a list holds what one
    /// block replaced, so this keeps up with the blocks). Returns how many were scheduled.
    pub fn prune(
        &self,
        oldest_kept: Height,
        max_entries: usize,
        batch: &mut Batch,
    ) -> Result<usize> {
        let mut scheduled = 0;
        for list_prefix in [prefix::STALE_NODE, prefix::STALE_VALUE] {
            let end = stale_list_key(list_prefix, oldest_kept + 1);
            let mut start = list_prefix.to_vec();
            let mut lists = 0;
            while lists == 0 || scheduled < max_entries {
                let Some((list_key, list)) = self.store.scan(&start, &end, 1)?.pop() else {
                    break;
                };
                if list_prefix == prefix::STALE_NODE {
                    let nodes: Vec<NodeKey> =
                        decode(&list).map_err(|e| Error::corrupt("stale node list", e))?;
                    for node_key in &nodes {
                        batch.delete([prefix::NODE, &encode(node_key)].concat());
                    }
                    scheduled += nodes.len();
                } else {
                    let values: Vec<([u8; 32], Version)> =
                        decode(&list).map_err(|e| Error::corrupt("stale value list", e))?;
                    for (hash, version) in &values {
                        batch.delete(history_key(&KeyHash(*hash), *version));
                    }
                    scheduled += values.len();
                }
                batch.delete(list_key.clone());
                start = [list_key.as_slice(), &[0]].concat();
                lists += 1;
            }
        }
        Ok(scheduled)
    }
}

/// `L ‖ key hash`: the key's value at the tip.
fn latest_key(hash: &KeyHash) -> Vec<u8> {
    [prefix::LATEST, &hash.0].concat()
}

fn history_start(hash: &KeyHash) -> Vec<u8> {
    [prefix::VALUE, &hash.0].concat()
}

/// `V ‖ key hash ‖ version`: the value the key got at `version`, once replaced.
fn history_key(hash: &KeyHash, version: Version) -> Vec<u8> {
    [prefix::VALUE, &hash.0, &version.to_be_bytes()].concat()
}

/// `S ‖ version` or `W ‖ version`: what became stale at `version`.
fn stale_list_key(list_prefix: &[u8], version: Version) -> Vec<u8> {
    [list_prefix, &version.to_be_bytes()].concat()
}

/// A stored `version ‖ value` (a latest value: the version that wrote it; an earlier one: the
/// version that replaced it).
fn split_versioned(bytes: &[u8]) -> Result<(Version, &[u8])> {
    let (version, value) = bytes
        .split_first_chunk::<8>()
        .ok_or_else(|| Error::corrupt("tree value", "shorter than its version"))?;
    Ok((Version::from_be_bytes(*version), value))
}

/// jmt's view of the store.
struct Reader<'a>(&'a dyn Store);

impl TreeReader for Reader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.0.get(&[prefix::NODE, &encode(node_key)].concat())? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The latest value if it was written at or before `max_version`; otherwise the history's
    /// value written last at or before it, if it still held there (not deleted since).
    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        if let Some(bytes) = self.0.get(&latest_key(&key_hash))? {
            let (version, value) = split_versioned(&bytes)?;
            if version <= max_version {
                return Ok(Some(value.to_vec()));
            }
        }
        let end = history_key(&key_hash, max_version.saturating_add(1));
        match self.0.last_in(&history_start(&key_hash), &end)? {
            Some((_, bytes)) => {
                let (until, value) = split_versioned(&bytes)?;
                Ok((max_version < until).then(|| value.to_vec()))
            }
            None => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("restoring a tree from a snapshot is not supported by this store")
    }
}

/// Counts the tree's entries in the store by kind (nodes; latest and earlier values), for
/// measurements.
pub fn count_entries(store: &dyn Store) -> Result<(usize, usize)> {
    let count =
        |p: &[u8]| -> Result<usize> { Ok(store.scan(p, &prefix_end(p), usize::MAX)?.len()) };
    Ok((
        count(prefix::NODE)?,
        count(prefix::LATEST)? + count(prefix::VALUE)?,
    ))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;
    use sigil_core::proof::verify;

    fn commit(store: &MemStore, version: Height, writes: &[(&str, Option<&str>)]) -> Hash {
        let writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = writes
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
            .collect();
        let mut batch = Batch::default();
        let root = StateTree::new(store)
            .update(version, &writes, &mut batch)
            .unwrap();
        store.apply(batch).unwrap();
        root
    }

    #[test]
    fn proves_presence_and_absence() {
        let store = MemStore::default();
        commit(&store, 0, &[("a", Some("1")), ("b", Some("2"))]);
        let root = commit(&store, 1, &[("a", Some("3")), ("c", Some("4"))]);
        let tree = StateTree::new(&store);
        assert_eq!(tree.root(1).unwrap(), root);
        let (value, proof) = tree.get_with_proof(b"a", 1).unwrap();
        assert_eq!(value.as_deref(), Some(b"3".as_slice()));
        assert!(verify(&root, b"a", Some(b"3"), &proof).is_ok());
        // A tampered value, another key, or another root fails.
        assert!(verify(&root, b"a", Some(b"1"), &proof).is_err());
        assert!(verify(&root, b"b", Some(b"3"), &proof).is_err());
        assert!(verify(&Hash::ZERO, b"a", Some(b"3"), &proof).is_err());
        let (absent, proof) = tree.get_with_proof(b"zzz", 1).unwrap();
        assert_eq!(absent, None);
        assert!(verify(&root, b"zzz", None, &proof).is_ok());
        assert!(verify(&root, b"zzz", Some(b"x"), &proof).is_err());
        // The old version is still readable and provable.
        let (old, proof) = tree.get_with_proof(b"a", 0).unwrap();
        assert_eq!(old.as_deref(), Some(b"1".as_slice()));
        assert!(verify(&tree.root(0).unwrap(), b"a", Some(b"1"), &proof).is_ok());
        assert_eq!(
            tree.get_latest(b"a").unwrap().as_deref(),
            Some(b"3".as_slice())
        );
    }

    #[test]
    fn insertions_in_one_pass_write_what_key_by_key_writes() {
        let (batched, keywise) = (MemStore::default(), MemStore::default());
        let mut next = 0u32;
        for version in 0..6u64 {
            // New keys, keys written before (some in the same leaf's neighbourhood), and in
            // the fourth version a deletion, which goes key by key either way.
            let mut writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = (0..300)
                .map(|_| {
                    next += 1;
                    let key = format!("k{}", next % 700).into_bytes();
                    (key, Some(format!("v{version}/{next}").into_bytes()))
                })
                .collect();
            if version == 3 {
                writes.insert(b"k5".to_vec(), None);
            }
            let mut roots = Vec::new();
            for (store, one_pass) in [(&batched, true), (&keywise, false)] {
                let mut batch = Batch::default();
                roots.push(
                    StateTree::new(store)
                        .write(version, &writes, &mut batch, one_pass)
                        .unwrap(),
                );
                store.apply(batch).unwrap();
            }
            assert_eq!(roots[0], roots[1], "version {version}");
        }
        let everything = |store: &MemStore| store.scan(&[], &[0xff; 8], usize::MAX).unwrap();
        assert_eq!(everything(&batched), everything(&keywise));
        let tree = StateTree::new(&batched);
        let (value, proof) = tree.get_with_proof(b"k9", 5).unwrap();
        assert!(verify(&tree.root(5).unwrap(), b"k9", value.as_deref(), &proof).is_ok());
    }

    #[test]
    fn a_tampered_proof_fails() {
        let store = MemStore::default();
        let root = commit(
            &store,
            0,
            &[("a", Some("1")), ("b", Some("2")), ("c", Some("3"))],
        );
        let (_, proof) = StateTree::new(&store).get_with_proof(b"a", 0).unwrap();
        let mut bytes = encode(&proof);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered: Proof = decode(&bytes).unwrap();
        assert!(verify(&root, b"a", Some(b"1"), &tampered).is_err());
    }

    #[test]
    fn empty_versions_keep_the_root_and_pruning_keeps_recent_versions() {
        let store = MemStore::default();
        commit(&store, 0, &[("a", Some("1"))]);
        let r1 = commit(&store, 1, &[("a", Some("2"))]);
        let r2 = commit(&store, 2, &[]);
        assert_eq!(r1, r2);
        let r3 = commit(&store, 3, &[("a", Some("3")), ("b", Some("1"))]);
        let before = count_entries(&store).unwrap();
        let mut batch = Batch::default();
        let pruned = StateTree::new(&store).prune(3, 1000, &mut batch).unwrap();
        store.apply(batch).unwrap();
        assert!(pruned > 0);
        assert!(count_entries(&store).unwrap().0 < before.0);
        let tree = StateTree::new(&store);
        let (value, proof) = tree.get_with_proof(b"a", 3).unwrap();
        assert!(verify(&r3, b"a", value.as_deref(), &proof).is_ok());
        assert_eq!(value.as_deref(), Some(b"3".as_slice()));
    }

    #[test]
    fn earlier_values_read_until_pruned_and_a_deleted_key_leaves_nothing() {
        let store = MemStore::default();
        let mut roots = vec![commit(&store, 0, &[("a", Some("1")), ("b", Some("1"))])];
        roots.push(commit(&store, 1, &[("a", Some("2"))]));
        roots.push(commit(&store, 2, &[("a", None)]));
        roots.push(commit(&store, 3, &[]));
        roots.push(commit(&store, 4, &[("a", Some("4"))]));
        let tree = StateTree::new(&store);
        let expected = [Some("1"), Some("2"), None, None, Some("4")];
        let check = |from: usize| {
            for (version, want) in expected.iter().enumerate().skip(from) {
                let (value, proof) = tree.get_with_proof(b"a", version as Height).unwrap();
                assert_eq!(
                    value.as_deref(),
                    want.map(str::as_bytes),
                    "version {version}"
                );
                assert!(verify(&roots[version], b"a", value.as_deref(), &proof).is_ok());
            }
            let (b, _) = tree.get_with_proof(b"b", 4).unwrap();
            assert_eq!(b.as_deref(), Some(b"1".as_slice()));
        };
        check(0);
        // Versions from 2 on need neither of a's earlier values.
        let mut batch = Batch::default();
        assert!(tree.prune(2, 1000, &mut batch).unwrap() > 0);
        store.apply(batch).unwrap();
        check(2);
        let history = |store: &MemStore| {
            store
                .scan(prefix::VALUE, &prefix_end(prefix::VALUE), usize::MAX)
                .unwrap()
                .len()
        };
        assert_eq!(history(&store), 0);
        // Deleted, and pruned past: no value, earlier value or list of it is left.
        commit(&store, 5, &[("a", None)]);
        commit(&store, 6, &[]);
        let mut batch = Batch::default();
        tree.prune(6, 1000, &mut batch).unwrap();
        store.apply(batch).unwrap();
        assert_eq!(tree.get_latest(b"a").unwrap(), None);
        assert_eq!(history(&store), 0);
        for list in [prefix::STALE_NODE, prefix::STALE_VALUE] {
            assert!(store.scan(list, &prefix_end(list), 1).unwrap().is_empty());
        }
        assert_eq!(count_entries(&store).unwrap().1, 1, "b's value alone");
    }

    #[test]
    fn empty_versions_leave_no_root_behind_once_pruned() {
        let store = MemStore::default();
        let root = commit(&store, 0, &[("a", Some("1")), ("b", Some("2"))]);
        for version in 1..=10 {
            assert_eq!(commit(&store, version, &[]), root);
        }
        let nodes = |store: &MemStore| count_entries(store).unwrap().0;
        let at_one_version = nodes(&store) - 10;
        let mut batch = Batch::default();
        StateTree::new(&store).prune(10, 1000, &mut batch).unwrap();
        store.apply(batch).unwrap();
        // The nodes of version 10 alone: its root copy and the two leaves.
        assert_eq!(nodes(&store), at_one_version);
        let tree = StateTree::new(&store);
        let (value, proof) = tree.get_with_proof(b"a", 10).unwrap();
        assert!(verify(&root, b"a", value.as_deref(), &proof).is_ok());
        assert_eq!(tree.root(10).unwrap(), root);
    }

    #[test]
    fn pruning_takes_one_list_of_each_kind_whatever_the_budget() {
        let store = MemStore::default();
        commit(&store, 0, &[("a", Some("1")), ("b", Some("1"))]);
        commit(&store, 1, &[("a", Some("2"))]);
        commit(&store, 2, &[("b", Some("2"))]);
        let history = || {
            store
                .scan(prefix::VALUE, &prefix_end(prefix::VALUE), usize::MAX)
                .unwrap()
                .len()
        };
        assert_eq!(history(), 2);
        // A budget of one entry: version 1's node list alone exceeds it, its value list still goes.
        for left in [1, 0] {
            let mut batch = Batch::default();
            StateTree::new(&store).prune(2, 1, &mut batch).unwrap();
            store.apply(batch).unwrap();
            assert_eq!(history(), left);
        }
    }
}
