//! What `sigil watch` keeps between runs in `<keystore>/watch/<chain>.json` (written atomically
//! after each block, under a lock so that one watch at a time follows a chain per keystore):
//! the last height whose events were printed, each item's last proven state, recent block
//! times and the events `--exec` has not taken yet.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sigil_core::state::{
    CertEntry, CompanyEntry, HolderEntry, IdentityEntry, NameEntry, ValidatorSet,
};
use sigil_core::types::{Hash, Height};

use super::event::Event;
use crate::keystore::{Keystore, write_private_replace};

/// Block times kept for date estimates.
const MAX_TIMES: usize = 64;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WatchState {
    pub chain_id: String,
    /// The last height whose events were all printed.
    pub height: Option<Height>,
    /// Each watched item's last proven state, by the item's key (`name:example.sigil`...).
    pub items: BTreeMap<String, ItemState>,
    /// Recent (height, time) of verified headers, oldest first.
    pub times: Vec<(Height, u64)>,
    /// Events `--exec` has not yet taken, oldest first.
    pub undelivered: Vec<Event>,
    /// The company id each `--company NAME` was found to list, kept when the name changes
    /// hands.
    #[serde(default)]
    pub companies: BTreeMap<String, String>,
    /// The validator set that signed the last height seen.
    #[serde(default)]
    pub validators: Option<ValidatorSet>,
}

impl WatchState {
    /// Remembers a verified header's time.
    pub fn saw(&mut self, height: Height, time_ms: u64) {
        if self.times.last().is_some_and(|(h, _)| *h >= height) {
            self.times.clear();
        }
        self.times.push((height, time_ms));
        if self.times.len() > MAX_TIMES {
            self.times.remove(0);
        }
    }

    /// The mean time between the recent blocks, if at least two were seen.
    pub fn mean_interval_ms(&self) -> Option<u64> {
        let (first, last) = (self.times.first()?, self.times.last()?);
        let blocks = last.0.checked_sub(first.0).filter(|b| *b > 0)?;
        Some(last.1.saturating_sub(first.1) / blocks)
    }
}

/// An item's state at the height it was last proven.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemState {
    pub height: Height,
    pub snap: Snap,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Snap {
    Name(NameSnap),
    Identity { entry: Option<IdentityEntry> },
    Company { entry: Option<CompanyEntry> },
    Holder(HolderSnap),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameSnap {
    pub entry: Option<NameEntry>,
    /// The name's registered, unrevoked certificates.
    pub certs: Vec<Hash>,
    /// The identity its owner bound to it.
    pub binding: Option<String>,
    /// The expiry height already warned of, and the one already reported passed.
    pub warned: Option<Height>,
    pub expired: Option<Height>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderSnap {
    pub entry: Option<HolderEntry>,
    /// Shares held, by class.
    pub balances: BTreeMap<String, u64>,
}

/// The certificate entries proven at one height, by hash.
pub type Certs = BTreeMap<Hash, Option<CertEntry>>;

/// The state file, locked while this process runs.
pub struct StateFile {
    path: PathBuf,
    _lock: File,
    pub state: WatchState,
}

impl StateFile {
    /// Opens (or starts) the state of chain `chain_id`, whose id is already checked to name a
    /// file; refuses when another watch holds it.
    pub fn open(keystore: &Keystore, chain_id: &str) -> anyhow::Result<StateFile> {
        let dir = keystore.private_dir(Some("watch"))?;
        let path = dir.join(format!("{chain_id}.json"));
        let lock_path = dir.join(format!("{chain_id}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "another `sigil watch` follows chain `{chain_id}` with this keystore (it holds {}); stop it, or give this one its own --keystore",
                lock_path.display()
            ),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
            }
        }
        let state = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is damaged; delete it to watch afresh from the chain's tip",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => WatchState {
                chain_id: chain_id.to_string(),
                ..WatchState::default()
            },
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(StateFile {
            path,
            _lock: lock,
            state,
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Replaces the file with the state as it is, atomically.
    pub fn save(&self) -> anyhow::Result<()> {
        let json = serde_json::to_vec(&self.state).expect("the watch state serializes");
        write_private_replace(&self.path, &json)
    }
}
