//! Live interactions: one per use of an application command, kept **in memory only** for the
//! 15 minutes its token is valid (Discord's lifetime). A restart forgets them — the bot's
//! pending responses then fail like an expired token, which is what a client retries anyway.
//!
//! An interaction must be answered (callback) within 3 seconds; its state moves
//! `Pending → Responding → Acknowledged` (or back to `Pending` when the response is refused),
//! and the entry is what makes the token valid: the callback and the follow-up routes
//! (`/webhooks/{application}/{token}/…`) look it up here.

use std::time::{Duration, Instant};

use base64::Engine;
use dashmap::DashMap;
use rand::RngCore;
use serde_json::Value;

use crate::id::{ApplicationId, ChannelId, GuildId, InteractionId, MessageId, UserId};
use crate::model::MessageInteraction;

/// How long the application has to answer (Discord's 3 seconds).
pub const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How long the token works for follow-ups and edits (Discord's 15 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Every interaction token starts with this: base64 of `interaction:`, as Discord's do. It tells
/// an interaction token from a webhook's on the shared `/webhooks/{id}/{token}` routes.
pub const TOKEN_PREFIX: &str = "aW50ZXJhY3Rpb246";

/// What the routes need to know of a live interaction.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub id: InteractionId,
    pub token: String,
    pub application_id: ApplicationId,
    /// The bot user that answers (author of the responses).
    pub bot: UserId,
    /// Who used the command.
    pub user: UserId,
    pub channel_id: ChannelId,
    pub guild_id: Option<GuildId>,
    /// The invoking client's nonce, echoed in INTERACTION_SUCCESS/FAILURE.
    pub nonce: Option<Value>,
    /// The stamp its messages carry.
    pub meta: MessageInteraction,
    pub created: Instant,
}

/// Where an interaction is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the application's callback.
    Pending,
    /// A callback is being carried out (a second one is refused).
    Responding,
    /// Answered; `original` is the response message.
    Acknowledged { original: Option<MessageId> },
}

/// Why a callback can't start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckError {
    /// No such live interaction, a wrong token, or too late.
    Unknown,
    /// Already answered (or being answered).
    AlreadyAcknowledged,
}

struct Entry {
    interaction: Interaction,
    phase: Phase,
}

/// The live interactions by id.
#[derive(Default)]
pub struct InteractionRegistry {
    live: DashMap<InteractionId, Entry>,
}

