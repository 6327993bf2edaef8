//! The client request-response protocol: its messages and a length-prefixed, size-bounded codec
//! over the canonical borsh encoding.

use std::io;

use async_trait::async_trait;
use borsh::{BorshDeserialize, BorshSerialize};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;

use sigil_core::block::{Commit, Header};
use sigil_core::limits::{MAX_NAME_BYTES, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
use sigil_core::proof::StateProof;
use sigil_core::types::{Height, decode, encode};

/// A client request.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Request {
    /// The header at a height with its commit.
    Header { height: Height },
    /// The proof of a name's entry at the tip.
    NameProof { name: String },
}

impl Request {
    /// Bounds beyond the frame size: a name no longer than a domain name can be.
    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            Request::Header { .. } => Ok(()),
            Request::NameProof { name } if name.len() > MAX_NAME_BYTES => Err(format!(
                "name of {} bytes is longer than {MAX_NAME_BYTES}",
                name.len()
            )),
            Request::NameProof { .. } => Ok(()),
        }
    }
}

/// A header with the commit certificate that made it final (none for genesis).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommittedHeader {
    pub header: Header,
    pub commit: Option<Commit>,
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub enum Response {
    Header(Option<CommittedHeader>),
    NameProof(StateProof),
    /// The request was not served: invalid input, a rate limit, a busy node.
    Refused(String),
}

/// Frames each message as a little-endian `u32` length and its borsh encoding, refusing frames
/// over [`MAX_REQUEST_BYTES`] or [`MAX_RESPONSE_BYTES`] before reading them.
#[derive(Debug, Clone, Default)]
pub struct Codec;

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is larger than {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    bytes: &[u8],
    max: usize,
) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|&l| l as usize <= max)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("frame of {} bytes is larger than {max}", bytes.len()),
            )
        })?;
    io.write_all(&len.to_le_bytes()).await?;
    io.write_all(bytes).await?;
    io.flush().await
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

#[async_trait]
impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let request: Request =
            decode(&read_frame(io, MAX_REQUEST_BYTES).await?).map_err(invalid)?;
        request.check().map_err(invalid)?;
        Ok(request)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_frame(io, MAX_RESPONSE_BYTES).await?).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode(&request), MAX_REQUEST_BYTES).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode(&response), MAX_RESPONSE_BYTES).await
    }
}
