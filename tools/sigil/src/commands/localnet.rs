//! `sigil localnet up|add-node|status|down`: a network of `sigild` processes on loopback, one folder
//! each, started from their `sigil.toml` and left running in the background.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use sigil_core::api::ChainStatus;
use sigil_tools::localnet::{self, Manifest, NodeEntry};
use sigil_tools::pidfile;

use super::Ctx;
use crate::args::LocalnetUpArgs;
use crate::client::Client;
use crate::output::{Exit, table};

/// How long `up` waits for every node's API to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `down` waits for a node to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
const LOG_FILE: &str = "sigild.log";

#[derive(Serialize)]
struct NodeView {
    #[serde(flatten)]
    node: NodeEntry,
    pid: Option<u32>,
    log: PathBuf,
    /// The node's status, if it answered.
    status: Option<ChainStatus>,
    /// Why it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn up(ctx: &Ctx, args: LocalnetUpArgs) -> anyhow::Result<Exit> {
    let manifest = if args.dir.join(localnet::MANIFEST_FILE).exists() {
        let manifest = Manifest::load(&args.dir)?;
        let validators = manifest.validator_count();
        if args.validators.is_some_and(|n| n != validators) {
            anyhow::bail!(
                "{} holds a network of {validators} validators; remove the folder or omit --validators to start it as it is",
                args.dir.display(),
            );
        }
        if args.block_interval_ms.is_some() {
            anyhow::bail!(
                "{} holds a network whose block interval is set in its genesis; remove the folder or omit --block-interval-ms",
                args.dir.display()
            );
        }
        manifest
    } else {
        let n = args.validators.unwrap_or(4);
        let manifest = localnet::create(&args.dir, n, args.base_port, args.block_interval_ms)?;
        ctx.out.note(format!(
            "created a network of {n} validators (chain `{}`) in {}",
            manifest.chain_id,
            args.dir.display()
        ));
        manifest
    };
    start_all(&manifest).await?;
    show(ctx, &manifest).await
}

pub async fn add_node(ctx: &Ctx, dir: &Path, base_port: Option<u16>) -> anyhow::Result<Exit> {
    let node = localnet::add_full_node(dir, base_port)?;
    ctx.out.note(format!(
        "added full node {} in {}; starting it now (after `sigil localnet down`, `sigil localnet up` \
         starts it with the others, or start it alone with `sigild --config {}`)",
        node.name,
        node.dir.display(),
        node.config_path().display()
    ));
    let manifest = Manifest::load(dir)?;
    start_all(&manifest).await?;
    ctx.out.note(format!("{} is running", node.name));
    show(ctx, &manifest).await
}

