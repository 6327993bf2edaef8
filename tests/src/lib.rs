//! Harness for end-to-end tests: builds and finds the `sigild` and `sigil` binaries, starts
//! `sigild` as a real process in a temporary folder and waits for its ready line, runs `sigil`
//! against it, and asks DNS questions over UDP and TCP.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Once, mpsc};
use std::time::Duration;

pub mod clock;
pub mod company;
pub mod disks;
pub mod dns;
pub mod flood;
pub mod http;
pub mod liar;
pub mod links;
pub mod metrics;
pub mod network;
pub mod tls;
pub mod txs;

/// How long a node may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The path of a workspace binary, built once per test run if it is not there yet.
pub fn binary(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    // Test executables live in target/<profile>/deps; binaries (the campaign) in
    // target/<profile>. The build asks for what `cargo test --workspace` builds, so feature
    // unification matches and it is a no-op there.
    let exe = std::env::current_exe().expect("current_exe");
    let exe_dir = exe.parent().expect("the executable's folder");
    let profile_dir = if exe_dir.ends_with("deps") {
        exe_dir.parent().expect("target/<profile>")
    } else {
        exe_dir
    }
    .to_path_buf();
    let path = profile_dir.join(name);
    BUILD.call_once(|| {
        let release = profile_dir.file_name().is_some_and(|p| p == "release");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-q", "--workspace", "--bins"]);
        // Not the package variables `cargo test` set for this test: build scripts that watch
        // them (ring's) would see them change and rebuild half the tree, twice a run.
        for (var, _) in std::env::vars_os() {
            let var = var.to_string_lossy();
            if var.starts_with("CARGO_PKG_")
                || var.starts_with("CARGO_MANIFEST_")
                || var.starts_with("CARGO_BIN_EXE_")
                || var == "CARGO_CRATE_NAME"
                || var == "CARGO_PRIMARY_PACKAGE"
            {
                cmd.env_remove(&*var);
            }
        }
        // Under `cargo test` also name the tests, so the build matches what it just built;
        // a benchmark (release) needs only the binaries.
        cmd.arg(if release { "--release" } else { "--tests" });
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "building sigild and sigil failed");
    });
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Runs `sigild` with `args` until it exits by itself; returns its exit status and standard
/// error. Kills it and panics if it is still running after `timeout`.
pub fn run_sigild_to_exit(
    args: &[&std::ffi::OsStr],
    timeout: Duration,
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(binary("sigild"))
        .args(args)
        .env("RUST_LOG", "warn,arc_malachitebft=error,libp2p=error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sigild");
    let mut stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        let _ = tx.send(text);
    });
    // stderr closes when the process exits.
    match rx.recv_timeout(timeout) {
        Ok(text) => (child.wait().expect("reap sigild"), text),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sigild was still running after {timeout:?}");
        }
    }
}

/// A `sigild` process.
pub struct Node {
    child: Child,
    pub data: PathBuf,
    pub api: String,
    pub dns: SocketAddr,
    pub chain_id: String,
    pub start_height: u64,
    /// The whole ready line, for the fields a test reads itself (`dot=`, `tls-pin=`, ...).
    pub ready: String,
}

impl Node {
    /// Starts `sigild --dev` on free loopback ports with its data in `data`.
    pub fn start(data: &Path, extra: &[&str]) -> Node {
        let args: Vec<OsString> = vec!["--dev".into(), "--data".into(), data.into()];
        Node::spawn(data, on_free_ports(args, extra))
    }

    /// Starts a light resolver (`sigild --light`) on free loopback ports over `peers` (API
    /// URLs), trusting the validators of `genesis` first, with its data in `data`.
    pub fn start_light(data: &Path, genesis: &Path, peers: &[&str], extra: &[&str]) -> Node {
        let mut args: Vec<OsString> = vec![
            "--light".into(),
            "--genesis".into(),
            genesis.into(),
            "--data".into(),
            data.into(),
        ];
        for peer in peers {
            args.extend(["--peer".into(), peer.into()]);
        }
        Node::spawn(data, on_free_ports(args, extra))
    }

    /// Starts `sigild` with exactly `args`, its data in `data`.
    pub fn start_args(data: &Path, args: &[&str]) -> Node {
        Node::spawn(data, args.iter().map(OsString::from).collect())
    }

    /// Starts `sigild --config FILE`, with the data folder and ports the file names.
    pub fn start_config(config: &Path, data: &Path) -> Node {
        Node::start_config_env(config, data, &[])
    }

