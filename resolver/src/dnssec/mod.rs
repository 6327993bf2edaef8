//! DNSSEC for chain answers: the node's zone key (`key`) and the online signing of answers
//! for clients that set the DO bit (`sign`).

mod key;
mod sign;

pub use key::{ZONE_KEY_FILE, ZoneKey};
pub use sign::{NXNAME, Signer};
