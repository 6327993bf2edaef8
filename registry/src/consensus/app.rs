//! The driver: one loop answering what the Malachite engine asks of the application — start a
//! height, propose a block, reassemble and validate other proposals by executing them, commit
//! a decided block with its certificate, serve and accept synced blocks. The ledger's state
//! machine stays pure; this loop is where the store and the network are touched.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::ProposedValue;
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::MisbehaviorEvidence;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, Context as _, ExtendedCommitCertificate, ExtendedCommitSignature,
    LinearTimeouts, NilOrVal, Round, Validity, Value as _, VoteType,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, PeerId};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};

use super::assembly::{Undecided, assemble, judge_init, round_u32};
use super::codec::bounded_range;
use super::context::{Address, BlockValue, Height, ProposalPart, SigilContext};
use super::crash::{CrashHook, CrashPoint};
use super::miss::MissProposal;
use super::stream::{Streams, proposal_parts, stream_messages};
use crate::error::{Error, Result};
use crate::evidence::{self, Equivocation, EquivocationKind};
use crate::ledger::{Ledger, Prepared};
use crate::node::Node;
use sigil_core::block::{Block, Commit, CommitSig};
use sigil_core::limits::{
    MAX_BLOCK_BYTES, MAX_PROPOSAL_HEIGHTS_AHEAD, MAX_PROPOSALS_PER_ROUND_PROPOSER,
    MAX_SYNC_BLOCKS_PER_RESPONSE, MAX_SYNC_GROUP_BLOCKS, MAX_SYNC_GROUP_BYTES, MAX_TXS_PER_BLOCK,
    SYNC_GROUP_IDLE_MS, SYNC_GROUP_MAX_AGE_MS, SYNC_RESPONSE_BUDGET_BYTES,
};
use sigil_core::time::now_ms;
use sigil_core::types::{Hash, Keypair, PublicKey, decode, encode};

/// The application side of consensus.
pub(crate) struct App {
    node: Arc<Node>,
    ledger: Arc<Ledger>,
    /// The validator key; `None` on a full node, which never proposes.
    key: Option<Arc<Keypair>>,
    /// Our consensus peer id (bytes), which our proposal streams' `Init` is bound to.
    author: Vec<u8>,
    chain_id: String,
    timeouts: LinearTimeouts,
    /// Least time between two blocks (the genesis's `block_interval_ms`); `None` (0) decides
    /// as fast as the network allows.
    target_time: Option<Duration>,
    /// Proposals (ours and others') by (height, round, block id), for heights not yet final.
    undecided: BTreeMap<(u64, u32, Hash), Undecided>,
    /// Validity of blocks executed on the current tip, by block id and whether the block was
    /// judged decided (synced with its certificate, so without this node's clock): a verdict
    /// without the clock never stands for a proposal's.
    validity: HashMap<(Hash, bool), Validity>,
    /// Executions on the current tip, reused when the block is decided.
    prepared: HashMap<Hash, Prepared>,
    /// Proposal streams being reassembled.
    streams: Streams,
    /// The height and round the engine last started (bounds the rounds we reassemble for).
    round: (u64, u32),
    /// Whether the last decided block was committed (answers `Finalized`).
    last_commit_ok: bool,
    /// Where tests asked this node to crash, if they did.
    crash: Option<CrashHook>,
    /// Which round's proposals tests asked this node to miss, if they did.
    miss: Option<MissProposal>,
    /// The last block handed by block sync (height, id), if it is not committed yet.
    synced: Option<(u64, Hash)>,
    /// When the sync group pending in the ledger got its first and its last block.
    group: Option<GroupClock>,
}

/// When a sync group got its first and its last block.
#[derive(Debug, Clone, Copy)]
struct GroupClock {
    started: Instant,
    last: Instant,
}

impl GroupClock {
    /// When the group is flushed if no block fills it first: once block sync paused, or once
    /// its first block waited long enough.
    fn deadline(&self) -> Instant {
        (self.last + Duration::from_millis(SYNC_GROUP_IDLE_MS))
            .min(self.started + Duration::from_millis(SYNC_GROUP_MAX_AGE_MS))
    }
}

impl App {
    pub(crate) fn new(
        node: Arc<Node>,
        key: Option<Arc<Keypair>>,
        author: Vec<u8>,
        timeouts: LinearTimeouts,
        crash: Option<CrashHook>,
        miss: Option<MissProposal>,
    ) -> App {
        let ledger = node.ledger().clone();
        let chain_id = ledger.params().chain_id.clone();
        let interval_ms = ledger.params().block_interval_ms;
        let target_time = (interval_ms > 0).then(|| Duration::from_millis(interval_ms));
        App {
            node,
            ledger,
            key,
            author,
            chain_id,
            timeouts,
            target_time,
            undecided: BTreeMap::new(),
            validity: HashMap::new(),
            prepared: HashMap::new(),
            streams: Streams::default(),
            round: (0, 0),
            last_commit_ok: true,
            crash,
            miss,
            synced: None,
            group: None,
        }
    }

