//! Account moderation: `GET /admin/users?q=` (find by id, email or username),
//! `GET /admin/users/{id}`, `PATCH /admin/users/{id}` (`{"disabled": bool, "reason"?}`).
//!
//! Disabling an account refuses its tokens at once (the auth cache is refreshed), revokes them
//! for good (the token generation is bumped, so re-enabling does not revive a leaked token), and
//! closes its live gateway sessions with `4004 Authentication failed`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::record;
use super::require_admin;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, Unknown};
use crate::id::UserId;
use crate::model::{Timestamp, UserRecord};
use crate::store::AuditChange;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/admin/users", get(search))
        .route("/admin/users/{user_id}", get(get_user).patch(update_user))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// What the dashboard shows about an account (never the password hash).
async fn admin_view(app: &App, u: &UserRecord) -> Result<Value, ApiError> {
    let config_admin = app
        .config()
        .get()
        .security
        .admin_user_ids
        .iter()
        .any(|id| *id == u.id.to_string());
    let guilds = app.store().guilds_of_user(u.id).await?.len();
    Ok(json!({
        "id": u.id,
        "username": u.username,
        "discriminator": u.discriminator,
        "global_name": u.global_name,
        "email": u.email,
        "bot": u.bot,
        "verified": u.verified,
        "admin": u.admin || config_admin,
        "disabled": u.disabled,
        "created_at": Timestamp::from_millis(u.id.snowflake().timestamp_ms() as i64),
        "guild_count": guilds,
        "sessions_online": app.services.sessions.count_of(u.id),
    }))
}

/// Looks an account up by id (digits), email (contains `@`) or username (`name` or
/// `name#discriminator`). Returns every match (at most one per kind of lookup).
async fn find(app: &App, q: &str) -> Result<Vec<UserRecord>, ApiError> {
    let q = q.trim();
    let mut found: Vec<UserRecord> = Vec::new();
    if q.is_empty() {
        return Ok(found);
    }
    if let Ok(id) = q.parse::<UserId>()
        && let Some(u) = app.store().get_user(id).await?
    {
        found.push(u);
    }
    if q.contains('@') {
        if let Some(u) = app.store().user_by_email(&q.to_lowercase()).await? {
            found.push(u);
        }
    } else {
        let name = q.trim_start_matches('@');
        let (name, disc) = name.rsplit_once('#').unwrap_or((name, "0"));
        if let Some(u) = app.store().user_by_username(name, disc).await? {
            found.push(u);
        }
    }
    found.dedup_by_key(|u| u.id);
    Ok(found)
}

/// `GET /admin/users?q=<id | email | username>`: the matching accounts.
#[tracing::instrument(name = "admin.users.search", skip_all, fields(admin = %caller.user_id))]
async fn search(
    State(app): State<App>,
    caller: Caller,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let mut out = Vec::new();
    for u in find(&app, q.q.as_deref().unwrap_or_default()).await? {
        out.push(admin_view(&app, &u).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /admin/users/{id}`.
async fn get_user(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<UserId>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let u = app
        .store()
        .get_user(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    Ok(Json(admin_view(&app, &u).await?))
}

#[derive(Debug, Deserialize)]
struct UserPatch {
    disabled: Option<bool>,
    reason: Option<String>,
}

/// `PATCH /admin/users/{id}` with `{"disabled": true|false, "reason": "…"}`: disables or
/// enables the account, recorded in the audit log (`user.disable` / `user.enable`).
#[tracing::instrument(name = "admin.users.update", skip_all, fields(admin = %caller.user_id, user = %id))]
async fn update_user(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<UserId>,
    Json(body): Json<UserPatch>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&caller)?;
    let mut user = app
        .store()
        .get_user(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    let Some(disabled) = body.disabled else {
        return Ok(Json(admin_view(&app, &user).await?));
    };
    if disabled && id == caller.user_id {
        // An admin locking themselves out would need the CLI to get back in.
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            0,
            "admin-cannot-disable-self",
        ));
    }
    if user.disabled == disabled {
        return Ok(Json(admin_view(&app, &user).await?));
    }
    user.disabled = disabled;
    if disabled {
        user.token_generation = user.token_generation.wrapping_add(1);
    }
    app.store().update_user(&user).await?;
    app.auth.refresh(&user);
    app.services.users.updated(user.clone());
    let closed = if disabled {
        app.services.sessions.disconnect_user(id)
    } else {
        0
    };
    tracing::info!(disabled, sessions_closed = closed, "account status changed");
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    record(
        &app,
        caller.user_id,
        action,
        Some(id.snowflake()),
        vec![AuditChange {
            key: "disabled".into(),
            old: json!(!disabled),
            new: json!(disabled),
        }],
        body.reason,
    )
    .await;
    let mut view = admin_view(&app, &user).await?;
    view["sessions_closed"] = json!(closed);
    Ok(Json(view))
}
