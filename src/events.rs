//! Gateway dispatch events as they leave an actor: named, encoded once, shared by every
//! recipient session (`Arc<Dispatch>`), with the intent that gates them precomputed.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::Serialize;

use crate::gateway::intents::{Intents, intent_for_event};
use crate::id::UserId;

/// One event, serialized once. Sessions only add `{"t","s","op"}` around `data`.
#[derive(Debug)]
pub struct Dispatch {
    pub name: &'static str,
    pub data: Bytes,
    /// The intent a session needs to receive this event (None: always delivered).
    pub intent: Option<Intents>,
    /// For guild messages: the same payload without content/embeds/attachments, for bots
    /// without the MESSAGE_CONTENT intent, and the users who see the full payload anyway
    /// (author, mentioned users) — Discord's rule.
    pub redacted: Option<Redacted>,
}

/// The MESSAGE_CONTENT-less variant, built only when a session first needs it: most guilds
/// have no bot lacking the intent, so the common path encodes a message exactly once.
#[derive(Debug)]
pub struct Redacted {
    data: OnceLock<Bytes>,
    pub exempt: Vec<UserId>,
}

impl Redacted {
    fn bytes(&self, full: &Bytes) -> &Bytes {
        self.data.get_or_init(|| {
            let Ok(mut m) = serde_json::from_slice::<serde_json::Value>(full) else {
                return full.clone();
            };
            if let Some(obj) = m.as_object_mut() {
                for (k, empty) in [
                    ("content", serde_json::json!("")),
                    ("embeds", serde_json::json!([])),
                    ("attachments", serde_json::json!([])),
                    ("components", serde_json::json!([])),
                    // AUTO_MODERATION_ACTION_EXECUTION's copy of the matched text.
                    ("matched_content", serde_json::json!("")),
                ] {
                    if obj.contains_key(k) {
                        obj.insert(k.into(), empty);
                    }
                }
            }
            encode(&m)
        })
    }
}

impl Dispatch {
    pub fn new(name: &'static str, data: &impl Serialize, in_guild: bool) -> Arc<Self> {
        Arc::new(Self {
            name,
            data: encode(data),
            intent: intent_for_event(name, in_guild),
            redacted: None,
        })
    }

    /// A message event; in guilds it can also produce the variant for bots without
    /// MESSAGE_CONTENT (see [`Redacted`]).
    pub fn message(
        name: &'static str,
        message: &serde_json::Value,
        in_guild: bool,
        exempt: Vec<UserId>,
    ) -> Arc<Self> {
        Self::message_encoded(name, encode(message), in_guild, exempt)
    }

    /// [`Dispatch::message`] for a message object already serialized (the same bytes the
    /// REST reply carries, so a message is encoded once for both).
    pub fn message_encoded(
        name: &'static str,
        data: Bytes,
        in_guild: bool,
        exempt: Vec<UserId>,
    ) -> Arc<Self> {
        let redacted = in_guild.then(|| Redacted {
            data: OnceLock::new(),
            exempt,
        });
        Arc::new(Self {
            name,
            data,
            intent: intent_for_event(name, in_guild),
            redacted,
        })
    }

    /// The bytes a given session should receive.
    pub fn payload_for(&self, user: UserId, bot: bool, intents: Intents) -> &Bytes {
        match &self.redacted {
            Some(r)
                if bot
                    && !intents.contains(Intents::MESSAGE_CONTENT)
                    && !r.exempt.contains(&user) =>
            {
                r.bytes(&self.data)
            }
            _ => &self.data,
        }
    }
}

fn encode(v: &impl Serialize) -> Bytes {
    // Serializing our own types cannot fail (no non-string map keys); an empty object is a safe
    // fallback that keeps the frame valid JSON.
    serde_json::to_vec(v)
        .map(Bytes::from)
        .unwrap_or_else(|_| Bytes::from_static(b"{}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_content_is_redacted_for_bots_without_intent() {
        let msg = serde_json::json!({"id": "1", "content": "secret", "embeds": [{"title": "x"}]});
        let author = UserId::new(7);
        let d = Dispatch::message("MESSAGE_CREATE", &msg, true, vec![author]);
        let bot = UserId::new(9);
        let plain: serde_json::Value =
            serde_json::from_slice(d.payload_for(bot, true, Intents::GUILD_MESSAGES)).unwrap();
        assert_eq!(plain["content"], "");
        assert_eq!(plain["embeds"], serde_json::json!([]));
        let full = d.payload_for(
            bot,
            true,
            Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT,
        );
        assert!(std::str::from_utf8(full).unwrap().contains("secret"));
        assert!(
            std::str::from_utf8(d.payload_for(author, true, Intents::GUILD_MESSAGES))
                .unwrap()
                .contains("secret")
        );
        assert!(
            std::str::from_utf8(d.payload_for(bot, false, Intents::empty()))
                .unwrap()
                .contains("secret")
        );
        assert_eq!(d.intent, Some(Intents::GUILD_MESSAGES));
    }
}
