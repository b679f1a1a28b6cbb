//! Gateway intents: which groups of dispatch events a session has asked to receive.
//!
//! A session sends `intents` in IDENTIFY; the fan-out path asks [`intent_for_event`] which
//! intent gates an event and drops it for sessions that lack it, so no event is serialized
//! or sent to a client that did not ask for it.

bitflags::bitflags! {
    /// Discord's gateway intents (a `u64` bitfield; the wire value is a JSON number).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Intents: u64 {
        /// Guild, role, channel, thread and stage instance lifecycle.
        const GUILDS = 1 << 0;
        /// Member add/update/remove. Privileged.
        const GUILD_MEMBERS = 1 << 1;
        /// Bans and audit log entries (formerly GUILD_BANS).
        const GUILD_MODERATION = 1 << 2;
        /// Emojis, stickers and soundboard sounds (formerly GUILD_EMOJIS_AND_STICKERS).
        const GUILD_EXPRESSIONS = 1 << 3;
        /// Integrations.
        const GUILD_INTEGRATIONS = 1 << 4;
        /// Webhooks.
        const GUILD_WEBHOOKS = 1 << 5;
        /// Invites.
        const GUILD_INVITES = 1 << 6;
        /// Voice states and voice channel effects.
        const GUILD_VOICE_STATES = 1 << 7;
        /// Presence updates of guild members. Privileged.
        const GUILD_PRESENCES = 1 << 8;
        /// Messages in guild channels.
        const GUILD_MESSAGES = 1 << 9;
        /// Reactions in guild channels.
        const GUILD_MESSAGE_REACTIONS = 1 << 10;
        /// Typing in guild channels.
        const GUILD_MESSAGE_TYPING = 1 << 11;
        /// Messages in DMs.
        const DIRECT_MESSAGES = 1 << 12;
        /// Reactions in DMs.
        const DIRECT_MESSAGE_REACTIONS = 1 << 13;
        /// Typing in DMs.
        const DIRECT_MESSAGE_TYPING = 1 << 14;
        /// Not an event group: without it message events lose `content`, `embeds`,
        /// `attachments`, `components` and `poll` (except in DMs, or when the session's user
        /// authored or is mentioned in the message). Privileged.
        const MESSAGE_CONTENT = 1 << 15;
        /// Scheduled events.
        const GUILD_SCHEDULED_EVENTS = 1 << 16;
        /// AutoMod rule lifecycle.
        const AUTO_MODERATION_CONFIGURATION = 1 << 20;
        /// AutoMod actions taken.
        const AUTO_MODERATION_EXECUTION = 1 << 21;
        /// Poll votes in guild channels.
        const GUILD_MESSAGE_POLLS = 1 << 24;
        /// Poll votes in DMs.
        const DIRECT_MESSAGE_POLLS = 1 << 25;
    }
}

impl Intents {
    /// Intents a bot must be allowed to use (Discord's "privileged intents"); asking for one
    /// that is not allowed closes with 4014.
    pub const PRIVILEGED: Intents = Intents::GUILD_MEMBERS
        .union(Intents::GUILD_PRESENCES)
        .union(Intents::MESSAGE_CONTENT);

    /// Every intent that is not privileged.
    pub const NON_PRIVILEGED: Intents = Intents::all().difference(Intents::PRIVILEGED);

    /// What a session gets when IDENTIFY carries no `intents` (user clients, e.g. Discord's
    /// own web client, never send it): every non-privileged intent plus MESSAGE_CONTENT.
    ///
    /// MESSAGE_CONTENT is in because a chat client that cannot read messages is useless.
    /// GUILD_MEMBERS and GUILD_PRESENCES stay out because they are the expensive fan-outs
    /// (every member change and every status change of every guild); a client that wants
    /// them can ask for them explicitly.
    pub const IMPLICIT_DEFAULT: Intents = Intents::NON_PRIVILEGED.union(Intents::MESSAGE_CONTENT);

    /// Parse the IDENTIFY `intents` number. Bits that are no intent (e.g. 1 << 17) are an
    /// error, which the gateway answers with close 4013 InvalidIntents.
    pub fn from_wire(bits: u64) -> Result<Intents, InvalidIntents> {
        Intents::from_bits(bits).ok_or(InvalidIntents(bits))
    }
}