    /// The height after the last block committed (flushed or in the sync group).
    fn next_height(&self) -> u64 {
        self.ledger.head().height + 1
    }

    fn height_params(&self) -> Result<HeightParams<SigilContext>> {
        Ok(HeightParams::new(
            self.ledger.head_validators()?,
            self.timeouts,
            self.pace(),
        ))
    }

    /// The least time the height starting now lasts: one block interval, less half of how
    /// late this height started against one interval after the tip's block time (more, if
    /// early), at most two intervals. The engine measures it from each node's own start of
    /// the height, so a fixed interval would keep forever whatever lag a node had when it
    /// joined or restarted: a validator that always starts late always finds the round's
    /// proposal there before its own. Corrected by the tip's block time, which every node
    /// reads alike, each node's lag halves at every height (halves, so the pace settles
    /// instead of swinging between short and long heights).
    fn pace(&self) -> Option<Duration> {
        let interval_ms = self.target_time?.as_millis() as u64;
        let since_tip = now_ms().saturating_sub(self.ledger.head().time_ms);
        let left = (3 * interval_ms).saturating_sub(since_tip) / 2;
        Some(Duration::from_millis(left.min(2 * interval_ms)))
    }

    /// Answers the engine until it stops. A sync group is flushed when block sync pauses,
    /// even if the engine says nothing more.
    pub(crate) async fn run(mut self, mut channels: Channels<SigilContext>) -> Result<()> {
        loop {
            let msg = match self.group.map(|g| g.deadline()) {
                Some(deadline) => tokio::select! {
                    msg = channels.consensus.recv() => msg,
                    () = tokio::time::sleep_until(deadline.into()) => {
                        self.flush_group()?;
                        continue;
                    }
                },
                None => channels.consensus.recv().await,
            };
            let Some(msg) = msg else { break };
            self.handle(msg, &channels).await?;
        }
        self.flush_group()?;
        tracing::info!("consensus engine stopped");
        Ok(())
    }

    /// Makes the sync group durable and final, if one is pending. A store that cannot write
    /// stops the node: the engine has moved past blocks this node no longer holds.
    fn flush_group(&mut self) -> Result<()> {
        if self.group.take().is_none() {
            return Ok(());
        }
        let node = self.node.clone();
        let tip = blocking(move || node.flush_blocks())?;
        tracing::info!(height = tip.height, hash = %tip.hash, "blocks final (sync group flushed)");
        Ok(())
    }

