//! The request handler of UDP and TCP: chain names are answered from the ledger, everything
//! else goes to the upstream resolvers through a cache, and EDNS sizes the UDP response.

use std::iter;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use hickory_server::net::xfer::Protocol;
use hickory_server::net::{DnsError, NetError};
use hickory_server::server::Request;
use hickory_server::zone_handler::MessageResponseBuilder;
use moka::sync::Cache;
use sigil_core::read::NameReader;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{error, warn};

use crate::allow::ForwardAllow;
use crate::answer::{Answer, Validity, answer_tracked_as};
use crate::cache::AnswerCache;
use crate::dnssec::{Signer, ZoneKey};
use crate::ede::{self, Ede};
use crate::error::{Error, Result};
use crate::light::{Attempt, Light};
use crate::limits::{
    MAX_BLOCKING_READS, MAX_FORWARDS_IN_FLIGHT, MAX_UDP_PAYLOAD_BYTES, MIN_UDP_PAYLOAD_BYTES,
    SIGNATURE_REFRESH_SECS, UPSTREAM_ATTEMPTS, UPSTREAM_CACHE_ENTRIES, UPSTREAM_DEADLINE,
    UPSTREAM_FAILURE_ENTRIES, UPSTREAM_FAILURE_TTL, UPSTREAM_TIMEOUT,
};
use crate::metrics::DnsMetrics;
use crate::wire;

/// The EDNS version this server speaks.
const EDNS_VERSION: u8 = 0;

/// Answers DNS requests: chain names from a `NameReader`, the rest from upstream resolvers.
pub struct Handler {
    reader: Arc<dyn NameReader>,
    /// Set on a light resolver: chain names are answered only from proofs it fetches.
    light: Option<Arc<Light>>,
    /// `None` when no upstream is configured: names outside the chain are REFUSED.
    upstream: Option<Upstream>,
    /// The address given for `ns1.<tld>`: see [`name_server_address`].
    own: Option<IpAddr>,
    /// The clients whose questions for other names are forwarded; others are REFUSED.
    allow: ForwardAllow,
    /// Questions forwarded at once (`MAX_FORWARDS_IN_FLIGHT`).
    forwards: Arc<Semaphore>,
    /// Ledger reads on the blocking pool at once (`MAX_BLOCKING_READS`).
    reads: Arc<Semaphore>,
    /// What every transport counts as it sends a response.
    metrics: DnsMetrics,
    /// Signs chain answers for clients that set the DO bit, when the node has a zone key.
    signer: Option<Signer>,
    /// Encoded chain answers and the index of registered names (`cached`), when enabled.
    cache: Option<Arc<AnswerCache>>,
}

/// The upstream resolvers, and the questions they recently failed to answer (RFC 2308
/// section 7: a failure is remembered briefly, so that a dead upstream costs one wait, not
/// one per query).
struct Upstream {
    resolver: TokioResolver,
    failures: Cache<(Name, RecordType), Option<Ede>, ahash::RandomState>,
}

impl Handler {
    /// A handler over `reader` that forwards other names to `upstream` (UDP, then TCP when an
    /// answer is truncated), caching their answers.
    pub fn new(reader: Arc<dyn NameReader>, upstream: &[SocketAddr]) -> Result<Handler> {
        let upstream = if upstream.is_empty() {
            None
        } else {
            Some(Upstream {
                resolver: upstream_resolver(upstream)?,
                failures: Cache::builder()
                    .max_capacity(UPSTREAM_FAILURE_ENTRIES)
                    .time_to_live(UPSTREAM_FAILURE_TTL)
                    .build_with_hasher(ahash::RandomState::new()),
            })
        };
        Ok(Handler {
            reader,
            light: None,
            upstream,
            own: None,
            allow: ForwardAllow::default(),
            forwards: Arc::new(Semaphore::new(MAX_FORWARDS_IN_FLIGHT)),
            reads: Arc::new(Semaphore::new(MAX_BLOCKING_READS)),
            metrics: DnsMetrics::default(),
            signer: None,
            cache: None,
        })
    }

    /// The handler, forwarding only the questions of clients `allow` names.
    pub fn forwarding_for(mut self, allow: ForwardAllow) -> Handler {
        self.allow = allow;
        self
    }

