//! `/applications/*`: developer applications and their bot users.

pub mod attachment;
pub mod commands;
pub mod emojis;
pub mod entitlements;
pub mod role_connections;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::actors::guild::GuildMsg;
use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Path};
use crate::api::routes::teams::access::{Access, application_for, require, team_view};
use crate::api::routes::teams::team_json;
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ApplicationId, ChannelId, GuildId, TeamId};
use crate::model::application::flags;
use crate::model::{ApplicationRecord, CommandPermissionsRecord, UserRecord};
use crate::store::StoreError;
use crate::validate;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/applications", get(list).post(create))
        .route("/applications/@me", get(current).patch(update_current))
        .route("/oauth2/applications/@me", get(current))
        .route(
            "/applications/{application_id}",
            get(get_one).patch(update).delete(delete),
        )
        .route("/applications/{application_id}/delete", post(delete))
        .route("/applications/{application_id}/bot", post(create_bot))
        .route(
            "/applications/{application_id}/bot/reset",
            post(reset_token),
        )
        .route("/applications/{application_id}/reset", post(reset_secret))
        .route("/applications/{application_id}/transfer", post(transfer))
        .merge(commands::routes())
        .merge(emojis::routes())
        .merge(role_connections::routes())
        .merge(entitlements::routes())
        .merge(attachment::routes())
}

/// Discord's application object. A team's application has the `team` (with its members) and,
/// as its `owner`, the team's pseudo-user.
pub async fn application_json(app: &App, a: &ApplicationRecord) -> Result<Value, ApiError> {
    let team = match a.team_id {
        Some(id) => app.store().get_team(id).await?,
        None => None,
    };
    let (owner, team) = match team {
        Some(team) => {
            let members = app.store().team_members(team.id).await?;
            (team.pseudo_user(), team_json(app, &team, &members).await?)
        }
        None => (
            json!(app.services.users.public(a.owner_id).await?),
            Value::Null,
        ),
    };
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "icon": a.icon,
        "description": a.description,
        "summary": "",
        "type": null,
        "bot_public": a.bot_public,
        "bot_require_code_grant": a.bot_require_code_grant,
        "verify_key": a.verify_key,
        "flags": a.flags,
        "owner": owner,
        "team": team,
        "flags_new": a.flags.to_string(),
        "redirect_uris": a.redirect_uris,
        "interactions_endpoint_url": a.interactions_endpoint_url,
        "role_connections_verification_url": null,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": [],
        "tags": a.tags,
        "rpc_origins": [],
        "hook": true,
        "approximate_guild_count": 0,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
    });
    // Absent rather than null when unset: Discord's schema types them as strings.
    if let Some(url) = &a.terms_of_service_url {
        v["terms_of_service_url"] = json!(url);
    }
    if let Some(url) = &a.privacy_policy_url {
        v["privacy_policy_url"] = json!(url);
    }
    if let Some(bot) = a.bot_user_id {
        v["bot"] = json!(app.services.users.public(bot).await?);
        v["approximate_guild_count"] = json!(app.store().guilds_of_user(bot).await?.len());
    }
    Ok(v)
}

/// `GET /applications`: the caller's applications and those of the teams they are an accepted
/// member of.
async fn list(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
) -> Result<Json<Value>, ApiError> {
    let mut apps = app.store().applications_of_owner(caller.user_id).await?;
    for team in app.store().teams_of_user(caller.user_id).await? {
        let Ok(view) = team_view(&app, team, caller.user_id).await else {
            continue;
        };
        if view.access().is_some() {
            apps.extend(
                app.store()
                    .applications_of_owner(view.team.pseudo_user_id())
                    .await?,
            );
        }
    }
    apps.sort_by_key(|a| a.id);
    apps.dedup_by_key(|a| a.id);
    let mut out = Vec::new();
    for a in &apps {
        out.push(application_json(&app, a).await?);
    }
    Ok(Json(Value::Array(out)))
}

#[derive(Debug, Deserialize)]
pub struct ApplicationCreate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub team_id: Option<TeamId>,
}

