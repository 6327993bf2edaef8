//! The seeded fault campaign: four validators and a full node as real `sigild` processes on
//! loopback, their consensus links through proxies, a load of name, certificate and share
//! transactions throughout, and each round one fault drawn from the seed (kill -9, a crash
//! hook between voting and committing, a partition, a slow or lossy link, a paused process, a
//! truncated write-ahead log, a full disk, a clock skewed within the ledger's bound). After each round it heals, waits for progress and
//! checks that the nodes hold one chain, that no final transaction is lost and that memory
//! stays bounded. One summary line at the end; on a failure, the seed and round that reproduce
//! it, and a non-zero exit.
//!
//! `cargo run --release -p sigil-tests --bin campaign -- --rounds N --seed S`

mod checks;
mod faults;
mod load;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sigil_core::types::Keypair;
use sigil_tests::clock::{libfaketime, offset_env};
use sigil_tests::http;
use sigil_tests::links::Links;
use sigil_tests::network::Network;
use sigil_tools::config::FileConfig;
use sigil_tools::devchain;

use checks::Checks;
use faults::{Fault, KINDS};
use load::{Actors, Kind, Load};
use sigil_tests::disks::{Disks, run};

/// Validators of the network; one full node follows them.
const VALIDATORS: usize = 4;
const NODES: usize = VALIDATORS + 1;
/// Bound for the network to decide two blocks past the highest tip once a fault is healed.
const RECOVERY: Duration = Duration::from_secs(120);
/// Bound for a node restarted with a crash hook to reach it.
const HOOK_WAIT: Duration = Duration::from_secs(120);
/// Bound for the first blocks and each setup transaction.
const SETUP: Duration = Duration::from_secs(120);
/// Expensive API requests per second a node allows one client: the checks read every block.
const API_RATE: u32 = 100_000;
/// Longest a skewed validator is held beyond its round's duration waiting for a block it
/// proposed (the proof its clock was offset).
const SKEW_PROPOSAL_WAIT: Duration = Duration::from_secs(20);

struct Args {
    rounds: u64,
    seed: u64,
    /// Only print the faults the seed draws for the rounds.
    list: bool,
    /// Full disks by a write quota even where a tmpfs could be mounted.
    no_mount: bool,
    /// No clock skew even where libfaketime is installed: the draws of a run recorded before
    /// the kind existed, or on a machine without it.
    no_skew: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut rounds = 10;
    let mut seed = None;
    let mut list = false;
    let mut no_mount = false;
    let mut no_skew = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("{name} takes a number"))
        };
        match arg.as_str() {
            "--rounds" => rounds = value("--rounds")?,
            "--seed" => seed = Some(value("--seed")?),
            "--list" => list = true,
            "--no-mount" => no_mount = true,
            "--no-skew" => no_skew = true,
            "-h" | "--help" => {
                return Err("usage: campaign [--rounds N] [--seed S] [--list] [--no-mount] [--no-skew]\n  --list: print the faults the seed draws, run nothing\n  --no-mount: full disks by a write quota (RLIMIT_FSIZE), as where no tmpfs may be mounted\n  --no-skew: no clock skew, as where libfaketime is not installed (a seed then draws what it drew before clock skews existed)".to_string());
            }
            other => return Err(format!("unknown argument `{other}`; try --help")),
        }
    }
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    Ok(Args {
        rounds,
        seed,
        list,
        no_mount,
        no_skew,
    })
}

/// The network, its links and disks, and what the checks found.
struct World {
    /// First: unmounted before the network's folders are removed.
    disks: Disks,
    net: Network,
    links: Links,
    checks: Checks,
    /// The libfaketime library, if installed: clock skews are drawn only then.
    faketime: Option<PathBuf>,
}

