//! DNS over TCP (RFC 7766): a task per connection reads length-prefixed queries and answers
//! them in order; a frame too short for a DNS header, a message that cannot be parsed or a
//! response closes the connection at once, as NSD does. The same framing serves DNS over TLS
//! (RFC 7858) inside a TLS stream, and the same accept loop DNS over HTTPS (`doh`).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::MessageType;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::Request;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::cached::Scratch;
use crate::handler::Handler;
use crate::limits::{
    MAX_DOH_CONNECTIONS, MAX_TCP_CONNECTIONS, TCP_IDLE_TIMEOUT, TLS_HANDSHAKE_TIMEOUT,
};
use crate::udp::can_answer;

/// Bytes of a DNS message header: no query is shorter.
const HEADER_BYTES: usize = 12;

/// What a listener's connections carry.
#[derive(Clone)]
pub(crate) enum Transport {
    /// DNS over TCP.
    Plain,
    /// DNS over TLS: the TCP framing inside TLS.
    Tls(TlsAcceptor),
    /// DNS over HTTPS.
    Https(TlsAcceptor),
}

/// The running TCP listener and its connections.
pub(crate) struct TcpServer {
    stop: watch::Sender<bool>,
    task: JoinHandle<io::Result<()>>,
}

impl TcpServer {
    /// Starts answering the connections `listener` accepts with `handler`, over `transport`.
    pub(crate) fn start(
        listener: TcpListener,
        handler: Arc<Handler>,
        transport: Transport,
    ) -> TcpServer {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept(listener, handler, transport, stopped));
        TcpServer { stop, task }
    }

    /// Runs until the listener fails.
    pub(crate) async fn wait(&mut self) -> io::Result<()> {
        (&mut self.task).await.map_err(io::Error::other)?
    }

    /// Stops accepting, closes every connection and waits for their tasks.
    pub(crate) async fn stop(self) -> io::Result<()> {
        self.stop.send_replace(true);
        self.task.await.map_err(io::Error::other)?
    }
}

async fn accept(
    listener: TcpListener,
    handler: Arc<Handler>,
    transport: Transport,
    mut stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    let max_connections = match transport {
        Transport::Https(_) => MAX_DOH_CONNECTIONS,
        Transport::Plain | Transport::Tls(_) => MAX_TCP_CONNECTIONS,
    };
    let mut connections = JoinSet::new();
    let result = loop {
        let (stream, src) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if matches!(
                    error.kind(),
                    io::ErrorKind::NotConnected | io::ErrorKind::ConnectionAborted
                ) => break Err(error),
                Err(error) => {
                    debug!(%error, "error accepting a DNS connection");
                    continue;
                }
            },
            _ = stopped.wait_for(|stop| *stop) => break Ok(()),
        };
        while connections.try_join_next().is_some() {}
        if !can_answer(src) || connections.len() >= max_connections {
            debug!(%src, open = connections.len(), "not taking a DNS connection");
            continue; // dropped: closed
        }
        connections.spawn(connection(stream, src, handler.clone(), transport.clone()));
    };
    connections.shutdown().await;
    result
}

/// Serves one accepted connection: the TLS handshake first (within `TLS_HANDSHAKE_TIMEOUT`)
/// for DNS over TLS or HTTPS.
async fn connection(
    stream: TcpStream,
    src: SocketAddr,
    handler: Arc<Handler>,
    transport: Transport,
) {
    let _ = stream.set_nodelay(true);
    let (acceptor, https) = match transport {
        Transport::Plain => return serve(stream, src, handler).await,
        Transport::Tls(acceptor) => (acceptor, false),
        Transport::Https(acceptor) => (acceptor, true),
    };
    let stream = match timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            debug!(%src, %error, "TLS handshake failed");
            return;
        }
        Err(_) => {
            debug!(%src, "TLS handshake timed out");
            return;
        }
    };
    if https {
        crate::doh::serve(stream, src, handler).await
    } else {
        serve(stream, src, handler).await
    }
}

/// Answers the queries of one connection in order until the client closes it, stays idle for
/// `TCP_IDLE_TIMEOUT`, or sends something that is not a query. A plain query the answer cache
/// holds is answered on this task; the others take the handler's full path.
pub(crate) async fn serve<S>(mut stream: S, src: SocketAddr, handler: Arc<Handler>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut scratch = Scratch::default();
    let mut bytes = Vec::with_capacity(512);
    loop {
        let mut len = [0; 2];
        match timeout(TCP_IDLE_TIMEOUT, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return, // closed, failed or idle
        }
        let len = usize::from(u16::from_be_bytes(len));
        if len < HEADER_BYTES {
            debug!(%src, len, "closing a DNS connection on a frame shorter than a header");
            return;
        }
        let mut packet = vec![0; len];
        match timeout(TCP_IDLE_TIMEOUT, stream.read_exact(&mut packet)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let received = Instant::now();
        let now = (
            handler.reader().tip_height(),
            (sigil_core::time::now_ms() / 1000) as i64,
        );
        if !handler.answer_from_cache(&packet, src.ip(), true, now, &mut scratch, &mut bytes) {
            let request = match Request::from_bytes(packet, src, Protocol::Tcp) {
                Ok(request) if request.metadata.message_type == MessageType::Query => request,
                Ok(_) => {
                    debug!(%src, "closing a DNS connection that sent a response");
                    return;
                }
                Err(error) => {
                    debug!(%src, %error, "closing a DNS connection that sent garbage");
                    return;
                }
            };
            let request = Arc::new(request);
            let (reply, validity) = handler.reply_tracked(&request).await;
            bytes = handler.encode_tcp(&request, &reply);
            handler.keep_answer(&scratch, &bytes, validity);
        }
        handler.metrics().sent(&bytes, received);
        let Ok(len) = u16::try_from(bytes.len()) else {
            warn!(%src, len = bytes.len(), "a DNS response is too large for TCP");
            return;
        };
        let mut frame = Vec::with_capacity(2 + bytes.len());
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&bytes);
        // Flushed: a TLS stream holds written records until then.
        let write = async {
            stream.write_all(&frame).await?;
            stream.flush().await
        };
        match timeout(TCP_IDLE_TIMEOUT, write).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}
