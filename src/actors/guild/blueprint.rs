//! What a new guild starts with. A `POST /guilds` body and a template's snapshot both become a
//! [`GuildBlueprint`], and [`build`] turns one into the records of a new guild, so the two ways of
//! creating a guild share one path.
//!
//! Roles and channels of a blueprint refer to each other by placeholder ids (Discord's create
//! body: integers the client picks; a template: role and channel numbers): a channel's
//! `parent_id`, `afk_channel_id`, `system_channel_id` and the `id` of role overwrites. [`build`]
//! gives every role and channel a fresh snowflake and rewrites the references. The first role is
//! @everyone (its permissions apply to the guild's @everyone role, as on Discord).

use std::collections::HashMap;

use serde::Deserialize;

use super::{ChannelCreate, RolePatch};
use crate::actors::Services;
use crate::config::GuildLimits;
use crate::error::{FieldError, FieldErrors};
use crate::id::{ChannelId, IdsUnavailable, RoleId, Snowflake, UserId};
use crate::model::template::TemplateSnapshot;
use crate::model::{ChannelKind, ChannelRecord, GuildRecord, MemberRecord, Role};
use crate::permissions::{OverwriteKind, PermissionOverwrite, Permissions};
use crate::store::GuildState;
use crate::validate;

/// A role of a create-guild body: Discord's role fields plus the placeholder `id`.
#[derive(Debug, Default, Deserialize)]
pub struct RoleCreateWithId {
    pub id: Option<Snowflake>,
    #[serde(flatten)]
    pub role: RolePatch,
}

/// A channel of a create-guild body: the channel fields plus the placeholder `id`.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelCreateWithId {
    pub id: Option<Snowflake>,
    #[serde(flatten)]
    pub channel: ChannelCreate,
}

/// A new guild before it has ids. Absent settings take the instance's defaults.
#[derive(Debug, Default)]
pub struct GuildBlueprint {
    pub name: String,
    pub description: Option<String>,
    pub region: Option<String>,
    pub verification_level: Option<u8>,
    pub default_message_notifications: Option<u8>,
    pub explicit_content_filter: Option<u8>,
    pub preferred_locale: Option<String>,
    pub afk_timeout: Option<u32>,
    pub system_channel_flags: Option<u64>,
    /// @everyone first; the others from the bottom of the hierarchy up.
    pub roles: Vec<RoleCreateWithId>,
    /// Empty: the default text and voice channels.
    pub channels: Vec<ChannelCreateWithId>,
    pub afk_channel_id: Option<Snowflake>,
    /// None: the first text channel; `Some(None)`: no system channel.
    pub system_channel_id: Option<Option<Snowflake>>,
}

impl GuildBlueprint {
    /// The guild a template describes, named `name`.
    pub fn from_template(snapshot: &TemplateSnapshot, name: String) -> Self {
        let placeholder = |n: u32| Snowflake::new(u64::from(n));
        let roles = snapshot
            .roles
            .iter()
            .map(|r| RoleCreateWithId {
                id: Some(placeholder(r.id)),
                role: RolePatch {
                    name: Some(r.name.clone()),
                    permissions: Some(r.permissions),
                    color: Some(r.color),
                    hoist: Some(r.hoist),
                    mentionable: Some(r.mentionable),
                    unicode_emoji: Some(r.unicode_emoji.clone()),
                    ..RolePatch::default()
                },
            })
            .collect();
        let channels = snapshot
            .channels
            .iter()
            .map(|c| ChannelCreateWithId {
                id: Some(placeholder(c.id)),
                channel: ChannelCreate {
                    name: c.name.clone(),
                    kind: Some(c.kind),
                    topic: c.topic.clone(),
                    bitrate: Some(c.bitrate),
                    user_limit: Some(c.user_limit),
                    rate_limit_per_user: Some(c.rate_limit_per_user),
                    position: Some(c.position),
                    permission_overwrites: Some(
                        c.permission_overwrites
                            .iter()
                            .map(|o| PermissionOverwrite {
                                id: placeholder(o.id),
                                kind: o.kind,
                                allow: o.allow,
                                deny: o.deny,
                            })
                            .collect(),
                    ),
                    parent_id: c.parent_id.map(|p| ChannelId::new(u64::from(p))),
                    nsfw: Some(c.nsfw),
                    ..ChannelCreate::default()
                },
            })
            .collect();
        Self {
            name,
            description: snapshot.description.clone(),
            region: snapshot.region.clone(),
            verification_level: Some(snapshot.verification_level),
            default_message_notifications: Some(snapshot.default_message_notifications),
            explicit_content_filter: Some(snapshot.explicit_content_filter),
            preferred_locale: Some(snapshot.preferred_locale.clone()),
            afk_timeout: Some(snapshot.afk_timeout),
            system_channel_flags: Some(snapshot.system_channel_flags),
            roles,
            channels,
            afk_channel_id: snapshot.afk_channel_id.map(placeholder),
            system_channel_id: Some(snapshot.system_channel_id.map(placeholder)),
        }
    }

