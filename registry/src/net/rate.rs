//! Per-peer rate limits: token buckets for client requests and gossip messages, and a count of
//! the excess that marks a persistent abuser.

use std::time::{Duration, Instant};

use sigil_core::limits::{
    PEER_GOSSIP_BURST, PEER_GOSSIP_PER_SEC, PEER_MAX_DROPPED_PER_WINDOW, PEER_RATE_WINDOW_SECS,
    PEER_REQUEST_BURST, PEER_REQUESTS_PER_SEC,
};

/// Tokens refilled continuously at `per_sec` up to `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    per_sec: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(per_sec: u32, burst: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(burst),
            per_sec: f64::from(per_sec),
            burst: f64::from(burst),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a peer is allowed, and how far over it has gone lately.
#[derive(Debug, Clone)]
pub struct PeerBudget {
    requests: TokenBucket,
    gossip: TokenBucket,
    dropped: u32,
    window_start: Instant,
}

/// The outcome of charging a peer for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    Allowed,
    /// Over the rate: drop the message.
    Dropped,
    /// Over the rate for too long: drop the message and disconnect the peer.
    Abusive,
}

impl PeerBudget {
    pub fn new(now: Instant) -> PeerBudget {
        PeerBudget {
            requests: TokenBucket::new(PEER_REQUESTS_PER_SEC, PEER_REQUEST_BURST, now),
            gossip: TokenBucket::new(PEER_GOSSIP_PER_SEC, PEER_GOSSIP_BURST, now),
            dropped: 0,
            window_start: now,
        }
    }

    pub fn request(&mut self, now: Instant) -> Charge {
        let ok = self.requests.take(now);
        self.charge(ok, now)
    }

    pub fn gossip(&mut self, now: Instant) -> Charge {
        let ok = self.gossip.take(now);
        self.charge(ok, now)
    }

    fn charge(&mut self, allowed: bool, now: Instant) -> Charge {
        if allowed {
            return Charge::Allowed;
        }
        if now.saturating_duration_since(self.window_start)
            > Duration::from_secs(PEER_RATE_WINDOW_SECS)
        {
            self.window_start = now;
            self.dropped = 0;
        }
        self.dropped = self.dropped.saturating_add(1);
        if self.dropped > PEER_MAX_DROPPED_PER_WINDOW {
            Charge::Abusive
        } else {
            Charge::Dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10, 3, t0);
        assert!((0..3).all(|_| bucket.take(t0)));
        assert!(!bucket.take(t0));
        assert!(bucket.take(t0 + Duration::from_millis(100)));
        assert!(!bucket.take(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn a_peer_far_over_its_rate_becomes_abusive() {
        let t0 = Instant::now();
        let mut budget = PeerBudget::new(t0);
        let charges: Vec<Charge> = (0..PEER_REQUEST_BURST + PEER_MAX_DROPPED_PER_WINDOW + 1)
            .map(|_| budget.request(t0))
            .collect();
        assert_eq!(charges[0], Charge::Allowed);
        assert_eq!(charges[PEER_REQUEST_BURST as usize], Charge::Dropped);
        assert_eq!(charges.last(), Some(&Charge::Abusive));
    }
}
