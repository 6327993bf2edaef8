//! The consensus links between a network's nodes, each through a TCP proxy in the test
//! process, so a test can cut the network into parts and heal it. Node `a` reaches node `b`
//! only through the proxy of the pair (a, b); cutting a pair closes its open connections (both
//! directions) and refuses new ones until it is healed.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

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

    /// Restores every link.
    pub fn heal(&self) {
        self.state.lock().unwrap().cut.clear();
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
                thread::spawn(move || pump(inbound, outbound));
                thread::spawn(move || pump(outbound2, inbound2));
            }
        });
        addr
    }
}

/// Copies bytes from `from` to `to` until either side closes.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
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
