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
//! `--engine=sled|redb` runs one engine only, in this process.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::proof::{Proof, verify};
use sigil_core::records::Record;
use sigil_core::state::{ChainParams, NameEntry, ValidatorSet, keys};
use sigil_core::tx::{Op, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair, PublicKey, decode, encode};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::{self, Batch, Engine, Store};
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
    let (what, a, b) = match args.first().map(String::as_str) {
        Some("tree") => ("tree", num(1, 1_000_000), num(2, 10_000)),
        Some("txs") => ("txs", num(1, 20), num(2, 5_000)),
        _ => {
            for (what, a, b) in [("tree", 100_000, 10_000), ("txs", 10, 5_000)] {
                on_each_engine(what, a, b);
            }
            verify_rate(5_000);
            return;
        }
    };
    match engine {
        Some(engine) if what == "tree" => tree(engine, a, b),
        Some(engine) => txs(engine, a, b),
        None => {
            on_each_engine(what, a, b);
            if what == "txs" {
                verify_rate(b);
            }
        }
    }
}

/// Runs this bench again for each engine, one process each, one after the other.
fn on_each_engine(what: &str, a: usize, b: usize) {
    let exe = std::env::current_exe().unwrap();
    for engine in Engine::ALL {
        let status = std::process::Command::new(&exe)
            .args([what, &a.to_string(), &b.to_string()])
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

fn entry_bytes(i: usize) -> Vec<u8> {
    let records = vec![
        Record::parse(&format!(
            "@ A 10.{}.{}.{}",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        ))
        .unwrap(),
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
    let genesis = Genesis {
        genesis_time_ms: 0,
        params: ChainParams {
            chain_id: "bench".into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: 1,
            reveal_max_blocks: 100,
            name_ttl_blocks: 1_000_000,
            grace_blocks: 10,
            block_interval_ms: 500,
            work: Default::default(),
        },
        validators: ValidatorSet::equal_power([validator.public()]),
    };
    let store: Arc<dyn Store> = store::open(engine, dir.path(), 64 << 20).unwrap();
    let ledger = Ledger::open(store.clone(), genesis, 100_000).unwrap();
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
    println!(
        "txs [{engine}]: {total} transactions in {blocks} blocks of {per_block}: {:.0} applied/s (signature checks, execution, tree, flushed batch)",
        total as f64 / busy
    );
    println!(
        "txs [{engine}]: disk {disk} bytes: {} per transaction, {} per store entry ({stored} entries); memory peak {peak} MiB, now {now} MiB",
        disk / total as u64,
        disk / stored.max(1),
    );
}

/// The reference beside the figure: `verify_strict` checks per second on this machine, one
/// core and then every core, on `count` transactions signed as the bench's are (key decoding
/// included, as the node does per transaction).
fn verify_rate(count: usize) {
    let signed: Vec<_> = (0..count)
        .map(|i| {
            let key = Keypair::generate();
            Transaction {
                chain_id: "bench".into(),
                signer: key.public(),
                nonce: 0,
                stamp: 0,
                op: Op::NameCommit {
                    commitment: Hash::of(&i.to_be_bytes()),
                },
            }
            .sign(&key)
        })
        .collect();
    let messages: Vec<_> = signed.iter().map(|s| s.tx.signing_bytes()).collect();
    let check = |range: std::ops::Range<usize>| {
        for i in range {
            assert!(
                signed[i]
                    .tx
                    .signer
                    .verify(&messages[i], &signed[i].signature)
            );
        }
    };
    let started = Instant::now();
    check(0..count);
    let one = count as f64 / started.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rounds = 4;
    let started = Instant::now();
    for _ in 0..rounds {
        std::thread::scope(|scope| {
            for c in 0..cores {
                scope.spawn(move || check(count * c / cores..count * (c + 1) / cores));
            }
        });
    }
    let all = (rounds * count) as f64 / started.elapsed().as_secs_f64();
    println!(
        "txs: reference: ed25519 verify_strict {one:.0}/s on one core, {all:.0}/s on {cores} cores (same run)"
    );
}
