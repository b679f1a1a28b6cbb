//! `/oauth2/*`. `/oauth2/authorize` is the consent step, as the Discord client performs it: GET
//! shows what would be granted, POST grants it — adding a bot to a guild (`bot` scope) and/or
//! handing the application an authorization code for the user's scopes (`response_type=code`).
//! The token endpoint and what a bearer token can read of its grant live in the submodules.

mod grants;
mod info;
mod token;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
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
use crate::model::{ApplicationRecord, OAuthScopes};
use crate::permissions::Permissions;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/oauth2/authorize", get(show).post(authorize))
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/token/revoke", post(token::revoke))
        .route("/oauth2/@me", get(info::me))
        .route("/oauth2/userinfo", get(info::userinfo))
        .route("/oauth2/keys", get(info::keys))
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

/// The application being authorized. A private bot may only be added by its owner's side; a
/// grant without the `bot` scope is open to every user, as on Discord.
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
    let adds_bot = requested_scopes(q)?.contains(OAuthScopes::BOT);
    if adds_bot && !a.bot_public && application_access(app, caller, &a).await?.is_none() {
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

/// The scopes asked for (`bot` when none are named, the historic bot-invite link); an unknown
/// scope — `openid` included, no id_tokens are signed — is a field error.
fn requested_scopes(q: &AuthorizeQuery) -> Result<OAuthScopes, ApiError> {
    let scopes = OAuthScopes::parse(q.scope.as_deref().unwrap_or("bot")).map_err(|_| {
        FieldErrors::single(
            "scope",
            FieldError::Choice {
                allowed: OAuthScopes::all().joined(),
            },
        )
    })?;
    if scopes.is_empty() {
        return Err(FieldErrors::single("scope", FieldError::Required));
    }
    Ok(scopes)
}

/// The redirect URI a grant goes back to: the one asked for, if the application registered it,
/// or the application's only one when none is named.
fn redirect_uri(a: &ApplicationRecord, asked: Option<&str>) -> Result<String, ApiError> {
    let chosen = match asked {
        Some(uri) => a.redirect_uris.iter().find(|r| r.as_str() == uri),
        None if a.redirect_uris.len() == 1 => a.redirect_uris.first(),
        None => None,
    };
    chosen
        .cloned()
        .ok_or_else(|| FieldErrors::single("redirect_uri", FieldError::InvalidRedirectUri))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `uri` with query parameters appended.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_string();
    for (k, v) in params {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(k);
        out.push('=');
        out.push_str(&query_escape(v));
    }
    out
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct AuthorizeBody {
    guild_id: Option<GuildId>,
    permissions: Option<Permissions>,
    authorize: Option<bool>,
    captcha_key: Option<String>,
}

/// `POST /oauth2/authorize?client_id&scope&response_type&redirect_uri&state`: with `bot`, adds
/// the bot to `guild_id` with a managed role holding `permissions` (the caller needs MANAGE_GUILD
/// and every granted permission); with `response_type=code`, the location carries a one-use
/// authorization code for the user's scopes. `authorize: false` declines (`error=access_denied`).
async fn authorize(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Query(q): Query<AuthorizeQuery>,
    Json(body): Json<AuthorizeBody>,
) -> Result<Json<Value>, ApiError> {
    let a = bot_application(&app, &q, caller).await?;
    let scopes = requested_scopes(&q)?;
    let code_grant = match q.response_type.as_deref() {
        None => false,
        Some("code") => true,
        Some(_) => {
            return Err(FieldErrors::single(
                "response_type",
                FieldError::Choice {
                    allowed: "code".into(),
                },
            ));
        }
    };
    // A guild install (`bot`, with or without `applications.commands`) needs no code; every
    // other scope is a grant to the application, which only a code can carry.
    let install = OAuthScopes::BOT | OAuthScopes::APPLICATIONS_COMMANDS;
    if !code_grant {
        if !scopes.contains(OAuthScopes::BOT) {
            return Err(FieldErrors::single(
                "scope",
                FieldError::Choice {
                    allowed: "bot".into(),
                },
            ));
        }
        if !install.contains(scopes) {
            return Err(FieldErrors::single("response_type", FieldError::Required));
        }
    }
    let redirect = if code_grant {
        Some(redirect_uri(&a, q.redirect_uri.as_deref())?)
    } else {
        None
    };
    let state = q.state.clone().unwrap_or_default();
    if body.authorize == Some(false) {
        let location = match &redirect {
            Some(r) => with_query(r, &[("error", "access_denied"), ("state", &state)]),
            None => q.redirect_uri.clone().unwrap_or_default(),
        };
        return Ok(Json(json!({"location": location})));
    }
    if scopes.contains(OAuthScopes::BOT) {
        add_bot(&app, caller, &a, &q, &body).await?;
    }
    let location = match redirect {
        Some(r) => {
            let code = grants::issue_code(&app, a.id, caller.user_id, scopes, &r).await?;
            tracing::info!(application = %a.id, scopes = %scopes.joined(), "oauth2 code issued");
            let mut params = vec![("code", code.as_str())];
            if !state.is_empty() {
                params.push(("state", state.as_str()));
            }
            with_query(&r, &params)
        }
        None => q
            .redirect_uri
            .clone()
            .unwrap_or_else(|| format!("{}/oauth2/authorized", app.api_endpoint())),
    };
    Ok(Json(json!({"location": location})))
}

/// The `bot` scope's part: the bot joins `guild_id` with its managed role.
async fn add_bot(
    app: &App,
    caller: Caller,
    a: &ApplicationRecord,
    q: &AuthorizeQuery,
    body: &AuthorizeBody,
) -> Result<(), ApiError> {
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
    // The integration lists the scopes in the order they were asked for, as Discord does.
    let mut granted: Vec<String> = Vec::new();
    let asked = q.scope.as_deref().unwrap_or("bot");
    for name in asked.split([' ', '+']).filter(|s| !s.is_empty()) {
        if !granted.iter().any(|g| g == name) {
            granted.push(name.to_string());
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
    Ok(())
}
