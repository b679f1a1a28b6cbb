//! `/applications/{id}/commands` (global) and `/applications/{id}/guilds/{guild}/commands` (one
//! guild): an application's slash, user and message commands. Its bot (with its token) or its
//! owner / team developers manage them; reading needs any access to the application.
//!
//! Commands are rare writes kept in the store, not in an actor: nothing else owns them, and
//! each write is one store call (the stores keep names unique per scope and type). Discord no
//! longer sends APPLICATION_COMMAND_CREATE/UPDATE/DELETE to bots, so no gateway event is
//! emitted. Per-guild command permissions live in `commands/permissions.rs`.

pub mod options;
pub mod permissions;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path, Query, lenient_bool};
use crate::api::routes::teams::access::{Access, application_for};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ApplicationId, CommandId, GuildId, Snowflake, UserId};
use crate::model::command::{context, kind};
use crate::model::{ApplicationRecord, CommandRecord};
use crate::permissions::Permissions;
use crate::validate;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/applications/{application_id}/commands",
            get(list_global).post(create_global).put(overwrite_global),
        )
        .route(
            "/applications/{application_id}/commands/{command_id}",
            get(get_global).patch(update_global).delete(delete_global),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands",
            get(list_guild).post(create_guild).put(overwrite_guild),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
            get(get_guild).patch(update_guild).delete(delete_guild),
        )
        .merge(permissions::routes())
}

/// Discord's per-scope limits: 100 slash commands, 15 user and 15 message commands.
pub fn limit_of(command_kind: u8) -> usize {
    if command_kind == kind::CHAT_INPUT {
        100
    } else {
        15
    }
}

/// A member's guild-level permissions (None: not a member).
pub async fn guild_permissions(
    app: &App,
    guild: GuildId,
    user: UserId,
) -> Result<Option<Permissions>, ApiError> {
    let actor = app.services.guild(guild).await?;
    match crate::actors::mailbox::call(
        &actor,
        |reply| GuildMsg::Permissions { user, reply },
        Some(app.services.call_timeout()),
    )
    .await
    {
        Ok(ractor::rpc::CallResult::Success(p)) => Ok(p),
        _ => Err(ApiError::internal("guild actor unavailable")),
    }
}

/// One application's global commands or its commands in one guild, as the caller may reach it.
struct Scope {
    app: ApplicationRecord,
    guild: Option<GuildId>,
}

/// The scope, if the caller may read (`write == false`) or change it: the application's own bot,
/// or a user with access to the application (developers and up to change). A guild scope needs
/// the bot in that guild (Missing Access otherwise).
async fn scope(
    app: &App,
    caller: Caller,
    id: ApplicationId,
    guild: Option<GuildId>,
    write: bool,
) -> Result<Scope, ApiError> {
    let record = if caller.bot {
        app.store()
            .get_application(id)
            .await?
            .filter(|a| a.bot_user_id == Some(caller.user_id))
            .ok_or(ApiError::Unknown(Unknown::Application))?
    } else {
        let need = if write {
            Access::Developer
        } else {
            Access::ReadOnly
        };
        application_for(app, caller, id, need).await?
    };
    if let Some(g) = guild {
        let bot = record.bot_user_id.ok_or(ApiError::MissingAccess)?;
        if guild_permissions(app, g, bot).await?.is_none() {
            return Err(ApiError::MissingAccess);
        }
    }
    Ok(Scope { app: record, guild })
}

/// The command `id` of the scope (Unknown application command when it is elsewhere).
async fn command_in(app: &App, scope: &Scope, id: CommandId) -> Result<CommandRecord, ApiError> {
    app.store()
        .get_command(scope.app.id, id)
        .await?
        .filter(|c| c.guild_id == scope.guild)
        .ok_or(ApiError::Unknown(Unknown::ApplicationCommand))
}

/// Body of create, bulk overwrite (each element) and edit. Every field Discord documents is
/// accepted; `null` is absent, except where it clears (`default_member_permissions`,
/// `contexts`, the localizations).
#[derive(Debug, Default, Deserialize)]
pub struct CommandBody {
    /// Bulk overwrite only: the command to keep (its id stays).
    id: Option<CommandId>,
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    name_localizations: Option<Option<Value>>,
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    description_localizations: Option<Option<Value>>,
    options: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    default_member_permissions: Option<Option<Permissions>>,
    dm_permission: Option<bool>,
    #[serde(default, deserialize_with = "crate::actors::guild::double_option")]
    contexts: Option<Option<Vec<u8>>>,
    integration_types: Option<Vec<u8>>,
    #[serde(rename = "type")]
    kind: Option<u8>,
    nsfw: Option<bool>,
    /// Entry point commands only; accepted and ignored.
    #[allow(dead_code)]
    handler: Option<Value>,
}

fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// A localizations map from the body (cleared by `null`), validated.
fn localized(
    errs: &mut FieldErrors,
    path: &str,
    given: Option<Option<Value>>,
    base: Option<&std::collections::BTreeMap<String, String>>,
    max: u32,
    names: bool,
) -> Option<std::collections::BTreeMap<String, String>> {
    match given {
        None => base.cloned(),
        Some(None) => None,
        Some(Some(v)) => options::localizations(errs, path, Some(&v), max, names)
            .and_then(|v| serde_json::from_value(v).ok()),
    }
}

/// The command a body describes: a new one (`base` None) or `base` edited. Errors are added
/// under `prefix` (the index in a bulk overwrite).
fn build(
    errs: &mut FieldErrors,
    prefix: &str,
    scope: &Scope,
    body: CommandBody,
    base: Option<&CommandRecord>,
    id: CommandId,
    version: Snowflake,
) -> CommandRecord {
    // The type is fixed once created.
    let command_kind = base.map_or(body.kind.unwrap_or(kind::CHAT_INPUT), |b| b.kind);
    if !(kind::CHAT_INPUT..=kind::MESSAGE).contains(&command_kind) {
        errs.add(
            &at(prefix, "type"),
            FieldError::Choice {
                allowed: "1, 2, 3".into(),
            },
        );
    }
    let chat = command_kind == kind::CHAT_INPUT;
    let name = body
        .name
        .or_else(|| base.map(|b| b.name.clone()))
        .unwrap_or_default();
    if name.is_empty() {
        errs.add(&at(prefix, "name"), FieldError::Required);
    } else if chat && !options::chat_input_name_ok(&name) {
        errs.add(&at(prefix, "name"), FieldError::CommandNameInvalid);
    } else if !chat {
        validate::length(errs, &at(prefix, "name"), &name, 1, 32);
    }
    let description = if chat {
        let d = body
            .description
            .or_else(|| base.map(|b| b.description.clone()));
        match &d {
            None => errs.add(&at(prefix, "description"), FieldError::Required),
            Some(d) => validate::length(errs, &at(prefix, "description"), d, 1, 100),
        }
        d.unwrap_or_default()
    } else {
        // Discord: an empty string for user and message commands.
        String::new()
    };
    let options = match (chat, body.options) {
        (true, Some(given)) => options::definitions(errs, &at(prefix, "options"), &given),
        (true, None) => base.map(|b| b.options.clone()).unwrap_or_default(),
        (false, _) => Vec::new(),
    };
    let name_localizations = localized(
        errs,
        &at(prefix, "name_localizations"),
        body.name_localizations,
        base.and_then(|b| b.name_localizations.as_ref()),
        32,
        chat,
    );
    let description_localizations = if chat {
        localized(
            errs,
            &at(prefix, "description_localizations"),
            body.description_localizations,
            base.and_then(|b| b.description_localizations.as_ref()),
            100,
            false,
        )
    } else {
        None
    };
    let contexts = match body.contexts {
        None => base.and_then(|b| b.contexts.clone()),
        Some(None) => None,
        Some(Some(list)) => {
            if list.is_empty() || list.iter().any(|c| *c > context::PRIVATE_CHANNEL) {
                errs.add(
                    &at(prefix, "contexts"),
                    FieldError::Choice {
                        allowed: "0, 1, 2".into(),
                    },
                );
            }
            let mut list = list;
            list.dedup();
            Some(list)
        }
    };
    let integration_types = match body.integration_types {
        Some(list) => {
            if list.is_empty() || list.iter().any(|t| *t > 1) {
                errs.add(
                    &at(prefix, "integration_types"),
                    FieldError::Choice {
                        allowed: "0, 1".into(),
                    },
                );
            }
            list
        }
        None => base.map_or_else(|| vec![0], |b| b.integration_types.clone()),
    };
    CommandRecord {
        id,
        application_id: scope.app.id,
        guild_id: scope.guild,
        kind: command_kind,
        name,
        name_localizations,
        description,
        description_localizations,
        options,
        default_member_permissions: match body.default_member_permissions {
            None => base.and_then(|b| b.default_member_permissions),
            Some(p) => p,
        },
        dm_permission: body
            .dm_permission
            .or(base.map(|b| b.dm_permission))
            .unwrap_or(true),
        contexts,
        integration_types,
        nsfw: body.nsfw.or(base.map(|b| b.nsfw)).unwrap_or(false),
        version,
    }
}

