//! A guild's templates (MANAGE_GUILD): list, create (one per guild, as on Discord), sync,
//! modify, delete; and the snapshot a template holds.
//!
//! **Dirty or not is computed, not stored.** A template is dirty when its snapshot differs from
//! what a snapshot of the guild would be now. The guild actor has the roles, channels and
//! settings in memory, so building one is O(roles + channels) with no storage access, and the
//! answer is always right: no role, channel, overwrite or settings write path (there are many,
//! across several files) has to remember to mark templates dirty, and a guild change costs no
//! template write. The price is that reading a template by code starts the source guild's actor
//! if it was passivated, which a template read (rare, user-driven) can afford.

use std::collections::HashMap;

use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::Deserialize;
use serde_json::Value;

use super::{State, double_option, role_rank};
use crate::actors::Services;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ChannelId, RoleId, UserId};
use crate::model::template::{TemplateChannel, TemplateOverwrite, TemplateRole};
use crate::model::{ChannelKind, ChannelRecord, Role, TemplateRecord, TemplateSnapshot, Timestamp};
use crate::permissions::{OverwriteKind, Permissions};
use crate::store::StoreError;

/// Discord's limits on a template's name and description.
const NAME_MAX: u32 = 100;
const DESCRIPTION_MAX: u32 = 120;
/// Discord's template codes are 12 letters and digits.
const CODE_LEN: usize = 12;

/// Body of `POST /guilds/{id}/templates`.
#[derive(Debug, Default, Deserialize)]
pub struct TemplateCreate {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Body of `PATCH /guilds/{id}/templates/{code}` (`description: null` clears it).
#[derive(Debug, Default, Deserialize)]
pub struct TemplatePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
}

fn validate_fields(errs: &mut FieldErrors, name: Option<&str>, description: Option<&str>) {
    if let Some(name) = name {
        crate::validate::length(errs, "name", name, 1, NAME_MAX);
    }
    if let Some(d) = description {
        crate::validate::max_length(errs, "description", d, DESCRIPTION_MAX);
    }
}

/// Discord's template object, with the creator's user object.
pub async fn template_json(
    services: &Services,
    template: &TemplateRecord,
    is_dirty: Option<bool>,
) -> Result<Value, ApiError> {
    let creator = services.users.public(template.creator_id).await?;
    Ok(template.to_json(&creator, is_dirty))
}

fn unknown() -> ApiError {
    ApiError::Unknown(Unknown::GuildTemplate)
}

