//! `/auth/*`: registration, login, logout.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::extract::Json;
use crate::app::App;
use crate::auth::{Caller, hash_password, verify_password};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::model::UserRecord;
use crate::store::StoreError;
use crate::validate;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/location-metadata", get(location_metadata))
}

/// Discord's register body (the client sends all of these; unknown ones are ignored).
#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    pub username: Option<String>,
    pub global_name: Option<String>,
    pub password: Option<String>,
    pub email: Option<String>,
    pub date_of_birth: Option<String>,
    pub consent: Option<bool>,
    pub invite: Option<String>,
    pub fingerprint: Option<String>,
    pub captcha_key: Option<String>,
    pub gift_code_sku_id: Option<String>,
    pub promotional_email_opt_in: Option<bool>,
}

/// `POST /auth/register` → `{"token": "..."}`.
async fn register(
    State(app): State<App>,
    Json(body): Json<RegisterBody>,
) -> Result<Json<Value>, ApiError> {
    let config = app.config().get();
    let reg = &config.register;
    if !reg.allow_new_registration {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            40001,
            "registration-disabled",
        ));
    }
    if reg.require_invite && body.invite.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            40001,
            "invite-required",
        ));
    }
    let mut errs = FieldErrors::default();
    let username = body.username.as_deref().unwrap_or("").trim().to_string();
    if username.is_empty() {
        errs.add("username", FieldError::Required);
    } else {
        validate::username(
            &mut errs,
            "username",
            &username,
            config.limits.user.min_username,
            config.limits.user.max_username,
        );
    }
    let password = body.password.clone().unwrap_or_default();
    if password.is_empty() {
        errs.add("password", FieldError::Required);
    } else {
        validate::password(&mut errs, "password", &password, reg.password_min_length);
    }
    let email = body
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    match &email {
        None if reg.email_required => errs.add("email", FieldError::Required),
        Some(e) => validate::email(&mut errs, "email", e),
        None => {}
    }
    match body.date_of_birth.as_deref() {
        None | Some("") if reg.date_of_birth_required => {
            errs.add("date_of_birth", FieldError::Required)
        }
        Some(dob) if !dob.is_empty() => {
            let today = time::OffsetDateTime::now_utc().date();
            match validate::age_on(dob, today) {
                None => errs.add("date_of_birth", FieldError::InvalidDate),
                Some(age) if age < u32::from(reg.minimum_age) => errs.add(
                    "date_of_birth",
                    FieldError::Underage {
                        age: reg.minimum_age.into(),
                    },
                ),
                _ => {}
            }
        }
        _ => {}
    }
    if body.consent == Some(false) {
        errs.add("consent", FieldError::Required);
    }
    if let Some(g) = &body.global_name {
        validate::max_length(&mut errs, "global_name", g, 32);
    }
    errs.into_result()?;

    let password_hash = hash_password(password, config.security.clone()).await?;
    let mut user = UserRecord {
        id: app.services.ids.next()?,
        username: username.clone(),
        discriminator: "0".into(),
        global_name: body.global_name.filter(|g| !g.trim().is_empty()),
        avatar: None,
        banner: None,
        accent_color: None,
        bio: String::new(),
        pronouns: String::new(),
        email,
        password_hash: Some(password_hash),
        date_of_birth: body.date_of_birth,
        locale: crate::i18n::current().to_string(),
        bot: false,
        system: false,
        verified: false,
        mfa_enabled: false,
        flags: 0,
        premium_type: 0,
        admin: false,
        disabled: false,
        token_generation: 0,
    };
    // Unique usernames (Discord's "pomelo") use discriminator "0"; legacy mode picks a free tag.
    let attempts = if reg.unique_usernames { 1 } else { 20 };
    for attempt in 0..attempts {
        if !reg.unique_usernames {
            user.discriminator = format!("{:04}", rand::random::<u16>() % 9999 + 1);
        }
        match app.store().create_user(&user).await {
            Ok(()) => {
                tracing::info!(user = %user.id, "registered");
                app.auth.refresh(&user);
                return Ok(Json(json!({"token": app.auth.issue(&user)})));
            }
            Err(StoreError::Conflict("email")) => {
                return Err(FieldErrors::single(
                    "email",
                    FieldError::EmailAlreadyRegistered,
                ));
            }
            Err(StoreError::Conflict("username")) if attempt + 1 < attempts => continue,
            // Unique usernames: the name is taken. Discriminators: no free tag was found.
            Err(StoreError::Conflict("username")) if reg.unique_usernames => {
                return Err(FieldErrors::single("username", FieldError::UsernameTaken));
            }
            Err(StoreError::Conflict("username")) => {
                return Err(FieldErrors::single("username", FieldError::TooManyUsers));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(FieldErrors::single("username", FieldError::UsernameTaken))
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    /// Email, or `username` for instances without email.
    pub login: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub undelete: Option<bool>,
    pub captcha_key: Option<String>,
    pub login_source: Option<String>,
    pub gift_code_sku_id: Option<String>,
}

/// `POST /auth/login` → `{"token", "user_id", "user_settings"}`.
async fn login(
    State(app): State<App>,
    Json(body): Json<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let login = body
        .login
        .or(body.email)
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let password = body.password.unwrap_or_default();
    let mut errs = FieldErrors::default();
    if login.is_empty() {
        errs.add("login", FieldError::Required);
    }
    if password.is_empty() {
        errs.add("password", FieldError::Required);
    }
    errs.into_result()?;
    let user = if login.contains('@') {
        app.store().user_by_email(&login).await?
    } else {
        let (name, disc) = login.rsplit_once('#').unwrap_or((&login, "0"));
        app.store().user_by_username(name, disc).await?
    };
    let invalid = || {
        let mut e = FieldErrors::default();
        e.add("login", FieldError::InvalidLogin);
        e.add("password", FieldError::InvalidLogin);
        ApiError::InvalidFormBody(e)
    };
    let Some(user) = user else {
        return Err(invalid());
    };
    let Some(hash) = user.password_hash.clone() else {
        return Err(invalid());
    };
    if !verify_password(password, hash).await? {
        return Err(invalid());
    }
    if user.disabled {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            20013,
            "account-disabled",
        ));
    }
    app.auth.refresh(&user);
    Ok(Json(json!({
        "token": app.auth.issue(&user),
        "user_id": user.id,
        "user_settings": {"locale": user.locale, "theme": app.config().get().defaults.user.theme},
    })))
}

/// `POST /auth/logout`: revokes every token of the account (Discord revokes the one used;
/// our tokens are stateless, so the account's token generation is bumped).
async fn logout(State(app): State<App>, caller: Caller) -> Result<StatusCode, ApiError> {
    if caller.bot {
        return Ok(StatusCode::NO_CONTENT);
    }
    let Some(user) = app.services.users.get(caller.user_id).await? else {
        return Err(ApiError::Unauthorized);
    };
    let mut user = (*user).clone();
    user.token_generation = user.token_generation.wrapping_add(1);
    app.store().update_user(&user).await?;
    app.auth.refresh(&user);
    app.services.sessions.disconnect_user(user.id);
    app.services.users.updated(user);
    Ok(StatusCode::NO_CONTENT)
}

/// The client asks where it is before showing the register form.
async fn location_metadata() -> Json<Value> {
    Json(
        json!({"consent_required": false, "country_code": "US", "promotional_email_opt_in": {"required": false, "pre_checked": false}}),
    )
}
