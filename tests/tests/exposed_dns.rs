//! `sigild`'s DNS server exposed to attackers, with real processes on loopback: a UDP flood
//! from one prefix is rate limited (answered, truncated, dropped) while TCP and other prefixes
//! are answered; names outside the chain are forwarded only for the clients of
//! `--forward-allow`; a flood of outside names against a dead upstream is bounded; a light
//! resolver forwards outside names to its `--upstream` too, and keeps its proven answers across
//! headers whose state root did not change.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use sigil_tests::dns::{Transport, answers, ede, query, query_edns};
use sigil_tests::flood::rss_bytes;
use sigil_tests::{Node, api_get, run_sigild_to_exit};

/// How long a test client waits for one answer.
const WAIT: Duration = Duration::from_secs(5);

/// What the test upstream answers for every A question.
const UPSTREAM_ADDRESS: &str = "192.0.2.99";

/// Questions `sigild` forwards at once (`limits::MAX_FORWARDS_IN_FLIGHT`).
const MAX_FORWARDS_IN_FLIGHT: usize = 256;

/// Extended DNS Error codes (RFC 8914) the node uses here.
const EDE_OTHER: u16 = 0;
const EDE_PROHIBITED: u16 = 18;
const EDE_NO_REACHABLE_AUTHORITY: u16 = 22;

/// A UDP socket of a client at `ip`.
fn client(ip: &str) -> UdpSocket {
    let socket = UdpSocket::bind((IpAddr::from_str(ip).unwrap(), 0)).expect("bind a client");
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket
}

/// An encoded question with id `id`, with EDNS (so that an answer can carry an Extended DNS
/// Error).
fn question(name: &str, rtype: RecordType, id: u16) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    message.set_edns(edns);
    message.to_vec().unwrap()
}

/// Asks `server` from `socket` and returns the answer to that question.
fn ask(socket: &UdpSocket, server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    socket
        .send_to(&question(name, rtype, 4242), server)
        .unwrap();
    let mut buf = vec![0; 65_535];
    loop {
        let (len, _) = socket.recv_from(&mut buf).expect("an answer in time");
        let answer = Message::from_vec(&buf[..len]).unwrap();
        if answer.metadata.id == 4242 {
            return answer;
        }
    }
}

/// A tiny upstream name server on loopback (UDP): it answers every question with
/// `UPSTREAM_ADDRESS`, or (dead) never answers; either way it records the names asked.
struct Upstream {
    addr: SocketAddr,
    names: Arc<Mutex<HashSet<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    fn start(answers: bool) -> Upstream {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let names = Arc::new(Mutex::new(HashSet::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (names, stop) = (names.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0; 4096];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((len, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    let Ok(asked) = Message::from_vec(&buf[..len]) else {
                        continue;
                    };
                    let Some(q) = asked.queries.first().cloned() else {
                        continue;
                    };
                    names.lock().unwrap().insert(q.name().to_ascii());
                    if !answers {
                        continue;
                    }
                    let mut reply = asked.clone();
                    reply.metadata.message_type = MessageType::Response;
                    reply.metadata.recursion_available = true;
                    if q.query_type() == RecordType::A {
                        reply.add_answer(Record::from_rdata(
                            q.name().clone(),
                            300,
                            RData::A(UPSTREAM_ADDRESS.parse().unwrap()),
                        ));
                    }
                    let _ = socket.send_to(&reply.to_vec().unwrap(), from);
                }
            })
        };
        Upstream {
            addr,
            names,
            stop,
            thread: Some(thread),
        }
    }

    fn addr(&self) -> String {
        self.addr.to_string()
    }

    fn asked(&self, name: &str) -> bool {
        self.names.lock().unwrap().contains(name)
    }

