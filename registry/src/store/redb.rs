//! The redb engine: one table in one file, one write transaction per `apply`, made durable by
//! `flush`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use super::usage::Space;
use super::{Batch, Store};
use crate::error::{Error, Result};

/// The file of the database inside the store's folder.
pub const FILE: &str = "sigil.redb";

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sigil");

/// A file at least this long is compacted when opened if more than half of it is free: redb
/// reuses freed pages but never gives them back to the file system, so after an import or a
/// burst of blocks the file stays at its peak while pruning frees most of it.
const COMPACT_MIN_BYTES: u64 = 64 * 1024 * 1024;

/// redb: `apply` commits one write transaction without syncing (`Durability::None`: visible to
/// readers at once, durable only after the next durable commit); `flush` commits an empty
/// transaction with `Durability::Immediate`, which writes and fsyncs every commit before it.
/// Durable commits save the allocator state (quick repair), so a restart after a crash does
/// not walk the whole file.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
    /// Whether a batch was committed since the last durable commit.
    dirty: AtomicBool,
}

fn db_error(e: impl Into<redb::Error>) -> Error {
    Error::Redb(e.into())
}

impl RedbStore {
    /// Opens (or creates) the store in the folder `dir`, with `cache_bytes` of page cache.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<RedbStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let db = Database::builder()
            .set_cache_size(usize::try_from(cache_bytes).unwrap_or(usize::MAX))
            .create(&path)
            .map_err(db_error)?;
        let store = RedbStore {
            db,
            path,
            dirty: AtomicBool::new(false),
        };
        // The table exists from the start, so that reads never meet its absence.
        let tx = store.begin(Durability::Immediate)?;
        tx.open_table(TABLE).map_err(db_error)?;
        tx.commit().map_err(db_error)?;
        Ok(store)
    }

    fn begin(&self, durability: Durability) -> Result<redb::WriteTransaction> {
        let mut tx = self.db.begin_write().map_err(db_error)?;
        tx.set_durability(durability).map_err(db_error)?;
        if matches!(durability, Durability::Immediate) {
            tx.set_quick_repair(true);
        }
        Ok(tx)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadOnlyTable<&[u8], &[u8]>) -> Result<T>,
    ) -> Result<T> {
        let tx = self.db.begin_read().map_err(db_error)?;
        let table = tx.open_table(TABLE).map_err(db_error)?;
        f(&table)
    }

    /// The entries with `start <= key < end`, forwards or backwards, at most `limit` of them.
    fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        self.read(|table| {
            let range = table.range::<&[u8]>(start..end).map_err(db_error)?;
            let owned = |item: std::result::Result<_, redb::StorageError>| {
                let (k, v): (redb::AccessGuard<&[u8]>, redb::AccessGuard<&[u8]>) =
                    item.map_err(db_error)?;
                Ok((k.value().to_vec(), v.value().to_vec()))
            };
            if reverse {
                range.rev().take(limit).map(owned).collect()
            } else {
                range.take(limit).map(owned).collect()
            }
        })
    }
}

/// Compacts the database in the folder `dir`, if there is one, when its file is at least
/// [`COMPACT_MIN_BYTES`] long and more than half of it is free pages. Returns the file's length
/// before and after, if it compacted. Needs the database to itself (before the node opens it).
pub fn compact_if_mostly_free(dir: &Path) -> Result<Option<(u64, u64)>> {
    compact_if_free_above(dir, COMPACT_MIN_BYTES)
}

