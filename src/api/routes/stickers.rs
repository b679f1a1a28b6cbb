//! `/stickers/{id}` and `/sticker-packs`: stickers by id alone, and Discord's standard packs.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::actors::guild::{GuildMsg, StickerMsg};
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, Unknown};
use crate::id::{Snowflake, StickerId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/stickers/{sticker_id}", get(get_sticker))
        .route("/sticker-packs", get(list_packs))
        .route("/sticker-packs/{pack_id}", get(get_pack))
}

/// `GET /stickers/{id}`: any guild's sticker (clients look up the stickers they see in
/// messages), with `type` 2 (guild) and `user` when the caller may manage that guild's
/// expressions. 10060 Unknown Sticker.
async fn get_sticker(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<StickerId>,
) -> Result<Json<Value>, ApiError> {
    let sticker = app
        .store()
        .get_sticker(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Sticker))?;
    Ok(Json(
        app.services
            .ask_guild(sticker.guild_id, |reply| {
                GuildMsg::Stickers(StickerMsg::Lookup {
                    user: caller.user_id,
                    id,
                    reply,
                })
            })
            .await?,
    ))
}

/// `GET /sticker-packs`: Discord answers with its own standard packs (Wumpus & co.), which are
/// Discord's artwork and not ours to ship, so this server has none built in:
/// `{"sticker_packs": []}`, the shape client libraries expect.
async fn list_packs(_caller: Caller) -> Json<Value> {
    Json(json!({"sticker_packs": []}))
}

/// `GET /sticker-packs/{id}`: there are no standard packs here (see [`list_packs`]), so always
/// 10061 Unknown Sticker Pack.
async fn get_pack(_caller: Caller, Path(_id): Path<Snowflake>) -> Result<Json<Value>, ApiError> {
    Err(ApiError::Unknown(Unknown::StickerPack))
}