    /// The handler of a server listening on `listen`, which gives its address for
    /// `ns1.<tld>` when [`name_server_address`] says so.
    pub fn serving_on(mut self, listen: SocketAddr) -> Handler {
        self.own = name_server_address(listen);
        self
    }

    /// The handler that signs its chain answers with `key` (none: never signs).
    pub fn signing_with(mut self, key: Option<Arc<ZoneKey>>) -> Handler {
        self.signer = key.map(|key| Signer::new(key, self.reader.tlds()));
        self
    }

    /// The handler that answers from `cache` when it can (none: never).
    pub(crate) fn caching_in(mut self, cache: Option<Arc<AnswerCache>>) -> Handler {
        self.cache = cache;
        self
    }

    /// The answer cache, if enabled.
    pub(crate) fn cache(&self) -> Option<&AnswerCache> {
        self.cache.as_deref()
    }

    /// Whether a chain answer to a query with DO bit `dnssec_ok` is signed.
    pub(crate) fn signs(&self, dnssec_ok: bool) -> bool {
        dnssec_ok && self.signer.is_some()
    }

    /// A handler that answers chain names from `light`'s proofs (fetched as needed) and
    /// forwards other names to `upstream`.
    pub fn light(light: Arc<Light>, upstream: &[SocketAddr]) -> Result<Handler> {
        let mut handler = Handler::new(light.clone(), upstream)?;
        handler.light = Some(light);
        Ok(handler)
    }

    /// Whether answers must not come from the answer cache now: a light resolver whose
    /// newest verified header is older than its `--max-age`.
    pub(crate) fn unproven_now(&self) -> bool {
        self.light.as_ref().is_some_and(|light| !light.is_fresh())
    }

    /// The counters of the responses sent.
    pub fn metrics(&self) -> &DnsMetrics {
        &self.metrics
    }

    /// The ledger the handler answers from.
    pub(crate) fn reader(&self) -> &dyn NameReader {
        self.reader.as_ref()
    }

    /// Whether names outside the chain are forwarded for `client` (the RA bit of the
    /// responses to it).
    pub(crate) fn recursion_available(&self, client: IpAddr) -> bool {
        self.upstream.is_some() && self.allow.allows(client)
    }

    /// The answer to `request` (TCP, DNS over TLS and HTTPS): from the ledger, read on the
    /// blocking pool so that the async workers never wait on the disk, or from the upstream
    /// resolvers.
    pub(crate) async fn reply(self: &Arc<Self>, request: &Arc<Request>) -> Answer {
        self.reply_tracked(request).await.0
    }

    /// [`Handler::reply`], with what a chain answer was computed from (for the answer cache).
    pub(crate) async fn reply_tracked(
        self: &Arc<Self>,
        request: &Arc<Request>,
    ) -> (Answer, Option<Validity>) {
        let decision = if self.light.is_some() {
            // A light resolver reads only what it holds in memory.
            self.decide(request)
        } else {
            let Ok(_turn) = self.reads.acquire().await else {
                return (Answer::empty(ResponseCode::ServFail), None);
            };
            let (handler, request) = (self.clone(), request.clone());
            match tokio::task::spawn_blocking(move || handler.decide(&request)).await {
                Ok(decision) => decision,
                Err(error) => {
                    error!(%error, "a ledger read for a DNS answer failed");
                    return (Answer::empty(ResponseCode::ServFail), None);
                }
            }
        };
        match decision {
            Decision::Answered(reply, validity) => (reply, validity),
            Decision::Forward(name, qtype) => match self.forward_permit() {
                Some(permit) => (self.forward(permit, name, qtype).await, None),
                None => (busy(), None),
            },
            Decision::Prove(name, qtype) => (self.prove(name, qtype).await, None),
        }
    }

    /// A turn to forward a question, if fewer than `MAX_FORWARDS_IN_FLIGHT` are under way;
    /// without one, the client gets [`busy`] at once.
    pub(crate) fn forward_permit(&self) -> Option<OwnedSemaphorePermit> {
        self.forwards.clone().try_acquire_owned().ok()
    }

