//! Blocks applied but not yet durable: their writes held in memory over the store, read through
//! by the write path (the next block executes on them) and written to the store as one batch,
//! flushed, before any of them becomes the tip clients see. A crash loses only what was never
//! reported final, and the store stays at a block boundary.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock};

use sigil_core::block::Tip;
use sigil_core::state::{StateRead, ValidatorSet, keys};
use sigil_core::types::Height;

use super::{Latest, Ledger};
use crate::error::{Error, Result};
use crate::store::{Batch, Store};
use crate::tree::StateTree;

/// A store whose writes wait in memory until [`GroupStore::take`]: reads see them over `base`.
pub(super) struct GroupStore {
    base: Arc<dyn Store>,
    pending: RwLock<Pending>,
}

#[derive(Default)]
struct Pending {
    /// Each key's newest write (`None`: deleted).
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Bytes of keys and values written, overwritten ones included.
    bytes: usize,
    /// The blocks applied, oldest first, with the state keys each wrote.
    blocks: Vec<(Tip, Vec<Vec<u8>>)>,
}

impl GroupStore {
    pub(super) fn new(base: Arc<dyn Store>) -> GroupStore {
        GroupStore {
            base,
            pending: RwLock::new(Pending::default()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Pending> {
        self.pending.read().expect("group lock poisoned")
    }

    /// Records that the batch applied last completes block `tip`, which wrote `keys`.
    fn applied(&self, tip: Tip, keys: Vec<Vec<u8>>) {
        let mut pending = self.pending.write().expect("group lock poisoned");
        pending.blocks.push((tip, keys));
    }

    /// The newest block applied, if any is pending.
    fn head(&self) -> Option<Tip> {
        self.read().blocks.last().map(|(tip, _)| tip.clone())
    }

    /// Blocks pending and the bytes they wrote.
    fn size(&self) -> (usize, usize) {
        let pending = self.read();
        (pending.blocks.len(), pending.bytes)
    }

    /// Writes every pending write to `base` as one atomic batch, flushes it, and returns the
    /// blocks it completed. Readers of the group see the same state throughout (the lock is
    /// held until `base` holds the writes); if `base` fails, the pending blocks are dropped and
    /// the error returned: the store is still at the last flushed block.
    fn write_through(
        &self,
        before_visible: impl FnOnce(&[(Tip, Vec<Vec<u8>>)]),
    ) -> Result<Vec<Tip>> {
        let mut pending = self.pending.write().expect("group lock poisoned");
        let taken = std::mem::take(&mut *pending);
        if taken.blocks.is_empty() {
            return Ok(Vec::new());
        }
        before_visible(&taken.blocks);
        let mut batch = Batch::default();
        for (key, value) in taken.writes {
            match value {
                Some(value) => batch.put(key, value),
                None => batch.delete(key),
            }
        }
        self.base.apply(batch)?;
        self.base.flush()?;
        Ok(taken.blocks.into_iter().map(|(tip, _)| tip).collect())
    }
}

/// Writes of keys in `start..end`, which must not be empty.
fn in_range<'a>(
    writes: &'a BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    start: &[u8],
    end: &[u8],
) -> impl DoubleEndedIterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> {
    let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(start), Bound::Excluded(end));
    writes.range::<[u8], _>(range)
}

/// The base's entries of a scan with the pending writes of the same range laid over them.
///
/// The base scan asks `limit` plus one entry per pending write, so its first `limit` (in the
/// scan's direction) hold even after every pending delete: a pending write beyond the base's
/// last entry sorts after all of them and falls outside the `limit` taken.
fn overlaid(
    base: Vec<(Vec<u8>, Vec<u8>)>,
    overlay: Vec<(&Vec<u8>, &Option<Vec<u8>>)>,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut merged: BTreeMap<_, _> = base.into_iter().collect();
    for (key, value) in overlay {
        match value {
            Some(value) => merged.insert(key.clone(), value.clone()),
            None => merged.remove(key),
        };
    }
    merged
}

impl Store for GroupStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(value) = self.read().writes.get(key) {
            return Ok(value.clone());
        }
        self.base.get(key)
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if start >= end {
            return Ok(Vec::new());
        }
        let pending = self.read();
        let overlay: Vec<_> = in_range(&pending.writes, start, end).collect();
        let base = self
            .base
            .scan(start, end, limit.saturating_add(overlay.len()))?;
        Ok(overlaid(base, overlay).into_iter().take(limit).collect())
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if start >= end {
            return Ok(None);
        }
        let pending = self.read();
        let ours = in_range(&pending.writes, start, end)
            .rev()
            .find_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())));
        // The base's greatest key not deleted here.
        let mut below = end.to_vec();
        let theirs = loop {
            match self.base.last_in(start, &below)? {
                Some((key, _)) if pending.writes.get(&key).is_some_and(Option::is_none) => {
                    below = key;
                }
                other => break other,
            }
        };
        Ok(match (ours, theirs) {
            (Some(o), Some(t)) => Some(if o.0 >= t.0 { o } else { t }),
            (o, t) => o.or(t),
        })
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if start >= end {
            return Ok(Vec::new());
        }
        let pending = self.read();
        let overlay: Vec<_> = in_range(&pending.writes, start, end).collect();
        let base = self
            .base
            .scan_rev(start, end, limit.saturating_add(overlay.len()))?;
        Ok(overlaid(base, overlay)
            .into_iter()
            .rev()
            .take(limit)
            .collect())
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        let mut pending = self.pending.write().expect("group lock poisoned");
        for (key, value) in batch.into_ops() {
            pending.bytes += key.len() + value.as_ref().map_or(0, Vec::len);
            pending.writes.insert(key, value);
        }
        Ok(())
    }

    /// Pending writes become durable only through [`Ledger::flush_group`].
    fn flush(&self) -> Result<()> {
        Err(Error::invalid(
            "a group of blocks is flushed by the ledger, not through its store",
        ))
    }

    fn size_on_disk(&self) -> Result<u64> {
        self.base.size_on_disk()
    }
}

