//! A connection gate: keeps banned peers off for a while (closing their connections at once) and
//! bounds the number of established connections.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::{
    CloseConnection, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};

use sigil_core::limits::{MAX_BANNED_PEERS, MAX_CONNECTIONS};

#[derive(Debug, thiserror::Error)]
#[error("peer {0} is banned")]
struct Banned(PeerId);

#[derive(Debug, thiserror::Error)]
#[error("the node already has {0} connections")]
struct TooManyConnections(usize);

#[derive(Default)]
pub struct Behaviour {
    banned: HashMap<PeerId, Instant>,
    /// Ban order, to forget the oldest when the table is full.
    order: VecDeque<PeerId>,
    established: HashSet<ConnectionId>,
    to_close: VecDeque<PeerId>,
    waker: Option<Waker>,
}

impl Behaviour {
    /// Closes every connection to `peer` and refuses new ones for `duration`.
    pub fn ban(&mut self, peer: PeerId, duration: Duration) {
        let until = Instant::now() + duration;
        if self.banned.insert(peer, until).is_none() {
            self.order.push_back(peer);
        }
        while self.banned.len() > MAX_BANNED_PEERS {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.banned.remove(&oldest);
                }
                None => break,
            }
        }
        self.to_close.push_back(peer);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    pub fn is_banned(&mut self, peer: &PeerId) -> bool {
        match self.banned.get(peer) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                self.banned.remove(peer);
                self.order.retain(|p| p != peer);
                false
            }
            None => false,
        }
    }

    fn admit(&mut self, peer: PeerId) -> Result<dummy::ConnectionHandler, ConnectionDenied> {
        if self.is_banned(&peer) {
            return Err(ConnectionDenied::new(Banned(peer)));
        }
        if self.established.len() >= MAX_CONNECTIONS {
            return Err(ConnectionDenied::new(TooManyConnections(
                self.established.len(),
            )));
        }
        Ok(dummy::ConnectionHandler)
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(peer)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        match peer {
            Some(peer) if self.is_banned(&peer) => Err(ConnectionDenied::new(Banned(peer))),
            _ => Ok(vec![]),
        }
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(peer)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                self.established.insert(e.connection_id);
            }
            FromSwarm::ConnectionClosed(e) => {
                self.established.remove(&e.connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        libp2p::core::util::unreachable(event)
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        if let Some(peer_id) = self.to_close.pop_front() {
            return Poll::Ready(ToSwarm::CloseConnection {
                peer_id,
                connection: CloseConnection::All,
            });
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