    /// Forwards `name` for `client` if it may use the upstream resolvers; else REFUSED, with
    /// an Extended DNS Error saying so.
    fn forward_for(&self, client: IpAddr, name: Name, qtype: RecordType) -> Decision {
        if self.allow.allows(client) {
            return Decision::Forward(name, qtype);
        }
        let refused = Answer {
            ede: Some(Ede {
                info_code: ede::PROHIBITED,
                text:
                    "names outside the chain are forwarded only for the clients of --forward-allow"
                        .into(),
            }),
            ..Answer::empty(ResponseCode::Refused)
        };
        Decision::Answered(refused, None)
    }

    /// Answers `request` from the ledger when it can (no I/O but ledger reads), or says which
    /// question to forward. A chain answer comes with what it was computed from; one to be
    /// signed holds no longer than its signatures are fresh.
    pub(crate) fn decide(&self, request: &Request) -> Decision {
        let mut decision = self.decide_unsigned(request);
        if let Decision::Answered(reply, Some(validity)) = &mut decision
            && reply.dnssec.is_some()
            && self.signs(dnssec_ok(request))
        {
            let now_secs = (sigil_core::time::now_ms() / 1000) as i64;
            validity.until_secs = validity
                .until_secs
                .min(now_secs.saturating_add(SIGNATURE_REFRESH_SECS));
        }
        decision
    }

