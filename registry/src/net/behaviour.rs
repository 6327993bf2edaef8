//! The composed behaviour (gate, identify, ping, gossipsub, client request-response, optional
//! mDNS) and the swarm over TCP, noise and yamux.

use std::time::Duration;

use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, Swarm, SwarmBuilder, gossipsub, identify, mdns, noise, ping, request_response,
    tcp, yamux,
};

use super::codec::Codec;
use super::{Error, NetConfig, Result, gate};
use sigil_core::limits::{MAX_GOSSIP_FRAME_BYTES, MAX_STREAMS_PER_CONNECTION};
use sigil_core::types::Hash;

/// Connections with nothing to do are closed after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub gate: gate::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub gossip: gossipsub::Behaviour,
    pub client: request_response::Behaviour<Codec>,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
}

/// The gossip topic of a chain's transactions (version 2: messages carry no author signature).
pub fn tx_topic(chain_id: &str) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(format!("/sigil/{chain_id}/txs/2"))
}

/// The client protocol of a chain, so nodes of different chains never serve each other.
pub fn client_protocol(chain_id: &str) -> Result<StreamProtocol> {
    StreamProtocol::try_from_owned(format!("/sigil/{chain_id}/client/1"))
        .map_err(|e| Error::Setup(format!("chain id `{chain_id}` makes no protocol name: {e}")))
}

fn setup(e: impl std::fmt::Display) -> Error {
    Error::Setup(e.to_string())
}

pub fn build_swarm(config: &NetConfig, chain_id: &str) -> Result<Swarm<Behaviour>> {
    let key = &config.keypair;
    let gossip_config = gossipsub::ConfigBuilder::default()
        // A message is a signed transaction, checked once per node by its own signature; a
        // gossip author signature on top would cost a signing per publish and a verification
        // per receipt (15% of a validator's CPU under load) and prove nothing more. Bans and
        // rate limits go by the peer that forwarded a message, not by an author.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .max_transmit_size(MAX_GOSSIP_FRAME_BYTES)
        // A transaction is the same message whoever publishes it.
        .message_id_fn(|m| gossipsub::MessageId::from(Hash::of(&m.data).0.to_vec()))
        .build()
        .map_err(setup)?;
    let gossip =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_config)
            .map_err(setup)?;
    let client = request_response::Behaviour::with_codec(
        Codec,
        [(
            client_protocol(chain_id)?,
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout)
            .with_max_concurrent_streams(MAX_STREAMS_PER_CONNECTION),
    );
    let mdns = if config.mdns {
        Some(
            mdns::tokio::Behaviour::new(mdns::Config::default(), key.public().to_peer_id())
                .map_err(setup)?,
        )
    } else {
        None
    };
    let behaviour = Behaviour {
        gate: gate::Behaviour::default(),
        identify: identify::Behaviour::new(identify::Config::new(
            format!("/sigil/{chain_id}/1"),
            key.public(),
        )),
        ping: ping::Behaviour::new(ping::Config::new()),
        gossip,
        client,
        mdns: Toggle::from(mdns),
    };
    Ok(SwarmBuilder::with_existing_identity(key.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(setup)?
        .with_behaviour(|_| behaviour)
        .map_err(setup)?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build())
}
