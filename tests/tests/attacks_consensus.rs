//! Attacks on consensus over the network: a rogue process (`rogue`, the engine's own network
//! actor with a key of its own) joins four real validators' consensus swarm and floods them with
//! proposal streams, junk ones and valid-looking ones for far-future heights, signed by a
//! stranger or by a validator's key. Blocks keep being final while it floods, and the
//! validators' memory, disk and stored proposals stay bounded.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sigil_core::limits::{
    MAX_PROPOSAL_HEIGHTS_AHEAD, MAX_PROPOSAL_ROUNDS_AHEAD, MAX_PROPOSALS_PER_ROUND_PROPOSER,
};
use sigil_registry::consensus;
use sigil_registry::store::{self, Engine};
use sigil_tests::binary;
use sigil_tests::flood::rss_bytes;
use sigil_tests::network::Network;

/// Generous bound for a few block times on a loaded 2-core machine.
const BLOCKS: Duration = Duration::from_secs(60);
/// Messages the rogue sends before the count starts: the old table of 64 streams for all
/// peers was full after 64.
const WARM_UP: u64 = 2_000;
/// Messages the rogue sends while the validators must decide [`HEIGHTS`] more blocks (about
/// ten seconds of flood; blocks come every half second).
const FLOOD: u64 = 20_000;
const HEIGHTS: u64 = 5;
/// Resident memory a validator may use under the flood.
const MAX_RSS_BYTES: u64 = 512 << 20;
/// Bytes a validator's data folder may take after the flood.
const MAX_DATA_BYTES: u64 = 256 << 20;

/// A running rogue and the progress lines it prints.
struct Rogue {
    child: Child,
    lines: mpsc::Receiver<String>,
    sent: u64,
}

impl Rogue {
    /// Starts a rogue in `mode` against every node of `net`, with node `key_node`'s folder
    /// (chain and, for `future-signed`, validator key), and waits until it is connected.
    fn start(net: &Network, mode: &str, key_node: usize, from_height: u64) -> Rogue {
        let mut cmd = Command::new(binary("rogue"));
        cmd.args(["--mode", mode])
            .arg("--node-dir")
            .arg(&net.manifest.nodes[key_node].dir)
            .args(["--from-height", &from_height.to_string()])
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for node in &net.manifest.nodes {
            cmd.args(["--peer", &node.consensus]);
        }
        let mut child = cmd.spawn().expect("start the rogue");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let rogue = Rogue {
            child,
            lines,
            sent: 0,
        };
        let line = rogue
            .lines
            .recv_timeout(BLOCKS)
            .expect("the rogue connects to the validators");
        assert_eq!(line, "rogue connected");
        rogue
    }

    /// Waits until the rogue has published at least `count` messages; returns how many.
    fn wait_sent(&mut self, count: u64) -> u64 {
        let deadline = Instant::now() + BLOCKS * 4;
        while self.sent < count {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("the rogue stopped after {} messages", self.sent));
            if let Some(n) = line.strip_prefix("rogue sent ") {
                self.sent = n.parse().expect("a count");
            }
        }
        self.sent
    }
}

impl Drop for Rogue {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lowest tip among the running validators.
fn lowest_height(net: &Network) -> u64 {
    net.running().iter().map(|&i| net.height(i)).min().unwrap()
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => folder_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// While `rogues` flood, the validators decide at least [`HEIGHTS`] blocks, and each rogue
/// sends at least [`FLOOD`] messages meanwhile (the flood never pauses: every step waits for
/// more of it); their memory and data folders stay under the bounds. How fast the rogue sends
/// beside how fast blocks come depends on the machine's load, so the test waits for both
/// rather than racing them, up to [`BLOCKS`].
fn chain_holds_under(net: &Network, rogues: &mut [Rogue]) {
    for rogue in rogues.iter_mut() {
        rogue.wait_sent(WARM_UP);
    }
    let from = lowest_height(net);
    let flood_ends: Vec<u64> = rogues.iter().map(|r| r.sent + FLOOD).collect();
    let deadline = Instant::now() + BLOCKS;
    loop {
        for rogue in rogues.iter_mut() {
            let more = rogue.sent + FLOOD / 20;
            rogue.wait_sent(more);
        }
        let decided = lowest_height(net) - from;
        let flooded = rogues
            .iter()
            .zip(&flood_ends)
            .all(|(r, end)| r.sent >= *end);
        if decided >= HEIGHTS && flooded {
            eprintln!(
                "validators decided {decided} blocks while each rogue sent {FLOOD}+ messages"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chain decided only {decided} blocks (from height {from}) in {BLOCKS:?} of flood"
        );
    }
    for i in net.running() {
        let node = net.node(i);
        let rss = rss_bytes(node.pid()).expect("VmRSS");
        let data = folder_bytes(&node.data);
        eprintln!(
            "node {i}: {} MiB resident, {} MiB on disk",
            rss >> 20,
            data >> 20
        );
        assert!(rss <= MAX_RSS_BYTES, "node {i} uses {rss} bytes of memory");
        assert!(data <= MAX_DATA_BYTES, "node {i} stores {data} bytes");
    }
}

#[test]
fn a_rogue_flooding_junk_proposal_streams_does_not_stop_the_chain() {
    let net = Network::start(4);
    net.wait_block(0, 2, BLOCKS);
    let mut rogue = [Rogue::start(&net, "junk", 0, 0)];
    chain_holds_under(&net, &mut rogue);
    net.assert_one_chain(lowest_height(&net));
}

#[test]
fn far_future_proposal_streams_neither_stop_the_chain_nor_fill_the_disk() {
    let mut net = Network::start(4);
    net.wait_block(0, 2, BLOCKS);
    let tip = net.height(0);
    // A stranger's streams that never end, from the next height on, and a faulty validator's
    // (node 3's key) complete, well-signed proposals for every round of every height from
    // twenty ahead on (the rogue runs ahead far faster than the chain). Within the window a
    // validator's own extra proposals only spoil its own rounds; that bound is the unit test
    // `a_validators_proposals_are_kept_only_within_the_height_window`.
    let mut rogues = [
        Rogue::start(&net, "future", 0, tip),
        Rogue::start(&net, "future-signed", 3, tip + 20),
    ];
    chain_holds_under(&net, &mut rogues);
    net.assert_one_chain(lowest_height(&net));

    // What node 0 keeps of it (and would reload at a restart) is bounded by the window.
    let db = sigil_tools::devchain::load(&net.manifest.nodes[0].dir)
        .unwrap()
        .db;
    net.kill(0);
    let store = store::open(Engine::default(), &db, 1 << 20).expect("open node 0's store");
    let stored = consensus::stored_proposals(store.as_ref()).unwrap();
    let bound = (MAX_PROPOSAL_HEIGHTS_AHEAD as usize + 1)
        * (MAX_PROPOSAL_ROUNDS_AHEAD as usize + 1)
        * MAX_PROPOSALS_PER_ROUND_PROPOSER;
    eprintln!("node 0 stores {stored} undecided proposals (bound {bound})");
    assert!(
        stored <= bound,
        "node 0 stores {stored} undecided proposals"
    );
}
