//! Interaction responses in a channel: the message an application posts in answer to a command
//! (callback 4, or the "thinking…" message of callback 5), its follow-ups, and edits and deletes
//! of those by the interaction token. Authored by the bot user, stamped with the interaction.
//!
//! Ephemeral messages (flag 64) go to the invoking user's sessions only and are never stored:
//! they live in this actor, which stays up while it holds any, for the token's lifetime.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{MessageCreate, MessageEdit, State};
use crate::actors::Services;
use crate::error::{ApiError, Unknown};
use crate::events::Dispatch;
use crate::id::{ApplicationId, InteractionId, MessageId, UserId, WebhookId};
use crate::model::{MessageInteraction, MessageRecord};
use crate::permissions::Permissions;

/// Message flags of interaction responses.
pub const EPHEMERAL: u64 = 1 << 6;
pub const LOADING: u64 = 1 << 7;

/// How long an ephemeral message can still be edited: the interaction token's lifetime.
pub const EPHEMERAL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What an interaction response may do here whatever the bot's own permissions (on Discord an
/// interaction response needs none of its own, like a webhook).
const RESPONSE_PERMISSIONS: Permissions = Permissions::from_bits_truncate(
    Permissions::VIEW_CHANNEL.bits()
        | Permissions::SEND_MESSAGES.bits()
        | Permissions::READ_MESSAGE_HISTORY.bits()
        | Permissions::EMBED_LINKS.bits()
        | Permissions::ATTACH_FILES.bits()
        | Permissions::MENTION_EVERYONE.bits()
        | Permissions::SEND_TTS_MESSAGES.bits(),
);

/// Marks a [`MessageCreate`] as an interaction response or follow-up.
#[derive(Debug, Clone)]
pub struct InteractionStamp {
    pub application: ApplicationId,
    pub meta: MessageInteraction,
    /// Shown only to `meta.user_id`, not stored.
    pub ephemeral: bool,
    /// A deferred response: empty, flagged LOADING until edited.
    pub loading: bool,
}

/// The interaction whose messages an operation concerns.
#[derive(Debug, Clone)]
pub struct Target {
    pub interaction: InteractionId,
    /// The bot user (the author of the responses).
    pub bot: UserId,
}

/// What an application may do with the messages of one of its interactions.
pub enum InteractionOp {
    /// The response or a follow-up; the body carries its [`InteractionStamp`].
    Create(Box<MessageCreate>),
    Get(MessageId),
    Edit(MessageId, Box<MessageEdit>),
    Delete(MessageId),
}

/// An ephemeral message and when it was made.
pub struct Ephemeral {
    record: MessageRecord,
    at: Instant,
}

/// Adds `interaction` (legacy) and `interaction_metadata` to a rendered message.
pub(super) async fn stamp_json(
    services: &Services,
    i: &MessageInteraction,
    message: &mut Value,
) -> Result<(), ApiError> {
    let user = services.users.public(i.user_id).await?;
    let mut metadata = json!({
        "id": i.id,
        "type": i.kind,
        "user": user,
        "authorizing_integration_owners": i.integration_owners(),
    });
    if let Some(m) = i.original_response_message_id {
        metadata["original_response_message_id"] = json!(m);
    }
    if let Some(m) = i.target_message_id {
        metadata["target_message_id"] = json!(m);
    }
    if let Some(target) = i.target_user_id {
        metadata["target_user"] = json!(services.users.public(target).await?);
    }
    message["interaction_metadata"] = metadata;
    message["interaction"] = json!({"id": i.id, "type": i.kind, "name": i.name, "user": user});
    Ok(())
}

impl State {
    /// Drops ephemeral messages older than the token's lifetime.
    pub(super) fn prune_ephemeral(&mut self) {
        self.ephemeral
            .retain(|_, e| e.at.elapsed() < EPHEMERAL_LIFETIME);
    }

