//! The harness's HTTP/1.1 client for a node's API: every wait bounded and every failure an
//! answer (`Err`), since a node may be killed, paused or cut off at any moment. The
//! panicking helpers of the crate root (`api_get`, `api_post`, ...) wrap it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Longest wait for a connection to a node's API on loopback.
pub const CONNECT: Duration = Duration::from_secs(2);
/// Time an answer may take beyond the long-poll the request asks for.
pub const SLACK: Duration = Duration::from_secs(5);

/// An answer: its status code and JSON body (`Null` if the body is not JSON).
pub type Answer = (u16, serde_json::Value);

/// `GET path` on the API at `api` (`http://HOST:PORT`), waiting at most `wait` beyond
/// [`SLACK`] for the answer.
pub fn get(api: &str, path: &str, wait: Duration) -> Result<Answer, String> {
    answer(api, &request(api, "GET", path, None, wait + SLACK)?)
}

/// `POST path` with a JSON `body` on the API at `api`, waiting at most [`SLACK`].
pub fn post(api: &str, path: &str, body: &serde_json::Value) -> Result<Answer, String> {
    answer(api, &request(api, "POST", path, Some(body), SLACK)?)
}

/// Sends one request (`method`, `path`, a JSON `body` for a POST) and returns the answer's
/// head and body as text, waiting at most [`CONNECT`] for the connection and `timeout` for
/// each read or write.
pub fn request(
    api: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<(String, String), String> {
    exchange(api, method, path, body, CONNECT, timeout)
}

/// Like [`request`], waiting up to `timeout` for the connection too: for a test that expects
/// its node to answer, however loaded (a full accept queue holds a connection back).
pub fn request_patient(
    api: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<(String, String), String> {
    exchange(api, method, path, body, timeout, timeout)
}

fn exchange(
    api: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    connect: Duration,
    timeout: Duration,
) -> Result<(String, String), String> {
    let host = api.trim_start_matches("http://");
    let request = match body {
        None => format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        Some(body) => {
            let body = body.to_string();
            format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    let addr: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, connect).map_err(|e| format!("connect {host}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send {method} {path} to {host}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("read the answer to {method} {path} from {host}: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{host}: no HTTP answer to {method} {path}"))?;
    Ok((head.to_string(), body.to_string()))
}

/// The status code of an answer's `head`.
pub fn status(head: &str) -> Option<u16> {
    head.split_whitespace().nth(1).and_then(|c| c.parse().ok())
}

fn answer(api: &str, (head, body): &(String, String)) -> Result<Answer, String> {
    let code = status(head).ok_or_else(|| format!("{api}: bad status line `{head}`"))?;
    Ok((code, serde_json::from_str(body).unwrap_or_default()))
}
