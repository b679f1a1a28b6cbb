//! The guild's layout: channel permission overwrites, channel order/parents, role order.

use std::cmp::Reverse;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, audit, double_option, role_rank};
use crate::actors::channel::ChannelMsg;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ChannelId, RoleId, Snowflake, UserId};
use crate::model::{ChannelKind, ChannelRecord};
use crate::permissions::{OverwriteKind, PermissionOverwrite, Permissions, require};

/// Body of `PUT /channels/{id}/permissions/{overwrite}`.
#[derive(Debug, Deserialize)]
pub struct OverwriteBody {
    #[serde(rename = "type")]
    pub kind: Option<OverwriteKind>,
    pub allow: Option<Permissions>,
    pub deny: Option<Permissions>,
}

/// One entry of `PATCH /guilds/{id}/channels`.
#[derive(Debug, Deserialize)]
pub struct ChannelPosition {
    pub id: ChannelId,
    #[serde(default)]
    pub position: Option<i32>,
    /// `null` moves the channel out of its category.
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<ChannelId>>,
    /// With a new `parent_id`: take over the category's overwrites.
    #[serde(default)]
    pub lock_permissions: Option<bool>,
}

/// One entry of `PATCH /guilds/{id}/roles`.
#[derive(Debug, Deserialize)]
pub struct RolePosition {
    pub id: RoleId,
    #[serde(default)]
    pub position: Option<i32>,
}

impl State {
    /// The channel and the caller's permissions in it, failing like Discord (Unknown Channel,
    /// then Missing Access without VIEW_CHANNEL).
    fn channel_for(
        &self,
        user: UserId,
        id: ChannelId,
    ) -> Result<(ChannelRecord, Permissions), ApiError> {
        self.member_guard(user)?;
        let Some(c) = self.channels.get(&id) else {
            return Err(ApiError::Unknown(Unknown::Channel));
        };
        let perms = self.channel_permissions(user, c);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        Ok((c.clone(), perms))
    }

    /// Stores a changed channel, tells its running actor (and drops its permission cache when
    /// the overwrites changed) and announces CHANNEL_UPDATE.
    async fn commit_channel(
        &mut self,
        c: ChannelRecord,
        overwrites_changed: bool,
    ) -> Result<Value, ApiError> {
        self.services.store.put_channel(&c).await?;
        let v = c.to_json(None);
        let id = c.id;
        self.channels.insert(id, c.clone());
        if let Some(actor) = self.services.registry.running_channel(id) {
            let _ = crate::actors::tell(&actor, ChannelMsg::Updated(Box::new(c)));
            if overwrites_changed {
                let _ = crate::actors::tell(&actor, ChannelMsg::InvalidatePermissions(None));
            }
        }
        self.dispatch("CHANNEL_UPDATE", &v, Some(id));
        Ok(v)
    }

    /// `PUT /channels/{id}/permissions/{overwrite}` (MANAGE_ROLES in the channel; only bits the
    /// caller has there may be allowed or denied).
    pub(super) async fn put_overwrite(
        &mut self,
        user: UserId,
        channel: ChannelId,
        target: Snowflake,
        body: OverwriteBody,
    ) -> Result<(), ApiError> {
        let (mut c, perms) = self.channel_for(user, channel)?;
        require(perms, Permissions::MANAGE_ROLES)?;
        let Some(kind) = body.kind else {
            return Err(FieldErrors::single("type", FieldError::Required));
        };
        let (allow, deny) = (
            body.allow.unwrap_or_default(),
            body.deny.unwrap_or_default(),
        );
        require(perms, allow | deny)?;
        match kind {
            OverwriteKind::Role if !self.roles.iter().any(|r| r.id.snowflake() == target) => {
                return Err(ApiError::Unknown(Unknown::Role));
            }
            OverwriteKind::Member if !self.members.contains_key(&UserId::from(target)) => {
                return Err(ApiError::Unknown(Unknown::Member));
            }
            _ => {}
        }
        let new = PermissionOverwrite {
            id: target,
            kind,
            allow,
            deny,
        };
        let existing = c.permission_overwrites.iter().position(|o| o.id == target);
        let (action, old) = match existing {
            Some(i) => (
                audit::CHANNEL_OVERWRITE_UPDATE,
                Some(std::mem::replace(&mut c.permission_overwrites[i], new)),
            ),
            None => {
                c.permission_overwrites.push(new);
                (audit::CHANNEL_OVERWRITE_CREATE, None)
            }
        };
        if old.as_ref() == Some(&new) {
            return Ok(());
        }
        self.commit_channel(c, true).await?;
        let changes = ["allow", "deny"]
            .into_iter()
            .zip([
                (old.as_ref().map(|o| o.allow), allow),
                (old.as_ref().map(|o| o.deny), deny),
            ])
            .filter(|(_, (o, n))| *o != Some(*n))
            .map(|(k, (o, n))| crate::store::AuditChange {
                key: k.into(),
                old: json!(o),
                new: json!(n),
            })
            .collect();
        let options = json!({"id": target, "type": u8::from(kind).to_string()});
        self.audit(
            user,
            action,
            Some(channel.snowflake()),
            changes,
            Some(options),
        )
        .await;
        Ok(())
    }

