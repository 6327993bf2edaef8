//! Ledger measurements, recorded in BENCHMARKS.md, on each store engine (sled, then redb) in a
//! process of its own, so that each one's memory is its own:
//!
//! `cargo bench -p sigil-registry --bench ledger -- tree [KEYS] [PER_BLOCK]`: state-tree inserts per second,
//! proof sizes for present and absent keys, verify time, disk bytes per key, peak memory.
//!
//! `cargo bench -p sigil-registry --bench ledger -- txs [BLOCKS] [PER_BLOCK]`: signed transactions applied per
//! second through `Ledger::prepare` + `commit` (signature checks, execution, tree update, one atomic flushed batch
//! per block), disk bytes per transaction and per store entry, peak memory; then this machine's ed25519
//! `verify_strict` rate from the same run (one core, and every core).
//!
//! `cargo bench -p sigil-registry --bench ledger -- disk [NAMES] [PER_BLOCK] [WINDOW]`: `NAMES` names
//! registered as `sigil name import` does (one key; each a commit, and a reveal two blocks later,
//! `PER_BLOCK` names a block), then empty blocks past the state versions kept (`WINDOW`, 0:
//! pruning off) and the reveal window, so pruning catches up as on a running node. Prints disk bytes per name and
//! the store's live bytes by key prefix.
//!
//! `--engine=sled|redb` runs one engine only, in this process.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::proof::{Proof, verify};
use sigil_core::records::Record;
use sigil_core::state::{ChainParams, NameEntry, ValidatorSet, keys};
use sigil_core::tx::{Op, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair, PublicKey, decode, encode};
use sigil_registry::error::Result as StoreResult;
use sigil_registry::ledger::Ledger;
use sigil_registry::prefixes;
use sigil_registry::store::{self, Batch, Engine, Store, prefix_end};
use sigil_registry::tree::StateTree;

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let engine: Option<Engine> = all
        .iter()
        .find_map(|a| a.strip_prefix("--engine="))
        .map(|name| name.parse().unwrap());
    let args: Vec<String> = all.into_iter().filter(|a| !a.starts_with("--")).collect();
    let num =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (what, sizes) = match args.first().map(String::as_str) {
        Some("tree") => ("tree", vec![num(1, 1_000_000), num(2, 10_000)]),
        Some("txs") => ("txs", vec![num(1, 20), num(2, 5_000)]),
        Some("disk") => ("disk", vec![num(1, 20_000), num(2, 200), num(3, 100)]),
        _ => {
            for (what, sizes) in [("tree", [100_000, 10_000]), ("txs", [10, 5_000])] {
                on_each_engine(what, &sizes);
            }
            verify_rate(5_000);
            return;
        }
    };
    match (engine, what) {
        (Some(engine), "tree") => tree(engine, sizes[0], sizes[1]),
        (Some(engine), "txs") => txs(engine, sizes[0], sizes[1]),
        (Some(engine), _) => disk(engine, sizes[0], sizes[1], sizes[2]),
        (None, _) => {
            on_each_engine(what, &sizes);
            if what == "txs" {
                verify_rate(sizes[1]);
            }
        }
    }
}

/// Runs this bench again for each engine, one process each, one after the other.
fn on_each_engine(what: &str, sizes: &[usize]) {
    let exe = std::env::current_exe().unwrap();
    for engine in Engine::ALL {
        let status = std::process::Command::new(&exe)
            .arg(what)
            .args(sizes.iter().map(usize::to_string))
            .arg(format!("--engine={engine}"))
            .status()
            .unwrap();
        assert!(status.success(), "{what} on {engine}: {status}");
    }
}

/// Bytes the files under `dir` take on disk (allocated blocks, the same count for each engine).
fn disk_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                disk_bytes(&entry.path())
            } else {
                meta.blocks() * 512
            }
        })
        .sum()
}

/// This process's peak and current resident memory, in MiB (`VmHWM`, `VmRSS`).
fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib = |field: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (kib("VmHWM:") / 1024, kib("VmRSS:") / 1024)
}

