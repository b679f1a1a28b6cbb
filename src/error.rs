//! The HTTP edge's error type: every failure a client can see, rendered in Discord's JSON shape
//! (`{"code": N, "message": "...", "errors": {...}}`) with the matching status, and a message
//! translated into the request's locale (see [`crate::i18n`]).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::i18n::{self, Args};

/// Discord's "Unknown …" errors (HTTP 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Account,
    Application,
    Channel,
    Guild,
    Invite,
    Integration,
    Member,
    Message,
    Overwrite,
    Role,
    Token,
    User,
    Emoji,
    Webhook,
    Ban,
    Sticker,
    StickerPack,
    ScheduledEvent,
    GuildTemplate,
    Interaction,
    ApplicationCommand,
    /// A developer team (10039: not in Discord's public list, but what its API answers).
    Team,
    /// An auto-moderation rule (10066, what Discord's API answers for one; its public list
    /// gives 10066 to application command permissions).
    AutoModRule,
    /// An application's entitlement (10029).
    Entitlement,
    /// Application command permissions never set in a guild (10066, Discord's public list).
    CommandPermissions,
    /// A member's voice state (10065): they are not connected to a voice channel.
    VoiceState,
    /// A stage channel's live stage (10067).
    StageInstance,
    /// A soundboard sound (10097).
    SoundboardSound,
    /// A guild's member verification form, when none was set up (10068).
    MemberVerificationForm,
    /// A guild join request (10075: not in Discord's public list; what peer servers answer).
    JoinRequest,
}

impl Unknown {
    fn code(self) -> u32 {
        match self {
            Self::Account => 10001,
            Self::Application => 10002,
            Self::Channel => 10003,
            Self::Guild => 10004,
            Self::Invite => 10006,
            Self::Integration => 10005,
            Self::Member => 10007,
            Self::Message => 10008,
            Self::Overwrite => 10009,
            Self::Role => 10011,
            Self::Token => 10012,
            Self::User => 10013,
            Self::Emoji => 10014,
            Self::Webhook => 10015,
            Self::Ban => 10026,
            Self::GuildTemplate => 10057,
            Self::Sticker => 10060,
            Self::StickerPack => 10061,
            Self::ScheduledEvent => 10070,
            Self::Interaction => 10062,
            Self::ApplicationCommand => 10063,
            Self::Team => 10039,
            Self::AutoModRule => 10066,
            Self::Entitlement => 10029,
            Self::CommandPermissions => 10066,
            Self::VoiceState => 10065,
            Self::StageInstance => 10067,
            Self::SoundboardSound => 10097,
            Self::MemberVerificationForm => 10068,
            Self::JoinRequest => 10075,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Account => "unknown-account",
            Self::Application => "unknown-application",
            Self::Channel => "unknown-channel",
            Self::Guild => "unknown-guild",
            Self::Invite => "unknown-invite",
            Self::Integration => "unknown-integration",
            Self::Member => "unknown-member",
            Self::Message => "unknown-message",
            Self::Overwrite => "unknown-overwrite",
            Self::Role => "unknown-role",
            Self::Token => "unknown-token",
            Self::User => "unknown-user",
            Self::Emoji => "unknown-emoji",
            Self::Webhook => "unknown-webhook",
            Self::Ban => "unknown-ban",
            Self::Sticker => "unknown-sticker",
            Self::StickerPack => "unknown-sticker-pack",
            Self::ScheduledEvent => "unknown-guild-scheduled-event",
            Self::GuildTemplate => "unknown-guild-template",
            Self::Interaction => "unknown-interaction",
            Self::ApplicationCommand => "unknown-application-command",
            Self::Team => "unknown-team",
            Self::AutoModRule => "unknown-auto-moderation-rule",
            Self::Entitlement => "unknown-entitlement",
            Self::CommandPermissions => "unknown-application-command-permissions",
            Self::VoiceState => "unknown-voice-state",
            Self::StageInstance => "unknown-stage-instance",
            Self::SoundboardSound => "unknown-soundboard-sound",
            Self::MemberVerificationForm => "unknown-guild-member-verification-form",
            Self::JoinRequest => "unknown-guild-join-request",
        }
    }
}