    fn decide_unsigned(&self, request: &Request) -> Decision {
        let done = |rcode| Decision::Answered(Answer::empty(rcode), None);
        if compressed_question(request) {
            return done(ResponseCode::FormErr);
        }
        if request
            .edns
            .as_ref()
            .is_some_and(|edns| edns.version() > EDNS_VERSION)
        {
            return done(ResponseCode::BADVERS);
        }
        if request.metadata.message_type != MessageType::Query {
            return done(ResponseCode::FormErr);
        }
        if request.metadata.op_code != OpCode::Query {
            return done(ResponseCode::NotImp);
        }
        let Ok(info) = request.request_info() else {
            return done(ResponseCode::FormErr); // not exactly one question
        };
        // A query carries a question and nothing else but EDNS (as NSD checks).
        if !request.answers.is_empty() || !request.authorities.is_empty() {
            return done(ResponseCode::FormErr);
        }
        let query = info.query;
        let qtype = query.query_type();
        if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
            return done(ResponseCode::Refused);
        }
        // Only Internet-class data is served, and the upstream resolvers are asked in that
        // class alone: any other class is refused, chain name or not, as NSD refuses a
        // class it has no zone in.
        if query.query_class() != DNSClass::IN {
            return done(ResponseCode::Refused);
        }
        let name = Name::from(query.name());
        // The zone key at a zone's apex: the node's own, whatever the ledger holds.
        if qtype == RecordType::DNSKEY
            && let Some(signer) = &self.signer
            && let Some(zone) = signer.apex(&name)
        {
            let validity = Validity {
                height: self.reader.tip_height(),
                names: Vec::new(),
                identities: Vec::new(),
                until_height: sigil_core::types::Height::MAX,
                until_secs: i64::MAX,
            };
            return Decision::Answered(signer.dnskey_answer(zone), Some(validity));
        }
        if let Some(light) = &self.light {
            return match light.attempt(&name, qtype) {
                Attempt::Outside if self.upstream.is_some() => {
                    self.forward_for(request.src().ip(), name, qtype)
                }
                Attempt::Outside => done(ResponseCode::Refused),
                Attempt::Answered(reply, validity) => Decision::Answered(reply, validity),
                Attempt::NeedsProofs => Decision::Prove(name, qtype),
            };
        }
        match answer_tracked_as(self.reader.as_ref(), &name, qtype, self.own) {
            Ok(Some((reply, validity))) => Decision::Answered(reply, Some(validity)),
            Ok(None) if self.upstream.is_some() => {
                self.forward_for(request.src().ip(), name, qtype)
            }
            Ok(None) => done(ResponseCode::Refused),
            Err(error) => {
                error!(%name, %qtype, %error, "cannot answer a chain name from the ledger");
                done(ResponseCode::ServFail)
            }
        }
    }

    /// Asks the upstream resolvers (REFUSED when there are none), within
    /// `UPSTREAM_DEADLINE`, holding `_turn` until done; a failure is SERVFAIL with an
    /// Extended DNS Error, and is remembered for `UPSTREAM_FAILURE_TTL`.
    pub(crate) async fn forward(
        &self,
        _turn: OwnedSemaphorePermit,
        name: Name,
        qtype: RecordType,
    ) -> Answer {
        let Some(upstream) = &self.upstream else {
            return Answer::empty(ResponseCode::Refused);
        };
        let key = (name.to_lowercase(), qtype);
        if let Some(ede) = upstream.failures.get(&key) {
            return Answer {
                ede,
                ..Answer::empty(ResponseCode::ServFail)
            };
        }
        let reply = forward(&upstream.resolver, name, qtype).await;
        if reply.rcode == ResponseCode::ServFail {
            upstream.failures.insert(key, reply.ede.clone());
        }
        reply
    }

    /// A light resolver's answer from proofs fetched for it (SERVFAIL with the reason when
    /// it cannot be proven).
    pub(crate) async fn prove(&self, name: Name, qtype: RecordType) -> Answer {
        match &self.light {
            Some(light) => light.prove_answer(&name, qtype).await,
            None => Answer::empty(ResponseCode::ServFail),
        }
    }

    /// The UDP response to `request` carrying `reply`, fitted into the response EDNS size
    /// (512 bytes without EDNS): whole RRsets only, the OPT record kept, TC set when an
    /// answer or authority record is left out.
    pub(crate) fn encode_udp(&self, request: &Request, reply: &Answer) -> Vec<u8> {
        self.encode(request, reply, true)
    }

    /// The TCP response to `request` carrying `reply`: all of it.
    pub(crate) fn encode_tcp(&self, request: &Request, reply: &Answer) -> Vec<u8> {
        self.encode(request, reply, false)
    }

    /// The reply to one query packet from `src` as the UDP (`udp`) or TCP server gives it
    /// past the answer cache; `None` where the server sends nothing (not a DNS message, or a
    /// response). How the fuzz targets (tests/fuzz) put a whole query through the handler.
    pub async fn answer_packet(
        self: &Arc<Self>,
        packet: &[u8],
        src: SocketAddr,
        udp: bool,
    ) -> Option<Vec<u8>> {
        let protocol = if udp { Protocol::Udp } else { Protocol::Tcp };
        let request = Request::from_bytes(packet.to_vec(), src, protocol).ok()?;
        if request.metadata.message_type != MessageType::Query {
            return None;
        }
        let request = Arc::new(request);
        let reply = self.reply(&request).await;
        Some(self.encode(&request, &reply, udp))
    }

    fn encode(&self, request: &Request, reply: &Answer, udp: bool) -> Vec<u8> {
        if compressed_question(request) {
            // Its bytes are echoed as sent, and the pointer would land in our header.
            return header_only(request, reply.rcode);
        }
        let signed;
        let reply = match &self.signer {
            Some(signer) if reply.dnssec.is_some() && dnssec_ok(request) => {
                let now = (sigil_core::time::now_ms() / 1000) as u32;
                match signer.sign(reply, now) {
                    Ok(answer) => {
                        signed = answer;
                        &signed
                    }
                    Err(error) => {
                        error!(%error, "cannot sign an answer");
                        return servfail(request.metadata.id);
                    }
                }
            }
            _ => reply,
        };
        let response_edns = response_edns(request, reply);
        let ra = self.recursion_available(request.src().ip());
        let metadata = response_metadata(request, reply, ra);
        let response = MessageResponseBuilder::new(&request.queries, response_edns.as_ref()).build(
            metadata,
            reply.answers.iter(),
            reply.authority.iter(),
            iter::empty(),
            reply.additionals.iter(),
        );
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        if let Err(error) = response.destructive_emit(&mut encoder) {
            error!(%error, "error encoding message");
            return servfail(metadata.id);
        }
        let limit = usize::from(
            response_edns
                .as_ref()
                .map_or(MIN_UDP_PAYLOAD_BYTES, Edns::max_payload),
        );
        if udp && bytes.len() > limit {
            let (set_ends, required) = rrset_ends(reply);
            if wire::fit(&mut bytes, limit, &set_ends, required).is_none() {
                error!(
                    len = bytes.len(),
                    "cannot fit a response into a UDP datagram"
                );
                return servfail(metadata.id);
            }
        }
        bytes
    }
}

