//! The binary encodings peers and clients send: transactions, blocks, the consensus engine's
//! messages (proposal parts, votes, sync) and the client request-response protocol.

use std::fmt::Debug;

use bytes::Bytes;
use libp2p::StreamProtocol;
use libp2p::request_response::Codec as _;
use malachitebft_app_channel::app::consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use sigil_core::block::{Block, tx_root};
use sigil_core::tx::SignedTx;
use sigil_core::types::{decode, encode};
use sigil_registry::consensus::codec::{CodecError, SigilCodec};
use sigil_registry::consensus::context::{ProposalPart, SigilContext};
use sigil_registry::net::ClientCodec;

use crate::world::{CHAIN_ID, world};

/// A submitted transaction: canonical (decode then encode gives the input), and the stateless
/// checks and the accessors the mempool uses hold on whatever decodes.
pub fn tx(data: &[u8]) {
    let Ok(tx) = SignedTx::from_bytes(data) else {
        return;
    };
    assert_eq!(
        tx.to_bytes(),
        data,
        "a transaction's encoding is not canonical"
    );
    assert_eq!(SignedTx::from_bytes(&tx.to_bytes()).as_ref(), Ok(&tx));
    let _ = tx.check_stateless(CHAIN_ID);
    let _ = (
        tx.id(),
        tx.tx.op.kind(),
        tx.tx.op.name(),
        tx.tx.op.created_entries(),
    );
    let _ = serde_json::to_string(&tx).expect("a transaction shows as JSON");
}

/// A block as a proposal or a synced value carries it: canonical, then judged against the
/// world's tip and, when it could follow it, executed (never committed).
pub fn block(data: &[u8]) {
    let Ok(block) = decode::<Block>(data) else {
        return;
    };
    assert_eq!(encode(&block), data, "a block's encoding is not canonical");
    let _ = (block.header.hash(), tx_root(&block.txs));
    let ledger = &world().ledger;
    let now_ms = 1_800_000_000_000;
    if let Ok(None) = ledger.block_problem(&block, Some(now_ms))
        && let Ok(prepared) = ledger.prepare(&block.txs)
    {
        let _ = ledger.execution_problem(&prepared, &block.header);
    }
}

/// One consensus message of the kind the first byte picks, through the engine's codec: what
/// decodes re-encodes to the same bytes and decodes to the same value.
pub fn consensus(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let bytes = Bytes::copy_from_slice(body);
    match kind % 10 {
        0 => canonical::<ProposalPart>(bytes),
        1 => canonical::<SignedConsensusMsg<SigilContext>>(bytes),
        2 => canonical::<LivenessMsg<SigilContext>>(bytes),
        3 => canonical::<StreamMessage<ProposalPart>>(bytes),
        4 => canonical::<ProposedValue<SigilContext>>(bytes),
        5 => canonical::<PolkaCertificate<SigilContext>>(bytes),
        6 => canonical::<Status<SigilContext>>(bytes),
        7 => canonical::<Request<SigilContext>>(bytes),
        8 => canonical::<ValidatorProof<SigilContext>>(bytes),
        _ => canonical::<Response<SigilContext>>(bytes),
    }
}

/// The consensus kinds in the order of [`consensus`]'s first byte.
pub const CONSENSUS_KINDS: u8 = 10;

fn canonical<T>(bytes: Bytes)
where
    SigilCodec: Codec<T, Error = CodecError>,
    T: PartialEq + Debug,
{
    let Ok(value) = SigilCodec.decode(bytes.clone()) else {
        return;
    };
    let again = SigilCodec
        .encode(&value)
        .expect("a decoded message re-encodes");
    assert_eq!(
        again, bytes,
        "decode then encode changed a consensus message"
    );
    let back: T = SigilCodec
        .decode(again)
        .expect("a re-encoded message decodes");
    assert_eq!(back, value);
}

/// A framed client request (first byte even) or response (odd) read by the node's codec from
/// a stream: what it reads, it writes back as the same frame.
pub fn p2p(data: &[u8]) {
    let Some((&kind, frame)) = data.split_first() else {
        return;
    };
    let protocol = StreamProtocol::new("/sigil/fuzz-chain/client/1");
    futures::executor::block_on(async {
        let mut input = futures::io::Cursor::new(frame);
        let mut output = futures::io::Cursor::new(Vec::new());
        let mut codec = ClientCodec;
        if kind % 2 == 0 {
            let Ok(request) = codec.read_request(&protocol, &mut input).await else {
                return;
            };
            codec
                .write_request(&protocol, &mut output, request)
                .await
                .expect("a request read writes back");
        } else {
            let Ok(response) = codec.read_response(&protocol, &mut input).await else {
                return;
            };
            codec
                .write_response(&protocol, &mut output, response)
                .await
                .expect("a response read writes back");
        }
        let read = input.position() as usize;
        assert_eq!(
            output.into_inner(),
            &frame[..read],
            "a client message is not written back as read"
        );
    });
}
