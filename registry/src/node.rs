//! The node: admits transactions into the mempool, commits final blocks and announces the new
//! tip. Blocks come either from the single-validator producer (`run`, for `sigild --dev`) or
//! from the consensus engine (`consensus::start`), which calls `commit_block`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::activity::Activity;
use crate::error::{Error, Result};
use crate::ledger::{Ledger, Prepared};
use crate::mempool::{Mempool, MempoolError};
use crate::metrics::Metrics;
use crate::net::{GossipVerdict, InboundTx, NetHandle};
use sigil_core::api::{MempoolRecheck, NetworkStatus, TxStatus};
use sigil_core::block::Tip;
use sigil_core::block::{Block, Commit};
use sigil_core::error::TxError;
use sigil_core::limits::{MAX_BLOCK_BYTES, MAX_TXS_PER_BLOCK};
use sigil_core::time::now_ms;
use sigil_core::tx::{Op, SignedTx};
use sigil_core::types::{Hash, Keypair};

/// The node's networking as status reports show it; implemented by the swarm
/// (`net::SwarmStatus`), so the node reports it without knowing the swarm.
pub trait NetworkInfo: Send + Sync {
    fn network_status(&self) -> NetworkStatus;
}

pub struct Node {
    ledger: Arc<Ledger>,
    mempool: Mempool,
    /// The key of the single-validator producer; `None` when consensus produces blocks.
    producer: Option<Keypair>,
    /// Where client transactions go to be gossiped, once the network is up.
    relay: OnceLock<mpsc::Sender<SignedTx>>,
    /// Our networking as status reports show it, once it runs.
    network: OnceLock<Box<dyn NetworkInfo>>,
    /// Held while admitting a transaction and while committing a block, so a signer's pending
    /// nonces and the final state never disagree.
    admission: Mutex<()>,
    /// The consensus round and the mempool's last re-check, for `/v1/status`.
    activity: Activity,
    /// The transactions of the blocks committed and not yet flushed (the sync group's).
    unflushed_txs: Mutex<Vec<SignedTx>>,
    /// What `/metrics` reports.
    metrics: Metrics,
}

impl Node {
    /// A node over `ledger` that produces blocks with `validator`, which must be the chain's
    /// only validator.
    pub fn new(ledger: Arc<Ledger>, validator: Keypair) -> Result<Arc<Node>> {
        let validators = ledger.validators()?;
        if validators.validators.len() != 1 || validators.validators[0].key != validator.public() {
            return Err(Error::invalid(format!(
                "key {} is not the single validator of chain `{}`; a chain with several validators needs the consensus engine",
                validator.public(),
                ledger.params().chain_id
            )));
        }
        Ok(Node::build(ledger, Some(validator)))
    }

    /// A node whose blocks come from the consensus engine: it keeps the mempool and the
    /// transaction status and commits what consensus decides.
    pub fn for_consensus(ledger: Arc<Ledger>) -> Arc<Node> {
        Node::build(ledger, None)
    }

    fn build(ledger: Arc<Ledger>, producer: Option<Keypair>) -> Arc<Node> {
        Arc::new(Node {
            ledger,
            mempool: Mempool::default(),
            producer,
            relay: OnceLock::new(),
            network: OnceLock::new(),
            admission: Mutex::new(()),
            activity: Activity::default(),
            unflushed_txs: Mutex::new(Vec::new()),
            metrics: Metrics::default(),
        })
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A receiver that sees every new final tip.
    pub fn subscribe(&self) -> watch::Receiver<Tip> {
        self.ledger.subscribe()
    }

    /// When the tip is the block that changed the validator set, waits (at most `max_wait`)
    /// for the block after it. That tip was signed by the set before the change, while clients
    /// already trust the new one (`/v1/status` reports the set deciding the next block), so a
    /// proof against it would not check; the next block is signed by the new set.
    pub async fn wait_past_handoff(&self, max_wait: Duration) -> Result<()> {
        let mut tips = self.subscribe();
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let tip = self.ledger.tip().height;
            let changed_at_tip = self
                .ledger
                .last_validator_change()?
                .is_some_and(|change| change.height == tip);
            if !changed_at_tip || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            let _ = tokio::time::timeout_at(deadline, tips.changed()).await;
        }
    }

    /// Hands every transaction later submitted through [`Node::submit`] to `relay` (the
    /// network's gossip). A full relay queue drops the copy, not the transaction.
    pub fn relay_to(&self, relay: mpsc::Sender<SignedTx>) {
        let _ = self.relay.set(relay);
    }

