//! `GET /api/openapi.json` (and `/api/v{6..10}/openapi.json`): an OpenAPI 3.1 description of
//! every REST route: path, method, summary, tag, authentication, path parameters and, for the
//! routes that take one, the request body.
//!
//! **Why a hand-written table and not utoipa.** utoipa would need a `#[utoipa::path(...)]`
//! attribute on every handler (about 140, in files several people edit at once), `ToSchema`
//! derives on every body and on the id newtypes, and a proc-macro build on a two-core machine;
//! and it would still not notice a handler nobody annotated. Here each route is one row of
//! [`TAGS`] (method, path, summary, auth, optional body schema), grouped by tag, and turned into
//! JSON with `serde_json`. What keeps the rows honest is the drift test below: it reads the
//! `.route("…", get(…).post(…))` registrations in `src/api/routes/**/*.rs` with a small Rust
//! tokenizer (so rustfmt's line breaks, comments and `axum::routing::patch(...)` forms don't
//! matter) and fails, listing each side's extras, when the registered (method, path) pairs and
//! the table differ. It also checks each row's auth and body against its handler's signature
//! (a `Caller` extractor means a token is required, a `Json` extractor means a body).
//!
//! Tags follow the route modules of `src/api/routes/` (the top-level resources): a route is
//! tagged like the module that registers it, so `/channels/{id}/webhooks` is under `webhooks`.
//! Response schemas: Discord's, vendored, for the operations we share with it (see
//! [`responses`]); errors are Discord's error object.
//! Body schemas are deliberately coarse: the main ones (register, login, guild, channel and
//! message create, webhook execute) list their key properties, the others are `type: object`.

use std::collections::HashSet;

use axum::extract::{OriginalUri, State};
use serde_json::{Map, Value, json};

use crate::api::extract::Json;
use crate::app::App;

/// An HTTP method as routes register it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The lowercase name OpenAPI uses as the operation key.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header (public, or the secret is in the path, as for webhook tokens).
    None,
    /// A user token, or `Bot <token>`.
    Token,
    /// A token of an instance admin.
    Admin,
}

/// The request body a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Register,
    Login,
    GuildCreate,
    ChannelCreate,
    /// JSON, or `multipart/form-data` with `payload_json` and `files[n]`.
    MessageCreate,
    /// Like [`Body::MessageCreate`], plus `username`/`avatar_url`.
    WebhookExecute,
    /// `multipart/form-data` only: `name`, `description`, `tags` and the sticker `file`.
    StickerCreate,
    /// `multipart/form-data` only: one `file` (an application's attachment upload).
    FileUpload,
    /// `multipart/form-data` only: `target_users_file`, a CSV file of user ids.
    TargetUsersFile,
    /// Some JSON object (not described further).
    Object,
    /// A JSON array of objects (the reorder routes).
    Array,
    /// `application/x-www-form-urlencoded` (the OAuth2 token endpoint, as RFC 6749 has it).
    Form,
}

impl Body {
    fn schema_name(self) -> Option<&'static str> {
        match self {
            Body::Register => Some("RegisterBody"),
            Body::Login => Some("LoginBody"),
            Body::GuildCreate => Some("GuildCreate"),
            Body::ChannelCreate => Some("ChannelCreate"),
            Body::MessageCreate => Some("MessageCreate"),
            Body::WebhookExecute => Some("WebhookExecute"),
            Body::StickerCreate => Some("StickerMultipart"),
            Body::FileUpload => Some("FileMultipart"),
            Body::TargetUsersFile => Some("TargetUsersMultipart"),
            Body::Object | Body::Array | Body::Form => None,
        }
    }

    fn request_body(self) -> Value {
        let schema = match (self.schema_name(), self) {
            (Some(name), _) => json!({"$ref": format!("#/components/schemas/{name}")}),
            (None, Body::Array) => json!({"type": "array", "items": {"type": "object"}}),
            (None, _) => json!({"type": "object"}),
        };
        let mut content = Map::new();
        if matches!(
            self,
            Body::StickerCreate | Body::FileUpload | Body::TargetUsersFile
        ) {
            content.insert("multipart/form-data".into(), json!({"schema": schema}));
            return json!({"required": true, "content": content});
        }
        if self == Body::Form {
            content.insert(
                "application/x-www-form-urlencoded".into(),
                json!({"schema": schema}),
            );
            return json!({"required": true, "content": content});
        }
        content.insert("application/json".into(), json!({"schema": schema}));
        if matches!(self, Body::MessageCreate | Body::WebhookExecute) {
            content.insert(
                "multipart/form-data".into(),
                json!({"schema": {"$ref": "#/components/schemas/MessageMultipart"}}),
            );
        }
        json!({"required": true, "content": content})
    }
}

/// One REST route: one row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// As registered with axum (relative to `/api`), `{param}` style as OpenAPI's.
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub body: Option<Body>,
}

impl Route {
    const fn new(method: Method, path: &'static str, summary: &'static str) -> Route {
        Route {
            method,
            path,
            summary,
            auth: Auth::Token,
            body: None,
        }
    }

    /// Needs no `Authorization` header.
    const fn open(mut self) -> Route {
        self.auth = Auth::None;
        self
    }

    /// Instance admins only.
    const fn admin(mut self) -> Route {
        self.auth = Auth::Admin;
        self
    }

    const fn body(mut self, body: Body) -> Route {
        self.body = Some(body);
        self
    }
}

const fn get(path: &'static str, summary: &'static str) -> Route {
    Route::new(Method::Get, path, summary)
}
const fn post(path: &'static str, summary: &'static str) -> Route {
    Route::new(Method::Post, path, summary)
}
const fn put(path: &'static str, summary: &'static str) -> Route {
    Route::new(Method::Put, path, summary)
}
const fn patch(path: &'static str, summary: &'static str) -> Route {
    Route::new(Method::Patch, path, summary)
}
const fn delete(path: &'static str, summary: &'static str) -> Route {
    Route::new(Method::Delete, path, summary)
}

/// A tag (top-level resource) and its routes.
pub struct Tag {
    pub name: &'static str,
    pub description: &'static str,
    pub routes: &'static [Route],
}

use Body::{Array, FileUpload, Form, Object};

