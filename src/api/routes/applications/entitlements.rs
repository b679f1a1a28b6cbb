//! `/applications/{id}/entitlements`: test entitlements, which Discord lets developers grant to a
//! user or a guild to try their premium features without paying, and
//! `/users/@me/applications/{id}/entitlements` (a user's own). There is no store here, so every
//! entitlement is a test one (type 8, a subscription's; no start or end) and any SKU id is accepted.
//!
//! ENTITLEMENT_CREATE / UPDATE (consumed) / DELETE go to the application's bot, as Discord sends
//! them, on every node (user-scoped delivery). Entitlements are developer data in the store, one
//! partition per application.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::extract::{Json, Path, Query, UserAccount, lenient_bool};
use crate::api::routes::teams::access::{Access, application_or_bot};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{ApplicationId, EntitlementId, GuildId, SkuId, Snowflake, UserId};
use crate::model::entitlement::TYPE_APPLICATION_SUBSCRIPTION;
use crate::model::{ApplicationRecord, EntitlementRecord, Timestamp};

/// Discord's owner types of a test entitlement.
const OWNER_GUILD: u8 = 1;
const OWNER_USER: u8 = 2;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/applications/{application_id}/entitlements",
            get(list).post(create),
        )
        .route(
            "/applications/{application_id}/entitlements/{entitlement_id}",
            get(get_one).delete(delete),
        )
        .route(
            "/applications/{application_id}/entitlements/{entitlement_id}/consume",
            post(consume),
        )
        .route(
            "/users/@me/applications/{application_id}/entitlements",
            get(list_mine),
        )
}

/// Sends an entitlement event to the application's bot, if it has one.
fn emit(app: &App, a: &ApplicationRecord, name: &'static str, e: &EntitlementRecord) {
    if let Some(bot) = a.bot_user_id {
        app.services
            .sessions
            .send_to_user(bot, &Dispatch::new(name, &e.to_json(), false));
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    user_id: Option<UserId>,
    /// Comma-separated SKU ids (Discord's form).
    sku_ids: Option<String>,
    guild_id: Option<GuildId>,
    before: Option<EntitlementId>,
    after: Option<EntitlementId>,
    limit: Option<i64>,
    #[serde(default, deserialize_with = "lenient_bool")]
    exclude_ended: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    exclude_deleted: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    only_active: Option<bool>,
}

impl ListQuery {
    /// Applies the filters and the page (`after`: oldest first from there; otherwise newest
    /// first, below `before` when given), as Discord pages entitlements.
    fn apply(
        self,
        all: Vec<EntitlementRecord>,
        max: usize,
    ) -> Result<Vec<EntitlementRecord>, ApiError> {
        let limit = match self.limit {
            None => max,
            Some(l) if l >= 1 && l as usize <= max => l as usize,
            Some(_) => {
                return Err(FieldErrors::single(
                    "limit",
                    FieldError::NumberMax { max: max as i64 },
                ));
            }
        };
        let skus = match &self.sku_ids {
            None => None,
            Some(list) => {
                let mut out = Vec::new();
                for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let id: SkuId = part.parse().map_err(|_| {
                        FieldErrors::single("sku_ids", FieldError::InvalidSnowflake)
                    })?;
                    out.push(id);
                }
                Some(out)
            }
        };
        let now = Timestamp::now();
        let active_only = self.only_active.unwrap_or(false);
        let keep = |e: &EntitlementRecord| {
            self.user_id.is_none_or(|u| e.user_id == Some(u))
                && self.guild_id.is_none_or(|g| e.guild_id == Some(g))
                && skus.as_ref().is_none_or(|s| s.contains(&e.sku_id))
                && self.before.is_none_or(|b| e.id < b)
                && self.after.is_none_or(|a| e.id > a)
                && !((self.exclude_ended.unwrap_or(false) || active_only) && e.ended(now))
                && !((self.exclude_deleted.unwrap_or(true) || active_only) && e.deleted)
        };
        let mut out: Vec<EntitlementRecord> = all.into_iter().filter(keep).collect();
        if self.after.is_none() {
            out.reverse();
        }
        out.truncate(limit);
        Ok(out)
    }
}

/// `GET /applications/{id}/entitlements` (the bot or the application's team): filters
/// `user_id`, `sku_ids`, `guild_id`, `before`/`after`, `limit` (1–100), `exclude_ended`,
/// `exclude_deleted` (default true, as Discord), `only_active`.
async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::ReadOnly).await?;
    let max = app.config().get().limits.application.max_entitlements_page as usize;
    let page = q.apply(app.store().entitlements_of(a.id).await?, max)?;
    Ok(Json(json!(
        page.iter()
            .map(EntitlementRecord::to_json)
            .collect::<Vec<_>>()
    )))
}

