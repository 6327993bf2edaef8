//! Sending transactions: stamp with the work the chain (or a node under load) asks, sign with
//! the next nonce, submit (retrying while the node is busy or asks more work), and wait for a
//! transaction to be final or for the chain to reach a height.

use std::time::{Duration, Instant};

use sigil_core::api::ChainStatus;
use sigil_core::api::TxStatus;
use sigil_core::limits::{MAX_API_BODY_BYTES, MAX_SUBMIT_BATCH_TXS};
use sigil_core::tx::{Op, SignedTx, Transaction, WorkParams};
use sigil_core::types::{Hash, Height, Keypair, PublicKey};

use crate::client::{Client, node_code, required_bits};
use crate::progress::Progress;

/// How long one long-poll of a transaction's status may wait at the node.
const LONG_POLL_MS: u64 = 30_000;
/// Longest wait for a transaction to be final or for a height, before the chain is taken as
/// stalled. Everything sent so far stays valid: running the command again picks it up.
const MAX_WAIT: Duration = Duration::from_secs(600);
/// Times a submission is retried while the node says it is busy (about 60 block intervals)...
const BUSY_RETRIES: u32 = 60 * BUSY_PAUSE_DIVISOR;
/// ...a block interval divided by this apart.
const BUSY_PAUSE_DIVISOR: u32 = 4;
/// Times a submission is stamped anew because the node asked for more work.
const WORK_RETRIES: u32 = 16;
/// Most stamp bits sigil computes: 2^32 hashes take minutes on one core. A node asking more
/// is refused with the reason; try another node or later.
const MAX_STAMP_BITS: u32 = 32;
/// A stamp search shows its progress once it takes longer than this.
const QUIET_WORK: Duration = Duration::from_millis(300);
/// A wait says the chain seems stalled after this many block intervals without a block...
const STALL_INTERVALS: u32 = 3;
/// ...and not before this long (a slow block is no stall).
const MIN_STALL: Duration = Duration::from_secs(10);
/// Times an `unknown` status is re-asked before the transaction is taken as lost; covers the
/// instant between a block's commit and the mempool's cleanup.
const UNKNOWN_RETRIES: u32 = 3;

/// Bytes of a batch request besides its transactions' hex (with their quotes and commas).
const BATCH_BODY_OVERHEAD: usize = 64;

/// How often a submission was retried so far, for each reason.
#[derive(Default)]
struct Retries {
    busy: u32,
    more_work: u32,
    renonced: bool,
    waited: bool,
}

/// Signs and submits one key's transactions, keeping track of its nonce.
pub struct Sender<'a> {
    client: &'a Client,
    key: &'a Keypair,
    chain_id: String,
    nonce: u64,
    block_interval: Duration,
    /// The work the chain asks of each kind of transaction.
    work: WorkParams,
    /// The stamp bits the node last asked for under load (0 until it does).
    asked_bits: u32,
    /// Where a long stamp search shows how far it got.
    progress: &'a Progress,
    /// Whether a refusal for more work waits for a block before stamping anew (for a client
    /// that fills the mempool itself; see [`Sender::patient`]).
    patient: bool,
}

