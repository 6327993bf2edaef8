//! Each node's folder on a tmpfs of its own when this process may mount (root, or
//! CAP_SYS_ADMIN), so a full disk is a real one: the tmpfs is shrunk to what the node uses
//! plus a margin, and its writes fail with ENOSPC. Where mounting is not allowed (an
//! unprivileged CI runner), the fault campaign falls back to a write quota on the process
//! (RLIMIT_FSIZE: a write past it stops the node with SIGXFSZ) and the full-disk test says it
//! did not run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Size of a node's tmpfs outside the fault: far more than a campaign writes.
const ROOMY: &str = "size=4g";

/// The tmpfs mounts of the nodes' folders (none if mounting is not allowed).
pub struct Disks {
    mounts: Vec<PathBuf>,
}

impl Disks {
    /// Moves each folder of `dirs` (laid out, nodes stopped) onto a tmpfs mounted in its
    /// place; none if the first mount is refused.
    pub fn mount(dirs: &[PathBuf]) -> Disks {
        let mut disks = Disks { mounts: Vec::new() };
        for dir in dirs {
            let laid = dir.with_extension("laid-out");
            if std::fs::rename(dir, &laid).is_err() || std::fs::create_dir(dir).is_err() {
                break;
            }
            let mounted = run(Command::new("mount")
                .args(["-t", "tmpfs", "-o", ROOMY, "tmpfs"])
                .arg(dir));
            if mounted.is_err() {
                let _ = std::fs::remove_dir(dir);
                let _ = std::fs::rename(&laid, dir);
                break;
            }
            disks.mounts.push(dir.clone());
            let copied = run(Command::new("cp").arg("-a").arg(laid.join(".")).arg(dir));
            assert!(
                copied.is_ok(),
                "copy {} onto its tmpfs: {copied:?}",
                dir.display()
            );
            let _ = std::fs::remove_dir_all(&laid);
        }
        assert!(
            disks.mounts.is_empty() || disks.mounts.len() == dirs.len(),
            "some node folders mounted, not all"
        );
        disks
    }

    /// No tmpfs: the folders stay where they are.
    pub fn none() -> Disks {
        Disks { mounts: Vec::new() }
    }

    /// Whether the folders are on tmpfs (else a full disk is a write quota).
    pub fn mounted(&self) -> bool {
        !self.mounts.is_empty()
    }

    /// Shrinks the tmpfs of `dir` to the bytes it holds plus `margin`.
    pub fn fill(&self, dir: &Path, margin: u64) -> Result<(), String> {
        // Its use may grow between reading it and shrinking: a few tries, a bit more room each.
        let mut last = String::new();
        for attempt in 0..5u64 {
            let used = used_bytes(dir)?;
            let size = used + margin + attempt * 64 * 1024;
            match run(Command::new("mount")
                .args(["-o", &format!("remount,size={size}")])
                .arg(dir))
            {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Gives `dir` its room back.
    pub fn free(&self, dir: &Path) -> Result<(), String> {
        run(Command::new("mount")
            .args(["-o", &format!("remount,{ROOMY}")])
            .arg(dir))
    }

    /// Copies every node's folder next to it (`NAME.saved`) and unmounts it: what a failed
    /// run keeps for its write-up.
    pub fn save(&mut self) {
        for dir in &self.mounts {
            let saved = dir.with_extension("saved");
            let _ = std::fs::create_dir_all(&saved);
            let _ = run(Command::new("cp").arg("-a").arg(dir.join(".")).arg(&saved));
        }
        self.unmount();
    }

    fn unmount(&mut self) {
        for dir in self.mounts.drain(..) {
            let _ = run(Command::new("umount").arg("-l").arg(&dir));
        }
    }
}

impl Drop for Disks {
    fn drop(&mut self) {
        self.unmount();
    }
}

/// Bytes in use on the file system of `dir`.
fn used_bytes(dir: &Path) -> Result<u64, String> {
    let output = Command::new("df")
        .args(["-B1", "--output=used"])
        .arg(dir)
        .output()
        .map_err(|e| format!("df: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("df {}: no usage", dir.display()))
}

/// Runs `command`; its standard error if it fails.
pub fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
