//! The load the faults land on: one thread per kind of transaction (name updates, certificate
//! registrations and revocations, share issues), each a key of its own, submitting over the
//! API of each node in turn, waiting until its transaction is final and recording every one a
//! node reported final. Nodes that are down, paused or cut off only slow it down. A certificate
//! registered or revoked while its submitter lost sight of it (its node killed during the
//! wait) is found again on the ledger, so the name's active certificates stay bounded.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sigil_core::cert::{CertFacts, RevocationReason};
use sigil_core::records::Record;
use sigil_core::tx::{Op, Transaction};
use sigil_core::types::{Hash, Keypair};

use sigil_tests::http;

/// How long one submission waits for its transaction to be final before trying elsewhere.
const FINAL_WAIT: Duration = Duration::from_secs(15);
/// Pause after a node did not answer or refused, before the next node.
const BACKOFF: Duration = Duration::from_millis(200);

/// The kinds of transaction the load submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Name,
    Cert,
    Share,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Name, Kind::Cert, Kind::Share];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Name => "names",
            Kind::Cert => "certs",
            Kind::Share => "shares",
        }
    }
}

/// A transaction a node reported final, and where.
#[derive(Debug, Clone)]
pub struct FinalTx {
    pub id: String,
    pub height: u64,
    pub node: usize,
    pub kind: Kind,
}

/// What the load's submissions came to besides final transactions.
#[derive(Debug, Default)]
pub struct Stats {
    /// Submissions a node did not answer (down, paused, cut off).
    pub unreachable: AtomicU64,
    /// Submissions a node refused (nonce taken meanwhile, busy).
    pub refused: AtomicU64,
    /// Transactions still pending when the wait ended (a stalled minority).
    pub unconfirmed: AtomicU64,
    /// Transactions that were final but failed on the state (a bug in the load).
    pub failed: AtomicU64,
    /// Refusals by kind and the node's error code (`certs too_many_certs`), counted.
    pub refusals: Mutex<BTreeMap<String, u64>>,
    /// Certificates registered while their submitter lost sight of them, found active on the
    /// ledger afterwards (and revoked in turn).
    pub certs_found: AtomicU64,
}

/// Who submits what: the signer of each kind and the names and company it acts on.
pub struct Actors {
    /// Owner of `name` (updates).
    pub namer: Keypair,
    pub name: String,
    /// Owner of `cert_name` (registers and revokes certificates under it).
    pub cert_owner: Keypair,
    pub cert_name: String,
    /// Online key of the admin of `company`, issuing shares of `class` to `holder`.
    pub admin: Keypair,
    pub company: String,
    pub class: String,
    pub holder: String,
}

/// The running load; [`Load::stop`] ends it.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub finals: Arc<Mutex<Vec<FinalTx>>>,
    pub stats: Arc<Stats>,
}

impl Load {
    /// Starts one thread per kind against the nodes whose APIs are `apis`.
    pub fn start(apis: Vec<String>, chain_id: &str, actors: Actors) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let finals = Arc::new(Mutex::new(Vec::new()));
        let stats = Arc::new(Stats::default());
        let Actors {
            namer,
            name,
            cert_owner,
            cert_name,
            admin,
            company,
            class,
            holder,
        } = actors;
        let cert_name_book = cert_name.clone();
        let ops: Vec<(Kind, Keypair, OpMaker)> = vec![
            (
                Kind::Name,
                namer,
                Box::new(move |seq, _| name_update(&name, seq)),
            ),
            (
                Kind::Cert,
                cert_owner,
                Box::new(move |seq, live| cert_op(&cert_name, seq, live)),
            ),
            (
                Kind::Share,
                admin,
                Box::new(move |_, _| Op::SharesIssue {
                    company: company.clone(),
                    class: class.clone(),
                    to: holder.clone(),
                    amount: 1,
                }),
            ),
        ];
        let threads = ops
            .into_iter()
            .enumerate()
            .map(|(t, (kind, key, make))| {
                let submitter = Submitter {
                    apis: apis.clone(),
                    chain_id: chain_id.to_string(),
                    kind,
                    key,
                    make,
                    stop: stop.clone(),
                    finals: finals.clone(),
                    stats: stats.clone(),
                    turn: t,
                    certs: (kind == Kind::Cert).then(|| CertBook {
                        name: cert_name_book.clone(),
                        live: None,
                        revoke_unseen: false,
                        unseen: Vec::new(),
                    }),
                };
                std::thread::spawn(move || submitter.run())
            })
            .collect();
        Load {
            stop,
            threads,
            finals,
            stats,
        }
    }

    /// Stops every thread and waits for them (each ends within one final-wait).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Makes the operation of submission `seq`; the flag says whether the certificate registered
/// last is still live (the next one revokes it).
type OpMaker = Box<dyn FnMut(u64, Option<Hash>) -> Op + Send>;

