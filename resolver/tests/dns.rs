//! DNS over real UDP and TCP sockets on loopback: chain answers, truncation and EDNS, forwarding
//! to an upstream server started here, refusals, odd requests, and start-up and shutdown.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::iter;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use sigil_core::read::NameReader;
use sigil_core::records::Record as LedgerRecord;
use sigil_core::state::{CertEntry, NameEntry};
use sigil_core::types::{Height, PublicKey};
use sigil_resolver::{DnsConfig, DnsServer, Error, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::timeout;

use common::{Names, WAIT, entry, names_after, tcp_exchange};

/// Number of 250-byte TXT strings in the large set: about 3 KB, more than any UDP answer.
const LARGE_TXT_COUNT: usize = 12;

fn names() -> Arc<dyn NameReader> {
    let parse = |texts: &[String]| {
        texts
            .iter()
            .map(|t| LedgerRecord::parse(t).unwrap())
            .collect::<Vec<_>>()
    };
    let mut example = vec!["www A 192.0.2.8".to_string(), "@ A 192.0.2.1".to_string()];
    example.extend((0..LARGE_TXT_COUNT).map(|i| format!("big TXT \"{i:02}{}\"", "x".repeat(248))));
    example.extend((0..3).map(|i| format!("medium TXT \"{i:02}{}\"", "y".repeat(198))));
    let broken = vec![LedgerRecord {
        host: String::new(),
        ttl: 300,
        rtype: 1,
        rdata: vec![1, 2],
    }];
    Arc::new(Names {
        tlds: vec!["sigil".to_string()],
        entries: [
            entry("example.sigil", parse(&example)),
            entry("broken.sigil", broken),
        ]
        .into_iter()
        .collect(),
    })
}

fn query(name: &str, rtype: RecordType, edns_payload: Option<u16>) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    // A name with a space in a label is written out as its labels.
    let name = Name::from_ascii(name).unwrap_or_else(|_| {
        let mut labels =
            Name::from_labels(name.trim_end_matches('.').split('.').map(str::as_bytes)).unwrap();
        labels.set_fqdn(true);
        labels
    });
    message.add_query(Query::query(name, rtype));
    if let Some(payload) = edns_payload {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        message.set_edns(edns);
    }
    message
}

/// Sends raw bytes over UDP and returns the raw answer.
async fn udp_raw(server: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(bytes, server).await.unwrap();
    let mut buf = vec![0; 65535];
    let (len, from) = timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .expect("no UDP answer in time")
        .unwrap();
    assert_eq!(from, server);
    buf.truncate(len);
    buf
}

async fn udp_ask(server: SocketAddr, message: &Message) -> (Message, usize) {
    let bytes = udp_raw(server, &message.to_vec().unwrap()).await;
    let answer = Message::from_vec(&bytes).unwrap();
    assert_eq!(answer.metadata.id, message.metadata.id);
    assert_eq!(answer.metadata.message_type, MessageType::Response);
    (answer, bytes.len())
}

async fn tcp_ask(server: SocketAddr, message: &Message) -> Message {
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.unwrap();
        let bytes = message.to_vec().unwrap();
        stream
            .write_all(&u16::try_from(bytes.len()).unwrap().to_be_bytes())
            .await
            .unwrap();
        stream.write_all(&bytes).await.unwrap();
        let mut len = [0; 2];
        stream.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await.unwrap();
        buf
    };
    let bytes = timeout(WAIT, exchange)
        .await
        .expect("no TCP answer in time");
    let answer = Message::from_vec(&bytes).unwrap();
    assert_eq!(answer.metadata.id, message.metadata.id);
    answer
}

async fn start(upstream: Vec<SocketAddr>) -> DnsServer {
    start_over(names(), upstream).await
}

/// A server on a free loopback port answering from `chain`.
async fn start_over(chain: Arc<dyn NameReader>, upstream: Vec<SocketAddr>) -> DnsServer {
    let config = DnsConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream,
        ..DnsConfig::default()
    };
    timeout(WAIT, serve(config, chain))
        .await
        .expect("serve in time")
        .expect("serve")
}

fn addresses(message: &Message) -> Vec<String> {
    message.answers.iter().map(|r| r.data.to_string()).collect()
}

