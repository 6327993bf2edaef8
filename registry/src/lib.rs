//! The Sigil ledger: names and their records, signed transactions, a pure state machine over an
//! authenticated state tree, a sled store with one atomic batch per block, blocks with commit
//! certificates, the single-validator node and its HTTP API, and the peer-to-peer network for transaction
//! gossip and client requests.

pub mod api;
pub mod block;
pub mod captable;
pub mod consensus;
pub mod error;
pub mod evidence;
pub mod http;
pub mod ledger;
pub mod limits;
pub mod mempool;
pub mod name;
pub mod net;
pub mod node;
pub mod paging;
pub mod proof;
pub mod read;
pub mod records;
pub mod san;
pub mod snapshots;
pub mod state;
pub mod store;
pub mod tree;
pub mod tx;
pub mod types;

pub use error::{Error, Result, TxError};