    /// Like [`Node::start_config`], with extra environment variables (test hooks).
    pub fn start_config_env(config: &Path, data: &Path, env: &[(&str, &str)]) -> Node {
        Node::spawn_env(data, vec!["--config".into(), config.into()], env)
    }

    fn spawn(data: &Path, args: Vec<OsString>) -> Node {
        Node::spawn_env(data, args, &[])
    }

    fn spawn_env(data: &Path, args: Vec<OsString>, env: &[(&str, &str)]) -> Node {
        let mut child = Command::new(binary("sigild"))
            .args(args)
            .env("RUST_LOG", "warn,arc_malachitebft=error,libp2p=error")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sigild");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("sigild ready:") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("sigild did not print its ready line within {START_TIMEOUT:?}");
            }
        };
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key}= in `{line}`"))
                .to_string()
        };
        Node {
            api: field("api"),
            dns: field("dns").parse().expect("dns address"),
            chain_id: field("chain"),
            start_height: field("height").parse().expect("height"),
            data: data.to_path_buf(),
            ready: line.clone(),
            child,
        }
    }

    /// The process id of the running node.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the node at once, as a crash would (SIGKILL).
    pub fn kill(mut self) {
        self.child.kill().expect("kill sigild");
        self.child.wait().expect("reap sigild");
    }

    /// Waits until the process exits by itself and returns its status; kills it and panics
    /// after `timeout`.
    pub fn wait_exit(mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll sigild") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sigild was still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit status if the process has exited (by itself or by a signal), `None` while it
    /// runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("poll sigild")
    }

    /// Stops the node with SIGTERM and returns whether it exited cleanly.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        self.child.wait().expect("reap sigild").success()
    }

    /// Runs `sigil` against this node with a keystore in `keystore`.
    pub fn sigil(&self, keystore: &Path, args: &[&str]) -> Output {
        sigil(&self.api, keystore, args)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `args`, then DNS and the API on free loopback ports, then `extra`.
fn on_free_ports(mut args: Vec<OsString>, extra: &[&str]) -> Vec<OsString> {
    args.extend(
        ["--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"]
            .iter()
            .chain(extra)
            .map(OsString::from),
    );
    args
}

/// Runs the `sigil` CLI.
pub fn sigil(node: &str, keystore: &Path, args: &[&str]) -> Output {
    Command::new(binary("sigil"))
        .args(["--node", node, "--keystore"])
        .arg(keystore)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sigil")
}

/// Asserts that the file at `path` is readable and writable by its owner only (a key).
pub fn assert_owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{} is not private", path.display());
    }
}

/// Asserts a command succeeded and returns its stdout.
pub fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "command failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    stdout
}

/// Asserts a command succeeded with `--json` output and parses it.
pub fn ok_json(output: Output) -> serde_json::Value {
    let stdout = ok(output);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// `GET` a JSON document from the node's API (plain HTTP/1.1 on loopback).
pub fn api_get(api: &str, path: &str) -> serde_json::Value {
    let (head, body) = http_get(api, path);
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "GET {path}: {head}\n{body}"
    );
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// Like [`api_get`], but `None` for a 404 answer.
pub fn api_try_get(api: &str, path: &str) -> Option<serde_json::Value> {
    let (head, body) = http_get(api, path);
    if head.starts_with("HTTP/1.1 404") {
        return None;
    }
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "GET {path}: {head}\n{body}"
    );
    Some(
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}")),
    )
}

/// `GET` from the node's API whatever the status: the status line and the body.
pub fn api_get_any(api: &str, path: &str) -> (String, String) {
    let (head, body) = http_get(api, path);
    (head.lines().next().unwrap_or_default().to_string(), body)
}

/// `POST` a JSON document to the node's API; returns the status line and the parsed body.
pub fn api_post(api: &str, path: &str, body: &serde_json::Value) -> (String, serde_json::Value) {
    let (head, answer) = http::request_patient(api, "POST", path, Some(body), ANSWER_WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let status = head.lines().next().unwrap_or_default().to_string();
    let json = serde_json::from_str(&answer)
        .unwrap_or_else(|e| panic!("POST {path}: not JSON ({e}): {answer}"));
    (status, json)
}

/// How long the panicking helpers wait for an answer (long-polls included).
const ANSWER_WAIT: Duration = Duration::from_secs(70);

/// The head and body of a `GET` answer.
fn http_get(api: &str, path: &str) -> (String, String) {
    http::request_patient(api, "GET", path, None, ANSWER_WAIT).unwrap_or_else(|e| panic!("{e}"))
}