#[tokio::test]
async fn chain_names_are_answered_over_udp_and_tcp() {
    let server = start(vec![]).await;
    assert_eq!(server.udp_addr().port(), server.tcp_addr().port());
    assert_ne!(server.udp_addr().port(), 0);

    let hit = query("WWW.example.sigil.", RecordType::A, None);
    let (udp, _) = udp_ask(server.udp_addr(), &hit).await;
    let tcp = tcp_ask(server.tcp_addr(), &hit).await;
    for answer in [&udp, &tcp] {
        assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
        assert!(answer.metadata.authoritative && !answer.metadata.truncation);
        assert!(
            !answer.metadata.recursion_available,
            "no upstream, no recursion"
        );
        assert_eq!(
            answer.queries[0].name().to_ascii(),
            "WWW.example.sigil.",
            "the question is echoed as asked"
        );
        assert_eq!(addresses(answer), ["192.0.2.8"]);
    }

    let (missing, _) = udp_ask(
        server.udp_addr(),
        &query("nope.sigil.", RecordType::A, Some(1232)),
    )
    .await;
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
    assert!(missing.metadata.authoritative);
    assert_eq!(missing.authorities.len(), 1);
    assert_eq!(missing.authorities[0].record_type(), RecordType::SOA);
    assert!(missing.edns.is_some(), "an EDNS query gets an EDNS answer");

    // A record the ledger cannot decode is SERVFAIL, and the server keeps answering.
    let (broken, _) = udp_ask(
        server.udp_addr(),
        &query("broken.sigil.", RecordType::A, None),
    )
    .await;
    assert_eq!(broken.metadata.response_code, ResponseCode::ServFail);
    let (again, _) = udp_ask(server.udp_addr(), &hit).await;
    assert_eq!(addresses(&again), ["192.0.2.8"]);

    timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}

#[tokio::test]
async fn large_answers_are_truncated_over_udp_and_whole_over_tcp() {
    let server = start(vec![]).await;

    // Without EDNS the limit is 512 bytes.
    let (plain, len) = udp_ask(
        server.udp_addr(),
        &query("big.example.sigil.", RecordType::TXT, None),
    )
    .await;
    assert!(plain.metadata.truncation, "TC must be set");
    assert!(len <= 512, "{len} bytes over UDP without EDNS");
    assert!(plain.answers.len() < LARGE_TXT_COUNT);

    // A 4096-byte EDNS buffer is honoured up to the 1232-byte cap; 3 KB still does not fit.
    let (edns, len) = udp_ask(
        server.udp_addr(),
        &query("big.example.sigil.", RecordType::TXT, Some(4096)),
    )
    .await;
    assert!(edns.metadata.truncation);
    assert!(len <= 1232, "{len} bytes over UDP with EDNS");
    assert!(edns.answers.is_empty(), "no part of an RRset");

    // TCP carries the whole set.
    let tcp = tcp_ask(
        server.tcp_addr(),
        &query("big.example.sigil.", RecordType::TXT, None),
    )
    .await;
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), LARGE_TXT_COUNT);

    // About 700 bytes: truncated at 512, whole when the client's EDNS buffer allows it.
    let medium = |payload| query("medium.example.sigil.", RecordType::TXT, payload);
    let (small, _) = udp_ask(server.udp_addr(), &medium(None)).await;
    assert!(small.metadata.truncation);
    let (small_edns, _) = udp_ask(server.udp_addr(), &medium(Some(512))).await;
    assert!(small_edns.metadata.truncation);
    let (fits, len) = udp_ask(server.udp_addr(), &medium(Some(1232))).await;
    assert!(!fits.metadata.truncation, "{len} bytes should fit 1232");
    assert_eq!(fits.answers.len(), 3);
    assert!(len > 512);

    timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}

/// A tiny upstream name server: `example.com. A 198.51.100.1`, SERVFAIL for
/// `fail.example.com.`, NXDOMAIN for anything else; it counts the queries it receives.
struct Upstream {
    queries: Arc<AtomicUsize>,
}

