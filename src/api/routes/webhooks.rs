//! Webhooks: `/channels/{id}/webhooks`, `/guilds/{id}/webhooks`, `/webhooks/{id}` (managed with
//! MANAGE_WEBHOOKS) and `/webhooks/{id}/{token}` (the token is the credential: execute, read,
//! edit and delete the webhook and its own messages). The same paths with an application id
//! and an interaction token are interaction follow-ups (see `interactions::followups`).
//! `/webhooks/{id}/{token}/slack` and `/github` translate those services' payloads into a
//! message and post it through the same path as a plain execute (see `slack`, `github`).

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::channel::{ChannelMsg, MessageCreate, MessageEdit, WebhookOp};
use crate::actors::guild::GuildMsg;
use crate::actors::interactions::is_interaction_token;
use crate::api::extract::{AuditReason, Json, Path, Query};
use crate::api::routes::channels::{guild_of, upload, visible_channel};
use crate::api::routes::interactions;
use crate::app::App;
use crate::auth::Caller;
use crate::cdn::ImageKind;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{ChannelId, GuildId, MessageId, WebhookId};
use crate::model::{WebhookAuthor, WebhookRecord};
use crate::permissions::{Permissions, require};
use crate::validate;

mod github;
mod slack;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/channels/{channel_id}/webhooks",
            get(channel_webhooks).post(create),
        )
        .route("/guilds/{guild_id}/webhooks", get(guild_webhooks))
        .route(
            "/webhooks/{webhook_id}",
            get(get_one).patch(update).delete(delete),
        )
        .route(
            "/webhooks/{webhook_id}/{token}",
            get(get_with_token)
                .patch(update_with_token)
                .delete(delete_with_token)
                .post(execute),
        )
        .route(
            "/webhooks/{webhook_id}/{token}/slack",
            axum::routing::post(slack::execute),
        )
        .route(
            "/webhooks/{webhook_id}/{token}/github",
            axum::routing::post(github::execute),
        )
        .route(
            "/webhooks/{webhook_id}/{token}/messages/{message_id}",
            get(get_message).patch(edit_message).delete(delete_message),
        )
}

/// Discord's webhook object; the token only for those who may manage it. A channel follower
/// webhook has no token; it names the guild and channel it follows instead.
pub(crate) async fn webhook_json(
    app: &App,
    w: &WebhookRecord,
    with_token: bool,
) -> Result<Value, ApiError> {
    let user = app.services.users.public(w.creator_id).await?;
    let mut v = json!({
        "id": w.id,
        "type": w.kind,
        "guild_id": w.guild_id,
        "channel_id": w.channel_id,
        "user": user,
        "name": w.name,
        "avatar": w.avatar,
        "application_id": w.application_id,
    });
    if w.kind == WebhookRecord::CHANNEL_FOLLOWER {
        if let Some(source) = followed_source(app, w).await {
            v["source_guild"] = source.0;
            v["source_channel"] = source.1;
        }
    } else if with_token {
        v["token"] = json!(w.token);
        v["url"] = json!(format!(
            "{}/webhooks/{}/{}",
            app.api_endpoint(),
            w.id,
            w.token
        ));
    }
    Ok(v)
}

/// A follower webhook's `source_guild` `{id, name, icon}` and `source_channel` `{id, name}`, as
/// they are now (None once the source is gone).
async fn followed_source(app: &App, w: &WebhookRecord) -> Option<(Value, Value)> {
    let channel = app
        .store()
        .get_channel(w.source_channel_id?)
        .await
        .ok()
        .flatten()?;
    let guild = app.services.guild(w.source_guild_id?).await.ok()?;
    let preview = match crate::actors::mailbox::call(&guild, GuildMsg::Preview, None).await {
        Ok(ractor::rpc::CallResult::Success(v)) => v,
        _ => return None,
    };
    Some((
        json!({"id": preview["id"], "name": preview["name"], "icon": preview["icon"]}),
        json!({"id": channel.id, "name": channel.name}),
    ))
}

/// The caller's permissions in a guild channel (webhooks live only in guild channels).
pub(crate) async fn channel_access(
    app: &App,
    caller: Caller,
    channel: ChannelId,
) -> Result<(GuildId, Permissions), ApiError> {
    let c = visible_channel(app, caller.user_id, channel).await?;
    let guild = guild_of(&c).ok_or(ApiError::coded(
        StatusCode::BAD_REQUEST,
        50003,
        "cannot-execute-on-dm",
    ))?;
    let actor = app.services.guild(guild).await?;
    match crate::actors::mailbox::call(
        &actor,
        |reply| GuildMsg::Access {
            channel,
            user: caller.user_id,
            reply,
        },
        None,
    )
    .await
    {
        Ok(ractor::rpc::CallResult::Success(a)) => Ok((guild, a.permissions)),
        _ => Err(ApiError::internal("guild actor unavailable")),
    }
}

