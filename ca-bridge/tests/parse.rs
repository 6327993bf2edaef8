//! Certificate files as users hand them over: PEM and DER, single and chains, and every kind
//! of bad input with its error.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
use sigil_ca_bridge::{Error, openssl_form, parse_chain, parse_der, parse_fingerprint, sha256};

struct Issued {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Issued { cert, key }
}

fn leaf(sans: &[&str], issuer: &Issued) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, sans[0]);
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2035, 1, 1);
    let cert = params.signed_by(&key, &issuer.cert, &issuer.key).unwrap();
    Issued { cert, key }
}

#[test]
fn a_pem_certificate_gives_its_facts() {
    let ca = ca("Test CA");
    let server = leaf(&["Example.Sigil", "*.example.sigil"], &ca);
    let certs = parse_chain(server.cert.pem().as_bytes()).unwrap();
    assert_eq!(certs.len(), 1);
    let cert = &certs[0];
    assert_eq!(cert.der, server.cert.der().to_vec());
    assert_eq!(cert.cert_sha256, sha256(server.cert.der()));
    assert_eq!(
        cert.spki_sha256,
        sha256(&server.key.public_key_der()),
        "the SPKI hash covers the whole SubjectPublicKeyInfo"
    );
    assert_eq!(cert.sans, ["example.sigil", "*.example.sigil"]);
    assert_eq!(cert.not_before, 1_735_689_600); // 2025-01-01
    assert_eq!(cert.not_after, 2_051_222_400); // 2035-01-01
    assert!(cert.issuer.contains("Test CA"));
    let facts = cert.facts("example.sigil");
    assert_eq!(facts.cert_sha256, cert.cert_sha256);
    assert_eq!(facts.sans, cert.sans);
    // DER gives the same.
    assert_eq!(parse_chain(server.cert.der()).unwrap()[0], *cert);
    assert_eq!(parse_der(server.cert.der()).unwrap(), *cert);
    // The OpenSSL fingerprint form round-trips to the same hash.
    assert_eq!(
        parse_fingerprint(&openssl_form(&cert.cert_sha256)).unwrap(),
        cert.cert_sha256
    );
}

#[test]
fn chains_must_start_with_the_server_and_go_up() {
    let root = ca("Root");
    let server = leaf(&["example.sigil"], &root);
    let pem = format!("{}{}", server.cert.pem(), root.cert.pem());
    let chain = parse_chain(pem.as_bytes()).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].sans, ["example.sigil"]);
    let der = [server.cert.der().to_vec(), root.cert.der().to_vec()].concat();
    assert_eq!(parse_chain(&der).unwrap(), chain);

    let reversed = format!("{}{}", root.cert.pem(), server.cert.pem());
    let err = parse_chain(reversed.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::WrongOrder { index: 1, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("put the server's certificate first")
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let root = ca("Root");
    let server = leaf(&["example.sigil"], &root);

    assert_eq!(parse_chain(b"").unwrap_err(), Error::Empty);
    assert_eq!(parse_chain(b"   \n").unwrap_err(), Error::Empty);
    assert_eq!(
        parse_chain(b"hello, this is not a certificate").unwrap_err(),
        Error::Garbage
    );
    let key_pem = server.key.serialize_pem();
    assert!(matches!(
        parse_chain(key_pem.as_bytes()).unwrap_err(),
        Error::PrivateKey { .. }
    ));
    let csr = "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n";
    assert!(matches!(
        parse_chain(csr.as_bytes()).unwrap_err(),
        Error::NotCertificate { .. }
    ));
    let damaged = "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        parse_chain(damaged.as_bytes()).unwrap_err(),
        Error::BadPem { index: 1, .. }
    ));

    let der = server.cert.der().to_vec();
    let err = parse_chain(&der[..der.len() / 2]).unwrap_err();
    assert!(
        matches!(err, Error::Truncated { have, need } if have == der.len() / 2 && need == der.len()),
        "{err}"
    );
    let mut corrupt = der.clone();
    corrupt[10] ^= 0xff;
    corrupt[20] ^= 0xff;
    assert!(matches!(
        parse_chain(&corrupt).unwrap_err(),
        Error::BadCertificate { .. } | Error::Truncated { .. }
    ));
    let err = parse_der(&[der.clone(), der].concat()).unwrap_err();
    assert!(matches!(err, Error::BadCertificate { .. }), "{err}");
}