impl Upstream {
    async fn respond<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.queries.fetch_add(1, Ordering::SeqCst);
        let query = request.request_info().expect("one question").query;
        let origin = Name::from_ascii("example.com.").unwrap();
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = true;
        let mut answers = Vec::new();
        let mut authority = Vec::new();
        match (query.name().to_string().as_str(), query.query_type()) {
            ("example.com.", RecordType::A) => {
                answers.push(Record::from_rdata(
                    origin,
                    300,
                    RData::A(A::new(198, 51, 100, 1)),
                ));
            }
            ("fail.example.com.", _) => metadata.response_code = ResponseCode::ServFail,
            _ => {
                metadata.response_code = ResponseCode::NXDomain;
                let mname = Name::from_ascii("ns.example.com.").unwrap();
                let rname = Name::from_ascii("admin.example.com.").unwrap();
                let soa = SOA::new(mname, rname, 1, 3600, 600, 86400, 300);
                authority.push(Record::from_rdata(origin, 300, RData::SOA(soa)));
            }
        }
        let response = MessageResponseBuilder::new(&request.queries, None).build(
            metadata,
            answers.iter(),
            authority.iter(),
            iter::empty(),
            iter::empty(),
        );
        response_handle.send_response(response).await.expect("send")
    }
}

impl RequestHandler for Upstream {
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
        Box::pin(self.respond(request, response_handle))
    }
}

/// Starts the upstream on one loopback port for UDP and TCP.
async fn start_upstream() -> (Server<Upstream>, SocketAddr, Arc<AtomicUsize>) {
    let queries = Arc::new(AtomicUsize::new(0));
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr).await.unwrap();
    let mut server = Server::new(Upstream {
        queries: queries.clone(),
    });
    server.register_socket(udp);
    server.register_listener(tcp, WAIT, 8);
    (server, addr, queries)
}

#[tokio::test]
async fn other_names_are_forwarded_upstream_and_cached() {
    let (mut upstream, upstream_addr, upstream_queries) = start_upstream().await;
    let server = start(vec![upstream_addr]).await;

    let ask = query("example.com.", RecordType::A, None);
    let (first, _) = udp_ask(server.udp_addr(), &ask).await;
    assert_eq!(first.metadata.response_code, ResponseCode::NoError);
    assert!(first.metadata.recursion_available && !first.metadata.authoritative);
    assert_eq!(addresses(&first), ["198.51.100.1"]);
    assert_eq!(upstream_queries.load(Ordering::SeqCst), 1);

    // The second answer comes from the cache, over either transport.
    let (second, _) = udp_ask(server.udp_addr(), &ask).await;
    let third = tcp_ask(server.tcp_addr(), &ask).await;
    assert_eq!(addresses(&second), ["198.51.100.1"]);
    assert_eq!(addresses(&third), ["198.51.100.1"]);
    assert!(second.answers[0].ttl <= 300);
    assert_eq!(
        upstream_queries.load(Ordering::SeqCst),
        1,
        "answered from the cache"
    );

    // A negative answer passes through with the upstream's SOA; a failure is SERVFAIL.
    let (missing, _) = udp_ask(
        server.udp_addr(),
        &query("nope.example.com.", RecordType::A, None),
    )
    .await;
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(
        missing.authorities.first().map(Record::record_type),
        Some(RecordType::SOA)
    );
    let (failed, _) = udp_ask(
        server.udp_addr(),
        &query("fail.example.com.", RecordType::A, None),
    )
    .await;
    assert_eq!(failed.metadata.response_code, ResponseCode::ServFail);

    // Chain names never reach the upstream.
    let before = upstream_queries.load(Ordering::SeqCst);
    let (chain, _) = udp_ask(
        server.udp_addr(),
        &query("www.example.sigil.", RecordType::A, None),
    )
    .await;
    assert_eq!(addresses(&chain), ["192.0.2.8"]);
    let (nx, _) = udp_ask(
        server.udp_addr(),
        &query("nope.sigil.", RecordType::A, None),
    )
    .await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(upstream_queries.load(Ordering::SeqCst), before);

    timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
    timeout(WAIT, upstream.shutdown_gracefully())
        .await
        .expect("upstream shutdown in time")
        .unwrap();
}

#[tokio::test]
async fn other_names_are_refused_without_upstream() {
    let server = start(vec![]).await;
    let (udp, _) = udp_ask(
        server.udp_addr(),
        &query("example.com.", RecordType::A, None),
    )
    .await;
    let tcp = tcp_ask(
        server.tcp_addr(),
        &query("example.com.", RecordType::A, None),
    )
    .await;
    for answer in [udp, tcp] {
        assert_eq!(answer.metadata.response_code, ResponseCode::Refused);
        assert!(answer.answers.is_empty());
    }
    timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}