    fn distinct_names(&self) -> usize {
        self.names.lock().unwrap().len()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_udp_flood_is_rate_limited_with_slip_while_tcp_and_other_prefixes_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 20;
    let node = Node::start(
        &dir.path().join("data"),
        &["--rrl-responses-per-second", &rate.to_string()],
    );
    // A rogue sender on loopback floods the apex question, back to back.
    let rogue = client("127.0.0.1");
    let flood: u16 = 400;
    let started = Instant::now();
    for id in 0..flood {
        rogue
            .send_to(&question("sigil.", RecordType::NS, id), node.dns)
            .unwrap();
    }
    // Everything that comes back, until a second of silence.
    rogue
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let (mut answered, mut truncated) = (0u32, 0u32);
    let mut last = started;
    let mut seen = HashSet::new();
    let mut buf = vec![0; 65_535];
    while let Ok((len, _)) = rogue.recv_from(&mut buf) {
        last = Instant::now();
        let answer = Message::from_vec(&buf[..len]).unwrap();
        assert!(answer.metadata.id < flood, "an answer to a question asked");
        assert!(seen.insert(answer.metadata.id), "one answer per question");
        assert_eq!(answer.queries[0].name().to_ascii(), "sigil.");
        if answer.metadata.truncation {
            // Slipped: the question alone, so that the client retries over TCP.
            assert!(answer.answers.is_empty() && answer.additionals.is_empty());
            truncated += 1;
        } else {
            assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
            assert!(!answer.answers.is_empty(), "a whole answer");
            answered += 1;
        }
    }
    let dropped = u32::from(flood) - answered - truncated;
    let flood_secs = last.duration_since(started).as_secs_f64();
    println!(
        "flood of {flood} at {rate}/s: {answered} answered, {truncated} truncated, {dropped} \
         dropped, over {flood_secs:.3} s"
    );
    // The bucket: one second's burst, then the rate for as long as the flood lasted.
    let bound = f64::from(rate) * (1.0 + flood_secs) + 1.0;
    assert!(
        answered >= 1 && f64::from(answered) <= bound,
        "{answered} answered, at most {bound}"
    );
    assert!(
        truncated >= 1,
        "every second limited answer slips out truncated"
    );
    assert!(dropped >= 1, "the other limited answers are dropped");

    // A real client told to retry over TCP gets its answer there: TCP is not limited.
    for _ in 0..3 {
        let over_tcp = query(node.dns, "sigil.", RecordType::NS, Transport::Tcp);
        assert_eq!(over_tcp.metadata.response_code, ResponseCode::NoError);
        assert!(!over_tcp.metadata.truncation && !over_tcp.answers.is_empty());
    }
    // Another /24 has its own bucket: answered over UDP while the rogue's is empty.
    let neighbour = client("127.0.1.1");
    let answer = ask(&neighbour, node.dns, "sigil.", RecordType::NS);
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
    assert!(!answer.metadata.truncation && !answer.answers.is_empty());
}

#[test]
fn names_outside_the_chain_are_forwarded_only_for_allowed_clients() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start(true);
    let node = Node::start(
        &dir.path().join("data"),
        &[
            "--upstream",
            &upstream.addr(),
            "--forward-allow",
            "127.0.0.1/32",
        ],
    );
    // The allowed client gets the upstream's answer, with recursion available.
    let allowed = client("127.0.0.1");
    let answer = ask(&allowed, node.dns, "allowed.example.com.", RecordType::A);
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answers(&answer), [UPSTREAM_ADDRESS]);
    assert!(answer.metadata.recursion_available);
    assert!(upstream.asked("allowed.example.com."));

    // Another loopback address is not in the list: REFUSED, and why, and the upstream is
    // never asked.
    let stranger = client("127.0.0.2");
    let answer = ask(&stranger, node.dns, "stranger.example.com.", RecordType::A);
    assert_eq!(answer.metadata.response_code, ResponseCode::Refused);
    assert!(!answer.metadata.recursion_available);
    let (code, text) = ede(&answer).expect("an Extended DNS Error");
    assert_eq!(code, EDE_PROHIBITED, "{text}");
    assert!(text.contains("--forward-allow"), "{text}");
    assert!(!upstream.asked("stranger.example.com."));
    // Chain names are answered for anyone.
    let answer = ask(&stranger, node.dns, "sigil.", RecordType::NS);
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
    assert!(!answer.answers.is_empty());
}

