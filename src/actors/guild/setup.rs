//! What a guild sets up for newcomers and incidents: the welcome screen, onboarding, the
//! derived new-member welcome, and incident actions (invites or DMs paused for a while).
//! All of it lives in one [`GuildSetupRecord`] the actor loads when it starts.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, audit, double_option};
use crate::config::OnboardingLimits;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, EmojiId, RoleId, Snowflake, UserId};
use crate::model::Timestamp;
use crate::model::guild_setup::{
    GuildSetupRecord, IncidentsData, Onboarding, OnboardingPrompt, PromptEmoji, PromptOption,
    WelcomeChannel, WelcomeScreen,
};
use crate::permissions::Permissions;
use crate::validate;

/// The guild feature a enabled welcome screen shows as.
const WELCOME_FEATURE: &str = "WELCOME_SCREEN_ENABLED";
/// The guild feature paused invites show as.
pub(super) const INVITES_DISABLED_FEATURE: &str = "INVITES_DISABLED";

// Discord's audit log event numbers for onboarding.
const ONBOARDING_PROMPT_CREATE: u16 = 163;
const ONBOARDING_PROMPT_UPDATE: u16 = 164;
const ONBOARDING_PROMPT_DELETE: u16 = 165;
const ONBOARDING_CREATE: u16 = 166;
const ONBOARDING_UPDATE: u16 = 167;

/// Body of `PATCH /guilds/{id}/welcome-screen` (every field optional; null clears).
#[derive(Debug, Default, Deserialize)]
pub struct WelcomeScreenPatch {
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    pub welcome_channels: Option<Vec<WelcomeChannelBody>>,
}

#[derive(Debug, Deserialize)]
pub struct WelcomeChannelBody {
    pub channel_id: Option<ChannelId>,
    pub description: Option<String>,
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
}

/// Body of `PUT /guilds/{id}/onboarding`: what is given replaces what was; nulls keep it.
#[derive(Debug, Default, Deserialize)]
pub struct OnboardingBody {
    pub prompts: Option<Vec<PromptBody>>,
    pub default_channel_ids: Option<Vec<ChannelId>>,
    pub enabled: Option<bool>,
    pub mode: Option<u8>,
}

#[derive(Debug, Deserialize)]
pub struct PromptBody {
    pub id: Option<Snowflake>,
    #[serde(rename = "type")]
    pub kind: Option<u8>,
    pub title: Option<String>,
    pub options: Option<Vec<OptionBody>>,
    pub single_select: Option<bool>,
    pub required: Option<bool>,
    pub in_onboarding: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct OptionBody {
    pub id: Option<Snowflake>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
    pub emoji_animated: Option<bool>,
    pub role_ids: Option<Vec<RoleId>>,
    pub channel_ids: Option<Vec<ChannelId>>,
}

/// Body of `PUT /guilds/{id}/incident-actions`: a time, or null to lift the pause.
#[derive(Debug, Default, Deserialize)]
pub struct IncidentActionsBody {
    #[serde(default, deserialize_with = "double_option")]
    pub invites_disabled_until: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub dms_disabled_until: Option<Option<String>>,
}

/// Turns a feature on or off in a guild's list; true when the list changed.
pub(super) fn set_feature(features: &mut Vec<String>, name: &str, on: bool) -> bool {
    let has = features.iter().any(|f| f == name);
    match (has, on) {
        (false, true) => features.push(name.to_string()),
        (true, false) => features.retain(|f| f != name),
        _ => return false,
    }
    true
}

impl State {
    fn onboarding_limits(&self) -> OnboardingLimits {
        self.services.config.get().limits.onboarding.clone()
    }

    /// The guild's `incidents_data` field (null until incident actions were set).
    pub(super) fn incidents_json(&self) -> Value {
        self.setup.incidents.to_guild_field()
    }

    /// Whether joining through an invite is paused now.
    pub(super) fn invites_paused(&self) -> bool {
        self.setup.invites_disabled || self.setup.incidents.invites_paused(Timestamp::now())
    }

