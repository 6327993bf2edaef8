//! `sigil name import`: register every name of a zone file, in batches: all commits of a batch,
//! the reveal delay once, all reveals, then each reveal's outcome.

use anyhow::Context;
use serde::Serialize;
use sigil_core::records::Record;
use sigil_core::tx::{Op, name_commitment};
use sigil_core::types::Hash;

use super::Ctx;
use super::register::random_salt;
use crate::args::ImportArgs;
use crate::client::{Client, NodeError, node_code};
use crate::output::Exit;
use crate::progress::Progress;
use crate::sender::{Landed, Sender, wait_height, wait_landed};
use crate::zone;

/// Failures listed in the readable summary; `--json` lists them all.
const FAILURES_SHOWN: usize = 20;
/// Reveals retried when the node still finds them early.
const EARLY_REVEAL_RETRIES: u32 = 10;

#[derive(Serialize)]
struct Report {
    file: String,
    names: usize,
    registered: usize,
    /// SOA, the TLD's NS records and their glue.
    skipped_records: usize,
    failed: Vec<Failure>,
}

#[derive(Serialize)]
struct Failure {
    name: String,
    reason: String,
}

pub async fn run(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let (_, key) = ctx.signing_key()?;
    let status = client.status().await?;
    let tlds = &status.params.tlds;
    let origin = match (&args.origin, tlds.first()) {
        (Some(origin), _) => origin.clone(),
        (None, Some(tld)) => format!("{tld}."),
        (None, None) => {
            anyhow::bail!("the chain has no top-level domains; nothing can be imported")
        }
    };
    let zone = zone::read(&args.zonefile, &origin, tlds)?;
    let names: Vec<(String, Vec<Record>)> = zone.names.into_iter().collect();
    let mut report = Report {
        file: args.zonefile.display().to_string(),
        names: names.len() + zone.failed.len(),
        registered: 0,
        skipped_records: zone.skipped_records,
        failed: zone
            .failed
            .into_iter()
            .map(|(name, reason)| Failure { name, reason })
            .collect(),
    };

    let progress = Progress::bar(&ctx.out, report.names as u64, "names");
    progress.inc(report.failed.len() as u64);
    let mut sender = Sender::new(&client, &key, &status, &progress).await?;
    let batch = usize::try_from(args.batch).unwrap_or(usize::MAX);
    for chunk in names.chunks(batch) {
        import_batch(&client, &mut sender, &status, chunk, &mut report, &progress)
            .await
            .with_context(|| {
                format!(
                    "the import stopped after registering {} of {} names; names already registered will be \
                     reported as taken if you run it again",
                    report.registered, report.names
                )
            })?;
    }
    progress.finish();

    ctx.out.emit(&report, human);
    if report.failed.is_empty() {
        return Ok(Exit::Ok);
    }
    ctx.out.note(format!(
        "{} of {} names could not be registered ({})",
        report.failed.len(),
        report.names,
        if ctx.out.is_json() {
            "see `failed`"
        } else {
            "reasons above"
        }
    ));
    Ok(Exit::Failed)
}

async fn import_batch(
    client: &Client,
    sender: &mut Sender<'_>,
    status: &sigil_core::api::ChainStatus,
    chunk: &[(String, Vec<Record>)],
    report: &mut Report,
    progress: &Progress,
) -> anyhow::Result<()> {
    let fail = |report: &mut Report, name: &str, reason: String| {
        report.failed.push(Failure {
            name: name.to_string(),
            reason,
        });
        progress.inc(1);
    };

    progress.step("committing");
    let owner = sender.public();
    let mut committed: Vec<(&str, Hash, &[Record])> = Vec::with_capacity(chunk.len());
    let mut last_commit = None;
    for (name, records) in chunk {
        let salt = random_salt()?;
        let commitment = name_commitment(name, &salt, &owner);
        match sender.send(Op::NameCommit { commitment }).await {
            Ok(stx) => {
                last_commit = Some(stx.id());
                committed.push((name, salt, records));
            }
            Err(e) => fail(report, name, format!("commit refused: {}", refusal(e)?)),
        }
    }
    let Some(last_commit) = last_commit else {
        return Ok(());
    };
    progress.step("awaiting commits");
    // Nonces are consecutive, so every commit of the batch is final once the last one is.
    let commit_height = match wait_landed(client, &last_commit).await? {
        Landed::Final { height } | Landed::Failed { height, .. } => height,
    };
    let earliest = commit_height + status.params.reveal_min_blocks;
    wait_height(client, earliest.saturating_sub(1), |left| {
        progress.step(format!("reveal in {left} block(s)"))
    })
    .await?;

    progress.step("revealing");
    let mut revealed = Vec::with_capacity(committed.len());
    for (name, salt, records) in committed {
        let op = Op::NameRegister {
            name: name.to_string(),
            salt,
            records: records.to_vec(),
        };
        let mut early = 0;
        loop {
            match sender.send(op.clone()).await {
                Ok(stx) => {
                    revealed.push((name, stx.id()));
                    break;
                }
                Err(e)
                    if node_code(&e) == Some("reveal_too_early")
                        && early < EARLY_REVEAL_RETRIES =>
                {
                    early += 1;
                    let tip = client.status().await?.tip.height;
                    wait_height(client, tip + 1, |_| {}).await?;
                }
                Err(e) => {
                    fail(report, name, refusal(e)?);
                    break;
                }
            }
        }
    }
    progress.step("awaiting reveals");
    for (name, id) in revealed {
        match wait_landed(client, &id).await? {
            Landed::Final { .. } => {
                report.registered += 1;
                progress.inc(1);
            }
            Landed::Failed { error, .. } => fail(report, name, error),
        }
    }
    Ok(())
}

/// The node's reason when it refused a transaction; any other error stops the import.
fn refusal(e: anyhow::Error) -> anyhow::Result<String> {
    e.downcast::<NodeError>().map(|refused| refused.message)
}

fn human(r: &Report) -> String {
    let mut text = format!(
        "{}: registered {} of {} names ({} records skipped: SOA, the TLD's NS records and glue)\n",
        r.file, r.registered, r.names, r.skipped_records
    );
    if !r.failed.is_empty() {
        text.push_str(&format!("{} failed:\n", r.failed.len()));
        for f in r.failed.iter().take(FAILURES_SHOWN) {
            text.push_str(&format!("  {}: {}\n", f.name, f.reason));
        }
        if r.failed.len() > FAILURES_SHOWN {
            text.push_str(&format!(
                "  ... and {} more (--json lists them all)\n",
                r.failed.len() - FAILURES_SHOWN
            ));
        }
    }
    text
}
