//! The hickory-server request handler: chain names are answered from the ledger, everything
//! else goes to the upstream resolvers through a cache, and EDNS sizes the UDP response.

use std::future::Future;
use std::iter;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use hickory_server::net::runtime::Time;
use hickory_server::net::{DnsError, NetError};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageResponseBuilder, Queries};
use sigil_core::read::NameReader;
use tracing::{error, warn};

use crate::answer::{Answer, EDE_OPTION, Validity, answer_tracked};
use crate::error::{Error, Result};
use crate::light::{Attempt, Light};
use crate::limits::{
    MAX_UDP_PAYLOAD_BYTES, MIN_UDP_PAYLOAD_BYTES, UPSTREAM_ATTEMPTS, UPSTREAM_CACHE_ENTRIES,
    UPSTREAM_TIMEOUT,
};

/// The EDNS version this server speaks.
const EDNS_VERSION: u8 = 0;

/// Answers DNS requests: chain names from a `NameReader`, the rest from upstream resolvers.
pub struct Handler {
    reader: Arc<dyn NameReader>,
    /// Set on a light resolver: chain names are answered only from proofs it fetches.
    light: Option<Arc<Light>>,
    /// `None` when no upstream is configured: names outside the chain are REFUSED.
    upstream: Option<TokioResolver>,
}

impl Handler {
    /// A handler over `reader` that forwards other names to `upstream` (UDP, then TCP when an
    /// answer is truncated), caching their answers.
    pub fn new(reader: Arc<dyn NameReader>, upstream: &[SocketAddr]) -> Result<Handler> {
        let upstream = if upstream.is_empty() {
            None
        } else {
            Some(upstream_resolver(upstream)?)
        };
        Ok(Handler {
            reader,
            light: None,
            upstream,
        })
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

    /// The ledger the handler answers from.
    pub(crate) fn reader(&self) -> &dyn NameReader {
        self.reader.as_ref()
    }

    /// Whether names outside the chain are forwarded (the RA bit of every response).
    pub(crate) fn recursion_available(&self) -> bool {
        self.upstream.is_some()
    }

    async fn respond<R: ResponseHandler>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let reply = self.reply(request).await;
        let response_edns = response_edns(request, &reply);
        send(
            request,
            response_edns.as_ref(),
            &reply,
            self.upstream.is_some(),
            response_handle,
        )
        .await
    }

    async fn reply(&self, request: &Request) -> Answer {
        match self.decide(request) {
            Decision::Answered(reply, _) => reply,
            Decision::Forward(name, qtype) => self.forward(name, qtype).await,
            Decision::Prove(name, qtype) => self.prove(name, qtype).await,
        }
    }

    /// Answers `request` from the ledger when it can (no I/O but ledger reads), or says which
    /// question to forward. A chain answer comes with what it was computed from.
    pub(crate) fn decide(&self, request: &Request) -> Decision {
        let done = |rcode| Decision::Answered(Answer::empty(rcode), None);
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
        let query = info.query;
        let qtype = query.query_type();
        if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
            return done(ResponseCode::Refused);
        }
        let name = Name::from(query.name());
        if let Some(light) = &self.light {
            return match light.attempt(&name, qtype) {
                Attempt::Outside if self.upstream.is_some() => Decision::Forward(name, qtype),
                Attempt::Outside => done(ResponseCode::Refused),
                _ if query.query_class() != DNSClass::IN => done(ResponseCode::Refused),
                Attempt::Answered(reply, validity) => Decision::Answered(reply, validity),
                Attempt::NeedsProofs => Decision::Prove(name, qtype),
            };
        }
        match answer_tracked(self.reader.as_ref(), &name, qtype) {
            Ok(Some(_)) if query.query_class() != DNSClass::IN => done(ResponseCode::Refused),
            Ok(Some((reply, validity))) => Decision::Answered(reply, Some(validity)),
            Ok(None) if self.upstream.is_some() => Decision::Forward(name, qtype),
            Ok(None) => done(ResponseCode::Refused),
            Err(error) => {
                error!(%name, %qtype, %error, "cannot answer a chain name from the ledger");
                done(ResponseCode::ServFail)
            }
        }
    }

    /// Asks the upstream resolvers (REFUSED when there are none).
    pub(crate) async fn forward(&self, name: Name, qtype: RecordType) -> Answer {
        match &self.upstream {
            Some(resolver) => forward(resolver, name, qtype).await,
            None => Answer::empty(ResponseCode::Refused),
        }
    }

    /// A light resolver's answer from proofs fetched for it (SERVFAIL with the reason when
    /// it cannot be proven).
    pub(crate) async fn prove(&self, name: Name, qtype: RecordType) -> Answer {
        match &self.light {
            Some(light) => light.prove_answer(&name, qtype).await,
            None => Answer::empty(ResponseCode::ServFail),
        }
    }

    /// The UDP response to `request` carrying `reply`, encoded as hickory's server encodes it:
    /// fitted into the response EDNS size (512 bytes without EDNS), whole records dropped
    /// and TC set when it does not fit.
    pub(crate) fn encode_udp(&self, request: &Request, reply: &Answer) -> Vec<u8> {
        let response_edns = response_edns(request, reply);
        let metadata = response_metadata(request, reply, self.upstream.is_some());
        let response = MessageResponseBuilder::new(&request.queries, response_edns.as_ref()).build(
            metadata,
            reply.answers.iter(),
            reply.authority.iter(),
            iter::empty(),
            reply.additionals.iter(),
        );
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(
            response_edns
                .as_ref()
                .map_or(MIN_UDP_PAYLOAD_BYTES, Edns::max_payload),
        );
        if let Err(error) = response.destructive_emit(&mut encoder) {
            error!(%error, "error encoding message");
            return servfail(metadata.id);
        }
        bytes
    }
}