/// Every REST route, by tag. The drift test fails when this and the router disagree.
pub const TAGS: &[Tag] = &[
    Tag {
        name: "auth",
        description: "Registration, login and logout",
        routes: &[
            post("/auth/register", "Register an account and get its token")
                .open()
                .body(Body::Register),
            post(
                "/auth/login",
                "Log in with email (or username) and password",
            )
            .open()
            .body(Body::Login),
            post("/auth/logout", "Revoke the current token"),
            get(
                "/auth/location-metadata",
                "Consent requirements shown before registering",
            )
            .open(),
        ],
    },
    Tag {
        name: "users",
        description: "The current user, other users, DMs, relationships and settings",
        routes: &[
            get("/users/@me", "Get the current user"),
            patch("/users/@me", "Modify the current user").body(Object),
            get("/users/@me/guilds", "List the current user's guilds"),
            delete("/users/@me/guilds/{guild_id}", "Leave a guild"),
            get(
                "/users/@me/guilds/{guild_id}/member",
                "Get the current user's member object in a guild",
            ),
            get(
                "/users/@me/channels",
                "List the current user's DMs and group DMs",
            ),
            post("/users/@me/channels", "Open a DM or create a group DM").body(Object),
            get("/users/{user_id}", "Get a user"),
            get(
                "/users/{user_id}/profile",
                "Get a user's profile and mutual guilds (`@me` for oneself)",
            ),
            get(
                "/users/@me/relationships",
                "List friends, blocks and requests",
            ),
            post(
                "/users/@me/relationships",
                "Send a friend request by username",
            )
            .body(Object),
            put(
                "/users/@me/relationships/{user_id}",
                "Add a friend, accept a request or block a user",
            )
            .body(Object),
            delete(
                "/users/@me/relationships/{user_id}",
                "Remove a friend, a request or a block",
            ),
            get("/users/@me/settings", "Get the current user's settings"),
            patch("/users/@me/settings", "Modify the current user's settings").body(Object),
            get(
                "/users/@me/connections",
                "List the current user's connected accounts",
            ),
            patch(
                "/users/@me/connections/{connection_type}/{connection_id}",
                "Modify a connected account (visibility, activity, friend sync)",
            )
            .body(Object),
            delete(
                "/users/@me/connections/{connection_type}/{connection_id}",
                "Remove a connected account",
            ),
            get(
                "/users/@me/affinities/users",
                "Users the current user interacts with most (none are recorded)",
            ),
            get(
                "/users/@me/affinities/guilds",
                "Guilds the current user interacts with most (none are recorded)",
            ),
            get(
                "/users/@me/billing/country-code",
                "The country the client prices things in",
            ),
            get(
                "/users/@me/billing/location-info",
                "The country the client prices things in",
            ),
            get(
                "/users/@me/billing/payment-sources",
                "Payment sources (none: nothing is sold)",
            ),
            get(
                "/users/@me/billing/subscriptions",
                "Subscriptions (none: nothing is sold)",
            ),
            get("/users/@me/library", "Owned library applications (none)"),
            get("/users/@me/consent", "The current user's data-use consents"),
            post("/users/@me/consent", "Grant or revoke data-use consents").body(Object),
            get("/users/@me/entitlements", "Owned entitlements (none)"),
        ],
    },
    Tag {
        name: "guilds",
        description: "Guilds, members, roles, bans, emojis, stickers, templates and guild settings",
        routes: &[
            post("/guilds", "Create a guild").body(Body::GuildCreate),
            get("/guilds/{guild_id}", "Get a guild"),
            patch("/guilds/{guild_id}", "Modify a guild").body(Object),
            delete("/guilds/{guild_id}", "Delete a guild (owner only)"),
            post(
                "/guilds/{guild_id}/delete",
                "Delete a guild (owner only; the client's form)",
            ),
            get("/guilds/{guild_id}/channels", "List a guild's channels"),
            post("/guilds/{guild_id}/channels", "Create a guild channel").body(Body::ChannelCreate),
            patch(
                "/guilds/{guild_id}/channels",
                "Reorder or re-parent guild channels",
            )
            .body(Array),
            get("/guilds/{guild_id}/members", "List guild members"),
            get(
                "/guilds/{guild_id}/members/search",
                "Search guild members by name",
            ),
            patch(
                "/guilds/{guild_id}/members/@me",
                "Modify the current member (nickname)",
            )
            .body(Object),
            get("/guilds/{guild_id}/members/{user_id}", "Get a guild member"),
            patch(
                "/guilds/{guild_id}/members/{user_id}",
                "Modify a guild member",
            )
            .body(Object),
            put(
                "/guilds/{guild_id}/members/{user_id}",
                "Add a user to the guild with their OAuth2 guilds.join grant",
            )
            .body(Object),
            delete("/guilds/{guild_id}/members/{user_id}", "Kick a member"),
            put(
                "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                "Give a member a role",
            ),
            delete(
                "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                "Take a role from a member",
            ),
            get("/guilds/{guild_id}/roles", "List a guild's roles"),
            post("/guilds/{guild_id}/roles", "Create a role").body(Object),
            patch("/guilds/{guild_id}/roles", "Reorder roles").body(Array),
            get(
                "/guilds/{guild_id}/roles/member-counts",
                "Count each role's members",
            ),
            get("/guilds/{guild_id}/roles/{role_id}", "Get a role"),
            patch("/guilds/{guild_id}/roles/{role_id}", "Modify a role").body(Object),
            delete("/guilds/{guild_id}/roles/{role_id}", "Delete a role"),
            get("/guilds/{guild_id}/bans", "List a guild's bans"),
            post("/guilds/{guild_id}/bulk-ban", "Ban up to 200 users at once").body(Object),
            get("/guilds/{guild_id}/bans/{user_id}", "Get a ban"),
            put("/guilds/{guild_id}/bans/{user_id}", "Ban a user").body(Object),
            delete("/guilds/{guild_id}/bans/{user_id}", "Lift a ban"),
            get("/guilds/{guild_id}/emojis", "List a guild's emojis"),
            post("/guilds/{guild_id}/emojis", "Create an emoji").body(Object),
            get("/guilds/{guild_id}/emojis/{emoji_id}", "Get an emoji"),
            patch("/guilds/{guild_id}/emojis/{emoji_id}", "Modify an emoji").body(Object),
            delete("/guilds/{guild_id}/emojis/{emoji_id}", "Delete an emoji"),
            get("/guilds/{guild_id}/stickers", "List a guild's stickers"),
            post("/guilds/{guild_id}/stickers", "Upload a sticker").body(Body::StickerCreate),
            get(
                "/guilds/{guild_id}/stickers/{sticker_id}",
                "Get a guild sticker",
            ),
            patch(
                "/guilds/{guild_id}/stickers/{sticker_id}",
                "Modify a guild sticker",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/stickers/{sticker_id}",
                "Delete a guild sticker",
            ),
            get(
                "/guilds/{guild_id}/soundboard-sounds",
                "List a guild's soundboard sounds",
            ),
            post(
                "/guilds/{guild_id}/soundboard-sounds",
                "Upload a soundboard sound",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/soundboard-sounds/{sound_id}",
                "Get a soundboard sound",
            ),
            patch(
                "/guilds/{guild_id}/soundboard-sounds/{sound_id}",
                "Modify a soundboard sound",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/soundboard-sounds/{sound_id}",
                "Delete a soundboard sound",
            ),
            get(
                "/guilds/{guild_id}/threads/active",
                "List a guild's active threads",
            ),
            get(
                "/guilds/{guild_id}/messages/search",
                "Search a guild's messages (content, authors, mentions, has, channels, dates)",
            ),
            get(
                "/guilds/{guild_id}/scheduled-events",
                "List a guild's scheduled events",
            ),
            post(
                "/guilds/{guild_id}/scheduled-events",
                "Create a scheduled event",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
                "Get a scheduled event",
            ),
            patch(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
                "Modify a scheduled event",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
                "Delete a scheduled event",
            ),
            get(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users",
                "List a scheduled event's subscribers",
            ),
            put(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/@me",
                "Subscribe to a scheduled event",
            ),
            delete(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/@me",
                "Unsubscribe from a scheduled event",
            ),
            get(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/counts",
                "Count a scheduled event's subscribers, per occurrence too",
            ),
            post(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions",
                "Move or cancel one occurrence of a recurring scheduled event",
            )
            .body(Object),
            patch(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions/{exception_id}",
                "Modify a recurrence exception",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions/{exception_id}",
                "Delete a recurrence exception",
            ),
            get(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users",
                "List the users interested in one occurrence",
            ),
            put(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users/@me",
                "Answer for one occurrence of a recurring scheduled event",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users/@me",
                "Forget one's answer for one occurrence",
            ),
            get(
                "/guilds/{guild_id}/auto-moderation/rules",
                "List the guild's auto-moderation rules",
            ),
            post(
                "/guilds/{guild_id}/auto-moderation/rules",
                "Create an auto-moderation rule",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
                "Get an auto-moderation rule",
            ),
            patch(
                "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
                "Modify an auto-moderation rule",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
                "Delete an auto-moderation rule",
            ),
            get(
                "/guilds/{guild_id}/audit-logs",
                "Read the guild's audit log",
            ),
            get("/guilds/{guild_id}/preview", "Get a guild's public preview"),
            get(
                "/guilds/{guild_id}/prune",
                "Count the members a prune would remove",
            ),
            post("/guilds/{guild_id}/prune", "Prune inactive members").body(Object),
            get(
                "/guilds/{guild_id}/regions",
                "List the guild's voice regions",
            ),
            get(
                "/guilds/{guild_id}/vanity-url",
                "Get the guild's vanity invite",
            ),
            patch(
                "/guilds/{guild_id}/vanity-url",
                "Set the guild's vanity invite",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/widget",
                "Get the guild's widget settings",
            ),
            patch(
                "/guilds/{guild_id}/widget",
                "Modify the guild's widget settings",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/widget.json",
                "Get the guild's public widget",
            )
            .open(),
            get(
                "/guilds/{guild_id}/widget.png",
                "The guild's widget as a PNG badge (`style`: shield, banner1-4)",
            )
            .open(),
            get(
                "/guilds/{guild_id}/welcome-screen",
                "Get the guild's welcome screen",
            ),
            patch(
                "/guilds/{guild_id}/welcome-screen",
                "Modify the guild's welcome screen",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/onboarding",
                "Get the guild's onboarding",
            ),
            put(
                "/guilds/{guild_id}/onboarding",
                "Modify the guild's onboarding",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/member-verification",
                "Get the guild's member verification form",
            ),
            patch(
                "/guilds/{guild_id}/member-verification",
                "Modify the guild's member verification form",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/requests",
                "List the guild's join requests",
            ),
            put(
                "/guilds/{guild_id}/requests/@me",
                "Submit the member verification form (a join request)",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/requests/@me",
                "Withdraw the current user's join request",
            ),
            patch(
                "/guilds/{guild_id}/requests/{request_id}",
                "Approve or reject a join request",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/new-member-welcome",
                "Get what a new member is welcomed with",
            ),
            put(
                "/guilds/{guild_id}/incident-actions",
                "Pause invites or DMs during an incident",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/integrations",
                "List the bots added to the guild",
            ),
            delete(
                "/guilds/{guild_id}/integrations/{integration_id}",
                "Remove a bot's integration (and the bot)",
            ),
            get("/guilds/templates/{code}", "Get a guild template").open(),
            post("/guilds/templates/{code}", "Create a guild from a template").body(Object),
            get("/guilds/{guild_id}/templates", "List a guild's templates"),
            post("/guilds/{guild_id}/templates", "Create a guild template").body(Object),
            put(
                "/guilds/{guild_id}/templates/{code}",
                "Sync a template with its guild",
            ),
            patch(
                "/guilds/{guild_id}/templates/{code}",
                "Modify a guild template",
            )
            .body(Object),
            delete(
                "/guilds/{guild_id}/templates/{code}",
                "Delete a guild template",
            ),
        ],
    },
    Tag {
        name: "channels",
        description: "Channels, messages, reactions, pins, permissions, typing and announcement following",
        routes: &[
            get("/channels/{channel_id}", "Get a channel"),
            patch("/channels/{channel_id}", "Modify a channel").body(Object),
            delete("/channels/{channel_id}", "Delete a channel or close a DM"),
            get("/channels/{channel_id}/messages", "List messages"),
            post("/channels/{channel_id}/messages", "Send a message").body(Body::MessageCreate),
            post(
                "/channels/{channel_id}/messages/bulk-delete",
                "Delete several messages",
            )
            .body(Object),
            post(
                "/channels/{channel_id}/messages/bulk_delete",
                "Delete several messages (older spelling)",
            )
            .body(Object),
            get(
                "/channels/{channel_id}/messages/{message_id}",
                "Get a message",
            ),
            patch(
                "/channels/{channel_id}/messages/{message_id}",
                "Edit a message",
            )
            .body(Object),
            delete(
                "/channels/{channel_id}/messages/{message_id}",
                "Delete a message",
            ),
            post(
                "/channels/{channel_id}/messages/{message_id}/crosspost",
                "Publish an announcement channel message to its followers",
            ),
            post(
                "/channels/{channel_id}/messages/{message_id}/ack",
                "Mark the channel read up to a message",
            )
            .body(Object),
            post(
                "/read-states/ack-bulk",
                "Mark many channels read, each up to a message",
            )
            .body(Object),
            delete(
                "/channels/{channel_id}/messages/{message_id}/reactions",
                "Remove all reactions from a message",
            ),
            get(
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
                "List the users who reacted with an emoji",
            ),
            delete(
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
                "Remove all reactions of one emoji",
            ),
            put(
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                "React to a message",
            ),
            delete(
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                "Remove one's own reaction",
            ),
            delete(
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
                "Remove another user's reaction",
            ),
            put(
                "/channels/{channel_id}/permissions/{overwrite_id}",
                "Set a permission overwrite",
            )
            .body(Object),
            delete(
                "/channels/{channel_id}/permissions/{overwrite_id}",
                "Delete a permission overwrite",
            ),
            get("/channels/{channel_id}/pins", "List pinned messages"),
            put("/channels/{channel_id}/pins/{message_id}", "Pin a message"),
            delete(
                "/channels/{channel_id}/pins/{message_id}",
                "Unpin a message",
            ),
            get(
                "/channels/{channel_id}/messages/pins",
                "List pinned messages (paginated form)",
            ),
            put(
                "/channels/{channel_id}/messages/pins/{message_id}",
                "Pin a message (newer form)",
            ),
            delete(
                "/channels/{channel_id}/messages/pins/{message_id}",
                "Unpin a message (newer form)",
            ),
            put(
                "/channels/{channel_id}/polls/{message_id}/answers/@me",
                "Set one's poll votes (`answer_ids`; empty removes them)",
            )
            .body(Object),
            get(
                "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}",
                "List the users who voted for a poll answer",
            ),
            put(
                "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}/@me",
                "Vote for one poll answer",
            ),
            delete(
                "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}/@me",
                "Take back one's vote for a poll answer",
            ),
            post(
                "/channels/{channel_id}/polls/{message_id}/expire",
                "End a poll now (its author only)",
            ),
            put(
                "/channels/{channel_id}/recipients/{user_id}",
                "Add a user to a group DM",
            )
            .body(Object),
            delete(
                "/channels/{channel_id}/recipients/{user_id}",
                "Remove a user from a group DM",
            ),
            post(
                "/channels/{channel_id}/typing",
                "Trigger the typing indicator",
            ),
            post(
                "/channels/{channel_id}/followers",
                "Follow an announcement channel into a text channel",
            )
            .body(Object),
            post(
                "/channels/{channel_id}/threads",
                "Start a thread without a message, or a forum post with its first message",
            )
            .body(Object),
            post(
                "/channels/{channel_id}/messages/{message_id}/threads",
                "Start a thread from a message",
            )
            .body(Object),
            get(
                "/channels/{channel_id}/thread-members",
                "List a thread's members",
            ),
            put("/channels/{channel_id}/thread-members/@me", "Join a thread"),
            delete(
                "/channels/{channel_id}/thread-members/@me",
                "Leave a thread",
            ),
            get(
                "/channels/{channel_id}/thread-members/{user_id}",
                "Get a thread member",
            ),
            put(
                "/channels/{channel_id}/thread-members/{user_id}",
                "Add a member to a thread",
            ),
            delete(
                "/channels/{channel_id}/thread-members/{user_id}",
                "Remove a member from a thread",
            ),
            get(
                "/channels/{channel_id}/threads/search",
                "Search a channel's threads (forum posts) by name and tags",
            ),
            get(
                "/channels/{channel_id}/threads/archived/public",
                "List a channel's archived public threads",
            ),
            get(
                "/channels/{channel_id}/threads/archived/private",
                "List a channel's archived private threads",
            ),
            get(
                "/channels/{channel_id}/users/@me/threads/archived/private",
                "List the archived private threads one joined",
            ),
        ],
    },
    Tag {
        name: "invites",
        description: "Invites",
        routes: &[
            get("/invites/{code}", "Resolve an invite").open(),
            post("/invites/{code}", "Accept an invite (join its guild)"),
            delete("/invites/{code}", "Delete an invite"),
            get(
                "/invites/{code}/target-users",
                "The users an invite is restricted to (CSV)",
            ),
            put(
                "/invites/{code}/target-users",
                "Restrict an invite to the users of a CSV file",
            )
            .body(Body::TargetUsersFile),
            get(
                "/invites/{code}/target-users/job-status",
                "The state of the last target users upload",
            ),
            get("/guilds/{guild_id}/invites", "List a guild's invites"),
            get("/channels/{channel_id}/invites", "List a channel's invites"),
            post("/channels/{channel_id}/invites", "Create an invite").body(Object),
        ],
    },
    Tag {
        name: "stickers",
        description: "Stickers by id and Discord's standard sticker packs (none here)",
        routes: &[
            get("/stickers/{sticker_id}", "Get any guild's sticker by id"),
            get(
                "/sticker-packs",
                "List the standard sticker packs (always empty here)",
            ),
            get(
                "/sticker-packs/{pack_id}",
                "Get a standard sticker pack (always 10061 here)",
            ),
        ],
    },
    Tag {
        name: "webhooks",
        description: "Webhooks: managed with a token, executed with the webhook's own token",
        routes: &[
            get(
                "/channels/{channel_id}/webhooks",
                "List a channel's webhooks",
            ),
            post("/channels/{channel_id}/webhooks", "Create a webhook").body(Object),
            get("/guilds/{guild_id}/webhooks", "List a guild's webhooks"),
            get("/webhooks/{webhook_id}", "Get a webhook"),
            patch("/webhooks/{webhook_id}", "Modify a webhook").body(Object),
            delete("/webhooks/{webhook_id}", "Delete a webhook"),
            get(
                "/webhooks/{webhook_id}/{token}",
                "Get a webhook by its token",
            )
            .open(),
            patch(
                "/webhooks/{webhook_id}/{token}",
                "Modify a webhook by its token",
            )
            .open()
            .body(Object),
            delete(
                "/webhooks/{webhook_id}/{token}",
                "Delete a webhook by its token",
            )
            .open(),
            post(
                "/webhooks/{webhook_id}/{token}",
                "Execute a webhook (post a message)",
            )
            .open()
            .body(Body::WebhookExecute),
            post(
                "/webhooks/{webhook_id}/{token}/slack",
                "Execute a webhook with a Slack incoming-webhook payload",
            )
            .open()
            .body(Object),
            post(
                "/webhooks/{webhook_id}/{token}/github",
                "Execute a webhook with a GitHub event (X-GitHub-Event header)",
            )
            .open()
            .body(Object),
            get(
                "/webhooks/{webhook_id}/{token}/messages/{message_id}",
                "Get a message the webhook sent",
            )
            .open(),
            patch(
                "/webhooks/{webhook_id}/{token}/messages/{message_id}",
                "Edit a message the webhook sent",
            )
            .open()
            .body(Object),
            delete(
                "/webhooks/{webhook_id}/{token}/messages/{message_id}",
                "Delete a message the webhook sent",
            )
            .open(),
        ],
    },
    Tag {
        name: "applications",
        description: "Applications and their bot users",
        routes: &[
            get("/applications", "List the current user's applications"),
            post("/applications", "Create an application").body(Object),
            get("/applications/@me", "Get the bot's own application"),
            patch("/applications/@me", "Modify the bot's own application").body(Object),
            get(
                "/oauth2/applications/@me",
                "Get the bot's own application (OAuth2 form)",
            ),
            get("/applications/{application_id}", "Get an application"),
            patch("/applications/{application_id}", "Modify an application").body(Object),
            delete("/applications/{application_id}", "Delete an application"),
            post(
                "/applications/{application_id}/delete",
                "Delete an application (the client's form)",
            ),
            post(
                "/applications/{application_id}/bot",
                "Create the application's bot user",
            ),
            post(
                "/applications/{application_id}/bot/reset",
                "Reset the bot's token",
            ),
            post(
                "/applications/{application_id}/reset",
                "Reset the OAuth2 client secret (shown once)",
            ),
            post(
                "/applications/{application_id}/transfer",
                "Transfer an application to a team",
            )
            .body(Object),
            get(
                "/applications/{application_id}/commands",
                "List the application's global commands",
            ),
            post(
                "/applications/{application_id}/commands",
                "Create a global command (a taken name is overwritten)",
            )
            .body(Object),
            put(
                "/applications/{application_id}/commands",
                "Replace all global commands",
            )
            .body(Array),
            get(
                "/applications/{application_id}/commands/{command_id}",
                "Get a global command",
            ),
            patch(
                "/applications/{application_id}/commands/{command_id}",
                "Edit a global command",
            )
            .body(Object),
            delete(
                "/applications/{application_id}/commands/{command_id}",
                "Delete a global command",
            ),
            get(
                "/applications/{application_id}/guilds/{guild_id}/commands",
                "List the application's commands in a guild",
            ),
            post(
                "/applications/{application_id}/guilds/{guild_id}/commands",
                "Create a guild command (a taken name is overwritten)",
            )
            .body(Object),
            put(
                "/applications/{application_id}/guilds/{guild_id}/commands",
                "Replace all commands of a guild",
            )
            .body(Array),
            get(
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                "Get a guild command",
            ),
            patch(
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                "Edit a guild command",
            )
            .body(Object),
            delete(
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                "Delete a guild command",
            ),
            get(
                "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
                "List the application's command permissions in a guild",
            ),
            get(
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions",
                "Get a command's permissions in a guild",
            ),
            put(
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions",
                "Set a command's (or, at the application's id, every command's) permissions in a guild",
            )
            .body(Object),
            get(
                "/applications/{application_id}/emojis",
                "List the application's emojis",
            ),
            post(
                "/applications/{application_id}/emojis",
                "Create an application emoji",
            )
            .body(Object),
            get(
                "/applications/{application_id}/emojis/{emoji_id}",
                "Get an application emoji",
            ),
            patch(
                "/applications/{application_id}/emojis/{emoji_id}",
                "Rename an application emoji",
            )
            .body(Object),
            delete(
                "/applications/{application_id}/emojis/{emoji_id}",
                "Delete an application emoji",
            ),
            get(
                "/applications/{application_id}/role-connections/metadata",
                "Get the application's role connection metadata records",
            ),
            put(
                "/applications/{application_id}/role-connections/metadata",
                "Replace the application's role connection metadata records",
            )
            .body(Array),
            get(
                "/users/@me/applications/{application_id}/role-connection",
                "Get the current user's role connection to an application",
            ),
            put(
                "/users/@me/applications/{application_id}/role-connection",
                "Set the current user's role connection to an application",
            )
            .body(Object),
            delete(
                "/users/@me/applications/{application_id}/role-connection",
                "Remove the current user's role connection to an application",
            ),
            get(
                "/applications/{application_id}/entitlements",
                "List the application's entitlements",
            ),
            post(
                "/applications/{application_id}/entitlements",
                "Create a test entitlement",
            )
            .body(Object),
            get(
                "/applications/{application_id}/entitlements/{entitlement_id}",
                "Get an entitlement",
            ),
            delete(
                "/applications/{application_id}/entitlements/{entitlement_id}",
                "Delete a test entitlement",
            ),
            post(
                "/applications/{application_id}/entitlements/{entitlement_id}/consume",
                "Consume an entitlement",
            ),
            get(
                "/users/@me/applications/{application_id}/entitlements",
                "List the current user's entitlements to an application",
            ),
            post(
                "/applications/{application_id}/attachment",
                "Upload an application attachment",
            )
            .body(FileUpload),
        ],
    },
    Tag {
        name: "interactions",
        description: "Invoking application commands, answering them, follow-ups by interaction token",
        routes: &[
            post(
                "/interactions",
                "Invoke an application command (the bot gets INTERACTION_CREATE)",
            )
            .body(Object),
            post(
                "/interactions/{interaction_id}/{interaction_token}/callback",
                "Answer an interaction (4 message, 5 deferred)",
            )
            .open()
            .body(Body::MessageCreate),
            get(
                "/webhooks/{webhook_id}/{token}/messages/@original",
                "Get an interaction's response",
            )
            .open(),
            patch(
                "/webhooks/{webhook_id}/{token}/messages/@original",
                "Edit an interaction's response",
            )
            .open()
            .body(Object),
            delete(
                "/webhooks/{webhook_id}/{token}/messages/@original",
                "Delete an interaction's response",
            )
            .open(),
        ],
    },
    Tag {
        name: "teams",
        description: "Developer teams: members with roles, team-owned applications",
        routes: &[
            get(
                "/teams",
                "List the current user's teams (invitations included)",
            ),
            post("/teams", "Create a team").body(Object),
            get("/teams/{team_id}", "Get a team"),
            patch("/teams/{team_id}", "Modify a team (name, icon, owner)").body(Object),
            delete("/teams/{team_id}", "Delete a team"),
            post(
                "/teams/{team_id}/delete",
                "Delete a team (the client's form)",
            ),
            get(
                "/teams/{team_id}/applications",
                "List a team's applications",
            ),
            get("/teams/{team_id}/members", "List a team's members"),
            post("/teams/{team_id}/members", "Invite a user to a team").body(Object),
            put(
                "/teams/{team_id}/members/@me",
                "Accept an invitation to a team",
            ),
            delete(
                "/teams/{team_id}/members/@me",
                "Leave a team or decline an invitation",
            ),
            patch(
                "/teams/{team_id}/members/{user_id}",
                "Change a team member's role",
            )
            .body(Object),
            delete("/teams/{team_id}/members/{user_id}", "Remove a team member"),
        ],
    },
    Tag {
        name: "connections",
        description: "Linking third-party accounts through the provider's OAuth2 flow",
        routes: &[
            get(
                "/connections/{connection_type}/authorize",
                "Get the provider's authorization URL (with a signed state)",
            ),
            post(
                "/connections/{connection_type}/callback",
                "Link the account the provider authorized",
            )
            .body(Object),
        ],
    },
    Tag {
        name: "oauth2",
        description: "OAuth2: bot authorization, user grants and tokens",
        routes: &[
            get(
                "/oauth2/authorize",
                "Describe an authorization request (application, bot, guilds)",
            ),
            post(
                "/oauth2/authorize",
                "Authorize a bot into a guild and/or grant the application a code",
            )
            .body(Object),
            post(
                "/oauth2/token",
                "Exchange a code or refresh token, or get a client-credentials token",
            )
            .open()
            .body(Form),
            post("/oauth2/token/revoke", "Revoke an access or refresh token")
                .open()
                .body(Form),
            get("/oauth2/@me", "The current bearer token's authorization"),
            get(
                "/oauth2/userinfo",
                "OpenID-style claims of the bearer token's user",
            ),
            get(
                "/oauth2/keys",
                "The JSON Web Key Set (empty: no id_tokens are signed)",
            )
            .open(),
        ],
    },
    Tag {
        name: "stage-instances",
        description: "Live stages of stage channels",
        routes: &[
            post("/stage-instances", "Open a stage instance").body(Object),
            get(
                "/stage-instances/{channel_id}",
                "Get a stage channel's stage instance",
            ),
            patch("/stage-instances/{channel_id}", "Modify a stage instance").body(Object),
            delete("/stage-instances/{channel_id}", "Close a stage instance"),
        ],
    },
    Tag {
        name: "voice",
        description: "Voice regions and voice states of the instance (state only: no media transport)",
        routes: &[
            get("/voice/regions", "List the voice regions"),
            get(
                "/guilds/{guild_id}/voice-states/@me",
                "Get the current user's voice state",
            ),
            patch(
                "/guilds/{guild_id}/voice-states/@me",
                "Modify the current user's voice state (stage channels)",
            )
            .body(Object),
            get(
                "/guilds/{guild_id}/voice-states/{user_id}",
                "Get a member's voice state",
            ),
            patch(
                "/guilds/{guild_id}/voice-states/{user_id}",
                "Modify a member's voice state (stage channels)",
            )
            .body(Object),
            get(
                "/soundboard-default-sounds",
                "List Discord's default soundboard sounds",
            ),
            post(
                "/channels/{channel_id}/send-soundboard-sound",
                "Play a soundboard sound in a voice channel (an event; no audio)",
            )
            .body(Object),
            put(
                "/channels/{channel_id}/voice-status",
                "Set a voice channel's status",
            )
            .body(Object),
        ],
    },
    Tag {
        name: "gateway",
        description: "Where the gateway WebSocket is",
        routes: &[
            get("/gateway", "Get the gateway URL").open(),
            get(
                "/gateway/bot",
                "Get the gateway URL, recommended shards and session limits",
            ),
        ],
    },
    Tag {
        name: "policies",
        description: "Instance information and health",
        routes: &[
            get("/policies/instance", "Instance information").open(),
            get(
                "/policies/instance/",
                "Instance information (trailing slash)",
            )
            .open(),
            get("/policies/instance/domains", "The instance's public URLs").open(),
            get("/policies/instance/limits", "The instance's limits").open(),
            get("/ping", "Liveness check and instance summary").open(),
            get("/openapi.json", "This document").open(),
        ],
    },
    Tag {
        name: "science",
        description: "What the client reports (analytics, accepted and dropped) and its experiments",
        routes: &[
            post("/science", "Client analytics events (accepted, not stored)").open(),
            post("/track", "Client analytics events (accepted, not stored)").open(),
            get("/experiments", "Experiment assignments (none)").open(),
        ],
    },
    Tag {
        name: "admin",
        description: "Instance administration (instance admins only)",
        routes: &[
            get("/admin/health", "Instance health and counters").admin(),
            get("/admin/config", "Get the live configuration").admin(),
            patch("/admin/config", "Patch the live configuration")
                .admin()
                .body(Object),
            get("/admin/users", "Search users").admin(),
            get("/admin/users/{user_id}", "Get a user with admin details").admin(),
            patch(
                "/admin/users/{user_id}",
                "Modify a user (admin, disabled, ...)",
            )
            .admin()
            .body(Object),
            get("/admin/guilds/{guild_id}", "Get a guild with admin details").admin(),
            delete("/admin/guilds/{guild_id}", "Delete a guild").admin(),
            get("/admin/audit-log", "Read the instance audit log").admin(),
        ],
    },
];

