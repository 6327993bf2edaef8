//! Shared pieces of the `sigild` node and the `sigil` CLI: node configuration and the
//! chain's files (a development chain, or a local network of several validators).

pub mod config;
pub mod devchain;
pub mod localnet;
pub mod logging;
pub mod networking;
pub mod pidfile;