    /// Writes the setup record, then (when `features` differ from the guild's) the guild with
    /// them, announcing GUILD_UPDATE.
    pub(super) async fn save_setup(
        &mut self,
        setup: GuildSetupRecord,
        features: Vec<String>,
    ) -> Result<(), ApiError> {
        self.services.store.put_guild_setup(&setup).await?;
        let incidents_changed = setup.incidents != self.setup.incidents;
        self.setup = setup;
        if features != self.guild.features {
            let mut g = self.guild.clone();
            g.features = features;
            self.services.store.update_guild(&g).await?;
            self.guild = g;
        } else if !incidents_changed {
            return Ok(());
        }
        let v = self.guild_json(true);
        self.dispatch("GUILD_UPDATE", &v, None);
        Ok(())
    }

    fn welcome_json(&self) -> Value {
        self.setup.welcome_screen.to_wire()
    }

    /// `GET /guilds/{id}/welcome-screen`: to members while it is enabled, otherwise with
    /// MANAGE_GUILD (Discord's rule).
    pub(super) fn welcome_screen(&self, user: UserId) -> Result<Value, ApiError> {
        if self.setup.welcome_screen.enabled {
            self.member_guard(user)?;
        } else {
            self.require_guild(user, Permissions::MANAGE_GUILD)?;
        }
        Ok(self.welcome_json())
    }

    /// `PATCH /guilds/{id}/welcome-screen` (MANAGE_GUILD): channels must be the guild's;
    /// toggling `enabled` toggles WELCOME_SCREEN_ENABLED (GUILD_UPDATE, audit entry).
    pub(super) async fn set_welcome_screen(
        &mut self,
        user: UserId,
        patch: WelcomeScreenPatch,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let limits = self.onboarding_limits();
        let mut errs = FieldErrors::default();
        let mut screen: WelcomeScreen = self.setup.welcome_screen.clone();
        if let Some(enabled) = patch.enabled {
            screen.enabled = enabled;
        }
        if let Some(description) = patch.description {
            if let Some(d) = &description {
                validate::max_length(&mut errs, "description", d, limits.max_welcome_description);
            }
            screen.description = description.filter(|d| !d.is_empty());
        }
        if let Some(channels) = patch.welcome_channels {
            if channels.len() > limits.max_welcome_channels as usize {
                errs.add(
                    "welcome_channels",
                    FieldError::TooMany {
                        max: limits.max_welcome_channels as usize,
                    },
                );
            }
            screen.welcome_channels = Vec::new();
            for (i, c) in channels.into_iter().enumerate() {
                let at = |f: &str| format!("welcome_channels.{i}.{f}");
                match c.channel_id {
                    None => errs.add(&at("channel_id"), FieldError::Required),
                    Some(id) if !self.channels.contains_key(&id) => {
                        errs.add(&at("channel_id"), FieldError::InvalidSnowflake)
                    }
                    Some(_) => {}
                }
                let description = c.description.unwrap_or_default();
                validate::length(
                    &mut errs,
                    &at("description"),
                    &description,
                    1,
                    limits.max_welcome_channel_description,
                );
                if c.emoji_id
                    .is_some_and(|e| !self.emojis.iter().any(|x| x.id == e))
                {
                    errs.add(&at("emoji_id"), FieldError::InvalidSnowflake);
                }
                if let Some(channel_id) = c.channel_id {
                    screen.welcome_channels.push(WelcomeChannel {
                        channel_id,
                        description,
                        emoji_id: c.emoji_id,
                        emoji_name: c.emoji_name.filter(|n| !n.is_empty()),
                    });
                }
            }
        }
        errs.into_result()?;
        if screen == self.setup.welcome_screen {
            return Ok(self.welcome_json());
        }
        let before = self.welcome_json();
        let mut setup = self.setup.clone();
        setup.welcome_screen = screen;
        let mut features = self.guild.features.clone();
        set_feature(&mut features, WELCOME_FEATURE, setup.welcome_screen.enabled);
        self.save_setup(setup, features).await?;
        let after = self.welcome_json();
        let target = Some(self.id().snowflake());
        self.audit_change(
            user,
            audit::GUILD_UPDATE,
            target,
            Some(before),
            Some(after.clone()),
        )
        .await;
        Ok(after)
    }

    fn onboarding_json(&self) -> Value {
        let mut v = json!(self.setup.onboarding);
        v["guild_id"] = json!(self.id());
        v
    }

    /// `GET /guilds/{id}/onboarding` (members: Discord's client reads it when joining).
    pub(super) fn onboarding(&self, user: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        Ok(self.onboarding_json())
    }

