//! Request extractors that fail with Discord-shaped errors instead of axum's plain-text ones.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};

/// A JSON body. Syntax errors give 50109; type errors give 50035 with the failing field's path,
/// so `{"name": 5}` answers `errors.name._errors[0].code = BASE_TYPE_BAD_TYPE` like Discord.
/// Accepts a missing or wrong `Content-Type` (some clients omit it on small bodies).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else if crate::net::is_body_timeout(&e) {
                    ApiError::coded(
                        axum::http::StatusCode::REQUEST_TIMEOUT,
                        0,
                        "request-timeout",
                    )
                } else {
                    ApiError::InvalidJson
                }
            })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// A JSON body already serialized (by an actor that encodes a message once for the REST reply
/// and its gateway event alike).
pub struct RawJson(pub Bytes);

impl axum::response::IntoResponse for RawJson {
    fn into_response(self) -> axum::response::Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// What serde expected, as a client should read it. serde names the Rust type it wanted
/// (`struct UserPatch with 12 elements`, `enum Kind`, `u64`); that is our internals, so clients
/// get the JSON type instead. Expectations written for people (`a string`, a custom visitor's
/// `true, false, 1 or 0`) pass through.
fn json_type(serde_expected: &str) -> String {
    let e = serde_expected.trim();
    let named = |prefix: &str| e.starts_with(prefix) || e.contains(&format!(" {prefix}"));
    let kind = if named("struct ") || e == "a map" || e.starts_with("map") {
        "an object"
    } else if named("enum ") || e.starts_with("variant") || e.starts_with("one of") {
        "one of the allowed values"
    } else if e == "a sequence" || e.starts_with("tuple") || e.starts_with("an array") {
        "an array"
    } else if matches!(
        e,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
    ) {
        "an integer"
    } else if matches!(e, "f32" | "f64") {
        "a number"
    } else if e.chars().any(|c| c.is_ascii_uppercase()) || e.contains("::") {
        // Some other Rust type name: say no more than that the value is wrong.
        "valid"
    } else {
        return e.to_string();
    };
    kind.to_string()
}

/// Parses a body, mapping errors as [`Json`] does. An empty body is treated as `{}`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            de.end().map_err(|_| ApiError::InvalidJson)?;
            Ok(v)
        }
        Err(e) => {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::InvalidJson);
            }
            let path = e.path().to_string();
            let message = inner.to_string();
            let error = if message.starts_with("missing field") {
                FieldError::Required
            } else {
                let expected = message
                    .rsplit_once("expected ")
                    .map(|(_, x)| json_type(x.split(" at line").next().unwrap_or(x)))
                    .unwrap_or_else(|| "valid".to_string());
                FieldError::BadType { expected }
            };
            let path = if error == FieldError::Required {
                // serde reports the parent path; name the missing field itself.
                let field = message.split('`').nth(1).unwrap_or("");
                if path == "." || path.is_empty() {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                }
            } else {
                path
            };
            let mut errs = FieldErrors::default();
            errs.add(&path, error);
            Err(ApiError::InvalidFormBody(errs))
        }
    }
}

/// Path parameters; a malformed snowflake in the URL is a 404, as on Discord.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_: PathRejection| ApiError::NotFound)
    }
}

/// Query parameters; bad values are field errors.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| {
                let text = e.body_text();
                let field = text.split('`').nth(1).unwrap_or("query").to_string();
                FieldErrors::single(
                    &field,
                    FieldError::BadType {
                        expected: "a valid value".into(),
                    },
                )
            })
    }
}

/// A boolean query parameter as clients spell it: `true`/`false` (discord.js), `1`/`0`
/// (discord.py sends `with_counts=1`), `True`/`False`. For `#[serde(default, deserialize_with)]`
/// on an `Option<bool>`.
pub fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        "" => Ok(None),
        other => Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Str(other),
            &"true, false, 1 or 0",
        )),
    }
}

/// The authenticated caller (`Authorization: <token>` or `Bot <token>`); 401 otherwise.
impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        // The rate-limit layer may have authenticated the request already; the scope check
        // below holds either way.
        let caller = match parts.extensions.get::<Caller>() {
            Some(caller) => *caller,
            None => {
                let raw = parts
                    .headers
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(ApiError::Unauthorized)?;
                app.auth.authenticate_request(raw).await?
            }
        };
        if caller.oauth.is_some() {
            // A bearer token reaches only the routes its scopes open.
            let template = parts
                .extensions
                .get::<axum::extract::MatchedPath>()
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| parts.uri.path().to_string());
            let needed = crate::auth::oauth::scope_for(parts.method.as_str(), &template)
                .ok_or(ApiError::Unauthorized)?;
            let granted = caller.oauth.map(|g| g.scopes).unwrap_or_default();
            if !granted.contains(needed) {
                return Err(ApiError::Unauthorized);
            }
        }
        parts.extensions.insert(caller);
        crate::net::mark_authenticated(&parts.extensions);
        Ok(caller)
    }
}

