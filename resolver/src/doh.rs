//! DNS over HTTPS (RFC 8484): `/dns-query` by GET (`?dns=`, base64url) and POST
//! (`application/dns-message`) over HTTP/1.1 and HTTP/2, answered by the same handler as TCP,
//! with a Cache-Control lifetime no longer than the answer's lowest TTL.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hickory_proto::op::MessageType;
use hickory_server::net::xfer::Protocol;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, sleep_until, timeout};
use tracing::debug;

use crate::answer::Answer;
use crate::handler::Handler;
use crate::limits::{
    DOH_IDLE_TIMEOUT, DOH_REQUEST_TIMEOUT, MAX_DOH_HEAD_BYTES, MAX_DOH_QUERY_BYTES, MAX_DOH_STREAMS,
};

/// The path queries are asked on.
pub const DOH_PATH: &str = "/dns-query";

/// The media type of a DNS message (RFC 8484 section 6).
const DNS_MESSAGE: &str = "application/dns-message";

/// Bytes of a DNS message header: no query is shorter.
const HEADER_BYTES: usize = 12;

/// Serves the HTTP requests of one TLS connection until the client closes it or sends nothing
/// for `DOH_IDLE_TIMEOUT`.
pub(crate) async fn serve<S>(stream: S, src: SocketAddr, handler: Arc<Handler>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let last_read = Arc::new(Mutex::new(Instant::now()));
    let io = TokioIo::new(ReadClock {
        inner: stream,
        last_read: last_read.clone(),
    });
    let service = hyper::service::service_fn(move |request| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(respond(request, src, &handler).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(DOH_REQUEST_TIMEOUT)
        .max_buf_size(MAX_DOH_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_DOH_STREAMS)
        // A stream may send one query's worth before it is read, a connection one per stream.
        .initial_stream_window_size(MAX_DOH_QUERY_BYTES as u32)
        .initial_connection_window_size(MAX_DOH_STREAMS * MAX_DOH_QUERY_BYTES as u32)
        .max_header_list_size(MAX_DOH_HEAD_BYTES as u32);
    let connection = builder.serve_connection(io, service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                debug!(%src, %error, "DNS over HTTPS connection failed");
            }
        }
        () = idle(&last_read) => debug!(%src, "closing an idle DNS over HTTPS connection"),
    }
}

/// Resolves once nothing was read for `DOH_IDLE_TIMEOUT`.
async fn idle(last_read: &Mutex<Instant>) {
    loop {
        let deadline = *last_read.lock().unwrap_or_else(|e| e.into_inner()) + DOH_IDLE_TIMEOUT;
        if Instant::now() >= deadline {
            return;
        }
        sleep_until(deadline).await;
    }
}

/// The answer to one HTTP request: a DNS message, or a 4xx status with a line saying why.
async fn respond(
    request: Request<Incoming>,
    src: SocketAddr,
    handler: &Arc<Handler>,
) -> Response<Full<Bytes>> {
    match query(request).await {
        Ok(packet) => answer(packet, src, handler).await,
        Err((status, why)) => refuse(status, why),
    }
}

/// The DNS query a request carries.
async fn query(request: Request<Incoming>) -> Result<Vec<u8>, (StatusCode, String)> {
    if request.uri().path() != DOH_PATH {
        return Err((
            StatusCode::NOT_FOUND,
            format!("DNS queries are asked at {DOH_PATH}"),
        ));
    }
    let packet = match *request.method() {
        Method::GET => dns_parameter(request.uri().query().unwrap_or(""))?,
        Method::POST => {
            // The body is read (bounded) even when it will be refused: an HTTP/2 stream
            // answered before its body is read is reset, which clients report as an error.
            let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
            let body = Limited::new(request.into_body(), MAX_DOH_QUERY_BYTES);
            let body = match timeout(DOH_REQUEST_TIMEOUT, body.collect()).await {
                Ok(Ok(body)) => body.to_bytes().to_vec(),
                Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err((
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("a DNS query is at most {MAX_DOH_QUERY_BYTES} bytes"),
                    ));
                }
                Ok(Err(error)) => {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("cannot read the body: {error}"),
                    ));
                }
                Err(_) => {
                    return Err((
                        StatusCode::REQUEST_TIMEOUT,
                        format!("the body did not arrive within {DOH_REQUEST_TIMEOUT:?}"),
                    ));
                }
            };
            if content_type.as_ref().and_then(|v| v.to_str().ok()) != Some(DNS_MESSAGE) {
                return Err((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "a POST body must be a DNS message sent as Content-Type: {DNS_MESSAGE}"
                    ),
                ));
            }
            body
        }
        _ => {
            return Err((
                StatusCode::METHOD_NOT_ALLOWED,
                "DNS queries are asked by GET or POST".into(),
            ));
        }
    };
    if packet.len() < HEADER_BYTES {
        return Err((
            StatusCode::BAD_REQUEST,
            "the DNS query is shorter than a DNS header".into(),
        ));
    }
    Ok(packet)
}

