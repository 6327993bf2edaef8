//! Every key prefix of the node's store, in one table: the state tree's, the ledger's, the
//! state machine's indexes (defined by `sigil-core`), register snapshots, evidence and the
//! consensus engine's undecided proposals. No prefix starts another, so no scan crosses into
//! another's keys.

/// The state tree (`tree`): its nodes, the values at the tip, earlier values and, per version,
/// the lists of what it made stale.
pub mod tree {
    /// `N ‖ node key` → node.
    pub const NODE: &[u8] = b"tN";
    /// `V ‖ key hash ‖ version` → `until ‖ value`: a value written at `version` and replaced or
    /// deleted at `until` (8 bytes, big-endian), kept for reads at older versions until pruned.
    pub const VALUE: &[u8] = b"tV";
    /// `S ‖ version` → the node keys unneeded from that version on (one list per version).
    pub const STALE_NODE: &[u8] = b"tS";
    /// `W ‖ version` → the earlier values (key hash, version) that version replaced.
    pub const STALE_VALUE: &[u8] = b"tW";
    /// `L ‖ key hash` → `version ‖ value`: the value at the tip and the version that wrote it.
    pub const LATEST: &[u8] = b"tL";
}

/// The ledger (`ledger`): blocks, headers, receipts and the store's own metadata.
pub mod ledger {
    pub const BLOCK: &[u8] = b"cB";
    /// A block's header with its commit, by height: what a header or a proof reads.
    pub const HEADER: &[u8] = b"cD";
    pub const RECEIPT: &[u8] = b"cR";
    pub const TIP: &[u8] = b"mTip";
    pub const GENESIS: &[u8] = b"mGenesis";
    /// The store's format version (absent: version 1, before headers and snapshots).
    pub const FORMAT: &[u8] = b"mFormat";
}

/// Register snapshots (`snapshots`): `cP`, company, 0, height (8 bytes, big-endian) →
/// snapshot.
pub const SNAPSHOT: &[u8] = b"cP";
/// Per company: `cQ`, company → progress since its last snapshot.
pub const SNAPSHOT_PROGRESS: &[u8] = b"cQ";
/// Evidence of equivocation (`evidence`), by height.
pub const EVIDENCE: &[u8] = b"cE";
/// Proposals seen for heights not yet final (`consensus`), kept across a crash so
/// `StartedRound` can hand them back to the engine.
pub const UNDECIDED: &[u8] = b"uP";

/// The whole table, with the state machine's index prefixes, by name.
pub const ALL: &[(&str, &[u8])] = {
    use sigil_core::state::index;
    &[
        ("tree node", tree::NODE),
        ("tree value", tree::VALUE),
        ("tree stale node", tree::STALE_NODE),
        ("tree stale value", tree::STALE_VALUE),
        ("tree latest", tree::LATEST),
        ("block", ledger::BLOCK),
        ("header", ledger::HEADER),
        ("receipt", ledger::RECEIPT),
        ("tip", ledger::TIP),
        ("genesis", ledger::GENESIS),
        ("store format", ledger::FORMAT),
        ("name history", index::NAME_HISTORY),
        ("validator changes", index::VALIDATOR_CHANGES),
        ("certificate history", index::CERT_HISTORY),
        ("certificate names", index::CERT_NAMES),
        ("identity history", index::IDENTITY_HISTORY),
        ("share history", index::SHARE_HISTORY),
        ("register log", index::REGISTER_LOG),
        ("offerings", index::OFFERINGS),
        ("snapshot", SNAPSHOT),
        ("snapshot progress", SNAPSHOT_PROGRESS),
        ("evidence", EVIDENCE),
        ("undecided proposals", UNDECIDED),
    ]
};

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn no_prefix_starts_another() {
        for (i, (a, pa)) in ALL.iter().enumerate() {
            for (b, pb) in &ALL[i + 1..] {
                assert!(
                    !pa.starts_with(pb) && !pb.starts_with(pa),
                    "store prefixes of {a} and {b} overlap"
                );
            }
        }
    }
}
