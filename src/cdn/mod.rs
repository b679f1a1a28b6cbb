//! The CDN: files on the local filesystem under one root, served by the same binary.
//!
//! - message attachments: `/attachments/{channel_id}/{attachment_id}/{filename}`
//! - sticker files (PNG, APNG, GIF, Lottie JSON): `/stickers/{sticker_id}.{ext}`
//! - images from data URIs (avatars, banners, guild icons, webhook avatars):
//!   `/{kind}/{owner_id}/{hash}.{ext}`, resized on request with `?size=`.
//!
//! Paths are built only from ids and sanitized names, so nothing a client sends can leave the
//! root (see [`sanitize_filename`] and its test).

pub mod badge;
pub mod routes;
pub mod sticker;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{FieldError, FieldErrors};
use crate::id::{AttachmentId, ChannelId, Snowflake, SoundId};

#[derive(Debug, thiserror::Error)]
pub enum CdnError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("not an image this server accepts")]
    BadImage,
    #[error("too large")]
    TooLarge,
    /// The image declares more pixels than `cdn.max_image_pixels`: refused from its header,
    /// before anything is decoded (a few hundred bytes of PNG can declare 60000×60000).
    #[error("image dimensions over the limit")]
    TooManyPixels { max_pixels: u64 },
}

/// What an uploaded image may be: its encoded size and its declared pixel count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    pub max_bytes: usize,
    pub max_pixels: u64,
}

impl ImageLimits {
    /// The limits for avatars, icons, banners and emojis from the live configuration.
    pub fn avatar(cdn: &crate::config::Cdn) -> Self {
        Self {
            max_bytes: cdn.max_avatar_bytes,
            max_pixels: cdn.max_image_pixels,
        }
    }
}

/// What an uploaded image turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    pub ext: &'static str,
    pub content_type: &'static str,
}

impl ImageInfo {
    /// Width × height as the header declares them.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Image kinds with their URL prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Avatar,
    Banner,
    Icon,
    Splash,
    /// A guild's discovery splash (Discord's `discovery-splashes/{guild_id}/{hash}`).
    DiscoverySplash,
    Emoji,
    Sticker,
    AppIcon,
    TeamIcon,
    /// Scheduled event cover images (Discord's `guild-events/{event_id}/{hash}`).
    GuildEvent,
}

impl ImageKind {
    pub fn dir(self) -> &'static str {
        match self {
            Self::Avatar => "avatars",
            Self::Banner => "banners",
            Self::Icon => "icons",
            Self::Splash => "splashes",
            Self::DiscoverySplash => "discovery-splashes",
            Self::Emoji => "emojis",
            Self::Sticker => "stickers",
            Self::AppIcon => "app-icons",
            Self::TeamIcon => "team-icons",
            Self::GuildEvent => "guild-events",
        }
    }

    pub fn from_dir(dir: &str) -> Option<Self> {
        Some(match dir {
            "avatars" => Self::Avatar,
            "banners" => Self::Banner,
            "icons" => Self::Icon,
            "splashes" => Self::Splash,
            "discovery-splashes" => Self::DiscoverySplash,
            "emojis" => Self::Emoji,
            "stickers" => Self::Sticker,
            "app-icons" => Self::AppIcon,
            "team-icons" => Self::TeamIcon,
            "guild-events" => Self::GuildEvent,
            _ => return None,
        })
    }
}

pub struct Cdn {
    root: PathBuf,
}

/// Keeps `[A-Za-z0-9._-]`, replaces everything else with `_`, never starts with a dot, at most
/// 100 characters; empty becomes `file`. `..`, `/` and `\` can't survive.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.starts_with('.') {
        out.remove(0);
    }
    out.truncate(100);
    if out.is_empty() { "file".into() } else { out }
}

/// A content type from the file name (what browsers and clients expect back).
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "log" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Recognizes an image by its bytes (not its name) and reads its size.
pub fn inspect_image(bytes: &[u8]) -> Option<ImageInfo> {
    let format = image::guess_format(bytes).ok()?;
    let (ext, content_type) = match format {
        image::ImageFormat::Png => ("png", "image/png"),
        image::ImageFormat::Jpeg => ("jpg", "image/jpeg"),
        image::ImageFormat::Gif => ("gif", "image/gif"),
        image::ImageFormat::WebP => ("webp", "image/webp"),
        _ => return None,
    };
    let reader = image::io::Reader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().ok()?;
    let animated = format == image::ImageFormat::Gif && gif_frames(bytes) > 1;
    Some(ImageInfo {
        width,
        height,
        animated,
        ext,
        content_type,
    })
}

/// Counts GIF image descriptors cheaply (a second frame makes it animated).
fn gif_frames(bytes: &[u8]) -> usize {
    bytes
        .windows(2)
        .filter(|w| w[0] == 0x00 && w[1] == 0x2C)
        .count()
        .max(1)
}

impl Cdn {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn attachment_path(&self, channel: ChannelId, id: AttachmentId, filename: &str) -> PathBuf {
        self.root
            .join("attachments")
            .join(channel.to_string())
            .join(id.to_string())
            .join(sanitize_filename(filename))
    }

