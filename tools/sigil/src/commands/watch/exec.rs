//! `--exec`: one command per event, the event as JSON on its standard input, killed (with its
//! process group) when it outlives its timeout.

use std::os::fd::AsFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::event::Event;

/// The longest pause before a failed command is tried again.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(60);

pub struct Exec {
    command: String,
    timeout: Duration,
    /// Failures in a row, and when the next attempt may be made.
    failures: u32,
    retry_at: Option<Instant>,
}

impl Exec {
    pub fn new(command: String, timeout: Duration) -> Exec {
        Exec {
            command,
            timeout,
            failures: 0,
            retry_at: None,
        }
    }

    /// Whether a command may be run now (not in the pause after a failure).
    pub fn ready(&self) -> bool {
        self.retry_at.is_none_or(|at| Instant::now() >= at)
    }

    /// Runs the command for `event`; on failure, says why and pauses the next attempts
    /// (doubling up to a minute).
    pub async fn run(&mut self, event: &Event) -> Result<(), String> {
        let outcome = self.attempt(event).await;
        match &outcome {
            Ok(()) => {
                self.failures = 0;
                self.retry_at = None;
            }
            Err(_) => {
                self.failures = self.failures.saturating_add(1);
                let pause = Duration::from_secs(1u64 << self.failures.min(6)).min(MAX_RETRY_PAUSE);
                self.retry_at = Some(Instant::now() + pause);
            }
        }
        outcome
    }

    async fn attempt(&self, event: &Event) -> Result<(), String> {
        let mut input = serde_json::to_vec(event).expect("events serialize");
        input.push(b'\n');
        // The command's output goes to stderr: stdout carries only the events.
        let stdout = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| format!("cannot pass stderr to the command: {e}"))?;
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("SIGIL_WATCH_EVENT", &event.event)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(stdout))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start `sh -c {}`: {e}", self.command))?;
        let mut stdin = child.stdin.take();
        let ran = tokio::time::timeout(self.timeout, async {
            if let Some(stdin) = &mut stdin {
                // A command that does not read its input may close it: not a failure.
                let _ = stdin.write_all(&input).await;
            }
            drop(stdin.take());
            child.wait().await
        })
        .await;
        match ran {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("the command failed ({status})")),
            Ok(Err(e)) => Err(format!("cannot wait for the command: {e}")),
            Err(_) => {
                if let Some(pid) = child.id() {
                    // The whole group: `sh -c` and what it started.
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", "--", &format!("-{pid}")])
                        .status();
                }
                let _ = child.kill().await;
                Err(format!(
                    "the command ran longer than {} s and was killed",
                    self.timeout.as_secs()
                ))
            }
        }
    }
}
