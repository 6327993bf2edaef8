//! A test hook for a validator that misses a proposal: `SIGIL_MISS_PROPOSAL=<height>:<round>`
//! makes this node drop every proposal for that round of that height as it completes, as if
//! the network had lost its parts (the node can still decide the height from a later round's
//! proposal or from block sync). It only makes this node misbehave, as its operator could
//! anyway. Unset, it does nothing.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The environment variable naming the proposal to miss.
pub const MISS_PROPOSAL_ENV: &str = "SIGIL_MISS_PROPOSAL";

/// The height and round whose proposals this node drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissProposal {
    pub height: u64,
    pub round: u32,
}

impl MissProposal {
    /// The hook `SIGIL_MISS_PROPOSAL` asks for, if any; an unreadable value is an error rather
    /// than a test that silently never misses.
    pub fn from_env() -> Result<Option<MissProposal>> {
        super::hook::from_env(MISS_PROPOSAL_ENV)
    }

    /// Whether a proposal for `round` of `height` is one to drop.
    pub fn applies(&self, height: u64, round: u32) -> bool {
        (self.height, self.round) == (height, round)
    }
}

impl FromStr for MissProposal {
    type Err = Error;

    fn from_str(text: &str) -> Result<MissProposal> {
        let bad = || {
            Error::invalid(format!(
                "{MISS_PROPOSAL_ENV}=`{text}`: write HEIGHT:ROUND, e.g. 6:0"
            ))
        };
        let (height, round) = text.split_once(':').ok_or_else(bad)?;
        Ok(MissProposal {
            height: height.parse().map_err(|_| bad())?,
            round: round.parse().map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for MissProposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.height, self.round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_parse_and_print_alike() {
        for text in ["6:0", "12:3"] {
            assert_eq!(text.parse::<MissProposal>().unwrap().to_string(), text);
        }
        for bad in ["", "6", "x:0", "6:x", "-1:0", "6:0:1"] {
            let err = bad.parse::<MissProposal>().unwrap_err().to_string();
            assert!(err.contains("HEIGHT:ROUND"), "{bad}: {err}");
        }
    }
}
