//! One row per REST operation: who may call it, on which fixtures, with which body. The test
//! checks these rows against `accord::api::openapi::routes()` — the table the router is checked
//! against and `/api/openapi.json` is built from — so a route added without a row (or a row
//! left behind by a removed route) fails it.

use serde_json::{Value, json};

use super::world::{MARK, Who, World};

/// Who may call an operation; the denials every other caller must get follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Needs no token (instance information, invites, templates, the public widget).
    Public,
    /// The secret is in the path (webhook and interaction tokens): a wrong one is refused.
    PathSecret,
    /// Any account, about itself.
    Me,
    /// A guild's resource. `perm`: a permission the member lacks is needed; otherwise being a
    /// member is enough.
    Guild { perm: bool },
    /// A guild channel's (or a group DM's) resource, like `Guild`.
    Channel { perm: bool },
    /// Owned by the owner (an application, a team, a webhook by id): others don't see it.
    Owned,
    /// Instance admins.
    Admin,
}

pub type BodyFn = fn(&World) -> Value;

#[derive(Clone)]
pub struct Row {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// The rightful caller.
    pub by: Who,
    /// Path parameters bound to other fixtures than the default (`=x` is a literal).
    pub params: Vec<(&'static str, &'static str)>,
    pub query: &'static str,
    pub body: Option<BodyFn>,
    /// `multipart/form-data` sticker upload instead of JSON.
    pub sticker: bool,
    /// `multipart/form-data` with one `file` (an application attachment) instead of JSON.
    pub upload: bool,
    /// `multipart/form-data` with `target_users_file`, this CSV, instead of JSON.
    pub csv: Option<fn(&World) -> String>,
    /// Bots get 20001 "Bots cannot use this endpoint".
    pub no_bots: bool,
    /// The member (only @everyone's permissions) may call it too (not a denial row).
    pub member_ok: bool,
    /// The member takes part (a read-only team member) but lacks the permission: 50013.
    pub member_lacks: bool,
    /// The bot may call it (the application's own bot).
    pub bot_ok: bool,
    /// Only the author may (edit a message): other members get 403 50005.
    pub author_only: bool,
    /// The rightful call's status when it is not a 2xx, with the reason.
    pub ok_status: Option<(u16, &'static str)>,
}

fn row(op: &'static str, access: Access) -> Row {
    let (method, path) = op.split_once(' ').expect("METHOD /path");
    let by = match access {
        Access::Public | Access::PathSecret => Who::Nobody,
        Access::Admin => Who::Admin,
        _ => Who::Owner,
    };
    Row {
        method,
        path,
        access,
        by,
        params: Vec::new(),
        query: "",
        body: None,
        sticker: false,
        upload: false,
        csv: None,
        no_bots: false,
        member_ok: false,
        member_lacks: false,
        bot_ok: false,
        author_only: false,
        ok_status: None,
    }
}

impl Row {
    fn by(mut self, who: Who) -> Row {
        self.by = who;
        self
    }
    fn p(mut self, name: &'static str, fixture: &'static str) -> Row {
        self.params.push((name, fixture));
        self
    }
    fn q(mut self, query: &'static str) -> Row {
        self.query = query;
        self
    }
    fn json(mut self, body: BodyFn) -> Row {
        self.body = Some(body);
        self
    }
    fn upload(mut self) -> Row {
        self.upload = true;
        self
    }
    fn csv(mut self, csv: fn(&World) -> String) -> Row {
        self.csv = Some(csv);
        self
    }
    fn no_bots(mut self) -> Row {
        self.no_bots = true;
        self
    }
    fn member_ok(mut self) -> Row {
        self.member_ok = true;
        self
    }
    fn member_lacks(mut self) -> Row {
        self.member_lacks = true;
        self
    }
    fn bot_ok(mut self) -> Row {
        self.bot_ok = true;
        self
    }
    fn author_only(mut self) -> Row {
        self.author_only = true;
        self
    }
    fn ok_status(mut self, status: u16, why: &'static str) -> Row {
        self.ok_status = Some((status, why));
        self
    }

    /// The fixture a path parameter is bound to by default.
    fn default_fixture(name: &str) -> &'static str {
        match name {
            "guild_id" => "guild",
            "channel_id" => "channel",
            "message_id" => "message",
            "role_id" => "role",
            "user_id" | "overwrite_id" => "member_id",
            "emoji_id" => "emoji_id",
            "guild_scheduled_event_id" => "event",
            "exception_id" | "guild_scheduled_event_exception_id" => "event_exception",
            "rule_id" => "automod_rule",
            "sticker_id" => "sticker",
            "sound_id" => "sound",
            "code" => "invite",
            "webhook_id" => "webhook",
            "token" => "webhook_token",
            "application_id" => "application",
            "command_id" => "command",
            "team_id" => "team",
            "integration_id" => "integration",
            "entitlement_id" => "entitlement",
            "emoji" => "=%F0%9F%91%8D",
            "connection_type" => "=github",
            "connection_id" => "=1",
            "interaction_id" => "=1234567890123456789",
            "interaction_token" => "=not-a-token",
            "pack_id" => "=1",
            "answer_id" => "=1",
            other => panic!("no default fixture for path parameter {other}"),
        }
    }

