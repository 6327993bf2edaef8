//! A one-validator ledger in memory with a name owner, test certificates from rcgen, a rustls
//! server on loopback and a client: what the certificate tests and the benchmark share.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};
use sigil_ca_bridge::{CertSource, ProofSource};
use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::error::TxError;
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::tx::{Op, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::MemStore;

pub const CHAIN: &str = "cert-chain";

/// A ledger with one validator and `owner`, who owns `example.sigil` and `other.sigil`.
pub struct Chain {
    pub ledger: Arc<Ledger>,
    validator: Keypair,
    pub owner: Keypair,
    nonce: u64,
}

impl Chain {
    pub fn start() -> Chain {
        let validator = Keypair::generate();
        let genesis = Genesis {
            genesis_time_ms: 0,
            params: ChainParams {
                chain_id: CHAIN.into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: 1,
                reveal_max_blocks: 5,
                name_ttl_blocks: 100_000,
                grace_blocks: 10,
                block_interval_ms: 10,
                work: Default::default(),
            },
            validators: ValidatorSet::equal_power([validator.public()]),
        };
        let ledger = Arc::new(Ledger::open(Arc::new(MemStore::default()), genesis, 1000).unwrap());
        let mut chain = Chain {
            ledger,
            validator,
            owner: Keypair::generate(),
            nonce: 0,
        };
        for name in ["example.sigil", "other.sigil"] {
            let salt = Hash([3; 32]);
            let commitment = name_commitment(name, &salt, &chain.owner.public());
            chain.send(Op::NameCommit { commitment }).unwrap();
            let op = Op::NameRegister {
                name: name.into(),
                salt,
                records: vec![],
            };
            chain.send(op).unwrap();
        }
        chain
    }

    /// Sends `op` signed by the owner in a block of its own; its outcome.
    pub fn send(&mut self, op: Op) -> Result<(), TxError> {
        let tx = Transaction {
            chain_id: CHAIN.into(),
            signer: self.owner.public(),
            nonce: self.nonce,
            stamp: 0,
            op,
        }
        .sign(&self.owner);
        self.nonce += 1;
        let txs = vec![tx];
        let prepared = self.ledger.prepare(&txs).unwrap();
        let outcome = prepared.execution.outcomes[0].clone();
        let header = self
            .ledger
            .header(&prepared, self.validator.public(), 0)
            .unwrap();
        let commit = Commit::sign(&header, 0, &self.validator);
        self.ledger
            .commit(prepared, Block { header, txs }, commit)
            .unwrap();
        outcome
    }

    /// A source that proves every answer and checks the proofs against the genesis validators.
    pub fn source(&self) -> Arc<dyn CertSource> {
        let ledger = self.ledger.clone();
        let trusted = ledger.validators().unwrap();
        Arc::new(ProofSource::new(
            move |name: &str, hash: &Hash| ledger.prove_cert(name, hash).map_err(|e| e.to_string()),
            CHAIN,
            trusted,
            vec!["sigil".into()],
        ))
    }
}

pub struct Issued {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Issued {
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }
}

pub fn ca(name: &str) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Issued { cert, key }
}

/// A server certificate for `sans`, valid from `from` to `until` (years).
pub fn leaf_valid(sans: &[&str], issuer: &Issued, from: i32, until: i32) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, sans[0]);
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(until, 1, 1);
    let cert = params.signed_by(&key, &issuer.cert, &issuer.key).unwrap();
    Issued { cert, key }
}

pub fn leaf(sans: &[&str], issuer: &Issued) -> Issued {
    leaf_valid(sans, issuer, 2024, 2100)
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS server on loopback presenting `leaf` (and `issuer`): answers each connection's
/// handshake, then writes `ok`. Runs until the test process ends.
pub fn serve(leaf: &Issued, issuer: &Issued) -> SocketAddr {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.serialize_der()));
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der(), issuer.der()], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let mut conn = ServerConnection::new(config).unwrap();
                while conn.is_handshaking() {
                    if conn.complete_io(&mut stream).is_err() {
                        return;
                    }
                }
                let mut tls = rustls::Stream::new(&mut conn, &mut stream);
                let _ = tls.write_all(b"ok");
                let _ = tls.flush();
                conn.send_close_notify();
                let _ = conn.complete_io(&mut stream);
            });
        }
    });
    addr
}

/// Connects to `addr` as `server_name` with `config`; the first bytes the server sent, or the
/// handshake's error.
pub fn connect(
    config: Arc<ClientConfig>,
    addr: SocketAddr,
    server_name: &str,
) -> Result<String, rustls::Error> {
    let name = ServerName::try_from(server_name.to_string()).unwrap();
    let mut conn = ClientConnection::new(config, name)?;
    let mut stream = TcpStream::connect(addr).unwrap();
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut stream) {
            let inner = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            return Err(inner.unwrap_or_else(|| rustls::Error::General(e.to_string())));
        }
    }
    let mut tls = rustls::Stream::new(&mut conn, &mut stream);
    let mut reply = [0u8; 2];
    tls.read_exact(&mut reply)
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// A client config trusting `verifier` alone, without session resumption: a resumed session
/// skips certificate verification, so a revocation would not reach it.
pub fn client(verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}
