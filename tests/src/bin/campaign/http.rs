//! A small HTTP/1.1 client for the campaign that never panics: nodes it talks to may be
//! killed, paused or cut off at any moment, and each failure is an answer to count.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Longest wait for a connection to a node's API on loopback.
const CONNECT: Duration = Duration::from_secs(2);
/// Time an answer may take beyond the long-poll the request asks for.
const SLACK: Duration = Duration::from_secs(5);

/// An answer: its status code and JSON body (`Null` if the body is not JSON).
pub type Answer = (u16, serde_json::Value);

/// `GET path` on the API at `api` (`http://HOST:PORT`), waiting at most `wait` beyond
/// [`SLACK`] for the answer.
pub fn get(api: &str, path: &str, wait: Duration) -> Result<Answer, String> {
    let host = api.trim_start_matches("http://");
    exchange(
        host,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        wait,
    )
}

/// `POST path` with a JSON `body` on the API at `api`.
pub fn post(api: &str, path: &str, body: &serde_json::Value) -> Result<Answer, String> {
    let host = api.trim_start_matches("http://");
    let body = body.to_string();
    exchange(
        host,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        Duration::ZERO,
    )
}

fn exchange(host: &str, request: &str, wait: Duration) -> Result<Answer, String> {
    let addr: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, CONNECT).map_err(|e| format!("connect {host}: {e}"))?;
    stream
        .set_read_timeout(Some(wait + SLACK))
        .and_then(|()| stream.set_write_timeout(Some(SLACK)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send to {host}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("read from {host}: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{host}: no HTTP answer"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{host}: bad status line `{head}`"))?;
    Ok((code, serde_json::from_str(body).unwrap_or_default()))
}
