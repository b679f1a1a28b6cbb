//! Reassembling fragmented WebSocket messages with a cap on the whole message.
//!
//! fastwebsockets' `set_max_message_size` bounds each *frame*, and its `FragmentCollectorRead`
//! appends continuation frames without any bound: a client that sends a text frame without FIN
//! and then small continuation frames forever grows the server's memory without limit. This
//! reader applies `gateway.max_payload_bytes` to the message.

use fastwebsockets::{Frame, OpCode, Payload, WebSocketError, WebSocketRead};
use tokio::io::AsyncRead;

/// Reads whole messages (and control frames, which are never fragmented) from a
/// [`WebSocketRead`], failing with [`WebSocketError::FrameTooLarge`] when a fragmented message
/// outgrows `max_message_bytes`.
pub struct BoundedMessages<S> {
    read: WebSocketRead<S>,
    max_message_bytes: usize,
    /// The message being reassembled: its opcode and the bytes so far.
    partial: Option<(OpCode, Vec<u8>)>,
}

impl<S: AsyncRead + Unpin> BoundedMessages<S> {
    pub fn new(read: WebSocketRead<S>, max_message_bytes: usize) -> Self {
        Self {
            read,
            max_message_bytes,
            partial: None,
        }
    }

    /// The next message or control frame. `send_fn` is fastwebsockets' hook for frames the
    /// protocol obliges the reader to send (with auto-pong and auto-close off, none).
    pub async fn read_frame<R, E>(
        &mut self,
        send_fn: &mut impl FnMut(Frame<'_>) -> R,
    ) -> Result<Frame<'static>, WebSocketError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
        R: Future<Output = Result<(), E>>,
    {
        loop {
            let mut frame = self.read.read_frame(send_fn).await?;
            check_client_frame(&mut frame)?;
            match frame.opcode {
                OpCode::Text | OpCode::Binary if frame.fin => {
                    if self.partial.is_some() {
                        return Err(WebSocketError::InvalidFragment);
                    }
                    return Ok(owned(frame.opcode, frame.payload.to_vec()));
                }
                OpCode::Text | OpCode::Binary => {
                    if self.partial.is_some() {
                        return Err(WebSocketError::InvalidFragment);
                    }
                    self.partial = Some((frame.opcode, frame.payload.to_vec()));
                }
                OpCode::Continuation => {
                    let Some((_, bytes)) = self.partial.as_mut() else {
                        return Err(WebSocketError::InvalidContinuationFrame);
                    };
                    if bytes.len().saturating_add(frame.payload.len()) >= self.max_message_bytes {
                        self.partial = None;
                        return Err(WebSocketError::FrameTooLarge);
                    }
                    bytes.extend_from_slice(&frame.payload);
                    if frame.fin
                        && let Some((opcode, bytes)) = self.partial.take()
                    {
                        if opcode == OpCode::Text && std::str::from_utf8(&bytes).is_err() {
                            return Err(WebSocketError::InvalidUTF8);
                        }
                        return Ok(owned(opcode, bytes));
                    }
                }
                OpCode::Close | OpCode::Ping | OpCode::Pong => {
                    return Ok(owned(frame.opcode, frame.payload.to_vec()));
                }
            }
        }
    }
}

/// RFC 6455 §5.1 and §5.5, which fastwebsockets does not enforce: every frame a client sends
/// is masked (a server must fail the connection on an unmasked one: the mask is what keeps a
/// page script from steering bytes through a proxy), and a control frame carries at most 125
/// bytes. The frame has already been unmasked in place; `fmt_head` still shows whether it
/// came with a mask, which is the only way this crate exposes it.
fn check_client_frame(frame: &mut Frame<'_>) -> Result<(), WebSocketError> {
    let mut head = [0u8; 16];
    frame.fmt_head(&mut head);
    if head[1] & 0x80 == 0 {
        return Err(WebSocketError::InvalidValue);
    }
    let control = matches!(frame.opcode, OpCode::Close | OpCode::Ping | OpCode::Pong);
    if control && frame.payload.len() > 125 {
        return Err(WebSocketError::PingFrameTooLarge);
    }
    Ok(())
}
fn owned(opcode: OpCode, bytes: Vec<u8>) -> Frame<'static> {
    Frame::new(true, opcode, None, Payload::Owned(bytes))
}