/// Whether two commands say the same (ids and versions aside): an unchanged command keeps its
/// version in a bulk overwrite.
fn same_content(a: &CommandRecord, b: &CommandRecord) -> bool {
    CommandRecord {
        id: b.id,
        version: b.version,
        ..a.clone()
    } == *b
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "lenient_bool")]
    with_localizations: Option<bool>,
}

/// The command object; without `with_localizations` the dictionaries are left out, as on
/// Discord (the list's default).
fn command_json(c: &CommandRecord, with_localizations: bool) -> Value {
    let mut v = c.to_json();
    if !with_localizations && let Some(obj) = v.as_object_mut() {
        obj.remove("name_localizations");
        obj.remove("description_localizations");
    }
    v
}

async fn list(app: &App, scope: &Scope, q: ListQuery) -> Result<Json<Value>, ApiError> {
    let all = app.store().commands_of(scope.app.id, scope.guild).await?;
    let with = q.with_localizations.unwrap_or(false);
    Ok(Json(Value::Array(
        all.iter().map(|c| command_json(c, with)).collect(),
    )))
}

/// Create (or, for a taken name, overwrite: 200 instead of 201).
async fn create(
    app: &App,
    scope: &Scope,
    body: CommandBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errs = FieldErrors::default();
    let id = app.services.ids.next()?;
    let record = build(
        &mut errs,
        "",
        scope,
        body,
        None,
        id,
        app.services.ids.next()?,
    );
    errs.into_result()?;
    let existing = app.store().commands_of(scope.app.id, scope.guild).await?;
    let same = existing
        .iter()
        .any(|c| c.kind == record.kind && c.name == record.name);
    if !same && existing.iter().filter(|c| c.kind == record.kind).count() >= limit_of(record.kind) {
        return Err(ApiError::coded(
            StatusCode::BAD_REQUEST,
            30032,
            "max-application-commands",
        ));
    }
    let stored = app.store().put_command(&record).await?;
    let status = if same {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(stored.to_json())))
}

async fn update(
    app: &App,
    scope: &Scope,
    id: CommandId,
    body: CommandBody,
) -> Result<Json<Value>, ApiError> {
    let base = command_in(app, scope, id).await?;
    let mut errs = FieldErrors::default();
    let record = build(&mut errs, "", scope, body, Some(&base), id, base.version);
    errs.into_result()?;
    if same_content(&record, &base) {
        return Ok(Json(base.to_json()));
    }
    let taken = app
        .store()
        .commands_of(scope.app.id, scope.guild)
        .await?
        .into_iter()
        .any(|c| c.id != id && c.kind == record.kind && c.name == record.name);
    if taken {
        return Err(FieldErrors::single(
            "name",
            FieldError::CommandNameDuplicate,
        ));
    }
    let record = CommandRecord {
        version: app.services.ids.next()?,
        ..record
    };
    Ok(Json(app.store().put_command(&record).await?.to_json()))
}

async fn delete(app: &App, scope: &Scope, id: CommandId) -> Result<StatusCode, ApiError> {
    command_in(app, scope, id).await?;
    app.store().delete_command(scope.app.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bulk overwrite: the body becomes the scope's whole set. A command keeps its id when the
/// body names it (`id`) or has one of its type and name; unchanged commands keep their version.
async fn overwrite(
    app: &App,
    scope: &Scope,
    bodies: Vec<CommandBody>,
) -> Result<Json<Value>, ApiError> {
    let existing = app.store().commands_of(scope.app.id, scope.guild).await?;
    let mut errs = FieldErrors::default();
    let mut records: Vec<CommandRecord> = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let prefix = i.to_string();
        let by_id = body.id.and_then(|id| existing.iter().find(|c| c.id == id));
        let body_kind = body.kind.unwrap_or(kind::CHAT_INPUT);
        let by_name = body
            .name
            .as_deref()
            .and_then(|n| existing.iter().find(|c| c.kind == body_kind && c.name == n));
        let base = by_id.or(by_name);
        let id = match base {
            Some(b) => b.id,
            None => app.services.ids.next()?,
        };
        // Edits start from nothing: a bulk overwrite describes each command in full.
        let mut record = build(
            &mut errs,
            &prefix,
            scope,
            body,
            None,
            id,
            app.services.ids.next()?,
        );
        if let Some(b) = base.filter(|b| same_content(&record, b)) {
            record.version = b.version;
        }
        if records
            .iter()
            .any(|r| r.kind == record.kind && r.name == record.name)
        {
            errs.add(&at(&prefix, "name"), FieldError::CommandNameDuplicate);
        }
        records.push(record);
    }
    for k in [kind::CHAT_INPUT, kind::USER, kind::MESSAGE] {
        let max = limit_of(k);
        if records.iter().filter(|r| r.kind == k).count() > max {
            errs.add("", FieldError::TooMany { max });
        }
    }
    errs.into_result()?;
    app.store()
        .replace_commands(scope.app.id, scope.guild, &records)
        .await?;
    Ok(Json(Value::Array(
        records.iter().map(CommandRecord::to_json).collect(),
    )))
}

/// `GET /applications/{id}/commands?with_localizations=`
async fn list_global(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, None, false).await?;
    list(&app, &scope, q).await
}

