//! Proven state at one verified header: each state key read so far with its proven value or
//! proven absence, and a per-question reader over it that notes the keys it lacks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use sigil_core::block::{Commit, Header};
use sigil_core::read::{NameReader, read_active_certs, read_bound_identity, read_name_entry};
use sigil_core::state::{CertEntry, IdentityEntry, NameEntry, StateRead, ValidatorSet};
use sigil_core::types::Height;

use crate::limits::MAX_SNAPSHOT_KEYS;

/// Each proven key's value (`None`: proven absent).
type Proven = HashMap<Vec<u8>, Option<Vec<u8>>>;

/// What was proven at one header: only values whose proof verified against it go in.
#[derive(Debug)]
pub struct Snapshot {
    pub header: Header,
    pub commit: Commit,
    /// The validator set whose commit finalizes the header: every proof at this header must
    /// carry exactly this set.
    pub signed_by: ValidatorSet,
    /// Shared with the snapshots before it whose headers have the same state root: the same
    /// root is the same tree, so a value proven against one is proven against all.
    proven: Arc<RwLock<Proven>>,
    /// The height of the oldest header in the unbroken line of adopted headers that led here
    /// with this header's state root: the state has not changed since.
    root_since: Height,
}

impl Snapshot {
    /// An empty snapshot at a header whose commit the caller verified.
    pub fn new(header: Header, commit: Commit, signed_by: ValidatorSet) -> Snapshot {
        Snapshot {
            root_since: header.height,
            header,
            commit,
            signed_by,
            proven: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// The snapshot at `header`, a newer verified header than this one's. When its state
    /// root is this one's, the state did not change between them (the same root is the same
    /// tree): what was proven here is kept, and the answers computed from it still hold.
    /// Otherwise it starts empty.
    pub fn next(&self, header: Header, commit: Commit, signed_by: ValidatorSet) -> Snapshot {
        if header.state_root != self.header.state_root || header.height <= self.height() {
            return Snapshot::new(header, commit, signed_by);
        }
        Snapshot {
            header,
            commit,
            signed_by,
            proven: self.proven.clone(),
            root_since: self.root_since,
        }
    }

    /// Whether the state at `height` (a header adopted before this one, or this one) is this
    /// snapshot's: nothing was written since.
    pub fn unchanged_since(&self, height: Height) -> bool {
        (self.root_since..=self.height()).contains(&height)
    }

    pub fn height(&self) -> Height {
        self.header.height
    }

    /// The proven value of `key` (`Some(None)`: proven absent); `None` when not proven yet.
    pub fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.proven
            .read()
            .expect("snapshot lock poisoned")
            .get(key)
            .cloned()
    }

    /// Keeps `value` as proven for `key` at this snapshot's header. The caller verified the
    /// proof against exactly this header. Past [`MAX_SNAPSHOT_KEYS`] the snapshot starts over
    /// (what it forgets is fetched again when asked).
    pub fn insert(&self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let mut proven = self.proven.write().expect("snapshot lock poisoned");
        if proven.len() >= MAX_SNAPSHOT_KEYS && !proven.contains_key(&key) {
            proven.clear();
        }
        proven.insert(key, value);
    }

    pub fn len(&self) -> usize {
        self.proven.read().expect("snapshot lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One attempt at an answer over a snapshot: a key the snapshot lacks reads as absent and is
/// noted, so one pass finds every key the answer needs that does not depend on a missing one;
/// an answer computed while anything was missing is thrown away.
pub struct Round {
    snapshot: Arc<Snapshot>,
    tlds: Arc<[String]>,
    missing: Mutex<Vec<Vec<u8>>>,
}

impl Round {
    pub fn new(snapshot: Arc<Snapshot>, tlds: Arc<[String]>) -> Round {
        Round {
            snapshot,
            tlds,
            missing: Mutex::new(Vec::new()),
        }
    }

    /// The keys read and not proven, each once, in the order first read.
    pub fn missing(&self) -> Vec<Vec<u8>> {
        self.missing.lock().expect("round lock poisoned").clone()
    }
}

impl StateRead for Round {
    fn get(&self, key: &[u8]) -> sigil_core::Result<Option<Vec<u8>>> {
        match self.snapshot.get(key) {
            Some(value) => Ok(value),
            None => {
                let mut missing = self.missing.lock().expect("round lock poisoned");
                if !missing.iter().any(|k| k == key) {
                    missing.push(key.to_vec());
                }
                Ok(None)
            }
        }
    }
}

impl NameReader for Round {
    fn tip_height(&self) -> Height {
        self.snapshot.height()
    }

    fn tlds(&self) -> &[String] {
        &self.tlds
    }

    fn name_entry(&self, name: &str) -> sigil_core::Result<Option<NameEntry>> {
        read_name_entry(self, name)
    }

    fn active_certs(&self, name: &str) -> sigil_core::Result<Vec<CertEntry>> {
        read_active_certs(self, name)
    }

    fn bound_identity(&self, name: &str) -> sigil_core::Result<Option<IdentityEntry>> {
        read_bound_identity(self, &self.tlds, name)
    }
}
