//! A whole DNS query through the resolver over the world's ledger: the UDP path's own wire
//! reading (the answer cache's key, the NXDOMAIN written without the handler), then the
//! handler's reply over UDP (first byte even) or TCP (odd), which must fit the client's size.

use hickory_proto::op::Message;
use sigil_core::read::NameReader;
use sigil_resolver::limits::{MAX_UDP_PAYLOAD_BYTES, MIN_UDP_PAYLOAD_BYTES};
use sigil_resolver::wire::{Under, plain_query, soa_serials};

use crate::world::{CLIENT, world};

pub fn dns(data: &[u8]) {
    let Some((&kind, packet)) = data.split_first() else {
        return;
    };
    let udp = kind % 2 == 0;
    let world = world();
    if let Some(query) = plain_query(packet) {
        let mut key = Vec::new();
        query.key_into(&mut key, !udp);
        let mut name = Vec::new();
        if let Some(Under::Name { tld } | Under::Unregistrable { tld }) =
            query.under_tld(world.ledger.tlds(), &mut name)
        {
            let mut out = Vec::new();
            query.write_nxdomain(tld, 7, false, &mut out);
            let reply = Message::from_vec(&out).expect("the written NXDOMAIN parses");
            assert_eq!(&out[..2], &packet[..2], "the NXDOMAIN answers another id");
            assert_eq!(reply.queries.len(), 1);
        }
    }
    let reply = world
        .runtime
        .block_on(world.handler.answer_packet(packet, CLIENT, udp));
    let Some(reply) = reply else {
        return;
    };
    Message::from_vec(&reply).expect("the handler's reply parses");
    assert_eq!(&reply[..2], &packet[..2], "the reply answers another id");
    if udp {
        // The client's EDNS size within the server's bounds, 512 bytes without EDNS.
        let limit = Message::from_vec(packet)
            .ok()
            .and_then(|query| query.edns)
            .map_or(MIN_UDP_PAYLOAD_BYTES, |edns| {
                edns.max_payload()
                    .clamp(MIN_UDP_PAYLOAD_BYTES, MAX_UDP_PAYLOAD_BYTES)
            });
        assert!(
            reply.len() <= usize::from(limit),
            "a UDP reply of {} bytes to a client that takes {limit}",
            reply.len()
        );
    }
    let _ = soa_serials(&reply);
}
