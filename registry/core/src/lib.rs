//! What a Sigil client needs without the node: names and their records, signed transactions and
//! their canonical encoding, the pure state machine over a read interface, blocks and headers,
//! the verification of state proofs, limits, and the HTTP API's request and response types.
//! Nothing here networks or serves, and nothing stores but the durable replacement of a whole
//! file (`durable`); the node (`sigil-registry`) builds on it.

pub mod api;
pub mod block;
pub mod captable;
pub mod cert;
pub mod durable;
pub mod error;
pub mod limits;
pub mod name;
pub mod paging;
pub mod proof;
pub mod read;
pub mod records;
pub mod san;
pub mod state;
pub mod time;
pub mod tx;
pub mod types;

pub use error::{Error, Result, TxError};