/// Every error a client can receive. Internals (store errors, panics) become `Internal`, whose
/// cause is logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unknown {0:?}")]
    Unknown(Unknown),
    #[error("missing access")]
    MissingAccess,
    #[error("missing permissions")]
    MissingPermissions,
    #[error("invalid form body: {0:?}")]
    InvalidFormBody(FieldErrors),
    #[error("invalid json")]
    InvalidJson,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("rate limited for {retry_after}s")]
    RateLimited { retry_after: f64, global: bool },
    /// A channel's slowmode (`rate_limit_per_user`): 429 with Discord's code 20016.
    #[error("slowmode for {retry_after}s")]
    Slowmode { retry_after: f64 },
    /// Any other Discord error code, with its Fluent message key.
    #[error("{key} ({code})")]
    Coded {
        status: StatusCode,
        code: u32,
        key: &'static str,
    },
    /// The request can't be served right now but may be soon (a cluster node without a valid
    /// worker-id lease, an owner node that did not answer): 503 with `retry_after`, as Discord
    /// answers when it is overloaded.
    #[error("service unavailable, retry in {retry_after}s")]
    Unavailable { retry_after: f64 },
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// Logs an internal failure and hides it from the client.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::Internal
    }

    pub const fn coded(status: StatusCode, code: u32, key: &'static str) -> Self {
        Self::Coded { status, code, key }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound | Self::Unknown(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MissingAccess | Self::MissingPermissions => StatusCode::FORBIDDEN,
            Self::InvalidFormBody(_) | Self::InvalidJson => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } | Self::Slowmode { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Coded { status, .. } => *status,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Discord's JSON error code (0 for the generic HTTP errors, as Discord sends).
    pub fn code(&self) -> u32 {
        match self {
            Self::Unauthorized | Self::NotFound | Self::MethodNotAllowed | Self::Internal => 0,
            Self::RateLimited { .. } | Self::Unavailable { .. } => 0,
            Self::Slowmode { .. } => 20016,
            Self::Unknown(u) => u.code(),
            Self::MissingAccess => 50001,
            Self::MissingPermissions => 50013,
            Self::InvalidFormBody(_) => 50035,
            Self::InvalidJson => 50109,
            Self::PayloadTooLarge => 40005,
            Self::Coded { code, .. } => *code,
        }
    }

    fn key(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Unknown(u) => u.key(),
            Self::MissingAccess => "missing-access",
            Self::MissingPermissions => "missing-permissions",
            Self::InvalidFormBody(_) => "invalid-form-body",
            Self::InvalidJson => "invalid-json",
            Self::PayloadTooLarge => "payload-too-large",
            Self::RateLimited { .. } => "rate-limited",
            Self::Slowmode { .. } => "slowmode-rate-limited",
            Self::Coded { key, .. } => key,
            Self::Unavailable { .. } => "service-unavailable",
            Self::Internal => "internal-error",
        }
    }

    /// The JSON body, with messages in the current request's locale.
    pub fn body(&self) -> Value {
        let message = i18n::t(self.key());
        match self {
            Self::InvalidFormBody(errors) => {
                json!({"code": 50035, "message": message, "errors": errors.to_json()})
            }
            Self::RateLimited {
                retry_after,
                global,
            } => {
                json!({"message": message, "retry_after": retry_after, "global": global, "code": 0})
            }
            Self::Slowmode { retry_after } => {
                json!({"message": message, "retry_after": retry_after, "global": false, "code": 20016})
            }
            Self::Unavailable { retry_after } => {
                json!({"code": 0, "message": message, "retry_after": retry_after})
            }
            _ => json!({"code": self.code(), "message": message}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Self::Slowmode { retry_after } | Self::Unavailable { retry_after } = self
            && let Ok(v) = format!("{}", retry_after.ceil() as u64).parse()
        {
            response.headers_mut().insert("retry-after", v);
        }
        if let Self::RateLimited {
            retry_after,
            global,
        } = self
        {
            let headers = response.headers_mut();
            if let Ok(v) = format!("{}", retry_after.ceil() as u64).parse() {
                headers.insert("retry-after", v);
            }
            if global {
                headers.insert(
                    "x-ratelimit-global",
                    axum::http::HeaderValue::from_static("true"),
                );
            }
        }
        response
    }
}

impl From<crate::id::IdsUnavailable> for ApiError {
    fn from(e: crate::id::IdsUnavailable) -> Self {
        tracing::warn!(error = %e, "refusing a request that needs a new id");
        Self::Unavailable {
            retry_after: e.retry_after.as_secs_f64(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::permissions::MissingPermissions> for ApiError {
    fn from(_: crate::permissions::MissingPermissions) -> Self {
        Self::MissingPermissions
    }
}

/// One field-level error; the `code` is Discord's, the message comes from the locale files
/// under the same id.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldError {
    Required,
    BadLength {
        min: usize,
        max: usize,
    },
    MaxLength {
        max: usize,
    },
    MinLength {
        min: usize,
    },
    /// Legacy discriminators: every tag of this name is in use.
    TooManyUsers,
    NumberMin {
        min: i64,
    },
    NumberMax {
        max: i64,
    },
    /// The value has the wrong JSON type; `expected` names the type.
    BadType {
        expected: String,
    },
    InvalidSnowflake,
    InvalidEmail,
    EmailAlreadyRegistered,
    UsernameTaken,
    UsernameInvalid,
    PasswordTooShort {
        min: usize,
    },
    InvalidLogin,
    PasswordMismatch,
    Underage {
        age: u32,
    },
    InvalidDate,
    Choice {
        allowed: String,
    },
    TooMany {
        max: usize,
    },
    /// An array with fewer items than required.
    TooFew {
        min: usize,
    },
    /// A time further ahead than allowed (incident actions: 24 hours).
    DateTooFar {
        hours: u32,
    },
    InvalidUrl,
    /// An OAuth2 `redirect_uri` the application did not register.
    InvalidRedirectUri,
    /// An application command or option name outside Discord's rules.
    CommandNameInvalid,
    /// Two commands (or two options of one level) with the same name.
    CommandNameDuplicate,
    /// A required option after an optional one.
    CommandOptionsRequiredOrder,
    /// Subcommands mixed with other option types on one level.
    CommandOptionsTypeMix,
    /// An interaction (callback) type this server does not handle.
    InteractionTypeUnsupported,
    /// A guild already has the most auto-moderation rules of this trigger type.
    AutoModMaxRulesOfType {
        max: usize,
    },
    /// An auto-moderation `regex_patterns` entry that does not compile.
    AutoModInvalidRegex,
    /// A string outside its pattern (role connection metadata keys: `a-z0-9_`).
    Regex,
    /// Two role connection metadata records with one key.
    DuplicateKey,
    /// A role connection metadata value whose key the application never declared.
    UnknownMetadataKey,
    /// A role connection metadata value that does not fit its record's type.
    BadMetadataValue,
    /// A user id that names no user (an invite's target users file).
    UnknownUser,
}

impl FieldError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "BASE_TYPE_REQUIRED",
            Self::BadLength { .. } => "BASE_TYPE_BAD_LENGTH",
            Self::MaxLength { .. } => "BASE_TYPE_MAX_LENGTH",
            Self::MinLength { .. } => "BASE_TYPE_MIN_LENGTH",
            Self::TooManyUsers => "USERNAME_TOO_MANY_USERS",
            Self::NumberMin { .. } => "NUMBER_TYPE_MIN",
            Self::NumberMax { .. } => "NUMBER_TYPE_MAX",
            Self::BadType { .. } => "BASE_TYPE_BAD_TYPE",
            Self::InvalidSnowflake => "NUMBER_TYPE_COERCE",
            Self::InvalidEmail => "EMAIL_TYPE_INVALID_EMAIL",
            Self::EmailAlreadyRegistered => "EMAIL_ALREADY_REGISTERED",
            Self::UsernameTaken => "USERNAME_ALREADY_TAKEN",
            Self::UsernameInvalid => "USERNAME_INVALID_CHARACTERS",
            Self::PasswordTooShort { .. } => "PASSWORD_TOO_SHORT",
            Self::InvalidLogin => "INVALID_LOGIN",
            Self::PasswordMismatch => "PASSWORD_DOES_NOT_MATCH",
            Self::Underage { .. } => "DATE_OF_BIRTH_UNDERAGE",
            Self::InvalidDate => "DATE_TYPE_PARSE",
            Self::Choice { .. } => "BASE_TYPE_CHOICES",
            Self::TooMany { .. } => "BASE_TYPE_MAX_ITEMS",
            Self::TooFew { .. } => "BASE_TYPE_MIN_ITEMS",
            Self::DateTooFar { .. } => "DATE_TYPE_TOO_FAR",
            Self::InvalidUrl => "URL_TYPE_INVALID_URL",
            Self::InvalidRedirectUri => "OAUTH2_INVALID_REDIRECT_URI",
            Self::CommandNameInvalid => "APPLICATION_COMMAND_INVALID_NAME",
            Self::CommandNameDuplicate => "APPLICATION_COMMANDS_DUPLICATE_NAME",
            Self::CommandOptionsRequiredOrder => "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
            Self::CommandOptionsTypeMix => "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            Self::InteractionTypeUnsupported => "INTERACTION_TYPE_UNSUPPORTED",
            Self::AutoModMaxRulesOfType { .. } => "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED",
            Self::AutoModInvalidRegex => "AUTO_MODERATION_INVALID_REGEX",
            Self::Regex => "STRING_TYPE_REGEX",
            Self::DuplicateKey => "APPLICATION_ROLE_CONNECTION_METADATA_DUPLICATE_KEY",
            Self::UnknownMetadataKey => "ROLE_CONNECTION_METADATA_UNKNOWN_KEY",
            Self::BadMetadataValue => "ROLE_CONNECTION_METADATA_BAD_VALUE",
            Self::UnknownUser => "USER_TYPE_UNKNOWN",
        }
    }

    fn args(&self) -> Args {
        let mut a = Args::new();
        match self {
            Self::BadLength { min, max } => {
                a.num("min", *min as i64);
                a.num("max", *max as i64);
            }
            Self::MaxLength { max }
            | Self::TooMany { max }
            | Self::AutoModMaxRulesOfType { max } => a.num("max", *max as i64),
            Self::MinLength { min } | Self::TooFew { min } => a.num("min", *min as i64),
            Self::DateTooFar { hours } => a.num("hours", i64::from(*hours)),
            Self::NumberMin { min } => a.num("min", *min),
            Self::NumberMax { max } => a.num("max", *max),
            Self::PasswordTooShort { min } => a.num("min", *min as i64),
            Self::Underage { age } => a.num("age", i64::from(*age)),
            Self::BadType { expected } => a.text("expected", expected),
            Self::Choice { allowed } => a.text("allowed", allowed),
            _ => {}
        }
        a
    }

    pub fn message(&self) -> String {
        i18n::t_args(self.code(), &self.args())
    }
}

/// Field errors keyed by dotted path (`"roles.0.name"`), rendered nested as Discord does:
/// `{"roles": {"0": {"name": {"_errors": [...]}}}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldErrors(BTreeMap<String, Vec<FieldError>>);

impl FieldErrors {
    pub fn add(&mut self, path: &str, error: FieldError) {
        self.0.entry(path.to_string()).or_default().push(error);
    }

    pub fn single(path: &str, error: FieldError) -> ApiError {
        let mut e = Self::default();
        e.add(path, error);
        ApiError::InvalidFormBody(e)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, path: &str) -> Option<&[FieldError]> {
        self.0.get(path).map(Vec::as_slice)
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidFormBody(self))
        }
    }

    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        for (path, errors) in &self.0 {
            let mut node = &mut root;
            for part in path.split('.').filter(|p| !p.is_empty()) {
                let entry = node
                    .entry(part.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Value::Object(map) = entry else {
                    unreachable!("just made an object")
                };
                node = map;
            }
            let list: Vec<Value> = errors
                .iter()
                .map(|e| json!({"code": e.code(), "message": e.message()}))
                .collect();
            node.insert("_errors".into(), Value::Array(list));
        }
        Value::Object(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_field_errors() {
        let mut e = FieldErrors::default();
        e.add("username", FieldError::BadLength { min: 2, max: 32 });
        e.add("roles.0.name", FieldError::Required);
        let body = ApiError::InvalidFormBody(e).body();
        assert_eq!(body["code"], 50035);
        assert_eq!(body["message"], "Invalid Form Body");
        let u = &body["errors"]["username"]["_errors"][0];
        assert_eq!(u["code"], "BASE_TYPE_BAD_LENGTH");
        assert_eq!(u["message"], "Must be between 2 and 32 in length.");
        assert_eq!(
            body["errors"]["roles"]["0"]["name"]["_errors"][0]["code"],
            "BASE_TYPE_REQUIRED"
        );
    }

    #[test]
    fn codes_and_statuses() {
        let e = ApiError::Unknown(Unknown::Channel);
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            e.body(),
            json!({"code": 10003, "message": "Unknown Channel"})
        );
        assert_eq!(
            ApiError::Unauthorized.body(),
            json!({"code": 0, "message": "401: Unauthorized"})
        );
        assert_eq!(ApiError::MissingPermissions.status(), StatusCode::FORBIDDEN);
    }
}