/// For each record of `reply` (answer, authority and additional sections in order), whether
/// it is the last of its RRset; and how many records from the start a client needs (their
/// loss sets TC): the answer and authority sections, and the glue of a referral.
fn rrset_ends(reply: &Answer) -> (Vec<bool>, usize) {
    let sections = [&reply.answers, &reply.authority, &reply.additionals];
    let mut ends = Vec::with_capacity(sections.iter().map(|s| s.len()).sum());
    for section in sections {
        for (i, record) in section.iter().enumerate() {
            let same_set = section.get(i + 1).is_some_and(|next| {
                next.record_type() == record.record_type()
                    && next.dns_class == record.dns_class
                    && next.name == record.name
            });
            ends.push(!same_set);
        }
    }
    let referral = reply.answers.is_empty()
        && reply
            .authority
            .iter()
            .any(|r| r.record_type() == RecordType::NS);
    let glue = if referral { reply.additionals.len() } else { 0 };
    (ends, reply.answers.len() + reply.authority.len() + glue)
}

/// The address a server listening on `listen` gives for `ns1.<tld>`: its own, when it is a
/// given address (not "any") on port 53, the port an NS record's address implies; else none.
pub fn name_server_address(listen: SocketAddr) -> Option<IpAddr> {
    (listen.port() == 53 && !listen.ip().is_unspecified()).then(|| listen.ip())
}

/// What to do with a request: the answer (with what a chain answer was computed from), a
/// question for the upstream resolvers, or (light resolver) a chain name whose proofs must
/// be fetched first.
pub(crate) enum Decision {
    Answered(Answer, Option<Validity>),
    Forward(Name, RecordType),
    Prove(Name, RecordType),
}

/// Whether `request` sets the DO bit (RFC 3225): it wants DNSSEC records.
fn dnssec_ok(request: &Request) -> bool {
    request
        .edns
        .as_ref()
        .is_some_and(|edns| edns.flags().dnssec_ok)
}

/// Our EDNS answer to the client's: its buffer size (at least 512) bounds the UDP response,
/// capped where fragmentation starts; the DO bit is echoed (RFC 3225); the reply's Extended
/// DNS Error goes in it.
fn response_edns(request: &Request, reply: &Answer) -> Option<Edns> {
    request.edns.as_ref().map(|client| {
        let mut edns = Edns::new();
        edns.set_max_payload(
            client
                .max_payload()
                .clamp(MIN_UDP_PAYLOAD_BYTES, MAX_UDP_PAYLOAD_BYTES),
        );
        edns.set_version(EDNS_VERSION);
        edns.set_dnssec_ok(client.flags().dnssec_ok);
        if let Some(error) = &reply.ede {
            ede::add(&mut edns, error.info_code, &error.text);
        }
        edns
    })
}

fn response_metadata(request: &Request, reply: &Answer, recursion_available: bool) -> Metadata {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.authoritative = reply.authoritative;
    metadata.recursion_available = recursion_available;
    metadata.response_code = reply.rcode;
    metadata
}

/// A bare SERVFAIL header, what hickory sends when a response cannot be encoded.
fn servfail(id: u16) -> Vec<u8> {
    let mut metadata = Metadata::new(id, MessageType::Response, OpCode::Query);
    metadata.response_code = ResponseCode::ServFail;
    emit_header(metadata)
}

/// Whether a name of the question section is compressed. In a query the questions come first,
/// so such a pointer can only point into the header, at another question or ahead: NSD answers
/// FORMERR with the header alone, and so do we (hickory echoes the questions' bytes as sent, and
/// a pointer into the header or ahead then lands on other bytes of the response).
fn compressed_question(request: &Request) -> bool {
    let bytes = request.queries.as_bytes();
    let mut at = 0;
    while let Some(&len) = bytes.get(at) {
        if len & 0xc0 != 0 {
            return true;
        }
        // The next label, or past the root label the question's type and class.
        at += 1 + if len == 0 { 4 } else { usize::from(len) };
    }
    false
}

/// A response of a header only, with `rcode`, to `request` (its ID, opcode and RD echoed).
fn header_only(request: &Request, rcode: ResponseCode) -> Vec<u8> {
    let mut metadata = Metadata::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    metadata.recursion_desired = request.metadata.recursion_desired;
    metadata.response_code = rcode;
    emit_header(metadata)
}

