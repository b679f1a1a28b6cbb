//! Auto-moderation rules: the stored record, which is also Discord's rule object (a rule holds
//! nothing private, so one type serves both and cannot drift from what clients see). The numbers
//! (trigger, event and action types, keyword presets) are Discord's.

use serde::{Deserialize, Serialize};

use crate::id::{AutoModRuleId, ChannelId, GuildId, RoleId, UserId};

discord_number!(
    /// What makes a rule fire (`trigger_type`).
    TriggerType {
        /// Words, wildcard patterns and regexes of the rule's own.
        Keyword = 1,
        /// Generic spam (Discord's `ML_SPAM`; a repetition heuristic here).
        Spam = 3,
        /// Discord's predefined word lists (`DEFAULT_KEYWORD_LIST`).
        KeywordPreset = 4,
        /// More unique user and role mentions than the rule allows.
        MentionSpam = 5,
        /// Words in a member's name (`USER_PROFILE`).
        MemberProfile = 6,
    }
);

discord_number!(
    /// When a rule is checked (`event_type`).
    EventType {
        /// A member sends or edits a message.
        MessageSend = 1,
        /// A member joins or changes their profile.
        MemberUpdate = 2,
    }
);

discord_number!(
    /// What a rule does when it fires.
    ActionType {
        /// Refuse the message (error 200000); may carry a custom explanation.
        BlockMessage = 1,
        /// Post a system message (type 24) about it in an alert channel.
        SendAlertMessage = 2,
        /// Time the member out (`communication_disabled_until`).
        Timeout = 3,
        /// Keep the member from interacting (member profile rules only).
        BlockMemberInteraction = 4,
    }
);

discord_number!(
    /// Discord's predefined word lists (ours are small lists of our own, see `automod/presets`).
    KeywordPreset {
        Profanity = 1,
        SexualContent = 2,
        Slurs = 3,
    }
);

impl TriggerType {
    /// Whether the trigger looks at words (and so has an allow list).
    pub fn matches_words(self) -> bool {
        matches!(
            self,
            Self::Keyword | Self::KeywordPreset | Self::MemberProfile
        )
    }
}

/// `trigger_metadata`. Only the fields of the rule's trigger type are present (and then always:
/// Discord's response schema requires them), so `None` means "not this rule's kind".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword_filter: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_patterns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presets: Option<Vec<KeywordPreset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_total_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_raid_protection_enabled: Option<bool>,
}

impl TriggerMetadata {
    /// The empty metadata of a trigger type, with exactly the fields that type reports.
    pub fn empty_for(trigger: TriggerType) -> Self {
        match trigger {
            TriggerType::Keyword | TriggerType::MemberProfile => Self {
                keyword_filter: Some(Vec::new()),
                regex_patterns: Some(Vec::new()),
                allow_list: Some(Vec::new()),
                ..Self::default()
            },
            TriggerType::KeywordPreset => Self {
                presets: Some(Vec::new()),
                allow_list: Some(Vec::new()),
                ..Self::default()
            },
            TriggerType::MentionSpam => Self {
                mention_total_limit: Some(0),
                mention_raid_protection_enabled: Some(false),
                ..Self::default()
            },
            TriggerType::Spam => Self::default(),
        }
    }
}

/// An action's `metadata`: which fields apply depends on the action type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionMetadata {
    /// SEND_ALERT_MESSAGE: where the alert goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    /// TIMEOUT: how long, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    /// BLOCK_MESSAGE: the explanation shown to the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_message: Option<String>,
}

/// One action of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoModAction {
    #[serde(rename = "type")]
    pub kind: ActionType,
    #[serde(default)]
    pub metadata: ActionMetadata,
}

/// A guild's auto-moderation rule, as stored and as Discord returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoModRuleRecord {
    pub id: AutoModRuleId,
    pub guild_id: GuildId,
    pub name: String,
    pub creator_id: UserId,
    pub event_type: EventType,
    pub trigger_type: TriggerType,
    pub trigger_metadata: TriggerMetadata,
    pub actions: Vec<AutoModAction>,
    pub enabled: bool,
    pub exempt_roles: Vec<RoleId>,
    pub exempt_channels: Vec<ChannelId>,
}
