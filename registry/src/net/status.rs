//! Our swarm as the node reports it in `/v1/status`: listen addresses, peers, and where the
//! consensus engine listens.

use sigil_core::api::NetworkStatus;

use super::NetHandle;
use crate::node::NetworkInfo;

/// The swarm's handle with the consensus engine's listen address (validators only).
pub struct SwarmStatus {
    pub net: NetHandle,
    pub consensus_listen: Option<String>,
}

impl NetworkInfo for SwarmStatus {
    fn network_status(&self) -> NetworkStatus {
        let status = self.net.status().borrow().clone();
        NetworkStatus {
            peer_id: self.net.local_peer_id().to_string(),
            p2p_listen: status.listen_addrs.iter().map(|a| a.to_string()).collect(),
            peers: status.peers.iter().map(|p| p.to_string()).collect(),
            consensus_listen: self.consensus_listen.clone(),
        }
    }
}
