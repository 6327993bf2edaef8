//! Narrow read interfaces over finalized state, for readers that must not know about storage
//! (the resolver, certificate checks).

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::name::{Placement, place};
use crate::state::{CertEntry, IdentityEntry, NameEntry, StateRead, active_certs, keys};
use crate::types::Height;

/// Finalized names, as the DNS resolver sees them.
pub trait NameReader: Send + Sync + 'static {
    /// Height of the last final block.
    fn tip_height(&self) -> Height;
    /// The chain's top-level domains, lowercase, without dots (e.g. `["sigil"]`).
    fn tlds(&self) -> &[String];
    /// The entry of a registered name (normalized, e.g. `example.sigil`), expired or not.
    fn name_entry(&self, name: &str) -> Result<Option<NameEntry>>;
    /// The certificates bound to a registered name and not revoked (for TLSA), in order of
    /// registration; whether each still speaks for the name is `CertEntry::standing`.
    fn active_certs(&self, name: &str) -> Result<Vec<CertEntry>>;
    /// The identity bound to `name` (a registered name or a host below it), revoked or not.
    fn bound_identity(&self, name: &str) -> Result<Option<IdentityEntry>>;
    /// The state keys written by each block after `height`, oldest first, for a reader that
    /// caches answers; `None` when they are not known (then anything may have changed). A
    /// block's keys are listed before its state can be read, so possibly before it is the tip.
    fn keys_written_since(&self, height: Height) -> Option<Vec<WrittenKeys>> {
        let _ = height;
        None
    }
    /// Up to `limit` names that are or ever were registered (expired or not), in name order,
    /// starting after `after` (from the first when empty), for a reader that indexes them;
    /// `None` when they cannot be listed.
    fn registered_names(&self, after: &str, limit: usize) -> Result<Option<Vec<String>>> {
        let _ = (after, limit);
        Ok(None)
    }
    /// The newest block `keys_written_since` lists (cheap; a cache reads it on every
    /// question): at least the tip, ahead of it while a block is being stored.
    fn written_height(&self) -> Height {
        self.tip_height()
    }
}

/// The state keys one final block wrote (set or deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenKeys {
    pub height: Height,
    pub keys: Arc<[Vec<u8>]>,
}

// The rules of `NameReader` over any state reader: the one home for which keys an answer
// reads, shared by the full node (its tree) and the light resolver (its proven snapshot).

/// The entry of a registered name, expired or not.
pub fn read_name_entry(state: &impl StateRead, name: &str) -> Result<Option<NameEntry>> {
    state.get_decoded(&keys::name(name))
}

/// The certificates bound to a registered name and not revoked, in order of registration.
pub fn read_active_certs(state: &impl StateRead, name: &str) -> Result<Vec<CertEntry>> {
    active_certs(state, name)?
        .iter()
        .map(|hash| {
            state
                .get_decoded(&keys::cert(name, hash))?
                .ok_or_else(|| Error::corrupt("certificate", format!("{hash} listed but missing")))
        })
        .collect()
}

/// The identity bound to `name` (a registered name or a host below it, under one of `tlds`),
/// revoked or not. The binding counts under the owner who made it, the registered name's
/// current one.
pub fn read_bound_identity(
    state: &impl StateRead,
    tlds: &[String],
    name: &str,
) -> Result<Option<IdentityEntry>> {
    let registered = match place(name, tlds) {
        Placement::Under { name, .. } => name,
        _ => return Ok(None),
    };
    let Some(entry) = read_name_entry(state, registered)? else {
        return Ok(None);
    };
    match state.get_decoded::<String>(&keys::identity_binding(name, &entry.owner))? {
        Some(id) => state.get_decoded(&keys::identity(&id)),
        None => Ok(None),
    }
}
