//! Cluster mode: what other actors tell a user's actor, carried to the user's home node.
//!
//! A user's actor runs on its home only (see `Services::user`). The changes other actors make
//! to it without a REST request of that user — the other side of a relationship, a mention, a
//! read-state acknowledgement made on the node that owns the channel — travel as a
//! [`UserCast`] inside [`GuildCommand::User`] on the home's command subject. Single-node and
//! home-here calls go straight to the local actor, as before.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CommandReply, GuildCommand};
use crate::actors::Services;
use crate::actors::user::{PeerChange, UserMsg};
use crate::cluster::Owned;
use crate::error::ApiError;
use crate::id::{ChannelId, MessageId, UserId};

/// A change to a user's actor made by someone other than that user's own requests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "cast", rename_all = "snake_case")]
pub enum UserCast {
    /// `UserMsg::Peer`: the other user changed their side of the relationship.
    Peer { from: u64, change: PeerChange },
    /// `UserMsg::Mentioned`: a message in `channel` mentioned the user.
    Mentioned { channel: u64, message: u64 },
    /// `UserMsg::Ack`: the user read `channel` up to `message` (the reply is the ack's body).
    Ack {
        channel: u64,
        message: u64,
        mention_count: Option<u32>,
    },
}

impl Services {
    /// Hands `cast` to `user`'s actor, here or on its home, without waiting for it (an `Ack`
    /// sent this way has its answer dropped; use [`Services::ack_read_state`] for the reply).
    pub async fn cast_user(self: &Arc<Self>, user: UserId, cast: UserCast) {
        if let (Some(home), Some(remote)) = (
            self.remote_owner(Owned::User(user.get())),
            self.remote.get(),
        ) {
            remote.tell(
                &home,
                GuildCommand::User {
                    user: user.get(),
                    cast,
                },
            );
            return;
        }
        if let Err(e) = self.cast_user_here(user, cast).await {
            tracing::debug!(%user, error = ?e, "user cast not applied");
        }
    }

    /// Records that `user` read `channel` up to `message`, on the user's actor wherever it
    /// runs; the answer is the ack route's body.
    pub async fn ack_read_state(
        self: &Arc<Self>,
        user: UserId,
        channel: ChannelId,
        message: MessageId,
        mention_count: Option<u32>,
    ) -> Result<Value, ApiError> {
        let cast = UserCast::Ack {
            channel: channel.get(),
            message: message.get(),
            mention_count,
        };
        if let (Some(home), Some(remote)) = (
            self.remote_owner(Owned::User(user.get())),
            self.remote.get(),
        ) {
            let command = GuildCommand::User {
                user: user.get(),
                cast,
            };
            return match remote.request(&home, command, self.call_timeout()).await {
                Ok(CommandReply::Answer { value }) => Ok(value),
                Ok(_) | Err(_) => Err(ApiError::Unavailable { retry_after: 1.0 }),
            };
        }
        self.cast_user_here(user, cast)
            .await
            .map(|v| v.unwrap_or(Value::Null))
    }

    /// Applies `cast` to the actor of `user` on this node (its home, or a single node); an
    /// `Ack` waits for the actor's answer.
    pub(super) async fn cast_user_here(
        self: &Arc<Self>,
        user: UserId,
        cast: UserCast,
    ) -> Result<Option<Value>, ApiError> {
        let actor = self.user(user).await?;
        match cast {
            UserCast::Peer { from, change } => {
                let from = UserId::new(from);
                crate::actors::tell(&actor, UserMsg::Peer { from, change }).map_err(gone)?;
                Ok(None)
            }
            UserCast::Mentioned { channel, message } => {
                let (channel, message) = (ChannelId::new(channel), MessageId::new(message));
                crate::actors::tell(&actor, UserMsg::Mentioned { channel, message })
                    .map_err(gone)?;
                Ok(None)
            }
            UserCast::Ack {
                channel,
                message,
                mention_count,
            } => crate::actors::ask(self, &actor, |reply| UserMsg::Ack {
                channel: ChannelId::new(channel),
                message: MessageId::new(message),
                mention_count,
                reply,
            })
            .await
            .map(Some),
        }
    }
}

/// The actor stopped between lookup and send (passivating, or its lease just moved).
fn gone<E>(_: E) -> ApiError {
    ApiError::Unavailable { retry_after: 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_travel_as_tagged_json() {
        let cast = UserCast::Peer {
            from: 7,
            change: PeerChange::Accepted,
        };
        let command = GuildCommand::User { user: 9, cast };
        let json = serde_json::to_value(&command).expect("serialize");
        assert_eq!(json["op"], "user");
        assert_eq!(json["cast"]["cast"], "peer");
        let back: GuildCommand = serde_json::from_value(json).expect("parse");
        assert!(matches!(
            back,
            GuildCommand::User {
                user: 9,
                cast: UserCast::Peer {
                    from: 7,
                    change: PeerChange::Accepted
                }
            }
        ));
    }
}