/// Every route of [`TAGS`] with its tag.
pub fn routes() -> impl Iterator<Item = (&'static str, &'static Route)> {
    TAGS.iter()
        .flat_map(|t| t.routes.iter().map(move |r| (t.name, r)))
}

/// `GET /openapi.json`; the server URL follows the version prefix the document was fetched under.
pub async fn document(State(app): State<App>, OriginalUri(uri): OriginalUri) -> Json<Value> {
    let prefix = uri
        .path()
        .strip_suffix("/openapi.json")
        .and_then(|p| p.strip_prefix("/api"))
        .unwrap_or("");
    let mut doc = spec();
    doc["servers"] = json!([{"url": format!("{}{prefix}", app.api_endpoint())}]);
    Json(doc)
}

/// The document without `servers` (that depends on the request).
pub fn spec() -> Value {
    let mut paths = Map::new();
    let mut taken = HashSet::new();
    for (tag, route) in routes() {
        let id = operation_id(route, &mut taken);
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({"parameters": path_parameters(route.path)}));
        if let Some(item) = item.as_object_mut() {
            item.insert(route.method.as_str().into(), operation(tag, route, id));
        }
    }
    for item in paths.values_mut() {
        if item["parameters"].as_array().is_some_and(|p| p.is_empty())
            && let Some(item) = item.as_object_mut()
        {
            item.remove("parameters");
        }
    }
    let tags: Vec<Value> = TAGS
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description}))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Accord API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Accord's Discord-compatible REST API. Served under `/api` (newest) \
                and `/api/v6` … `/api/v10`; paths here are relative to the server URL. Errors \
                are Discord-shaped: `{code, message, errors?}`.",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "tags": tags,
        "security": [{"token": []}],
        "paths": paths,
        "components": components(),
    })
}

