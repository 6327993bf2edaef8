//! The node's pid file, `sigild.pid` in its data folder: written by `sigild` once it holds the
//! database, removed when it exits cleanly, read by `sigil localnet` to find and stop it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The pid file's name, inside the node's data folder.
pub const PID_FILE: &str = "sigild.pid";

/// The pid file of the node whose data folder is `data`.
pub fn path(data: &Path) -> PathBuf {
    data.join(PID_FILE)
}

/// This process's pid file in `data`, removed when dropped if it still names this process.
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes this process's pid into `data`, replacing what a stopped node left there.
    pub fn write(data: &Path) -> anyhow::Result<PidFile> {
        let path = path(data);
        let pid = std::process::id();
        let tmp = data.join(format!("{PID_FILE}.tmp{pid}"));
        fs::write(&tmp, format!("{pid}\n"))
            .and_then(|()| fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write the pid file {}", path.display()))?;
        Ok(PidFile { path, pid })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if read(&self.path) == Some(self.pid) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The pid the file at `path` names, if it is there and holds one.
pub fn read(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The pid of the `sigild` running on data folder `data`, if its pid file names a live
/// `sigild` process (a stale file may name a pid since reused by another program).
pub fn running(data: &Path) -> Option<u32> {
    read(&path(data)).filter(|&pid| is_live_sigild(pid))
}

/// Whether process `pid` exists, is not a zombie, and runs `sigild`.
pub fn is_live_sigild(pid: u32) -> bool {
    let stat = match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        // Without /proc (not Linux) the pid file is taken at its word.
        Err(_) => return !Path::new("/proc/self").exists(),
    };
    let (command, rest) = match (stat.find('('), stat.rfind(')')) {
        (Some(open), Some(close)) if open < close => (&stat[open + 1..close], &stat[close + 1..]),
        _ => return false,
    };
    let state = rest.split_whitespace().next();
    state.is_some_and(|s| s != "Z") && command.starts_with("sigild")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_removed_unless_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = PidFile::write(dir.path()).unwrap();
        assert_eq!(read(&path(dir.path())), Some(std::process::id()));
        // This test process is not a sigild.
        assert_eq!(running(dir.path()), None);
        drop(file);
        assert!(!path(dir.path()).exists());
        let file = PidFile::write(dir.path()).unwrap();
        fs::write(path(dir.path()), "1\n").unwrap();
        drop(file);
        assert_eq!(
            read(&path(dir.path())),
            Some(1),
            "another node's file stays"
        );
    }
}
