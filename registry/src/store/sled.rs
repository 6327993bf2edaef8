//! The sled 0.34 engine: one tree, one atomic batch per `apply`, and a flush that ends in fsync.

use std::fs::File;
use std::path::Path;

use super::{Batch, Store};
use crate::error::Result;

/// How long [`SledStore::open`] waits for sled's file lock to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// sled 0.34: one tree holds everything (sled batches are atomic only within one tree).
///
/// sled's own `flush` writes its log with `sync_file_range` on Linux, which neither writes the
/// file's metadata (the size of a log that grew) nor flushes the drive's cache, and it never
/// syncs the files of large values (`blobs/`): enough for `kill -9`, not for power loss. So
/// [`Store::flush`] then calls `fdatasync` on the log and on the blob files and folder itself.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// sled's log file (`<dir>/db`), opened again to sync it: fsync acts on the file, not on
    /// the descriptor.
    log: File,
    blobs: std::path::PathBuf,
    /// Blob files already synced (sled names them by increasing log sequence number).
    synced_blobs: std::sync::Mutex<std::collections::BTreeSet<u64>>,
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
        let log = File::open(dir.join("db"))?;
        let blobs = dir.join("blobs");
        let synced_blobs = Default::default();
        Ok(SledStore {
            db,
            tree,
            log,
            blobs,
            synced_blobs,
        })
    }

    /// fdatasync on the blob files written since the last flush, and on their folder if any.
    fn sync_blobs(&self) -> Result<()> {
        let mut synced = self.synced_blobs.lock().expect("blob set lock poisoned");
        let listing = match std::fs::read_dir(&self.blobs) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let present: std::collections::BTreeSet<u64> = listing
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        let mut new = false;
        for lsn in present.difference(&synced) {
            // A blob removed by sled's cleanup since the listing needs no syncing.
            match File::open(self.blobs.join(lsn.to_string())) {
                Ok(file) => file.sync_data()?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            new = true;
        }
        if new {
            File::open(&self.blobs)?.sync_all()?;
        }
        *synced = present;
        Ok(())
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
        self.sync_blobs()?;
        self.log.sync_data()?;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}
