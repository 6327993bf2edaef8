//! `sigil cert`: bind certificates to names, revoke them, list them, authorize issuers, and
//! verify a certificate (or a live TLS server) against proofs checked against the pinned
//! validators, so that a lying node cannot make a revoked certificate look active.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hickory_proto::rr::RData;
use rustls::pki_types::ServerName;
use serde::Serialize;
use sigil_ca_bridge::judge::show_time;
use sigil_ca_bridge::{
    LedgerVerifier, ParsedCert, ProofSource, Proven, check_fresh, handshake_error, judge,
    parse_chain, parse_fingerprint, registered_name, verify_cert_proof,
};
use sigil_core::api::CertInfo;
use sigil_core::limits::MAX_CERTS_PER_BATCH;
use sigil_core::name::{Placement, place};
use sigil_core::san;
use sigil_core::state::{CertEntry, CertEvent, RevocationReason};
use sigil_core::time::now_ms;
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Height, Keypair, PublicKey};

use super::name::send_and_wait;
use super::{Ctx, normalize, registrable};
use crate::args::{CertChoice, CertVerifyArgs};
use crate::client::{Client, Listing};
use crate::output::{Exit, name_forms, short_key, table};

/// Longest a TLS connection and handshake of `cert fetch` may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Reads and parses a certificate file (PEM or DER, single or chain).
fn read_chain(path: &Path) -> anyhow::Result<Vec<ParsedCert>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_chain(&bytes).with_context(|| format!("{} cannot be used", path.display()))
}

/// Refuses a certificate outside its validity window unless `force`: registered, it would
/// speak for nothing (expired) or not yet.
fn check_window(ctx: &Ctx, cert: &ParsedCert, file: &Path, force: bool) -> anyhow::Result<()> {
    let now = now_secs();
    let problem = if now > cert.not_after {
        format!(
            "expired at {}: verifiers refuse it",
            show_time(cert.not_after)
        )
    } else if now < cert.not_before {
        format!(
            "is not valid before {}: verifiers refuse it until then",
            show_time(cert.not_before)
        )
    } else {
        return Ok(());
    };
    if force {
        ctx.out.note(format!(
            "certificate {} {problem}; registering it anyway (--force)",
            file.display()
        ));
        return Ok(());
    }
    anyhow::bail!(
        "certificate {} {problem}; register a certificate that is valid now, or give --force to register this one anyway",
        file.display()
    )
}

fn now_secs() -> i64 {
    (now_ms() / 1000) as i64
}

#[derive(Serialize)]
struct Registered {
    name: String,
    /// The name's Unicode form, when it has internationalized labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode: Option<String>,
    cert_sha256: Hash,
    spki_sha256: Hash,
    sans: Vec<String>,
    not_before: i64,
    not_after: i64,
    height: Height,
    tx: Hash,
}