    /// The path with its parameters filled in, for a [`Secret`] variant.
    pub fn url(&self, w: &World, secret: Secret) -> String {
        let has_message = self.path.contains("{message_id}");
        let mut out = String::new();
        for (i, seg) in self.path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                out.push_str(seg);
                continue;
            };
            let secret_param = matches!(name, "token" | "interaction_token");
            if secret == Secret::Wrong && secret_param {
                out.push_str("wrong-secret-token");
                continue;
            }
            let fixture = self
                .params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .unwrap_or_else(|| Self::default_fixture(name));
            let fixture = match (secret, name) {
                // A real message of the channel, not the webhook's own.
                (Secret::Crossed, "message_id") => "message",
                // Another webhook's real token.
                (Secret::Crossed, "token") if !has_message => match fixture {
                    "webhook_token" => "token_webhook_token",
                    _ => "webhook_token",
                },
                _ => fixture,
            };
            match fixture.strip_prefix('=') {
                Some(literal) => out.push_str(literal),
                None => out.push_str(w.get(fixture)),
            }
        }
        // `{fixture}` in the query string is filled in too.
        let mut query = self.query;
        while let Some((before, rest)) = query.split_once('{') {
            let (name, after) = rest.split_once('}').expect("closing brace in query");
            out.push_str(before);
            out.push_str(w.get(name));
            query = after;
        }
        out.push_str(query);
        out
    }
}

/// How the path's secret (a webhook or interaction token) is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// As the row says.
    Right,
    /// Replaced by a made-up token.
    Wrong,
    /// A real secret used on what it doesn't cover: another webhook's token, or the right token
    /// on a message the webhook didn't send.
    Crossed,
}

use Access::*;

const GUILD_PERM: Access = Guild { perm: true };
const GUILD_MEMBER: Access = Guild { perm: false };
const CHANNEL_PERM: Access = Channel { perm: true };
const CHANNEL_MEMBER: Access = Channel { perm: false };

fn name(s: &str) -> Value {
    json!({ "name": format!("{s}{MARK}") })
}

