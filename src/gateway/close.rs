//! Gateway close codes (the WebSocket close status the server sends when it ends a session).
//!
//! Client libraries decide from the code alone whether to reconnect and resume, reconnect and
//! identify, or give up, so we send exactly Discord's codes with Discord's reasons.

/// A Discord Gateway close event code (4000–4014; 4006 is not used by Discord).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// Something went wrong on our side; the client should reconnect.
    UnknownError = 4000,
    /// Invalid opcode, or an invalid payload for an opcode.
    UnknownOpcode = 4001,
    /// The payload could not be decoded.
    DecodeError = 4002,
    /// A payload was sent before identifying (or the session was invalidated).
    NotAuthenticated = 4003,
    /// The token in IDENTIFY is wrong.
    AuthenticationFailed = 4004,
    /// More than one IDENTIFY (or RESUME) was sent on this connection.
    AlreadyAuthenticated = 4005,
    /// The sequence in RESUME is invalid.
    InvalidSeq = 4007,
    /// Too many payloads in too short a time.
    RateLimited = 4008,
    /// The client stopped heartbeating.
    SessionTimedOut = 4009,
    /// The `shard` array in IDENTIFY is invalid.
    InvalidShard = 4010,
    /// The session would hold too many guilds; the client must shard.
    ShardingRequired = 4011,
    /// The `v` query parameter names a gateway version we do not serve.
    InvalidApiVersion = 4012,
    /// The `intents` value has bits that are not intents.
    InvalidIntents = 4013,
    /// The `intents` value asks for a privileged intent the application may not use.
    DisallowedIntents = 4014,
}

impl CloseCode {
    /// Every close code, in numeric order.
    pub const ALL: [CloseCode; 14] = [
        Self::UnknownError,
        Self::UnknownOpcode,
        Self::DecodeError,
        Self::NotAuthenticated,
        Self::AuthenticationFailed,
        Self::AlreadyAuthenticated,
        Self::InvalidSeq,
        Self::RateLimited,
        Self::SessionTimedOut,
        Self::InvalidShard,
        Self::ShardingRequired,
        Self::InvalidApiVersion,
        Self::InvalidIntents,
        Self::DisallowedIntents,
    ];

    /// The numeric WebSocket close status.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// Discord's short description ("Disallowed intent(s)"), sent as the close frame's reason
    /// text. Short because a close frame's reason must fit in 123 bytes.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::UnknownError => "Unknown error",
            Self::UnknownOpcode => "Unknown opcode",
            Self::DecodeError => "Decode error",
            Self::NotAuthenticated => "Not authenticated",
            Self::AuthenticationFailed => "Authentication failed",
            Self::AlreadyAuthenticated => "Already authenticated",
            Self::InvalidSeq => "Invalid seq",
            Self::RateLimited => "Rate limited",
            Self::SessionTimedOut => "Session timed out",
            Self::InvalidShard => "Invalid shard",
            Self::ShardingRequired => "Sharding required",
            Self::InvalidApiVersion => "Invalid API version",
            Self::InvalidIntents => "Invalid intent(s)",
            Self::DisallowedIntents => "Disallowed intent(s)",
        }
    }

    /// Discord's longer explanation of the code, for logs and documentation (too long for
    /// some close frames, see [`CloseCode::reason`]).
    pub const fn explanation(self) -> &'static str {
        match self {
            Self::UnknownError => "We're not sure what went wrong. Try reconnecting?",
            Self::UnknownOpcode => {
                "You sent an invalid Gateway opcode or an invalid payload for an opcode. Don't do that!"
            }
            Self::DecodeError => "You sent an invalid payload. Don't do that!",
            Self::NotAuthenticated => {
                "You sent us a payload prior to identifying, or this session has been invalidated."
            }
            Self::AuthenticationFailed => {
                "The account token sent with your identify payload is incorrect."
            }
            Self::AlreadyAuthenticated => "You sent more than one identify payload. Don't do that!",
            Self::InvalidSeq => {
                "The sequence sent when resuming the session was invalid. Reconnect and start a new session."
            }
            Self::RateLimited => {
                "You're sending payloads too quickly. Slow it down! You will be disconnected on receiving this."
            }
            Self::SessionTimedOut => "Your session timed out. Reconnect and start a new one.",
            Self::InvalidShard => "You sent us an invalid shard when identifying.",
            Self::ShardingRequired => {
                "The session would have handled too many guilds - you are required to shard your connection in order to connect."
            }
            Self::InvalidApiVersion => "You sent an invalid version for the gateway.",
            Self::InvalidIntents => {
                "You sent an invalid intent for a Gateway Intent. You may have incorrectly calculated the bitwise value."
            }
            Self::DisallowedIntents => {
                "You sent a disallowed intent for a Gateway Intent. You may have tried to specify an intent that you have not enabled or are not approved for."
            }
        }
    }

    /// Whether a client may reconnect after this close (Discord's table). The fatal ones
    /// (bad token, shard, version, intents) would fail the same way again.
    pub const fn can_reconnect(self) -> bool {
        !matches!(
            self,
            Self::AuthenticationFailed
                | Self::InvalidShard
                | Self::ShardingRequired
                | Self::InvalidApiVersion
                | Self::InvalidIntents
                | Self::DisallowedIntents
        )
    }
}

/// The number is not one of Discord's gateway close codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown gateway close code {0}")]
pub struct UnknownCloseCode(pub u16);

impl TryFrom<u16> for CloseCode {
    type Error = UnknownCloseCode;

    fn try_from(value: u16) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|code| code.code() == value)
            .ok_or(UnknownCloseCode(value))
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.code()
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_discord() {
        let codes: Vec<u16> = CloseCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            [
                4000, 4001, 4002, 4003, 4004, 4005, 4007, 4008, 4009, 4010, 4011, 4012, 4013, 4014
            ]
        );
    }

    #[test]
    fn reconnect_table() {
        let fatal: Vec<u16> = CloseCode::ALL
            .iter()
            .filter(|c| !c.can_reconnect())
            .map(|c| c.code())
            .collect();
        assert_eq!(fatal, [4004, 4010, 4011, 4012, 4013, 4014]);
    }

    #[test]
    fn reasons_fit_in_a_close_frame() {
        for code in CloseCode::ALL {
            let reason = code.reason();
            assert!(!reason.is_empty() && !code.explanation().is_empty());
            // RFC 6455: a close frame's payload is ≤ 125 bytes, 2 of which are the code.
            assert!(
                reason.len() <= 123,
                "{code:?} reason too long: {}",
                reason.len()
            );
        }
    }

    #[test]
    fn try_from_u16() {
        for code in CloseCode::ALL {
            assert_eq!(CloseCode::try_from(code.code()), Ok(code));
        }
        assert_eq!(CloseCode::try_from(4006), Err(UnknownCloseCode(4006)));
        assert_eq!(CloseCode::try_from(1000), Err(UnknownCloseCode(1000)));
    }
}