/// The IDENTIFY `intents` value had bits that are not intents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid intents value {0}")]
pub struct InvalidIntents(pub u64);

/// The intent a session needs to receive the dispatch event `event_name`, or `None` when the
/// event is not gated (READY, RESUMED, USER_UPDATE, INTERACTION_CREATE, GUILD_MEMBERS_CHUNK…)
/// or not known here (unknown events are let through rather than silently lost).
///
/// `in_guild` says whether the event happened in a guild; events that exist in both guilds and
/// DMs (messages, reactions, typing, pins, polls) map to the DIRECT_MESSAGE* intent otherwise.
/// DM CHANNEL_CREATE/UPDATE/DELETE and friends' PRESENCE_UPDATE (not in a guild) are ungated,
/// as they are on Discord for user accounts.
pub fn intent_for_event(event_name: &str, in_guild: bool) -> Option<Intents> {
    let guild_or_dm = |guild: Intents, dm: Intents| Some(if in_guild { guild } else { dm });
    match event_name {
        "GUILD_CREATE"
        | "GUILD_UPDATE"
        | "GUILD_DELETE"
        | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE"
        | "GUILD_ROLE_DELETE"
        | "THREAD_CREATE"
        | "THREAD_UPDATE"
        | "THREAD_DELETE"
        | "THREAD_LIST_SYNC"
        | "THREAD_MEMBER_UPDATE"
        | "THREAD_MEMBERS_UPDATE"
        | "STAGE_INSTANCE_CREATE"
        | "STAGE_INSTANCE_UPDATE"
        | "STAGE_INSTANCE_DELETE"
        | "VOICE_CHANNEL_STATUS_UPDATE" => Some(Intents::GUILDS),
        "CHANNEL_CREATE" | "CHANNEL_UPDATE" | "CHANNEL_DELETE" => {
            in_guild.then_some(Intents::GUILDS)
        }
        "CHANNEL_PINS_UPDATE" => guild_or_dm(Intents::GUILDS, Intents::DIRECT_MESSAGES),
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => {
            Some(Intents::GUILD_MEMBERS)
        }
        "GUILD_AUDIT_LOG_ENTRY_CREATE" | "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" => {
            Some(Intents::GUILD_MODERATION)
        }
        "GUILD_EMOJIS_UPDATE"
        | "GUILD_STICKERS_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_CREATE"
        | "GUILD_SOUNDBOARD_SOUND_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_DELETE"
        | "GUILD_SOUNDBOARD_SOUNDS_UPDATE" => Some(Intents::GUILD_EXPRESSIONS),
        "GUILD_INTEGRATIONS_UPDATE"
        | "INTEGRATION_CREATE"
        | "INTEGRATION_UPDATE"
        | "INTEGRATION_DELETE" => Some(Intents::GUILD_INTEGRATIONS),
        "WEBHOOKS_UPDATE" => Some(Intents::GUILD_WEBHOOKS),
        "INVITE_CREATE" | "INVITE_DELETE" => Some(Intents::GUILD_INVITES),
        "VOICE_STATE_UPDATE" | "VOICE_CHANNEL_EFFECT_SEND" => Some(Intents::GUILD_VOICE_STATES),
        "PRESENCE_UPDATE" => in_guild.then_some(Intents::GUILD_PRESENCES),
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            guild_or_dm(Intents::GUILD_MESSAGES, Intents::DIRECT_MESSAGES)
        }
        "MESSAGE_REACTION_ADD"
        | "MESSAGE_REACTION_REMOVE"
        | "MESSAGE_REACTION_REMOVE_ALL"
        | "MESSAGE_REACTION_REMOVE_EMOJI" => guild_or_dm(
            Intents::GUILD_MESSAGE_REACTIONS,
            Intents::DIRECT_MESSAGE_REACTIONS,
        ),
        "TYPING_START" => guild_or_dm(
            Intents::GUILD_MESSAGE_TYPING,
            Intents::DIRECT_MESSAGE_TYPING,
        ),
        "GUILD_SCHEDULED_EVENT_CREATE"
        | "GUILD_SCHEDULED_EVENT_UPDATE"
        | "GUILD_SCHEDULED_EVENT_DELETE"
        | "GUILD_SCHEDULED_EVENT_USER_ADD"
        | "GUILD_SCHEDULED_EVENT_USER_REMOVE" => Some(Intents::GUILD_SCHEDULED_EVENTS),
        "AUTO_MODERATION_RULE_CREATE"
        | "AUTO_MODERATION_RULE_UPDATE"
        | "AUTO_MODERATION_RULE_DELETE" => Some(Intents::AUTO_MODERATION_CONFIGURATION),
        "AUTO_MODERATION_ACTION_EXECUTION" => Some(Intents::AUTO_MODERATION_EXECUTION),
        "MESSAGE_POLL_VOTE_ADD" | "MESSAGE_POLL_VOTE_REMOVE" => {
            guild_or_dm(Intents::GUILD_MESSAGE_POLLS, Intents::DIRECT_MESSAGE_POLLS)
        }
        _ => None,
    }
}

