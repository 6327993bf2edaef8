//! What a new user types, through the real `sigil` binary against `sigild --dev`: record hosts
//! and targets relative to the name, refused input with one clear message each, IDN names in
//! both forms, certificates outside their window, and `cert fetch` resolving chain names
//! through the node.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Output;

use hickory_proto::rr::RecordType;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::{Node, ok, ok_json, sigil};

/// The stored records of `name`, as `sigil name show --json` lists them.
fn records(node: &Node, keys: &Path, name: &str) -> Vec<String> {
    let shown = ok_json(node.sigil(keys, &["--json", "name", "show", name]));
    shown["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no records in {shown}"))
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

/// Asserts the command failed as an error (exit 2) and returns its stderr.
fn refused(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

#[test]
fn records_are_read_relative_to_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    let long = "t".repeat(300);
    let quoted = format!("long TXT \"{long}\"");
    ok(node.sigil(
        &keys,
        &[
            "name",
            "register",
            "example.sigil",
            "--a",
            "192.0.2.1",
            "--mx",
            "10 mail",
            "--mx",
            "20 mx.other.net.",
            "--txt",
            &long,
            "--set",
            "alias CNAME www",
            "--set",
            "www.example.sigil A 192.0.2.2",
            "--set",
            "mail.example.sigil. A 192.0.2.3",
            "--set",
            "_sip._tcp SRV 10 60 5060 sip",
            "--set",
            "far CNAME other.sigil",
            "--set",
            &quoted,
        ],
    ));
    let stored = records(&node, &keys, "example.sigil");
    let txt = format!("300 TXT \"{}\" \"{}\"", &long[..255], &long[255..]);
    for expected in [
        "@ 300 A 192.0.2.1".to_string(),
        "@ 300 MX 10 mail.example.sigil.".into(),
        "@ 300 MX 20 mx.other.net.".into(),
        format!("@ {txt}"),
        "alias 300 CNAME www.example.sigil.".into(),
        "www 300 A 192.0.2.2".into(),
        "mail 300 A 192.0.2.3".into(),
        "_sip._tcp 300 SRV 10 60 5060 sip.example.sigil.".into(),
        "far 300 CNAME other.sigil.".into(),
        // `--set` TXT over 255 bytes is split like `--txt`.
        format!("long {txt}"),
    ] {
        assert!(stored.contains(&expected), "{expected} not in {stored:?}");
    }
    assert_eq!(stored.len(), 10, "{stored:?}");
    // DNS serves what is stored: the alias points inside the name.
    let alias = query(
        node.dns,
        "alias.example.sigil.",
        RecordType::CNAME,
        Transport::Udp,
    );
    assert_eq!(answers(&alias), ["www.example.sigil."]);

    // `--ns` (name servers at the name delegate it, so on a name of their own).
    ok(node.sigil(
        &keys,
        &[
            "name",
            "register",
            "n.sigil",
            "--ns",
            "ns1",
            "--ns",
            "ns2.other.net.",
        ],
    ));
    assert_eq!(
        records(&node, &keys, "n.sigil"),
        ["@ 300 NS ns1.n.sigil.", "@ 300 NS ns2.other.net."]
    );

    // `--cname` on a registration, relative and absolute.
    ok(node.sigil(&keys, &["name", "register", "c.sigil", "--cname", "www"]));
    assert_eq!(
        records(&node, &keys, "c.sigil"),
        ["@ 300 CNAME www.c.sigil."]
    );
    ok(node.sigil(
        &keys,
        &[
            "name",
            "update",
            "c.sigil",
            "--delete",
            "c.sigil.",
            "--set",
            "@ CNAME example.sigil",
        ],
    ));
    assert_eq!(
        records(&node, &keys, "c.sigil"),
        ["@ 300 CNAME example.sigil."]
    );

    // Refused before anything is sent: exit 2, the cause once.
    let update = |set: &str| node.sigil(&keys, &["name", "update", "example.sigil", "--set", set]);
    let err = refused(node.sigil(&keys, &["name", "register", "d.sigil", "--cname", "x y"]));
    assert!(
        err.contains("--cname \"x y\"") && err.contains("one target name"),
        "{err}"
    );
    let err = refused(node.sigil(
        &keys,
        &["name", "register", "d.sigil", "--mx", "10 mail extra"],
    ));
    assert!(err.contains("--mx \"10 mail extra\""), "{err}");
    let err = refused(update("www.other.sigil A 192.0.2.9"));
    assert!(
        err.contains("host `www.other.sigil` is outside `example.sigil`"),
        "{err}"
    );
    let err = refused(update("www. A 192.0.2.9"));
    assert!(err.contains("outside `example.sigil`"), "{err}");
    for ttl in ["-5", "1h", "4294967296"] {
        let err = refused(update(&format!("www {ttl} A 1.2.3.4")));
        assert!(
            err.contains(&format!("TTL `{ttl}` is invalid"))
                && err.contains("from 0 to 604800")
                && !err.contains("record type"),
            "{err}"
        );
    }
    let err = refused(update("a.b..c A 1.2.3.4"));
    assert_eq!(err.matches("empty label").count(), 1, "{err}");
    let huge = "y".repeat(70_000);
    let err = refused(node.sigil(&keys, &["name", "register", "d.sigil", "--txt", &huge]));
    assert!(
        err.len() < 600 && err.contains("limit of 1024 bytes per record"),
        "{} bytes: {}",
        err.len(),
        &err[..err.len().min(600)]
    );
    let err = refused(update(&format!("@ TXT \"{huge}\"")));
    assert!(
        err.len() < 600
            && err.contains("limit of 1024 bytes per record")
            && err.contains("(70008 bytes)"),
        "{} bytes: {}",
        err.len(),
        &err[..err.len().min(600)]
    );
    // Nothing of that reached the ledger.
    assert_eq!(records(&node, &keys, "example.sigil"), stored);
    let absent = node.sigil(&keys, &["name", "show", "d.sigil"]);
    assert_eq!(absent.status.code(), Some(1));

    let err = refused(sigil("https://127.0.0.1:8645", &keys, &["chain", "status"]));
    assert!(
        err.contains("not HTTPS") && err.contains("use http://127.0.0.1:8645"),
        "{err}"
    );
}

