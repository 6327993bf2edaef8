//! The cache of encoded answers to chain names, keyed by the question (name without regard to
//! case, type, class) and the client's EDNS buffer; an entry is served until a final block
//! writes a name or identity it was computed from, a name it read expires, or a certificate
//! window it depends on opens or closes. Bounded in bytes; admission favours entries asked for
//! often, so a flood of one-off names cannot push out the names people use. Beside it, the
//! index of registered names, kept in step with the same blocks, tells a question under a name
//! that is not registered (NXDOMAIN) without a ledger read. DNSSEC-signed answers (the DO bit is
//! part of the key) are kept the same way, with no SOA serial to rewrite (it is signed), and
//! hold no longer than their signatures are fresh (`Handler::decide`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, mpsc};

use moka::sync::Cache;
use sigil_core::name::{Placement, place};
use sigil_core::read::NameReader;
use sigil_core::types::Height;
use tracing::{info, warn};

use crate::answer::Validity;
use crate::limits::{
    ANSWER_CACHE_ENTRY_OVERHEAD_BYTES, MAX_CHANGED_SUBJECTS, NAME_LIST_PAGE, NAME_LISTING_ATTEMPTS,
};
use crate::names::{NameSet, keyed_hasher};

/// What a cache entry was computed from, and a block can change: a registered name (its
/// entry, certificates and identity bindings) or an identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Name(Box<str>),
    Identity(Box<str>),
}

/// One encoded response, ready to send after the request's ID, RD and CD bits and question
/// are copied in and the SOA serials set to the tip.
#[derive(Debug)]
pub struct Cached {
    bytes: Box<[u8]>,
    /// Offsets of the SOA serials in `bytes`.
    serials: Box<[u16]>,
    height: Height,
    subjects: Box<[Subject]>,
    until_height: Height,
    until_secs: i64,
}

impl Cached {
    /// The response to a request with header `id_flags` (its first four bytes) and question
    /// `question` (the bytes after the header, up to the question's end), at tip `tip`.
    pub fn write(&self, request_header: &[u8], question: &[u8], tip: Height, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.bytes);
        out[0..2].copy_from_slice(&request_header[0..2]);
        // RD (bit 0 of byte 2) and CD (bit 4 of byte 3) are echoed from the request.
        out[2] = (out[2] & !0x01) | (request_header[2] & 0x01);
        out[3] = (out[3] & !0x10) | (request_header[3] & 0x10);
        out[12..12 + question.len()].copy_from_slice(question);
        let serial = (tip as u32).to_be_bytes();
        for &at in self.serials.iter() {
            let at = usize::from(at);
            out[at..at + 4].copy_from_slice(&serial);
        }
    }

    /// Whether the entry still holds at tip `tip` and unix time `now_secs`, after `changes`.
    fn holds(&self, changes: &Changes, tip: Height, now_secs: i64) -> bool {
        self.until_height > tip
            && self.until_secs > now_secs
            && self.height >= changes.floor
            && (changes.changed.is_empty()
                || !self
                    .subjects
                    .iter()
                    .any(|s| changes.changed.get(s).is_some_and(|&h| h > self.height)))
    }
}

/// What the cache knows of a question.
pub enum Lookup {
    /// The answer, still holding.
    Hit(Arc<Cached>),
    /// No answer kept, and the registered name the question falls under does not exist: the
    /// answer is NXDOMAIN.
    Unregistered,
    /// The answer must be computed.
    Miss,
}

/// The registered names, in step with the blocks the cache has accounted for.
enum NameIndex {
    /// Being listed from the ledger (the listing numbered `epoch`): until it is done, names
    /// that blocks write wait in `written`, and no question is answered from the index.
    Listing {
        epoch: u64,
        written: Vec<Box<[u8]>>,
    },
    Ready(NameSet),
}

/// Which blocks the cache has accounted for, and what they changed.
struct Changes {
    /// Every block up to this height has been read into `changed`.
    synced: Height,
    /// Entries computed below this height may be stale in unknown ways.
    floor: Height,
    /// The last height at which each subject changed (since `floor`).
    changed: HashMap<Subject, Height>,
    names: NameIndex,
    /// Listings of the names started so far.
    listings: u64,
}

impl Changes {
    /// Notes that a block wrote the entry of registered `name`.
    fn name_written(&mut self, name: &[u8]) -> bool {
        match &mut self.names {
            NameIndex::Ready(set) => set.insert(name),
            NameIndex::Listing { written, .. } if written.len() < MAX_CHANGED_SUBJECTS => {
                written.push(name.into())
            }
            NameIndex::Listing { .. } => return self.relist(),
        }
        false
    }