impl<'a> Sender<'a> {
    /// A sender for `key` on the chain `status` describes, starting at the key's next nonce.
    /// A long stamp search reports on `progress`.
    pub async fn new(
        client: &'a Client,
        key: &'a Keypair,
        status: &ChainStatus,
        progress: &'a Progress,
    ) -> anyhow::Result<Sender<'a>> {
        let account = client.account(&key.public()).await?;
        Ok(Sender {
            client,
            key,
            chain_id: status.chain_id.clone(),
            nonce: account.next_nonce,
            block_interval: block_interval(status),
            work: status.params.work,
            asked_bits: 0,
            progress,
            patient: false,
        })
    }

    /// Makes a refusal for more work wait for the next block before stamping anew: for a
    /// client that sends enough to fill the node's mempool itself, whose own transactions no
    /// stamp evicts and the next block takes (without it, the work asked would climb with
    /// every refusal).
    pub fn patient(mut self) -> Self {
        self.patient = true;
        self
    }

    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// Stamps `op` with the work asked (the chain's for its kind, or more if the node asked
    /// more) and signs it with the next nonce.
    pub fn sign(&self, op: Op) -> anyhow::Result<SignedTx> {
        self.sign_at(op, self.nonce)
    }

    fn sign_at(&self, op: Op, nonce: u64) -> anyhow::Result<SignedTx> {
        let mut tx = Transaction {
            chain_id: self.chain_id.clone(),
            signer: self.key.public(),
            nonce,
            stamp: 0,
            op,
        };
        let bits = tx.required_bits(&self.work).max(self.asked_bits);
        if bits > MAX_STAMP_BITS {
            anyhow::bail!(
                "the node at {} asks a work stamp of {bits} bits, more than the {MAX_STAMP_BITS} \
                 sigil computes (2^{bits} hashes); it is under heavy load: try again later or \
                 send to another node with --node",
                self.client.base()
            );
        }
        let started = Instant::now();
        let before = self.progress.current_step();
        let mut shown = false;
        tx.find_stamp(bits, |tried| {
            if started.elapsed() >= QUIET_WORK {
                shown = true;
                self.progress.step(format!(
                    "computing a work stamp of {bits} bits: {tried} of about {} hashes tried",
                    1u64 << bits
                ));
            }
            true
        });
        if shown {
            self.progress.step(before);
        }
        Ok(tx.sign(self.key))
    }

    /// Signs and submits `op`; `before` sees each signed transaction just before it is sent
    /// (to save what a crash must not lose). Returns the transaction the node accepted.
    pub async fn send_with(
        &mut self,
        op: Op,
        mut before: impl FnMut(&SignedTx) -> anyhow::Result<()>,
    ) -> anyhow::Result<SignedTx> {
        let mut retries = Retries::default();
        loop {
            let stx = self.sign(op.clone())?;
            before(&stx)?;
            match self.client.submit(&stx).await {
                Ok(_) => {
                    self.nonce += 1;
                    return Ok(stx);
                }
                Err(e) => {
                    if !self.retry_after(&e, &mut retries).await? {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Signs and submits `ops` in order, as many to a request as the node reads in one, with
    /// the retries of [`Sender::send`]. Returns the transactions accepted (for the first ones
    /// of `ops`, in order) and, if the next one was refused for good, why; those after it
    /// were not sent.
    pub async fn send_batch(
        &mut self,
        ops: &[Op],
    ) -> anyhow::Result<(Vec<SignedTx>, Option<anyhow::Error>)> {
        let mut accepted = Vec::with_capacity(ops.len());
        let mut retries = Retries::default();
        while accepted.len() < ops.len() {
            let mut chunk: Vec<SignedTx> = Vec::new();
            let mut bytes = BATCH_BODY_OVERHEAD;
            for op in &ops[accepted.len()..] {
                let stx = self.sign_at(op.clone(), self.nonce + chunk.len() as u64)?;
                let len = 2 * stx.to_bytes().len() + 3;
                if !chunk.is_empty()
                    && (bytes + len > MAX_API_BODY_BYTES || chunk.len() == MAX_SUBMIT_BATCH_TXS)
                {
                    break;
                }
                bytes += len;
                chunk.push(stx);
            }
            let (ids, refused) = self.client.submit_batch(&chunk).await?;
            let admitted = ids.len().min(chunk.len());
            if admitted > 0 {
                retries = Retries::default();
            }
            self.nonce += admitted as u64;
            chunk.truncate(admitted);
            accepted.append(&mut chunk);
            if let Some(e) = refused
                && !self.retry_after(&e, &mut retries).await?
            {
                return Ok((accepted, Some(e)));
            }
        }
        Ok((accepted, None))
    }

    /// After the node refused a transaction with `e`: waits, restamps or takes the node's
    /// nonce and returns true when it is worth sending again, false when it is refused for
    /// good (or the retries are used up).
    async fn retry_after(&mut self, e: &anyhow::Error, r: &mut Retries) -> anyhow::Result<bool> {
        let asked = required_bits(e);
        // The mempool is (nearly) full: a block first, since the transactions filling it may
        // be this key's own, which no stamp evicts and the block takes.
        if self.patient && asked.is_some() && !r.waited && r.busy < BUSY_RETRIES {
            r.waited = true;
            r.busy += 1;
            tokio::time::sleep(self.block_interval).await;
        // Still refused after a block: the node is under load (or the chain asks more than we
        // knew): stamp anew.
        } else if let Some(asked) = asked
            && r.more_work < WORK_RETRIES
        {
            r.waited = false;
            r.more_work += 1;
            self.asked_bits = asked.max(self.asked_bits + 1);
        // This key has as many pending transactions as a node holds, or this client asks too
        // often: wait for a block to take some.
        } else if matches!(node_code(e), Some("busy" | "rate_limited")) && r.busy < BUSY_RETRIES {
            r.busy += 1;
            tokio::time::sleep(self.busy_pause()).await;
        // Another client of this key sent something meanwhile: take the node's nonce.
        } else if node_code(e) == Some("bad_nonce") && !r.renonced {
            r.renonced = true;
            self.nonce = self.client.account(&self.key.public()).await?.next_nonce;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// How long a refused submission waits before it is sent again: a fraction of a block,
    /// so that the room a block makes is used soon.
    fn busy_pause(&self) -> Duration {
        (self.block_interval / BUSY_PAUSE_DIVISOR).max(Duration::from_millis(20))
    }

    pub async fn send(&mut self, op: Op) -> anyhow::Result<SignedTx> {
        self.send_with(op, |_| Ok(())).await
    }
}

/// Where a transaction ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    Final { height: Height },
    Failed { height: Height, error: String },
}

/// Watches the chain's tip during a wait, and says once (on stderr) when no block has come for
/// a while, and what that usually means; and again when blocks come back.
struct StallWatch {
    height: Height,
    /// When the tip reached `height`, as far as we can tell.
    since: Instant,
    /// How long without a block counts as stalled.
    after: Duration,
    said: bool,
}

impl StallWatch {
    fn new(status: &ChainStatus) -> StallWatch {
        let after = (block_interval(status) * STALL_INTERVALS).max(MIN_STALL);
        // The tip's age by the local clock, trusted up to a bound (clocks differ).
        let age = sigil_core::time::now_ms().saturating_sub(status.tip.time_ms);
        let age = Duration::from_millis(age).min(after);
        let now = Instant::now();
        StallWatch {
            height: status.tip.height,
            since: now.checked_sub(age).unwrap_or(now),
            after,
            said: false,
        }
    }

    /// Looks at the tip now.
    fn see(&mut self, status: &ChainStatus) {
        if status.tip.height != self.height {
            if self.said {
                eprintln!(
                    "sigil: blocks are coming again (height {}); still waiting",
                    status.tip.height
                );
                self.said = false;
            }
            self.height = status.tip.height;
            self.since = Instant::now();
            return;
        }
        if !self.said && self.since.elapsed() >= self.after {
            self.said = true;
            eprintln!(
                "sigil: {}; waiting on, up to {} s in all",
                self.stalled(),
                MAX_WAIT.as_secs()
            );
        }
    }

    /// What a stall looks like and usually means.
    fn stalled(&self) -> String {
        format!(
            "no new block for {} (the tip is still at height {}): the chain seems stalled. This \
             usually means validators are down or cannot reach each other, so those voting hold \
             no more than two thirds of the voting power and no block can be decided; \
             `sigil chain status` shows the tip, `sigil localnet status` each local node",
            crate::when::duration(self.since.elapsed().as_secs()),
            self.height
        )
    }

    /// Why a wait that ran out of time ended: the stall if there is one, else `moving`.
    fn verdict(&self, moving: &str) -> String {
        if self.since.elapsed() >= self.after {
            self.stalled()
        } else {
            moving.to_string()
        }
    }
}

/// Waits until transaction `id` is in a final block, applied or failed. Says on stderr when
/// the chain seems stalled meanwhile.
pub async fn wait_landed(client: &Client, id: &Hash) -> anyhow::Result<Landed> {
    let deadline = Instant::now() + MAX_WAIT;
    let mut watch = StallWatch::new(&client.status().await?);
    // Long-polls short enough to notice a stall in time.
    let poll_ms = (watch.after.as_millis() as u64).min(LONG_POLL_MS);
    let mut unknown = 0;
    loop {
        match client.tx_status(id, poll_ms).await?.status {
            TxStatus::Pending if Instant::now() >= deadline => anyhow::bail!(
                "transaction {id} is still pending after {} s at {}: {}; it stays valid: run the \
                 command again later to pick it up",
                MAX_WAIT.as_secs(),
                client.base(),
                watch.verdict(
                    "blocks are being made, but without it; the node may be overloaded, or the \
                     transaction was dropped (`sigil chain status` shows the mempool)"
                )
            ),
            TxStatus::Pending => {
                // A status refused under load only delays the hint.
                if let Ok(status) = client.status().await {
                    watch.see(&status);
                }
            }
            TxStatus::Final { height } => return Ok(Landed::Final { height }),
            TxStatus::Failed { height, error } => return Ok(Landed::Failed { height, error }),
            TxStatus::Evicted { reason } => anyhow::bail!(
                "transaction {id} left the mempool of the node at {} without reaching a block: {reason}",
                client.base()
            ),
            TxStatus::Unknown if unknown < UNKNOWN_RETRIES => {
                unknown += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            TxStatus::Unknown => anyhow::bail!(
                "transaction {id} is no longer known to the node at {} (it left the mempool without \
                 reaching a block, perhaps because the node restarted); run the command again",
                client.base()
            ),
        }
    }
}

/// Waits until transaction `id` applied in a final block; a failure is an error with the
/// node's reason, `what` naming the transaction.
pub async fn wait_final(client: &Client, id: &Hash, what: &str) -> anyhow::Result<Height> {
    match wait_landed(client, id).await? {
        Landed::Final { height } => Ok(height),
        Landed::Failed { height, error } => {
            anyhow::bail!("{what} failed in block {height}: {error} (transaction {id})")
        }
    }
}

/// Waits until the chain's tip is at least `target`, reporting the blocks still to come.
pub async fn wait_height(
    client: &Client,
    target: Height,
    mut remaining: impl FnMut(u64),
) -> anyhow::Result<Height> {
    let deadline = Instant::now() + MAX_WAIT;
    let mut watch: Option<StallWatch> = None;
    loop {
        let status = client.status().await?;
        let height = status.tip.height;
        if height >= target {
            return Ok(height);
        }
        let watch = watch.get_or_insert_with(|| StallWatch::new(&status));
        watch.see(&status);
        if Instant::now() >= deadline {
            anyhow::bail!(
                "the chain at {} is at height {height} after {} s of waiting for height {target}: \
                 {}; run the command again later to go on",
                client.base(),
                MAX_WAIT.as_secs(),
                watch.verdict("blocks are being made, but more slowly than the block interval")
            );
        }
        remaining(target - height);
        let pause =
            (block_interval(&status) / 2).clamp(Duration::from_millis(50), Duration::from_secs(1));
        tokio::time::sleep(pause).await;
    }
}

pub fn block_interval(status: &ChainStatus) -> Duration {
    Duration::from_millis(status.params.block_interval_ms.max(10))
}
