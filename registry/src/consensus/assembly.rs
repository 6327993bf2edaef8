//! From a proposal stream to a proposal: the checks of a stream's `Init` on arrival (the
//! round's proposer signed it, for a height and round in the window), and of a complete
//! stream (its shape, the proposer's `Fin` signature, the block it carries).

use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_app_channel::app::consensus::ProposedValue;
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_app_channel::app::types::core::{Context as _, Round, Validity};
use sigil_core::block::Block;
use sigil_core::limits::{MAX_PROPOSAL_HEIGHTS_AHEAD, MAX_PROPOSAL_ROUNDS_AHEAD};
use sigil_core::types::{Hash, PublicKey, decode};

use super::context::{Address, BlockValue, Height, ProposalPart, SigilContext};
use super::signing::{init_signing_bytes, parts_signing_bytes};
use super::stream::{Claim, parts_digest};
use crate::ledger::Ledger;

/// A proposal for a height not yet final, with its block.
#[derive(Clone, BorshSerialize, BorshDeserialize)]
pub(super) struct Undecided {
    pub height: u64,
    pub round: Round,
    pub valid_round: Round,
    pub proposer: PublicKey,
    pub block: Block,
}

impl Undecided {
    pub fn id(&self) -> Hash {
        self.block.header.hash()
    }

    pub fn key(&self) -> (u64, u32, Hash) {
        (self.height, round_u32(self.round), self.id())
    }

    pub fn proposed(&self, validity: Validity) -> ProposedValue<SigilContext> {
        ProposedValue {
            height: Height(self.height),
            round: self.round,
            valid_round: self.valid_round,
            proposer: Address(self.proposer),
            value: BlockValue::new(self.block.header.clone()),
            validity,
        }
    }
}

pub(super) fn round_u32(round: Round) -> u32 {
    round.as_u32().unwrap_or(u32::MAX)
}

/// Whose proposal a stream's `Init` is, if it can be one we will need: for the next height or
/// one a little ahead, in a round not far ahead of ours, by that round's proposer, signed by
/// it for the peer that published the stream.
pub(super) fn judge_init(
    ledger: &Ledger,
    chain_id: &str,
    next: u64,
    current_round: u32,
    init: &ProposalPart,
    author: &PeerId,
) -> Option<Claim> {
    let ProposalPart::Init {
        height,
        round,
        proposer,
        pol_round,
        signature,
    } = init
    else {
        return None;
    };
    let r = round.as_u32()?;
    if height.0 < next || height.0 - next > MAX_PROPOSAL_HEIGHTS_AHEAD {
        return None;
    }
    let from_round = if height.0 == next { current_round } else { 0 };
    if r > from_round.saturating_add(MAX_PROPOSAL_ROUNDS_AHEAD) {
        return None;
    }
    // Heights ahead are judged by today's validators: a set that changes within the window
    // costs a validator that is behind at most a round there.
    let validators = ledger.head_validators().ok()?;
    if SigilContext
        .select_proposer(&validators, *height, *round)
        .key
        != *proposer
    {
        return None;
    }
    let bytes = init_signing_bytes(
        chain_id,
        *height,
        *round,
        *pol_round,
        proposer,
        &author.to_bytes(),
    );
    proposer.verify(&bytes, signature).then_some(Claim {
        height: height.0,
        proposer: **proposer,
    })
}

/// Checks a complete stream's shape and the proposer's `Fin` signature, and decodes the block.
pub(super) fn assemble(
    parts: &[ProposalPart],
    ledger: &Ledger,
    chain_id: &str,
) -> Option<Undecided> {
    let (
        Some(ProposalPart::Init {
            height,
            round,
            proposer,
            pol_round,
            ..
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
    ledger.head_validators().ok()?.power_of(proposer)?;
    let digest = parts_digest(body);
    if !proposer.verify(
        &parts_signing_bytes(chain_id, *height, *round, &digest),
        signature,
    ) {
        return None;
    }
    let block: Block = decode(&bytes).ok()?;
    // A fresh proposal is built by the proposer streaming it; a re-proposal (`pol_round`
    // set) carries the value locked in that round, built by whichever validator proposed
    // it there.
    let builder_ok = if pol_round.is_defined() {
        ledger
            .head_validators()
            .ok()?
            .power_of(&block.header.proposer)
            .is_some()
    } else {
        block.header.proposer == *proposer
    };
    if block.header.height != height.0 || !builder_ok {
        return None;
    }
    Some(Undecided {
        height: height.0,
        round: *round,
        valid_round: *pol_round,
        proposer: **proposer,
        block,
    })
}
