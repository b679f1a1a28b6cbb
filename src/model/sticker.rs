use serde::{Deserialize, Serialize};

use super::PublicUser;
use crate::id::{GuildId, StickerId, UserId};

/// Discord's sticker format types (`format_type`), decided from the uploaded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum StickerFormat {
    Png = 1,
    Apng = 2,
    Lottie = 3,
    Gif = 4,
}

impl StickerFormat {
    /// The extension of the CDN URL (`/stickers/{id}.{ext}`): APNG is served as `.png`, as on
    /// Discord.
    pub fn ext(self) -> &'static str {
        match self {
            Self::Png | Self::Apng => "png",
            Self::Lottie => "json",
            Self::Gif => "gif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png | Self::Apng => "image/png",
            Self::Lottie => "application/json",
            Self::Gif => "image/gif",
        }
    }
}

impl From<StickerFormat> for u8 {
    fn from(f: StickerFormat) -> u8 {
        f as u8
    }
}

impl TryFrom<u8> for StickerFormat {
    type Error = String;

    fn try_from(v: u8) -> Result<Self, String> {
        Ok(match v {
            1 => Self::Png,
            2 => Self::Apng,
            3 => Self::Lottie,
            4 => Self::Gif,
            other => return Err(format!("unknown sticker format type {other}")),
        })
    }
}

/// Discord's sticker type for stickers uploaded to a guild (1 is a standard, pack sticker).
pub const GUILD_STICKER_TYPE: u8 = 2;

/// A guild's sticker. The file lives on the CDN under `stickers/{id}/` and is served as
/// `/stickers/{id}.{png,gif,json}`, the URL Discord clients build from the id and `format_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StickerRecord {
    pub id: StickerId,
    pub guild_id: GuildId,
    pub name: String,
    /// None when empty (Discord: empty or 2–100 characters).
    pub description: Option<String>,
    /// Autocomplete/suggestion tags (Discord clients put the related emoji's name here).
    pub tags: String,
    pub format_type: StickerFormat,
    /// False when the guild lost the boosts that paid for the slot (never, here: kept for the
    /// wire shape).
    pub available: bool,
    /// Who uploaded it.
    pub user_id: Option<UserId>,
    /// Order within a standard sticker pack; None for guild stickers.
    #[serde(default)]
    pub sort_value: Option<u32>,
}

impl StickerRecord {
    /// Discord's sticker object; `user` only where Discord sends it (to members who may manage
    /// the guild's expressions).
    pub fn to_json(&self, user: Option<&PublicUser>) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tags": self.tags,
            "type": GUILD_STICKER_TYPE,
            "format_type": self.format_type,
            "available": self.available,
            "guild_id": self.guild_id,
        });
        if let Some(s) = self.sort_value {
            v["sort_value"] = serde_json::json!(s);
        }
        if let Some(u) = user {
            v["user"] = serde_json::json!(u);
        }
        v
    }

    /// What a message keeps of a sticker it was sent with.
    pub fn item(&self) -> StickerItem {
        StickerItem {
            id: self.id,
            name: self.name.clone(),
            format_type: self.format_type,
        }
    }
}

/// Discord's sticker item (`sticker_items` of a message): a snapshot taken when the message was
/// sent, so a later rename or delete of the sticker leaves old messages as they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StickerItem {
    pub id: StickerId,
    pub name: String,
    pub format_type: StickerFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_types_are_discords_numbers() {
        for (f, n) in [
            (StickerFormat::Png, 1),
            (StickerFormat::Apng, 2),
            (StickerFormat::Lottie, 3),
            (StickerFormat::Gif, 4),
        ] {
            assert_eq!(serde_json::to_value(f).unwrap(), serde_json::json!(n));
            assert_eq!(
                serde_json::from_value::<StickerFormat>(n.into()).unwrap(),
                f
            );
        }
        assert!(serde_json::from_value::<StickerFormat>(5.into()).is_err());
    }
}