    /// Forgets the names: a new listing must be made. Returns true (ask for it).
    fn relist(&mut self) -> bool {
        self.listings += 1;
        self.names = NameIndex::Listing {
            epoch: self.listings,
            written: Vec::new(),
        };
        true
    }
}

/// Encoded answers to chain names, and the registered names.
pub struct AnswerCache {
    entries: Cache<Box<[u8]>, Arc<Cached>, ahash::RandomState>,
    changes: RwLock<Changes>,
    /// Asks the thread that lists the names for a new listing, once there is one.
    relist: Mutex<Option<mpsc::Sender<()>>>,
}

impl AnswerCache {
    /// A cache holding about `max_bytes` of entries (none at all when 0), accounting for
    /// blocks after `tip`. The names are not known until [`AnswerCache::list_names`].
    pub fn new(max_bytes: u64, tip: Height) -> AnswerCache {
        // moka hands the weigher the key as stored.
        #[allow(clippy::borrowed_box)]
        let weigh = |key: &Box<[u8]>, value: &Arc<Cached>| -> u32 {
            let subjects: usize = value
                .subjects
                .iter()
                .map(|s| match s {
                    Subject::Name(n) | Subject::Identity(n) => n.len() + 24,
                })
                .sum();
            (key.len()
                + value.bytes.len()
                + value.serials.len() * 2
                + subjects
                + ANSWER_CACHE_ENTRY_OVERHEAD_BYTES)
                .try_into()
                .unwrap_or(u32::MAX)
        };
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(weigh)
            .build_with_hasher(keyed_hasher());
        AnswerCache {
            entries,
            changes: RwLock::new(Changes {
                synced: tip,
                floor: tip,
                changed: HashMap::new(),
                names: NameIndex::Listing {
                    epoch: 0,
                    written: Vec::new(),
                },
                listings: 0,
            }),
            relist: Mutex::new(None),
        }
    }

    /// What the cache knows of the question keyed `key`, at tip `tip` and unix time
    /// `now_secs`: its answer if it still holds, else whether `name` (the registered name the
    /// question falls under, if it falls under one) is certainly not registered.
    pub fn lookup(
        &self,
        reader: &dyn NameReader,
        key: &[u8],
        name: Option<&[u8]>,
        tip: Height,
        now_secs: i64,
    ) -> Lookup {
        let newest = tip.max(reader.written_height());
        let mut changes = self.changes.read().expect("answer cache lock poisoned");
        if changes.synced < newest {
            drop(changes);
            self.sync(reader, newest);
            changes = self.changes.read().expect("answer cache lock poisoned");
        }
        if let Some(entry) = self.entries.get(key)
            && entry.holds(&changes, tip, now_secs)
        {
            return Lookup::Hit(entry);
        }
        if let (Some(name), NameIndex::Ready(names)) = (name, &changes.names)
            && !names.may_hold(name)
        {
            return Lookup::Unregistered;
        }
        Lookup::Miss
    }

    /// The entry for `key` if it still holds at tip `tip` and unix time `now_secs`.
    pub fn get(
        &self,
        reader: &dyn NameReader,
        key: &[u8],
        tip: Height,
        now_secs: i64,
    ) -> Option<Arc<Cached>> {
        match self.lookup(reader, key, None, tip, now_secs) {
            Lookup::Hit(entry) => Some(entry),
            Lookup::Unregistered | Lookup::Miss => None,
        }
    }

    /// Keeps `bytes`, the encoded response computed as `validity` says, under `key`. `serials`
    /// are the offsets of the SOA serials in it.
    pub fn insert(&self, key: &[u8], bytes: &[u8], serials: Vec<u16>, validity: Validity) {
        let subjects = validity
            .names
            .into_iter()
            .map(|n| Subject::Name(n.into()))
            .chain(
                validity
                    .identities
                    .into_iter()
                    .map(|i| Subject::Identity(i.into())),
            )
            .collect();
        let cached = Cached {
            bytes: bytes.into(),
            serials: serials.into(),
            height: validity.height,
            subjects,
            until_height: validity.until_height,
            until_secs: validity.until_secs,
        };
        self.entries.insert(key.into(), Arc::new(cached));
    }

