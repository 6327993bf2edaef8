//! The one codec the engine uses for its WAL, its gossip and its block sync: borsh, with a size
//! bound per message kind, never panicking on bad input. Malachite's own types encode through
//! their `borsh` features; the few without one go through mirror structs here.

use std::ops::RangeInclusive;

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, PolkaCertificate, Round, SignedMessage,
    ValidatorProof,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_sync::ValueResponse;

use super::context::{Address, Height, ProposalPart, SigilContext};
use crate::limits::{MAX_CONSENSUS_MESSAGE_BYTES, MAX_SYNC_RESPONSE_BYTES};
use crate::types::{Hash, Signature};

/// Why a message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("message of {len} bytes exceeds the {max}-byte bound")]
    TooLarge { len: usize, max: usize },
    #[error("malformed message: {0}")]
    Malformed(#[from] std::io::Error),
}

/// Borsh for every message the engine stores or sends.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigilCodec;

fn encode_bounded<T: BorshSerialize>(value: &T, max: usize) -> Result<Bytes, CodecError> {
    let bytes = borsh::to_vec(value)?;
    if bytes.len() > max {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    Ok(Bytes::from(bytes))
}

fn decode_bounded<T: BorshDeserialize>(bytes: &[u8], max: usize) -> Result<T, CodecError> {
    if bytes.len() > max {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    Ok(borsh::from_slice(bytes)?)
}

/// Implements `Codec<T>` by plain borsh for types that implement it.
macro_rules! borsh_codec {
    ($ty:ty, $max:expr) => {
        impl Codec<$ty> for SigilCodec {
            type Error = CodecError;

            fn decode(&self, bytes: Bytes) -> Result<$ty, CodecError> {
                decode_bounded(&bytes, $max)
            }

            fn encode(&self, msg: &$ty) -> Result<Bytes, CodecError> {
                encode_bounded(msg, $max)
            }
        }
    };
}

borsh_codec!(ProposalPart, MAX_CONSENSUS_MESSAGE_BYTES);
borsh_codec!(
    SignedConsensusMsg<SigilContext>,
    MAX_CONSENSUS_MESSAGE_BYTES
);
borsh_codec!(LivenessMsg<SigilContext>, MAX_CONSENSUS_MESSAGE_BYTES);
borsh_codec!(StreamMessage<ProposalPart>, MAX_CONSENSUS_MESSAGE_BYTES);
borsh_codec!(ProposedValue<SigilContext>, MAX_CONSENSUS_MESSAGE_BYTES);
borsh_codec!(PolkaCertificate<SigilContext>, MAX_CONSENSUS_MESSAGE_BYTES);
borsh_codec!(Status<SigilContext>, MAX_CONSENSUS_MESSAGE_BYTES);
borsh_codec!(Request<SigilContext>, MAX_CONSENSUS_MESSAGE_BYTES);

/// Mirror of `ValidatorProof` (it has no borsh of its own).
#[derive(BorshSerialize, BorshDeserialize)]
struct ProofWire {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: Signature,
}

impl Codec<ValidatorProof<SigilContext>> for SigilCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<SigilContext>, CodecError> {
        let wire: ProofWire = decode_bounded(&bytes, MAX_CONSENSUS_MESSAGE_BYTES)?;
        Ok(ValidatorProof::new(
            wire.public_key,
            wire.peer_id,
            wire.signature,
        ))
    }

    fn encode(&self, proof: &ValidatorProof<SigilContext>) -> Result<Bytes, CodecError> {
        let wire = ProofWire {
            public_key: proof.public_key.clone(),
            peer_id: proof.peer_id.clone(),
            signature: proof.signature,
        };
        encode_bounded(&wire, MAX_CONSENSUS_MESSAGE_BYTES)
    }
}

/// Mirror of a sync `Response`: `ExtendedCommitCertificate` has no borsh of its own.
#[derive(BorshSerialize, BorshDeserialize)]
struct ResponseWire {
    start_height: Height,
    values: Vec<DecidedWire>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct DecidedWire {
    value_bytes: Vec<u8>,
    height: Height,
    round: Round,
    value_id: Hash,
    signatures: Vec<CommitSigWire>,
}

/// A commit signature with its (always absent) vote extension.
type CommitSigWire = (Address, Signature, Option<SignedMessage<SigilContext, ()>>);

fn response_to_wire(response: &Response<SigilContext>) -> ResponseWire {
    let Response::ValueResponse(response) = response;
    ResponseWire {
        start_height: response.start_height,
        values: response
            .values
            .iter()
            .map(|v| DecidedWire {
                value_bytes: v.value_bytes.to_vec(),
                height: v.certificate.height,
                round: v.certificate.round,
                value_id: v.certificate.value_id,
                signatures: v
                    .certificate
                    .commit_signatures
                    .iter()
                    .map(|s| (s.address, s.signature, s.extension.clone()))
                    .collect(),
            })
            .collect(),
    }
}

fn response_from_wire(wire: ResponseWire) -> Response<SigilContext> {
    let values = wire
        .values
        .into_iter()
        .map(|v| RawDecidedValue {
            value_bytes: Bytes::from(v.value_bytes),
            certificate: ExtendedCommitCertificate {
                height: v.height,
                round: v.round,
                value_id: v.value_id,
                commit_signatures: v
                    .signatures
                    .into_iter()
                    .map(|(address, signature, extension)| {
                        ExtendedCommitSignature::new(address, signature, extension)
                    })
                    .collect(),
            },
        })
        .collect();
    Response::ValueResponse(ValueResponse {
        start_height: wire.start_height,
        values,
    })
}

impl Codec<Response<SigilContext>> for SigilCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Response<SigilContext>, CodecError> {
        decode_bounded(&bytes, MAX_SYNC_RESPONSE_BYTES).map(response_from_wire)
    }

    fn encode(&self, response: &Response<SigilContext>) -> Result<Bytes, CodecError> {
        encode_bounded(&response_to_wire(response), MAX_SYNC_RESPONSE_BYTES)
    }
}

impl HasEncodedLen<Response<SigilContext>> for SigilCodec {
    fn encoded_len(&self, response: &Response<SigilContext>) -> Result<usize, CodecError> {
        Ok(borsh::object_length(&response_to_wire(response))?)
    }
}

/// Heights a sync request may span, so a peer cannot make us read the whole chain at once.
pub fn bounded_range(range: RangeInclusive<Height>, max_blocks: u64) -> RangeInclusive<u64> {
    let start = range.start().0;
    let end = range
        .end()
        .0
        .min(start.saturating_add(max_blocks.saturating_sub(1)));
    start..=end
}
