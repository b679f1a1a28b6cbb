//! `/guilds/*`: create, read, update, delete guilds. Sub-resources live beside this file.

pub mod audit_logs;
pub mod bans;
pub mod channels;
pub mod emojis;
pub mod members;
pub mod preview;
pub mod prune;
pub mod regions;
pub mod roles;
pub mod stickers;
pub mod vanity_url;
pub mod widget;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{ChannelCreate, GuildMsg, GuildPatch, new_guild_state};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, GuildId};
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
        .merge(roles::routes())
        .merge(bans::routes())
        .merge(emojis::routes())
        .merge(stickers::routes())
        .merge(prune::routes())
        .merge(audit_logs::routes())
        .merge(vanity_url::routes())
        .merge(widget::routes())
        .merge(preview::routes())
        .merge(regions::routes())
}

/// Discord's create-guild body. Every documented field is accepted (client libraries send
/// `region`, `verification_level`, `roles`, … and `null`s); unknown ones are ignored.
#[derive(Debug, Deserialize)]
pub struct GuildCreate {
    pub name: Option<String>,
    pub region: Option<String>,
    pub icon: Option<String>,
    pub verification_level: Option<u8>,
    pub default_message_notifications: Option<u8>,
    pub explicit_content_filter: Option<u8>,
    pub roles: Option<Vec<Value>>,
    pub channels: Option<Vec<ChannelCreateWithId>>,
    pub afk_channel_id: Option<Value>,
    pub afk_timeout: Option<u32>,
    pub system_channel_id: Option<Value>,
    pub system_channel_flags: Option<u64>,
    pub guild_template_code: Option<String>,
}

/// A channel in a create body may carry a placeholder `id` that others' `parent_id` refer to.
#[derive(Debug, Deserialize)]
pub struct ChannelCreateWithId {
    pub id: Option<ChannelId>,
    #[serde(flatten)]
    pub channel: ChannelCreate,
}

/// `POST /guilds`
async fn create(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<GuildCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let config = app.config().get();
    let name = body.name.unwrap_or_default().trim().to_string();
    let mut errs = FieldErrors::default();
    if name.is_empty() {
        errs.add("name", FieldError::Required);
    } else {
        validate::length(
            &mut errs,
            "name",
            &name,
            config.limits.guild.min_name,
            config.limits.guild.max_name,
        );
    }
    errs.into_result()?;
    if app.store().guilds_of_user(caller.user_id).await?.len()
        >= config.limits.user.max_guilds as usize
    {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            30001,
            "max-guilds-reached",
        ));
    }
    // Placeholder ids in the body are renumbered 1..n in order, so parent references resolve.
    let channels = body.channels.unwrap_or_default();
    let positions: Vec<Option<ChannelId>> = channels.iter().map(|c| c.id).collect();
    let channels: Vec<ChannelCreate> = channels
        .into_iter()
        .map(|c| {
            let mut c = c.channel;
            c.parent_id = c
                .parent_id
                .and_then(|p| positions.iter().position(|x| *x == Some(p)))
                .map(|i| ChannelId::new(i as u64 + 1));
            c
        })
        .collect();
    let mut state = new_guild_state(&app.services, caller.user_id, name, None, channels);
    if let Some(v) = body.verification_level {
        state.guild.verification_level = v.min(4);
    }
    if let Some(v) = body.default_message_notifications {
        state.guild.default_message_notifications = v.min(1);
    }
    if let Some(v) = body.explicit_content_filter {
        state.guild.explicit_content_filter = v.min(2);
    }
    if let Some(t) = body.afk_timeout {
        state.guild.afk_timeout = t;
    }
    let id = state.guild.id;
    app.store().create_guild(&state).await?;
    tracing::info!(guild = %id, owner = %caller.user_id, "guild created");
    let actor = app.services.guild(id).await?;
    crate::actors::tell(&actor, GuildMsg::SubscribeUser(caller.user_id))
        .map_err(ApiError::internal)?;
    let v = ask(&app.services, &actor, |reply| GuildMsg::Get {
        user: caller.user_id,
        reply,
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
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
    let actor = app.services.guild(id).await?;
    // An icon arrives as a data URI; the CDN stores it and the guild keeps its hash.
    if let Some(Some(uri)) = &patch.icon {
        let max = app.config().get().cdn.max_avatar_bytes;
        let hash = app
            .cdn
            .put_image_data_uri(crate::cdn::ImageKind::Icon, id.0, uri, max)
            .await
            .map_err(|e| crate::cdn::field_error("icon", e, max))?;
        patch.icon = Some(Some(hash));
    }
    Ok(Json(
        ask(&app.services, &actor, |reply| {
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
    let actor = app.services.guild(id).await?;
    ask(&app.services, &actor, |reply| GuildMsg::Delete {
        user: caller.user_id,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