/// `GET /users/@me/applications/{id}/entitlements`: the caller's own entitlements to an
/// application (any application; the same filters, `user_id` forced to the caller).
async fn list_mine(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    Path(id): Path<ApplicationId>,
    Query(mut q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let a = app
        .store()
        .get_application(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    q.user_id = Some(caller.user_id);
    let max = app.config().get().limits.application.max_entitlements_page as usize;
    let page = q.apply(app.store().entitlements_of(a.id).await?, max)?;
    Ok(Json(json!(
        page.iter()
            .map(EntitlementRecord::to_json)
            .collect::<Vec<_>>()
    )))
}

async fn entitlement_of(
    app: &App,
    a: &ApplicationRecord,
    id: EntitlementId,
) -> Result<EntitlementRecord, ApiError> {
    app.store()
        .entitlements_of(a.id)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or(ApiError::Unknown(Unknown::Entitlement))
}

/// `GET /applications/{id}/entitlements/{eid}` (10029 Unknown Entitlement).
async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path((id, eid)): Path<(ApplicationId, EntitlementId)>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::ReadOnly).await?;
    Ok(Json(entitlement_of(&app, &a, eid).await?.to_json()))
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    sku_id: Option<SkuId>,
    owner_id: Option<Snowflake>,
    owner_type: Option<i64>,
}

/// `POST /applications/{id}/entitlements {sku_id, owner_id, owner_type}`: a test entitlement for
/// a guild (`owner_type` 1, 10004 when it doesn't exist) or a user (2, 10013). 200 with it, and
/// ENTITLEMENT_CREATE to the bot.
async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<ApplicationId>,
    Json(body): Json<CreateBody>,
) -> Result<Json<Value>, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::Developer).await?;
    let mut errs = FieldErrors::default();
    if body.sku_id.is_none() {
        errs.add("sku_id", FieldError::Required);
    }
    if body.owner_id.is_none() {
        errs.add("owner_id", FieldError::Required);
    }
    let owner_type = match body.owner_type {
        None => {
            errs.add("owner_type", FieldError::Required);
            0
        }
        Some(t) if t == i64::from(OWNER_GUILD) || t == i64::from(OWNER_USER) => t as u8,
        Some(_) => {
            errs.add(
                "owner_type",
                FieldError::Choice {
                    allowed: "1, 2".into(),
                },
            );
            0
        }
    };
    errs.into_result()?;
    let (Some(sku_id), Some(owner)) = (body.sku_id, body.owner_id) else {
        return Err(ApiError::internal("checked above"));
    };
    let (user_id, guild_id) = if owner_type == OWNER_GUILD {
        let guild = GuildId(owner);
        // Unknown Guild when it doesn't exist (the guild's actor loads it, wherever it lives).
        app.services.guild(guild).await?;
        (None, Some(guild))
    } else {
        let user = UserId(owner);
        if app.services.users.get(user).await?.is_none() {
            return Err(ApiError::Unknown(Unknown::User));
        }
        (Some(user), None)
    };
    let e = EntitlementRecord {
        id: app.services.ids.next()?,
        application_id: a.id,
        sku_id,
        user_id,
        guild_id,
        kind: TYPE_APPLICATION_SUBSCRIPTION,
        deleted: false,
        consumed: false,
        starts_at: None,
        ends_at: None,
    };
    app.store().put_entitlement(&e).await?;
    tracing::info!(application = %a.id, entitlement = %e.id, "test entitlement created");
    emit(&app, &a, "ENTITLEMENT_CREATE", &e);
    Ok(Json(e.to_json()))
}

/// `DELETE /applications/{id}/entitlements/{eid}`: a test entitlement is marked deleted (it
/// stays listed with `exclude_deleted=false`, as on Discord); ENTITLEMENT_DELETE to the bot. 204.
async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((id, eid)): Path<(ApplicationId, EntitlementId)>,
) -> Result<StatusCode, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::Developer).await?;
    let mut e = entitlement_of(&app, &a, eid).await?;
    if e.deleted {
        return Err(ApiError::Unknown(Unknown::Entitlement));
    }
    e.deleted = true;
    app.store().put_entitlement(&e).await?;
    emit(&app, &a, "ENTITLEMENT_DELETE", &e);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /applications/{id}/entitlements/{eid}/consume`: marks it consumed (Discord's one-time
/// purchases); ENTITLEMENT_UPDATE to the bot the first time. 204.
async fn consume(
    State(app): State<App>,
    caller: Caller,
    Path((id, eid)): Path<(ApplicationId, EntitlementId)>,
) -> Result<StatusCode, ApiError> {
    let a = application_or_bot(&app, caller, id, Access::Developer).await?;
    let mut e = entitlement_of(&app, &a, eid).await?;
    if e.deleted {
        return Err(ApiError::Unknown(Unknown::Entitlement));
    }
    if !e.consumed {
        e.consumed = true;
        app.store().put_entitlement(&e).await?;
        emit(&app, &a, "ENTITLEMENT_UPDATE", &e);
    }
    Ok(StatusCode::NO_CONTENT)
}