    /// Lists the registered names from `reader` into the index, if a listing is awaited;
    /// returns how many names the index holds then. Until it is done, no question is answered
    /// from the index; `None` if it could not be done (then none is until the next listing).
    pub fn list_names(&self, reader: &dyn NameReader) -> Option<usize> {
        let epoch = match &self
            .changes
            .read()
            .expect("answer cache lock poisoned")
            .names
        {
            NameIndex::Listing { epoch, .. } => *epoch,
            NameIndex::Ready(_) => return None,
        };
        for _ in 0..NAME_LISTING_ATTEMPTS {
            // Every block up to `start` is stored: its names are listed. Later ones are read
            // from the written keys, then from `written`.
            let start = reader.tip_height();
            let mut names = NameSet::new();
            let mut after = String::new();
            loop {
                let page = match reader.registered_names(&after, NAME_LIST_PAGE) {
                    Ok(Some(page)) => page,
                    Ok(None) => return None, // this reader cannot list its names
                    Err(error) => {
                        warn!(%error, "cannot list the registered names; NXDOMAIN answers read the ledger");
                        return None;
                    }
                };
                let full = page.len() >= NAME_LIST_PAGE;
                for name in &page {
                    names.insert(name.as_bytes());
                }
                match (full, page.into_iter().last()) {
                    (true, Some(last)) => after = last,
                    _ => break,
                }
            }
            let Some(blocks) = reader.keys_written_since(start) else {
                continue; // blocks went by faster than the listing: again
            };
            for block in &blocks {
                for key in block.keys.iter() {
                    if let Some(name) = key.strip_prefix(NAME_PREFIX) {
                        names.insert(name);
                    }
                }
            }
            let mut changes = self.changes.write().expect("answer cache lock poisoned");
            let NameIndex::Listing {
                epoch: now,
                written,
            } = &mut changes.names
            else {
                return None;
            };
            if *now != epoch {
                return None; // a newer listing is on its way
            }
            for name in written.drain(..) {
                names.insert(&name);
            }
            let count = names.len();
            changes.names = NameIndex::Ready(names);
            return Some(count);
        }
        warn!(
            "the registered names changed faster than they could be listed; NXDOMAIN answers read the ledger until the next listing"
        );
        None
    }

    /// Lists the names now (see [`AnswerCache::list_names`]), and again on a thread of its own
    /// whenever the index falls behind the blocks. The thread ends with the cache.
    pub fn index_names(self: &Arc<Self>, reader: Arc<dyn NameReader>) -> std::io::Result<()> {
        let report = |count: Option<usize>| {
            if let Some(count) = count {
                info!(
                    names = count,
                    "registered names indexed: NXDOMAIN answers need no ledger read"
                );
            }
        };
        report(self.list_names(reader.as_ref()));
        let (sender, requests) = mpsc::channel::<()>();
        *self.relist.lock().expect("answer cache lock poisoned") = Some(sender);
        let cache = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("dns-names".into())
            .spawn(move || {
                while requests.recv().is_ok() {
                    while requests.try_recv().is_ok() {}
                    let Some(cache) = cache.upgrade() else {
                        break;
                    };
                    report(cache.list_names(reader.as_ref()));
                }
            })?;
        // A listing asked for before the thread was there.
        if matches!(
            &self
                .changes
                .read()
                .expect("answer cache lock poisoned")
                .names,
            NameIndex::Listing { .. }
        ) {
            self.ask_relist();
        }
        Ok(())
    }

    fn ask_relist(&self) {
        if let Some(sender) = &*self.relist.lock().expect("answer cache lock poisoned") {
            let _ = sender.send(());
        }
    }

    /// Reads the changes of the blocks up to `newest` (the tip, or a block being stored) that
    /// were not read yet.
    fn sync(&self, reader: &dyn NameReader, newest: Height) {
        let mut changes = self.changes.write().expect("answer cache lock poisoned");
        if changes.synced >= newest {
            return; // another thread did it
        }
        let reset = |changes: &mut Changes, to: Height| {
            changes.floor = to;
            changes.synced = to;
            changes.changed.clear();
            self.entries.invalidate_all();
        };
        let Some(blocks) = reader.keys_written_since(changes.synced) else {
            reset(&mut changes, newest);
            // Names may have been registered in the blocks that are not known.
            let relist = changes.relist();
            drop(changes);
            if relist {
                self.ask_relist();
            }
            return;
        };
        let mut newest = newest;
        let mut relist = false;
        for block in blocks {
            newest = newest.max(block.height);
            for key in block.keys.iter() {
                if let Some(name) = key.strip_prefix(NAME_PREFIX) {
                    relist |= changes.name_written(name);
                }
                if let Some(subject) = subject_of(key, reader.tlds()) {
                    changes.changed.insert(subject, block.height);
                }
            }
        }
        changes.synced = newest;
        if changes.changed.len() > MAX_CHANGED_SUBJECTS {
            reset(&mut changes, newest);
        }
        drop(changes);
        if relist {
            self.ask_relist();
        }
    }
}

