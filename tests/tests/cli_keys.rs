//! What a new user meets, through the real `sigil` and `sigild` binaries: the key the CLI finds
//! among several, messages for bad numbers, foreign keys, unknown identities and versions,
//! dates beside heights, the renewal cap, a stalled chain said while waiting, bare upstream
//! addresses, `sigil localnet` finding a node restarted by hand, and a second chain met.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sigil_tests::network::Network;
use sigil_tests::{Node, binary, ok, ok_json, sigil};

/// An RSA private key (PKCS#8 PEM, as `openssl genpkey -algorithm RSA` writes it): a key sigil
/// must refuse to sign with.
const RSA_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAM03AsR/tf0gUVif
RMbs/Y0rEYOTNrrsktk5hK+FTtO4xdKoEoB9KTGk2J7y9eDner0HrdZVOnIDtdzJ
qqG+OydiI4M+slm23qFasyIXqhEvLNTVVz1kg27FwQke7zQEJyaiG2YEVwa1/9aA
EzQAhuuxts57e2S/5a4ZBmjXbQspAgMBAAECgYA8zAdt38gy7dgrwUPHC38yy4es
y3hzeJMo9/lvZrcr0poJBvI0TuBdbNEghiqCLxIV3qiJz0Y5cQ/4EWcT9B/hyyQi
5HZOiZJQf4VjimEvcpwLx1Gcf7Sr0teQXF4QZVpN9FGbeabCE9sEHDms98ywV5ip
NBD0i4P+iPEdpRRxYQJBAPAiJBytuvWb9D7GHH/A7p8hqPdAYA0iSo7FS471Zbt6
pwOemDcinc4NHNwuEdteCsMJsWR3WaTTVj4KC2GsFsMCQQDaxjkm9bU5SRVMlHvW
7Oh/pe6KDmA5g2A9RHq94WCKJCy63g8n/lrXvhdRBFb4oBG2jDF9npBEn6jMiiYb
VG+jAkAlmdL5wqJhzxfBtJfF0VoMBONGRAhGRjZSgMZCDl7tqlj4kh7Xk04Oc7Mv
Lu+Q3/rja2Mhjia1TnpUoJIDq0StAkEAv2UBpRL628YTSy7v9MTIVrxdJwySpF5K
OO+LDkl5QwGI3GbfDZcZ9HrKPUe1qsenF3Qo7ARnpJGlhGQsGGbTTwJANJECWgpW
zW8vuEkhLYlNvR0L3XPXJHMTeYCFjYnCE7PQJBLtMCQVT+Notem8ogE1uoeBVs5P
esU42+D4d8c9wQ==
-----END PRIVATE KEY-----
";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts the command failed with exit status `code` and returns its stderr.
fn fails(output: Output, code: i32) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

