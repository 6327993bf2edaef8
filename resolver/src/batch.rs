//! UDP datagrams in batches: on Linux up to `UDP_BATCH` queries are received with one
//! `recvmmsg` and their replies sent with one `sendmmsg`; elsewhere one at a time.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use tracing::warn;

use crate::limits::{MAX_UDP_REQUEST_BYTES, UDP_BATCH};

/// One batch: the datagrams received, and a reply buffer for each.
pub(crate) struct Datagrams {
    requests: Vec<Vec<u8>>,
    /// Length and sender of each datagram received in the batch.
    received: Vec<(usize, Option<SocketAddr>)>,
    replies: Vec<Vec<u8>>,
    /// The replies to send, by slot, and where.
    queued: Vec<(usize, SocketAddr)>,
    #[cfg(target_os = "linux")]
    linux: linux::Headers,
}

impl Datagrams {
    pub(crate) fn new() -> Datagrams {
        let batch = if cfg!(target_os = "linux") {
            UDP_BATCH
        } else {
            1
        };
        Datagrams {
            requests: (0..batch).map(|_| vec![0; MAX_UDP_REQUEST_BYTES]).collect(),
            received: Vec::with_capacity(batch),
            replies: (0..batch).map(|_| Vec::with_capacity(1232)).collect(),
            queued: Vec::with_capacity(batch),
            #[cfg(target_os = "linux")]
            linux: linux::Headers::new(batch),
        }
    }

    /// Waits for at least one datagram (up to the socket's read timeout) and takes every
    /// other one already waiting, up to the batch size; returns how many.
    pub(crate) fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.received.clear();
        self.queued.clear();
        #[cfg(target_os = "linux")]
        {
            linux::receive(
                socket,
                &mut self.linux,
                &mut self.requests,
                &mut self.received,
            )?;
        }
        #[cfg(not(target_os = "linux"))]
        {
            let (len, src) = socket.recv_from(&mut self.requests[0])?;
            self.received.push((len, Some(src)));
        }
        Ok(self.received.len())
    }

    /// Datagram `i` of the batch, its sender (`None` if not an IP address) and the buffer
    /// for its reply.
    pub(crate) fn slot(&mut self, i: usize) -> (&[u8], Option<SocketAddr>, &mut Vec<u8>) {
        let (len, src) = self.received[i];
        (&self.requests[i][..len], src, &mut self.replies[i])
    }

    /// Sends the reply in slot `i`'s buffer to `dst` with the batch.
    pub(crate) fn queue(&mut self, i: usize, dst: SocketAddr) {
        self.queued.push((i, dst));
    }

    /// Sends the queued replies.
    pub(crate) fn send(&mut self, socket: &UdpSocket) {
        #[cfg(target_os = "linux")]
        {
            linux::send(socket, &mut self.linux, &self.replies, &self.queued);
        }
        #[cfg(not(target_os = "linux"))]
        for &(i, dst) in &self.queued {
            send_one(socket, &self.replies[i], dst);
        }
        self.queued.clear();
    }
}

/// Sends one datagram, saying so if it cannot.
pub(crate) fn send_one(socket: &UdpSocket, bytes: &[u8], dst: SocketAddr) {
    if let Err(error) = socket.send_to(bytes, dst) {
        warn!(%error, %dst, "cannot send a DNS response");
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{self, IoSlice, IoSliceMut};
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{
        ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg,
    };

    use super::send_one;

    pub(super) struct Headers {
        receive: MultiHeaders<SockaddrStorage>,
        send: MultiHeaders<SockaddrStorage>,
    }

    impl Headers {
        pub(super) fn new(batch: usize) -> Headers {
            Headers {
                receive: MultiHeaders::preallocate(batch, None),
                send: MultiHeaders::preallocate(batch, None),
            }
        }
    }

    fn std_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = addr.as_sockaddr_in() {
            return Some(SocketAddr::V4((*v4).into()));
        }
        addr.as_sockaddr_in6()
            .map(|v6| SocketAddr::V6((*v6).into()))
    }

    /// `recvmmsg` with `MSG_WAITFORONE`: blocks (up to the socket's read timeout) for the
    /// first datagram only.
    pub(super) fn receive(
        socket: &UdpSocket,
        headers: &mut Headers,
        requests: &mut [Vec<u8>],
        received: &mut Vec<(usize, Option<SocketAddr>)>,
    ) -> io::Result<()> {
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = requests
            .iter_mut()
            .map(|buf| [IoSliceMut::new(buf)])
            .collect();
        let results = recvmmsg(
            socket.as_raw_fd(),
            &mut headers.receive,
            slices.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        )
        .map_err(io::Error::from)?;
        for message in results {
            let src = message.address.as_ref().and_then(std_addr);
            received.push((message.bytes, src));
        }
        Ok(())
    }

    /// `sendmmsg` of the queued replies, on from the one after any that cannot be sent.
    pub(super) fn send(
        socket: &UdpSocket,
        headers: &mut Headers,
        replies: &[Vec<u8>],
        queued: &[(usize, SocketAddr)],
    ) {
        let slices: Vec<[IoSlice<'_>; 1]> = queued
            .iter()
            .map(|&(i, _)| [IoSlice::new(&replies[i])])
            .collect();
        let addrs: Vec<Option<SockaddrStorage>> = queued
            .iter()
            .map(|&(_, dst)| Some(SockaddrStorage::from(dst)))
            .collect();
        let mut from = 0;
        while from < queued.len() {
            let no_control: [ControlMessage<'_>; 0] = [];
            match sendmmsg(
                socket.as_raw_fd(),
                &mut headers.send,
                slices[from..].iter(),
                &addrs[from..],
                no_control,
                MsgFlags::empty(),
            ) {
                Ok(sent) => from += sent.count().max(1),
                Err(_) => {
                    // The first one failed: say why (sending it alone), and go on after it.
                    let (i, dst) = queued[from];
                    send_one(socket, &replies[i], dst);
                    from += 1;
                }
            }
        }
    }
}
