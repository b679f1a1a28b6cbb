//! Linked roles: `/applications/{id}/role-connections/metadata` (the records a guild's linked
//! role may require; the application's bot or its developers) and
//! `/users/@me/applications/{id}/role-connection` (a user's values for one application; on
//! Discord an OAuth2 token with `role_connections.write`, here the user's own token).
//!
//! Developer and per-user data kept in the store directly: one record list per application, one
//! connection per (user, application).

use std::collections::{BTreeMap, HashSet};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::extract::{Json, Path, UserAccount};
use crate::api::routes::teams::access::{Access, application_or_bot};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::ApplicationId;
use crate::model::{ApplicationRecord, RoleConnectionMetadata, UserRoleConnectionRecord};

/// Discord's lengths: key 1–50, name 1–100, description 1–200; platform name ≤ 50, platform
/// username ≤ 100, each metadata value ≤ 100.
const MAX_KEY: usize = 50;
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 200;
const MAX_PLATFORM_NAME: usize = 50;
const MAX_PLATFORM_USERNAME: usize = 100;
const MAX_VALUE: usize = 100;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/applications/{application_id}/role-connections/metadata",
            get(get_metadata).put(put_metadata),
        )
        .route(
            "/users/@me/applications/{application_id}/role-connection",
            get(get_connection)
                .put(put_connection)
                .delete(delete_connection),
        )
}

/// `GET /applications/{id}/role-connections/metadata`: the records (empty when never set).
async fn get_metadata(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::ReadOnly).await?;
    Ok(Json(json!(
        app.store().role_connection_metadata(a.id).await?
    )))
}

#[derive(Debug, Deserialize)]
struct MetadataBody {
    #[serde(rename = "type")]
    kind: Option<i64>,
    key: Option<String>,
    name: Option<String>,
    name_localizations: Option<BTreeMap<String, String>>,
    description: Option<String>,
    description_localizations: Option<BTreeMap<String, String>>,
}

fn check_length(errs: &mut FieldErrors, path: &str, value: Option<&str>, max: usize) {
    match value {
        None | Some("") => errs.add(path, FieldError::Required),
        Some(v) if v.chars().count() > max => {
            errs.add(path, FieldError::BadLength { min: 1, max });
        }
        Some(_) => {}
    }
}

/// Checks the records (50035 with Discord's paths, `0.key` …) and turns them into records.
fn metadata_from(
    body: Vec<MetadataBody>,
    max: usize,
) -> Result<Vec<RoleConnectionMetadata>, ApiError> {
    if body.len() > max {
        return Err(FieldErrors::single("", FieldError::TooMany { max }));
    }
    let mut errs = FieldErrors::default();
    let mut keys = HashSet::new();
    let mut out = Vec::with_capacity(body.len());
    for (i, m) in body.into_iter().enumerate() {
        let kind = match m.kind {
            None => {
                errs.add(&format!("{i}.type"), FieldError::Required);
                0
            }
            Some(k @ 1..=8) => k as u8,
            Some(_) => {
                errs.add(
                    &format!("{i}.type"),
                    FieldError::Choice {
                        allowed: "1, 2, 3, 4, 5, 6, 7, 8".into(),
                    },
                );
                0
            }
        };
        let key = m.key.unwrap_or_default();
        check_length(&mut errs, &format!("{i}.key"), Some(&key), MAX_KEY);
        if !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            errs.add(&format!("{i}.key"), FieldError::Regex);
        } else if !key.is_empty() && !keys.insert(key.clone()) {
            errs.add(&format!("{i}.key"), FieldError::DuplicateKey);
        }
        check_length(&mut errs, &format!("{i}.name"), m.name.as_deref(), MAX_NAME);
        check_length(
            &mut errs,
            &format!("{i}.description"),
            m.description.as_deref(),
            MAX_DESCRIPTION,
        );
        for (field, map, max) in [
            ("name_localizations", &m.name_localizations, MAX_NAME),
            (
                "description_localizations",
                &m.description_localizations,
                MAX_DESCRIPTION,
            ),
        ] {
            for (locale, text) in map.iter().flatten() {
                let path = format!("{i}.{field}.{locale}");
                check_length(&mut errs, &path, Some(text), max);
            }
        }
        out.push(RoleConnectionMetadata {
            kind,
            key,
            name: m.name.unwrap_or_default(),
            name_localizations: m.name_localizations,
            description: m.description.unwrap_or_default(),
            description_localizations: m.description_localizations,
        });
    }
    errs.into_result()?;
    Ok(out)
}

