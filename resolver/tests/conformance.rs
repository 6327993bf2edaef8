//! Conformance with the DNS RFCs where a run with independent tools (dig, kdig, dnspython,
//! NSD side by side) found the server wrong: truncated UDP replies that are whole messages,
//! a dead upstream answered fast with an Extended DNS Error and remembered, the DO bit
//! echoed, classes other than IN refused, the TLD's own name server name kept from the
//! ledger, responses and garbage dropped, FORMERR for a query with records or a question name
//! compressed into the header, one RRset for ANY, short TCP frames, and additional addresses
//! for MX and SRV targets.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use sigil_core::read::NameReader;
use sigil_core::records::Record as LedgerRecord;
use sigil_resolver::{DnsConfig, DnsServer, ede, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use common::{Names, WAIT, tcp_exchange};

/// The TXT strings at `big.example.sigil`: eight of 255 bytes, more than any UDP reply holds.
const BIG_TXT_COUNT: usize = 8;

fn names() -> Arc<dyn NameReader> {
    let entry = |name: &str, records: &[String]| {
        let records = records
            .iter()
            .map(|t| LedgerRecord::parse(t).unwrap())
            .collect();
        common::entry(name, records)
    };
    let mut example: Vec<String> = [
        "@ A 192.0.2.1",
        "www A 192.0.2.8",
        "@ AAAA 2001:db8::1",
        "@ TXT \"hello\"",
        "@ MX 10 mail.example.sigil.",
        "@ MX 20 mx.example.com.",
        "mail A 192.0.2.25",
        "mail AAAA 2001:db8::25",
        "_sip._tcp SRV 10 5 5060 sip.other.sigil.",
        "_ext._tcp SRV 0 0 1 host.example.com.",
        "alias CNAME big.example.sigil.",
        "sub NS ns1.sub.example.sigil.",
        "ns1.sub A 192.0.2.53",
    ]
    .map(String::from)
    .into();
    example.extend((0..BIG_TXT_COUNT).map(|i| format!("big TXT \"{i}{}\"", "x".repeat(254))));
    example.extend((0..3).map(|i| format!("medium TXT \"{i}{}\"", "y".repeat(199))));
    Arc::new(Names {
        tlds: vec!["sigil".to_string()],
        entries: [
            entry("example.sigil", &example),
            entry("other.sigil", &["sip A 192.0.2.60".to_string()]),
            // Registered before the TLD's name server name was reserved: never served.
            entry(
                "ns1.sigil",
                &["@ A 203.0.113.66".to_string(), "@ TXT \"hijack\"".into()],
            ),
        ]
        .into_iter()
        .collect(),
    })
}

async fn start(upstream: Vec<SocketAddr>) -> DnsServer {
    // Without the response rate limit: these tests ask hundreds of questions from one socket
    // (the limit has its own tests, tests/tests/exposed_dns.rs).
    let config = DnsConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream,
        rrl_responses_per_second: 0,
        ..DnsConfig::default()
    };
    timeout(WAIT, serve(config, names()))
        .await
        .expect("serve in time")
        .expect("serve")
}

async fn stop(server: DnsServer) {
    timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}

fn query(name: &str, rtype: RecordType, edns_payload: Option<u16>) -> Message {
    let mut message = Message::query();
    message.metadata.id = rand_id(name, rtype);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if let Some(payload) = edns_payload {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        message.set_edns(edns);
    }
    message
}

/// An ID that differs between questions, so that a reply is matched to its question.
fn rand_id(name: &str, rtype: RecordType) -> u16 {
    name.bytes().fold(u16::from(rtype), |h, b| {
        h.wrapping_mul(31).wrapping_add(u16::from(b))
    })
}

/// A message decoded with nothing left over: the counts in its header and its records agree.
fn decode_whole(bytes: &[u8]) -> Message {
    let mut decoder = BinDecoder::new(bytes);
    let message = Message::read(&mut decoder).expect("a well-formed message");
    assert!(
        decoder.is_empty(),
        "{} bytes after the message's last record",
        decoder.len()
    );
    message
}

/// Sends `bytes` from `socket` and returns the next reply to it.
async fn exchange(socket: &UdpSocket, server: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    socket.send_to(bytes, server).await.unwrap();
    receive(socket, server).await
}

