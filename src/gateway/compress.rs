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
    /// zlib refused the stream's parameters or ran out of memory creating it.
    #[error("zlib deflateInit2 failed with code {0}")]
    Init(i32),
    /// zlib reported an error while deflating.
    #[error("zlib deflate failed with code {0}")]
    Deflate(i32),
    /// zlib made no progress although input and output space remained.
    #[error("zlib stream made no progress")]
    Stalled,
    /// Writing a one-shot zlib payload failed.
    #[error("zlib payload error: {0}")]
    Io(#[from] std::io::Error),
}

/// How much memory one connection's deflate stream may use, and how hard it works
/// (`gateway.zlib_*`). zlib needs about `2^(window_bits+2) + 2^(mem_level+9)` bytes plus ~6 KiB
/// of state: 262 KiB at zlib's defaults (15, 8), 24 KiB at the default (12, 2). The memory
/// level barely moves the ratio on gateway traffic; the window does (a 4 KiB window sends
/// 1.5× the bytes of a 32 KiB one, a 1 KiB window 2.5×): see the test below and
/// BENCHMARKS.md, "zlib-stream".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateSize {
    /// 0–9 (zlib's levels; 6 is its default).
    pub level: u8,
    /// 9–15: the history window is `2^window_bits` bytes.
    pub window_bits: u8,
    /// 1–9: hash table and pending-symbol buffer sizes.
    pub mem_level: u8,
}

impl Default for DeflateSize {
    fn default() -> Self {
        Self {
            level: 6,
            window_bits: 12,
            mem_level: 2,
        }
    }
}

/// The per-connection zlib-stream compressor: C zlib through `libz-sys`, because it is the
/// one implementation here that lets the memory level be chosen (flate2 fixes it at 8, and the
/// pure-Rust backends have fixed 64–128 KiB tables), and that is most of an idle session's
/// compression cost.
pub struct ZlibStream {
    /// Boxed so that it never moves: zlib's internal state points back at its `z_stream`.
    stream: Box<libz_sys::z_stream>,
    size: DeflateSize,
}

// SAFETY: the stream and the zlib state it owns are used only through `&mut self`; zlib keeps
// no thread-affine or global state, so moving the owner to another thread is sound.
unsafe impl Send for ZlibStream {}

impl std::fmt::Debug for ZlibStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZlibStream")
            .field("size", &self.size)
            .field("total_in", &self.stream.total_in)
            .field("total_out", &self.stream.total_out)
            .finish()
    }
}

/// zlib's allocator hooks (the `z_stream` fields are plain function pointers, so zlib's
/// "null means malloc" default cannot be expressed): the C heap, zero-filled like zlib's own.
unsafe extern "C" fn zalloc(
    _: libz_sys::voidpf,
    items: libz_sys::uInt,
    size: libz_sys::uInt,
) -> libz_sys::voidpf {
    // SAFETY: calloc accepts any sizes and returns null on failure, which zlib handles.
    unsafe { libc::calloc(items as libc::size_t, size as libc::size_t) }
}

unsafe extern "C" fn zfree(_: libz_sys::voidpf, address: libz_sys::voidpf) {
    // SAFETY: zlib frees only what `zalloc` returned.
    unsafe { libc::free(address) }
}

