//! Persistence behind one trait with domain methods, so each backend uses its natural shape:
//! the embedded store (redb, default, zero setup) and ScyllaDB (production, clusters).
//!
//! Every method here is exercised by the conformance suite (`tests/store_conformance.rs`) against
//! every backend.

pub mod embedded;
pub mod scylla;
pub mod stamp;

use std::sync::Arc;

use async_trait::async_trait;

use crate::id::{
    ApplicationId, AutoModRuleId, ChannelId, CommandId, EmojiId, GuildId, IntegrationId,
    JoinRequestId, MessageId, RoleId, ScheduledEventId, Snowflake, StickerId, TeamId, UserId,
    WebhookId,
};
use crate::model::{
    AppEmojiRecord, CommandPermissionsRecord, EntitlementRecord, EventExceptionUser,
    RoleConnectionMetadata, UserRoleConnectionRecord,
};
use crate::model::{
    ApplicationRecord, AutoModRuleRecord, ChannelRecord, CommandRecord, ConnectedAccountRecord,
    EmojiRecord, GuildRecord, GuildSetupRecord, IntegrationRecord, InviteRecord,
    InviteTargetUsersRecord, JoinRequestRecord, MemberRecord, MessageRecord, OAuthTokenRecord,
    PollExpiry, ReadStateRecord, RelationshipRecord, Role, ScheduledEventRecord, StickerRecord,
    TeamMemberRecord, TeamRecord, TemplateRecord, ThreadMemberRecord, UserConsent, UserRecord,
    UserSettings, WebhookRecord,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; the payload names it (`email`, `username`, `invite_code`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    #[error("backend: {0}")]
    Backend(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        Self::Backend(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which messages of a channel to read; results are always newest first, like Discord.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagePage {
    Latest,
    Before(MessageId),
    After(MessageId),
    Around(MessageId),
}

/// Everything a guild actor needs to come alive.
#[derive(Debug, Clone)]
pub struct GuildState {
    pub guild: GuildRecord,
    pub roles: Vec<Role>,
    pub channels: Vec<ChannelRecord>,
    pub members: Vec<MemberRecord>,
    pub bans: Vec<BanRecord>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BanRecord {
    pub guild_id: GuildId,
    pub user_id: UserId,
    pub reason: Option<String>,
}

/// One administrator action in the audit log (`GET /api/admin/audit-log`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// A snowflake: orders the log and dates the entry.
    pub id: Snowflake,
    /// The administrator who acted.
    pub actor_id: UserId,
    /// What was done: `config.update`, `user.disable`, `user.enable`, `guild.delete`.
    pub action: String,
    /// The user or guild acted on, if any.
    #[serde(default)]
    pub target_id: Option<Snowflake>,
    /// Old → new per changed key (dotted configuration paths, or record fields).
    #[serde(default)]
    pub changes: Vec<AuditChange>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// How long a guild's audit log keeps entries (Discord's 45 days); older entries are never
/// returned (and expire from the ScyllaDB table through its TTL).
pub const GUILD_AUDIT_RETENTION_MS: u64 = 45 * 24 * 60 * 60 * 1000;

/// The smallest entry id still inside the retention window.
pub fn guild_audit_cutoff() -> Snowflake {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Snowflake::from_timestamp_ms(now.saturating_sub(GUILD_AUDIT_RETENTION_MS))
}

/// One entry of a guild's audit log (`GET /guilds/{id}/audit-logs`): who did what to which
/// target, Discord's `action_type` numbers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GuildAuditEntry {
    /// A snowflake: orders the log and dates the entry.
    pub id: Snowflake,
    pub guild_id: GuildId,
    /// The member who acted (None for the system).
    pub user_id: Option<UserId>,
    /// The user, role, channel, emoji… acted on.
    #[serde(default)]
    pub target_id: Option<Snowflake>,
    /// Discord's audit log event number (1 guild update, 20 kick, 22 ban, …).
    pub action_type: u16,
    #[serde(default)]
    pub changes: Vec<AuditChange>,
    /// Discord's `options` (e.g. `delete_member_days` and `members_removed` for a prune).
    #[serde(default)]
    pub options: Option<serde_json::Value>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditChange {
    pub key: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

/// How the embedded store acknowledges writes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
    Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync before acknowledging (group-committed across concurrent writers). Survives power loss.
    #[default]
    Immediate,
    /// Acknowledge without waiting for the disk: batches commit without fsync, and a background
    /// fsynced commit makes them durable at most [`EventualFlush::interval`] (default 100 ms)
    /// after the first of them, or after [`EventualFlush::commits`] of them. **What is lost**:
    /// on power failure, on a kernel crash **and on a process crash (kill -9, OOM kill)**, the
    /// writes acknowledged since the last durable commit — at most about one interval's worth.
    /// redb reopens at its last durable commit, consistent (never a torn write). A clean
    /// shutdown (SIGTERM/ctrl-c, or dropping the store) makes everything durable first.
    /// redb's own `Eventual` level is not used: on Linux it still fdatasyncs every commit.
    Eventual,
}

/// When `Durability::Eventual` writes become durable: whichever bound is reached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventualFlush {
    /// Longest time an acknowledged write waits for its fsync.
    pub interval: std::time::Duration,
    /// Most commits (batches) made without fsync in a row.
    pub commits: u32,
}

impl EventualFlush {
    /// 100 ms: at most a tenth of a second of acknowledged writes at risk, ten fsyncs a second.
    pub const DEFAULT_INTERVAL_MS: u64 = 100;
    /// 1,000 batches (each up to 512 writes) between fsyncs at most.
    pub const DEFAULT_COMMITS: u32 = 1_000;

    /// `interval_ms` milliseconds (0 counts as 1), the default commit bound.
    pub fn every_ms(interval_ms: u64) -> Self {
        Self {
            interval: std::time::Duration::from_millis(interval_ms.max(1)),
            commits: Self::DEFAULT_COMMITS,
        }
    }
}

impl Default for EventualFlush {
    fn default() -> Self {
        Self::every_ms(Self::DEFAULT_INTERVAL_MS)
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and metrics (`embedded`, `scylla`).
    fn backend_name(&self) -> &'static str;

    // --- configuration
    async fn get_config(&self) -> StoreResult<Option<String>>;
    async fn put_config(&self, json: &str) -> StoreResult<()>;

    // --- users
    /// Inserts a new user; `Conflict("email")` / `Conflict("username")` when taken.
    async fn create_user(&self, user: &UserRecord) -> StoreResult<()>;
    /// Replaces a user, keeping the email/username indexes in step (conflicts as above).
    async fn update_user(&self, user: &UserRecord) -> StoreResult<()>;
    async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<UserRecord>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_username(
        &self,
        username: &str,
        discriminator: &str,
    ) -> StoreResult<Option<UserRecord>>;

    // --- guilds (roles, channels and members are created with the guild in one write)
    async fn create_guild(&self, state: &GuildState) -> StoreResult<()>;
    async fn update_guild(&self, guild: &GuildRecord) -> StoreResult<()>;
    async fn load_guild(&self, id: GuildId) -> StoreResult<Option<GuildState>>;
    /// Every guild's id, in no particular order: a full scan, for offline maintenance such as
    /// `accord search reindex` (never on a request path).
    async fn guild_ids(&self) -> StoreResult<Vec<GuildId>>;
    /// Removes the guild and everything under it (roles, channels, members, invites, bans,
    /// templates).
    async fn delete_guild(&self, id: GuildId) -> StoreResult<()>;

    async fn put_role(&self, guild: GuildId, role: &Role) -> StoreResult<()>;
    async fn delete_role(&self, guild: GuildId, role: RoleId) -> StoreResult<()>;

    /// Inserts or replaces a member (and the user → guilds index).
    async fn put_member(&self, member: &MemberRecord) -> StoreResult<()>;
    async fn delete_member(&self, guild: GuildId, user: UserId) -> StoreResult<()>;
    async fn get_member(&self, guild: GuildId, user: UserId) -> StoreResult<Option<MemberRecord>>;
    async fn guilds_of_user(&self, user: UserId) -> StoreResult<Vec<GuildId>>;

    async fn put_ban(&self, ban: &BanRecord) -> StoreResult<()>;
    async fn delete_ban(&self, guild: GuildId, user: UserId) -> StoreResult<()>;

    // --- channels
    async fn put_channel(&self, channel: &ChannelRecord) -> StoreResult<()>;
    async fn get_channel(&self, id: ChannelId) -> StoreResult<Option<ChannelRecord>>;
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<()>;
    /// DM and group DM channels the user is a recipient of.
    async fn private_channels_of_user(&self, user: UserId) -> StoreResult<Vec<ChannelRecord>>;

    // --- messages
    async fn insert_message(&self, message: &MessageRecord) -> StoreResult<()>;
    /// Replaces an existing message (edit, pin, reactions).
    async fn update_message(&self, message: &MessageRecord) -> StoreResult<()>;
    async fn get_message(
        &self,
        channel: ChannelId,
        id: MessageId,
    ) -> StoreResult<Option<MessageRecord>>;
    async fn delete_messages(&self, channel: ChannelId, ids: &[MessageId]) -> StoreResult<()>;
    /// Up to `limit` (≤ 100) messages, newest first.
    async fn messages_page(
        &self,
        channel: ChannelId,
        page: MessagePage,
        limit: usize,
    ) -> StoreResult<Vec<MessageRecord>>;

    // --- invites
    /// `Conflict("invite_code")` when the code exists.
    async fn create_invite(&self, invite: &InviteRecord) -> StoreResult<()>;
    async fn get_invite(&self, code: &str) -> StoreResult<Option<InviteRecord>>;
    async fn guild_invites(&self, guild: GuildId) -> StoreResult<Vec<InviteRecord>>;
    /// Counts one use; returns the invite after the use, or None when it is gone or used up.
    async fn use_invite(&self, code: &str) -> StoreResult<Option<InviteRecord>>;
    /// Removes the invite and its target users.
    async fn delete_invite(&self, code: &str) -> StoreResult<()>;
    /// Replaces the users an invite is restricted to (and its job state).
    async fn put_invite_target_users(&self, targets: &InviteTargetUsersRecord) -> StoreResult<()>;
    /// The users an invite is restricted to; None when no list was ever uploaded.
    async fn invite_target_users(&self, code: &str)
    -> StoreResult<Option<InviteTargetUsersRecord>>;

    // --- guild templates (code → template, plus the guild → codes index)
    /// `Conflict("template_code")` when the code exists.
    async fn create_template(&self, template: &TemplateRecord) -> StoreResult<()>;
    async fn get_template(&self, code: &str) -> StoreResult<Option<TemplateRecord>>;
    /// The templates made from a guild.
    async fn guild_templates(&self, guild: GuildId) -> StoreResult<Vec<TemplateRecord>>;
    /// Replaces a template's name, description, snapshot and `updated_at`, keeping the stored
    /// `usage_count` (a use counted meanwhile is not lost); returns the template after the
    /// change, or None when it is gone.
    async fn update_template(
        &self,
        template: &TemplateRecord,
    ) -> StoreResult<Option<TemplateRecord>>;
    /// Counts one use; returns the template after it, or None when it is gone.
    async fn use_template(&self, code: &str) -> StoreResult<Option<TemplateRecord>>;
    async fn delete_template(&self, code: &str) -> StoreResult<()>;

    // --- applications (bots)
    /// Inserts or replaces an application (and the owner → applications index).
    async fn put_application(&self, app: &ApplicationRecord) -> StoreResult<()>;
    async fn get_application(&self, id: ApplicationId) -> StoreResult<Option<ApplicationRecord>>;
    async fn applications_of_owner(&self, owner: UserId) -> StoreResult<Vec<ApplicationRecord>>;
    /// Deletes an application with what hangs on it in the store: its emojis, entitlements,
    /// role connection metadata, users' role connections to it and its command permissions in
    /// every guild (found through [`Store::command_permission_guilds`], the bot's guilds or not).
    async fn delete_application(&self, id: ApplicationId) -> StoreResult<()>;

    // --- application commands (a scope is one application's global commands, `guild` None, or
    // its commands in one guild; a command's name is unique per scope and type)
    /// Inserts or replaces the command with this id, or — when another command of its scope
    /// already has its type and name — replaces that one, keeping that one's id (Discord's
    /// upsert). Returns the command as stored.
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<CommandRecord>;
    async fn get_command(
        &self,
        app: ApplicationId,
        id: CommandId,
    ) -> StoreResult<Option<CommandRecord>>;
    /// The commands of one scope, in id order.
    async fn commands_of(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
    ) -> StoreResult<Vec<CommandRecord>>;
    /// Makes `commands` (names unique per type, all of this scope) the scope's whole set: every
    /// other command of the scope is removed (bulk overwrite).
    async fn replace_commands(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        commands: &[CommandRecord],
    ) -> StoreResult<()>;
    async fn delete_command(&self, app: ApplicationId, id: CommandId) -> StoreResult<()>;

    // --- developer teams (rare writes; a team's members are one partition/range)
    /// Inserts or replaces a team.
    async fn put_team(&self, team: &TeamRecord) -> StoreResult<()>;
    async fn get_team(&self, id: TeamId) -> StoreResult<Option<TeamRecord>>;
    /// Removes the team, its members and their user → teams index entries.
    async fn delete_team(&self, id: TeamId) -> StoreResult<()>;
    /// Inserts or replaces a member (and the user → teams index).
    async fn put_team_member(&self, member: &TeamMemberRecord) -> StoreResult<()>;
    async fn delete_team_member(&self, team: TeamId, user: UserId) -> StoreResult<()>;
    /// A team's members (invited and accepted), in user id order.
    async fn team_members(&self, team: TeamId) -> StoreResult<Vec<TeamMemberRecord>>;
    /// The teams a user is on (invited or accepted), in team id order.
    async fn teams_of_user(&self, user: UserId) -> StoreResult<Vec<TeamId>>;

    // --- application extras (developer data, rare writes; one partition/range per application)
    /// Inserts or replaces an application emoji.
    async fn put_app_emoji(&self, emoji: &AppEmojiRecord) -> StoreResult<()>;
    async fn get_app_emoji(
        &self,
        app: ApplicationId,
        id: EmojiId,
    ) -> StoreResult<Option<AppEmojiRecord>>;
    async fn delete_app_emoji(&self, app: ApplicationId, id: EmojiId) -> StoreResult<()>;
    /// An application's emojis, in id order.
    async fn app_emojis(&self, app: ApplicationId) -> StoreResult<Vec<AppEmojiRecord>>;
    /// Replaces an application's role connection metadata records (all of them, in order).
    async fn put_role_connection_metadata(
        &self,
        app: ApplicationId,
        records: &[RoleConnectionMetadata],
    ) -> StoreResult<()>;
    /// An application's role connection metadata records (empty when never set).
    async fn role_connection_metadata(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<RoleConnectionMetadata>>;
    /// Inserts or replaces a user's role connection to an application.
    async fn put_user_role_connection(&self, c: &UserRoleConnectionRecord) -> StoreResult<()>;
    async fn get_user_role_connection(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Option<UserRoleConnectionRecord>>;
    async fn delete_user_role_connection(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<()>;
    /// Inserts or replaces an entitlement (deleted ones stay, flagged, as Discord lists them).
    async fn put_entitlement(&self, e: &EntitlementRecord) -> StoreResult<()>;
    /// An application's entitlements, in id order.
    async fn entitlements_of(&self, app: ApplicationId) -> StoreResult<Vec<EntitlementRecord>>;
    /// Inserts or replaces the command permissions of one command (or of the application, when
    /// `record.id` is the application's id) in one guild; an empty list removes them.
    async fn put_command_permissions(&self, record: &CommandPermissionsRecord) -> StoreResult<()>;
    /// An application's command permissions in one guild, in id order.
    async fn command_permissions_of(
        &self,
        guild: GuildId,
        app: ApplicationId,
    ) -> StoreResult<Vec<CommandPermissionsRecord>>;
    /// The guilds `app` has command permissions in (any command's or application-wide), in id
    /// order; a guild leaves it when its last record of the application is cleared.
    async fn command_permission_guilds(&self, app: ApplicationId) -> StoreResult<Vec<GuildId>>;

    // --- webhooks
    /// Inserts or replaces a webhook (and its channel, guild and source channel indexes, moved if
    /// it moved).
    async fn put_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()>;
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookRecord>>;
    async fn webhooks_of_channel(&self, channel: ChannelId) -> StoreResult<Vec<WebhookRecord>>;
    async fn webhooks_of_guild(&self, guild: GuildId) -> StoreResult<Vec<WebhookRecord>>;
    /// The channel follower webhooks relaying an announcement channel (by their
    /// `source_channel_id`), wherever they post: a crosspost is delivered through each.
    async fn webhooks_following(&self, source: ChannelId) -> StoreResult<Vec<WebhookRecord>>;
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()>;

    // --- audit log (administrator actions; rare writes, read newest first)
    async fn insert_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Up to `limit` (1–100) entries with ids below `before` (from the newest when None),
    /// newest first.
    async fn audit_entries(
        &self,
        limit: usize,
        before: Option<Snowflake>,
    ) -> StoreResult<Vec<AuditEntry>>;

    // --- relationships (one record per side: `user`'s view of `peer`; the user actor writes
    // its own side, the peer's actor the other)
    /// Inserts or replaces `user_id`'s relationship to `peer_id`.
    async fn put_relationship(&self, relationship: &RelationshipRecord) -> StoreResult<()>;
    async fn delete_relationship(&self, user: UserId, peer: UserId) -> StoreResult<()>;
    async fn get_relationship(
        &self,
        user: UserId,
        peer: UserId,
    ) -> StoreResult<Option<RelationshipRecord>>;
    /// Every relationship of the user (friends, blocks, pending requests).
    async fn relationships_of(&self, user: UserId) -> StoreResult<Vec<RelationshipRecord>>;

    // --- user settings (one document per user; None until first changed)
    async fn get_user_settings(&self, user: UserId) -> StoreResult<Option<UserSettings>>;
    async fn put_user_settings(&self, user: UserId, settings: &UserSettings) -> StoreResult<()>;
    /// The user's data-use consents (`/users/@me/consent`); None until first changed.
    async fn get_user_consent(&self, user: UserId) -> StoreResult<Option<UserConsent>>;
    async fn put_user_consent(&self, user: UserId, consent: &UserConsent) -> StoreResult<()>;

    // --- connected accounts (third-party accounts a user linked; the user actor's records)
    /// Inserts or replaces the account `(user, kind, id)`.
    async fn put_connection(&self, account: &ConnectedAccountRecord) -> StoreResult<()>;
    async fn delete_connection(&self, user: UserId, kind: &str, id: &str) -> StoreResult<()>;
    /// A user's connected accounts, ordered by (kind, id).
    async fn connections_of(&self, user: UserId) -> StoreResult<Vec<ConnectedAccountRecord>>;

    // --- read states (the last message a user read, per channel)
    /// Inserts or replaces the user's read state of the channel.
    async fn put_read_state(&self, state: &ReadStateRecord) -> StoreResult<()>;
    async fn read_states_of(&self, user: UserId) -> StoreResult<Vec<ReadStateRecord>>;

    // --- guild emojis (loaded by the guild actor when it starts; removed with the guild)
    /// Inserts or replaces a custom emoji.
    async fn put_emoji(&self, emoji: &EmojiRecord) -> StoreResult<()>;
    async fn delete_emoji(&self, guild: GuildId, id: EmojiId) -> StoreResult<()>;
    /// A guild's emojis, in id order.
    async fn guild_emojis(&self, guild: GuildId) -> StoreResult<Vec<EmojiRecord>>;

    // --- guild setup: welcome screen, onboarding, incident actions (loaded by the guild actor
    // when it starts; removed with the guild)
    /// Inserts or replaces the guild's setup record.
    async fn put_guild_setup(&self, setup: &GuildSetupRecord) -> StoreResult<()>;
    /// The guild's setup record, or None when nothing was ever set up.
    async fn guild_setup(&self, guild: GuildId) -> StoreResult<Option<GuildSetupRecord>>;

    // --- guild integrations: bots added through OAuth2 (loaded by the guild actor when it
    // starts; removed with the guild)
    /// Inserts or replaces an integration.
    async fn put_integration(&self, integration: &IntegrationRecord) -> StoreResult<()>;
    async fn delete_integration(&self, guild: GuildId, id: IntegrationId) -> StoreResult<()>;
    /// A guild's integrations, in id order.
    async fn guild_integrations(&self, guild: GuildId) -> StoreResult<Vec<IntegrationRecord>>;

    // --- join requests: applications through member verification (loaded by the guild actor
    // when it starts; removed with the guild)
    /// Inserts or replaces a join request.
    async fn put_join_request(&self, request: &JoinRequestRecord) -> StoreResult<()>;
    async fn delete_join_request(&self, guild: GuildId, id: JoinRequestId) -> StoreResult<()>;
    /// A guild's join requests, in id order.
    async fn guild_join_requests(&self, guild: GuildId) -> StoreResult<Vec<JoinRequestRecord>>;

    // --- guild stickers (loaded by the guild actor when it starts; removed with the guild)
    /// Inserts or replaces a sticker (and the sticker → guild index).
    async fn put_sticker(&self, sticker: &StickerRecord) -> StoreResult<()>;
    async fn delete_sticker(&self, guild: GuildId, id: StickerId) -> StoreResult<()>;
    /// A guild's stickers, in id order.
    async fn guild_stickers(&self, guild: GuildId) -> StoreResult<Vec<StickerRecord>>;
    /// Any guild's sticker by id alone (`GET /stickers/{id}`, stickers sent in messages), through
    /// the sticker → guild index.
    async fn get_sticker(&self, id: StickerId) -> StoreResult<Option<StickerRecord>>;

    // --- guild scheduled events (loaded with their subscribers by the guild actor when it
    // starts; removed with the guild)
    /// Inserts or replaces a scheduled event.
    async fn put_scheduled_event(&self, event: &ScheduledEventRecord) -> StoreResult<()>;
    /// Removes an event of this guild and its subscribers (an unknown id is no error).
    async fn delete_scheduled_event(&self, guild: GuildId, id: ScheduledEventId)
    -> StoreResult<()>;
    /// A guild's scheduled events, in id order.
    async fn guild_scheduled_events(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<ScheduledEventRecord>>;
    /// Subscribes a user to an event of the guild (again: no change).
    async fn put_event_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()>;
    async fn delete_event_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()>;
    /// Records a user's answer for one occurrence of a recurring event (replacing an earlier one).
    async fn put_event_exception_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        answer: EventExceptionUser,
    ) -> StoreResult<()>;
    /// Forgets a user's answer for one occurrence (none is no error).
    async fn delete_event_exception_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        exception: Snowflake,
        user: UserId,
    ) -> StoreResult<()>;
    /// Every per-occurrence answer of an event, by occurrence then user id. Removed with the
    /// event and with the guild.
    async fn event_exception_users(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<EventExceptionUser>>;
    /// An event's subscribers, in user id order.
    async fn event_users(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<UserId>>;

    // --- thread members (a guild's memberships, loaded with the guild by its actor; removed
    // with their thread and with the guild)
    /// Inserts or replaces a user's membership of a thread.
    async fn put_thread_member(&self, member: &ThreadMemberRecord) -> StoreResult<()>;
    /// Removes one membership (an unknown one is no error).
    async fn delete_thread_member(
        &self,
        guild: GuildId,
        thread: ChannelId,
        user: UserId,
    ) -> StoreResult<()>;
    /// Removes every membership of a thread (the thread is being deleted).
    async fn delete_thread_members(&self, guild: GuildId, thread: ChannelId) -> StoreResult<()>;
    /// Every membership of every thread of a guild, ordered by (thread, user).
    async fn guild_thread_members(&self, guild: GuildId) -> StoreResult<Vec<ThreadMemberRecord>>;
    // --- auto-moderation rules (loaded by the guild actor when it starts; removed with the guild)
    /// Inserts or replaces a rule.
    async fn put_automod_rule(&self, rule: &AutoModRuleRecord) -> StoreResult<()>;
    /// Removes a rule of this guild (an unknown id is no error).
    async fn delete_automod_rule(&self, guild: GuildId, id: AutoModRuleId) -> StoreResult<()>;
    /// A guild's rules, in id order.
    async fn guild_automod_rules(&self, guild: GuildId) -> StoreResult<Vec<AutoModRuleRecord>>;

    // --- pending poll ends (read once at start to re-arm the timer that finalizes polls)
    /// Records (or moves) when a message's poll ends.
    async fn put_poll_expiry(&self, expiry: &PollExpiry) -> StoreResult<()>;
    /// Forgets a message's pending poll end (an unknown id is no error).
    async fn delete_poll_expiry(&self, message: MessageId) -> StoreResult<()>;
    /// Every pending poll end, in message id order.
    async fn poll_expiries(&self) -> StoreResult<Vec<PollExpiry>>;

    // --- guild audit log (moderation actions of one guild; removed with the guild)
    async fn insert_guild_audit_entry(&self, entry: &GuildAuditEntry) -> StoreResult<()>;
    /// Up to `limit` (1–100) entries of one guild with ids below `before` (from the newest when
    /// None), newest first; entries older than [`GUILD_AUDIT_RETENTION_MS`] are left out.
    async fn guild_audit_entries(
        &self,
        guild: GuildId,
        limit: usize,
        before: Option<Snowflake>,
    ) -> StoreResult<Vec<GuildAuditEntry>>;

    /// Makes every acknowledged write durable (used on shutdown).
    // --- OAuth2 grants (codes, access and refresh tokens), keyed by the SHA-256 of the token
    async fn put_oauth_token(&self, token: &OAuthTokenRecord) -> StoreResult<()>;
    async fn get_oauth_token(&self, hash: &str) -> StoreResult<Option<OAuthTokenRecord>>;
    /// Deletes the token and returns it, atomically: of two concurrent takes of one code (or
    /// refresh token) only one gets it, so a code is exchanged at most once.
    async fn take_oauth_token(&self, hash: &str) -> StoreResult<Option<OAuthTokenRecord>>;

    async fn flush(&self) -> StoreResult<()>;
}

pub type DynStore = Arc<dyn Store>;

/// Lowercased `username#discriminator`, the uniqueness key for usernames.
pub fn username_key(username: &str, discriminator: &str) -> String {
    format!("{}#{}", username.to_lowercase(), discriminator)
}
