//! The driver: one loop answering what the Malachite engine asks of the application — start a
//! height, propose a block, reassemble and validate other proposals by executing them, commit
//! a decided block with its certificate, serve and accept synced blocks. The ledger's state
//! machine stays pure; this loop is where the store and the network are touched.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::ProposedValue;
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::MisbehaviorEvidence;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, Context as _, ExtendedCommitCertificate, ExtendedCommitSignature,
    LinearTimeouts, NilOrVal, Round, Validity, Value as _, VoteType,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, PeerId};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};

use super::codec::bounded_range;
use super::context::{BlockValue, Height, ProposalPart, SigilContext};
use super::crash::{CrashHook, CrashPoint};
use super::signing::parts_signing_bytes;
use crate::block::{Block, Commit, CommitSig, tx_root};
use crate::error::{Error, Result};
use crate::evidence::{self, Equivocation, EquivocationKind};
use crate::ledger::{Ledger, Prepared};
use crate::limits::{
    MAX_BLOCK_BYTES, MAX_CLOCK_DRIFT_MS, MAX_PROPOSAL_STREAMS, MAX_SYNC_BLOCKS_PER_RESPONSE,
    MAX_TXS_PER_BLOCK, PROPOSAL_PART_BYTES, SYNC_RESPONSE_BUDGET_BYTES,
};
use crate::node::{Node, now_ms};
use crate::store::{Batch, prefix_end};
use crate::types::{Hash, Keypair, PublicKey, decode, encode};

/// Store prefix of proposals seen for heights not yet final (kept across a crash so
/// `StartedRound` can hand them back to the engine).
const UNDECIDED_PREFIX: &[u8] = b"uP";
/// Domain of the digest the proposer signs in a stream's `Fin`.
const PARTS_DIGEST_DOMAIN: &[u8] = b"sigil/proposal-parts-digest/v1";

/// A proposal for a height not yet final, with its block.
#[derive(Clone, BorshSerialize, BorshDeserialize)]
struct Undecided {
    height: u64,
    round: Round,
    valid_round: Round,
    proposer: PublicKey,
    block: Block,
}

impl Undecided {
    fn id(&self) -> Hash {
        self.block.header.hash()
    }

    fn key(&self) -> (u64, u32, Hash) {
        (self.height, round_u32(self.round), self.id())
    }

    fn proposed(&self, validity: Validity) -> ProposedValue<SigilContext> {
        ProposedValue {
            height: Height(self.height),
            round: self.round,
            valid_round: self.valid_round,
            proposer: self.proposer,
            value: BlockValue::new(self.block.header.clone()),
            validity,
        }
    }
}

fn round_u32(round: Round) -> u32 {
    round.as_u32().unwrap_or(u32::MAX)
}

fn undecided_key(height: u64, round: u32, id: &Hash) -> Vec<u8> {
    [
        UNDECIDED_PREFIX,
        &height.to_be_bytes(),
        &round.to_be_bytes(),
        &id.0,
    ]
    .concat()
}

/// The parts of one proposal stream as they arrive, in any order.
#[derive(Default)]
struct PartStream {
    parts: BTreeMap<u64, ProposalPart>,
    fin_sequence: Option<u64>,
    data_bytes: usize,
    height: Option<u64>,
}

/// Parts one stream may have: Init, the block's chunks and Fin.
const MAX_PARTS_PER_STREAM: u64 = (MAX_BLOCK_BYTES / PROPOSAL_PART_BYTES) as u64 + 2;

/// The application side of consensus.
pub(crate) struct App {
    node: Arc<Node>,
    ledger: Arc<Ledger>,
    /// The validator key; `None` on a full node, which never proposes.
    key: Option<Arc<Keypair>>,
    chain_id: String,
    timeouts: LinearTimeouts,
    /// Least time between two blocks (the genesis's `block_interval_ms`); `None` (0) decides
    /// as fast as the network allows.
    target_time: Option<Duration>,
    /// Proposals (ours and others') by (height, round, block id), for heights not yet final.
    undecided: BTreeMap<(u64, u32, Hash), Undecided>,
    /// Validity of blocks executed on the current tip.
    validity: HashMap<Hash, Validity>,
    /// Executions on the current tip, reused when the block is decided.
    prepared: HashMap<Hash, Prepared>,
    streams: HashMap<(PeerId, StreamId), PartStream>,
    /// Whether the last decided block was committed (answers `Finalized`).
    last_commit_ok: bool,
    /// Where tests asked this node to crash, if they did.
    crash: Option<CrashHook>,
}

