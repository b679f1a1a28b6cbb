//! `POST /channels/{id}/followers`: follow an announcement channel into a text channel, usually
//! of another guild. Following is a channel follower webhook (type 2) in the target channel;
//! the source's crossposts arrive through it, and deleting it (`DELETE /webhooks/{id}`)
//! unfollows.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actors::guild::{GuildMsg, WEBHOOK_CREATE};
use crate::api::extract::{AuditReason, Json, Path};
use crate::api::routes::channels::{guild_of, visible_channel};
use crate::api::routes::webhooks::{announce, audit, channel_access};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::ChannelId;
use crate::model::WebhookRecord;
use crate::permissions::{Permissions, require};

pub fn routes() -> Router<App> {
    Router::new().route("/channels/{channel_id}/followers", post(follow))
}

/// Body of `POST /channels/{id}/followers`.
#[derive(Debug, Deserialize)]
struct FollowBody {
    webhook_channel_id: Option<ChannelId>,
}

fn wrong_channel_type() -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, 50024, "invalid-channel-type")
}

/// Text and announcement channels can receive crossposts.
fn takes_crossposts(channel: &Value) -> bool {
    channel["type"] == 0 || channel["type"] == 5
}

/// `POST /channels/{id}/followers` `{webhook_channel_id}`: the source must be an announcement
/// channel the caller can see; the caller needs MANAGE_WEBHOOKS in the target. Answers Discord's
/// followed channel `{channel_id, webhook_id}`. Following the same channel into the same target
/// again answers with the existing follower (crossposts are delivered once per target).
async fn follow(
    State(app): State<App>,
    caller: Caller,
    Path(source): Path<ChannelId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<FollowBody>,
) -> Result<Json<Value>, ApiError> {
    let Some(target) = body.webhook_channel_id else {
        return Err(FieldErrors::single(
            "webhook_channel_id",
            FieldError::Required,
        ));
    };
    if target == source {
        // A channel relaying its own crossposts to itself would only duplicate them.
        return Err(FieldErrors::single(
            "webhook_channel_id",
            FieldError::InvalidSnowflake,
        ));
    }
    let source_channel = visible_channel(&app, caller.user_id, source).await?;
    if source_channel["type"] != 5 {
        return Err(wrong_channel_type());
    }
    let source_guild = guild_of(&source_channel).ok_or(ApiError::Unknown(Unknown::Channel))?;
    let (guild, perms) = channel_access(&app, caller, target).await?;
    require(perms, Permissions::MANAGE_WEBHOOKS)?;
    if !takes_crossposts(&visible_channel(&app, caller.user_id, target).await?) {
        return Err(wrong_channel_type());
    }
    let existing = app.store().webhooks_of_channel(target).await?;
    if let Some(w) = existing
        .iter()
        .find(|w| w.source_channel_id == Some(source))
    {
        return Ok(Json(json!({"channel_id": source, "webhook_id": w.id})));
    }
    let max = app.config().get().limits.channel.max_webhooks as usize;
    if existing.len() >= max {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            30007,
            "max-webhooks-reached",
        ));
    }
    let preview = match crate::actors::mailbox::call(
        &app.services.guild(source_guild).await?,
        GuildMsg::Preview,
        None,
    )
    .await
    {
        Ok(ractor::rpc::CallResult::Success(v)) => v,
        _ => return Err(ApiError::internal("guild actor unavailable")),
    };
    let name: String = preview["name"]
        .as_str()
        .unwrap_or("Announcements")
        .chars()
        .take(80)
        .collect();
    let w = WebhookRecord {
        id: app.services.ids.next()?,
        kind: WebhookRecord::CHANNEL_FOLLOWER,
        guild_id: Some(guild),
        channel_id: target,
        name,
        avatar: None,
        token: String::new(),
        creator_id: caller.user_id,
        application_id: None,
        source_guild_id: Some(source_guild),
        source_channel_id: Some(source),
    };
    app.store().put_webhook(&w).await?;
    announce(&app, &w).await;
    audit(&app, caller, &w, WEBHOOK_CREATE, reason).await;
    Ok(Json(json!({"channel_id": source, "webhook_id": w.id})))
}
