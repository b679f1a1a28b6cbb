//! What a guild's managers set up for newcomers and for incidents: the welcome screen, the
//! onboarding prompts and the incident actions (invites or DMs paused until a time). One record
//! per guild, stored apart from the guild row because it is read and written on its own
//! routes and most guilds never have one.

use serde::{Deserialize, Serialize};

use crate::id::{
    ChannelId, EmojiId, GuildId, RoleId, ScheduledEventId, Snowflake, StageInstanceId,
};
use crate::model::Timestamp;

/// One record per guild; a guild without one has the [`Default`] (nothing enabled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuildSetupRecord {
    pub guild_id: GuildId,
    #[serde(default)]
    pub welcome_screen: WelcomeScreen,
    #[serde(default)]
    pub onboarding: Onboarding,
    #[serde(default)]
    pub incidents: IncidentsData,
    /// Invites paused through the INVITES_DISABLED feature (`PATCH /guilds/{id}`): until a
    /// client turns it off, unlike the timed pause of [`IncidentsData`].
    #[serde(default)]
    pub invites_disabled: bool,
    /// Live stages, at most one per stage channel (small, few, and read with the rest of the
    /// guild's setup when its actor starts, so they are kept here rather than in a table).
    #[serde(default)]
    pub stage_instances: Vec<StageInstance>,
    /// The guild's soundboard sounds (a handful: `limits.guild.max_soundboard_sounds`); their
    /// files are on the CDN.
    #[serde(default)]
    pub soundboard_sounds: Vec<crate::model::SoundRecord>,
    /// The member verification form (membership screening).
    #[serde(default)]
    pub member_verification: crate::model::MemberVerification,
}

/// A stage instance: the live stage of a stage channel, with its topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageInstance {
    pub id: StageInstanceId,
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub topic: String,
    /// 2 (GUILD_ONLY); Discord deprecated 1 (PUBLIC).
    pub privacy_level: u8,
    pub guild_scheduled_event_id: Option<ScheduledEventId>,
}

impl StageInstance {
    /// Discord's stage instance object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "guild_id": self.guild_id,
            "channel_id": self.channel_id,
            "topic": self.topic,
            "privacy_level": self.privacy_level,
            "discoverable_disabled": false,
            "guild_scheduled_event_id": self.guild_scheduled_event_id,
        })
    }
}

impl GuildSetupRecord {
    pub fn new(guild_id: GuildId) -> Self {
        GuildSetupRecord {
            guild_id,
            welcome_screen: WelcomeScreen::default(),
            onboarding: Onboarding::default(),
            incidents: IncidentsData::default(),
            invites_disabled: false,
            stage_instances: Vec::new(),
            soundboard_sounds: Vec::new(),
            member_verification: crate::model::MemberVerification::default(),
        }
    }
}

/// The welcome screen as stored. `enabled` is not part of Discord's object (it shows as the
/// guild's `WELCOME_SCREEN_ENABLED` feature): [`WelcomeScreen::to_wire`] leaves it out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WelcomeScreen {
    #[serde(default)]
    pub enabled: bool,
    pub description: Option<String>,
    pub welcome_channels: Vec<WelcomeChannel>,
}

impl WelcomeScreen {
    /// Discord's welcome screen object: `{description, welcome_channels}`.
    pub fn to_wire(&self) -> serde_json::Value {
        serde_json::json!({
            "description": self.description,
            "welcome_channels": self.welcome_channels,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WelcomeChannel {
    pub channel_id: ChannelId,
    pub description: String,
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
}

/// The onboarding flow (Discord's guild onboarding object without `guild_id`, which the
/// response adds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Onboarding {
    pub prompts: Vec<OnboardingPrompt>,
    pub default_channel_ids: Vec<ChannelId>,
    pub enabled: bool,
    /// 0 ONBOARDING_DEFAULT, 1 ONBOARDING_ADVANCED.
    pub mode: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnboardingPrompt {
    pub id: Snowflake,
    /// 0 MULTIPLE_CHOICE, 1 DROPDOWN.
    #[serde(rename = "type")]
    pub kind: u8,
    pub title: String,
    pub options: Vec<PromptOption>,
    pub single_select: bool,
    pub required: bool,
    pub in_onboarding: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptOption {
    pub id: Snowflake,
    pub title: String,
    pub description: String,
    pub emoji: PromptEmoji,
    pub role_ids: Vec<RoleId>,
    pub channel_ids: Vec<ChannelId>,
}

/// An option's emoji as Discord shows it: all null/false when there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptEmoji {
    pub id: Option<EmojiId>,
    pub name: Option<String>,
    pub animated: bool,
}

/// Discord's incidents data: until when invites (joins through them) and DMs between members
/// who are not friends are paused, and when auto-moderation last detected a raid. A time in the
/// past means nothing is paused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentsData {
    pub invites_disabled_until: Option<Timestamp>,
    pub dms_disabled_until: Option<Timestamp>,
    /// When mention raid protection last detected a raid (absent in records written before it
    /// existed, hence the default).
    #[serde(default)]
    pub raid_detected_at: Option<Timestamp>,
}

impl IncidentsData {
    /// Whether joining through invites is paused at `now`.
    pub fn invites_paused(&self, now: Timestamp) -> bool {
        self.invites_disabled_until.is_some_and(|t| t > now)
    }

    /// Whether DMs between members who are not friends are paused at `now`.
    pub fn dms_paused(&self, now: Timestamp) -> bool {
        self.dms_disabled_until.is_some_and(|t| t > now)
    }

    /// The guild's `incidents_data`: null while nothing was ever set or detected, else the
    /// object with Discord's fields (DM spam is not detected here, so `dm_spam_detected_at`
    /// stays null).
    pub fn to_guild_field(&self) -> serde_json::Value {
        if self.invites_disabled_until.is_none()
            && self.dms_disabled_until.is_none()
            && self.raid_detected_at.is_none()
        {
            return serde_json::Value::Null;
        }
        serde_json::json!({
            "invites_disabled_until": self.invites_disabled_until,
            "dms_disabled_until": self.dms_disabled_until,
            "dm_spam_detected_at": null,
            "raid_detected_at": self.raid_detected_at,
        })
    }
}