/// `postChannelsChannelIdMessages`; a second route with the same letters (`bulk-delete` and
/// `bulk_delete`) gets a number.
fn operation_id(route: &Route, taken: &mut HashSet<String>) -> String {
    let words: String = route
        .path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let base = format!("{}{words}", route.method.as_str());
    let mut id = base.clone();
    let mut n = 1;
    while !taken.insert(id.clone()) {
        n += 1;
        id = format!("{base}{n}");
    }
    id
}

fn operation(tag: &str, route: &Route, operation_id: String) -> Value {
    let mut op = json!({
        "summary": route.summary,
        "operationId": operation_id,
        "tags": [tag],
        "responses": responses::responses(route),
    });
    match route.auth {
        Auth::None => op["security"] = json!([]),
        Auth::Token => op["security"] = json!([{"token": []}]),
        Auth::Admin => {
            op["security"] = json!([{"token": []}]);
            op["description"] = json!("Instance admins only (403 for other users).");
        }
    }
    if let Some(body) = route.body {
        op["requestBody"] = body.request_body();
    }
    op
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let (schema, description) = if name == "answer_id" {
                (
                    json!({"type": "integer", "minimum": 1}),
                    "The poll answer's id (its 1-based position)".to_string(),
                )
            } else if name.ends_with("_id") {
                (
                    json!({"$ref": "#/components/schemas/Snowflake"}),
                    format!("The {} (a snowflake)", name.replace('_', " ")),
                )
            } else {
                let description = match name {
                    "code" if path.contains("/templates/") => "The template code",
                    "code" => "The invite code (or vanity code)",
                    "token" => "The webhook's token",
                    "emoji" => "A Unicode emoji, or `name:id` for a custom emoji (URL-encoded)",
                    _ => "A path segment",
                };
                (json!({"type": "string"}), description.to_string())
            };
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": description,
                "schema": schema,
            })
        })
        .collect()
}

