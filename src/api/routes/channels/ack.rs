//! `/channels/{id}/messages/{id}/ack`: marks a channel read up to a message (a read state, owned
//! by the user actor, announced to the user's sessions as MESSAGE_ACK and listed in READY); and
//! `/read-states/ack-bulk`, the same for many channels at once (what Discord's client sends on
//! "mark server as read").

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::Value;

use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Path};
use crate::api::routes::channels::visible_channel;
use crate::app::App;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, MessageId};

/// Most read states one bulk ack may set (Discord's client sends at most 100).
const MAX_BULK_ACKS: usize = 100;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/channels/{channel_id}/messages/{message_id}/ack",
            post(ack),
        )
        .route("/read-states/ack-bulk", post(ack_bulk))
}

/// Body of the ack: clients send `{"token": null}`, manual "mark unread" adds `manual` and
/// `mention_count`; the rest is accepted and ignored.
#[derive(Debug, Default, Deserialize)]
struct AckBody {
    #[allow(dead_code)]
    token: Option<Value>,
    manual: Option<bool>,
    mention_count: Option<u32>,
    #[allow(dead_code)]
    last_viewed: Option<u64>,
    #[allow(dead_code)]
    flags: Option<u64>,
}

/// `POST /channels/{id}/messages/{message}/ack` → `{"token": null}`.
async fn ack(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((channel, message)): Path<(ChannelId, MessageId)>,
    Json(body): Json<AckBody>,
) -> Result<Json<Value>, ApiError> {
    // Only a channel the caller can see has a read state (fails with 10003 / 50001 like Discord).
    visible_channel(&app, caller.user_id, channel).await?;
    let mention_count = body
        .manual
        .unwrap_or(false)
        .then_some(body.mention_count)
        .flatten();
    Ok(Json(
        app.services
            .ack_read_state(caller.user_id, channel, message, mention_count)
            .await?,
    ))
}

/// Body of `POST /read-states/ack-bulk`.
#[derive(Debug, Deserialize)]
struct BulkAckBody {
    read_states: Option<Vec<BulkAck>>,
}

#[derive(Debug, Deserialize)]
struct BulkAck {
    channel_id: ChannelId,
    message_id: MessageId,
    /// 0: channel read state, the only kind Accord keeps; other kinds are refused.
    #[serde(default)]
    read_state_type: u8,
}

/// `POST /read-states/ack-bulk` → 204: each channel read up to its message. Every channel must be
/// one the caller can see (10003 / 50001 as for a single ack), checked before any is marked.
async fn ack_bulk(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    headers: HeaderMap,
    Json(body): Json<BulkAckBody>,
) -> Result<Response, ApiError> {
    let Some(acks) = body.read_states else {
        return Err(FieldErrors::single("read_states", FieldError::Required));
    };
    if acks.len() > MAX_BULK_ACKS {
        let too_many = FieldError::TooMany { max: MAX_BULK_ACKS };
        return Err(FieldErrors::single("read_states", too_many));
    }
    let mut errs = FieldErrors::default();
    for (i, a) in acks.iter().enumerate() {
        if a.read_state_type != 0 {
            errs.add(
                &format!("read_states.{i}.read_state_type"),
                FieldError::Choice {
                    allowed: "0".into(),
                },
            );
        }
    }
    errs.into_result()?;
    // In a cluster, a channel another node owns is checked and acknowledged there (its ack
    // route reaches this user's actor on the way back); the rest here, checked first.
    let mut remote = Vec::with_capacity(acks.len());
    for a in &acks {
        let owner = match app.cluster {
            Some(_) => {
                let owned = app.services.channel_owner(a.channel_id).await?;
                app.services.remote_owner(owned)
            }
            None => None,
        };
        match owner {
            Some(owner) => remote.push(Some(owner)),
            None => {
                visible_channel(&app, caller.user_id, a.channel_id).await?;
                remote.push(None);
            }
        }
    }
    for (a, owner) in acks.into_iter().zip(remote) {
        let Some(owner) = owner else {
            app.services
                .ack_read_state(caller.user_id, a.channel_id, a.message_id, None)
                .await?;
            continue;
        };
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!(
                "/api/v10/channels/{}/messages/{}/ack",
                a.channel_id, a.message_id
            ))
            .header(CONTENT_TYPE, "application/json");
        if let Some(auth) = headers.get(AUTHORIZATION) {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = request.body(Body::from("{}")).map_err(ApiError::internal)?;
        let answer = crate::api::forward::forward_request(&app, &owner, request).await?;
        if !answer.status().is_success() {
            return Ok(answer);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