struct Issued {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca() -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Sigil Test CA");
    let cert = params.self_signed(&key).unwrap();
    Issued { cert, key }
}

fn leaf(san: &str, issuer: &Issued, from: i32, until: i32) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![san.to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, san);
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(until, 1, 1);
    let cert = params.signed_by(&key, &issuer.cert, &issuer.key).unwrap();
    Issued { cert, key }
}

/// A TLS server on loopback presenting `leaf` and `issuer`.
fn tls_server(leaf: &Issued, issuer: &Issued) -> SocketAddr {
    sigil_tests::tls::server(
        vec![leaf.cert.der().clone(), issuer.cert.der().clone()],
        leaf.key.serialize_der(),
    )
}

#[test]
fn idn_names_certificate_windows_and_cert_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));

    // An IDN name is echoed in both forms.
    let human = ok(node.sigil(&keys, &["name", "register", "bücher.sigil"]));
    assert!(
        human.contains("registered xn--bcher-kva.sigil (bücher.sigil)"),
        "{human}"
    );
    let shown = ok_json(node.sigil(&keys, &["--json", "name", "show", "bücher.sigil"]));
    assert_eq!(shown["name"], "xn--bcher-kva.sigil", "{shown}");
    assert_eq!(shown["unicode"], "bücher.sigil", "{shown}");
    let human = ok(node.sigil(&keys, &["name", "show", "bücher.sigil"]));
    assert!(
        human.starts_with("xn--bcher-kva.sigil (bücher.sigil)\n"),
        "{human}"
    );
    let human = ok(node.sigil(&keys, &["name", "renew", "bücher.sigil"]));
    assert!(
        human.contains("renewed xn--bcher-kva.sigil (bücher.sigil) at height"),
        "{human}"
    );
    let plain = ok_json(node.sigil(
        &keys,
        &[
            "--json",
            "name",
            "register",
            "example.sigil",
            "--a",
            "127.0.0.1",
        ],
    ));
    assert!(plain.get("unicode").is_none(), "{plain}");

    // Certificates outside their window are refused unless forced.
    let root = ca();
    let files = dir.path();
    let expired = files.join("expired.pem");
    std::fs::write(
        &expired,
        leaf("example.sigil", &root, 2020, 2021).cert.pem(),
    )
    .unwrap();
    let future = files.join("future.pem");
    std::fs::write(&future, leaf("example.sigil", &root, 2090, 2100).cert.pem()).unwrap();
    let cert_args = |file: &Path| {
        vec![
            "cert".to_string(),
            "register".into(),
            "example.sigil".into(),
            "--cert".into(),
            file.display().to_string(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        node.sigil(&keys, &args)
    };
    let err = refused(run(cert_args(&expired)));
    assert!(
        err.contains("expired at") && err.contains("2021") && err.contains("--force"),
        "{err}"
    );
    let err = refused(run(cert_args(&future)));
    assert!(
        err.contains("not valid before") && err.contains("2090") && err.contains("--force"),
        "{err}"
    );
    let err = refused(run(vec![
        "cert".into(),
        "batch".into(),
        expired.display().to_string(),
    ]));
    assert!(err.contains("--force"), "{err}");
    let listed = ok_json(node.sigil(&keys, &["--json", "cert", "list", "example.sigil"]));
    assert_eq!(listed["certs"].as_array().unwrap().len(), 0, "{listed}");
    let mut forced = cert_args(&expired);
    forced.push("--force".into());
    let forced = run(forced);
    assert!(
        String::from_utf8_lossy(&forced.stderr).contains("registering it anyway"),
        "{forced:?}"
    );
    ok(forced);

    // `cert fetch` without --connect: the node gives the address of a chain name.
    let server = leaf("example.sigil", &root, 2024, 2100);
    let pem = files.join("server.pem");
    std::fs::write(&pem, server.cert.pem()).unwrap();
    ok(run(cert_args(&pem)));
    let port = tls_server(&server, &root).port().to_string();
    let target = format!("example.sigil:{port}");
    let fetched = ok_json(node.sigil(&keys, &["--json", "cert", "fetch", &target]));
    assert_eq!(fetched["valid"], true, "{fetched}");
    assert_eq!(fetched["address"], format!("127.0.0.1:{port}"), "{fetched}");
    // A name with no address, and a closed port, are errors (exit 2), not negative answers.
    let err = refused(node.sigil(&keys, &["cert", "fetch", &format!("bücher.sigil:{port}")]));
    assert!(err.contains("no A or AAAA record on the ledger"), "{err}");
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = refused(node.sigil(
        &keys,
        &["cert", "fetch", &format!("example.sigil:{closed_port}")],
    ));
    assert!(err.contains("cannot connect to 127.0.0.1"), "{err}");
}
