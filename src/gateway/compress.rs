//! Transport compression for outbound gateway frames.
//!
//! `compress=zlib-stream` (discord.py always asks for it) means one zlib stream for the whole
//! connection: every frame is deflated with the same context, so later frames reuse the
//! dictionary built by earlier ones (repeated keys like `"guild_id"` cost a few bits), and each
//! frame ends with a sync flush, whose `00 00 ff ff` tail tells the client "a whole message
//! is buffered, inflate it now". Compressed frames go out as binary WebSocket messages.
//!
//! The compression context is per connection, so compression happens in the session, after
//! the shared event bytes were wrapped with the session's sequence number.
//!
//! `zstd-stream` (twilight's default build) is refused by [`Compression::from_query`]: the
//! server may reject the connection or, since clients inflate only binary messages and parse
//! text messages as plain JSON, fall back to [`Compression::None`].

use std::io::Write;

use flate2::{Compress, FlushCompress, Status};

/// The zlib sync-flush marker every zlib-stream message ends with.
pub const ZLIB_SUFFIX: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Transport compression chosen by the `compress` query parameter of the gateway URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Plain JSON text messages.
    #[default]
    None,
    /// One zlib stream per connection, sync-flushed after every message.
    ZlibStream,
}

/// The `compress` query parameter names a scheme this server does not implement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported gateway compression {0:?} (supported: zlib-stream)")]
pub struct UnsupportedCompression(pub String);

impl Compression {
    /// Interpret `?compress=…`: absent or empty → none, `zlib-stream` → zlib stream,
    /// anything else (notably `zstd-stream`) → [`UnsupportedCompression`].
    pub fn from_query(value: Option<&str>) -> Result<Compression, UnsupportedCompression> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::None),
            Some(v) if v.eq_ignore_ascii_case("zlib-stream") => Ok(Self::ZlibStream),
            Some(other) => Err(UnsupportedCompression(other.chars().take(32).collect())),
        }
    }
}

/// Compressing a frame failed. Not expected with a healthy stream; the session should close
/// the connection with 4000 (the client resumes on a new connection and a fresh stream).
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// zlib reported an error.
    #[error("zlib stream error: {0}")]
    Zlib(#[from] flate2::CompressError),
    /// zlib made no progress although input and output space remained.
    #[error("zlib stream made no progress")]
    Stalled,
    /// Writing a one-shot zlib payload failed.
    #[error("zlib payload error: {0}")]
    Io(#[from] std::io::Error),
}

/// The per-connection zlib-stream compressor.
pub struct ZlibStream {
    inner: Compress,
}

impl std::fmt::Debug for ZlibStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZlibStream")
            .field("total_in", &self.inner.total_in())
            .field("total_out", &self.inner.total_out())
            .finish()
    }
}

impl Default for ZlibStream {
    fn default() -> Self {
        Self::new()
    }
}

impl ZlibStream {
    /// A new stream (zlib header, default level: a good ratio at modest CPU per message).
    pub fn new() -> Self {
        Self {
            inner: Compress::new(flate2::Compression::default(), true),
        }
    }

    /// Deflate one frame into the stream and sync-flush; the result ends in [`ZLIB_SUFFIX`].
    /// The first message also carries the zlib header.
    pub fn compress(&mut self, frame: &[u8]) -> Result<Vec<u8>, CompressError> {
        let mut out = Vec::with_capacity(frame.len() / 2 + 64);
        let start_in = self.inner.total_in();
        loop {
            let consumed = usize::try_from(self.inner.total_in() - start_in).unwrap_or(usize::MAX);
            let input = frame.get(consumed..).unwrap_or_default();
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(64));
            }
            let before = (self.inner.total_in(), self.inner.total_out());
            let status = self
                .inner
                .compress_vec(input, &mut out, FlushCompress::Sync)?;
            let all_consumed = self.inner.total_in() - start_in == frame.len() as u64;
            // The flush is complete once all input is consumed and zlib stopped with output
            // space left over (zlib's own "avail_out != 0" rule).
            if all_consumed && out.len() < out.capacity() {
                return Ok(out);
            }
            let progressed = (self.inner.total_in(), self.inner.total_out()) != before;
            if !progressed && (status == Status::BufError || status == Status::StreamEnd) {
                return Err(CompressError::Stalled);
            }
        }
    }
}

