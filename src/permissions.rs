//! Discord's permission bits and the computation of a member's effective permissions.
//!
//! The algorithm is Discord's documented one: base = @everyone | member's roles (ADMINISTRATOR or
//! ownership grants all); in a channel apply the @everyone overwrite, then the union of the
//! member's role overwrites (deny then allow), then the member overwrite. A timed-out member keeps
//! only VIEW_CHANNEL and READ_MESSAGE_HISTORY.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::id::{GuildId, RoleId, Snowflake, UserId};

bitflags::bitflags! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Permissions: u64 {
        const CREATE_INSTANT_INVITE = 1 << 0;
        const KICK_MEMBERS = 1 << 1;
        const BAN_MEMBERS = 1 << 2;
        const ADMINISTRATOR = 1 << 3;
        const MANAGE_CHANNELS = 1 << 4;
        const MANAGE_GUILD = 1 << 5;
        const ADD_REACTIONS = 1 << 6;
        const VIEW_AUDIT_LOG = 1 << 7;
        const PRIORITY_SPEAKER = 1 << 8;
        const STREAM = 1 << 9;
        const VIEW_CHANNEL = 1 << 10;
        const SEND_MESSAGES = 1 << 11;
        const SEND_TTS_MESSAGES = 1 << 12;
        const MANAGE_MESSAGES = 1 << 13;
        const EMBED_LINKS = 1 << 14;
        const ATTACH_FILES = 1 << 15;
        const READ_MESSAGE_HISTORY = 1 << 16;
        const MENTION_EVERYONE = 1 << 17;
        const USE_EXTERNAL_EMOJIS = 1 << 18;
        const VIEW_GUILD_INSIGHTS = 1 << 19;
        const CONNECT = 1 << 20;
        const SPEAK = 1 << 21;
        const MUTE_MEMBERS = 1 << 22;
        const DEAFEN_MEMBERS = 1 << 23;
        const MOVE_MEMBERS = 1 << 24;
        const USE_VAD = 1 << 25;
        const CHANGE_NICKNAME = 1 << 26;
        const MANAGE_NICKNAMES = 1 << 27;
        const MANAGE_ROLES = 1 << 28;
        const MANAGE_WEBHOOKS = 1 << 29;
        const MANAGE_GUILD_EXPRESSIONS = 1 << 30;
        const USE_APPLICATION_COMMANDS = 1 << 31;
        const REQUEST_TO_SPEAK = 1 << 32;
        const MANAGE_EVENTS = 1 << 33;
        const MANAGE_THREADS = 1 << 34;
        const CREATE_PUBLIC_THREADS = 1 << 35;
        const CREATE_PRIVATE_THREADS = 1 << 36;
        const USE_EXTERNAL_STICKERS = 1 << 37;
        const SEND_MESSAGES_IN_THREADS = 1 << 38;
        const USE_EMBEDDED_ACTIVITIES = 1 << 39;
        const MODERATE_MEMBERS = 1 << 40;
        const VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41;
        const USE_SOUNDBOARD = 1 << 42;
        const CREATE_GUILD_EXPRESSIONS = 1 << 43;
        const CREATE_EVENTS = 1 << 44;
        const USE_EXTERNAL_SOUNDS = 1 << 45;
        const SEND_VOICE_MESSAGES = 1 << 46;
        const SET_VOICE_CHANNEL_STATUS = 1 << 48;
        const SEND_POLLS = 1 << 49;
        const USE_EXTERNAL_APPS = 1 << 50;
        const PIN_MESSAGES = 1 << 51;
    }
}

impl Permissions {
    /// What a new guild's @everyone role gets (Discord's default for new guilds).
    pub const DEFAULT_EVERYONE: Self = Self::from_bits_truncate(
        Self::CREATE_INSTANT_INVITE.bits()
            | Self::ADD_REACTIONS.bits()
            | Self::STREAM.bits()
            | Self::VIEW_CHANNEL.bits()
            | Self::SEND_MESSAGES.bits()
            | Self::EMBED_LINKS.bits()
            | Self::ATTACH_FILES.bits()
            | Self::READ_MESSAGE_HISTORY.bits()
            | Self::MENTION_EVERYONE.bits()
            | Self::USE_EXTERNAL_EMOJIS.bits()
            | Self::CONNECT.bits()
            | Self::SPEAK.bits()
            | Self::USE_VAD.bits()
            | Self::CHANGE_NICKNAME.bits()
            | Self::USE_APPLICATION_COMMANDS.bits()
            | Self::REQUEST_TO_SPEAK.bits()
            | Self::CREATE_PUBLIC_THREADS.bits()
            | Self::CREATE_PRIVATE_THREADS.bits()
            | Self::USE_EXTERNAL_STICKERS.bits()
            | Self::SEND_MESSAGES_IN_THREADS.bits()
            | Self::USE_EMBEDDED_ACTIVITIES.bits()
            | Self::USE_SOUNDBOARD.bits()
            | Self::CREATE_GUILD_EXPRESSIONS.bits()
            | Self::CREATE_EVENTS.bits()
            | Self::USE_EXTERNAL_SOUNDS.bits()
            | Self::SEND_VOICE_MESSAGES.bits()
            | Self::SEND_POLLS.bits()
            | Self::USE_EXTERNAL_APPS.bits(),
    );

