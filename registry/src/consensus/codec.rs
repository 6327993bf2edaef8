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
use sigil_core::limits::{MAX_CONSENSUS_MESSAGE_BYTES, MAX_SYNC_RESPONSE_BYTES};
use sigil_core::types::{Hash, Signature};

/// Why a message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("message of {len} bytes exceeds the {max}-byte bound")]
    TooLarge { len: usize, max: usize },
    #[error("malformed message: {0}")]
    Malformed(std::io::Error),
}

// The cause is said in the message, not chained again as `source()`.
impl From<std::io::Error> for CodecError {
    fn from(e: std::io::Error) -> Self {
        CodecError::Malformed(e)
    }
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

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use malachitebft_app_channel::app::consensus::ProposedValue;
    use malachitebft_app_channel::app::streaming::{StreamContent, StreamId};
    use malachitebft_app_channel::app::types::Keypair as NetworkKeypair;
    use malachitebft_app_channel::app::types::PeerId;
    use malachitebft_app_channel::app::types::core::{
        NilOrVal, PolkaSignature, RoundCertificate, RoundCertificateType, RoundSignature, Validity,
        VoteType,
    };
    use malachitebft_sync::ValueRequest;

    use super::*;
    use crate::consensus::context::{BlockValue, Proposal, Vote};
    use sigil_core::block::Header;
    use sigil_core::types::Keypair;