    /// Field errors for what [`build`] would otherwise have to guess about: too many roles or
    /// channels, names out of range, channel types a guild can't start with.
    pub fn validate(&self, errs: &mut FieldErrors, limits: &GuildLimits, max_channel_name: u32) {
        if self.roles.len() > limits.max_roles as usize {
            errs.add(
                "roles",
                FieldError::TooMany {
                    max: limits.max_roles as usize,
                },
            );
        }
        if self.channels.len() > limits.max_channels as usize {
            errs.add(
                "channels",
                FieldError::TooMany {
                    max: limits.max_channels as usize,
                },
            );
        }
        for (i, r) in self.roles.iter().enumerate().skip(1) {
            if let Some(name) = &r.role.name {
                validate::length(errs, &format!("roles.{i}.name"), name, 1, 100);
            }
        }
        for (i, c) in self.channels.iter().enumerate() {
            if let Some(name) = &c.channel.name {
                let path = format!("channels.{i}.name");
                validate::length(errs, &path, name.trim(), 1, max_channel_name);
            }
            if let Some(kind) = c.channel.kind
                && creatable_kind(kind).is_none()
            {
                errs.add(
                    &format!("channels.{i}.type"),
                    FieldError::Choice {
                        allowed: "0, 2, 4, 5, 13, 14, 15, 16".into(),
                    },
                );
            }
        }
    }
}

/// The channel types a guild can be created with (guild channels, no threads).
fn creatable_kind(kind: u8) -> Option<ChannelKind> {
    ChannelKind::try_from(kind).ok().filter(|k| {
        k.is_guild()
            && !matches!(
                k,
                ChannelKind::AnnouncementThread
                    | ChannelKind::PublicThread
                    | ChannelKind::PrivateThread
            )
    })
}