/// `POST /applications` (with `team_id`, owned by that team: the caller must be one of its
/// admins)
async fn create(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Json(body): Json<ApplicationCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = body.name.unwrap_or_default().trim().to_string();
    let mut errs = FieldErrors::default();
    if name.is_empty() {
        errs.add("name", FieldError::Required);
    } else {
        validate::length(&mut errs, "name", &name, 2, 32);
    }
    errs.into_result()?;
    let team = match body.team_id {
        Some(id) => {
            let view = team_view(&app, id, caller.user_id).await?;
            require(view.access(), Access::Admin)?;
            Some(view.team)
        }
        None => None,
    };
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let a = ApplicationRecord {
        id: app.services.ids.next()?,
        name,
        description: body.description.unwrap_or_default(),
        icon: None,
        owner_id: team.as_ref().map_or(caller.user_id, |t| t.pseudo_user_id()),
        team_id: team.as_ref().map(|t| t.id),
        bot_user_id: None,
        bot_public: true,
        bot_require_code_grant: false,
        // New bots may use the privileged intents, as Discord allows bots in under 100 guilds.
        flags: flags::GATEWAY_PRESENCE_LIMITED
            | flags::GATEWAY_GUILD_MEMBERS_LIMITED
            | flags::GATEWAY_MESSAGE_CONTENT_LIMITED,
        verify_key: hex::encode(key),
        redirect_uris: Vec::new(),
        interactions_endpoint_url: None,
        tags: Vec::new(),
        terms_of_service_url: None,
        privacy_policy_url: None,
        client_secret_hash: None,
    };
    app.store().put_application(&a).await?;
    tracing::info!(application = %a.id, owner = %caller.user_id, "application created");
    Ok((StatusCode::CREATED, Json(application_json(&app, &a).await?)))
}

/// `GET /applications/@me`, `GET /oauth2/applications/@me`: the bot's own application.
async fn current(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let a = app
        .store()
        .get_application(ApplicationId(caller.user_id.0))
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    Ok(Json(application_json(&app, &a).await?))
}

