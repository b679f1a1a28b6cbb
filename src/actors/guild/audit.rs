//! The guild's audit log: moderation writes are recorded here (with the request's
//! `X-Audit-Log-Reason`), announced as `GUILD_AUDIT_LOG_ENTRY_CREATE` to members who may view
//! the log, and served by `GET /guilds/{id}/audit-logs` (VIEW_AUDIT_LOG).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::State;
use crate::error::ApiError;
use crate::events::Dispatch;
use crate::id::{Snowflake, UserId};
use crate::permissions::Permissions;
use crate::store::{AuditChange, GuildAuditEntry};

// Discord's audit log event numbers (the ones this server records).
pub const GUILD_UPDATE: u16 = 1;
pub const CHANNEL_CREATE: u16 = 10;
pub const CHANNEL_UPDATE: u16 = 11;
pub const CHANNEL_DELETE: u16 = 12;
pub const CHANNEL_OVERWRITE_CREATE: u16 = 13;
pub const CHANNEL_OVERWRITE_UPDATE: u16 = 14;
pub const CHANNEL_OVERWRITE_DELETE: u16 = 15;
pub const MEMBER_KICK: u16 = 20;
pub const MEMBER_PRUNE: u16 = 21;
pub const MEMBER_BAN_ADD: u16 = 22;
pub const MEMBER_BAN_REMOVE: u16 = 23;
pub const MEMBER_UPDATE: u16 = 24;
pub const MEMBER_ROLE_UPDATE: u16 = 25;
pub const ROLE_CREATE: u16 = 30;
pub const ROLE_UPDATE: u16 = 31;
pub const ROLE_DELETE: u16 = 32;
pub const WEBHOOK_CREATE: u16 = 50;
pub const WEBHOOK_DELETE: u16 = 52;
pub const EMOJI_CREATE: u16 = 60;
pub const EMOJI_UPDATE: u16 = 61;
pub const EMOJI_DELETE: u16 = 62;
pub const INTEGRATION_DELETE: u16 = 82;
pub const STICKER_CREATE: u16 = 90;
pub const STICKER_UPDATE: u16 = 91;
pub const STICKER_DELETE: u16 = 92;
pub const SCHEDULED_EVENT_CREATE: u16 = 100;
pub const SCHEDULED_EVENT_UPDATE: u16 = 101;
pub const SCHEDULED_EVENT_DELETE: u16 = 102;
pub const APPLICATION_COMMAND_PERMISSION_UPDATE: u16 = 121;
pub const AUTO_MODERATION_RULE_CREATE: u16 = 140;
pub const AUTO_MODERATION_RULE_UPDATE: u16 = 141;
pub const AUTO_MODERATION_RULE_DELETE: u16 = 142;
pub const AUTO_MODERATION_BLOCK_MESSAGE: u16 = 143;
pub const AUTO_MODERATION_FLAG_TO_CHANNEL: u16 = 144;
pub const AUTO_MODERATION_USER_COMMUNICATION_DISABLED: u16 = 145;
pub const AUTO_MODERATION_QUARANTINE_USER: u16 = 146;

/// Query of `GET /guilds/{id}/audit-logs`.
#[derive(Debug, Default, Deserialize)]
pub struct AuditLogQuery {
    pub user_id: Option<UserId>,
    pub target_id: Option<Snowflake>,
    pub action_type: Option<u16>,
    pub before: Option<Snowflake>,
    pub after: Option<Snowflake>,
    pub limit: Option<usize>,
}

/// Pages of 100 the listing reads at most while filtering (a filter matching nothing in a large
/// log answers with what it found in this window).
const MAX_PAGES: usize = 10;

/// Old → new for every top-level key that differs (`changes` of an update entry).
pub fn diff(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<AuditChange> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| AuditChange {
            key: k.clone(),
            old: old.get(k).cloned().unwrap_or(Value::Null),
            new: new.get(k).cloned().unwrap_or(Value::Null),
        })
        .collect()
}