/// How the campaign went so far.
#[derive(Default)]
struct Tally {
    rounds: u64,
    faults: BTreeMap<&'static str, u64>,
    /// Longest time from a heal to two new blocks on every node, and its round.
    longest_recovery: (Duration, u64),
    /// Notable outcomes of faults (a refused log, a hook not reached), counted.
    outcomes: BTreeMap<String, u64>,
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let faketime = libfaketime().filter(|_| !args.no_skew);
    if args.list {
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        for round in 1..=args.rounds {
            println!(
                "round {round}: {}",
                Fault::draw(&mut rng, VALIDATORS, NODES, faketime.is_some())
            );
        }
        if faketime.is_none() {
            println!("(no clock skew drawn: libfaketime is not installed, or --no-skew)");
        }
        return;
    }
    println!(
        "campaign: seed {} for {} rounds: {VALIDATORS} validators and a full node",
        args.seed, args.rounds
    );
    // A harness panic (a node that does not start, say) is caught and reported with its
    // round: one line on standard error, not a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("campaign: {info}")));
    let mut tally = Tally::default();
    let no_mount = args.no_mount;
    let skew = faketime.is_some();
    let (mut world, load) = match catch_unwind(move || setup(no_mount, faketime)) {
        Ok(started) => started,
        Err(panic) => {
            eprintln!("campaign: setup failed: {}", panic_text(&panic));
            std::process::exit(1);
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut failure = None;
    let mut seen_finals = 0;
    for round in 1..=args.rounds {
        let fault = Fault::draw(&mut rng, VALIDATORS, NODES, skew);
        println!("round {round}/{}: {fault}", args.rounds);
        *tally.faults.entry(fault.kind()).or_default() += 1;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let note = apply(&mut world, &fault)?;
            let recovery = recover(&mut world)?;
            let finals: Vec<_> = load.finals.lock().unwrap()[seen_finals..].to_vec();
            seen_finals += finals.len();
            let mut problems = world.checks.chain(&world.net);
            problems.extend(world.checks.txs(&world.net, &finals));
            problems.extend(world.checks.evidence(&world.net));
            problems.extend(world.checks.memory(&world.net));
            if problems.is_empty() {
                Ok((note, recovery))
            } else {
                Err(problems.join("\n  "))
            }
        }))
        .unwrap_or_else(|panic| Err(panic_text(&panic)));
        tally.rounds = round;
        match result {
            Ok((note, recovery)) => {
                println!(
                    "round {round}: {}recovered in {:.1}s; {} final transactions checked",
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!("{note}; ")
                    },
                    recovery.as_secs_f64(),
                    world.checks.txs_checked
                );
                if !note.is_empty() {
                    *tally.outcomes.entry(note).or_default() += 1;
                }
                if recovery > tally.longest_recovery.0 {
                    tally.longest_recovery = (recovery, round);
                }
            }
            Err(problem) => {
                failure = Some((round, problem));
                break;
            }
        }
    }
    let stats = load.stats.clone();
    let finals = load.finals.clone();
    load.stop();
    if failure.is_none() {
        // The transactions final since the last round, once every node has their heights.
        let last = catch_unwind(AssertUnwindSafe(|| {
            recover(&mut world)?;
            let fresh: Vec<_> = finals.lock().unwrap()[seen_finals..].to_vec();
            let mut problems = world.checks.chain(&world.net);
            problems.extend(world.checks.txs(&world.net, &fresh));
            if problems.is_empty() && world.checks.unchecked() == 0 {
                Ok(())
            } else if problems.is_empty() {
                Err(format!(
                    "{} final transactions are above a node's tip after the load stopped",
                    world.checks.unchecked()
                ))
            } else {
                Err(problems.join("\n  "))
            }
        }))
        .unwrap_or_else(|panic| Err(panic_text(&panic)));
        if let Err(problem) = last {
            failure = Some((tally.rounds, problem));
        }
    }
    let by_kind: Vec<String> = Kind::ALL
        .iter()
        .map(|&kind| {
            let n = finals
                .lock()
                .unwrap()
                .iter()
                .filter(|tx| tx.kind == kind)
                .count();
            format!("{}={n}", kind.label())
        })
        .collect();
    for (outcome, n) in &tally.outcomes {
        println!("campaign: {n} x {outcome}");
    }
    for (reason, n) in stats.refusals.lock().unwrap().iter() {
        println!("campaign: the load was refused {n} x {reason}");
    }
    use std::sync::atomic::Ordering::Relaxed;
    println!(
        "campaign summary: seed={} rounds={} faults[{}] clock-skew-by={} full-disk-by={} final-txs-checked={} ({}) forks={} lost={} double-votes={} longest-recovery={:.1}s(round {}) peak-rss={}MiB load[unreachable={} refused={} unconfirmed={} failed={} certs-found-again={}]",
        args.seed,
        tally.rounds,
        KINDS
            .iter()
            .map(|k| format!("{k}={}", tally.faults.get(k).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(" "),
        match (skew, args.no_skew) {
            (true, _) => "libfaketime",
            (false, true) => "not-drawn(--no-skew)",
            (false, false) => "not-drawn(no-libfaketime)",
        },
        if world.disks.mounted() {
            "tmpfs"
        } else {
            "rlimit-fsize"
        },
        world.checks.txs_checked,
        by_kind.join(" "),
        world.checks.forks,
        world.checks.lost,
        world.checks.equivocations,
        tally.longest_recovery.0.as_secs_f64(),
        tally.longest_recovery.1,
        world.checks.peak_rss.iter().max().copied().unwrap_or(0) >> 20,
        stats.unreachable.load(Relaxed),
        stats.refused.load(Relaxed),
        stats.unconfirmed.load(Relaxed),
        stats.failed.load(Relaxed),
        stats.certs_found.load(Relaxed),
    );
    if let Some((round, problem)) = failure {
        println!(
            "campaign FAILED in round {round} of seed {}:\n  {problem}",
            args.seed
        );
        println!(
            "reproduce: cargo run --release -p sigil-tests --bin campaign -- --rounds {round} --seed {}",
            args.seed
        );
        // Keep the folders (stores, write-ahead logs) for the write-up; stop the nodes.
        for node in &mut world.net.nodes {
            node.take();
        }
        world.disks.save();
        println!("node folders kept in {}", world.net.dir.path().display());
        let kept = world.net.dir.keep();
        drop(kept);
        std::process::exit(1);
    }
}

/// Lays out and starts the network behind its link proxies, registers what the load acts on
/// (through the `sigil` CLI), and starts the load.
fn setup(no_mount: bool, faketime: Option<PathBuf>) -> (World, Load) {
    let mut net = Network::layout(VALIDATORS);
    net.layout_node_with_key(None);
    for entry in &net.manifest.nodes {
        let path = entry.config_path();
        let mut config = FileConfig::load(&path).expect("node config");
        config.api_expensive_per_sec = Some(API_RATE);
        std::fs::write(&path, toml::to_string_pretty(&config).expect("config"))
            .expect("write node config");
    }
    let links = Links::between(&net);
    let dirs: Vec<PathBuf> = net.manifest.nodes.iter().map(|n| n.dir.clone()).collect();
    let disks = if no_mount {
        Disks::none()
    } else {
        Disks::mount(&dirs)
    };
    for i in 0..net.nodes.len() {
        net.restart(i);
    }
    for i in 0..net.nodes.len() {
        net.wait_block(i, 2, SETUP);
    }
    let actors = register_actors(&net);
    let apis = (0..net.nodes.len())
        .map(|i| net.node(i).api.clone())
        .collect();
    let load = Load::start(apis, &net.node(0).chain_id, actors);
    let checks = Checks::new(net.nodes.len());
    (
        World {
            disks,
            net,
            links,
            checks,
            faketime,
        },
        load,
    )
}

/// Keys written into a keystore, then the names, the admin identity, the company and its
/// holder registered with the CLI against node 0.
fn register_actors(net: &Network) -> Actors {
    let keystore = net.dir.path().join("keys");
    std::fs::create_dir_all(&keystore).expect("keystore");
    std::fs::set_permissions(
        &keystore,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("keystore mode");
    let key = |name: &str| {
        let key = Keypair::generate();
        let pem = devchain::validator_pem(&key).expect("a key encodes");
        devchain::write_private(&keystore.join(format!("{name}.pem")), pem.as_bytes())
            .expect("write a key");
        key
    };
    let (namer, cert_owner, admin) = (key("namer"), key("owner"), key("admin-on"));
    key("admin-off");
    key("holder");
    let api = &net.node(0).api;
    let cli = |args: &[&str]| sigil_tests::ok(sigil_tests::sigil(api, &keystore, args));
    cli(&[
        "--key",
        "namer",
        "name",
        "register",
        "load.sigil",
        "--a",
        "192.0.2.1",
    ]);
    cli(&[
        "--key",
        "owner",
        "name",
        "register",
        "certs.sigil",
        "--a",
        "192.0.2.2",
    ]);
    cli(&[
        "--key",
        "owner",
        "name",
        "register",
        "co.sigil",
        "--a",
        "192.0.2.3",
    ]);
    cli(&[
        "identity",
        "register",
        "co-admin",
        "--online",
        "admin-on",
        "--offline",
        "admin-off",
    ]);
    // The name's owner and the admin's key are found in the keystore.
    cli(&[
        "company", "create", "co.sigil", "--admin", "co-admin", "--class", "common",
    ]);
    cli(&[
        "holder", "issue", "co.sigil", "--holder", "h1", "--key", "holder",
    ]);
    Actors {
        namer,
        name: "load.sigil".to_string(),
        cert_owner,
        cert_name: "certs.sigil".to_string(),
        admin,
        company: "co".to_string(),
        class: "common".to_string(),
        holder: "h1".to_string(),
    }
}

/// Applies `fault` and heals it; a note on how it went, or what went wrong.
fn apply(world: &mut World, fault: &Fault) -> Result<String, String> {
    match *fault {
        Fault::Kill { node, after, down } => {
            std::thread::sleep(after);
            world.net.kill(node);
            std::thread::sleep(down);
            start(world, node)
        }
        Fault::CrashHook { node, point, ahead } => crash_hook(world, node, point, ahead),
        Fault::Partition {
            ref left,
            ref right,
            lasts,
            ..
        } => {
            world.links.partition(left, right);
            std::thread::sleep(lasts);
            world.links.heal();
            Ok(String::new())
        }
        Fault::Slow { node, delay, lasts } => {
            for other in (0..world.net.nodes.len()).filter(|&o| o != node) {
                world.links.slow(node, other, delay);
            }
            std::thread::sleep(lasts);
            world.links.heal();
            Ok(String::new())
        }
        Fault::Lossy {
            node,
            per_mille,
            lasts,
        } => {
            for other in (0..world.net.nodes.len()).filter(|&o| o != node) {
                world.links.lossy(node, other, per_mille);
            }
            std::thread::sleep(lasts);
            world.links.heal();
            Ok(String::new())
        }
        Fault::Pause { node, lasts } => {
            let pid = world.net.node(node).pid();
            signal("-STOP", pid)?;
            std::thread::sleep(lasts);
            signal("-CONT", pid)?;
            Ok(String::new())
        }
        Fault::TruncatedWal { node, draw } => {
            world.net.kill(node);
            let wal = wal_path(&world.net, node);
            let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            if len == 0 {
                start(world, node)?;
                return Ok("no write-ahead log to cut".to_string());
            }
            let cut = 1 + draw % len;
            std::fs::OpenOptions::new()
                .write(true)
                .open(&wal)
                .and_then(|f| f.set_len(len - cut))
                .map_err(|e| format!("cut {}: {e}", wal.display()))?;
            println!("  cut {cut} of its {len} bytes");
            let torn = wal.with_extension("torn");
            let _ = std::fs::remove_file(&torn);
            let started = start(world, node)?;
            Ok(if !started.is_empty() {
                started
            } else if torn.exists() {
                "set its log cut inside the header aside itself, started on a fresh one".to_string()
            } else {
                "started on its cut log".to_string()
            })
        }
        Fault::FullDisk {
            node,
            margin,
            lasts,
        } => full_disk(world, node, margin, lasts),
        Fault::ClockSkew {
            node,
            offset_ms,
            lasts,
        } => clock_skew(world, node, offset_ms, lasts),
    }
}

/// Restarts node `node` (SIGTERM, then started) with its wall clock `offset_ms` off: libfaketime
/// preloaded, the monotonic clock (the engine's timeouts, tokio's timers) left true. Holds it
/// `lasts`, and a validator until it proposed a block (at most [`SKEW_PROPOSAL_WAIT`] more),
/// then restarts it on the true clock. The note says what its blocks' times showed.
fn clock_skew(
    world: &mut World,
    node: usize,
    offset_ms: i64,
    lasts: Duration,
) -> Result<String, String> {
    let lib = world
        .faketime
        .clone()
        .ok_or("clock skew drawn without libfaketime")?;
    stop(world, node)?;
    world.checks.restarted(node);
    let env = offset_env(&lib, offset_ms);
    world
        .net
        .restart_env(node, &env.each_ref().map(|(k, v)| (*k, v.as_str())));
    let key = world.net.manifest.nodes[node]
        .validator
        .map(|k| serde_json::to_value(k).expect("a key serializes"));
    let watcher = world
        .net
        .node((node + 1) % world.net.nodes.len())
        .api
        .clone();
    let started = Instant::now();
    let mut height = checks::tip(&watcher).unwrap_or(0) + 1;
    // Its blocks' times less the campaign's clock when each was read.
    let mut stamps: Vec<i64> = Vec::new();
    loop {
        let held = started.elapsed();
        let enough = held >= lasts && (key.is_none() || !stamps.is_empty());
        if enough || held >= lasts + SKEW_PROPOSAL_WAIT {
            break;
        }
        let wait = (lasts + SKEW_PROPOSAL_WAIT).saturating_sub(held);
        let path = format!(
            "/v1/blocks/{height}?wait_ms={}",
            wait.as_millis().min(3_000)
        );
        match http::get(&watcher, &path, Duration::from_secs(3)) {
            Ok((200, block)) => {
                let header = &block["block"]["header"];
                if key.as_ref().is_some_and(|k| header["proposer"] == *k) {
                    let time_ms = header["time_ms"].as_i64().unwrap_or(0);
                    stamps.push(time_ms - sigil_core::time::now_ms() as i64);
                }
                height += 1;
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    stop(world, node)?;
    let restarted = start(world, node)?;
    let seen = match (stamps.iter().min(), stamps.iter().max()) {
        (Some(low), Some(high)) => {
            println!(
                "  its {} blocks while skewed stamped {low:+}..{high:+} ms against the campaign's clock",
                stamps.len()
            );
            // A block is stamped before it is decided and read: on true clocks its time is
            // behind the moment it is read. Ahead, its blocks carry its clock, the offset less
            // the time to decide and read them; behind, their parent's time (block times
            // never go back).
            if offset_ms > 0 && *high > 0 {
                "its blocks stamped ahead and accepted"
            } else if offset_ms > 0 {
                "its blocks accepted, the offset within the time to decide one"
            } else {
                "its blocks accepted"
            }
        }
        _ if key.is_none() => "a full node: proposes no block",
        _ => "proposed no block while skewed",
    };
    let direction = if offset_ms > 0 { "ahead" } else { "behind" };
    Ok(format!("clock {direction}: {seen}{}", suffix(&restarted)))
}

/// Stops node `node` gracefully (SIGTERM); an unclean exit is a failure.
fn stop(world: &mut World, node: usize) -> Result<(), String> {
    let running = world.net.nodes[node]
        .take()
        .ok_or_else(|| format!("node {node} is not running"))?;
    if running.terminate() {
        Ok(())
    } else {
        Err(format!("node {node} did not exit cleanly on SIGTERM"))
    }
}

/// Restarts validator `node` with `SIGIL_CRASH_AT=point:H` (H a few heights above the tip),
/// waits until it aborts there, and starts it again.
fn crash_hook(world: &mut World, node: usize, point: &str, ahead: u64) -> Result<String, String> {
    world.net.kill(node);
    let tip = highest_tip(&world.net);
    let height = tip + ahead;
    let hook = format!("{point}:{height}");
    world.net.restart_env(
        node,
        &[(
            sigil_registry::consensus::crash::CRASH_AT_ENV,
            hook.as_str(),
        )],
    );
    let deadline = Instant::now() + HOOK_WAIT;
    loop {
        if let Some(status) = world.net.nodes[node].as_mut().expect("running").exited() {
            world.net.nodes[node] = None;
            let signal = std::os::unix::process::ExitStatusExt::signal(&status);
            if signal != Some(6) {
                return Err(format!(
                    "{hook}: node {node} exited with {status}, not an abort"
                ));
            }
            let started = start(world, node)?;
            return Ok(format!("aborted at {point}{}", suffix(&started)));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{hook}: node {node} neither aborted nor passed the height"
            ));
        }
        // It may take the height by sync (no hook on that path): then it does not stop.
        let api = world.net.node(node).api.clone();
        let past = format!("/v1/blocks/{}?wait_ms=3000", height + 1);
        if let Ok((200, _)) = http::get(&api, &past, Duration::from_secs(3)) {
            return Ok(format!("{point} not reached: the height came by sync"));
        }
    }
}

/// Fills node `node`'s disk for `lasts`: its tmpfs shrunk to what it holds plus `margin`
/// (writes fail with ENOSPC), or where nothing may be mounted, any file it writes limited to
/// its largest file plus `margin` (RLIMIT_FSIZE set on the running process with `prlimit`: a
/// write past it fails and the process gets SIGXFSZ). Then gives the room back, or starts the
/// node again if it stopped.
fn full_disk(
    world: &mut World,
    node: usize,
    margin: u64,
    lasts: Duration,
) -> Result<String, String> {
    let pid = world.net.node(node).pid();
    let dir = world.net.manifest.nodes[node].dir.clone();
    if world.disks.mounted() {
        world.disks.fill(&dir, margin)?;
    } else {
        let limit = largest_file(&dir) + margin;
        prlimit(pid, &format!("--fsize={limit}:"))?;
    }
    let until = Instant::now() + lasts;
    let mut died = None;
    while Instant::now() < until {
        if let Some(status) = world.net.nodes[node].as_mut().expect("running").exited() {
            world.net.nodes[node] = None;
            died = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if world.disks.mounted() {
        world.disks.free(&dir)?;
    } else if died.is_none() {
        prlimit(pid, "--fsize=unlimited:")?;
    }
    if let Some(status) = died {
        let started = start(world, node)?;
        return Ok(format!(
            "stopped on the full disk ({status}){}",
            suffix(&started)
        ));
    }
    // A write refused just before the limit was lifted has sent the signal: the node answers
    // its next block, or its API goes away with it.
    let api = world.net.node(node).api.clone();
    let next = format!("/v1/blocks/{}?wait_ms=10000", highest_tip(&world.net) + 1);
    if http::get(&api, &next, Duration::from_secs(10)).is_err() {
        let status = world.net.nodes[node]
            .take()
            .expect("running")
            .wait_exit(Duration::from_secs(30));
        let started = start(world, node)?;
        return Ok(format!(
            "stopped on the full disk ({status}){}",
            suffix(&started)
        ));
    }
    Ok("lived through the full disk".to_string())
}

fn suffix(note: &str) -> String {
    if note.is_empty() {
        String::new()
    } else {
        format!(", {note}")
    }
}

/// Starts node `node` again. A node that refuses its damaged write-ahead log (naming it and
/// saying to move it aside) is treated as the message says: the log is moved aside and the
/// node started again, to rejoin from its stored blocks. A note on which it was.
fn start(world: &mut World, node: usize) -> Result<String, String> {
    world.checks.restarted(node);
    if catch_unwind(AssertUnwindSafe(|| world.net.restart(node))).is_ok() {
        return Ok(String::new());
    }
    // It exited before its ready line: ask it why.
    let why = catch_unwind(AssertUnwindSafe(|| {
        world.net.run_to_exit(node, Duration::from_secs(60))
    }))
    .map_err(|panic| format!("node {node} did not start: {}", panic_text(&panic)))?;
    let (status, stderr) = why;
    let wal = wal_path(&world.net, node);
    if !(stderr.contains("move it aside") && stderr.contains(&wal.display().to_string())) {
        return Err(format!("node {node} did not start ({status}): {stderr}"));
    }
    let aside = wal.with_extension(format!("damaged-{}", std::process::id()));
    std::fs::rename(&wal, &aside).map_err(|e| format!("move {} aside: {e}", wal.display()))?;
    catch_unwind(AssertUnwindSafe(|| world.net.restart(node))).map_err(|panic| {
        format!(
            "node {node} did not start with its damaged log moved aside: {}",
            panic_text(&panic)
        )
    })?;
    Ok("refused its damaged log; moved aside, it rejoined".to_string())
}

/// Waits until every node runs and has decided two blocks past the highest tip; how long it
/// took.
fn recover(world: &mut World) -> Result<Duration, String> {
    for i in 0..world.net.nodes.len() {
        match world.net.nodes[i].as_mut() {
            None => return Err(format!("node {i} is not running after the heal")),
            Some(node) => {
                if let Some(status) = node.exited() {
                    return Err(format!("node {i} exited by itself: {status}"));
                }
            }
        }
    }
    let started = Instant::now();
    let target = highest_tip(&world.net) + 2;
    for i in 0..world.net.nodes.len() {
        let left = RECOVERY.saturating_sub(started.elapsed());
        if world.net.try_wait_block(i, target, left).is_none() {
            return Err(format!(
                "node {i} did not reach height {target} within {RECOVERY:?} of the heal"
            ));
        }
    }
    Ok(started.elapsed())
}

/// The highest tip any running node reports.
fn highest_tip(net: &Network) -> u64 {
    net.running()
        .into_iter()
        .filter_map(|i| checks::tip(&net.node(i).api))
        .max()
        .unwrap_or(0)
}

fn wal_path(net: &Network, node: usize) -> PathBuf {
    net.manifest.nodes[node].dir.join("consensus").join("wal")
}

/// The size of the largest file under `dir`.
fn largest_file(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => largest_file(&entry.path()),
            Ok(_) => entry.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .max()
        .unwrap_or(0)
}

fn signal(which: &str, pid: u32) -> Result<(), String> {
    run(Command::new("kill").args([which, &pid.to_string()]))
}

fn prlimit(pid: u32, limit: &str) -> Result<(), String> {
    run(Command::new("prlimit").args(["--pid", &pid.to_string(), limit]))
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".to_string())
}
