//! Per-user client settings: Discord's (JSON) user settings object, stored whole per user.
//! Unknown keys in a PATCH are ignored; every field has a default, so records written by an
//! older version gain new fields through serde. The object carries every field Spacebar's
//! server serves (its `UserSettings` entity) with Discord's defaults: client libraries written
//! for Spacebar parse it strictly and cannot finish logging in when one is missing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{GuildId, Snowflake};

/// Discord's user settings object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSettings {
    pub locale: String,
    /// `dark`, `light`, `darker` or `midnight`.
    pub theme: String,
    /// `online`, `idle`, `dnd` or `invisible`.
    pub status: String,
    pub custom_status: Option<CustomStatus>,
    pub developer_mode: bool,
    pub afk_timeout: u32,
    pub allow_accessibility_detection: bool,
    /// Whether friends may join the user's activity party (Discord: on).
    pub allow_activity_party_privacy_friends: bool,
    /// Whether people in the same voice channel may join it (Discord: on).
    pub allow_activity_party_privacy_voice_channel: bool,
    pub animate_emoji: bool,
    pub animate_stickers: u8,
    /// Whether the mobile client may sync the phone's contacts for friend suggestions.
    pub contact_sync_enabled: bool,
    pub contact_sync_upsell_shown: bool,
    pub convert_emoticons: bool,
    pub default_guilds_restricted: bool,
    pub detect_platform_accounts: bool,
    pub disable_games_tab: bool,
    pub enable_tts_command: bool,
    pub explicit_content_filter: u8,
    pub friend_discovery_flags: u32,
    pub friend_source_flags: FriendSourceFlags,
    /// Legacy field of Discord's settings object (`false` on Discord); clients read it, and
    /// Spacebar's server stores what a client sends.
    pub gateway_connected: bool,
    pub gif_auto_play: bool,
    /// Guild folders as the client sends them (`{id, name, color, guild_ids}`).
    pub guild_folders: Vec<Value>,
    pub guild_positions: Vec<GuildId>,
    pub inline_attachment_media: bool,
    pub inline_embed_media: bool,
    pub message_display_compact: bool,
    pub native_phone_integration_enabled: bool,
    pub passwordless: bool,
    pub render_embeds: bool,
    pub render_reactions: bool,
    pub restricted_guilds: Vec<GuildId>,
    pub activity_restricted_guild_ids: Vec<GuildId>,
    pub activity_joining_restricted_guild_ids: Vec<GuildId>,
    pub show_current_game: bool,
    /// Who may DM the user inside games using Discord's Social SDK ("slayer"): 1 everyone,
    /// 2 people with the game, 3 nobody (0 unset). Spacebar's settings schema carries it.
    pub slayer_sdk_receive_dms_in_game: u8,
    /// Soundboard volume in percent, 0–100 (a float, like Discord's settings proto).
    pub soundboard_volume: f64,
    pub stream_notifications_enabled: bool,
    /// Minutes east of UTC.
    pub timezone_offset: i32,
    pub view_nsfw_guilds: bool,
    pub view_nsfw_commands: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomStatus {
    pub text: Option<String>,
    pub emoji_id: Option<Snowflake>,
    pub emoji_name: Option<String>,
    pub expires_at: Option<String>,
}

/// Who may send the user friend requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FriendSourceFlags {
    pub all: bool,
    pub mutual_friends: bool,
    pub mutual_guilds: bool,
}

impl Default for FriendSourceFlags {
    fn default() -> Self {
        Self {
            all: true,
            mutual_friends: true,
            mutual_guilds: true,
        }
    }
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            locale: "en-US".into(),
            theme: "dark".into(),
            status: "online".into(),
            custom_status: None,
            developer_mode: false,
            afk_timeout: 600,
            allow_accessibility_detection: false,
            allow_activity_party_privacy_friends: true,
            allow_activity_party_privacy_voice_channel: true,
            animate_emoji: true,
            animate_stickers: 0,
            contact_sync_enabled: false,
            contact_sync_upsell_shown: false,
            convert_emoticons: true,
            default_guilds_restricted: false,
            detect_platform_accounts: true,
            disable_games_tab: false,
            enable_tts_command: true,
            explicit_content_filter: 1,
            friend_discovery_flags: 0,
            friend_source_flags: FriendSourceFlags::default(),
            gateway_connected: false,
            gif_auto_play: true,
            guild_folders: Vec::new(),
            guild_positions: Vec::new(),
            inline_attachment_media: true,
            inline_embed_media: true,
            message_display_compact: false,
            native_phone_integration_enabled: true,
            passwordless: false,
            render_embeds: true,
            render_reactions: true,
            restricted_guilds: Vec::new(),
            activity_restricted_guild_ids: Vec::new(),
            activity_joining_restricted_guild_ids: Vec::new(),
            show_current_game: true,
            slayer_sdk_receive_dms_in_game: 1,
            soundboard_volume: 100.0,
            stream_notifications_enabled: true,
            timezone_offset: 0,
            view_nsfw_guilds: true,
            view_nsfw_commands: false,
        }
    }
}

impl UserSettings {
    /// A new user's settings: the defaults with the instance's locale and theme.
    pub fn with_defaults(locale: &str, theme: &str) -> Self {
        Self {
            locale: locale.to_string(),
            theme: theme.to_string(),
            ..Self::default()
        }
    }

    pub const THEMES: [&'static str; 4] = ["dark", "light", "darker", "midnight"];
    /// Idle time before the client marks the user AFK (seconds), as Discord's client offers.
    pub const AFK_TIMEOUT: std::ops::RangeInclusive<u32> = 60..=600;
    /// 0 always, 1 on interaction, 2 never.
    pub const ANIMATE_STICKERS_MAX: u8 = 2;
    /// Discord's friend discovery flags: find by phone (1 << 1), by email (1 << 2).
    pub const FRIEND_DISCOVERY_FLAGS: u32 = (1 << 1) | (1 << 2);
    /// Largest `slayer_sdk_receive_dms_in_game` (3: nobody).
    pub const SLAYER_SDK_DMS_MAX: u8 = 3;
    /// `soundboard_volume` is a percentage.
    pub const SOUNDBOARD_VOLUME_MAX: f64 = 100.0;
    pub const STATUSES: [&'static str; 4] = ["online", "idle", "dnd", "invisible"];
}

/// What the user agreed their data may be used for (`GET/POST /users/@me/consent`). Discord's
/// client asks at start-up and in its privacy settings; nothing is consented until the user
/// grants it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserConsent {
    pub usage_statistics: bool,
    pub personalization: bool,
}

impl UserConsent {
    /// The consent types Discord's client grants and revokes.
    pub const TYPES: [&'static str; 2] = ["usage_statistics", "personalization"];

    /// Sets one consent by its wire name; false for an unknown name.
    pub fn set(&mut self, kind: &str, on: bool) -> bool {
        match kind {
            "usage_statistics" => self.usage_statistics = on,
            "personalization" => self.personalization = on,
            _ => return false,
        }
        true
    }
}