    /// Checks and builds one prompt of a `PUT /guilds/{id}/onboarding` body.
    fn build_prompt(
        &self,
        errs: &mut FieldErrors,
        limits: &OnboardingLimits,
        i: usize,
        p: PromptBody,
    ) -> Result<OnboardingPrompt, ApiError> {
        let at = |f: &str| format!("prompts.{i}.{f}");
        let title = p.title.unwrap_or_default();
        validate::length(errs, &at("title"), &title, 1, limits.max_prompt_title);
        let kind = p.kind.unwrap_or(0);
        if kind > 1 {
            errs.add(
                &at("type"),
                FieldError::Choice {
                    allowed: "0, 1".into(),
                },
            );
        }
        let options = p.options.unwrap_or_default();
        if options.is_empty() {
            errs.add(&at("options"), FieldError::TooFew { min: 1 });
        } else if options.len() > limits.max_prompt_options as usize {
            errs.add(
                &at("options"),
                FieldError::TooMany {
                    max: limits.max_prompt_options as usize,
                },
            );
        }
        let mut built = Vec::with_capacity(options.len());
        for (j, o) in options.into_iter().enumerate() {
            let at = |f: &str| format!("prompts.{i}.options.{j}.{f}");
            let title = o.title.unwrap_or_default();
            validate::length(errs, &at("title"), &title, 1, limits.max_option_title);
            let description = o.description.unwrap_or_default();
            validate::max_length(
                errs,
                &at("description"),
                &description,
                limits.max_option_description,
            );
            let role_ids = o.role_ids.unwrap_or_default();
            let channel_ids = o.channel_ids.unwrap_or_default();
            let max_ids = limits.max_option_ids as usize;
            for (name, n) in [
                ("role_ids", role_ids.len()),
                ("channel_ids", channel_ids.len()),
            ] {
                if n > max_ids {
                    errs.add(&at(name), FieldError::TooMany { max: max_ids });
                }
            }
            if role_ids
                .iter()
                .any(|r| *r == self.id().everyone_role() || !self.roles.iter().any(|x| x.id == *r))
            {
                errs.add(&at("role_ids"), FieldError::InvalidSnowflake);
            }
            if channel_ids.iter().any(|c| !self.channels.contains_key(c)) {
                errs.add(&at("channel_ids"), FieldError::InvalidSnowflake);
            }
            if o.emoji_id
                .is_some_and(|e| !self.emojis.iter().any(|x| x.id == e))
            {
                errs.add(&at("emoji_id"), FieldError::InvalidSnowflake);
            }
            let id = match o.id {
                Some(id) => id,
                None => self.services.ids.next()?,
            };
            built.push(PromptOption {
                id,
                title,
                description,
                emoji: PromptEmoji {
                    id: o.emoji_id,
                    name: o.emoji_name.filter(|n| !n.is_empty()),
                    animated: o.emoji_animated.unwrap_or(false),
                },
                role_ids,
                channel_ids,
            });
        }
        let id = match p.id {
            Some(id) => id,
            None => self.services.ids.next()?,
        };
        Ok(OnboardingPrompt {
            id,
            kind,
            title,
            options: built,
            single_select: p.single_select.unwrap_or(false),
            required: p.required.unwrap_or(false),
            in_onboarding: p.in_onboarding.unwrap_or(true),
        })
    }