/// The query in a GET's `dns` parameter: base64url without padding (RFC 8484 section 4.1).
fn dns_parameter(query: &str) -> Result<Vec<u8>, (StatusCode, String)> {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_string());
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("dns="))
        .ok_or_else(|| bad("a GET needs the query in its `dns` parameter"))?;
    if value.len() > MAX_DOH_QUERY_BYTES.div_ceil(3) * 4 {
        return Err((
            StatusCode::URI_TOO_LONG,
            format!("a DNS query is at most {MAX_DOH_QUERY_BYTES} bytes"),
        ));
    }
    data_encoding::BASE64URL_NOPAD
        .decode(value.as_bytes())
        .map_err(|_| bad("the `dns` parameter is not base64url without padding"))
}

/// The DNS response to `packet` as an HTTP response.
async fn answer(packet: Vec<u8>, src: SocketAddr, handler: &Arc<Handler>) -> Response<Full<Bytes>> {
    let request = match hickory_server::server::Request::from_bytes(packet, src, Protocol::Tcp) {
        Ok(request) if request.metadata.message_type == MessageType::Query => request,
        Ok(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the DNS message is a response, not a query".into(),
            );
        }
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the DNS query cannot be parsed: {error}"),
            );
        }
    };
    let request = Arc::new(request);
    let received = std::time::Instant::now();
    let reply = handler.reply(&request).await;
    let bytes = handler.encode_tcp(&request, &reply);
    handler.metrics().sent(&bytes, received);
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(DNS_MESSAGE));
    headers.insert(header::CACHE_CONTROL, cache_control(&reply));
    response
}

/// `max-age` of the answer's lowest TTL (RFC 8484 section 5.1), 0 for an answer without
/// records.
fn cache_control(reply: &Answer) -> HeaderValue {
    let lowest = reply
        .answers
        .iter()
        .chain(&reply.authority)
        .chain(&reply.additionals)
        .map(|record| record.ttl)
        .min()
        .unwrap_or(0);
    HeaderValue::from_str(&format!("max-age={lowest}"))
        .unwrap_or(HeaderValue::from_static("no-store"))
}

fn refuse(status: StatusCode, why: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(why + "\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A stream that notes when it last read something.
struct ReadClock<S> {
    inner: S,
    last_read: Arc<Mutex<Instant>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadClock<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            *self.last_read.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadClock<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dns_parameter_is_base64url_without_padding() {
        let query = [0u8, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xfb, 0xff];
        let encoded = data_encoding::BASE64URL_NOPAD.encode(&query);
        assert!(encoded.contains('-') || encoded.contains('_'));
        assert_eq!(dns_parameter(&format!("dns={encoded}")).unwrap(), query);
        assert_eq!(
            dns_parameter(&format!("ct=x&dns={encoded}&y=1")).unwrap(),
            query
        );
        let status = |q: &str| dns_parameter(q).unwrap_err().0;
        assert_eq!(status("name=example.sigil"), StatusCode::BAD_REQUEST);
        assert_eq!(status(""), StatusCode::BAD_REQUEST);
        // Padding and the standard alphabet are not base64url without padding.
        let padded = data_encoding::BASE64URL.encode(&query[..13]);
        assert!(padded.ends_with('='));
        assert_eq!(status(&format!("dns={padded}")), StatusCode::BAD_REQUEST);
        let standard = data_encoding::BASE64_NOPAD.encode(&query);
        assert_eq!(status(&format!("dns={standard}")), StatusCode::BAD_REQUEST);
        let long = "A".repeat(MAX_DOH_QUERY_BYTES.div_ceil(3) * 4 + 4);
        assert_eq!(status(&format!("dns={long}")), StatusCode::URI_TOO_LONG);
    }

    #[test]
    fn the_cache_lifetime_is_the_lowest_ttl() {
        use hickory_proto::op::ResponseCode;
        use hickory_proto::rr::{Name, RData, Record, rdata::A};
        let record = |ttl| {
            Record::from_rdata(
                Name::from_ascii("a.sigil.").unwrap(),
                ttl,
                RData::A(A::new(192, 0, 2, 1)),
            )
        };
        let mut answer = Answer::empty(ResponseCode::NoError);
        assert_eq!(cache_control(&answer), "max-age=0");
        answer.answers = vec![record(300), record(60)];
        answer.additionals = vec![record(3600)];
        assert_eq!(cache_control(&answer), "max-age=60");
        answer.authority = vec![record(30)];
        assert_eq!(cache_control(&answer), "max-age=30");
    }
}
