//! `/users/*`: the current user, other users, the user's guilds and DMs. Relationships,
//! settings, connected accounts and profiles live beside this file (`users/`).

pub mod affinities;
pub mod billing;
pub mod connections;
pub mod consent;
pub mod library;
pub mod profile;
pub mod relationships;
pub mod settings;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::{Caller, hash_password, verify_password};
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{GuildId, UserId};
use crate::model::{ChannelKind, ChannelRecord};
use crate::store::StoreError;
use crate::validate;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/users/@me", get(me).patch(update_me))
        .route("/users/@me/guilds", get(my_guilds))
        .route("/users/@me/guilds/{guild_id}", delete(leave_guild))
        .route("/users/@me/guilds/{guild_id}/member", get(my_member))
        .route("/users/@me/channels", get(my_channels).post(create_dm))
        .route("/users/{user_id}", get(user))
        .merge(relationships::routes())
        .merge(settings::routes())
        .merge(profile::routes())
        .merge(connections::routes())
        .merge(affinities::routes())
        .merge(billing::routes())
        .merge(library::routes())
        .merge(consent::routes())
}

/// `GET /users/@me`
async fn me(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let user = app
        .services
        .users
        .get(caller.user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let Some(grant) = caller.oauth else {
        return Ok(Json(user.private()));
    };
    // An application reading the user through a grant: the public profile and account flags;
    // the address (and whether it is verified) only with the `email` scope, and none of the
    // account's private settings (birth date, phone, bio as edited, admin state).
    let mut v = serde_json::to_value(user.public()).map_err(ApiError::internal)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("mfa_enabled".into(), user.mfa_enabled.into());
        obj.insert("locale".into(), user.locale.clone().into());
        obj.insert("flags".into(), user.flags.into());
        obj.insert("premium_type".into(), user.premium_type.into());
        if grant.scopes.contains(crate::model::OAuthScopes::EMAIL) {
            obj.insert("email".into(), user.email.clone().into());
            obj.insert("verified".into(), user.verified.into());
        }
    }
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
pub struct UserPatch {
    pub username: Option<String>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub global_name: Option<Option<String>>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub new_password: Option<String>,
    pub bio: Option<String>,
    pub pronouns: Option<String>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub accent_color: Option<Option<u32>>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub avatar: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    pub banner: Option<Option<String>>,
    pub discriminator: Option<String>,
    pub locale: Option<String>,
}

/// `PATCH /users/@me`. Changing username, email or password requires the current password
/// (bots have none and may change their username freely).
async fn update_me(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<UserPatch>,
) -> Result<Json<Value>, ApiError> {
    let config = app.config().get();
    let current = app
        .services
        .users
        .get(caller.user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut user = (*current).clone();
    let mut errs = FieldErrors::default();
    let sensitive = body.email.is_some()
        || body.new_password.is_some()
        || body.username.as_ref().is_some_and(|u| *u != user.username);
    if sensitive && let Some(hash) = user.password_hash.clone() {
        match body.password.clone() {
            None => errs.add("password", FieldError::Required),
            Some(p) => {
                if !verify_password(p, hash).await? {
                    errs.add("password", FieldError::PasswordMismatch);
                }
            }
        }
    }
    if let Some(name) = &body.username {
        validate::username(
            &mut errs,
            "username",
            name,
            config.limits.user.min_username,
            config.limits.user.max_username,
        );
        user.username = name.trim().to_string();
    }
    if let Some(g) = body.global_name {
        if let Some(g) = &g {
            validate::max_length(&mut errs, "global_name", g, 32);
        }
        user.global_name = g.filter(|g| !g.trim().is_empty());
    }
    if let Some(email) = body.email {
        let email = email.trim().to_lowercase();
        validate::email(&mut errs, "email", &email);
        user.email = Some(email);
        user.verified = false;
    }
    if let Some(bio) = body.bio {
        validate::max_length(&mut errs, "bio", &bio, config.limits.user.max_bio);
        user.bio = bio;
    }
    if let Some(p) = body.pronouns {
        validate::max_length(&mut errs, "pronouns", &p, 40);
        user.pronouns = p;
    }
    if let Some(c) = body.accent_color {
        user.accent_color = c.map(|c| c & 0xff_ffff);
    }
    let image_limits = crate::cdn::ImageLimits::avatar(&config.cdn);
    let max_image = image_limits.max_bytes;
    for (path, kind, value, slot) in [
        (
            "avatar",
            crate::cdn::ImageKind::Avatar,
            body.avatar,
            &mut user.avatar,
        ),
        (
            "banner",
            crate::cdn::ImageKind::Banner,
            body.banner,
            &mut user.banner,
        ),
    ] {
        match value {
            Some(None) => *slot = None,
            Some(Some(uri)) => match app
                .cdn
                .put_image_data_uri(kind, user.id.0, &uri, image_limits)
                .await
            {
                Ok(hash) => *slot = Some(hash),
                Err(e) => return Err(crate::cdn::field_error(path, e, max_image)),
            },
            None => {}
        }
    }
    if let Some(l) = body.locale {
        user.locale = l;
    }
    let new_password = body.new_password;
    if let Some(p) = &new_password {
        validate::password(
            &mut errs,
            "new_password",
            p,
            config.register.password_min_length,
        );
    }
    errs.into_result()?;
    if let Some(p) = new_password {
        user.password_hash = Some(hash_password(p, config.security.clone()).await?);
        user.token_generation = user.token_generation.wrapping_add(1);
    }
    match app.store().update_user(&user).await {
        Ok(()) => {}
        Err(StoreError::Conflict("email")) => {
            return Err(FieldErrors::single(
                "email",
                FieldError::EmailAlreadyRegistered,
            ));
        }
        Err(StoreError::Conflict("username")) => {
            return Err(FieldErrors::single("username", FieldError::UsernameTaken));
        }
        Err(e) => return Err(e.into()),
    }
    app.auth.refresh(&user);
    app.services.users.updated(user.clone());
    let private = user.private();
    app.services
        .sessions
        .send_to_user(user.id, &Dispatch::new("USER_UPDATE", &private, false));
    if user.public() != current.public()
        && let Err(e) = app.services.user_updated_in_guilds(user.id).await
    {
        // The change itself is stored and answered; only the members' views lag.
        tracing::warn!(error = %e, "guilds not told of a user update");
    }
    let mut out = private;
    if user.token_generation != current.token_generation {
        // The password change revoked old tokens; hand back a fresh one, as Discord does, and
        // end the gateway sessions opened with the old ones (they would live on otherwise).
        out["token"] = json!(app.auth.issue(&user));
        app.services.sessions.disconnect_user(user.id);
    }
    Ok(Json(out))
}

/// `GET /users/{id}`
async fn user(
    State(app): State<App>,
    _caller: Caller,
    Path(id): Path<UserId>,
) -> Result<Json<Value>, ApiError> {
    let u = app
        .services
        .users
        .get(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    Ok(Json(json!(u.public())))
}

#[derive(Debug, Deserialize)]
struct GuildsQuery {
    before: Option<GuildId>,
    after: Option<GuildId>,
    limit: Option<usize>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    with_counts: Option<bool>,
}

/// `GET /users/@me/guilds`
async fn my_guilds(
    State(app): State<App>,
    caller: Caller,
    Query(q): Query<GuildsQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut ids = app.store().guilds_of_user(caller.user_id).await?;
    ids.sort();
    ids.retain(|id| q.before.is_none_or(|b| *id < b) && q.after.is_none_or(|a| *id > a));
    ids.truncate(q.limit.unwrap_or(200).clamp(1, 200));
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let actor = match app.services.guild(id).await {
            Ok(a) => a,
            Err(ApiError::Unknown(_)) => continue,
            Err(e) => return Err(e),
        };
        let mut g = ask(&app.services, &actor, |reply| GuildMsg::Summary {
            user: caller.user_id,
            reply,
        })
        .await?;
        if q.with_counts != Some(true)
            && let Some(o) = g.as_object_mut()
        {
            o.remove("approximate_member_count");
        }
        out.push(g);
    }
    Ok(Json(Value::Array(out)))
}

/// `DELETE /users/@me/guilds/{id}`: leave a guild.
async fn leave_guild(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<StatusCode, ApiError> {
    app.services
        .ask_guild(id, |reply| GuildMsg::RemoveMember {
            by: caller.user_id,
            target: caller.user_id,
            kick: false,
            reply,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/@me/guilds/{id}/member`: the caller's own member object in a guild.
async fn my_member(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::GetMember {
                user: caller.user_id,
                target: caller.user_id,
                reply,
            })
            .await?,
    ))
}

/// `GET /users/@me/channels`: DMs and group DMs.
async fn my_channels(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let channels = app.store().private_channels_of_user(caller.user_id).await?;
    let mut out = Vec::with_capacity(channels.len());
    for c in channels {
        out.push(dm_json(&app, &c, caller.user_id).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// A DM as its recipients see it: `recipients` lists the other users.
pub async fn dm_json(app: &App, c: &ChannelRecord, me: UserId) -> Result<Value, ApiError> {
    let others: Vec<UserId> = c
        .recipient_ids
        .iter()
        .copied()
        .filter(|u| *u != me)
        .collect();
    let users = app.services.users.public_many(&others).await?;
    Ok(c.to_json(Some(&users)))
}

#[derive(Debug, Deserialize)]
pub struct DmCreate {
    pub recipient_id: Option<UserId>,
    pub recipients: Option<Vec<UserId>>,
    pub access_tokens: Option<Vec<String>>,
    pub nicks: Option<Value>,
}

/// `POST /users/@me/channels`: opens (or returns the existing) DM, or creates a group DM.
async fn create_dm(
    State(app): State<App>,
    caller: Caller,
    Json(body): Json<DmCreate>,
) -> Result<Json<Value>, ApiError> {
    let me = caller.user_id;
    let mut recipients = body.recipients.unwrap_or_default();
    if let Some(r) = body.recipient_id {
        recipients.push(r);
    }
    recipients.retain(|r| *r != me);
    recipients.sort();
    recipients.dedup();
    if recipients.is_empty() {
        return Err(FieldErrors::single("recipient_id", FieldError::Required));
    }
    if recipients.len() > 9 {
        return Err(FieldErrors::single(
            "recipients",
            FieldError::TooMany { max: 9 },
        ));
    }
    for r in &recipients {
        if app.services.users.get(*r).await?.is_none() {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                50033,
                "invalid-recipients",
            ));
        }
    }
    let kind = if recipients.len() == 1 {
        ChannelKind::Dm
    } else {
        ChannelKind::GroupDm
    };
    if kind == ChannelKind::Dm {
        let existing = app.store().private_channels_of_user(me).await?;
        if let Some(c) = existing
            .iter()
            .find(|c| c.kind == ChannelKind::Dm && c.recipient_ids.contains(&recipients[0]))
        {
            return Ok(Json(dm_json(&app, c, me).await?));
        }
        // A block either way refuses a new DM (as it refuses sending in an existing one), and
        // so do the guilds that brought the two together if they all paused DMs.
        if crate::actors::user::blocked_between(&app.services, me, recipients[0]).await?
            || dms_paused_between(&app, me, recipients[0]).await?
        {
            return Err(ApiError::coded(
                StatusCode::FORBIDDEN,
                50007,
                "cannot-message-user",
            ));
        }
    }
    let mut c = ChannelRecord::new(app.services.ids.next()?, kind, None);
    c.recipient_ids = recipients.clone();
    c.recipient_ids.push(me);
    if kind == ChannelKind::GroupDm {
        c.owner_id = Some(me);
    }
    app.store().put_channel(&c).await?;
    let v = dm_json(&app, &c, me).await?;
    app.services
        .sessions
        .send_to_user(me, &Dispatch::new("CHANNEL_CREATE", &v, false));
    if kind == ChannelKind::GroupDm {
        for r in &recipients {
            let theirs = dm_json(&app, &c, *r).await?;
            app.services
                .sessions
                .send_to_user(*r, &Dispatch::new("CHANNEL_CREATE", &theirs, false));
        }
    }
    Ok(Json(v))
}

/// Discord's incident action "DMs paused" (`dms_disabled_until` in the future) stops members
/// who are not friends from opening DMs with each other through the guild. Two users who
/// share guilds are refused when every one of them paused DMs: one shared guild without the
/// pause still lets them talk, as on Discord. Friends are never refused, and neither are users
/// who share no guild (the pause is a guild's, and no guild brought them together).
async fn dms_paused_between(app: &App, me: UserId, other: UserId) -> Result<bool, ApiError> {
    let store = app.store();
    let mine: std::collections::HashSet<_> = store.guilds_of_user(me).await?.into_iter().collect();
    let shared: Vec<_> = store
        .guilds_of_user(other)
        .await?
        .into_iter()
        .filter(|g| mine.contains(g))
        .collect();
    if shared.is_empty() {
        return Ok(false);
    }
    let now = crate::model::Timestamp::now();
    for guild in shared {
        let paused = store
            .guild_setup(guild)
            .await?
            .is_some_and(|s| s.incidents.dms_paused(now));
        if !paused {
            return Ok(false);
        }
    }
    let actor = app.services.user(me).await?;
    let kind = crate::actors::ask(&app.services, &actor, |reply| {
        crate::actors::user::UserMsg::Relationship { other, reply }
    })
    .await?;
    Ok(kind != Some(crate::model::RelationshipKind::Friend))
}
