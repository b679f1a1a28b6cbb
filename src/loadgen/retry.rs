//! Reconnecting the way discord.js does when a gateway connection fails before READY.
//!
//! A real client library does not give up when an identify storm meets a busy server: discord.js's
//! `WebSocketShard` reconnects after a connection error or a close whose code is not one of the
//! fatal ones (4004 authentication failed, 4010 invalid shard, 4011 sharding required, 4012
//! invalid API version, 4013 invalid intents, 4014 disallowed intents) and identifies again; an
//! INVALID_SESSION or RECONNECT before READY likewise. Measuring a storm without retries would
//! count as lost what a real deployment recovers from, so sessions retry here too — with a
//! jittered exponential backoff, so the retries of a storm spread out instead of arriving as a
//! second storm — and the run reports how many retries it took and when everyone was READY.

use std::time::Duration;

/// Why an attempt to reach READY failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// TCP connect or the WebSocket upgrade failed (refused, reset, a non-101 answer).
    #[error("connect: {0}")]
    Connect(String),
    /// The server closed the WebSocket with this code.
    #[error("closed with {0}")]
    Closed(u16),
    /// The connection ended without a close frame (1006, "abnormal closure").
    #[error("connection ended without a close frame")]
    Abnormal,
    /// Opcode 9 before READY (or in answer to RESUME).
    #[error("invalid session")]
    InvalidSession,
    /// Opcode 7 before READY.
    #[error("server asked to reconnect")]
    Reconnect,
    /// The server said something that is not the gateway protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// No READY within the per-attempt timeout.
    #[error("timed out")]
    Timeout,
}

impl AttemptError {
    /// Whether discord.js would connect again after this. Protocol errors are ours to fix (or
    /// the server's), so retrying them would only hide them.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Closed(code) => close_code_is_retryable(*code),
            Self::Protocol(_) => false,
            Self::Connect(_)
            | Self::Abnormal
            | Self::InvalidSession
            | Self::Reconnect
            | Self::Timeout => true,
        }
    }

    /// A short name for the counters of the result (`retry_<kind>`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "retry_connect",
            Self::Closed(4008) => "retry_close_4008",
            Self::Closed(4000) => "retry_close_4000",
            Self::Closed(_) => "retry_close_other",
            Self::Abnormal => "retry_abnormal",
            Self::InvalidSession => "retry_invalid_session",
            Self::Reconnect => "retry_reconnect",
            Self::Protocol(_) => "retry_protocol",
            Self::Timeout => "retry_timeout",
        }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for AttemptError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error as E;
        match e {
            E::ConnectionClosed | E::AlreadyClosed => Self::Abnormal,
            E::Protocol(p) => {
                // A reset without a closing handshake is what a dropped socket looks like.
                if matches!(
                    p,
                    tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake
                ) {
                    Self::Abnormal
                } else {
                    Self::Protocol(p.to_string())
                }
            }
            // On an upgraded connection a reset is the peer going away without a close frame
            // (a failed *connect* is mapped to `Connect` where it happens).
            E::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                Self::Abnormal
            }
            E::Io(io) => Self::Connect(io.to_string()),
            E::Http(r) => Self::Connect(format!("HTTP {}", r.status())),
            other => Self::Connect(other.to_string()),
        }
    }
}

/// Close codes after which discord.js reconnects (and identifies or resumes again): every code
/// except the fatal ones. 1000/1001 mean "start a new session", 4000 unknown error, 4007 invalid
/// seq, 4008 rate limited, 4009 session timed out, 1006 abnormal closure, …
pub fn close_code_is_retryable(code: u16) -> bool {
    !matches!(code, 4004 | 4010..=4014)
}

/// Jittered exponential backoff with a bounded number of attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// The wait before the first retry, before jitter.
    pub base: Duration,
    /// The longest wait, before jitter.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), with `unit` in [0, 1) from a
    /// random source: `min(cap, base · 2^(attempt−1))` scaled into its upper half ("equal
    /// jitter"), so waits keep growing yet sessions that failed together don't retry together.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let full = exp.min(self.cap);
        full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }

    /// Whether another attempt follows failed attempt number `attempt` with this error.
    pub fn again(&self, attempt: u32, err: &AttemptError) -> bool {
        attempt < self.max_attempts && err.retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fatal_close_codes_are_not_retried() {
        for code in [4004, 4010, 4011, 4012, 4013, 4014] {
            assert!(!close_code_is_retryable(code), "{code}");
            assert!(!AttemptError::Closed(code).retryable());
        }
        for code in [
            1000, 1001, 1006, 1011, 4000, 4001, 4002, 4003, 4005, 4007, 4008, 4009,
        ] {
            assert!(close_code_is_retryable(code), "{code}");
        }
        assert!(AttemptError::Abnormal.retryable());
        assert!(AttemptError::Connect("refused".into()).retryable());
        assert!(AttemptError::InvalidSession.retryable());
        assert!(!AttemptError::Protocol("bad HELLO".into()).retryable());
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(p.delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(p.delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(p.delay(5, 1.0), Duration::from_secs(15));
        assert_eq!(p.delay(60, 1.0), Duration::from_secs(15));
        assert_eq!(p.delay(60, 0.0), Duration::from_millis(7500));
        let d = p.delay(3, 0.3);
        assert!(
            d > Duration::from_secs(2) && d < Duration::from_secs(4),
            "{d:?}"
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(p.again(1, &AttemptError::Closed(4008)));
        assert!(p.again(2, &AttemptError::Abnormal));
        assert!(!p.again(3, &AttemptError::Abnormal));
        assert!(!p.again(1, &AttemptError::Closed(4004)));
    }
}
