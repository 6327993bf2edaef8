//! DNS over UDP: one thread per core receives queries on the shared socket in batches and
//! answers chain names there, from the answer cache, the index of registered names (NXDOMAIN)
//! or the ledger (encoding the answer and caching it), with no task per query; only questions
//! for the upstream resolvers go to the async runtime.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use hickory_proto::op::MessageType;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::Request;
use sigil_core::types::Height;
use tracing::{debug, warn};

use crate::batch::{Datagrams, send_one};
use crate::cache::{AnswerCache, Lookup};
use crate::handler::{Decision, Handler};
use crate::limits::{MAX_UDP_THREADS, UDP_POLL_INTERVAL};
use crate::wire::{Under, plain_query, soa_serials};

/// The running UDP threads.
pub(crate) struct UdpThreads {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl UdpThreads {
    /// Starts answering on `socket`: chain names on these threads, forwarded names on
    /// `runtime`.
    pub(crate) fn start(
        socket: UdpSocket,
        handler: Arc<Handler>,
        cache: Option<Arc<AnswerCache>>,
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
            // The tip and the clock, read once for the batch.
            let tip = self.handler.reader().tip_height();
            let now_secs = (sigil_core::time::now_ms() / 1000) as i64;
            for i in 0..received {
                let (packet, src, out) = datagrams.slot(i);
                let Some(src) = src.filter(|&src| can_answer(src)) else {
                    debug!(?src, "not answering a UDP query from this address");
                    continue;
                };
                let scratch = (&mut key, &mut name);
                if self.answer(packet, src, (tip, now_secs), scratch, out) {
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
            match cache.lookup(reader, key, registered, tip, now_secs) {
                Lookup::Hit(entry) => {
                    entry.write(query.header, query.question, tip, out);
                    return true;
                }
                Lookup::Unregistered if !signed => {
                    if let Some(Under::Name { tld }) = under {
                        let ra = self.handler.recursion_available();
                        query.write_nxdomain(tld, tip as u32, ra, out);
                        return true;
                    }
                }
                Lookup::Unregistered | Lookup::Miss => {}
            }
            if let Some(Under::Unregistrable { tld }) = under.filter(|_| !signed) {
                let ra = self.handler.recursion_available();
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
                let handler = self.handler.clone();
                let socket = self.socket.clone();
                self.runtime.spawn(async move {
                    let reply = handler.forward(name, qtype).await;
                    let bytes = handler.encode_udp(&request, &reply);
                    send_one(&socket, &bytes, src);
                });
                false
            }
            Decision::Prove(name, qtype) => {
                let handler = self.handler.clone();
                let socket = self.socket.clone();
                self.runtime.spawn(async move {
                    let reply = handler.prove(name, qtype).await;
                    let bytes = handler.encode_udp(&request, &reply);
                    send_one(&socket, &bytes, src);
                });
                false
            }
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
