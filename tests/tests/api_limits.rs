//! The HTTP API under attack, against a real `sigild --dev`: slowloris connections trickling
//! their headers byte by byte are cut off (and the ones past the per-client bound refused at
//! once) while another client is served; a client flooding an expensive endpoint gets 429
//! while another client does not; oversized and wrongly typed bodies get 413 and 415 in the
//! API's JSON error format. Clients are told apart by their source address on loopback
//! (127.0.0.2 is the attacker, 127.0.0.3 the honest client).

use std::net::SocketAddr;
use std::time::Duration;

use sigil_core::limits::{
    API_EXPENSIVE_BURST, API_HEAD_TIMEOUT_MS, MAX_API_CONNECTIONS_PER_CLIENT,
};
use sigil_tests::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

const ATTACKER: &str = "127.0.0.2";
const HONEST: &str = "127.0.0.3";

async fn connect_from(source: &str, api: &str) -> TcpStream {
    let target: SocketAddr = api.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(target).await.expect("connect to the API")
}

/// Reads one HTTP/1.1 answer (with a Content-Length body): status and body.
async fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read the answer head");
        assert_eq!(
            n,
            1,
            "the connection closed mid-answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = head[9..12].parse().expect("status code");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.expect("read the body");
    (status, String::from_utf8_lossy(&body).to_string())
}

async fn get(stream: &mut TcpStream, path: &str) -> (u16, String) {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: sigil\r\n\r\n").as_bytes())
        .await
        .unwrap();
    read_answer(stream).await
}

fn error_code(body: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    json["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not the error format: {body}"))
        .to_string()
}

/// One slowloris connection: sends a request head one byte at a time, a byte every 200 ms,
/// until the node closes the connection. Returns whether the node closed it.
async fn slowloris(api: String) -> bool {
    let mut stream = connect_from(ATTACKER, &api).await;
    let head = b"GET /v1/status HTTP/1.1\r\nHost: sigil\r\nX-Slow: ";
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut sent = 0usize;
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let byte = head.get(sent).copied().unwrap_or(b'a');
                sent += 1;
                if stream.write_all(&[byte]).await.is_err() {
                    return true;
                }
            }
            read = stream.read(&mut buf) => match read {
                // Closed (perhaps after an error answer).
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_cut_off_while_another_client_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("data"), &[]);
    let attackers = MAX_API_CONNECTIONS_PER_CLIENT + 16;
    let tasks: Vec<_> = (0..attackers)
        .map(|_| tokio::spawn(slowloris(node.api.clone())))
        .collect();
    // While they trickle, the honest client is answered.
    let mut honest = connect_from(HONEST, &node.api).await;
    let (status, body) = timeout(Duration::from_secs(30), get(&mut honest, "/v1/status"))
        .await
        .expect("the honest client is answered during the attack");
    assert_eq!(status, 200, "{body}");
    // Every slowloris connection is closed by the node: the ones over the bound at once, the
    // others when their head is late.
    let bound = Duration::from_millis(API_HEAD_TIMEOUT_MS) + Duration::from_secs(20);
    for task in tasks {
        let closed = timeout(bound, task)
            .await
            .expect("the node closed a slowloris connection in time")
            .unwrap();
        assert!(closed);
    }
    // And serves the honest client again afterwards.
    let mut honest = connect_from(HONEST, &node.api).await;
    assert_eq!(get(&mut honest, "/v1/status").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_an_expensive_endpoint_gets_429_and_another_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("data"), &[]);
    let mut flood = connect_from(ATTACKER, &node.api).await;
    let mut limited = None;
    for i in 0..(API_EXPENSIVE_BURST * 4) {
        let (status, body) = get(&mut flood, "/v1/status").await;
        if status == 429 {
            limited = Some((i, body));
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let (after, body) = limited.expect("the flood is refused with 429");
    assert!(
        after >= API_EXPENSIVE_BURST / 2,
        "refused after only {after}"
    );
    assert_eq!(error_code(&body), "rate_limited");
    let mut honest = connect_from(HONEST, &node.api).await;
    let (status, body) = get(&mut honest, "/v1/status").await;
    assert_eq!(status, 200, "the other client is served: {body}");
    // Cheap reads stay open to the flooder.
    assert_eq!(get(&mut flood, "/v1/accounts/00").await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_mistyped_bodies_get_413_and_415_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("data"), &[]);
    let post = |content_type: &'static str, body: Vec<u8>| {
        let api = node.api.clone();
        async move {
            let mut stream = connect_from(HONEST, &api).await;
            let head = format!(
                "POST /v1/txs HTTP/1.1\r\nHost: sigil\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            // The node may answer before reading all of a body it refuses.
            let _ = stream.write_all(&body).await;
            read_answer(&mut stream).await
        }
    };
    let big = format!("{{\"tx\": \"{}\"}}", "00".repeat(100 * 1024)).into_bytes();
    let (status, body) = post("application/json", big).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (413, "body_too_large"),
        "{body}"
    );
    let (status, body) = post("text/plain", b"{\"tx\": \"00\"}".to_vec()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (415, "unsupported_media_type"),
        "{body}"
    );
    // A declared length over the bound is refused without waiting for the body.
    let mut stream = connect_from(HONEST, &node.api).await;
    stream
        .write_all(b"POST /v1/txs HTTP/1.1\r\nHost: sigil\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
        .await
        .unwrap();
    let (status, body) = read_answer(&mut stream).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (413, "body_too_large")
    );
}
