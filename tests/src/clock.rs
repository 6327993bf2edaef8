//! A node's wall clock set off for a test: libfaketime (Debian's `faketime` package) preloaded,
//! the monotonic clock (the engine's timeouts, tokio's timers) left true. No hook in `sigild`.

use std::path::PathBuf;

/// Where the `faketime` package puts the library that offsets a process's wall clock.
const LIBFAKETIME: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
];

/// The libfaketime library, if installed.
pub fn libfaketime() -> Option<PathBuf> {
    LIBFAKETIME.iter().map(PathBuf::from).find(|p| p.exists())
}

/// The environment that starts a process with its wall clock `offset_ms` off, through `lib`.
pub fn offset_env(lib: &std::path::Path, offset_ms: i64) -> [(&'static str, String); 3] {
    [
        ("LD_PRELOAD", lib.display().to_string()),
        ("FAKETIME", format!("{:+.3}", offset_ms as f64 / 1000.0)),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
    ]
}