#[tokio::test]
async fn odd_requests_get_the_right_error() {
    let server = start(vec![]).await;

    let mut status = query("www.example.sigil.", RecordType::A, None);
    status.metadata.op_code = OpCode::Status;
    let (notimp, _) = udp_ask(server.udp_addr(), &status).await;
    assert_eq!(notimp.metadata.response_code, ResponseCode::NotImp);

    let mut two = query("www.example.sigil.", RecordType::A, None);
    two.add_query(Query::query(
        Name::from_ascii("example.sigil.").unwrap(),
        RecordType::A,
    ));
    let (formerr, _) = udp_ask(server.udp_addr(), &two).await;
    assert_eq!(formerr.metadata.response_code, ResponseCode::FormErr);

    let mut future = query("www.example.sigil.", RecordType::A, Some(1232));
    future.edns.as_mut().unwrap().set_version(1);
    let (badvers, _) = udp_ask(server.udp_addr(), &future).await;
    // BADVERS and BADSIG share code 16; the decoder names it BADSIG.
    assert_eq!(
        u16::from(badvers.metadata.response_code),
        u16::from(ResponseCode::BADVERS)
    );
    assert_eq!(badvers.edns.as_ref().map(Edns::version), Some(0));

    // Over UDP a packet that cannot be parsed gets no reply at all (tests/conformance.rs);
    // over TCP the connection is closed.

    // Only Internet-class data is served; CHAOS is not forwarded either.
    let mut chaos = Query::query(Name::from_ascii("version.bind.").unwrap(), RecordType::TXT);
    chaos.set_query_class(DNSClass::CH);
    let mut version = Message::query();
    version.add_query(chaos);
    let (refused, _) = udp_ask(server.udp_addr(), &version).await;
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);

    // Zone transfers are not offered.
    let axfr = tcp_ask(
        server.tcp_addr(),
        &query("example.sigil.", RecordType::AXFR, None),
    )
    .await;
    assert_eq!(axfr.metadata.response_code, ResponseCode::Refused);

    timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error_and_shutdown_frees_it() {
    let first = start(vec![]).await;
    let listen = first.udp_addr();
    let config = DnsConfig {
        listen,
        upstream: vec![],
        ..DnsConfig::default()
    };
    let error = match timeout(WAIT, serve(config.clone(), names()))
        .await
        .expect("serve in time")
    {
        Ok(_) => panic!("a second server bound {listen}"),
        Err(error) => error,
    };
    assert!(matches!(error, Error::AddrInUse { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("DNS address {listen} is in use; pass --dns-listen ADDR")
    );

    timeout(WAIT, first.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
    // Once stopped, nothing accepts TCP there, and the address can be served again.
    assert!(TcpStream::connect(listen).await.is_err());
    let again = timeout(WAIT, serve(config, names()))
        .await
        .expect("serve in time")
        .expect("rebind after shutdown");
    let (answer, _) = udp_ask(
        again.udp_addr(),
        &query("www.example.sigil.", RecordType::A, None),
    )
    .await;
    assert_eq!(addresses(&answer), ["192.0.2.8"]);
    timeout(WAIT, again.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}

/// The bytes of a query with a fixed ID, so that answers can be compared whole.
fn raw_query(name: &str, rtype: RecordType, edns_payload: Option<u16>, cd: bool) -> Vec<u8> {
    let mut message = query(name, rtype, edns_payload);
    message.metadata.id = 0x5eed;
    message.metadata.checking_disabled = cd;
    message.to_vec().unwrap()
}

#[tokio::test]
async fn cached_answers_are_byte_for_byte_the_computed_ones() {
    // Without and with forwarding (which sets RA in every answer); the upstream is never
    // asked, every question is under the chain's TLD.
    for upstream in [vec![], vec!["127.0.0.1:9".parse().unwrap()]] {
        compare_cached_and_computed(upstream).await;
    }
}

async fn compare_cached_and_computed(upstream: Vec<SocketAddr>) {
    let start_with = |cache_bytes| {
        let config = DnsConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            upstream: upstream.clone(),
            cache_bytes,
            ..DnsConfig::default()
        };
        async move {
            timeout(WAIT, serve(config, names()))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let uncached = start_with(0).await;
    let cached = start_with(DnsConfig::default().cache_bytes).await;
    let questions = [
        ("www.example.sigil.", RecordType::A, None, false),
        ("WwW.ExAmPlE.SiGiL.", RecordType::A, None, true),
        ("example.sigil.", RecordType::A, Some(1232), false),
        ("example.sigil.", RecordType::AAAA, Some(4096), false),
        ("nope.example.sigil.", RecordType::A, None, false),
        // Names that are not registered: answered from the index of names.
        ("nope.sigil.", RecordType::A, None, false),
        ("NoPe.sigil.", RecordType::TXT, Some(1232), true),
        ("x.nope.SIGIL.", RecordType::ANY, Some(4096), true),
        ("_443._tcp.nope.sigil.", RecordType::TLSA, Some(512), false),
        ("_sigil-key.nope.sigil.", RecordType::TXT, None, false),
        // A label no registered name can have.
        ("a b.sigil.", RecordType::A, None, false),
        ("sigil.", RecordType::SOA, None, false),
        ("big.example.sigil.", RecordType::TXT, None, false),
        ("big.example.sigil.", RecordType::TXT, Some(1232), false),
        ("medium.example.sigil.", RecordType::TXT, Some(700), false),
        ("broken.sigil.", RecordType::A, None, false),
    ];
    for (name, rtype, payload, cd) in questions {
        let bytes = raw_query(name, rtype, payload, cd);
        let reference = udp_raw(uncached.udp_addr(), &bytes).await;
        // The first is computed (and cached), the next ones come from the cache.
        for round in 0..3 {
            let answer = udp_raw(cached.udp_addr(), &bytes).await;
            assert_eq!(
                answer, reference,
                "{name} {rtype} {payload:?}, round {round}"
            );
        }
        // Over TCP the answer is encoded whole; untruncated, it is the same message.
        let truncated = Message::from_vec(&reference).unwrap().metadata.truncation;
        if !truncated {
            assert_eq!(
                tcp_exchange(cached.tcp_addr(), &bytes).await,
                reference,
                "{name} over TCP"
            );
        }
    }
    // A name asked in another case is answered from the same entry, with its own question.
    let lower = udp_raw(
        cached.udp_addr(),
        &raw_query("medium.example.sigil.", RecordType::TXT, Some(1232), false),
    )
    .await;
    let upper_query = raw_query("MEDIUM.EXAMPLE.SIGIL.", RecordType::TXT, Some(1232), false);
    let upper = udp_raw(cached.udp_addr(), &upper_query).await;
    let reference = udp_raw(uncached.udp_addr(), &upper_query).await;
    assert_eq!(upper, reference);
    assert_ne!(upper, lower);
    for server in [cached, uncached] {
        timeout(WAIT, server.shutdown()).await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_burst_of_queries_from_one_socket_is_answered_whole() {
    // Without the response rate limit, which a burst from one client would meet.
    let config = DnsConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        rrl_responses_per_second: 0,
        ..DnsConfig::default()
    };
    let server = timeout(WAIT, serve(config, names()))
        .await
        .expect("serve in time")
        .expect("serve");
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Sent back to back, they wait on the server's socket together and are received and
    // answered in batches.
    let burst: Vec<(Message, &str)> = (0..200u16)
        .map(|i| {
            let (name, rtype, payload, expect) = match i % 4 {
                0 => ("www.example.sigil.", RecordType::A, None, "192.0.2.8"),
                1 => ("nope.sigil.", RecordType::A, Some(1232), "NXDomain"),
                2 => ("big.example.sigil.", RecordType::TXT, None, "truncated"),
                _ => ("example.sigil.", RecordType::A, Some(4096), "192.0.2.1"),
            };
            let mut message = query(name, rtype, payload);
            message.metadata.id = i;
            (message, expect)
        })
        .collect();
    for (message, _) in &burst {
        socket
            .send_to(&message.to_vec().unwrap(), server.udp_addr())
            .await
            .unwrap();
    }
    let mut answered = vec![false; burst.len()];
    let mut buf = vec![0; 65535];
    for _ in 0..burst.len() {
        let (len, _) = timeout(WAIT, socket.recv_from(&mut buf))
            .await
            .expect("every query answered in time")
            .unwrap();
        let answer = Message::from_vec(&buf[..len]).unwrap();
        let id = usize::from(answer.metadata.id);
        let (asked, expect) = &burst[id];
        assert!(!answered[id], "one answer per query");
        answered[id] = true;
        assert_eq!(answer.queries, asked.queries, "the answer to query {id}");
        assert_eq!(answer.edns.is_some(), asked.edns.is_some());
        match *expect {
            "NXDomain" => assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain),
            "truncated" => assert!(answer.metadata.truncation && len <= 512),
            address => assert_eq!(addresses(&answer), [address]),
        }
    }
    timeout(WAIT, server.shutdown()).await.unwrap().unwrap();
}

/// Names that change as blocks are added, with the keys each block wrote.
struct Changing {
    tlds: Vec<String>,
    tip: std::sync::Mutex<Height>,
    entries: std::sync::Mutex<BTreeMap<String, NameEntry>>,
    writes: std::sync::Mutex<Vec<sigil_core::read::WrittenKeys>>,
    reads: AtomicUsize,
    /// Times the registered names were listed.
    listings: AtomicUsize,
}

impl NameReader for Changing {
    fn tip_height(&self) -> Height {
        *self.tip.lock().unwrap()
    }
    fn tlds(&self) -> &[String] {
        &self.tlds
    }
    fn name_entry(&self, name: &str) -> sigil_core::Result<Option<NameEntry>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.entries.lock().unwrap().get(name).cloned())
    }
    fn active_certs(&self, _name: &str) -> sigil_core::Result<Vec<CertEntry>> {
        Ok(Vec::new())
    }
    fn bound_identity(
        &self,
        _name: &str,
    ) -> sigil_core::Result<Option<sigil_core::state::IdentityEntry>> {
        Ok(None)
    }
    fn keys_written_since(&self, height: Height) -> Option<Vec<sigil_core::read::WrittenKeys>> {
        let writes = self.writes.lock().unwrap();
        if writes.first().is_some_and(|b| b.height > height + 1) {
            return None; // the blocks right after `height` are forgotten
        }
        Some(
            writes
                .iter()
                .filter(|b| b.height > height)
                .cloned()
                .collect(),
        )
    }
    fn registered_names(
        &self,
        after: &str,
        limit: usize,
    ) -> sigil_core::Result<Option<Vec<String>>> {
        self.listings.fetch_add(1, Ordering::SeqCst);
        Ok(Some(names_after(
            &self.entries.lock().unwrap(),
            after,
            limit,
        )))
    }
}

impl Changing {
    /// A block that sets `name`'s records (or adds nothing when `None`).
    fn block(&self, name: Option<(&str, &str)>) {
        let mut tip = self.tip.lock().unwrap();
        let height = *tip + 1;
        let mut keys = Vec::new();
        if let Some((name, record)) = name {
            let entry = NameEntry {
                name: name.to_string(),
                owner: PublicKey([1; 32]),
                records: vec![LedgerRecord::parse(record).unwrap()],
                registered_at: 1,
                updated_at: height,
                expires_at: 1000,
            };
            self.entries.lock().unwrap().insert(name.to_string(), entry);
            keys.push(sigil_core::state::keys::name(name));
        }
        self.writes
            .lock()
            .unwrap()
            .push(sigil_core::read::WrittenKeys {
                height,
                keys: keys.into(),
            });
        *tip = height;
    }

    /// Forgets the keys written by every block so far, as a node does when a reader falls
    /// too far behind.
    fn forget_writes(&self) {
        self.writes.lock().unwrap().clear();
    }

    fn new(names: &[(&str, &str)]) -> Arc<Changing> {
        let chain = Arc::new(Changing {
            tlds: vec!["sigil".to_string()],
            tip: std::sync::Mutex::new(10),
            entries: Default::default(),
            writes: Default::default(),
            reads: AtomicUsize::new(0),
            listings: AtomicUsize::new(0),
        });
        for &name in names {
            chain.block(Some(name));
        }
        chain
    }
}

#[tokio::test]
async fn the_cache_follows_the_blocks() {
    let chain = Changing::new(&[("a.sigil", "@ A 192.0.2.1")]);
    let server = start_over(chain.clone(), Vec::new()).await;
    let addr = server.udp_addr();
    let ask = |name: &str| {
        let message = query(name, RecordType::A, None);
        async move { udp_ask(addr, &message).await.0 }
    };
    let serial = |answer: &Message| match &answer.authorities[0].data {
        RData::SOA(soa) => soa.serial,
        other => panic!("expected an SOA, got {other:?}"),
    };
    assert_eq!(addresses(&ask("a.sigil.").await), ["192.0.2.1"]);
    let missing = ask("b.sigil.").await;
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(serial(&missing), 11);

    // Asked again: no ledger read, and the negative answer's SOA serial follows the tip
    // through blocks that change nothing.
    let reads = chain.reads.load(Ordering::SeqCst);
    chain.block(None);
    assert_eq!(addresses(&ask("a.sigil.").await), ["192.0.2.1"]);
    assert_eq!(serial(&ask("b.sigil.").await), 12);
    assert_eq!(
        chain.reads.load(Ordering::SeqCst),
        reads,
        "served from the cache"
    );

    // A block that changes `a` and registers `b`: both are read again and answered anew.
    chain.block(Some(("a.sigil", "@ A 192.0.2.2")));
    chain.block(Some(("b.sigil", "@ A 192.0.2.3")));
    assert_eq!(addresses(&ask("a.sigil.").await), ["192.0.2.2"]);
    let registered = ask("b.sigil.").await;
    assert_eq!(registered.metadata.response_code, ResponseCode::NoError);
    assert_eq!(addresses(&registered), ["192.0.2.3"]);
    timeout(WAIT, server.shutdown()).await.unwrap().unwrap();
}

#[tokio::test]
async fn unregistered_names_are_answered_without_a_ledger_read_until_registered() {
    let chain = Changing::new(&[("a.sigil", "@ A 192.0.2.1")]);
    let server = start_over(chain.clone(), Vec::new()).await;
    let addr = server.udp_addr();
    let ask = |name: &str, rtype| {
        let message = query(name, rtype, Some(1232));
        async move { udp_ask(addr, &message).await.0 }
    };
    let reads = || chain.reads.load(Ordering::SeqCst);

    // Never asked before (so in no cache), under names that do not exist: no ledger read.
    let before = reads();
    for name in [
        "b.sigil.",
        "x.y.B.SIGIL.",
        "_443._tcp.c.sigil.",
        "_sigil-key.d.sigil.",
    ] {
        let missing = ask(name, RecordType::A).await;
        assert_eq!(
            missing.metadata.response_code,
            ResponseCode::NXDomain,
            "{name}"
        );
        assert!(missing.metadata.authoritative);
        assert!(missing.edns.is_some());
        assert_eq!(missing.queries[0].name().to_ascii(), name);
        match &missing.authorities[..] {
            [soa] => match &soa.data {
                RData::SOA(soa) => assert_eq!(soa.serial, 11),
                other => panic!("expected an SOA, got {other:?}"),
            },
            other => panic!("expected one SOA, got {other:?}"),
        }
    }
    assert_eq!(reads(), before, "answered without a ledger read");
    // A registered name is read and answered.
    assert_eq!(
        addresses(&ask("a.sigil.", RecordType::A).await),
        ["192.0.2.1"]
    );

    // Registered after it was answered NXDOMAIN: answered with its records at once, and a
    // host below it that does not exist is NXDOMAIN from the ledger.
    chain.block(Some(("b.sigil", "@ A 192.0.2.2")));
    let registered = ask("b.sigil.", RecordType::A).await;
    assert_eq!(registered.metadata.response_code, ResponseCode::NoError);
    assert_eq!(addresses(&registered), ["192.0.2.2"]);
    let before = reads();
    let below = ask("x.y.B.SIGIL.", RecordType::A).await;
    assert_eq!(below.metadata.response_code, ResponseCode::NXDomain);
    assert!(reads() > before, "b.sigil is read now");

    // The node no longer has the keys written by blocks the index has not read: a name
    // registered in them is answered at once all the same...
    let listings = chain.listings.load(Ordering::SeqCst);
    chain.block(Some(("c.sigil", "@ A 192.0.2.3")));
    chain.forget_writes();
    chain.block(None);
    assert_eq!(
        addresses(&ask("c.sigil.", RecordType::A).await),
        ["192.0.2.3"]
    );
    // ... and once the names are listed again, the others are answered without a read again.
    let relisted = async {
        for i in 0.. {
            let before = reads();
            let name = format!("gone{i}.sigil.");
            let missing = ask(&name, RecordType::A).await;
            assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
            if reads() == before {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    timeout(WAIT, relisted)
        .await
        .expect("names listed again in time");
    assert!(chain.listings.load(Ordering::SeqCst) > listings);
    assert_eq!(
        addresses(&ask("c.sigil.", RecordType::A).await),
        ["192.0.2.3"]
    );
    timeout(WAIT, server.shutdown()).await.unwrap().unwrap();
}
