//! The peers a light resolver asks, over their HTTP API, and how each stands: in good
//! standing, unreachable (asked after the others), or set aside for a while after serving
//! what does not verify (not asked until then).

use std::sync::Mutex;
use std::time::Instant;

use serde::de::DeserializeOwned;
use sigil_core::api::PeerStanding;
use sigil_core::block::Handoff;
use sigil_core::limits::MAX_PAGE_ITEMS;
use sigil_core::paging::Page;
use sigil_core::proof::StateProof;
use sigil_core::types::Height;

use crate::limits::{
    MAX_HANDOFF_PAGES, MAX_PEER_ANSWER_BYTES, PEER_CONNECT_TIMEOUT, PEER_REQUEST_TIMEOUT,
    SET_ASIDE_FIRST, SET_ASIDE_MAX,
};

/// Why a peer's answer was not had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerError {
    /// No answer (connection refused, timeout, an HTTP error status): not a lie.
    Unreachable(String),
    /// An answer that is not what was asked, or not a valid answer at all.
    Bogus(String),
    /// A verified header, but older than `--max-age`: the peer lags or replays old proofs.
    Stale(String),
}

#[derive(Debug, Default)]
struct Standing {
    /// Set aside until then (after serving what does not verify).
    set_aside_until: Option<Instant>,
    /// Times set aside in a row; each doubles the time, up to the bound.
    strikes: u32,
    /// Its last request failed without an answer.
    unreachable: bool,
    last_error: Option<String>,
    /// Set aside for a header older than `--max-age` rather than for a lie.
    aside_for_stale: bool,
}

struct Peer {
    url: String,
    standing: Mutex<Standing>,
}

/// The configured peers, in the order given.
pub struct Peers {
    client: reqwest::Client,
    peers: Vec<Peer>,
}

/// The proofs of `/v1/proofs`.
#[derive(serde::Deserialize)]
struct ProofsAnswer {
    proofs: Vec<StateProof>,
}

impl Peers {
    pub fn new(urls: &[String]) -> Result<Peers, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(PEER_CONNECT_TIMEOUT)
            .timeout(PEER_REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client for the peers: {e}"))?;
        let peers = urls
            .iter()
            .map(|url| Peer {
                url: url.trim_end_matches('/').to_string(),
                standing: Mutex::new(Standing::default()),
            })
            .collect();
        Ok(Peers { client, peers })
    }

