//! The state keys written by the last final blocks, kept in memory for readers that cache what
//! they derive from state (the DNS resolver) and must drop what a block changed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sigil_core::read::WrittenKeys;
use sigil_core::types::Height;

/// Bytes of keys kept (the oldest blocks' are dropped first): a reader that falls further behind
/// is told the changes are unknown and starts over.
const RECENT_WRITES_BYTES: usize = 4 * 1024 * 1024;

/// Every block after `base` up to the newest recorded, with the keys it wrote.
pub(super) struct RecentWrites {
    inner: Mutex<Ring>,
    /// The newest block recorded, read without the lock.
    newest: AtomicU64,
}

struct Ring {
    base: Height,
    blocks: VecDeque<WrittenKeys>,
    bytes: usize,
}

impl RecentWrites {
    /// Nothing recorded yet; blocks after `tip` will be.
    pub(super) fn new(tip: Height) -> RecentWrites {
        RecentWrites {
            inner: Mutex::new(Ring {
                base: tip,
                blocks: VecDeque::new(),
                bytes: 0,
            }),
            newest: AtomicU64::new(tip),
        }
    }

    /// The newest block recorded (the tip when none was).
    pub(super) fn newest(&self) -> Height {
        self.newest.load(Ordering::Acquire)
    }

    /// Records the keys block `height` writes (the block after the newest recorded), before
    /// they are stored: a reader that can see the new state also sees them here.
    pub(super) fn record<'k>(&self, height: Height, keys: impl Iterator<Item = &'k Vec<u8>>) {
        let keys: Arc<[Vec<u8>]> = keys.cloned().collect();
        let size = keys.iter().map(|k| k.len() + 24).sum::<usize>();
        let mut ring = self.inner.lock().expect("recent writes lock poisoned");
        ring.blocks.push_back(WrittenKeys { height, keys });
        ring.bytes += size;
        while ring.bytes > RECENT_WRITES_BYTES {
            let Some(oldest) = ring.blocks.pop_front() else {
                break;
            };
            ring.bytes -= oldest.keys.iter().map(|k| k.len() + 24).sum::<usize>();
            ring.base = oldest.height;
        }
        self.newest.fetch_max(height, Ordering::AcqRel);
    }

    /// The keys written by every block after `height`, oldest first; `None` when some of those
    /// blocks are no longer kept.
    pub(super) fn since(&self, height: Height) -> Option<Vec<WrittenKeys>> {
        let ring = self.inner.lock().expect("recent writes lock poisoned");
        if height < ring.base {
            return None;
        }
        Some(
            ring.blocks
                .iter()
                .filter(|b| b.height > height)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_block_after_its_base_and_forgets_the_oldest_first() {
        let recent = RecentWrites::new(10);
        assert_eq!(recent.since(10).map(|b| b.len()), Some(0));
        assert!(
            recent.since(9).is_none(),
            "block 10 itself was never recorded"
        );
        recent.record(11, [b"name/a.sigil".to_vec()].iter());
        recent.record(12, [b"name/b.sigil".to_vec()].iter());
        assert_eq!(recent.newest(), 12);
        let after_10 = recent.since(10).unwrap();
        assert_eq!(
            after_10.iter().map(|b| b.height).collect::<Vec<_>>(),
            [11, 12]
        );
        assert_eq!(&*after_10[1].keys, [b"name/b.sigil".to_vec()]);
        assert_eq!(recent.since(12).unwrap().len(), 0);
        // A block larger than the whole budget pushes everything older out.
        let big: Vec<Vec<u8>> = (0..RECENT_WRITES_BYTES / 24)
            .map(|i| i.to_be_bytes().to_vec())
            .collect();
        recent.record(13, big.iter());
        assert!(recent.since(11).is_none());
        assert!(recent.since(12).is_none());
        assert_eq!(recent.since(13).map(|b| b.len()), Some(0));
    }
}
