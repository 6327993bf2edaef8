//! A network of validators as child processes of the test: laid out by the same code as
//! `sigil localnet up`, on ports no other test of this run uses, each node started, killed and
//! restarted by the test. Waits are long-polls on the nodes' API, never fixed sleeps.

use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use sigil_core::types::Keypair;
use sigil_tools::devchain;
use sigil_tools::localnet::{self, Manifest};

use crate::{Node, api_get, api_try_get};

/// Ports of this test process: a window chosen from its pid, handed out in turn.
static NEXT_BASE: AtomicU16 = AtomicU16::new(0);
const PORT_WINDOW: u16 = 400;

pub struct Network {
    pub dir: tempfile::TempDir,
    pub manifest: Manifest,
    /// The running process of each node, `None` while it is stopped.
    pub nodes: Vec<Option<Node>>,
}

impl Network {
    /// Lays out `validators` nodes and starts them all.
    pub fn start(validators: usize) -> Network {
        let mut network = Network::layout(validators);
        for i in 0..validators {
            network.restart(i);
        }
        network
    }

    /// Lays out `validators` nodes without starting them (see [`Network::restart`]), so a test
    /// can change their configuration first.
    pub fn layout(validators: usize) -> Network {
        Network::layout_paced(validators, None)
    }

    /// Like [`Network::layout`], with blocks at least `block_interval_ms` apart (0: as fast as
    /// the validators agree; `None`: the development default).
    pub fn layout_paced(validators: usize, block_interval_ms: Option<u64>) -> Network {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest = create(dir.path(), validators, block_interval_ms);
        Network {
            dir,
            manifest,
            nodes: (0..validators).map(|_| None).collect(),
        }
    }

    /// Lays out a full node for this network (genesis, every validator as peer, fresh ports),
    /// starts it, and returns its index among the nodes.
    pub fn start_full_node(&mut self) -> usize {
        self.start_node_with_key(None)
    }

    /// Like [`Network::start_full_node`], with `key` as the node's `validator.pem`: a node that
    /// follows the chain and votes once governance makes the key a validator.
    pub fn start_node_with_key(&mut self, key: Option<&Keypair>) -> usize {
        let i = self.layout_node_with_key(key);
        self.restart(i);
        i
    }

    /// Lays out a full node like [`Network::start_node_with_key`] without starting it (see
    /// [`Network::restart`]), so a test can change its configuration first.
    pub fn layout_node_with_key(&mut self, key: Option<&Keypair>) -> usize {
        let net = self.dir.path().join("net");
        let mut last_error = String::new();
        for _ in 0..20 {
            match localnet::add_full_node(&net, Some(reserve_ports(1))) {
                Ok(entry) => {
                    if let Some(key) = key {
                        let pem = devchain::validator_pem(key).expect("a key encodes");
                        devchain::write_private(
                            &entry.dir.join(devchain::VALIDATOR_KEY_FILE),
                            pem.as_bytes(),
                        )
                        .expect("write validator.pem");
                    }
                    self.manifest.nodes.push(entry);
                    self.nodes.push(None);
                    return self.manifest.nodes.len() - 1;
                }
                Err(e) => last_error = format!("{e:#}"),
            }
        }
        panic!("no free ports for a full node: {last_error}");
    }

    /// Runs `sigild` on node `i`'s folder, which must be stopped, until it exits by itself;
    /// returns its exit status and standard error. Kills it and panics after `timeout`.
    pub fn run_to_exit(&self, i: usize, timeout: Duration) -> (std::process::ExitStatus, String) {
        assert!(self.nodes[i].is_none(), "node {i} is running");
        crate::run_sigild_to_exit(
            &[
                "--config".as_ref(),
                self.manifest.nodes[i].config_path().as_os_str(),
            ],
            timeout,
        )
    }

    fn spawn(&self, i: usize, env: &[(&str, &str)]) -> Node {
        let entry = &self.manifest.nodes[i];
        Node::start_config_env(&entry.config_path(), &entry.dir, env)
    }

