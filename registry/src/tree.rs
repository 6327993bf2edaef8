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
        for ((v, hash), value) in update.node_batch.values() {
            let value_key = value_key(hash, *v);
            // The value this one replaces becomes stale from this version on.
            if let Some((old_key, _)) = self.store.last_in(&value_key_start(hash), &value_key)? {
                let old_version = &old_key[prefix::VALUE.len() + 32..];
                batch.put(
                    [prefix::STALE_VALUE, &v.to_be_bytes(), &hash.0, old_version].concat(),
                    Vec::new(),
                );
            }
            batch.put(value_key, encode(value));
        }
        for stale in &update.stale_node_index_batch {
            let key = [
                prefix::STALE_NODE,
                &stale.stale_since_version.to_be_bytes(),
                &encode(&stale.node_key),
            ]
            .concat();
            batch.put(key, Vec::new());
        }
        for (key, value) in writes {
            let latest_key = [prefix::LATEST, key.as_slice()].concat();
            match value {
                Some(v) => batch.put(latest_key, v.clone()),
                None => batch.delete(latest_key),
            }
        }
        Ok(Hash(root.0))
    }

    /// The latest value of `key`: one store read, no tree walk.
    pub fn get_latest(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.store.get(&[prefix::LATEST, key].concat())
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

    /// Adds to `batch` the deletion of at most `max_entries` nodes and values that no version at
    /// or after `oldest_kept` needs. Returns how many were scheduled.
    pub fn prune(
        &self,
        oldest_kept: Height,
        max_entries: usize,
        batch: &mut Batch,
    ) -> Result<usize> {
        let end = |p: &[u8]| [p, &(oldest_kept + 1).to_be_bytes()].concat();
        let stale_nodes =
            self.store
                .scan(prefix::STALE_NODE, &end(prefix::STALE_NODE), max_entries)?;
        for (index_key, _) in &stale_nodes {
            let node_key = &index_key[prefix::STALE_NODE.len() + 8..];
            batch.delete([prefix::NODE, node_key].concat());
            batch.delete(index_key.clone());
        }
        let room = max_entries - stale_nodes.len();
        let stale_values = self
            .store
            .scan(prefix::STALE_VALUE, &end(prefix::STALE_VALUE), room)?;
        for (index_key, _) in &stale_values {
            let rest = &index_key[prefix::STALE_VALUE.len() + 8..];
            batch.delete([prefix::VALUE, rest].concat());
            batch.delete(index_key.clone());
        }
        Ok(stale_nodes.len() + stale_values.len())
    }
}

fn value_key_start(hash: &KeyHash) -> Vec<u8> {
    [prefix::VALUE, &hash.0].concat()
}

fn value_key(hash: &KeyHash, version: Version) -> Vec<u8> {
    [prefix::VALUE, &hash.0, &version.to_be_bytes()].concat()
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

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let end = value_key(&key_hash, max_version.saturating_add(1));
        match self.0.last_in(&value_key_start(&key_hash), &end)? {
            Some((_, bytes)) => Ok(decode::<Option<OwnedValue>>(&bytes)?),
            None => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("restoring a tree from a snapshot is not supported by this store")
    }
}

/// Counts the tree's entries in the store by kind (nodes, values), for measurements.
pub fn count_entries(store: &dyn Store) -> Result<(usize, usize)> {
    let nodes = store
        .scan(prefix::NODE, &prefix_end(prefix::NODE), usize::MAX)?
        .len();
    let values = store
        .scan(prefix::VALUE, &prefix_end(prefix::VALUE), usize::MAX)?
        .len();
    Ok((nodes, values))
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
}
