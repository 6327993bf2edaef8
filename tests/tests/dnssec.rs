//! DNSSEC-signed answers from a running dev `sigild`, checked by validators that are not
//! ours: dnspython validates a signed A and TXT answer, a compact NXDOMAIN and a NODATA with
//! the trust anchor `sigil dns anchor` prints; an `unbound` started here with that anchor and
//! a stub zone for `sigil.` pointing at the node sets the AD bit, and answers SERVFAIL once a
//! rogue between it and the node flips a byte of a signature. A light resolver's answers,
//! signed with its own key, validate with its own anchor.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use sigil_tests::{Node, ok, ok_json};

/// The Python with dnspython: the Debian package's (`.ci/run` installs it).
const PYTHON: &str = "/usr/bin/python3";

/// How long unbound may take to answer its first question.
const UNBOUND_START: Duration = Duration::from_secs(30);

/// dnspython validates the node's answers with the trust anchor. Arguments: the node's DNS
/// address and port, the anchor's DNSKEY line and its DS line.
const DNSPYTHON_VALIDATION: &str = r#"
import sys
import dns.dnssec, dns.flags, dns.message, dns.name, dns.query, dns.rcode, dns.rdataclass
import dns.rdatatype, dns.rrset
host, port, dnskey_line, ds_line = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
zone = dns.name.from_text("sigil.")
IN = dns.rdataclass.IN
anchor = dns.rrset.from_text_list(zone, 3600, "IN", "DNSKEY", [dnskey_line.split(" IN DNSKEY ")[1]])
# The DS printed is the digest of the DNSKEY printed.
ds = dns.dnssec.make_ds(zone, anchor[0], "SHA256")
assert ds.to_text().upper() == ds_line.split(" IN DS ")[1].upper(), (ds, ds_line)
keys = {zone: anchor}

def ask(name, rdtype):
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    return dns.query.udp(query, host, port=port, timeout=10)

def validated(reply, section, name, rdtype):
    name = dns.name.from_text(name)
    rrset = reply.find_rrset(section, name, IN, dns.rdatatype.from_text(rdtype))
    sigs = reply.find_rrset(section, name, IN, dns.rdatatype.RRSIG, dns.rdatatype.from_text(rdtype))
    dns.dnssec.validate(rrset, sigs, keys)
    return rrset, sigs

# The DNSKEY served is the anchor's, signed by itself.
reply = ask("sigil.", "DNSKEY")
dnskey, _ = validated(reply, reply.answer, "sigil.", "DNSKEY")
assert dnskey == anchor, (dnskey, anchor)

reply = ask("example.sigil.", "A")
a, a_sigs = validated(reply, reply.answer, "example.sigil.", "A")
assert [r.to_text() for r in a] == ["192.0.2.7"], a
# A signature with one byte flipped does not validate: the check above could fail.
sig = a_sigs[0]
flipped = bytearray(sig.signature)
flipped[10] ^= 0x01
bad = dns.rrset.from_rdata(a_sigs.name, a_sigs.ttl, sig.replace(signature=bytes(flipped)))
try:
    dns.dnssec.validate(a, bad, keys)
    raise AssertionError("a tampered signature validated")
except dns.dnssec.ValidationFailure:
    pass

reply = ask("example.sigil.", "TXT")
txt, _ = validated(reply, reply.answer, "example.sigil.", "TXT")
assert [r.to_text() for r in txt] == ['"hello"'], txt

def nsec_types(reply, name):
    nsec, _ = validated(reply, reply.authority, name, "NSEC")
    next_name, *types = nsec[0].to_text().split()
    assert next_name == "\\000." + name, nsec
    validated(reply, reply.authority, "sigil.", "SOA")
    return types

# NXDOMAIN, compact (RFC 9824): NOERROR, one NSEC at the name with NXNAME (TYPE128).
reply = ask("nope.sigil.", "A")
assert reply.rcode() == dns.rcode.NOERROR and not reply.answer, reply
assert nsec_types(reply, "nope.sigil.") == ["RRSIG", "NSEC", "TYPE128"], reply

# NODATA: the NSEC lists the types the name holds, not the one asked for, and no NXNAME.
reply = ask("example.sigil.", "AAAA")
assert reply.rcode() == dns.rcode.NOERROR and not reply.answer, reply
assert nsec_types(reply, "example.sigil.") == ["A", "TXT", "RRSIG", "NSEC"], reply