#[test]
fn a_flood_of_outside_names_against_a_dead_upstream_is_bounded_and_chain_names_answer() {
    let dir = tempfile::tempdir().unwrap();
    let dead = Upstream::start(false);
    // No rate limit: every answer the node makes is counted here.
    let node = Node::start(
        &dir.path().join("data"),
        &[
            "--upstream",
            &dead.addr(),
            "--rrl-responses-per-second",
            "0",
        ],
    );
    let rss_before = rss_bytes(node.pid()).expect("the node's memory");
    let flooder = client("127.0.0.1");
    let flood = 2_000usize;
    let mut tally = Tally::default();
    let mut most_outstanding = 0;
    let mut chain_answered_during_flood = false;
    for chunk in 0..flood / 100 {
        for i in chunk * 100..(chunk + 1) * 100 {
            let name = format!("q{i}.flood.example.");
            flooder
                .send_to(&question(&name, RecordType::A, i as u16), node.dns)
                .unwrap();
        }
        // What has come back so far; then the questions the upstream has seen and the node
        // has not yet given up on are those in flight (give or take answers on their way).
        tally.drain(&flooder, None);
        most_outstanding =
            most_outstanding.max(dead.distinct_names().saturating_sub(tally.unreachable));
        if tally.busy > 0 && !chain_answered_during_flood {
            // Every forwarding turn is taken: chain names still answer, over UDP and TCP.
            for transport in [Transport::Udp, Transport::Tcp] {
                let answer = query(node.dns, "sigil.", RecordType::NS, transport);
                assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
                assert!(!answer.answers.is_empty());
            }
            chain_answered_during_flood = true;
        }
    }
    // The forwarded ones fail after the upstream deadline; the rest of the answers come in
    // (until all are in, or none came for 3 s: the kernel may have dropped some queries).
    tally.drain(&flooder, Some((flood, Duration::from_secs(3))));
    let rss_after = rss_bytes(node.pid()).expect("the node's memory");
    println!(
        "{flood} outside names against a dead upstream: {} answered busy at once, {} after \
         the upstream deadline, {} names reached the upstream, at most {most_outstanding} in \
         flight; RSS {} -> {} KiB",
        tally.busy,
        tally.unreachable,
        dead.distinct_names(),
        rss_before / 1024,
        rss_after / 1024
    );
    assert!(
        most_outstanding <= MAX_FORWARDS_IN_FLIGHT + 16,
        "{most_outstanding} questions were waiting on the upstream at once"
    );
    assert!(
        tally.busy >= 1,
        "past the bound, questions are answered at once"
    );
    assert!(chain_answered_during_flood);
    assert!(
        dead.distinct_names() <= flood - tally.busy,
        "a question answered busy never reaches the upstream"
    );
    assert!(
        rss_after < rss_before + 64 * 1024 * 1024,
        "the node's memory grew by {} KiB",
        rss_after.saturating_sub(rss_before) / 1024
    );
}

/// The answers to a flood of outside names: SERVFAIL at once (busy), or after the upstream
/// deadline (unreachable).
#[derive(Default)]
struct Tally {
    busy: usize,
    unreachable: usize,
}

impl Tally {
    /// Reads the answers waiting on `socket`; with `until: Some((total, quiet))`, also waits
    /// for more until `total` are in or none came for `quiet`.
    fn drain(&mut self, socket: &UdpSocket, until: Option<(usize, Duration)>) {
        match until {
            None => socket.set_nonblocking(true).unwrap(),
            Some((_, quiet)) => {
                socket.set_nonblocking(false).unwrap();
                socket.set_read_timeout(Some(quiet)).unwrap();
            }
        }
        let mut buf = vec![0; 65_535];
        while until.is_none_or(|(total, _)| self.busy + self.unreachable < total) {
            let Ok((len, _)) = socket.recv_from(&mut buf) else {
                break;
            };
            let answer = Message::from_vec(&buf[..len]).unwrap();
            assert_eq!(answer.metadata.response_code, ResponseCode::ServFail);
            match ede(&answer) {
                Some((EDE_OTHER, text)) if text.contains("too many") => self.busy += 1,
                Some((EDE_NO_REACHABLE_AUTHORITY, _)) => self.unreachable += 1,
                other => panic!("unexpected answer {other:?}"),
            }
        }
        socket.set_nonblocking(false).unwrap();
    }
}

