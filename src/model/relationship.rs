//! A user's relationship to another user: Discord's relationship object. Each side of a pair is
//! its own record (`user_id`'s view of `peer_id`): a friend request is `Outgoing` on the sender's
//! side and `Incoming` on the receiver's, a block exists only on the blocker's side.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PublicUser, Timestamp};
use crate::id::UserId;

/// Discord's relationship types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum RelationshipKind {
    Friend = 1,
    Blocked = 2,
    /// A friend request the user received.
    Incoming = 3,
    /// A friend request the user sent.
    Outgoing = 4,
}

impl TryFrom<u8> for RelationshipKind {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        Ok(match v {
            1 => Self::Friend,
            2 => Self::Blocked,
            3 => Self::Incoming,
            4 => Self::Outgoing,
            other => return Err(format!("unknown relationship type {other}")),
        })
    }
}

impl From<RelationshipKind> for u8 {
    fn from(k: RelationshipKind) -> u8 {
        k as u8
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationshipRecord {
    /// Whose relationship this is.
    pub user_id: UserId,
    /// The other user.
    pub peer_id: UserId,
    pub kind: RelationshipKind,
    /// When the relationship reached its current type.
    pub since: Timestamp,
    /// The owner's private nickname for the peer.
    #[serde(default)]
    pub nickname: Option<String>,
}

impl RelationshipRecord {
    pub fn new(user_id: UserId, peer_id: UserId, kind: RelationshipKind) -> Self {
        Self {
            user_id,
            peer_id,
            kind,
            since: Timestamp::now(),
            nickname: None,
        }
    }

    /// Discord's relationship object (REST list, READY, RELATIONSHIP_ADD).
    pub fn to_json(&self, peer: &PublicUser) -> Value {
        json!({
            "id": self.peer_id,
            "type": self.kind,
            "user": peer,
            "user_id": self.peer_id,
            "nickname": self.nickname,
            "since": self.since.to_string(),
            "is_spam_request": false,
            "user_ignored": false,
        })
    }
}