fn name_update(name: &str, seq: u64) -> Op {
    let record = Record::parse(&format!("load TXT campaign-{seq}")).expect("a TXT record");
    Op::NameUpdate {
        name: name.to_string(),
        records: vec![record],
    }
}

/// Registers a fresh certificate, or revokes the live one: the name's active certificates stay
/// bounded however long the load runs.
fn cert_op(name: &str, seq: u64, live: Option<Hash>) -> Op {
    match live {
        Some(cert_sha256) => Op::CertRevoke {
            name: name.to_string(),
            cert_sha256,
            reason: RevocationReason::Superseded,
        },
        None => Op::CertRegister {
            cert: CertFacts {
                name: name.to_string(),
                cert_sha256: Hash::of(format!("campaign cert {seq}").as_bytes()),
                spki_sha256: Hash::of(format!("campaign key {seq}").as_bytes()),
                not_before: 1_700_000_000,
                not_after: 1_900_000_000,
                sans: vec![name.to_string()],
            },
        },
    }
}

struct Submitter {
    apis: Vec<String>,
    chain_id: String,
    kind: Kind,
    key: Keypair,
    make: OpMaker,
    stop: Arc<AtomicBool>,
    finals: Arc<Mutex<Vec<FinalTx>>>,
    stats: Arc<Stats>,
    /// Which node the next submission goes to.
    turn: usize,
    /// For the certificate kind: what became of its certificates.
    certs: Option<CertBook>,
}

impl Submitter {
    fn run(mut self) {
        let mut seq = 0u64;
        let mut bits = 0u32;
        let mut certs = self.certs.take();
        while !self.stop.load(Ordering::SeqCst) {
            let node = self.turn % self.apis.len();
            let api = self.apis[node].clone();
            seq += 1;
            if let Some(certs) = &mut certs {
                certs.reconcile(&api, &self.key, &self.stats);
            }
            let op = (self.make)(seq, certs.as_ref().and_then(|c| c.live));
            match self.submit_once(&api, op.clone(), &mut bits) {
                Outcome::Final(id, height) => {
                    if let Some(certs) = &mut certs {
                        certs.revoke_unseen = false;
                        certs.live = match op {
                            Op::CertRegister { cert } => Some(cert.cert_sha256),
                            _ => None,
                        };
                    }
                    self.finals.lock().unwrap().push(FinalTx {
                        id,
                        height,
                        node,
                        kind: self.kind,
                    });
                    continue; // same node again while it works
                }
                Outcome::Failed(answer) => {
                    // Final all the same: in a block, its nonce used.
                    if let Some(height) = answer["height"].as_u64() {
                        self.finals.lock().unwrap().push(FinalTx {
                            id: answer["id"].as_str().unwrap_or_default().to_string(),
                            height,
                            node,
                            kind: self.kind,
                        });
                    }
                    if self.stats.failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!(
                            "campaign: a {} transaction failed: {answer}",
                            self.kind.label()
                        );
                    }
                    // A revocation that failed was of a certificate registered elsewhere or
                    // not at all: start again with a fresh one.
                    if let Some(certs) = &mut certs {
                        certs.live = None;
                        certs.revoke_unseen = false;
                    }
                }
                Outcome::Unseen(nonce) => {
                    if let Some(certs) = &mut certs {
                        certs.unseen(&op, nonce);
                    }
                    std::thread::sleep(BACKOFF);
                }
                Outcome::Refused => {
                    // A revocation refused may be of a certificate revoked unseen.
                    if let Some(certs) = &mut certs {
                        certs.revoke_unseen |= matches!(op, Op::CertRevoke { .. });
                    }
                    std::thread::sleep(BACKOFF);
                }
                Outcome::Retry => {}
                Outcome::Elsewhere => std::thread::sleep(BACKOFF),
            }
            self.turn += 1;
        }
    }

    /// Signs `op` at the next nonce node `api` knows and submits it there; waits until final.
    fn submit_once(&self, api: &str, op: Op, bits: &mut u32) -> Outcome {
        let path = format!("/v1/accounts/{}", self.key.public());
        let nonce = match http::get(api, &path, Duration::ZERO) {
            Ok((200, account)) => match account["next_nonce"].as_u64() {
                Some(nonce) => nonce,
                None => return Outcome::Elsewhere,
            },
            _ => {
                self.stats.unreachable.fetch_add(1, Ordering::Relaxed);
                return Outcome::Elsewhere;
            }
        };
        let mut tx = Transaction {
            chain_id: self.chain_id.clone(),
            signer: self.key.public(),
            nonce,
            stamp: 0,
            op,
        };
        tx.find_stamp(*bits, |_| true);
        let body = serde_json::json!({ "tx": hex::encode(tx.sign(&self.key).to_bytes()) });
        let id = match http::post(api, "/v1/txs", &body) {
            Ok((202, answer)) => match answer["id"].as_str() {
                Some(id) => id.to_string(),
                None => return Outcome::Elsewhere,
            },
            Ok((_, answer)) => {
                if let Some(asked) = answer["error"]["required_bits"].as_u64() {
                    *bits = asked as u32;
                    return Outcome::Retry;
                }
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                let code = answer["error"]["code"].as_str().unwrap_or("no-code");
                *self
                    .stats
                    .refusals
                    .lock()
                    .unwrap()
                    .entry(format!("{} {code}", self.kind.label()))
                    .or_default() += 1;
                return Outcome::Refused;
            }
            Err(_) => {
                // It may have been taken before the node went away.
                self.stats.unreachable.fetch_add(1, Ordering::Relaxed);
                return Outcome::Unseen(nonce);
            }
        };
        let path = format!("/v1/txs/{id}?wait_ms={}", FINAL_WAIT.as_millis());
        match http::get(api, &path, FINAL_WAIT) {
            Ok((200, done)) if done["status"] == "final" => match done["height"].as_u64() {
                Some(height) => Outcome::Final(id, height),
                None => Outcome::Failed(done),
            },
            Ok((200, done)) if done["status"] == "pending" => {
                self.stats.unconfirmed.fetch_add(1, Ordering::Relaxed);
                Outcome::Unseen(nonce)
            }
            Ok((200, done)) if done["status"] == "failed" => Outcome::Failed(done),
            Ok(_) => Outcome::Unseen(nonce),
            Err(_) => {
                self.stats.unreachable.fetch_add(1, Ordering::Relaxed);
                Outcome::Unseen(nonce)
            }
        }
    }
}