    fn key() -> Keypair {
        Keypair::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[7; 32]))
    }

    fn header() -> Header {
        Header {
            chain_id: "sigil-test".into(),
            height: 7,
            time_ms: 1_700_000_000_000,
            prev_hash: Hash([1; 32]),
            tx_root: Hash([2; 32]),
            state_root: Hash([3; 32]),
            validators_hash: Hash([4; 32]),
            next_validators_hash: Hash([4; 32]),
            proposer: key().public(),
        }
    }

    fn signature() -> Signature {
        key().sign(b"message")
    }

    fn vote(vote_type: VoteType, value: NilOrVal<Hash>) -> SignedMessage<SigilContext, Vote> {
        SignedMessage::new(
            Vote {
                vote_type,
                height: Height(7),
                round: Round::new(2),
                value,
                validator: Address(key().public()),
            },
            signature(),
        )
    }

    fn peer_id() -> PeerId {
        let libp2p = NetworkKeypair::ed25519_from_bytes([9; 32])
            .unwrap()
            .public()
            .to_peer_id();
        PeerId::from_bytes(&libp2p.to_bytes()).unwrap()
    }

    fn response(value_bytes: Vec<u8>) -> Response<SigilContext> {
        Response::ValueResponse(ValueResponse::new(
            Height(7),
            vec![RawDecidedValue::new(
                Bytes::from(value_bytes),
                ExtendedCommitCertificate {
                    height: Height(7),
                    round: Round::new(0),
                    value_id: header().hash(),
                    commit_signatures: vec![ExtendedCommitSignature::new(
                        Address(key().public()),
                        signature(),
                        None,
                    )],
                },
            )],
        ))
    }

    /// Encodes and decodes back to the same value; every strict prefix and the encoding with a
    /// trailing byte are errors.
    fn round_trips<T>(value: T)
    where
        SigilCodec: Codec<T, Error = CodecError>,
        T: PartialEq + Debug,
    {
        let bytes = SigilCodec.encode(&value).unwrap();
        let back: T = SigilCodec.decode(bytes.clone()).unwrap();
        assert_eq!(back, value);
        for len in 0..bytes.len() {
            let cut: Result<T, _> = SigilCodec.decode(bytes.slice(..len));
            assert!(cut.is_err(), "{len} of {} bytes decoded", bytes.len());
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        let longer: Result<T, _> = SigilCodec.decode(Bytes::from(longer));
        assert!(longer.is_err(), "a trailing byte was accepted");
    }

    #[test]
    fn every_message_kind_round_trips() {
        let id = header().hash();
        round_trips(ProposalPart::Init {
            height: Height(7),
            round: Round::new(1),
            proposer: Address(key().public()),
            pol_round: Round::Nil,
            signature: signature(),
        });
        round_trips(ProposalPart::Data(vec![1, 2, 3]));
        round_trips(ProposalPart::Fin {
            signature: signature(),
        });
        round_trips(SignedConsensusMsg::<SigilContext>::Vote(vote(
            VoteType::Prevote,
            NilOrVal::Val(id),
        )));
        round_trips(SignedConsensusMsg::<SigilContext>::Vote(vote(
            VoteType::Precommit,
            NilOrVal::Nil,
        )));
        round_trips(SignedConsensusMsg::<SigilContext>::Proposal(
            SignedMessage::new(
                Proposal {
                    height: Height(7),
                    round: Round::new(0),
                    value: BlockValue::new(header()),
                    pol_round: Round::Nil,
                    proposer: Address(key().public()),
                },
                signature(),
            ),
        ));
        let polka = PolkaCertificate::<SigilContext> {
            height: Height(7),
            round: Round::new(1),
            value_id: id,
            polka_signatures: vec![PolkaSignature::new(Address(key().public()), signature())],
        };
        round_trips(polka.clone());
        round_trips(LivenessMsg::<SigilContext>::PolkaCertificate(polka));
        round_trips(LivenessMsg::<SigilContext>::Vote(vote(
            VoteType::Prevote,
            NilOrVal::Nil,
        )));
        round_trips(LivenessMsg::<SigilContext>::SkipRoundCertificate(
            RoundCertificate {
                height: Height(7),
                round: Round::new(3),
                cert_type: RoundCertificateType::Skip,
                round_signatures: vec![RoundSignature {
                    vote_type: VoteType::Precommit,
                    value_id: NilOrVal::Val(id),
                    address: Address(key().public()),
                    signature: signature(),
                }],
            },
        ));
        let stream = StreamId::new(Bytes::from_static(b"\0\0\0\0\0\0\0\x07\0\0\0\0"));
        round_trips(StreamMessage::new(
            stream.clone(),
            0,
            StreamContent::Data(ProposalPart::Data(vec![4; 100])),
        ));
        round_trips(StreamMessage::<ProposalPart>::new(
            stream,
            3,
            StreamContent::Fin,
        ));
        round_trips(ProposedValue::<SigilContext> {
            height: Height(7),
            round: Round::new(0),
            valid_round: Round::Nil,
            proposer: Address(key().public()),
            value: BlockValue::new(header()),
            validity: Validity::Valid,
        });
        round_trips(Status::<SigilContext> {
            peer_id: peer_id(),
            tip_height: Height(9),
            history_min_height: Height(1),
        });
        round_trips(Request::<SigilContext>::ValueRequest(ValueRequest::new(
            Height(3)..=Height(9),
        )));
        round_trips(ValidatorProof::<SigilContext>::new(
            key().public().0.to_vec(),
            peer_id().to_bytes(),
            signature(),
        ));
        round_trips(response(vec![5; 64]));
        round_trips(Response::<SigilContext>::ValueResponse(ValueResponse::new(
            Height(1),
            Vec::new(),
        )));
    }

    #[test]
    fn oversized_messages_are_refused_both_ways() {
        let big = ProposalPart::Data(vec![0; MAX_CONSENSUS_MESSAGE_BYTES]);
        assert!(matches!(
            SigilCodec.encode(&big),
            Err(CodecError::TooLarge { .. })
        ));
        let raw = Bytes::from(vec![0; MAX_CONSENSUS_MESSAGE_BYTES + 1]);
        let decoded: Result<ProposalPart, _> = SigilCodec.decode(raw.clone());
        assert!(matches!(decoded, Err(CodecError::TooLarge { .. })));
        let decoded: Result<SignedConsensusMsg<SigilContext>, _> = SigilCodec.decode(raw);
        assert!(matches!(decoded, Err(CodecError::TooLarge { .. })));

        let huge = response(vec![0; MAX_SYNC_RESPONSE_BYTES]);
        assert!(matches!(
            SigilCodec.encode(&huge),
            Err(CodecError::TooLarge { .. })
        ));
        let raw = Bytes::from(vec![0; MAX_SYNC_RESPONSE_BYTES + 1]);
        let decoded: Result<Response<SigilContext>, _> = SigilCodec.decode(raw);
        assert!(matches!(decoded, Err(CodecError::TooLarge { .. })));
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        // Deterministic noise of many lengths, and lengths that claim far more than follows.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut inputs: Vec<Vec<u8>> = (0..300)
            .map(|i| {
                (0..i % 97)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state as u8
                    })
                    .collect()
            })
            .collect();
        inputs.push(vec![0xff; 64]);
        inputs.push([&[1u8][..], &u32::MAX.to_le_bytes()].concat());
        inputs.push([&[0u8; 1][..], &[0xff; 8]].concat());
        for input in inputs {
            let bytes = Bytes::from(input);
            let _: Result<ProposalPart, _> = SigilCodec.decode(bytes.clone());
            let _: Result<SignedConsensusMsg<SigilContext>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<LivenessMsg<SigilContext>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<StreamMessage<ProposalPart>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<ProposedValue<SigilContext>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<PolkaCertificate<SigilContext>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<Status<SigilContext>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<Request<SigilContext>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<ValidatorProof<SigilContext>, _> = SigilCodec.decode(bytes.clone());
            let _: Result<Response<SigilContext>, _> = SigilCodec.decode(bytes);
        }
        // A length prefix far beyond the input is an error, not a huge allocation.
        let bomb = [&[1u8][..], &u32::MAX.to_le_bytes(), &[0; 16]].concat();
        let decoded: Result<ProposalPart, _> = SigilCodec.decode(Bytes::from(bomb));
        assert!(decoded.is_err());
    }
}
