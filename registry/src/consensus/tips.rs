//! The tips the peers announce in their block sync status messages, read as the network decodes
//! them, so that the node knows how far behind it is: the best height announced by a peer heard
//! from lately. A peer's word, not a proof: a peer may announce a height it does not have.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::{LivenessMsg, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::ValidatorProof;
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};

use super::codec::{CodecError, SigilCodec};
use super::context::{ProposalPart, SigilContext};

/// Peers whose announced tip is kept at most (the oldest is forgotten past it): status messages
/// are decoded before the engine checks who sent them, so their peer ids are not trusted.
const MAX_PEER_TIPS: usize = 256;
/// An announcement counts this long (peers announce every 2 s): a peer gone is forgotten.
const PEER_TIP_TTL: Duration = Duration::from_secs(30);

/// The latest tip each peer announced, shared by the network codec and the metrics.
#[derive(Debug, Default)]
pub struct PeerTips {
    tips: Mutex<BTreeMap<Vec<u8>, (u64, Instant)>>,
}

impl PeerTips {
    /// Peer `peer` announced `height` as its tip.
    pub fn announced(&self, peer: Vec<u8>, height: u64) {
        let now = Instant::now();
        let mut tips = self.tips.lock().expect("peer tips lock");
        tips.retain(|_, (_, at)| now.duration_since(*at) < PEER_TIP_TTL);
        if !tips.contains_key(&peer)
            && tips.len() >= MAX_PEER_TIPS
            && let Some(oldest) = tips
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(p, _)| p.clone())
        {
            tips.remove(&oldest);
        }
        tips.insert(peer, (height, now));
    }

    /// The best tip announced by a peer heard from within the last 30 s.
    pub fn best(&self) -> Option<u64> {
        let now = Instant::now();
        self.tips
            .lock()
            .expect("peer tips lock")
            .values()
            .filter(|(_, at)| now.duration_since(*at) < PEER_TIP_TTL)
            .map(|(height, _)| *height)
            .max()
    }
}

/// The network's codec: [`SigilCodec`], telling `tips` the tip of each status it decodes.
#[derive(Clone, Debug)]
pub struct TipsCodec {
    pub tips: Arc<PeerTips>,
}

impl Codec<Status<SigilContext>> for TipsCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Status<SigilContext>, CodecError> {
        let status: Status<SigilContext> = SigilCodec.decode(bytes)?;
        self.tips
            .announced(status.peer_id.to_bytes(), status.tip_height.0);
        Ok(status)
    }

    fn encode(&self, status: &Status<SigilContext>) -> Result<Bytes, CodecError> {
        SigilCodec.encode(status)
    }
}

/// Implements `Codec<T>` for [`TipsCodec`] as [`SigilCodec`] does.
macro_rules! same_as_sigil {
    ($($ty:ty),* $(,)?) => {$(
        impl Codec<$ty> for TipsCodec {
            type Error = CodecError;

            fn decode(&self, bytes: Bytes) -> Result<$ty, CodecError> {
                SigilCodec.decode(bytes)
            }

            fn encode(&self, msg: &$ty) -> Result<Bytes, CodecError> {
                SigilCodec.encode(msg)
            }
        }
    )*};
}

same_as_sigil!(
    ProposalPart,
    SignedConsensusMsg<SigilContext>,
    LivenessMsg<SigilContext>,
    StreamMessage<ProposalPart>,
    ValidatorProof<SigilContext>,
    Request<SigilContext>,
    Response<SigilContext>,
);

impl HasEncodedLen<Response<SigilContext>> for TipsCodec {
    fn encoded_len(&self, response: &Response<SigilContext>) -> Result<usize, CodecError> {
        SigilCodec.encoded_len(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_tip_is_the_highest_announced_and_the_peers_kept_are_bounded() {
        let tips = PeerTips::default();
        assert_eq!(tips.best(), None);
        tips.announced(b"a".to_vec(), 7);
        tips.announced(b"b".to_vec(), 9);
        tips.announced(b"b".to_vec(), 8);
        assert_eq!(tips.best(), Some(8));
        for i in 0..2 * MAX_PEER_TIPS {
            tips.announced(i.to_be_bytes().to_vec(), 1);
        }
        assert_eq!(tips.tips.lock().unwrap().len(), MAX_PEER_TIPS);
        assert_eq!(tips.best(), Some(1));
    }
}