/// Our hand-written components and, beside them, the schemas taken from Discord's document
/// (see [`responses`]); their names are disjoint (a test checks it).
fn components() -> Value {
    let mut doc = own_components();
    if let Some(schemas) = doc["schemas"].as_object_mut() {
        for (name, schema) in &responses::vendored().schemas {
            schemas
                .entry(name.clone())
                .or_insert_with(|| schema.clone());
        }
    }
    doc
}

fn own_components() -> Value {
    let snowflake = json!({"$ref": "#/components/schemas/Snowflake"});
    json!({
        "securitySchemes": {
            "token": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Bot <token>` for bots; the bare token for users (as \
                    `POST /auth/login` returns it).",
            },
        },
        "responses": responses::error_responses(),
        "schemas": {
            "Snowflake": {
                "type": "string",
                "format": "snowflake",
                "description": "A 64-bit id as a decimal string",
                "examples": ["175928847299117063"],
            },
            "ApiError": {
                "type": "object",
                "description": "Discord's error object: a JSON error code, a message and, \
                    for 50035 Invalid Form Body, the field errors nested by path.",
                "properties": {
                    "code": {"type": "integer"},
                    "message": {"type": "string"},
                    "errors": {"$ref": "#/components/schemas/FieldErrors"},
                },
                "required": ["code", "message"],
            },
            "FieldErrors": {
                "type": "object",
                "description": "`{\"name\": {\"_errors\": [{\"code\": \"BASE_TYPE_REQUIRED\", \
                    \"message\": …}]}}`: one level per path segment, `_errors` at the field.",
                "properties": {
                    "_errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                            "required": ["code", "message"],
                        },
                    },
                },
                "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"},
            },
            "RegisterResponse": {
                "type": "object",
                "properties": {"token": {"type": "string"}},
                "required": ["token"],
            },
            "LoginResponse": {
                "type": "object",
                "properties": {
                    "token": {"type": "string"},
                    "user_id": snowflake,
                    "user_settings": {
                        "type": "object",
                        "properties": {
                            "locale": {"type": "string"},
                            "theme": {"type": "string"},
                        },
                    },
                },
                "required": ["token", "user_id"],
            },
            "RegisterBody": {
                "type": "object",
                "properties": {
                    "username": {"type": "string"},
                    "global_name": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "password": {"type": "string"},
                    "date_of_birth": {"type": "string", "format": "date"},
                    "consent": {"type": "boolean"},
                    "invite": {"type": ["string", "null"]},
                },
            },
            "LoginBody": {
                "type": "object",
                "properties": {
                    "login": {"type": "string", "description": "Email (or username)"},
                    "email": {"type": "string", "format": "email"},
                    "password": {"type": "string"},
                    "undelete": {"type": "boolean"},
                },
                "required": ["password"],
            },
            "GuildCreate": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "icon": {"type": ["string", "null"], "description": "A data URI"},
                    "region": {"type": ["string", "null"]},
                    "verification_level": {"type": "integer"},
                    "default_message_notifications": {"type": "integer"},
                    "explicit_content_filter": {"type": "integer"},
                    "roles": {"type": "array", "items": {"type": "object"}},
                    "channels": {"type": "array", "items": {"$ref": "#/components/schemas/ChannelCreate"}},
                    "afk_channel_id": snowflake,
                    "afk_timeout": {"type": "integer"},
                    "system_channel_id": snowflake,
                    "system_channel_flags": {"type": "integer"},
                },
                "required": ["name"],
            },
            "ChannelCreate": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "type": {"type": "integer", "description": "0 text, 2 voice, 4 category, …"},
                    "topic": {"type": ["string", "null"]},
                    "position": {"type": "integer"},
                    "parent_id": snowflake,
                    "nsfw": {"type": "boolean"},
                    "rate_limit_per_user": {"type": "integer"},
                    "bitrate": {"type": "integer"},
                    "user_limit": {"type": "integer"},
                    "permission_overwrites": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["name"],
            },
            "MessageCreate": {
                "type": "object",
                "properties": {
                    "content": {"type": "string"},
                    "nonce": {"type": ["string", "integer"]},
                    "tts": {"type": "boolean"},
                    "embeds": {"type": "array", "items": {"type": "object"}},
                    "allowed_mentions": {"type": "object"},
                    "message_reference": {
                        "type": "object",
                        "properties": {
                            "message_id": snowflake,
                            "channel_id": snowflake,
                            "guild_id": snowflake,
                            "fail_if_not_exists": {"type": "boolean"},
                        },
                    },
                    "components": {"type": "array", "items": {"type": "object"}},
                    "sticker_ids": {"type": "array", "items": snowflake},
                    "attachments": {"type": "array", "items": {"type": "object"}},
                    "flags": {"type": "integer"},
                    "enforce_nonce": {"type": "boolean"},
                },
            },
            "WebhookExecute": {
                "allOf": [
                    {"$ref": "#/components/schemas/MessageCreate"},
                    {
                        "type": "object",
                        "properties": {
                            "username": {"type": "string", "description": "Author name for this message"},
                            "avatar_url": {"type": "string", "format": "uri"},
                        },
                    },
                ],
            },
            "StickerMultipart": {
                "type": "object",
                "description": "A sticker upload; the format (PNG, APNG, GIF or Lottie JSON) \
                    is read from the file's bytes.",
                "properties": {
                    "name": {"type": "string", "minLength": 2, "maxLength": 30},
                    "description": {"type": "string", "maxLength": 100},
                    "tags": {"type": "string", "minLength": 1, "maxLength": 200},
                    "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                },
                "required": ["name", "tags", "file"],
            },
            "FileMultipart": {
                "type": "object",
                "description": "One file under `file`.",
                "properties": {
                    "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                },
                "required": ["file"],
            },
            "TargetUsersMultipart": {
                "type": "object",
                "description": "An invite's target users: a CSV file whose first column holds \
                    user ids (a header line such as `user_id` is skipped).",
                "properties": {
                    "target_users_file": {"type": "string", "contentMediaType": "text/csv"},
                },
                "required": ["target_users_file"],
            },
            "MessageMultipart": {
                "type": "object",
                "description": "`payload_json` (the JSON body) and files under `files[n]` \
                    (also `file`, `fileN`).",
                "properties": {
                    "payload_json": {"type": "string", "contentMediaType": "application/json"},
                },
                "patternProperties": {
                    "^files\\[[0-9]+\\]$": {"type": "string", "contentMediaType": "application/octet-stream"},
                },
            },
        },
    })
}

