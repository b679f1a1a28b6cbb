//! Guild templates: `/guilds/templates/{code}` (read one, create a guild from it) and
//! `/guilds/{id}/templates[/{code}]` (the source guild's list, create, sync, modify, delete,
//! MANAGE_GUILD, handled by its guild actor). Discord has no gateway events or audit log entries
//! for templates; a guild created from one gets the GUILD_CREATE of any new guild.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::Value;

use crate::actors::ask;
use crate::actors::guild::{
    GuildBlueprint, GuildMsg, TemplateCreate, TemplatePatch, template_json,
};
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, Unknown};
use crate::id::GuildId;
use crate::model::TemplateRecord;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/guilds/templates/{code}",
            get(get_template).post(create_from_template),
        )
        .route("/guilds/{guild_id}/templates", get(list).post(create))
        .route(
            "/guilds/{guild_id}/templates/{code}",
            put(sync).patch(update).delete(delete),
        )
}

async fn by_code(app: &App, code: &str) -> Result<TemplateRecord, ApiError> {
    app.store()
        .get_template(code)
        .await?
        .ok_or(ApiError::Unknown(Unknown::GuildTemplate))
}

/// `GET /guilds/templates/{code}`: the template with its snapshot; no membership needed, nor a
/// token (Discord previews templates to logged-out visitors, like invites). `is_dirty` compares
/// the snapshot with the source guild as it is now (null if that guild can't be reached).
async fn get_template(
    State(app): State<App>,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let template = by_code(&app, &code).await?;
    let now = match app.services.guild(template.source_guild_id).await {
        Ok(actor) => ask(&app.services, &actor, GuildMsg::TemplateSnapshot)
            .await
            .ok(),
        Err(_) => None,
    };
    let is_dirty = now.map(|s| s != template.serialized_source_guild);
    Ok(Json(
        template_json(&app.services, &template, is_dirty).await?,
    ))
}

/// Body of `POST /guilds/templates/{code}`.
#[derive(Debug, Deserialize)]
struct GuildFromTemplate {
    name: Option<String>,
    /// A data URI.
    icon: Option<String>,
}

/// `POST /guilds/templates/{code}`: a new guild owned by the caller with the template's settings,
/// roles, channels and overwrites (new ids); counts a use. Limits and events as `POST /guilds`.
async fn create_from_template(
    State(app): State<App>,
    caller: Caller,
    Path(code): Path<String>,
    Json(body): Json<GuildFromTemplate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let template = by_code(&app, &code).await?;
    let blueprint = GuildBlueprint::from_template(
        &template.serialized_source_guild,
        body.name.unwrap_or_default(),
    );
    let guild = super::create_guild(&app, caller.user_id, blueprint, body.icon).await?;
    // Counted after the guild exists; a template deleted meanwhile has nothing left to count.
    app.store().use_template(&code).await?;
    Ok((StatusCode::CREATED, Json(guild)))
}

/// `GET /guilds/{id}/templates` (MANAGE_GUILD).
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::ListTemplates { user, reply })
            .await?,
    ))
}

/// `POST /guilds/{id}/templates` (MANAGE_GUILD) `{name, description?}`: snapshots the guild.
/// One template per guild (30031 for a second).
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<GuildId>,
    Json(body): Json<TemplateCreate>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::CreateTemplate { user, body, reply })
            .await?,
    ))
}

/// `PUT /guilds/{id}/templates/{code}` (MANAGE_GUILD): re-snapshots the guild (`is_dirty` false).
async fn sync(
    State(app): State<App>,
    caller: Caller,
    Path((id, code)): Path<(GuildId, String)>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::SyncTemplate { user, code, reply })
            .await?,
    ))
}

/// `PATCH /guilds/{id}/templates/{code}` (MANAGE_GUILD): `name` (1–100), `description` (≤ 120,
/// null clears).
async fn update(
    State(app): State<App>,
    caller: Caller,
    Path((id, code)): Path<(GuildId, String)>,
    Json(patch): Json<TemplatePatch>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::UpdateTemplate {
                user,
                code,
                patch,
                reply,
            })
            .await?,
    ))
}

/// `DELETE /guilds/{id}/templates/{code}` (MANAGE_GUILD): returns the deleted template.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, code)): Path<(GuildId, String)>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.user_id;
    Ok(Json(
        app.services
            .ask_guild(id, |reply| GuildMsg::DeleteTemplate { user, code, reply })
            .await?,
    ))
}
