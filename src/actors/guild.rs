//! `GuildActor`: owns one guild's roles, channels, members, bans and the permission checks
//! derived from them, and fans guild events out to the subscribed sessions.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

mod audit;
mod automod;
mod automod_profile;
mod automod_raid;
pub mod blueprint;
mod command_permissions;
mod emojis;
mod events;
mod features;
mod forum;
mod holders;
mod integrations;
mod layout;
mod member_list;
mod moderation;
mod search;
mod settings;
mod setup;
mod soundboard;
mod stage;
mod stickers;
mod templates;
mod thread_sync;
mod threads;
mod verification;
mod voice;

pub use audit::{AuditLogQuery, WEBHOOK_CREATE, WEBHOOK_DELETE};
pub use automod::{
    ActionBody as AutoModActionBody, AutoModMsg, Execution as AutoModExecution,
    RuleBody as AutoModRuleBody,
};
pub use blueprint::{ChannelCreateWithId, GuildBlueprint, RoleCreateWithId};
pub use emojis::{EmojiCreate, EmojiPatch, validate_name as validate_emoji_name};
pub use events::{EventBody, EventMsg, ExceptionBody, UsersQuery as EventUsersQuery};
pub use forum::{SortBy, TagInput, ThreadSearch};
pub(crate) use holders::unavailable;
pub use layout::{ChannelPosition, OverwriteBody, RolePosition};
pub use moderation::{BulkBanResult, MAX_BAN_DELETE_SECONDS};
pub use settings::WidgetPatch;
pub use setup::{IncidentActionsBody, OnboardingBody, WelcomeScreenPatch};
pub use soundboard::{SoundCreate, SoundMsg, SoundPatch, validate_sound_fields};
pub use stage::{StageCreate, StageMsg, StagePatch};
pub use stickers::{
    MAX_MESSAGE_STICKERS, StickerCreate, StickerMsg, StickerPatch, foreign_sticker,
    validate_fields as validate_sticker_fields,
};
pub use templates::{TemplateCreate, TemplatePatch, template_json};
pub use threads::{
    ArchivedScope, MembersQuery, ThreadCreate, ThreadMsg, ThreadPatch, archived_error,
};
pub use verification::{
    GATE_FEATURE, JoinRequestAction, JoinRequestQuery, JoinRequestSubmit,
    MAX_LIST_LIMIT as MAX_JOIN_REQUESTS_LIMIT, VerificationMsg, VerificationPatch,
};
pub use voice::{SESSION_ENDED, SelfVoicePatch, VoiceMsg, VoicePatch};

use super::channel::ChannelMsg;
use super::sessions::{SessionHandle, SessionKey};
use super::subscriptions::Incarnation;
use super::{Reply, Services, reply};
use crate::cluster::Owned;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{ChannelId, EmojiId, GuildId, RoleId, Snowflake, UserId};
use crate::model::{
    ChannelKind, ChannelRecord, EmojiRecord, GuildRecord, MemberRecord, Role, StickerRecord,
    TemplateSnapshot, Timestamp,
};
use crate::permissions::{MemberContext, PermissionOverwrite, Permissions, require};
use crate::store::{BanRecord, GuildState, stamp};
use crate::validate;

/// What a channel actor learns about a user in its channel.
#[derive(Debug, Clone)]
pub struct Access {
    pub permissions: Permissions,
    pub member: bool,
    /// The member's roles: auto-moderation rules exempt roles (empty outside guilds).
    pub roles: Arc<[RoleId]>,
    /// The member has not passed the guild's member verification yet: they may look but not
    /// speak (sending answers 50009, as on Discord).
    pub pending: bool,
}

/// A session's subscription to a guild: its GUILD_CREATE, and the run of the guild's actor
/// that holds it (see `actors::subscriptions`).
#[derive(Debug)]
pub struct Subscribed {
    pub guild_create: Value,
    pub incarnation: Incarnation,
}

