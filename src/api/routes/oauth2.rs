//! `/oauth2/authorize`: adding a bot to a guild (the "invite bot" flow), as the Discord client
//! performs it: GET shows what would be granted, POST grants it.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::guild::GuildMsg;
use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Query};
use crate::api::routes::applications::application_json;
use crate::api::routes::teams::access::application_access;
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ApplicationId, GuildId};
use crate::model::ApplicationRecord;
use crate::permissions::Permissions;

pub fn routes() -> Router<App> {
    Router::new().route("/oauth2/authorize", get(show).post(authorize))
}

/// Every parameter the Discord client sends is accepted; some are not used (yet).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct AuthorizeQuery {
    client_id: Option<ApplicationId>,
    scope: Option<String>,
    permissions: Option<String>,
    guild_id: Option<GuildId>,
    response_type: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

async fn bot_application(
    app: &App,
    q: &AuthorizeQuery,
    caller: Caller,
) -> Result<ApplicationRecord, ApiError> {
    let id = q
        .client_id
        .ok_or_else(|| FieldErrors::single("client_id", FieldError::Required))?;
    let a = app
        .store()
        .get_application(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    // A private bot: its owner, or any member of the team that owns it (Discord lets read-only
    // members add private team bots).
    if !a.bot_public && application_access(app, caller, &a).await?.is_none() {
        return Err(ApiError::coded(
            axum::http::StatusCode::FORBIDDEN,
            50001,
            "missing-access",
        ));
    }
    Ok(a)
}

/// `GET /oauth2/authorize?client_id&scope=bot&permissions`: the application, its bot, and the
/// guilds the caller may add it to.
async fn show(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Query(q): Query<AuthorizeQuery>,
) -> Result<Json<Value>, ApiError> {
    let a = bot_application(&app, &q, caller).await?;
    let mut guilds = Vec::new();
    for id in app.store().guilds_of_user(caller.user_id).await? {
        let Ok(actor) = app.services.guild(id).await else {
            continue;
        };
        if let Ok(g) = ask(&app.services, &actor, |reply| GuildMsg::Summary {
            user: caller.user_id,
            reply,
        })
        .await
        {
            let perms: Permissions =
                serde_json::from_value(g["permissions"].clone()).unwrap_or_default();
            if perms.contains(Permissions::MANAGE_GUILD) {
                guilds.push(g);
            }
        }
    }
    let user = app.services.users.public(caller.user_id).await?;
    // Anyone may look at a public bot's authorization page: its team's member list stays private.
    let mut application = application_json(&app, &a).await?;
    if let Some(obj) = application.as_object_mut() {
        obj.remove("team");
    }
    let mut v = json!({
        "application": application,
        "user": user,
        "guilds": guilds,
        "authorized": false,
    });
    if let Some(bot) = a.bot_user_id {
        v["bot"] = json!(app.services.users.public(bot).await?);
    }
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct AuthorizeBody {
    guild_id: Option<GuildId>,
    permissions: Option<Permissions>,
    authorize: Option<bool>,
    captcha_key: Option<String>,
}

/// `POST /oauth2/authorize?client_id&scope=bot`: adds the bot to `guild_id` with a managed role
/// holding `permissions` (the caller needs MANAGE_GUILD and every granted permission).
async fn authorize(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Query(q): Query<AuthorizeQuery>,
    Json(body): Json<AuthorizeBody>,
) -> Result<Json<Value>, ApiError> {
    let a = bot_application(&app, &q, caller).await?;
    let scopes = q.scope.clone().unwrap_or_else(|| "bot".into());
    if !scopes.split([' ', '+']).any(|s| s == "bot") {
        return Err(FieldErrors::single(
            "scope",
            FieldError::Choice {
                allowed: "bot".into(),
            },
        ));
    }
    if body.authorize == Some(false) {
        return Ok(Json(
            json!({"location": q.redirect_uri.unwrap_or_default()}),
        ));
    }
    let bot = a.bot_user_id.ok_or(ApiError::Unknown(Unknown::User))?;
    let guild = body
        .guild_id
        .or(q.guild_id)
        .ok_or_else(|| FieldErrors::single("guild_id", FieldError::Required))?;
    let permissions = body
        .permissions
        .or_else(|| {
            q.permissions
                .as_deref()
                .and_then(Permissions::parse_lenient)
        })
        .unwrap_or_default();
    let name = a.name.clone();
    let mut granted: Vec<String> = Vec::new();
    for s in scopes.split([' ', '+']).filter(|s| !s.is_empty()) {
        if !granted.iter().any(|g| g == s) {
            granted.push(s.to_string());
        }
    }
    app.services
        .ask_guild(guild, |reply| GuildMsg::AddBot {
            by: caller.user_id,
            bot,
            name,
            permissions,
            application: a.id,
            scopes: granted,
            reply,
        })
        .await?;
    tracing::info!(%guild, bot = %bot, "bot added to guild");
    Ok(Json(
        json!({"location": q.redirect_uri.unwrap_or_else(|| format!("{}/oauth2/authorized", app.api_endpoint()))}),
    ))
}
