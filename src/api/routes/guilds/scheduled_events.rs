//! `/guilds/{id}/scheduled-events`: a guild's scheduled events and their subscribers
//! (GUILD_SCHEDULED_EVENT_* on every change). The handlers parse and hand over; the guild actor
//! checks permissions and Discord's rules.

use axum::Router;
use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{EventBody, EventMsg, EventUsersQuery, ExceptionBody, GuildMsg};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::cdn::ImageKind;
use crate::error::ApiError;
use crate::error::{FieldError, FieldErrors};
use crate::id::{GuildId, ScheduledEventId, Snowflake};

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
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users/counts",
            get(counts),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions",
            post(create_exception),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/exceptions/{exception_id}",
            patch(update_exception).delete(delete_exception),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users",
            get(exception_users),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/{guild_scheduled_event_exception_id}/users/@me",
            put(answer_occurrence).delete(forget_occurrence),
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

/// `GET …/{event}/users/counts?guild_scheduled_event_exception_ids=…`: subscribers of the series
/// and, per occurrence asked for (at most 10, the key repeated), those interested in it.
async fn counts(
    State(app): State<App>,
    caller: Caller,
    Path((id, event)): Path<(GuildId, ScheduledEventId)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let mut exceptions = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if key == "guild_scheduled_event_exception_ids"
            || key == "guild_scheduled_event_exception_ids[]"
        {
            for part in value.split(',').filter(|p| !p.is_empty()) {
                match part.parse::<u64>() {
                    Ok(v) => exceptions.push(Snowflake::new(v)),
                    Err(_) => {
                        return Err(FieldErrors::single(
                            "guild_scheduled_event_exception_ids",
                            FieldError::InvalidSnowflake,
                        ));
                    }
                }
            }
        }
    }
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Events(EventMsg::Counts {
                    user: caller.user_id,
                    id: event,
                    exceptions,
                    reply,
                })
            })
            .await?,
    ))
}

async fn put_exception(
    app: &App,
    caller: &Caller,
    (id, event): (GuildId, ScheduledEventId),
    exception: Option<Snowflake>,
    reason: Option<String>,
    body: ExceptionBody,
) -> Result<Value, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Events(EventMsg::PutException {
                user: caller.user_id,
                id: event,
                exception,
                body,
                reply,
            })
            .with_reason(reason)
        })
        .await
}

/// `POST …/{event}/exceptions`: moves or cancels one occurrence of a recurring event
/// (`original_scheduled_start_time` names it). Permissions as for PATCH on the event.
async fn create_exception(
    State(app): State<App>,
    caller: Caller,
    Path(ids): Path<(GuildId, ScheduledEventId)>,
    AuditReason(reason): AuditReason,
    Json(body): Json<ExceptionBody>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        put_exception(&app, &caller, ids, None, reason, body).await?,
    ))
}

/// `PATCH …/{event}/exceptions/{exception}`.
async fn update_exception(
    State(app): State<App>,
    caller: Caller,
    Path((id, event, exception)): Path<(GuildId, ScheduledEventId, Snowflake)>,
    AuditReason(reason): AuditReason,
    Json(body): Json<ExceptionBody>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        put_exception(&app, &caller, (id, event), Some(exception), reason, body).await?,
    ))
}

/// `DELETE …/{event}/exceptions/{exception}`: the occurrence follows the rule again. 204.
async fn delete_exception(
    State(app): State<App>,
    caller: Caller,
    Path((id, event, exception)): Path<(GuildId, ScheduledEventId, Snowflake)>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Events(EventMsg::DeleteException {
                user: caller.user_id,
                id: event,
                exception,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/{event}/{exception}/users`: who is interested in one occurrence (the series'
/// subscribers who did not opt out, and those who answered for it alone).
async fn exception_users(
    State(app): State<App>,
    caller: Caller,
    Path((id, event, exception)): Path<(GuildId, ScheduledEventId, Snowflake)>,
    Query(query): Query<EventUsersQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| {
                GuildMsg::Events(EventMsg::ExceptionUsers {
                    user: caller.user_id,
                    id: event,
                    exception,
                    query,
                    reply,
                })
            })
            .await?,
    ))
}

/// Body of `PUT …/{event}/{exception}/users/@me` (the user client's "Interested" on one
/// occurrence; 0 opts a series subscriber out of it).
#[derive(Debug, Default, Deserialize)]
struct AnswerBody {
    response: Option<u8>,
}

async fn answer(
    app: &App,
    caller: &Caller,
    (id, event, exception): (GuildId, ScheduledEventId, Snowflake),
    response: Option<u8>,
) -> Result<Value, ApiError> {
    app.services
        .ask_guild(id, |reply| {
            GuildMsg::Events(EventMsg::AnswerOccurrence {
                user: caller.user_id,
                id: event,
                exception,
                response,
                reply,
            })
        })
        .await
}

/// `PUT …/{event}/{exception}/users/@me`, with an optional `{"response": 0|1}` (default 1).
async fn answer_occurrence(
    State(app): State<App>,
    caller: Caller,
    Path(ids): Path<(GuildId, ScheduledEventId, Snowflake)>,
    Json(body): Json<AnswerBody>,
) -> Result<Json<Value>, ApiError> {
    let response = body.response.unwrap_or(1);
    Ok(Json(answer(&app, &caller, ids, Some(response)).await?))
}

/// `DELETE …/{event}/{exception}/users/@me`: forgets the answer for that occurrence. 204.
async fn forget_occurrence(
    State(app): State<App>,
    caller: Caller,
    Path(ids): Path<(GuildId, ScheduledEventId, Snowflake)>,
) -> Result<StatusCode, ApiError> {
    answer(&app, &caller, ids, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
