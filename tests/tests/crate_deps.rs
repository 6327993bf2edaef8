//! The crates a client links stay lean: `sigil-core`, `sigil-ca-bridge` and the `sigil` CLI
//! (`sigil-cli`) must not pull in the node's storage, networking, consensus engine or servers.
//! Read from `cargo tree` over normal dependencies (not dev, not build), resolved for each
//! crate alone, as building it alone would.

use std::process::Command;

/// Packages only the node may link: its store, swarm, consensus engine and servers.
const NODE_ONLY: &[&str] = &[
    "sigil-registry",
    "sled",
    "libp2p",
    "arc-malachitebft-",
    "axum",
    "hickory-server",
];

/// Packages a TLS client's verifier and the core must not link either: a runtime and an HTTP
/// stack (the CLI needs both for its HTTP client).
const RUNTIME: &[&str] = &["tokio", "hyper", "reqwest"];

/// The names of the packages `package` links through normal dependencies, itself included.
fn normal_dependencies(package: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["tree", "-q", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package])
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = String::from_utf8(output.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    assert!(
        names.iter().any(|n| n == package),
        "cargo tree did not list {package} itself: {names:?}"
    );
    names
}

/// The packages of `package`'s tree that match one of `forbidden` (a name or a name prefix
/// ending in `-`).
fn offenders(package: &str, forbidden: &[&str]) -> Vec<String> {
    normal_dependencies(package)
        .into_iter()
        .filter(|name| {
            forbidden.iter().any(|f| {
                if f.ends_with('-') {
                    name.starts_with(f)
                } else {
                    name == f || name.starts_with(&format!("{f}-"))
                }
            })
        })
        .collect()
}

#[test]
fn the_core_links_no_node_no_runtime() {
    let found = offenders("sigil-core", &[NODE_ONLY, RUNTIME].concat());
    assert!(found.is_empty(), "sigil-core links {found:?}");
}

#[test]
fn the_ca_bridge_links_no_node_no_runtime() {
    let found = offenders("sigil-ca-bridge", &[NODE_ONLY, RUNTIME].concat());
    assert!(found.is_empty(), "sigil-ca-bridge links {found:?}");
}

#[test]
fn the_cli_links_no_node() {
    let found = offenders("sigil-cli", NODE_ONLY);
    assert!(found.is_empty(), "the sigil CLI links {found:?}");
    // It is the CLI's tree that was read: its HTTP client is there.
    assert!(normal_dependencies("sigil-cli").contains(&"reqwest".to_string()));
}
