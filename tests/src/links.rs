//! The consensus links between a network's nodes, each through a TCP proxy in the test
//! process, so a test can cut the network into parts and heal it. Node `a` reaches node `b`
//! only through the proxy of the pair (a, b); cutting a pair closes its open connections (both
//! directions) and refuses new ones until it is healed. A pair can also be made slow (each
//! chunk of bytes held back a while) or lossy (a chunk lost: at the TCP level a stream cannot
//! skip bytes, so the proxy resets the connection, as a peer's stack would give up on it, and
//! the nodes dial again).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sigil_tools::config::FileConfig;

use crate::network::Network;

/// The proxies of one network and which pairs are cut.
pub struct Links {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Pairs `(low, high)` that are cut.
    cut: BTreeSet<(usize, usize)>,
    /// Open proxied connections: the pair and both sockets, to close them on a cut.
    open: Vec<((usize, usize), TcpStream, TcpStream)>,
    /// Pairs that are slow or lossy, and how.
    degraded: BTreeMap<(usize, usize), Degraded>,
    /// Chunks forwarded so far: the draws of the lossy links.
    chunks: u64,
}

/// How a slow or lossy link treats each chunk of bytes it forwards.
#[derive(Debug, Clone, Copy, Default)]
struct Degraded {
    delay: Duration,
    /// Chance in a thousand that a chunk is lost (the connection reset).
    loss_per_mille: u32,
}

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Links {
    /// Puts a proxy between every two nodes of `network` (laid out, not started) and points
    /// each node's consensus peers at its proxies.
    pub fn between(network: &Network) -> Links {
        let links = Links {
            state: Arc::default(),
        };
        let nodes = &network.manifest.nodes;
        for (from, node) in nodes.iter().enumerate() {
            let path = node.config_path();
            let mut config = FileConfig::load(&path).expect("node config");
            let mut peers = Vec::new();
            for (to, target) in nodes.iter().enumerate() {
                if to != from {
                    let proxy = links.proxy(pair(from, to), consensus_addr(&target.consensus));
                    peers.push(format!("/ip4/127.0.0.1/tcp/{}", proxy.port()));
                }
            }
            config
                .consensus
                .as_mut()
                .expect("a [consensus] section")
                .peers = peers;
            std::fs::write(&path, toml::to_string_pretty(&config).expect("config"))
                .expect("write node config");
        }
        links
    }

    /// Cuts every link between a node of `left` and a node of `right`.
    pub fn partition(&self, left: &[usize], right: &[usize]) {
        let mut state = self.state.lock().unwrap();
        for &a in left {
            for &b in right {
                state.cut.insert(pair(a, b));
            }
        }
        let cut = state.cut.clone();
        state.open.retain(|(link, x, y)| {
            if cut.contains(link) {
                let _ = x.shutdown(Shutdown::Both);
                let _ = y.shutdown(Shutdown::Both);
                false
            } else {
                true
            }
        });
    }

    /// Holds back every chunk of bytes between `a` and `b` by `delay` (both directions).
    pub fn slow(&self, a: usize, b: usize, delay: Duration) {
        let mut state = self.state.lock().unwrap();
        state.degraded.entry(pair(a, b)).or_default().delay = delay;
    }

    /// Loses each chunk of bytes between `a` and `b` with a chance of `per_mille` in a
    /// thousand: the connection it travels on is reset.
    pub fn lossy(&self, a: usize, b: usize, per_mille: u32) {
        let mut state = self.state.lock().unwrap();
        state.degraded.entry(pair(a, b)).or_default().loss_per_mille = per_mille;
    }

    /// Restores every link: no cut, no delay, no loss.
    pub fn heal(&self) {
        let mut state = self.state.lock().unwrap();
        state.cut.clear();
        state.degraded.clear();
    }

    /// Starts a proxy for `link` to `target`; returns where it listens.
    fn proxy(&self, link: (usize, usize), target: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = self.state.clone();
        thread::spawn(move || {
            for inbound in listener.incoming().flatten() {
                if state.lock().unwrap().cut.contains(&link) {
                    continue; // dropped: the link is cut
                }
                let Ok(outbound) = TcpStream::connect(target) else {
                    continue;
                };
                let (Ok(a), Ok(b)) = (inbound.try_clone(), outbound.try_clone()) else {
                    continue;
                };
                state.lock().unwrap().open.push((link, a, b));
                let (Ok(inbound2), Ok(outbound2)) = (inbound.try_clone(), outbound.try_clone())
                else {
                    continue;
                };
                let state2 = state.clone();
                let state3 = state.clone();
                thread::spawn(move || pump(link, &state2, inbound, outbound));
                thread::spawn(move || pump(link, &state3, outbound2, inbound2));
            }
        });
        addr
    }
}

/// Copies bytes from `from` to `to` until either side closes, or a lossy link loses a chunk;
/// a slow link holds each chunk back first.
fn pump(link: (usize, usize), state: &Mutex<State>, mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        let (degraded, draw) = {
            let mut state = state.lock().unwrap();
            state.chunks += 1;
            let degraded = state.degraded.get(&link).copied().unwrap_or_default();
            (degraded, state.chunks)
        };
        if !degraded.delay.is_zero() {
            thread::sleep(degraded.delay);
        }
        // A well-spread draw in 0..1000 from the chunk's number (SplitMix64's finalizer).
        let mut z = draw.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        if ((z ^ (z >> 31)) % 1000) < u64::from(degraded.loss_per_mille) {
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// `/ip4/127.0.0.1/tcp/PORT` as a socket address.
fn consensus_addr(multiaddr: &str) -> SocketAddr {
    let port = multiaddr
        .rsplit('/')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("`{multiaddr}` is not /ip4/127.0.0.1/tcp/PORT"));
    SocketAddr::from(([127, 0, 0, 1], port))
}