async fn receive(socket: &UdpSocket, server: SocketAddr) -> Vec<u8> {
    let mut buf = vec![0; 65535];
    let (len, from) = timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .expect("no UDP answer in time")
        .unwrap();
    assert_eq!(from, server);
    buf.truncate(len);
    buf
}

async fn ask(socket: &UdpSocket, server: SocketAddr, message: &Message) -> (Message, usize) {
    let bytes = exchange(socket, server, &message.to_vec().unwrap()).await;
    let reply = decode_whole(&bytes);
    assert_eq!(reply.metadata.id, message.metadata.id);
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    (reply, bytes.len())
}

async fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// Each record as `owner TYPE data`.
fn show(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect()
}

#[tokio::test]
async fn truncated_udp_replies_are_whole_messages_at_every_size() {
    let server = start(vec![]).await;
    let socket = client().await;
    // Without EDNS (512 bytes), and with every EDNS buffer size from 512 to 1232, with and
    // without the DO bit; each twice, the second from the answer cache.
    let mut sizes: Vec<(Option<u16>, bool)> = vec![(None, false)];
    sizes.extend((512..=1232).map(|size| (Some(size), false)));
    sizes.extend((512..=1232).step_by(7).map(|size| (Some(size), true)));
    for (payload, dnssec_ok) in sizes {
        let limit = usize::from(payload.unwrap_or(512));
        for round in 0..2 {
            let at = format!("{payload:?} DO={dnssec_ok} round {round}");
            let with = |name, rtype| {
                let mut message = query(name, rtype, payload);
                if let Some(edns) = message.edns.as_mut() {
                    edns.set_dnssec_ok(dnssec_ok);
                }
                message
            };
            // One RRset larger than any datagram: TC and an empty answer section.
            let (big, len) = ask(
                &socket,
                server.udp_addr(),
                &with("big.example.sigil.", RecordType::TXT),
            )
            .await;
            assert!(len <= limit, "{at}: {len} bytes");
            assert!(big.metadata.truncation, "{at}: TC must be set");
            assert!(big.answers.is_empty(), "{at}: part of an RRset was sent");
            assert_eq!(big.edns.is_some(), payload.is_some(), "{at}: OPT");
            if let Some(edns) = &big.edns {
                assert_eq!(edns.max_payload(), limit.min(1232) as u16, "{at}");
                assert_eq!(edns.flags().dnssec_ok, dnssec_ok, "{at}: DO");
            }
            // A CNAME to it: the CNAME RRset fits and is kept whole, the target's set is not.
            let (alias, len) = ask(
                &socket,
                server.udp_addr(),
                &with("alias.example.sigil.", RecordType::TXT),
            )
            .await;
            assert!(len <= limit, "{at}: {len} bytes");
            assert!(alias.metadata.truncation, "{at}");
            assert_eq!(
                show(&alias.answers),
                ["alias.example.sigil. CNAME big.example.sigil."],
                "{at}"
            );
            assert_eq!(alias.edns.is_some(), payload.is_some(), "{at}: OPT");
            // About 620 bytes: whole when it fits, else nothing of it and TC.
            let (medium, len) = ask(
                &socket,
                server.udp_addr(),
                &with("medium.example.sigil.", RecordType::TXT),
            )
            .await;
            assert!(len <= limit, "{at}: {len} bytes");
            match medium.answers.len() {
                3 => assert!(!medium.metadata.truncation, "{at}"),
                0 => assert!(medium.metadata.truncation, "{at}"),
                n => panic!("{at}: {n} of the 3 records of an RRset"),
            }
            assert_eq!(medium.edns.is_some(), payload.is_some(), "{at}: OPT");
        }
    }
    stop(server).await;
}

