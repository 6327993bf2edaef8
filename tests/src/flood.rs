//! A spam flood for tests and benchmarks: fresh keys submit transactions to a node's API over
//! kept-alive HTTP connections as fast as they can, each stamped with the work the chain asks
//! and restamped when the node asks more. Every other transaction of a key is junk: 15 KB that
//! fails on the state, the kind of transaction a node admitted unchecked behind a signer's
//! first pending one. Name owners ([`bulk_owners`]) flood valid updates that each carry the
//! largest record set a name may have (8 KiB): far fewer of them than the mempool's count
//! bound fill its byte bound.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sigil_core::records::{Record, validate_set};
use sigil_core::tx::{Op, Transaction, WorkParams, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_tools::devchain;

use crate::{Node, api_get, api_post, ok_json};

/// Bytes of the junk name (whatever its length, it fails on the state).
const JUNK_NAME_BYTES: usize = 15_000;
/// Successes after which a thread tries one stamp bit less than the node last asked.
const PROBE_AFTER: u32 = 50;
/// TXT records of a bulk update, and the characters of each: together the largest record set
/// one name may carry (`MAX_RECORDS_BYTES_PER_NAME`).
const BULK_RECORDS: usize = 8;
const BULK_TXT_CHARS: usize = 990;
/// Longest wait for one of the bulk owners' registration steps to be final.
const SETUP_WAIT_MS: u64 = 60_000;

/// A key that owns a registered name, and its next nonce.
pub struct Owner {
    pub key: Keypair,
    pub nonce: u64,
    pub name: String,
}

/// The record set of a bulk update: [`BULK_RECORDS`] TXT records of [`BULK_TXT_CHARS`].
fn bulk_records() -> Vec<Record> {
    let records: Vec<Record> = (0..BULK_RECORDS)
        .map(|i| Record::parse(&format!("t{i} TXT {}", "x".repeat(BULK_TXT_CHARS))).expect("a TXT"))
        .collect();
    validate_set(&records).expect("the bulk record set is one a name may carry");
    records
}

/// Registers `count` names (`bulkN.sigil`) for as many fresh keys through the node's API,
/// each commit and reveal stamped with the work the chain asks; returns the owners.
pub fn bulk_owners(node: &Node, work: WorkParams, count: usize) -> Vec<Owner> {
    let reveal_min = api_get(&node.api, "/v1/status")["params"]["reveal_min_blocks"]
        .as_u64()
        .expect("reveal_min_blocks");
    let owners: Vec<(Keypair, String, Hash)> = (0..count)
        .map(|i| {
            let salt = Hash::of(&(i as u64).to_le_bytes());
            (Keypair::generate(), format!("bulk{i}.sigil"), salt)
        })
        .collect();
    let commits: Vec<String> = owners
        .iter()
        .map(|(key, name, salt)| {
            let commitment = name_commitment(name, salt, &key.public());
            submit_stamped(node, work, key, 0, Op::NameCommit { commitment })
        })
        .collect();
    let committed = commits.iter().map(|id| wait_final(node, id)).max();
    let reveal_at = committed.unwrap_or(0) + reveal_min;
    api_get(
        &node.api,
        &format!("/v1/blocks/{reveal_at}?wait_ms={SETUP_WAIT_MS}"),
    );
    let reveals: Vec<String> = owners
        .iter()
        .map(|(key, name, salt)| {
            let op = Op::NameRegister {
                name: name.clone(),
                salt: *salt,
                records: Vec::new(),
            };
            submit_stamped(node, work, key, 1, op)
        })
        .collect();
    for id in &reveals {
        wait_final(node, id);
    }
    owners
        .into_iter()
        .map(|(key, name, _)| Owner {
            key,
            nonce: 2,
            name,
        })
        .collect()
}

/// Submits `op` by `key` at `nonce`, stamped with the work the chain asks; its id.
fn submit_stamped(node: &Node, work: WorkParams, key: &Keypair, nonce: u64, op: Op) -> String {
    let mut tx = Transaction {
        chain_id: node.chain_id.clone(),
        signer: key.public(),
        nonce,
        stamp: 0,
        op,
    };
    tx.find_stamp(tx.required_bits(&work), |_| true);
    let body = serde_json::json!({ "tx": hex::encode(tx.sign(key).to_bytes()) });
    let (status, answer) = api_post(&node.api, "/v1/txs", &body);
    assert!(status.contains("202"), "{status}: {answer}");
    answer["id"].as_str().expect("id").to_string()
}

/// Waits until transaction `id` is final; its height.
fn wait_final(node: &Node, id: &str) -> u64 {
    let done = api_get(&node.api, &format!("/v1/txs/{id}?wait_ms={SETUP_WAIT_MS}"));
    assert_eq!(done["status"], "final", "{done}");
    done["height"].as_u64().expect("height")
}

/// What the flood got so far.
#[derive(Debug, Default)]
pub struct Counters {
    /// Transactions the node admitted.
    pub accepted: AtomicU64,
    /// Refusals asking more work (the node under load).
    pub more_work: AtomicU64,
    /// Other refusals (junk refused on the pending state, nonces, per-signer bounds).
    pub refused: AtomicU64,
    /// Most stamp bits the node asked.
    pub max_bits: AtomicU64,
}

/// A running flood; stops when dropped.
pub struct Flood {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub counters: Arc<Counters>,
}

impl Flood {
    /// Starts `threads` threads submitting for `keys` fresh keys in all, and as many for the
    /// name `owners` (if any), to the API at `api`.
    pub fn start(
        api: &str,
        chain_id: &str,
        work: WorkParams,
        keys: usize,
        owners: Vec<Owner>,
        threads: usize,
    ) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let records = bulk_records();
        let fresh = (0..threads).map(|t| {
            let mine = keys / threads + usize::from(t < keys % threads);
            (0..mine)
                .map(|_| FloodKey {
                    key: Keypair::generate(),
                    nonce: 0,
                    name: None,
                })
                .collect::<Vec<_>>()
        });
        let mut owned: Vec<Vec<FloodKey>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, owner) in owners.into_iter().enumerate() {
            owned[i % threads].push(FloodKey {
                key: owner.key,
                nonce: owner.nonce,
                name: Some(owner.name),
            });
        }
        let threads = fresh
            .chain(owned.into_iter().filter(|o| !o.is_empty()))
            .collect::<Vec<_>>()
            .into_iter()
            .enumerate()
            .map(|(t, mine)| {
                let worker = Worker {
                    api: api.trim_start_matches("http://").to_string(),
                    chain_id: chain_id.to_string(),
                    work,
                    keys: mine,
                    records: records.clone(),
                    asked: 0,
                    successes: 0,
                    counter: (t as u64) << 48,
                    stop: stop.clone(),
                    counters: counters.clone(),
                };
                std::thread::spawn(move || worker.run())
            })
            .collect();
        Flood {
            stop,
            threads,
            counters,
        }
    }

    pub fn accepted(&self) -> u64 {
        self.counters.accepted.load(Ordering::Relaxed)
    }

    /// Stops the flood and waits for its threads.
    pub fn stop(mut self) -> Arc<Counters> {
        self.halt();
        self.counters.clone()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A flooding key, its next nonce, and the name it owns (whose records it updates).
struct FloodKey {
    key: Keypair,
    nonce: u64,
    name: Option<String>,
}

struct Worker {
    api: String,
    chain_id: String,
    work: WorkParams,
    keys: Vec<FloodKey>,
    /// The record set of an owner's update.
    records: Vec<Record>,
    /// The stamp bits the node last asked.
    asked: u32,
    successes: u32,
    counter: u64,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
}

impl Worker {
    fn run(mut self) {
        let mut conn: Option<Http> = None;
        let mut junk = false;
        while !self.stop.load(Ordering::Relaxed) {
            junk = !junk;
            for i in 0..self.keys.len() {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                self.counter += 1;
                let FloodKey { key, nonce, name } = &self.keys[i];
                let op = match name {
                    Some(name) => Op::NameUpdate {
                        name: name.clone(),
                        records: self.records.clone(),
                    },
                    None if junk => Op::NameRenew {
                        name: "x".repeat(JUNK_NAME_BYTES),
                    },
                    None => Op::NameCommit {
                        commitment: Hash::of(&self.counter.to_le_bytes()),
                    },
                };
                let mut tx = Transaction {
                    chain_id: self.chain_id.clone(),
                    signer: key.public(),
                    nonce: *nonce,
                    stamp: 0,
                    op,
                };
                let bits = tx.required_bits(&self.work).max(self.asked);
                tx.find_stamp(bits, |_| !self.stop.load(Ordering::Relaxed));
                let body = format!("{{\"tx\":\"{}\"}}", hex::encode(tx.sign(key).to_bytes()));
                let http = match conn.as_mut() {
                    Some(http) => http,
                    None => match Http::connect(&self.api) {
                        Some(http) => conn.insert(http),
                        None => continue,
                    },
                };
                let Some((status, answer)) = http.request("POST", "/v1/txs", &body) else {
                    conn = None;
                    continue;
                };
                self.answer(i, status, &answer, http);
            }
        }
    }

    fn answer(&mut self, i: usize, status: u16, answer: &str, http: &mut Http) {
        if (200..300).contains(&status) {
            self.keys[i].nonce += 1;
            self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            self.successes += 1;
            if self.successes >= PROBE_AFTER {
                self.successes = 0;
                self.asked = self.asked.saturating_sub(1);
            }
            return;
        }
        let json: serde_json::Value = serde_json::from_str(answer).unwrap_or_default();
        let error = &json["error"];
        if let Some(bits) = error["required_bits"].as_u64() {
            self.asked = bits as u32;
            self.successes = 0;
            self.counters.more_work.fetch_add(1, Ordering::Relaxed);
            self.counters.max_bits.fetch_max(bits, Ordering::Relaxed);
            return;
        }
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        if error["code"] == "bad_nonce" {
            let path = format!("/v1/accounts/{}", self.keys[i].key.public());
            if let Some((200, account)) = http.request("GET", &path, "") {
                let account: serde_json::Value = serde_json::from_str(&account).unwrap_or_default();
                if let Some(next) = account["next_nonce"].as_u64() {
                    self.keys[i].nonce = next;
                }
            }
        }
    }
}

/// One kept-alive HTTP/1.1 connection.
struct Http {
    host: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Http {
    fn connect(host: &str) -> Option<Http> {
        let stream = TcpStream::connect(host).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        stream.set_nodelay(true).ok()?;
        Some(Http {
            host: host.to_string(),
            reader: BufReader::new(stream.try_clone().ok()?),
            writer: stream,
        })
    }

    /// Sends one request; the status and body of the answer, or `None` if the connection broke.
    fn request(&mut self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        self.writer.write_all(head.as_bytes()).ok()?;
        self.writer.write_all(body.as_bytes()).ok()?;
        let mut line = String::new();
        self.reader.read_line(&mut line).ok()?;
        let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok()?;
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer).ok()?;
        Some((status, String::from_utf8_lossy(&answer).into_owned()))
    }
}

/// The resident memory of process `pid` in bytes, from `/proc/<pid>/status`.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Creates a development chain in `data` asking `work`, with blocks `block_interval_ms` apart.
pub fn chain(data: &Path, work: WorkParams, block_interval_ms: u64) {
    let files = devchain::create(data).expect("create a dev chain");
    let mut genesis = files.genesis;
    genesis.params.work = work;
    genesis.params.block_interval_ms = block_interval_ms;
    devchain::write_genesis(data, &genesis).expect("write genesis");
}

/// The node's tip height.
pub fn height(node: &Node) -> u64 {
    api_get(&node.api, "/v1/status")["tip"]["height"]
        .as_u64()
        .expect("tip height")
}

/// Registers `name` with `sigil name register`; the blocks and the time it took.
pub fn register(node: &Node, keys: &Path, name: &str) -> (u64, Duration) {
    let start = height(node);
    let started = Instant::now();
    let out = ok_json(node.sigil(
        keys,
        &["--json", "name", "register", name, "--a", "192.0.2.1"],
    ));
    let elapsed = started.elapsed();
    let final_height = out["height"].as_u64().expect("final height");
    (final_height - start, elapsed)
}

/// Samples a process's resident memory until stopped, keeping the peak.
pub struct Monitor {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

impl Monitor {
    pub fn start(pid: u32) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(rss) = rss_bytes(pid) {
                    p.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Monitor { stop, peak, thread }
    }

    /// Stops sampling; the peak in bytes.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("memory monitor");
        self.peak.load(Ordering::Relaxed)
    }
}

/// Reads the node's `/v1/status` until stopped: its mempool's size (the latest and the
/// largest seen) and its re-check after each block (`mempool_recheck`, one record per block).
pub struct RecheckSampler {
    stop: Arc<AtomicBool>,
    /// Bytes of the mempool at the latest reading.
    pool_bytes: Arc<AtomicU64>,
    peak_pool_bytes: Arc<AtomicU64>,
    peak_pool_txs: Arc<AtomicU64>,
    thread: JoinHandle<Vec<serde_json::Value>>,
}

impl RecheckSampler {
    pub fn start(api: &str) -> RecheckSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let pool_bytes = Arc::new(AtomicU64::new(0));
        let peak_pool_bytes = Arc::new(AtomicU64::new(0));
        let peak_pool_txs = Arc::new(AtomicU64::new(0));
        let s = stop.clone();
        let (bytes, peak_bytes, peak_txs) = (
            pool_bytes.clone(),
            peak_pool_bytes.clone(),
            peak_pool_txs.clone(),
        );
        let host = api.trim_start_matches("http://").to_string();
        let thread = std::thread::spawn(move || {
            let mut seen: Vec<serde_json::Value> = Vec::new();
            let mut conn: Option<Http> = None;
            while !s.load(Ordering::Relaxed) {
                if conn.is_none() {
                    conn = Http::connect(&host);
                }
                let answer = conn
                    .as_mut()
                    .and_then(|h| h.request("GET", "/v1/status", ""));
                match answer {
                    Some((200, body)) => {
                        let status: serde_json::Value =
                            serde_json::from_str(&body).unwrap_or_default();
                        let pool = status["mempool_bytes"].as_u64().unwrap_or(0);
                        bytes.store(pool, Ordering::Relaxed);
                        peak_bytes.fetch_max(pool, Ordering::Relaxed);
                        let txs = status["mempool_txs"].as_u64().unwrap_or(0);
                        peak_txs.fetch_max(txs, Ordering::Relaxed);
                        let recheck = &status["mempool_recheck"];
                        let new = recheck.is_object()
                            && seen.last().is_none_or(|l| l["height"] != recheck["height"]);
                        if new {
                            seen.push(recheck.clone());
                        }
                    }
                    Some(_) => {}
                    None => conn = None,
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            seen
        });
        RecheckSampler {
            stop,
            pool_bytes,
            peak_pool_bytes,
            peak_pool_txs,
            thread,
        }
    }

    /// Bytes of the mempool at the latest reading.
    pub fn pool_bytes(&self) -> u64 {
        self.pool_bytes.load(Ordering::Relaxed)
    }

    /// Stops sampling; what it saw.
    pub fn stop(self) -> Rechecks {
        self.stop.store(true, Ordering::Relaxed);
        let seen = self.thread.join().expect("recheck sampler");
        let field = |r: &serde_json::Value, f: &str| r[f].as_u64().unwrap_or(0);
        let busiest = seen.iter().max_by_key(|r| field(r, "micros"));
        Rechecks {
            peak_pool_bytes: self.peak_pool_bytes.load(Ordering::Relaxed),
            peak_pool_txs: self.peak_pool_txs.load(Ordering::Relaxed),
            blocks: seen.len() as u64,
            mean_micros: seen.iter().map(|r| field(r, "micros")).sum::<u64>()
                / (seen.len() as u64).max(1),
            max_micros: busiest.map_or(0, |r| field(r, "micros")),
            max_pending: seen.iter().map(|r| field(r, "pending")).max().unwrap_or(0),
        }
    }
}

/// The mempool re-checks a node made after the blocks of a run.
#[derive(Debug, Default)]
pub struct Rechecks {
    /// Blocks whose re-check was sampled.
    pub blocks: u64,
    pub mean_micros: u64,
    pub max_micros: u64,
    /// Most pending transactions one re-check went through.
    pub max_pending: u64,
    /// The largest mempool seen, in bytes and in transactions.
    pub peak_pool_bytes: u64,
    pub peak_pool_txs: u64,
}

/// What one run of "register on an idle node, then again under a flood" measured.
#[derive(Debug)]
pub struct Report {
    pub idle_blocks: u64,
    pub idle_time: Duration,
    pub flood_blocks: u64,
    pub flood_time: Duration,
    pub admitted: u64,
    pub more_work: u64,
    pub max_bits: u64,
    pub refused: u64,
    pub peak_rss: u64,
    /// The mempool's re-check after each block under the flood.
    pub rechecks: Rechecks,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "idle registration: {} blocks, {:.1} s; under the flood: {} blocks, {:.1} s; flood: {} admitted, \
             {} asked for more work (up to {} bits), {} refused; node peak RSS {} MiB; mempool peak \
             {:.1} MiB, {} transactions; mempool re-check after each block ({} blocks sampled): \
             mean {:.1} ms, max {:.1} ms, up to {} pending",
            self.idle_blocks,
            self.idle_time.as_secs_f64(),
            self.flood_blocks,
            self.flood_time.as_secs_f64(),
            self.admitted,
            self.more_work,
            self.max_bits,
            self.refused,
            self.peak_rss / (1024 * 1024),
            self.rechecks.peak_pool_bytes as f64 / (1024.0 * 1024.0),
            self.rechecks.peak_pool_txs,
            self.rechecks.blocks,
            self.rechecks.mean_micros as f64 / 1000.0,
            self.rechecks.max_micros as f64 / 1000.0,
            self.rechecks.max_pending
        )
    }
}

