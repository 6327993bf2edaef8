//! The network task: one loop that drives the swarm, answers the handle's commands, checks
//! gossiped transactions, serves client requests and re-dials bootstrap peers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, mdns};
use tokio::sync::{mpsc, oneshot, watch};

use super::behaviour::{Behaviour, BehaviourEvent, build_swarm, tx_topic};
use super::codec::{CommittedHeader, Request, Response};
use super::rate::{Charge, PeerBudget};
use super::{ClientRequests, Error, InboundTx, NetConfig, Result};
use crate::signatures::SignatureCache;
use sigil_core::limits::{
    INBOUND_TX_QUEUE, MAX_SERVING_REQUESTS, MAX_TX_BYTES, NET_COMMAND_QUEUE, REDIAL_MAX_MS,
    REDIAL_MIN_MS,
};
use sigil_core::proof::StateProof;
use sigil_core::tx::SignedTx;
use sigil_core::types::Height;

/// How long [`Network::spawn`] waits for the listener to come up.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often bootstrap peers due for a re-dial are looked at.
const REDIAL_TICK: Duration = Duration::from_millis(250);

/// What the network looks like from this node right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetStatus {
    pub listen_addrs: Vec<Multiaddr>,
    /// Peers with at least one connection.
    pub peers: Vec<PeerId>,
    /// Connected peers subscribed to the chain's transaction topic.
    pub gossip_peers: Vec<PeerId>,
}

type Reply<T> = oneshot::Sender<Result<T>>;

enum Command {
    Publish {
        tx: SignedTx,
        reply: Reply<()>,
    },
    Request {
        peer: PeerId,
        request: Request,
        reply: Reply<Response>,
    },
    Stop {
        done: oneshot::Sender<()>,
    },
    /// What the node made of a gossiped transaction.
    Validated {
        message_id: gossipsub::MessageId,
        peer: PeerId,
        verdict: GossipVerdict,
    },
}

/// What the node's admission made of a gossiped transaction, reported back with
/// [`NetHandle::report`]: gossip forwards only accepted transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipVerdict {
    /// Admitted: forward it.
    Accept,
    /// Not admitted here (nonce out of sequence, operation fails on the pending state, not
    /// enough work for this node's load, already pending): drop it, the peer did no wrong.
    Ignore,
    /// Something no honest node forwards: drop it and ban the peer for the reason.
    Reject(String),
}

/// A cheap, cloneable handle to the running network task.
#[derive(Clone)]
pub struct NetHandle {
    local_peer_id: PeerId,
    chain_id: Arc<str>,
    signatures: Arc<SignatureCache>,
    request_timeout: Duration,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<NetStatus>,
}