    async fn handle(
        &mut self,
        msg: AppMsg<SigilContext>,
        channels: &Channels<SigilContext>,
    ) -> Result<()> {
        match msg {
            // The engine is up: start at the height after our tip, with the stored validators.
            // Proposals kept from before a restart come back into memory.
            AppMsg::ConsensusReady { reply } => {
                self.load_undecided()?;
                let start = Height(self.next_height());
                tracing::info!(height = %start, "consensus ready");
                let _ = reply.send((start, self.height_params()?));
            }

            // A round began: hand back every proposal we already hold for it (after a crash,
            // or because its parts arrived before we reached this height).
            AppMsg::StartedRound {
                height,
                round,
                proposer,
                role,
                reply_value,
            } => {
                tracing::debug!(%height, %round, %proposer, ?role, "round started");
                self.round = (height.0, round_u32(round));
                self.node
                    .activity()
                    .started_round(height.0, round_u32(round));
                self.node.metrics().started_round(round_u32(round));
                let held: Vec<Undecided> = self
                    .undecided
                    .range(
                        (height.0, round_u32(round), Hash::ZERO)
                            ..=(height.0, round_u32(round), Hash([0xff; 32])),
                    )
                    .map(|(_, u)| u.clone())
                    .collect();
                let mut values = Vec::new();
                if height.0 == self.next_height() {
                    for u in held {
                        let validity = self.validate(&u, false)?;
                        self.node
                            .activity()
                            .holds_proposal(height.0, round_u32(round), u.id());
                        values.push(u.proposed(validity));
                    }
                }
                let _ = reply_value.send(values);
            }

            // We propose: execute the mempool's transactions on the tip, stream the block,
            // and give consensus its header as the value.
            AppMsg::GetValue {
                height,
                round,
                timeout: _,
                reply,
            } => {
                let key = self
                    .key
                    .clone()
                    .ok_or_else(|| Error::invalid("consensus asked a full node for a proposal"))?;
                let proposal = self.build_proposal(&key, height, round)?;
                self.node
                    .activity()
                    .holds_proposal(height.0, round_u32(round), proposal.id());
                self.stream(&key, &proposal, channels).await;
                let value = BlockValue::new(proposal.block.header.clone());
                let _ = reply.send(LocallyProposedValue::new(height, round, value));
            }

            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let complete = self.receive_part(published_by.unwrap_or(from), part)?;
                let _ = reply.send(complete);
            }

            // Decided: the certificate becomes our `Commit` as it stands (a precommit signs
            // exactly `block::vote_bytes`), and the block is committed in one flushed batch,
            // with the sync group if one is pending. A full node applies blocks from sync to
            // the group instead, flushed when the group is full, when sync pauses, or with the
            // next block decided live (a validator never groups: it may vote on the next
            // height, and its votes must not outlive the blocks they follow).
            AppMsg::Decided {
                certificate,
                extensions: _,
                reply,
            } => {
                let height = certificate.height.0;
                let grouped = self.key.is_none()
                    && self.synced.take() == Some((height, certificate.value_id));
                self.crash_at(CrashPoint::BeforeCommit, height);
                self.last_commit_ok = match self.commit(&certificate, grouped) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(%height, error = %e, "committing a decided block failed");
                        false
                    }
                };
                self.crash_at(CrashPoint::AfterCommit, height);
                let _ = reply.send(());
            }

            AppMsg::Finalized {
                certificate,
                evidence,
                reply,
                ..
            } => {
                if !evidence.is_empty() {
                    self.flush_group()?;
                    self.record_evidence(certificate.height.0, &evidence)?;
                }
                let next = Height(self.next_height());
                let params = self.height_params()?;
                let committed =
                    self.last_commit_ok && self.ledger.head().height >= certificate.height.0;
                let _ = reply.send(if committed {
                    Next::Start(next, params)
                } else {
                    Next::Restart(next, params)
                });
            }

            // Every block from 1 on is kept with its commit.
            AppMsg::GetHistoryMinHeight { reply } => {
                let _ = reply.send(Height(1));
            }

            AppMsg::GetDecidedValues { range, reply } => {
                let values =
                    self.decided_values(bounded_range(range, MAX_SYNC_BLOCKS_PER_RESPONSE))?;
                let _ = reply.send(values);
            }

            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = self.synced_value(height, round, *proposer, &value_bytes);
                let _ = reply.send(outcome);
            }

            // The engine asks the round's proposer to stream again a value it proposes anew:
            // a re-proposal of the value locked in `valid_round` (possibly built by another
            // validator, whose name stays in the header), or its own proposal once it locked
            // on it. We sign as this round's proposer; a value another validator proposed in
            // its own round is its to restream (our signature cannot stand for its).
            AppMsg::RestreamProposal {
                height,
                round,
                valid_round,
                address,
                value_id,
            } => {
                let Some(key) = self.key.clone().filter(|k| k.public() == address) else {
                    return Ok(());
                };
                let found = self
                    .undecided
                    .values()
                    .find(|u| u.height == height.0 && u.id() == value_id)
                    .cloned();
                if let Some(mut u) = found {
                    u.round = round;
                    u.valid_round = valid_round;
                    u.proposer = key.public();
                    self.keep(u.clone())?;
                    self.stream(&key, &u, channels).await;
                } else {
                    tracing::warn!(%height, %round, %value_id, "asked to restream a value we do not hold");
                }
            }

            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }

            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                let verdicts = extensions.into_iter().map(|(a, ())| (a, Ok(()))).collect();
                let _ = reply.send(verdicts);
            }
        }
        Ok(())
    }

    /// Our proposal for (height, round): the one already built for it, or a new block.
    fn build_proposal(&mut self, key: &Keypair, height: Height, round: Round) -> Result<Undecided> {
        let me = key.public();
        let existing = self
            .undecided
            .range(
                (height.0, round_u32(round), Hash::ZERO)
                    ..=(height.0, round_u32(round), Hash([0xff; 32])),
            )
            .map(|(_, u)| u)
            .find(|u| u.proposer == me)
            .cloned();
        if let Some(u) = existing {
            return Ok(u);
        }
        if height.0 != self.next_height() {
            return Err(Error::invalid(format!(
                "consensus asked for a block at height {height}, but the tip is {}",
                self.ledger.head().height
            )));
        }
        // As many mempool transactions as fit in a block.
        let mut budget = MAX_BLOCK_BYTES.saturating_sub(4096);
        let fitting = self
            .node
            .mempool()
            .peek(MAX_TXS_PER_BLOCK, MAX_BLOCK_BYTES)
            .iter()
            .take_while(|tx| {
                let len = encode(*tx).len();
                let fits = len <= budget;
                budget = budget.saturating_sub(len);
                fits
            })
            .count();
        let node = self.node.clone();
        let (prepared, txs) = blocking(move || node.prepare_from_mempool(fitting))?;
        let header = self.ledger.header(&prepared, me, now_ms())?;
        let block = Block { header, txs };
        let proposal = Undecided {
            height: height.0,
            round,
            valid_round: Round::Nil,
            proposer: me,
            block,
        };
        let id = proposal.id();
        self.prepared.insert(id, prepared);
        self.validity.insert((id, false), Validity::Valid);
        self.keep(proposal.clone())?;
        Ok(proposal)
    }

    /// Publishes a proposal as a stream: Init, the block in chunks, Fin with our signature.
    async fn stream(&self, key: &Keypair, proposal: &Undecided, channels: &Channels<SigilContext>) {
        let parts = proposal_parts(
            &self.chain_id,
            key,
            &self.author,
            proposal.height,
            proposal.round,
            proposal.valid_round,
            &proposal.block,
        );
        for message in stream_messages(proposal.height, proposal.round, parts) {
            if channels
                .network
                .send(NetworkMsg::PublishProposalPart(message))
                .await
                .is_err()
            {
                tracing::warn!("the consensus network is gone; proposal not published");
                return;
            }
        }
    }

    /// Takes one part from the gossip source `author`; returns the proposed value when it
    /// completes a stream for the next height. Nothing is kept before the proposer's `Fin`
    /// signature checks.
    fn receive_part(
        &mut self,
        author: PeerId,
        message: StreamMessage<ProposalPart>,
    ) -> Result<Option<ProposedValue<SigilContext>>> {
        let next = self.next_height();
        let current_round = if self.round.0 == next {
            self.round.1
        } else {
            0
        };
        let (ledger, chain_id) = (&self.ledger, &self.chain_id);
        let parts = self.streams.receive(author, message, |init, author| {
            judge_init(ledger, chain_id, next, current_round, init, author)
        });
        let Some(parts) = parts else {
            return Ok(None);
        };
        let Some(proposal) = assemble(&parts, &self.ledger, &self.chain_id) else {
            tracing::warn!(peer = %author, "dropping a malformed or wrongly signed proposal stream");
            return Ok(None);
        };
        let round = round_u32(proposal.round);
        if let Some(hook) = self.miss.filter(|m| m.applies(proposal.height, round)) {
            tracing::warn!(%hook, "dropping this round's proposal on purpose (test hook)");
            return Ok(None);
        }
        if !self.keep(proposal.clone())? || proposal.height > next {
            // Validated when consensus reaches that height (`StartedRound`).
            return Ok(None);
        }
        let validity = self.validate(&proposal, false)?;
        self.node
            .activity()
            .holds_proposal(proposal.height, round, proposal.id());
        Ok(Some(proposal.proposed(validity)))
    }

    /// Whether a proposal is a valid next block: it extends our tip, names the right proposer
    /// and validators, and executing its transactions gives the state root it claims.
    /// `decided`: the block comes with a commit certificate (sync), so the round it was
    /// decided in may be a re-proposal's, whose proposer did not build it.
    fn validate(&mut self, proposal: &Undecided, decided: bool) -> Result<Validity> {
        let id = proposal.id();
        if let Some(validity) = self.validity.get(&(id, decided)) {
            return Ok(*validity);
        }
        // Valid by this node's clock is valid without it.
        if decided && self.validity.get(&(id, false)) == Some(&Validity::Valid) {
            return Ok(Validity::Valid);
        }
        let verdict = self.check(proposal, decided)?;
        let validity = match verdict {
            Ok(prepared) => {
                self.prepared.insert(id, prepared);
                Validity::Valid
            }
            Err(reason) => {
                tracing::warn!(height = proposal.height, proposer = %proposal.proposer, %reason, "invalid proposal");
                Validity::Invalid
            }
        };
        self.validity.insert((id, decided), validity);
        Ok(validity)
    }

    /// The round's rules (who may propose it) here, the block's rules with the ledger
    /// ([`Ledger::block_problem`] at this validator's clock, or without a clock for a decided
    /// block; [`Ledger::execution_problem`]).
    fn check(
        &self,
        proposal: &Undecided,
        decided: bool,
    ) -> Result<std::result::Result<Prepared, String>> {
        let validators = self.ledger.validators()?;
        let header = &proposal.block.header;
        let expected_proposer = SigilContext
            .select_proposer(&validators, Height(proposal.height), proposal.round)
            .key;
        let problem = if proposal.proposer != expected_proposer {
            Some(format!(
                "{} is not the proposer of this round",
                proposal.proposer
            ))
        } else if proposal.valid_round.is_nil() && !decided && header.proposer != expected_proposer
        {
            // A fresh proposal is built by the round's proposer; a re-proposal carries the
            // value locked in an earlier round, built by that round's proposer (the engine
            // accepts it only with a polka for it in `valid_round`).
            Some(format!(
                "its header names {} as proposer, not the round's proposer",
                header.proposer
            ))
        } else {
            let clock = (!decided).then(now_ms);
            self.ledger.block_problem(&proposal.block, clock)?
        };
        if let Some(problem) = problem {
            return Ok(Err(problem));
        }
        let ledger = self.ledger.clone();
        let txs = proposal.block.txs.clone();
        let prepared = match blocking(move || ledger.prepare(&txs)) {
            Ok(prepared) => prepared,
            Err(Error::Core(sigil_core::Error::InvalidTx { index, error })) => {
                return Ok(Err(format!("transaction {index} is invalid: {error}")));
            }
            Err(e) => return Err(e),
        };
        if let Some(problem) = self.ledger.execution_problem(&prepared, header)? {
            return Ok(Err(problem));
        }
        Ok(Ok(prepared))
    }

    /// Keeps the equivocation the engine saw while deciding `height`, one entry per pair of
    /// conflicting messages, and logs each validator caught.
    fn record_evidence(
        &self,
        height: u64,
        evidence: &MisbehaviorEvidence<SigilContext>,
    ) -> Result<()> {
        let mut found = Vec::new();
        for validator in self.ledger.validators_deciding(height)?.validators {
            let key = validator.key;
            for (first, second) in evidence
                .proposals
                .get(Address::of(&key))
                .into_iter()
                .flatten()
            {
                found.push(Equivocation {
                    validator: key,
                    height: first.message.height.0,
                    round: round_u32(first.message.round),
                    kind: EquivocationKind::DoubleProposal,
                    values: [
                        Some(first.message.value.id()),
                        Some(second.message.value.id()),
                    ],
                    signatures: [first.signature, second.signature],
                });
            }
            for (first, second) in evidence.votes.get(Address::of(&key)).into_iter().flatten() {
                let value = |v: &NilOrVal<Hash>| match v {
                    NilOrVal::Val(id) => Some(*id),
                    NilOrVal::Nil => None,
                };
                found.push(Equivocation {
                    validator: key,
                    height: first.message.height.0,
                    round: round_u32(first.message.round),
                    kind: match first.message.vote_type {
                        VoteType::Prevote => EquivocationKind::DoublePrevote,
                        VoteType::Precommit => EquivocationKind::DoublePrecommit,
                    },
                    values: [value(&first.message.value), value(&second.message.value)],
                    signatures: [first.signature, second.signature],
                });
            }
        }
        for e in &found {
            tracing::warn!(validator = %e.validator, height = e.height, round = e.round, kind = ?e.kind, "a validator equivocated; evidence recorded");
        }
        evidence::record(self.ledger.store(), &found)
    }

    /// Aborts here if a test asked this node to crash at `point` of deciding `height`.
    fn crash_at(&self, point: CrashPoint, height: u64) {
        if let Some(hook) = &self.crash {
            hook.check(point, height);
        }
    }

    /// Commits the decided block with the certificate as its `Commit`: flushed at once, or,
    /// `grouped`, to the sync group, flushed once the group is full.
    fn commit(
        &mut self,
        certificate: &CommitCertificate<SigilContext>,
        grouped: bool,
    ) -> Result<()> {
        let id = certificate.value_id;
        let height = certificate.height.0;
        let block = self
            .undecided
            .values()
            .find(|u| u.height == height && u.id() == id)
            .map(|u| u.block.clone())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "decided block {id} at height {height} is unknown here"
                ))
            })?;
        let commit = Commit {
            height,
            round: certificate.round.as_u32().unwrap_or(0),
            block_hash: id,
            signatures: certificate
                .commit_signatures
                .iter()
                .map(|s| CommitSig {
                    validator: *s.address,
                    signature: s.signature,
                })
                .collect(),
        };
        let prepared = match self.prepared.remove(&id) {
            Some(prepared) if prepared.height == height => prepared,
            _ => {
                let ledger = self.ledger.clone();
                let txs = block.txs.clone();
                blocking(move || ledger.prepare(&txs))?
            }
        };
        let node = self.node.clone();
        if grouped {
            blocking(move || node.commit_unflushed(prepared, block, commit))?;
            tracing::debug!(height, "synced block applied to the sync group");
            let now = Instant::now();
            let started = self.group.map_or(now, |g| g.started);
            self.group = Some(GroupClock { started, last: now });
            self.forget_through(height)?;
            let (blocks, bytes) = self.ledger.group_size();
            if blocks > 1 {
                self.crash_at(CrashPoint::InGroup, height);
            }
            let old = now >= started + Duration::from_millis(SYNC_GROUP_MAX_AGE_MS);
            if blocks >= MAX_SYNC_GROUP_BLOCKS || bytes >= MAX_SYNC_GROUP_BYTES || old {
                self.flush_group()?;
            }
        } else {
            // Flushes the sync group too, if one is pending.
            let tip = blocking(move || node.commit_block(prepared, block, commit))?;
            self.group = None;
            tracing::info!(height = tip.height, hash = %tip.hash, "block final");
            self.forget_through(height)?;
        }
        Ok(())
    }

    /// Drops proposals, executions and streams of heights that are now final.
    fn forget_through(&mut self, height: u64) -> Result<()> {
        self.undecided = self.undecided.split_off(&(height + 1, 0, Hash::ZERO));
        self.validity.clear();
        self.prepared.clear();
        self.streams.forget_through(height);
        self.ledger.forget_proposals_through(height)
    }

    /// Keeps a proposal in memory and in the store (flushed), so a restart can replay it, if
    /// it is one we may need (see [`App::admissible`]); returns whether it is kept.
    fn keep(&mut self, proposal: Undecided) -> Result<bool> {
        let (height, round, id) = proposal.key();
        if self.undecided.contains_key(&(height, round, id)) {
            return Ok(true);
        }
        if !self.admissible(&proposal) {
            tracing::debug!(height, round, proposer = %proposal.proposer, "proposal not kept: out of the height window, or its proposer's share of the round is full");
            return Ok(false);
        }
        self.ledger
            .keep_proposal(height, round, &id, encode(&proposal))?;
        self.undecided.insert((height, round, id), proposal);
        Ok(true)
    }

    /// Whether a proposal not held yet may be kept: its height is the next one or at most
    /// [`MAX_PROPOSAL_HEIGHTS_AHEAD`] beyond, and its proposer has fewer than
    /// [`MAX_PROPOSALS_PER_ROUND_PROPOSER`] proposals held for its height and round.
    fn admissible(&self, proposal: &Undecided) -> bool {
        let next = self.next_height();
        if proposal.height < next || proposal.height - next > MAX_PROPOSAL_HEIGHTS_AHEAD {
            return false;
        }
        let round = round_u32(proposal.round);
        let held = self
            .undecided
            .range(
                (proposal.height, round, Hash::ZERO)..=(proposal.height, round, Hash([0xff; 32])),
            )
            .filter(|(_, u)| u.proposer == proposal.proposer)
            .count();
        held < MAX_PROPOSALS_PER_ROUND_PROPOSER
    }

    /// Brings back the proposals kept before a restart: only those [`App::admissible`] now;
    /// the rest are deleted from the store unread.
    fn load_undecided(&mut self) -> Result<()> {
        let tip = self.ledger.head().height;
        self.forget_through(tip)?;
        let ledger = self.ledger.clone();
        let window_end = tip.saturating_add(2 + MAX_PROPOSAL_HEIGHTS_AHEAD);
        let mut dropped = ledger.drop_proposals_from(window_end)?;
        let mut doomed = Vec::new();
        for kept in ledger.kept_proposals_below(window_end)? {
            let proposal: Undecided =
                decode(&kept.bytes).map_err(|e| Error::corrupt("undecided proposal", e))?;
            if self.admissible(&proposal) {
                self.undecided.insert(proposal.key(), proposal);
            } else {
                doomed.push(kept);
            }
        }
        dropped += doomed.len();
        ledger.delete_proposals(doomed)?;
        if dropped > 0 {
            ledger.flush_proposals()?;
            tracing::info!(dropped, "stored proposals out of the height window deleted");
        }
        if !self.undecided.is_empty() {
            tracing::info!(
                count = self.undecided.len(),
                "proposals kept from before the restart"
            );
        }
        Ok(())
    }

    fn decided_values(
        &self,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Vec<RawDecidedValue<SigilContext>>> {
        let mut values = Vec::new();
        let mut bytes = 0;
        for height in range {
            if bytes >= SYNC_RESPONSE_BUDGET_BYTES {
                break;
            }
            let Some(stored) = self.ledger.block(height)? else {
                break;
            };
            let Some(commit) = stored.commit else {
                continue;
            };
            let block = encode(&stored.block);
            bytes += block.len();
            let certificate = ExtendedCommitCertificate {
                height: Height(height),
                round: Round::new(commit.round),
                value_id: commit.block_hash,
                commit_signatures: commit
                    .signatures
                    .into_iter()
                    .map(|s| ExtendedCommitSignature::new(Address(s.validator), s.signature, None))
                    .collect(),
            };
            values.push(RawDecidedValue::new(Bytes::from(block), certificate));
        }
        Ok(values)
    }

    fn synced_value(
        &mut self,
        height: Height,
        round: Round,
        proposer: PublicKey,
        bytes: &[u8],
    ) -> SyncedValueOutcome<SigilContext> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return SyncedValueOutcome::PeerFault;
        }
        let Ok(block) = decode::<Block>(bytes) else {
            return SyncedValueOutcome::PeerFault;
        };
        if block.header.height != height.0 {
            return SyncedValueOutcome::PeerFault;
        }
        if height.0 != self.next_height() {
            return SyncedValueOutcome::LocalTransientError;
        }
        let proposal = Undecided {
            height: height.0,
            round,
            valid_round: Round::Nil,
            proposer,
            block,
        };
        // Held in memory only: it comes with its certificate, and after a crash it is
        // fetched again like any block not in the store.
        self.undecided.insert(proposal.key(), proposal.clone());
        match self.validate(&proposal, true) {
            Ok(validity) => {
                self.node.metrics().synced_block();
                self.synced = Some((height.0, proposal.id()));
                SyncedValueOutcome::Verdict(proposal.proposed(validity))
            }
            Err(e) => {
                tracing::error!(%height, error = %e, "checking a synced block failed");
                SyncedValueOutcome::LocalTransientError
            }
        }
    }
}