    /// What a timed-out member keeps.
    pub const TIMEOUT_ALLOWED: Self =
        Self::from_bits_truncate(Self::VIEW_CHANNEL.bits() | Self::READ_MESSAGE_HISTORY.bits());

    /// What a member quarantined by AutoMod for their profile keeps: what a timeout leaves,
    /// and changing their own nickname, which is how they fix their profile.
    pub const QUARANTINE_ALLOWED: Self =
        Self::from_bits_truncate(Self::TIMEOUT_ALLOWED.bits() | Self::CHANGE_NICKNAME.bits());

    /// Parses Discord's string form, dropping unknown bits (Discord ignores them too).
    pub fn parse_lenient(s: &str) -> Option<Self> {
        s.trim().parse::<u64>().ok().map(Self::from_bits_truncate)
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.bits())
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Permissions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a permission bitfield (string or integer)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Permissions, E> {
                Ok(Permissions::from_bits_truncate(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Permissions, E> {
                u64::try_from(v)
                    .map(Permissions::from_bits_truncate)
                    .map_err(|_| E::custom("negative bitfield"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Permissions, E> {
                Permissions::parse_lenient(v)
                    .ok_or_else(|| E::custom("invalid permission bitfield"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Whether an overwrite targets a role or a member (`type` 0 / 1 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum OverwriteKind {
    Role = 0,
    Member = 1,
}

impl TryFrom<u8> for OverwriteKind {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            0 => Ok(Self::Role),
            1 => Ok(Self::Member),
            other => Err(format!("unknown overwrite type {other}")),
        }
    }
}

impl From<OverwriteKind> for u8 {
    fn from(k: OverwriteKind) -> u8 {
        k as u8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PermissionOverwrite {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: OverwriteKind,
    #[serde(default)]
    pub allow: Permissions,
    #[serde(default)]
    pub deny: Permissions,
}

/// A permission check failed; carries what was missing (for logs, never for clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("missing permissions {0:?}")]
pub struct MissingPermissions(pub Permissions);

/// Everything needed to compute a member's permissions, borrowed from the guild actor's state.
#[derive(Debug, Clone, Copy)]
pub struct MemberContext<'a> {
    pub guild_id: GuildId,
    pub owner_id: UserId,
    pub user_id: UserId,
    /// The @everyone role's permissions.
    pub everyone: Permissions,
    /// The member's roles (excluding @everyone) with their permissions.
    pub roles: &'a [(RoleId, Permissions)],
    pub timed_out: bool,
    /// Quarantined by a MEMBER_PROFILE rule (member flag 128).
    pub quarantined: bool,
}

impl MemberContext<'_> {
    fn is_owner(&self) -> bool {
        self.owner_id == self.user_id
    }

    /// What a timeout or a quarantine leaves of `perms`.
    fn restrict(&self, perms: Permissions) -> Permissions {
        let mut kept = perms;
        if self.timed_out {
            kept &= Permissions::TIMEOUT_ALLOWED;
        }
        if self.quarantined {
            kept &= Permissions::QUARANTINE_ALLOWED;
        }
        kept
    }

    /// Guild-level permissions.
    pub fn guild_permissions(&self) -> Permissions {
        if self.is_owner() {
            return Permissions::all();
        }
        let base = self
            .roles
            .iter()
            .fold(self.everyone, |acc, (_, p)| acc | *p);
        if base.contains(Permissions::ADMINISTRATOR) {
            return Permissions::all();
        }
        self.restrict(base)
    }

    /// Permissions in a channel with the given overwrites.
    pub fn channel_permissions(&self, overwrites: &[PermissionOverwrite]) -> Permissions {
        let base = self.guild_permissions();
        if base.contains(Permissions::ADMINISTRATOR) {
            return Permissions::all();
        }
        let mut perms = base;
        let everyone_id = self.guild_id.0;
        if let Some(o) = overwrites
            .iter()
            .find(|o| o.kind == OverwriteKind::Role && o.id == everyone_id)
        {
            perms = (perms & !o.deny) | o.allow;
        }
        let (mut allow, mut deny) = (Permissions::empty(), Permissions::empty());
        for o in overwrites.iter().filter(|o| o.kind == OverwriteKind::Role) {
            if self.roles.iter().any(|(r, _)| r.0 == o.id) {
                allow |= o.allow;
                deny |= o.deny;
            }
        }
        perms = (perms & !deny) | allow;
        if let Some(o) = overwrites
            .iter()
            .find(|o| o.kind == OverwriteKind::Member && o.id == self.user_id.0)
        {
            perms = (perms & !o.deny) | o.allow;
        }
        // Discord's implicit rules: without VIEW_CHANNEL nothing else in the channel applies;
        // without SEND_MESSAGES the permissions that only qualify a sent message don't either.
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Permissions::empty();
        }
        if !perms.contains(Permissions::SEND_MESSAGES) {
            perms -= Permissions::SEND_TTS_MESSAGES
                | Permissions::MENTION_EVERYONE
                | Permissions::EMBED_LINKS
                | Permissions::ATTACH_FILES;
        }
        self.restrict(perms)
    }
}

/// Fails unless `have` contains all of `need`.
pub fn require(have: Permissions, need: Permissions) -> Result<(), MissingPermissions> {
    if have.contains(need) {
        Ok(())
    } else {
        Err(MissingPermissions(need - have))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: GuildId = GuildId::new(100);
    const OWNER: UserId = UserId::new(1);
    const USER: UserId = UserId::new(2);
    const MOD: RoleId = RoleId::new(300);

    fn ctx<'a>(roles: &'a [(RoleId, Permissions)]) -> MemberContext<'a> {
        MemberContext {
            guild_id: G,
            owner_id: OWNER,
            user_id: USER,
            everyone: Permissions::DEFAULT_EVERYONE,
            roles,
            timed_out: false,
            quarantined: false,
        }
    }

    #[test]
    fn serde_as_string() {
        let p = Permissions::ADMINISTRATOR | Permissions::PIN_MESSAGES;
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{}\"", (1u64 << 3) | (1u64 << 51)));
        assert_eq!(serde_json::from_str::<Permissions>(&json).unwrap(), p);
        assert_eq!(
            serde_json::from_str::<Permissions>("8").unwrap(),
            Permissions::ADMINISTRATOR
        );
    }

    #[test]
    fn owner_and_admin_get_everything() {
        let mut c = ctx(&[]);
        c.user_id = OWNER;
        assert_eq!(c.guild_permissions(), Permissions::all());
        let roles = [(MOD, Permissions::ADMINISTRATOR)];
        let c = ctx(&roles);
        let deny_all = [PermissionOverwrite {
            id: G.0,
            kind: OverwriteKind::Role,
            allow: Permissions::empty(),
            deny: Permissions::all(),
        }];
        assert_eq!(c.channel_permissions(&deny_all), Permissions::all());
    }

    #[test]
    fn overwrite_order_everyone_roles_member() {
        let roles = [(MOD, Permissions::empty())];
        let c = ctx(&roles);
        let ow = [
            PermissionOverwrite {
                id: G.0,
                kind: OverwriteKind::Role,
                allow: Permissions::empty(),
                deny: Permissions::SEND_MESSAGES,
            },
            PermissionOverwrite {
                id: MOD.0,
                kind: OverwriteKind::Role,
                allow: Permissions::SEND_MESSAGES,
                deny: Permissions::empty(),
            },
        ];
        assert!(
            c.channel_permissions(&ow)
                .contains(Permissions::SEND_MESSAGES)
        );
        let mut ow2 = ow.to_vec();
        ow2.push(PermissionOverwrite {
            id: USER.0,
            kind: OverwriteKind::Member,
            allow: Permissions::empty(),
            deny: Permissions::SEND_MESSAGES,
        });
        assert!(
            !c.channel_permissions(&ow2)
                .contains(Permissions::SEND_MESSAGES)
        );
        assert!(
            c.channel_permissions(&ow2)
                .contains(Permissions::VIEW_CHANNEL)
        );
    }

    #[test]
    fn no_view_means_nothing() {
        let c = ctx(&[]);
        let ow = [PermissionOverwrite {
            id: G.0,
            kind: OverwriteKind::Role,
            allow: Permissions::empty(),
            deny: Permissions::VIEW_CHANNEL,
        }];
        assert_eq!(c.channel_permissions(&ow), Permissions::empty());
    }

    #[test]
    fn timeout_keeps_read_only() {
        let mut c = ctx(&[]);
        c.timed_out = true;
        assert_eq!(c.guild_permissions(), Permissions::TIMEOUT_ALLOWED);
        assert!(require(c.channel_permissions(&[]), Permissions::SEND_MESSAGES).is_err());
        assert!(require(c.channel_permissions(&[]), Permissions::VIEW_CHANNEL).is_ok());
    }

    #[test]
    fn quarantine_keeps_read_only_and_the_nickname() {
        let mut c = ctx(&[]);
        c.quarantined = true;
        assert_eq!(
            c.guild_permissions(),
            Permissions::TIMEOUT_ALLOWED | Permissions::CHANGE_NICKNAME
        );
        assert!(require(c.channel_permissions(&[]), Permissions::SEND_MESSAGES).is_err());
        assert!(require(c.channel_permissions(&[]), Permissions::ADD_REACTIONS).is_err());
        assert!(require(c.guild_permissions(), Permissions::CHANGE_NICKNAME).is_ok());
        // A timeout on top takes the nickname too.
        c.timed_out = true;
        assert_eq!(c.guild_permissions(), Permissions::TIMEOUT_ALLOWED);
    }

    /// One row per rule: (everyone, role perms, overwrites, owner?, timed out?, expected check).
    #[test]
    fn rule_table() {
        let none: [PermissionOverwrite; 0] = [];
        let deny_send = [PermissionOverwrite {
            id: G.0,
            kind: OverwriteKind::Role,
            allow: Permissions::empty(),
            deny: Permissions::SEND_MESSAGES,
        }];
        let allow_send_for_mod = [
            PermissionOverwrite {
                id: G.0,
                kind: OverwriteKind::Role,
                allow: Permissions::empty(),
                deny: Permissions::SEND_MESSAGES,
            },
            PermissionOverwrite {
                id: MOD.0,
                kind: OverwriteKind::Role,
                allow: Permissions::SEND_MESSAGES,
                deny: Permissions::empty(),
            },
        ];
        type Check = fn(Permissions) -> bool;
        /// (name, @everyone, role, overwrites, owner, timed out, check)
        type Case<'a> = (
            &'a str,
            Permissions,
            Permissions,
            &'a [PermissionOverwrite],
            bool,
            bool,
            Check,
        );
        let cases: Vec<Case> = vec![
            (
                "owner gets all",
                Permissions::empty(),
                Permissions::empty(),
                &none,
                true,
                false,
                |p| p == Permissions::all(),
            ),
            (
                "everyone is the base",
                Permissions::DEFAULT_EVERYONE,
                Permissions::empty(),
                &none,
                false,
                false,
                |p| p.contains(Permissions::SEND_MESSAGES),
            ),
            (
                "roles add",
                Permissions::empty() | Permissions::VIEW_CHANNEL,
                Permissions::KICK_MEMBERS,
                &none,
                false,
                false,
                |p| p.contains(Permissions::KICK_MEMBERS),
            ),
            (
                "administrator gets all",
                Permissions::empty(),
                Permissions::ADMINISTRATOR,
                &deny_send,
                false,
                false,
                |p| p == Permissions::all(),
            ),
            (
                "everyone overwrite denies",
                Permissions::DEFAULT_EVERYONE,
                Permissions::empty(),
                &deny_send,
                false,
                false,
                |p| !p.contains(Permissions::SEND_MESSAGES),
            ),
            (
                "role overwrite re-allows",
                Permissions::DEFAULT_EVERYONE,
                Permissions::empty(),
                &allow_send_for_mod,
                false,
                false,
                |p| p.contains(Permissions::SEND_MESSAGES),
            ),
            (
                "no send → no attach/embed/@everyone",
                Permissions::DEFAULT_EVERYONE,
                Permissions::empty(),
                &deny_send,
                false,
                false,
                |p| {
                    !p.intersects(
                        Permissions::ATTACH_FILES
                            | Permissions::EMBED_LINKS
                            | Permissions::MENTION_EVERYONE,
                    )
                },
            ),
            (
                "timed out → read only",
                Permissions::DEFAULT_EVERYONE,
                Permissions::MANAGE_MESSAGES,
                &none,
                false,
                true,
                |p| p == Permissions::TIMEOUT_ALLOWED,
            ),
        ];
        for (name, everyone, role, overwrites, owner, timed_out, check) in cases {
            let roles = [(MOD, role)];
            let mut c = ctx(&roles);
            c.everyone = everyone;
            c.timed_out = timed_out;
            if owner {
                c.user_id = OWNER;
            }
            assert!(check(c.channel_permissions(overwrites)), "{name}");
        }
    }
}