impl NetHandle {
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// The addresses the node listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.status.borrow().listen_addrs.clone()
    }

    /// Peers with at least one connection.
    pub fn peers(&self) -> Vec<PeerId> {
        self.status.borrow().peers.clone()
    }

    /// Follows the network's status; wait on it with `wait_for` rather than polling.
    pub fn status(&self) -> watch::Receiver<NetStatus> {
        self.status.clone()
    }

    /// Gossips a transaction to the network after checking it as peers will.
    pub async fn publish(&self, tx: SignedTx) -> Result<()> {
        if let Err(e) = self.signatures.check(&tx, &self.chain_id) {
            return Err(Error::InvalidTx {
                id: tx.id(),
                reason: e.to_string(),
            });
        }
        self.call(|reply| Command::Publish { tx, reply }).await
    }

    /// The header at `height` with its commit, from `peer`; `None` if its chain is not that high.
    pub async fn request_header(
        &self,
        peer: PeerId,
        height: Height,
    ) -> Result<Option<CommittedHeader>> {
        match self.request(peer, Request::Header { height }).await? {
            Response::Header(Some(h)) if h.header.height != height => {
                Err(Error::UnexpectedResponse {
                    peer,
                    what: format!("header at height {} for height {height}", h.header.height),
                })
            }
            Response::Header(h) => Ok(h),
            other => Err(unexpected(peer, &other)),
        }
    }

    /// The proof of `name`'s entry (or its absence) at `peer`'s tip. Check it with
    /// [`StateProof::verify`] before believing it.
    pub async fn request_proof(&self, peer: PeerId, name: &str) -> Result<StateProof> {
        let request = Request::NameProof {
            name: name.to_string(),
        };
        match self.request(peer, request).await? {
            Response::NameProof(proof) => Ok(proof),
            other => Err(unexpected(peer, &other)),
        }
    }

    async fn request(&self, peer: PeerId, request: Request) -> Result<Response> {
        // The swarm times the request out itself; this bounds the wait on the task too.
        let wait = self.request_timeout + Duration::from_secs(1);
        let call = self.call(|reply| Command::Request {
            peer,
            request,
            reply,
        });
        match tokio::time::timeout(wait, call).await {
            Ok(Ok(Response::Refused(reason))) => Err(Error::Refused { peer, reason }),
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                peer,
                timeout_ms: wait.as_millis(),
            }),
        }
    }

    /// Reports what admission made of a gossiped transaction: it is forwarded only if
    /// accepted. Until reported (or dropped from gossip's cache) it is not forwarded. If the
    /// network task is too busy to take the report, the transaction is not forwarded.
    pub fn report(&self, inbound: &InboundTx, verdict: GossipVerdict) {
        let command = Command::Validated {
            message_id: inbound.message_id.clone(),
            peer: inbound.from,
            verdict,
        };
        if self.commands.try_send(command).is_err() {
            tracing::debug!(tx = %inbound.id, "network busy; a gossiped transaction is not forwarded");
        }
    }

    /// Stops the network task and waits until its connections are closed.
    pub async fn stop(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Stop { done }).await.is_ok() {
            let _ = wait.await;
        }
    }

    async fn call<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)?
    }
}

fn unexpected(peer: PeerId, response: &Response) -> Error {
    let what = match response {
        Response::Header(_) => "a header".to_string(),
        Response::NameProof(_) => "a name proof".to_string(),
        Response::Refused(reason) => format!("a refusal ({reason})"),
    };
    Error::UnexpectedResponse { peer, what }
}

/// Starts the network task.
pub struct Network;

impl Network {
    /// Listens on `config.listen` (returning once the listener is up), dials the bootstrap
    /// peers and runs until [`NetHandle::stop`] or until every handle is dropped. Gossiped
    /// transactions that pass the stateless checks for `chain_id` arrive on the receiver.
    pub async fn spawn(
        config: NetConfig,
        chain_id: &str,
        serve: Arc<dyn ClientRequests>,
    ) -> Result<(NetHandle, mpsc::Receiver<InboundTx>)> {
        let mut swarm = build_swarm(&config, chain_id)?;
        let topic = tx_topic(chain_id);
        swarm
            .behaviour_mut()
            .gossip
            .subscribe(&topic)
            .map_err(|e| Error::Setup(format!("cannot subscribe to {topic}: {e}")))?;
        swarm
            .listen_on(config.listen.clone())
            .map_err(|e| Error::Listen {
                addr: config.listen.clone(),
                reason: e.to_string(),
            })?;
        let (commands_tx, commands) = mpsc::channel(NET_COMMAND_QUEUE);
        let (inbound, inbound_rx) = mpsc::channel(INBOUND_TX_QUEUE);
        let (served_tx, served) = mpsc::channel(MAX_SERVING_REQUESTS);
        let (status_tx, status) = watch::channel(NetStatus::default());
        let now = Instant::now();
        let handle = NetHandle {
            local_peer_id: *swarm.local_peer_id(),
            chain_id: chain_id.into(),
            signatures: config.signatures.clone(),
            request_timeout: config.request_timeout,
            commands: commands_tx,
            status,
        };
        let mut driver = Driver {
            swarm,
            chain_id: chain_id.to_string(),
            signatures: config.signatures.clone(),
            topic,
            ban_duration: config.ban_duration,
            serve,
            inbound,
            commands,
            served_tx,
            served,
            serving: 0,
            pending: HashMap::new(),
            budgets: HashMap::new(),
            bootstrap: config
                .bootstrap
                .iter()
                .map(|addr| Bootstrap {
                    addr: addr.clone(),
                    peer: None,
                    dialing: None,
                    next_dial: now,
                    backoff: Duration::from_millis(REDIAL_MIN_MS),
                })
                .collect(),
            listen_addrs: Vec::new(),
            status: status_tx,
        };
        tokio::time::timeout(LISTEN_TIMEOUT, driver.wait_listening(&config.listen))
            .await
            .map_err(|_| Error::Listen {
                addr: config.listen.clone(),
                reason: format!("no listener after {} s", LISTEN_TIMEOUT.as_secs()),
            })??;
        driver.redial_due();
        tokio::spawn(driver.run());
        Ok((handle, inbound_rx))
    }
}

