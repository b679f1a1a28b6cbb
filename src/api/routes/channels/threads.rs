//! Threads of a channel: starting one (from a message or standalone), its members
//! (`/thread-members`), and the archived lists. The guild actor owns threads like every channel
//! of the guild; the parent's channel actor marks the starter message.

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::Value;

use super::{guild_of, visible_channel};
use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::actors::guild::{ArchivedScope, GuildMsg, MembersQuery, ThreadCreate, ThreadMsg};
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, GuildId, MessageId, UserId};
use crate::model::{ChannelKind, ChannelRecord, Timestamp};

/// Page sizes of the list routes (Discord: thread members up to 100; archived threads default
/// 50, at most 100).
const MEMBERS_MAX: usize = 100;
const ARCHIVED_DEFAULT: usize = 50;
const ARCHIVED_MAX: usize = 100;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/channels/{channel_id}/threads", post(create))
        .route(
            "/channels/{channel_id}/threads/search",
            get(super::forum::search),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/threads",
            post(create_from_message),
        )
        .route("/channels/{channel_id}/thread-members", get(list_members))
        .route(
            "/channels/{channel_id}/thread-members/@me",
            put(join).delete(leave),
        )
        .route(
            "/channels/{channel_id}/thread-members/{user_id}",
            get(get_member).put(add_member).delete(remove_member),
        )
        .route(
            "/channels/{channel_id}/threads/archived/public",
            get(archived_public),
        )
        .route(
            "/channels/{channel_id}/threads/archived/private",
            get(archived_private),
        )
        .route(
            "/channels/{channel_id}/users/@me/threads/archived/private",
            get(archived_joined_private),
        )
}

/// The guild of a channel the caller can see; threads exist only in guilds (50024 in a DM).
async fn guild_of_visible(app: &App, user: UserId, id: ChannelId) -> Result<GuildId, ApiError> {
    let channel = visible_channel(app, user, id).await?;
    guild_of(&channel).ok_or(ApiError::coded(
        StatusCode::BAD_REQUEST,
        50024,
        "invalid-channel-type",
    ))
}