/// The number of entries in `store`, counted in pages.
fn entries(store: &dyn Store) -> u64 {
    let (mut count, mut start) = (0, Vec::new());
    loop {
        let page = store.scan(&start, &[0xff; 64], 10_000).unwrap();
        count += page.len() as u64;
        match page.last() {
            Some((key, _)) if page.len() == 10_000 => {
                start = key.clone();
                start.push(0);
            }
            _ => return count,
        }
    }
}

/// Name `i`'s address, one of its own.
fn address(i: usize) -> Record {
    Record::parse(&format!(
        "@ A 10.{}.{}.{}",
        i >> 16 & 255,
        i >> 8 & 255,
        i & 255
    ))
    .unwrap()
}

fn entry_bytes(i: usize) -> Vec<u8> {
    let records = vec![
        address(i),
        Record::parse(&format!("@ TXT \"bench {i}\"")).unwrap(),
    ];
    encode(&NameEntry {
        name: format!("n{i}.sigil"),
        owner: PublicKey([7; 32]),
        records,
        registered_at: 1,
        updated_at: 1,
        expires_at: 1_000_000,
    })
}

fn tree(engine: Engine, total: usize, per_block: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(engine, dir.path(), 64 << 20).unwrap();
    let store = store.as_ref();
    let started = Instant::now();
    let mut version = 0;
    let mut written = 0;
    while written < total {
        let n = per_block.min(total - written);
        let writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = (written..written + n)
            .map(|i| (keys::name(&format!("n{i}.sigil")), Some(entry_bytes(i))))
            .collect();
        let mut batch = Batch::default();
        StateTree::new(store)
            .update(version, &writes, &mut batch)
            .unwrap();
        store.apply(batch).unwrap();
        store.flush().unwrap();
        written += n;
        version += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let tip = version - 1;
    let tree = StateTree::new(store);
    let root = tree.root(tip).unwrap();
    let samples = 2_000;
    let (mut present_bytes, mut absent_bytes) = (0usize, 0usize);
    let mut proofs = Vec::new();
    for s in 0..samples {
        let i = (s * 7919) % total;
        let key = keys::name(&format!("n{i}.sigil"));
        let (value, proof) = tree.get_with_proof(&key, tip).unwrap();
        present_bytes += encode(&proof).len();
        proofs.push((key, value, proof));
        let missing = keys::name(&format!("missing{s}.sigil"));
        let (none, proof) = tree.get_with_proof(&missing, tip).unwrap();
        assert!(none.is_none());
        absent_bytes += encode(&proof).len();
        proofs.push((missing, None, proof));
    }
    let verify_started = Instant::now();
    for (key, value, proof) in &proofs {
        verify(&root, key, value.as_deref(), proof).unwrap();
    }
    let verify_us = verify_started.elapsed().as_secs_f64() * 1e6 / proofs.len() as f64;
    // Round-trip one proof through its encoding, as a client receives it.
    let _: Proof = decode(&encode(&proofs[0].2)).unwrap();
    store.flush().unwrap();
    let (peak, now) = memory_mib();
    let disk = disk_bytes(dir.path());
    println!(
        "tree [{engine}]: {total} keys in blocks of {per_block}: {secs:.1} s, {:.0} inserts/s (flushed per block)",
        total as f64 / secs
    );
    println!(
        "tree [{engine}]: proof bytes, present: {} avg; absent: {} avg",
        present_bytes / samples,
        absent_bytes / samples
    );
    println!("tree [{engine}]: verify {verify_us:.1} us per proof (present and absent mixed)");
    println!(
        "tree [{engine}]: disk {} bytes, {} bytes per key (values ~{} bytes); memory peak {peak} MiB, now {now} MiB",
        disk,
        disk / total as u64,
        entry_bytes(0).len()
    );
}

fn txs(engine: Engine, blocks: usize, per_block: usize) {
    let dir = tempfile::tempdir().unwrap();
    let validator = Keypair::generate();
    let genesis = bench_genesis(&validator, 1, 100);
    let store = Arc::new(Counting::new(engine, dir.path()));
    let ledger = Ledger::open(store.clone(), genesis, 100_000).unwrap();
    let entries_before = store.entries();
    let signers: Vec<Keypair> = (0..per_block).map(|_| Keypair::generate()).collect();
    // Each block: one name commitment per signer (signature check, nonce, state write).
    let mut total = 0;
    let mut busy = 0.0;
    for b in 0..blocks {
        let txs: Vec<_> = signers
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let commitment = name_commitment(
                    &format!("n{b}x{i}.sigil"),
                    &Hash([b as u8; 32]),
                    &key.public(),
                );
                Transaction {
                    chain_id: "bench".into(),
                    signer: key.public(),
                    nonce: b as u64,
                    stamp: 0,
                    op: Op::NameCommit { commitment },
                }
                .sign(key)
            })
            .collect();
        let started = Instant::now();
        let prepared = ledger.prepare(&txs).unwrap();
        assert!(prepared.execution.outcomes.iter().all(Result::is_ok));
        let header = ledger.header(&prepared, validator.public(), 0).unwrap();
        let commit = Commit::sign(&header, 0, &validator);
        ledger
            .commit(prepared, Block { header, txs }, commit)
            .unwrap();
        busy += started.elapsed().as_secs_f64();
        total += per_block;
    }
    let (peak, now) = memory_mib();
    let disk = disk_bytes(dir.path());
    let stored = entries(store.as_ref());
    let written = store.entries() - entries_before;
    println!(
        "txs [{engine}]: {total} transactions in {blocks} blocks of {per_block}: {:.0} applied/s (signature checks, execution, tree, flushed batch)",
        total as f64 / busy
    );
    println!(
        "txs [{engine}]: disk {disk} bytes: {} per transaction, {} per store entry ({stored} entries); memory peak {peak} MiB, now {now} MiB",
        disk / total as u64,
        disk / stored.max(1),
    );
    println!(
        "txs [{engine}]: {:.1} store entries written per transaction",
        written as f64 / total as f64
    );
}

