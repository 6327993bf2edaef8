//! `sigild store-usage`: what a stopped node's database holds, by part and key prefix, and how
//! much of its file is in use.

use std::path::Path;

use anyhow::Context;
use sigil_registry::store::usage::{self, Part};
use sigil_registry::store::{self, Engine};

/// Prints the usage of the database in `db` (opened with `engine`), each figure also divided
/// by `per` when given.
pub fn print(engine: Engine, db: &Path, cache_bytes: u64, per: Option<u64>) -> anyhow::Result<()> {
    let store = store::open(engine, db, cache_bytes).with_context(|| {
        format!(
            "cannot open the {engine} database in {} (stop the node that uses it first)",
            db.display()
        )
    })?;
    let each = |bytes: u64| match per {
        Some(n) if n > 0 => format!(" {:>10.1} per", bytes as f64 / n as f64),
        _ => String::new(),
    };
    let prefixes = usage::by_prefix(store.as_ref())?;
    println!("{:<24} {:>10} {:>14}", "what", "entries", "bytes");
    for u in &prefixes {
        println!(
            "{:<24} {:>10} {:>14}{}",
            format!("{}: {}", u.part.name(), u.what),
            u.entries,
            u.bytes,
            each(u.bytes)
        );
    }
    let mut live = 0;
    for part in Part::ALL {
        let bytes: u64 = prefixes
            .iter()
            .filter(|u| u.part == part)
            .map(|u| u.bytes)
            .sum();
        live += bytes;
        println!(
            "{:<24} {:>10} {:>14}{}",
            part.name(),
            "",
            bytes,
            each(bytes)
        );
    }
    println!("{:<24} {:>10} {:>14}{}", "live", "", live, each(live));
    match store.space()? {
        Some(space) => {
            for (what, bytes) in [
                ("file", space.file),
                ("file: stored", space.stored),
                ("file: structure", space.metadata),
                ("file: pages' slack", space.slack()),
                ("file: free pages", space.free()),
            ] {
                println!("{what:<24} {:>10} {bytes:>14}{}", "", each(bytes));
            }
        }
        None => {
            let file = store.size_on_disk()?;
            println!("{:<24} {:>10} {file:>14}{}", "file", "", each(file));
        }
    }
    Ok(())
}