impl App {
    pub(crate) fn new(
        node: Arc<Node>,
        key: Option<Arc<Keypair>>,
        timeouts: LinearTimeouts,
        crash: Option<CrashHook>,
    ) -> App {
        let ledger = node.ledger().clone();
        let chain_id = ledger.params().chain_id.clone();
        let interval_ms = ledger.params().block_interval_ms;
        let target_time = (interval_ms > 0).then(|| Duration::from_millis(interval_ms));
        App {
            node,
            ledger,
            key,
            chain_id,
            timeouts,
            target_time,
            undecided: BTreeMap::new(),
            validity: HashMap::new(),
            prepared: HashMap::new(),
            streams: HashMap::new(),
            last_commit_ok: true,
            crash,
        }
    }

    fn next_height(&self) -> u64 {
        self.ledger.tip().height + 1
    }

    fn height_params(&self) -> Result<HeightParams<SigilContext>> {
        Ok(HeightParams::new(
            self.ledger.validators()?,
            self.timeouts,
            self.target_time,
        ))
    }

    /// Answers the engine until it stops.
    pub(crate) async fn run(mut self, mut channels: Channels<SigilContext>) -> Result<()> {
        while let Some(msg) = channels.consensus.recv().await {
            self.handle(msg, &channels).await?;
        }
        tracing::info!("consensus engine stopped");
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
                        let validity = self.validate(&u)?;
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
                let key = self.key.clone().ok_or_else(|| {
                    Error::Invalid("consensus asked a full node for a proposal".into())
                })?;
                let proposal = self.build_proposal(&key, height, round)?;
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
            // exactly `block::vote_bytes`), and the block is committed in one flushed batch.
            AppMsg::Decided {
                certificate,
                extensions: _,
                reply,
            } => {
                let height = certificate.height.0;
                self.crash_at(CrashPoint::BeforeCommit, height);
                self.last_commit_ok = match self.commit(&certificate) {
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
                    self.record_evidence(certificate.height.0, &evidence)?;
                }
                let next = Height(self.next_height());
                let params = self.height_params()?;
                let committed =
                    self.last_commit_ok && self.ledger.tip().height >= certificate.height.0;
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
                let outcome = self.synced_value(height, round, proposer, &value_bytes);
                let _ = reply.send(outcome);
            }

            // Only the original proposer can re-sign the stream's `Fin`.
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
                    self.stream(&key, &u, channels).await;
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
            return Err(Error::Invalid(format!(
                "consensus asked for a block at height {height}, but the tip is {}",
                self.ledger.tip().height
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
        self.validity.insert(id, Validity::Valid);
        self.keep(proposal.clone())?;
        Ok(proposal)
    }

    /// Publishes a proposal as a stream: Init, the block in chunks, Fin with our signature.
    async fn stream(&self, key: &Keypair, proposal: &Undecided, channels: &Channels<SigilContext>) {
        let parts = sign_parts(&self.chain_id, key, proposal);
        let stream_id = StreamId::new(Bytes::from(
            [
                proposal.height.to_be_bytes().as_slice(),
                &round_u32(proposal.round).to_be_bytes(),
            ]
            .concat(),
        ));
        let count = parts.len() as u64;
        let messages = parts
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                StreamMessage::new(stream_id.clone(), i as u64, StreamContent::Data(part))
            })
            .chain(std::iter::once(StreamMessage::new(
                stream_id.clone(),
                count,
                StreamContent::Fin,
            )));
        for message in messages {
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

    /// Takes one part; returns the proposed value when it completes a stream for the next height.
    fn receive_part(
        &mut self,
        peer: PeerId,
        message: StreamMessage<ProposalPart>,
    ) -> Result<Option<ProposedValue<SigilContext>>> {
        let key = (peer, message.stream_id.clone());
        if !self.streams.contains_key(&key) && self.streams.len() >= MAX_PROPOSAL_STREAMS {
            let next = self.next_height();
            self.streams
                .retain(|_, s| s.height.is_none_or(|h| h >= next));
            if self.streams.len() >= MAX_PROPOSAL_STREAMS {
                tracing::warn!(%peer, "too many proposal streams at once; dropping a part");
                return Ok(None);
            }
        }
        if message.sequence > MAX_PARTS_PER_STREAM {
            self.streams.remove(&key);
            return Ok(None);
        }
        let stream = self.streams.entry(key.clone()).or_default();
        match message.content {
            StreamContent::Fin => stream.fin_sequence = Some(message.sequence),
            StreamContent::Data(part) => {
                match &part {
                    ProposalPart::Init { height, .. } => stream.height = Some(height.0),
                    ProposalPart::Data(chunk) => stream.data_bytes += chunk.len(),
                    ProposalPart::Fin { .. } => {}
                }
                stream.parts.insert(message.sequence, part);
            }
        }
        if stream.data_bytes > MAX_BLOCK_BYTES {
            tracing::warn!(%peer, "proposal stream exceeds the block size bound; dropped");
            self.streams.remove(&key);
            return Ok(None);
        }
        // Complete when parts 0..fin all arrived (and nothing beyond the end).
        let complete = stream.fin_sequence.is_some_and(|fin| {
            stream.parts.len() as u64 == fin
                && stream
                    .parts
                    .keys()
                    .next_back()
                    .is_some_and(|&last| last + 1 == fin)
        });
        if !complete {
            return Ok(None);
        }
        let stream = self.streams.remove(&key).expect("stream present");
        let parts: Vec<ProposalPart> = stream.parts.into_values().collect();
        let Some(proposal) = self.assemble(&parts) else {
            tracing::warn!(%peer, "dropping a malformed or wrongly signed proposal stream");
            return Ok(None);
        };
        let next = self.next_height();
        if proposal.height < next {
            return Ok(None);
        }
        self.keep(proposal.clone())?;
        if proposal.height > next {
            // Validated when consensus reaches that height (`StartedRound`).
            return Ok(None);
        }
        let validity = self.validate(&proposal)?;
        Ok(Some(proposal.proposed(validity)))
    }

    /// Checks a complete stream's shape and the proposer's `Fin` signature, and decodes the block.
    fn assemble(&self, parts: &[ProposalPart]) -> Option<Undecided> {
        let (
            Some(ProposalPart::Init {
                height,
                round,
                proposer,
                pol_round,
            }),
            Some(ProposalPart::Fin { signature }),
        ) = (parts.first(), parts.last())
        else {
            return None;
        };
        let body = &parts[..parts.len() - 1];
        let mut bytes = Vec::new();
        for part in &body[1..] {
            let ProposalPart::Data(chunk) = part else {
                return None;
            };
            bytes.extend_from_slice(chunk);
        }
        self.ledger.validators().ok()?.power_of(proposer)?;
        let digest = parts_digest(body);
        if !proposer.verify(
            &parts_signing_bytes(&self.chain_id, *height, *round, &digest),
            signature,
        ) {
            return None;
        }
        let block: Block = decode(&bytes).ok()?;
        if block.header.height != height.0 || block.header.proposer != *proposer {
            return None;
        }
        Some(Undecided {
            height: height.0,
            round: *round,
            valid_round: *pol_round,
            proposer: *proposer,
            block,
        })
    }

    /// Whether a proposal is a valid next block: it extends our tip, names the right proposer
    /// and validators, and executing its transactions gives the state root it claims.
    fn validate(&mut self, proposal: &Undecided) -> Result<Validity> {
        let id = proposal.id();
        if let Some(validity) = self.validity.get(&id) {
            return Ok(*validity);
        }
        let verdict = self.check(proposal)?;
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
        self.validity.insert(id, validity);
        Ok(validity)
    }

    fn check(&self, proposal: &Undecided) -> Result<std::result::Result<Prepared, String>> {
        let tip = self.ledger.tip();
        let validators = self.ledger.validators()?;
        let header = &proposal.block.header;
        let expected_proposer = SigilContext
            .select_proposer(&validators, Height(proposal.height), proposal.round)
            .key;
        let now = now_ms();
        let problem = if header.chain_id != self.chain_id {
            Some(format!("it is for chain `{}`", header.chain_id))
        } else if header.height != tip.height + 1 || header.prev_hash != tip.hash {
            Some("it does not extend our tip".to_string())
        } else if proposal.proposer != expected_proposer || header.proposer != expected_proposer {
            Some(format!(
                "{} is not the proposer of this round",
                header.proposer
            ))
        } else if header.validators_hash != validators.hash() {
            Some("it names another validator set".to_string())
        } else if header.time_ms < tip.time_ms {
            Some("its time is before its parent's".to_string())
        } else if header.time_ms > now + MAX_CLOCK_DRIFT_MS {
            Some(format!(
                "its time is {} ms ahead of this validator's clock (at most {MAX_CLOCK_DRIFT_MS} ms allowed)",
                header.time_ms - now
            ))
        } else if proposal.block.txs.len() > MAX_TXS_PER_BLOCK
            || encode(&proposal.block).len() > MAX_BLOCK_BYTES
        {
            Some("it is too large".to_string())
        } else if header.tx_root != tx_root(&proposal.block.txs) {
            Some("its transaction root is wrong".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Ok(Err(problem));
        }
        let ledger = self.ledger.clone();
        let txs = proposal.block.txs.clone();
        let prepared = match blocking(move || ledger.prepare(&txs)) {
            Ok(prepared) => prepared,
            Err(Error::InvalidTx { index, error }) => {
                return Ok(Err(format!("transaction {index} is invalid: {error}")));
            }
            Err(e) => return Err(e),
        };
        if prepared.state_root != header.state_root {
            return Ok(Err(format!(
                "executing it gives state root {}, not {}",
                prepared.state_root, header.state_root
            )));
        }
        let next_validators = prepared
            .next_validators_hash()?
            .unwrap_or(validators.hash());
        if header.next_validators_hash != next_validators {
            return Ok(Err(format!(
                "it hands over to validator set {}, but executing it gives set {next_validators}",
                header.next_validators_hash
            )));
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
            for (first, second) in evidence.proposals.get(&key).into_iter().flatten() {
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
            for (first, second) in evidence.votes.get(&key).into_iter().flatten() {
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

    /// Commits the decided block with the certificate as its `Commit`.
    fn commit(&mut self, certificate: &CommitCertificate<SigilContext>) -> Result<()> {
        let id = certificate.value_id;
        let height = certificate.height.0;
        let block = self
            .undecided
            .values()
            .find(|u| u.height == height && u.id() == id)
            .map(|u| u.block.clone())
            .ok_or_else(|| {
                Error::Invalid(format!(
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
                    validator: s.address,
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
        let tip = blocking(move || node.commit_block(prepared, block, commit))?;
        tracing::info!(height = tip.height, hash = %tip.hash, "block final");
        self.forget_through(height)?;
        Ok(())
    }

    /// Drops proposals, executions and streams of heights that are now final.
    fn forget_through(&mut self, height: u64) -> Result<()> {
        self.undecided = self.undecided.split_off(&(height + 1, 0, Hash::ZERO));
        self.validity.clear();
        self.prepared.clear();
        self.streams
            .retain(|_, s| s.height.is_none_or(|h| h > height));
        let store = self.ledger.store();
        let stale = store.scan(
            UNDECIDED_PREFIX,
            &undecided_key(height + 1, 0, &Hash::ZERO),
            usize::MAX,
        )?;
        if !stale.is_empty() {
            let mut batch = Batch::default();
            for (key, _) in stale {
                batch.delete(key);
            }
            store.apply(batch)?;
        }
        Ok(())
    }

    /// Keeps a proposal in memory and in the store (flushed), so a restart can replay it.
    fn keep(&mut self, proposal: Undecided) -> Result<()> {
        let (height, round, id) = proposal.key();
        if self.undecided.contains_key(&(height, round, id)) {
            return Ok(());
        }
        let mut batch = Batch::default();
        batch.put(undecided_key(height, round, &id), encode(&proposal));
        self.ledger.store().apply(batch)?;
        self.ledger.store().flush()?;
        self.undecided.insert((height, round, id), proposal);
        Ok(())
    }

    fn load_undecided(&mut self) -> Result<()> {
        let tip = self.ledger.tip().height;
        self.forget_through(tip)?;
        let store = self.ledger.store();
        for (_, bytes) in store.scan(UNDECIDED_PREFIX, &prefix_end(UNDECIDED_PREFIX), usize::MAX)? {
            let proposal: Undecided =
                decode(&bytes).map_err(|e| Error::corrupt("undecided proposal", e))?;
            self.undecided.insert(proposal.key(), proposal);
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
                    .map(|s| ExtendedCommitSignature::new(s.validator, s.signature, None))
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
        let outcome = self
            .keep(proposal.clone())
            .and_then(|()| self.validate(&proposal));
        match outcome {
            Ok(validity) => SyncedValueOutcome::Verdict(proposal.proposed(validity)),
            Err(e) => {
                tracing::error!(%height, error = %e, "checking a synced block failed");
                SyncedValueOutcome::LocalTransientError
            }
        }
    }
}

/// The parts of a proposal with the proposer's signature in `Fin`.
fn sign_parts(chain_id: &str, key: &Keypair, proposal: &Undecided) -> Vec<ProposalPart> {
    let mut parts = vec![ProposalPart::Init {
        height: Height(proposal.height),
        round: proposal.round,
        proposer: key.public(),
        pol_round: proposal.valid_round,
    }];
    parts.extend(
        encode(&proposal.block)
            .chunks(PROPOSAL_PART_BYTES)
            .map(|chunk| ProposalPart::Data(chunk.to_vec())),
    );
    let digest = parts_digest(&parts);
    let signature = key.sign(&parts_signing_bytes(
        chain_id,
        Height(proposal.height),
        proposal.round,
        &digest,
    ));
    parts.push(ProposalPart::Fin { signature });
    parts
}

/// blake3 over the encoding of every part before `Fin`.
fn parts_digest(parts: &[ProposalPart]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(PARTS_DIGEST_DOMAIN);
    for part in parts {
        hasher.update(&encode(part));
    }
    Hash(*hasher.finalize().as_bytes())
}

/// Runs store and execution work off the async workers when the runtime allows it.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