/// What to do with a request: the answer (with what a chain answer was computed from), a
/// question for the upstream resolvers, or (light resolver) a chain name whose proofs must
/// be fetched first.
pub(crate) enum Decision {
    Answered(Answer, Option<Validity>),
    Forward(Name, RecordType),
    Prove(Name, RecordType),
}

/// Our EDNS answer to the client's: its buffer size (at least 512) bounds the UDP response,
/// capped where fragmentation starts; the encoder truncates to it and sets TC. It carries
/// the reply's Extended DNS Error, if any.
fn response_edns(request: &Request, reply: &Answer) -> Option<Edns> {
    request.edns.as_ref().map(|client| {
        let mut edns = Edns::new();
        edns.set_max_payload(
            client
                .max_payload()
                .clamp(MIN_UDP_PAYLOAD_BYTES, MAX_UDP_PAYLOAD_BYTES),
        );
        edns.set_version(EDNS_VERSION);
        if let Some(ede) = &reply.ede {
            edns.options_mut()
                .insert(EdnsOption::Unknown(EDE_OPTION, ede.option_data()));
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

/// The FORMERR response hickory's server sends to a message it cannot parse: the request's
/// header with no question, or nothing if not even the header can be read.
pub(crate) fn format_error(packet: &[u8]) -> Option<Vec<u8>> {
    let header = Header::read(&mut BinDecoder::new(packet)).ok()?;
    let queries = Queries::read(&mut BinDecoder::new(&[]), 0).ok()?;
    let response = MessageResponseBuilder::new(&queries, None)
        .error_msg(&header.metadata, ResponseCode::FormErr);
    let mut bytes = Vec::with_capacity(12);
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_max_size(MIN_UDP_PAYLOAD_BYTES);
    match response.destructive_emit(&mut encoder) {
        Ok(_) => Some(bytes),
        Err(_) => Some(servfail(header.metadata.id)),
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

/// Asks the upstream resolvers (or their cache); a negative answer passes through with its SOA,
/// any failure becomes SERVFAIL.
async fn forward(resolver: &TokioResolver, name: Name, qtype: RecordType) -> Answer {
    match resolver.lookup(name.clone(), qtype).await {
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
        Err(error) => {
            warn!(%name, %qtype, %error, "upstream lookup failed");
            Answer::empty(ResponseCode::ServFail)
        }
    }
}

/// Encodes and sends `reply`. Over UDP hickory fits the message into the response EDNS size
/// (512 bytes without EDNS), dropping whole records and setting TC; over TCP it sends it all.
async fn send<R: ResponseHandler>(
    request: &Request,
    response_edns: Option<&Edns>,
    reply: &Answer,
    recursion_available: bool,
    mut response_handle: R,
) -> ResponseInfo {
    let mut metadata = response_metadata(request, reply, recursion_available);
    let response = MessageResponseBuilder::new(&request.queries, response_edns).build(
        metadata,
        reply.answers.iter(),
        reply.authority.iter(),
        iter::empty(),
        reply.additionals.iter(),
    );
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(error) => {
            warn!(%error, src = %request.src(), protocol = %request.protocol(), "cannot send a DNS response");
            metadata.response_code = ResponseCode::ServFail;
            ResponseInfo::from(Header {
                metadata,
                counts: HeaderCounts::default(),
            })
        }
    }
}

/// The handler as hickory's server holds it (for TCP), shared with the UDP threads.
pub(crate) struct Shared(pub(crate) Arc<Handler>);

// `RequestHandler` is declared with `#[async_trait]`; this is the signature that macro gives
// it, written out so the crate needs no macro dependency of its own.
impl RequestHandler for Shared {
    fn handle_request<'life0, 'life1, 'async_trait, R, T>(
        &'life0 self,
        request: &'life1 Request,
        response_handle: R,
    ) -> Pin<Box<dyn Future<Output = ResponseInfo> + Send + 'async_trait>>
    where
        R: ResponseHandler + 'async_trait,
        T: Time + 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.0.respond(request, response_handle))
    }
}
