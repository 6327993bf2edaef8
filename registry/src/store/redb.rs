//! The redb engine: one table in one file, one write transaction per `apply`, made durable by
//! `flush`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use super::{Batch, Store};
use crate::error::{Error, Result};

/// The file of the database inside the store's folder.
pub const FILE: &str = "sigil.redb";

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sigil");

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
}
