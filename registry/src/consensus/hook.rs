//! Reads a test hook (`SIGIL_CRASH_AT`, `SIGIL_WITHHOLD`, `SIGIL_MISS_PROPOSAL`) from the
//! environment: absent is none, an unreadable value an error rather than a silent no-op.

use std::str::FromStr;

use crate::error::{Error, Result};

/// The hook the environment variable `name` asks for, if any.
pub fn from_env<T: FromStr<Err = Error>>(name: &str) -> Result<Option<T>> {
    match std::env::var(name) {
        Ok(text) => text.parse().map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(Error::invalid(format!("{name}: {e}"))),
    }
}