    pub(super) async fn as_application(
        &mut self,
        target: Target,
        op: InteractionOp,
    ) -> Result<Value, ApiError> {
        match op {
            InteractionOp::Create(body) => {
                let bytes = self
                    .post_message(target.bot, RESPONSE_PERMISSIONS, *body)
                    .await?;
                serde_json::from_slice(&bytes).map_err(ApiError::internal)
            }
            InteractionOp::Get(id) => {
                let (m, _) = self.interaction_message(target.interaction, id).await?;
                self.render(&m, None).await
            }
            InteractionOp::Edit(id, body) => {
                let (m, ephemeral) = self.interaction_message(target.interaction, id).await?;
                let mut m = self.apply_edit(m, *body).await?;
                m.flags &= !LOADING;
                let v = self.render(&m, None).await?;
                if ephemeral {
                    let to = self.ephemeral_recipient(&m);
                    self.send_to_user(to, &Dispatch::new("MESSAGE_UPDATE", &v, self.in_guild()));
                    if let Some(e) = self.ephemeral.get_mut(&id) {
                        e.record = m;
                    }
                } else {
                    self.persist_changed(&m)?;
                    self.replace_cached(&m);
                    self.fanout_update(&m, &v);
                }
                Ok(v)
            }
            InteractionOp::Delete(id) => {
                let (m, ephemeral) = self.interaction_message(target.interaction, id).await?;
                if ephemeral {
                    self.ephemeral.remove(&id);
                    let mut data = json!({"id": id, "channel_id": self.channel.id});
                    if let Some(g) = self.channel.guild_id {
                        data["guild_id"] = json!(g);
                    }
                    self.send_to_user(
                        self.ephemeral_recipient(&m),
                        &Dispatch::new("MESSAGE_DELETE", &data, self.in_guild()),
                    );
                } else {
                    self.remove_message(id).await?;
                }
                Ok(Value::Null)
            }
        }
    }

    fn ephemeral_recipient(&self, m: &MessageRecord) -> UserId {
        m.interaction.as_ref().map_or(m.author_id, |i| i.user_id)
    }

    /// A message of this interaction (its response or a follow-up), and whether it is
    /// ephemeral; any other message is Unknown Message.
    async fn interaction_message(
        &self,
        interaction: InteractionId,
        id: MessageId,
    ) -> Result<(MessageRecord, bool), ApiError> {
        let ours = |m: &MessageRecord| m.interaction.as_ref().map(|i| i.id) == Some(interaction);
        if let Some(e) = self.ephemeral.get(&id) {
            return if ours(&e.record) {
                Ok((e.record.clone(), true))
            } else {
                Err(ApiError::Unknown(Unknown::Message))
            };
        }
        let m = self.find(id).await?;
        if ours(&m) {
            Ok((m, false))
        } else {
            Err(ApiError::Unknown(Unknown::Message))
        }
    }

    /// Finishes a message `post_message` built for an interaction: stamps it, then stores and
    /// fans it out, or (ephemeral) keeps it here and sends it to the invoking user alone.
    pub(super) async fn post_interaction_message(
        &mut self,
        mut message: MessageRecord,
        stamp: InteractionStamp,
    ) -> Result<Value, ApiError> {
        message.kind = stamp.meta.message_kind();
        message.application_id = Some(stamp.application);
        // Discord marks interaction responses as sent by the application's webhook.
        message.webhook_id = Some(WebhookId::new(stamp.application.get()));
        message.message_reference = None;
        if stamp.ephemeral {
            message.flags |= EPHEMERAL;
        }
        if stamp.loading {
            message.flags |= LOADING;
        }
        let to = stamp.meta.user_id;
        message.interaction = Some(stamp.meta);
        let v = self.render(&message, None).await?;
        if stamp.ephemeral {
            self.prune_ephemeral();
            self.send_to_user(to, &Dispatch::new("MESSAGE_CREATE", &v, self.in_guild()));
            self.ephemeral.insert(
                message.id,
                Ephemeral {
                    record: message,
                    at: Instant::now(),
                },
            );
            return Ok(v);
        }
        self.persist_new(&message)?;
        self.schedule_poll_end(&message)?;
        crate::metrics::message_created();
        let mut exempt = message.mentions.clone();
        exempt.push(message.author_id);
        self.fanout(Dispatch::message(
            "MESSAGE_CREATE",
            &v,
            self.in_guild(),
            exempt,
        ));
        self.remember(message, None);
        Ok(v)
    }
}
