//! Response rate limiting on UDP (RRL): the answers we make ourselves are limited per source
//! prefix, so that spoofed queries cannot turn the node into a reflector; of the answers over
//! the limit, every `RRL_SLIP`th goes out truncated (a real client retries over TCP, which
//! cannot be spoofed) and the rest are dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::limits::{
    RRL_IPV4_PREFIX, RRL_IPV6_PREFIX, RRL_MAX_PREFIXES, RRL_SLIP, RRL_SWEEP_INTERVAL,
};
use crate::wire::skip_name;

/// Locks the table is split under, so that the UDP threads rarely wait on each other.
const SHARDS: usize = 16;

/// Tokens of one response, in millionths: a bucket refills `rate` tokens a second, one per
/// microsecond per unit of rate, and holds one second's worth (the burst).
const COST: u64 = 1_000_000;

/// What to do with an answer to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the limit: send it.
    Send,
    /// Over the limit, this one slips through truncated (see [`truncate`]).
    Slip,
    /// Over the limit: drop it.
    Drop,
}

/// The rate limiter of one server: a token bucket per source prefix, in a table of at most
/// `RRL_MAX_PREFIXES` prefixes.
pub(crate) struct RateLimiter {
    rate: u64,
    shards: Box<[Mutex<Shard>]>,
    hasher: ahash::RandomState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Prefix {
    V4(u32),
    V6(u64),
}

struct Shard {
    buckets: HashMap<Prefix, Bucket, ahash::RandomState>,
    /// Shared by the prefixes that found the table full.
    overflow: Bucket,
    last_sweep: Option<Instant>,
}

#[derive(Clone, Copy)]
struct Bucket {
    /// In millionths of a response.
    tokens: u64,
    at: Instant,
    /// Answers over the limit so far, for the slip.
    limited: u32,
}

impl Bucket {
    fn full(capacity: u64, now: Instant) -> Bucket {
        Bucket {
            tokens: capacity,
            at: now,
            limited: 0,
        }
    }

    /// Refills for the time since the last answer, capped at one second's worth.
    fn refill(&mut self, rate: u64, capacity: u64, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.at)
            .min(Duration::from_secs(1));
        self.tokens = (self.tokens + elapsed.as_micros() as u64 * rate).min(capacity);
        self.at = now;
    }

    fn take(&mut self, rate: u64, capacity: u64, now: Instant) -> Verdict {
        self.refill(rate, capacity, now);
        if self.tokens >= COST {
            self.tokens -= COST;
            return Verdict::Send;
        }
        self.limited = self.limited.wrapping_add(1);
        if self.limited.is_multiple_of(RRL_SLIP) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

impl RateLimiter {
    /// A limiter of `rate` answers a second per prefix (at least 1).
    pub(crate) fn new(rate: u32) -> RateLimiter {
        let hasher = ahash::RandomState::new();
        let now = Instant::now();
        let rate = u64::from(rate.max(1));
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    buckets: HashMap::with_hasher(hasher.clone()),
                    overflow: Bucket::full(rate * COST, now),
                    last_sweep: None,
                })
            })
            .collect();
        RateLimiter {
            rate,
            shards,
            hasher,
        }
    }

    /// Whether an answer to `client` at `now` is sent, slipped or dropped.
    pub(crate) fn check(&self, client: IpAddr, now: Instant) -> Verdict {
        let prefix = prefix(client);
        let shard = &self.shards[(self.hasher.hash_one(prefix) as usize) % SHARDS];
        let mut shard = match shard.lock() {
            Ok(shard) => shard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (rate, capacity) = (self.rate, self.rate * COST);
        if let Some(bucket) = shard.buckets.get_mut(&prefix) {
            return bucket.take(rate, capacity, now);
        }
        if shard.buckets.len() >= RRL_MAX_PREFIXES / SHARDS {
            shard.sweep(rate, capacity, now);
        }
        if shard.buckets.len() >= RRL_MAX_PREFIXES / SHARDS {
            return shard.overflow.take(rate, capacity, now);
        }
        let mut bucket = Bucket::full(capacity, now);
        let verdict = bucket.take(rate, capacity, now);
        shard.buckets.insert(prefix, bucket);
        verdict
    }

    /// Prefixes tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap().buckets.len())
            .sum()
    }
}

impl Shard {
    /// Forgets the prefixes whose bucket has refilled: they are as a new prefix would be.
    fn sweep(&mut self, rate: u64, capacity: u64, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|last| now.saturating_duration_since(last) < RRL_SWEEP_INTERVAL)
        {
            return;
        }
        self.last_sweep = Some(now);
        self.buckets.retain(|_, bucket| {
            let mut refilled = *bucket;
            refilled.refill(rate, capacity, now);
            refilled.tokens < capacity
        });
    }
}

