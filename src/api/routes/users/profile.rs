//! `/users/{id}/profile`: a user's profile (bio, pronouns, accent colour), the accounts they
//! show, and the guilds the caller shares with them.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::user::UserMsg;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, Unknown};
use crate::id::{GuildId, UserId};
use crate::model::RelationshipKind;

pub fn routes() -> Router<App> {
    Router::new().route("/users/{user_id}/profile", get(profile))
}

#[derive(Debug, Default, Deserialize)]
struct ProfileQuery {
    with_mutual_guilds: Option<bool>,
    #[allow(dead_code)]
    with_mutual_friends: Option<bool>,
    #[allow(dead_code)]
    with_mutual_friends_count: Option<bool>,
    #[allow(dead_code)]
    guild_id: Option<GuildId>,
}

/// `GET /users/{id}/profile` (`@me` for oneself). Like Discord, only for oneself, users one has a
/// relationship, a guild or a DM with: others get Missing Access.
async fn profile(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ProfileQuery>,
) -> Result<Json<Value>, ApiError> {
    let me = caller.user_id;
    let target: UserId = if id == "@me" {
        me
    } else {
        id.parse().map_err(|_| ApiError::NotFound)?
    };
    let user = app
        .services
        .users
        .get(target)
        .await?
        .ok_or(ApiError::Unknown(Unknown::User))?;
    let mut mutual = Vec::new();
    if target != me {
        let store = app.store();
        let (mine, theirs) =
            tokio::try_join!(store.guilds_of_user(me), store.guilds_of_user(target))?;
        mutual = mine.into_iter().filter(|g| theirs.contains(g)).collect();
        mutual.sort();
        if mutual.is_empty() && !related(&app, me, target).await? {
            return Err(ApiError::MissingAccess);
        }
    }
    let mut mutual_guilds = Vec::with_capacity(mutual.len());
    if q.with_mutual_guilds != Some(false) {
        for g in mutual {
            let nick = app
                .store()
                .get_member(g, target)
                .await?
                .and_then(|m| m.nick);
            mutual_guilds.push(json!({"id": g, "nick": nick}));
        }
    }
    // Accounts the target chose to show (visibility 1), as Discord's partial connections.
    let target_actor = app.services.user(target).await?;
    let connected_accounts = ask(&app.services, &target_actor, UserMsg::PublicConnections).await?;
    let mut public = json!(user.public());
    public["bio"] = json!(user.bio);
    Ok(Json(json!({
        "user": public,
        "user_profile": {
            "bio": user.bio,
            "pronouns": user.pronouns,
            "accent_color": user.accent_color,
            "banner": user.banner,
            "theme_colors": null,
        },
        "mutual_guilds": mutual_guilds,
        "connected_accounts": connected_accounts,
        "premium_type": null,
        "premium_since": null,
        "premium_guild_since": null,
        "badges": [],
    })))
}

/// A relationship (either way, other than a block by the target) or a shared DM.
async fn related(app: &App, me: UserId, target: UserId) -> Result<bool, ApiError> {
    let actor = app.services.user(me).await?;
    let mine = ask(&app.services, &actor, |reply| UserMsg::Relationship {
        other: target,
        reply,
    })
    .await?;
    if mine.is_some_and(|k| k != RelationshipKind::Blocked) {
        return Ok(true);
    }
    let dms = app.store().private_channels_of_user(me).await?;
    Ok(dms.iter().any(|c| c.recipient_ids.contains(&target)))
}