/// Records a webhook's creation or deletion in its guild's audit log (the changes Discord lists:
/// name, type, channel, avatar).
pub(crate) async fn audit(
    app: &App,
    caller: Caller,
    w: &WebhookRecord,
    action_type: u16,
    reason: Option<String>,
) {
    let Some(guild) = w.guild_id else { return };
    let Ok(actor) = app.services.guild(guild).await else {
        return;
    };
    let value = json!({
        "name": w.name,
        "type": w.kind,
        "channel_id": w.channel_id,
        "avatar_hash": w.avatar,
    });
    let (before, after) = if action_type == crate::actors::guild::WEBHOOK_DELETE {
        (Some(value), None)
    } else {
        (None, Some(value))
    };
    let msg = GuildMsg::RecordAudit {
        user: caller.user_id,
        action_type,
        target: Some(w.id.snowflake()),
        before,
        after,
    };
    let _ = crate::actors::tell(&actor, msg.with_reason(reason));
}

/// WEBHOOKS_UPDATE to the members who may see the webhook's channel.
pub(crate) async fn announce(app: &App, w: &WebhookRecord) {
    if let Some(g) = w.guild_id
        && let Ok(actor) = app.services.guild(g).await
    {
        let event = Dispatch::new(
            "WEBHOOKS_UPDATE",
            &json!({"guild_id": g, "channel_id": w.channel_id}),
            true,
        );
        let _ = crate::actors::tell(
            &actor,
            GuildMsg::Fanout {
                event,
                channel: Some(w.channel_id),
            },
        );
    }
}

#[derive(Debug, Default, Deserialize)]
struct WebhookBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    avatar: Option<Option<String>>,
    channel_id: Option<ChannelId>,
}

fn check_name(errs: &mut FieldErrors, name: &str) {
    validate::length(errs, "name", name, 1, 80);
    if name.to_lowercase().contains("clyde") || name.to_lowercase() == "discord" {
        errs.add("name", FieldError::UsernameInvalid);
    }
}

async fn store_avatar(
    app: &App,
    id: WebhookId,
    avatar: Option<Option<String>>,
    slot: &mut Option<String>,
) -> Result<(), ApiError> {
    match avatar {
        Some(Some(uri)) => {
            let limits = crate::cdn::ImageLimits::avatar(&app.config().get().cdn);
            let max = limits.max_bytes;
            *slot = Some(
                app.cdn
                    .put_image_data_uri(ImageKind::Avatar, id.0, &uri, limits)
                    .await
                    .map_err(|e| crate::cdn::field_error("avatar", e, max))?,
            );
        }
        Some(None) => *slot = None,
        None => {}
    }
    Ok(())
}

/// `POST /channels/{id}/webhooks` (MANAGE_WEBHOOKS).
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(channel): Path<ChannelId>,
    AuditReason(reason): AuditReason,
    Json(body): Json<WebhookBody>,
) -> Result<Json<Value>, ApiError> {
    let (guild, perms) = channel_access(&app, caller, channel).await?;
    require(perms, Permissions::MANAGE_WEBHOOKS)?;
    let mut errs = FieldErrors::default();
    let name = body.name.unwrap_or_default();
    if name.trim().is_empty() {
        errs.add("name", FieldError::Required);
    } else {
        check_name(&mut errs, name.trim());
    }
    errs.into_result()?;
    let max = app.config().get().limits.channel.max_webhooks as usize;
    if app.store().webhooks_of_channel(channel).await?.len() >= max {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            30007,
            "max-webhooks-reached",
        ));
    }
    let mut token = [0u8; 34];
    rand::thread_rng().fill_bytes(&mut token);
    let mut w = WebhookRecord {
        id: app.services.ids.next()?,
        kind: 1,
        guild_id: Some(guild),
        channel_id: channel,
        name: name.trim().to_string(),
        avatar: None,
        token: base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token),
        creator_id: caller.user_id,
        application_id: None,
        source_guild_id: None,
        source_channel_id: None,
    };
    store_avatar(&app, w.id, body.avatar, &mut w.avatar).await?;
    app.store().put_webhook(&w).await?;
    announce(&app, &w).await;
    audit(
        &app,
        caller,
        &w,
        crate::actors::guild::WEBHOOK_CREATE,
        reason,
    )
    .await;
    Ok(Json(webhook_json(&app, &w, true).await?))
}

