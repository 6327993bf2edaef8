//! A small blocking DNS client for tests: one question over UDP or TCP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

const TIMEOUT: Duration = Duration::from_secs(5);

/// How to send the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

fn question(name: &str, rtype: RecordType) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(
        Name::from_str(name).expect("query name"),
        rtype,
    ));
    message
}

/// Asks `server` one question and returns the answer.
pub fn query(server: SocketAddr, name: &str, rtype: RecordType, transport: Transport) -> Message {
    ask(server, question(name, rtype), transport)
}

/// Asks `server` one question with EDNS (a 1232-byte buffer), so that an answer can carry an
/// Extended DNS Error.
pub fn query_edns(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    transport: Transport,
) -> Message {
    let mut message = question(name, rtype);
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    message.set_edns(edns);
    ask(server, message, transport)
}

/// The Extended DNS Error (RFC 8914) of an answer: its info code and text.
pub fn ede(message: &Message) -> Option<(u16, String)> {
    match message.edns.as_ref()?.option(EdnsCode::from(15))? {
        EdnsOption::Unknown(15, data) if data.len() >= 2 => Some((
            u16::from_be_bytes([data[0], data[1]]),
            String::from_utf8_lossy(&data[2..]).into_owned(),
        )),
        _ => None,
    }
}

fn ask(server: SocketAddr, message: Message, transport: Transport) -> Message {
    let bytes = message.to_vec().expect("encode query");
    let answer = match transport {
        Transport::Udp => udp(server, &bytes),
        Transport::Tcp => tcp(server, &bytes),
    };
    let answer = Message::from_vec(&answer).expect("decode answer");
    assert_eq!(
        answer.metadata.id, message.metadata.id,
        "answer to another question"
    );
    answer
}

fn udp(server: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
    socket.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    socket.send_to(bytes, server).expect("send UDP");
    let mut buf = vec![0u8; 65_535];
    let (n, _) = socket.recv_from(&mut buf).expect("no UDP answer in time");
    buf.truncate(n);
    buf
}

fn tcp(server: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect_timeout(&server, TIMEOUT).expect("connect TCP");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).expect("send TCP");
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).expect("no TCP answer in time");
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).expect("read TCP answer");
    buf
}

/// The answer section's data as text, e.g. `["192.0.2.7"]`.
pub fn answers(message: &Message) -> Vec<String> {
    message.answers.iter().map(|r| r.data.to_string()).collect()
}