    /// Starts node `i` again with extra environment variables (test hooks such as
    /// `SIGIL_CRASH_AT`).
    pub fn restart_env(&mut self, i: usize, env: &[(&str, &str)]) {
        assert!(self.nodes[i].is_none(), "node {i} is running");
        self.nodes[i] = Some(self.spawn(i, env));
    }

    /// Waits until node `i` exits by itself (a crash hook), and returns its exit status.
    pub fn wait_exit(&mut self, i: usize, timeout: Duration) -> std::process::ExitStatus {
        self.nodes[i]
            .take()
            .expect("node is running")
            .wait_exit(timeout)
    }

    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("node is running")
    }

    /// Stops node `i` at once (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].take().expect("node is running").kill();
    }

    /// Sets node `i`'s store engine (`store = "sled"|"redb"` in its config file), before its
    /// first start.
    pub fn set_store(&self, i: usize, engine: &str) {
        let path = self.manifest.nodes[i].config_path();
        let config = std::fs::read_to_string(&path).expect("read the node's config");
        std::fs::write(&path, format!("store = \"{engine}\"\n{config}"))
            .expect("write the node's config");
    }

    /// Starts node `i` again from its folder.
    pub fn restart(&mut self, i: usize) {
        self.restart_env(i, &[]);
    }

    /// The indices of the running nodes.
    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_some())
            .collect()
    }

    /// Waits until node `i` has a final block at `height`, and returns it.
    pub fn wait_block(&self, i: usize, height: u64, timeout: Duration) -> serde_json::Value {
        self.try_wait_block(i, height, timeout)
            .unwrap_or_else(|| panic!("node {i} has no block {height} after {timeout:?}"))
    }

    /// The block at `height` on node `i` once it is final, or `None` after `timeout`.
    pub fn try_wait_block(
        &self,
        i: usize,
        height: u64,
        timeout: Duration,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let path = format!(
                "/v1/blocks/{height}?wait_ms={}",
                left.as_millis().min(10_000)
            );
            if let Some(block) = api_try_get(&self.node(i).api, &path) {
                return Some(block);
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// The tip height node `i` reports.
    pub fn height(&self, i: usize) -> u64 {
        api_get(&self.node(i).api, "/v1/status")["tip"]["height"]
            .as_u64()
            .expect("tip height")
    }

    /// Asserts that every running node holds the same block, with the same state root, at
    /// every height from 1 to `up_to`.
    pub fn assert_one_chain(&self, up_to: u64) {
        let running = self.running();
        for height in 1..=up_to {
            let blocks: Vec<serde_json::Value> = running
                .iter()
                .map(|&i| self.wait_block(i, height, Duration::from_secs(30)))
                .collect();
            for (block, &i) in blocks.iter().zip(&running).skip(1) {
                assert_eq!(
                    block["block"]["header"], blocks[0]["block"]["header"],
                    "node {i} and node {} disagree at height {height}",
                    running[0]
                );
            }
        }
    }
}

/// A block of `validators * 4` ports for one network, not handed out before in this run.
pub fn reserve_ports(validators: usize) -> u16 {
    let first = 20_000 + (std::process::id() % 100) as u16 * PORT_WINDOW;
    let _ = NEXT_BASE.compare_exchange(0, first, Ordering::SeqCst, Ordering::SeqCst);
    NEXT_BASE.fetch_add(validators as u16 * 4, Ordering::SeqCst)
}

/// Lays out a network on ports that are free now, trying other blocks if some are taken.
fn create(dir: &Path, validators: usize, block_interval_ms: Option<u64>) -> Manifest {
    let mut last_error = String::new();
    for _ in 0..20 {
        let base = reserve_ports(validators);
        match localnet::create(&dir.join("net"), validators, base, block_interval_ms) {
            Ok(manifest) => return manifest,
            Err(e) => last_error = format!("{e:#}"),
        }
    }
    panic!("no free ports for a network of {validators}: {last_error}");
}