impl State {
    /// The guild as a template records it: settings, @everyone as role 0 and the other roles
    /// bottom-up as 1.. (managed roles left out: they belong to a bot or integration that won't
    /// be in the new guild), channels as 1.. in position order, overwrites of roles only.
    /// Deterministic, so two snapshots of an unchanged guild are equal.
    pub(super) fn snapshot(&self) -> TemplateSnapshot {
        let everyone_id = self.id().everyone_role();
        let mut others: Vec<&Role> = self
            .roles
            .iter()
            .filter(|r| r.id != everyone_id && !r.managed)
            .collect();
        others.sort_by_key(|r| role_rank(r));
        let mut role_numbers: HashMap<RoleId, u32> = HashMap::new();
        role_numbers.insert(everyone_id, 0);
        let mut roles = vec![TemplateRole {
            id: 0,
            name: "@everyone".into(),
            permissions: self.everyone(),
            color: 0,
            hoist: false,
            mentionable: false,
            icon: None,
            unicode_emoji: None,
        }];
        for (i, r) in others.into_iter().enumerate() {
            let number = i as u32 + 1;
            role_numbers.insert(r.id, number);
            roles.push(TemplateRole {
                id: number,
                name: r.name.clone(),
                permissions: r.permissions,
                color: r.color,
                hoist: r.hoist,
                mentionable: r.mentionable,
                icon: r.icon.clone(),
                unicode_emoji: r.unicode_emoji.clone(),
            });
        }

        let mut list: Vec<&ChannelRecord> = self
            .channels
            .values()
            .filter(|c| {
                c.kind.is_guild()
                    && !matches!(
                        c.kind,
                        ChannelKind::AnnouncementThread
                            | ChannelKind::PublicThread
                            | ChannelKind::PrivateThread
                    )
            })
            .collect();
        list.sort_by_key(|c| (c.position, c.id));
        let channel_numbers: HashMap<ChannelId, u32> = list
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i as u32 + 1))
            .collect();
        let channels = list
            .into_iter()
            .map(|c| TemplateChannel {
                id: channel_numbers.get(&c.id).copied().unwrap_or(0),
                // Templates hold only what any guild can have (text, voice, categories,
                // forums, as Discord's snapshot schema lists): community-only kinds become
                // their plain counterparts.
                kind: match c.kind {
                    ChannelKind::GuildAnnouncement => ChannelKind::GuildText,
                    ChannelKind::GuildStageVoice => ChannelKind::GuildVoice,
                    other => other,
                }
                .into(),
                name: c.name.clone(),
                position: c.position,
                topic: c.topic.clone(),
                bitrate: c.bitrate.unwrap_or(64_000),
                user_limit: c.user_limit.unwrap_or(0),
                nsfw: c.nsfw,
                rate_limit_per_user: c.rate_limit_per_user,
                parent_id: c.parent_id.and_then(|p| channel_numbers.get(&p).copied()),
                permission_overwrites: c
                    .permission_overwrites
                    .iter()
                    .filter(|o| o.kind == OverwriteKind::Role)
                    .filter_map(|o| {
                        let number = role_numbers.get(&RoleId::from(o.id))?;
                        Some(TemplateOverwrite {
                            id: *number,
                            kind: OverwriteKind::Role,
                            allow: o.allow,
                            deny: o.deny,
                        })
                    })
                    .collect(),
            })
            .collect();
        let g = &self.guild;
        let number_of = |c: Option<ChannelId>| c.and_then(|c| channel_numbers.get(&c).copied());
        TemplateSnapshot {
            name: g.name.clone(),
            description: g.description.clone(),
            region: g.region.clone(),
            verification_level: g.verification_level,
            default_message_notifications: g.default_message_notifications,
            explicit_content_filter: g.explicit_content_filter,
            preferred_locale: g.preferred_locale.clone(),
            afk_timeout: g.afk_timeout,
            afk_channel_id: number_of(g.afk_channel_id),
            system_channel_id: number_of(g.system_channel_id),
            system_channel_flags: g.system_channel_flags,
            icon_hash: g.icon.clone(),
            roles,
            channels,
        }
    }

    /// This guild's template with that code (Unknown Guild Template for another guild's).
    async fn own_template(&self, code: &str) -> Result<TemplateRecord, ApiError> {
        self.services
            .store
            .get_template(code)
            .await?
            .filter(|t| t.source_guild_id == self.id())
            .ok_or_else(unknown)
    }

    async fn json_of(&self, t: &TemplateRecord) -> Result<Value, ApiError> {
        let dirty = t.serialized_source_guild != self.snapshot();
        template_json(&self.services, t, Some(dirty)).await
    }

    pub(super) async fn list_templates(&self, user: UserId) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let mut out = Vec::new();
        for t in self.services.store.guild_templates(self.id()).await? {
            out.push(self.json_of(&t).await?);
        }
        Ok(Value::Array(out))
    }

    /// Discord allows one template per guild: a second is refused with 30031. The actor handles
    /// one request at a time, so two concurrent creates can't both pass the check.
    pub(super) async fn create_template(
        &self,
        user: UserId,
        body: TemplateCreate,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let mut errs = FieldErrors::default();
        let name = body.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            errs.add("name", FieldError::Required);
        } else {
            validate_fields(&mut errs, Some(name), None);
        }
        validate_fields(&mut errs, None, body.description.as_deref());
        errs.into_result()?;
        if !self
            .services
            .store
            .guild_templates(self.id())
            .await?
            .is_empty()
        {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                30031,
                "guild-template-exists",
            ));
        }
        let now = Timestamp::now();
        let snapshot = self.snapshot();
        for _ in 0..5 {
            let template = TemplateRecord {
                code: rand::thread_rng()
                    .sample_iter(&Alphanumeric)
                    .take(CODE_LEN)
                    .map(char::from)
                    .collect(),
                name: name.to_string(),
                description: body.description.clone(),
                usage_count: 0,
                creator_id: user,
                created_at: now,
                updated_at: now,
                source_guild_id: self.id(),
                serialized_source_guild: snapshot.clone(),
            };
            match self.services.store.create_template(&template).await {
                Ok(()) => return template_json(&self.services, &template, Some(false)).await,
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::internal("could not find a free template code"))
    }

    /// Re-takes the snapshot: the template is clean again.
    pub(super) async fn sync_template(&self, user: UserId, code: &str) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let mut t = self.own_template(code).await?;
        t.serialized_source_guild = self.snapshot();
        t.updated_at = Timestamp::now();
        let t = self
            .services
            .store
            .update_template(&t)
            .await?
            .ok_or_else(unknown)?;
        template_json(&self.services, &t, Some(false)).await
    }

    pub(super) async fn update_template(
        &self,
        user: UserId,
        code: &str,
        patch: TemplatePatch,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let mut errs = FieldErrors::default();
        let name = patch.name.as_deref().map(str::trim);
        validate_fields(
            &mut errs,
            name,
            patch.description.as_ref().and_then(|d| d.as_deref()),
        );
        errs.into_result()?;
        let mut t = self.own_template(code).await?;
        if let Some(name) = name {
            t.name = name.to_string();
        }
        if let Some(d) = patch.description {
            t.description = d;
        }
        let t = self
            .services
            .store
            .update_template(&t)
            .await?
            .ok_or_else(unknown)?;
        self.json_of(&t).await
    }

    /// Returns the deleted template, as Discord does.
    pub(super) async fn delete_template(
        &self,
        user: UserId,
        code: &str,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let t = self.own_template(code).await?;
        let v = self.json_of(&t).await?;
        self.services.store.delete_template(code).await?;
        Ok(v)
    }
}
