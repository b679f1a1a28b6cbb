//! `/channels/{id}/invites`: create and list a channel's invites.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path};
use crate::api::routes::channels::{guild_of, visible_channel};
use crate::api::routes::invites::invite_json;
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::ChannelId;
use crate::model::{InviteRecord, Timestamp};
use crate::permissions::{Permissions, require};
use crate::store::StoreError;

pub fn routes() -> Router<App> {
    Router::new().route("/channels/{channel_id}/invites", get(list).post(create))
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteCreate {
    pub max_age: Option<u32>,
    pub max_uses: Option<u32>,
    pub temporary: Option<bool>,
    pub unique: Option<bool>,
    pub target_type: Option<u8>,
    pub target_user_id: Option<Value>,
    pub target_application_id: Option<Value>,
}

async fn channel_permissions(
    app: &App,
    caller: Caller,
    id: ChannelId,
) -> Result<(crate::id::GuildId, Permissions), ApiError> {
    let channel = visible_channel(app, caller.user_id, id).await?;
    let guild = guild_of(&channel).ok_or(ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        50003,
        "cannot-execute-on-dm",
    ))?;
    let actor = app.services.guild(guild).await?;
    let access = crate::actors::mailbox::call(
        &actor,
        |reply| GuildMsg::Access {
            channel: id,
            user: caller.user_id,
            reply,
        },
        None,
    )
    .await
    .map_err(ApiError::internal)?;
    match access {
        ractor::rpc::CallResult::Success(a) => Ok((guild, a.permissions)),
        _ => Err(ApiError::internal("guild actor unavailable")),
    }
}

/// `POST /channels/{id}/invites` (CREATE_INSTANT_INVITE). Defaults as Discord: 24 h, unlimited.
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Json(body): Json<InviteCreate>,
) -> Result<Json<Value>, ApiError> {
    let (guild, perms) = channel_permissions(&app, caller, id).await?;
    require(perms, Permissions::CREATE_INSTANT_INVITE)?;
    let mut errs = FieldErrors::default();
    let max_age = body.max_age.unwrap_or(86_400);
    if max_age > 604_800 {
        errs.add("max_age", FieldError::NumberMax { max: 604_800 });
    }
    let max_uses = body.max_uses.unwrap_or(0);
    if max_uses > 100 {
        errs.add("max_uses", FieldError::NumberMax { max: 100 });
    }
    errs.into_result()?;
    if body.unique != Some(true)
        && let Some(existing) = app
            .store()
            .guild_invites(guild)
            .await?
            .into_iter()
            .find(|i| {
                i.channel_id == id
                    && i.inviter_id == Some(caller.user_id)
                    && i.max_age == max_age
                    && i.max_uses == max_uses
                    && i.is_usable(Timestamp::now())
            })
    {
        return Ok(Json(invite_json(&app, &existing).await?));
    }
    for _ in 0..5 {
        let code: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(8)
            .map(char::from)
            .collect();
        let invite = InviteRecord {
            code,
            guild_id: Some(guild),
            channel_id: id,
            inviter_id: Some(caller.user_id),
            created_at: Timestamp::now(),
            max_age,
            max_uses,
            uses: 0,
            temporary: body.temporary.unwrap_or(false),
        };
        match app.store().create_invite(&invite).await {
            Ok(()) => {
                let v = invite_json(&app, &invite).await?;
                let actor = app.services.guild(guild).await?;
                let _ = crate::actors::tell(
                    &actor,
                    GuildMsg::Fanout {
                        event: crate::events::Dispatch::new("INVITE_CREATE", &v, true),
                        channel: Some(id),
                    },
                );
                return Ok(Json(v));
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal("could not find a free invite code"))
}

/// `GET /channels/{id}/invites` (MANAGE_CHANNELS).
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ChannelId>,
) -> Result<Json<Value>, ApiError> {
    let (guild, perms) = channel_permissions(&app, caller, id).await?;
    require(perms, Permissions::MANAGE_CHANNELS)?;
    let mut out = Vec::new();
    for invite in app
        .store()
        .guild_invites(guild)
        .await?
        .into_iter()
        .filter(|i| i.channel_id == id)
    {
        out.push(invite_json(&app, &invite).await?);
    }
    Ok(Json(Value::Array(out)))
}
