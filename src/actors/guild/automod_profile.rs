//! MEMBER_PROFILE auto-moderation: a member's names — guild nickname, display name
//! (`global_name`) and username — checked against the guild's profile rules when they join,
//! when their nickname or roles change, and when their user profile changes. (Discord also
//! checked bios once; it deprecated that flag, and Accord has no guild tags, so names are all.)
//!
//! BLOCK_MEMBER_INTERACTION quarantines the member: Discord's member flag
//! AUTOMOD_QUARANTINED_USERNAME_OR_GUILD_NICKNAME (128), kept on the member record, makes the
//! permission computation leave them what a timeout leaves plus CHANGE_NICKNAME — they can look
//! and fix their nickname, but not send, react, join voice or create anything — until a later
//! check finds the profile clean and clears it. The
//! flag lives on the cached member, so the channels' permission caches carry it and the
//! message path costs nothing more. Discord documents no error code of its own for this, so
//! refused actions answer 50013 as for a timeout.
//!
//! Discord documents profile rules as checked on member updates (event type MEMBER_UPDATE),
//! not as a sweep of existing members, so creating a rule does not judge everyone; changing or
//! deleting one re-judges the members it may have quarantined, so none stays blocked by a rule
//! that no longer says so.

use serde_json::json;

use super::State;
use super::automod::Execution;
use crate::automod::{Hit, Subject};
use crate::id::UserId;
use crate::model::member::AUTOMOD_QUARANTINED_USERNAME;
use crate::model::{MemberRecord, PublicUser};
use crate::permissions::{MemberContext, Permissions};

/// What the profile rules found about one member.
#[derive(Debug, Default)]
pub(super) struct ProfileVerdict {
    /// Each rule that fired, with the profile text it matched.
    hits: Vec<(Hit, String)>,
    /// Whether the member's quarantine flag changed (set or cleared).
    pub(super) flag_changed: bool,
    /// Whether the member was quarantined before this verdict.
    pub(super) was_quarantined: bool,
}

impl State {
    /// Judges `m`'s profile (`user` is their user object) and sets or clears the quarantine
    /// flag on `m`; the caller persists it.
    pub(super) fn judge_profile(&self, m: &mut MemberRecord, user: &PublicUser) -> ProfileVerdict {
        let hits = self.profile_hits(m, user);
        let was_quarantined = m.flags & AUTOMOD_QUARANTINED_USERNAME != 0;
        if hits.iter().any(|(h, _)| h.quarantines()) {
            m.flags |= AUTOMOD_QUARANTINED_USERNAME;
        } else {
            m.flags &= !AUTOMOD_QUARANTINED_USERNAME;
        }
        let now = m.flags & AUTOMOD_QUARANTINED_USERNAME != 0;
        ProfileVerdict {
            hits,
            flag_changed: now != was_quarantined,
            was_quarantined,
        }
    }

    /// Whether a judgement is worth a user lookup: there are profile rules, or the member
    /// carries a quarantine that may have to be lifted.
    pub(super) fn profile_check_needed(&self, m: &MemberRecord) -> bool {
        !self.profile_rules.is_empty() || m.flags & AUTOMOD_QUARANTINED_USERNAME != 0
    }

    /// The profile rules that fire for `m`, each with the first name it matched (nickname,
    /// then display name, then username). Members with ADMINISTRATOR or MANAGE_GUILD are
    /// exempt, as from every rule.
    fn profile_hits(&self, m: &MemberRecord, user: &PublicUser) -> Vec<(Hit, String)> {
        if self.profile_rules.is_empty()
            || self
                .member_permissions(m)
                .intersects(Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD)
        {
            return Vec::new();
        }
        let names = [
            m.nick.as_deref(),
            user.global_name.as_deref(),
            Some(user.username.as_str()),
        ];
        let mut out: Vec<(Hit, String)> = Vec::new();
        for name in names.into_iter().flatten().filter(|n| !n.is_empty()) {
            let subject = Subject {
                channel: None,
                roles: &m.roles,
                content: name,
                mentions: 0,
                repeats: 0,
            };
            for hit in self.profile_rules.check(&subject) {
                if !out.iter().any(|(h, _)| h.rule_id == hit.rule_id) {
                    out.push((hit, name.to_string()));
                }
            }
        }
        out
    }

    /// Guild permissions of a member record that may not be in `members` yet (a join).
    fn member_permissions(&self, m: &MemberRecord) -> Permissions {
        let roles = self.member_roles(m);
        MemberContext {
            guild_id: self.id(),
            owner_id: self.guild.owner_id,
            user_id: m.user_id,
            everyone: self.everyone(),
            roles: &roles,
            timed_out: false,
            quarantined: false,
        }
        .guild_permissions()
    }

    /// Runs what a verdict's rules do beyond the flag: AUTO_MODERATION_ACTION_EXECUTION (no
    /// channel or message; `content` is the matched name), the alert message and the audit
    /// entry (146 for the quarantine), through the same path as message rules.
    pub(super) async fn execute_profile(&mut self, user: UserId, verdict: ProfileVerdict) {
        for (hit, name) in verdict.hits {
            self.automod_executed(Execution {
                user,
                channel: None,
                message_id: None,
                content: name,
                hits: vec![hit],
            })
            .await;
        }
    }

    /// Re-judges a member already in the guild (their user profile changed, or a rule did):
    /// a changed flag is stored and takes effect on their permissions at once. Answers the
    /// member as they now are, with the verdict; `None` when they are not a member.
    pub(super) async fn rejudge_profile(
        &mut self,
        user: UserId,
    ) -> Option<(MemberRecord, ProfileVerdict)> {
        let mut m = self.members.get(&user).cloned()?;
        if !self.profile_check_needed(&m) {
            return Some((m, ProfileVerdict::default()));
        }
        let public = match self.services.users.public(user).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, %user, "profile not judged");
                return Some((m, ProfileVerdict::default()));
            }
        };
        let verdict = self.judge_profile(&mut m, &public);
        if verdict.flag_changed {
            if let Err(e) = self.services.store.put_member(&m).await {
                tracing::warn!(error = %e, %user, "quarantine change not stored");
                let old = self.members.get(&user).cloned()?;
                return Some((old, ProfileVerdict::default()));
            }
            self.members.insert(user, m.clone());
            self.invalidate_permissions(Some(user));
        }
        Some((m, verdict))
    }

    /// After a MEMBER_PROFILE rule changed or went: every quarantined member is judged again
    /// and freed (GUILD_MEMBER_UPDATE) when no rule blocks them any more. No actions run: the
    /// rule changed, not the member.
    pub(super) async fn rejudge_quarantined(&mut self) {
        let held: Vec<UserId> = self
            .members
            .values()
            .filter(|m| m.flags & AUTOMOD_QUARANTINED_USERNAME != 0)
            .map(|m| m.user_id)
            .collect();
        for user in held {
            let Some((m, verdict)) = self.rejudge_profile(user).await else {
                continue;
            };
            if !verdict.flag_changed {
                continue;
            }
            match self.member_json(&m).await {
                Ok(mut v) => {
                    v["guild_id"] = json!(self.id());
                    self.dispatch_member("GUILD_MEMBER_UPDATE", &v, user);
                }
                Err(e) => tracing::warn!(error = %e, %user, "member update not sent"),
            }
        }
    }
}