/// State key prefixes the resolver reads through [`NameReader`] (see `sigil_core::state::keys`).
const NAME_PREFIX: &[u8] = b"name/";
const CERTS_PREFIX: &[u8] = b"certs/";
const CERT_PREFIX: &[u8] = b"cert/";
const BINDING_PREFIX: &[u8] = b"identity-of/";
const IDENTITY_PREFIX: &[u8] = b"identity/";

/// `rest` up to its first `/` (names and identity ids hold none).
fn up_to_slash(rest: &[u8]) -> &[u8] {
    rest.split(|&b| b == b'/').next().unwrap_or(rest)
}

/// The subject a written state key belongs to, if answers can depend on it.
fn subject_of(key: &[u8], tlds: &[String]) -> Option<Subject> {
    let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(Box::<str>::from);
    if let Some(rest) = key.strip_prefix(NAME_PREFIX) {
        return text(rest).map(Subject::Name);
    }
    if let Some(rest) = key.strip_prefix(CERTS_PREFIX) {
        return text(rest).map(Subject::Name);
    }
    if let Some(rest) = key.strip_prefix(CERT_PREFIX) {
        return text(up_to_slash(rest)).map(Subject::Name);
    }
    if let Some(rest) = key.strip_prefix(BINDING_PREFIX) {
        // A binding may be for a host below the registered name: the answer read it under
        // the registered name.
        let host = std::str::from_utf8(up_to_slash(rest)).ok()?;
        return match place(host, tlds) {
            Placement::Under { name, .. } => Some(Subject::Name(name.into())),
            _ => Some(Subject::Name(host.into())),
        };
    }
    if let Some(rest) = key.strip_prefix(IDENTITY_PREFIX) {
        return text(rest).map(Subject::Identity);
    }
    None
}

#[cfg(test)]
mod tests {
    use sigil_core::read::WrittenKeys;
    use sigil_core::state::{CertEntry, IdentityEntry, NameEntry, keys};
    use sigil_core::types::{Hash, PublicKey};
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn the_keys_answers_read_map_to_their_subject() {
        let tlds = vec!["sigil".to_string()];
        let name = |n: &str| Some(Subject::Name(n.into()));
        let slashy = Hash([b'/'; 32]);
        let owner = PublicKey([b'/'; 32]);
        assert_eq!(subject_of(&keys::name("a.sigil"), &tlds), name("a.sigil"));
        assert_eq!(
            subject_of(&keys::certs_of("a.sigil"), &tlds),
            name("a.sigil")
        );
        assert_eq!(
            subject_of(&keys::cert("a.sigil", &slashy), &tlds),
            name("a.sigil")
        );
        assert_eq!(
            subject_of(&keys::identity_binding("www.a.sigil", &owner), &tlds),
            name("a.sigil")
        );
        assert_eq!(
            subject_of(&keys::identity("acme"), &tlds),
            Some(Subject::Identity("acme".into()))
        );
        assert_eq!(subject_of(&keys::nonce(&owner), &tlds), None);
        assert_eq!(subject_of(keys::PARAMS, &tlds), None);
    }

    /// A reader whose tip and written keys the test sets.
    struct Chain {
        tlds: Vec<String>,
        tip: Mutex<Height>,
        /// `None`: the writes are not known.
        writes: Mutex<Option<Vec<WrittenKeys>>>,
    }

