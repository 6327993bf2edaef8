//! Which engine holds a node's database: chosen in the configuration, recorded in the database
//! folder when it is created, and checked on every open.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use super::{RedbStore, SledStore, Store};
use crate::error::{Error, Result};

/// The file in the database folder naming the engine that created it.
pub const ENGINE_FILE: &str = "engine";

/// A store engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    Sled,
    /// The default: faster, smaller and leaner than sled (ADR 10).
    #[default]
    Redb,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Sled, Engine::Redb];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sled => "sled",
            Engine::Redb => "redb",
        }
    }

    /// The engine that created the database in `dir`, if there is one: the one its engine file
    /// names, or sled for a folder sled wrote before engines were recorded.
    pub fn of(dir: &Path) -> Result<Option<Engine>> {
        match std::fs::read_to_string(dir.join(ENGINE_FILE)) {
            Ok(text) => text.trim().parse().map(Some).map_err(|e: String| {
                Error::corrupt("database engine file", format!("{}: {e}", dir.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(dir.join("conf").exists().then_some(Engine::Sled))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Engine, String> {
        Engine::ALL
            .into_iter()
            .find(|engine| engine.name() == s)
            .ok_or_else(|| format!("`{s}` is not a store engine: give `sled` or `redb`"))
    }
}

/// Opens the database in `dir` with `engine` (`cache_bytes` of page cache), creating it if the
/// folder holds none. A database another engine created is refused, before anything is read
/// or written, with [`Error::WrongEngine`].
pub fn open(engine: Engine, dir: &Path, cache_bytes: u64) -> Result<Arc<dyn Store>> {
    match Engine::of(dir)? {
        Some(found) if found != engine => {
            return Err(Error::WrongEngine {
                dir: dir.display().to_string(),
                found: found.name(),
                asked: engine.name(),
            });
        }
        Some(_) => {}
        None => record(engine, dir)?,
    }
    Ok(match engine {
        Engine::Sled => Arc::new(SledStore::open(dir, cache_bytes)?),
        Engine::Redb => Arc::new(RedbStore::open(dir, cache_bytes)?),
    })
}

/// Gives the free space of the database in `dir` back to the file system when most of its
/// file is free (redb only: see `redb::compact_if_mostly_free`; sled has no compaction).
/// Returns the file's length before and after, if it compacted. Run it before [`open`]: it
/// needs the database to itself.
pub fn compact(engine: Engine, dir: &Path) -> Result<Option<(u64, u64)>> {
    match (engine, Engine::of(dir)?) {
        (Engine::Redb, Some(Engine::Redb)) => super::redb::compact_if_mostly_free(dir),
        _ => Ok(None),
    }
}

/// Writes the engine file of a new database folder, durably, before the engine writes there.
fn record(engine: Engine, dir: &Path) -> Result<()> {
    sigil_core::durable::replace(&dir.join(ENGINE_FILE), format!("{engine}\n").as_bytes())?;
    Ok(())
}