/// `GET /channels/{id}/webhooks` (MANAGE_WEBHOOKS).
async fn channel_webhooks(
    State(app): State<App>,
    caller: Caller,
    Path(channel): Path<ChannelId>,
) -> Result<Json<Value>, ApiError> {
    let (_, perms) = channel_access(&app, caller, channel).await?;
    require(perms, Permissions::MANAGE_WEBHOOKS)?;
    let mut out = Vec::new();
    for w in app.store().webhooks_of_channel(channel).await? {
        out.push(webhook_json(&app, &w, true).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /guilds/{id}/webhooks` (MANAGE_WEBHOOKS at guild level).
async fn guild_webhooks(
    State(app): State<App>,
    caller: Caller,
    Path(guild): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let actor = app.services.guild(guild).await?;
    let perms = match crate::actors::mailbox::call(
        &actor,
        |reply| GuildMsg::Permissions {
            user: caller.user_id,
            reply,
        },
        None,
    )
    .await
    {
        Ok(ractor::rpc::CallResult::Success(Some(p))) => p,
        Ok(ractor::rpc::CallResult::Success(None)) => {
            return Err(ApiError::Unknown(Unknown::Guild));
        }
        _ => return Err(ApiError::internal("guild actor unavailable")),
    };
    require(perms, Permissions::MANAGE_WEBHOOKS)?;
    let mut out = Vec::new();
    for w in app.store().webhooks_of_guild(guild).await? {
        out.push(webhook_json(&app, &w, true).await?);
    }
    Ok(Json(Value::Array(out)))
}

async fn managed(app: &App, caller: Caller, id: WebhookId) -> Result<WebhookRecord, ApiError> {
    let w = app
        .store()
        .get_webhook(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Webhook))?;
    let (_, perms) = channel_access(app, caller, w.channel_id).await?;
    require(perms, Permissions::MANAGE_WEBHOOKS)?;
    Ok(w)
}

async fn by_token(app: &App, id: WebhookId, token: &str) -> Result<WebhookRecord, ApiError> {
    match app.store().get_webhook(id).await? {
        // Constant-time comparison would be nicer; tokens are 272 random bits, so a timing
        // side channel over the network is not a practical attack on them. Channel follower
        // webhooks have no token and cannot be executed.
        Some(w) if !w.token.is_empty() && w.token == token => Ok(w),
        _ => Err(ApiError::Unknown(Unknown::Webhook)),
    }
}

async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<WebhookId>,
) -> Result<Json<Value>, ApiError> {
    let w = managed(&app, caller, id).await?;
    Ok(Json(webhook_json(&app, &w, true).await?))
}

async fn apply_update(
    app: &App,
    mut w: WebhookRecord,
    body: WebhookBody,
    caller: Option<Caller>,
) -> Result<Value, ApiError> {
    let mut errs = FieldErrors::default();
    if let Some(n) = &body.name {
        check_name(&mut errs, n.trim());
    }
    errs.into_result()?;
    if let Some(n) = body.name {
        w.name = n.trim().to_string();
    }
    store_avatar(app, w.id, body.avatar, &mut w.avatar).await?;
    let old_channel = w.channel_id;
    if let Some(c) = body.channel_id {
        // Moving needs MANAGE_WEBHOOKS in the target channel of the same guild (not by token).
        let caller = caller.ok_or(ApiError::MissingPermissions)?;
        let (guild, perms) = channel_access(app, caller, c).await?;
        require(perms, Permissions::MANAGE_WEBHOOKS)?;
        if Some(guild) != w.guild_id {
            return Err(FieldErrors::single(
                "channel_id",
                FieldError::InvalidSnowflake,
            ));
        }
        w.channel_id = c;
    }
    app.store().put_webhook(&w).await?;
    announce(app, &w).await;
    if old_channel != w.channel_id {
        announce(
            app,
            &WebhookRecord {
                channel_id: old_channel,
                ..w.clone()
            },
        )
        .await;
    }
    webhook_json(app, &w, caller.is_some()).await
}

async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<WebhookId>,
    Json(body): Json<WebhookBody>,
) -> Result<Json<Value>, ApiError> {
    let w = managed(&app, caller, id).await?;
    Ok(Json(apply_update(&app, w, body, Some(caller)).await?))
}

/// `DELETE /webhooks/{id}` (MANAGE_WEBHOOKS). Deleting a channel follower webhook unfollows.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<WebhookId>,
    AuditReason(reason): AuditReason,
) -> Result<StatusCode, ApiError> {
    let w = managed(&app, caller, id).await?;
    app.store().delete_webhook(id).await?;
    announce(&app, &w).await;
    audit(
        &app,
        caller,
        &w,
        crate::actors::guild::WEBHOOK_DELETE,
        reason,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_with_token(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
) -> Result<Json<Value>, ApiError> {
    let w = by_token(&app, id, &token).await?;
    let mut v = webhook_json(&app, &w, true).await?;
    // Token lookups don't reveal the creator (Discord omits `user` here).
    if let Some(o) = v.as_object_mut() {
        o.remove("user");
    }
    Ok(Json(v))
}

async fn update_with_token(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
    Json(body): Json<WebhookBody>,
) -> Result<Json<Value>, ApiError> {
    let w = by_token(&app, id, &token).await?;
    Ok(Json(apply_update(&app, w, body, None).await?))
}

async fn delete_with_token(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
) -> Result<StatusCode, ApiError> {
    let w = by_token(&app, id, &token).await?;
    app.store().delete_webhook(id).await?;
    announce(&app, &w).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct ExecuteQuery {
    wait: Option<bool>,
    thread_id: Option<String>,
}

async fn run(app: &App, w: WebhookRecord, op: WebhookOp) -> Result<Value, ApiError> {
    let actor = app.services.channel(w.channel_id).await?;
    let webhook = Box::new(w);
    ask(&app.services, &actor, |reply| ChannelMsg::AsWebhook {
        webhook,
        op,
        reply,
    })
    .await
}

/// `POST /webhooks/{id}/{token}?wait=`: JSON or multipart; `username`/`avatar_url` override the
/// author for this message. Without `wait=true` the answer is 204, as on Discord.
async fn execute(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
    Query(q): Query<ExecuteQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    if is_interaction_token(&token) {
        return interactions::execute(&app, id, &token, request).await;
    }
    let w = by_token(&app, id, &token).await?;
    check_thread(&q)?;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let body = if multipart {
        let m = Multipart::from_request(request, &app)
            .await
            .map_err(|_| ApiError::InvalidJson)?;
        upload::message_from_multipart(&app, w.channel_id, m).await?
    } else {
        Json::<MessageCreate>::from_request(request, &app).await?.0
    };
    let message = post(&app, w, body).await?;
    Ok(if q.wait == Some(true) {
        axum::Json(message).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// `thread_id` names a thread of the webhook's channel to post in; this server's webhooks post
/// in their own channel only, so any thread is an unknown channel (10003).
fn check_thread(q: &ExecuteQuery) -> Result<(), ApiError> {
    match q.thread_id {
        Some(_) => Err(ApiError::Unknown(Unknown::Channel)),
        None => Ok(()),
    }
}

/// Posts `body` as the webhook `w`: the one path every execute form (plain, Slack, GitHub) ends
/// in, so the author overrides, validation and the channel actor's checks are the same for all.
/// Answers the message as JSON (for `?wait=true`).
async fn post(app: &App, w: WebhookRecord, mut body: MessageCreate) -> Result<Value, ApiError> {
    if let Some(name) = body.username.take().filter(|n| !n.trim().is_empty()) {
        let mut errs = FieldErrors::default();
        validate::length(&mut errs, "username", name.trim(), 1, 80);
        errs.into_result()?;
        body.webhook = Some((
            w.id,
            WebhookAuthor {
                username: name.trim().to_string(),
                avatar: w.avatar.clone(),
            },
        ));
    }
    if let Some(url) = body.avatar_url.take() {
        let name = body
            .webhook
            .as_ref()
            .map_or_else(|| w.name.clone(), |(_, a)| a.username.clone());
        body.webhook = Some((
            w.id,
            WebhookAuthor {
                username: name,
                avatar: Some(url),
            },
        ));
    }
    run(app, w, WebhookOp::Create(Box::new(body))).await
}

async fn get_message(
    State(app): State<App>,
    Path((id, token, message)): Path<(WebhookId, String, MessageId)>,
) -> Result<Json<Value>, ApiError> {
    if is_interaction_token(&token) {
        return Ok(Json(
            interactions::get_message(&app, id, &token, message).await?,
        ));
    }
    let w = by_token(&app, id, &token).await?;
    Ok(Json(run(&app, w, WebhookOp::Get(message)).await?))
}

async fn edit_message(
    State(app): State<App>,
    Path((id, token, message)): Path<(WebhookId, String, MessageId)>,
    Json(body): Json<MessageEdit>,
) -> Result<Json<Value>, ApiError> {
    if is_interaction_token(&token) {
        return Ok(Json(
            interactions::edit_message(&app, id, &token, message, body).await?,
        ));
    }
    let w = by_token(&app, id, &token).await?;
    Ok(Json(
        run(&app, w, WebhookOp::Edit(message, Box::new(body))).await?,
    ))
}

async fn delete_message(
    State(app): State<App>,
    Path((id, token, message)): Path<(WebhookId, String, MessageId)>,
) -> Result<StatusCode, ApiError> {
    if is_interaction_token(&token) {
        interactions::delete_message(&app, id, &token, message).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let w = by_token(&app, id, &token).await?;
    run(&app, w, WebhookOp::Delete(message)).await?;
    Ok(StatusCode::NO_CONTENT)
}
