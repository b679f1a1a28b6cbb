//! Guild-level reads and settings beyond `PATCH /guilds/{id}`: counts, preview, vanity URL,
//! widget.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, audit, double_option};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, UserId};
use crate::model::{ChannelKind, InviteRecord, Timestamp};
use crate::permissions::Permissions;
use crate::store::{AuditChange, StoreError};

/// Body of `PATCH /guilds/{id}/widget`.
#[derive(Debug, Default, Deserialize)]
pub struct WidgetPatch {
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub channel_id: Option<Option<ChannelId>>,
}

/// A vanity code: 2–32 of `[a-z0-9-]` (stored lowercased, like Discord).
fn valid_vanity(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl State {
    /// Members with at least one live session here.
    pub(super) fn presence_count(&self) -> usize {
        self.online
            .values()
            .map(|s| s.user_id)
            .collect::<HashSet<_>>()
            .len()
    }

    /// `GET /guilds/{id}?with_counts=true`.
    pub(super) fn guild_with_counts(&self, user: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let mut v = self.guild_json(true);
        v["approximate_member_count"] = json!(self.members.len());
        v["approximate_presence_count"] = json!(self.presence_count());
        Ok(v)
    }

    /// `GET /guilds/{id}/preview`: for members, and for anyone when the guild is DISCOVERABLE.
    pub(super) fn preview_for(&self, user: UserId) -> Result<Value, ApiError> {
        let public = self.guild.features.iter().any(|f| f == "DISCOVERABLE");
        if !public {
            self.member_guard(user)?;
        }
        let g = &self.guild;
        Ok(json!({
            "id": g.id,
            "name": g.name,
            "icon": g.icon,
            "splash": g.splash,
            "discovery_splash": g.discovery_splash,
            "home_header": null,
            "description": g.description,
            "features": g.features,
            "emojis": self.emojis_json(),
            "stickers": self.stickers_json(),
            "approximate_member_count": self.members.len(),
            "approximate_presence_count": self.presence_count(),
        }))
    }

    async fn vanity_json(&self) -> Result<Value, ApiError> {
        let uses = match &self.guild.vanity_url_code {
            Some(code) => self
                .services
                .store
                .get_invite(code)
                .await?
                .map_or(0, |i| i.uses),
            None => 0,
        };
        Ok(json!({"code": self.guild.vanity_url_code, "uses": uses}))
    }

    /// `GET /guilds/{id}/vanity-url` (MANAGE_GUILD).
    pub(super) async fn get_vanity(&self, user: UserId) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        self.vanity_json().await
    }

    /// `PATCH /guilds/{id}/vanity-url` (MANAGE_GUILD; Discord also requires the VANITY_URL
    /// feature, which a self-hosted instance has no way to grant, so it is not required). The
    /// code is claimed as a never-expiring invite, so it is unique among invite codes and
    /// `/invites/{code}` joins the guild. `null` or `""` removes it.
    pub(super) async fn set_vanity(
        &mut self,
        user: UserId,
        code: Option<String>,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let code = code
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty());
        if code == self.guild.vanity_url_code {
            return self.vanity_json().await;
        }
        if let Some(c) = &code {
            if !valid_vanity(c) {
                return Err(ApiError::coded(
                    StatusCode::BAD_REQUEST,
                    50020,
                    "invalid-vanity-code",
                ));
            }
            let channel = self
                .guild
                .system_channel_id
                .filter(|id| self.channels.contains_key(id))
                .or_else(|| {
                    let mut text: Vec<_> = self
                        .channels
                        .values()
                        .filter(|ch| ch.kind == ChannelKind::GuildText)
                        .collect();
                    text.sort_by_key(|ch| (ch.position, ch.id));
                    text.first().map(|ch| ch.id)
                })
                .ok_or(ApiError::coded(
                    StatusCode::BAD_REQUEST,
                    50024,
                    "invalid-channel-type",
                ))?;
            let invite = InviteRecord {
                code: c.clone(),
                guild_id: Some(self.id()),
                channel_id: channel,
                inviter_id: None,
                created_at: Timestamp::now(),
                max_age: 0,
                max_uses: 0,
                uses: 0,
                temporary: false,
            };
            match self.services.store.create_invite(&invite).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => {
                    return Err(ApiError::coded(
                        StatusCode::BAD_REQUEST,
                        50020,
                        "invalid-vanity-code",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(old) = &self.guild.vanity_url_code {
            self.services.store.delete_invite(old).await?;
        }
        let mut g = self.guild.clone();
        let old = std::mem::replace(&mut g.vanity_url_code, code.clone());
        self.services.store.update_guild(&g).await?;
        self.guild = g;
        let v = self.guild_json(true);
        self.dispatch("GUILD_UPDATE", &v, None);
        let change = AuditChange {
            key: "vanity_url_code".into(),
            old: json!(old),
            new: json!(code),
        };
        self.audit(
            user,
            audit::GUILD_UPDATE,
            Some(self.id().snowflake()),
            vec![change],
            None,
        )
        .await;
        self.vanity_json().await
    }

    fn widget_settings(&self) -> Value {
        json!({"enabled": self.guild.widget_enabled, "channel_id": self.guild.widget_channel_id})
    }

    /// `GET /guilds/{id}/widget` (MANAGE_GUILD).
    pub(super) fn get_widget(&self, user: UserId) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        Ok(self.widget_settings())
    }

    /// `PATCH /guilds/{id}/widget` (MANAGE_GUILD): GUILD_UPDATE.
    pub(super) async fn set_widget(
        &mut self,
        user: UserId,
        patch: WidgetPatch,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let mut g = self.guild.clone();
        if let Some(e) = patch.enabled {
            g.widget_enabled = e;
        }
        if let Some(c) = patch.channel_id {
            if c.is_some_and(|id| !self.channels.contains_key(&id)) {
                return Err(FieldErrors::single(
                    "channel_id",
                    FieldError::InvalidSnowflake,
                ));
            }
            g.widget_channel_id = c;
        }
        if g == self.guild {
            return Ok(self.widget_settings());
        }
        let before = self.widget_settings();
        self.services.store.update_guild(&g).await?;
        self.guild = g;
        let v = self.guild_json(true);
        self.dispatch("GUILD_UPDATE", &v, None);
        let after = self.widget_settings();
        let changes = match (before.as_object(), after.as_object()) {
            (Some(b), Some(a)) => audit::diff(b, a)
                .into_iter()
                .map(|mut c| {
                    c.key = format!("widget_{}", c.key);
                    c
                })
                .collect(),
            _ => Vec::new(),
        };
        self.audit(
            user,
            audit::GUILD_UPDATE,
            Some(self.id().snowflake()),
            changes,
            None,
        )
        .await;
        Ok(after)
    }

    /// `GET /guilds/{id}/widget.json` (public when the widget is enabled, 50004 otherwise):
    /// the voice channels @everyone can see. Member lists need presences of everyone, which
    /// only live sessions give; they are counted, not listed.
    pub(super) fn widget_json(&self) -> Result<Value, ApiError> {
        if !self.guild.widget_enabled {
            return Err(ApiError::coded(
                StatusCode::FORBIDDEN,
                50004,
                "widget-disabled",
            ));
        }
        let everyone = self.everyone();
        let everyone_id = self.id().everyone_role().snowflake();
        let mut channels: Vec<&crate::model::ChannelRecord> = self
            .channels
            .values()
            .filter(|c| {
                matches!(
                    c.kind,
                    ChannelKind::GuildVoice | ChannelKind::GuildStageVoice
                )
            })
            .filter(|c| {
                let o = c.permission_overwrites.iter().find(|o| o.id == everyone_id);
                let perms = o.map_or(everyone, |o| (everyone & !o.deny) | o.allow);
                perms.contains(Permissions::VIEW_CHANNEL)
            })
            .collect();
        channels.sort_by_key(|c| (c.position, c.id));
        Ok(json!({
            "id": self.id(),
            "name": self.guild.name,
            "instant_invite": self.guild.vanity_url_code,
            "channels": channels
                .iter()
                .map(|c| json!({"id": c.id, "name": c.name, "position": c.position}))
                .collect::<Vec<_>>(),
            "members": [],
            "presence_count": self.presence_count(),
        }))
    }
}
