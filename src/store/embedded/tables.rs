//! Table definitions. Values are JSON-encoded records; composite keys are tuples so that a range
//! scan over the first element lists the children (a guild's roles, a channel's messages…).

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use super::be;
use crate::store::StoreResult;

pub const CONFIG: TableDefinition<&str, &str> = TableDefinition::new("config");
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users");
pub const USERS_BY_EMAIL: TableDefinition<&str, u64> = TableDefinition::new("users_by_email");
pub const USERS_BY_NAME: TableDefinition<&str, u64> = TableDefinition::new("users_by_name");
pub const GUILDS: TableDefinition<u64, &[u8]> = TableDefinition::new("guilds");
pub const ROLES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("roles");
pub const MEMBERS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("members");
pub const GUILDS_BY_USER: TableDefinition<(u64, u64), ()> = TableDefinition::new("guilds_by_user");
pub const BANS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("bans");
pub const CHANNELS: TableDefinition<u64, &[u8]> = TableDefinition::new("channels");
pub const CHANNELS_BY_GUILD: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("channels_by_guild");
pub const PRIVATE_CHANNELS_BY_USER: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("private_channels_by_user");
pub const MESSAGES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("messages");
pub const INVITES: TableDefinition<&str, &[u8]> = TableDefinition::new("invites");
/// The users an invite is restricted to, with its upload job: code → record.
pub const INVITE_TARGET_USERS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("invite_target_users");
pub const INVITES_BY_GUILD: TableDefinition<(u64, String), ()> =
    TableDefinition::new("invites_by_guild");
/// Guild templates by code, and the codes of each guild.
pub const TEMPLATES: TableDefinition<&str, &[u8]> = TableDefinition::new("templates");
pub const TEMPLATES_BY_GUILD: TableDefinition<(u64, String), ()> =
    TableDefinition::new("templates_by_guild");
/// Administrator actions by entry id (a snowflake, so key order is time order).
pub const AUDIT_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_log");

pub const APPLICATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("applications");
pub const APPLICATIONS_BY_OWNER: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("applications_by_owner");
/// Application commands: (application, command) → record.
pub const COMMANDS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("commands");
/// A scope's command names: (application, guild or 0, type, name) → command id. One range scan
/// lists a scope, and the key keeps names unique per scope and type.
pub const COMMAND_NAMES: TableDefinition<(u64, u64, u8, String), u64> =
    TableDefinition::new("command_names");
pub const WEBHOOKS: TableDefinition<u64, &[u8]> = TableDefinition::new("webhooks");
pub const WEBHOOKS_BY_CHANNEL: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("webhooks_by_channel");
pub const WEBHOOKS_BY_GUILD: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("webhooks_by_guild");
/// Channel follower webhooks by the announcement channel they follow: (source channel, webhook).
pub const WEBHOOKS_BY_SOURCE: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("webhooks_by_source");

/// A user's relationships: (user, peer) → record (the user's side).
pub const RELATIONSHIPS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("relationships");
/// A user's settings document.
pub const USER_SETTINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("user_settings");
pub const USER_CONSENT: TableDefinition<u64, &[u8]> = TableDefinition::new("user_consent");
/// A user's read states: (user, channel) → record.
pub const READ_STATES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("read_states");

/// Developer teams by id.
pub const TEAMS: TableDefinition<u64, &[u8]> = TableDefinition::new("teams");
/// A team's members: (team, user) → record.
pub const TEAM_MEMBERS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("team_members");
/// The teams a user is on: (user, team).
pub const TEAMS_BY_USER: TableDefinition<(u64, u64), ()> = TableDefinition::new("teams_by_user");
/// An application's emojis: (application, emoji) → record.
pub const APP_EMOJIS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("app_emojis");
/// An application's role connection metadata records (the whole list): application → records.
pub const ROLE_CONNECTION_METADATA: TableDefinition<u64, &[u8]> =
    TableDefinition::new("role_connection_metadata");