#[test]
fn commands_find_the_key_the_chain_names_among_several() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    ok(node.sigil(&keys, &["key", "new", "alice"]));
    ok(node.sigil(&keys, &["key", "new", "bob"]));
    let bob = ok(node.sigil(&keys, &["key", "show", "bob"]))
        .trim()
        .to_string();

    // A new name may be anyone's: with two keys, the user says which.
    ok(node.sigil(
        &keys,
        &[
            "--key",
            "alice",
            "name",
            "register",
            "example.sigil",
            "--a",
            "192.0.2.7",
        ],
    ));
    // Its owner's key is found without --key.
    let updated = ok(node.sigil(
        &keys,
        &[
            "name",
            "update",
            "example.sigil",
            "--set",
            "www A 192.0.2.8",
        ],
    ));
    assert!(updated.contains("updated example.sigil"), "{updated}");

    // Renewed once; a second renewal would carry it beyond the cap, and says so.
    let renewed = ok(node.sigil(&keys, &["name", "renew", "example.sigil"]));
    assert!(
        renewed.contains("now expires at height") && renewed.contains("(about 20"),
        "{renewed}"
    );
    let early = fails(node.sigil(&keys, &["name", "renew", "example.sigil"]), 2);
    assert!(
        early.contains("at most 2 lifetimes")
            && early.contains("can be renewed from height")
            && early.contains("about")
            && early.contains("days from now"),
        "{early}"
    );

    // Dates beside heights for people; raw heights in JSON.
    let shown = ok(node.sigil(&keys, &["name", "show", "example.sigil"]));
    assert!(shown.contains("(your key `alice`)"), "{shown}");
    assert!(
        shown.contains("expires at height ") && shown.contains(" UTC) (in "),
        "{shown}"
    );
    assert!(shown.contains("date (UTC)"), "{shown}");
    let json = ok_json(node.sigil(&keys, &["--json", "name", "show", "example.sigil"]));
    assert!(json["expires_at"].is_u64(), "{json}");
    assert!(json["expires"]["time_ms"].is_u64(), "{json}");
    let status = ok(node.sigil(&keys, &["chain", "status"]));
    assert!(
        status.contains(" UTC (") && status.contains(" ago)"),
        "{status}"
    );
    assert!(!status.contains("ms since the Unix epoch"), "{status}");

    // Transferred by its owner's key, then changed by the new owner's, each found.
    ok(node.sigil(&keys, &["name", "transfer", "example.sigil", "--to", "bob"]));
    let shown = ok(node.sigil(&keys, &["name", "show", "example.sigil"]));
    assert!(shown.contains("(your key `bob`)"), "{shown}");
    ok(node.sigil(
        &keys,
        &[
            "name",
            "update",
            "example.sigil",
            "--set",
            "www A 192.0.2.9",
        ],
    ));

    // An identity's keys are found by the chain's record of them too.
    ok(node.sigil(
        &keys,
        &[
            "identity",
            "register",
            "acme-admin",
            "--online",
            "alice",
            "--offline",
            "bob",
        ],
    ));
    ok(node.sigil(&keys, &["identity", "bind", "acme-admin", "example.sigil"]));
    ok(node.sigil(&keys, &["identity", "suspend", "acme-admin"]));
    ok(node.sigil(&keys, &["key", "new", "erin"]));
    ok(node.sigil(
        &keys,
        &["identity", "rotate", "acme-admin", "--online", "erin"],
    ));
    let identity = ok(node.sigil(&keys, &["identity", "show", "acme-admin"]));
    assert!(
        identity.contains("DATE (UTC)") && identity.contains("(about "),
        "{identity}"
    );

    // A keystore without the owner's key says which key must sign and how to bring it.
    let other = dir.path().join("other");
    ok(node.sigil(&other, &["key", "new", "carol"]));
    ok(node.sigil(&other, &["key", "new", "dave"]));
    let refused = fails(
        node.sigil(&other, &["name", "update", "example.sigil", "--clear"]),
        2,
    );
    assert!(
        refused.contains("the owner of `example.sigil`")
            && refused.contains(&bob)
            && refused.contains("carol, dave")
            && refused.contains("sigil key import"),
        "{refused}"
    );
    // Imported, it is found.
    ok(node.sigil(
        &other,
        &[
            "key",
            "import",
            "bob",
            keys.join("bob.pem").to_str().unwrap(),
        ],
    ));
    ok(node.sigil(&other, &["name", "update", "example.sigil", "--clear"]));
    // --key still decides: alice is not the owner, and the chain's answer says so.
    let not_owner = fails(
        node.sigil(
            &keys,
            &[
                "--key",
                "alice",
                "name",
                "update",
                "example.sigil",
                "--clear",
            ],
        ),
        2,
    );
    assert!(not_owner.contains("belongs to"), "{not_owner}");
}

