//! What the `sigild` node and the `sigil` CLI share without the node: node configuration and
//! the chain's files (a development chain, or a local network of several validators).

pub mod config;
pub mod devchain;
pub mod localnet;
pub mod pidfile;
