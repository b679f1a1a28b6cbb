//! `/users/@me/relationships`: friends, friend requests and blocks. The user actor owns them and
//! tells the other user's actor; both sides get RELATIONSHIP_ADD / RELATIONSHIP_REMOVE.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::user::UserMsg;
use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::UserId;
use crate::model::RelationshipKind;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/users/@me/relationships", get(list).post(request_by_tag))
        .route(
            "/users/@me/relationships/{user_id}",
            put(relate).delete(remove),
        )
}

/// `GET /users/@me/relationships`: friends, blocks and pending requests, with the other users.
async fn list(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    Ok(Json(
        ask(&app.services, &actor, UserMsg::Relationships).await?,
    ))
}

/// Body of `PUT /users/@me/relationships/{id}`; Discord's extra fields are accepted and ignored.
#[derive(Debug, Default, Deserialize)]
struct RelationshipPut {
    #[serde(rename = "type")]
    kind: Option<u8>,
    #[allow(dead_code)]
    from_friend_suggestion: Option<bool>,
    #[allow(dead_code)]
    friend_token: Option<String>,
}

/// `PUT /users/@me/relationships/{id}`: no type (or 1) sends a friend request, or accepts the
/// one received; type 2 blocks.
async fn relate(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(target): Path<UserId>,
    Json(body): Json<RelationshipPut>,
) -> Result<StatusCode, ApiError> {
    let kind = match body.kind {
        None | Some(1) => RelationshipKind::Friend,
        Some(2) => RelationshipKind::Blocked,
        Some(_) => {
            return Err(FieldErrors::single(
                "type",
                FieldError::Choice {
                    allowed: "1, 2".into(),
                },
            ));
        }
    };
    send(&app, caller.user_id, target, kind).await
}

/// Body of `POST /users/@me/relationships`: Discord's tag, the discriminator a number, a string
/// or absent/null for unique usernames.
#[derive(Debug, Deserialize)]
struct FriendRequest {
    username: String,
    #[serde(default)]
    discriminator: Option<Value>,
}

/// `POST /users/@me/relationships`: a friend request by username (and discriminator).
async fn request_by_tag(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Json(body): Json<FriendRequest>,
) -> Result<StatusCode, ApiError> {
    let discriminator = match &body.discriminator {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => "0".to_string(),
            Some(d) => format!("{d:04}"),
            None => return Err(unknown_tag()),
        },
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => "0".to_string(),
    };
    let target = app
        .store()
        .user_by_username(body.username.trim(), &discriminator)
        .await?
        .ok_or_else(unknown_tag)?;
    send(&app, caller.user_id, target.id, RelationshipKind::Friend).await
}

fn unknown_tag() -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, 80004, "unknown-discord-tag")
}

async fn send(
    app: &App,
    me: UserId,
    target: UserId,
    kind: RelationshipKind,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.user(me).await?;
    ask(&app.services, &actor, |reply| UserMsg::Relate {
        target,
        kind,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/@me/relationships/{id}`: unfriend, cancel or decline a request, or unblock.
async fn remove(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(target): Path<UserId>,
) -> Result<StatusCode, ApiError> {
    let actor = app.services.user(caller.user_id).await?;
    ask(&app.services, &actor, |reply| UserMsg::Unrelate {
        target,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
