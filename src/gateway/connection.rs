//! One WebSocket connection: a reader task that turns frames into [`Inbound`] messages, and a
//! writer that encodes (and zlib-stream compresses) outgoing frames. A session owns a
//! connection while attached; on RESUME the connection moves to the session being resumed.

use bytes::Bytes;
use fastwebsockets::{Frame, OpCode as WsOp, Payload, WebSocket, WebSocketError, WebSocketWrite};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Duration;

use super::close::CloseCode;
use super::compress::{Compression, DeflateSize, ZlibStream};
use super::discard::{SharedRead, discard};
use super::fragments::BoundedMessages;

type Io = TokioIo<Upgraded>;

/// How long a closing connection keeps reading for the client's answering close frame.
/// Closing a socket that still holds unread bytes (a flood of pings, say) makes the kernel
/// send a reset, which can overtake the close frame: the client then sees "connection
/// reset" instead of the close code it must act on (4008, 4004, …). Well-behaved clients
/// answer within a round trip; this only bounds the ones that don't.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// How much of an oversize frame the reader reads and drops after refusing it (see
/// `discard.rs`), so the 4002 close is not overtaken by a reset. A frame longer than this is
/// hostile rather than mistaken: what is left of it may still end in a reset.
const OVERSIZE_DISCARD_BYTES: u64 = 1 << 20;

/// What the reader saw.
#[derive(Debug)]
pub enum Inbound {
    Message(Vec<u8>),
    Ping(Vec<u8>),
    /// A message over `gateway.max_payload_bytes`: the server closes with 4002.
    TooLarge,
    /// The client closed (with its close code, if any) or the socket failed.
    Closed(Option<u16>),
}

pub struct Connection {
    /// Boxed slots: a tokio channel allocates a block of 32 slots up front, and an idle
    /// connection should not hold 32 inline `Inbound`s (1 KiB) for a heartbeat every 41 s.
    inbound: mpsc::Receiver<Box<Inbound>>,
    writer: WebSocketWrite<WriteHalf<Io>>,
    zlib: Option<ZlibStream>,
    /// IDENTIFY's `compress: true`: each payload is its own zlib stream (binary frames).
    per_payload: bool,
    reader: JoinHandle<()>,
    closed: bool,
}

impl Connection {
    /// Wraps an upgraded socket. A zlib-stream connection whose deflate stream cannot be
    /// created (zlib out of memory) falls back to plain text frames, which every client reads.
    pub fn new(
        mut ws: WebSocket<Io>,
        compression: Compression,
        deflate: DeflateSize,
        max_message_bytes: usize,
    ) -> Self {
        ws.set_auto_close(false);
        ws.set_auto_pong(false);
        ws.set_max_message_size(max_message_bytes);
        // A second handle on the read half, for discarding the rest of an oversize frame.
        // `split` calls its function exactly once, so `raw` is always set.
        let raw = std::cell::OnceCell::new();
        let (read, writer) = ws.split(|io| {
            let (read, write) = tokio::io::split(io);
            let read = SharedRead::new(read);
            let _ = raw.set(read.clone());
            (read, write)
        });
        let (tx, inbound) = mpsc::channel(32);
        let reader = tokio::spawn(read_loop(
            BoundedMessages::new(read, max_message_bytes),
            raw.into_inner(),
            tx,
        ));
        let zlib = match compression {
            Compression::ZlibStream => ZlibStream::new(deflate)
                .inspect_err(
                    |e| tracing::warn!(error = %e, "zlib-stream unavailable; sending text"),
                )
                .ok(),
            Compression::None => None,
        };
        Self {
            inbound,
            writer,
            zlib,
            per_payload: false,
            reader,
            closed: false,
        }
    }

    /// Switches on per-payload compression (IDENTIFY `compress: true`) unless the connection
    /// already uses zlib-stream, which supersedes it.
    pub fn enable_payload_compression(&mut self) {
        self.per_payload = self.zlib.is_none();
    }

    /// The next thing the client did. Cancel-safe (an mpsc receive).
    pub async fn recv(&mut self) -> Inbound {
        self.inbound
            .recv()
            .await
            .map_or(Inbound::Closed(None), |inbound| *inbound)
    }