/// How a flood is made and when the honest user starts.
#[derive(Debug, Clone, Copy)]
pub struct FloodPlan {
    pub work: WorkParams,
    /// Fresh keys sending commitments and junk.
    pub keys: usize,
    /// Name owners sending bulk updates (registered before the flood).
    pub owners: usize,
    pub threads: usize,
    /// Flood transactions admitted before the honest user starts...
    pub before: u64,
    /// ...and bytes the node's mempool holds then.
    pub pool_bytes: u64,
    /// Longest wait for both.
    pub timeout: Duration,
}

/// Registers `idle.sigil` on the idle node, then floods it as `plan` says and, once the flood
/// is in as far as the plan asks, registers `honest.sigil`. `keystore` must hold one key.
pub fn honest_under_flood(node: &Node, keystore: &Path, plan: FloodPlan) -> Report {
    let (idle_blocks, idle_time) = register(node, keystore, "idle.sigil");
    let owners = bulk_owners(node, plan.work, plan.owners);
    let monitor = Monitor::start(node.pid());
    let sampler = RecheckSampler::start(&node.api);
    let flood = Flood::start(
        &node.api,
        &node.chain_id,
        plan.work,
        plan.keys,
        owners,
        plan.threads,
    );
    let deadline = Instant::now() + plan.timeout;
    while flood.accepted() < plan.before || sampler.pool_bytes() < plan.pool_bytes {
        assert!(
            Instant::now() < deadline,
            "the flood got only {} transactions in ({} bytes pending) within {:?}",
            flood.accepted(),
            sampler.pool_bytes(),
            plan.timeout
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (flood_blocks, flood_time) = register(node, keystore, "honest.sigil");
    let counters = flood.stop();
    let peak_rss = monitor.stop();
    let rechecks = sampler.stop();
    Report {
        idle_blocks,
        idle_time,
        flood_blocks,
        flood_time,
        admitted: counters.accepted.load(Ordering::Relaxed),
        more_work: counters.more_work.load(Ordering::Relaxed),
        max_bits: counters.max_bits.load(Ordering::Relaxed),
        refused: counters.refused.load(Ordering::Relaxed),
        peak_rss,
        rechecks,
    }
}
