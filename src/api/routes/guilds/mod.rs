//! `/guilds/*`: create, read, update, delete guilds. Sub-resources live beside this file.

pub mod audit_logs;
pub mod auto_moderation;
pub mod bans;
pub mod bulk_ban;
pub mod channels;
pub mod emojis;
pub mod incident_actions;
pub mod integrations;
pub mod member_verification;
pub mod members;
pub mod messages_search;
pub mod new_member_welcome;
pub mod onboarding;
pub mod preview;
pub mod prune;
pub mod regions;
pub mod requests;
pub mod roles;
pub mod scheduled_events;
pub mod soundboard_sounds;
pub mod stickers;
pub mod templates;
pub mod threads;
pub mod vanity_url;
pub mod voice_states;
pub mod welcome_screen;
pub mod widget;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::blueprint::{self, GuildBlueprint};
use crate::actors::guild::{ChannelCreateWithId, GuildMsg, GuildPatch, RoleCreateWithId};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{GuildId, Snowflake, UserId};
use crate::validate;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/guilds", post(create))
        .route(
            "/guilds/{guild_id}",
            axum::routing::get(get).patch(update).delete(delete),
        )
        .route("/guilds/{guild_id}/delete", post(delete))
        .merge(channels::routes())
        .merge(members::routes())
        .merge(messages_search::routes())
        .merge(roles::routes())
        .merge(bans::routes())
        .merge(bulk_ban::routes())
        .merge(emojis::routes())
        .merge(stickers::routes())
        .merge(scheduled_events::routes())
        .merge(auto_moderation::routes())
        .merge(prune::routes())
        .merge(audit_logs::routes())
        .merge(vanity_url::routes())
        .merge(widget::routes())
        .merge(preview::routes())
        .merge(regions::routes())
        .merge(templates::routes())
        .merge(threads::routes())
        .merge(welcome_screen::routes())
        .merge(onboarding::routes())
        .merge(member_verification::routes())
        .merge(requests::routes())
        .merge(new_member_welcome::routes())
        .merge(incident_actions::routes())
        .merge(integrations::routes())
        .merge(voice_states::routes())
        .merge(soundboard_sounds::routes())
}

/// Discord's create-guild body. Every documented field is accepted (client libraries send
/// `region`, `verification_level`, `roles`, … and `null`s); unknown ones are ignored.
#[derive(Debug, Deserialize)]
pub struct GuildCreate {
    pub name: Option<String>,
    pub region: Option<String>,
    /// A data URI.
    pub icon: Option<String>,
    pub verification_level: Option<u8>,
    pub default_message_notifications: Option<u8>,
    pub explicit_content_filter: Option<u8>,
    /// The first is @everyone's; `id`s are placeholders the channels' overwrites refer to.
    pub roles: Option<Vec<RoleCreateWithId>>,
    /// `id`s are placeholders `parent_id`, `afk_channel_id` and `system_channel_id` refer to.
    pub channels: Option<Vec<ChannelCreateWithId>>,
    pub afk_channel_id: Option<Value>,
    pub afk_timeout: Option<u32>,
    pub system_channel_id: Option<Value>,
    pub system_channel_flags: Option<u64>,
    pub guild_template_code: Option<String>,
}

impl GuildCreate {
    fn into_blueprint(self) -> GuildBlueprint {
        // A placeholder reference is a number or a numeric string; anything else refers to nothing.
        let placeholder =
            |v: Option<Value>| v.and_then(|v| serde_json::from_value::<Snowflake>(v).ok());
        GuildBlueprint {
            name: self.name.unwrap_or_default(),
            description: None,
            region: self.region,
            verification_level: self.verification_level,
            default_message_notifications: self.default_message_notifications,
            explicit_content_filter: self.explicit_content_filter,
            preferred_locale: None,
            afk_timeout: self.afk_timeout,
            system_channel_flags: self.system_channel_flags,
            roles: self.roles.unwrap_or_default(),
            channels: self.channels.unwrap_or_default(),
            afk_channel_id: placeholder(self.afk_channel_id),
            system_channel_id: placeholder(self.system_channel_id).map(Some),
        }
    }
}

