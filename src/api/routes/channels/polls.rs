//! `/channels/{id}/polls/{message}/*`: voting (the route Discord's client uses, and per-answer
//! forms), an answer's voters, and ending a poll early. The channel actor owns the votes.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::actors::channel::poll::VoteChange;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, MessageId, UserId};

/// Discord's page size bounds for an answer's voters.
const VOTERS_DEFAULT: usize = 25;
const VOTERS_MAX: usize = 100;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/channels/{channel_id}/polls/{message_id}/answers/@me",
            put(set_votes),
        )
        .route(
            "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}",
            get(voters),
        )
        .route(
            "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}/@me",
            put(add_vote).delete(remove_vote),
        )
        .route(
            "/channels/{channel_id}/polls/{message_id}/expire",
            post(expire),
        )
}

/// Body of `PUT …/answers/@me`.
#[derive(Debug, Deserialize)]
struct Votes {
    /// The answers to vote for; empty takes every vote back.
    #[serde(default)]
    answer_ids: Vec<i64>,
}

async fn vote(
    app: &App,
    user: UserId,
    channel: ChannelId,
    message: MessageId,
    change: VoteChange,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.channel(channel).await?;
    ask(&app.services, &actor, |reply| ChannelMsg::PollVote {
        user,
        id: message,
        change,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /channels/{id}/polls/{message}/answers/@me` `{answer_ids}` — what Discord's client sends:
/// the caller's votes become exactly these.
async fn set_votes(
    State(app): State<App>,
    caller: Caller,
    Path((channel, message)): Path<(ChannelId, MessageId)>,
    Json(body): Json<Votes>,
) -> Result<StatusCode, ApiError> {
    let change = VoteChange::Set(body.answer_ids);
    vote(&app, caller.user_id, channel, message, change).await
}

/// `PUT /channels/{id}/polls/{message}/answers/{answer}/@me`: votes for one answer.
async fn add_vote(
    State(app): State<App>,
    caller: Caller,
    Path((channel, message, answer)): Path<(ChannelId, MessageId, i64)>,
) -> Result<StatusCode, ApiError> {
    vote(
        &app,
        caller.user_id,
        channel,
        message,
        VoteChange::Add(answer),
    )
    .await
}

/// `DELETE /channels/{id}/polls/{message}/answers/{answer}/@me`: takes one vote back.
async fn remove_vote(
    State(app): State<App>,
    caller: Caller,
    Path((channel, message, answer)): Path<(ChannelId, MessageId, i64)>,
) -> Result<StatusCode, ApiError> {
    let change = VoteChange::Remove(answer);
    vote(&app, caller.user_id, channel, message, change).await
}

#[derive(Debug, Deserialize)]
struct VotersQuery {
    after: Option<UserId>,
    limit: Option<usize>,
}

/// `GET /channels/{id}/polls/{message}/answers/{answer}?after&limit` — `{users}`, by user id.
async fn voters(
    State(app): State<App>,
    caller: Caller,
    Path((channel, message, answer)): Path<(ChannelId, MessageId, i64)>,
    Query(q): Query<VotersQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(VOTERS_DEFAULT);
    if !(1..=VOTERS_MAX).contains(&limit) {
        return Err(FieldErrors::single(
            "limit",
            FieldError::NumberMax {
                max: VOTERS_MAX as i64,
            },
        ));
    }
    let actor = app.services.channel(channel).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::PollVoters {
            user: caller.user_id,
            id: message,
            answer,
            after: q.after,
            limit,
            reply,
        })
        .await?,
    ))
}

/// `POST /channels/{id}/polls/{message}/expire`: the poll's author ends it now; returns the
/// message with final results (everyone else gets MESSAGE_UPDATE).
async fn expire(
    State(app): State<App>,
    caller: Caller,
    Path((channel, message)): Path<(ChannelId, MessageId)>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.channel(channel).await?;
    Ok(Json(
        ask(&app.services, &actor, |reply| ChannelMsg::EndPoll {
            user: caller.user_id,
            id: message,
            reply,
        })
        .await?,
    ))
}
