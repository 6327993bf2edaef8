//! DNS over UDP: one thread per core receives queries on the shared socket in batches and
//! answers chain names there, from the answer cache, the index of registered names (NXDOMAIN)
//! or the ledger (encoding the answer and caching it), with no task per query; only questions
//! for the upstream resolvers (at most `MAX_FORWARDS_IN_FLIGHT`) go to the async runtime.
//! The answers made here pass the response rate limiter (`rrl`).

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use hickory_proto::op::MessageType;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::Request;
use sigil_core::types::Height;
use tracing::{debug, warn};

use crate::batch::{Datagrams, send_one};
use crate::cache::{AnswerCache, Lookup};
use crate::handler::{Decision, Handler, busy};
use crate::limits::{MAX_UDP_THREADS, UDP_POLL_INTERVAL};
use crate::metrics::CacheOutcome;
use crate::rrl::{self, RateLimiter, Verdict};
use crate::wire::{Under, plain_query, soa_serials};

/// The running UDP threads.
pub(crate) struct UdpThreads {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpThreads {
    /// Starts answering on `socket`: chain names on these threads, forwarded names on
    /// `runtime`; the answers made here limited by `limiter`, if any.
    pub(crate) fn start(
        socket: UdpSocket,
        handler: Arc<Handler>,
        cache: Option<Arc<AnswerCache>>,
        limiter: Option<Arc<RateLimiter>>,
        runtime: tokio::runtime::Handle,
    ) -> io::Result<UdpThreads> {
        socket.set_read_timeout(Some(UDP_POLL_INTERVAL))?;
        let socket = Arc::new(socket);
        let stop = Arc::new(AtomicBool::new(false));
        let count = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_UDP_THREADS);
        let mut threads = Vec::with_capacity(count);
        for i in 0..count {
            let worker = Worker {
                socket: socket.clone(),
                handler: handler.clone(),
                cache: cache.clone(),
                limiter: limiter.clone(),
                runtime: runtime.clone(),
                stop: stop.clone(),
            };
            threads.push(
                std::thread::Builder::new()
                    .name(format!("dns-udp-{i}"))
                    .spawn(move || worker.run())?,
            );
        }
        Ok(UdpThreads { stop, threads })
    }

    /// Stops the threads and waits for them (each notices within the poll interval).
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in std::mem::take(&mut self.threads) {
            if thread.join().is_err() {
                warn!("a DNS UDP thread panicked");
            }
        }
    }
}