/// IDENTIFY `compress: true`: one complete, self-contained zlib stream per payload (only
/// used when the connection is not already zlib-stream).
pub fn compress_payload(frame: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(frame.len() / 2 + 32),
        flate2::Compression::default(),
    );
    encoder.write_all(frame)?;
    Ok(encoder.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    /// A client's inflater: one Decompress for the whole connection.
    fn inflate(d: &mut Decompress, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() * 4 + 64);
        let start = d.total_in();
        loop {
            let consumed = (d.total_in() - start) as usize;
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            d.decompress_vec(&message[consumed..], &mut out, FlushDecompress::Sync)
                .unwrap();
            if (d.total_in() - start) as usize == message.len() && out.len() < out.capacity() {
                return out;
            }
        }
    }

    fn sample(i: usize) -> Vec<u8> {
        format!(
            r#"{{"t":"MESSAGE_CREATE","s":{i},"op":0,"d":{{"guild_id":"1","channel_id":"2","content":"{}"}}}}"#,
            "hello ".repeat(i % 7)
        )
        .into_bytes()
    }

    #[test]
    fn consecutive_frames_round_trip_through_one_inflater() {
        let mut z = ZlibStream::new();
        let mut d = Decompress::new(true);
        let mut total_plain = 0;
        let mut total_compressed = 0;
        for i in 0..50 {
            let frame = sample(i);
            let message = z.compress(&frame).unwrap();
            assert!(
                message.ends_with(&ZLIB_SUFFIX),
                "frame {i} lacks the sync suffix"
            );
            if i == 0 {
                assert_eq!(
                    message[0], 0x78,
                    "first message starts with the zlib header"
                );
            }
            assert_eq!(inflate(&mut d, &message), frame, "frame {i}");
            total_plain += frame.len();
            total_compressed += message.len();
        }
        // The shared dictionary makes repetitive frames much smaller.
        assert!(
            total_compressed * 3 < total_plain,
            "{total_compressed} vs {total_plain}"
        );
    }

    #[test]
    fn large_and_empty_frames() {
        let mut z = ZlibStream::new();
        let mut d = Decompress::new(true);
        // Incompressible-ish data larger than any single output reservation.
        let mut big = Vec::with_capacity(300_000);
        let mut x: u32 = 12345;
        for _ in 0..300_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            big.push((x >> 16) as u8);
        }
        for frame in [big.as_slice(), b"", b"{}", big.as_slice()] {
            let message = z.compress(frame).unwrap();
            assert!(message.ends_with(&ZLIB_SUFFIX));
            assert_eq!(inflate(&mut d, &message), frame);
        }
    }

    #[test]
    fn payload_compression_is_self_contained() {
        let frame = sample(3);
        for _ in 0..2 {
            let compressed = compress_payload(&frame).unwrap();
            let mut plain = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::ZlibDecoder::new(compressed.as_slice()),
                &mut plain,
            )
            .unwrap();
            assert_eq!(plain, frame);
        }
    }

    #[test]
    fn query_parameter() {
        assert_eq!(Compression::from_query(None), Ok(Compression::None));
        assert_eq!(Compression::from_query(Some("")), Ok(Compression::None));
        assert_eq!(
            Compression::from_query(Some("zlib-stream")),
            Ok(Compression::ZlibStream)
        );
        assert_eq!(
            Compression::from_query(Some("zstd-stream")),
            Err(UnsupportedCompression("zstd-stream".into()))
        );
        assert!(Compression::from_query(Some("gzip")).is_err());
    }
}
