//! Serving the HTTP API to untrusted clients: a bound on connections in all and per client
//! address, deadlines for each request's head, body and handling, writes that must make
//! progress, a per-client rate limit on expensive endpoints, and every refusal (including
//! axum's own rejections) in the API's JSON error format.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Sleep;

use crate::api::ApiError;
use crate::net::TokenBucket;
use sigil_core::limits::{
    API_BODY_TIMEOUT_MS, API_EXPENSIVE_BURST, API_EXPENSIVE_PER_SEC, API_HEAD_TIMEOUT_MS,
    API_REQUEST_TIMEOUT_MS, API_WRITE_STALL_MS, MAX_API_BODY_BYTES, MAX_API_CONNECTIONS,
    MAX_API_CONNECTIONS_PER_CLIENT, MAX_API_RATE_CLIENTS,
};

/// Largest request head (request line and headers) read from a client.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Longest an accept error (such as running out of file descriptors) pauses accepting.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What one client, and all of them together, may cost the node.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub head_timeout: Duration,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub write_stall: Duration,
    pub expensive_per_sec: u32,
    pub expensive_burst: u32,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_connections: MAX_API_CONNECTIONS,
            max_connections_per_client: MAX_API_CONNECTIONS_PER_CLIENT,
            head_timeout: Duration::from_millis(API_HEAD_TIMEOUT_MS),
            body_timeout: Duration::from_millis(API_BODY_TIMEOUT_MS),
            request_timeout: Duration::from_millis(API_REQUEST_TIMEOUT_MS),
            write_stall: Duration::from_millis(API_WRITE_STALL_MS),
            expensive_per_sec: API_EXPENSIVE_PER_SEC,
            expensive_burst: API_EXPENSIVE_BURST,
        }
    }
}

/// The address limits are kept for: an IPv4 address, or the /64 network of an IPv6 one (one
/// host is given a whole /64).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish
/// for up to the request timeout.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Connections::new(
        limits.max_connections,
        limits.max_connections_per_client,
    ));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("cannot accept an API connection: {e}");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        match connections.admit(remote.ip()) {
            Ok(permit) => {
                tokio::spawn(connection(
                    stream,
                    remote,
                    router.clone(),
                    limits.clone(),
                    permit,
                    closing_rx.clone(),
                ));
            }
            Err(refusal) => {
                tracing::debug!(%remote, "refusing an API connection: {refusal}");
                refuse(&stream, &refusal);
            }
        }
    }
    drop(closing_rx);
    closing_tx.send_replace(true);
    let _ = tokio::time::timeout(limits.request_timeout, closing_tx.closed()).await;
}

/// Answers a refused connection with a 503 if the socket takes it at once, then closes it.
fn refuse(stream: &TcpStream, reason: &str) {
    let body =
        serde_json::json!({ "error": { "code": "too_many_connections", "message": reason } })
            .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    limits: HttpLimits,
    _permit: Permit,
    mut closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(StallGuard::new(stream, limits.write_stall));
    let service = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        hyper::service::Service::call(&service, request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%remote, "API connection ended: {e}");
            }
        }
        _ = async { let _ = closing.wait_for(|closing| *closing).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Open connections, in all and per client.
struct Connections {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    max: usize,
    per_client: usize,
}

impl Connections {
    fn new(max: usize, per_client: usize) -> Connections {
        Connections {
            open: Mutex::new((0, HashMap::new())),
            max,
            per_client,
        }
    }

    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, String> {
        let key = client_key(ip);
        let mut open = self.open.lock().expect("connection count lock");
        if open.0 >= self.max {
            return Err(format!(
                "the node serves {} connections already; try again later",
                self.max
            ));
        }
        let mine = open.1.entry(key).or_insert(0);
        if *mine >= self.per_client {
            return Err(format!(
                "{key} has {} connections open already; reuse them (keep-alive) or close some",
                self.per_client
            ));
        }
        *mine += 1;
        open.0 += 1;
        Ok(Permit {
            connections: Arc::clone(self),
            key,
        })
    }
}

/// One admitted connection; dropping it frees its place.
struct Permit {
    connections: Arc<Connections>,
    key: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock().expect("connection count lock");
        open.0 = open.0.saturating_sub(1);
        if let Some(mine) = open.1.get_mut(&self.key) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                open.1.remove(&self.key);
            }
        }
    }
}

