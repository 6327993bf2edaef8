//! Shared pieces of the `sigild` node and the `sigil` CLI: node configuration and the
//! development chain's files.

pub mod config;
pub mod devchain;