impl ZlibStream {
    /// A new stream with a zlib header, sized by `size`.
    pub fn new(size: DeflateSize) -> Result<Self, CompressError> {
        let mut stream = Box::new(libz_sys::z_stream {
            next_in: std::ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            zalloc,
            zfree,
            opaque: std::ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        let level = i32::from(size.level.min(9));
        let window_bits = i32::from(size.window_bits.clamp(9, 15));
        let mem_level = i32::from(size.mem_level.clamp(1, 9));
        // SAFETY: `stream` is a valid, boxed (never moved) z_stream with allocator hooks set;
        // the version and struct size tell zlib which ABI we were compiled against.
        let rc = unsafe {
            libz_sys::deflateInit2_(
                &mut *stream,
                level,
                libz_sys::Z_DEFLATED,
                window_bits,
                mem_level,
                libz_sys::Z_DEFAULT_STRATEGY,
                libz_sys::zlibVersion(),
                std::mem::size_of::<libz_sys::z_stream>() as libc::c_int,
            )
        };
        if rc != libz_sys::Z_OK {
            return Err(CompressError::Init(rc));
        }
        Ok(Self { stream, size })
    }

    /// Deflate one frame into the stream and sync-flush; the result ends in [`ZLIB_SUFFIX`].
    /// The first message also carries the zlib header.
    pub fn compress(&mut self, frame: &[u8]) -> Result<Vec<u8>, CompressError> {
        if frame.is_empty() && self.stream.total_out > 0 {
            // zlib refuses a second flush in a row with no input (Z_BUF_ERROR, no output); what
            // it would write is an empty stored block: three zero bits padded to a byte (the
            // stream is byte-aligned after the previous sync flush), then LEN 0 and NLEN.
            return Ok([&[0x00][..], &ZLIB_SUFFIX[..]].concat());
        }
        let mut out: Vec<u8> = Vec::with_capacity(frame.len() / 2 + 64);
        let mut input = frame;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(64));
            }
            let chunk = input.len().min(libz_sys::uInt::MAX as usize);
            let spare = out.spare_capacity_mut();
            let room = spare.len().min(libz_sys::uInt::MAX as usize);
            let z = &mut *self.stream;
            // zlib reads `next_in` and writes `next_out` only within the lengths given, and
            // only during the `deflate` call below: both point into live buffers until then.
            z.next_in = input.as_ptr().cast_mut();
            z.avail_in = chunk as libz_sys::uInt;
            z.next_out = spare.as_mut_ptr().cast();
            z.avail_out = room as libz_sys::uInt;
            // SAFETY: the stream was initialised by deflateInit2 and not moved; the pointers
            // above are valid for the given lengths.
            let rc = unsafe { libz_sys::deflate(z, libz_sys::Z_SYNC_FLUSH) };
            let consumed = chunk - z.avail_in as usize;
            let written = room - z.avail_out as usize;
            let output_left = z.avail_out != 0;
            // The buffers are ours again; leave no dangling pointers in the stream.
            z.next_in = std::ptr::null_mut();
            z.avail_in = 0;
            z.next_out = std::ptr::null_mut();
            z.avail_out = 0;
            // SAFETY: zlib initialised exactly `written` bytes of the spare capacity.
            unsafe { out.set_len(out.len() + written) };
            input = &input[consumed..];
            match rc {
                libz_sys::Z_OK => {}
                // No progress possible: fine only if the flush is already complete.
                libz_sys::Z_BUF_ERROR
                    if consumed == 0 && written == 0 && !(input.is_empty() && output_left) =>
                {
                    return Err(CompressError::Stalled);
                }
                libz_sys::Z_BUF_ERROR => {}
                other => return Err(CompressError::Deflate(other)),
            }
            // The flush is complete once all input is consumed and zlib stopped with output
            // space left over (zlib's own "avail_out != 0" rule).
            if input.is_empty() && output_left {
                return Ok(out);
            }
        }
    }

    /// The sizing this stream was created with.
    pub fn size(&self) -> DeflateSize {
        self.size
    }
}

