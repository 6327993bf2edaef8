//! The registry's own libp2p swarm: transaction gossip and client requests (headers, name
//! proofs) between nodes, beside the consensus engine's swarm. Start it with [`Network::spawn`].

mod behaviour;
mod codec;
mod gate;
mod rate;
mod service;
mod status;

use std::sync::Arc;
use std::time::Duration;

pub use libp2p::{Multiaddr, PeerId, identity::Keypair};

use crate::ledger::Ledger;
use crate::signatures::SignatureCache;
use sigil_core::limits::{PEER_BAN_SECS, REQUEST_TIMEOUT_MS};
use sigil_core::name;
use sigil_core::proof::StateProof;
use sigil_core::read::NameReader;
use sigil_core::state::keys;
use sigil_core::tx::SignedTx;
use sigil_core::types::{Hash, Height};

pub use behaviour::tx_topic;
pub use codec::{Codec as ClientCodec, CommittedHeader, Request, Response};
pub(crate) use rate::TokenBucket;
pub use service::{GossipVerdict, NetHandle, NetStatus, Network};
pub use status::SwarmStatus;

/// How the node joins the network.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Where to listen, e.g. `/ip4/0.0.0.0/tcp/26660`.
    pub listen: Multiaddr,
    /// Peers dialed at start and re-dialed, with back-off, whenever the connection drops.
    pub bootstrap: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// The node's network identity.
    pub keypair: Keypair,
    /// How long a client request waits for its response.
    pub request_timeout: Duration,
    /// How long a misbehaving peer is kept off.
    pub ban_duration: Duration,
    /// Where gossiped and published transactions' verified signatures are remembered: the
    /// ledger's ([`Ledger::signatures`]), so admission does not verify them again.
    pub signatures: Arc<SignatureCache>,
}

impl NetConfig {
    /// A configuration with no bootstrap peers, no mDNS and the default limits.
    pub fn new(listen: Multiaddr, keypair: Keypair) -> NetConfig {
        NetConfig {
            listen,
            bootstrap: Vec::new(),
            mdns: false,
            keypair,
            request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS),
            ban_duration: Duration::from_secs(PEER_BAN_SECS),
            signatures: Arc::default(),
        }
    }
}

/// A transaction received by gossip that passed the stateless checks. It is forwarded only
/// after [`NetHandle::report`] says the node admitted it.
#[derive(Debug, Clone)]
pub struct InboundTx {
    pub tx: SignedTx,
    pub id: Hash,
    /// The peer that forwarded it (not necessarily its author).
    pub from: PeerId,
    /// Gossip's id of the message, for the report.
    pub message_id: libp2p::gossipsub::MessageId,
}

/// What can go wrong in the network layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot set up the network: {0}")]
    Setup(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: Multiaddr, reason: String },
    #[error("the network task has stopped")]
    Stopped,
    #[error("cannot publish transaction {id}: {reason}")]
    Publish { id: Hash, reason: String },
    #[error("transaction {id} is invalid: {reason}")]
    InvalidTx { id: Hash, reason: String },
    #[error("request to peer {peer} failed: {reason}")]
    Request { peer: PeerId, reason: String },
    #[error("peer {peer} did not answer within {timeout_ms} ms")]
    Timeout { peer: PeerId, timeout_ms: u128 },
    #[error("peer {peer} refused the request: {reason}")]
    Refused { peer: PeerId, reason: String },
    #[error("peer {peer} sent an unexpected response: {what}")]
    UnexpectedResponse { peer: PeerId, what: String },
}

/// Result alias for the network layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The reads a node serves to its peers' clients. Calls run on a blocking thread.
pub trait ClientRequests: Send + Sync + 'static {
    /// The header at `height` with the commit that made it final (none for genesis);
    /// `None` if the chain is not that high.
    fn header(&self, height: Height) -> crate::Result<Option<CommittedHeader>>;
    /// The proof of a name's entry (or of its absence) at the tip.
    fn name_proof(&self, name: &str) -> crate::Result<StateProof>;
}

impl ClientRequests for Ledger {
    fn header(&self, height: Height) -> crate::Result<Option<CommittedHeader>> {
        // The header's own entry: a header request never reads the block's transactions.
        Ok(self.header_at(height)?.map(|stored| CommittedHeader {
            header: stored.header,
            commit: stored.commit,
        }))
    }

    fn name_proof(&self, input: &str) -> crate::Result<StateProof> {
        let name = name::registrable(input, self.tlds())
            .map_err(|e| crate::Error::invalid(e.to_string()))?;
        self.prove(&keys::name(&name))
    }
}
