//! The fuzz targets: each takes arbitrary bytes and panics only on a bug (a crash, or an
//! encoding that does not round-trip).

mod api;
mod codec;
mod dns;
mod light;
mod text;

pub use api::{API_KINDS, api};
pub use codec::{CONSENSUS_KINDS, block, consensus, p2p, tx};
pub use dns::dns;
pub use light::{light_handoffs, light_proofs, tree_proof};
pub use text::{cert, record, zone};

/// A target: its name (the corpus folder's and the cargo-fuzz binary's) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("tx", tx),
    ("block", block),
    ("consensus", consensus),
    ("p2p", p2p),
    ("dns", dns),
    ("zone", zone),
    ("record", record),
    ("cert", cert),
    ("light_proofs", light_proofs),
    ("light_handoffs", light_handoffs),
    ("tree_proof", tree_proof),
    ("api", api),
];