/// A user's role connections: (user, application) → record.
pub const USER_ROLE_CONNECTIONS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("user_role_connections");
/// An application's entitlements: (application, entitlement) → record.
pub const ENTITLEMENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("entitlements");
/// Command permissions in a guild: (guild, command or application id) → record.
pub const COMMAND_PERMISSIONS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("command_permissions");
/// The guilds an application has command permissions in: (application, guild). Deleting the
/// application finds them here, also in guilds its bot is not in.
pub const COMMAND_PERMISSION_GUILDS: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("command_permission_guilds");
/// The users with a role connection to an application: (application, user), so deleting the
/// application removes them without a scan of every user's.
pub const ROLE_CONNECTIONS_BY_APP: TableDefinition<(u64, u64), ()> =
    TableDefinition::new("role_connections_by_app");
/// A user's connected accounts: (user, kind, provider account id) → record.
pub const CONNECTIONS: TableDefinition<(u64, String, String), &[u8]> =
    TableDefinition::new("connections");

/// A guild's setup (welcome screen, onboarding, incident actions): guild → record.
pub const GUILD_SETUP: TableDefinition<u64, &[u8]> = TableDefinition::new("guild_setup");
/// A guild's integrations: (guild, integration) → record.
pub const INTEGRATIONS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("integrations");
/// A guild's join requests (member verification): (guild, request) → record.
pub const JOIN_REQUESTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("join_requests");
/// A guild's custom emojis: (guild, emoji) → record.
pub const EMOJIS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("emojis");
/// A guild's stickers: (guild, sticker) → record.
pub const STICKERS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("stickers");
/// Sticker → its guild, for lookups by id alone (`GET /stickers/{id}`).
pub const STICKERS_BY_ID: TableDefinition<u64, u64> = TableDefinition::new("stickers_by_id");
/// A guild's audit log: (guild, entry id) → entry (key order is time order).
/// A guild's scheduled events: `(guild, event) → record`.
pub const SCHEDULED_EVENTS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("scheduled_events");
/// Scheduled event subscribers: `(event, user)`.
pub const EVENT_USERS: TableDefinition<(u64, u64), ()> = TableDefinition::new("event_users");
/// Answers for single occurrences of recurring events: `(event, exception, user) → response`.
pub const EVENT_EXCEPTION_USERS: TableDefinition<(u64, u64, u64), u8> =
    TableDefinition::new("event_exception_users");
pub const GUILD_AUDIT_LOG: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("guild_audit_log");
/// Thread members: `(guild, thread, user) → record`.
pub const THREAD_MEMBERS: TableDefinition<(u64, u64, u64), &[u8]> =
    TableDefinition::new("thread_members");
/// A guild's auto-moderation rules: `(guild, rule) → record`.
pub const AUTOMOD_RULES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("automod_rules");
/// Pending poll ends: message id → [`crate::model::PollExpiry`].
pub const POLL_EXPIRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("poll_expiries");

/// OAuth2 codes and tokens: SHA-256 hex of the token → [`crate::model::OAuthTokenRecord`].
pub const OAUTH_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("oauth_tokens");