/// Runs store and execution work off the async workers when the runtime allows it.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{stored_proposals, undecided_key};
    use crate::store::{Batch, MemStore};
    use malachitebft_app_channel::app::streaming::{StreamContent, StreamId};
    use sigil_core::block::Genesis;
    use sigil_core::limits::MAX_UNCHECKED_PROPOSAL_STREAMS;
    use sigil_core::state::{ChainParams, ValidatorSet};

    const CHAIN: &str = "app-test";

    fn copy(key: &Keypair) -> Keypair {
        Keypair::from_signing_key(key.signing_key().clone())
    }

    /// A fresh consensus peer id.
    fn peer() -> PeerId {
        let key = malachitebft_app_channel::app::types::Keypair::ed25519_from_bytes(
            Keypair::generate().signing_key().to_bytes(),
        )
        .unwrap();
        PeerId::from_bytes(&key.public().to_peer_id().to_bytes()).unwrap()
    }

    /// Four validators' keys, and an app at height 1 run by the validator at `me`.
    fn app(me: usize) -> (Vec<Keypair>, App) {
        let keys: Vec<Keypair> = (0..4).map(|_| Keypair::generate()).collect();
        let genesis = Genesis {
            genesis_time_ms: 0,
            params: ChainParams {
                chain_id: CHAIN.into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: 1,
                reveal_max_blocks: 100,
                name_ttl_blocks: 1000,
                grace_blocks: 10,
                block_interval_ms: 0,
                work: Default::default(),
            },
            validators: ValidatorSet::equal_power(keys.iter().map(Keypair::public)),
        };
        let ledger = Arc::new(Ledger::open(Arc::new(MemStore::default()), genesis, 1000).unwrap());
        let node = Node::for_consensus(ledger);
        let key = Arc::new(copy(&keys[me]));
        let app = App::new(
            node,
            Some(key),
            peer().to_bytes(),
            super::super::context::default_timeouts(),
            None,
            None,
        );
        (keys, app)
    }

    /// The key of the proposer of (`height`, `round`).
    fn proposer(app: &App, keys: &[Keypair], height: u64, round: u32) -> Keypair {
        let validators = app.ledger.validators().unwrap();
        let chosen = SigilContext
            .select_proposer(&validators, Height(height), Round::new(round))
            .key;
        copy(keys.iter().find(|k| k.public() == chosen).unwrap())
    }

    /// The next block as `builder` would build it.
    fn next_block(app: &App, builder: &Keypair) -> Block {
        let prepared = app.ledger.prepare(&[]).unwrap();
        let header = app
            .ledger
            .header(&prepared, builder.public(), now_ms())
            .unwrap();
        Block {
            header,
            txs: Vec::new(),
        }
    }

    /// Feeds a stream by `author` to the app; returns what its last message completed.
    fn feed(
        app: &mut App,
        author: PeerId,
        messages: Vec<StreamMessage<ProposalPart>>,
    ) -> Option<ProposedValue<SigilContext>> {
        let mut last = None;
        for message in messages {
            last = app.receive_part(author, message).unwrap();
        }
        last
    }

    /// A stream of `block` for (`height`, `round`) signed by `key`, published by `author`.
    fn signed_stream(
        key: &Keypair,
        author: PeerId,
        height: u64,
        round: u32,
        pol_round: Round,
        block: &Block,
    ) -> Vec<StreamMessage<ProposalPart>> {
        let parts = proposal_parts(
            CHAIN,
            key,
            &author.to_bytes(),
            height,
            Round::new(round),
            pol_round,
            block,
        );
        stream_messages(height, Round::new(round), parts)
    }

    #[test]
    fn junk_streams_from_many_peers_do_not_crowd_out_the_proposers_stream() {
        let (keys, mut app) = app(0);
        let p = proposer(&app, &keys, 1, 0);
        let p_peer = peer();
        let messages = signed_stream(&p, p_peer, 1, 0, Round::Nil, &next_block(&app, &p));
        // The proposer's Init arrives, then a flood: one-part streams from one peer and from
        // many, forged Inits naming the proposer, and far-future Inits.
        let (first, rest) = messages.split_first().unwrap();
        assert!(feed(&mut app, p_peer, vec![first.clone()]).is_none());
        let rogue = peer();
        for n in 0..10_000u64 {
            let id = StreamId::new(Bytes::from(n.to_be_bytes().to_vec()));
            let part = StreamContent::Data(ProposalPart::Data(vec![1; 64]));
            let sybil = peer();
            app.receive_part(rogue, StreamMessage::new(id.clone(), 1, part.clone()))
                .unwrap();
            app.receive_part(sybil, StreamMessage::new(id, 1, part))
                .unwrap();
        }
        // A stranger's Init naming the proposer, and a replay of the proposer's own Init under
        // another peer id, are dropped on arrival.
        let stranger = Keypair::generate();
        let forged = signed_stream(&stranger, rogue, 1, 0, Round::Nil, &next_block(&app, &p));
        assert!(feed(&mut app, rogue, forged).is_none());
        let mut replay = signed_stream(&p, rogue, 1, 0, Round::Nil, &next_block(&app, &p));
        replay[0].content = first.content.clone();
        assert!(feed(&mut app, rogue, replay).is_none());
        let bound = MAX_UNCHECKED_PROPOSAL_STREAMS + 1;
        assert!(app.streams.len() <= bound, "{} streams", app.streams.len());
        let value = feed(&mut app, p_peer, rest.to_vec()).expect("the proposal completes");
        assert_eq!(value.validity, Validity::Valid);
        assert_eq!(app.undecided.len(), 1);
    }

    #[test]
    fn a_validators_proposals_are_kept_only_within_the_height_window() {
        let (keys, mut app) = app(0);
        let author = peer();
        let mut kept_heights = Vec::new();
        for height in 2..(2 + 3 * MAX_PROPOSAL_HEIGHTS_AHEAD) {
            for round in 0..4 {
                let p = proposer(&app, &keys, height, round);
                let mut block = next_block(&app, &p);
                block.header.height = height;
                feed(
                    &mut app,
                    author,
                    signed_stream(&p, author, height, round, Round::Nil, &block),
                );
            }
        }
        for u in app.undecided.values() {
            kept_heights.push(u.height);
        }
        assert!(!kept_heights.is_empty());
        assert!(
            kept_heights
                .iter()
                .all(|&h| h <= 1 + MAX_PROPOSAL_HEIGHTS_AHEAD),
            "{kept_heights:?}"
        );
        assert_eq!(
            stored_proposals(app.ledger.store()).unwrap(),
            app.undecided.len()
        );
    }

    #[test]
    fn a_restart_reloads_only_proposals_within_the_window() {
        let (keys, mut app) = app(0);
        let p = &keys[1];
        // As a store written before the window existed: proposals for many heights ahead, and
        // many for one round.
        let mut batch = Batch::default();
        for height in 1..500u64 {
            for n in 0..3u64 {
                let mut block = next_block(&app, p);
                block.header.height = height;
                block.header.time_ms = n;
                let u = Undecided {
                    height,
                    round: Round::new(0),
                    valid_round: Round::Nil,
                    proposer: p.public(),
                    block,
                };
                let (h, r, id) = u.key();
                batch.put(undecided_key(h, r, &id), encode(&u));
            }
        }
        app.ledger.store().apply(batch).unwrap();
        app.load_undecided().unwrap();
        let bound = (MAX_PROPOSAL_HEIGHTS_AHEAD as usize + 1) * MAX_PROPOSALS_PER_ROUND_PROPOSER;
        assert_eq!(app.undecided.len(), bound);
        assert_eq!(stored_proposals(app.ledger.store()).unwrap(), bound);
    }

    #[test]
    fn the_next_rounds_proposer_can_re_propose_a_value_another_validator_built() {
        let (keys, mut app) = app(0);
        let p = proposer(&app, &keys, 1, 0);
        let q = proposer(&app, &keys, 1, 1);
        assert_ne!(p.public(), q.public());
        let block = next_block(&app, &p);
        let q_peer = peer();
        // Round 1's proposer re-proposes the value locked in round 0: P built it.
        let value = feed(
            &mut app,
            q_peer,
            signed_stream(&q, q_peer, 1, 1, Round::new(0), &block),
        )
        .expect("the re-proposal is accepted");
        assert_eq!(value.validity, Validity::Valid);
        assert_eq!(value.value.id(), block.header.hash());
        assert_eq!(value.proposer, q.public());
        assert_eq!(value.valid_round, Round::new(0));

        // The same block as a fresh proposal of round 1 is not Q's to propose.
        let (keys, mut app) = self::app(0);
        let p = proposer(&app, &keys, 1, 0);
        let q = proposer(&app, &keys, 1, 1);
        let block = next_block(&app, &p);
        let fresh = feed(
            &mut app,
            q_peer,
            signed_stream(&q, q_peer, 1, 1, Round::Nil, &block),
        );
        assert!(
            fresh.is_none(),
            "a fresh proposal built by another validator"
        );
    }
}
