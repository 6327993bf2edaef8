//! A lying peer for tests: starts the `liar` proxy (tests/src/bin/liar.rs) in front of a node's
//! API with one [`Mode`] of lying, and stops it when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::binary;

/// How long the proxy may take to print its address (it first reads the `--learn` paths).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How the proxy lies about the state proofs (objects with `key`, `value`, `proof`, `header`,
/// `commit` and `validators`) wherever they appear in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards everything unchanged: the control.
    Honest,
    /// Alters each proven value, re-encoded so that it still decodes: a name's first A record
    /// points elsewhere (or its owner is the liar's key), a certificate's revocation is dropped
    /// (or its owner replaced), an identity's online key or a holder's key is the liar's, a
    /// balance or a subscription holds 1,000 more shares; any other value has a bit flipped.
    ChangedValue,
    /// Serves the proof of another key of the same kind (another name for a name), one seen in
    /// an earlier answer, the same answer, or learned at start; 502 when none is known.
    OtherKey,
    /// Replaces each proof's header, commit and validator set by ones made by a key that is
    /// not a validator (a self-consistent commit of a rogue set); `/v1/status` reports the rogue
    /// set, and the validator changes end with a handoff to it, signed by the rogue key.
    RogueSigner,
    /// As [`Mode::RogueSigner`] for the proofs, but `/v1/status` and the validator changes are
    /// left true: only a check of the proof's set against the trusted one catches it.
    RogueProofs,
    /// Keeps the first proof of each key it relays, and the first answer to `/v1/status`, and
    /// serves them in place of every later one, whatever the route or its parameters (a
    /// batch's `height=` too): old headers replayed, and the chain's progress hidden.
    ReplayOld,
    /// Removes each proven value, claiming the key has none.
    FalseAbsence,
    /// Leaves the proofs true, and names the holder `forged` in each holder change of a
    /// company's register log (`/v1/companies/{c}/register`, an unproven index): a hint of a
    /// change no proof bears out. Not in [`Mode::ALL`], whose modes each falsify proofs.
    ForgedLog,
}

impl Mode {
    /// Every mode, the control first.
    pub const ALL: [Mode; 7] = [
        Mode::Honest,
        Mode::ChangedValue,
        Mode::OtherKey,
        Mode::RogueSigner,
        Mode::RogueProofs,
        Mode::ReplayOld,
        Mode::FalseAbsence,
    ];

    /// The name `liar --mode` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Honest => "honest",
            Mode::ChangedValue => "changed-value",
            Mode::OtherKey => "other-key",
            Mode::RogueSigner => "rogue-signer",
            Mode::RogueProofs => "rogue-proofs",
            Mode::ReplayOld => "replay-old",
            Mode::FalseAbsence => "false-absence",
            Mode::ForgedLog => "forged-log",
        }
    }

    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL
            .into_iter()
            .chain([Mode::ForgedLog])
            .find(|m| m.as_str() == name)
    }
}

/// A running `liar` process.
pub struct Liar {
    child: Child,
    /// The proxy's API URL (`http://127.0.0.1:PORT`), to use in place of the node's.
    pub api: String,
}

impl Liar {
    /// Starts a liar in front of `upstream_api` (`http://HOST:PORT`).
    pub fn start(upstream_api: &str, mode: Mode) -> Liar {
        Liar::start_learning(upstream_api, mode, &[])
    }

    /// Starts a liar that first reads the proofs in the node's answers to `learn` (API paths,
    /// e.g. `/v1/names/b.sigil/proof`), so that [`Mode::OtherKey`] has other keys to serve.
    pub fn start_learning(upstream_api: &str, mode: Mode, learn: &[&str]) -> Liar {
        let mut command = Command::new(binary("liar"));
        command.args([
            "--upstream",
            upstream_api,
            "--listen",
            "127.0.0.1:0",
            "--mode",
            mode.as_str(),
        ]);
        for path in learn {
            command.args(["--learn", path]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start liar");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so that the proxy never blocks on a full pipe.
            for _ in lines {}
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                match e {
                    mpsc::RecvTimeoutError::Timeout => {
                        panic!("liar did not print its address within {START_TIMEOUT:?}")
                    }
                    // Its stdout closed: it exited, saying why on stderr.
                    mpsc::RecvTimeoutError::Disconnected => {
                        panic!("liar exited before printing its address (its stderr says why)")
                    }
                }
            }
        };
        Liar {
            child,
            api: format!("http://{}", addr.trim()),
        }
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