# Without the DO bit: no signatures, and NXDOMAIN as before.
reply = dns.query.udp(dns.message.make_query("nope.sigil.", "A"), host, port=port, timeout=10)
assert reply.rcode() == dns.rcode.NXDOMAIN, reply
assert all(r.rdtype != dns.rdatatype.RRSIG for r in reply.authority), reply
print("validated")
"#;

#[test]
fn signed_answers_validate_with_the_anchor_and_tampering_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = dir.path().join("keys");
    let node = Node::start(&data, &[]);

    // The zone key was made in the data folder on first start, readable by the owner only.
    sigil_tests::assert_owner_only(&data.join("dns-zone-key.pem"));
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(
        &keys,
        &[
            "name",
            "register",
            "example.sigil",
            "--a",
            "192.0.2.7",
            "--txt",
            "hello",
        ],
    ));

    // The anchor, as text and as JSON.
    let text = ok(node.sigil(&keys, &["dns", "anchor"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let (dnskey, ds) = (lines[0], lines[1]);
    assert!(
        dnskey.starts_with("sigil. 3600 IN DNSKEY 257 3 15 "),
        "{text}"
    );
    assert!(ds.starts_with("sigil. 3600 IN DS "), "{text}");
    let json = ok_json(node.sigil(&keys, &["dns", "anchor", "--json"]));
    assert_eq!(json["zones"][0]["zone"], "sigil.");
    assert_eq!(json["zones"][0]["dnskey"], dnskey);
    assert_eq!(json["zones"][0]["ds"], ds);

    // dnspython validates what the node signs.
    dnspython_validates(node.dns, dnskey, ds);

    // A light resolver over the node signs what it proves with its own key, in its own data
    // folder, and serves its own anchor: dnspython validates its answers with that anchor.
    let light_data = dir.path().join("light");
    let light = Node::start_light(&light_data, &data.join("genesis.json"), &[&node.api], &[]);
    sigil_tests::assert_owner_only(&light_data.join("dns-zone-key.pem"));
    let light_anchor = ok(light.sigil(&keys, &["dns", "anchor"]));
    let light_lines: Vec<&str> = light_anchor.lines().collect();
    assert_eq!(light_lines.len(), 2, "{light_anchor}");
    assert_ne!(
        light_lines[0], dnskey,
        "the light resolver has a key of its own"
    );
    dnspython_validates(light.dns, light_lines[0], light_lines[1]);
    drop(light);

    // unbound, anchored and stubbed to the node: validated answers carry AD.
    let direct = Unbound::start(dir.path(), "direct", dnskey, node.dns);
    for (name, rtype) in [
        ("example.sigil.", RecordType::A),
        ("example.sigil.", RecordType::TXT),
        ("nope.sigil.", RecordType::A),
        ("example.sigil.", RecordType::AAAA),
    ] {
        let reply = ask(direct.addr, name, rtype);
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NoError,
            "{reply}"
        );
        assert!(
            reply.metadata.authentic_data,
            "no AD bit for {name} {rtype}: {reply}"
        );
    }
    let a = ask(direct.addr, "example.sigil.", RecordType::A);
    assert!(
        a.answers.iter().any(|r| r.data.to_string() == "192.0.2.7"),
        "{a}"
    );

    // Through a rogue that flips a byte of every signature over an A record: SERVFAIL for
    // A, for the reason that a signature fails; the TXT answer, untouched, still validates.
    let rogue = Rogue::start(node.dns);
    let fooled = Unbound::start(dir.path(), "rogue", dnskey, rogue.addr);
    let a = ask(fooled.addr, "example.sigil.", RecordType::A);
    assert_eq!(a.metadata.response_code, ResponseCode::ServFail, "{a}");
    assert!(
        rogue.tampered.load(Ordering::SeqCst),
        "the rogue saw no A signature"
    );
    let txt = ask(fooled.addr, "example.sigil.", RecordType::TXT);
    assert!(txt.metadata.authentic_data, "{txt}");
    let log = fooled.log();
    assert!(
        log.contains("validation failure <example.sigil. A IN>") && log.contains("signature"),
        "unbound's log does not say a signature failed:\n{log}"
    );
}

/// Runs [`DNSPYTHON_VALIDATION`] against the server at `dns` with the anchor `dnskey`, `ds`.
fn dnspython_validates(dns: SocketAddr, dnskey: &str, ds: &str) {
    let output = Command::new("timeout")
        .args(["60", PYTHON, "-c", DNSPYTHON_VALIDATION])
        .arg(dns.ip().to_string())
        .arg(dns.port().to_string())
        .args([dnskey, ds])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON} (apt-get install python3-dnspython): {e}"));
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("validated"),
        "dnspython against {dns}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asks `server` one question with the DO bit, retrying (UDP) until it answers.
fn ask(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(true);
    message.set_edns(edns);
    let bytes = message.to_vec().unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let deadline = Instant::now() + UNBOUND_START;
    let mut buf = vec![0; 65_535];
    loop {
        socket.send_to(&bytes, server).unwrap();
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            let reply = Message::from_vec(&buf[..n]).expect("a DNS message");
            if reply.metadata.id == message.metadata.id {
                return reply;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{server} did not answer {name} {rtype} within {UNBOUND_START:?}"
        );
    }
}

/// A free loopback UDP port (taken again at once by the caller).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `unbound` validating with the anchor `dnskey`, `sigil.` stubbed to `node`.
struct Unbound {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Unbound {
    fn start(dir: &Path, name: &str, dnskey: &str, node: SocketAddr) -> Unbound {
        let port = free_port();
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        // No root anchor: `sigil.` is secure only through its own anchor, which is what a
        // validation failure below can be blamed on.
        let config = format!(
            "server:
  interface: 127.0.0.1
  port: {port}
  do-ip6: no
  do-daemonize: no
  username: \"\"
  chroot: \"\"
  directory: \"{folder}\"
  pidfile: \"{folder}/unbound.pid\"
  use-syslog: no
  logfile: \"\"
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  do-not-query-localhost: no
  trust-anchor-signaling: no
  root-key-sentinel: no
  module-config: \"validator iterator\"
  trust-anchor: \"{dnskey}\"
  access-control: 127.0.0.0/8 allow
remote-control:
  control-enable: no
stub-zone:
  name: \"sigil.\"
  stub-addr: {ip}@{node_port}
",
            folder = folder.display(),
            ip = node.ip(),
            node_port = node.port(),
        );
        let conf = folder.join("unbound.conf");
        std::fs::write(&conf, config).unwrap();
        let log = folder.join("unbound.log");
        let child = Command::new("unbound")
            .args(["-d", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unbound ({e}); apt-get install unbound"));
        Unbound {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A man in the middle on UDP: relays questions to the node and flips a byte in the
/// signature of every RRSIG over an A record in its replies.
struct Rogue {
    addr: SocketAddr,
    tampered: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Rogue {
    fn start(node: SocketAddr) -> Rogue {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let tampered = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (tampered.clone(), stop.clone());
        std::thread::spawn(move || {
            let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
            upstream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let mut buf = vec![0; 65_535];
            while !stopped.load(Ordering::SeqCst) {
                let Ok((n, client)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                upstream.send_to(&buf[..n], node).unwrap();
                let Ok((m, _)) = upstream.recv_from(&mut buf) else {
                    continue;
                };
                let reply = match Message::from_vec(&buf[..m]) {
                    Ok(mut reply) => {
                        if flip_a_signatures(&mut reply) {
                            seen.store(true, Ordering::SeqCst);
                        }
                        reply.to_vec().unwrap()
                    }
                    Err(_) => buf[..m].to_vec(),
                };
                let _ = socket.send_to(&reply, client);
            }
        });
        Rogue {
            addr,
            tampered,
            stop,
        }
    }
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Flips a byte of the signature of each RRSIG over an A record; whether there was one.
fn flip_a_signatures(reply: &mut Message) -> bool {
    let mut flipped = false;
    for record in &mut reply.answers {
        if let RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) = &record.data
            && rrsig.input().type_covered == RecordType::A
        {
            let mut signature = rrsig.sig().to_vec();
            signature[10] ^= 0x01;
            let input = rrsig.input().clone();
            record.data = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, signature)));
            flipped = true;
        }
    }
    flipped
}
