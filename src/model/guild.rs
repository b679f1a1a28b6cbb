use serde::{Deserialize, Serialize};

use crate::id::{ChannelId, GuildId, UserId};

/// The guild's own fields (roles, channels, members are stored separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuildRecord {
    pub id: GuildId,
    pub name: String,
    pub icon: Option<String>,
    pub splash: Option<String>,
    pub discovery_splash: Option<String>,
    pub banner: Option<String>,
    pub description: Option<String>,
    pub owner_id: UserId,
    pub region: Option<String>,
    pub afk_channel_id: Option<ChannelId>,
    pub afk_timeout: u32,
    pub widget_enabled: bool,
    pub widget_channel_id: Option<ChannelId>,
    pub verification_level: u8,
    pub default_message_notifications: u8,
    pub explicit_content_filter: u8,
    pub features: Vec<String>,
    pub mfa_level: u8,
    pub system_channel_id: Option<ChannelId>,
    pub system_channel_flags: u64,
    pub rules_channel_id: Option<ChannelId>,
    pub public_updates_channel_id: Option<ChannelId>,
    pub safety_alerts_channel_id: Option<ChannelId>,
    pub vanity_url_code: Option<String>,
    pub premium_tier: u8,
    pub premium_subscription_count: u32,
    pub preferred_locale: String,
    pub nsfw_level: u8,
    pub premium_progress_bar_enabled: bool,
    pub max_members: u32,
}

impl GuildRecord {
    /// The guild fields in Discord's shape; callers add `roles`, `emojis`, etc. Fields Discord
    /// always sends that have no meaning here get Discord's value for a guild without them:
    /// `region` (voice regions are per channel now; Discord answers `"deprecated"` where none
    /// was chosen), `home_header` (no guild home), the stage video limit.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut m)) => {
                if self.region.is_none() {
                    m.insert("region".into(), "deprecated".into());
                }
                m.insert("home_header".into(), serde_json::Value::Null);
                m.insert("max_stage_video_channel_users".into(), 50.into());
                m.insert("nsfw".into(), false.into());
                m.insert("max_presences".into(), serde_json::Value::Null);
                m.insert("max_video_channel_users".into(), 25.into());
                m.insert("approximate_member_count".into(), serde_json::Value::Null);
                m.insert("stickers".into(), serde_json::Value::Array(vec![]));
                m.insert("emojis".into(), serde_json::Value::Array(vec![]));
                m.insert("application_id".into(), serde_json::Value::Null);
                m.insert("hub_type".into(), serde_json::Value::Null);
                m.insert("incidents_data".into(), serde_json::Value::Null);
                m
            }
            _ => serde_json::Map::new(),
        }
    }
}
