//! Member moderation beyond kick/ban: member search, prune, reading one ban, and deleting a
//! banned user's recent messages.

use serde::Serialize;
use serde_json::{Value, json};

use super::{State, audit};
use crate::actors::channel::ChannelMsg;
use crate::actors::{Reply, ask, reply};
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ChannelId, MessageId, RoleId, Snowflake, UserId};
use crate::model::Timestamp;
use crate::permissions::Permissions;

/// Discord's bounds for `delete_message_seconds` on a ban (7 days).
pub const MAX_BAN_DELETE_SECONDS: u64 = 7 * 24 * 60 * 60;

/// The answer to `POST /guilds/{id}/bulk-ban` (Discord's `BulkBanUsersResponse`).
#[derive(Debug, Default, Serialize)]
pub struct BulkBanResult {
    pub banned_users: Vec<UserId>,
    pub failed_users: Vec<UserId>,
}

impl State {
    /// `GET /guilds/{id}/members/search?query&limit`: members whose username, global name or
    /// nickname starts with `query` (case-insensitive), by username.
    pub(super) async fn search_members(
        &self,
        user: UserId,
        query: &str,
        limit: usize,
    ) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let q = query.trim().to_lowercase();
        let ids: Vec<UserId> = self.members.keys().copied().collect();
        let mut users = self.services.users.public_many(&ids).await?;
        users.retain(|u| {
            let nick = self.members.get(&u.id).and_then(|m| m.nick.as_deref());
            [Some(u.username.as_str()), u.global_name.as_deref(), nick]
                .into_iter()
                .flatten()
                .any(|n| n.to_lowercase().starts_with(&q))
        });
        users.sort_by(|a, b| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
        users.truncate(limit.clamp(1, 1000));
        Ok(Value::Array(
            users
                .iter()
                .filter_map(|u| self.members.get(&u.id).map(|m| m.to_json(u)))
                .collect(),
        ))
    }

    /// Members a prune of `days` would remove: not the owner, no roles other than
    /// `include_roles`, below the caller in the hierarchy, and joined more than `days` ago.
    ///
    /// Discord counts days of *inactivity*; this server does not track member activity, so the
    /// join date stands in for it (a member who joined long ago and has no roles is pruned even
    /// if they talk every day — give active members a role).
    fn prune_candidates(&self, by: UserId, days: u32, include_roles: &[RoleId]) -> Vec<UserId> {
        let cutoff = Timestamp(Timestamp::now().millis() - i64::from(days) * 86_400_000);
        let mine = self.top_rank(by);
        let mut out: Vec<UserId> = self
            .members
            .values()
            .filter(|m| m.user_id != self.guild.owner_id && m.user_id != by)
            .filter(|m| m.joined_at < cutoff)
            .filter(|m| m.roles.iter().all(|r| include_roles.contains(r)))
            .filter(|m| by == self.guild.owner_id || self.top_rank(m.user_id) < mine)
            .map(|m| m.user_id)
            .collect();
        out.sort();
        out
    }

    fn prune_check(&self, by: UserId, days: u32) -> Result<(), ApiError> {
        self.require_guild(by, Permissions::KICK_MEMBERS | Permissions::MANAGE_GUILD)?;
        if days == 0 {
            return Err(FieldErrors::single(
                "days",
                FieldError::NumberMin { min: 1 },
            ));
        }
        if days > 30 {
            return Err(FieldErrors::single(
                "days",
                FieldError::NumberMax { max: 30 },
            ));
        }
        Ok(())
    }

    /// `GET /guilds/{id}/prune` (KICK_MEMBERS and MANAGE_GUILD): `{"pruned": n}`.
    pub(super) fn prune_count(
        &self,
        by: UserId,
        days: u32,
        include_roles: &[RoleId],
    ) -> Result<Value, ApiError> {
        self.prune_check(by, days)?;
        Ok(json!({"pruned": self.prune_candidates(by, days, include_roles).len()}))
    }

    /// `POST /guilds/{id}/prune`: removes the candidates (GUILD_MEMBER_REMOVE each);
    /// `{"pruned": n}`, or `{"pruned": null}` when `compute_prune_count` is false.
    pub(super) async fn prune(
        &mut self,
        by: UserId,
        days: u32,
        include_roles: &[RoleId],
        compute_prune_count: bool,
    ) -> Result<Value, ApiError> {
        self.prune_check(by, days)?;
        let doomed = self.prune_candidates(by, days, include_roles);
        let owner = self.guild.owner_id;
        for target in &doomed {
            // Removed with the guild's own authority: permission and hierarchy were checked
            // above, for the caller.
            self.remove_member(owner, *target, None).await?;
        }
        let options = json!({
            "delete_member_days": days.to_string(),
            "members_removed": doomed.len().to_string(),
        });
        self.audit(by, audit::MEMBER_PRUNE, None, Vec::new(), Some(options))
            .await;
        Ok(json!({"pruned": compute_prune_count.then_some(doomed.len())}))
    }

    /// `GET /guilds/{id}/bans/{user}` (BAN_MEMBERS).
    pub(super) async fn get_ban(&self, by: UserId, target: UserId) -> Result<Value, ApiError> {
        self.require_guild(by, Permissions::BAN_MEMBERS)?;
        let ban = self
            .bans
            .get(&target)
            .ok_or(ApiError::Unknown(Unknown::Ban))?;
        let user = self.services.users.public(target).await?;
        Ok(json!({"reason": ban.reason, "user": user}))
    }