async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
) -> Result<Json<Value>, ApiError> {
    let a = application_for(&app, caller, id, Access::ReadOnly).await?;
    Ok(Json(application_json(&app, &a).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplicationPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub icon: Option<Option<String>>,
    pub bot_public: Option<bool>,
    pub bot_require_code_grant: Option<bool>,
    pub flags: Option<u64>,
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub interactions_endpoint_url: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub terms_of_service_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub privacy_policy_url: Option<Option<String>>,
}

/// `PATCH /applications/{id}` (the owner, or a team developer).
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Json(body): Json<ApplicationPatch>,
) -> Result<Json<Value>, ApiError> {
    let mut a = application_for(&app, caller, id, Access::Developer).await?;
    apply_patch(&mut a, body)?;
    app.store().put_application(&a).await?;
    Ok(Json(application_json(&app, &a).await?))
}

/// `PATCH /applications/@me`: the bot edits its own application, with the same fields and
/// checks as `PATCH /applications/{id}`.
async fn update_current(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<ApplicationPatch>,
) -> Result<Json<Value>, ApiError> {
    let mut a = app
        .store()
        .get_application(ApplicationId(caller.user_id.0))
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    apply_patch(&mut a, body)?;
    app.store().put_application(&a).await?;
    Ok(Json(application_json(&app, &a).await?))
}

/// Checks a patch (50035) and applies it. Of `flags`, only the intent flags are settable; an
/// icon can only be removed (there is no application icon upload yet).
fn apply_patch(a: &mut ApplicationRecord, body: ApplicationPatch) -> Result<(), ApiError> {
    let mut errs = FieldErrors::default();
    if let Some(n) = body.name {
        validate::length(&mut errs, "name", n.trim(), 2, 32);
        a.name = n.trim().to_string();
    }
    if let Some(d) = body.description {
        validate::max_length(&mut errs, "description", &d, 400);
        a.description = d;
    }
    match body.icon {
        Some(None) => a.icon = None,
        Some(Some(_)) => errs.add("icon", FieldError::InvalidUrl),
        None => {}
    }
    if let Some(b) = body.bot_public {
        a.bot_public = b;
    }
    if let Some(b) = body.bot_require_code_grant {
        a.bot_require_code_grant = b;
    }
    if let Some(f) = body.flags {
        a.flags = (a.flags & !flags::INTENT_FLAGS) | (f & flags::INTENT_FLAGS);
    }
    if let Some(r) = body.redirect_uris {
        a.redirect_uris = r;
    }
    if let Some(u) = body.interactions_endpoint_url {
        a.interactions_endpoint_url = u;
    }
    if let Some(t) = body.tags {
        if t.len() > 5 {
            errs.add("tags", FieldError::TooMany { max: 5 });
        }
        a.tags = t;
    }
    if let Some(u) = body.terms_of_service_url {
        a.terms_of_service_url = u;
    }
    if let Some(u) = body.privacy_policy_url {
        a.privacy_policy_url = u;
    }
    errs.into_result()
}

/// `DELETE /applications/{id}`: removes the application and what hangs on it, as Discord does:
/// its bot leaves every guild (members see it go) and is disabled; its command permissions in
/// every guild (its bot's or not), its emojis and their images, entitlements, role connection
/// metadata, users' role connections to it and uploaded attachments are deleted. The owner only (of a team's application: the team owner), a destructive action.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
) -> Result<StatusCode, ApiError> {
    let a = application_for(&app, caller, id, Access::Owner).await?;
    let span = tracing::info_span!("application_delete", application = %id);
    async {
        if let Some(bot) = a.bot_user_id {
            for guild in app.store().guilds_of_user(bot).await? {
                // Records written before the store indexed guilds by application are found
                // through the bot's guilds; the store's deletion takes the indexed ones.
                clear_command_permissions(&app, guild, id).await?;
                let left = app
                    .services
                    .ask_guild(guild, |reply| GuildMsg::RemoveMember {
                        by: bot,
                        target: bot,
                        kick: false,
                        reply,
                    })
                    .await;
                // A guild that is gone (or a stale index entry) must not keep the application
                // from being deleted.
                if let Err(e) = left {
                    tracing::warn!(%guild, error = %e, "bot could not leave the guild");
                }
            }
            if let Some(user) = app.services.users.get(bot).await? {
                let mut user = (*user).clone();
                user.disabled = true;
                user.token_generation = user.token_generation.wrapping_add(1);
                app.store().update_user(&user).await?;
                app.auth.refresh(&user);
                app.services.sessions.disconnect_user(user.id);
                app.services.users.updated(user);
            }
        }
        let emojis = app.store().app_emojis(id).await?;
        app.store().delete_application(id).await?;
        for e in emojis {
            app.cdn
                .delete_images_of(crate::cdn::ImageKind::Emoji, e.id.snowflake())
                .await;
        }
        // Uploads live under the application's id in place of a channel's.
        app.cdn
            .delete_attachments_of(ChannelId(id.snowflake()))
            .await;
        tracing::info!("application deleted");
        Ok(StatusCode::NO_CONTENT)
    }
    .instrument(span)
    .await
}

/// Removes the application's command permissions in one guild (an empty list deletes them).
async fn clear_command_permissions(
    app: &App,
    guild: GuildId,
    id: ApplicationId,
) -> Result<(), ApiError> {
    for record in app.store().command_permissions_of(guild, id).await? {
        let empty = CommandPermissionsRecord {
            permissions: Vec::new(),
            ..record
        };
        app.store().put_command_permissions(&empty).await?;
    }
    Ok(())
}