    /// Writes one gateway frame (JSON), compressed when the connection asked for zlib-stream.
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), WebSocketError> {
        match &mut self.zlib {
            Some(z) => {
                let compressed = z
                    .compress(frame)
                    .map_err(|e| WebSocketError::IoError(std::io::Error::other(e)))?;
                self.writer
                    .write_frame(Frame::binary(Payload::Owned(compressed)))
                    .await
            }
            None if self.per_payload => {
                let compressed = super::compress::compress_payload(frame)
                    .map_err(|e| WebSocketError::IoError(std::io::Error::other(e)))?;
                self.writer
                    .write_frame(Frame::binary(Payload::Owned(compressed)))
                    .await
            }
            None => {
                self.writer
                    .write_frame(Frame::text(Payload::Borrowed(frame)))
                    .await
            }
        }
    }

    pub async fn send_all(&mut self, frames: &[Bytes]) -> Result<(), WebSocketError> {
        for f in frames {
            self.send(f).await?;
        }
        Ok(())
    }

    pub async fn pong(&mut self, payload: Vec<u8>) -> Result<(), WebSocketError> {
        self.writer
            .write_frame(Frame::pong(Payload::Owned(payload)))
            .await
    }

    /// Sends a close frame with a gateway close code and stops reading.
    pub async fn close(mut self, code: CloseCode) {
        self.close_raw(code.code(), code.reason()).await;
    }

    pub async fn close_raw(&mut self, code: u16, reason: &str) {
        if !self.closed {
            self.closed = true;
            let sent = self
                .writer
                .write_frame(Frame::close(code, reason.as_bytes()))
                .await;
            if sent.is_ok() {
                let _ = tokio::time::timeout(CLOSE_DRAIN, self.drain()).await;
            }
        }
        self.reader.abort();
    }

    /// Reads (and drops) what the client still sends until its close frame or the end of
    /// the stream, so the socket is empty when it is closed (see [`CLOSE_DRAIN`]). After an
    /// oversize frame the reader goes on discarding raw bytes and then ends: waiting for the
    /// channel to close waits for that.
    async fn drain(&mut self) {
        while let Some(inbound) = self.inbound.recv().await {
            if matches!(*inbound, Inbound::Closed(_)) {
                return;
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_loop(
    mut read: BoundedMessages<SharedRead<ReadHalf<Io>>>,
    raw: Option<SharedRead<ReadHalf<Io>>>,
    tx: mpsc::Sender<Box<Inbound>>,
) {
    loop {
        // Auto-pong and auto-close are off, so the reader never has to write.
        let frame = read
            .read_frame::<_, std::io::Error>(&mut |_| async { Ok(()) })
            .await;
        let msg = match frame {
            Ok(f) => match f.opcode {
                WsOp::Text | WsOp::Binary => Inbound::Message(f.payload.to_vec()),
                WsOp::Ping => Inbound::Ping(f.payload.to_vec()),
                WsOp::Close => {
                    let code = (f.payload.len() >= 2)
                        .then(|| u16::from_be_bytes([f.payload[0], f.payload[1]]));
                    let _ = tx.send(Box::new(Inbound::Closed(code))).await;
                    return;
                }
                WsOp::Pong | WsOp::Continuation => continue,
            },
            Err(e) => {
                tracing::debug!(error = %e, "gateway read ended");
                let too_large = matches!(e, WebSocketError::FrameTooLarge);
                let _ = tx
                    .send(Box::new(if too_large {
                        Inbound::TooLarge
                    } else {
                        Inbound::Closed(None)
                    }))
                    .await;
                // The refused frame's payload (fastwebsockets stopped after its header) and
                // whatever follows, up to the client's close: dropped, so that closing the
                // socket sends a FIN after the 4002 close frame rather than a reset.
                if too_large && let Some(mut raw) = raw {
                    let dropped = discard(&mut raw, OVERSIZE_DISCARD_BYTES).await;
                    tracing::debug!(dropped, "discarded the rest of an oversize message");
                }
                return;
            }
        };
        if tx.send(Box::new(msg)).await.is_err() {
            return;
        }
    }
}