    /// `GET /guilds/{id}/roles/member-counts` (members): every role's id → how many members
    /// hold it. @everyone is listed with 0, as no member carries it in `roles`.
    pub(super) fn role_member_counts(&self, user: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let mut counts: std::collections::BTreeMap<RoleId, u32> =
            self.roles.iter().map(|r| (r.id, 0)).collect();
        for member in self.members.values() {
            for role in &member.roles {
                if let Some(n) = counts.get_mut(role) {
                    *n += 1;
                }
            }
        }
        Ok(json!(counts))
    }

    /// `POST /guilds/{id}/bulk-ban` (BAN_MEMBERS and MANAGE_GUILD): bans each listed user the
    /// caller may ban (GUILD_BAN_ADD and a MEMBER_BAN_ADD audit entry each). Unknown users,
    /// users already banned, the caller, the owner and members at or above the caller's top
    /// role end up in `failed_users`; when nobody could be banned the answer is 500000 "Failed
    /// to ban users" — with status 400, as the operation's spec lists only client errors and
    /// a 5xx would invite clients to retry a request that cannot succeed.
    pub(super) async fn bulk_ban(
        &mut self,
        by: UserId,
        user_ids: &[UserId],
        delete_message_seconds: u64,
    ) -> Result<BulkBanResult, ApiError> {
        self.require_guild(by, Permissions::BAN_MEMBERS | Permissions::MANAGE_GUILD)?;
        // One batched read warms the user cache; `get` then tells accounts from unknown ids
        // (`public_many` would answer "Deleted User" placeholders for those).
        self.services.users.public_many(user_ids).await?;
        let mut known = std::collections::HashSet::new();
        for id in user_ids {
            if self.services.users.get(*id).await?.is_some() {
                known.insert(*id);
            }
        }
        let mut result = BulkBanResult::default();
        let reason = self.audit_reason.clone();
        for &target in user_ids {
            if !known.contains(&target) || self.bans.contains_key(&target) {
                result.failed_users.push(target);
                continue;
            }
            match self.ban(by, target, reason.clone()).await {
                Ok(()) => {
                    let options = (delete_message_seconds > 0).then(
                        || json!({"delete_message_seconds": delete_message_seconds.to_string()}),
                    );
                    let t = Some(target.snowflake());
                    // Each entry carries the request's reason (`audit` takes it).
                    self.audit_reason = reason.clone();
                    self.audit(by, audit::MEMBER_BAN_ADD, t, Vec::new(), options)
                        .await;
                    result.banned_users.push(target);
                }
                Err(ApiError::MissingPermissions) => result.failed_users.push(target),
                Err(e) => return Err(e),
            }
        }
        if result.banned_users.is_empty() {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                500000,
                "bulk-ban-failed",
            ));
        }
        Ok(result)
    }

    /// After a ban with `delete_message_seconds`: deletes the user's messages of that window
    /// from every message channel of the guild, then answers the ban request. Runs in a task
    /// so the guild actor never waits on a channel actor (channel actors call the guild actor).
    pub(super) fn purge_after_ban(&self, target: UserId, seconds: u64, port: Reply<()>) {
        self.purge_after_bans(vec![target], seconds, port, ());
    }

    /// [`Self::purge_after_ban`] for several users (a bulk ban): answers `value` on `port`
    /// once every channel has been purged of each of them.
    pub(super) fn purge_after_bans<T: Send + 'static>(
        &self,
        targets: Vec<UserId>,
        seconds: u64,
        port: Reply<T>,
        value: T,
    ) {
        let channels: Vec<ChannelId> = self
            .channels
            .values()
            .filter(|c| c.kind.is_text())
            .map(|c| c.id)
            .collect();
        let services = self.services.clone();
        let now = Timestamp::now().millis().max(0) as u64;
        let since = MessageId::from(Snowflake::from_timestamp_ms(
            now.saturating_sub(seconds.min(MAX_BAN_DELETE_SECONDS) * 1000),
        ));
        tokio::spawn(async move {
            for target in targets {
                let mut deleted = 0;
                for &id in &channels {
                    let result = match services.channel(id).await {
                        Ok(actor) => {
                            ask(&services, &actor, |reply| ChannelMsg::PurgeAuthor {
                                author: target,
                                since,
                                reply,
                            })
                            .await
                        }
                        Err(e) => Err(e),
                    };
                    match result {
                        Ok(n) => deleted += n,
                        Err(e) => tracing::warn!(channel = %id, error = %e, "ban purge failed"),
                    }
                }
                tracing::debug!(user = %target, deleted, "messages of a banned user deleted");
            }
            reply(port, Ok(value));
        });
    }
}

impl State {
    /// Of the roles a message mentions, those that ping: existing roles that are mentionable,
    /// or every existing role when the author has MENTION_EVERYONE (Discord's rule).
    pub(super) fn mentionable_roles(&self, user: UserId, roles: Vec<RoleId>) -> Vec<RoleId> {
        let all = self
            .guild_permissions(user)
            .contains(Permissions::MENTION_EVERYONE);
        roles
            .into_iter()
            .filter(|id| {
                *id != self.id().everyone_role()
                    && self
                        .roles
                        .iter()
                        .any(|r| r.id == *id && (all || r.mentionable))
            })
            .collect()
    }
}
