//! `/invites/{code}`: look up, accept, delete invites; `/guilds/{id}/invites`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::guild::GuildMsg;
use crate::api::extract::UserAccount;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, Unknown};
use crate::id::GuildId;
use crate::model::{InviteRecord, Timestamp};
use crate::permissions::Permissions;

mod target_users;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(target_users::routes())
        .route(
            "/invites/{code}",
            get(get_invite).post(accept).delete(delete),
        )
        .route("/guilds/{guild_id}/invites", get(guild_invites))
}

/// Discord's invite object.
pub async fn invite_json(app: &App, invite: &InviteRecord) -> Result<Value, ApiError> {
    let channel = app.store().get_channel(invite.channel_id).await?;
    let guild = match invite.guild_id {
        Some(g) => {
            let actor = app.services.guild(g).await?;
            let preview = crate::actors::mailbox::call(&actor, GuildMsg::Preview, None)
                .await
                .map_err(ApiError::internal)?;
            match preview {
                ractor::rpc::CallResult::Success(v) => Some(v),
                _ => return Err(ApiError::internal("guild preview failed")),
            }
        }
        None => None,
    };
    let inviter = match invite.inviter_id {
        Some(u) => Some(app.services.users.public(u).await?),
        None => None,
    };
    let mut v = json!({
        "type": 0,
        "code": invite.code,
        "channel": channel.map(|c| json!({"id": c.id, "name": c.name, "type": c.kind})),
        "expires_at": invite.expires_at(),
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "max_age": invite.max_age,
        "temporary": invite.temporary,
        "created_at": invite.created_at,
    });
    // Absent, not null, when nobody made it (a vanity invite): Discord's schema has no null.
    if let Some(inviter) = inviter {
        v["inviter"] = json!(inviter);
    }
    if let Some(g) = guild {
        v["approximate_member_count"] = g["approximate_member_count"].clone();
        v["approximate_presence_count"] = g["approximate_presence_count"].clone();
        v["guild_id"] = g["id"].clone();
        v["guild"] = g;
    }
    Ok(v)
}

async fn usable(app: &App, code: &str) -> Result<InviteRecord, ApiError> {
    let invite = app
        .store()
        .get_invite(code)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Invite))?;
    if !invite.is_usable(Timestamp::now()) {
        return Err(ApiError::Unknown(Unknown::Invite));
    }
    Ok(invite)
}

/// `GET /invites/{code}` (no auth needed, like Discord's invite previews).
async fn get_invite(
    State(app): State<App>,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let invite = usable(&app, &code).await?;
    Ok(Json(invite_json(&app, &invite).await?))
}

/// `POST /invites/{code}`: join the guild. 10006 Unknown Invite for a user the invite's target
/// users list (if it has one) does not name.
async fn accept(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let invite = usable(&app, &code).await?;
    // An invite restricted to target users is, to everyone else, no invite at all (Discord
    // hides it from them the same way).
    if let Some(targets) = app.store().invite_target_users(&code).await?
        && !targets.admits(caller.user_id)
    {
        return Err(ApiError::Unknown(Unknown::Invite));
    }
    let guild = invite.guild_id.ok_or(ApiError::Unknown(Unknown::Invite))?;
    let actor = app.services.guild(guild).await?;
    let already = crate::actors::mailbox::call(
        &actor,
        |reply| GuildMsg::Permissions {
            user: caller.user_id,
            reply,
        },
        None,
    )
    .await
    .ok()
    .and_then(|r| match r {
        ractor::rpc::CallResult::Success(p) => p,
        _ => None,
    })
    .is_some();
    let invite = if already {
        invite
    } else {
        app.store()
            .use_invite(&code)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Invite))?
    };
    ask(&app.services, &actor, |reply| GuildMsg::Join {
        user: caller.user_id,
        reply,
    })
    .await?;
    let mut v = invite_json(&app, &invite).await?;
    v["new_member"] = json!(!already);
    Ok(Json(v))
}

async fn guild_permissions(
    app: &App,
    guild: GuildId,
    user: crate::id::UserId,
) -> Result<Permissions, ApiError> {
    let actor = app.services.guild(guild).await?;
    match crate::actors::mailbox::call(&actor, |reply| GuildMsg::Permissions { user, reply }, None)
        .await
    {
        Ok(ractor::rpc::CallResult::Success(Some(p))) => Ok(p),
        Ok(ractor::rpc::CallResult::Success(None)) => Err(ApiError::Unknown(Unknown::Guild)),
        _ => Err(ApiError::internal("guild actor unavailable")),
    }
}

/// `DELETE /invites/{code}` (MANAGE_CHANNELS or MANAGE_GUILD, or the inviter): the invite;
/// INVITE_DELETE.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let invite = app
        .store()
        .get_invite(&code)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Invite))?;
    if invite.inviter_id != Some(caller.user_id) {
        let guild = invite.guild_id.ok_or(ApiError::MissingPermissions)?;
        let perms = guild_permissions(&app, guild, caller.user_id).await?;
        if !perms.intersects(Permissions::MANAGE_CHANNELS | Permissions::MANAGE_GUILD) {
            return Err(ApiError::MissingPermissions);
        }
    }
    let v = invite_json(&app, &invite).await?;
    app.store().delete_invite(&code).await?;
    if let Some(guild) = invite.guild_id {
        // To the sessions that may see the invite's channel (GUILD_INVITES intent).
        let data = json!({"channel_id": invite.channel_id, "guild_id": guild, "code": invite.code});
        let actor = app.services.guild(guild).await?;
        let _ = crate::actors::tell(
            &actor,
            GuildMsg::Fanout {
                event: crate::events::Dispatch::new("INVITE_DELETE", &data, true),
                channel: Some(invite.channel_id),
            },
        );
    }
    Ok(Json(v))
}

/// `GET /guilds/{id}/invites` (MANAGE_GUILD).
async fn guild_invites(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let perms = guild_permissions(&app, id, caller.user_id).await?;
    crate::permissions::require(perms, Permissions::MANAGE_GUILD)?;
    let mut out = Vec::new();
    for invite in app.store().guild_invites(id).await? {
        out.push(invite_json(&app, &invite).await?);
    }
    Ok(Json(Value::Array(out)))
}
