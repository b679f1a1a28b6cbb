//! Gateway opcodes (the `op` field of every gateway frame).
//!
//! Serialized as the bare integer Discord uses, never as a name, so a frame we emit is
//! byte-for-byte what client libraries expect and a frame they send maps straight back.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Discord Gateway v10 opcode.
///
/// Some opcodes only travel server → client (`Dispatch`, `Reconnect`, `InvalidSession`,
/// `Hello`, `HeartbeatAck`); [`OpCode::is_client_sendable`] says which a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// An event was dispatched (server → client).
    Dispatch = 0,
    /// Keep the connection alive (both directions: the server may request one).
    Heartbeat = 1,
    /// Start a new session (client → server).
    Identify = 2,
    /// Update the client's presence (client → server).
    PresenceUpdate = 3,
    /// Join, move or leave a voice channel (client → server).
    VoiceStateUpdate = 4,
    /// Resume a previous session (client → server).
    Resume = 6,
    /// The client should reconnect and resume (server → client).
    Reconnect = 7,
    /// Ask for guild members in `GUILD_MEMBERS_CHUNK` events (client → server).
    RequestGuildMembers = 8,
    /// The session has been invalidated; `d` says whether it is resumable (server → client).
    InvalidSession = 9,
    /// First frame after connecting, carries `heartbeat_interval` (server → client).
    Hello = 10,
    /// Acknowledges a heartbeat (server → client).
    HeartbeatAck = 11,
    /// User clients' "lazy request" for a guild's member list sidebar (Discord's client and
    /// Spacebar's send it; undocumented for bots) (client → server).
    GuildSubscriptions = 14,
    /// Ask for the soundboard sounds of guilds (client → server).
    RequestSoundboardSounds = 31,
    /// The bulk form of op 14: subscriptions for several guilds at once (client → server).
    GuildSubscriptionsBulk = 37,
}

impl OpCode {
    /// The integer value on the wire.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// Whether a client may send this opcode. The others are server-only: receiving one
    /// from a client is treated like an unknown opcode (close 4001), as Discord does.
    pub const fn is_client_sendable(self) -> bool {
        matches!(
            self,
            Self::Heartbeat
                | Self::Identify
                | Self::PresenceUpdate
                | Self::VoiceStateUpdate
                | Self::Resume
                | Self::RequestGuildMembers
                | Self::RequestSoundboardSounds
                | Self::GuildSubscriptions
                | Self::GuildSubscriptionsBulk
        )
    }
}

/// The integer is not an opcode Discord defines (5, 12–13, 15–30 and 32–36 are gaps here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown gateway opcode {0}")]
pub struct UnknownOpCode(pub u64);

impl TryFrom<u8> for OpCode {
    type Error = UnknownOpCode;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Ok(match value {
            0 => Self::Dispatch,
            1 => Self::Heartbeat,
            2 => Self::Identify,
            3 => Self::PresenceUpdate,
            4 => Self::VoiceStateUpdate,
            6 => Self::Resume,
            7 => Self::Reconnect,
            8 => Self::RequestGuildMembers,
            9 => Self::InvalidSession,
            10 => Self::Hello,
            11 => Self::HeartbeatAck,
            14 => Self::GuildSubscriptions,
            31 => Self::RequestSoundboardSounds,
            37 => Self::GuildSubscriptionsBulk,
            other => return Err(UnknownOpCode(u64::from(other))),
        })
    }
}

impl TryFrom<u64> for OpCode {
    type Error = UnknownOpCode;

    /// Wide version for raw JSON numbers, so `op: 300` is "unknown opcode", not a decode error.
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        u8::try_from(value)
            .map_err(|_| UnknownOpCode(value))
            .and_then(Self::try_from)
    }
}

impl From<OpCode> for u8 {
    fn from(op: OpCode) -> Self {
        op.code()
    }
}

impl Serialize for OpCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for OpCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = u64::deserialize(deserializer)?;
        Self::try_from(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [OpCode; 14] = [
        OpCode::Dispatch,
        OpCode::Heartbeat,
        OpCode::Identify,
        OpCode::PresenceUpdate,
        OpCode::VoiceStateUpdate,
        OpCode::Resume,
        OpCode::Reconnect,
        OpCode::RequestGuildMembers,
        OpCode::InvalidSession,
        OpCode::Hello,
        OpCode::HeartbeatAck,
        OpCode::RequestSoundboardSounds,
        OpCode::GuildSubscriptions,
        OpCode::GuildSubscriptionsBulk,
    ];

    #[test]
    fn discord_values() {
        let codes: Vec<u8> = ALL.iter().map(|op| op.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 31, 14, 37]);
    }

    #[test]
    fn try_from_round_trips_and_rejects_gaps() {
        for op in ALL {
            assert_eq!(OpCode::try_from(op.code()), Ok(op));
        }
        for gap in [5u8, 12, 30, 32, 255] {
            assert_eq!(OpCode::try_from(gap), Err(UnknownOpCode(u64::from(gap))));
        }
        assert_eq!(OpCode::try_from(300u64), Err(UnknownOpCode(300)));
    }

    #[test]
    fn serde_as_integer() {
        assert_eq!(serde_json::to_string(&OpCode::Hello).unwrap(), "10");
        let op: OpCode = serde_json::from_str("31").unwrap();
        assert_eq!(op, OpCode::RequestSoundboardSounds);
        assert!(serde_json::from_str::<OpCode>("5").is_err());
        assert!(serde_json::from_str::<OpCode>("\"2\"").is_err());
    }

    #[test]
    fn client_sendable() {
        let sendable: Vec<u8> = ALL
            .iter()
            .filter(|op| op.is_client_sendable())
            .map(|op| op.code())
            .collect();
        assert_eq!(sendable, [1, 2, 3, 4, 6, 8, 31, 14, 37]);
    }
}