/// Starts every node of `manifest` that does not answer yet, and waits until all answer.
async fn start_all(manifest: &Manifest) -> anyhow::Result<()> {
    let sigild = sigild_binary()?;
    let mut started = Vec::new();
    for node in &manifest.nodes {
        if reachable(node).await {
            started.push(None);
            continue;
        }
        started.push(Some(start(&sigild, node)?));
    }
    let deadline = Instant::now() + START_TIMEOUT;
    for (node, child) in manifest.nodes.iter().zip(&mut started) {
        while !reachable(node).await {
            if let Some(child) = child
                && child.try_wait().is_ok_and(|exited| exited.is_some())
            {
                anyhow::bail!(
                    "{} exited at start; see {}",
                    node.name,
                    node.dir.join(LOG_FILE).display()
                );
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{} did not answer on {} within {START_TIMEOUT:?}; see {}",
                    node.name,
                    node.api_url(),
                    node.dir.join(LOG_FILE).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

pub async fn status(ctx: &Ctx, dir: &Path) -> anyhow::Result<Exit> {
    let manifest = Manifest::load(dir)?;
    show(ctx, &manifest).await
}

pub async fn down(ctx: &Ctx, dir: &Path) -> anyhow::Result<Exit> {
    let manifest = Manifest::load(dir)?;
    let mut stopped = Vec::new();
    for node in &manifest.nodes {
        // The pid file the node wrote itself, however it was started.
        let Some(pid) = pidfile::running(&node.dir) else {
            continue;
        };
        terminate(pid)?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while pidfile::is_live_sigild(pid) {
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{} (pid {pid}) did not stop within {STOP_TIMEOUT:?}",
                    node.name
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stopped.push(node.name.clone());
    }
    ctx.out.emit(&stopped, |s| match s.len() {
        0 => "no node was running".to_string(),
        _ => format!("stopped {}", s.join(", ")),
    });
    Ok(Exit::Ok)
}

/// Prints every node: where it listens and what it reports.
async fn show(ctx: &Ctx, manifest: &Manifest) -> anyhow::Result<Exit> {
    let mut views = Vec::new();
    for node in &manifest.nodes {
        let status = match Client::new(&node.api_url()) {
            Ok(client) => client.status().await,
            Err(e) => Err(e),
        };
        views.push(NodeView {
            node: node.clone(),
            pid: pidfile::running(&node.dir),
            log: node.dir.join(LOG_FILE),
            error: status.as_ref().err().map(|e| format!("{e:#}")),
            status: status.ok(),
        });
    }
    let all_up = views.iter().all(|v| v.status.is_some());
    ctx.out.emit(&views, |views| {
        let mut rows = vec![
            [
                "node",
                "role",
                "height",
                "tip age",
                "peers",
                "DNS",
                "API",
                "p2p",
                "consensus",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for v in views {
            let (height, age, peers) = match &v.status {
                Some(s) => (
                    s.tip.height.to_string(),
                    tip_age(s.tip.time_ms),
                    s.network
                        .as_ref()
                        .map_or("-".into(), |n| n.peers.len().to_string()),
                ),
                None => ("down".into(), "-".into(), "-".into()),
            };
            let role = match v.node.validator {
                Some(_) => "validator",
                None => "full",
            };
            rows.push(vec![
                v.node.name.clone(),
                role.to_string(),
                height,
                age,
                peers,
                v.node.dns.to_string(),
                v.node.api_url(),
                v.node.p2p.clone(),
                v.node.consensus.clone(),
            ]);
        }
        let validators = views
            .iter()
            .find_map(|v| v.status.as_ref())
            .map(|s| {
                s.validators
                    .validators
                    .iter()
                    .map(|v| format!("  {} power {}", v.key, v.power))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_else(|| "  (no node answered)".into());
        format!(
            "chain {}\n{}validators\n{validators}",
            manifest.chain_id,
            table(&rows, "")
        )
    });
    Ok(if all_up { Exit::Ok } else { Exit::Negative })
}

fn tip_age(time_ms: u64) -> String {
    let age_ms = sigil_core::time::now_ms().saturating_sub(time_ms);
    format!("{:.1} s", age_ms as f64 / 1000.0)
}

async fn reachable(node: &NodeEntry) -> bool {
    match Client::new(&node.api_url()) {
        Ok(client) => client.status().await.is_ok(),
        Err(_) => false,
    }
}

/// `sigild` beside this `sigil` binary.
fn sigild_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the sigil binary's folder")?;
    let sigild = me.with_file_name(format!("sigild{}", std::env::consts::EXE_SUFFIX));
    if !sigild.exists() {
        anyhow::bail!(
            "no sigild beside {}; build both with `cargo build --release --bin sigild --bin sigil`",
            me.display()
        );
    }
    Ok(sigild)
}

/// Starts one node in the background, in its own process group (Ctrl-C here does not stop
/// it), logging to its folder. The node writes its own pid file.
fn start(sigild: &Path, node: &NodeEntry) -> anyhow::Result<Child> {
    let log_path = node.dir.join(LOG_FILE);
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let mut command = Command::new(sigild);
    command
        .arg("--config")
        .arg(node.config_path())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
        .spawn()
        .with_context(|| format!("cannot start {} for {}", sigild.display(), node.name))
}

fn terminate(pid: u32) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .context("cannot run `kill`")?;
    if !status.success() {
        anyhow::bail!("cannot signal pid {pid}");
    }
    Ok(())
}