/// Opens every table once so that read transactions never meet a missing table.
pub fn create_all(txn: &WriteTransaction) -> StoreResult<()> {
    txn.open_table(AUTOMOD_RULES).map_err(be)?;
    txn.open_table(OAUTH_TOKENS).map_err(be)?;
    txn.open_table(CONFIG).map_err(be)?;
    txn.open_table(USERS).map_err(be)?;
    txn.open_table(USERS_BY_EMAIL).map_err(be)?;
    txn.open_table(USERS_BY_NAME).map_err(be)?;
    txn.open_table(GUILDS).map_err(be)?;
    txn.open_table(ROLES).map_err(be)?;
    txn.open_table(MEMBERS).map_err(be)?;
    txn.open_table(GUILDS_BY_USER).map_err(be)?;
    txn.open_table(BANS).map_err(be)?;
    txn.open_table(CHANNELS).map_err(be)?;
    txn.open_table(CHANNELS_BY_GUILD).map_err(be)?;
    txn.open_table(PRIVATE_CHANNELS_BY_USER).map_err(be)?;
    txn.open_table(MESSAGES).map_err(be)?;
    txn.open_table(INVITES).map_err(be)?;
    txn.open_table(INVITE_TARGET_USERS).map_err(be)?;
    txn.open_table(INVITES_BY_GUILD).map_err(be)?;
    txn.open_table(TEMPLATES).map_err(be)?;
    txn.open_table(TEMPLATES_BY_GUILD).map_err(be)?;
    txn.open_table(AUDIT_LOG).map_err(be)?;
    txn.open_table(EMOJIS).map_err(be)?;
    txn.open_table(GUILD_SETUP).map_err(be)?;
    txn.open_table(INTEGRATIONS).map_err(be)?;
    txn.open_table(JOIN_REQUESTS).map_err(be)?;
    txn.open_table(STICKERS).map_err(be)?;
    txn.open_table(STICKERS_BY_ID).map_err(be)?;
    txn.open_table(GUILD_AUDIT_LOG).map_err(be)?;
    txn.open_table(SCHEDULED_EVENTS).map_err(be)?;
    txn.open_table(EVENT_USERS).map_err(be)?;
    txn.open_table(EVENT_EXCEPTION_USERS).map_err(be)?;
    txn.open_table(APPLICATIONS).map_err(be)?;
    txn.open_table(APPLICATIONS_BY_OWNER).map_err(be)?;
    txn.open_table(WEBHOOKS).map_err(be)?;
    txn.open_table(COMMANDS).map_err(be)?;
    txn.open_table(COMMAND_NAMES).map_err(be)?;
    txn.open_table(WEBHOOKS_BY_CHANNEL).map_err(be)?;
    txn.open_table(WEBHOOKS_BY_GUILD).map_err(be)?;
    txn.open_table(WEBHOOKS_BY_SOURCE).map_err(be)?;
    txn.open_table(RELATIONSHIPS).map_err(be)?;
    txn.open_table(USER_SETTINGS).map_err(be)?;
    txn.open_table(USER_CONSENT).map_err(be)?;
    txn.open_table(READ_STATES).map_err(be)?;
    txn.open_table(TEAMS).map_err(be)?;
    txn.open_table(TEAM_MEMBERS).map_err(be)?;
    txn.open_table(TEAMS_BY_USER).map_err(be)?;
    txn.open_table(CONNECTIONS).map_err(be)?;
    txn.open_table(APP_EMOJIS).map_err(be)?;
    txn.open_table(ROLE_CONNECTION_METADATA).map_err(be)?;
    txn.open_table(USER_ROLE_CONNECTIONS).map_err(be)?;
    txn.open_table(ENTITLEMENTS).map_err(be)?;
    txn.open_table(COMMAND_PERMISSIONS).map_err(be)?;
    txn.open_table(COMMAND_PERMISSION_GUILDS).map_err(be)?;
    txn.open_table(ROLE_CONNECTIONS_BY_APP).map_err(be)?;
    txn.open_table(POLL_EXPIRIES).map_err(be)?;
    txn.open_table(THREAD_MEMBERS).map_err(be)?;
    Ok(())
}

/// Removes every `(parent, child)` entry of a range and returns the removed keys.
pub fn remove_range<V: redb::Value + 'static>(
    table: &mut Table<'_, (u64, u64), V>,
    range: std::ops::RangeInclusive<(u64, u64)>,
) -> StoreResult<Vec<(u64, u64)>> {
    let mut keys = Vec::new();
    for entry in table.range(range).map_err(be)? {
        keys.push(entry.map_err(be)?.0.value());
    }
    for k in &keys {
        table.remove(*k).map_err(be)?;
    }
    Ok(keys)
}

/// Removes every entry of one guild from a `(guild, code)` index (invites, templates) and
/// returns the codes.
pub fn remove_invite_codes(
    table: &mut Table<'_, (u64, String), ()>,
    guild: u64,
) -> StoreResult<Vec<String>> {
    let mut keys = Vec::new();
    for entry in table.range((guild, String::new())..).map_err(be)? {
        let (g, code) = entry.map_err(be)?.0.value();
        if g != guild {
            break;
        }
        keys.push(code);
    }
    for code in &keys {
        table.remove((guild, code.clone())).map_err(be)?;
    }
    Ok(keys)
}