/// `PUT /applications/{id}/role-connections/metadata [records]`: replaces them all (at most
/// `limits.application.max_role_connection_metadata`); answers the new list.
async fn put_metadata(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Json(body): Json<Vec<MetadataBody>>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::Developer).await?;
    let max = app
        .config()
        .get()
        .limits
        .application
        .max_role_connection_metadata as usize;
    let records = metadata_from(body, max)?;
    app.store()
        .put_role_connection_metadata(a.id, &records)
        .await?;
    tracing::info!(application = %a.id, records = records.len(), "role connection metadata set");
    Ok(Json(json!(records)))
}

/// Any existing application: a user may connect to one they don't own.
async fn application(app: &App, id: ApplicationId) -> Result<ApplicationRecord, ApiError> {
    app.store()
        .get_application(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))
}

/// `GET /users/@me/applications/{id}/role-connection`: the caller's connection (empty when
/// none).
async fn get_connection(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<ApplicationId>,
) -> Result<Json<Value>, ApiError> {
    let a = application(&app, id).await?;
    Ok(Json(
        match app
            .store()
            .get_user_role_connection(caller.user_id, a.id)
            .await?
        {
            Some(c) => c.to_json(),
            None => UserRoleConnectionRecord::empty_json(),
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
struct ConnectionBody {
    platform_name: Option<String>,
    platform_username: Option<String>,
    metadata: Option<BTreeMap<String, Value>>,
}

/// A metadata value as Discord stores it: strings as they are, numbers and booleans as text
/// (booleans as "1"/"0").
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

/// `PUT /users/@me/applications/{id}/role-connection {platform_name, platform_username,
/// metadata}`: replaces the caller's connection; every metadata key must be one of the
/// application's records and its value must fit the record's type.
async fn put_connection(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<ApplicationId>,
    Json(body): Json<ConnectionBody>,
) -> Result<Json<Value>, ApiError> {
    let a = application(&app, id).await?;
    let records = app.store().role_connection_metadata(a.id).await?;
    let mut errs = FieldErrors::default();
    if let Some(n) = &body.platform_name
        && n.chars().count() > MAX_PLATFORM_NAME
    {
        errs.add(
            "platform_name",
            FieldError::MaxLength {
                max: MAX_PLATFORM_NAME,
            },
        );
    }
    if let Some(n) = &body.platform_username
        && n.chars().count() > MAX_PLATFORM_USERNAME
    {
        errs.add(
            "platform_username",
            FieldError::MaxLength {
                max: MAX_PLATFORM_USERNAME,
            },
        );
    }
    let mut metadata = BTreeMap::new();
    for (key, value) in body.metadata.unwrap_or_default() {
        let path = format!("metadata.{key}");
        let Some(record) = records.iter().find(|r| r.key == key) else {
            errs.add(&path, FieldError::UnknownMetadataKey);
            continue;
        };
        match value_text(&value) {
            Some(text) if text.chars().count() > MAX_VALUE => {
                errs.add(&path, FieldError::MaxLength { max: MAX_VALUE });
            }
            Some(text) if record.accepts(&text) => {
                metadata.insert(key, text);
            }
            _ => errs.add(&path, FieldError::BadMetadataValue),
        }
    }
    errs.into_result()?;
    let c = UserRoleConnectionRecord {
        user_id: caller.user_id,
        application_id: a.id,
        platform_name: body.platform_name,
        platform_username: body.platform_username,
        metadata,
    };
    app.store().put_user_role_connection(&c).await?;
    Ok(Json(c.to_json()))
}

/// `DELETE /users/@me/applications/{id}/role-connection`: 204.
async fn delete_connection(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<ApplicationId>,
) -> Result<StatusCode, ApiError> {
    let a = application(&app, id).await?;
    app.store()
        .delete_user_role_connection(caller.user_id, a.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
