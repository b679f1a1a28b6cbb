//! The permission matrix: for a representative set of routes, a member without the permission
//! is refused (403, 50013) and the same member succeeds once they have it — through a role,
//! through a channel overwrite (for channel permissions; an overwrite never grants a guild-wide
//! permission, as on Discord), as the owner, and as an administrator.
//!
//! Each "gains it" case first fails, then grants, then succeeds, so it also shows that the
//! actors' cached permissions are dropped when roles and overwrites change.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;
const READ_MESSAGE_HISTORY: u64 = 1 << 16;
const ADMINISTRATOR: u64 = 1 << 3;

#[derive(Debug, Clone, Copy)]
enum Action {
    CreateChannel,
    EditChannel,
    DeleteOthersMessage,
    Pin,
    Kick,
    Ban,
    ManageRoles,
    CreateInvite,
    EditGuild,
}

impl Action {
    /// The permission the route needs.
    fn permission(self) -> u64 {
        match self {
            Action::CreateChannel | Action::EditChannel => 1 << 4, // MANAGE_CHANNELS
            Action::DeleteOthersMessage => 1 << 13,                // MANAGE_MESSAGES
            Action::Pin => 1 << 51,                                // PIN_MESSAGES
            Action::Kick => 1 << 1,                                // KICK_MEMBERS
            Action::Ban => 1 << 2,                                 // BAN_MEMBERS
            Action::ManageRoles => 1 << 28,                        // MANAGE_ROLES
            Action::CreateInvite => 1,                             // CREATE_INSTANT_INVITE
            Action::EditGuild => 1 << 5,                           // MANAGE_GUILD
        }
    }

    /// Whether a channel overwrite can grant it (channel permissions) or not (guild-wide).
    fn channel_scoped(self) -> bool {
        matches!(
            self,
            Action::EditChannel | Action::DeleteOthersMessage | Action::Pin | Action::CreateInvite
        )
    }
}

