//! `/applications/{id}/guilds/{guild}/commands/permissions` and
//! `…/commands/{command}/permissions`: who may use an application's commands in one guild.
//! Reading: the application's bot or its developers (as for the guild's commands). Writing: on
//! Discord only a Bearer token with `applications.commands.permissions.update` of a user with
//! MANAGE_GUILD and MANAGE_ROLES; here that user's own token, and bots get 403 (20001) as there.
//! The guild actor checks the permissions and the targets, writes and announces the change
//! (APPLICATION_COMMAND_PERMISSIONS_UPDATE).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Scope, scope};
use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path, UserAccount};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ApplicationId, CommandId, GuildId, Snowflake};
use crate::model::command_permissions::CommandPermission;
use crate::model::{ApplicationRecord, CommandPermissionsRecord};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
            get(list),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}/permissions",
            get(get_one).put(put),
        )
}

/// `GET …/guilds/{guild}/commands/permissions`: every record of the application in the guild.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild)): Path<(ApplicationId, GuildId)>,
) -> Result<Json<Value>, ApiError> {
    let s = scope(&app, caller, id, Some(guild), false).await?;
    let records = app.store().command_permissions_of(guild, s.app.id).await?;
    Ok(Json(json!(
        records
            .iter()
            .map(CommandPermissionsRecord::to_json)
            .collect::<Vec<_>>()
    )))
}

/// The target of a permissions path: the application's own id (application-wide), or one of its
/// commands usable in `guild` (global or this guild's); Unknown application command otherwise.
async fn target_of(
    app: &App,
    a: &ApplicationRecord,
    guild: GuildId,
    command: CommandId,
) -> Result<Snowflake, ApiError> {
    if command.get() == a.id.get() {
        return Ok(a.id.snowflake());
    }
    app.store()
        .get_command(a.id, command)
        .await?
        .filter(|c| c.guild_id.is_none_or(|g| g == guild))
        .map(|c| c.id.snowflake())
        .ok_or(ApiError::Unknown(Unknown::ApplicationCommand))
}

/// `GET …/commands/{command}/permissions` (10066 Unknown application command permissions when
/// none were set).
async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild, command)): Path<(ApplicationId, GuildId, CommandId)>,
) -> Result<Json<Value>, ApiError> {
    let Scope { app: a, .. } = scope(&app, caller, id, Some(guild), false).await?;
    let target = target_of(&app, &a, guild, command).await?;
    app.store()
        .command_permissions_of(guild, a.id)
        .await?
        .into_iter()
        .find(|r| r.id == target)
        .map(|r| Json(r.to_json()))
        .ok_or(ApiError::Unknown(Unknown::CommandPermissions))
}

#[derive(Debug, Deserialize)]
struct PermissionBody {
    id: Option<Snowflake>,
    #[serde(rename = "type")]
    kind: Option<i64>,
    permission: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct PutBody {
    permissions: Option<Vec<PermissionBody>>,
}

/// Checks the list (50035: at most `limits.application.max_command_permissions`, each with an
/// id, a type 1–3 and a permission, one entry per target).
fn permissions_from(
    body: Vec<PermissionBody>,
    max: usize,
) -> Result<Vec<CommandPermission>, ApiError> {
    if body.len() > max {
        return Err(FieldErrors::single(
            "permissions",
            FieldError::TooMany { max },
        ));
    }
    let mut errs = FieldErrors::default();
    let mut out: Vec<CommandPermission> = Vec::with_capacity(body.len());
    for (i, p) in body.into_iter().enumerate() {
        let path = |f: &str| format!("permissions.{i}.{f}");
        let kind = match p.kind {
            Some(k @ 1..=3) => k as u8,
            Some(_) => {
                errs.add(
                    &path("type"),
                    FieldError::Choice {
                        allowed: "1, 2, 3".into(),
                    },
                );
                continue;
            }
            None => {
                errs.add(&path("type"), FieldError::Required);
                continue;
            }
        };
        let (Some(id), Some(permission)) = (p.id, p.permission) else {
            if p.id.is_none() {
                errs.add(&path("id"), FieldError::Required);
            }
            if p.permission.is_none() {
                errs.add(&path("permission"), FieldError::Required);
            }
            continue;
        };
        if out.iter().any(|o| o.id == id && o.kind == kind) {
            errs.add(&path("id"), FieldError::DuplicateKey);
            continue;
        }
        out.push(CommandPermission {
            id,
            kind,
            permission,
        });
    }
    errs.into_result()?;
    Ok(out)
}

/// `PUT …/commands/{command}/permissions {permissions: [...]}`: replaces the command's (or, at
/// the application's id, the application-wide) permissions in the guild; an empty list clears
/// them. 200 with the record.
async fn put(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path((id, guild, command)): Path<(ApplicationId, GuildId, CommandId)>,
    Json(body): Json<PutBody>,
) -> Result<Json<Value>, ApiError> {
    let a = app
        .store()
        .get_application(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let target = target_of(&app, &a, guild, command).await?;
    let max = app
        .config()
        .get()
        .limits
        .application
        .max_command_permissions as usize;
    let permissions = permissions_from(
        body.permissions
            .ok_or_else(|| FieldErrors::single("permissions", FieldError::Required))?,
        max,
    )?;
    let record = CommandPermissionsRecord {
        id: target,
        application_id: a.id,
        guild_id: guild,
        permissions,
    };
    Ok(Json(
        app.services
            .ask_guild(guild, |reply| GuildMsg::PutCommandPermissions {
                user: caller.user_id,
                record,
                reply,
            })
            .await?,
    ))
}
