//! Sticker files: what an upload is (PNG, APNG, GIF or a Lottie animation), decided from its
//! bytes rather than its name or declared type, and where it lives (`stickers/{id}/{hash}.{ext}`,
//! served as `/stickers/{id}.{ext}`).

use sha2::{Digest, Sha256};

use super::{Cdn, CdnError, ImageKind, content_type_for, inspect_image};
use crate::id::StickerId;
use crate::model::StickerFormat;

/// Why an upload is not a sticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StickerFileError {
    /// Not a PNG, APNG, GIF or JSON file at all.
    #[error("not a PNG, APNG, GIF or Lottie JSON file")]
    Unrecognized,
    /// Looks like one of them but can't be used (a PNG that doesn't decode, JSON that isn't a
    /// Lottie animation).
    #[error("invalid asset")]
    InvalidAsset,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The sticker format of an upload.
pub fn detect(bytes: &[u8]) -> Result<StickerFormat, StickerFileError> {
    if bytes.starts_with(PNG_SIGNATURE) {
        inspect_image(bytes).ok_or(StickerFileError::InvalidAsset)?;
        return Ok(if is_apng(bytes) {
            StickerFormat::Apng
        } else {
            StickerFormat::Png
        });
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return inspect_image(bytes)
            .map(|_| StickerFormat::Gif)
            .ok_or(StickerFileError::InvalidAsset);
    }
    let text = bytes.trim_ascii_start();
    if text.starts_with(b"{") {
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| StickerFileError::Unrecognized)?;
        return if is_lottie(&doc) {
            Ok(StickerFormat::Lottie)
        } else {
            Err(StickerFileError::InvalidAsset)
        };
    }
    Err(StickerFileError::Unrecognized)
}

/// An animated PNG carries an `acTL` chunk before its first `IDAT` (the APNG specification);
/// a plain decoder shows only the default image.
fn is_apng(bytes: &[u8]) -> bool {
    let mut at = PNG_SIGNATURE.len();
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        match &header[4..8] {
            b"acTL" => return true,
            b"IDAT" | b"IEND" => return false,
            _ => {}
        }
        // length + type + data + CRC
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

/// The members every Lottie animation has (the Lottie specification's required top-level
/// properties): size, frame rate, in/out points and the layers.
fn is_lottie(doc: &serde_json::Value) -> bool {
    ["w", "h", "fr", "ip", "op"]
        .iter()
        .all(|k| doc.get(k).is_some_and(serde_json::Value::is_number))
        && doc.get("layers").is_some_and(serde_json::Value::is_array)
}

impl Cdn {
    /// Stores a sticker's file (already checked with [`detect`]).
    pub async fn put_sticker(
        &self,
        id: StickerId,
        format: StickerFormat,
        bytes: &[u8],
    ) -> Result<(), CdnError> {
        let digest = Sha256::digest(bytes);
        let dir = self.sticker_dir(id);
        tokio::fs::create_dir_all(&dir).await?;
        let name = format!("{}.{}", hex::encode(&digest[..16]), format.ext());
        tokio::fs::write(dir.join(name), bytes).await?;
        Ok(())
    }

    /// A sticker's file and its content type.
    pub async fn get_sticker(&self, id: StickerId) -> Option<(Vec<u8>, &'static str)> {
        let mut entries = tokio::fs::read_dir(self.sticker_dir(id)).await.ok()?;
        while let Ok(Some(e)) = entries.next_entry().await {
            if e.file_type().await.is_ok_and(|t| t.is_file()) {
                let name = e.file_name().to_string_lossy().into_owned();
                let bytes = tokio::fs::read(e.path()).await.ok()?;
                return Some((bytes, content_type_for(&name)));
            }
        }
        None
    }

    /// Removes a sticker's file (an upload whose sticker was then refused).
    pub async fn delete_sticker(&self, id: StickerId) {
        let _ = tokio::fs::remove_dir_all(self.sticker_dir(id)).await;
    }

    fn sticker_dir(&self, id: StickerId) -> std::path::PathBuf {
        self.root
            .join(ImageKind::Sticker.dir())
            .join(id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::new_rgba8(32, 32)
            .write_to(&mut out, image::ImageOutputFormat::Png)
            .unwrap();
        out.into_inner()
    }

    /// A PNG with an `acTL` chunk spliced in after IHDR (the CRC is not checked here).
    fn apng() -> Vec<u8> {
        let png = png();
        let ihdr_end = PNG_SIGNATURE.len() + 8 + 13 + 4;
        let mut out = png[..ihdr_end].to_vec();
        out.extend_from_slice(&8u32.to_be_bytes());
        out.extend_from_slice(b"acTL");
        out.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&png[ihdr_end..]);
        out
    }

    #[test]
    fn formats_come_from_the_bytes() {
        assert_eq!(detect(&png()), Ok(StickerFormat::Png));
        assert_eq!(detect(&apng()), Ok(StickerFormat::Apng));
        let mut gif = std::io::Cursor::new(Vec::new());
        image::DynamicImage::new_rgba8(8, 8)
            .write_to(&mut gif, image::ImageOutputFormat::Gif)
            .unwrap();
        assert_eq!(detect(gif.get_ref()), Ok(StickerFormat::Gif));
        let lottie = br#"{"v":"5.7.4","fr":30,"ip":0,"op":60,"w":320,"h":320,"layers":[]}"#;
        assert_eq!(detect(lottie), Ok(StickerFormat::Lottie));
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(detect(b"hello"), Err(StickerFileError::Unrecognized));
        assert_eq!(detect(b"{not json"), Err(StickerFileError::Unrecognized));
        assert_eq!(detect(br#"{"a": 1}"#), Err(StickerFileError::InvalidAsset));
        assert_eq!(
            detect(&png()[..20]),
            Err(StickerFileError::InvalidAsset),
            "a truncated PNG"
        );
        let mut jpeg = std::io::Cursor::new(Vec::new());
        image::DynamicImage::new_rgb8(8, 8)
            .write_to(&mut jpeg, image::ImageOutputFormat::Jpeg(80))
            .unwrap();
        assert_eq!(detect(jpeg.get_ref()), Err(StickerFileError::Unrecognized));
    }
}
