//! A test hook for a validator that goes silent mid-height: `SIGIL_WITHHOLD=<vote>:<height>`
//! (`prevote` or `precommit`) makes this validator stop taking part in consensus when it is
//! about to sign that vote at that height: the vote is never signed nor sent, and its engine
//! waits there for good (its API and network stay up). It only makes this node misbehave, as
//! its operator could anyway. Unset, it does nothing.

use std::fmt;
use std::str::FromStr;

use malachitebft_app_channel::app::types::core::VoteType;

use crate::error::{Error, Result};

/// The environment variable naming the vote to withhold.
pub const WITHHOLD_ENV: &str = "SIGIL_WITHHOLD";

/// The vote this validator never signs, and the height it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withhold {
    pub vote: VoteType,
    pub height: u64,
}

impl Withhold {
    /// The hook `SIGIL_WITHHOLD` asks for, if any; an unreadable value is an error rather than
    /// a test that silently never withholds.
    pub fn from_env() -> Result<Option<Withhold>> {
        super::hook::from_env(WITHHOLD_ENV)
    }

    /// Whether a vote of `vote` type at `height` is the one withheld.
    pub fn applies(&self, vote: VoteType, height: u64) -> bool {
        self.vote == vote && self.height == height
    }
}

fn vote_name(vote: VoteType) -> &'static str {
    match vote {
        VoteType::Prevote => "prevote",
        VoteType::Precommit => "precommit",
    }
}

impl FromStr for Withhold {
    type Err = Error;

    fn from_str(text: &str) -> Result<Withhold> {
        let bad = || {
            Error::invalid(format!(
                "{WITHHOLD_ENV}=`{text}`: write prevote:HEIGHT or precommit:HEIGHT"
            ))
        };
        let (vote, height) = text.split_once(':').ok_or_else(bad)?;
        let vote = [VoteType::Prevote, VoteType::Precommit]
            .into_iter()
            .find(|v| vote_name(*v) == vote)
            .ok_or_else(bad)?;
        let height = height.parse().map_err(|_| bad())?;
        Ok(Withhold { vote, height })
    }
}

impl fmt::Display for Withhold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", vote_name(self.vote), self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_parse_and_print_alike() {
        for text in ["prevote:3", "precommit:12"] {
            assert_eq!(text.parse::<Withhold>().unwrap().to_string(), text);
        }
        for bad in ["", "precommit", "proposal:3", "prevote:x", "precommit:-1"] {
            let err = bad.parse::<Withhold>().unwrap_err().to_string();
            assert!(err.contains("precommit:HEIGHT"), "{bad}: {err}");
        }
    }
}
