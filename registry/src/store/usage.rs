//! What a store holds, by key prefix (what it is: blocks, the state tree, indexes), and how
//! much of its file is used: for `sigild store-usage` and the disk benchmarks.

use super::{Store, prefix_end};
use crate::error::Result;
use crate::prefixes;

/// The state tree's prefixes.
const TREE: [&[u8]; 5] = [
    prefixes::tree::NODE,
    prefixes::tree::VALUE,
    prefixes::tree::STALE_NODE,
    prefixes::tree::STALE_VALUE,
    prefixes::tree::LATEST,
];
/// Entries read at once while counting a prefix (bounds the memory a count takes).
const PAGE: usize = 10_000;

/// The kinds of data the store's prefixes hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Block bodies and headers with their commits: what a fresh node syncs.
    Blocks,
    /// The state tree: nodes, values at the tip, earlier values, stale lists.
    Tree,
    /// Everything else the ledger keeps to answer queries: receipts, histories, snapshots,
    /// evidence, the tip and metadata.
    Indexes,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Blocks, Part::Tree, Part::Indexes];

    pub fn name(self) -> &'static str {
        match self {
            Part::Blocks => "blocks",
            Part::Tree => "tree",
            Part::Indexes => "indexes",
        }
    }

    /// The part a store prefix belongs to.
    pub fn of(prefix: &[u8]) -> Part {
        if prefix == prefixes::ledger::BLOCK || prefix == prefixes::ledger::HEADER {
            Part::Blocks
        } else if TREE.contains(&prefix) {
            Part::Tree
        } else {
            Part::Indexes
        }
    }
}

/// The live entries under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixUsage {
    /// What the prefix holds (from [`prefixes::ALL`]).
    pub what: &'static str,
    pub part: Part,
    pub entries: u64,
    /// Bytes of keys and values.
    pub bytes: u64,
}

/// How an engine uses its file, when it can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// The file's length.
    pub file: u64,
    /// Bytes of the pages in use (the rest of the file is free pages, reused by later writes
    /// and given back to the file system only by compaction).
    pub allocated: u64,
    /// Bytes of keys and values stored in the engine's leaves.
    pub stored: u64,
    /// Bytes of the engine's own structure (branches, headers, allocator state).
    pub metadata: u64,
}

impl Space {
    /// Bytes of free pages in the file.
    pub fn free(&self) -> u64 {
        self.file.saturating_sub(self.allocated)
    }

    /// Bytes of pages in use that hold neither data nor structure (pages partly filled).
    pub fn slack(&self) -> u64 {
        self.allocated.saturating_sub(self.stored + self.metadata)
    }
}

/// Counts the live entries under every prefix of [`prefixes::ALL`] that holds any, a page of
/// entries at a time.
pub fn by_prefix(store: &dyn Store) -> Result<Vec<PrefixUsage>> {
    let mut usage = Vec::new();
    for &(what, prefix) in prefixes::ALL {
        let end = prefix_end(prefix);
        let mut start = prefix.to_vec();
        let (mut entries, mut bytes) = (0u64, 0u64);
        loop {
            let page = store.scan(&start, &end, PAGE)?;
            entries += page.len() as u64;
            bytes += page
                .iter()
                .map(|(k, v)| (k.len() + v.len()) as u64)
                .sum::<u64>();
            match page.last() {
                Some((last, _)) if page.len() == PAGE => {
                    start.clone_from(last);
                    start.push(0);
                }
                _ => break,
            }
        }
        if entries > 0 {
            usage.push(PrefixUsage {
                what,
                part: Part::of(prefix),
                entries,
                bytes,
            });
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, MemStore};

    #[test]
    fn entries_are_counted_by_prefix_across_pages() {
        let store = MemStore::default();
        let mut batch = Batch::default();
        for i in 0..(PAGE as u32 + 5) {
            let mut key = prefixes::tree::NODE.to_vec();
            key.extend_from_slice(&i.to_be_bytes());
            batch.put(key, vec![0; 10]);
        }
        let mut block = prefixes::ledger::BLOCK.to_vec();
        block.extend_from_slice(&1u64.to_be_bytes());
        batch.put(block, vec![0; 100]);
        store.apply(batch).unwrap();

        let usage = by_prefix(&store).unwrap();
        assert_eq!(usage.len(), 2, "{usage:?}");
        let nodes = usage.iter().find(|u| u.what == "tree node").unwrap();
        assert_eq!(nodes.entries, PAGE as u64 + 5);
        assert_eq!(nodes.bytes, (PAGE as u64 + 5) * (2 + 4 + 10));
        assert_eq!(nodes.part, Part::Tree);
        let blocks = usage.iter().find(|u| u.what == "block").unwrap();
        assert_eq!(
            (blocks.entries, blocks.bytes, blocks.part),
            (1, 110, Part::Blocks)
        );
        assert_eq!(Part::of(prefixes::ledger::RECEIPT), Part::Indexes);
    }
}