    /// Stores an attachment; returns the sanitized file name used in its URL.
    pub async fn put_attachment(
        &self,
        channel: ChannelId,
        id: AttachmentId,
        filename: &str,
        bytes: &[u8],
    ) -> Result<String, CdnError> {
        let name = sanitize_filename(filename);
        let path = self.attachment_path(channel, id, &name);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::write(&path, bytes).await?;
        Ok(name)
    }

    /// Removes every attachment stored under `channel` (a deleted channel's, or a deleted
    /// application's uploads, which live under its id).
    pub async fn delete_attachments_of(&self, channel: ChannelId) {
        let dir = self.root.join("attachments").join(channel.to_string());
        let _ = tokio::fs::remove_dir_all(dir).await;
    }

    /// Removes every image stored for `owner` under `kind` (a deleted emoji's: its image is
    /// addressed by the emoji's id alone and would otherwise stay served forever).
    pub async fn delete_images_of(&self, kind: ImageKind, owner: Snowflake) {
        let dir = self.root.join(kind.dir()).join(owner.to_string());
        let _ = tokio::fs::remove_dir_all(dir).await;
    }

    pub async fn delete_attachment(&self, channel: ChannelId, id: AttachmentId) {
        let dir = self
            .root
            .join("attachments")
            .join(channel.to_string())
            .join(id.to_string());
        let _ = tokio::fs::remove_dir_all(dir).await;
    }

    pub async fn get_attachment(
        &self,
        channel: ChannelId,
        id: AttachmentId,
        filename: &str,
    ) -> Option<Vec<u8>> {
        tokio::fs::read(self.attachment_path(channel, id, filename))
            .await
            .ok()
    }

    fn sound_path(&self, id: SoundId) -> PathBuf {
        self.root.join("soundboard-sounds").join(id.to_string())
    }

    /// Stores a soundboard sound's file (one per sound, addressed by id as on Discord).
    pub async fn put_sound(&self, id: SoundId, bytes: &[u8]) -> Result<(), CdnError> {
        let path = self.sound_path(id);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::write(path, bytes).await?;
        Ok(())
    }

    pub async fn get_sound(&self, id: SoundId) -> Option<Vec<u8>> {
        tokio::fs::read(self.sound_path(id)).await.ok()
    }

    pub async fn delete_sound(&self, id: SoundId) {
        let _ = tokio::fs::remove_file(self.sound_path(id)).await;
    }

    /// Stores an image given as a data URI (`data:image/png;base64,...`); returns its hash
    /// (`a_`-prefixed when animated), as Discord names avatars and icons.
    pub async fn put_image_data_uri(
        &self,
        kind: ImageKind,
        owner: Snowflake,
        data_uri: &str,
        limits: ImageLimits,
    ) -> Result<String, CdnError> {
        let max_bytes = limits.max_bytes;
        let b64 = data_uri
            .split_once(";base64,")
            .map(|(_, b)| b)
            .ok_or(CdnError::BadImage)?;
        if b64.len() / 4 * 3 > max_bytes + 3 {
            return Err(CdnError::TooLarge);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| CdnError::BadImage)?;
        if bytes.len() > max_bytes {
            return Err(CdnError::TooLarge);
        }
        let info = inspect_image(&bytes).ok_or(CdnError::BadImage)?;
        if info.pixels() > limits.max_pixels {
            return Err(CdnError::TooManyPixels {
                max_pixels: limits.max_pixels,
            });
        }
        let digest = Sha256::digest(&bytes);
        let hash = format!(
            "{}{}",
            if info.animated { "a_" } else { "" },
            hex::encode(&digest[..16])
        );
        let dir = self.root.join(kind.dir()).join(owner.to_string());
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(dir.join(format!("{hash}.{}", info.ext)), &bytes).await?;
        Ok(hash)
    }

    /// The one image stored for an owner: custom emojis are addressed by id alone, as on
    /// Discord (`/emojis/{id}.png`), and an emoji's image never changes.
    pub async fn get_image_by_owner(&self, kind: ImageKind, owner: Snowflake) -> Option<Vec<u8>> {
        let dir = self.root.join(kind.dir()).join(owner.to_string());
        let mut entries = tokio::fs::read_dir(&dir).await.ok()?;
        while let Ok(Some(e)) = entries.next_entry().await {
            if e.file_type().await.is_ok_and(|t| t.is_file()) {
                return tokio::fs::read(e.path()).await.ok();
            }
        }
        None
    }

    /// The stored original of an image, whatever extension the client asks for.
    pub async fn get_image(
        &self,
        kind: ImageKind,
        owner: Snowflake,
        hash: &str,
    ) -> Option<Vec<u8>> {
        let hash = sanitize_filename(hash);
        let dir = self.root.join(kind.dir()).join(owner.to_string());
        for ext in ["png", "jpg", "gif", "webp"] {
            if let Ok(b) = tokio::fs::read(dir.join(format!("{hash}.{ext}"))).await {
                return Some(b);
            }
        }
        None
    }
}

