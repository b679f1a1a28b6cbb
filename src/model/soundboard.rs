//! Soundboard sounds: a guild's own (stored with the guild's setup record, the file on the
//! CDN at `/soundboard-sounds/{id}`) and Discord's default sounds, which every guild can play.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::id::{EmojiId, GuildId, SoundId, UserId};

/// A guild's soundboard sound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoundRecord {
    pub id: SoundId,
    pub guild_id: GuildId,
    pub name: String,
    /// 0 to 1.
    pub volume: f64,
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
    /// Who uploaded it.
    pub user_id: UserId,
}

impl SoundRecord {
    /// Discord's soundboard sound object (`user` is added where Discord shows the uploader).
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "sound_id": self.id,
            "volume": self.volume,
            "emoji_id": self.emoji_id,
            "emoji_name": self.emoji_name,
            "guild_id": self.guild_id,
            "available": true,
        })
    }
}

/// Discord's default sounds: (id, name, emoji, audio), as `GET /soundboard-default-sounds` lists
/// them. Discord's recordings are Discord's, so the audio is Accord's own synthesised Ogg Vorbis
/// stand-ins (`scripts/soundboard/generate.py` writes them).
pub const DEFAULT_SOUNDS: &[(u64, &str, &str, &[u8])] = &[
    (
        1,
        "quack",
        "🦆",
        include_bytes!("../cdn/default_sounds/1.ogg"),
    ),
    (
        2,
        "airhorn",
        "🔊",
        include_bytes!("../cdn/default_sounds/2.ogg"),
    ),
    (
        3,
        "cricket",
        "🦗",
        include_bytes!("../cdn/default_sounds/3.ogg"),
    ),
    (
        4,
        "golf clap",
        "⛳",
        include_bytes!("../cdn/default_sounds/4.ogg"),
    ),
    (
        5,
        "sad horn",
        "🎺",
        include_bytes!("../cdn/default_sounds/5.ogg"),
    ),
    (
        6,
        "ba dum tss",
        "🥁",
        include_bytes!("../cdn/default_sounds/6.ogg"),
    ),
];

/// The built-in Ogg Vorbis file of a default sound.
pub fn default_sound_audio(id: SoundId) -> Option<&'static [u8]> {
    DEFAULT_SOUNDS
        .iter()
        .find(|(i, ..)| *i == id.get())
        .map(|(.., audio)| *audio)
}

/// A default sound by id.
pub fn default_sound(id: SoundId) -> Option<Value> {
    DEFAULT_SOUNDS
        .iter()
        .find(|(i, ..)| *i == id.get())
        .map(|(i, name, emoji, _)| default_json(*i, name, emoji))
}

fn default_json(id: u64, name: &str, emoji: &str) -> Value {
    json!({
        "name": name,
        "sound_id": id.to_string(),
        "volume": 1.0,
        "emoji_id": null,
        "emoji_name": emoji,
        "available": true,
    })
}

/// Every default sound.
pub fn default_sounds() -> Value {
    Value::Array(
        DEFAULT_SOUNDS
            .iter()
            .map(|(i, name, emoji, _)| default_json(*i, name, emoji))
            .collect(),
    )
}

/// The audio formats Discord accepts for a sound, read from the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoundFormat {
    Mp3,
    Ogg,
}

impl SoundFormat {
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"OggS") {
            return Some(Self::Ogg);
        }
        // An ID3 tag, or an MPEG audio frame sync (11 set bits).
        let frame = bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0;
        (bytes.starts_with(b"ID3") || frame).then_some(Self::Mp3)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Mp3 => "audio/mpeg",
            Self::Ogg => "audio/ogg",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_mp3_and_ogg_by_their_bytes() {
        assert_eq!(SoundFormat::detect(b"ID3\x04\0\0"), Some(SoundFormat::Mp3));
        assert_eq!(
            SoundFormat::detect(&[0xFF, 0xFB, 0x90]),
            Some(SoundFormat::Mp3)
        );
        assert_eq!(SoundFormat::detect(b"OggS\0\x02"), Some(SoundFormat::Ogg));
        assert_eq!(SoundFormat::detect(b"RIFF....WAVE"), None);
        assert_eq!(SoundFormat::detect(b""), None);
    }

    #[test]
    fn every_default_sound_has_ogg_audio() {
        for (id, ..) in DEFAULT_SOUNDS {
            let audio = default_sound_audio(SoundId::new(*id)).expect("audio");
            assert_eq!(
                SoundFormat::detect(audio),
                Some(SoundFormat::Ogg),
                "sound {id}"
            );
        }
        assert!(default_sound_audio(SoundId::new(7)).is_none());
    }
}