fn compact_if_free_above(dir: &Path, min_bytes: u64) -> Result<Option<(u64, u64)>> {
    let path = dir.join(FILE);
    let before = match std::fs::metadata(&path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if before < min_bytes {
        return Ok(None);
    }
    let mut db = Database::open(&path).map_err(db_error)?;
    let space = space(&db, before)?;
    if space.free().saturating_mul(2) <= before {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    tracing::info!(
        file_bytes = before,
        free_bytes = space.free(),
        "compacting the database: more than half of its file is free"
    );
    while db.compact().map_err(db_error)? {}
    drop(db);
    let after = std::fs::metadata(&path)?.len();
    tracing::info!(
        file_bytes = after,
        was = before,
        seconds = started.elapsed().as_secs_f64(),
        "compacted the database"
    );
    Ok(Some((before, after)))
}

/// How the database uses its file of `file` bytes.
fn space(db: &Database, file: u64) -> Result<Space> {
    let tx = db.begin_write().map_err(db_error)?;
    let stats = tx.stats().map_err(db_error)?;
    tx.abort().map_err(db_error)?;
    Ok(Space {
        file,
        allocated: stats.allocated_pages() * stats.page_size() as u64,
        stored: stats.stored_bytes(),
        metadata: stats.metadata_bytes(),
    })
}

impl Store for RedbStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.read(|table| {
            Ok(table
                .get(key)
                .map_err(db_error)?
                .map(|v| v.value().to_vec()))
        })
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.range(start, end, limit, false)
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self.range(start, end, 1, true)?.pop())
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.range(start, end, limit, true)
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        let tx = self.begin(Durability::None)?;
        {
            let mut table = tx.open_table(TABLE).map_err(db_error)?;
            for (key, value) in &batch.ops {
                match value {
                    Some(v) => drop(
                        table
                            .insert(key.as_slice(), v.as_slice())
                            .map_err(db_error)?,
                    ),
                    None => drop(table.remove(key.as_slice()).map_err(db_error)?),
                }
            }
        }
        // Dropping an uncommitted transaction on an error above aborts it: nothing is applied.
        tx.commit().map_err(db_error)?;
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        if self.dirty.swap(false, Ordering::AcqRel) {
            let committed = self
                .begin(Durability::Immediate)
                .and_then(|tx| tx.commit().map_err(db_error));
            if committed.is_err() {
                self.dirty.store(true, Ordering::Release);
            }
            committed?;
        }
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(std::fs::metadata(&self.path)?.len())
    }

    fn space(&self) -> Result<Option<Space>> {
        space(&self.db, self.size_on_disk()?).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(store: &RedbStore, keys: std::ops::Range<u32>, delete: bool) {
        let mut batch = Batch::default();
        for i in keys {
            let key = i.to_be_bytes().to_vec();
            if delete {
                batch.delete(key);
            } else {
                batch.put(key, vec![7; 1000]);
            }
        }
        store.apply(batch).unwrap();
        store.flush().unwrap();
    }

    #[test]
    fn a_mostly_free_file_is_compacted_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path(), 1 << 20).unwrap();
        write(&store, 0..4000, false);
        let full = store.size_on_disk().unwrap();
        // Nothing is free yet: no compaction.
        drop(store);
        assert_eq!(compact_if_free_above(dir.path(), 1 << 20).unwrap(), None);

        let store = RedbStore::open(dir.path(), 1 << 20).unwrap();
        write(&store, 100..4000, true);
        let space = store.space().unwrap().unwrap();
        assert_eq!(space.file, full, "redb keeps its file at its peak");
        assert!(space.free() * 2 > space.file, "{space:?}");
        drop(store);
        // Below the size bound nothing is done; above it the file shrinks.
        assert_eq!(compact_if_free_above(dir.path(), full + 1).unwrap(), None);
        let (before, after) = compact_if_free_above(dir.path(), 1 << 20)
            .unwrap()
            .expect("compacted");
        assert!(
            before > full / 2,
            "{before} of {full} bytes before compacting"
        );
        assert!(after * 4 < before, "{after} of {before} bytes");

        let store = RedbStore::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            store.get(&99u32.to_be_bytes()).unwrap(),
            Some(vec![7; 1000])
        );
        assert_eq!(store.get(&100u32.to_be_bytes()).unwrap(), None);
        assert_eq!(store.scan(&[], &[0xff], usize::MAX).unwrap().len(), 100);
    }
}
