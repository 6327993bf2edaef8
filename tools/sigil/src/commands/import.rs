//! `sigil name import`: register every name of a zone file, in pipelined batches: while one
//! batch waits for its reveal delay and finality, the next batches' commits are sent.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use sigil_core::api::TxStatus;
use sigil_core::records::Record;
use sigil_core::tx::{Op, name_commitment};
use sigil_core::types::{Hash, Height};

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
/// Times a name is committed before it counts as failed (its commit was dropped each time).
const COMMIT_TRIES: u32 = 3;
/// Times an `unknown` status is asked before the transaction is taken as dropped...
const UNKNOWN_RETRIES: u32 = 3;
/// ...this far apart.
const UNKNOWN_PAUSE: Duration = Duration::from_millis(300);
/// Status queries in flight at once when reading a batch's outcomes.
const STATUS_QUERIES: usize = 32;

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
    let mut sender = Sender::new(&client, &key, &status, &progress)
        .await?
        .patient();
    let mut pipe = Pipeline {
        client: &client,
        reveal_min_blocks: status.params.reveal_min_blocks,
        batch: usize::try_from(args.batch).unwrap_or(usize::MAX),
        in_flight: usize::try_from(args.in_flight).unwrap_or(1),
        queue: names
            .iter()
            .map(|(name, records)| Entry {
                name,
                records,
                tries: 0,
            })
            .collect(),
        committed: VecDeque::new(),
        revealed: VecDeque::new(),
        report: &mut report,
        progress: &progress,
    };
    let done = pipe.run(&mut sender).await;
    let registered = report.registered;
    done.with_context(|| {
        format!(
            "the import stopped after registering {registered} of {} names; names already \
             registered will be reported as taken if you run it again",
            report.names
        )
    })?;
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

/// A name still to commit.
#[derive(Clone, Copy)]
struct Entry<'n> {
    name: &'n str,
    records: &'n [Record],
    /// Times its commit was sent before (it was lost or had expired).
    tries: u32,
}

/// One name's commit or reveal, sent.
struct Sent<'n> {
    entry: Entry<'n>,
    salt: Hash,
    id: Hash,
    nonce: u64,
}

/// A batch whose commits (or reveals) were sent: the transaction with the highest nonce is
/// in a block once every other one is, since one key signs them all in nonce order.
struct Batch<'n> {
    sent: Vec<Sent<'n>>,
    /// The height of the block holding the last commit, once known.
    landed: Option<Height>,
}

impl Batch<'_> {
    fn last(&self) -> Option<&Hash> {
        self.sent.iter().max_by_key(|s| s.nonce).map(|s| &s.id)
    }
}

/// Where a sent transaction is now.
enum Now {
    Pending,
    /// In the block at this height, applied or failed.
    Landed(Landed),
    /// The node no longer knows it: it was dropped from the mempool (evicted by more work,
    /// or an earlier transaction of the key stopped applying, which drops the later ones).
    Lost,
}

/// The import's batches: up to `in_flight` of them committed or revealed and not yet final,
/// so that the reveal delay of one overlaps the commits of the next.
struct Pipeline<'a, 'n> {
    client: &'a Client,
    reveal_min_blocks: u64,
    batch: usize,
    in_flight: usize,
    /// Names to commit, in order (a name whose commit was lost comes back to the front).
    queue: VecDeque<Entry<'n>>,
    /// Batches committed, waiting for their reveal window, oldest first.
    committed: VecDeque<Batch<'n>>,
    /// Batches revealed, waiting for finality, oldest first.
    revealed: VecDeque<Batch<'n>>,
    report: &'a mut Report,
    progress: &'a Progress,
}

