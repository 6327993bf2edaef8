//! The wall clock, read in one place: unix milliseconds for block times and proof freshness.
//! Never read by the state machine, which takes every time from the block it applies.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in unix milliseconds (0 for a clock before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