impl Drop for ZlibStream {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised (or its state is null, which deflateEnd rejects
        // harmlessly) and is not used afterwards.
        unsafe {
            libz_sys::deflateEnd(&mut *self.stream);
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
        let mut z = ZlibStream::new(DeflateSize::default()).unwrap();
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
                // CMF: deflate (8) with the window in the high nibble; FCHECK makes it % 31.
                assert_eq!(
                    message[0] & 0x0f,
                    8,
                    "first message starts with the zlib header"
                );
                assert_eq!(u16::from_be_bytes([message[0], message[1]]) % 31, 0);
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

    /// A gateway conversation as a client in a busy guild sees it: GUILD_CREATE, then
    /// messages from a few dozen authors, typing, reactions, presences and heartbeat ACKs.
    fn traffic() -> Vec<Vec<u8>> {
        use serde_json::json;
        let words = [
            "hello",
            "the",
            "build",
            "is",
            "green",
            "again",
            "anyone",
            "seen",
            "this",
            "error",
            "on",
            "main",
            "lol",
            "thanks",
            "deploying",
            "now",
            "ok",
            "merge",
            "review",
            "please",
        ];
        let mut x: u64 = 0x2545F4914F6CDD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let user = |n: u64| {
            json!({"id": (175928847299117063u64 + n * 7919).to_string(), "username": format!("member{n}"),
                   "discriminator": "0", "global_name": format!("Member {n}"),
                   "avatar": format!("{:032x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15u64)), "public_flags": 0, "flags": 0})
        };
        let members: Vec<_> = (0..50)
            .map(|n| json!({"user": user(n), "roles": ["41771983423143937"], "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0}))
            .collect();
        let channels: Vec<_> = (0..12)
            .map(|n| json!({"id": (41771983423143940u64 + n).to_string(), "type": 0, "name": format!("channel-{n}"), "position": n, "permission_overwrites": [], "topic": null, "nsfw": false, "last_message_id": null}))
            .collect();
        let mut frames = vec![
            serde_json::to_vec(&json!({"op": 0, "s": 2, "t": "GUILD_CREATE", "d": {"id": "41771983423143937", "name": "busy guild", "members": members, "channels": channels, "member_count": 50, "large": false}})).unwrap(),
        ];
        for i in 0..400u64 {
            let r = next();
            let author = user(r % 30);
            let channel = (41771983423143940u64 + (r >> 8) % 12).to_string();
            let d = match r % 10 {
                0..=5 => {
                    let n = 2 + (r >> 16) % 12;
                    let content: Vec<&str> = (0..n)
                        .map(|k| words[((r >> (k * 3)) % 20) as usize])
                        .collect();
                    json!({"t": "MESSAGE_CREATE", "d": {"id": (1334466442357440512u64 + i * 4_194_304).to_string(), "channel_id": channel, "guild_id": "41771983423143937", "author": author, "content": content.join(" "), "timestamp": format!("2026-12-04T19:{:02}:{:02}.000000+00:00", i / 60, i % 60), "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0, "nonce": (r % 1_000_000_007).to_string()}})
                }
                6 | 7 => {
                    json!({"t": "TYPING_START", "d": {"channel_id": channel, "guild_id": "41771983423143937", "user_id": author["id"], "timestamp": 1_780_000_000 + i}})
                }
                8 => {
                    json!({"t": "MESSAGE_REACTION_ADD", "d": {"user_id": author["id"], "channel_id": channel, "message_id": (1334466442357440512u64 + (i / 2) * 4_194_304).to_string(), "guild_id": "41771983423143937", "emoji": {"id": null, "name": "👍"}}})
                }
                _ => {
                    json!({"t": "PRESENCE_UPDATE", "d": {"user": {"id": author["id"]}, "guild_id": "41771983423143937", "status": "online", "activities": [], "client_status": {"desktop": "online"}}})
                }
            };
            let mut frame = json!({"op": 0, "s": i + 3});
            frame["t"] = d["t"].clone();
            frame["d"] = d["d"].clone();
            frames.push(serde_json::to_vec(&frame).unwrap());
            if i % 40 == 0 {
                frames.push(br#"{"op":11,"d":null}"#.to_vec());
            }
        }
        frames
    }

    /// The chosen sizing (`DeflateSize::default()`) against zlib's own defaults on gateway-like
    /// traffic: the ratio must stay close while the memory is ~11 times smaller. The figures
    /// are in BENCHMARKS.md ("zlib-stream").
    #[test]
    fn the_small_window_keeps_most_of_the_ratio() {
        let frames = traffic();
        let plain: usize = frames.iter().map(Vec::len).sum();
        let ratio = |size: DeflateSize| {
            let mut z = ZlibStream::new(size).unwrap();
            let mut d = Decompress::new(true);
            let mut compressed = 0;
            for f in &frames {
                let m = z.compress(f).unwrap();
                assert_eq!(&inflate(&mut d, &m), f);
                compressed += m.len();
            }
            let memory = (1usize << (size.window_bits + 2)) + (1usize << (size.mem_level + 9));
            eprintln!(
                "level {} window_bits {} mem_level {}: {plain} B -> {compressed} B ({:.1} %), ~{} KiB + state",
                size.level,
                size.window_bits,
                size.mem_level,
                100.0 * compressed as f64 / plain as f64,
                memory / 1024
            );
            compressed as f64 / plain as f64
        };
        for (w, m) in [
            (9, 1),
            (10, 2),
            (10, 8),
            (11, 3),
            (12, 2),
            (12, 3),
            (12, 4),
            (13, 3),
            (13, 4),
            (13, 5),
            (14, 5),
            (15, 3),
            (15, 8),
        ] {
            ratio(DeflateSize {
                level: 6,
                window_bits: w,
                mem_level: m,
            });
        }
        let zlib_default = ratio(DeflateSize {
            level: 6,
            window_bits: 15,
            mem_level: 8,
        });
        let chosen = ratio(DeflateSize::default());
        assert!(
            chosen < 0.5,
            "the default still compresses gateway traffic well ({chosen:.3})"
        );
        assert!(
            chosen < zlib_default * 1.75,
            "{chosen:.3} against zlib's defaults {zlib_default:.3}"
        );
    }

    #[test]
    fn large_and_empty_frames() {
        let mut z = ZlibStream::new(DeflateSize::default()).unwrap();
        let mut d = Decompress::new(true);
        // Incompressible-ish data larger than any single output reservation.
        let mut big = Vec::with_capacity(300_000);
        let mut x: u32 = 12345;
        for _ in 0..300_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            big.push((x >> 16) as u8);
        }
        for frame in [big.as_slice(), b"", b"{}", b"", b"", big.as_slice()] {
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