/// A JSON object's `id` as a snowflake (the target of a create).
pub fn id_of(v: &Value) -> Option<Snowflake> {
    v.get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

/// Discord's audit log entry object.
fn entry_json(e: &GuildAuditEntry) -> Value {
    let mut v = json!({
        "id": e.id,
        "user_id": e.user_id,
        "target_id": e.target_id.map(|t| t.to_string()),
        "action_type": e.action_type,
        "changes": e.changes.iter().map(|c| json!({
            "key": c.key, "old_value": c.old, "new_value": c.new,
        })).collect::<Vec<_>>(),
    });
    if let Some(o) = &e.options {
        v["options"] = o.clone();
    }
    if let Some(r) = &e.reason {
        v["reason"] = json!(r);
    }
    v
}

impl State {
    /// Records what `user` just did, with the reason the request carried (if any), and tells
    /// the sessions of members with VIEW_AUDIT_LOG. A failure to store the entry is logged, not
    /// returned: the action itself has already happened.
    pub(super) async fn audit(
        &mut self,
        user: UserId,
        action_type: u16,
        target_id: Option<Snowflake>,
        changes: Vec<AuditChange>,
        options: Option<Value>,
    ) {
        let id = match self.services.ids.next() {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, action_type, "could not record an audit log entry");
                return;
            }
        };
        let entry = GuildAuditEntry {
            id,
            guild_id: self.id(),
            user_id: Some(user),
            target_id,
            action_type,
            changes,
            options,
            reason: self.audit_reason.take(),
        };
        if let Err(e) = self.services.store.insert_guild_audit_entry(&entry).await {
            tracing::warn!(error = %e, action_type, "could not record an audit log entry");
            return;
        }
        let mut data = entry_json(&entry);
        data["guild_id"] = json!(self.id());
        let event = Dispatch::new("GUILD_AUDIT_LOG_ENTRY_CREATE", &data, true);
        crate::actors::remote::fan_out(|| {
            for s in self.online.values() {
                if s.wants(&event)
                    && self
                        .guild_permissions(s.user_id)
                        .contains(Permissions::VIEW_AUDIT_LOG)
                {
                    s.deliver(&event);
                }
            }
        });
    }

    /// `GET /guilds/{id}/audit-logs` (VIEW_AUDIT_LOG): newest first, filtered.
    pub(super) async fn audit_log(
        &self,
        user: UserId,
        q: AuditLogQuery,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::VIEW_AUDIT_LOG)?;
        let limit = q.limit.unwrap_or(50).clamp(1, 100);
        let mut out: Vec<GuildAuditEntry> = Vec::new();
        let mut before = q.before;
        'pages: for _ in 0..MAX_PAGES {
            let page = self
                .services
                .store
                .guild_audit_entries(self.id(), 100, before)
                .await?;
            for e in &page {
                if q.after.is_some_and(|a| e.id <= a) {
                    break 'pages;
                }
                let wanted = q.user_id.is_none_or(|u| e.user_id == Some(u))
                    && q.target_id.is_none_or(|t| e.target_id == Some(t))
                    && q.action_type.is_none_or(|a| e.action_type == a);
                if wanted {
                    out.push(e.clone());
                    if out.len() == limit {
                        break 'pages;
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() == 100 => before = Some(last.id),
                _ => break,
            }
        }
        let mut ids: Vec<UserId> = out.iter().filter_map(|e| e.user_id).collect();
        ids.extend(
            out.iter()
                .filter(|e| matches!(e.action_type, 20..=25))
                .filter_map(|e| e.target_id.map(UserId::from)),
        );
        ids.sort();
        ids.dedup();
        let users = self.services.users.public_many(&ids).await?;
        Ok(json!({
            "audit_log_entries": out.iter().map(entry_json).collect::<Vec<_>>(),
            "users": users,
            "integrations": [],
            "webhooks": [],
            "guild_scheduled_events": [],
            "threads": [],
            "application_commands": [],
            "auto_moderation_rules": [],
        }))
    }
}

impl State {
    /// Records an entry whose `changes` are the differences between two JSON objects (`None`:
    /// created or deleted).
    pub(super) async fn audit_change(
        &mut self,
        user: UserId,
        action_type: u16,
        target_id: Option<Snowflake>,
        before: Option<Value>,
        after: Option<Value>,
    ) {
        let empty = Map::new();
        let b = before.as_ref().and_then(Value::as_object).unwrap_or(&empty);
        let a = after.as_ref().and_then(Value::as_object).unwrap_or(&empty);
        let changes = diff(b, a);
        self.audit(user, action_type, target_id, changes, None)
            .await;
    }

    pub(super) fn channel_value(&self, id: crate::id::ChannelId) -> Option<Value> {
        self.channels.get(&id).map(|c| c.to_json(None))
    }

    pub(super) fn role_value(&self, id: crate::id::RoleId) -> Option<Value> {
        self.roles.iter().find(|r| r.id == id).map(|r| json!(r))
    }

    pub(super) fn member_value(&self, id: UserId) -> Option<Value> {
        self.members.get(&id).map(|m| {
            json!({
                "nick": m.nick,
                "roles": m.roles,
                "mute": m.mute,
                "deaf": m.deaf,
                "communication_disabled_until": m.communication_disabled_until,
            })
        })
    }
}

impl super::GuildMsg {
    /// Attaches the request's `X-Audit-Log-Reason` to the audit log entry this request writes.
    pub fn with_reason(self, reason: Option<String>) -> Self {
        match reason {
            Some(_) => Self::WithReason {
                reason,
                msg: Box::new(self),
            },
            None => self,
        }
    }
}
