//! OAuth2 bearer tokens: minting, hashing, and which routes a token's scopes open.
//!
//! A bearer token is a random string (not a signed one like account tokens): it must be
//! revocable one by one, so it is looked up, by its SHA-256, in the store.

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::id::ApplicationId;
use crate::model::OAuthScopes;
use crate::model::timestamp::Timestamp;

/// Length of minted codes and tokens: 30 alphanumerics, as Discord's, about 178 bits.
const TOKEN_LEN: usize = 30;

/// What an OAuth2 access token grants the request it authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthGrant {
    pub application: ApplicationId,
    pub scopes: OAuthScopes,
    pub expires_at: Option<Timestamp>,
}

/// A fresh random code, token or client secret (from the OS-seeded thread RNG).
pub fn new_token() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(TOKEN_LEN)
        .map(char::from)
        .collect()
}

/// The key a token is stored under: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The scope a bearer token needs for `method` on the route `template` (axum's matched path), or
/// `None` when no scope opens it: bearer tokens reach only what Discord lets them reach.
/// `Some(empty)` means any valid token will do.
pub fn scope_for(method: &str, template: &str) -> Option<OAuthScopes> {
    match (method, route_of(template)) {
        ("GET", "/users/@me") => Some(OAuthScopes::IDENTIFY),
        ("GET", "/users/@me/guilds") => Some(OAuthScopes::GUILDS),
        ("GET", "/users/@me/guilds/{guild_id}/member") => Some(OAuthScopes::GUILDS_MEMBERS_READ),
        ("GET", "/users/@me/connections") => Some(OAuthScopes::CONNECTIONS),
        ("GET", "/oauth2/@me") => Some(OAuthScopes::empty()),
        ("GET", "/oauth2/userinfo") => Some(OAuthScopes::IDENTIFY),
        _ => None,
    }
}

/// The route under the API prefix: `/api/v10/users/@me` and `/api/users/@me` → `/users/@me`.
fn route_of(template: &str) -> &str {
    let rest = template.strip_prefix("/api").unwrap_or(template);
    match rest.strip_prefix("/v") {
        Some(versioned) => {
            let digits = versioned.len()
                - versioned
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            if digits > 0 {
                &versioned[digits..]
            } else {
                rest
            }
        }
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), TOKEN_LEN);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_eq!(token_hash("abc").len(), 64);
    }

    #[test]
    fn bearer_tokens_open_only_their_scopes_routes() {
        assert_eq!(scope_for("GET", "/users/@me"), Some(OAuthScopes::IDENTIFY));
        assert_eq!(scope_for("PATCH", "/users/@me"), None);
        assert_eq!(
            scope_for("GET", "/users/@me/guilds"),
            Some(OAuthScopes::GUILDS)
        );
        assert_eq!(scope_for("POST", "/channels/{channel_id}/messages"), None);
        assert_eq!(
            scope_for("GET", "/api/v10/users/@me/guilds"),
            Some(OAuthScopes::GUILDS)
        );
        assert_eq!(
            scope_for("GET", "/api/users/@me"),
            Some(OAuthScopes::IDENTIFY)
        );
        assert_eq!(scope_for("GET", "/api/v9/voice/regions"), None);
    }
}