    /// `DELETE /channels/{id}/permissions/{overwrite}` (MANAGE_ROLES in the channel).
    pub(super) async fn delete_overwrite(
        &mut self,
        user: UserId,
        channel: ChannelId,
        target: Snowflake,
    ) -> Result<(), ApiError> {
        let (mut c, perms) = self.channel_for(user, channel)?;
        require(perms, Permissions::MANAGE_ROLES)?;
        let Some(i) = c.permission_overwrites.iter().position(|o| o.id == target) else {
            return Err(ApiError::Unknown(Unknown::Overwrite));
        };
        let old = c.permission_overwrites.remove(i);
        self.commit_channel(c, true).await?;
        let options = json!({"id": target, "type": u8::from(old.kind).to_string()});
        self.audit(
            user,
            audit::CHANNEL_OVERWRITE_DELETE,
            Some(channel.snowflake()),
            Vec::new(),
            Some(options),
        )
        .await;
        Ok(())
    }

    /// `PATCH /guilds/{id}/channels` (MANAGE_CHANNELS): positions, categories, and with
    /// `lock_permissions` the category's overwrites. All entries are checked before any is
    /// applied.
    pub(super) async fn reorder_channels(
        &mut self,
        user: UserId,
        moves: Vec<ChannelPosition>,
    ) -> Result<(), ApiError> {
        self.require_guild(user, Permissions::MANAGE_CHANNELS)?;
        let mut errs = FieldErrors::default();
        for (i, m) in moves.iter().enumerate() {
            let Some(c) = self.channels.get(&m.id) else {
                errs.add(&format!("{i}.id"), FieldError::InvalidSnowflake);
                continue;
            };
            if let Some(Some(p)) = m.parent_id {
                let ok = p != m.id
                    && c.kind != ChannelKind::GuildCategory
                    && self
                        .channels
                        .get(&p)
                        .is_some_and(|x| x.kind == ChannelKind::GuildCategory);
                if !ok {
                    errs.add(&format!("{i}.parent_id"), FieldError::InvalidSnowflake);
                }
            }
        }
        errs.into_result()?;
        let mut changed: Vec<(ChannelRecord, bool)> = Vec::new();
        for m in moves {
            let Some(current) = self.channels.get(&m.id) else {
                continue;
            };
            let mut c = changed
                .iter()
                .find(|(x, _)| x.id == m.id)
                .map_or_else(|| current.clone(), |(x, _)| x.clone());
            if let Some(p) = m.position {
                c.position = p;
            }
            let mut overwrites_changed = false;
            if let Some(parent) = m.parent_id {
                c.parent_id = parent;
                if m.lock_permissions == Some(true)
                    && let Some(cat) = parent.and_then(|p| self.channels.get(&p))
                    && cat.permission_overwrites != c.permission_overwrites
                {
                    c.permission_overwrites = cat.permission_overwrites.clone();
                    overwrites_changed = true;
                }
            }
            if c != *current {
                changed.retain(|(x, _)| x.id != c.id);
                changed.push((c, overwrites_changed));
            }
        }
        for (c, overwrites_changed) in changed {
            let before = self.channels.get(&c.id).map(|x| x.to_json(None));
            let id = c.id;
            let after = self.commit_channel(c, overwrites_changed).await?;
            let changes = match (
                before.as_ref().and_then(Value::as_object),
                after.as_object(),
            ) {
                (Some(b), Some(a)) => audit::diff(b, a),
                _ => Vec::new(),
            };
            self.audit(
                user,
                audit::CHANNEL_UPDATE,
                Some(id.snowflake()),
                changes,
                None,
            )
            .await;
        }
        Ok(())
    }

