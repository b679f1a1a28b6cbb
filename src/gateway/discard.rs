//! Reading on after fastwebsockets gives up in the middle of a frame.
//!
//! fastwebsockets refuses a frame over `gateway.max_payload_bytes` as soon as it has read the
//! frame's header, and leaves the payload in the socket. Closing a socket that still holds
//! unread bytes makes the kernel answer with a reset, which can overtake the 4002 close frame
//! the server has just written: the client then sees "connection reset" instead of the close
//! code it must act on. [`SharedRead`] gives the connection a second handle on the socket's read
//! half, through which [`discard`] reads the rest and throws it away, in a fixed buffer (memory
//! stays bounded whatever length the frame declares) and up to a byte budget, before the socket
//! is closed. The caller bounds the time (`CLOSE_DRAIN` in `connection.rs`).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// A read half that two owners take turns on: fastwebsockets while it reads frames, then
/// [`discard`] once it has given up. They never read at the same time (one task does both, one
/// after the other), so the lock is never contended; it is only there to share the handle.
pub struct SharedRead<R>(Arc<Mutex<R>>);

impl<R> SharedRead<R> {
    pub fn new(read: R) -> Self {
        Self(Arc::new(Mutex::new(read)))
    }
}

impl<R> Clone for SharedRead<R> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for SharedRead<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // A panic while reading can't leave the socket half-updated in a way that matters
        // here: the connection is being closed either way.
        let mut read = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Pin::new(&mut *read).poll_read(cx, buf)
    }
}

/// Reads and drops up to `limit` bytes, until the end of the stream or an error; returns how
/// many it dropped.
pub async fn discard<R: AsyncRead + Unpin>(read: &mut R, limit: u64) -> u64 {
    let mut buf = vec![0u8; 8 * 1024];
    let mut total = 0u64;
    while total < limit {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn discard_stops_at_the_limit_or_the_end() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        client.write_all(&[7u8; 40_000]).await.unwrap();
        let mut read = SharedRead::new(server);
        let mut other = read.clone();
        assert_eq!(discard(&mut read, 16_384).await, 16_384);
        drop(client);
        assert_eq!(discard(&mut other, u64::MAX).await, 40_000 - 16_384);
    }
}