/// A bootstrap address and when to dial it next.
struct Bootstrap {
    addr: Multiaddr,
    /// The peer reached at this address while connected.
    peer: Option<PeerId>,
    dialing: Option<ConnectionId>,
    next_dial: Instant,
    backoff: Duration,
}

impl Bootstrap {
    fn retry_later(&mut self, now: Instant) {
        self.next_dial = now + self.backoff;
        self.backoff = (self.backoff * 2).min(Duration::from_millis(REDIAL_MAX_MS));
    }
}

type Served = (ResponseChannel<Response>, Response);

struct Driver {
    swarm: Swarm<Behaviour>,
    chain_id: String,
    signatures: Arc<SignatureCache>,
    topic: IdentTopic,
    ban_duration: Duration,
    serve: Arc<dyn ClientRequests>,
    inbound: mpsc::Sender<InboundTx>,
    commands: mpsc::Receiver<Command>,
    served_tx: mpsc::Sender<Served>,
    served: mpsc::Receiver<Served>,
    /// Client requests being answered on blocking threads.
    serving: usize,
    pending: HashMap<OutboundRequestId, Reply<Response>>,
    budgets: HashMap<PeerId, PeerBudget>,
    bootstrap: Vec<Bootstrap>,
    listen_addrs: Vec<Multiaddr>,
    status: watch::Sender<NetStatus>,
}

impl Driver {
    async fn wait_listening(&mut self, addr: &Multiaddr) -> Result<()> {
        while self.listen_addrs.is_empty() {
            match self.swarm.select_next_some().await {
                SwarmEvent::ListenerClosed { reason: Err(e), .. }
                | SwarmEvent::ListenerError { error: e, .. } => {
                    return Err(Error::Listen {
                        addr: addr.clone(),
                        reason: e.to_string(),
                    });
                }
                event => self.on_swarm_event(event),
            }
        }
        Ok(())
    }

