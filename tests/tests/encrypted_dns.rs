//! DNS over TLS and HTTPS with real processes: `sigild --dev --dot-listen --doh-listen` makes
//! its self-signed certificate, prints its pin, and answers `kdig +tls`, `kdig +https` and
//! curl (GET and POST, HTTP/2 and HTTP/1.1); bad requests get a 4xx; the DoT connection
//! follows the TCP framing rule; without `--dev` the flags need a certificate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use sigil_tests::{Node, ok, run_sigild_to_exit};

/// The ready line's `key=` field.
fn field<'a>(node: &'a Node, key: &str) -> &'a str {
    node.ready
        .split_whitespace()
        .find_map(|f| f.strip_prefix(key).and_then(|f| f.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in `{}`", node.ready))
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); install it (kdig: knot-dnsutils)"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The pin of the certificate file, computed by openssl: base64 of the SHA-256 of its
/// SubjectPublicKeyInfo.
fn openssl_pin(cert: &Path) -> String {
    let script = format!(
        "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A",
        cert.display()
    );
    let output = run("sh", &["-c", &script]);
    assert!(output.status.success(), "openssl: {output:?}");
    stdout(&output).trim().to_string()
}

fn question(name: &str, rtype: RecordType) -> Message {
    let mut message = Message::query();
    message.metadata.id = 0; // RFC 8484 section 4.1: cache-friendly
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    message
}

/// A curl request to the DoH server trusting only the node's certificate and its pin; returns
/// the HTTP status, HTTP version, headers and body.
fn curl(
    url: &str,
    cert: &Path,
    pin: &str,
    extra: &[&str],
    dir: &Path,
) -> (u16, String, String, Vec<u8>) {
    let body = dir.join("curl-body");
    let headers = dir.join("curl-headers");
    let pinned = format!("sha256//{pin}");
    let mut args = vec![
        "-sS",
        "--cacert",
        cert.to_str().unwrap(),
        "--pinnedpubkey",
        &pinned,
        "-o",
        body.to_str().unwrap(),
        "-D",
        headers.to_str().unwrap(),
        "-w",
        "%{http_code} %{http_version}",
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let output = run("curl", &args);
    assert!(output.status.success(), "curl {args:?}: {output:?}");
    let out = stdout(&output);
    let (status, version) = out.split_once(' ').expect("status and version");
    (
        status.parse().unwrap(),
        version.to_string(),
        std::fs::read_to_string(&headers)
            .unwrap()
            .to_ascii_lowercase(),
        std::fs::read(&body).unwrap(),
    )
}

/// The `max-age` of a Cache-Control header.
fn max_age(headers: &str) -> u32 {
    headers
        .lines()
        .find_map(|l| l.strip_prefix("cache-control: max-age="))
        .unwrap_or_else(|| panic!("no Cache-Control max-age in {headers}"))
        .trim()
        .parse()
        .unwrap()
}

fn check_a_answer(body: &[u8], headers: &str) {
    assert!(
        headers.contains("content-type: application/dns-message"),
        "{headers}"
    );
    let answer = Message::from_vec(body).expect("a DNS message");
    assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
    let data: Vec<String> = answer.answers.iter().map(|r| r.data.to_string()).collect();
    assert_eq!(data, ["192.0.2.7"]);
    let lowest = answer
        .answers
        .iter()
        .chain(&answer.authorities)
        .map(|r| r.ttl)
        .min()
        .unwrap();
    assert_eq!(max_age(headers), lowest);
}

#[test]
fn kdig_and_curl_ask_a_dev_node_over_tls_and_https() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = dir.path().join("keys");
    let listen = ["--dot-listen", "127.0.0.1:0", "--doh-listen", "127.0.0.1:0"];
    let node = Node::start(&data, &listen);
    let dot: SocketAddr = field(&node, "dot").parse().unwrap();
    let doh = field(&node, "doh").to_string();
    let pin = field(&node, "tls-pin").to_string();
    assert_eq!(doh, format!("https://{}/dns-query", doh_addr(&doh)));

    // The certificate in the data folder is the one whose pin is printed; its key is private.
    let cert = data.join("dev-tls-cert.pem");
    assert_eq!(openssl_pin(&cert), pin);
    sigil_tests::assert_owner_only(&data.join("dev-tls-key.pem"));

    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(
        &keys,
        &["name", "register", "example.sigil", "--a", "192.0.2.7"],
    ));

    // kdig over TLS, pinned: the pin printed is the pin of the certificate served.
    let port = dot.port().to_string();
    let tls_pin = format!("+tls-pin={pin}");
    let kdig = run(
        "kdig",
        &[
            "@127.0.0.1",
            "-p",
            &port,
            "+tls",
            &tls_pin,
            "+short",
            "example.sigil",
            "A",
        ],
    );
    assert!(kdig.status.success(), "kdig +tls: {kdig:?}");
    assert_eq!(stdout(&kdig).trim(), "192.0.2.7", "{kdig:?}");
    // A wrong pin is refused: the check above could fail.
    let wrong = format!("+tls-pin={}", openssl_pin_of_other(dir.path()));
    let kdig = run(
        "kdig",
        &[
            "@127.0.0.1",
            "-p",
            &port,
            "+tls",
            &wrong,
            "+short",
            "example.sigil",
            "A",
        ],
    );
    assert!(
        !stdout(&kdig).contains("192.0.2.7"),
        "kdig accepted a wrong pin: {kdig:?}"
    );

    // kdig over HTTPS (its default path is /dns-query).
    let doh_port = doh_addr(&doh).port().to_string();
    let kdig = run(
        "kdig",
        &[
            "@127.0.0.1",
            "-p",
            &doh_port,
            "+https",
            &tls_pin,
            "+short",
            "example.sigil",
            "A",
        ],
    );
    assert!(kdig.status.success(), "kdig +https: {kdig:?}");
    assert_eq!(stdout(&kdig).trim(), "192.0.2.7", "{kdig:?}");

    // curl GET over HTTP/2 and POST over HTTP/1.1, trusting only that certificate and pin.
    let query = question("example.sigil.", RecordType::A).to_vec().unwrap();
    let get = format!(
        "{doh}?dns={}",
        data_encoding::BASE64URL_NOPAD.encode(&query)
    );
    let (status, version, headers, body) = curl(&get, &cert, &pin, &["--http2"], dir.path());
    assert_eq!((status, version.as_str()), (200, "2"), "{headers}");
    check_a_answer(&body, &headers);
    let query_file = dir.path().join("query");
    std::fs::write(&query_file, &query).unwrap();
    let post = format!("@{}", query_file.display());
    let (status, version, headers, body) = curl(
        &doh,
        &cert,
        &pin,
        &[
            "--http1.1",
            "-H",
            "Content-Type: application/dns-message",
            "--data-binary",
            &post,
        ],
        dir.path(),
    );
    assert_eq!((status, version.as_str()), (200, "1.1"), "{headers}");
    check_a_answer(&body, &headers);

    // Bad requests get a 4xx and the server keeps answering: base64 with padding or other
    // characters, no `dns` parameter, a message shorter than a header, a response instead of
    // a query (a bare header with QR set), another path, another media type or method, a
    // query larger than the bound.
    let mut response = [0u8; 12];
    response[2] = 0x80;
    let big_file = dir.path().join("big-query");
    let mut big = query.clone();
    big.resize(5_000, 0);
    std::fs::write(&big_file, &big).unwrap();
    let big = format!("@{}", big_file.display());
    let bad = [
        (format!("{doh}?dns=not*base64"), &[][..], 400),
        (format!("{doh}?name=example.sigil"), &[][..], 400),
        (format!("{doh}?dns=AAAA"), &[][..], 400),
        (
            format!(
                "{doh}?dns={}",
                data_encoding::BASE64URL_NOPAD.encode(&response)
            ),
            &[][..],
            400,
        ),
        (doh.replace("/dns-query", "/elsewhere"), &[][..], 404),
        (
            doh.clone(),
            &["-H", "Content-Type: text/plain", "--data-binary", "x"][..],
            415,
        ),
        (doh.clone(), &["-X", "PUT"][..], 405),
        (
            doh.clone(),
            &[
                "--http1.1",
                "-H",
                "Content-Type: application/dns-message",
                "--data-binary",
                &big,
            ][..],
            413,
        ),
    ];
    for (url, extra, expected) in bad {
        let (status, _, headers, _) = curl(&url, &cert, &pin, extra, dir.path());
        assert_eq!(status, expected, "{url} {extra:?}: {headers}");
    }
    let (status, _, headers, body) = curl(&get, &cert, &pin, &[], dir.path());
    assert_eq!(status, 200);
    check_a_answer(&body, &headers);

    // The certificate is made once: a restart serves the same one.
    assert!(node.terminate(), "sigild did not stop cleanly");
    let node = Node::start(&data, &listen);
    assert_eq!(field(&node, "tls-pin"), pin);
    assert!(node.terminate(), "sigild did not stop cleanly");

    // Without --dev and without a certificate, the flags say what to pass.
    let (status, stderr) = run_sigild_to_exit(
        &[
            "--data".as_ref(),
            data.as_os_str(),
            "--api-listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--dns-listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--dot-listen".as_ref(),
            "127.0.0.1:0".as_ref(),
        ],
        Duration::from_secs(60),
    );
    assert!(!status.success());
    assert!(
        stderr.contains("--tls-cert FILE --tls-key FILE"),
        "{stderr}"
    );
    // With them, it serves that certificate.
    let node = Node::start(
        &data,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            data.join("dev-tls-key.pem").to_str().unwrap(),
        ],
    );
    assert_eq!(field(&node, "tls-pin"), pin);
}