/// The records of a new guild owned by `owner` (its only member), with fresh ids.
pub fn build(
    services: &Services,
    owner: UserId,
    blueprint: GuildBlueprint,
) -> Result<GuildState, IdsUnavailable> {
    let config = services.config.get();
    let defaults = &config.defaults.guild;
    let id = services.new_guild_id()?;

    // Roles: the first placeholder is @everyone, the others get new ids and positions 1.. in
    // list order (which is hierarchy order, bottom up).
    let mut role_ids: HashMap<u64, RoleId> = HashMap::new();
    let mut roles = Vec::with_capacity(blueprint.roles.len().max(1));
    let mut everyone = new_role(id.everyone_role(), "@everyone".into(), 0);
    everyone.permissions = Permissions::DEFAULT_EVERYONE;
    let mut given = blueprint.roles.into_iter();
    if let Some(first) = given.next() {
        if let Some(p) = first.id {
            role_ids.insert(p.get(), everyone.id);
        }
        if let Some(p) = first.role.permissions {
            everyone.permissions = p;
        }
    }
    roles.push(everyone);
    for (i, r) in given.enumerate() {
        let mut role = new_role(
            services.ids.next()?,
            r.role.name.unwrap_or_else(|| "new role".into()),
            i as i32 + 1,
        );
        role.permissions = r.role.permissions.unwrap_or_default();
        role.color = r
            .role
            .color
            .or_else(|| r.role.colors.as_ref().and_then(|c| c.primary_color))
            .unwrap_or(0)
            & 0xff_ffff;
        role.hoist = r.role.hoist.unwrap_or(false);
        role.mentionable = r.role.mentionable.unwrap_or(false);
        role.unicode_emoji = r.role.unicode_emoji.flatten();
        if let Some(p) = r.id {
            role_ids.insert(p.get(), role.id);
        }
        roles.push(role);
    }

    // Channels: ids first, so a reference resolves whatever the order of the list.
    let mut records = Vec::new();
    let mut channel_ids: HashMap<u64, ChannelId> = HashMap::new();
    if blueprint.channels.is_empty() {
        let mut text = ChannelRecord::new(services.ids.next()?, ChannelKind::GuildText, Some(id));
        text.name = Some(defaults.text_channel_name.clone());
        let mut voice = ChannelRecord::new(services.ids.next()?, ChannelKind::GuildVoice, Some(id));
        voice.name = Some(defaults.voice_channel_name.clone());
        voice.bitrate = Some(64_000);
        voice.user_limit = Some(0);
        records.push(text);
        records.push(voice);
    } else {
        let fresh: Vec<ChannelId> = blueprint
            .channels
            .iter()
            .map(|_| services.ids.next())
            .collect::<Result<_, _>>()?;
        for (c, new) in blueprint.channels.iter().zip(&fresh) {
            if let Some(p) = c.id {
                channel_ids.insert(p.get(), *new);
            }
        }
        let categories: Vec<u64> = blueprint
            .channels
            .iter()
            .filter(|c| c.channel.kind == Some(ChannelKind::GuildCategory as u8))
            .filter_map(|c| c.id.map(Snowflake::get))
            .collect();
        for (i, (c, new)) in blueprint.channels.into_iter().zip(fresh).enumerate() {
            let c = c.channel;
            let kind = creatable_kind(c.kind.unwrap_or(0)).unwrap_or(ChannelKind::GuildText);
            let mut r = ChannelRecord::new(new, kind, Some(id));
            r.name = Some(c.name.unwrap_or_else(|| defaults.text_channel_name.clone()));
            r.topic = c.topic;
            r.position = c.position.unwrap_or(i as i32);
            // Only a category of the same blueprint can be a parent, and not of a category.
            r.parent_id = c
                .parent_id
                .filter(|p| kind != ChannelKind::GuildCategory && categories.contains(&p.get()))
                .and_then(|p| channel_ids.get(&p.get()).copied());
            r.nsfw = c.nsfw.unwrap_or(false);
            r.rate_limit_per_user = c.rate_limit_per_user.unwrap_or(0).min(21_600);
            r.permission_overwrites = c
                .permission_overwrites
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| match o.kind {
                    OverwriteKind::Role => {
                        role_ids.get(&o.id.get()).map(|new| PermissionOverwrite {
                            id: new.snowflake(),
                            ..o
                        })
                    }
                    // The owner is the only member a new guild has.
                    OverwriteKind::Member => (o.id == owner.snowflake()).then_some(o),
                })
                .collect();
            if matches!(kind, ChannelKind::GuildVoice | ChannelKind::GuildStageVoice) {
                r.bitrate = Some(c.bitrate.unwrap_or(64_000).clamp(8_000, 384_000));
                r.user_limit = Some(c.user_limit.unwrap_or(0).min(99));
            }
            records.push(r);
        }
    }
    let channel_of = |p: Snowflake| channel_ids.get(&p.get()).copied();
    let system_channel = match blueprint.system_channel_id {
        Some(p) => p.and_then(channel_of),
        None => records
            .iter()
            .find(|c| c.kind == ChannelKind::GuildText)
            .map(|c| c.id),
    };
    let afk_channel = blueprint.afk_channel_id.and_then(channel_of).filter(|c| {
        records
            .iter()
            .any(|r| r.id == *c && r.kind == ChannelKind::GuildVoice)
    });
    let guild = GuildRecord {
        id,
        name: blueprint.name,
        icon: None,
        splash: None,
        discovery_splash: None,
        banner: None,
        description: blueprint.description,
        owner_id: owner,
        region: blueprint.region,
        afk_channel_id: afk_channel,
        afk_timeout: blueprint.afk_timeout.unwrap_or(defaults.afk_timeout),
        widget_enabled: false,
        widget_channel_id: None,
        verification_level: blueprint.verification_level.unwrap_or(0).min(4),
        default_message_notifications: blueprint
            .default_message_notifications
            .unwrap_or(defaults.default_message_notifications)
            .min(1),
        explicit_content_filter: blueprint
            .explicit_content_filter
            .unwrap_or(defaults.explicit_content_filter)
            .min(2),
        features: Vec::new(),
        mfa_level: 0,
        system_channel_id: system_channel,
        system_channel_flags: blueprint.system_channel_flags.unwrap_or(0),
        rules_channel_id: None,
        public_updates_channel_id: None,
        safety_alerts_channel_id: None,
        vanity_url_code: None,
        premium_tier: 0,
        premium_subscription_count: 0,
        preferred_locale: blueprint
            .preferred_locale
            .unwrap_or_else(|| defaults.preferred_locale.clone()),
        nsfw_level: 0,
        premium_progress_bar_enabled: false,
        max_members: config.limits.guild.max_members,
    };
    Ok(GuildState {
        guild,
        roles,
        channels: records,
        members: vec![MemberRecord::new(id, owner)],
        bans: Vec::new(),
    })
}

fn new_role(id: RoleId, name: String, position: i32) -> Role {
    Role {
        id,
        name,
        color: 0,
        hoist: false,
        icon: None,
        unicode_emoji: None,
        position,
        permissions: Permissions::empty(),
        managed: false,
        mentionable: false,
        flags: 0,
        tags: None,
    }
}
