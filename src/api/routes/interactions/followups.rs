//! Follow-ups and edits with an interaction token, on Discord's webhook paths (the application
//! id in the webhook's place): `POST /webhooks/{application}/{token}` (a follow-up message),
//! `GET/PATCH/DELETE …/messages/@original` (the response) and `…/messages/{id}` (any message of
//! the interaction). The webhook routes hand interaction tokens (recognizable by their prefix)
//! to these functions; `@original` is registered here, under the webhook routes' parameter
//! names.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::{is_multipart, post_message, run};
use crate::actors::channel::{InteractionOp, MessageCreate, MessageEdit};
use crate::actors::interactions::{Interaction, Phase};
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::error::{ApiError, Unknown};
use crate::id::{ApplicationId, MessageId, WebhookId};

pub fn routes() -> Router<App> {
    Router::new().route(
        "/webhooks/{webhook_id}/{token}/messages/@original",
        get(get_original)
            .patch(edit_original)
            .delete(delete_original),
    )
}

/// The live, answered interaction of a token, and its response message. An unknown or expired
/// token is Discord's 50027 Invalid Webhook Token; one not answered yet has nothing to follow.
fn answered(
    app: &App,
    application: ApplicationId,
    token: &str,
) -> Result<(Interaction, Option<MessageId>), ApiError> {
    match app.services.interactions.by_token(application, token) {
        Some((i, Phase::Acknowledged { original, .. })) => Ok((i, original)),
        Some(_) => Err(ApiError::Unknown(Unknown::Webhook)),
        None => Err(ApiError::coded(
            StatusCode::UNAUTHORIZED,
            50027,
            "invalid-webhook-token",
        )),
    }
}

fn application(id: WebhookId) -> ApplicationId {
    ApplicationId::new(id.get())
}

/// `POST /webhooks/{application}/{token}` with an interaction token: a follow-up message (JSON
/// or multipart; ephemeral with flag 64). Answers with the message whatever `wait` says, as
/// Discord does for application webhooks.
pub async fn execute(
    app: &App,
    id: WebhookId,
    token: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let (interaction, original) = answered(app, application(id), token)?;
    let body = if is_multipart(&request) {
        let m = Multipart::from_request(request, app)
            .await
            .map_err(|_| ApiError::InvalidJson)?;
        crate::api::routes::channels::upload::message_from_multipart(app, interaction.channel_id, m)
            .await?
    } else {
        Json::<MessageCreate>::from_request(request, app).await?.0
    };
    let message = post_message(app, &interaction, body, false, original).await?;
    Ok(axum::Json(message).into_response())
}

/// `GET /webhooks/{application}/{token}/messages/{id}` with an interaction token.
pub async fn get_message(
    app: &App,
    id: WebhookId,
    token: &str,
    message: MessageId,
) -> Result<Value, ApiError> {
    let (interaction, _) = answered(app, application(id), token)?;
    run(app, &interaction, InteractionOp::Get(message)).await
}

/// `PATCH /webhooks/{application}/{token}/messages/{id}` with an interaction token (editing a
/// deferred response also ends its "thinking…" state).
pub async fn edit_message(
    app: &App,
    id: WebhookId,
    token: &str,
    message: MessageId,
    body: MessageEdit,
) -> Result<Value, ApiError> {
    let (interaction, _) = answered(app, application(id), token)?;
    run(
        app,
        &interaction,
        InteractionOp::Edit(message, Box::new(body)),
    )
    .await
}

/// `DELETE /webhooks/{application}/{token}/messages/{id}` with an interaction token.
pub async fn delete_message(
    app: &App,
    id: WebhookId,
    token: &str,
    message: MessageId,
) -> Result<(), ApiError> {
    let (interaction, _) = answered(app, application(id), token)?;
    run(app, &interaction, InteractionOp::Delete(message))
        .await
        .map(|_| ())
}

/// The response message of an interaction token (webhook tokens have none).
fn original_of(app: &App, id: WebhookId, token: &str) -> Result<MessageId, ApiError> {
    if !crate::actors::interactions::is_interaction_token(token) {
        return Err(ApiError::Unknown(Unknown::Webhook));
    }
    answered(app, application(id), token)?
        .1
        .ok_or(ApiError::Unknown(Unknown::Message))
}

/// `GET /webhooks/{application}/{token}/messages/@original`: the interaction's response.
async fn get_original(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
) -> Result<Json<Value>, ApiError> {
    let message = original_of(&app, id, &token)?;
    Ok(Json(get_message(&app, id, &token, message).await?))
}

/// `PATCH /webhooks/{application}/{token}/messages/@original`: edits the response (a deferred
/// one gets its content here).
async fn edit_original(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
    Json(body): Json<MessageEdit>,
) -> Result<Json<Value>, ApiError> {
    let message = original_of(&app, id, &token)?;
    Ok(Json(edit_message(&app, id, &token, message, body).await?))
}

/// `DELETE /webhooks/{application}/{token}/messages/@original`: deletes the response.
async fn delete_original(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
) -> Result<StatusCode, ApiError> {
    let message = original_of(&app, id, &token)?;
    delete_message(&app, id, &token, message).await?;
    Ok(StatusCode::NO_CONTENT)
}