    /// `PUT /guilds/{id}/onboarding` (MANAGE_GUILD and MANAGE_ROLES, as Discord requires):
    /// channel and role ids must be the guild's. Audit entries: ONBOARDING_CREATE the first
    /// time, then ONBOARDING_UPDATE, and one per added, changed or removed prompt.
    ///
    /// Discord also shows GUILD_ONBOARDING* guild features, but its OpenAPI document's
    /// `GuildFeatures` enum (what the shapes test and strict clients check) lacks them, so
    /// onboarding shows only here and no GUILD_UPDATE goes out.
    pub(super) async fn set_onboarding(
        &mut self,
        user: UserId,
        body: OnboardingBody,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD | Permissions::MANAGE_ROLES)?;
        let limits = self.onboarding_limits();
        let mut errs = FieldErrors::default();
        let mut next: Onboarding = self.setup.onboarding.clone();
        if let Some(prompts) = body.prompts {
            if prompts.len() > limits.max_prompts as usize {
                errs.add(
                    "prompts",
                    FieldError::TooMany {
                        max: limits.max_prompts as usize,
                    },
                );
            }
            let mut built = Vec::with_capacity(prompts.len());
            for (i, p) in prompts.into_iter().enumerate() {
                built.push(self.build_prompt(&mut errs, &limits, i, p)?);
            }
            next.prompts = built;
        }
        if let Some(channels) = body.default_channel_ids {
            if channels.len() > limits.max_default_channels as usize {
                errs.add(
                    "default_channel_ids",
                    FieldError::TooMany {
                        max: limits.max_default_channels as usize,
                    },
                );
            }
            if channels.iter().any(|c| !self.channels.contains_key(c)) {
                errs.add("default_channel_ids", FieldError::InvalidSnowflake);
            }
            let mut unique: Vec<ChannelId> = Vec::with_capacity(channels.len());
            for c in channels {
                if !unique.contains(&c) {
                    unique.push(c);
                }
            }
            next.default_channel_ids = unique;
        }
        if let Some(enabled) = body.enabled {
            next.enabled = enabled;
        }
        if let Some(mode) = body.mode {
            if mode > 1 {
                errs.add(
                    "mode",
                    FieldError::Choice {
                        allowed: "0, 1".into(),
                    },
                );
            }
            next.mode = mode;
        }
        if next.enabled && next.default_channel_ids.is_empty() {
            // Onboarding shows new members their default channels: none is nothing to show.
            errs.add("default_channel_ids", FieldError::TooFew { min: 1 });
        }
        errs.into_result()?;
        if next == self.setup.onboarding {
            return Ok(self.onboarding_json());
        }
        let first = self.setup.onboarding == Onboarding::default();
        let old_prompts = self.setup.onboarding.prompts.clone();
        let before = self.onboarding_json();
        let mut setup = self.setup.clone();
        setup.onboarding = next;
        let new_prompts = setup.onboarding.prompts.clone();
        let features = self.guild.features.clone();
        self.save_setup(setup, features).await?;
        let after = self.onboarding_json();
        let guild = Some(self.id().snowflake());
        let action = if first {
            ONBOARDING_CREATE
        } else {
            ONBOARDING_UPDATE
        };
        let strip = |v: Value| {
            let mut v = v;
            if let Some(m) = v.as_object_mut() {
                m.remove("prompts");
                m.remove("guild_id");
            }
            v
        };
        let (b, a) = (strip(before), strip(after.clone()));
        if b != a {
            self.audit_change(user, action, guild, Some(b), Some(a))
                .await;
        }
        for p in &new_prompts {
            let old = old_prompts.iter().find(|o| o.id == p.id);
            match old {
                None => {
                    self.audit_change(
                        user,
                        ONBOARDING_PROMPT_CREATE,
                        Some(p.id),
                        None,
                        Some(json!(p)),
                    )
                    .await
                }
                Some(o) if o != p => {
                    self.audit_change(
                        user,
                        ONBOARDING_PROMPT_UPDATE,
                        Some(p.id),
                        Some(json!(o)),
                        Some(json!(p)),
                    )
                    .await
                }
                Some(_) => {}
            }
        }
        for o in old_prompts
            .iter()
            .filter(|o| !new_prompts.iter().any(|p| p.id == o.id))
        {
            self.audit_change(
                user,
                ONBOARDING_PROMPT_DELETE,
                Some(o.id),
                Some(json!(o)),
                None,
            )
            .await;
        }
        Ok(after)
    }

