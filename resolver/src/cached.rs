//! The path every DNS transport but DoH tries first: a plain query answered from the answer
//! cache or the index of registered names without decoding it, and the full path's answers
//! kept for the next ones.

use std::net::IpAddr;

use sigil_core::types::Height;

use crate::answer::Validity;
use crate::cache::Lookup;
use crate::handler::Handler;
use crate::metrics::CacheOutcome;
use crate::wire::{Under, plain_query, soa_serials};

/// A connection's or thread's buffers for the cached path, reused from query to query.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The cache key of the last query looked up.
    key: Vec<u8>,
    /// The registered name it falls under.
    name: Vec<u8>,
    /// Set by a miss of a plain query: its answer from the full path may be kept under `key`;
    /// `true` when that answer is signed.
    keep: Option<bool>,
}

impl Handler {
    /// Writes the answer to `packet` from `client` at tip `tip` and unix time `now_secs` into
    /// `out` when the cache or the index of registered names has it, and says so. `stream`
    /// is for TCP and DNS over TLS, whose answers are never fitted to a datagram and so are
    /// kept apart from UDP's. On a miss, `scratch` remembers whether [`Handler::keep_answer`]
    /// may keep the full path's answer.
    pub(crate) fn answer_from_cache(
        &self,
        packet: &[u8],
        client: IpAddr,
        stream: bool,
        (tip, now_secs): (Height, i64),
        scratch: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> bool {
        scratch.keep = None;
        let Some(query) = plain_query(packet) else {
            return false;
        };
        // A light resolver whose header is stale answers nothing from the cache.
        let Some(cache) = self.cache().filter(|_| !self.unproven_now()) else {
            return false;
        };
        // A signed answer is never the unsigned NXDOMAIN of the index, and its SOA serials
        // are signed: they stay as they were (see `Handler::decide`).
        let signed = self.signs(query.dnssec_ok);
        query.key_into(&mut scratch.key, stream);
        let reader = self.reader();
        let under = query.under_tld(reader.tlds(), &mut scratch.name);
        let registered = match under {
            Some(Under::Name { .. }) => Some(scratch.name.as_slice()),
            _ => None,
        };
        let lookup = cache.lookup(reader, &scratch.key, registered, tip, now_secs);
        self.metrics().cache_lookup(match &lookup {
            Lookup::Hit(_) => CacheOutcome::Hit,
            Lookup::Unregistered => CacheOutcome::Unregistered,
            Lookup::Miss => CacheOutcome::Miss,
        });
        match lookup {
            Lookup::Hit(entry) => {
                entry.write(query.header, query.question, tip, out);
                return true;
            }
            Lookup::Unregistered if !signed => {
                if let Some(Under::Name { tld }) = under {
                    let ra = self.recursion_available(client);
                    query.write_nxdomain(tld, tip as u32, ra, out);
                    return true;
                }
            }
            Lookup::Unregistered | Lookup::Miss => {}
        }
        if let Some(Under::Unregistrable { tld }) = under.filter(|_| !signed) {
            let ra = self.recursion_available(client);
            query.write_nxdomain(tld, tip as u32, ra, out);
            return true;
        }
        scratch.keep = Some(signed);
        false
    }

    /// Keeps `answer`, the full path's encoded answer to the query `scratch` last missed, for
    /// as long as `validity` (none: not a chain answer) says it holds.
    pub(crate) fn keep_answer(&self, scratch: &Scratch, answer: &[u8], validity: Option<Validity>) {
        let (Some(signed), Some(cache), Some(validity)) = (scratch.keep, self.cache(), validity)
        else {
            return;
        };
        if let Some(serials) = soa_serials(answer) {
            let serials = if signed { vec![] } else { serials };
            cache.insert(&scratch.key, answer, serials, validity);
        }
    }
}
