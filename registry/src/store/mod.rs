//! Persistent key-value storage behind a small `Store` trait: point reads, ordered scans, one
//! atomic batch per block and a durable flush. Two engines ([`Engine`]): redb (`RedbStore`, the
//! default) and sled (`SledStore`); `MemStore` serves tests.

mod engine;
mod mem;
mod redb;
mod sled;
pub mod usage;

pub use engine::{ENGINE_FILE, Engine, compact, open};
pub use mem::MemStore;
pub use redb::RedbStore;
pub use sled::SledStore;

use crate::error::Result;

/// Writes applied together or not at all.
#[derive(Debug, Default)]
pub struct Batch {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The writes, in the order they were added (`None`: a delete).
    pub fn into_ops(self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.ops
    }
}

/// An ordered key-value store.
pub trait Store: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Entries with `start <= key < end`, in key order, at most `limit` of them.
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// The entry with the greatest key in `start <= key < end`.
    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>>;
    /// Entries with `start <= key < end`, in reverse key order, at most `limit` of them.
    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut entries = Vec::new();
        let mut end = end.to_vec();
        while entries.len() < limit {
            let Some((key, value)) = self.last_in(start, &end)? else {
                break;
            };
            end.clone_from(&key);
            entries.push((key, value));
        }
        Ok(entries)
    }
    /// Applies every write of `batch` atomically: readers see all of it or none of it, and so
    /// does the store after a crash. It need not be durable before [`Store::flush`].
    fn apply(&self, batch: Batch) -> Result<()>;
    /// Makes every applied batch durable (through `kill -9` and power loss) before returning.
    fn flush(&self) -> Result<()>;
    /// Bytes the store takes on disk (0 for memory).
    fn size_on_disk(&self) -> Result<u64>;
    /// How the engine uses its file, if it can tell (redb can).
    fn space(&self) -> Result<Option<usage::Space>> {
        Ok(None)
    }
}

/// The key just past every key that starts with `prefix` (for prefix scans).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn Store) {
        let mut batch = Batch::default();
        batch.put(b"a1".to_vec(), b"x".to_vec());
        batch.put(b"a2".to_vec(), b"y".to_vec());
        batch.put(b"b1".to_vec(), b"z".to_vec());
        store.apply(batch).unwrap();
        assert_eq!(store.get(b"a2").unwrap(), Some(b"y".to_vec()));
        assert_eq!(store.scan(b"a", &prefix_end(b"a"), 10).unwrap().len(), 2);
        let newest: Vec<Vec<u8>> = store
            .scan_rev(b"a", &prefix_end(b"a"), 10)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(newest, vec![b"a2".to_vec(), b"a1".to_vec()]);
        assert_eq!(store.scan_rev(b"a", b"a2", 10).unwrap().len(), 1);
        assert_eq!(
            store.last_in(b"a", &prefix_end(b"a")).unwrap().unwrap().0,
            b"a2".to_vec()
        );
        let mut batch = Batch::default();
        batch.delete(b"a2".to_vec());
        store.apply(batch).unwrap();
        store.flush().unwrap();
        assert_eq!(store.get(b"a2").unwrap(), None);
        assert_eq!(
            store.last_in(b"a", &prefix_end(b"a")).unwrap().unwrap().0,
            b"a1".to_vec()
        );
    }

    #[test]
    fn memory_sled_and_redb_agree() {
        exercise(&MemStore::default());
        for engine in Engine::ALL {
            let dir = tempfile::tempdir().unwrap();
            exercise(open(engine, dir.path(), 1 << 20).unwrap().as_ref());
        }
    }

    #[test]
    fn a_database_opens_only_with_the_engine_that_created_it() {
        for engine in Engine::ALL {
            let dir = tempfile::tempdir().unwrap();
            let store = open(engine, dir.path(), 1 << 20).unwrap();
            let mut batch = Batch::default();
            batch.put(b"k".to_vec(), b"v".to_vec());
            store.apply(batch).unwrap();
            store.flush().unwrap();
            drop(store);
            assert_eq!(Engine::of(dir.path()).unwrap(), Some(engine));
            let other = Engine::ALL.into_iter().find(|e| *e != engine).unwrap();
            let refused = open(other, dir.path(), 1 << 20)
                .err()
                .expect("other engine refused");
            let message = refused.to_string();
            assert!(
                matches!(refused, crate::error::Error::WrongEngine { .. }),
                "{message}"
            );
            assert!(
                message.contains(&format!("store = \"{engine}\"")),
                "{message}"
            );
            let reopened = open(engine, dir.path(), 1 << 20).unwrap();
            assert_eq!(reopened.get(b"k").unwrap(), Some(b"v".to_vec()));
        }
    }

    #[test]
    fn a_sled_folder_without_an_engine_file_is_sled() {
        let dir = tempfile::tempdir().unwrap();
        drop(SledStore::open(dir.path(), 1 << 20).unwrap());
        assert_eq!(Engine::of(dir.path()).unwrap(), Some(Engine::Sled));
        assert!(open(Engine::Redb, dir.path(), 1 << 20).is_err());
        assert!(!dir.path().join(redb::FILE).exists());
    }

    #[test]
    fn engines_are_named_as_the_config_spells_them() {
        assert_eq!("redb".parse::<Engine>(), Ok(Engine::Redb));
        assert_eq!("sled".parse::<Engine>(), Ok(Engine::Sled));
        assert!("rocksdb".parse::<Engine>().unwrap_err().contains("sled"));
        assert_eq!(Engine::default(), Engine::Redb);
    }

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(b"ab"), b"ac".to_vec());
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
    }
}