/// Maps a CDN failure on a JSON field to Discord's form error.
pub fn field_error(path: &str, e: CdnError, max: usize) -> crate::error::ApiError {
    match e {
        CdnError::TooLarge => FieldErrors::single(path, FieldError::MaxLength { max }),
        CdnError::BadImage => FieldErrors::single(
            path,
            FieldError::BadType {
                expected: "a PNG, JPEG, GIF or WebP image as a data URI".into(),
            },
        ),
        CdnError::TooManyPixels { max_pixels } => FieldErrors::single(
            path,
            FieldError::BadType {
                expected: format!("an image of at most {max_pixels} pixels"),
            },
        ),
        CdnError::Io(e) => crate::error::ApiError::internal(e),
    }
}

/// Resizes to fit `size`×`size` (Discord's `?size=`: a power of two 16..4096), as PNG. Animated
/// images, images already small enough and images that declare more than `max_pixels` (which
/// are never decoded: stored attachments and stickers were not checked at upload) are returned
/// unchanged.
pub fn resize(bytes: &[u8], size: u32, max_pixels: u64) -> Option<Vec<u8>> {
    let info = inspect_image(bytes)?;
    if info.animated || (info.width <= size && info.height <= size) || info.pixels() > max_pixels {
        return None;
    }
    // The decoder's own allocation cap as a second fence: RGBA at the declared size, plus slack.
    let mut limits = image::io::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(1 << 20));
    let mut reader = image::io::Reader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    reader.limits(limits);
    let img = reader.decode().ok()?;
    let resized = img.resize(size, size, image::imageops::FilterType::Triangle);
    let mut out = Cursor::new(Vec::new());
    resized
        .write_to(&mut out, image::ImageOutputFormat::Png)
        .ok()?;
    Some(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_cannot_escape() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitize_filename(".."), "file");
        assert_eq!(sanitize_filename(".hidden"), "hidden");
        assert_eq!(sanitize_filename("a b/c?d.png"), "c_d.png");
        assert_eq!(sanitize_filename(""), "file");
        assert_eq!(sanitize_filename("ünï.txt"), "_n_.txt");
    }

    #[test]
    fn images_are_recognized_by_content() {
        let mut png = Cursor::new(Vec::new());
        image::DynamicImage::new_rgb8(64, 32)
            .write_to(&mut png, image::ImageOutputFormat::Png)
            .unwrap();
        let info = inspect_image(png.get_ref()).unwrap();
        assert_eq!(
            (info.width, info.height, info.ext, info.animated),
            (64, 32, "png", false)
        );
        assert!(inspect_image(b"not an image").is_none());
        let small = resize(png.get_ref(), 16, 1 << 24).unwrap();
        let i = inspect_image(&small).unwrap();
        assert_eq!((i.width, i.height), (16, 8));
    }

    /// A PNG header declaring `w`×`h` grey pixels, with a valid CRC and a tiny IDAT.
    fn declared_png(w: u32, h: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc.sum().to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &[0u8; 4096]).unwrap();
        chunk(&mut out, b"IDAT", &z.finish().unwrap());
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A GIF whose screen and only image declare `w`×`h`.
    fn declared_gif(w: u16, h: u16) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend_from_slice(&w.to_le_bytes());
        out.extend_from_slice(&h.to_le_bytes());
        out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x2c, 0, 0, 0, 0]);
        out.extend_from_slice(&w.to_le_bytes());
        out.extend_from_slice(&h.to_le_bytes());
        out.extend_from_slice(&[0, 2, 2, 0x4c, 0x01, 0, 0x3b]);
        out
    }

    #[tokio::test]
    async fn decompression_bombs_are_refused_by_declared_size() {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let cdn = Cdn::new(dir.path().to_path_buf());
        let limits = ImageLimits {
            max_bytes: 1 << 20,
            max_pixels: 16_777_216,
        };
        for bomb in [declared_png(60_000, 60_000), declared_gif(60_000, 60_000)] {
            assert!(bomb.len() < 200, "a {}-byte bomb", bomb.len());
            let info = inspect_image(&bomb).expect("the header is read");
            assert_eq!((info.width, info.height), (60_000, 60_000));
            // Never decoded for ?size=: the 3.6-gigapixel image is served as it is.
            assert_eq!(resize(&bomb, 16, limits.max_pixels), None);
            let uri = format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&bomb)
            );
            let refused = cdn
                .put_image_data_uri(ImageKind::Avatar, Snowflake::new(1), &uri, limits)
                .await;
            assert!(
                matches!(
                    refused,
                    Err(CdnError::TooManyPixels {
                        max_pixels: 16_777_216
                    })
                ),
                "{refused:?}"
            );
        }
        // At the limit is fine.
        let ok = declared_png(4096, 4096);
        let uri = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&ok)
        );
        assert!(
            cdn.put_image_data_uri(ImageKind::Avatar, Snowflake::new(1), &uri, limits)
                .await
                .is_ok()
        );
    }
}