struct Fixture {
    t: common::TestServer,
    owner: String,
    guild: String,
    channel: String,
    /// A member whose messages are deleted and pinned.
    poster: String,
    invite: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Fixture {
    async fn new() -> Fixture {
        let t = common::start().await;
        let owner = t.register("owner").await;
        let (guild, channel) = t.guild(&owner, "Matrix").await;
        // @everyone keeps only what every case needs, so nothing is granted by default.
        let r = t
            .patch(
                &format!("/guilds/{guild}/roles/{guild}"),
                &owner,
                json!({"permissions": (VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY).to_string()}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let inv = t
            .post(
                &format!("/channels/{channel}/invites"),
                &owner,
                json!({"max_age": 0, "max_uses": 0}),
            )
            .await;
        assert_eq!(inv.status, 200, "{}", inv.body);
        let invite = inv.body["code"].as_str().unwrap().to_string();
        let mut f = Fixture {
            t,
            owner,
            guild,
            channel,
            poster: String::new(),
            invite,
        };
        f.poster = f.member("poster").await.0;
        f
    }

    /// Registers a user and joins the guild; returns (token, user id).
    async fn member(&self, prefix: &str) -> (String, String) {
        let name = format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let token = self.t.register(&name).await;
        let join = self
            .t
            .post(&format!("/invites/{}", self.invite), &token, json!({}))
            .await;
        assert_eq!(join.status, 200, "{}", join.body);
        let id = self.t.me(&token).await["id"].as_str().unwrap().to_string();
        (token, id)
    }

    /// A role with `permissions`, given to `user`.
    async fn grant_role(&self, user: &str, permissions: u64) {
        let role = self
            .t
            .post(
                &format!("/guilds/{}/roles", self.guild),
                &self.owner,
                json!({"name": "granted", "permissions": permissions.to_string()}),
            )
            .await;
        assert_eq!(role.status, 200, "{}", role.body);
        let rid = role.body["id"].as_str().unwrap();
        let r = self
            .t
            .req(
                Method::PUT,
                &format!("/guilds/{}/members/{user}/roles/{rid}", self.guild),
                Some(&self.owner),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// A member overwrite on the fixture's channel allowing `permissions`.
    async fn grant_overwrite(&self, user: &str, permissions: u64) {
        let r = self
            .t
            .req(
                Method::PUT,
                &format!("/channels/{}/permissions/{user}", self.channel),
                Some(&self.owner),
                Some(json!({"type": 1, "allow": permissions.to_string(), "deny": "0"})),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    async fn message_by_poster(&self) -> String {
        let m = self
            .t
            .post(
                &format!("/channels/{}/messages", self.channel),
                &self.poster,
                json!({"content": "a message"}),
            )
            .await;
        assert_eq!(m.status, 200, "{}", m.body);
        m.body["id"].as_str().unwrap().to_string()
    }

    /// Performs the action as `token` on fresh targets; returns the response.
    async fn attempt(&self, action: Action, token: &str) -> common::Resp {
        let (t, g, c) = (&self.t, &self.guild, &self.channel);
        match action {
            Action::CreateChannel => {
                t.post(
                    &format!("/guilds/{g}/channels"),
                    token,
                    json!({"name": "made"}),
                )
                .await
            }
            Action::EditChannel => {
                t.patch(&format!("/channels/{c}"), token, json!({"topic": "edited"}))
                    .await
            }
            Action::DeleteOthersMessage => {
                let m = self.message_by_poster().await;
                t.delete(&format!("/channels/{c}/messages/{m}"), token)
                    .await
            }
            Action::Pin => {
                let m = self.message_by_poster().await;
                t.req(
                    Method::PUT,
                    &format!("/channels/{c}/pins/{m}"),
                    Some(token),
                    None,
                )
                .await
            }
            Action::Kick => {
                let (_, victim) = self.member("victim").await;
                t.delete(&format!("/guilds/{g}/members/{victim}"), token)
                    .await
            }
            Action::Ban => {
                let (_, victim) = self.member("victim").await;
                t.req(
                    Method::PUT,
                    &format!("/guilds/{g}/bans/{victim}"),
                    Some(token),
                    Some(json!({})),
                )
                .await
            }
            Action::ManageRoles => {
                t.post(&format!("/guilds/{g}/roles"), token, json!({"name": "r"}))
                    .await
            }
            Action::CreateInvite => {
                t.post(
                    &format!("/channels/{c}/invites"),
                    token,
                    json!({"unique": true}),
                )
                .await
            }
            Action::EditGuild => {
                t.patch(&format!("/guilds/{g}"), token, json!({"name": "Renamed"}))
                    .await
            }
        }
    }
}

fn refused(r: &common::Resp, what: &str) {
    assert_eq!(r.status, 403, "{what}: {}", r.body);
    assert_eq!(r.body["code"], 50013, "{what}: {}", r.body);
}

fn allowed(r: &common::Resp, what: &str) {
    assert!(
        (200..300).contains(&r.status),
        "{what}: {} {}",
        r.status,
        r.body
    );
}

async fn matrix(action: Action) {
    let f = Fixture::new().await;
    let need = action.permission();

    // Without the permission: refused.
    let (plain, _) = f.member("plain").await;
    refused(&f.attempt(action, &plain).await, "no permission");

    // Through a role: refused before, allowed after.
    let (by_role, by_role_id) = f.member("role").await;
    refused(&f.attempt(action, &by_role).await, "before the role");
    f.grant_role(&by_role_id, need).await;
    allowed(&f.attempt(action, &by_role).await, "via role");

    // Through a channel overwrite: grants channel permissions only.
    let (by_overwrite, by_overwrite_id) = f.member("overwrite").await;
    refused(
        &f.attempt(action, &by_overwrite).await,
        "before the overwrite",
    );
    f.grant_overwrite(&by_overwrite_id, need).await;
    let r = f.attempt(action, &by_overwrite).await;
    if action.channel_scoped() {
        allowed(&r, "via channel overwrite");
    } else {
        refused(&r, "a channel overwrite does not grant a guild permission");
    }

    // A deny overwrite beats a role that allows (channel permissions).
    if action.channel_scoped() {
        let r =
            f.t.req(
                Method::PUT,
                &format!("/channels/{}/permissions/{by_role_id}", f.channel),
                Some(&f.owner),
                Some(json!({"type": 1, "allow": "0", "deny": need.to_string()})),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
        refused(&f.attempt(action, &by_role).await, "denied by overwrite");
    }

    // The owner, and an administrator, can do everything.
    allowed(&f.attempt(action, &f.owner).await, "owner");
    let (admin, admin_id) = f.member("admin").await;
    f.grant_role(&admin_id, ADMINISTRATOR).await;
    allowed(&f.attempt(action, &admin).await, "administrator");

    // Nothing above changed the plain member's standing.
    refused(&f.attempt(action, &plain).await, "still no permission");
}

macro_rules! matrix_tests {
    ($($name:ident => $action:expr),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            matrix($action).await;
        }
    )*};
}

matrix_tests!(
    create_channel => Action::CreateChannel,
    edit_channel => Action::EditChannel,
    delete_message_of_another_user => Action::DeleteOthersMessage,
    pin_message => Action::Pin,
    kick_member => Action::Kick,
    ban_member => Action::Ban,
    manage_roles => Action::ManageRoles,
    create_invite => Action::CreateInvite,
    edit_guild => Action::EditGuild,
);

/// Hierarchy on top of permissions: a moderator cannot kick or ban someone whose highest role is
/// at or above theirs, nor edit such a role, nor move a role above their own.
#[tokio::test]
async fn hierarchy_limits_moderators() {
    let f = Fixture::new().await;
    let (moderator, moderator_id) = f.member("moderator").await;
    let (peer, peer_id) = f.member("peer").await;
    let perms = (1u64 << 1) | (1 << 2) | (1 << 28); // KICK, BAN, MANAGE_ROLES
    let role = |name: &str| {
        let t = &f.t;
        let (g, owner) = (f.guild.clone(), f.owner.clone());
        let name = name.to_string();
        async move {
            let r = t
                .post(
                    &format!("/guilds/{g}/roles"),
                    &owner,
                    json!({"name": name, "permissions": perms.to_string()}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let low = role("low").await;
    let high = role("high").await;
    let r =
        f.t.patch(
            &format!("/guilds/{}/roles", f.guild),
            &f.owner,
            json!([{"id": low, "position": 1}, {"id": high, "position": 2}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (user, rid) in [(&moderator_id, &low), (&peer_id, &high)] {
        let r =
            f.t.req(
                Method::PUT,
                &format!("/guilds/{}/members/{user}/roles/{rid}", f.guild),
                Some(&f.owner),
                None,
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    refused(
        &f.t.delete(
            &format!("/guilds/{}/members/{peer_id}", f.guild),
            &moderator,
        )
        .await,
        "kick above",
    );
    refused(
        &f.t.req(
            Method::PUT,
            &format!("/guilds/{}/bans/{peer_id}", f.guild),
            Some(&moderator),
            Some(json!({})),
        )
        .await,
        "ban above",
    );
    refused(
        &f.t.patch(
            &format!("/guilds/{}/roles/{high}", f.guild),
            &moderator,
            json!({"name": "mine now"}),
        )
        .await,
        "edit a higher role",
    );
    // A new role (position 1, newer than `low`) is below `low`; moving it to the top is refused.
    let r =
        f.t.post(
            &format!("/guilds/{}/roles", f.guild),
            &moderator,
            json!({"name": "fresh"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = r.body["id"].as_str().unwrap().to_string();
    refused(
        &f.t.patch(
            &format!("/guilds/{}/roles", f.guild),
            &moderator,
            json!([{"id": fresh, "position": 3}]),
        )
        .await,
        "move a role above your own",
    );
    refused(
        &f.t.patch(
            &format!("/guilds/{}/roles", f.guild),
            &moderator,
            json!([{"id": high, "position": 1}]),
        )
        .await,
        "move a role above you",
    );
    // The peer (higher) can act on the moderator.
    let r =
        f.t.delete(
            &format!("/guilds/{}/members/{moderator_id}", f.guild),
            &peer,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let roles: Vec<Value> =
        f.t.get(&format!("/guilds/{}/roles", f.guild), &f.owner)
            .await
            .body
            .as_array()
            .unwrap()
            .clone();
    assert!(roles.iter().any(|r| r["id"] == fresh));
}
