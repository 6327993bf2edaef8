//! Proposal streams: the parts a proposer signs and publishes, and the table that reassembles
//! other proposers' streams under bounds no peer can crowd out.
//!
//! A stream is `Init`, the block in `Data` chunks, then `Fin`. `Init` is signed by the proposer
//! it names, bound to the gossip source that publishes it, so it checks on arrival: a stream
//! whose `Init` is not the proposer's own (a stranger's, a replayed one, or for a height or
//! round no proposer could be at) is dropped at once. `Fin` signs the digest of everything
//! before it, checked once the stream is complete. Until its `Init` checks, a stream holds
//! little and is the first to expire.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_app_channel::app::types::core::Round;

use super::context::{Address, Height, ProposalPart};
use super::signing::{init_signing_bytes, parts_signing_bytes};
use sigil_core::block::Block;
use sigil_core::limits::{
    MAX_BLOCK_BYTES, MAX_PROPOSAL_STREAMS_PER_PEER, MAX_PROPOSAL_STREAMS_PER_PROPOSER,
    MAX_UNCHECKED_PROPOSAL_STREAMS, MAX_UNCHECKED_STREAM_BYTES, PROPOSAL_PART_BYTES,
};
use sigil_core::types::{Hash, Keypair, PublicKey, encode};

/// Domain of the digest the proposer signs in a stream's `Fin`.
const PARTS_DIGEST_DOMAIN: &[u8] = b"sigil/proposal-parts-digest/v1";

/// Parts one stream may have: Init, the block's chunks and Fin.
const MAX_PARTS_PER_STREAM: u64 = (MAX_BLOCK_BYTES / PROPOSAL_PART_BYTES) as u64 + 2;

/// Bytes counted for a part that is not a block chunk (`Init`, `Fin`).
const PART_OVERHEAD_BYTES: usize = 256;

/// The parts of a proposal for `block` at (`height`, `round`) by `key`, published by the
/// gossip source `author` (the proposer's consensus peer id): `Init` signed and bound to the
/// author, the block in chunks, and `Fin` signing the digest of all before it.
pub fn proposal_parts(
    chain_id: &str,
    key: &Keypair,
    author: &[u8],
    height: u64,
    round: Round,
    pol_round: Round,
    block: &Block,
) -> Vec<ProposalPart> {
    let proposer = key.public();
    let init_signature = key.sign(&init_signing_bytes(
        chain_id,
        Height(height),
        round,
        pol_round,
        &proposer,
        author,
    ));
    let mut parts = vec![ProposalPart::Init {
        height: Height(height),
        round,
        proposer: Address(proposer),
        pol_round,
        signature: init_signature,
    }];
    parts.extend(
        encode(block)
            .chunks(PROPOSAL_PART_BYTES)
            .map(|chunk| ProposalPart::Data(chunk.to_vec())),
    );
    let digest = parts_digest(&parts);
    let signature = key.sign(&parts_signing_bytes(
        chain_id,
        Height(height),
        round,
        &digest,
    ));
    parts.push(ProposalPart::Fin { signature });
    parts
}

/// The stream messages that publish `parts` for (`height`, `round`): each part in order, then
/// the end-of-stream marker.
pub fn stream_messages(
    height: u64,
    round: Round,
    parts: Vec<ProposalPart>,
) -> Vec<StreamMessage<ProposalPart>> {
    let stream_id = StreamId::new(Bytes::from(
        [
            height.to_be_bytes().as_slice(),
            &round.as_u32().unwrap_or(u32::MAX).to_be_bytes(),
        ]
        .concat(),
    ));
    let count = parts.len() as u64;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| StreamMessage::new(stream_id.clone(), i as u64, StreamContent::Data(part)))
        .chain(std::iter::once(StreamMessage::new(
            stream_id.clone(),
            count,
            StreamContent::Fin,
        )))
        .collect()
}

/// blake3 over the encoding of every part before `Fin`.
pub(crate) fn parts_digest(parts: &[ProposalPart]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(PARTS_DIGEST_DOMAIN);
    for part in parts {
        hasher.update(&encode(part));
    }
    Hash(*hasher.finalize().as_bytes())
}

/// What a checked `Init` claims: whose proposal for which height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    pub height: u64,
    pub proposer: PublicKey,
}

/// The parts of one stream as they arrive, in any order.
struct PartStream {
    parts: BTreeMap<u64, ProposalPart>,
    fin_sequence: Option<u64>,
    bytes: usize,
    /// Set once the stream's `Init` arrived and checked.
    claim: Option<Claim>,
    /// When the stream began, in arrivals: the oldest expires first.
    born: u64,
}

type Key = (PeerId, StreamId);

/// The streams being reassembled, keyed by gossip source and stream id.
#[derive(Default)]
pub(crate) struct Streams {
    table: HashMap<Key, PartStream>,
    arrivals: u64,
}