    /// The peers to ask now, in order: those in good standing first, then the unreachable
    /// ones; set-aside ones are left out until their time is up.
    pub fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let mut order: Vec<(bool, usize)> = self
            .peers
            .iter()
            .enumerate()
            .filter_map(|(i, peer)| {
                let standing = peer.standing.lock().expect("peer lock poisoned");
                match standing.set_aside_until {
                    Some(until) if until > now => None,
                    _ => Some((standing.unreachable, i)),
                }
            })
            .collect();
        order.sort();
        order.into_iter().map(|(_, i)| i).collect()
    }

    pub fn url(&self, peer: usize) -> &str {
        &self.peers[peer].url
    }

    /// Notes a good answer from `peer`.
    pub fn answered(&self, peer: usize) {
        let mut standing = self.peers[peer]
            .standing
            .lock()
            .expect("peer lock poisoned");
        standing.unreachable = false;
        standing.strikes = 0;
        standing.last_error = None;
    }

    /// Notes that `peer` did not answer.
    pub fn unreachable(&self, peer: usize, error: &str) {
        let mut standing = self.peers[peer]
            .standing
            .lock()
            .expect("peer lock poisoned");
        standing.unreachable = true;
        standing.last_error = Some(error.to_string());
    }

    /// Sets `peer` aside after an answer that does not verify, or (`stale`) a header too old
    /// to use: not asked for 5 s, doubling with each time in a row, up to [`SET_ASIDE_MAX`].
    pub fn set_aside(&self, peer: usize, why: &str, stale: bool) {
        let mut standing = self.peers[peer]
            .standing
            .lock()
            .expect("peer lock poisoned");
        let time = SET_ASIDE_FIRST
            .saturating_mul(1u32 << standing.strikes.min(16))
            .min(SET_ASIDE_MAX);
        standing.strikes = standing.strikes.saturating_add(1);
        standing.set_aside_until = Some(Instant::now() + time);
        standing.last_error = Some(why.to_string());
        standing.aside_for_stale = stale;
        tracing::warn!(peer = %self.peers[peer].url, set_aside_secs = time.as_secs(), why, "peer set aside");
    }

    /// Why the peers now set aside were set aside: each one's URL and error, and whether it
    /// was for a stale header rather than a lie.
    pub fn aside(&self) -> Vec<(String, bool)> {
        let now = Instant::now();
        self.peers
            .iter()
            .filter_map(|peer| {
                let standing = peer.standing.lock().expect("peer lock poisoned");
                let why = standing.last_error.as_deref().unwrap_or("no reason kept");
                (standing.set_aside_until > Some(now))
                    .then(|| (format!("{}: {why}", peer.url), standing.aside_for_stale))
            })
            .collect()
    }

    /// How each peer stands, for the status.
    pub fn standings(&self) -> Vec<PeerStanding> {
        let now = Instant::now();
        self.peers
            .iter()
            .map(|peer| {
                let standing = peer.standing.lock().expect("peer lock poisoned");
                let aside = standing
                    .set_aside_until
                    .filter(|&until| until > now)
                    .map(|until| {
                        // Rounded up: a peer set aside for a moment still shows it.
                        let left = until - now;
                        left.as_secs() + u64::from(left.subsec_nanos() > 0)
                    });
                PeerStanding {
                    url: peer.url.clone(),
                    standing: match (aside, standing.unreachable) {
                        (Some(_), _) => "set_aside",
                        (None, true) => "unreachable",
                        (None, false) => "ok",
                    }
                    .to_string(),
                    set_aside_secs: aside,
                    last_error: standing.last_error.clone(),
                }
            })
            .collect()
    }

    /// The proofs of `keys` from `peer` (at most [`MAX_PROOF_KEYS_PER_REQUEST`]
    /// (sigil_core::limits::MAX_PROOF_KEYS_PER_REQUEST)), at `height` or at its tip; not
    /// verified here.
    pub async fn proofs(
        &self,
        peer: usize,
        keys: &[Vec<u8>],
        height: Option<Height>,
    ) -> Result<Vec<StateProof>, PeerError> {
        let mut path = String::from("/v1/proofs?");
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                path.push('&');
            }
            path.push_str("key=");
            path.push_str(&hex::encode(key));
        }
        if let Some(height) = height {
            path.push_str(&format!("&height={height}"));
        }
        let answer: ProofsAnswer = self.get(peer, &path).await?;
        Ok(answer.proofs)
    }

    /// Every validator change `peer` reports, oldest first, each with the block and commit
    /// that made it; not verified here.
    pub async fn handoffs(&self, peer: usize) -> Result<Vec<Handoff>, PeerError> {
        let mut handoffs = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_HANDOFF_PAGES {
            let mut path = format!("/v1/validators/changes?limit={MAX_PAGE_ITEMS}&order=asc");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page: Page<Handoff> = self.get(peer, &path).await?;
            handoffs.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(handoffs),
            }
        }
        Err(PeerError::Bogus(format!(
            "reports more than {MAX_HANDOFF_PAGES} pages of validator changes"
        )))
    }

    /// `GET path` from `peer`, its JSON answer read up to [`MAX_PEER_ANSWER_BYTES`].
    async fn get<T: DeserializeOwned>(&self, peer: usize, path: &str) -> Result<T, PeerError> {
        let url = format!("{}{path}", self.peers[peer].url);
        let unreachable = |e: reqwest::Error| PeerError::Unreachable(without_url(e));
        let mut response = self.client.get(&url).send().await.map_err(unreachable)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_PEER_ANSWER_BYTES {
                return Err(PeerError::Bogus(format!(
                    "answered more than {MAX_PEER_ANSWER_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(PeerError::Unreachable(format!(
                "answered {status}: {}",
                text.chars().take(300).collect::<String>()
            )));
        }
        serde_json::from_slice(&body)
            .map_err(|e| PeerError::Bogus(format!("answered what does not decode: {e}")))
    }
}

/// A request error's text without the URL (the peer is named beside it).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_in_good_standing_come_first_and_set_aside_ones_not_at_all() {
        let urls: Vec<String> = ["http://a", "http://b", "http://c"]
            .iter()
            .map(|u| u.to_string())
            .collect();
        let peers = Peers::new(&urls).unwrap();
        assert_eq!(peers.order(), [0, 1, 2]);
        // One that did not answer is asked after the others; one that lied is not asked.
        peers.unreachable(0, "cannot connect");
        peers.set_aside(1, "the tree proof does not match", false);
        assert_eq!(peers.order(), [2, 0]);
        let standings = peers.standings();
        assert_eq!(standings[0].standing, "unreachable");
        assert_eq!(standings[1].standing, "set_aside");
        assert_eq!(standings[1].set_aside_secs, Some(SET_ASIDE_FIRST.as_secs()));
        assert_eq!(standings[2].standing, "ok");
        // Each time in a row doubles the time, up to the bound.
        for _ in 0..20 {
            peers.set_aside(1, "again", false);
        }
        assert_eq!(
            peers.standings()[1].set_aside_secs,
            Some(SET_ASIDE_MAX.as_secs())
        );
        // A good answer puts a peer back in good standing.
        peers.answered(0);
        assert_eq!(peers.order(), [0, 2]);
        assert_eq!(peers.standings()[0].standing, "ok");
    }
}