enum Outcome {
    /// Final at this height.
    Final(String, u64),
    /// Final but failed on the state.
    Failed(serde_json::Value),
    /// Accepted at this nonce, but its fate was not seen (the node went away during the
    /// wait, or it was still pending): it may be final all the same.
    Unseen(u64),
    /// Refused at admission.
    Refused,
    /// Try the same node again (it asked more work).
    Retry,
    /// Try the next node.
    Elsewhere,
}

/// What the certificate submitter knows of its name's certificates: the one it registered
/// last and has not revoked, and those whose fate it did not see.
struct CertBook {
    /// The name the certificates are registered under.
    name: String,
    /// Registered and not revoked yet: the next operation revokes it.
    live: Option<Hash>,
    /// The last revocation of `live` was not seen to be final: check before revoking again.
    revoke_unseen: bool,
    /// Registrations accepted at a nonce whose fate was not seen: (certificate, nonce).
    unseen: Vec<(Hash, u64)>,
}

impl CertBook {
    /// A submission of `op` at `nonce` was accepted and then lost sight of.
    fn unseen(&mut self, op: &Op, nonce: u64) {
        match op {
            Op::CertRegister { cert } => {
                self.unseen.push((cert.cert_sha256, nonce));
            }
            Op::CertRevoke { .. } => self.revoke_unseen = true,
            _ => {}
        }
    }

    /// Reads from node `api` what became of the operations it lost sight of: a revocation
    /// that was final clears `live`; a registration that was final and is active becomes
    /// `live` (revoked next), once the account's nonce has passed it (its fate decided). A
    /// node that does not answer leaves everything to the next try.
    fn reconcile(&mut self, api: &str, key: &Keypair, stats: &Stats) {
        if self.revoke_unseen
            && let Some(hash) = self.live
        {
            // Registered and seen final: a node that does not hold it lags, ask another.
            match cert_active(api, &self.name, &hash) {
                Some(Some(true)) => self.revoke_unseen = false,
                Some(Some(false)) => {
                    self.live = None;
                    self.revoke_unseen = false;
                }
                Some(None) | None => return,
            }
        }
        if self.live.is_some() || self.unseen.is_empty() {
            return;
        }
        let path = format!("/v1/accounts/{}", key.public());
        // Transactions of the key in final blocks (not counting those pending).
        let Some(final_nonce) = http::get(api, &path, Duration::ZERO)
            .ok()
            .and_then(|(code, account)| (code == 200).then(|| account["final_nonce"].as_u64()))
            .flatten()
        else {
            return;
        };
        let mut i = 0;
        while i < self.unseen.len() && self.live.is_none() {
            let (hash, nonce) = self.unseen[i];
            if nonce >= final_nonce {
                i += 1;
                continue;
            }
            // The nonce is used in a final block this node holds: a certificate it does not
            // hold was never registered.
            match cert_active(api, &self.name, &hash) {
                Some(active) => {
                    self.unseen.remove(i);
                    if active == Some(true) {
                        self.live = Some(hash);
                        stats.certs_found.fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => i += 1,
            }
        }
    }
}

/// Whether the certificate `hash` of `name` is active on node `api`: `Some(None)` if the node
/// does not hold it, `None` if it did not answer.
fn cert_active(api: &str, name: &str, hash: &Hash) -> Option<Option<bool>> {
    match http::get(
        api,
        &format!("/v1/names/{name}/certs/{hash}"),
        Duration::ZERO,
    ) {
        Ok((200, entry)) => entry["active"].as_bool().map(Some),
        Ok((404, _)) => Some(None),
        _ => None,
    }
}