/// The address of a `https://ADDR/dns-query` URL.
fn doh_addr(url: &str) -> SocketAddr {
    url.strip_prefix("https://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("not an https://ADDR/ URL: {url}"))
}

/// The pin of some other key, for a negative check.
fn openssl_pin_of_other(dir: &Path) -> String {
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let path = dir.join("other-cert.pem");
    std::fs::write(&path, other.cert.pem()).unwrap();
    openssl_pin(&path)
}

/// A TLS client to the node's DoT port that trusts only its certificate.
fn dot_connect(
    addr: SocketAddr,
    cert: &Path,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read_to_string(cert).unwrap();
    let der = pem_body(&pem);
    roots.add(der.into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    rustls::StreamOwned::new(connection, stream)
}

/// The DER bytes of a one-certificate PEM file.
fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    data_encoding::BASE64.decode(b64.as_bytes()).unwrap()
}

fn frame(message: &[u8]) -> Vec<u8> {
    let mut framed = (message.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    framed
}

#[test]
fn a_dot_connection_closes_on_a_zero_length_frame_as_tcp_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node::start(&data, &["--dot-listen", "127.0.0.1:0"]);
    let dot: SocketAddr = field(&node, "dot").parse().unwrap();
    let cert = data.join("dev-tls-cert.pem");
    let query = question("sigil.", RecordType::NS).to_vec().unwrap();

    // Two queries on one connection are both answered, in order.
    let mut stream = dot_connect(dot, &cert);
    for _ in 0..2 {
        stream.write_all(&frame(&query)).unwrap();
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut answer).unwrap();
        let answer = Message::from_vec(&answer).unwrap();
        assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
        assert!(!answer.answers.is_empty());
    }

    // A zero-length frame, then a good query in the same write: the connection is closed at
    // the empty frame and the query is never answered.
    let mut bytes = vec![0, 0];
    bytes.extend_from_slice(&frame(&query));
    stream.write_all(&bytes).unwrap();
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ),
            "not closed: {e}"
        ),
    }
    assert!(
        rest.is_empty(),
        "answered after a zero-length frame: {rest:?}"
    );
}