/// A new secret token for interaction `id`: `interaction:<id>:<256 random bits>`, base64url.
pub fn new_token(id: InteractionId) -> String {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let raw = format!("interaction:{id}:{}", hex::encode(secret));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The interaction id a token names (not proof of anything: the registry compares the whole
/// token).
fn id_of(token: &str) -> Option<InteractionId> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.split(':');
    (parts.next()? == "interaction")
        .then(|| parts.next()?.parse().ok())
        .flatten()
}

pub fn is_interaction_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

impl InteractionRegistry {
    pub fn insert(&self, interaction: Interaction) {
        self.live.insert(
            interaction.id,
            Entry {
                interaction,
                phase: Phase::Pending,
            },
        );
    }

    /// The live interaction with this id and token (None when unknown, expired or wrong).
    pub fn get(&self, id: InteractionId, token: &str) -> Option<(Interaction, Phase)> {
        let e = self.live.get(&id)?;
        let valid = e.interaction.token == token
            && e.interaction.created.elapsed() < TOKEN_LIFETIME
            && (e.phase != Phase::Pending || e.interaction.created.elapsed() < ACK_DEADLINE);
        valid.then(|| (e.interaction.clone(), e.phase))
    }

    /// The live interaction a follow-up route's `(application, token)` names.
    pub fn by_token(
        &self,
        application: ApplicationId,
        token: &str,
    ) -> Option<(Interaction, Phase)> {
        self.get(id_of(token)?, token)
            .filter(|(i, _)| i.application_id == application)
    }

    /// Starts a callback: `Pending → Responding`, within the deadline.
    pub fn begin_response(&self, id: InteractionId, token: &str) -> Result<Interaction, AckError> {
        let mut e = self.live.get_mut(&id).ok_or(AckError::Unknown)?;
        if e.interaction.token != token || e.interaction.created.elapsed() >= TOKEN_LIFETIME {
            return Err(AckError::Unknown);
        }
        match e.phase {
            Phase::Pending if e.interaction.created.elapsed() < ACK_DEADLINE => {
                e.phase = Phase::Responding;
                Ok(e.interaction.clone())
            }
            Phase::Pending => Err(AckError::Unknown),
            _ => Err(AckError::AlreadyAcknowledged),
        }
    }

    /// Ends a callback: acknowledged with its message, or (`None`, the response was refused)
    /// pending again, so the application may still answer in time.
    pub fn finish_response(&self, id: InteractionId, outcome: Option<Phase>) {
        if let Some(mut e) = self.live.get_mut(&id) {
            e.phase = outcome.unwrap_or(Phase::Pending);
        }
    }

    /// At the deadline: removes the interaction if it is still unanswered and returns it (the
    /// caller tells the user it failed).
    pub fn expire_unanswered(&self, id: InteractionId) -> Option<Interaction> {
        self.live
            .remove_if(&id, |_, e| e.phase == Phase::Pending)
            .map(|(_, e)| e.interaction)
    }

    /// At the end of the token's lifetime.
    pub fn remove(&self, id: InteractionId) {
        self.live.remove(&id);
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: u64) -> Interaction {
        let id = InteractionId::new(id);
        Interaction {
            id,
            token: new_token(id),
            application_id: ApplicationId::new(5),
            bot: UserId::new(5),
            user: UserId::new(6),
            channel_id: ChannelId::new(7),
            guild_id: None,
            nonce: None,
            meta: MessageInteraction {
                id,
                kind: 2,
                command_kind: 1,
                name: "ping".into(),
                user_id: UserId::new(6),
                guild_id: None,
                original_response_message_id: None,
                target_user_id: None,
                target_message_id: None,
            },
            created: Instant::now(),
        }
    }

    #[test]
    fn tokens_name_their_interaction() {
        let token = new_token(InteractionId::new(1234));
        assert!(is_interaction_token(&token), "{token}");
        assert_eq!(id_of(&token), Some(InteractionId::new(1234)));
        assert_ne!(token, new_token(InteractionId::new(1234)));
        assert_eq!(id_of("abc"), None);
    }

    #[test]
    fn one_callback_per_interaction() {
        let reg = InteractionRegistry::default();
        let i = sample(1);
        reg.insert(i.clone());
        assert_eq!(
            reg.begin_response(i.id, "wrong").err(),
            Some(AckError::Unknown)
        );
        assert!(reg.begin_response(i.id, &i.token).is_ok());
        assert_eq!(
            reg.begin_response(i.id, &i.token).err(),
            Some(AckError::AlreadyAcknowledged)
        );
        // A refused response frees the slot again.
        reg.finish_response(i.id, None);
        assert!(reg.begin_response(i.id, &i.token).is_ok());
        let done = Phase::Acknowledged { original: None };
        reg.finish_response(i.id, Some(done));
        assert_eq!(reg.expire_unanswered(i.id).map(|i| i.id), None);
        assert_eq!(
            reg.by_token(i.application_id, &i.token).map(|(_, p)| p),
            Some(done)
        );
        assert!(reg.by_token(ApplicationId::new(9), &i.token).is_none());
    }

    #[test]
    fn unanswered_interactions_expire_at_the_deadline() {
        let reg = InteractionRegistry::default();
        let mut i = sample(2);
        i.created = Instant::now() - ACK_DEADLINE;
        reg.insert(i.clone());
        assert_eq!(
            reg.begin_response(i.id, &i.token).err(),
            Some(AckError::Unknown)
        );
        assert!(reg.get(i.id, &i.token).is_none());
        assert_eq!(reg.expire_unanswered(i.id).map(|x| x.id), Some(i.id));
        assert!(reg.is_empty());
    }
}