/// The bench chain: one validator, `.sigil` names revealed between `reveal_min` and
/// `reveal_max` blocks after their commit, no work stamps.
fn bench_genesis(validator: &Keypair, reveal_min: u64, reveal_max: u64) -> Genesis {
    Genesis {
        genesis_time_ms: 0,
        params: ChainParams {
            chain_id: "bench".into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: reveal_min,
            reveal_max_blocks: reveal_max,
            name_ttl_blocks: 1_000_000,
            grace_blocks: 10,
            block_interval_ms: 500,
            work: Default::default(),
        },
        validators: ValidatorSet::equal_power([validator.public()]),
    }
}

/// The reference beside the figure: `verify_strict` checks per second on this machine.
fn verify_rate(count: usize) {
    let rate = sigil_registry::signatures::VerifyRate::measure(count);
    println!("txs: reference: {rate}");
}

/// A store that counts the entries (puts and deletes) of the batches applied to it.
struct Counting {
    inner: Arc<dyn Store>,
    entries: AtomicUsize,
}

impl Counting {
    fn new(engine: Engine, dir: &std::path::Path) -> Counting {
        Counting {
            inner: store::open(engine, dir, 64 << 20).unwrap(),
            entries: AtomicUsize::new(0),
        }
    }

    fn entries(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }
}

impl Store for Counting {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan(start, end, limit)
    }
    fn last_in(&self, start: &[u8], end: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        self.inner.last_in(start, end)
    }
    fn scan_rev(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan_rev(start, end, limit)
    }
    fn apply(&self, batch: Batch) -> StoreResult<()> {
        self.entries.fetch_add(batch.len(), Ordering::Relaxed);
        self.inner.apply(batch)
    }
    fn flush(&self) -> StoreResult<()> {
        self.inner.flush()
    }
    fn size_on_disk(&self) -> StoreResult<u64> {
        self.inner.size_on_disk()
    }
}