/// `POST /applications/{id}/bot`: creates the bot user (same id as the application) and returns
/// its token — shown once; `bot/reset` makes a new one. The owner or a team developer.
async fn create_bot(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
) -> Result<Json<Value>, ApiError> {
    let mut a = application_for(&app, caller, id, Access::Developer).await?;
    if a.bot_user_id.is_some() {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            50035,
            "invalid-form-body",
        ));
    }
    let username: String = a
        .name
        .chars()
        .filter(|c| !matches!(c, '@' | '#' | ':' | '`'))
        .collect();
    let mut user = UserRecord {
        id: crate::id::UserId(id.0),
        username: if username.trim().len() >= 2 {
            username.trim().to_string()
        } else {
            format!("bot{}", id)
        },
        discriminator: "0000".into(),
        global_name: None,
        avatar: None,
        banner: None,
        accent_color: None,
        bio: String::new(),
        pronouns: String::new(),
        email: None,
        password_hash: None,
        date_of_birth: None,
        locale: "en-US".into(),
        bot: true,
        system: false,
        verified: true,
        mfa_enabled: false,
        flags: 0,
        premium_type: 0,
        admin: false,
        disabled: false,
        token_generation: 0,
    };
    let mut created = false;
    for _ in 0..20 {
        user.discriminator = format!("{:04}", rand::random::<u16>() % 9999 + 1);
        match app.store().create_user(&user).await {
            Ok(()) => {
                created = true;
                break;
            }
            Err(StoreError::Conflict("username")) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    if !created {
        return Err(FieldErrors::single("username", FieldError::UsernameTaken));
    }
    a.bot_user_id = Some(user.id);
    app.store().put_application(&a).await?;
    app.auth.refresh(&user);
    let token = app.auth.issue(&user);
    let mut v = json!(user.public());
    v["token"] = json!(token);
    app.services.users.updated(user);
    Ok(Json(v))
}

/// `POST /applications/{id}/bot/reset`: revokes the bot's tokens and returns a new one. The
/// owner or a team developer (Discord lets developers reset bot tokens; read-only members not).
async fn reset_token(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
) -> Result<Json<Value>, ApiError> {
    let a = application_for(&app, caller, id, Access::Developer).await?;
    let bot = a.bot_user_id.ok_or(ApiError::Unknown(Unknown::User))?;
    let user = app
        .services
        .users
        .get(bot)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    let mut user = (*user).clone();
    user.token_generation = user.token_generation.wrapping_add(1);
    app.store().update_user(&user).await?;
    app.auth.refresh(&user);
    // The bot's gateway sessions were opened with the old token: they end with it.
    app.services.sessions.disconnect_user(user.id);
    let token = app.auth.issue(&user);
    app.services.users.updated(user);
    Ok(Json(json!({"token": token})))
}

/// `POST /applications/{id}/reset` (the developer portal's "Reset Secret"): mints a new OAuth2
/// client secret and shows it this once; only its hash is kept, and the old one stops working.
async fn reset_secret(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
) -> Result<Json<Value>, ApiError> {
    let mut a = application_for(&app, caller, id, Access::Developer).await?;
    let secret = crate::auth::oauth::new_token();
    a.client_secret_hash = Some(crate::auth::oauth::token_hash(&secret));
    app.store().put_application(&a).await?;
    tracing::info!(application = %a.id, "client secret reset");
    Ok(Json(json!({"secret": secret})))
}

#[derive(Debug, Deserialize)]
struct Transfer {
    team_id: Option<TeamId>,
    /// Discord's MFA code; accepted and ignored (no MFA here).
    #[allow(dead_code)]
    code: Option<String>,
}

/// `POST /applications/{id}/transfer {team_id}`: the owner of an application hands it to a team
/// they administer. As on Discord this can't be undone: the application's `owner` becomes the
/// team's pseudo-user and its members get access by role; the team owner is its owner from then.
async fn transfer(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Json(body): Json<Transfer>,
) -> Result<Json<Value>, ApiError> {
    let mut a = application_for(&app, caller, id, Access::Owner).await?;
    let team_id = body
        .team_id
        .ok_or_else(|| FieldErrors::single("team_id", FieldError::Required))?;
    if a.team_id.is_some() {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            0,
            "application-already-in-team",
        ));
    }
    let view = team_view(&app, team_id, caller.user_id).await?;
    require(view.access(), Access::Admin)?;
    a.team_id = Some(team_id);
    a.owner_id = view.team.pseudo_user_id();
    app.store().put_application(&a).await?;
    tracing::info!(application = %id, team = %team_id, "application transferred to a team");
    Ok(Json(application_json(&app, &a).await?))
}