impl Ledger {
    /// The store the write path reads and writes: the durable store with the pending group's
    /// writes over it.
    pub(super) fn work(&self) -> &dyn Store {
        &self.group
    }

    /// The newest block applied: the tip, or beyond it the last block of a group not yet
    /// flushed. The next block executes on it; clients see only [`Ledger::tip`].
    pub fn head(&self) -> Tip {
        self.group.head().unwrap_or_else(|| self.tip())
    }

    /// State after [`Ledger::head`].
    pub(super) fn head_state(&self) -> Latest<'_> {
        Latest(StateTree::new(self.work()))
    }

    /// The validators of the block after [`Ledger::head`].
    pub fn head_validators(&self) -> Result<ValidatorSet> {
        self.head_state()
            .get_decoded(keys::VALIDATORS)?
            .ok_or_else(|| Error::corrupt("validator set", "missing from state"))
    }

    /// Blocks applied and not yet flushed, and the bytes they wrote.
    pub fn group_size(&self) -> (usize, usize) {
        self.group.size()
    }

    /// Records block `tip`, whose batch was just applied to the group, writing `keys`.
    pub(super) fn group_applied(&self, tip: Tip, keys: Vec<Vec<u8>>) {
        self.group.applied(tip, keys);
    }

    /// Makes every block applied since the last flush durable, in one batch and one flush,
    /// then final: the tip clients see moves to the newest of them. Returns whether there was
    /// any. After an error the pending blocks are gone and the tip is where it was; the caller
    /// applies them again (or stops).
    pub fn flush_group(&self) -> Result<bool> {
        let tips = self.group.write_through(|blocks| {
            // Before the state is visible: caches of answers drop what these blocks change.
            for (tip, keys) in blocks {
                self.recent_writes.record(tip.height, keys.iter());
            }
        })?;
        let Some(newest) = tips.last() else {
            return Ok(false);
        };
        self.tip.send_replace(newest.clone());
        Ok(true)
    }

    /// Heights of the group: the first and last block pending.
    pub fn group_heights(&self) -> Option<(Height, Height)> {
        let pending = self.group.read();
        Some((
            pending.blocks.first()?.0.height,
            pending.blocks.last()?.0.height,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;
    use proptest::prelude::*;

    /// Writes over a small key space: (key byte, value byte or delete).
    fn writes() -> impl Strategy<Value = Vec<(u8, Option<u8>)>> {
        prop::collection::vec((0u8..24, prop::option::of(any::<u8>())), 0..40)
    }

    fn batch(writes: &[(u8, Option<u8>)]) -> Batch {
        let mut batch = Batch::default();
        for (key, value) in writes {
            match value {
                Some(v) => batch.put(vec![b'k', *key], vec![*v]),
                None => batch.delete(vec![b'k', *key]),
            }
        }
        batch
    }

    proptest! {
        /// Reads through a group see what the store would hold with the group's writes applied.
        #[test]
        fn reads_through_a_group_match_the_writes_applied(
            flushed in writes(),
            pending in writes(),
            ranges in prop::collection::vec((0u8..26, 0u8..26, 0usize..30), 1..12),
        ) {
            let base = Arc::new(MemStore::default());
            base.apply(batch(&flushed)).unwrap();
            let group = GroupStore::new(base.clone());
            group.apply(batch(&pending)).unwrap();
            let model = MemStore::default();
            model.apply(batch(&flushed)).unwrap();
            model.apply(batch(&pending)).unwrap();
            for (a, b, limit) in ranges {
                let (a, b) = (a.min(b), a.max(b));
                let (start, end) = (vec![b'k', a], vec![b'k', b]);
                prop_assert_eq!(group.get(&start).unwrap(), model.get(&start).unwrap());
                prop_assert_eq!(
                    group.scan(&start, &end, limit).unwrap(),
                    model.scan(&start, &end, limit).unwrap()
                );
                prop_assert_eq!(
                    group.scan_rev(&start, &end, limit).unwrap(),
                    model.scan_rev(&start, &end, limit).unwrap()
                );
                prop_assert_eq!(
                    group.last_in(&start, &end).unwrap(),
                    model.last_in(&start, &end).unwrap()
                );
            }
            // The base holds none of the group's writes until they are written through.
            prop_assert_eq!(
                base.scan(b"k", b"l", usize::MAX).unwrap(),
                {
                    let only_flushed = MemStore::default();
                    only_flushed.apply(batch(&flushed)).unwrap();
                    only_flushed.scan(b"k", b"l", usize::MAX).unwrap()
                }
            );
        }
    }
}
