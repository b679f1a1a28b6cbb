//! OAuth2 grants a user gave an application: authorization codes, access and refresh tokens.
//! Only a SHA-256 of each token is stored (the key of its record), so a leaked database does not
//! hand out working bearer tokens.

use bitflags::bitflags;
use serde::{Deserialize, Serialize};

use crate::id::{ApplicationId, UserId};
use crate::model::timestamp::Timestamp;

bitflags! {
    /// The OAuth2 scopes this server grants to user tokens, as a set (a `Caller` stays `Copy`).
    /// `bot` and `applications.commands` are granted by the bot-add flow and name no route a
    /// bearer token may call.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct OAuthScopes: u32 {
        const IDENTIFY = 1 << 0;
        const EMAIL = 1 << 1;
        const GUILDS = 1 << 2;
        const GUILDS_JOIN = 1 << 3;
        const GUILDS_MEMBERS_READ = 1 << 4;
        const CONNECTIONS = 1 << 5;
        const APPLICATIONS_COMMANDS = 1 << 6;
        const BOT = 1 << 7;
    }
}

/// Scope names as Discord spells them, with their bit.
const NAMES: &[(&str, OAuthScopes)] = &[
    ("identify", OAuthScopes::IDENTIFY),
    ("email", OAuthScopes::EMAIL),
    ("guilds", OAuthScopes::GUILDS),
    ("guilds.join", OAuthScopes::GUILDS_JOIN),
    ("guilds.members.read", OAuthScopes::GUILDS_MEMBERS_READ),
    ("connections", OAuthScopes::CONNECTIONS),
    ("applications.commands", OAuthScopes::APPLICATIONS_COMMANDS),
    ("bot", OAuthScopes::BOT),
];

impl OAuthScopes {
    /// Parses a space- (or `+`-) separated scope list. `Err` names the first scope this server
    /// does not grant (`openid` among them: no id_tokens are signed, see `GET /oauth2/keys`).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut scopes = Self::empty();
        for name in list.split([' ', '+']).filter(|s| !s.is_empty()) {
            match NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, bit)) => scopes |= *bit,
                None => return Err(name.to_string()),
            }
        }
        Ok(scopes)
    }

    /// The scope names, in Discord's order.
    pub fn names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(_, bit)| self.contains(*bit))
            .map(|(n, _)| *n)
            .collect()
    }

    /// The space-separated list the token endpoint answers with.
    pub fn joined(self) -> String {
        self.names().join(" ")
    }
}

/// What a stored token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthTokenKind {
    /// A one-use authorization code, exchanged at `POST /oauth2/token`.
    Code,
    Access,
    Refresh,
}

/// One token (code, access or refresh) under the SHA-256 hex of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokenRecord {
    pub token_hash: String,
    pub kind: OAuthTokenKind,
    pub application_id: ApplicationId,
    /// The user who authorized (for `client_credentials`: the application's owner).
    pub user_id: UserId,
    pub scopes: OAuthScopesBits,
    /// When it stops being accepted; `None` for refresh tokens, which live until used or revoked.
    pub expires_at: Option<Timestamp>,
    /// A code remembers the redirect URI it was issued for: the exchange must name the same one.
    pub redirect_uri: Option<String>,
    /// The other half of an access/refresh pair: revoking either revokes both.
    pub paired_hash: Option<String>,
}

/// [`OAuthScopes`] as stored (its bits), so renaming a constant never changes records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OAuthScopesBits(pub u32);

impl From<OAuthScopes> for OAuthScopesBits {
    fn from(s: OAuthScopes) -> Self {
        Self(s.bits())
    }
}

impl From<OAuthScopesBits> for OAuthScopes {
    fn from(b: OAuthScopesBits) -> Self {
        OAuthScopes::from_bits_truncate(b.0)
    }
}

impl OAuthTokenRecord {
    pub fn scopes(&self) -> OAuthScopes {
        self.scopes.into()
    }

    /// Whether the token is past its expiry at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists_parse_and_print_in_discord_spelling() {
        let s = OAuthScopes::parse("identify email+guilds.join").unwrap();
        assert_eq!(
            s,
            OAuthScopes::IDENTIFY | OAuthScopes::EMAIL | OAuthScopes::GUILDS_JOIN
        );
        assert_eq!(s.joined(), "identify email guilds.join");
        assert_eq!(OAuthScopes::parse("identify openid"), Err("openid".into()));
        assert_eq!(OAuthScopes::parse(""), Ok(OAuthScopes::empty()));
    }
}