impl Streams {
    /// Takes one message from `author`; returns the stream's parts once it is complete (its
    /// `Init` checked by `judge`, every part up to `Fin` present). `judge` says whose proposal
    /// an `Init` is, or `None` to drop the stream.
    pub(crate) fn receive(
        &mut self,
        author: PeerId,
        message: StreamMessage<ProposalPart>,
        judge: impl FnOnce(&ProposalPart, &PeerId) -> Option<Claim>,
    ) -> Option<Vec<ProposalPart>> {
        let key = (author, message.stream_id.clone());
        if message.sequence > MAX_PARTS_PER_STREAM {
            self.table.remove(&key);
            return None;
        }
        if !self.table.contains_key(&key) {
            self.make_room_for(&author);
            self.arrivals += 1;
            self.table.insert(
                key.clone(),
                PartStream {
                    parts: BTreeMap::new(),
                    fin_sequence: None,
                    bytes: 0,
                    claim: None,
                    born: self.arrivals,
                },
            );
        }
        let stream = self.table.get_mut(&key).expect("stream present");
        let mut just_claimed = None;
        match message.content {
            StreamContent::Fin => stream.fin_sequence = Some(message.sequence),
            StreamContent::Data(part) => {
                if stream.parts.contains_key(&message.sequence) {
                    return None;
                }
                let is_init = matches!(part, ProposalPart::Init { .. });
                if is_init != (message.sequence == 0) {
                    self.table.remove(&key);
                    return None;
                }
                if is_init {
                    match judge(&part, &author) {
                        Some(claim) => {
                            stream.claim = Some(claim);
                            just_claimed = Some(claim.proposer);
                        }
                        None => {
                            self.table.remove(&key);
                            return None;
                        }
                    }
                }
                stream.bytes += match &part {
                    ProposalPart::Data(chunk) => chunk.len(),
                    _ => PART_OVERHEAD_BYTES,
                };
                stream.parts.insert(message.sequence, part);
            }
        }
        let bound = if stream.claim.is_some() {
            MAX_BLOCK_BYTES + 2 * PART_OVERHEAD_BYTES
        } else {
            MAX_UNCHECKED_STREAM_BYTES
        };
        if stream.bytes > bound {
            tracing::debug!(peer = %author, "proposal stream exceeds its size bound; dropped");
            self.table.remove(&key);
            return None;
        }
        if let Some(proposer) = just_claimed {
            self.cap_proposer(proposer);
            if !self.table.contains_key(&key) {
                return None;
            }
        }
        let stream = &self.table[&key];
        // Complete when parts 0..fin all arrived (and nothing beyond the end).
        let complete = stream.claim.is_some()
            && stream.fin_sequence.is_some_and(|fin| {
                stream.parts.len() as u64 == fin
                    && stream
                        .parts
                        .keys()
                        .next_back()
                        .is_some_and(|&last| last + 1 == fin)
            });
        if !complete {
            return None;
        }
        let stream = self.table.remove(&key).expect("stream present");
        Some(stream.parts.into_values().collect())
    }

    /// Before a new stream of `author` begins: expires its oldest if it has its share, and the
    /// oldest unchecked stream if they are at their bound.
    fn make_room_for(&mut self, author: &PeerId) {
        let own = self.oldest(MAX_PROPOSAL_STREAMS_PER_PEER, |k, _| &k.0 == author);
        if let Some(key) = own {
            self.table.remove(&key);
        }
        let unchecked = self.oldest(MAX_UNCHECKED_PROPOSAL_STREAMS, |_, s| s.claim.is_none());
        if let Some(key) = unchecked {
            self.table.remove(&key);
        }
    }

    /// The oldest stream matching `filter` if at least `bound` match.
    fn oldest(&self, bound: usize, filter: impl Fn(&Key, &PartStream) -> bool) -> Option<Key> {
        let matching: Vec<(&Key, &PartStream)> =
            self.table.iter().filter(|(k, s)| filter(k, s)).collect();
        if matching.len() < bound {
            return None;
        }
        matching
            .into_iter()
            .min_by_key(|(_, s)| s.born)
            .map(|(k, _)| k.clone())
    }

    /// Keeps at most [`MAX_PROPOSAL_STREAMS_PER_PROPOSER`] checked streams naming `proposer`,
    /// dropping the one for the furthest height (the newest among those).
    fn cap_proposer(&mut self, proposer: PublicKey) {
        loop {
            let named: Vec<(&Key, &PartStream)> = self
                .table
                .iter()
                .filter(|(_, s)| s.claim.is_some_and(|c| c.proposer == proposer))
                .collect();
            if named.len() <= MAX_PROPOSAL_STREAMS_PER_PROPOSER {
                return;
            }
            let worst = named
                .into_iter()
                .max_by_key(|(_, s)| (s.claim.map_or(0, |c| c.height), s.born))
                .map(|(k, _)| k.clone())
                .expect("streams present");
            self.table.remove(&worst);
        }
    }

    /// Drops every stream for a height up to `height`, and every stream whose `Init` has not
    /// arrived: the height moved on.
    pub(crate) fn forget_through(&mut self, height: u64) {
        self.table
            .retain(|_, s| s.claim.is_some_and(|c| c.height > height));
    }

    /// Streams being reassembled.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}
