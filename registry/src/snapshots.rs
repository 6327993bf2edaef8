//! Snapshots of each company's register beside its log, written with the block that makes them
//! due, so a cap table at any height costs one snapshot and a replay of fewer events than
//! `max(REGISTER_SNAPSHOT_EVENTS, holders)`, whatever the length of the company's history.
//!
//! A company's snapshot is due at the end of a block once its log has grown since the last
//! one by at least [`REGISTER_SNAPSHOT_EVENTS`] and by at least the number of holders that
//! snapshot held: the work of writing snapshots stays proportional to the log, and the replay
//! behind any height stays proportional to the register.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::error::{Error, Result};
use crate::store::{Batch, Store, prefix_end};
use sigil_core::captable::{CapTable, Register};
use sigil_core::limits::REGISTER_SNAPSHOT_EVENTS;
use sigil_core::state::{CompanyEvent, IndexEntry, index, register_log_prefix};
use sigil_core::types::{Height, decode, encode};

// Snapshots: `cP`, company, 0, height (8 bytes, big-endian) → `Snapshot`; per company,
// `cQ`, company → `Progress` since its last snapshot.
use crate::prefixes::{SNAPSHOT, SNAPSHOT_PROGRESS as PROGRESS};

/// A company's register at the end of a block.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
struct Snapshot {
    height: Height,
    register: Option<Register>,
}

/// How far a company's log has grown since its last snapshot.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
struct Progress {
    last_snapshot: Option<Height>,
    events_since: u64,
    holders_at_snapshot: u64,
}

impl Progress {
    fn due(&self) -> bool {
        self.events_since >= REGISTER_SNAPSHOT_EVENTS.max(self.holders_at_snapshot)
    }

    fn snapshot_taken(&mut self, height: Height, register: &Option<Register>) {
        *self = Progress {
            last_snapshot: Some(height),
            events_since: 0,
            holders_at_snapshot: register.as_ref().map_or(0, |r| r.holders.len() as u64),
        };
    }
}

fn snapshot_prefix(company: &str) -> Vec<u8> {
    [SNAPSHOT, company.as_bytes(), &[0]].concat()
}

fn snapshot_key(company: &str, height: Height) -> Vec<u8> {
    [snapshot_prefix(company), height.to_be_bytes().to_vec()].concat()
}

fn progress_key(company: &str) -> Vec<u8> {
    [PROGRESS, company.as_bytes()].concat()
}

/// The first key under `prefix` (followed by a big-endian height) past every height `<= h`.
fn past_height(prefix: &[u8], h: Height) -> Vec<u8> {
    match h.checked_add(1) {
        Some(next) => [prefix, &next.to_be_bytes()].concat(),
        None => prefix_end(prefix),
    }
}

/// The events of `company`'s log with `after < height <= to` (`after` `None`: from the start).
fn events_between(
    store: &dyn Store,
    company: &str,
    after: Option<Height>,
    to: Height,
) -> Result<Vec<CompanyEvent>> {
    let prefix = register_log_prefix(company);
    let start = match after {
        Some(h) => past_height(&prefix, h),
        None => prefix.clone(),
    };
    let end = past_height(&prefix, to);
    if start >= end {
        return Ok(Vec::new());
    }
    store
        .scan(&start, &end, usize::MAX)?
        .into_iter()
        .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt("register log", e)))
        .collect()
}

fn read_snapshot(store: &dyn Store, key: &[u8]) -> Result<Option<Register>> {
    match store.get(key)? {
        Some(bytes) => {
            let snapshot: Snapshot =
                decode(&bytes).map_err(|e| Error::corrupt("register snapshot", e))?;
            Ok(snapshot.register)
        }
        None => Err(Error::corrupt(
            "register snapshot",
            "listed as taken but missing",
        )),
    }
}

/// The register of `company` at the end of block `height`: the latest snapshot at or before
/// it, then the log after it. `None` if the company did not exist then.
pub fn cap_table(store: &dyn Store, company: &str, height: Height) -> Result<Option<CapTable>> {
    let prefix = snapshot_prefix(company);
    let latest = store.last_in(&prefix, &past_height(&prefix, height))?;
    let (mut register, after) = match latest {
        Some((_, bytes)) => {
            let snapshot: Snapshot =
                decode(&bytes).map_err(|e| Error::corrupt("register snapshot", e))?;
            (snapshot.register, Some(snapshot.height))
        }
        None => (None, None),
    };
    for event in events_between(store, company, after, height)? {
        Register::apply(&mut register, &event);
    }
    Ok(register.map(|r| r.table(height)))
}

/// Adds to `batch` the snapshots and progress of every company whose register block `height`
/// changes (its register log entries are among `entries`, the block's index entries, which
/// are not in the store yet).
pub fn index_block(
    store: &dyn Store,
    height: Height,
    entries: &[IndexEntry],
    batch: &mut Batch,
) -> Result<()> {
    let mut by_company: BTreeMap<String, Vec<CompanyEvent>> = BTreeMap::new();
    for (key, value) in entries {
        if key.starts_with(index::REGISTER_LOG) {
            let event: CompanyEvent =
                decode(value).map_err(|e| Error::corrupt("register log", e))?;
            by_company
                .entry(event.company.clone())
                .or_default()
                .push(event);
        }
    }
    for (company, events) in by_company {
        let mut progress: Progress = match store.get(&progress_key(&company))? {
            Some(bytes) => decode(&bytes).map_err(|e| Error::corrupt("register progress", e))?,
            None => Progress::default(),
        };
        progress.events_since += events.len() as u64;
        if progress.due() {
            let mut register = match progress.last_snapshot {
                Some(h) => read_snapshot(store, &snapshot_key(&company, h))?,
                None => None,
            };
            let stored = events_between(
                store,
                &company,
                progress.last_snapshot,
                height.saturating_sub(1),
            )?;
            for event in stored.iter().chain(&events) {
                Register::apply(&mut register, event);
            }
            batch.put(
                snapshot_key(&company, height),
                encode(&Snapshot {
                    height,
                    register: register.clone(),
                }),
            );
            progress.snapshot_taken(height, &register);
        }
        batch.put(progress_key(&company), encode(&progress));
    }
    Ok(())
}