#[test]
fn messages_say_what_was_wrong_once_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let nowhere = "http://127.0.0.1:1";

    // Negative and zero amounts: what amounts are, not clap's `-- -5` tip.
    for amount in ["-5", "0", "1.5"] {
        let err = fails(
            sigil(
                nowhere,
                &keys,
                &[
                    "shares",
                    "issue",
                    "acme.sigil",
                    "--class",
                    "common",
                    "--to",
                    "h1",
                    "--amount",
                    amount,
                ],
            ),
            2,
        );
        assert!(
            err.contains("amounts are positive whole numbers") && !err.contains("-- -5"),
            "{amount}: {err}"
        );
    }
    let err = fails(
        sigil(
            nowhere,
            &keys,
            &["validators", "propose-add", "00", "--power", "-1"],
        ),
        2,
    );
    assert!(err.contains("positive whole numbers"), "{err}");
    let err = fails(
        sigil(
            nowhere,
            &keys,
            &["name", "history", "x.sigil", "--limit", "-1"],
        ),
        2,
    );
    assert!(
        err.contains("not a count") && !err.contains("-- -1"),
        "{err}"
    );

    // A key of another algorithm: only ed25519 signs, and how to make one.
    let rsa = dir.path().join("rsa.pem");
    std::fs::write(&rsa, RSA_KEY).unwrap();
    let err = fails(
        sigil(
            nowhere,
            &keys,
            &["key", "import", "mine", rsa.to_str().unwrap()],
        ),
        2,
    );
    assert!(
        err.contains("holds an RSA key")
            && err.contains("only ed25519 keys sign")
            && err.contains("sigil key new")
            && err.contains("openssl genpkey -algorithm ed25519")
            && !err.contains("1.2.840.113549"),
        "{err}"
    );
    assert!(!keys.join("mine.pem").exists());

    // Versions name their binary.
    let version = ok(sigil(nowhere, &keys, &["--version"]));
    assert!(version.starts_with("sigil 0."), "{version}");
    let sigild = Command::new(binary("sigild"))
        .arg("--version")
        .output()
        .unwrap();
    let version = stdout(&sigild);
    assert!(
        sigild.status.success() && version.starts_with("sigild 0."),
        "{version}"
    );

    // A bare upstream address means port 53, on the command line and in the config file.
    let node = Node::start(&dir.path().join("data"), &["--upstream", "127.0.0.1"]);
    let err = fails(
        node.sigil(
            &keys,
            &[
                "--key",
                rsa.to_str().unwrap(),
                "name",
                "update",
                "x.sigil",
                "--clear",
            ],
        ),
        2,
    );
    assert!(err.contains("only ed25519 keys sign"), "{err}");

    // An unknown identity: one message, on stdout, exit 1.
    let nobody = node.sigil(&keys, &["identity", "show", "nobody"]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(
        stdout(&nobody).contains("`nobody` is not registered"),
        "{}",
        stdout(&nobody)
    );
    assert_eq!(stderr(&nobody), "", "said twice");
    drop(node);

    let config = dir.path().join("sigil.toml");
    std::fs::write(&config, "upstream = [\"127.0.0.1\", \"::1\"]\n").unwrap();
    let node = Node::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    drop(node);
    std::fs::write(&config, "upstream = [\"resolver.example\"]\n").unwrap();
    let (status, err) = sigil_tests::run_sigild_to_exit(
        &[
            "--dev".as_ref(),
            "--data".as_ref(),
            dir.path().join("data").as_os_str(),
            "--config".as_ref(),
            config.as_os_str(),
        ],
        Duration::from_secs(60),
    );
    assert!(!status.success());
    assert!(err.contains("is not a resolver address"), "{err}");
}

/// A `sigil` process whose standard error the test reads line by line; killed when dropped.
struct Watched {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watched {
    fn start(api: &str, keystore: &Path, args: &[&str]) -> Watched {
        let mut child = Command::new(binary("sigil"))
            .args(["--node", api, "--keystore"])
            .arg(keystore)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sigil");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched { child, lines }
    }

    /// The first line containing `text`, waiting at most `timeout`.
    fn wait_line(&self, text: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no line with `{text}` within {timeout:?}; saw {seen:#?}"),
            }
        }
    }
}