    /// `PATCH /guilds/{id}/roles` (MANAGE_ROLES): moved roles take exactly the positions asked
    /// for, the others keep their order in the remaining slots, and positions become 1..n. A
    /// member may only move roles below their highest role, and only to places below it.
    pub(super) async fn reorder_roles(
        &mut self,
        user: UserId,
        moves: Vec<RolePosition>,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_ROLES)?;
        let everyone = self.id().everyone_role();
        let owner = user == self.guild.owner_id;
        let mine = self.top_rank(user);
        let mut errs = FieldErrors::default();
        let mut wanted: HashMap<RoleId, i32> = HashMap::new();
        for (i, m) in moves.iter().enumerate() {
            let Some(role) = self.roles.iter().find(|r| r.id == m.id) else {
                errs.add(&format!("{i}.id"), FieldError::InvalidSnowflake);
                continue;
            };
            if m.id == everyone {
                continue; // @everyone is always at the bottom
            }
            if !owner && role_rank(role) >= mine {
                return Err(ApiError::MissingPermissions);
            }
            if let Some(p) = m.position {
                wanted.insert(m.id, p);
            }
        }
        errs.into_result()?;
        // Current hierarchy, bottom first.
        let mut current: Vec<&crate::model::Role> =
            self.roles.iter().filter(|r| r.id != everyone).collect();
        current.sort_by_key(|r| role_rank(r));
        let n = current.len();
        let mut slots: Vec<Option<RoleId>> = vec![None; n];
        let mut moved: Vec<(i32, Reverse<RoleId>)> =
            wanted.iter().map(|(id, p)| (*p, Reverse(*id))).collect();
        moved.sort();
        for (p, Reverse(id)) in moved {
            let start = (p.clamp(1, n.max(1) as i32) - 1) as usize;
            let free = (start..n)
                .chain((0..start).rev())
                .find(|s| slots[*s].is_none());
            if let Some(s) = free {
                slots[s] = Some(id);
            }
        }
        let mut rest = current
            .iter()
            .map(|r| r.id)
            .filter(|id| !wanted.contains_key(id));
        for slot in slots.iter_mut().filter(|s| s.is_none()) {
            *slot = rest.next();
        }
        let new_pos: HashMap<RoleId, i32> = slots
            .iter()
            .enumerate()
            .filter_map(|(i, id)| id.map(|id| (id, i as i32 + 1)))
            .collect();
        if !owner {
            // The caller's own highest role, at its new place: every moved role must end below it.
            let top = self
                .members
                .get(&user)
                .and_then(|m| m.roles.iter().filter_map(|r| new_pos.get(r)).max().copied())
                .unwrap_or(0);
            if wanted
                .keys()
                .any(|id| new_pos.get(id).is_some_and(|p| *p >= top))
            {
                return Err(ApiError::MissingPermissions);
            }
        }
        let mut updated = Vec::new();
        for role in self.roles.iter_mut() {
            if let Some(p) = new_pos.get(&role.id)
                && role.position != *p
            {
                let old = role.position;
                role.position = *p;
                updated.push((role.clone(), old));
            }
        }
        for (role, old) in updated {
            self.services.store.put_role(self.id(), &role).await?;
            self.dispatch(
                "GUILD_ROLE_UPDATE",
                &json!({"guild_id": self.id(), "role": role}),
                None,
            );
            if wanted.contains_key(&role.id) {
                let change = crate::store::AuditChange {
                    key: "position".into(),
                    old: json!(old),
                    new: json!(role.position),
                };
                self.audit(
                    user,
                    audit::ROLE_UPDATE,
                    Some(role.id.snowflake()),
                    vec![change],
                    None,
                )
                .await;
            }
        }
        let mut roles = self.roles.clone();
        roles.sort_by_key(role_rank);
        Ok(json!(roles))
    }
}
