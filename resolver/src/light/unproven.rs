//! Why an answer is not proven, gathered from what went wrong with each peer asked, and the
//! Extended DNS Error (RFC 8914) that says so.

use hickory_proto::op::ResponseCode;

use super::peers::{PeerError, Peers};
use crate::answer::Answer;
use crate::ede::{self, Ede};
use crate::limits::{MAX_PROOF_ROUNDS, MAX_PROVING_QUESTIONS};

/// Why an answer cannot be proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unproven {
    /// No peer answered (each is named with its error).
    NoPeer(String),
    /// The peers that answered served what does not verify.
    Bogus(String),
    /// The newest verified header is older than `--max-age`.
    Stale(String),
    /// No header verified yet.
    NotReady,
    /// More rounds of proofs than a question may take.
    TooManyRounds,
    /// Too many questions are waiting for proofs already.
    Busy,
}

impl Unproven {
    /// The Extended DNS Error saying why.
    pub fn ede(&self) -> Ede {
        let (code, text) = match self {
            Unproven::NoPeer(why) => (
                ede::NO_REACHABLE_AUTHORITY,
                format!("no peer answered: {why}"),
            ),
            Unproven::Bogus(why) => (ede::BOGUS, format!("proof does not verify: {why}")),
            // `stale: ...` (or `from the future: ...`), as the freshness rule says it.
            Unproven::Stale(why) => (ede::OTHER, why.clone()),
            Unproven::NotReady => (
                ede::NOT_READY,
                "no verified header yet; the peers have not been reached".to_string(),
            ),
            Unproven::TooManyRounds => (
                ede::OTHER,
                format!("the answer needs more than {MAX_PROOF_ROUNDS} rounds of proofs"),
            ),
            Unproven::Busy => (
                ede::OTHER,
                format!(
                    "busy: {MAX_PROVING_QUESTIONS} questions are waiting for proofs already; ask again"
                ),
            ),
        };
        Ede {
            info_code: code,
            text: text.into(),
        }
    }

    /// SERVFAIL with this reason.
    pub fn answer(&self) -> Answer {
        Answer {
            ede: Some(self.ede()),
            ..Answer::empty(ResponseCode::ServFail)
        }
    }
}

/// What went wrong with each peer asked for one thing.
#[derive(Default)]
pub(super) struct Failures {
    unreachable: Vec<String>,
    bogus: Vec<String>,
    stale: Vec<String>,
}

impl Failures {
    /// Notes `error` from `peer`, setting it aside for an answer that does not verify.
    pub(super) fn note(&mut self, peers: &Peers, peer: usize, error: PeerError) {
        match error {
            PeerError::Unreachable(e) => {
                peers.unreachable(peer, &e);
                self.unreachable.push(format!("{}: {e}", peers.url(peer)));
            }
            PeerError::Bogus(e) => {
                peers.set_aside(peer, &e, false);
                self.bogus.push(format!("{}: {e}", peers.url(peer)));
            }
            PeerError::Stale(e) => {
                peers.set_aside(peer, &e, true);
                self.stale.push(format!("{e} (from {})", peers.url(peer)));
            }
        }
    }

    /// A lie said is the reason over an old header, and an old header over a peer that did
    /// not answer; with none of them, every peer is set aside, and the reason is why they were
    /// (a lie, or else an old header).
    pub(super) fn into_unproven(mut self, peers: &Peers) -> Unproven {
        if self.bogus.is_empty() && self.stale.is_empty() && self.unreachable.is_empty() {
            for (why, stale) in peers.aside() {
                let why = format!("set aside: {why}");
                if stale {
                    self.stale.push(why);
                } else {
                    self.bogus.push(why);
                }
            }
        }
        if !self.bogus.is_empty() {
            Unproven::Bogus(self.bogus.join("; "))
        } else if !self.stale.is_empty() {
            Unproven::Stale(self.stale.join("; "))
        } else if !self.unreachable.is_empty() {
            Unproven::NoPeer(self.unreachable.join("; "))
        } else {
            Unproven::NoPeer("no peer to ask".into())
        }
    }
}