/// Every row.
pub fn rows() -> Vec<Row> {
    vec![
        // --- auth
        row("POST /auth/register", Public).json(|_| {
            json!({"username": "newcomer", "email": "newcomer@example.com", "password": "correct horse battery", "date_of_birth": "2000-01-01", "consent": true})
        }),
        row("POST /auth/login", Public)
            .json(|_| json!({"login": "outsider@example.com", "password": "correct horse battery"})),
        row("POST /auth/logout", Me).by(Who::Fresh),
        row("GET /auth/location-metadata", Public),
        // --- users
        row("GET /users/@me", Me),
        row("PATCH /users/@me", Me).json(|_| json!({"global_name": "Owner"})),
        row("GET /users/@me/guilds", Me),
        row("DELETE /users/@me/guilds/{guild_id}", Me).by(Who::FreshMember),
        row("GET /users/@me/guilds/{guild_id}/member", GUILD_MEMBER).member_ok(),
        row("GET /users/@me/channels", Me),
        row("POST /users/@me/channels", Me)
            .json(|w| json!({"recipient_id": w.get("member_id")})),
        row("GET /users/{user_id}", Me),
        row("GET /users/{user_id}/profile", Me),
        row("GET /users/@me/relationships", Me).no_bots(),
        row("POST /users/@me/relationships", Me)
            .no_bots()
            .json(|_| json!({"username": "outsider"})),
        row("PUT /users/@me/relationships/{user_id}", Me)
            .no_bots()
            .p("user_id", "friend_id")
            .json(|_| json!({})),
        row("DELETE /users/@me/relationships/{user_id}", Me)
            .no_bots()
            .p("user_id", "friend_id"),
        row("GET /users/@me/settings", Me).no_bots(),
        row("PATCH /users/@me/settings", Me)
            .no_bots()
            .json(|_| json!({"theme": "light"})),
        row("GET /users/@me/connections", Me).no_bots(),
        row("GET /users/@me/affinities/users", Me).no_bots(),
        row("GET /users/@me/affinities/guilds", Me).no_bots(),
        row("GET /users/@me/billing/country-code", Me).no_bots(),
        row("GET /users/@me/billing/location-info", Me).no_bots(),
        row("GET /users/@me/billing/payment-sources", Me).no_bots(),
        row("GET /users/@me/billing/subscriptions", Me).no_bots(),
        row("GET /users/@me/library", Me).no_bots(),
        row("GET /users/@me/consent", Me).no_bots(),
        row("POST /users/@me/consent", Me)
            .no_bots()
            .json(|_| json!({"grant": ["personalization"], "revoke": []})),
        row("GET /users/@me/entitlements", Me).no_bots(),
        row("PATCH /users/@me/connections/{connection_type}/{connection_id}", Me)
            .no_bots()
            .json(|_| json!({"visibility": 1}))
            .ok_status(404, "needs an account linked through a provider's OAuth2 (tests/connections.rs)"),
        row("DELETE /users/@me/connections/{connection_type}/{connection_id}", Me)
            .no_bots()
            .ok_status(404, "needs an account linked through a provider's OAuth2 (tests/connections.rs)"),
        // --- guilds
        row("POST /guilds", Me).json(|_| name("made")),
        row("GET /guilds/{guild_id}", GUILD_MEMBER).member_ok(),
        row("PATCH /guilds/{guild_id}", GUILD_PERM).json(|_| name("guild")),
        // Spare guilds only the owner is in: everyone else gets Unknown Guild.
        row("DELETE /guilds/{guild_id}", Owned).p("guild_id", "spare_guild"),
        row("POST /guilds/{guild_id}/delete", Owned).p("guild_id", "spare_guild2"),
        row("GET /guilds/{guild_id}/channels", GUILD_MEMBER).member_ok(),
        row("POST /guilds/{guild_id}/channels", GUILD_PERM).json(|_| json!({"name": "made"})),
        row("PATCH /guilds/{guild_id}/channels", GUILD_PERM)
            .json(|w| json!([{"id": w.get("spare_channel"), "position": 3}])),
        row("GET /guilds/{guild_id}/members", GUILD_MEMBER).member_ok(),
        row("GET /guilds/{guild_id}/members/search", GUILD_MEMBER)
            .member_ok()
            .q("?query=mem"),
        row("PATCH /guilds/{guild_id}/members/@me", GUILD_PERM).json(|_| json!({"nick": "boss"})),
        row("GET /guilds/{guild_id}/members/{user_id}", GUILD_MEMBER).member_ok(),
        row("PATCH /guilds/{guild_id}/members/{user_id}", GUILD_PERM)
            .json(|_| json!({"nick": "renamed"})),
        // @everyone may create invites, so members pass the permission; the grant is checked next.
        row("PUT /guilds/{guild_id}/members/{user_id}", GUILD_MEMBER)
            .member_ok()
            .json(|_| json!({"access_token": "not-a-grant"}))
            .ok_status(403, "50025: the access token must be the user's guilds.join grant to the caller's bot (tests/oauth.rs)"),
        row("DELETE /guilds/{guild_id}/members/{user_id}", GUILD_PERM).p("user_id", "kick_id"),
        row("PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}", GUILD_PERM),
        row("DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}", GUILD_PERM)
            .p("role_id", "given_role"),
        row("GET /guilds/{guild_id}/roles", GUILD_MEMBER).member_ok(),
        row("POST /guilds/{guild_id}/roles", GUILD_PERM).json(|_| name("made")),
        row("PATCH /guilds/{guild_id}/roles", GUILD_PERM)
            .json(|w| json!([{"id": w.get("role"), "position": 1}])),
        row("GET /guilds/{guild_id}/roles/member-counts", GUILD_MEMBER).member_ok(),
        row("GET /guilds/{guild_id}/roles/{role_id}", GUILD_MEMBER).member_ok(),
        row("PATCH /guilds/{guild_id}/roles/{role_id}", GUILD_PERM).json(|_| name("role")),
        row("DELETE /guilds/{guild_id}/roles/{role_id}", GUILD_PERM).p("role_id", "spare_role"),
        row("GET /guilds/{guild_id}/bans", GUILD_PERM),
        row("GET /guilds/{guild_id}/bans/{user_id}", GUILD_PERM).p("user_id", "banned_id"),
        // Before the single ban of the same user: banning someone already banned fails.
        row("POST /guilds/{guild_id}/bulk-ban", GUILD_PERM)
            .json(|w| json!({"user_ids": [w.get("ban_target_id")]})),
        row("PUT /guilds/{guild_id}/bans/{user_id}", GUILD_PERM)
            .p("user_id", "ban_target_id")
            .json(|_| json!({})),
        row("DELETE /guilds/{guild_id}/bans/{user_id}", GUILD_PERM).p("user_id", "spare_banned_id"),
        row("GET /guilds/{guild_id}/emojis", GUILD_MEMBER).member_ok(),
        row("POST /guilds/{guild_id}/emojis", GUILD_PERM)
            .json(|_| json!({"name": "made", "image": super::world::png_data_uri()})),
        row("GET /guilds/{guild_id}/emojis/{emoji_id}", GUILD_MEMBER).member_ok(),
        row("PATCH /guilds/{guild_id}/emojis/{emoji_id}", GUILD_PERM)
            .json(|_| json!({"name": "renamed"})),
        row("DELETE /guilds/{guild_id}/emojis/{emoji_id}", GUILD_PERM)
            .p("emoji_id", "spare_emoji"),
        row("GET /guilds/{guild_id}/scheduled-events", GUILD_MEMBER).member_ok(),
        row("POST /guilds/{guild_id}/scheduled-events", GUILD_PERM)
            .json(|_| super::world::scheduled_event("made")),
        row("GET /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}", GUILD_MEMBER)
            .member_ok(),
        row("PATCH /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}", GUILD_PERM)
            .json(|_| name("renamed event")),
        row("DELETE /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}", GUILD_PERM)
            .p("guild_scheduled_event_id", "spare_event"),
        row("GET /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users", GUILD_MEMBER)
            .member_ok(),
        row("PUT /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/@me", GUILD_MEMBER)
            .member_ok(),
        row("DELETE /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/@me", GUILD_MEMBER)
            .member_ok(),
        row("GET /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/counts", GUILD_MEMBER)
            .member_ok(),
        row("POST /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions", GUILD_PERM)
            .json(|w| json!({"original_scheduled_start_time": w.get("free_occurrence"), "is_canceled": true})),
        row("PATCH /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions/{exception_id}", GUILD_PERM)
            .json(|_| json!({"is_canceled": false})),
        row("DELETE /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions/{exception_id}", GUILD_PERM)
            .p("exception_id", "spare_event_exception"),
        row("GET /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users", GUILD_MEMBER)
            .member_ok(),
        row("PUT /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users/@me", GUILD_MEMBER)
            .member_ok(),
        row("DELETE /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users/@me", GUILD_MEMBER)
            .member_ok(),
        row("GET /guilds/{guild_id}/auto-moderation/rules", GUILD_PERM),
        row("POST /guilds/{guild_id}/auto-moderation/rules", GUILD_PERM)
            .json(|_| super::world::automod_rule("made")),
        row("GET /guilds/{guild_id}/auto-moderation/rules/{rule_id}", GUILD_PERM),
        row("PATCH /guilds/{guild_id}/auto-moderation/rules/{rule_id}", GUILD_PERM)
            .json(|_| name("renamed rule")),
        row("DELETE /guilds/{guild_id}/auto-moderation/rules/{rule_id}", GUILD_PERM)
            .p("rule_id", "spare_automod_rule"),
        row("GET /guilds/{guild_id}/stickers", GUILD_MEMBER).member_ok(),
        {
            let mut r = row("POST /guilds/{guild_id}/stickers", GUILD_PERM);
            r.sticker = true;
            r
        },
        row("GET /guilds/{guild_id}/stickers/{sticker_id}", GUILD_MEMBER).member_ok(),
        row("PATCH /guilds/{guild_id}/stickers/{sticker_id}", GUILD_PERM)
            .json(|_| name("st")),
        row("DELETE /guilds/{guild_id}/stickers/{sticker_id}", GUILD_PERM)
            .p("sticker_id", "spare_sticker"),
        row("GET /guilds/{guild_id}/soundboard-sounds", GUILD_MEMBER).member_ok(),
        row("POST /guilds/{guild_id}/soundboard-sounds", GUILD_PERM)
            .json(|_| json!({"name": "new sound", "sound": "data:audio/ogg;base64,T2dnUwACAAAAAAAA"})),
        row("GET /guilds/{guild_id}/soundboard-sounds/{sound_id}", GUILD_MEMBER).member_ok(),
        row("PATCH /guilds/{guild_id}/soundboard-sounds/{sound_id}", GUILD_PERM)
            .json(|_| json!({"volume": 0.5})),
        row("DELETE /guilds/{guild_id}/soundboard-sounds/{sound_id}", GUILD_PERM)
            .p("sound_id", "spare_sound"),
        row("GET /soundboard-default-sounds", Me),
        row("POST /channels/{channel_id}/send-soundboard-sound", CHANNEL_MEMBER)
            .member_ok()
            .p("channel_id", "voice")
            .json(|_| json!({"sound_id": "1"}))
            .ok_status(400, "needs a gateway voice connection: 40032 (tests/stage.rs)"),
        row("GET /guilds/{guild_id}/audit-logs", GUILD_PERM),
        row("GET /guilds/{guild_id}/preview", GUILD_MEMBER).member_ok(),
        row("GET /guilds/{guild_id}/prune", GUILD_PERM),
        row("POST /guilds/{guild_id}/prune", GUILD_PERM)
            .json(|_| json!({"days": 30, "compute_prune_count": true})),
        row("GET /guilds/{guild_id}/regions", GUILD_MEMBER).member_ok(),
        row("GET /guilds/{guild_id}/vanity-url", GUILD_PERM),
        row("PATCH /guilds/{guild_id}/vanity-url", GUILD_PERM)
            .json(|_| json!({"code": "authzvanity"})),
        row("GET /guilds/{guild_id}/widget", GUILD_PERM),
        row("PATCH /guilds/{guild_id}/widget", GUILD_PERM).json(|_| json!({"enabled": true})),
        row("GET /guilds/{guild_id}/widget.json", Public),
        row("GET /guilds/{guild_id}/widget.png", Public),
        // Disabled (as in the world): MANAGE_GUILD.
        row("GET /guilds/{guild_id}/welcome-screen", GUILD_PERM),
        row("PATCH /guilds/{guild_id}/welcome-screen", GUILD_PERM)
            .json(|_| json!({"description": "Welcome!"})),
        row("GET /guilds/{guild_id}/onboarding", GUILD_MEMBER).member_ok(),
        row("PUT /guilds/{guild_id}/onboarding", GUILD_PERM)
            .json(|_| json!({"prompts": [], "mode": 1})),
        row("GET /guilds/{guild_id}/new-member-welcome", GUILD_MEMBER).member_ok(),
        // Member verification is off in the world: the form is the managers' (MANAGE_GUILD).
        row("GET /guilds/{guild_id}/member-verification", GUILD_PERM),
        row("PATCH /guilds/{guild_id}/member-verification", GUILD_PERM)
            .json(|_| json!({"description": "Read the rules"})),
        row("GET /guilds/{guild_id}/requests", GUILD_PERM),
        row("PATCH /guilds/{guild_id}/requests/{request_id}", GUILD_PERM)
            .p("request_id", "=1234567890123456789")
            .json(|_| json!({"action": "APPROVED"}))
            .ok_status(404, "no join request in the world: 10075 (tests/join_requests.rs)"),
        row("PUT /guilds/{guild_id}/requests/@me", GUILD_MEMBER)
            .member_ok()
            .json(|_| json!({"form_fields": []}))
            .ok_status(404, "member verification is off in the world: 10068 (tests/join_requests.rs)"),
        row("DELETE /guilds/{guild_id}/requests/@me", GUILD_MEMBER)
            .member_ok()
            .ok_status(404, "no join request in the world: 10075 (tests/join_requests.rs)"),
        row("GET /guilds/{guild_id}/integrations", GUILD_PERM),
        row("DELETE /guilds/{guild_id}/integrations/{integration_id}", GUILD_PERM),
        // DMs, not invites: later rows still join through invites.
        row("PUT /guilds/{guild_id}/incident-actions", GUILD_PERM).json(|_| {
            let soon = accord::model::Timestamp::now().millis() + 3_600_000;
            json!({"dms_disabled_until": accord::model::Timestamp::from_millis(soon).to_string()})
        }),
        row("GET /guilds/templates/{code}", Public).p("code", "template"),
        row("POST /guilds/templates/{code}", Me)
            .p("code", "template")
            .json(|_| name("from template")),
        row("GET /guilds/{guild_id}/templates", GUILD_PERM),
        row("PUT /guilds/{guild_id}/templates/{code}", GUILD_PERM).p("code", "template"),
        row("PATCH /guilds/{guild_id}/templates/{code}", GUILD_PERM)
            .p("code", "template")
            .json(|_| name("tpl")),
        // A guild has at most one template (30031): deleted first, then made again.
        row("DELETE /guilds/{guild_id}/templates/{code}", GUILD_PERM).p("code", "template"),
        row("POST /guilds/{guild_id}/templates", GUILD_PERM).json(|_| name("tpl")),
        // --- channels
        row("GET /channels/{channel_id}", CHANNEL_MEMBER).member_ok(),
        row("PATCH /channels/{channel_id}", CHANNEL_PERM).json(|_| json!({"topic": "t"})),
        row("DELETE /channels/{channel_id}", CHANNEL_PERM).p("channel_id", "spare_channel"),
        row("GET /channels/{channel_id}/messages", CHANNEL_MEMBER).member_ok(),
        row("POST /channels/{channel_id}/messages", CHANNEL_MEMBER)
            .member_ok()
            .json(|_| json!({"content": "hi"})),
        row("POST /channels/{channel_id}/messages/bulk-delete", CHANNEL_PERM)
            .json(|w| json!({"messages": [w.get("bulk1"), w.get("bulk2")]})),
        row("POST /channels/{channel_id}/messages/bulk_delete", CHANNEL_PERM)
            .json(|w| json!({"messages": [w.get("bulk3"), w.get("bulk4")]})),
        row("GET /channels/{channel_id}/messages/{message_id}", CHANNEL_MEMBER).member_ok(),
        row("PATCH /channels/{channel_id}/messages/{message_id}", CHANNEL_PERM)
            .author_only()
            .json(|_| json!({"content": "edited"})),
        row("DELETE /channels/{channel_id}/messages/{message_id}", CHANNEL_PERM)
            .p("message_id", "spare_message"),
        row("POST /channels/{channel_id}/messages/{message_id}/crosspost", CHANNEL_PERM)
            .p("channel_id", "news")
            .p("message_id", "news_message"),
        row("POST /channels/{channel_id}/messages/{message_id}/ack", CHANNEL_MEMBER)
            .member_ok()
            .no_bots()
            .json(|_| json!({})),
        row("POST /read-states/ack-bulk", Me)
            .no_bots()
            .json(|w| json!({"read_states": [{"channel_id": w.get("channel"), "message_id": w.get("message")}]})),
        row("DELETE /channels/{channel_id}/messages/{message_id}/reactions", CHANNEL_PERM)
            .p("message_id", "react_message"),
        row("GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}", CHANNEL_MEMBER)
            .member_ok()
            .p("message_id", "react_message3"),
        row("DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}", CHANNEL_PERM)
            .p("message_id", "react_message2"),
        row("PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", CHANNEL_PERM),
        row("DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", CHANNEL_MEMBER)
            .member_ok()
            .p("message_id", "react_message3"),
        row("DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}", CHANNEL_PERM)
            .p("message_id", "react_message3")
            .p("user_id", "owner_id"),
        row("PUT /channels/{channel_id}/permissions/{overwrite_id}", CHANNEL_PERM)
            .json(|_| json!({"type": 1, "allow": "1024", "deny": "0"})),
        row("DELETE /channels/{channel_id}/permissions/{overwrite_id}", CHANNEL_PERM),
        row("GET /channels/{channel_id}/pins", CHANNEL_MEMBER).member_ok(),
        row("PUT /channels/{channel_id}/pins/{message_id}", CHANNEL_PERM),
        row("DELETE /channels/{channel_id}/pins/{message_id}", CHANNEL_PERM)
            .p("message_id", "pin_message"),
        row("GET /channels/{channel_id}/messages/pins", CHANNEL_MEMBER).member_ok(),
        row("PUT /channels/{channel_id}/messages/pins/{message_id}", CHANNEL_PERM)
            .p("message_id", "spare_webhook_message"),
        row("DELETE /channels/{channel_id}/messages/pins/{message_id}", CHANNEL_PERM)
            .p("message_id", "pin_message2"),
        row("PUT /channels/{channel_id}/polls/{message_id}/answers/@me", CHANNEL_MEMBER)
            .member_ok()
            .p("message_id", "poll_message")
            .json(|_| json!({"answer_ids": [1, 2]})),
        row("GET /channels/{channel_id}/polls/{message_id}/answers/{answer_id}", CHANNEL_MEMBER)
            .member_ok()
            .p("message_id", "poll_message"),
        row("PUT /channels/{channel_id}/polls/{message_id}/answers/{answer_id}/@me", CHANNEL_MEMBER)
            .member_ok()
            .p("message_id", "poll_message"),
        row("DELETE /channels/{channel_id}/polls/{message_id}/answers/{answer_id}/@me", CHANNEL_MEMBER)
            .member_ok()
            .p("message_id", "poll_message"),
        // Only the poll's author may end it: other members get 50013.
        row("POST /channels/{channel_id}/polls/{message_id}/expire", CHANNEL_PERM)
            .p("message_id", "poll_message2"),
        row("PUT /channels/{channel_id}/recipients/{user_id}", CHANNEL_MEMBER)
            .no_bots()
            .p("channel_id", "gdm")
            .p("user_id", "outsider_id")
            .json(|_| json!({})),
        row("DELETE /channels/{channel_id}/recipients/{user_id}", CHANNEL_PERM)
            .no_bots()
            .p("channel_id", "gdm")
            .p("user_id", "friend_id"),
        row("POST /channels/{channel_id}/typing", CHANNEL_MEMBER).member_ok(),
        row("POST /channels/{channel_id}/followers", CHANNEL_PERM)
            .p("channel_id", "news")
            .json(|w| json!({"webhook_channel_id": w.get("channel")})),
        // --- threads (the fixture thread is public, so the member sees it but holds none of
        // the thread permissions)
        row("POST /channels/{channel_id}/threads", CHANNEL_PERM).json(|_| json!({"name": "t"})),
        row("POST /channels/{channel_id}/messages/{message_id}/threads", CHANNEL_PERM)
            .p("message_id", "thread_starter")
            .json(|_| json!({"name": "from a message"})),
        row("GET /channels/{channel_id}/thread-members", CHANNEL_MEMBER)
            .member_ok()
            .p("channel_id", "thread"),
        row("GET /channels/{channel_id}/thread-members/{user_id}", CHANNEL_MEMBER)
            .member_ok()
            .p("channel_id", "thread")
            .p("user_id", "owner_id"),
        // Adding someone else needs SEND_MESSAGES_IN_THREADS; removing them MANAGE_THREADS.
        row("PUT /channels/{channel_id}/thread-members/{user_id}", CHANNEL_PERM)
            .p("channel_id", "thread")
            .p("user_id", "disabled_id"),
        row("DELETE /channels/{channel_id}/thread-members/{user_id}", CHANNEL_PERM)
            .p("channel_id", "thread")
            .p("user_id", "disabled_id"),
        row("PUT /channels/{channel_id}/thread-members/@me", CHANNEL_MEMBER)
            .member_ok()
            .p("channel_id", "thread"),
        row("DELETE /channels/{channel_id}/thread-members/@me", CHANNEL_MEMBER)
            .member_ok()
            .p("channel_id", "thread"),
        row("GET /channels/{channel_id}/threads/search", CHANNEL_MEMBER).member_ok(),
        row("GET /channels/{channel_id}/threads/archived/public", CHANNEL_MEMBER).member_ok(),
        row("GET /channels/{channel_id}/threads/archived/private", CHANNEL_PERM),
        row("GET /channels/{channel_id}/users/@me/threads/archived/private", CHANNEL_MEMBER)
            .member_ok(),
        row("GET /guilds/{guild_id}/threads/active", GUILD_MEMBER).member_ok(),
        row("GET /guilds/{guild_id}/messages/search", GUILD_MEMBER).member_ok(),
        // --- invites
        row("GET /invites/{code}", Public),
        row("POST /invites/{code}", Me).by(Who::Fresh).no_bots().json(|_| json!({})),
        row("DELETE /invites/{code}", GUILD_PERM).p("code", "spare_invite"),
        row("GET /guilds/{guild_id}/invites", GUILD_PERM),
        row("GET /channels/{channel_id}/invites", CHANNEL_PERM),
        row("POST /channels/{channel_id}/invites", CHANNEL_PERM).json(|_| json!({})),
        // The inviter or MANAGE_GUILD; on an invite of its own, so no other row's join is barred.
        row("PUT /invites/{code}/target-users", GUILD_PERM)
            .p("code", "target_invite")
            .csv(|w| format!("user_id\n{}\n", w.get("member_id"))),
        row("GET /invites/{code}/target-users", GUILD_PERM).p("code", "target_invite"),
        row("GET /invites/{code}/target-users/job-status", GUILD_PERM).p("code", "target_invite"),
        // --- stickers
        row("GET /stickers/{sticker_id}", Me),
        row("GET /sticker-packs", Me),
        row("GET /sticker-packs/{pack_id}", Me)
            .ok_status(404, "no standard sticker packs here (always 10061)"),
        // --- webhooks
        row("GET /channels/{channel_id}/webhooks", CHANNEL_PERM),
        row("POST /channels/{channel_id}/webhooks", CHANNEL_PERM).json(|_| name("made")),
        row("GET /guilds/{guild_id}/webhooks", GUILD_PERM),
        row("GET /webhooks/{webhook_id}", Channel { perm: true }),
        row("PATCH /webhooks/{webhook_id}", Channel { perm: true }).json(|_| name("hook")),
        row("DELETE /webhooks/{webhook_id}", Channel { perm: true })
            .p("webhook_id", "spare_webhook"),
        row("GET /webhooks/{webhook_id}/{token}", PathSecret),
        row("PATCH /webhooks/{webhook_id}/{token}", PathSecret).json(|_| name("hook")),
        row("DELETE /webhooks/{webhook_id}/{token}", PathSecret)
            .p("webhook_id", "token_webhook")
            .p("token", "token_webhook_token"),
        row("POST /webhooks/{webhook_id}/{token}", PathSecret)
            .json(|_| json!({"content": "from the hook"})),
        row("POST /webhooks/{webhook_id}/{token}/slack", PathSecret)
            .json(|_| json!({"text": "from slack"})),
        // No X-GitHub-Event header: an event Discord doesn't post, answered 204.
        row("POST /webhooks/{webhook_id}/{token}/github", PathSecret).json(|_| {
            json!({"zen": "Keep it logically awesome.", "sender": {"id": 1, "login": "octocat",
                "html_url": "https://github.com/octocat", "avatar_url": "https://github.com/octocat.png"}})
        }),
        row("GET /webhooks/{webhook_id}/{token}/messages/{message_id}", PathSecret)
            .p("message_id", "webhook_message"),
        row("PATCH /webhooks/{webhook_id}/{token}/messages/{message_id}", PathSecret)
            .p("message_id", "webhook_message")
            .json(|_| json!({"content": "edited by the hook"})),
        row("DELETE /webhooks/{webhook_id}/{token}/messages/{message_id}", PathSecret)
            .p("message_id", "spare_webhook_message"),
        // --- applications
        row("GET /applications", Me).no_bots(),
        row("POST /applications", Me).no_bots().json(|_| name("made")),
        row("GET /applications/@me", Me).by(Who::Bot),
        row("PATCH /applications/@me", Me)
            .by(Who::Bot)
            .json(|_| json!({"description": "edited by its bot"})),
        row("GET /oauth2/applications/@me", Me).by(Who::Bot),
        row("GET /applications/{application_id}", Owned),
        row("PATCH /applications/{application_id}", Owned).json(|_| json!({"description": "d"})),
        row("DELETE /applications/{application_id}", Owned).p("application_id", "spare_app"),
        row("POST /applications/{application_id}/delete", Owned).p("application_id", "spare_app2"),
        row("POST /applications/{application_id}/bot", Owned)
            .p("application_id", "bot_app"),
        row("POST /applications/{application_id}/bot/reset", Owned).p("application_id", "reset_app"),
        row("POST /applications/{application_id}/reset", Owned),
        row("POST /applications/{application_id}/transfer", Owned)
            .p("application_id", "reset_app")
            .json(|w| json!({"team_id": w.get("transfer_team")})),
        row("GET /applications/{application_id}/commands", Owned).bot_ok(),
        row("POST /applications/{application_id}/commands", Owned)
            .bot_ok()
            .json(|_| json!({"name": "made", "description": "made"})),
        row("GET /applications/{application_id}/commands/{command_id}", Owned).bot_ok(),
        row("PATCH /applications/{application_id}/commands/{command_id}", Owned)
            .bot_ok()
            .json(|_| json!({"description": "edited"})),
        row("DELETE /applications/{application_id}/commands/{command_id}", Owned)
            .bot_ok()
            .p("command_id", "spare_command"),
        // Command permissions (at the application's id: application-wide), set by a member
        // with MANAGE_GUILD and MANAGE_ROLES through a user token.
        row("GET /applications/{application_id}/guilds/{guild_id}/commands/permissions", Owned)
            .bot_ok(),
        row(
            "PUT /applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions",
            GUILD_PERM,
        )
        .no_bots()
        .p("command_id", "application")
        .json(|w| json!({"permissions": [{"id": w.get("guild"), "type": 1, "permission": true}]})),
        row(
            "GET /applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions",
            Owned,
        )
        .bot_ok()
        .p("command_id", "application"),
        // Application emojis, role connection metadata, entitlements, attachments.
        row("GET /applications/{application_id}/emojis", Owned).bot_ok(),
        row("POST /applications/{application_id}/emojis", Owned)
            .bot_ok()
            .json(|_| json!({"name": "made", "image": super::world::png_data_uri()})),
        row("GET /applications/{application_id}/emojis/{emoji_id}", Owned)
            .bot_ok()
            .p("emoji_id", "app_emoji"),
        row("PATCH /applications/{application_id}/emojis/{emoji_id}", Owned)
            .bot_ok()
            .p("emoji_id", "app_emoji")
            .json(|_| name("renamed")),
        row("DELETE /applications/{application_id}/emojis/{emoji_id}", Owned)
            .bot_ok()
            .p("emoji_id", "spare_app_emoji"),
        row("GET /applications/{application_id}/role-connections/metadata", Owned).bot_ok(),
        row("PUT /applications/{application_id}/role-connections/metadata", Owned)
            .bot_ok()
            .json(|_| json!([{"type": 7, "key": "verified", "name": "Verified", "description": "d"}])),
        row("GET /users/@me/applications/{application_id}/role-connection", Me).no_bots(),
        row("PUT /users/@me/applications/{application_id}/role-connection", Me)
            .no_bots()
            .json(|_| json!({"platform_name": "Game"})),
        row("DELETE /users/@me/applications/{application_id}/role-connection", Me).no_bots(),
        row("GET /applications/{application_id}/entitlements", Owned).bot_ok(),
        row("POST /applications/{application_id}/entitlements", Owned)
            .bot_ok()
            .json(|w| json!({"sku_id": "1", "owner_id": w.get("member_id"), "owner_type": 2})),
        row("GET /applications/{application_id}/entitlements/{entitlement_id}", Owned).bot_ok(),
        row("POST /applications/{application_id}/entitlements/{entitlement_id}/consume", Owned)
            .bot_ok(),
        row("DELETE /applications/{application_id}/entitlements/{entitlement_id}", Owned)
            .bot_ok()
            .p("entitlement_id", "spare_entitlement"),
        row("GET /users/@me/applications/{application_id}/entitlements", Me).no_bots(),
        row("POST /applications/{application_id}/attachment", Owned)
            .bot_ok()
            .upload(),
        // After the DELETE: a bulk overwrite replaces every command.
        row("PUT /applications/{application_id}/commands", Owned)
            .bot_ok()
            .json(|_| json!([{"name": "one", "description": "a command"}])),
        row("GET /applications/{application_id}/guilds/{guild_id}/commands", Owned).bot_ok(),
        row("POST /applications/{application_id}/guilds/{guild_id}/commands", Owned)
            .bot_ok()
            .json(|_| json!({"name": "made", "description": "made"})),
        row("GET /applications/{application_id}/guilds/{guild_id}/commands/{command_id}", Owned)
            .bot_ok()
            .p("command_id", "guild_command"),
        row("PATCH /applications/{application_id}/guilds/{guild_id}/commands/{command_id}", Owned)
            .bot_ok()
            .p("command_id", "guild_command")
            .json(|_| json!({"description": "edited"})),
        row("DELETE /applications/{application_id}/guilds/{guild_id}/commands/{command_id}", Owned)
            .bot_ok()
            .p("command_id", "spare_guild_command"),
        // After the DELETE: a bulk overwrite replaces every command.
        row("PUT /applications/{application_id}/guilds/{guild_id}/commands", Owned)
            .bot_ok()
            .json(|_| json!([{"name": "three", "description": "a command"}])),
        // --- interactions
        row("POST /interactions/{interaction_id}/{interaction_token}/callback", PathSecret)
            .json(|_| json!({"type": 4, "data": {"content": "x"}}))
            .ok_status(404, "needs a live interaction (tests/interactions.rs)"),
        row("GET /webhooks/{webhook_id}/{token}/messages/@original", PathSecret)
            .ok_status(404, "an incoming webhook has no interaction response (tests/interactions.rs)"),
        row("PATCH /webhooks/{webhook_id}/{token}/messages/@original", PathSecret)
            .json(|_| json!({"content": "x"}))
            .ok_status(404, "an incoming webhook has no interaction response (tests/interactions.rs)"),
        row("DELETE /webhooks/{webhook_id}/{token}/messages/@original", PathSecret)
            .ok_status(404, "an incoming webhook has no interaction response (tests/interactions.rs)"),
        // --- teams (the member is a read-only member of `team`)
        row("GET /teams", Me).no_bots(),
        row("POST /teams", Me).no_bots().json(|_| name("made")),
        row("GET /teams/{team_id}", Owned).no_bots().member_ok(),
        row("PATCH /teams/{team_id}", Owned).no_bots().member_lacks().json(|_| name("team")),
        row("DELETE /teams/{team_id}", Owned).no_bots().p("team_id", "spare_team"),
        row("POST /teams/{team_id}/delete", Owned).no_bots().p("team_id", "spare_team2"),
        row("GET /teams/{team_id}/applications", Owned).no_bots().member_ok(),
        row("GET /teams/{team_id}/members", Owned).no_bots().member_ok(),
        row("POST /teams/{team_id}/members", Owned)
            .no_bots()
            .member_lacks()
            .json(|_| json!({"username": "outsider", "role": "read_only"})),
        row("PUT /teams/{team_id}/members/@me", Owned)
            .no_bots()
            .by(Who::Member)
            .member_ok()
            .p("team_id", "invite_team"),
        row("DELETE /teams/{team_id}/members/@me", Owned)
            .no_bots()
            .by(Who::Member)
            .member_ok()
            .p("team_id", "leave_team"),
        row("PATCH /teams/{team_id}/members/{user_id}", Owned)
            .no_bots()
            .member_lacks()
            .json(|_| json!({"role": "admin"})),
        row("DELETE /teams/{team_id}/members/{user_id}", Owned)
            .no_bots()
            .member_lacks()
            .p("user_id", "outsider_id"),
        // --- connections
        row("GET /connections/{connection_type}/authorize", Me)
            .no_bots()
            .ok_status(404, "no provider is configured on a fresh instance: 10010 (tests/connections.rs)"),
        row("POST /connections/{connection_type}/callback", Me)
            .no_bots()
            .json(|_| json!({"code": "x", "state": "y"}))
            .ok_status(404, "no provider is configured on a fresh instance: 10010 (tests/connections.rs)"),
        // --- oauth2
        row("GET /oauth2/authorize", Me).no_bots().q("?client_id={application}&scope=bot"),
        row("POST /oauth2/authorize", GUILD_PERM)
            .no_bots()
            .q("?client_id={application}&scope=bot")
            .json(|w| json!({"guild_id": w.get("guild"), "permissions": "0", "authorize": true})),
        row("POST /oauth2/token", Public)
            .ok_status(400, "invalid_request without a form body and client credentials (tests/oauth.rs)"),
        row("POST /oauth2/token/revoke", Public)
            .ok_status(400, "invalid_request without a form body and client credentials (tests/oauth.rs)"),
        row("GET /oauth2/@me", Me).ok_status(401, "needs an OAuth2 bearer token (tests/oauth.rs)"),
        row("GET /oauth2/userinfo", Me)
            .ok_status(401, "needs an OAuth2 bearer token (tests/oauth.rs)"),
        row("GET /oauth2/keys", Public),
        // After the bot joined the guild (the row above).
        row("POST /interactions", CHANNEL_MEMBER)
            .no_bots()
            .member_ok()
            .json(|w| json!({"type": 2, "application_id": w.get("application"), "guild_id": w.get("guild"), "channel_id": w.get("channel"), "data": {"id": w.get("guild_command"), "name": "three", "type": 1}}))
            ,
        // --- gateway, policies
        row("GET /voice/regions", Me),
        row("GET /guilds/{guild_id}/voice-states/@me", GUILD_MEMBER)
            .ok_status(404, "needs a gateway voice connection: 10065 (tests/stage.rs)"),
        row("PATCH /guilds/{guild_id}/voice-states/@me", GUILD_MEMBER)
            .json(|_| json!({"suppress": true}))
            .ok_status(404, "needs a gateway voice connection: 10065 (tests/stage.rs)"),
        row("GET /guilds/{guild_id}/voice-states/{user_id}", GUILD_MEMBER)
            .ok_status(404, "needs a gateway voice connection: 10065 (tests/stage.rs)"),
        row("PATCH /guilds/{guild_id}/voice-states/{user_id}", GUILD_MEMBER)
            .json(|_| json!({"suppress": true}))
            .ok_status(404, "needs a gateway voice connection: 10065 (tests/stage.rs)"),
        row("POST /stage-instances", CHANNEL_PERM)
            .json(|w| json!({"channel_id": w.get("stage"), "topic": "topic"})),
        row("GET /stage-instances/{channel_id}", CHANNEL_MEMBER)
            .member_ok()
            .p("channel_id", "stage"),
        row("PATCH /stage-instances/{channel_id}", CHANNEL_PERM)
            .p("channel_id", "stage")
            .json(|_| json!({"topic": "another topic"})),
        row("DELETE /stage-instances/{channel_id}", CHANNEL_PERM).p("channel_id", "stage"),
        row("PUT /channels/{channel_id}/voice-status", CHANNEL_PERM)
            .p("channel_id", "voice")
            .json(|_| json!({"status": "status"})),
        row("GET /gateway", Public),
        row("GET /gateway/bot", Me),
        row("GET /policies/instance", Public),
        row("GET /policies/instance/", Public),
        row("GET /policies/instance/domains", Public),
        row("GET /policies/instance/limits", Public),
        row("GET /ping", Public),
        row("POST /science", Public),
        row("POST /track", Public),
        row("GET /experiments", Public),
        row("GET /openapi.json", Public),
        // --- admin
        row("GET /admin/health", Admin),
        row("GET /admin/config", Admin),
        row("PATCH /admin/config", Admin).json(|_| json!({})),
        row("GET /admin/users", Admin).q("?query=owner"),
        row("GET /admin/users/{user_id}", Admin),
        row("PATCH /admin/users/{user_id}", Admin).json(|_| json!({"disabled": false})),
        row("GET /admin/guilds/{guild_id}", Admin),
        row("DELETE /admin/guilds/{guild_id}", Admin).p("guild_id", "spare_guild3"),
        row("GET /admin/audit-log", Admin),
    ]
}
