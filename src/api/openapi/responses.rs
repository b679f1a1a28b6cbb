//! Response schemas for `/api/openapi.json`.
//!
//! For the operations Accord shares with Discord's public OpenAPI document, the 2xx responses
//! (status, content type and schema) are Discord's own, vendored in `discord-responses.json`
//! together with every component schema they reference. Vendored rather than read from
//! `../shared` because the server must describe itself without that checkout; the file is
//! regenerated and checked against the route table by `responses_gen.rs`
//! (`ACCORD_BLESS=1 cargo test --lib discord_responses`), which fails when it is stale.
//!
//! Every operation also declares its errors: `4XX` with the error object (`{code, message,
//! errors?}`, our own `ApiError` schema: Discord's document types a field error's `code` as an
//! integer, but Discord sends strings such as `BASE_TYPE_REQUIRED`, as we do) and `429` with
//! Discord's rate-limit body.
//!
//! Of Accord's own operations (Spacebar extras, admin, instance discovery), register and login —
//! what every client calls first — have schemas we write ([`own_success`]); the others keep a
//! schema-less `2XX` for now, so only their status and their errors are described.

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use super::Route;

/// Discord's schemas, as `responses_gen.rs` wrote them.
const VENDORED_JSON: &str = include_str!("discord-responses.json");

/// The component that describes every error body (ours, in `own_components`).
pub const ERROR_SCHEMA: &str = "ApiError";
/// The component that describes a 429 body (Discord's `RatelimitedResponse`).
pub const RATELIMIT_SCHEMA: &str = "RatelimitedResponse";

/// Why the vendored file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VendoredError {
    #[error("discord-responses.json is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("discord-responses.json has no `{0}` object")]
    Missing(&'static str),
}

/// The parsed vendored file.
#[derive(Debug, Default)]
pub struct Vendored {
    /// `"get /guilds/{guild_id}"` → Discord's 2xx response objects by status.
    pub operations: Map<String, Value>,
    /// Component schemas by name.
    pub schemas: Map<String, Value>,
}

impl Vendored {
    pub fn parse(text: &str) -> Result<Vendored, VendoredError> {
        let mut doc: Map<String, Value> = serde_json::from_str(text)?;
        let mut take = |key: &'static str| match doc.remove(key) {
            Some(Value::Object(m)) => Ok(m),
            _ => Err(VendoredError::Missing(key)),
        };
        Ok(Vendored {
            operations: take("operations")?,
            schemas: take("schemas")?,
        })
    }
}

/// Parsed once. A broken file (which `responses_are_vendored` in the tests rules out) is
/// logged and the document is served without Discord's schemas rather than not at all.
static VENDORED: LazyLock<Vendored> = LazyLock::new(|| {
    Vendored::parse(VENDORED_JSON).unwrap_or_else(|e| {
        tracing::error!(error = %e, "OpenAPI response schemas unavailable");
        Vendored::default()
    })
});

pub fn vendored() -> &'static Vendored {
    &VENDORED
}

/// The key of a route in the vendored file.
pub fn key(route: &Route) -> String {
    format!("{} {}", route.method.as_str(), route.path)
}

/// The `responses` object of one operation.
pub fn responses(route: &Route) -> Value {
    let own = own_success(&key(route));
    let mut out = match (vendored().operations.get(&key(route)), own) {
        (Some(Value::Object(discord)), _) => discord.clone(),
        (_, Some(own)) => own,
        _ => {
            let mut m = Map::new();
            m.insert(
                "2XX".into(),
                json!({"description": "Success (a JSON body, or none for 204). Accord's own \
                    operation: Discord's spec does not describe it, and its body has no \
                    schema here yet."}),
            );
            m
        }
    };
    out.insert(
        "429".into(),
        json!({"$ref": "#/components/responses/Ratelimited"}),
    );
    // The OAuth2 token endpoints (the only form-encoded bodies) answer errors as RFC 6749
    // says, `{error, error_description}`, as Discord's do; every other route Discord's object.
    let error = if route.body == Some(super::Body::Form) {
        "#/components/responses/OAuth2Error"
    } else {
        "#/components/responses/Error"
    };
    out.insert("4XX".into(), json!({ "$ref": error }));
    Value::Object(out)
}

/// The 2xx responses we describe ourselves, for operations Discord's spec leaves out (their
/// schemas are in `own_components`).
fn own_success(key: &str) -> Option<Map<String, Value>> {
    let (description, schema) = match key {
        "post /auth/register" => ("The new account's token", "RegisterResponse"),
        "post /auth/login" => ("The account's token", "LoginResponse"),
        _ => return None,
    };
    let mut m = Map::new();
    m.insert(
        "200".into(),
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
        }),
    );
    Some(m)
}

/// `components.responses`: the error and the rate-limit answer.
pub fn error_responses() -> Value {
    json!({
        "Error": {
            "description": "An error: `{code, message}`, and `errors` (field errors nested by \
                path, as Discord's) for 50035 Invalid Form Body",
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{ERROR_SCHEMA}")}}},
        },
        "OAuth2Error": {
            "description": "An OAuth2 token endpoint's error (RFC 6749 §5.2): `error` \
                (`invalid_request`, `invalid_client`, `invalid_grant`, …) and `error_description`",
            "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "error_description": {"type": "string"},
                },
                "required": ["error"],
            }}},
        },
        "Ratelimited": {
            "description": "Rate limited: `retry_after` (seconds) and `global`",
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{RATELIMIT_SCHEMA}")}}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_vendored() {
        let v = Vendored::parse(VENDORED_JSON).expect("the vendored file parses");
        assert!(v.schemas.contains_key(RATELIMIT_SCHEMA));
        assert!(v.operations.len() > 100, "{}", v.operations.len());
    }
}