#[cfg(test)]
mod drift;
mod responses;
#[cfg(test)]
mod responses_gen;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn own_schemas_and_discords_do_not_collide() {
        let own = own_components();
        let vendored = &responses::vendored().schemas;
        for name in own["schemas"].as_object().expect("schemas").keys() {
            assert!(!vendored.contains_key(name), "{name} is ours and Discord's");
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = spec();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }

    #[test]
    fn operations_are_complete() {
        let doc = spec();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = HashSet::new();
        let mut count = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            assert!(path.starts_with('/'), "{path}");
            let declared: HashSet<&str> = item["parameters"]
                .as_array()
                .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            let in_path: HashSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, in_path, "{path}");
            for (method, op) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                count += 1;
                assert!(
                    ids.insert(op["operationId"].as_str().expect("operationId").to_string()),
                    "duplicate operationId at {method} {path}"
                );
                assert!(!op["summary"].as_str().unwrap_or("").is_empty());
                assert_eq!(op["tags"].as_array().map(Vec::len), Some(1));
                assert!(op["security"].is_array(), "{method} {path}");
            }
        }
        assert_eq!(count, routes().count());
        let login = &doc["paths"]["/auth/login"]["post"];
        assert_eq!(login["security"], json!([]));
        let send = &doc["paths"]["/channels/{channel_id}/messages"]["post"];
        assert_eq!(send["security"], json!([{"token": []}]));
        assert_eq!(
            send["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/MessageCreate"
        );
        assert_eq!(
            doc["paths"]["/guilds/{guild_id}"]["parameters"][0]["schema"]["$ref"],
            "#/components/schemas/Snowflake"
        );
    }
}
