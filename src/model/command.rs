//! Application commands (slash, user and message commands) and the interaction stamp that the
//! messages answering one carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::{ApplicationId, CommandId, GuildId, InteractionId, MessageId, Snowflake, UserId};
use crate::permissions::Permissions;

/// Discord's application command types.
pub mod kind {
    /// A slash command (`/name`), typed in the message box.
    pub const CHAT_INPUT: u8 = 1;
    /// A command in a user's context menu.
    pub const USER: u8 = 2;
    /// A command in a message's context menu.
    pub const MESSAGE: u8 = 3;
}

/// Where a command may be used (Discord's interaction context types).
pub mod context {
    pub const GUILD: u8 = 0;
    pub const BOT_DM: u8 = 1;
    pub const PRIVATE_CHANNEL: u8 = 2;
}

/// One command of an application: global (`guild_id` None) or of one guild. Its name is unique
/// per (application, guild, type) — the stores keep it so, and a second command of the same name
/// replaces the first, as Discord's upsert does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub id: CommandId,
    pub application_id: ApplicationId,
    pub guild_id: Option<GuildId>,
    /// 1 CHAT_INPUT, 2 USER, 3 MESSAGE (see [`kind`]).
    #[serde(rename = "type")]
    pub kind: u8,
    pub name: String,
    #[serde(default)]
    pub name_localizations: Option<BTreeMap<String, String>>,
    /// Empty for user and message commands.
    pub description: String,
    #[serde(default)]
    pub description_localizations: Option<BTreeMap<String, String>>,
    /// The options tree as Discord's JSON (validated when written, read whole).
    #[serde(default)]
    pub options: Vec<serde_json::Value>,
    /// Who may use it by default: None everyone, empty only administrators.
    #[serde(default)]
    pub default_member_permissions: Option<Permissions>,
    /// Usable in the bot's DMs (global commands only; the legacy form of `contexts`).
    pub dm_permission: bool,
    /// Discord's `contexts` (see [`context`]); None when the application never set them.
    #[serde(default)]
    pub contexts: Option<Vec<u8>>,
    /// Discord's `integration_types` (0 guild install, 1 user install).
    #[serde(default)]
    pub integration_types: Vec<u8>,
    pub nsfw: bool,
    /// A snowflake that changes on every update, so clients can tell a stale copy.
    pub version: Snowflake,
}

impl CommandRecord {
    /// Whether the command may be used in a guild channel (`in_guild`) or the bot's DM.
    pub fn usable_in(&self, in_guild: bool) -> bool {
        match &self.contexts {
            Some(c) if in_guild => c.contains(&context::GUILD),
            Some(c) => self.guild_id.is_none() && c.contains(&context::BOT_DM),
            None => in_guild || (self.guild_id.is_none() && self.dm_permission),
        }
    }

    /// Discord's application command object.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": self.id,
            "application_id": self.application_id,
            "version": self.version,
            "default_member_permissions": self.default_member_permissions,
            "type": self.kind,
            "name": self.name,
            "name_localizations": self.name_localizations,
            "description": self.description,
            "description_localizations": self.description_localizations,
            "options": self.options,
            "dm_permission": self.dm_permission,
            "contexts": self.contexts,
            "integration_types": self.integration_types,
            "nsfw": self.nsfw,
        });
        if let (Some(g), Some(obj)) = (self.guild_id, v.as_object_mut()) {
            obj.insert("guild_id".into(), serde_json::json!(g));
        }
        v
    }
}

/// What a message created in answer to an interaction records of it (Discord shows it as
/// `interaction_metadata` and the older `interaction`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageInteraction {
    pub id: InteractionId,
    /// The interaction type (2 APPLICATION_COMMAND).
    #[serde(rename = "type")]
    pub kind: u8,
    /// The command's type (1 CHAT_INPUT, 2 USER, 3 MESSAGE).
    pub command_kind: u8,
    /// The command's name (with the subcommand, `name sub`, as Discord shows it).
    pub name: String,
    /// Who used the command.
    pub user_id: UserId,
    /// The guild the command was used in (`authorizing_integration_owners`).
    #[serde(default)]
    pub guild_id: Option<GuildId>,
    /// For follow-ups: the interaction's first response.
    #[serde(default)]
    pub original_response_message_id: Option<MessageId>,
    #[serde(default)]
    pub target_user_id: Option<UserId>,
    #[serde(default)]
    pub target_message_id: Option<MessageId>,
}

impl MessageInteraction {
    /// The message type a response gets: 20 CHAT_INPUT_COMMAND, 23 CONTEXT_MENU_COMMAND.
    pub fn message_kind(&self) -> u8 {
        if self.command_kind == kind::CHAT_INPUT {
            20
        } else {
            23
        }
    }

    /// `authorizing_integration_owners`: installed in the guild ("0": guild id), or "0" for the
    /// bot's DM.
    pub fn integration_owners(&self) -> serde_json::Value {
        serde_json::json!({"0": self.guild_id.map_or_else(|| "0".to_string(), |g| g.to_string())})
    }
}
