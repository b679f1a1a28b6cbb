//! The client side of `compress=zlib-stream`: one inflate stream per connection, fed each
//! binary message in order (every message ends with a sync flush, `00 00 ff ff`), as
//! discord.js (zlib-sync) and discord.py do. Lets loadgen measure what a compressed session
//! costs the server.

use flate2::{Decompress, FlushDecompress, Status};

/// One connection's inflate stream and its output buffer (reused between messages).
pub struct Inflater {
    stream: Decompress,
    out: Vec<u8>,
}

impl Default for Inflater {
    fn default() -> Self {
        Self {
            stream: Decompress::new(true),
            out: Vec::new(),
        }
    }
}

impl Inflater {
    /// Inflates one whole binary message; the bytes are valid until the next call.
    pub fn inflate(&mut self, input: &[u8]) -> Result<&[u8], String> {
        self.out.clear();
        let mut consumed = 0;
        loop {
            if self.out.capacity() - self.out.len() < 1024 {
                self.out.reserve(input.len().max(1024) * 4);
            }
            let (in_before, out_before) = (self.stream.total_in(), self.out.len());
            let status = self
                .stream
                .decompress_vec(&input[consumed..], &mut self.out, FlushDecompress::Sync)
                .map_err(|e| e.to_string())?;
            consumed += (self.stream.total_in() - in_before) as usize;
            let progressed = self.stream.total_in() != in_before || self.out.len() != out_before;
            let room_left = self.out.len() < self.out.capacity();
            if status == Status::StreamEnd || !progressed || (consumed >= input.len() && room_left)
            {
                return Ok(&self.out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    #[test]
    fn inflates_sync_flushed_messages_of_one_stream() {
        let mut deflate = Compress::new(Compression::default(), true);
        let mut inflater = Inflater::default();
        for i in 0..50 {
            let msg =
                format!("{{\"op\":0,\"t\":\"MESSAGE_CREATE\",\"d\":{{\"n\":{i}}}}}").repeat(i + 1);
            let mut out = Vec::with_capacity(msg.len() * 2 + 64);
            deflate
                .compress_vec(msg.as_bytes(), &mut out, FlushCompress::Sync)
                .unwrap();
            assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
            assert_eq!(inflater.inflate(&out).unwrap(), msg.as_bytes());
        }
    }
}
