//! `/guilds/{id}/scheduled-events`: a guild's scheduled events and their subscribers
//! (GUILD_SCHEDULED_EVENT_* on every change). The handlers parse and hand over; the guild actor
//! checks permissions and Discord's rules.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{EventBody, EventMsg, EventUsersQuery, GuildMsg};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::cdn::ImageKind;
use crate::error::ApiError;
use crate::id::{GuildId, ScheduledEventId};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/guilds/{guild_id}/scheduled-events",
            get(list).post(create),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
            get(get_event).patch(update).delete(delete),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users",
            get(users),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/@me",
            put(subscribe).delete(unsubscribe),
        )
}

/// `?with_user_count=true` adds `user_count` to each event.
#[derive(Debug, Default, Deserialize)]
struct CountQuery {
    with_user_count: Option<bool>,
}

/// `GET /guilds/{id}/scheduled-events` (members; channel-bound events only where the caller
/// can see the channel).
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Query(q): Query<CountQuery>,
) -> Result<Json<Value>, ApiError> {
    let with_user_count = q.with_user_count.unwrap_or(false);
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Events(EventMsg::List {
                    user: caller.user_id,
                    with_user_count,
                    reply,
                })
            })
            .await?,
    ))
}

/// `GET /guilds/{id}/scheduled-events/{event}` (10070 Unknown Guild Scheduled Event).
async fn get_event(
    State(app): State<App>,
    caller: Caller,
    Path((id, event)): Path<(GuildId, ScheduledEventId)>,
    Query(q): Query<CountQuery>,
) -> Result<Json<Value>, ApiError> {
    let with_user_count = q.with_user_count.unwrap_or(false);
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Events(EventMsg::Get {
                    user: caller.user_id,
                    id: event,
                    with_user_count,
                    reply,
                })
            })
            .await?,
    ))
}

/// Stores a cover image sent as a data URI on the CDN and puts its hash in the body.
async fn store_image(
    app: &App,
    event: ScheduledEventId,
    body: &mut EventBody,
) -> Result<(), ApiError> {
    if let Some(Some(uri)) = &body.image {
        let limits = crate::cdn::ImageLimits::avatar(&app.config().get().cdn);
        let max = limits.max_bytes;
        let hash = app
            .cdn
            .put_image_data_uri(ImageKind::GuildEvent, event.0, uri, limits)
            .await
            .map_err(|e| crate::cdn::field_error("image", e, max))?;
        body.image = Some(Some(hash));
    }
    Ok(())
}

/// `POST /guilds/{id}/scheduled-events` (CREATE_EVENTS or MANAGE_EVENTS; VIEW_CHANNEL on a
/// stage/voice event's channel). External events need `entity_metadata.location` and
/// `scheduled_end_time`. At most `limits.guild.max_scheduled_events` per guild (30038).
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    AuditReason(reason): AuditReason,
    Json(mut body): Json<EventBody>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    // Permission and room first, so a refused request stores no image.
    ask(&app.services, &actor, |reply| {
        GuildMsg::Events(EventMsg::MayCreate {
            user: caller.user_id,
            reply,
        })
    })
    .await?;
    let event: ScheduledEventId = app.services.ids.next()?;
    store_image(&app, event, &mut body).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| {
            GuildMsg::Events(EventMsg::Create {
                user: caller.user_id,
                id: event,
                body,
                reply,
            })
            .with_reason(reason)
        })
        .await?,
    ))
}

/// `PATCH /guilds/{id}/scheduled-events/{event}` (MANAGE_EVENTS, or CREATE_EVENTS for one's
/// own). `status` moves SCHEDULED → ACTIVE → COMPLETED or SCHEDULED → CANCELED only.
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, event)): Path<(GuildId, ScheduledEventId)>,
    AuditReason(reason): AuditReason,
    Json(mut body): Json<EventBody>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(id).await?;
    if matches!(body.image, Some(Some(_))) {
        ask(&app.services, &actor, |reply| {
            GuildMsg::Events(EventMsg::MayModify {
                user: caller.user_id,
                id: event,
                reply,
            })
        })
        .await?;
        store_image(&app, event, &mut body).await?;
    }
    Ok(Json(
        ask(&app.services, &actor, |reply| {
            GuildMsg::Events(EventMsg::Update {
                user: caller.user_id,
                id: event,
                body,
                reply,
            })
            .with_reason(reason)
        })
        .await?,
    ))
}

/// `DELETE /guilds/{id}/scheduled-events/{event}` (as PATCH). 204.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, event)): Path<(GuildId, ScheduledEventId)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Events(EventMsg::Delete {
                user: caller.user_id,
                id: event,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/{event}/users?limit=&with_member=&before=&after=`: subscribers in user id order.
async fn users(
    State(app): State<App>,
    caller: Caller,
    Path((id, event)): Path<(GuildId, ScheduledEventId)>,
    Query(query): Query<EventUsersQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Events(EventMsg::Users {
                    user: caller.user_id,
                    id: event,
                    query,
                    reply,
                })
            })
            .await?,
    ))
}

async fn set_subscribed(
    app: &App,
    caller: &Caller,
    id: GuildId,
    event: ScheduledEventId,
    subscribed: bool,
) -> Result<Value, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Events(EventMsg::Subscribe {
                user: caller.user_id,
                id: event,
                subscribed,
                reply,
            })
        })
        .await
}

/// `PUT …/{event}/users/@me` (the user client's "Interested").
async fn subscribe(
    State(app): State<App>,
    caller: Caller,
    Path((id, event)): Path<(GuildId, ScheduledEventId)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(set_subscribed(&app, &caller, id, event, true).await?))
}

/// `DELETE …/{event}/users/@me`. 204.
async fn unsubscribe(
    State(app): State<App>,
    caller: Caller,
    Path((id, event)): Path<(GuildId, ScheduledEventId)>,
) -> Result<StatusCode, ApiError> {
    set_subscribed(&app, &caller, id, event, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
