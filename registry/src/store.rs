//! Persistent key-value storage behind a small `Store` trait: point reads, ordered scans, one
//! atomic batch per block and a durable flush. `SledStore` is the default engine, `MemStore`
//! serves tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::RwLock;

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
    /// Applies every write of `batch` atomically.
    fn apply(&self, batch: Batch) -> Result<()>;
    /// Makes every applied batch durable before returning.
    fn flush(&self) -> Result<()>;
    /// Bytes the store takes on disk (0 for memory).
    fn size_on_disk(&self) -> Result<u64>;
}

/// How long [`SledStore::open`] waits for sled's file lock to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// sled 0.34: one tree holds everything (sled batches are atomic only within one tree).
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, with `cache_bytes` of page cache.
    ///
    /// sled releases its file lock from a background thread after the last handle is dropped,
    /// so reopening in the same process can briefly find it held: that case is retried for up
    /// to [`LOCK_WAIT`]. Another process holding the folder still fails after that wait.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<SledStore> {
        let config = sled::Config::new().path(dir).cache_capacity(cache_bytes);
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let tree = db.open_tree("sigil")?;
        Ok(SledStore { db, tree })
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tree
            .range(start..end)
            .take(limit)
            .map(|item| {
                item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(Into::into)
            })
            .collect()
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .tree
            .range(start..end)
            .next_back()
            .transpose()?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tree
            .range(start..end)
            .rev()
            .take(limit)
            .map(|item| {
                item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(Into::into)
            })
            .collect()
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        let mut sled_batch = sled::Batch::default();
        for (key, value) in batch.ops {
            match value {
                Some(v) => sled_batch.insert(key, v),
                None => sled_batch.remove(key),
            }
        }
        self.tree.apply_batch(sled_batch)?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.tree.flush()?;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}

/// An in-memory store for tests.
#[derive(Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .map
            .read()
            .expect("store lock poisoned")
            .get(key)
            .cloned())
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let map = self.map.read().expect("store lock poisoned");
        Ok(map
            .range(start.to_vec()..end.to_vec())
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let map = self.map.read().expect("store lock poisoned");
        Ok(map
            .range(start.to_vec()..end.to_vec())
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let map = self.map.read().expect("store lock poisoned");
        Ok(map
            .range(start.to_vec()..end.to_vec())
            .rev()
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        let mut map = self.map.write().expect("store lock poisoned");
        for (key, value) in batch.ops {
            match value {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(0)
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
    fn memory_and_sled_agree() {
        exercise(&MemStore::default());
        let dir = tempfile::tempdir().unwrap();
        exercise(&SledStore::open(dir.path(), 1 << 20).unwrap());
    }

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(b"ab"), b"ac".to_vec());
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
    }
}