#[test]
fn a_light_resolver_forwards_outside_names_and_shows_its_encrypted_addresses() {
    let dir = tempfile::tempdir().unwrap();
    // The dev node makes a self-signed certificate for its DNS over TLS; the light resolver
    // serves the same files.
    let node = Node::start(&dir.path().join("data"), &["--dot-listen", "127.0.0.1:0"]);
    let upstream = Upstream::start(true);
    let light_data = dir.path().join("light");
    let genesis = node.data.join("genesis.json");
    let (cert, key) = (
        node.data.join("dev-tls-cert.pem"),
        node.data.join("dev-tls-key.pem"),
    );
    let resolver = Node::start_light(
        &light_data,
        &genesis,
        &[&node.api],
        &[
            "--upstream",
            &upstream.addr(),
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    // Its ready line gives its encrypted addresses and the certificate's pin, as a full
    // node's does.
    let field = |key: &str| {
        resolver
            .ready
            .split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in `{}`", resolver.ready))
            .to_string()
    };
    let dot: SocketAddr = field("dot").parse().expect("a DNS over TLS address");
    assert_ne!(dot.port(), 0);
    assert!(field("doh").starts_with("https://127.0.0.1:"));
    assert!(field("doh").ends_with("/dns-query"));
    assert!(!field("tls-pin").is_empty());

    // A name outside the chain goes to the upstream, over UDP and TCP.
    for transport in [Transport::Udp, Transport::Tcp] {
        let answer = query(
            resolver.dns,
            "outside.example.com.",
            RecordType::A,
            transport,
        );
        assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
        assert_eq!(answers(&answer), [UPSTREAM_ADDRESS]);
        assert!(answer.metadata.recursion_available);
    }
    assert!(upstream.asked("outside.example.com."));
    // Chain names are still proven from the peer, not forwarded.
    let answer = query(resolver.dns, "sigil.", RecordType::NS, Transport::Udp);
    assert_eq!(
        answer.metadata.response_code,
        ResponseCode::NoError,
        "{answer}"
    );
    assert!(!upstream.asked("sigil."));
}

#[test]
fn an_https_peer_is_refused_at_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dir.path().join("genesis.json");
    let data = dir.path().join("light");
    let args = [
        "--light",
        "--genesis",
        genesis.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--peer",
        "https://127.0.0.1:8645",
    ]
    .map(std::ffi::OsStr::new);
    let (status, stderr) = run_sigild_to_exit(&args, WAIT);
    assert!(!status.success());
    assert!(
        stderr.contains("https peers are not supported") && stderr.contains("http://"),
        "{stderr}"
    );
}

/// A TCP relay in front of a node's API that counts the requests naming `needle` (the
/// light resolver asks for proofs with their keys in hex in the URL).
fn counting_relay(api: &str, needle: &str) -> (String, Arc<AtomicUsize>) {
    let target: SocketAddr = api.trim_start_matches("http://").parse().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let (needle, counted) = (needle.as_bytes().to_vec(), count.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let Ok(mut server) = TcpStream::connect(target) else {
                continue;
            };
            let (mut client_back, mut server_back) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut server_back, &mut client_back);
            });
            let (needle, counted) = (needle.clone(), counted.clone());
            std::thread::spawn(move || {
                // The last bytes of the previous read are kept: a key may span two reads.
                let mut seen = Vec::new();
                let mut buf = vec![0; 16 * 1024];
                while let Ok(n) = client.read(&mut buf) {
                    if n == 0 || server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let found = seen.windows(needle.len()).filter(|w| *w == needle).count();
                    counted.fetch_add(found, Ordering::SeqCst);
                    let keep = seen.len().min(needle.len() - 1);
                    seen.drain(..seen.len() - keep);
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[test]
fn a_light_resolver_keeps_its_proven_answers_across_headers_that_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A dev chain with no transactions: each block's header has the same state root.
    let node = Node::start(&dir.path().join("data"), &[]);
    let key = hex::encode(b"name/nothing.sigil");
    let (peer, asked) = counting_relay(&node.api, &key);
    let light_data = dir.path().join("light");
    let genesis = node.data.join("genesis.json");
    let resolver = Node::start_args(
        &light_data,
        &[
            "--light",
            "--genesis",
            genesis.to_str().unwrap(),
            "--data",
            light_data.to_str().unwrap(),
            "--peer",
            &peer,
            "--dns-listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
        ],
    );
    let ask_absent = || {
        query_edns(
            resolver.dns,
            "nothing.sigil.",
            RecordType::A,
            Transport::Udp,
        )
    };
    let nxdomain = || {
        let answer = ask_absent();
        assert_eq!(
            answer.metadata.response_code,
            ResponseCode::NXDomain,
            "{:?}",
            ede(&answer)
        );
    };
    // Its first header and proofs come from the peer (a busy machine may make it answer
    // SERVFAIL, saying why, until they do).
    let deadline = Instant::now() + Duration::from_secs(60);
    while ask_absent().metadata.response_code != ResponseCode::NXDomain {
        assert!(
            Instant::now() < deadline,
            "never proven: {:?}",
            ede(&ask_absent())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = asked.load(Ordering::SeqCst);
    assert!(first >= 1, "the absence was proven from the peer");
    let trusted = || {
        api_get(&resolver.api, "/v1/status")["light"]["trusted_height"]
            .as_u64()
            .unwrap()
    };
    let before = trusted();
    // Newer headers are adopted (the resolver refreshes on its own)...
    let deadline = Instant::now() + Duration::from_secs(60);
    while trusted() < before + 2 {
        assert!(Instant::now() < deadline, "no newer header adopted");
        std::thread::sleep(Duration::from_millis(100));
    }
    // ... and the proven absence still answers, without asking the peer again.
    nxdomain();
    nxdomain();
    assert_eq!(asked.load(Ordering::SeqCst), first, "proofs fetched again");
}