pub enum GuildMsg {
    /// A session comes online: returns its GUILD_CREATE payload (None: not a member).
    Subscribe(SessionHandle, RpcReplyPort<Option<Subscribed>>),
    Unsubscribe(SessionKey),
    /// The member list sidebar (ops 14/37): subscribes the session (`session`: its key on its
    /// own node) to `ranges` of `channel`'s list; the actor sends it GUILD_MEMBER_LIST_UPDATE
    /// (a SYNC now, INSERT/UPDATE/DELETE as members change; see `member_list`).
    MemberList {
        user: UserId,
        session: SessionKey,
        /// Every channel the client wants a list of, with its ranges; these replace the
        /// session's earlier channels (one left out is unsubscribed). `None`: the request named
        /// no channels (only typing/threads flags), the subscriptions stay as they are.
        channels: Option<Vec<(ChannelId, Vec<[usize; 2]>)>>,
        /// `threads: true`: THREAD_LIST_SYNC of the channels' active threads too.
        threads: bool,
        reply: Reply<Value>,
    },
    /// Periodic: passivate when idle (no sessions, no requests for `actors.idle_passivate_secs`).
    Tick,
    /// Fault injection for the supervision test: the handler panics mid-request.
    #[cfg(feature = "fault-injection")]
    InjectPanic(Reply<()>),
    /// Test hook: the actor sleeps this long inside its handler, so its mailbox fills up.
    #[cfg(feature = "fault-injection")]
    InjectStall(std::time::Duration),
    /// Op 3 from a member's session: `{status, activities, ...}`.
    Presence {
        user: UserId,
        presence: Value,
    },
    /// Op 4 from a member's session: joins (`channel_id`) or leaves (`null`) a voice channel.
    /// State only: there is no media server.
    VoiceState {
        user: UserId,
        session_id: String,
        state: Value,
    },
    /// Voice state routes and the voice channel status (see `voice`).
    Voice(VoiceMsg),
    /// Stage instances (see `stage`).
    Stage(StageMsg),
    /// The soundboard (see `soundboard`).
    Sounds(SoundMsg),
    /// Subscribes every live session of a user and sends them GUILD_CREATE (after create/join).
    SubscribeUser(UserId),
    /// A member's user object changed (name, avatar …): GUILD_MEMBER_UPDATE with the new one,
    /// as Discord sends, so member lists show it.
    UserUpdated(UserId),
    Get {
        user: UserId,
        reply: Reply<Value>,
    },
    /// Public guild info (invites, previews), no membership needed.
    Preview(RpcReplyPort<Value>),
    /// Guild-level permissions of a member (None: not a member).
    Permissions {
        user: UserId,
        reply: RpcReplyPort<Option<Permissions>>,
    },
    /// The partial guild of `GET /users/@me/guilds` (with the caller's permissions).
    Summary {
        user: UserId,
        reply: Reply<Value>,
    },
    Update {
        user: UserId,
        patch: GuildPatch,
        reply: Reply<Value>,
    },
    Delete {
        user: UserId,
        reply: Reply<()>,
    },
    ListChannels {
        user: UserId,
        reply: Reply<Value>,
    },
    CreateChannel {
        user: UserId,
        body: ChannelCreate,
        reply: Reply<Value>,
    },
    UpdateChannel {
        user: UserId,
        channel: ChannelId,
        patch: ChannelPatch,
        reply: Reply<Value>,
    },
    DeleteChannel {
        user: UserId,
        channel: ChannelId,
        reply: Reply<Value>,
    },
    /// Permissions of `user` in `channel` (channel actors cache the answer).
    Access {
        channel: ChannelId,
        user: UserId,
        reply: RpcReplyPort<Access>,
    },
    Join {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `PUT /guilds/{id}/members/{user}`: the bot `by` adds `user`, who granted its application
    /// `guilds.join`. `None` when the user already was a member (the route answers 204).
    AddMember {
        by: UserId,
        user: UserId,
        /// Whether the route found `user`'s `guilds.join` grant to `by`'s application (checked
        /// after the permission, so strangers learn nothing about tokens).
        granted: bool,
        fields: NewMemberFields,
        reply: Reply<Option<Value>>,
    },
    /// OAuth2 bot authorization: `by` (MANAGE_GUILD) adds `bot`, with a managed role carrying
    /// `permissions` (none when empty).
    AddBot {
        by: UserId,
        bot: UserId,
        name: String,
        permissions: Permissions,
        /// The bot's application and the OAuth2 scopes granted: the integration recorded.
        application: crate::id::ApplicationId,
        scopes: Vec<String>,
        reply: Reply<()>,
    },
    /// `PUT /applications/{app}/guilds/{id}/commands/{command}/permissions`: the record is
    /// shaped and counted by the route; targets, permission and the write are the actor's.
    PutCommandPermissions {
        user: UserId,
        record: crate::model::CommandPermissionsRecord,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/integrations`.
    ListIntegrations {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `DELETE /guilds/{id}/integrations/{integration}`.
    DeleteIntegration {
        user: UserId,
        id: crate::id::IntegrationId,
        reply: Reply<()>,
    },
    /// Leave (`kick == false`, `by == target`) or kick.
    RemoveMember {
        by: UserId,
        target: UserId,
        kick: bool,
        reply: Reply<()>,
    },
    ListMembers {
        user: UserId,
        limit: usize,
        after: UserId,
        reply: Reply<Value>,
    },
    GetMember {
        user: UserId,
        target: UserId,
        reply: Reply<Value>,
    },
    UpdateMember {
        by: UserId,
        target: UserId,
        patch: MemberPatch,
        reply: Reply<Value>,
    },
    /// `PUT`/`DELETE /guilds/{id}/members/{user}/roles/{role}`: one role added or removed.
    ChangeMemberRole {
        by: UserId,
        target: UserId,
        role: RoleId,
        add: bool,
        reply: Reply<Value>,
    },
    ListRoles {
        user: UserId,
        reply: Reply<Value>,
    },
    /// One role, to any member (10011 when the guild has no such role).
    GetRole {
        user: UserId,
        role: RoleId,
        reply: Reply<Value>,
    },
    CreateRole {
        user: UserId,
        body: RolePatch,
        reply: Reply<Value>,
    },
    UpdateRole {
        user: UserId,
        role: RoleId,
        body: RolePatch,
        reply: Reply<Value>,
    },
    DeleteRole {
        user: UserId,
        role: RoleId,
        reply: Reply<()>,
    },
    /// Ban; with `delete_message_seconds > 0` the user's messages of that window are deleted
    /// from the guild's channels before the reply.
    Ban {
        by: UserId,
        target: UserId,
        reason: Option<String>,
        delete_message_seconds: u64,
        reply: Reply<()>,
    },
    /// `POST /guilds/{id}/bulk-ban`; the messages of `delete_message_seconds` are deleted
    /// for every banned user before the reply, as for one ban.
    BulkBan {
        by: UserId,
        user_ids: Vec<UserId>,
        delete_message_seconds: u64,
        reply: Reply<BulkBanResult>,
    },
    /// `GET /guilds/{id}/welcome-screen`.
    WelcomeScreen {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `PATCH /guilds/{id}/welcome-screen`.
    SetWelcomeScreen {
        user: UserId,
        patch: WelcomeScreenPatch,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/onboarding`.
    Onboarding {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `PUT /guilds/{id}/onboarding`.
    SetOnboarding {
        user: UserId,
        body: OnboardingBody,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/new-member-welcome` (None: nothing enabled, 204).
    NewMemberWelcome {
        user: UserId,
        reply: Reply<Option<Value>>,
    },
    /// `PUT /guilds/{id}/incident-actions`.
    SetIncidentActions {
        user: UserId,
        body: IncidentActionsBody,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/roles/member-counts`.
    RoleMemberCounts {
        user: UserId,
        reply: Reply<Value>,
    },
    Unban {
        by: UserId,
        target: UserId,
        reply: Reply<()>,
    },
    ListBans {
        user: UserId,
        reply: Reply<Value>,
    },
    /// Instance administration (no membership needed; the route checks `Caller.admin`): owner,
    /// member count, channels and roles.
    AdminInfo(Reply<Value>),
    /// Instance administration: deletes the guild whoever owns it.
    AdminDelete(Reply<()>),
    /// Any request, carrying the `X-Audit-Log-Reason` of the HTTP request for the audit log
    /// entry it may write.
    WithReason {
        reason: Option<String>,
        msg: Box<GuildMsg>,
    },
    /// From a channel actor: which of the role ids a message mentions actually ping.
    MentionableRoles {
        user: UserId,
        roles: Vec<RoleId>,
        reply: RpcReplyPort<Vec<RoleId>>,
    },
    /// `GET /guilds/{id}?with_counts=true`.
    GetWithCounts {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/preview` (members, or anyone for a DISCOVERABLE guild).
    PreviewFor {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `PUT /channels/{id}/permissions/{overwrite}`.
    PutOverwrite {
        user: UserId,
        channel: ChannelId,
        target: Snowflake,
        body: OverwriteBody,
        reply: Reply<()>,
    },
    /// `DELETE /channels/{id}/permissions/{overwrite}`.
    DeleteOverwrite {
        user: UserId,
        channel: ChannelId,
        target: Snowflake,
        reply: Reply<()>,
    },
    /// `PATCH /guilds/{id}/channels`.
    ReorderChannels {
        user: UserId,
        moves: Vec<ChannelPosition>,
        reply: Reply<()>,
    },
    /// `PATCH /guilds/{id}/roles`: the roles after the move.
    ReorderRoles {
        user: UserId,
        moves: Vec<RolePosition>,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/members/search`.
    SearchMembers {
        user: UserId,
        query: String,
        limit: usize,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/prune` (`begin: false`) and `POST` (`begin: true`).
    Prune {
        user: UserId,
        days: u32,
        include_roles: Vec<RoleId>,
        begin: bool,
        compute_prune_count: bool,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/bans/{user}`.
    GetBan {
        user: UserId,
        target: UserId,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/vanity-url`.
    GetVanity {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `PATCH /guilds/{id}/vanity-url`.
    SetVanity {
        user: UserId,
        code: Option<String>,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/widget`.
    GetWidget {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `PATCH /guilds/{id}/widget`.
    SetWidget {
        user: UserId,
        patch: WidgetPatch,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/widget.json` (no authentication).
    WidgetJson(Reply<Value>),
    /// `GET /guilds/{id}/audit-logs`.
    AuditLog {
        user: UserId,
        query: AuditLogQuery,
        reply: Reply<Value>,
    },
    ListEmojis {
        user: UserId,
        reply: Reply<Value>,
    },
    GetEmoji {
        user: UserId,
        id: EmojiId,
        reply: Reply<Value>,
    },
    /// Asked by `PATCH /guilds/{id}` before it stores an icon, banner or splash on the CDN, so a
    /// caller without MANAGE_GUILD leaves no file behind.
    MayUpdate {
        user: UserId,
        reply: Reply<()>,
    },
    /// Asked by the route before it stores an emoji image on the CDN.
    MayCreateEmoji {
        user: UserId,
        reply: Reply<()>,
    },
    CreateEmoji {
        user: UserId,
        body: EmojiCreate,
        reply: Reply<Value>,
    },
    UpdateEmoji {
        user: UserId,
        id: EmojiId,
        patch: EmojiPatch,
        reply: Reply<Value>,
    },
    DeleteEmoji {
        user: UserId,
        id: EmojiId,
        reply: Reply<()>,
    },
    /// Guild stickers (see [`StickerMsg`]).
    Stickers(StickerMsg),
    /// Threads and their members (see [`ThreadMsg`]).
    Threads(ThreadMsg),
    /// `GET /guilds/{id}/messages/search`: the channels and threads whose messages `user` may
    /// find (VIEW_CHANNEL and READ_MESSAGE_HISTORY).
    ReadableChannels {
        user: UserId,
        reply: Reply<Vec<ChannelId>>,
    },
    /// From the thread archive timer: some active thread's inactivity clock may have run out.
    ArchiveDue,
    /// From the scheduled events' clock: some event's status may be due to move.
    EventsDue,
    /// Scheduled events (see [`EventMsg`]).
    Events(EventMsg),
    /// Auto-moderation rules and their executions (see [`AutoModMsg`]).
    AutoMod(AutoModMsg),
    /// Member verification and join requests (see [`VerificationMsg`]).
    Verification(VerificationMsg),
    /// `GET /guilds/{id}/templates`.
    ListTemplates {
        user: UserId,
        reply: Reply<Value>,
    },
    /// `POST /guilds/{id}/templates`.
    CreateTemplate {
        user: UserId,
        body: TemplateCreate,
        reply: Reply<Value>,
    },
    /// `PUT /guilds/{id}/templates/{code}`: a fresh snapshot.
    SyncTemplate {
        user: UserId,
        code: String,
        reply: Reply<Value>,
    },
    /// `PATCH /guilds/{id}/templates/{code}`.
    UpdateTemplate {
        user: UserId,
        code: String,
        patch: TemplatePatch,
        reply: Reply<Value>,
    },
    /// `DELETE /guilds/{id}/templates/{code}`.
    DeleteTemplate {
        user: UserId,
        code: String,
        reply: Reply<Value>,
    },
    /// The guild as a template would record it now (no membership needed: anyone may read a
    /// template by code, and its `is_dirty` compares against this).
    TemplateSnapshot(Reply<TemplateSnapshot>),
    /// An audit log entry for a write whose state lives outside this actor (webhooks are kept
    /// in the store by their routes): `before`/`after` become the entry's `changes`. Sent with
    /// the request's reason (`with_reason`).
    RecordAudit {
        user: UserId,
        action_type: u16,
        target: Option<Snowflake>,
        before: Option<Value>,
        after: Option<Value>,
    },
    /// An event from a channel actor, for the sessions that may see `channel`.
    Fanout {
        event: Arc<Dispatch>,
        channel: Option<ChannelId>,
    },
    /// An event for one member's sessions subscribed to this guild — with sharding, only the
    /// shard that has the guild (INTERACTION_CREATE to a bot).
    FanoutTo {
        event: Arc<Dispatch>,
        user: UserId,
    },
}

impl super::mailbox::Counted for GuildMsg {
    const KIND: super::mailbox::Kind = super::mailbox::Kind::Guild;
}

/// Body of `PATCH /guilds/{id}`; absent and `null` fields are left alone (where Discord allows
/// `null` to clear, the double option distinguishes).
#[derive(Debug, Default, Deserialize)]
pub struct GuildPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub icon: Option<Option<String>>,
    /// Images arrive as data URIs; the route stores them on the CDN and passes their hashes.
    #[serde(default, deserialize_with = "double_option")]
    pub banner: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub splash: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub discovery_splash: Option<Option<String>>,
    /// Where a community guild shows its rules, and where Discord's notices go.
    #[serde(default, deserialize_with = "double_option")]
    pub rules_channel_id: Option<Option<ChannelId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub public_updates_channel_id: Option<Option<ChannelId>>,
    pub premium_progress_bar_enabled: Option<bool>,
    pub verification_level: Option<u8>,
    pub default_message_notifications: Option<u8>,
    pub explicit_content_filter: Option<u8>,
    #[serde(default, deserialize_with = "double_option")]
    pub system_channel_id: Option<Option<ChannelId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub afk_channel_id: Option<Option<ChannelId>>,
    /// Where raid alerts go (mention raid protection posts there).
    #[serde(default, deserialize_with = "double_option")]
    pub safety_alerts_channel_id: Option<Option<ChannelId>>,
    pub afk_timeout: Option<u32>,
    pub preferred_locale: Option<String>,
    pub owner_id: Option<UserId>,
    pub features: Option<Vec<String>>,
    pub system_channel_flags: Option<u64>,
}

/// Body of `POST /guilds/{id}/channels`.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelCreate {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<u8>,
    pub topic: Option<String>,
    pub bitrate: Option<u32>,
    pub user_limit: Option<u32>,
    pub rate_limit_per_user: Option<u32>,
    pub position: Option<i32>,
    pub permission_overwrites: Option<Vec<PermissionOverwrite>>,
    pub parent_id: Option<ChannelId>,
    pub nsfw: Option<bool>,
    /// Forum and media channels (see [`forum::ForumFields`]).
    pub available_tags: Option<Vec<TagInput>>,
    #[serde(default, deserialize_with = "double_option")]
    pub default_reaction_emoji: Option<Option<crate::model::channel::DefaultReaction>>,
    #[serde(default, deserialize_with = "double_option")]
    pub default_sort_order: Option<Option<u8>>,
    pub default_forum_layout: Option<u8>,
    pub default_thread_rate_limit_per_user: Option<u32>,
    /// Accepted and ignored: threads of this channel get the thread limits' default.
    pub default_auto_archive_duration: Option<u32>,
}

/// Body of `PATCH /channels/{id}` for guild channels.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelPatch {
    pub name: Option<String>,
    /// Only text ↔ announcement (0 ↔ 5), as on Discord (which also wants the guild's NEWS
    /// feature; any guild may here).
    #[serde(rename = "type")]
    pub kind: Option<u8>,
    #[serde(default, deserialize_with = "double_option")]
    pub topic: Option<Option<String>>,
    pub position: Option<i32>,
    pub nsfw: Option<bool>,
    pub rate_limit_per_user: Option<u32>,
    pub bitrate: Option<u32>,
    pub user_limit: Option<u32>,
    pub permission_overwrites: Option<Vec<PermissionOverwrite>>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<ChannelId>>,
    /// Threads only (see [`ThreadPatch`]).
    pub archived: Option<bool>,
    pub auto_archive_duration: Option<u32>,
    pub locked: Option<bool>,
    pub invitable: Option<bool>,
    pub applied_tags: Option<Vec<crate::id::TagId>>,
    pub flags: Option<u64>,
    /// Forum and media channels (see [`forum::ForumFields`]).
    pub available_tags: Option<Vec<TagInput>>,
    #[serde(default, deserialize_with = "double_option")]
    pub default_reaction_emoji: Option<Option<crate::model::channel::DefaultReaction>>,
    #[serde(default, deserialize_with = "double_option")]
    pub default_sort_order: Option<Option<u8>>,
    pub default_forum_layout: Option<u8>,
    pub default_thread_rate_limit_per_user: Option<u32>,
    /// Accepted and ignored: threads of this channel get the thread limits' default.
    pub default_auto_archive_duration: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MemberPatch {
    #[serde(default, deserialize_with = "double_option")]
    pub nick: Option<Option<String>>,
    pub roles: Option<Vec<RoleId>>,
    pub mute: Option<bool>,
    pub deaf: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub communication_disabled_until: Option<Option<Timestamp>>,
}

/// What a bot may set on a member it adds with an OAuth2 grant (each needs its permission, as
/// when editing a member).
#[derive(Debug, Default, Deserialize)]
pub struct NewMemberFields {
    pub nick: Option<String>,
    pub roles: Option<Vec<RoleId>>,
    pub mute: Option<bool>,
    pub deaf: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RolePatch {
    pub name: Option<String>,
    pub permissions: Option<Permissions>,
    pub color: Option<u32>,
    /// Discord's newer form of `color` (discord.js and discord.py send this one); `color` wins
    /// when both are given. Gradient colours are accepted and ignored.
    pub colors: Option<RoleColorsPatch>,
    pub hoist: Option<bool>,
    pub mentionable: Option<bool>,
    pub position: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    pub unicode_emoji: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleColorsPatch {
    pub primary_color: Option<u32>,
    pub secondary_color: Option<u32>,
    pub tertiary_color: Option<u32>,
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
pub fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A role's place in the hierarchy: by position and, on equal positions, the older role (lower
/// id) above — Discord's rule, which discord.js and discord.py apply too. New roles are created
/// at position 1, so without the tie-break a bot could not assign the role it just created.
type RoleRank = (i32, Reverse<RoleId>);

fn role_rank(r: &Role) -> RoleRank {
    (r.position, Reverse(r.id))
}

pub struct GuildActor;

pub struct State {
    services: Arc<Services>,
    guild: GuildRecord,
    roles: Vec<Role>,
    channels: HashMap<ChannelId, ChannelRecord>,
    members: HashMap<UserId, MemberRecord>,
    bans: HashMap<UserId, BanRecord>,
    online: HashMap<SessionKey, SessionHandle>,
    /// Presence of members with a live session (`PRESENCE_UPDATE` payloads).
    presences: HashMap<UserId, Value>,
    /// Voice states and voice channel statuses (live, never stored).
    voice: voice::Voice,
    last_activity: std::time::Instant,
    /// Custom emojis (loaded from the store when the actor starts).
    emojis: Vec<EmojiRecord>,
    /// Stickers (loaded from the store when the actor starts).
    stickers: Vec<StickerRecord>,
    /// Scheduled events and their subscribers (loaded when the actor starts).
    events: events::Events,
    /// Auto-moderation rules, in id order (loaded when the actor starts; compiled for the
    /// channels on every change, see `automod`).
    automod: Vec<crate::model::AutoModRuleRecord>,
    /// The enabled MEMBER_PROFILE rules, compiled (by `publish_rules`, with the message rules).
    profile_rules: crate::automod::CompiledRules,
    /// Recent mention spam, for mention raid protection.
    raid_watch: automod_raid::RaidWatch,
    /// The `X-Audit-Log-Reason` of the request being handled (see `GuildMsg::WithReason`).
    audit_reason: Option<String>,
    /// This run of the actor (sessions a previous run held are subscribed again at start).
    incarnation: Incarnation,
    /// Who joined which thread (loaded when the actor starts).
    thread_members: threads::ThreadMembers,
    /// The pending auto-archive wake-up: its deadline (unix ms) and timer task.
    archive_timer: super::due_timer::DueTimer,
    /// Welcome screen, onboarding and incident actions (loaded when the actor starts).
    setup: crate::model::GuildSetupRecord,
    /// Bots added through OAuth2 (loaded when the actor starts).
    integrations: Vec<crate::model::IntegrationRecord>,
    /// Applications through member verification, in id order (loaded when the actor starts).
    join_requests: Vec<crate::model::JoinRequestRecord>,
    /// Live member lists of user clients (ops 14/37).
    member_lists: member_list::MemberLists,
}

impl Actor for GuildActor {
    type Msg = GuildMsg;
    type State = State;
    type Arguments = (Arc<Services>, GuildState);

    async fn pre_start(
        &self,
        _me: ActorRef<GuildMsg>,
        (services, s): Self::Arguments,
    ) -> Result<State, ActorProcessingErr> {
        tracing::debug!(guild = %s.guild.id, members = s.members.len(), "guild actor started");
        let (emojis, stickers, events, memberships, setup, integrations, automod, join_requests) =
            futures::try_join!(
                services.store.guild_emojis(s.guild.id),
                services.store.guild_stickers(s.guild.id),
                events::Events::load(&services.store, s.guild.id),
                services.store.guild_thread_members(s.guild.id),
                services.store.guild_setup(s.guild.id),
                services.store.guild_integrations(s.guild.id),
                services.store.guild_automod_rules(s.guild.id),
                services.store.guild_join_requests(s.guild.id),
            )?;
        let mut thread_members = threads::ThreadMembers::new();
        for m in memberships {
            thread_members
                .entry(m.thread_id)
                .or_default()
                .insert(m.user_id, m);
        }
        let setup = setup.unwrap_or_else(|| crate::model::GuildSetupRecord::new(s.guild.id));
        let mut st = State {
            services,
            guild: s.guild,
            roles: s.roles,
            channels: s.channels.into_iter().map(|c| (c.id, c)).collect(),
            members: s.members.into_iter().map(|m| (m.user_id, m)).collect(),
            bans: s.bans.into_iter().map(|b| (b.user_id, b)).collect(),
            online: HashMap::new(),
            presences: HashMap::new(),
            voice: voice::Voice::default(),
            last_activity: std::time::Instant::now(),
            emojis,
            stickers,
            events,
            automod,
            profile_rules: crate::automod::CompiledRules::default(),
            raid_watch: automod_raid::RaidWatch::default(),
            audit_reason: None,
            incarnation: Incarnation::new(),
            thread_members,
            archive_timer: Default::default(),
            setup,
            integrations,
            join_requests,
            member_lists: member_list::MemberLists::default(),
        };
        // Before any channel of the guild starts (channels spawn after their guild).
        st.publish_rules();
        Ok(st)
    }

    async fn post_start(
        &self,
        me: ActorRef<GuildMsg>,
        st: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        super::start_idle_ticker(&me, st.services.clone(), || GuildMsg::Tick);
        st.index_if_new_here();
        // The registry started it under a held lease; should that have lapsed since, the first
        // message stops the actor, and nothing is written here.
        if let Ok(stamp) = st.services.write_stamp(Owned::Guild(st.guild.id.get())) {
            // Threads that went idle while no actor ran archive now; the rest get a timer.
            stamp::under(stamp, st.archive_due_threads()).await;
            st.rearm_archive_timer(&me);
            // Event statuses that fell due while no actor ran move now; the rest get a timer.
            stamp::under(stamp, st.run_event_clock()).await;
            st.rearm_event_timer(&me);
        }
        let span = tracing::debug_span!("guild", id = %st.guild.id);
        st.resubscribe_previous_sessions().instrument(span).await;
        Ok(())
    }

    async fn post_stop(
        &self,
        _me: ActorRef<GuildMsg>,
        st: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        st.archive_timer.cancel();
        st.stop_event_timer();
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<GuildMsg>,
        msg: GuildMsg,
        st: &mut State,
    ) -> Result<(), ActorProcessingErr> {
        super::mailbox::received::<GuildMsg>();
        let msg = match msg {
            GuildMsg::WithReason { reason, msg } => {
                st.audit_reason = reason;
                *msg
            }
            other => {
                st.audit_reason = None;
                other
            }
        };
        if matches!(msg, GuildMsg::Tick) {
            if st.online.is_empty() && super::idle_for(st.last_activity, &st.services) {
                tracing::debug!("idle; passivating (reloads from the store on next use)");
                me.stop(Some("idle".into()));
            }
            return Ok(());
        }
        // The lease lapsed under this actor (the sweep stops it soon): nothing more is written
        // or sent from here; callers get 503 and retry at the next owner.
        let Ok(stamp) = st.services.write_stamp(Owned::Guild(st.guild.id.get())) else {
            tracing::warn!(guild = %st.guild.id, "ownership lease lapsed: refusing and stopping");
            me.stop(Some("ownership lapsed".into()));
            return Ok(());
        };
        if matches!(msg, GuildMsg::ArchiveDue) {
            st.archive_timer.fired();
            stamp::under(stamp, st.archive_due_threads()).await;
            st.rearm_archive_timer(&me);
            return Ok(());
        }
        if matches!(msg, GuildMsg::EventsDue) {
            st.event_timer_fired();
            stamp::under(stamp, st.run_event_clock()).await;
            st.rearm_event_timer(&me);
            return Ok(());
        }
        let rearm = matches!(msg, GuildMsg::Threads(_) | GuildMsg::UpdateChannel { .. });
        // Messages that may show a member channels with active threads (THREAD_LIST_SYNC).
        let access_before = if matches!(
            msg,
            GuildMsg::UpdateMember { .. }
                | GuildMsg::ChangeMemberRole { .. }
                | GuildMsg::UpdateChannel { .. }
                | GuildMsg::PutOverwrite { .. }
                | GuildMsg::DeleteOverwrite { .. }
                | GuildMsg::UpdateRole { .. }
                | GuildMsg::DeleteRole { .. }
                | GuildMsg::ReorderRoles { .. }
        ) {
            st.thread_access()
        } else {
            None
        };
        st.last_activity = std::time::Instant::now();
        let span = tracing::debug_span!("guild", id = %st.guild.id);
        let handled = async move {
            match msg {
                GuildMsg::Subscribe(session, port) => {
                    let _ = port.send(st.subscribe(session).await);
                }
                GuildMsg::Tick => {}
                GuildMsg::MemberList {
                    user,
                    session,
                    channels,
                    threads,
                    reply: r,
                } => {
                    let v = st
                        .subscribe_member_lists(user, session, channels, threads)
                        .await
                        .map(|()| Value::Null);
                    reply(r, v);
                }
                #[cfg(feature = "fault-injection")]
                GuildMsg::InjectPanic(_reply) => panic!("injected fault"),
                #[cfg(feature = "fault-injection")]
                GuildMsg::InjectStall(d) => tokio::time::sleep(d).await,
                GuildMsg::Unsubscribe(key) => {
                    if let Some(s) = st.online.remove(&key) {
                        let user = s.user_id;
                        if !st.online.values().any(|o| o.user_id == user) {
                            // Last session gone: offline, and out of voice.
                            st.set_presence(user, json!({"status": "offline", "activities": []}));
                            st.presences.remove(&user);
                            st.leave_voice(user);
                        }
                    }
                }
                GuildMsg::Presence { user, presence } => {
                    if st.members.contains_key(&user) {
                        st.set_presence(user, presence);
                    }
                }
                GuildMsg::VoiceState {
                    user,
                    session_id,
                    state,
                } => {
                    st.load_voice_user(user).await;
                    st.voice_state(voice::VoiceUpdate {
                        user,
                        session_id,
                        state,
                    });
                    // A leave (or a refused join) keeps no user object.
                    if !st.voice.states.contains_key(&user) {
                        st.voice.users.remove(&user);
                    }
                }
                GuildMsg::Voice(m) => st.handle_voice(m).await,
                GuildMsg::Stage(m) => st.handle_stage(m).await,
                GuildMsg::Sounds(m) => st.handle_sound(m).await,
                GuildMsg::SubscribeUser(user) => st.subscribe_user(user).await,
                GuildMsg::UserUpdated(user) => st.user_updated(user).await,
                GuildMsg::Get { user, reply: r } => {
                    let v = st.member_guard(user).map(|_| st.guild_json(true));
                    reply(r, v);
                }
                GuildMsg::Preview(port) => {
                    let _ = port.send(json!({
                        "id": st.guild.id,
                        "name": st.guild.name,
                        "icon": st.guild.icon,
                        "splash": st.guild.splash,
                        "banner": st.guild.banner,
                        "description": st.guild.description,
                        "features": st.guild.features,
                        "verification_level": st.guild.verification_level,
                        "vanity_url_code": st.guild.vanity_url_code,
                        "nsfw_level": st.guild.nsfw_level,
                        "nsfw": false,
                        "premium_subscription_count": st.guild.premium_subscription_count,
                        "approximate_member_count": st.members.len(),
                        "approximate_presence_count": st.presence_count(),
                    }));
                }
                GuildMsg::Permissions { user, reply: port } => {
                    let p = st
                        .members
                        .contains_key(&user)
                        .then(|| st.guild_permissions(user));
                    let _ = port.send(p);
                }
                GuildMsg::Summary { user, reply: r } => {
                    let v = st.member_guard(user).map(|_| {
                        json!({
                            "id": st.guild.id,
                            "name": st.guild.name,
                            "icon": st.guild.icon,
                            "banner": st.guild.banner,
                            "owner": st.guild.owner_id == user,
                            "permissions": st.guild_permissions(user),
                            "features": st.guild.features,
                            "approximate_member_count": st.members.len(),
                        })
                    });
                    reply(r, v);
                }
                GuildMsg::Update {
                    user,
                    patch,
                    reply: r,
                } => {
                    let before = Value::Object(st.guild.to_json());
                    let v = st.update(user, patch).await;
                    let ok = v.is_ok();
                    reply(r, v);
                    if ok {
                        let after = Value::Object(st.guild.to_json());
                        let target = Some(st.id().snowflake());
                        st.audit_change(
                            user,
                            audit::GUILD_UPDATE,
                            target,
                            Some(before),
                            Some(after),
                        )
                        .await;
                    }
                }
                GuildMsg::Delete { user, reply: r } => {
                    let result = st.delete(user).await;
                    let deleted = result.is_ok();
                    reply(r, result);
                    if deleted {
                        st.services.automod.remove(st.id());
                        me.stop(Some("guild deleted".into()));
                    }
                }
                GuildMsg::ListChannels { user, reply: r } => {
                    let v = st.member_guard(user).map(|_| {
                        let mut list: Vec<&ChannelRecord> = st
                            .channels
                            .values()
                            .filter(|c| {
                                !c.kind.is_thread()
                                    && st
                                        .channel_permissions(user, c)
                                        .contains(Permissions::VIEW_CHANNEL)
                            })
                            .collect();
                        list.sort_by_key(|c| (c.position, c.id));
                        Value::Array(list.into_iter().map(|c| c.to_json(None)).collect())
                    });
                    reply(r, v);
                }
                GuildMsg::CreateChannel {
                    user,
                    body,
                    reply: r,
                } => {
                    let v = st.create_channel(user, body).await;
                    let created = v.as_ref().ok().cloned();
                    reply(r, v);
                    if let Some(c) = created {
                        let target = audit::id_of(&c);
                        st.audit_change(user, audit::CHANNEL_CREATE, target, None, Some(c))
                            .await;
                    }
                }
                GuildMsg::UpdateChannel {
                    user,
                    channel,
                    patch,
                    reply: r,
                } => {
                    let before = st.channel_value(channel);
                    let action = st.channel_audit_action(
                        channel,
                        audit::CHANNEL_UPDATE,
                        threads::THREAD_UPDATE,
                    );
                    let v = st.update_channel(user, channel, patch).await;
                    let ok = v.is_ok();
                    reply(r, v);
                    if ok {
                        let after = st.channel_value(channel);
                        let target = Some(channel.snowflake());
                        st.audit_change(user, action, target, before, after).await;
                    }
                }
                GuildMsg::DeleteChannel {
                    user,
                    channel,
                    reply: r,
                } => {
                    let before = st.channel_value(channel);
                    let action = st.channel_audit_action(
                        channel,
                        audit::CHANNEL_DELETE,
                        threads::THREAD_DELETE,
                    );
                    let v = st.delete_channel(user, channel).await;
                    let ok = v.is_ok();
                    reply(r, v);
                    if ok {
                        let target = Some(channel.snowflake());
                        st.audit_change(user, action, target, before, None).await;
                    }
                }
                GuildMsg::Access {
                    channel,
                    user,
                    reply: port,
                } => {
                    let access = match (st.members.get(&user), st.channels.get(&channel)) {
                        (Some(m), Some(c)) => Access {
                            permissions: st.channel_permissions(user, c),
                            member: true,
                            roles: m.roles.clone().into(),
                            pending: m.pending,
                        },
                        (Some(m), None) => Access {
                            permissions: Permissions::empty(),
                            member: true,
                            roles: m.roles.clone().into(),
                            pending: m.pending,
                        },
                        _ => Access {
                            permissions: Permissions::empty(),
                            member: false,
                            roles: Arc::from([]),
                            pending: false,
                        },
                    };
                    let _ = port.send(access);
                }
                GuildMsg::Join { user, reply: r } => reply(r, st.join(user).await),
                GuildMsg::AddMember {
                    by,
                    user,
                    granted,
                    fields,
                    reply: r,
                } => reply(r, st.add_member(by, user, granted, fields).await),
                GuildMsg::AddBot {
                    by,
                    bot,
                    name,
                    permissions,
                    application,
                    scopes,
                    reply: r,
                } => {
                    let added = st.add_bot(by, bot, name, permissions).await;
                    let v = match added {
                        Ok(()) => st.record_integration(by, bot, application, scopes).await,
                        Err(e) => Err(e),
                    };
                    reply(r, v)
                }
                GuildMsg::PutCommandPermissions {
                    user,
                    record,
                    reply: r,
                } => reply(r, st.put_command_permissions(user, record).await),
                GuildMsg::ListIntegrations { user, reply: r } => {
                    reply(r, st.list_integrations(user).await)
                }
                GuildMsg::DeleteIntegration { user, id, reply: r } => {
                    reply(r, st.delete_integration(user, id).await)
                }
                GuildMsg::RemoveMember {
                    by,
                    target,
                    kick,
                    reply: r,
                } => {
                    // Kicking yourself or "leaving" on someone else's behalf are both refused.
                    let result = if kick == (by == target) {
                        Err(ApiError::MissingPermissions)
                    } else {
                        st.remove_member(by, target, None).await
                    };
                    let kicked = kick && result.is_ok();
                    reply(r, result);
                    if kicked {
                        let target = Some(target.snowflake());
                        st.audit(by, audit::MEMBER_KICK, target, Vec::new(), None)
                            .await;
                    }
                }
                GuildMsg::ListMembers {
                    user,
                    limit,
                    after,
                    reply: r,
                } => {
                    let v = match st.member_guard(user) {
                        Ok(()) => st.list_members(limit, after).await,
                        Err(e) => Err(e),
                    };
                    reply(r, v);
                }
                GuildMsg::GetMember {
                    user,
                    target,
                    reply: r,
                } => {
                    let v = match (st.member_guard(user), st.members.get(&target)) {
                        (Err(e), _) => Err(e),
                        (Ok(()), None) => Err(ApiError::Unknown(Unknown::Member)),
                        (Ok(()), Some(m)) => st.member_json(m).await,
                    };
                    reply(r, v);
                }
                GuildMsg::UpdateMember {
                    by,
                    target,
                    patch,
                    reply: r,
                } => st.update_member_audited(by, target, patch, r).await,
                GuildMsg::ChangeMemberRole {
                    by,
                    target,
                    role,
                    add,
                    reply: r,
                } => {
                    // Read-modify-write of the role list inside the actor: concurrent
                    // PUT/DELETE of different roles on one member can't undo each other.
                    let current = st.member_guard(by).and_then(|()| {
                        st.members
                            .get(&target)
                            .map(|m| m.roles.clone())
                            .ok_or(ApiError::Unknown(Unknown::Member))
                    });
                    match current {
                        Err(e) => reply(r, Err(e)),
                        Ok(mut roles) => {
                            if add {
                                if !roles.contains(&role) {
                                    roles.push(role);
                                }
                            } else {
                                roles.retain(|x| *x != role);
                            }
                            let patch = MemberPatch {
                                roles: Some(roles),
                                ..MemberPatch::default()
                            };
                            st.update_member_audited(by, target, patch, r).await;
                        }
                    }
                }
                GuildMsg::ListRoles { user, reply: r } => {
                    let v = st.member_guard(user).map(|_| json!(st.roles));
                    reply(r, v);
                }
                GuildMsg::GetRole {
                    user,
                    role,
                    reply: r,
                } => {
                    let v = st.member_guard(user).and_then(|_| {
                        st.roles
                            .iter()
                            .find(|x| x.id == role)
                            .map(|x| json!(x))
                            .ok_or(ApiError::Unknown(Unknown::Role))
                    });
                    reply(r, v);
                }
                GuildMsg::CreateRole {
                    user,
                    body,
                    reply: r,
                } => {
                    let v = st.create_role(user, body).await;
                    let created = v.as_ref().ok().cloned();
                    reply(r, v);
                    if let Some(role) = created {
                        let target = audit::id_of(&role);
                        st.audit_change(user, audit::ROLE_CREATE, target, None, Some(role))
                            .await;
                    }
                }
                GuildMsg::UpdateRole {
                    user,
                    role,
                    body,
                    reply: r,
                } => {
                    let before = st.role_value(role);
                    let v = st.update_role(user, role, body).await;
                    let ok = v.is_ok();
                    reply(r, v);
                    if ok {
                        let after = st.role_value(role);
                        let target = Some(role.snowflake());
                        st.audit_change(user, audit::ROLE_UPDATE, target, before, after)
                            .await;
                    }
                }
                GuildMsg::DeleteRole {
                    user,
                    role,
                    reply: r,
                } => {
                    let before = st.role_value(role);
                    let v = st.delete_role(user, role).await;
                    let ok = v.is_ok();
                    reply(r, v);
                    if ok {
                        let target = Some(role.snowflake());
                        st.audit_change(user, audit::ROLE_DELETE, target, before, None)
                            .await;
                    }
                }
                GuildMsg::Ban {
                    by,
                    target,
                    reason,
                    delete_message_seconds,
                    reply: r,
                } => {
                    let result = st.ban(by, target, reason).await;
                    let ok = result.is_ok();
                    match result {
                        Ok(()) if delete_message_seconds > 0 => {
                            st.purge_after_ban(target, delete_message_seconds, r);
                        }
                        other => reply(r, other),
                    }
                    if ok {
                        let options = (delete_message_seconds > 0).then(|| {
                        json!({"delete_message_seconds": delete_message_seconds.to_string()})
                    });
                        let t = Some(target.snowflake());
                        st.audit(by, audit::MEMBER_BAN_ADD, t, Vec::new(), options)
                            .await;
                    }
                }
                GuildMsg::Unban {
                    by,
                    target,
                    reply: r,
                } => {
                    let result = st.unban(by, target).await;
                    let ok = result.is_ok();
                    reply(r, result);
                    if ok {
                        let t = Some(target.snowflake());
                        st.audit(by, audit::MEMBER_BAN_REMOVE, t, Vec::new(), None)
                            .await;
                    }
                }
                GuildMsg::BulkBan {
                    by,
                    user_ids,
                    delete_message_seconds,
                    reply: r,
                } => match st.bulk_ban(by, &user_ids, delete_message_seconds).await {
                    Ok(done) if delete_message_seconds > 0 => {
                        let targets = done.banned_users.clone();
                        st.purge_after_bans(targets, delete_message_seconds, r, done);
                    }
                    other => reply(r, other),
                },
                GuildMsg::RoleMemberCounts { user, reply: r } => {
                    reply(r, st.role_member_counts(user))
                }
                GuildMsg::WelcomeScreen { user, reply: r } => reply(r, st.welcome_screen(user)),
                GuildMsg::SetWelcomeScreen {
                    user,
                    patch,
                    reply: r,
                } => reply(r, st.set_welcome_screen(user, patch).await),
                GuildMsg::Onboarding { user, reply: r } => reply(r, st.onboarding(user)),
                GuildMsg::SetOnboarding {
                    user,
                    body,
                    reply: r,
                } => reply(r, st.set_onboarding(user, body).await),
                GuildMsg::NewMemberWelcome { user, reply: r } => {
                    reply(r, st.new_member_welcome(user))
                }
                GuildMsg::SetIncidentActions {
                    user,
                    body,
                    reply: r,
                } => reply(r, st.set_incident_actions(user, body).await),
                GuildMsg::ListBans { user, reply: r } => {
                    let v = match st.require_guild(user, Permissions::BAN_MEMBERS) {
                        Ok(()) => st.list_bans().await,
                        Err(e) => Err(e),
                    };
                    reply(r, v);
                }
                GuildMsg::AdminInfo(r) => reply(r, Ok(st.admin_info())),
                GuildMsg::AdminDelete(r) => {
                    let result = st.delete_unchecked().await;
                    let deleted = result.is_ok();
                    reply(r, result);
                    if deleted {
                        me.stop(Some("guild deleted by an instance administrator".into()));
                    }
                }
                GuildMsg::Fanout { event, channel } => st.broadcast(&event, channel),
                GuildMsg::RecordAudit {
                    user,
                    action_type,
                    target,
                    before,
                    after,
                } => {
                    st.audit_change(user, action_type, target, before, after)
                        .await
                }
                GuildMsg::FanoutTo { event, user } => {
                    for session in st.online.values().filter(|s| s.user_id == user) {
                        if session.wants(&event) {
                            session.deliver(&event);
                        }
                    }
                }
                // Unwrapped above; a nested wrapper is refused rather than recursed into.
                GuildMsg::WithReason { msg, .. } => drop(msg),
                GuildMsg::MentionableRoles {
                    user,
                    roles,
                    reply: port,
                } => {
                    let _ = port.send(st.mentionable_roles(user, roles));
                }
                GuildMsg::GetWithCounts { user, reply: r } => reply(r, st.guild_with_counts(user)),
                GuildMsg::PreviewFor { user, reply: r } => reply(r, st.preview_for(user)),
                GuildMsg::PutOverwrite {
                    user,
                    channel,
                    target,
                    body,
                    reply: r,
                } => reply(r, st.put_overwrite(user, channel, target, body).await),
                GuildMsg::DeleteOverwrite {
                    user,
                    channel,
                    target,
                    reply: r,
                } => reply(r, st.delete_overwrite(user, channel, target).await),
                GuildMsg::ReorderChannels {
                    user,
                    moves,
                    reply: r,
                } => reply(r, st.reorder_channels(user, moves).await),
                GuildMsg::ReorderRoles {
                    user,
                    moves,
                    reply: r,
                } => reply(r, st.reorder_roles(user, moves).await),
                GuildMsg::SearchMembers {
                    user,
                    query,
                    limit,
                    reply: r,
                } => reply(r, st.search_members(user, &query, limit).await),
                GuildMsg::Prune {
                    user,
                    days,
                    include_roles,
                    begin,
                    compute_prune_count,
                    reply: r,
                } => {
                    let v = if begin {
                        st.prune(user, days, &include_roles, compute_prune_count)
                            .await
                    } else {
                        st.prune_count(user, days, &include_roles)
                    };
                    reply(r, v);
                }
                GuildMsg::GetBan {
                    user,
                    target,
                    reply: r,
                } => reply(r, st.get_ban(user, target).await),
                GuildMsg::GetVanity { user, reply: r } => reply(r, st.get_vanity(user).await),
                GuildMsg::SetVanity {
                    user,
                    code,
                    reply: r,
                } => reply(r, st.set_vanity(user, code).await),
                GuildMsg::GetWidget { user, reply: r } => reply(r, st.get_widget(user)),
                GuildMsg::SetWidget {
                    user,
                    patch,
                    reply: r,
                } => reply(r, st.set_widget(user, patch).await),
                GuildMsg::WidgetJson(r) => reply(r, st.widget_json()),
                GuildMsg::AuditLog {
                    user,
                    query,
                    reply: r,
                } => reply(r, st.audit_log(user, query).await),
                GuildMsg::ListEmojis { user, reply: r } => reply(r, st.list_emojis(user).await),
                GuildMsg::GetEmoji { user, id, reply: r } => reply(r, st.get_emoji(user, id).await),
                GuildMsg::MayUpdate { user, reply: r } => {
                    reply(r, st.require_guild(user, Permissions::MANAGE_GUILD))
                }
                GuildMsg::MayCreateEmoji { user, reply: r } => reply(r, st.may_create_emoji(user)),
                GuildMsg::CreateEmoji {
                    user,
                    body,
                    reply: r,
                } => reply(r, st.create_emoji(user, body).await),
                GuildMsg::UpdateEmoji {
                    user,
                    id,
                    patch,
                    reply: r,
                } => reply(r, st.update_emoji(user, id, patch).await),
                GuildMsg::DeleteEmoji { user, id, reply: r } => {
                    reply(r, st.delete_emoji(user, id).await)
                }
                GuildMsg::Stickers(m) => st.handle_sticker(m).await,
                GuildMsg::Verification(m) => st.handle_verification(m).await,
                GuildMsg::Threads(m) => st.handle_thread(m).await,
                GuildMsg::ReadableChannels { user, reply: r } => {
                    reply(r, st.readable_channels(user))
                }
                // Handled before the span.
                GuildMsg::ArchiveDue | GuildMsg::EventsDue => {}
                GuildMsg::AutoMod(m) => st.handle_automod(m).await,
                GuildMsg::Events(m) => st.handle_event(m).await,
                GuildMsg::ListTemplates { user, reply: r } => {
                    reply(r, st.list_templates(user).await)
                }
                GuildMsg::CreateTemplate {
                    user,
                    body,
                    reply: r,
                } => reply(r, st.create_template(user, body).await),
                GuildMsg::SyncTemplate {
                    user,
                    code,
                    reply: r,
                } => reply(r, st.sync_template(user, &code).await),
                GuildMsg::UpdateTemplate {
                    user,
                    code,
                    patch,
                    reply: r,
                } => reply(r, st.update_template(user, &code, patch).await),
                GuildMsg::DeleteTemplate {
                    user,
                    code,
                    reply: r,
                } => reply(r, st.delete_template(user, &code).await),
                GuildMsg::TemplateSnapshot(r) => reply(r, Ok(st.snapshot())),
            }
            if rearm {
                st.rearm_archive_timer(&me);
            }
            // Cheap (at most 100 events): any message may move the next status change (a
            // PATCH, a voice state, a deleted channel).
            st.rearm_event_timer(&me);
            if let Some(before) = access_before {
                st.sync_gained_threads(before);
            }
            st.flush_member_lists().await;
        }
        .instrument(span);
        stamp::under(stamp, handled).await;
        Ok(())
    }
}

impl State {
    fn id(&self) -> GuildId {
        self.guild.id
    }

    fn everyone(&self) -> Permissions {
        self.roles
            .iter()
            .find(|r| r.id == self.id().everyone_role())
            .map_or(Permissions::empty(), |r| r.permissions)
    }

    fn member_roles(&self, member: &MemberRecord) -> Vec<(RoleId, Permissions)> {
        member
            .roles
            .iter()
            .filter_map(|id| {
                self.roles
                    .iter()
                    .find(|r| r.id == *id)
                    .map(|r| (r.id, r.permissions))
            })
            .collect()
    }

    fn with_context<T>(&self, user: UserId, f: impl FnOnce(&MemberContext<'_>) -> T) -> Option<T> {
        let member = self.members.get(&user)?;
        let roles = self.member_roles(member);
        let ctx = MemberContext {
            guild_id: self.id(),
            owner_id: self.guild.owner_id,
            user_id: user,
            everyone: self.everyone(),
            roles: &roles,
            // A member who has not passed member verification is held like a timed-out one:
            // they may look (VIEW_CHANNEL, READ_MESSAGE_HISTORY) and nothing else.
            timed_out: member.timed_out(Timestamp::now()) || member.pending,
            // Read from the cached member, so the channels' permission caches carry it and
            // the message path pays nothing for it.
            quarantined: member.quarantined(),
        };
        Some(f(&ctx))
    }

    /// The audit log action for a change of `channel`: `thread` for threads, else `plain`.
    fn channel_audit_action(&self, channel: ChannelId, plain: u16, thread: u16) -> u16 {
        if self
            .channels
            .get(&channel)
            .is_some_and(|c| c.kind.is_thread())
        {
            thread
        } else {
            plain
        }
    }

    /// Wakes the actor when the next active thread is due to archive itself (replacing the
    /// pending wake-up when the earliest deadline moved).
    fn rearm_archive_timer(&mut self, me: &ActorRef<GuildMsg>) {
        let next = self.next_archive_due();
        self.archive_timer.arm(me, next, || GuildMsg::ArchiveDue);
    }

    fn guild_permissions(&self, user: UserId) -> Permissions {
        self.with_context(user, |c| c.guild_permissions())
            .unwrap_or_default()
    }

    fn channel_permissions(&self, user: UserId, channel: &ChannelRecord) -> Permissions {
        if channel.kind.is_thread() {
            return self.thread_permissions_of(user, channel);
        }
        self.with_context(user, |c| {
            c.channel_permissions(&channel.permission_overwrites)
        })
        .unwrap_or_default()
    }

    /// Non-members get `Unknown Guild`, as on Discord (no existence leak).
    /// Text channels and threads whose messages `user` may search.
    fn readable_channels(&self, user: UserId) -> Result<Vec<ChannelId>, ApiError> {
        self.member_guard(user)?;
        let need = Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY;
        Ok(self
            .channels
            .values()
            .filter(|c| c.kind.is_text())
            .filter(|c| self.channel_permissions(user, c).contains(need))
            .map(|c| c.id)
            .collect())
    }

    fn member_guard(&self, user: UserId) -> Result<(), ApiError> {
        if self.members.contains_key(&user) {
            Ok(())
        } else {
            Err(ApiError::Unknown(Unknown::Guild))
        }
    }

    fn require_guild(&self, user: UserId, need: Permissions) -> Result<(), ApiError> {
        self.member_guard(user)?;
        Ok(require(self.guild_permissions(user), need)?)
    }

    /// Where a member stands in the role hierarchy: the rank of their highest role (owner:
    /// above everything; no roles: @everyone's rank; not a member: below everything).
    fn top_rank(&self, user: UserId) -> RoleRank {
        if user == self.guild.owner_id {
            return (i32::MAX, Reverse(RoleId::new(0)));
        }
        self.members
            .get(&user)
            .map(|m| {
                m.roles
                    .iter()
                    .filter_map(|id| self.roles.iter().find(|r| r.id == *id))
                    .map(role_rank)
                    .max()
                    .unwrap_or((0, Reverse(self.id().everyone_role())))
            })
            .unwrap_or((-1, Reverse(RoleId::new(u64::MAX))))
    }

    /// What the admin dashboard shows about a guild.
    fn admin_info(&self) -> Value {
        let mut channels: Vec<&ChannelRecord> = self.channels.values().collect();
        channels.sort_by_key(|c| (c.position, c.id));
        json!({
            "id": self.id(),
            "name": self.guild.name,
            "description": self.guild.description,
            "owner_id": self.guild.owner_id,
            "member_count": self.members.len(),
            "role_count": self.roles.len(),
            "ban_count": self.bans.len(),
            "online_sessions": self.online.len(),
            "channels": channels
                .iter()
                .map(|c| json!({"id": c.id, "name": c.name, "type": c.kind, "parent_id": c.parent_id}))
                .collect::<Vec<_>>(),
        })
    }

    fn guild_json(&self, with_roles: bool) -> Value {
        let mut g = self.guild.to_json();
        g.insert("incidents_data".into(), self.incidents_json());
        if with_roles {
            g.insert("roles".into(), json!(self.roles));
        }
        g.insert("emojis".into(), self.emojis_json());
        g.insert("stickers".into(), self.stickers_json());
        g.insert("approximate_member_count".into(), json!(self.members.len()));
        Value::Object(g)
    }

    async fn member_json(&self, m: &MemberRecord) -> Result<Value, ApiError> {
        let user = self.services.users.public(m.user_id).await?;
        Ok(m.to_json(&user))
    }

    /// Discord's GUILD_CREATE payload for one user.
    async fn guild_create_json(&self, user: UserId) -> Result<Value, ApiError> {
        let mut g = self.guild.to_json();
        g.insert("incidents_data".into(), self.incidents_json());
        g.insert("roles".into(), json!(self.roles));
        g.insert("emojis".into(), self.emojis_json());
        g.insert("stickers".into(), self.stickers_json());
        g.insert("guild_scheduled_events".into(), self.events_json_for(user));
        let mut channels: Vec<&ChannelRecord> = self
            .channels
            .values()
            .filter(|c| {
                !c.kind.is_thread()
                    && self
                        .channel_permissions(user, c)
                        .contains(Permissions::VIEW_CHANNEL)
            })
            .collect();
        channels.sort_by_key(|c| (c.position, c.id));
        g.insert("threads".into(), Value::Array(self.threads_for(user)));
        g.insert(
            "channels".into(),
            Value::Array(channels.into_iter().map(|c| c.to_json(None)).collect()),
        );
        // Small guilds get every member; large ones only the user (clients request the rest
        // with op 8), like Discord's `large_threshold`.
        let large = self.members.len() > 250;
        let mut members = Vec::new();
        if large {
            if let Some(m) = self.members.get(&user) {
                members.push(self.member_json(m).await?);
            }
        } else {
            let ids: Vec<UserId> = self.members.keys().copied().collect();
            let users = self.services.users.public_many(&ids).await?;
            for u in &users {
                if let Some(m) = self.members.get(&u.id) {
                    members.push(m.to_json(u));
                }
            }
        }
        g.insert("members".into(), Value::Array(members));
        g.insert("member_count".into(), json!(self.members.len()));
        g.insert("large".into(), json!(large));
        g.insert("unavailable".into(), json!(false));
        let joined = self.members.get(&user).map(|m| m.joined_at);
        g.insert("joined_at".into(), json!(joined));
        // Presences of the members included above, not of everyone online: a large guild's
        // GUILD_CREATE (built once per identifying session) must not grow with its online count.
        let presences: Vec<Value> = if large {
            self.presences.get(&user).cloned().into_iter().collect()
        } else {
            self.presences.values().cloned().collect()
        };
        g.insert("presences".into(), Value::Array(presences));
        g.insert("voice_states".into(), self.voice_states_json());
        g.insert("stage_instances".into(), self.stage_instances_for(user));
        g.insert("soundboard_sounds".into(), self.sounds_json());
        g.insert("lazy".into(), json!(true));
        Ok(Value::Object(g))
    }

    /// Records and announces a member's presence (GUILD_PRESENCES intent).
    fn set_presence(&mut self, user: UserId, presence: Value) {
        let status = presence["status"].as_str().unwrap_or("online").to_string();
        let status = if status == "invisible" {
            "offline".to_string()
        } else {
            status
        };
        let data = json!({
            "user": {"id": user},
            "guild_id": self.id(),
            "status": status,
            "activities": presence.get("activities").cloned().unwrap_or_else(|| json!([])),
            "client_status": {"desktop": status},
        });
        self.presences.insert(user, data.clone());
        self.member_lists.touch(user);
        self.dispatch("PRESENCE_UPDATE", &data, None);
    }

    async fn subscribe_user(&mut self, user: UserId) {
        if !self.members.contains_key(&user) {
            return;
        }
        // The user's sessions on other nodes subscribe through their node.
        if let Some(remote) = self.services.remote.get() {
            remote.announce_join(self.id(), self.incarnation, user);
        }
        let sessions = self.services.sessions.sessions_of(user);
        if sessions.is_empty() {
            return;
        }
        match self.guild_create_json(user).await {
            Ok(payload) => {
                let event = Dispatch::new("GUILD_CREATE", &payload, true);
                for s in sessions {
                    if s.wants(&event) {
                        s.deliver(&event);
                    }
                    self.hold(s);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not build GUILD_CREATE"),
        }
    }

    /// Sends to every subscribed session that wants the event and may see the channel.
    fn broadcast(&mut self, event: &Arc<Dispatch>, channel: Option<ChannelId>) {
        let channel = channel.and_then(|c| self.channels.get(&c));
        let mut dead = Vec::new();
        super::remote::fan_out(|| {
            for (key, s) in &self.online {
                if !s.wants(event) {
                    continue;
                }
                if let Some(c) = channel
                    && !self
                        .channel_permissions(s.user_id, c)
                        .contains(Permissions::VIEW_CHANNEL)
                {
                    continue;
                }
                if !s.deliver(event) {
                    dead.push(*key);
                }
            }
        });
        for k in dead {
            self.online.remove(&k);
        }
    }

    /// GUILD_MEMBER_ADD/UPDATE/REMOVE about `subject`: to sessions with GUILD_MEMBERS, and to
    /// user sessions as [`SessionHandle::wants_member_event`] decides (bounded by
    /// `gateway.user_member_events_max_members`).
    /// See [`GuildMsg::UserUpdated`].
    async fn user_updated(&mut self, user: UserId) {
        // A new username or display name is judged by the profile rules first, so the update
        // carries the member's flags as they now are.
        let Some((m, verdict)) = self.rejudge_profile(user).await else {
            return;
        };
        // The user object VOICE_STATE_UPDATE carries follows the change too.
        if self.voice.users.contains_key(&user) {
            self.voice.users.remove(&user);
            self.load_voice_user(user).await;
        }
        match self.member_json(&m).await {
            Ok(mut v) => {
                v["guild_id"] = json!(self.id());
                self.dispatch_member("GUILD_MEMBER_UPDATE", &v, user);
            }
            Err(e) => tracing::warn!(error = %e, %user, "member update not sent"),
        }
        // A member already quarantined is not reported again for each profile change.
        if !verdict.was_quarantined {
            self.execute_profile(user, verdict).await;
        }
    }

    fn dispatch_member(&mut self, name: &'static str, data: &Value, subject: UserId) {
        // Every join, leave and member change passes here: the member lists follow it.
        self.member_lists.touch(subject);
        let event = Dispatch::new(name, data, true);
        let limit = self
            .services
            .config
            .get()
            .gateway
            .user_member_events_max_members as usize;
        let small = self.members.len() <= limit;
        let mut dead = Vec::new();
        super::remote::fan_out(|| {
            for (key, s) in &self.online {
                if s.wants_member_event(&event, subject, small) && !s.deliver(&event) {
                    dead.push(*key);
                }
            }
        });
        for k in dead {
            self.online.remove(&k);
        }
    }

    fn dispatch(&mut self, name: &'static str, data: &Value, channel: Option<ChannelId>) {
        // Roles (hoist, position, permissions) and channels (overwrites) shape the member lists.
        if matches!(
            name,
            "GUILD_ROLE_CREATE"
                | "GUILD_ROLE_UPDATE"
                | "GUILD_ROLE_DELETE"
                | "CHANNEL_UPDATE"
                | "CHANNEL_DELETE"
        ) {
            self.member_lists.restructure();
        }
        let event = Dispatch::new(name, data, true);
        self.broadcast(&event, channel);
    }

    /// Tells the running channel actors that cached permissions are stale.
    fn invalidate_permissions(&self, user: Option<UserId>) {
        for id in self.channels.keys() {
            if let Some(actor) = self.services.registry.running_channel(*id) {
                let _ = crate::actors::tell(&actor, ChannelMsg::InvalidatePermissions(user));
            }
        }
    }

    async fn update(&mut self, user: UserId, patch: GuildPatch) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let limits = self.services.config.get().limits.guild.clone();
        let mut g = self.guild.clone();
        let mut errs = FieldErrors::default();
        if let Some(name) = patch.name {
            validate::length(
                &mut errs,
                "name",
                name.trim(),
                limits.min_name,
                limits.max_name,
            );
            g.name = name.trim().to_string();
        }
        if let Some(d) = patch.description {
            g.description = d;
        }
        if let Some(i) = patch.icon {
            g.icon = i;
        }
        if let Some(b) = patch.banner {
            g.banner = b;
        }
        if let Some(sp) = patch.splash {
            g.splash = sp;
        }
        if let Some(sp) = patch.discovery_splash {
            g.discovery_splash = sp;
        }
        if let Some(on) = patch.premium_progress_bar_enabled {
            g.premium_progress_bar_enabled = on;
        }
        if let Some(v) = patch.verification_level {
            g.verification_level = v.min(4);
        }
        if let Some(v) = patch.default_message_notifications {
            g.default_message_notifications = v.min(1);
        }
        if let Some(v) = patch.explicit_content_filter {
            g.explicit_content_filter = v.min(2);
        }
        for (path, value, slot) in [
            (
                "system_channel_id",
                patch.system_channel_id,
                &mut g.system_channel_id,
            ),
            (
                "afk_channel_id",
                patch.afk_channel_id,
                &mut g.afk_channel_id,
            ),
            (
                "safety_alerts_channel_id",
                patch.safety_alerts_channel_id,
                &mut g.safety_alerts_channel_id,
            ),
            (
                "rules_channel_id",
                patch.rules_channel_id,
                &mut g.rules_channel_id,
            ),
            (
                "public_updates_channel_id",
                patch.public_updates_channel_id,
                &mut g.public_updates_channel_id,
            ),
        ] {
            if let Some(v) = value {
                if v.is_some_and(|c| !self.channels.contains_key(&c)) {
                    errs.add(path, FieldError::InvalidSnowflake);
                }
                *slot = v;
            }
        }
        if let Some(t) = patch.afk_timeout {
            g.afk_timeout = t;
        }
        if let Some(l) = patch.preferred_locale {
            g.preferred_locale = l;
        }
        if let Some(f) = patch.system_channel_flags {
            g.system_channel_flags = f;
        }
        let features_given = patch.features.is_some();
        let mut invites_disabled = self.setup.invites_disabled;
        if let Some(asked) = patch.features {
            let change = features::mutable_features(&self.guild.features, &asked);
            if change.needs_administrator
                && !self
                    .guild_permissions(user)
                    .contains(Permissions::ADMINISTRATOR)
            {
                return Err(ApiError::MissingPermissions);
            }
            invites_disabled = change.invites_disabled;
            g.features = change.features;
            // Discord turns COMMUNITY on only with a rules and an updates channel (given in the
            // same edit or already set), and answers 40006 otherwise; discord.py checks the same.
            let has_community = |f: &[String]| f.iter().any(|x| x == features::COMMUNITY);
            if has_community(&g.features)
                && !has_community(&self.guild.features)
                && (g.rules_channel_id.is_none() || g.public_updates_channel_id.is_none())
            {
                return Err(ApiError::coded(
                    axum::http::StatusCode::FORBIDDEN,
                    40006,
                    "feature-temporarily-disabled",
                ));
            }
            // Invites paused by incident actions still show the feature until they resume.
            setup::set_feature(
                &mut g.features,
                setup::INVITES_DISABLED_FEATURE,
                invites_disabled || self.setup.incidents.invites_disabled_until.is_some(),
            );
        }
        let gate_wanted = g.features.iter().any(|f| f == GATE_FEATURE);
        let gate_flip = features_given && gate_wanted != self.setup.member_verification.enabled;
        if gate_flip && gate_wanted && !self.gate_has_form() {
            errs.add(
                "features",
                FieldError::Choice {
                    allowed:
                        "MEMBER_VERIFICATION_GATE_ENABLED only with a member verification form"
                            .into(),
                },
            );
        }
        if let Some(owner) = patch.owner_id {
            if user != self.guild.owner_id {
                return Err(ApiError::MissingPermissions);
            }
            if !self.members.contains_key(&owner) {
                errs.add("owner_id", FieldError::InvalidSnowflake);
            }
            g.owner_id = owner;
        }
        errs.into_result()?;
        if invites_disabled != self.setup.invites_disabled {
            // The pause is written before the guild shows it, so a crash between the two
            // leaves invites paused without the feature rather than the reverse.
            let mut setup = self.setup.clone();
            setup.invites_disabled = invites_disabled;
            self.services.store.put_guild_setup(&setup).await?;
            self.setup = setup;
        }
        self.services.store.update_guild(&g).await?;
        let owner_changed = g.owner_id != self.guild.owner_id;
        self.guild = g;
        if owner_changed {
            self.invalidate_permissions(None);
        }
        let v = self.guild_json(true);
        self.dispatch("GUILD_UPDATE", &v, None);
        if gate_flip {
            self.follow_gate_feature(user, gate_wanted).await?;
        }
        Ok(v)
    }

    async fn delete(&mut self, user: UserId) -> Result<(), ApiError> {
        self.member_guard(user)?;
        if user != self.guild.owner_id {
            return Err(ApiError::MissingPermissions);
        }
        self.delete_unchecked().await
    }

    /// Deletes the guild, tells its online members and stops its channel actors. Callers check
    /// who may (the owner, or an instance administrator).
    async fn delete_unchecked(&mut self) -> Result<(), ApiError> {
        self.services.store.delete_guild(self.id()).await?;
        self.services
            .index(crate::search::IndexOp::DeleteGuild(self.id()));
        let data = json!({"id": self.id(), "unavailable": false});
        let event = Dispatch::new("GUILD_DELETE", &data, true);
        super::remote::fan_out(|| {
            for s in self.online.values() {
                s.deliver(&event);
            }
        });
        for key in self.online.keys() {
            self.services.sessions.subscriptions.forget(self.id(), *key);
        }
        for id in self.channels.keys() {
            if let Some(actor) = self.services.registry.running_channel(*id) {
                let _ = crate::actors::tell(&actor, ChannelMsg::Deleted);
            }
            self.services.registry.remove_channel(*id);
        }
        self.services.registry.remove_guild(self.id());
        Ok(())
    }

    fn validate_channel_fields(
        &self,
        errs: &mut FieldErrors,
        name: Option<&str>,
        kind: ChannelKind,
        topic: Option<&str>,
        parent: Option<ChannelId>,
    ) {
        let limits = self.services.config.get().limits.channel.clone();
        if let Some(name) = name {
            validate::length(errs, "name", name.trim(), 1, limits.max_name);
        }
        if let Some(topic) = topic {
            validate::max_length(errs, "topic", topic, limits.max_topic);
        }
        if let Some(p) = parent {
            let ok = self
                .channels
                .get(&p)
                .is_some_and(|c| c.kind == ChannelKind::GuildCategory);
            if !ok || kind == ChannelKind::GuildCategory {
                errs.add("parent_id", FieldError::InvalidSnowflake);
            }
        }
    }

    async fn create_channel(
        &mut self,
        user: UserId,
        mut body: ChannelCreate,
    ) -> Result<Value, ApiError> {
        let forum = body.take_forum();
        self.require_guild(user, Permissions::MANAGE_CHANNELS)?;
        let config = self.services.config.get();
        let channels = self.channels.values().filter(|c| !c.kind.is_thread());
        if channels.count() >= config.limits.guild.max_channels as usize {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                30013,
                "max-channels-reached",
            ));
        }
        let mut errs = FieldErrors::default();
        let kind = match ChannelKind::try_from(body.kind.unwrap_or(0)) {
            Ok(k)
                if k.is_guild()
                    && !matches!(
                        k,
                        ChannelKind::AnnouncementThread
                            | ChannelKind::PublicThread
                            | ChannelKind::PrivateThread
                    ) =>
            {
                k
            }
            _ => {
                errs.add(
                    "type",
                    FieldError::Choice {
                        allowed: "0, 2, 4, 5, 13, 14, 15, 16".into(),
                    },
                );
                ChannelKind::GuildText
            }
        };
        let name = body.name.unwrap_or_default();
        if name.trim().is_empty() {
            errs.add("name", FieldError::Required);
        }
        self.validate_channel_fields(
            &mut errs,
            Some(&name),
            kind,
            body.topic.as_deref(),
            body.parent_id,
        );
        errs.into_result()?;
        let mut c = ChannelRecord::new(self.services.ids.next()?, kind, Some(self.id()));
        c.name = Some(if kind == ChannelKind::GuildText {
            name.trim().to_lowercase().replace(' ', "-")
        } else {
            name.trim().to_string()
        });
        c.topic = body.topic;
        c.nsfw = body.nsfw.unwrap_or(false);
        c.rate_limit_per_user = body.rate_limit_per_user.unwrap_or(0).min(21600);
        c.parent_id = body.parent_id;
        c.permission_overwrites = body.permission_overwrites.unwrap_or_default();
        c.position = body
            .position
            .unwrap_or_else(|| self.channels.values().filter(|x| x.kind == kind).count() as i32);
        if matches!(kind, ChannelKind::GuildVoice | ChannelKind::GuildStageVoice) {
            c.bitrate = Some(body.bitrate.unwrap_or(64_000).clamp(8_000, 384_000));
            c.user_limit = Some(body.user_limit.unwrap_or(0).min(99));
        }
        self.apply_forum_fields(&mut c, forum, None)?;
        self.services.store.put_channel(&c).await?;
        let v = c.to_json(None);
        self.channels.insert(c.id, c.clone());
        self.dispatch("CHANNEL_CREATE", &v, Some(c.id));
        Ok(v)
    }

    async fn update_channel(
        &mut self,
        user: UserId,
        id: ChannelId,
        mut patch: ChannelPatch,
    ) -> Result<Value, ApiError> {
        let forum = patch.take_forum();
        self.member_guard(user)?;
        let Some(current) = self.channels.get(&id) else {
            return Err(ApiError::Unknown(Unknown::Channel));
        };
        if current.kind.is_thread() {
            let thread = ThreadPatch {
                archived: patch.archived,
                auto_archive_duration: patch.auto_archive_duration,
                locked: patch.locked,
                invitable: patch.invitable,
                applied_tags: patch.applied_tags,
                flags: patch.flags,
            };
            return self
                .update_thread(user, id, patch.name, patch.rate_limit_per_user, thread)
                .await;
        }
        let perms = self.channel_permissions(user, current);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        require(perms, Permissions::MANAGE_CHANNELS)?;
        if patch.permission_overwrites.is_some() {
            require(perms, Permissions::MANAGE_ROLES)?;
        }
        let mut c = current.clone();
        let mut errs = FieldErrors::default();
        let parent = patch.parent_id.flatten();
        self.validate_channel_fields(
            &mut errs,
            patch.name.as_deref(),
            c.kind,
            patch.topic.as_ref().and_then(|t| t.as_deref()),
            parent,
        );
        let text_or_news =
            |k: ChannelKind| matches!(k, ChannelKind::GuildText | ChannelKind::GuildAnnouncement);
        let kind = match patch.kind.map(ChannelKind::try_from) {
            None => c.kind,
            Some(Ok(k)) if k == c.kind || text_or_news(k) && text_or_news(c.kind) => k,
            Some(_) => {
                errs.add(
                    "type",
                    FieldError::Choice {
                        allowed: "0, 5".into(),
                    },
                );
                c.kind
            }
        };
        errs.into_result()?;
        c.kind = kind;
        if let Some(n) = patch.name {
            c.name = Some(n.trim().to_string());
        }
        if let Some(t) = patch.topic {
            c.topic = t;
        }
        if let Some(p) = patch.position {
            c.position = p;
        }
        if let Some(n) = patch.nsfw {
            c.nsfw = n;
        }
        if let Some(r) = patch.rate_limit_per_user {
            c.rate_limit_per_user = r.min(21600);
        }
        if let Some(b) = patch.bitrate {
            c.bitrate = Some(b.clamp(8_000, 384_000));
        }
        if let Some(u) = patch.user_limit {
            c.user_limit = Some(u.min(99));
        }
        let overwrites_changed = patch.permission_overwrites.is_some();
        if let Some(o) = patch.permission_overwrites {
            c.permission_overwrites = o;
        }
        if let Some(p) = patch.parent_id {
            c.parent_id = p;
        }
        self.apply_forum_fields(&mut c, forum, patch.flags)?;
        self.services.store.put_channel(&c).await?;
        let v = c.to_json(None);
        self.channels.insert(id, c.clone());
        if let Some(actor) = self.services.registry.running_channel(id) {
            let _ = crate::actors::tell(&actor, ChannelMsg::Updated(Box::new(c)));
            if overwrites_changed {
                let _ = crate::actors::tell(&actor, ChannelMsg::InvalidatePermissions(None));
            }
        }
        self.dispatch("CHANNEL_UPDATE", &v, None);
        Ok(v)
    }

    async fn delete_channel(&mut self, user: UserId, id: ChannelId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let Some(current) = self.channels.get(&id) else {
            return Err(ApiError::Unknown(Unknown::Channel));
        };
        if current.kind.is_thread() {
            return self.delete_thread(user, id).await;
        }
        let perms = self.channel_permissions(user, current);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        require(perms, Permissions::MANAGE_CHANNELS)?;
        // Its threads go with it, as on Discord.
        let threads: Vec<ChannelId> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && c.parent_id == Some(id))
            .map(|c| c.id)
            .collect();
        for t in threads {
            self.remove_thread(t).await?;
        }
        self.services.store.delete_channel(id).await?;
        self.services
            .index(crate::search::IndexOp::DeleteChannel(id));
        self.delete_channel_events(id).await?;
        self.channel_gone_from_voice(id);
        if self
            .setup
            .stage_instances
            .iter()
            .any(|s| s.channel_id == id)
        {
            self.close_stage(id).await?;
        }
        let Some(current) = self.channels.get(&id) else {
            return Err(ApiError::Unknown(Unknown::Channel));
        };
        let v = current.to_json(None);
        // Announce before removing, so the permission check for recipients still sees it.
        self.dispatch("CHANNEL_DELETE", &v, Some(id));
        self.channels.remove(&id);
        for c in self
            .channels
            .values_mut()
            .filter(|c| c.parent_id == Some(id))
        {
            c.parent_id = None;
            self.services.store.put_channel(c).await?;
        }
        if let Some(actor) = self.services.registry.running_channel(id) {
            let _ = crate::actors::tell(&actor, ChannelMsg::Deleted);
        }
        self.services.registry.remove_channel(id);
        Ok(v)
    }

    async fn join(&mut self, user: UserId) -> Result<Value, ApiError> {
        if self.bans.contains_key(&user) {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                40007,
                "banned-from-guild",
            ));
        }
        if self.invites_paused() && !self.members.contains_key(&user) {
            // Incident actions: no new members through invites until the pause ends.
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                0,
                "invites-paused",
            ));
        }
        if let Some(m) = self.members.get(&user) {
            return self.member_json(m).await;
        }
        self.admit(MemberRecord::new(self.id(), user)).await
    }

    /// The bot `by` adds `user` (who granted its application `guilds.join`), with the nick,
    /// roles and voice state the bot may set. `None` if `user` already is a member.
    async fn add_member(
        &mut self,
        by: UserId,
        user: UserId,
        granted: bool,
        fields: NewMemberFields,
    ) -> Result<Option<Value>, ApiError> {
        self.require_guild(by, Permissions::CREATE_INSTANT_INVITE)?;
        if !granted {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                50025,
                "invalid-oauth-token",
            ));
        }
        if self.members.contains_key(&user) {
            return Ok(None);
        }
        if self.bans.contains_key(&user) {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                40007,
                "banned-from-guild",
            ));
        }
        let perms = self.guild_permissions(by);
        let mut m = MemberRecord::new(self.id(), user);
        let mut errs = FieldErrors::default();
        if let Some(nick) = fields.nick.filter(|n| !n.is_empty()) {
            require(perms, Permissions::MANAGE_NICKNAMES)?;
            validate::max_length(&mut errs, "nick", &nick, 32);
            m.nick = Some(nick);
        }
        if let Some(mut roles) = fields.roles.filter(|r| !r.is_empty()) {
            require(perms, Permissions::MANAGE_ROLES)?;
            let mine = self.top_rank(by);
            for (i, r) in roles.iter().enumerate() {
                match self.roles.iter().find(|x| x.id == *r) {
                    None => errs.add(&format!("roles.{i}"), FieldError::InvalidSnowflake),
                    // Managed roles belong to their integration; higher ones are out of reach.
                    Some(role) if role.managed || role_rank(role) >= mine => {
                        return Err(ApiError::MissingPermissions);
                    }
                    _ => {}
                }
            }
            roles.retain(|r| *r != self.id().everyone_role());
            roles.sort_unstable();
            roles.dedup();
            m.roles = roles;
        }
        if let Some(mute) = fields.mute {
            require(perms, Permissions::MUTE_MEMBERS)?;
            m.mute = mute;
        }
        if let Some(deaf) = fields.deaf {
            require(perms, Permissions::DEAFEN_MEMBERS)?;
            m.deaf = deaf;
        }
        errs.into_result()?;
        self.admit(m).await.map(Some)
    }

    /// A new member enters: the instance's and the guild's limits, then persisted, announced
    /// (GUILD_MEMBER_ADD) and subscribed, as any join.
    async fn admit(&mut self, mut member: MemberRecord) -> Result<Value, ApiError> {
        let user = member.user_id;
        if self.gate_applies(user).await? {
            // Member verification: in, but pending until the form is submitted (and, when it
            // asks more than terms, a moderator approves).
            member.pending = true;
        }
        let config = self.services.config.get();
        let mine = self.services.store.guilds_of_user(user).await?;
        if mine.len() >= config.limits.user.max_guilds as usize {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                30001,
                "max-guilds-reached",
            ));
        }
        if config.limits.guild.max_members > 0
            && self.members.len() >= config.limits.guild.max_members as usize
        {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                30001,
                "max-guilds-reached",
            ));
        }
        // Profile rules judge the newcomer before the member is written: a quarantine is in
        // the member from their first moment.
        let verdict = if self.profile_check_needed(&member) {
            let public = self.services.users.public(user).await?;
            Some(self.judge_profile(&mut member, &public))
        } else {
            None
        };
        self.services.store.put_member(&member).await?;
        self.members.insert(user, member.clone());
        // Channel actors may have cached "not a member" for this user.
        self.invalidate_permissions(Some(user));
        let mut v = self.member_json(&member).await?;
        if let Some(o) = v.as_object_mut() {
            o.insert("guild_id".into(), json!(self.id()));
        }
        self.dispatch_member("GUILD_MEMBER_ADD", &v, user);
        self.subscribe_user(user).await;
        if let Some(verdict) = verdict {
            self.execute_profile(user, verdict).await;
        }
        Ok(v)
    }

    async fn add_bot(
        &mut self,
        by: UserId,
        bot: UserId,
        name: String,
        permissions: Permissions,
    ) -> Result<(), ApiError> {
        self.require_guild(by, Permissions::MANAGE_GUILD)?;
        // The inviter cannot hand out permissions they don't have.
        require(self.guild_permissions(by), permissions)?;
        if self.members.contains_key(&bot) {
            return Ok(());
        }
        self.join(bot).await?;
        if permissions.is_empty() {
            return Ok(());
        }
        let role = Role {
            id: self.services.ids.next()?,
            name: name.chars().take(100).collect(),
            color: 0,
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position: 1,
            permissions,
            managed: true,
            mentionable: false,
            flags: 0,
            tags: Some(json!({"bot_id": bot})),
        };
        self.services.store.put_role(self.id(), &role).await?;
        self.roles.push(role.clone());
        self.dispatch(
            "GUILD_ROLE_CREATE",
            &json!({"guild_id": self.id(), "role": role}),
            None,
        );
        if let Some(mut m) = self.members.get(&bot).cloned() {
            m.roles.push(role.id);
            self.services.store.put_member(&m).await?;
            self.members.insert(bot, m.clone());
            self.invalidate_permissions(Some(bot));
            let mut v = self.member_json(&m).await?;
            v["guild_id"] = json!(self.id());
            self.dispatch_member("GUILD_MEMBER_UPDATE", &v, bot);
        }
        Ok(())
    }

    async fn remove_member(
        &mut self,
        by: UserId,
        target: UserId,
        ban: Option<BanRecord>,
    ) -> Result<(), ApiError> {
        self.member_guard(by)?;
        if by == target {
            if target == self.guild.owner_id {
                return Err(ApiError::coded(
                    axum::http::StatusCode::BAD_REQUEST,
                    50055,
                    "owner-cannot-leave",
                ));
            }
        } else {
            let need = if ban.is_some() {
                Permissions::BAN_MEMBERS
            } else {
                Permissions::KICK_MEMBERS
            };
            require(self.guild_permissions(by), need)?;
            if target == self.guild.owner_id || self.top_rank(target) >= self.top_rank(by) {
                return Err(ApiError::MissingPermissions);
            }
        }
        if let Some(b) = &ban {
            self.services.store.put_ban(b).await?;
            self.bans.insert(b.user_id, b.clone());
        }
        if !self.members.contains_key(&target) {
            return if ban.is_some() {
                Ok(())
            } else {
                Err(ApiError::Unknown(Unknown::Member))
            };
        }
        self.services.store.delete_member(self.id(), target).await?;
        // Out of voice first, while the member is still there to be shown.
        self.leave_voice(target);
        self.members.remove(&target);
        // A bot that leaves (kicked, banned) takes its integration with it, as on Discord.
        self.drop_integrations_of(target).await?;
        let user = self.services.users.public(target).await?;
        self.dispatch_member(
            "GUILD_MEMBER_REMOVE",
            &json!({"guild_id": self.id(), "user": user}),
            target,
        );
        // The removed user's sessions stop receiving this guild and learn it is gone.
        let gone = Dispatch::new("GUILD_DELETE", &json!({"id": self.id()}), true);
        let keys: Vec<SessionKey> = self
            .online
            .iter()
            .filter(|(_, s)| s.user_id == target)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            if let Some(s) = self.online.remove(&k) {
                self.services.sessions.subscriptions.forget(self.id(), k);
                s.deliver(&gone);
            }
        }
        self.invalidate_permissions(Some(target));
        // Leaving the guild leaves its threads too, as on Discord.
        self.leave_all_threads(target).await?;
        // And withdraws a join request awaiting review.
        self.withdraw_requests_of(target).await?;
        Ok(())
    }

    async fn list_members(&self, limit: usize, after: UserId) -> Result<Value, ApiError> {
        let mut ids: Vec<UserId> = self
            .members
            .keys()
            .copied()
            .filter(|id| *id > after)
            .collect();
        ids.sort();
        ids.truncate(limit.clamp(1, 1000));
        let users = self.services.users.public_many(&ids).await?;
        Ok(Value::Array(
            users
                .iter()
                .filter_map(|u| self.members.get(&u.id).map(|m| m.to_json(u)))
                .collect(),
        ))
    }

    /// [`Self::update_member`], answered, then recorded in the audit log when it changed anything.
    async fn update_member_audited(
        &mut self,
        by: UserId,
        target: UserId,
        patch: MemberPatch,
        r: Reply<Value>,
    ) {
        let action = if patch.roles.is_some() {
            audit::MEMBER_ROLE_UPDATE
        } else {
            audit::MEMBER_UPDATE
        };
        let before = self.member_value(target);
        let v = self.update_member(by, target, patch).await;
        let ok = v.is_ok();
        reply(r, v);
        if ok {
            let after = self.member_value(target);
            if before != after {
                let t = Some(target.snowflake());
                self.audit_change(by, action, t, before, after).await;
            }
        }
    }

    async fn update_member(
        &mut self,
        by: UserId,
        target: UserId,
        patch: MemberPatch,
    ) -> Result<Value, ApiError> {
        self.member_guard(by)?;
        let Some(mut m) = self.members.get(&target).cloned() else {
            return Err(ApiError::Unknown(Unknown::Member));
        };
        let perms = self.guild_permissions(by);
        let mut errs = FieldErrors::default();
        let nick_changed = patch.nick.is_some();
        if let Some(nick) = patch.nick {
            let need = if by == target {
                Permissions::CHANGE_NICKNAME
            } else {
                Permissions::MANAGE_NICKNAMES
            };
            require(perms, need)?;
            if let Some(n) = &nick {
                validate::max_length(&mut errs, "nick", n, 32);
            }
            m.nick = nick.filter(|n| !n.is_empty());
        }
        let roles_changed = patch.roles.is_some();
        if let Some(roles) = patch.roles {
            require(perms, Permissions::MANAGE_ROLES)?;
            let mine = self.top_rank(by);
            for (i, r) in roles.iter().enumerate() {
                match self.roles.iter().find(|x| x.id == *r) {
                    None => errs.add(&format!("roles.{i}"), FieldError::InvalidSnowflake),
                    Some(role) if role_rank(role) >= mine && !m.roles.contains(r) => {
                        return Err(ApiError::MissingPermissions);
                    }
                    _ => {}
                }
            }
            let mut roles = roles;
            roles.retain(|r| *r != self.id().everyone_role());
            roles.dedup();
            m.roles = roles;
        }
        if let Some(mute) = patch.mute {
            require(perms, Permissions::MUTE_MEMBERS)?;
            m.mute = mute;
        }
        if let Some(deaf) = patch.deaf {
            require(perms, Permissions::DEAFEN_MEMBERS)?;
            m.deaf = deaf;
        }
        let timeout_changed = patch.communication_disabled_until.is_some();
        if let Some(until) = patch.communication_disabled_until {
            require(perms, Permissions::MODERATE_MEMBERS)?;
            if target == self.guild.owner_id {
                return Err(ApiError::MissingPermissions);
            }
            m.communication_disabled_until = until;
        }
        errs.into_result()?;
        // A new nickname (or roles, which may exempt) is judged by the profile rules before
        // the member is written.
        let verdict = if (nick_changed || roles_changed) && self.profile_check_needed(&m) {
            let public = self.services.users.public(target).await?;
            Some(self.judge_profile(&mut m, &public))
        } else {
            None
        };
        let flag_changed = verdict.as_ref().is_some_and(|v| v.flag_changed);
        self.services.store.put_member(&m).await?;
        self.members.insert(target, m.clone());
        if roles_changed || timeout_changed || flag_changed {
            self.invalidate_permissions(Some(target));
        }
        let mut v = self.member_json(&m).await?;
        if let Some(o) = v.as_object_mut() {
            o.insert("guild_id".into(), json!(self.id()));
        }
        self.dispatch_member("GUILD_MEMBER_UPDATE", &v, target);
        // Actions run for a nickname the member (or a moderator) just chose, and for a
        // quarantine that roles alone brought on.
        if let Some(verdict) = verdict
            && (nick_changed || !verdict.was_quarantined)
        {
            self.execute_profile(target, verdict).await;
        }
        Ok(v)
    }

    fn apply_role_patch(&self, role: &mut Role, body: RolePatch, errs: &mut FieldErrors) {
        if let Some(n) = body.name {
            validate::length(errs, "name", &n, 1, 100);
            role.name = n;
        }
        if let Some(p) = body.permissions {
            role.permissions = p;
        }
        if let Some(c) = body
            .color
            .or_else(|| body.colors.as_ref().and_then(|c| c.primary_color))
        {
            role.color = c & 0xff_ffff;
        }
        if let Some(h) = body.hoist {
            role.hoist = h;
        }
        if let Some(m) = body.mentionable {
            role.mentionable = m;
        }
        if let Some(p) = body.position {
            role.position = p.max(1);
        }
        if let Some(e) = body.unicode_emoji {
            role.unicode_emoji = e;
        }
    }

    async fn create_role(&mut self, user: UserId, body: RolePatch) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_ROLES)?;
        if self.roles.len() >= self.services.config.get().limits.guild.max_roles as usize {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                30005,
                "max-roles-reached",
            ));
        }
        let mine = self.guild_permissions(user);
        if body.permissions.is_some_and(|p| !mine.contains(p)) {
            return Err(ApiError::MissingPermissions);
        }
        let mut role = Role {
            id: self.services.ids.next()?,
            name: "new role".into(),
            color: 0,
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position: 1,
            permissions: Permissions::empty(),
            managed: false,
            mentionable: false,
            flags: 0,
            tags: None,
        };
        let mut errs = FieldErrors::default();
        self.apply_role_patch(&mut role, body, &mut errs);
        errs.into_result()?;
        self.services.store.put_role(self.id(), &role).await?;
        self.roles.push(role.clone());
        let v = json!(role);
        self.dispatch(
            "GUILD_ROLE_CREATE",
            &json!({"guild_id": self.id(), "role": v}),
            None,
        );
        Ok(v)
    }

    async fn update_role(
        &mut self,
        user: UserId,
        id: RoleId,
        body: RolePatch,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_ROLES)?;
        let Some(mut role) = self.roles.iter().find(|r| r.id == id).cloned() else {
            return Err(ApiError::Unknown(Unknown::Role));
        };
        if id != self.id().everyone_role() && role_rank(&role) >= self.top_rank(user) {
            return Err(ApiError::MissingPermissions);
        }
        if body
            .permissions
            .is_some_and(|p| !self.guild_permissions(user).contains(p))
        {
            return Err(ApiError::MissingPermissions);
        }
        let mut errs = FieldErrors::default();
        let is_everyone = id == self.id().everyone_role();
        self.apply_role_patch(&mut role, body, &mut errs);
        if is_everyone {
            role.position = 0;
            role.name = "@everyone".into();
        }
        errs.into_result()?;
        self.services.store.put_role(self.id(), &role).await?;
        if let Some(slot) = self.roles.iter_mut().find(|r| r.id == id) {
            *slot = role.clone();
        }
        self.invalidate_permissions(None);
        let v = json!(role);
        self.dispatch(
            "GUILD_ROLE_UPDATE",
            &json!({"guild_id": self.id(), "role": v}),
            None,
        );
        Ok(v)
    }

    async fn delete_role(&mut self, user: UserId, id: RoleId) -> Result<(), ApiError> {
        self.require_guild(user, Permissions::MANAGE_ROLES)?;
        if id == self.id().everyone_role() {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                50028,
                "unknown-role",
            ));
        }
        let Some(role) = self.roles.iter().find(|r| r.id == id) else {
            return Err(ApiError::Unknown(Unknown::Role));
        };
        if role_rank(role) >= self.top_rank(user) {
            return Err(ApiError::MissingPermissions);
        }
        self.services.store.delete_role(self.id(), id).await?;
        self.roles.retain(|r| r.id != id);
        let affected: Vec<UserId> = self
            .members
            .values()
            .filter(|m| m.roles.contains(&id))
            .map(|m| m.user_id)
            .collect();
        for u in affected {
            if let Some(m) = self.members.get_mut(&u) {
                m.roles.retain(|r| *r != id);
                self.services.store.put_member(m).await?;
            }
        }
        self.invalidate_permissions(None);
        self.dispatch(
            "GUILD_ROLE_DELETE",
            &json!({"guild_id": self.id(), "role_id": id}),
            None,
        );
        Ok(())
    }

    async fn ban(
        &mut self,
        by: UserId,
        target: UserId,
        reason: Option<String>,
    ) -> Result<(), ApiError> {
        let ban = BanRecord {
            guild_id: self.id(),
            user_id: target,
            reason,
        };
        if by == target {
            return Err(ApiError::MissingPermissions);
        }
        self.remove_member(by, target, Some(ban)).await?;
        let user = self.services.users.public(target).await?;
        self.dispatch(
            "GUILD_BAN_ADD",
            &json!({"guild_id": self.id(), "user": user}),
            None,
        );
        Ok(())
    }

    async fn unban(&mut self, by: UserId, target: UserId) -> Result<(), ApiError> {
        self.require_guild(by, Permissions::BAN_MEMBERS)?;
        if self.bans.remove(&target).is_none() {
            return Err(ApiError::Unknown(Unknown::Ban));
        }
        self.services.store.delete_ban(self.id(), target).await?;
        let user = self.services.users.public(target).await?;
        self.dispatch(
            "GUILD_BAN_REMOVE",
            &json!({"guild_id": self.id(), "user": user}),
            None,
        );
        Ok(())
    }

    async fn list_bans(&self) -> Result<Value, ApiError> {
        let ids: Vec<UserId> = self.bans.keys().copied().collect();
        let users = self.services.users.public_many(&ids).await?;
        Ok(Value::Array(
            users
                .into_iter()
                .map(|u| json!({"reason": self.bans.get(&u.id).and_then(|b| b.reason.clone()), "user": u}))
                .collect(),
        ))
    }
}

/// Builds a new guild's initial state (owner member, @everyone, default channels or the given
/// ones, whose `parent_id`s may refer to each other as `1..n` in list order). The full form, with
/// roles and settings, is [`blueprint::build`].
pub fn new_guild_state(
    services: &Services,
    owner: UserId,
    name: String,
    icon: Option<String>,
    channels: Vec<ChannelCreate>,
) -> Result<GuildState, crate::id::IdsUnavailable> {
    let channels = channels
        .into_iter()
        .enumerate()
        .map(|(i, channel)| ChannelCreateWithId {
            id: Some(Snowflake::new(i as u64 + 1)),
            channel,
        })
        .collect();
    let mut state = blueprint::build(
        services,
        owner,
        GuildBlueprint {
            name,
            channels,
            ..GuildBlueprint::default()
        },
    )?;
    state.guild.icon = icon;
    Ok(state)
}
