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
mod when;
mod zone;

#[cfg(test)]
mod e2e;

use anyhow::Context;
use clap::Parser;

use crate::args::Cli;
use crate::output::{Exit, Output};

fn main() {
    let cli = Cli::parse();
    let out = Output::new(cli.json);
    match try_main(cli) {
        Ok(exit) => std::process::exit(exit.code()),
        Err(e) => {
            out.error(&e);
            std::process::exit(2);
        }
    }
}

/// Runs one command: `Ok` with exit 0 or 1 when it ran to an answer (2 when it printed its
/// result but part of the work failed), `Err` (exit 2, nothing printed yet) otherwise.
fn try_main(cli: Cli) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(commands::run(cli))
}