pub async fn register(ctx: &Ctx, name: &str, file: &Path, force: bool) -> anyhow::Result<Exit> {
    let chain = read_chain(file)?;
    check_window(ctx, &chain[0], file, force)?;
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(name, &status)?;
    let key = owner_or_issuer(ctx, &client, &name).await?;
    let cert = &chain[0];
    san::check_for_name(&cert.sans, &name, &status.params.tlds)
        .with_context(|| format!("{} cannot be bound to `{name}`", file.display()))?;
    let op = Op::CertRegister {
        cert: cert.facts(&name),
    };
    let what = format!("the registration of certificate {}", cert.cert_sha256);
    let (height, tx) = send_and_wait(ctx, &client, &key, &status, op, &what).await?;
    let done = Registered {
        unicode: sigil_core::name::unicode(&name),
        name,
        cert_sha256: cert.cert_sha256,
        spki_sha256: cert.spki_sha256,
        sans: cert.sans.clone(),
        not_before: cert.not_before,
        not_after: cert.not_after,
        height,
        tx,
    };
    ctx.out.emit(&done, |r| {
        format!(
            "registered certificate {} for {} at height {}\n{}",
            r.cert_sha256,
            name_forms(&r.name),
            r.height,
            table(
                &[
                    vec!["names".into(), r.sans.join(", ")],
                    vec!["valid from".into(), show_time(r.not_before)],
                    vec!["valid until".into(), show_time(r.not_after)],
                    vec!["spki sha256".into(), r.spki_sha256.to_string()],
                ],
                "  "
            )
        )
    });
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Batched {
    certs: Vec<BatchedCert>,
    heights: Vec<Height>,
}

#[derive(Serialize)]
struct BatchedCert {
    file: PathBuf,
    name: String,
    cert_sha256: Hash,
}

pub async fn batch(ctx: &Ctx, files: &[PathBuf], force: bool) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let (_, key) = ctx.signing_key()?;
    let status = client.status().await?;
    let tlds = &status.params.tlds;
    let mut certs = Vec::new();
    let mut facts = Vec::new();
    for file in files {
        let cert = read_chain(file)?.remove(0);
        check_window(ctx, &cert, file, force)?;
        let name = cert
            .sans
            .iter()
            .find_map(|s| match place(san::base(s), tlds) {
                Placement::Under { name, .. } => Some(name.to_string()),
                _ => None,
            })
            .with_context(|| {
                format!(
                    "{} names no name under the chain's top-level domains ({})",
                    file.display(),
                    tlds.join(", ")
                )
            })?;
        san::check_for_name(&cert.sans, &name, tlds)
            .with_context(|| format!("{} cannot be bound to `{name}`", file.display()))?;
        facts.push(cert.facts(&name));
        certs.push(BatchedCert {
            file: file.clone(),
            name,
            cert_sha256: cert.cert_sha256,
        });
    }
    let mut heights = Vec::new();
    for (i, chunk) in facts.chunks(MAX_CERTS_PER_BATCH).enumerate() {
        let op = Op::CertRegisterBatch {
            certs: chunk.to_vec(),
        };
        let what = format!("batch {} ({} certificates)", i + 1, chunk.len());
        let (height, _) = send_and_wait(ctx, &client, &key, &status, op, &what).await?;
        heights.push(height);
    }
    let done = Batched { certs, heights };
    ctx.out.emit(&done, |b| {
        let rows: Vec<Vec<String>> = b
            .certs
            .iter()
            .map(|c| {
                vec![
                    c.cert_sha256.to_string(),
                    c.name.clone(),
                    c.file.display().to_string(),
                ]
            })
            .collect();
        format!(
            "registered {} certificate(s) in {} transaction(s)\n{}",
            b.certs.len(),
            b.heights.len(),
            table(&rows, "  ")
        )
    });
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Verified {
    name: String,
    cert_sha256: Hash,
    /// Whether the certificate speaks for the name now.
    valid: bool,
    /// Why not: unknown (not registered for the name the host lies under), outside_chain,
    /// revoked, not_yet_valid, expired, name_mismatch, wrong_owner, name_gone, stale (the proof
    /// is of an old block), from_the_future, or unproven (the node's answer did not verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<Height>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<CertEntry>,
}

pub async fn verify(ctx: &Ctx, args: CertVerifyArgs) -> anyhow::Result<Exit> {
    let cert_sha256 = match (&args.file, &args.sha256) {
        (Some(file), _) => read_chain(file)?[0].cert_sha256,
        (None, Some(hex)) => parse_fingerprint(hex)?,
        (None, None) => anyhow::bail!("give a certificate file or --sha256 HEX"),
    };
    let host = normalize(&args.name)?;
    let client = ctx.client()?;
    let status = client.status().await?;
    let mut result = Verified {
        name: host.clone(),
        cert_sha256,
        valid: false,
        reason: None,
        message: String::new(),
        height: None,
        block_hash: None,
        entry: None,
    };
    // Only the entries of the name the host lies under speak for it.
    let name = match registered_name(&host, &status.params.tlds) {
        Ok(name) => name,
        Err(refusal) => {
            result.reason = Some(refusal.code());
            result.message = refusal.to_string();
            ctx.out.emit(&result, |r| {
                format!(
                    "NOT VALID: certificate {} for {}: {}",
                    r.cert_sha256, r.name, r.message
                )
            });
            return Ok(Exit::Negative);
        }
    };
    let proven = match super::trusted(ctx, &status).await? {
        Err(reason) => Err(reason),
        Ok(validators) => {
            let answer = client.cert_proof(&name, &cert_sha256).await?;
            verify_cert_proof(&answer, &name, &cert_sha256, &status.chain_id, &validators)
                .map_err(|e| e.to_string())
        }
    };
    let proven: Proven = match proven {
        Ok(p) => p,
        Err(reason) => {
            result.reason = Some("unproven");
            result.message = format!("the node's answer cannot be trusted: {reason}");
            ctx.out.emit(&result, |r| {
                format!("NOT VERIFIED: {} (node {})", r.message, ctx.node)
            });
            return Ok(Exit::Negative);
        }
    };
    result.height = Some(proven.height);
    result.block_hash = Some(proven.block_hash);
    result.entry = proven.entry.clone();
    let verdict = check_fresh(&proven, now_ms(), args.max_age)
        .and_then(|()| judge(&proven, &host, &status.params.tlds, now_secs()));
    match verdict {
        Ok(entry) => {
            result.valid = true;
            result.message = format!(
                "registered for {} and active at height {}, valid until {}",
                entry.facts.name,
                proven.height,
                show_time(entry.facts.not_after)
            );
            ctx.out.emit(&result, |r| {
                format!(
                    "valid: certificate {} for {}: {}\n  (proof checked against the validators' signatures on block {})",
                    r.cert_sha256,
                    r.name,
                    r.message,
                    proven.block_hash
                )
            });
            Ok(Exit::Ok)
        }
        Err(refusal) => {
            result.reason = Some(refusal.code());
            result.message = refusal.to_string();
            ctx.out.emit(&result, |r| {
                format!(
                    "NOT VALID: certificate {} for {}: {}\n  (proven at height {})",
                    r.cert_sha256, r.name, r.message, proven.height
                )
            });
            Ok(Exit::Negative)
        }
    }
}

#[derive(Serialize)]
struct Revoked {
    name: String,
    cert_sha256: Hash,
    reason: RevocationReason,
    height: Height,
    tx: Hash,
}

pub async fn revoke(
    ctx: &Ctx,
    name: &str,
    which: CertChoice,
    reason: &str,
) -> anyhow::Result<Exit> {
    let reason: RevocationReason = reason
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--reason {e}"))?;
    let cert_sha256 = match (&which.cert, &which.sha256) {
        (Some(file), _) => read_chain(file)?[0].cert_sha256,
        (None, Some(hex)) => parse_fingerprint(hex)?,
        (None, None) => anyhow::bail!("give --cert FILE or --sha256 HEX"),
    };
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(name, &status)?;
    let key = owner_or_issuer(ctx, &client, &name).await?;
    let Some(info) = client.cert(&name, &cert_sha256).await? else {
        anyhow::bail!(
            "certificate {cert_sha256} is not registered for `{name}`; `sigil cert list {name}` shows the certificates of `{name}`"
        );
    };
    if let Some(r) = &info.entry.revoked {
        anyhow::bail!(
            "certificate {cert_sha256} was already revoked at height {} ({})",
            r.height,
            r.reason
        );
    }
    let op = Op::CertRevoke {
        name: name.clone(),
        cert_sha256,
        reason,
    };
    let what = format!("the revocation of certificate {cert_sha256}");
    let (height, tx) = send_and_wait(ctx, &client, &key, &status, op, &what).await?;
    let done = Revoked {
        name,
        cert_sha256,
        reason,
        height,
        tx,
    };
    ctx.out.emit(&done, |r| {
        format!(
            "revoked certificate {} of {} at height {} ({})",
            r.cert_sha256, r.name, r.height, r.reason
        )
    });
    Ok(Exit::Ok)
}

/// A certificate's status in one phrase, by the ledger and the local clock.
fn status_of(info: &CertInfo, now: i64) -> String {
    let facts = &info.entry.facts;
    if let Some(r) = &info.entry.revoked {
        format!("revoked at height {} ({})", r.height, r.reason)
    } else if !info.active {
        "inactive (the name changed hands or expired)".into()
    } else if now > facts.not_after {
        "expired".into()
    } else if now < facts.not_before {
        "not yet valid".into()
    } else {
        "active".into()
    }
}

#[derive(Serialize)]
struct Listed {
    name: String,
    height: Height,
    certs: Vec<ListedCert>,
    history: Vec<CertEvent>,
}

#[derive(Serialize)]
struct ListedCert {
    status: String,
    #[serde(flatten)]
    info: CertInfo,
}

pub async fn list(ctx: &Ctx, name: &str) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(name, &status)?;
    let mut answer = client.name_certs(&name).await?;
    if answer.history_next_cursor.is_some() {
        // A long history: read it whole, and the entries it names beyond the first page.
        let path = format!("/v1/names/{name}/cert-history");
        answer.history = client.pages(&path, Listing::default()).await?.items;
        let mut seen: std::collections::BTreeSet<Hash> = answer
            .certs
            .iter()
            .map(|c| c.entry.facts.cert_sha256)
            .collect();
        for hash in answer.history.iter().filter_map(|e| e.cert_sha256) {
            if seen.insert(hash)
                && let Some(info) = client.cert(&name, &hash).await?
            {
                answer.certs.push(info);
            }
        }
    }
    let now = now_secs();
    let listed = Listed {
        name: answer.name,
        height: answer.height,
        certs: answer
            .certs
            .into_iter()
            .map(|info| ListedCert {
                status: status_of(&info, now),
                info,
            })
            .collect(),
        history: answer.history,
    };
    ctx.out.emit(&listed, |l| {
        if l.certs.is_empty() {
            return format!("{} has no certificates (height {})", l.name, l.height);
        }
        let mut rows = vec![vec![
            "SHA-256".to_string(),
            "STATUS".into(),
            "VALID UNTIL".into(),
            "NAMES".into(),
            "REGISTERED BY".into(),
        ]];
        for c in &l.certs {
            let facts = &c.info.entry.facts;
            rows.push(vec![
                facts.cert_sha256.to_string(),
                c.status.clone(),
                show_time(facts.not_after),
                facts.sans.join(", "),
                format!(
                    "{} at {}",
                    short_key(&c.info.entry.registered_by),
                    c.info.entry.registered_at
                ),
            ]);
        }
        format!(
            "certificates of {} (height {})\n{}",
            l.name,
            l.height,
            table(&rows, "  ")
        )
    });
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Authorized {
    name: String,
    issuer: PublicKey,
    authorized: bool,
    height: Height,
    tx: Hash,
}

pub async fn authorize(
    ctx: &Ctx,
    name: &str,
    issuer: &str,
    authorized: bool,
) -> anyhow::Result<Exit> {
    let issuer = issuer_key(ctx, issuer)?;
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(name, &status)?;
    let (_, key) = ctx.owner_key(&client, &name).await?;
    let op = if authorized {
        Op::CertIssuerAuthorize {
            name: name.clone(),
            issuer,
        }
    } else {
        Op::CertIssuerRevoke {
            name: name.clone(),
            issuer,
        }
    };
    let what = format!("the issuer change of `{name}`");
    let (height, tx) = send_and_wait(ctx, &client, &key, &status, op, &what).await?;
    let done = Authorized {
        name,
        issuer,
        authorized,
        height,
        tx,
    };
    ctx.out.emit(&done, |a| {
        let verb = if a.authorized {
            "may now register and revoke"
        } else {
            "may no longer register or revoke"
        };
        format!(
            "{} {verb} certificates of {} (height {})",
            a.issuer, a.name, a.height
        )
    });
    Ok(Exit::Ok)
}

/// The key that registers or revokes certificates of `name`: the owner's, found in the
/// keystore; else (an authorized issuer signs) `--key` or the keystore's only key.
async fn owner_or_issuer(ctx: &Ctx, client: &Client, name: &str) -> anyhow::Result<Keypair> {
    match ctx.owner_key(client, name).await {
        Ok((_, key)) => Ok(key),
        Err(owner) => match ctx.signing_key() {
            Ok((_, key)) => Ok(key),
            Err(_) => Err(owner.context(format!(
                "an issuer authorized for `{name}` signs with --key NAME"
            ))),
        },
    }
}

/// `--issuer`: a public key in hex, or the name of a key in the keystore.
fn issuer_key(ctx: &Ctx, input: &str) -> anyhow::Result<PublicKey> {
    if input.len() == 64 && input.bytes().all(|c| c.is_ascii_hexdigit()) {
        return input
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--issuer {e}"));
    }
    if crate::keystore::check_key_name(input).is_ok()
        && ctx.keystore.list()?.iter().any(|k| k == input)
    {
        return Ok(ctx.keystore.load(input)?.public());
    }
    anyhow::bail!(
        "--issuer `{input}` is neither a public key (64 hex digits) nor a key in {}; ask the issuer for `sigil key show NAME`",
        ctx.keystore.dir().display()
    )
}

#[derive(Serialize)]
struct Fetched {
    server: String,
    address: String,
    valid: bool,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cert_sha256: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<Height>,
}

pub async fn fetch(
    ctx: &Ctx,
    target: &str,
    connect: Option<&str>,
    max_age_secs: u64,
) -> anyhow::Result<Exit> {
    let (host, port) = target
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .with_context(|| format!("`{target}` is not NAME:PORT, e.g. example.sigil:443"))?;
    let host = normalize(host)?;
    let client = Arc::new(ctx.client()?);
    let status = client.status().await?;
    let address = match connect {
        Some(address) => address.to_string(),
        None => match place(&host, &status.params.tlds) {
            // The system's resolver does not know the chain's names: the node does.
            Placement::Under { .. } => ledger_address(&client, &host, port, &status).await?,
            _ => format!("{host}:{port}"),
        },
    };
    let validators = match super::trusted(ctx, &status).await? {
        Ok(v) => v,
        Err(reason) => anyhow::bail!("the node's chain cannot be trusted: {reason}"),
    };
    let runtime = tokio::runtime::Handle::current();
    let fetcher = client.clone();
    let source = ProofSource::new(
        move |name: &str, hash: &Hash| {
            runtime
                .block_on(fetcher.cert_proof(name, hash))
                .map_err(|e| format!("{e:#}"))
        },
        &status.chain_id,
        validators,
        status.params.tlds.clone(),
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(LedgerVerifier::new(
        Arc::new(source),
        provider.clone(),
        max_age_secs,
    ));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let server = host.clone();
    let addr = address.clone();
    let outcome = tokio::task::spawn_blocking(move || handshake(Arc::new(config), &server, &addr))
        .await
        .context("the TLS task failed")??;
    let proven = verifier.last_proven();
    let mut result = Fetched {
        server: format!("{host}:{port}"),
        address,
        valid: false,
        message: String::new(),
        cert_sha256: proven.as_ref().map(|p| p.cert_sha256),
        height: proven.as_ref().map(|p| p.height),
    };
    match outcome {
        Ok(()) => {
            result.valid = true;
            result.message =
                "the server's certificate is registered and active on the ledger".into();
        }
        Err(e) => result.message = e,
    }
    ctx.out.emit(&result, |f| {
        let cert = f
            .cert_sha256
            .map(|c| format!("\n  certificate {c}"))
            .unwrap_or_default();
        let verdict = if f.valid { "ok" } else { "FAILED" };
        format!(
            "{verdict}: TLS to {} at {}: {}{cert}",
            f.server, f.address, f.message
        )
    });
    Ok(if result.valid {
        Exit::Ok
    } else {
        Exit::Negative
    })
}

/// The address of `host` (under the chain's TLDs) by its A or AAAA records on the ledger,
/// following CNAMEs within the chain.
async fn ledger_address(
    client: &crate::client::Client,
    host: &str,
    port: u16,
    status: &sigil_core::api::ChainStatus,
) -> anyhow::Result<String> {
    /// CNAMEs followed before giving up.
    const MAX_ALIASES: usize = 8;
    let tlds = &status.params.tlds;
    let mut current = host.to_string();
    for _ in 0..=MAX_ALIASES {
        let Placement::Under {
            name, host: below, ..
        } = place(&current, tlds)
        else {
            // An alias out of the chain: the system's resolver answers for it.
            return Ok(format!("{current}:{port}"));
        };
        let no_address = || {
            anyhow::anyhow!(
                "`{current}` has no A or AAAA record on the ledger, so there is no address to connect to; \
                 add one (`sigil name update {name} --set \"{} A IP\"`) or give --connect ADDR",
                if below.is_empty() { "@" } else { below }
            )
        };
        let info = match client.name(name).await? {
            Some(info) if info.active => info,
            Some(_) => anyhow::bail!(
                "`{name}` has expired, so `{current}` has no address; give --connect ADDR"
            ),
            None => anyhow::bail!(
                "`{name}` is not registered, so `{current}` has no address; give --connect ADDR"
            ),
        };
        let at_host = info.entry.records.iter().filter(|r| r.host == below);
        let mut alias = None;
        for record in at_host {
            match record.rdata() {
                Ok(RData::A(a)) => return Ok(SocketAddr::from((a.0, port)).to_string()),
                Ok(RData::AAAA(a)) => return Ok(SocketAddr::from((a.0, port)).to_string()),
                Ok(RData::CNAME(target)) => {
                    alias = Some(
                        target
                            .0
                            .to_ascii()
                            .trim_end_matches('.')
                            .to_ascii_lowercase(),
                    )
                }
                _ => {}
            }
        }
        current = alias.ok_or_else(no_address)?;
    }
    anyhow::bail!("`{host}` is an alias more than {MAX_ALIASES} times over; give --connect ADDR")
}

/// Connects and completes a TLS handshake: `Err` if no connection could be made, `Ok(Err)`
/// with the reason if the handshake was refused.
fn handshake(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    address: &str,
) -> anyhow::Result<Result<(), String>> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| anyhow::anyhow!("`{host}` is not a server name: {e}"))?;
    let addr = address
        .to_socket_addrs()
        .map_err(|e| anyhow::anyhow!("cannot resolve {address}: {e}; give --connect ADDR"))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{address} resolves to no address; give --connect ADDR"))?;
    let mut stream = TcpStream::connect_timeout(&addr, FETCH_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("cannot connect to {addr}: {e}; is the server running?"))?;
    stream
        .set_read_timeout(Some(FETCH_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(FETCH_TIMEOUT)))
        .map_err(|e| anyhow::anyhow!("cannot set up the connection to {addr}: {e}"))?;
    let mut conn = rustls::ClientConnection::new(config, name)
        .map_err(|e| anyhow::anyhow!("cannot start TLS: {e}"))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut stream) {
            return match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(tls) => Ok(Err(format!("handshake refused: {}", handshake_error(tls)))),
                None => Err(anyhow::anyhow!(
                    "the connection to {addr} failed during the TLS handshake: {e}"
                )),
            };
        }
    }
    // Close politely; a failure here does not change the verdict.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut stream);
    let _ = stream.flush();
    let _ = stream.read(&mut [0u8; 1]);
    Ok(Ok(()))
}