/// Whether a session with `intents` should receive `event_name` (convenience over
/// [`intent_for_event`]: ungated events always pass).
pub fn wants_event(intents: Intents, event_name: &str, in_guild: bool) -> bool {
    intent_for_event(event_name, in_guild).is_none_or(|needed| intents.contains(needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_values_match_discord() {
        assert_eq!(Intents::GUILDS.bits(), 1);
        assert_eq!(Intents::GUILD_MEMBERS.bits(), 2);
        assert_eq!(Intents::GUILD_PRESENCES.bits(), 256);
        assert_eq!(Intents::GUILD_MESSAGES.bits(), 512);
        assert_eq!(Intents::DIRECT_MESSAGES.bits(), 4096);
        assert_eq!(Intents::MESSAGE_CONTENT.bits(), 32768);
        assert_eq!(Intents::GUILD_SCHEDULED_EVENTS.bits(), 65536);
        assert_eq!(Intents::AUTO_MODERATION_CONFIGURATION.bits(), 1 << 20);
        assert_eq!(Intents::DIRECT_MESSAGE_POLLS.bits(), 1 << 25);
        // Every defined intent: bits 0–16, 20, 21, 24, 25.
        assert_eq!(Intents::all().bits(), 0x0331_FFFF);
        assert_eq!(Intents::PRIVILEGED.bits(), 2 | 256 | 32768);
        // discord.js's "all non-privileged" value.
        assert_eq!(Intents::NON_PRIVILEGED.bits(), 53_575_421);
    }

    #[test]
    fn implicit_default_has_content_but_no_member_or_presence_flood() {
        let d = Intents::IMPLICIT_DEFAULT;
        assert!(d.contains(Intents::MESSAGE_CONTENT | Intents::GUILD_MESSAGES));
        assert!(!d.intersects(Intents::GUILD_MEMBERS | Intents::GUILD_PRESENCES));
    }

    #[test]
    fn from_wire_rejects_undefined_bits() {
        assert_eq!(
            Intents::from_wire(513),
            Ok(Intents::GUILDS | Intents::GUILD_MESSAGES)
        );
        assert_eq!(Intents::from_wire(0), Ok(Intents::empty()));
        assert_eq!(Intents::from_wire(1 << 17), Err(InvalidIntents(1 << 17)));
        assert_eq!(
            Intents::from_wire(1 << 40 | 1),
            Err(InvalidIntents(1 << 40 | 1))
        );
    }

    #[test]
    fn guild_and_dm_variants() {
        let cases = [
            (
                "MESSAGE_CREATE",
                Intents::GUILD_MESSAGES,
                Intents::DIRECT_MESSAGES,
            ),
            (
                "MESSAGE_DELETE_BULK",
                Intents::GUILD_MESSAGES,
                Intents::DIRECT_MESSAGES,
            ),
            (
                "MESSAGE_REACTION_ADD",
                Intents::GUILD_MESSAGE_REACTIONS,
                Intents::DIRECT_MESSAGE_REACTIONS,
            ),
            (
                "MESSAGE_REACTION_REMOVE_EMOJI",
                Intents::GUILD_MESSAGE_REACTIONS,
                Intents::DIRECT_MESSAGE_REACTIONS,
            ),
            (
                "TYPING_START",
                Intents::GUILD_MESSAGE_TYPING,
                Intents::DIRECT_MESSAGE_TYPING,
            ),
            (
                "CHANNEL_PINS_UPDATE",
                Intents::GUILDS,
                Intents::DIRECT_MESSAGES,
            ),
            (
                "MESSAGE_POLL_VOTE_ADD",
                Intents::GUILD_MESSAGE_POLLS,
                Intents::DIRECT_MESSAGE_POLLS,
            ),
        ];
        for (name, guild, dm) in cases {
            assert_eq!(intent_for_event(name, true), Some(guild), "{name} in guild");
            assert_eq!(intent_for_event(name, false), Some(dm), "{name} in DM");
        }
    }

    #[test]
    fn guild_only_events() {
        let cases = [
            ("GUILD_CREATE", Intents::GUILDS),
            ("GUILD_ROLE_DELETE", Intents::GUILDS),
            ("THREAD_MEMBERS_UPDATE", Intents::GUILDS),
            ("STAGE_INSTANCE_UPDATE", Intents::GUILDS),
            ("GUILD_MEMBER_ADD", Intents::GUILD_MEMBERS),
            ("GUILD_MEMBER_REMOVE", Intents::GUILD_MEMBERS),
            ("GUILD_BAN_ADD", Intents::GUILD_MODERATION),
            ("GUILD_AUDIT_LOG_ENTRY_CREATE", Intents::GUILD_MODERATION),
            ("GUILD_EMOJIS_UPDATE", Intents::GUILD_EXPRESSIONS),
            ("GUILD_SOUNDBOARD_SOUNDS_UPDATE", Intents::GUILD_EXPRESSIONS),
            ("INTEGRATION_DELETE", Intents::GUILD_INTEGRATIONS),
            ("WEBHOOKS_UPDATE", Intents::GUILD_WEBHOOKS),
            ("INVITE_CREATE", Intents::GUILD_INVITES),
            ("VOICE_STATE_UPDATE", Intents::GUILD_VOICE_STATES),
            ("VOICE_CHANNEL_EFFECT_SEND", Intents::GUILD_VOICE_STATES),
            (
                "GUILD_SCHEDULED_EVENT_USER_ADD",
                Intents::GUILD_SCHEDULED_EVENTS,
            ),
            (
                "AUTO_MODERATION_RULE_CREATE",
                Intents::AUTO_MODERATION_CONFIGURATION,
            ),
            (
                "AUTO_MODERATION_ACTION_EXECUTION",
                Intents::AUTO_MODERATION_EXECUTION,
            ),
        ];
        for (name, intent) in cases {
            assert_eq!(intent_for_event(name, true), Some(intent), "{name}");
        }
        assert_eq!(
            intent_for_event("CHANNEL_CREATE", true),
            Some(Intents::GUILDS)
        );
        assert_eq!(
            intent_for_event("PRESENCE_UPDATE", true),
            Some(Intents::GUILD_PRESENCES)
        );
    }

    #[test]
    fn ungated_events() {
        for name in [
            "READY",
            "RESUMED",
            "USER_UPDATE",
            "INTERACTION_CREATE",
            "GUILD_MEMBERS_CHUNK",
            "VOICE_SERVER_UPDATE",
            "ENTITLEMENT_CREATE",
            "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
            "SOME_FUTURE_EVENT",
        ] {
            assert_eq!(intent_for_event(name, true), None, "{name}");
            assert_eq!(intent_for_event(name, false), None, "{name}");
        }
        // DM channel lifecycle and friends' presence are not gated.
        assert_eq!(intent_for_event("CHANNEL_CREATE", false), None);
        assert_eq!(intent_for_event("PRESENCE_UPDATE", false), None);
    }

    #[test]
    fn wants_event_filters() {
        let bot = Intents::GUILDS | Intents::GUILD_MESSAGES;
        assert!(wants_event(bot, "MESSAGE_CREATE", true));
        assert!(!wants_event(bot, "MESSAGE_CREATE", false));
        assert!(!wants_event(bot, "TYPING_START", true));
        assert!(wants_event(bot, "READY", false));
        assert!(wants_event(Intents::empty(), "INTERACTION_CREATE", true));
    }
}