impl Watched {
    /// Waits until the process exits; panics after `timeout`.
    fn wait_exit(mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sigil still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_wait_on_a_stalled_chain_says_so_and_what_it_means() {
    let mut net = Network::start(4);
    net.wait_block(0, 2, Duration::from_secs(60));
    let keys = net.dir.path().join("keys");
    ok(sigil(&net.node(0).api, &keys, &["key", "new", "alice"]));

    // Two of four validators down: no block can be decided.
    net.kill(3);
    net.kill(2);
    let register = Watched::start(
        &net.node(0).api,
        &keys,
        &["name", "register", "stalled.sigil", "--a", "192.0.2.1"],
    );
    let hint = register.wait_line("the chain seems stalled", Duration::from_secs(120));
    assert!(
        hint.contains("no new block for")
            && hint.contains("validators are down")
            && hint.contains("two thirds of the voting power")
            && hint.contains("waiting on"),
        "{hint}"
    );

    // The validators come back and the registration completes.
    net.restart(2);
    net.restart(3);
    let status = register.wait_exit(Duration::from_secs(180));
    assert!(status.success(), "register after the stall: {status}");
}

/// Stops a CLI-started network even when the test fails.
struct Down(std::path::PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let dir = self.0.to_str().unwrap().to_string();
        let _ = sigil(
            "http://127.0.0.1:1",
            &self.0,
            &["localnet", "down", "--dir", &dir],
        );
    }
}

#[test]
fn localnet_down_stops_a_node_restarted_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("localnet");
    let dir_arg = dir.to_str().unwrap().to_string();
    let base = sigil_tests::network::reserve_ports(2).to_string();
    let keys = tmp.path().join("keys");
    let _down = Down(dir.clone());
    let cli = |args: &[&str]| sigil("http://127.0.0.1:1", &keys, args);

    ok(cli(&[
        "localnet",
        "up",
        "--dir",
        &dir_arg,
        "--validators",
        "1",
        "--base-port",
        &base,
    ]));
    let node1 = dir.join("node1");
    let pid_file = node1.join("sigild.pid");
    let first: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    // add-node starts the node and says so.
    let added = cli(&["localnet", "add-node", "--dir", &dir_arg]);
    let note = stderr(&added);
    assert!(added.status.success(), "{note}");
    assert!(
        note.contains("full1 is running") && !note.contains("starts by itself"),
        "{note}"
    );

    // The validator dies and is restarted by hand, as the README says.
    Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    let gone = std::time::Instant::now() + Duration::from_secs(30);
    while Path::new(&format!("/proc/{first}")).exists() {
        assert!(
            std::time::Instant::now() < gone,
            "pid {first} survived SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let config = node1.join("sigil.toml");
    let by_hand = Node::start_config(&config, &node1);
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        by_hand.pid().to_string(),
        "the node writes its own pid file"
    );

    let down = ok_json(cli(&["--json", "localnet", "down", "--dir", &dir_arg]));
    assert_eq!(down, serde_json::json!(["node1", "full1"]), "{down}");
    assert!(by_hand.wait_exit(Duration::from_secs(30)).success());
    assert!(!pid_file.exists(), "a clean exit removes the pid file");
}

#[test]
fn first_contact_with_a_second_chain_names_the_chains_already_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let first = Node::start(&dir.path().join("first"), &[]);
    let second = Node::start(&dir.path().join("second"), &[]);
    assert_ne!(first.chain_id, second.chain_id);
    let contact = |node: &Node| stderr(&node.sigil(&keys, &["proof", "name", "sigil"]));
    let said = contact(&first);
    assert!(
        said.contains(&format!("first contact with chain `{}`:", first.chain_id)),
        "{said}"
    );
    // A node on another chain (a new dev chain, or a rogue claiming a new id to escape the
    // pin) is trusted on first contact too, but the user is told what was trusted before.
    let said = contact(&second);
    assert!(
        said.contains(&format!(
            "first contact with chain `{}` (this keystore already trusts `{}`",
            second.chain_id, first.chain_id
        )),
        "{said}"
    );
    assert!(!contact(&first).contains("first contact"));
}