/// Registers `names` names as `sigil name import` does, then runs empty blocks while pruning
/// catches up; prints the disk per name and the live bytes by key prefix.
fn disk(engine: Engine, names: usize, per_block: usize, window: usize) {
    let dir = tempfile::tempdir().unwrap();
    let validator = Keypair::generate();
    let reveal_max_blocks = 600;
    let genesis = bench_genesis(&validator, 2, reveal_max_blocks as u64);
    let store = Arc::new(Counting::new(engine, dir.path()));
    // Pruning off: a window longer than the run.
    let kept = if window == 0 {
        u64::MAX / 2
    } else {
        window as u64
    };
    let ledger = Ledger::open(store.clone(), genesis, kept).unwrap();
    let key = Keypair::generate();
    let salt = |i: usize| Hash::of(&(i as u64).to_be_bytes());
    let name = |i: usize| format!("n{i:08x}.sigil");
    let mut nonce = 0u64;
    let mut sign = |op: Op| {
        nonce += 1;
        Transaction {
            chain_id: "bench".into(),
            signer: key.public(),
            nonce: nonce - 1,
            stamp: 0,
            op,
        }
        .sign(&key)
    };
    let run_block = |txs: Vec<_>| {
        let prepared = ledger.prepare(&txs).unwrap();
        assert!(prepared.execution.outcomes.iter().all(Result::is_ok));
        let header = ledger.header(&prepared, validator.public(), 0).unwrap();
        let commit = Commit::sign(&header, 0, &validator);
        ledger
            .commit(prepared, Block { header, txs }, commit)
            .unwrap();
    };
    // Block b commits batch b and reveals batch b - 2 (the reveal delay).
    let batches = names.div_ceil(per_block);
    let started = Instant::now();
    let mut txs_total = 0;
    for b in 0..batches + 2 {
        let mut txs = Vec::new();
        if let Some(r) = b.checked_sub(2) {
            for i in r * per_block..((r + 1) * per_block).min(names) {
                let records = vec![
                    address(i),
                    Record::parse(&format!("@ AAAA fd00::{:x}:{:x}", i >> 16, i & 0xffff)).unwrap(),
                    Record::parse(&format!("@ TXT \"bench {i}\"")).unwrap(),
                ];
                txs.push(sign(Op::NameRegister {
                    name: name(i),
                    salt: salt(i),
                    records,
                }));
            }
        }
        if b < batches {
            for i in b * per_block..((b + 1) * per_block).min(names) {
                let commitment = name_commitment(&name(i), &salt(i), &key.public());
                txs.push(sign(Op::NameCommit { commitment }));
            }
        }
        txs_total += txs.len();
        run_block(txs);
    }
    let secs = started.elapsed().as_secs_f64();
    let entries = store.entries();
    report(&*store, engine, "after the import", names);
    // Past the reveal window too, so the state has dropped the commitments' reveal-window lists
    // and pruning has passed those deletions.
    let tail = if window == 0 {
        0
    } else {
        window + reveal_max_blocks + batches + 2
    };
    for _ in 0..tail {
        run_block(Vec::new());
    }
    println!(
        "disk [{engine}]: {names} names ({txs_total} transactions) in blocks of {per_block} names, {secs:.1} s; {:.1} store entries written per transaction; pruning {}",
        entries as f64 / txs_total as f64,
        if window == 0 {
            "off".to_string()
        } else {
            format!("on, {window} versions kept ({tail} empty blocks after the import)")
        }
    );
    if tail > 0 {
        report(&*store, engine, "after the empty blocks", names);
    }
}

/// Prints the store's size on disk per name and its live entries and bytes by key prefix.
fn report(store: &dyn Store, engine: Engine, when: &str, names: usize) {
    store.flush().unwrap();
    let disk = store.size_on_disk().unwrap();
    println!(
        "disk [{engine}]: {when}: {disk} bytes on disk, {} bytes per name",
        disk / names as u64
    );
    let mut live = 0;
    for (what, prefix) in prefixes::ALL {
        let entries = store.scan(prefix, &prefix_end(prefix), usize::MAX).unwrap();
        if entries.is_empty() {
            continue;
        }
        let keys: usize = entries.iter().map(|(k, _)| k.len()).sum();
        let values: usize = entries.iter().map(|(_, v)| v.len()).sum();
        live += keys + values;
        println!(
            "disk:   {what:<22} {:>9} entries {:>11} key bytes {:>11} value bytes {:>7.1} bytes per name",
            entries.len(),
            keys,
            values,
            (keys + values) as f64 / names as f64
        );
    }
    println!(
        "disk:   live keys and values {live} bytes, {} bytes per name",
        live / names
    );
}
