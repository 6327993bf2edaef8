//! DNS for Sigil: answers names under the chain's top-level domains from the finalized ledger
//! (through `NameReader`) and forwards every other name to upstream resolvers, with a cache.

pub mod allow;
pub mod answer;
mod batch;
pub mod cache;
mod cached;
pub mod dnssec;
mod doh;
pub mod ede;
pub mod error;
pub mod handler;
pub mod light;
pub mod limits;
pub mod metrics;
mod names;
mod rrl;
pub mod server;
mod tcp;
pub mod tls;
mod udp;
pub mod wire;

pub use dnssec::{ZONE_KEY_FILE, ZoneKey};
pub use doh::DOH_PATH;
pub use error::{Error, Result};
pub use metrics::DnsMetrics;
pub use server::{DnsConfig, DnsServer, serve, serve_light};
pub use tls::TlsFiles;