    /// `GET /guilds/{id}/new-member-welcome` (members): what Discord's client shows a new
    /// member, derived from the welcome screen (the message and one action per welcome
    /// channel: TALK where @everyone may send, VIEW elsewhere) and onboarding (its default
    /// channels as resource channels). None (204) while neither is enabled.
    pub(super) fn new_member_welcome(&self, user: UserId) -> Result<Option<Value>, ApiError> {
        self.member_guard(user)?;
        let screen = &self.setup.welcome_screen;
        let onboarding = &self.setup.onboarding;
        if !screen.enabled && !onboarding.enabled {
            return Ok(None);
        }
        // @everyone's permissions in the channel (a newcomer has no other role).
        let everyone = self.everyone();
        let everyone_id = self.id().everyone_role().snowflake();
        let can_talk = |id: ChannelId| {
            self.channels.get(&id).is_some_and(|c| {
                let o = c.permission_overwrites.iter().find(|o| o.id == everyone_id);
                let perms = o.map_or(everyone, |o| (everyone & !o.deny) | o.allow);
                c.kind.is_text() && perms.contains(Permissions::SEND_MESSAGES)
            })
        };
        let emoji = |id: Option<EmojiId>, name: &Option<String>| {
            let animated = id
                .and_then(|i| self.emojis.iter().find(|e| e.id == i))
                .is_some_and(|e| e.animated);
            json!({"id": id, "name": name, "animated": animated})
        };
        let topic = |id: ChannelId| {
            self.channels
                .get(&id)
                .and_then(|c| c.topic.clone())
                .unwrap_or_default()
        };
        let actions: Vec<Value> = if screen.enabled {
            screen
                .welcome_channels
                .iter()
                .filter(|c| self.channels.contains_key(&c.channel_id))
                .map(|c| {
                    json!({
                        "channel_id": c.channel_id,
                        "action_type": if can_talk(c.channel_id) { 1 } else { 0 },
                        "title": c.description,
                        "description": topic(c.channel_id),
                        "emoji": emoji(c.emoji_id, &c.emoji_name),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let resources: Vec<Value> = if onboarding.enabled {
            onboarding
                .default_channel_ids
                .iter()
                .filter_map(|id| self.channels.get(id))
                .map(|c| {
                    json!({
                        "channel_id": c.id,
                        "title": c.name.clone().unwrap_or_default(),
                        "description": c.topic.clone().unwrap_or_default(),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut v = json!({
            "guild_id": self.id(),
            "enabled": true,
            "new_member_actions": actions,
            "resource_channels": resources,
        });
        if let Some(message) = screen.description.as_ref().filter(|_| screen.enabled) {
            v["welcome_message"] = json!({"author_ids": [self.guild.owner_id], "message": message});
        }
        Ok(Some(v))
    }

    /// `PUT /guilds/{id}/incident-actions` (MANAGE_GUILD): pauses joins through invites and
    /// DMs until the given times (at most `max_incident_hours` ahead; null lifts a pause).
    /// Shown as the guild's `incidents_data` (and INVITES_DISABLED while invites are paused);
    /// GUILD_UPDATE.
    pub(super) async fn set_incident_actions(
        &mut self,
        user: UserId,
        body: IncidentActionsBody,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let limits = self.onboarding_limits();
        let now = Timestamp::now();
        let latest =
            Timestamp::from_millis(now.millis() + i64::from(limits.max_incident_hours) * 3_600_000);
        let mut errs = FieldErrors::default();
        let mut parse = |name: &str, v: Option<Option<String>>, current: Option<Timestamp>| {
            match v {
                None => current,
                Some(None) => None,
                Some(Some(s)) => match Timestamp::parse(&s) {
                    None => {
                        errs.add(name, FieldError::InvalidDate);
                        None
                    }
                    Some(t) if t > latest => {
                        errs.add(
                            name,
                            FieldError::DateTooFar {
                                hours: limits.max_incident_hours,
                            },
                        );
                        None
                    }
                    // A time already past lifts the pause.
                    Some(t) if t <= now => None,
                    Some(t) => Some(t),
                },
            }
        };
        let old = self.setup.incidents;
        let incidents = IncidentsData {
            invites_disabled_until: parse(
                "invites_disabled_until",
                body.invites_disabled_until,
                old.invites_disabled_until,
            ),
            dms_disabled_until: parse(
                "dms_disabled_until",
                body.dms_disabled_until,
                old.dms_disabled_until,
            ),
            // Detection is the server's; moderators pausing or lifting leave it as it was.
            raid_detected_at: old.raid_detected_at,
        };
        errs.into_result()?;
        let answer = |i: &IncidentsData| {
            json!({
                "invites_disabled_until": i.invites_disabled_until,
                "dms_disabled_until": i.dms_disabled_until,
            })
        };
        if incidents == old {
            return Ok(answer(&old));
        }
        let mut setup = self.setup.clone();
        setup.incidents = incidents;
        let mut features = self.guild.features.clone();
        set_feature(
            &mut features,
            INVITES_DISABLED_FEATURE,
            incidents.invites_disabled_until.is_some() || self.setup.invites_disabled,
        );
        self.save_setup(setup, features).await?;
        Ok(answer(&incidents))
    }
}