impl Drop for UdpThreads {
    /// Without `stop`, the threads end on their own within the poll interval.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Worker {
    socket: Arc<UdpSocket>,
    handler: Arc<Handler>,
    cache: Option<Arc<AnswerCache>>,
    limiter: Option<Arc<RateLimiter>>,
    runtime: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(self) {
        let mut datagrams = Datagrams::new();
        let mut key = Vec::with_capacity(512);
        let mut name = Vec::with_capacity(128);
        while !self.stop.load(Ordering::Relaxed) {
            let received = match datagrams.receive(&self.socket) {
                Ok(received) => received,
                Err(e) => {
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionReset
                    ) {
                        warn!(error = %e, "error receiving a DNS query over UDP");
                    }
                    continue;
                }
            };
            // The tip and the clocks, read once for the batch.
            let tip = self.handler.reader().tip_height();
            let now_secs = (sigil_core::time::now_ms() / 1000) as i64;
            let now = Instant::now();
            for i in 0..received {
                let (packet, src, out) = datagrams.slot(i);
                let Some(src) = src.filter(|&src| can_answer(src)) else {
                    debug!(?src, "not answering a UDP query from this address");
                    continue;
                };
                let scratch = (&mut key, &mut name);
                if self.answer(packet, src, (tip, now_secs), scratch, out)
                    && limit(self.limiter.as_deref(), src, now, out)
                {
                    self.handler.metrics().sent(out, now);
                    datagrams.queue(i, src);
                }
            }
            datagrams.send(&self.socket);
        }
    }

    /// Answers one datagram into `out` at tip `tip` and unix time `now_secs`, from the cache
    /// when it can; returns whether there is a reply to send now.
    fn answer(
        &self,
        packet: &[u8],
        src: SocketAddr,
        (tip, now_secs): (Height, i64),
        (key, name): (&mut Vec<u8>, &mut Vec<u8>),
        out: &mut Vec<u8>,
    ) -> bool {
        let plain = plain_query(packet);
        // A signed answer is never the unsigned NXDOMAIN of the index, and its SOA serials are
        // signed: they stay as they were (see `Handler::decide`).
        let signed = plain.is_some_and(|query| self.handler.signs(query.dnssec_ok));
        // A light resolver whose header is stale answers nothing from the cache.
        let cache = self.cache.as_ref().filter(|_| !self.handler.unproven_now());
        if let (Some(query), Some(cache)) = (&plain, cache) {
            query.key_into(key);
            let reader = self.handler.reader();
            let under = query.under_tld(reader.tlds(), name);
            let registered = match under {
                Some(Under::Name { .. }) => Some(name.as_slice()),
                _ => None,
            };
            let lookup = cache.lookup(reader, key, registered, tip, now_secs);
            self.handler.metrics().cache_lookup(match &lookup {
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
                        let ra = self.handler.recursion_available(src.ip());
                        query.write_nxdomain(tld, tip as u32, ra, out);
                        return true;
                    }
                }
                Lookup::Unregistered | Lookup::Miss => {}
            }
            if let Some(Under::Unregistrable { tld }) = under.filter(|_| !signed) {
                let ra = self.handler.recursion_available(src.ip());
                query.write_nxdomain(tld, tip as u32, ra, out);
                return true;
            }
        }
        let request = match Request::from_bytes(packet.to_vec(), src, Protocol::Udp) {
            Ok(request) => request,
            Err(error) => {
                // Dropped, as NSD drops it: a reply would make us a reflector of garbage.
                debug!(%src, %error, "dropping a UDP packet that is not a DNS message");
                return false;
            }
        };
        if request.metadata.message_type == MessageType::Response {
            return false; // never answer a response: no reflection
        }
        match self.handler.decide(&request) {
            Decision::Answered(reply, validity) => {
                *out = self.handler.encode_udp(&request, &reply);
                if let (Some(_), Some(cache), Some(validity)) = (&plain, cache, validity)
                    && let Some(serials) = soa_serials(out).map(|s| if signed { vec![] } else { s })
                {
                    cache.insert(key, out, serials, validity);
                }
                true
            }
            Decision::Forward(name, qtype) => {
                // Only clients of the allow list get here; past the bound, they are told at
                // once (an answer of our own, rate limited as the others).
                let Some(permit) = self.handler.forward_permit() else {
                    *out = self.handler.encode_udp(&request, &busy());
                    return true;
                };
                let handler = self.handler.clone();
                let socket = self.socket.clone();
                let started = Instant::now();
                self.runtime.spawn(async move {
                    let reply = handler.forward(permit, name, qtype).await;
                    let bytes = handler.encode_udp(&request, &reply);
                    handler.metrics().sent(&bytes, started);
                    send_one(&socket, &bytes, src);
                });
                false
            }
            Decision::Prove(name, qtype) => {
                let handler = self.handler.clone();
                let socket = self.socket.clone();
                let limiter = self.limiter.clone();
                let started = Instant::now();
                self.runtime.spawn(async move {
                    let reply = handler.prove(name, qtype).await;
                    let mut bytes = handler.encode_udp(&request, &reply);
                    if limit(limiter.as_deref(), src, Instant::now(), &mut bytes) {
                        handler.metrics().sent(&bytes, started);
                        send_one(&socket, &bytes, src);
                    }
                });
                false
            }
        }
    }
}

/// Whether the answer `out` to `src` is sent (truncated, if it slips through over the
/// limit), or dropped.
fn limit(limiter: Option<&RateLimiter>, src: SocketAddr, now: Instant, out: &mut Vec<u8>) -> bool {
    match limiter.map_or(Verdict::Send, |limiter| limiter.check(src.ip(), now)) {
        Verdict::Send => true,
        Verdict::Slip => rrl::truncate(out),
        Verdict::Drop => {
            debug!(%src, "rate limited: dropping an answer");
            false
        }
    }
}

/// Whether a response can go to `src`: not port 0, not an unspecified or broadcast address
/// (the checks hickory's server makes).
pub(crate) fn can_answer(src: SocketAddr) -> bool {
    src.port() != 0
        && match src.ip() {
            IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_broadcast(),
            IpAddr::V6(v6) => !v6.is_unspecified(),
        }
}