/// `POST /applications/{id}/commands`: create a global command (a taken name is overwritten).
async fn create_global(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Json(body): Json<CommandBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let scope = scope(&app, caller, id, None, true).await?;
    create(&app, &scope, body).await
}

/// `PUT /applications/{id}/commands`: replace every global command.
async fn overwrite_global(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Json(body): Json<Vec<CommandBody>>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, None, true).await?;
    overwrite(&app, &scope, body).await
}

/// `GET /applications/{id}/commands/{command}`
async fn get_global(
    State(app): State<App>,
    caller: Caller,
    Path((id, command)): Path<(ApplicationId, CommandId)>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, None, false).await?;
    Ok(Json(command_in(&app, &scope, command).await?.to_json()))
}

/// `PATCH /applications/{id}/commands/{command}`
async fn update_global(
    State(app): State<App>,
    caller: Caller,
    Path((id, command)): Path<(ApplicationId, CommandId)>,
    Json(body): Json<CommandBody>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, None, true).await?;
    update(&app, &scope, command, body).await
}

/// `DELETE /applications/{id}/commands/{command}`
async fn delete_global(
    State(app): State<App>,
    caller: Caller,
    Path((id, command)): Path<(ApplicationId, CommandId)>,
) -> Result<StatusCode, ApiError> {
    let scope = scope(&app, caller, id, None, true).await?;
    delete(&app, &scope, command).await
}

/// `GET /applications/{id}/guilds/{guild}/commands?with_localizations=`
async fn list_guild(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild)): Path<(ApplicationId, GuildId)>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, Some(guild), false).await?;
    list(&app, &scope, q).await
}

/// `POST /applications/{id}/guilds/{guild}/commands`: create a guild command (the bot must be
/// in the guild).
async fn create_guild(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild)): Path<(ApplicationId, GuildId)>,
    Json(body): Json<CommandBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let scope = scope(&app, caller, id, Some(guild), true).await?;
    create(&app, &scope, body).await
}

/// `PUT /applications/{id}/guilds/{guild}/commands`: replace every command of the guild.
async fn overwrite_guild(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild)): Path<(ApplicationId, GuildId)>,
    Json(body): Json<Vec<CommandBody>>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, Some(guild), true).await?;
    overwrite(&app, &scope, body).await
}

/// `GET /applications/{id}/guilds/{guild}/commands/{command}`
async fn get_guild(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild, command)): Path<(ApplicationId, GuildId, CommandId)>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, Some(guild), false).await?;
    Ok(Json(command_in(&app, &scope, command).await?.to_json()))
}

/// `PATCH /applications/{id}/guilds/{guild}/commands/{command}`
async fn update_guild(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild, command)): Path<(ApplicationId, GuildId, CommandId)>,
    Json(body): Json<CommandBody>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope(&app, caller, id, Some(guild), true).await?;
    update(&app, &scope, command, body).await
}

/// `DELETE /applications/{id}/guilds/{guild}/commands/{command}`
async fn delete_guild(
    State(app): State<App>,
    caller: Caller,
    Path((id, guild, command)): Path<(ApplicationId, GuildId, CommandId)>,
) -> Result<StatusCode, ApiError> {
    let scope = scope(&app, caller, id, Some(guild), true).await?;
    delete(&app, &scope, command).await
}
