//! The registered names as keyed 64-bit hashes, so that a question under a name that is not
//! registered is answered NXDOMAIN without a ledger read; the hasher the answer cache keys with.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use ahash::RandomState;

/// A hasher keyed with random seeds from the operating system (through the standard library's
/// own randomly keyed SipHash), different in every process and for every table. Questions come
/// from anyone: with secret keys, no one can choose names whose hashes collide (aHash is made
/// to resist such hash flooding when its keys are secret), so a table of them stays fast.
pub(crate) fn keyed_hasher() -> RandomState {
    let os = std::collections::hash_map::RandomState::new();
    let seed = |i: u64| os.hash_one(i);
    RandomState::with_seeds(seed(0), seed(1), seed(2), seed(3))
}

/// A set of hashes computed by [`NameSet`] already: the hash is the key's own value.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever used; this keeps any other use correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Names (in the ledger's spelling, e.g. `example.sigil`) that may be registered: every name
/// inserted is found again; a name never inserted is found only if its 64-bit keyed hash
/// collides with one that was, which costs nothing but the full path.
pub(crate) struct NameSet {
    hasher: RandomState,
    hashes: HashSet<u64, BuildHasherDefault<Prehashed>>,
}

impl NameSet {
    pub(crate) fn new() -> NameSet {
        NameSet {
            hasher: keyed_hasher(),
            hashes: HashSet::default(),
        }
    }

    pub(crate) fn insert(&mut self, name: &[u8]) {
        self.hashes.insert(self.hasher.hash_one(name));
    }

    /// Whether `name` may be registered (false: it certainly is not).
    pub(crate) fn may_hold(&self, name: &[u8]) -> bool {
        self.hashes.contains(&self.hasher.hash_one(name))
    }

    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_names_are_found_and_others_are_not() {
        let mut set = NameSet::new();
        for i in 0..10_000 {
            set.insert(format!("name{i}.sigil").as_bytes());
        }
        assert_eq!(set.len(), 10_000);
        assert!((0..10_000).all(|i| set.may_hold(format!("name{i}.sigil").as_bytes())));
        assert!((10_000..20_000).all(|i| !set.may_hold(format!("name{i}.sigil").as_bytes())));
    }

    #[test]
    fn each_hasher_has_its_own_keys() {
        let (a, b) = (keyed_hasher(), keyed_hasher());
        assert_ne!(a.hash_one(b"example.sigil"), b.hash_one(b"example.sigil"));
    }
}