    impl NameReader for Chain {
        fn tip_height(&self) -> Height {
            *self.tip.lock().unwrap()
        }
        fn tlds(&self) -> &[String] {
            &self.tlds
        }
        fn name_entry(&self, _: &str) -> sigil_core::Result<Option<NameEntry>> {
            Ok(None)
        }
        fn active_certs(&self, _: &str) -> sigil_core::Result<Vec<CertEntry>> {
            Ok(Vec::new())
        }
        fn bound_identity(&self, _: &str) -> sigil_core::Result<Option<IdentityEntry>> {
            Ok(None)
        }
        fn keys_written_since(&self, height: Height) -> Option<Vec<WrittenKeys>> {
            let writes = self.writes.lock().unwrap();
            writes.as_ref().map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b.height > height)
                    .cloned()
                    .collect()
            })
        }
    }

    impl Chain {
        fn block(&self, height: Height, keys: Vec<Vec<u8>>) {
            self.writes
                .lock()
                .unwrap()
                .get_or_insert_with(Vec::new)
                .push(WrittenKeys {
                    height,
                    keys: keys.into(),
                });
            *self.tip.lock().unwrap() = height;
        }
    }

    fn validity(height: Height, names: &[&str]) -> Validity {
        Validity {
            height,
            names: names.iter().map(|n| n.to_string()).collect(),
            identities: vec!["acme".to_string()],
            until_height: 100,
            until_secs: 5_000,
        }
    }

    #[test]
    fn entries_hold_until_a_block_writes_what_they_read() {
        let chain = Chain {
            tlds: vec!["sigil".to_string()],
            tip: Mutex::new(10),
            writes: Mutex::new(Some(Vec::new())),
        };
        let cache = AnswerCache::new(1 << 20, 10);
        cache.insert(b"a", b"answer a", vec![], validity(10, &["a.sigil"]));
        cache.insert(b"b", b"answer b", vec![], validity(10, &["b.sigil"]));
        assert!(cache.get(&chain, b"a", 10, 0).is_some());
        // A block that writes other things keeps both.
        chain.block(
            11,
            vec![keys::name("c.sigil"), keys::nonce(&PublicKey([0; 32]))],
        );
        assert!(cache.get(&chain, b"a", 11, 0).is_some());
        // One that writes `a`'s certificates drops `a` only.
        chain.block(12, vec![keys::certs_of("a.sigil")]);
        assert!(cache.get(&chain, b"a", 12, 0).is_none());
        assert!(cache.get(&chain, b"b", 12, 0).is_some());
        // Computed again after that block, it holds.
        cache.insert(b"a", b"answer a2", vec![], validity(12, &["a.sigil"]));
        assert!(cache.get(&chain, b"a", 12, 0).is_some());
        // An identity both read changes: both go.
        chain.block(13, vec![keys::identity("acme")]);
        assert!(cache.get(&chain, b"a", 13, 0).is_none());
        assert!(cache.get(&chain, b"b", 13, 0).is_none());
    }

    #[test]
    fn entries_expire_with_the_names_and_certificates_they_read() {
        let chain = Chain {
            tlds: vec!["sigil".to_string()],
            tip: Mutex::new(10),
            writes: Mutex::new(Some(Vec::new())),
        };
        let cache = AnswerCache::new(1 << 20, 10);
        cache.insert(b"a", b"answer", vec![], validity(10, &["a.sigil"]));
        assert!(cache.get(&chain, b"a", 99, 4_999).is_some());
        assert!(cache.get(&chain, b"a", 100, 0).is_none(), "a name expired");
        assert!(
            cache.get(&chain, b"a", 10, 5_000).is_none(),
            "a window closed"
        );
    }

    #[test]
    fn unknown_changes_drop_everything_computed_before() {
        let chain = Chain {
            tlds: vec!["sigil".to_string()],
            tip: Mutex::new(10),
            writes: Mutex::new(None),
        };
        let cache = AnswerCache::new(1 << 20, 10);
        cache.insert(b"a", b"answer", vec![], validity(10, &["a.sigil"]));
        assert!(cache.get(&chain, b"a", 10, 0).is_some());
        assert!(cache.get(&chain, b"a", 11, 0).is_none());
        cache.insert(b"a", b"answer", vec![], validity(11, &["a.sigil"]));
        assert!(cache.get(&chain, b"a", 11, 0).is_some());
    }

    #[test]
    fn the_response_echoes_the_request_and_the_tip() {
        let cache = AnswerCache::new(1 << 20, 10);
        let chain = Chain {
            tlds: vec!["sigil".to_string()],
            tip: Mutex::new(10),
            writes: Mutex::new(Some(Vec::new())),
        };
        // Header (ID 1, QR AA RD, CD), question `a.`, then four bytes of serial at 19.
        let mut stored = vec![0, 1, 0x85, 0x10, 0, 1, 0, 0, 0, 0, 0, 0];
        stored.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]);
        stored.extend_from_slice(&[0, 0, 0, 10]);
        cache.insert(b"k", &stored, vec![19], validity(10, &["a.sigil"]));
        let entry = cache.get(&chain, b"k", 10, 0).unwrap();
        let mut out = Vec::new();
        entry.write(
            &[0xab, 0xcd, 0x00, 0x00],
            &[1, b'A', 0, 0, 1, 0, 1],
            300,
            &mut out,
        );
        assert_eq!(&out[0..4], &[0xab, 0xcd, 0x84, 0x00]);
        assert_eq!(&out[12..19], &[1, b'A', 0, 0, 1, 0, 1]);
        assert_eq!(&out[19..], &300u32.to_be_bytes());
    }
}