/// dnspython's reading of truncated replies, an implementation independent of ours and of
/// hickory's: every reply parses with nothing left over (dnspython refuses trailing junk), fits
/// the buffer, sets TC when it leaves records out, keeps its OPT record, and holds whole
/// RRsets only. Arguments: the server's address and port.
const DNSPYTHON_TRUNCATION: &str = r#"
import socket, sys
import dns.flags, dns.message, dns.rdatatype
host, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(10)
checked = 0
for name in ("big.example.sigil.", "alias.example.sigil.", "medium.example.sigil."):
    for size in [None] + list(range(512, 1233)):
        if size is None:
            query = dns.message.make_query(name, "TXT", use_edns=False)
        else:
            query = dns.message.make_query(name, "TXT", use_edns=0, payload=size)
        sock.sendto(query.to_wire(), (host, port))
        data = sock.recv(65535)
        reply = dns.message.from_wire(data)
        at = f"{name} {size}: {reply}"
        assert reply.id == query.id, at
        assert len(data) <= (size or 512), at
        assert (reply.edns >= 0) == (size is not None), at
        truncated = bool(reply.flags & dns.flags.TC)
        records = {(r.name.to_text(), dns.rdatatype.to_text(r.rdtype)): len(r) for r in reply.answer}
        if name.startswith("big"):
            assert truncated and records == {}, at
        elif name.startswith("alias"):
            assert truncated and records == {("alias.example.sigil.", "CNAME"): 1}, at
        else:
            assert records in ({}, {("medium.example.sigil.", "TXT"): 3}), at
            assert truncated == (records == {}), at
        checked += 1
print("checked", checked)
"#;

/// The Python with dnspython: the Debian package's (`.ci/run` installs it).
const PYTHON: &str = "/usr/bin/python3";

#[tokio::test]
async fn dnspython_reads_every_truncated_reply_as_a_whole_message() {
    let server = start(vec![]).await;
    let addr = server.udp_addr();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(PYTHON)
            .args(["-c", DNSPYTHON_TRUNCATION])
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .output()
    });
    let output = timeout(Duration::from_secs(120), run)
        .await
        .expect("dnspython finished in time")
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON} (apt-get install python3-dnspython): {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'dns'"),
        "dnspython is missing: apt-get install python3-dnspython"
    );
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("checked {}", 3 * (1 + 1232 - 512 + 1))
    );
    stop(server).await;
}

/// A UDP upstream that never answers: it takes queries and drops them, counting them.
struct DeadUpstream {
    socket: std::net::UdpSocket,
}