    /// Records the node's networking for status reports (`net::SwarmStatus`: our swarm, and
    /// where the consensus engine listens).
    pub fn attach_network(&self, network: impl NetworkInfo + 'static) {
        let _ = self.network.set(Box::new(network));
    }

    /// Where the node listens and whom it is connected to, if it is networked.
    pub fn network_status(&self) -> Option<NetworkStatus> {
        Some(self.network.get()?.network_status())
    }

    /// Admits a transaction from a client and relays it to the network.
    pub fn submit(&self, stx: SignedTx) -> std::result::Result<Hash, MempoolError> {
        let id = self.admit(stx.clone())?;
        if let Some(relay) = self.relay.get()
            && relay.try_send(stx).is_err()
        {
            tracing::warn!(tx = %id, "the gossip queue is full; the transaction stays local until a peer asks");
        }
        Ok(id)
    }

    /// Submits `txs` in order as [`Node::submit`] does, until one is refused: returns the ids
    /// of those admitted and the refusal. The signatures of those whose stamp holds are
    /// verified first, on every core.
    pub fn submit_batch(&self, txs: Vec<SignedTx>) -> (Vec<Hash>, Option<MempoolError>) {
        let work = &self.ledger.params().work;
        let stamped: Vec<SignedTx> = txs
            .iter()
            .filter(|stx| stx.tx.check_work(work).is_ok())
            .cloned()
            .collect();
        self.ledger.signatures().check_block(&stamped);
        let mut ids = Vec::with_capacity(txs.len());
        for stx in txs {
            match self.submit(stx) {
                Ok(id) => ids.push(id),
                Err(e) => return (ids, Some(e)),
            }
        }
        (ids, None)
    }

    /// Checks a transaction and queues it. Refuses, with the reason, anything that could not
    /// apply: too little work in its stamp (for the chain, or for this node under load), bad
    /// signature, wrong chain, a nonce that does not follow the signer's pending ones, or an
    /// operation that fails on the pending state. Gossiped transactions come in here, and
    /// are forwarded only if admitted.
    pub fn admit(&self, stx: SignedTx) -> std::result::Result<Hash, MempoolError> {
        let result = self.check_and_queue(stx);
        if let Err(e) = &result {
            self.metrics.refused(e);
        }
        result
    }

    fn check_and_queue(&self, stx: SignedTx) -> std::result::Result<Hash, MempoolError> {
        let params = self.ledger.params();
        // The stamp first: one hash, cheaper than the signature, so unpaid junk costs little.
        stx.tx.check_work(&params.work)?;
        self.ledger.signatures().check(&stx, &params.chain_id)?;
        // A lone producer signs every block itself: a second validator would stall the chain.
        if self.producer.is_some() && matches!(stx.tx.op, Op::ValidatorVote { .. }) {
            return Err(MempoolError::DevChainValidators);
        }
        let _guard = self.admission.lock().expect("admission lock poisoned");
        let height = self.ledger.tip().height + 1;
        self.mempool
            .add(stx, &self.ledger.latest(), params, height)
            .map_err(internal)?
    }

    /// Admits a transaction a peer gossiped and tells the network what became of it: gossip
    /// forwards only what this node admitted. A stamp below the chain's minimum is something
    /// no node admits, so no honest peer forwards it: that peer is banned. Other refusals
    /// (nonce out of sequence, operation failing on the pending state, this node's load) may
    /// come from a different view of the chain and only drop the transaction.
    pub fn admit_gossiped(
        &self,
        inbound: &InboundTx,
        net: &NetHandle,
    ) -> std::result::Result<Hash, MempoolError> {
        let result = self.admit(inbound.tx.clone());
        let verdict = match &result {
            Ok(_) => GossipVerdict::Accept,
            Err(MempoolError::Invalid(e @ TxError::InsufficientWork { .. })) => {
                GossipVerdict::Reject(format!("gossiped transaction {}: {e}", inbound.id))
            }
            Err(_) => GossipVerdict::Ignore,
        };
        net.report(inbound, verdict);
        result
    }

    pub fn tx_status(&self, id: &Hash) -> Result<TxStatus> {
        if let Some(receipt) = self.ledger.receipt(id)? {
            return Ok(match receipt.error {
                None => TxStatus::Final {
                    height: receipt.height,
                },
                Some(error) => TxStatus::Failed {
                    height: receipt.height,
                    error,
                },
            });
        }
        Ok(if self.mempool.contains(id) {
            TxStatus::Pending
        } else if let Some(reason) = self.mempool.evicted(id) {
            TxStatus::Evicted {
                reason: reason.explain(),
            }
        } else {
            TxStatus::Unknown
        })
    }