/// `POST /guilds`
async fn create(
    State(app): State<App>,
    caller: Caller,
    Json(mut body): Json<GuildCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let icon = body.icon.take();
    let v = create_guild(&app, caller.user_id, body.into_blueprint(), icon).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Creates a guild owned by `owner` from a blueprint: the one path behind `POST /guilds` and
/// `POST /guilds/templates/{code}`. Checks the name, roles and channels (50035) and the owner's
/// guild limit (30001), stores the icon (a data URI), writes the guild, starts its actor and
/// sends GUILD_CREATE to the owner's sessions. Returns the guild object.
pub async fn create_guild(
    app: &App,
    owner: UserId,
    mut blueprint: GuildBlueprint,
    icon: Option<String>,
) -> Result<Value, ApiError> {
    let config = app.config().get();
    blueprint.name = blueprint.name.trim().to_string();
    let mut errs = FieldErrors::default();
    if blueprint.name.is_empty() {
        errs.add("name", FieldError::Required);
    } else {
        validate::length(
            &mut errs,
            "name",
            &blueprint.name,
            config.limits.guild.min_name,
            config.limits.guild.max_name,
        );
    }
    blueprint.validate(
        &mut errs,
        &config.limits.guild,
        config.limits.channel.max_name,
    );
    errs.into_result()?;
    if app.store().guilds_of_user(owner).await?.len() >= config.limits.user.max_guilds as usize {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            30001,
            "max-guilds-reached",
        ));
    }
    let mut state = blueprint::build(&app.services, owner, blueprint)?;
    let id = state.guild.id;
    if let Some(uri) = icon.filter(|i| !i.is_empty()) {
        let limits = crate::cdn::ImageLimits::avatar(&config.cdn);
        let max = limits.max_bytes;
        let hash = app
            .cdn
            .put_image_data_uri(crate::cdn::ImageKind::Icon, id.0, &uri, limits)
            .await
            .map_err(|e| crate::cdn::field_error("icon", e, max))?;
        state.guild.icon = Some(hash);
    }
    app.store().create_guild(&state).await?;
    tracing::info!(guild = %id, owner = %owner, "guild created");
    let actor = app.services.guild(id).await?;
    crate::actors::tell(&actor, GuildMsg::SubscribeUser(owner)).map_err(ApiError::internal)?;
    ask(&app.services, &actor, |reply| GuildMsg::Get {
        user: owner,
        reply,
    })
    .await
}

#[derive(Debug, Deserialize)]
struct GetQuery {
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    with_counts: Option<bool>,
}

/// `GET /guilds/{id}` (`?with_counts=true` adds `approximate_member_count` and
/// `approximate_presence_count`).
async fn get(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<GetQuery>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    let user = caller.user_id;
    Ok(Json(if q.with_counts == Some(true) {
        ask(&app.services, &actor, |reply| GuildMsg::GetWithCounts {
            user,
            reply,
        })
        .await?
    } else {
        ask(&app.services, &actor, |reply| GuildMsg::Get { user, reply }).await?
    }))
}

/// `PATCH /guilds/{id}`
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(mut patch): Json<GuildPatch>,
) -> Result<Json<Value>, ApiError> {
    // Images arrive as data URIs; the CDN stores them and the guild keeps their hashes.
    // Permission first, so a refused edit stores nothing.
    use crate::cdn::ImageKind;
    let images = [
        ("icon", ImageKind::Icon, &mut patch.icon),
        ("banner", ImageKind::Banner, &mut patch.banner),
        ("splash", ImageKind::Splash, &mut patch.splash),
        (
            "discovery_splash",
            ImageKind::DiscoverySplash,
            &mut patch.discovery_splash,
        ),
    ];
    if images
        .iter()
        .any(|(_, _, slot)| matches!(slot, Some(Some(_))))
    {
        app.services
            .ask_guild(id, |reply| GuildMsg::MayUpdate {
                user: caller.user_id,
                reply,
            })
            .await?;
    }
    for (field, kind, slot) in images {
        if let Some(Some(uri)) = slot {
            let limits = crate::cdn::ImageLimits::avatar(&app.config().get().cdn);
            let max = limits.max_bytes;
            let hash = app
                .cdn
                .put_image_data_uri(kind, id.0, uri, limits)
                .await
                .map_err(|e| crate::cdn::field_error(field, e, max))?;
            *slot = Some(Some(hash));
        }
    }
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Update {
                    user: caller.user_id,
                    patch,
                    reply,
                }
                .with_reason(reason)
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}` (owner only).
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| GuildMsg::Delete {
            user: caller.user_id,
            reply,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
