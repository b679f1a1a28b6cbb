//! Tokens in Discord's shape: `base64url(user id) . base64url(issued-at) . signature`.
//!
//! Client libraries read the user id out of the first part, so the shape matters. The third part
//! is the account's token generation (4 bytes) followed by a truncated HMAC-SHA256 over the first
//! two parts and the generation, keyed by a per-instance secret. Bumping the account's generation
//! revokes every older token without a token table.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::id::UserId;

type HmacSha256 = Hmac<Sha256>;

/// HMAC bytes kept in the token (192 bits: forging stays infeasible, tokens stay short).
const MAC_LEN: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    pub user_id: UserId,
    pub issued_at_secs: u64,
    pub generation: u32,
}

pub struct TokenSigner {
    secret: Vec<u8>,
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenSigner {
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    fn mac(&self, head: &str, generation: u32) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.secret).ok()?;
        mac.update(head.as_bytes());
        mac.update(&generation.to_be_bytes());
        Some(mac)
    }

    pub fn issue(&self, user: UserId, generation: u32) -> String {
        self.issue_at(user, generation, now_secs())
    }

    pub fn issue_at(&self, user: UserId, generation: u32, issued_at_secs: u64) -> String {
        let head = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(user.to_string()),
            URL_SAFE_NO_PAD.encode(issued_at_secs.to_be_bytes())
        );
        let mut sig = generation.to_be_bytes().to_vec();
        if let Some(mac) = self.mac(&head, generation) {
            sig.extend_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        }
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Signs `payload` for one `purpose` (e.g. an OAuth2 `state`), so data handed to a client
    /// can be trusted when it comes back: `base64url(payload).base64url(mac)`. The purpose is
    /// part of the MAC, so a value signed for one use is refused for another (or as a token).
    pub fn sign(&self, purpose: &str, payload: &str) -> String {
        let mut out = URL_SAFE_NO_PAD.encode(payload);
        out.push('.');
        if let Some(mac) = self.purpose_mac(purpose, payload) {
            out.push_str(&URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..MAC_LEN]));
        }
        out
    }

    /// The payload of a value [`Self::sign`]ed for `purpose`, or None when it was not.
    pub fn verify_signed(&self, purpose: &str, signed: &str) -> Option<String> {
        let (payload, sig) = signed.split_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if sig.len() != MAC_LEN {
            return None;
        }
        self.purpose_mac(purpose, &payload)?
            .verify_truncated_left(&sig)
            .ok()?;
        Some(payload)
    }

    fn purpose_mac(&self, purpose: &str, payload: &str) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.secret).ok()?;
        mac.update(b"accord-signed\0");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(payload.as_bytes());
        Some(mac)
    }

    /// Returns the claims of an authentic token, or None.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        let (head, sig) = token.rsplit_once('.')?;
        let (id_part, iat_part) = head.split_once('.')?;
        let user_id: UserId = String::from_utf8(URL_SAFE_NO_PAD.decode(id_part).ok()?)
            .ok()?
            .parse()
            .ok()?;
        let iat: [u8; 8] = URL_SAFE_NO_PAD.decode(iat_part).ok()?.try_into().ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if sig.len() != 4 + MAC_LEN {
            return None;
        }
        let generation = u32::from_be_bytes(sig[..4].try_into().ok()?);
        // verify_truncated_left compares in constant time.
        self.mac(head, generation)?
            .verify_truncated_left(&sig[4..])
            .ok()?;
        Some(TokenClaims {
            user_id,
            issued_at_secs: u64::from_be_bytes(iat),
            generation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = TokenSigner::new(b"secret".to_vec());
        let user = UserId::new(175928847299117063);
        let t = s.issue_at(user, 3, 1_700_000_000);
        let first = t.split('.').next().unwrap_or_default();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(first).unwrap(),
            b"175928847299117063"
        );
        let c = s.verify(&t).unwrap();
        assert_eq!(
            (c.user_id, c.generation, c.issued_at_secs),
            (user, 3, 1_700_000_000)
        );
        let other = TokenSigner::new(b"other".to_vec());
        assert!(
            other.verify(&t).is_none(),
            "another instance's secret fails"
        );
        let mut forged = t.clone();
        forged.replace_range(0..1, if t.starts_with('M') { "N" } else { "M" });
        assert!(
            s.verify(&forged).is_none(),
            "changing the user id breaks the signature"
        );
        assert!(s.verify("garbage").is_none());
        assert!(s.verify("a.b.c").is_none());
    }

    #[test]
    fn signed_values_are_bound_to_their_purpose() {
        let s = TokenSigner::new(b"secret".to_vec());
        let v = s.sign("oauth-state", "42:github:1700000000:abc");
        assert_eq!(
            s.verify_signed("oauth-state", &v).as_deref(),
            Some("42:github:1700000000:abc")
        );
        assert!(s.verify_signed("other", &v).is_none(), "another purpose");
        assert!(
            TokenSigner::new(b"x".to_vec())
                .verify_signed("oauth-state", &v)
                .is_none()
        );
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("43:github:1700000000:abc"),
            v.split_once('.').unwrap().1
        );
        assert!(s.verify_signed("oauth-state", &forged).is_none());
        assert!(s.verify_signed("oauth-state", "no-dot").is_none());
    }
}