    /// Executes the next block from the mempool on the tip: at most `max_txs` transactions,
    /// dropping the pending transactions of any signer whose transaction no longer applies.
    pub fn prepare_from_mempool(&self, max_txs: usize) -> Result<(Prepared, Vec<SignedTx>)> {
        // Room for the block's header and encoding.
        let mut txs = self
            .mempool
            .peek(max_txs, MAX_BLOCK_BYTES.saturating_sub(4096));
        let prepared = loop {
            match self.ledger.prepare(&txs) {
                Ok(prepared) => break prepared,
                // Admission makes this unreachable in practice; if a transaction is invalid
                // anyway, drop its signer's pending ones and build the block without them.
                Err(Error::Core(sigil_core::Error::InvalidTx { index, error })) => {
                    let signer = txs[index].tx.signer;
                    tracing::warn!(%signer, %error, "dropping a pending transaction that can no longer apply");
                    let dropped = self.mempool.drop_signer(&signer, &error.to_string());
                    txs.retain(|t| !dropped.contains(t));
                }
                Err(e) => return Err(e),
            }
        };
        Ok((prepared, txs))
    }

    /// Builds, signs and commits the next block from the mempool (single-validator chains).
    pub fn produce_block(&self) -> Result<Tip> {
        let Some(producer) = &self.producer else {
            return Err(Error::invalid(
                "this node's blocks come from the consensus engine",
            ));
        };
        let (prepared, txs) = self.prepare_from_mempool(MAX_TXS_PER_BLOCK)?;
        let header = self.ledger.header(&prepared, producer.public(), now_ms())?;
        let commit = Commit::sign(&header, 0, producer);
        self.commit_block(prepared, Block { header, txs }, commit)
    }

    /// Commits a final block with its commit certificate (one atomic, flushed batch, with the
    /// sync group if one is pending), drops its transactions from the mempool, re-checks the
    /// rest on the new state and announces the new tip.
    pub fn commit_block(&self, prepared: Prepared, block: Block, commit: Commit) -> Result<Tip> {
        self.commit_unflushed(prepared, block, commit)?;
        self.flush_blocks()
    }

    /// Commits a final block to the sync group ([`Ledger::commit_unflushed`]): nothing a client
    /// sees changes before [`Node::flush_blocks`].
    pub fn commit_unflushed(&self, prepared: Prepared, block: Block, commit: Commit) -> Result<()> {
        let included = block.txs.clone();
        self.ledger.commit_unflushed(prepared, block, commit)?;
        self.unflushed_txs
            .lock()
            .expect("unflushed transactions lock poisoned")
            .extend(included);
        Ok(())
    }

    /// Makes the blocks committed since the last flush durable and final, drops their
    /// transactions from the mempool, re-checks the rest on the new state and announces the
    /// new tip (the tip unchanged if nothing was pending).
    pub fn flush_blocks(&self) -> Result<Tip> {
        let _guard = self.admission.lock().expect("admission lock poisoned");
        let included = std::mem::take(
            &mut *self
                .unflushed_txs
                .lock()
                .expect("unflushed transactions lock poisoned"),
        );
        let before = self.ledger.tip().height;
        if !self.ledger.flush_group()? {
            return Ok(self.ledger.tip());
        }
        let height = self.ledger.tip().height + 1;
        self.metrics
            .finalized(height - 1 - before, included.len() as u64);
        let started = Instant::now();
        match self.mempool.rebuild(
            &included,
            &self.ledger.latest(),
            self.ledger.params(),
            height,
        ) {
            Ok(dropped) => {
                let recheck = MempoolRecheck {
                    height: height - 1,
                    pending: self.mempool.len() + dropped,
                    dropped,
                    micros: started.elapsed().as_micros() as u64,
                };
                tracing::debug!(?recheck, "pending transactions re-checked on the new state");
                self.activity.rechecked(recheck);
            }
            // The blocks are final; the next one re-checks what it takes from the mempool.
            Err(e) => tracing::error!(error = %e, "cannot re-check the pending transactions"),
        }
        Ok(self.ledger.tip())
    }

    /// Produces a block every block interval until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        let interval_ms = self.ledger.params().block_interval_ms.max(10);
        let mut ticker = tokio::time::interval(Duration::from_millis(interval_ms));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            }
            let node = self.clone();
            let tip = tokio::task::spawn_blocking(move || node.produce_block())
                .await
                .map_err(|e| Error::invalid(format!("block production panicked: {e}")))??;
            tracing::debug!(height = tip.height, hash = %tip.hash, "block final");
        }
    }
}

fn internal(e: Error) -> MempoolError {
    tracing::error!(error = %e, "checking a submitted transaction failed");
    MempoolError::Internal(e.to_string())
}