/// Asks the guild actor to create the thread, then the parent's actor to mark the starter (or
/// post the THREAD_CREATED message). Answers the thread.
async fn start(
    app: &App,
    user: UserId,
    parent: ChannelId,
    starter: Option<MessageId>,
    body: ThreadCreate,
    reason: Option<String>,
) -> Result<Json<Value>, ApiError> {
    let guild = guild_of_visible(app, user, parent).await?;
    let parent_actor = app.services.channel(parent).await?;
    if let Some(id) = starter {
        // 10008 for a message that isn't there (or can't be read), before anything is created.
        ask(&app.services, &parent_actor, |reply| {
            ChannelMsg::GetMessage { user, id, reply }
        })
        .await?;
    }
    let thread: ChannelRecord = app
        .services
        .ask_guild(guild, |reply| {
            GuildMsg::Threads(ThreadMsg::Create {
                user,
                parent,
                starter,
                body,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    let v = thread.to_json(None);
    let thread = Box::new(thread);
    ask(&app.services, &parent_actor, |reply| {
        ChannelMsg::ThreadStarted {
            author: user,
            thread,
            starter,
            reply,
        }
    })
    .await?;
    Ok(Json(v))
}

/// `POST /channels/{id}/threads`: a thread without a starter message (type 11 by default in a
/// text channel, 12 on request; 10 in an announcement channel). CREATE_PUBLIC_THREADS or
/// CREATE_PRIVATE_THREADS. In a forum or media channel: a post, with its starter `message`
/// (SEND_MESSAGES; see `forum`).
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(parent): Path<ChannelId>,
    AuditReason(reason): AuditReason,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = caller.user_id;
    let channel = visible_channel(&app, user, parent).await?;
    let kind = channel["type"]
        .as_u64()
        .and_then(|k| u8::try_from(k).ok())
        .and_then(|k| ChannelKind::try_from(k).ok());
    if let (Some(kind), Some(guild)) = (kind, guild_of(&channel))
        && kind.is_forum()
    {
        let v = super::forum::create_post(&app, user, parent, kind, guild, request, reason).await?;
        return Ok((StatusCode::CREATED, Json(v)));
    }
    let Json(body) = Json::<ThreadCreate>::from_request(request, &app).await?;
    let v = start(&app, user, parent, None, body, reason).await?;
    Ok((StatusCode::CREATED, v))
}

/// `POST /channels/{id}/messages/{message}/threads`: a thread from a message (it takes the
/// message's id; 160004 when the message already has one). CREATE_PUBLIC_THREADS and
/// READ_MESSAGE_HISTORY.
async fn create_from_message(
    State(app): State<App>,
    caller: Caller,
    Path((parent, message)): Path<(ChannelId, MessageId)>,
    AuditReason(reason): AuditReason,
    Json(body): Json<ThreadCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let v = start(&app, caller.user_id, parent, Some(message), body, reason).await?;
    Ok((StatusCode::CREATED, v))
}

/// `limit` of a list route: 1 to `max`.
fn check_limit(errs: &mut FieldErrors, limit: usize, max: usize) {
    if limit < 1 {
        errs.add("limit", FieldError::NumberMin { min: 1 });
    } else if limit > max {
        errs.add("limit", FieldError::NumberMax { max: max as i64 });
    }
}

async fn ask_threads<T: Send + 'static>(
    app: &App,
    user: UserId,
    channel: ChannelId,
    make: impl FnOnce(crate::actors::Reply<T>) -> ThreadMsg,
) -> Result<T, ApiError> {
    let guild = guild_of_visible(app, user, channel).await?;
    app.services
        .ask_guild(guild, |reply| GuildMsg::Threads(make(reply)))
        .await
}

/// `PUT /channels/{thread}/thread-members/@me`: join the thread. 204.
async fn join(
    State(app): State<App>,
    caller: Caller,
    Path(thread): Path<ChannelId>,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_id;
    ask_threads(&app, user, thread, |reply| ThreadMsg::AddMember {
        user,
        thread,
        target: user,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /channels/{thread}/thread-members/@me`: leave the thread. 204.
async fn leave(
    State(app): State<App>,
    caller: Caller,
    Path(thread): Path<ChannelId>,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_id;
    ask_threads(&app, user, thread, |reply| ThreadMsg::RemoveMember {
        user,
        thread,
        target: user,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /channels/{thread}/thread-members/{user}`: add a member (SEND_MESSAGES_IN_THREADS; a
/// private thread that isn't invitable needs MANAGE_THREADS). 204.
async fn add_member(
    State(app): State<App>,
    caller: Caller,
    Path((thread, target)): Path<(ChannelId, UserId)>,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_id;
    ask_threads(&app, user, thread, |reply| ThreadMsg::AddMember {
        user,
        thread,
        target,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /channels/{thread}/thread-members/{user}`: remove a member (MANAGE_THREADS, or the
/// creator of a private thread). 204.
async fn remove_member(
    State(app): State<App>,
    caller: Caller,
    Path((thread, target)): Path<(ChannelId, UserId)>,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_id;
    ask_threads(&app, user, thread, |reply| ThreadMsg::RemoveMember {
        user,
        thread,
        target,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
struct MembersParams {
    with_member: Option<bool>,
    after: Option<UserId>,
    limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
struct MemberParams {
    with_member: Option<bool>,
}

/// `GET /channels/{thread}/thread-members?with_member&after&limit` (limit 1–100, default 100).
async fn list_members(
    State(app): State<App>,
    caller: Caller,
    Path(thread): Path<ChannelId>,
    Query(q): Query<MembersParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(MEMBERS_MAX);
    let mut errs = FieldErrors::default();
    check_limit(&mut errs, limit, MEMBERS_MAX);
    errs.into_result()?;
    let user = caller.user_id;
    let query = MembersQuery {
        target: None,
        with_member: q.with_member.unwrap_or(false),
        after: q.after,
        limit,
    };
    let v = ask_threads(&app, user, thread, |reply| ThreadMsg::Members {
        user,
        thread,
        query,
        reply,
    })
    .await?;
    Ok(Json(v))
}

/// `GET /channels/{thread}/thread-members/{user}?with_member`: 10007 when they haven't joined.
async fn get_member(
    State(app): State<App>,
    caller: Caller,
    Path((thread, target)): Path<(ChannelId, UserId)>,
    Query(q): Query<MemberParams>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    let query = MembersQuery {
        target: Some(target),
        with_member: q.with_member.unwrap_or(false),
        after: None,
        limit: 1,
    };
    let v = ask_threads(&app, user, thread, |reply| ThreadMsg::Members {
        user,
        thread,
        query,
        reply,
    })
    .await?;
    Ok(Json(v))
}

#[derive(Debug, Default, Deserialize)]
struct ArchivedParams {
    /// An ISO 8601 timestamp: threads archived before it.
    before: Option<String>,
    limit: Option<usize>,
}

async fn archived(
    app: &App,
    user: UserId,
    parent: ChannelId,
    scope: ArchivedScope,
    q: ArchivedParams,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(ARCHIVED_DEFAULT);
    let mut errs = FieldErrors::default();
    check_limit(&mut errs, limit, ARCHIVED_MAX);
    let before = match q.before.as_deref() {
        None => None,
        Some(s) => match Timestamp::parse(s) {
            Some(t) => Some(t),
            None => {
                errs.add("before", FieldError::InvalidDate);
                None
            }
        },
    };
    errs.into_result()?;
    let v = ask_threads(app, user, parent, |reply| ThreadMsg::Archived {
        user,
        parent,
        scope,
        before,
        limit,
        reply,
    })
    .await?;
    Ok(Json(v))
}

/// `GET /channels/{id}/threads/archived/public?before&limit` (READ_MESSAGE_HISTORY).
async fn archived_public(
    State(app): State<App>,
    caller: Caller,
    Path(parent): Path<ChannelId>,
    Query(q): Query<ArchivedParams>,
) -> Result<Json<Value>, ApiError> {
    archived(&app, caller.user_id, parent, ArchivedScope::Public, q).await
}

/// `GET /channels/{id}/threads/archived/private?before&limit` (READ_MESSAGE_HISTORY and
/// MANAGE_THREADS).
async fn archived_private(
    State(app): State<App>,
    caller: Caller,
    Path(parent): Path<ChannelId>,
    Query(q): Query<ArchivedParams>,
) -> Result<Json<Value>, ApiError> {
    archived(&app, caller.user_id, parent, ArchivedScope::Private, q).await
}

/// `GET /channels/{id}/users/@me/threads/archived/private?before&limit`: the private archived
/// threads the caller joined.
async fn archived_joined_private(
    State(app): State<App>,
    caller: Caller,
    Path(parent): Path<ChannelId>,
    Query(q): Query<ArchivedParams>,
) -> Result<Json<Value>, ApiError> {
    archived(
        &app,
        caller.user_id,
        parent,
        ArchivedScope::JoinedPrivate,
        q,
    )
    .await
}