impl DeadUpstream {
    fn new() -> DeadUpstream {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        DeadUpstream { socket }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Queries received since the last call.
    fn received(&self) -> usize {
        let mut buf = [0; 2048];
        let mut count = 0;
        while self.socket.recv_from(&mut buf).is_ok() {
            count += 1;
        }
        count
    }
}

fn extended_errors(message: &Message) -> Vec<u16> {
    message
        .edns
        .as_ref()
        .map(|edns| ede::read(edns).into_iter().map(|(code, _)| code).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_dead_upstream_is_servfail_with_an_extended_error_and_remembered() {
    let upstream = DeadUpstream::new();
    let server = start(vec![upstream.addr()]).await;
    let socket = client().await;

    let started = Instant::now();
    let (first, _) = ask(
        &socket,
        server.udp_addr(),
        &query("example.com.", RecordType::A, Some(1232)),
    )
    .await;
    println!("a dead upstream answered in {:?}", started.elapsed());
    assert_eq!(first.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(
        extended_errors(&first),
        [ede::NO_REACHABLE_AUTHORITY],
        "EDE 22, No Reachable Authority"
    );
    assert!(upstream.received() >= 1, "the upstream was asked");

    // Asked again at once, over UDP and TCP: the failure is remembered, the upstream is not
    // asked again. A client without EDNS gets no OPT record and so no EDE.
    let started = Instant::now();
    let (again, _) = ask(
        &socket,
        server.udp_addr(),
        &query("EXAMPLE.com.", RecordType::A, Some(1232)),
    )
    .await;
    println!("the remembered failure answered in {:?}", started.elapsed());
    assert_eq!(again.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(extended_errors(&again), [ede::NO_REACHABLE_AUTHORITY]);
    let tcp = tcp_ask(
        server.tcp_addr(),
        &query("example.com.", RecordType::A, Some(1232)),
    )
    .await;
    assert_eq!(tcp.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(extended_errors(&tcp), [ede::NO_REACHABLE_AUTHORITY]);
    let (plain, _) = ask(
        &socket,
        server.udp_addr(),
        &query("example.com.", RecordType::A, None),
    )
    .await;
    assert_eq!(plain.metadata.response_code, ResponseCode::ServFail);
    assert!(plain.edns.is_none());
    assert_eq!(upstream.received(), 0, "the failure was remembered");
    stop(server).await;
}

async fn tcp_ask(server: SocketAddr, message: &Message) -> Message {
    let reply = decode_whole(&tcp_exchange(server, &message.to_vec().unwrap()).await);
    assert_eq!(reply.metadata.id, message.metadata.id);
    reply
}

#[tokio::test]
async fn the_do_bit_is_echoed() {
    let upstream = DeadUpstream::new();
    let server = start(vec![upstream.addr()]).await;
    let socket = client().await;
    // A computed answer, then the same from the cache; a name that is not registered
    // (answered from the index of names); the TLD apex; a refusal; a forwarded failure.
    let questions = [
        ("www.example.sigil.", RecordType::A),
        ("example.sigil.", RecordType::A),
        ("example.sigil.", RecordType::A),
        ("nope.sigil.", RecordType::A),
        ("sigil.", RecordType::SOA),
        ("example.sigil.", RecordType::AXFR),
        ("example.net.", RecordType::A),
    ];
    for (name, rtype) in questions {
        for dnssec_ok in [true, false, true] {
            let mut message = query(name, rtype, Some(1232));
            message.edns.as_mut().unwrap().set_dnssec_ok(dnssec_ok);
            let (reply, _) = ask(&socket, server.udp_addr(), &message).await;
            let edns = reply.edns.as_ref().expect("an OPT record");
            assert_eq!(edns.flags().dnssec_ok, dnssec_ok, "{name} {rtype} over UDP");
            if rtype != RecordType::AXFR {
                let tcp = tcp_ask(server.tcp_addr(), &message).await;
                let edns = tcp.edns.as_ref().expect("an OPT record over TCP");
                assert_eq!(edns.flags().dnssec_ok, dnssec_ok, "{name} {rtype} over TCP");
            }
        }
    }
    // A cached answer to a query without EDNS is not served to one with (and the other way).
    for payload in [None, Some(512), None] {
        let (reply, _) = ask(
            &socket,
            server.udp_addr(),
            &query("example.sigil.", RecordType::AAAA, payload),
        )
        .await;
        assert_eq!(reply.edns.is_some(), payload.is_some(), "{payload:?}");
        let (nx, _) = ask(
            &socket,
            server.udp_addr(),
            &query("nope.sigil.", RecordType::AAAA, payload),
        )
        .await;
        assert_eq!(nx.edns.is_some(), payload.is_some(), "{payload:?}");
    }
    stop(server).await;
}

#[tokio::test]
async fn classes_other_than_in_are_refused_and_never_forwarded() {
    let upstream = DeadUpstream::new();
    let server = start(vec![upstream.addr()]).await;
    let socket = client().await;
    for (name, class) in [
        ("example.com.", DNSClass::CH),
        ("version.bind.", DNSClass::CH),
        ("example.com.", DNSClass::HS),
        ("example.com.", DNSClass::ANY),
        ("www.example.sigil.", DNSClass::CH),
        ("nope.sigil.", DNSClass::CH),
    ] {
        let mut message = query(name, RecordType::TXT, Some(1232));
        message.queries[0].set_query_class(class);
        let (reply, _) = ask(&socket, server.udp_addr(), &message).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::Refused,
            "{name} {class}"
        );
        assert!(reply.answers.is_empty(), "{name} {class}");
        let tcp = tcp_ask(server.tcp_addr(), &message).await;
        assert_eq!(tcp.metadata.response_code, ResponseCode::Refused);
    }
    assert_eq!(upstream.received(), 0, "no other class is forwarded");
    stop(server).await;
}

#[tokio::test]
async fn responses_and_garbage_are_dropped_over_udp() {
    let server = start(vec![]).await;
    let socket = client().await;
    let good = |id| {
        let mut message = query("www.example.sigil.", RecordType::A, None);
        message.metadata.id = id;
        message.to_vec().unwrap()
    };
    // A response (QR set) to a question of ours, a header that promises a question it does
    // not carry, a packet shorter than a header, a question cut in its name.
    let mut response = query("www.example.sigil.", RecordType::A, None);
    response.metadata.id = 1;
    response.metadata.message_type = MessageType::Response;
    let response = response.to_vec().unwrap();
    let mut promise = good(2);
    promise.truncate(12);
    let short = vec![0, 3, 1, 0, 0];
    let mut cut = good(4);
    cut.truncate(20);
    let mut reflected_answer = query("www.example.sigil.", RecordType::A, None);
    reflected_answer.metadata.id = 5;
    reflected_answer.metadata.message_type = MessageType::Response;
    reflected_answer.add_answer(Record::from_rdata(
        Name::from_ascii("www.example.sigil.").unwrap(),
        60,
        RData::A(A::new(192, 0, 2, 99)),
    ));
    let reflected_answer = reflected_answer.to_vec().unwrap();
    for bad in [&response, &promise, &short, &cut, &reflected_answer] {
        socket.send_to(bad, server.udp_addr()).await.unwrap();
    }
    // The next replies are to the good queries sent after them, nothing before or between.
    for id in [100, 101] {
        let reply = decode_whole(&exchange(&socket, server.udp_addr(), &good(id)).await);
        assert_eq!(reply.metadata.id, id, "a reply to a dropped packet");
    }
    let mut buf = [0; 512];
    assert!(
        socket.try_recv_from(&mut buf).is_err(),
        "nothing else came back"
    );
    stop(server).await;
}

#[tokio::test]
async fn a_query_carrying_records_is_formerr() {
    let server = start(vec![]).await;
    let socket = client().await;
    let record = Record::from_rdata(
        Name::from_ascii("www.example.sigil.").unwrap(),
        60,
        RData::A(A::new(192, 0, 2, 99)),
    );
    let mut with_answer = query("www.example.sigil.", RecordType::A, Some(1232));
    with_answer.add_answer(record.clone());
    let mut with_authority = query("www.example.sigil.", RecordType::A, None);
    with_authority.add_authority(record);
    for message in [with_answer, with_authority] {
        let (reply, _) = ask(&socket, server.udp_addr(), &message).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
        assert!(reply.answers.is_empty());
        let tcp = tcp_ask(server.tcp_addr(), &message).await;
        assert_eq!(tcp.metadata.response_code, ResponseCode::FormErr);
    }
    stop(server).await;
}

/// Found by cargo-fuzz: a question name that is a compression pointer into the header (in a
/// query the question comes first, so there is nothing else it could point at). hickory echoes
/// the question's bytes as sent, and the pointer then landed in the response's header, making a
/// reply no client can read. NSD 4.6.1 answers FORMERR with the header alone (these bytes,
/// seen from it on the same query); so do we, over UDP and TCP.
#[tokio::test]
async fn a_question_name_compressed_into_the_header_is_formerr_with_the_header_alone() {
    let server = start(vec![]).await;
    let socket = client().await;
    for (qtype, qclass) in [([0, 1], [0, 1]), ([3, 0x84], [0xc9, 0xf8])] {
        let mut packet = vec![0x01, 0x21, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x00];
        packet.extend(qtype);
        packet.extend(qclass);
        let nsd = [0x01, 0x21, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(exchange(&socket, server.udp_addr(), &packet).await, nsd);
        assert_eq!(tcp_exchange(server.tcp_addr(), &packet).await, nsd);
    }
    stop(server).await;
}

#[tokio::test]
async fn any_is_answered_with_one_rrset() {
    let server = start(vec![]).await;
    let socket = client().await;
    for name in ["example.sigil.", "sigil.", "big.example.sigil."] {
        let message = query(name, RecordType::ANY, Some(1232));
        let (reply, _) = ask(&socket, server.udp_addr(), &message).await;
        let tcp = tcp_ask(server.tcp_addr(), &message).await;
        // Eight 255-byte strings do not fit a datagram: that one is checked over TCP alone.
        assert_eq!(reply.metadata.truncation, name.starts_with("big"), "{name}");
        let whole = if reply.metadata.truncation {
            vec![&tcp]
        } else {
            vec![&reply, &tcp]
        };
        for reply in whole {
            assert_eq!(
                reply.metadata.response_code,
                ResponseCode::NoError,
                "{name}"
            );
            let first = reply.answers.first().expect("an RRset");
            assert!(
                reply
                    .answers
                    .iter()
                    .all(|r| r.record_type() == first.record_type() && r.name == first.name),
                "{name}: {:?}",
                show(&reply.answers)
            );
        }
        assert_eq!(
            tcp.answers.len(),
            if name.starts_with("big") { 8 } else { 1 }
        );
    }
    stop(server).await;
}

#[tokio::test]
async fn mx_and_srv_targets_inside_the_chain_get_their_addresses() {
    let server = start(vec![]).await;
    let socket = client().await;
    let (mx, _) = ask(
        &socket,
        server.udp_addr(),
        &query("example.sigil.", RecordType::MX, Some(1232)),
    )
    .await;
    assert_eq!(mx.answers.len(), 2);
    assert_eq!(
        show(&mx.additionals),
        [
            "mail.example.sigil. A 192.0.2.25",
            "mail.example.sigil. AAAA 2001:db8::25"
        ],
        "addresses of the target inside the chain, none for example.com"
    );
    let (srv, _) = ask(
        &socket,
        server.udp_addr(),
        &query("_sip._tcp.example.sigil.", RecordType::SRV, None),
    )
    .await;
    assert_eq!(show(&srv.additionals), ["sip.other.sigil. A 192.0.2.60"]);
    let (outside, _) = ask(
        &socket,
        server.udp_addr(),
        &query("_ext._tcp.example.sigil.", RecordType::SRV, None),
    )
    .await;
    assert_eq!(outside.answers.len(), 1);
    assert!(outside.additionals.is_empty());
    stop(server).await;
}

#[tokio::test]
async fn the_tld_name_server_name_is_answered_by_the_node_not_the_ledger() {
    let server = start(vec![]).await;
    let socket = client().await;
    let (ns, _) = ask(
        &socket,
        server.udp_addr(),
        &query("sigil.", RecordType::NS, None),
    )
    .await;
    assert_eq!(show(&ns.answers), ["sigil. NS ns1.sigil."]);
    for rtype in [
        RecordType::A,
        RecordType::AAAA,
        RecordType::TXT,
        RecordType::ANY,
    ] {
        for payload in [None, Some(1232), None] {
            let (reply, _) = ask(
                &socket,
                server.udp_addr(),
                &query("NS1.sigil.", rtype, payload),
            )
            .await;
            assert_eq!(
                reply.metadata.response_code,
                ResponseCode::NoError,
                "{rtype}"
            );
            assert!(reply.metadata.authoritative);
            assert!(
                !show(&reply.answers)
                    .iter()
                    .any(|r| r.contains("203.0.113.66") || r.contains("hijack")),
                "{rtype}: the ledger's ns1.sigil was served: {:?}",
                show(&reply.answers)
            );
        }
    }
    stop(server).await;
}

#[tokio::test]
async fn tcp_connections_close_at_once_on_a_zero_length_or_short_frame() {
    let server = start(vec![]).await;
    for frame in [
        vec![0, 0],
        vec![0, 5, 1, 2, 3, 4, 5],
        vec![0, 11].into_iter().chain([0; 11]).collect(),
    ] {
        let closed = async {
            let mut stream = TcpStream::connect(server.tcp_addr()).await.unwrap();
            stream.write_all(&frame).await.unwrap();
            let mut buf = [0; 64];
            // End of stream (or a reset), and no reply.
            match stream.read(&mut buf).await {
                Ok(n) => assert_eq!(n, 0, "a reply to a frame of {} bytes", frame.len()),
                Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
            }
        };
        timeout(WAIT, closed)
            .await
            .unwrap_or_else(|_| panic!("the connection stayed open after {frame:?}"));
    }
    // Queries sent back to back on one connection are answered in order; a short frame
    // after them closes it.
    let session = async {
        let mut stream = TcpStream::connect(server.tcp_addr()).await.unwrap();
        let names = ["www.example.sigil.", "nope.sigil.", "example.sigil."];
        let mut frames = Vec::new();
        for name in names {
            let bytes = query(name, RecordType::A, Some(1232)).to_vec().unwrap();
            frames.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_be_bytes());
            frames.extend_from_slice(&bytes);
        }
        stream.write_all(&frames).await.unwrap();
        for name in names {
            let mut len = [0; 2];
            stream.read_exact(&mut len).await.unwrap();
            let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut buf).await.unwrap();
            let reply = decode_whole(&buf);
            assert_eq!(reply.queries[0].name().to_ascii(), name);
        }
        stream.write_all(&[0, 3, 1, 2, 3]).await.unwrap();
        let mut rest = Vec::new();
        match stream.read_to_end(&mut rest).await {
            Ok(_) => assert!(rest.is_empty(), "a reply to the short frame"),
            Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
        }
    };
    timeout(WAIT, session)
        .await
        .expect("answered and closed in time");
    stop(server).await;
}
