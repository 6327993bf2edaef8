//! `sigil`: the command-line client of Sigil: keys, name registration and changes, zone import,
//! proof checks and chain status, over the node's HTTP API.

mod args;
mod client;
mod commands;
mod keystore;
mod output;
mod pending;
mod progress;
mod recordset;
mod sender;
mod trust;
mod zone;

#[cfg(test)]
mod e2e;

use anyhow::Context;
use clap::Parser;

use crate::args::Cli;
use crate::output::Exit;

fn main() {
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(exit) => std::process::exit(exit.code()),
        Err(e) => {
            eprintln!("sigil: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Runs one command: `Ok` with exit 0 or 1 when it ran to an answer, `Err` (exit 2) otherwise.
fn try_main(cli: Cli) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(commands::run(cli))
}