/// A caller that must be a user account. Bots get Discord's 403 / 20001 "Bots cannot use this
/// endpoint" on the routes that are a person's own: settings, relationships, connections, OAuth2
/// consent, read states, joining by invite, the developer portal's application list.
pub struct UserAccount(pub Caller);

impl FromRequestParts<App> for UserAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, app).await?;
        if caller.bot {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                20001,
                "bots-cannot-use-endpoint",
            ));
        }
        Ok(Self(caller))
    }
}

/// `X-Audit-Log-Reason`: the reason a moderation request gives for the guild's audit log.
/// Clients URL-encode it (discord.js, discord.py); it is decoded here and cut to Discord's 512
/// characters. Absent or empty: `None`.
pub struct AuditReason(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for AuditReason {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let reason = parts
            .headers
            .get("x-audit-log-reason")
            .and_then(|v| v.to_str().ok())
            .map(|raw| percent_decode(raw).chars().take(512).collect::<String>())
            .filter(|r| !r.trim().is_empty());
        Ok(AuditReason(reason))
    }
}

/// Decodes `%XX` escapes (invalid ones are kept as they are; the result is lossily UTF-8).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(h), Some(l)) if hex(*h).is_some() && hex(*l).is_some() => {
                let v = hex(*h).unwrap_or(0) * 16 + hex(*l).unwrap_or(0);
                out.push(v as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod audit_reason_tests {
    #[test]
    fn reasons_are_percent_decoded() {
        assert_eq!(super::percent_decode("too%20much%20spam"), "too much spam");
        assert_eq!(super::percent_decode("caf%C3%A9 100%"), "café 100%");
        assert_eq!(super::percent_decode("%zz%4"), "%zz%4");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_bool_takes_every_client_spelling() {
        #[derive(serde::Deserialize)]
        struct Q {
            #[serde(default, deserialize_with = "lenient_bool")]
            with_counts: Option<bool>,
        }
        let q = |s: &str| {
            let uri: axum::http::Uri = format!("/x?{s}").parse().expect("uri");
            axum::extract::Query::<Q>::try_from_uri(&uri).map(|q| q.0.with_counts)
        };
        assert_eq!(q("with_counts=1").unwrap(), Some(true));
        assert_eq!(q("with_counts=True").unwrap(), Some(true));
        assert_eq!(q("with_counts=false").unwrap(), Some(false));
        assert_eq!(q("with_counts=0").unwrap(), Some(false));
        assert_eq!(q("").unwrap(), None);
        assert!(q("with_counts=maybe").is_err());
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default)]
        count: Option<u32>,
    }

    #[test]
    fn json_errors_are_discord_shaped() {
        assert!(matches!(
            parse_json::<Body>(b"{"),
            Err(ApiError::InvalidJson)
        ));
        let Err(ApiError::InvalidFormBody(e)) = parse_json::<Body>(br#"{"name": 5}"#) else {
            panic!()
        };
        assert!(matches!(e.get("name"), Some([FieldError::BadType { .. }])));
        let Err(ApiError::InvalidFormBody(e)) = parse_json::<Body>(br#"{"count": 1}"#) else {
            panic!()
        };
        assert_eq!(e.get("name"), Some(&[FieldError::Required][..]));
        assert!(parse_json::<Body>(br#"{"name": "x", "count": null, "extra": 1}"#).is_ok());
    }

    #[test]
    fn type_errors_name_json_types_not_rust_ones() {
        assert_eq!(json_type("struct UserPatch with 12 elements"), "an object");
        assert_eq!(json_type("struct UserPatch"), "an object");
        assert_eq!(
            json_type("internally tagged enum Kind"),
            "one of the allowed values"
        );
        assert_eq!(json_type("u64"), "an integer");
        assert_eq!(json_type("a sequence"), "an array");
        assert_eq!(json_type("a string"), "a string");
        assert_eq!(json_type("a Snowflake"), "valid");
        let Err(ApiError::InvalidFormBody(e)) = parse_json::<Body>(b"[]") else {
            panic!()
        };
        let message = e.to_json().to_string();
        assert!(!message.contains("Body"), "{message}");
    }
}