    async fn run(mut self) {
        let mut redial = tokio::time::interval(REDIAL_TICK);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let done = loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Stop { done }) => break Some(done),
                    Some(command) => self.on_command(command),
                    None => break None,
                },
                Some((channel, response)) = self.served.recv() => {
                    self.serving = self.serving.saturating_sub(1);
                    // Fails only if the peer is gone.
                    let _ = self.swarm.behaviour_mut().client.send_response(channel, response);
                }
                _ = redial.tick() => self.redial_due(),
            }
        };
        tracing::info!("network stopped");
        drop(self);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { tx, reply } => {
                let id = tx.id();
                let result = self
                    .swarm
                    .behaviour_mut()
                    .gossip
                    .publish(self.topic.clone(), tx.to_bytes())
                    .map(|_| ())
                    .map_err(|e| Error::Publish {
                        id,
                        reason: e.to_string(),
                    });
                let _ = reply.send(result);
            }
            Command::Request {
                peer,
                request,
                reply,
            } => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .client
                    .send_request(&peer, request);
                self.pending.insert(id, reply);
            }
            Command::Stop { .. } => {}
            Command::Validated {
                message_id,
                peer,
                verdict,
            } => {
                let acceptance = match &verdict {
                    GossipVerdict::Accept => MessageAcceptance::Accept,
                    GossipVerdict::Ignore => MessageAcceptance::Ignore,
                    GossipVerdict::Reject(_) => MessageAcceptance::Reject,
                };
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&message_id, &peer, acceptance);
                if let GossipVerdict::Reject(reason) = verdict {
                    self.ban(peer, &reason);
                }
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        let now = Instant::now();
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Client(event)) => self.on_client(event),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, addr) in found {
                    if !self.swarm.is_connected(&peer) {
                        let opts = DialOpts::peer_id(peer).addresses(vec![addr]).build();
                        if let Err(e) = self.swarm.dial(opts) {
                            tracing::debug!(%peer, "cannot dial a peer found by mdns: {e}");
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(_) => {}
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "network listening");
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| *a != address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "connected");
                for b in &mut self.bootstrap {
                    if b.dialing == Some(connection_id) {
                        b.dialing = None;
                        b.peer = Some(peer_id);
                        b.backoff = Duration::from_millis(REDIAL_MIN_MS);
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                for b in &mut self.bootstrap {
                    if b.dialing == Some(connection_id) {
                        tracing::debug!(addr = %b.addr, "cannot reach bootstrap peer: {error}");
                        b.dialing = None;
                        b.retry_later(now);
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "disconnected");
                self.budgets.remove(&peer_id);
                for b in &mut self.bootstrap {
                    if b.peer == Some(peer_id) {
                        b.peer = None;
                        b.retry_later(now);
                    }
                }
            }
            _ => {}
        }
        self.publish_status();
    }

    fn publish_status(&mut self) {
        let mut peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        peers.sort();
        let hash = self.topic.hash();
        let mut gossip_peers: Vec<PeerId> = self
            .swarm
            .behaviour()
            .gossip
            .all_peers()
            .filter(|(peer, topics)| topics.contains(&&hash) && self.swarm.is_connected(peer))
            .map(|(peer, _)| *peer)
            .collect();
        gossip_peers.sort();
        let status = NetStatus {
            listen_addrs: self.listen_addrs.clone(),
            peers,
            gossip_peers,
        };
        self.status.send_if_modified(|old| {
            if *old == status {
                false
            } else {
                *old = status;
                true
            }
        });
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        for b in &mut self.bootstrap {
            let connected = b.peer.is_some_and(|p| self.swarm.is_connected(&p));
            if connected || b.dialing.is_some() || now < b.next_dial {
                continue;
            }
            let opts = DialOpts::from(b.addr.clone());
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => b.dialing = Some(id),
                Err(e) => {
                    tracing::debug!(addr = %b.addr, "cannot dial bootstrap peer: {e}");
                    b.retry_later(now);
                }
            }
        }
    }

    /// Disconnects a peer and keeps it off for the ban duration.
    fn ban(&mut self, peer: PeerId, reason: &str) {
        tracing::warn!(%peer, "disconnecting peer for {} s: {reason}", self.ban_duration.as_secs());
        self.budgets.remove(&peer);
        self.swarm.behaviour_mut().gate.ban(peer, self.ban_duration);
    }

    fn budget(&mut self, peer: PeerId) -> &mut PeerBudget {
        self.budgets
            .entry(peer)
            .or_insert_with(|| PeerBudget::new(Instant::now()))
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source: peer,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let verdict = match self.budget(peer).gossip(Instant::now()) {
            Charge::Allowed => self.check_gossip(peer, message_id.clone(), &message),
            Charge::Dropped => Verdict::Drop,
            Charge::Abusive => Verdict::Ban("too many gossip messages".into()),
        };
        let (acceptance, ban) = match verdict {
            // Forwarded only once the node's admission accepts it (`NetHandle::report`).
            Verdict::Deliver(inbound) => match self.inbound.try_send(*inbound) {
                Ok(()) => return,
                Err(_) => {
                    tracing::debug!(
                        "inbound transaction queue full; ignoring a gossiped transaction"
                    );
                    (MessageAcceptance::Ignore, None)
                }
            },
            Verdict::Drop => (MessageAcceptance::Ignore, None),
            Verdict::Ban(reason) => (MessageAcceptance::Reject, Some(reason)),
        };
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(&message_id, &peer, acceptance);
        if let Some(reason) = ban {
            self.ban(peer, &reason);
        }
    }

    fn check_gossip(
        &self,
        peer: PeerId,
        message_id: gossipsub::MessageId,
        message: &gossipsub::Message,
    ) -> Verdict {
        if message.topic != self.topic.hash() {
            return Verdict::Ban(format!("gossip on unknown topic {}", message.topic));
        }
        if message.data.len() > MAX_TX_BYTES {
            return Verdict::Ban(format!(
                "gossiped transaction of {} bytes is larger than {MAX_TX_BYTES}",
                message.data.len()
            ));
        }
        let tx = match SignedTx::from_bytes(&message.data) {
            Ok(tx) => tx,
            Err(e) => return Verdict::Ban(format!("gossiped bytes are no transaction: {e}")),
        };
        let id = tx.id();
        if let Err(e) = self.signatures.check(&tx, &self.chain_id) {
            return Verdict::Ban(format!("gossiped transaction {id} is invalid: {e}"));
        }
        Verdict::Deliver(Box::new(InboundTx {
            tx,
            id,
            from: peer,
            message_id,
        }))
    }

    fn on_client(&mut self, event: request_response::Event<Request, Response>) {
        use request_response::{Event, InboundFailure, Message, OutboundFailure};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.on_request(peer, request, channel),
            Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let OutboundFailure::Io(e) = &error
                    && e.kind() == std::io::ErrorKind::InvalidData
                {
                    self.ban(peer, &format!("undecodable response: {e}"));
                }
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(Error::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                if let InboundFailure::Io(e) = &error
                    && e.kind() == std::io::ErrorKind::InvalidData
                {
                    self.ban(peer, &format!("undecodable request: {e}"));
                } else {
                    tracing::debug!(%peer, "inbound request failed: {error}");
                }
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_request(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        let refuse = match self.budget(peer).request(Instant::now()) {
            Charge::Allowed if self.serving >= MAX_SERVING_REQUESTS => {
                Some("the node is busy; try again later")
            }
            Charge::Allowed => None,
            Charge::Dropped => Some("rate limit exceeded; slow down"),
            Charge::Abusive => {
                self.ban(peer, "too many client requests");
                return;
            }
        };
        if let Some(reason) = refuse {
            let _ = self
                .swarm
                .behaviour_mut()
                .client
                .send_response(channel, Response::Refused(reason.into()));
            return;
        }
        self.serving += 1;
        let serve = Arc::clone(&self.serve);
        let done = self.served_tx.clone();
        tokio::task::spawn_blocking(move || {
            let response = answer(serve.as_ref(), request);
            // Fails only if the network task has stopped.
            let _ = done.blocking_send((channel, response));
        });
    }
}

/// What to do with a gossiped message.
enum Verdict {
    Deliver(Box<InboundTx>),
    /// Over the peer's rate: neither delivered nor forwarded.
    Drop,
    /// Invalid or abusive: rejected and the peer disconnected.
    Ban(String),
}

/// Answers one client request from the node's reads; internal failures are logged, not sent.
fn answer(serve: &dyn ClientRequests, request: Request) -> Response {
    let result = match &request {
        Request::Header { height } => serve.header(*height).map(Response::Header),
        Request::NameProof { name } => serve.name_proof(name).map(Response::NameProof),
    };
    match result {
        Ok(response) => response,
        Err(crate::Error::Core(sigil_core::Error::Invalid(reason))) => Response::Refused(reason),
        Err(e) => {
            tracing::error!(?request, "cannot serve a client request: {e}");
            Response::Refused("internal error".into())
        }
    }
}