impl<'n> Pipeline<'_, 'n> {
    async fn run(&mut self, sender: &mut Sender<'_>) -> anyhow::Result<()> {
        loop {
            let tip = self.client.status().await?.tip.height;
            let mut moved = false;
            // Reveal every committed batch whose window is open, oldest first.
            while let Some(batch) = self.committed.front_mut() {
                if batch.landed.is_none() {
                    let Some(last) = batch.last().copied() else {
                        self.committed.pop_front();
                        continue;
                    };
                    match now(self.client, &last).await? {
                        Now::Pending => break,
                        Now::Landed(Landed::Final { height } | Landed::Failed { height, .. }) => {
                            batch.landed = Some(height)
                        }
                        Now::Lost => {
                            let batch = self.committed.pop_front().unwrap_or(Batch {
                                sent: Vec::new(),
                                landed: None,
                            });
                            self.salvage_commits(batch).await?;
                            moved = true;
                            continue;
                        }
                    }
                }
                let earliest = batch.landed.unwrap_or(0) + self.reveal_min_blocks;
                if tip + 1 < earliest {
                    self.progress
                        .step(format!("reveal in {} block(s)", earliest - tip - 1));
                    break;
                }
                if let Some(batch) = self.committed.pop_front() {
                    self.reveal(sender, batch).await?;
                    moved = true;
                }
            }
            // The next batch's commits, while fewer batches than allowed are in flight.
            if self.committed.len() + self.revealed.len() < self.in_flight && !self.queue.is_empty()
            {
                let take = self.batch.min(self.queue.len());
                let entries: Vec<Entry<'n>> = self.queue.drain(..take).collect();
                self.commit(sender, entries).await?;
                moved = true;
            }
            // The outcome of every revealed batch that is in a block.
            while let Some(batch) = self.revealed.front() {
                if let Some(last) = batch.last().copied()
                    && let Now::Pending = now(self.client, &last).await?
                {
                    break;
                }
                if let Some(batch) = self.revealed.pop_front() {
                    self.outcomes(batch).await?;
                    moved = true;
                }
            }
            if self.queue.is_empty() && self.committed.is_empty() && self.revealed.is_empty() {
                return Ok(());
            }
            if !moved {
                wait_height(self.client, tip + 1, |_| {}).await?;
            }
        }
    }

    fn fail(&mut self, name: &str, reason: String) {
        self.report.failed.push(Failure {
            name: name.to_string(),
            reason,
        });
        self.progress.inc(1);
    }

    /// Sends the commits of `entries` as one batch.
    async fn commit(
        &mut self,
        sender: &mut Sender<'_>,
        entries: Vec<Entry<'n>>,
    ) -> anyhow::Result<()> {
        self.progress.step("committing");
        let owner = sender.public();
        let mut salted = Vec::with_capacity(entries.len());
        let mut ops = Vec::with_capacity(entries.len());
        for mut entry in entries {
            entry.tries += 1;
            let salt = random_salt()?;
            ops.push(Op::NameCommit {
                commitment: name_commitment(entry.name, &salt, &owner),
            });
            salted.push((entry, salt));
        }
        let mut sent = Vec::with_capacity(salted.len());
        let mut next = 0;
        while next < ops.len() {
            let (accepted, refused) = sender.send_batch(&ops[next..]).await?;
            for stx in accepted {
                let (entry, salt) = salted[next];
                sent.push(Sent {
                    entry,
                    salt,
                    id: stx.id(),
                    nonce: stx.tx.nonce,
                });
                next += 1;
            }
            if let Some(e) = refused {
                let name = salted[next].0.name;
                self.fail(name, format!("commit refused: {}", refusal(e)?));
                next += 1;
            }
        }
        if !sent.is_empty() {
            self.committed.push_back(Batch { sent, landed: None });
        }
        Ok(())
    }

    /// A batch whose last commit was lost: commits in a block stay, lost ones are sent again
    /// in a later batch.
    async fn salvage_commits(&mut self, batch: Batch<'n>) -> anyhow::Result<()> {
        let landed = statuses(self.client, &batch.sent).await?;
        let mut kept = Vec::new();
        for (sent, now) in batch.sent.into_iter().zip(landed) {
            match now {
                Now::Lost => self.requeue(sent.entry, "its commit was dropped by the node"),
                Now::Pending | Now::Landed(_) => kept.push(sent),
            }
        }
        if !kept.is_empty() {
            self.committed.push_front(Batch {
                sent: kept,
                landed: None,
            });
        }
        Ok(())
    }

    /// Commits `entry` again in a later batch, unless it was tried too often.
    fn requeue(&mut self, entry: Entry<'n>, why: &str) {
        if entry.tries >= COMMIT_TRIES {
            self.fail(
                entry.name,
                format!("{why}, {} times; import it again later", entry.tries),
            );
        } else {
            self.queue.push_front(entry);
        }
    }

    /// Sends the reveals of a batch whose commits are final and whose window is open.
    async fn reveal(&mut self, sender: &mut Sender<'_>, batch: Batch<'n>) -> anyhow::Result<()> {
        self.progress.step("revealing");
        let mut revealed = Vec::with_capacity(batch.sent.len());
        let ops: Vec<Op> = batch
            .sent
            .iter()
            .map(|commit| Op::NameRegister {
                name: commit.entry.name.to_string(),
                salt: commit.salt,
                records: commit.entry.records.to_vec(),
            })
            .collect();
        let commits = batch.sent;
        let mut next = 0;
        // Times the next reveal was found early.
        let mut early = 0;
        while next < ops.len() {
            let (accepted, refused) = sender.send_batch(&ops[next..]).await?;
            if !accepted.is_empty() {
                early = 0;
            }
            for stx in accepted {
                revealed.push(Sent {
                    id: stx.id(),
                    nonce: stx.tx.nonce,
                    ..commits[next]
                });
                next += 1;
            }
            let Some(e) = refused else { continue };
            let commit = &commits[next];
            match node_code(&e) {
                Some("reveal_too_early") if early < EARLY_REVEAL_RETRIES => {
                    early += 1;
                    let tip = self.client.status().await?.tip.height;
                    wait_height(self.client, tip + 1, |_| {}).await?;
                    continue;
                }
                // The commit was dropped before its block, or its window passed.
                Some("no_commit") => {
                    self.requeue(commit.entry, "its commit was not found at reveal")
                }
                _ => self.fail(commit.entry.name, refusal(e)?),
            }
            early = 0;
            next += 1;
        }
        if !revealed.is_empty() {
            self.revealed.push_back(Batch {
                sent: revealed,
                landed: None,
            });
        }
        Ok(())
    }

    /// Reads the outcome of each reveal of a batch whose last reveal is in a block (or lost);
    /// a lost reveal is sent again while its commit holds.
    async fn outcomes(&mut self, batch: Batch<'n>) -> anyhow::Result<()> {
        self.progress.step("awaiting reveals");
        let landed = statuses(self.client, &batch.sent).await?;
        let mut again = Vec::new();
        for (sent, now) in batch.sent.into_iter().zip(landed) {
            let outcome = match now {
                Now::Lost => {
                    again.push(sent);
                    continue;
                }
                Now::Landed(landed) => landed,
                // Sent again under a later nonce after a drop: wait for it.
                Now::Pending => wait_landed(self.client, &sent.id).await?,
            };
            match outcome {
                Landed::Final { .. } => {
                    self.report.registered += 1;
                    self.progress.inc(1);
                }
                Landed::Failed { error, .. } => self.fail(sent.entry.name, error),
            }
        }
        if !again.is_empty() {
            // Their commits are final: the reveals may go at once.
            self.committed.push_front(Batch {
                sent: again,
                landed: Some(0),
            });
        }
        Ok(())
    }
}

/// Where a transaction is now, without waiting; `unknown` is asked again briefly (it covers
/// the instant between a block's commit and the mempool's cleanup).
async fn now(client: &Client, id: &Hash) -> anyhow::Result<Now> {
    for _ in 0..UNKNOWN_RETRIES {
        match client.tx_status(id, 0).await?.status {
            TxStatus::Pending => return Ok(Now::Pending),
            TxStatus::Final { height } => return Ok(Now::Landed(Landed::Final { height })),
            TxStatus::Failed { height, error } => {
                return Ok(Now::Landed(Landed::Failed { height, error }));
            }
            // Evicted from a full mempool: lost, so sent again like a dropped one.
            TxStatus::Evicted { .. } => return Ok(Now::Lost),
            TxStatus::Unknown => tokio::time::sleep(UNKNOWN_PAUSE).await,
        }
    }
    Ok(Now::Lost)
}

/// Where each of `sent` is now, asked a few at a time.
async fn statuses(client: &Client, sent: &[Sent<'_>]) -> anyhow::Result<Vec<Now>> {
    stream::iter(sent.iter().map(|s| now(client, &s.id)))
        .buffered(STATUS_QUERIES)
        .try_collect()
        .await
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