fn emit_header(metadata: Metadata) -> Vec<u8> {
    let header = Header {
        metadata,
        counts: HeaderCounts::default(),
    };
    let mut bytes = Vec::with_capacity(12);
    let mut encoder = BinEncoder::new(&mut bytes);
    match header.emit(&mut encoder) {
        Ok(()) => bytes,
        Err(_) => Vec::new(),
    }
}

/// The answer to a question for the upstream resolvers when `MAX_FORWARDS_IN_FLIGHT` are
/// under way already: SERVFAIL at once, with an Extended DNS Error saying why.
pub(crate) fn busy() -> Answer {
    Answer {
        ede: Some(Ede {
            info_code: ede::OTHER,
            text: "too many questions forwarded at once; try again".into(),
        }),
        ..Answer::empty(ResponseCode::ServFail)
    }
}

/// The resolver behind forwarding: the given servers over UDP and TCP, no hosts file, no
/// search list, CNAME chains kept in answers, and hickory's answer cache.
fn upstream_resolver(addrs: &[SocketAddr]) -> Result<TokioResolver> {
    let servers = addrs
        .iter()
        .map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
        })
        .collect();
    let mut builder = Resolver::builder_with_config(
        ResolverConfig::from_name_servers(servers),
        TokioRuntimeProvider::default(),
    );
    let options = builder.options_mut();
    options.timeout = UPSTREAM_TIMEOUT;
    options.attempts = UPSTREAM_ATTEMPTS;
    options.cache_size = UPSTREAM_CACHE_ENTRIES;
    options.preserve_intermediates = true;
    options.use_hosts_file = ResolveHosts::Never;
    options.recursion_desired = true;
    builder.build().map_err(|e| Error::Upstream {
        upstream: addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        detail: e.to_string(),
    })
}

/// Asks the upstream resolvers (or their cache) within `UPSTREAM_DEADLINE`; a negative
/// answer passes through with its SOA, any failure becomes SERVFAIL with an Extended DNS
/// Error saying why.
async fn forward(resolver: &TokioResolver, name: Name, qtype: RecordType) -> Answer {
    let failed = |info_code, text: &'static str| Answer {
        ede: Some(Ede {
            info_code,
            text: text.into(),
        }),
        ..Answer::empty(ResponseCode::ServFail)
    };
    let Ok(result) =
        tokio::time::timeout(UPSTREAM_DEADLINE, resolver.lookup(name.clone(), qtype)).await
    else {
        warn!(%name, %qtype, "no upstream resolver answered in time");
        return failed(
            ede::NO_REACHABLE_AUTHORITY,
            "no upstream resolver answered in time",
        );
    };
    match result {
        Ok(lookup) => Answer {
            answers: lookup.answers().to_vec(),
            ..Answer::empty(ResponseCode::NoError)
        },
        Err(NetError::Dns(DnsError::NoRecordsFound(none))) => {
            let rcode = if none.response_code == ResponseCode::NXDomain {
                ResponseCode::NXDomain
            } else {
                ResponseCode::NoError
            };
            Answer {
                authority: none
                    .soa
                    .map(|soa| soa.into_record_of_rdata())
                    .into_iter()
                    .collect(),
                ..Answer::empty(rcode)
            }
        }
        Err(error @ (NetError::Timeout | NetError::NoConnections)) => {
            warn!(%name, %qtype, %error, "no upstream resolver answered");
            failed(
                ede::NO_REACHABLE_AUTHORITY,
                "no upstream resolver answered in time",
            )
        }
        Err(error) => {
            warn!(%name, %qtype, %error, "upstream lookup failed");
            failed(ede::NETWORK_ERROR, "the upstream resolver failed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_given_address_on_port_53_is_the_name_servers() {
        let at = |listen: &str| name_server_address(listen.parse().unwrap());
        assert_eq!(at("192.0.2.53:53"), Some("192.0.2.53".parse().unwrap()));
        assert_eq!(
            at("[2001:db8::53]:53"),
            Some("2001:db8::53".parse().unwrap())
        );
        assert_eq!(at("127.0.0.1:5353"), None);
        assert_eq!(at("0.0.0.0:53"), None);
        assert_eq!(at("[::]:53"), None);
    }
}
