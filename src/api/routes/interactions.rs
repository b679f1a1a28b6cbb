//! Interactions: a user invokes an application command (`POST /interactions`), the bot gets
//! INTERACTION_CREATE on its gateway and answers with `POST /interactions/{id}/{token}/callback`
//! within 3 seconds, then follows up and edits through `/webhooks/{application}/{token}/…`.
//!
//! Interactions live in memory for their token's 15 minutes (`actors::interactions`); the
//! messages they create are posted by the channel actor (`ChannelMsg::AsApplication`). Only
//! application commands (type 2) are invoked here: components, autocomplete and modals are
//! refused. An application's `interactions_endpoint_url` is not called: bots answer over the
//! gateway.

mod followups;
mod invoke;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

pub use followups::{delete_message, edit_message, execute, get_message};

use crate::actors::ask;
use crate::actors::channel::{
    ChannelMsg, InteractionOp, InteractionStamp, InteractionTarget, MessageCreate,
};
use crate::actors::interactions::{ACK_DEADLINE, AckError, Interaction, Phase, TOKEN_LIFETIME};
use crate::api::extract::{Json, Path, Query, lenient_bool};
use crate::api::routes::channels::upload;
use crate::app::App;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{InteractionId, MessageId};

/// Message flag: shown only to the user who invoked the command.
const EPHEMERAL: u64 = 1 << 6;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/interactions", post(invoke::invoke))
        .route(
            "/interactions/{interaction_id}/{interaction_token}/callback",
            post(callback),
        )
        .merge(followups::routes())
}

/// Whether the body is `multipart/form-data`.
fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// Runs an operation on the interaction's messages in its channel, as its application.
async fn run(app: &App, interaction: &Interaction, op: InteractionOp) -> Result<Value, ApiError> {
    let actor = app.services.channel(interaction.channel_id).await?;
    let target = Box::new(InteractionTarget {
        interaction: interaction.id,
        bot: interaction.bot,
    });
    ask(&app.services, &actor, |reply| ChannelMsg::AsApplication {
        target,
        op,
        reply,
    })
    .await
}

/// Posts a response or follow-up (ephemeral when its flags say so).
async fn post_message(
    app: &App,
    interaction: &Interaction,
    mut body: MessageCreate,
    loading: bool,
    original: Option<MessageId>,
) -> Result<Value, ApiError> {
    let mut meta = interaction.meta.clone();
    meta.original_response_message_id = original;
    body.interaction = Some(InteractionStamp {
        application: interaction.application_id,
        meta,
        ephemeral: body.flags.unwrap_or(0) & EPHEMERAL != 0,
        loading,
    });
    run(app, interaction, InteractionOp::Create(Box::new(body))).await
}

/// An event for the user who invoked the command (their client shows the progress).
fn tell_user(app: &App, interaction: &Interaction, name: &'static str) {
    let data = json!({"id": interaction.id, "nonce": interaction.nonce});
    app.services
        .sessions
        .send_to_user(interaction.user, &Dispatch::new(name, &data, false));
}

/// After the deadline, an unanswered interaction fails (the user is told); after the token's
/// lifetime it is forgotten. Holds the app weakly, so it never delays shutdown.
fn watch(app: &App, id: InteractionId) {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        tokio::time::sleep(ACK_DEADLINE).await;
        let Some(app) = weak.upgrade() else { return };
        if let Some(i) = app.services.interactions.expire_unanswered(id) {
            tracing::debug!(interaction = %id, "not answered in time");
            tell_user(&app, &i, "INTERACTION_FAILURE");
        }
        drop(app);
        tokio::time::sleep(TOKEN_LIFETIME.saturating_sub(ACK_DEADLINE)).await;
        if let Some(app) = weak.upgrade() {
            app.services.interactions.remove(id);
        }
    });
}

#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    #[serde(default, deserialize_with = "lenient_bool")]
    with_response: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct CallbackBody {
    #[serde(rename = "type")]
    kind: u8,
    data: Option<Value>,
}

/// Discord's callback types.
mod callback_kind {
    pub const PONG: u8 = 1;
    pub const CHANNEL_MESSAGE: u8 = 4;
    pub const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
}

/// `POST /interactions/{id}/{token}/callback?with_response=`: the application's answer (the
/// token is the credential). 4 posts the response message, 5 a "thinking…" message to edit
/// later; one answer per interaction (40060 for a second), within 3 seconds (10062 after, or
/// for a wrong token). Component (6, 7), autocomplete (8) and modal (9) answers are refused:
/// there are no such interactions here.
async fn callback(
    State(app): State<App>,
    Path((id, token)): Path<(InteractionId, String)>,
    Query(q): Query<CallbackQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let (interaction, _) = app
        .services
        .interactions
        .get(id, &token)
        .ok_or(ApiError::Unknown(Unknown::Interaction))?;
    let (kind, body) = if is_multipart(&request) {
        let m = Multipart::from_request(request, &app)
            .await
            .map_err(|_| ApiError::InvalidJson)?;
        upload::callback_from_multipart(&app, interaction.channel_id, m).await?
    } else {
        let b = Json::<CallbackBody>::from_request(request, &app).await?.0;
        let message = match b.data.filter(|d| !d.is_null()) {
            Some(d) => serde_json::from_value(d).map_err(|_| ApiError::InvalidJson)?,
            None => MessageCreate::default(),
        };
        (b.kind, message)
    };
    if !matches!(
        kind,
        callback_kind::CHANNEL_MESSAGE | callback_kind::DEFERRED_CHANNEL_MESSAGE
    ) {
        // PONG answers only PING (sent to HTTP endpoints, never here).
        let error = if kind == callback_kind::PONG {
            FieldError::Choice {
                allowed: "4, 5".into(),
            }
        } else {
            FieldError::InteractionTypeUnsupported
        };
        return Err(FieldErrors::single("type", error));
    }
    let interaction = match app.services.interactions.begin_response(id, &token) {
        Ok(i) => i,
        Err(AckError::Unknown) => return Err(ApiError::Unknown(Unknown::Interaction)),
        Err(AckError::AlreadyAcknowledged) => {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                40060,
                "interaction-already-acknowledged",
            ));
        }
    };
    let ephemeral = body.flags.unwrap_or(0) & EPHEMERAL != 0;
    let loading = kind == callback_kind::DEFERRED_CHANNEL_MESSAGE;
    let message = match post_message(&app, &interaction, body, loading, None).await {
        Ok(m) => m,
        Err(e) => {
            // Refused (bad body): the application may still answer, unless time ran out.
            app.services.interactions.finish_response(id, None);
            if interaction.created.elapsed() >= ACK_DEADLINE
                && let Some(i) = app.services.interactions.expire_unanswered(id)
            {
                tell_user(&app, &i, "INTERACTION_FAILURE");
            }
            return Err(e);
        }
    };
    let original: Option<MessageId> = serde_json::from_value(message["id"].clone()).ok();
    app.services
        .interactions
        .finish_response(id, Some(Phase::Acknowledged { original }));
    tell_user(&app, &interaction, "INTERACTION_SUCCESS");
    if q.with_response != Some(true) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut summary = json!({
        "id": interaction.id,
        "type": 2,
        "activity_instance_id": null,
        "response_message_id": original,
        "response_message_loading": loading,
        "response_message_ephemeral": ephemeral,
        "channel_id": interaction.channel_id,
    });
    if let Some(g) = interaction.guild_id {
        summary["guild_id"] = json!(g);
    }
    Ok(axum::Json(json!({
        "interaction": summary,
        "resource": {"type": kind, "message": message},
    }))
    .into_response())
}