/// A connection whose writes fail once they make no progress for `stall`: a client that
/// stops reading its answers cannot hold the connection (and its buffers) for ever.
struct StallGuard {
    inner: TcpStream,
    stall: Duration,
    stalled_since: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    fn new(inner: TcpStream, stall: Duration) -> StallGuard {
        StallGuard {
            inner,
            stall,
            stalled_since: None,
        }
    }

    /// Passes a ready poll through (and forgets the stall); on a pending one, fails once the
    /// stall deadline has passed.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled_since = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let stall = self.stall;
                let timer = self
                    .stalled_since
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the client read nothing for {} s", stall.as_secs()),
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The deadlines of one request: its body read whole within the body timeout and the size
/// bound, its handling within the request timeout, and any error answer in the JSON format.
pub async fn guard(
    State(limits): State<Arc<HttpLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_API_BODY_BYTES as u64) {
        return too_large();
    }
    let read = async {
        let mut bytes = Vec::new();
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Some(e.to_string()))?;
            if bytes.len() + chunk.len() > MAX_API_BODY_BYTES {
                return Err(None::<String>);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    };
    let bytes = match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(None)) => return too_large(),
        Ok(Err(Some(e))) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("cannot read the request body: {e}"),
            )
            .into_response();
        }
        Err(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the request body did not arrive within {} s",
                    limits.body_timeout.as_secs()
                ),
            )
            .into_response();
        }
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => as_json_error(response).await,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the node did not answer within {} s; try again later",
                limits.request_timeout.as_secs()
            ),
        )
        .into_response(),
    }
}

fn too_large() -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than {MAX_API_BODY_BYTES} bytes"),
    )
    .into_response()
}

/// An error answer that is not already JSON (axum's own rejections are plain text), rewritten
/// as `{"error": {"code", "message"}}` with the text as its message.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal",
        _ => "refused",
    };
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase()
    } else {
        text
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    // Keep what the original said about the method (Allow) and the like.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// Token buckets per client for the expensive endpoints.
#[derive(Clone)]
pub struct RateLimiter {
    clients: Arc<Mutex<HashMap<IpAddr, (TokenBucket, Instant)>>>,
    per_sec: u32,
    burst: u32,
}

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            clients: Arc::new(Mutex::new(HashMap::new())),
            per_sec: per_sec.max(1),
            burst: burst.max(1),
        }
    }

    /// Charges one request to `ip`'s client; `false` if it is over its rate.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let key = client_key(ip);
        let mut clients = self.clients.lock().expect("rate limiter lock");
        if !clients.contains_key(&key) && clients.len() >= MAX_API_RATE_CLIENTS {
            // A bucket idle long enough to refill holds nothing worth remembering.
            let refill = Duration::from_secs_f64(f64::from(self.burst) / f64::from(self.per_sec));
            clients.retain(|_, (_, last)| now.saturating_duration_since(*last) < refill);
            if clients.len() >= MAX_API_RATE_CLIENTS {
                return false;
            }
        }
        let (bucket, last) = clients
            .entry(key)
            .or_insert_with(|| (TokenBucket::new(self.per_sec, self.burst, now), now));
        *last = now;
        bucket.take(now)
    }
}

/// Refuses a request over its client's rate with 429 (clients served without an address,
/// such as an embedded router, are not limited).
pub async fn limit_rate(
    State(limiter): State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(ip) = client
        && !limiter.allow(ip, Instant::now())
    {
        let mut answer = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "{} makes more than {} expensive requests per second; slow down",
                client_key(ip),
                limiter.per_sec
            ),
        )
        .into_response();
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return answer;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_their_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_over_its_rate_is_refused_and_another_is_not() {
        let limiter = RateLimiter::new(1, 3);
        let now = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!((0..3).all(|_| limiter.allow(a, now)));
        assert!(!limiter.allow(a, now));
        assert!(limiter.allow(b, now));
        assert!(limiter.allow(a, now + Duration::from_secs(1)));
    }

    #[test]
    fn connections_are_bounded_in_all_and_per_client() {
        let connections = Arc::new(Connections::new(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        let a1 = connections.admit(a).unwrap();
        let _a2 = connections.admit(a).unwrap();
        assert!(connections.admit(a).is_err());
        let _b1 = connections.admit(b).unwrap();
        assert!(connections.admit(c).is_err());
        drop(a1);
        assert!(connections.admit(c).is_ok());
    }
}
