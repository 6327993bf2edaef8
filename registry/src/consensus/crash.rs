//! A test hook for crash recovery: `SIGIL_CRASH_AT=<point>:<height>` makes a node abort (no
//! destructors, no flush: as `kill -9` would stop it) at a chosen step of deciding `height`,
//! so tests can stop a validator exactly between voting and committing, or a syncing node in
//! the middle of a sync group. Unset, it does nothing.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The environment variable naming the crash point.
pub const CRASH_AT_ENV: &str = "SIGIL_CRASH_AT";

/// Where in deciding a block the node stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// The engine reports the block decided: this validator's precommit is in its write-ahead
    /// log and sent, the block is not in the store yet.
    BeforeCommit,
    /// The block and its commit are flushed to the store (applied to the sync group, for a
    /// block from sync on a full node); the engine has not been told, so its write-ahead log
    /// still holds the height.
    AfterCommit,
    /// A block from sync at the hook's height or above is applied to a sync group that holds
    /// blocks before it, and the group is not flushed: none of its blocks is durable or was
    /// reported final. (At or above: whether a given block opens a group depends on timing.)
    InGroup,
}

impl CrashPoint {
    const ALL: [CrashPoint; 3] = [
        CrashPoint::BeforeCommit,
        CrashPoint::AfterCommit,
        CrashPoint::InGroup,
    ];

    /// How `SIGIL_CRASH_AT` spells it.
    fn name(self) -> &'static str {
        match self {
            CrashPoint::BeforeCommit => "before-commit",
            CrashPoint::AfterCommit => "after-commit",
            CrashPoint::InGroup => "in-group",
        }
    }
}

/// A crash point and the height it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashHook {
    pub point: CrashPoint,
    pub height: u64,
}

impl CrashHook {
    /// The hook `SIGIL_CRASH_AT` asks for, if any; an unreadable value is an error rather than
    /// a test that silently never crashes.
    pub fn from_env() -> Result<Option<CrashHook>> {
        super::hook::from_env(CRASH_AT_ENV)
    }

    /// Aborts the process if this hook is for `point` at `height` (at `height` or above, for
    /// [`CrashPoint::InGroup`]).
    pub fn check(&self, point: CrashPoint, height: u64) {
        let at = match point {
            CrashPoint::InGroup => height >= self.height,
            _ => height == self.height,
        };
        if self.point == point && at {
            tracing::warn!(%self, "crashing on purpose ({CRASH_AT_ENV})");
            std::process::abort();
        }
    }
}

impl FromStr for CrashHook {
    type Err = Error;

    fn from_str(text: &str) -> Result<CrashHook> {
        let bad = || {
            Error::invalid(format!(
                "{CRASH_AT_ENV}=`{text}`: write before-commit:HEIGHT, after-commit:HEIGHT or in-group:HEIGHT"
            ))
        };
        let (point, height) = text.split_once(':').ok_or_else(bad)?;
        let point = CrashPoint::ALL
            .into_iter()
            .find(|p| p.name() == point)
            .ok_or_else(bad)?;
        let height = height.parse().map_err(|_| bad())?;
        Ok(CrashHook { point, height })
    }
}

impl fmt::Display for CrashHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.point.name(), self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_parse_and_print_alike() {
        for text in ["before-commit:7", "after-commit:12", "in-group:40"] {
            assert_eq!(text.parse::<CrashHook>().unwrap().to_string(), text);
        }
        for bad in [
            "",
            "before-commit",
            "later:3",
            "after-commit:x",
            "before-commit:-1",
        ] {
            let err = bad.parse::<CrashHook>().unwrap_err().to_string();
            assert!(err.contains("before-commit:HEIGHT"), "{bad}: {err}");
        }
    }
}