/// The prefix `client` is limited under: its /24 (IPv4) or /56 (IPv6).
fn prefix(client: IpAddr) -> Prefix {
    match client.to_canonical() {
        IpAddr::V4(v4) => Prefix::V4(u32::from(v4) & (u32::MAX << (32 - RRL_IPV4_PREFIX))),
        IpAddr::V6(v6) => {
            let high = (u128::from(v6) >> 64) as u64;
            Prefix::V6(high & (u64::MAX << (64 - RRL_IPV6_PREFIX)))
        }
    }
}

/// Turns the encoded response `out` into its truncated form: the header with TC set and no
/// records, and the question. Returns false (and leaves `out` alone) when it cannot be read.
pub(crate) fn truncate(out: &mut Vec<u8>) -> bool {
    if out.len() < 12 {
        return false;
    }
    let questions = u16::from_be_bytes([out[4], out[5]]);
    let end = match questions {
        0 => 12,
        1 => match skip_name(out, 12) {
            Some(at) if at + 4 <= out.len() => at + 4,
            _ => return false,
        },
        _ => return false,
    };
    out.truncate(end);
    out[2] |= 0x02; // TC
    out[6..12].fill(0); // no answer, authority or additional records
    true
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, MessageType, Query};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    use super::*;

    #[test]
    fn a_prefix_gets_its_rate_then_every_other_answer_truncated() {
        let limiter = RateLimiter::new(10);
        let now = Instant::now();
        let verdicts: Vec<_> = (0..30)
            .map(|i| limiter.check(format!("192.0.2.{i}").parse().unwrap(), now))
            .collect();
        // One /24: ten answers, then half of the rest slip and half are dropped.
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Send));
        let slipped = verdicts[10..]
            .iter()
            .filter(|v| **v == Verdict::Slip)
            .count();
        let dropped = verdicts[10..]
            .iter()
            .filter(|v| **v == Verdict::Drop)
            .count();
        assert_eq!((slipped, dropped), (10, 10));
        // Another prefix is not affected; the first refills with time.
        assert_eq!(
            limiter.check("198.51.100.1".parse().unwrap(), now),
            Verdict::Send
        );
        let later = now + Duration::from_millis(200);
        let sent = (0..10)
            .filter(|_| limiter.check("192.0.2.1".parse().unwrap(), later) == Verdict::Send)
            .count();
        assert_eq!(sent, 2, "200 ms at 10 a second");
    }

    #[test]
    fn ipv6_clients_share_a_slash_56() {
        let limiter = RateLimiter::new(1);
        let now = Instant::now();
        let at = |ip: &str| limiter.check(ip.parse().unwrap(), now);
        assert_eq!(at("2001:db8:0:1::1"), Verdict::Send);
        assert_ne!(at("2001:db8:0:ff::2"), Verdict::Send, "same /56");
        assert_eq!(at("2001:db8:0:100::1"), Verdict::Send, "another /56");
    }

    #[test]
    fn the_table_is_bounded_and_idle_prefixes_make_room() {
        let limiter = RateLimiter::new(1);
        let now = Instant::now();
        for i in 0..(RRL_MAX_PREFIXES as u32 * 2) {
            limiter.check(IpAddr::V4((i << 8).into()), now);
        }
        assert!(limiter.tracked() <= RRL_MAX_PREFIXES);
        // Over the bound, new prefixes shared the overflow buckets: limited.
        let new = IpAddr::V4((u32::MAX << 8).into());
        assert_ne!(limiter.check(new, now), Verdict::Send);
        // A second later every bucket is full again: swept, and new prefixes get room.
        let later = now + Duration::from_secs(1);
        assert_eq!(limiter.check(new, later), Verdict::Send);
        assert_eq!(
            limiter.check(new, later),
            Verdict::Drop,
            "its own bucket now"
        );
    }

    #[test]
    fn a_truncated_answer_keeps_the_question_alone() {
        let mut message = Message::query();
        message.metadata.message_type = MessageType::Response;
        message.metadata.id = 77;
        let name = Name::from_ascii("www.example.sigil.").unwrap();
        message.add_query(Query::query(name.clone(), RecordType::A));
        message.add_answer(Record::from_rdata(
            name,
            60,
            RData::A("192.0.2.8".parse().unwrap()),
        ));
        let mut bytes = message.to_vec().unwrap();
        assert!(truncate(&mut bytes));
        let back = Message::from_vec(&bytes).unwrap();
        assert!(back.metadata.truncation);
        assert_eq!(back.metadata.id, 77);
        assert_eq!(back.queries, message.queries);
        assert!(back.answers.is_empty() && back.additionals.is_empty());
        assert!(!truncate(&mut vec![0; 5]));
    }
}
