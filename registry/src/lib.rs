//! The Sigil node: the ledger (the core's state machine over an authenticated state tree, a sled
//! store with one atomic batch per block), the mempool, the consensus engine, the single-validator
//! node and its HTTP API, and the peer-to-peer network for transaction gossip and client
//! requests. What clients share with it (types, transactions, the state machine, blocks, proof
//! checks, the API's types) is `sigil-core`.

pub mod activity;
pub mod api;
pub mod consensus;
pub mod error;
pub mod evicted;
pub mod evidence;
pub mod explorer;
pub mod http;
pub mod ledger;
pub mod mempool;
pub mod metrics;
pub mod net;
pub mod node;
pub mod paging;
pub mod prefixes;
pub mod signatures;
pub mod snapshots;
pub mod store;
pub mod tree;

pub use error::{Error, Result};
