//! The gateway session as a state machine, without a socket.
//!
//! [`SessionMachine`] takes what happens to a connection (a client frame, a tick of the
//! clock, the outcome of authentication) and answers with an [`Action`] for the session actor
//! to carry out. Everything is a pure function of its inputs, including time: callers pass
//! `now` in, so heartbeat deadlines and rate limits are tested with constructed instants
//! (the actor passes `tokio::time::Instant::now().into_std()`, which follows tokio's paused
//! clock in tests).
//!
//! ```text
//!  AwaitingIdentify ──IDENTIFY──▶ Identifying ──ready()──▶ Ready
//!        │  ▲                                                ▲
//!        │  └──────resume_failed()── Resuming ──resumed()────┘
//!        └──────────RESUME──────────────▲
//!  any phase ──protocol error / missed heartbeat / close()──▶ Closed
//! ```
//!
//! [`ReplayBuffer`] keeps the recent dispatched frames of a session so RESUME can replay what
//! a client missed while it reconnected.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::close::CloseCode;
use super::intents::Intents;
use super::payload::{
    Command, Identify, PresenceUpdate, RequestGuildMembers, RequestSoundboardSounds, Resume,
    VoiceStateUpdate, decode_command,
};

/// Where a connection is in the session lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionPhase {
    /// HELLO sent; waiting for IDENTIFY or RESUME.
    AwaitingIdentify,
    /// IDENTIFY received and valid; the server is authenticating it.
    Identifying,
    /// RESUME received; the server is looking up the old session.
    Resuming,
    /// READY or RESUMED sent; dispatches flow.
    Ready,
    /// The connection is closing or closed; further input is ignored.
    Closed,
}

/// What the session actor must do after an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send HEARTBEAT_ACK.
    HeartbeatAck,
    /// Authenticate `identify`; then call [`SessionMachine::ready`] and send READY, or close
    /// with [`SessionMachine::auth_failed`]. `intents` is already validated (bits, shard);
    /// the privileged-intent policy (4014) is the server's call.
    Identify {
        /// The IDENTIFY body.
        identify: Box<Identify>,
        /// Effective intents (IDENTIFY's, or the implicit default when it had none).
        intents: Intents,
    },
    /// Find the session and replay from `resume.seq`; then [`SessionMachine::resumed`], or
    /// [`SessionMachine::resume_failed`] and send INVALID_SESSION(false).
    Resume(Resume),
    /// Apply a presence update.
    PresenceUpdate(PresenceUpdate),
    /// Apply (or answer) a voice state update.
    VoiceStateUpdate(VoiceStateUpdate),
    /// Send GUILD_MEMBERS_CHUNK events.
    RequestGuildMembers(RequestGuildMembers),
    /// Send SOUNDBOARD_SOUNDS events.
    RequestSoundboardSounds(RequestSoundboardSounds),
    /// Answer member-list subscriptions (ops 14/37) with GUILD_MEMBER_LIST_UPDATE.
    GuildSubscriptions(serde_json::Value),
    /// Close the connection with this code; the machine is now [`SessionPhase::Closed`].
    Close(CloseCode),
    /// Nothing to do (input after the connection was closed).
    Ignore,
}

/// How long a client may go without heartbeating before the session times out: one and a
/// half intervals. Clients send the first heartbeat after `interval × jitter` (jitter < 1)
/// and then every `interval`; the extra half covers latency and a slow event loop.
pub fn heartbeat_deadline(interval: Duration) -> Duration {
    interval.saturating_add(interval / 2)
}

/// Limits of one connection (from configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Sent in HELLO.
    pub heartbeat_interval: Duration,
    /// Frames a client may send per `rate_window` before being closed with 4008
    /// (Discord: 120 per 60 s).
    pub max_frames_per_window: u32,
    /// Length of the rate-limit window.
    pub rate_window: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_millis(41_250),
            max_frames_per_window: 120,
            rate_window: Duration::from_secs(60),
        }
    }
}

/// The per-connection protocol state machine.
#[derive(Debug, Clone)]
pub struct SessionMachine {
    phase: SessionPhase,
    limits: SessionLimits,
    last_heartbeat: Instant,
    /// The sequence number the client's last heartbeat carried: it has received every dispatch
    /// up to it, so none of those can be asked for by a RESUME (its `seq` only grows).
    heartbeat_seq: u64,
    window_start: Instant,
    frames_in_window: u32,
}

impl SessionMachine {
    /// A machine for a connection that has just been sent HELLO at `now`. The heartbeat
    /// deadline starts counting from HELLO.
    pub fn new(limits: SessionLimits, now: Instant) -> Self {
        Self {
            phase: SessionPhase::AwaitingIdentify,
            limits,
            last_heartbeat: now,
            heartbeat_seq: 0,
            window_start: now,
            frames_in_window: 0,
        }
    }

    /// The highest sequence number a heartbeat of this connection acknowledged (0: none yet).
    pub fn heartbeat_seq(&self) -> u64 {
        self.heartbeat_seq
    }

    /// The current phase.
    pub fn phase(&self) -> SessionPhase {
        self.phase
    }

    /// The limits this machine enforces.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    /// The instant after which, without another heartbeat, the session times out. The actor
    /// sleeps until this and then calls [`SessionMachine::check_heartbeat`].
    pub fn heartbeat_deadline_at(&self) -> Instant {
        self.last_heartbeat + heartbeat_deadline(self.limits.heartbeat_interval)
    }

    /// Close with 4009 if the heartbeat deadline has passed at `now`.
    pub fn check_heartbeat(&mut self, now: Instant) -> Option<Action> {
        (self.phase != SessionPhase::Closed && now > self.heartbeat_deadline_at())
            .then(|| self.close(CloseCode::SessionTimedOut))
    }

    /// A text (or decompressed) WebSocket message arrived at `now`.
    pub fn on_frame(&mut self, frame: &[u8], now: Instant) -> Action {
        if self.phase == SessionPhase::Closed {
            return Action::Ignore;
        }
        if !self.count_frame(now) {
            return self.close(CloseCode::RateLimited);
        }
        match decode_command(frame) {
            Ok(command) => self.transition(command, now),
            Err(err) => self.close(err.close_code()),
        }
    }

    /// A WebSocket ping arrived at `now`. Pings count against the same limit as payloads: each
    /// costs the server a pong, so an uncounted ping flood would be free for the client.
    pub fn on_ping(&mut self, now: Instant) -> Option<Action> {
        if self.phase == SessionPhase::Closed || self.count_frame(now) {
            return None;
        }
        Some(self.close(CloseCode::RateLimited))
    }

    /// A decoded command arrived at `now` (for callers that decode themselves; no rate limit).
    pub fn on_command(&mut self, command: Command, now: Instant) -> Action {
        if self.phase == SessionPhase::Closed {
            return Action::Ignore;
        }
        self.transition(command, now)
    }

    /// Authentication of IDENTIFY succeeded and READY is being sent.
    pub fn ready(&mut self) -> Result<(), SessionPhase> {
        self.advance(SessionPhase::Identifying, SessionPhase::Ready)
    }

    /// RESUME found its session; the replay and RESUMED are being sent.
    pub fn resumed(&mut self) -> Result<(), SessionPhase> {
        self.advance(SessionPhase::Resuming, SessionPhase::Ready)
    }

    /// RESUME could not be honoured (unknown session, replay evicted): the server sends
    /// INVALID_SESSION(false) and the client may IDENTIFY on this same connection.
    pub fn resume_failed(&mut self) -> Result<(), SessionPhase> {
        self.advance(SessionPhase::Resuming, SessionPhase::AwaitingIdentify)
    }

    /// IDENTIFY's token was rejected: close with 4004.
    pub fn auth_failed(&mut self) -> Action {
        self.close(CloseCode::AuthenticationFailed)
    }

    /// Close for a reason decided elsewhere (a slow consumer, shutdown, a dead actor).
    pub fn close(&mut self, code: CloseCode) -> Action {
        self.phase = SessionPhase::Closed;
        Action::Close(code)
    }

    fn advance(&mut self, from: SessionPhase, to: SessionPhase) -> Result<(), SessionPhase> {
        if self.phase == from {
            self.phase = to;
            Ok(())
        } else {
            Err(self.phase)
        }
    }

    /// Fixed-window frame counter; false when this frame exceeds the limit.
    fn count_frame(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.window_start) >= self.limits.rate_window {
            self.window_start = now;
            self.frames_in_window = 0;
        }
        self.frames_in_window = self.frames_in_window.saturating_add(1);
        self.frames_in_window <= self.limits.max_frames_per_window
    }

    fn transition(&mut self, command: Command, now: Instant) -> Action {
        use SessionPhase as P;
        match (self.phase, command) {
            (P::Closed, _) => Action::Ignore,
            // Allowed in every open phase, before IDENTIFY too (discord.py heartbeats as soon
            // as HELLO arrives).
            (_, Command::Heartbeat(seq)) => {
                self.last_heartbeat = now;
                self.heartbeat_seq = self.heartbeat_seq.max(seq.unwrap_or(0));
                Action::HeartbeatAck
            }
            (P::AwaitingIdentify, Command::Identify(identify)) => match identify.validate() {
                Ok(intents) => {
                    self.phase = P::Identifying;
                    Action::Identify { identify, intents }
                }
                Err(code) => self.close(code),
            },
            (P::AwaitingIdentify, Command::Resume(resume)) => {
                self.phase = P::Resuming;
                Action::Resume(resume)
            }
            (P::AwaitingIdentify, _) => self.close(CloseCode::NotAuthenticated),
            (
                P::Identifying | P::Resuming | P::Ready,
                Command::Identify(_) | Command::Resume(_),
            ) => self.close(CloseCode::AlreadyAuthenticated),
            // While authentication is in flight, other commands are passed on rather than
            // refused: the actor handles actions in order, so they take effect after READY.
            (P::Identifying | P::Resuming | P::Ready, command) => match command {
                Command::PresenceUpdate(p) => Action::PresenceUpdate(p),
                Command::VoiceStateUpdate(v) => Action::VoiceStateUpdate(v),
                Command::RequestGuildMembers(r) => Action::RequestGuildMembers(r),
                Command::RequestSoundboardSounds(r) => Action::RequestSoundboardSounds(r),
                Command::GuildSubscriptions(s) => Action::GuildSubscriptions(s),
                // Handled by the arms above; kept total without a panic.
                Command::Heartbeat(_) | Command::Identify(_) | Command::Resume(_) => Action::Ignore,
            },
        }
    }
}

/// The recent dispatched frames of one session, for RESUME.
///
/// Bounded by frame count and by total bytes (a few GUILD_CREATEs can be large), so a session
/// whose client is away cannot grow memory without bound; the oldest frames go first. Frames
/// are the exact `Bytes` that were sent (sequence number included), shared, not copied.
#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    /// `(seq, event name, event data)`: the data is the event's shared encoding (a refcount,
    /// not a copy), so thousands of sessions buffering the same events cost pointers, not
    /// payloads. Frames are rebuilt around it only when a RESUME asks for them.
    frames: VecDeque<(u64, &'static str, Bytes)>,
    max_frames: usize,
    max_bytes: usize,
    bytes: usize,
    /// Highest sequence number evicted so far (0: none).
    evicted_through: u64,
    /// Highest sequence number pushed so far (0: none).
    last_seq: u64,
}

impl ReplayBuffer {
    /// A buffer keeping at most `max_frames` events and `max_bytes` bytes of event data.
    pub fn new(max_frames: usize, max_bytes: usize) -> Self {
        Self {
            // Grows with use and shrinks on acknowledgement: idle sessions hold next to nothing.
            frames: VecDeque::new(),
            max_frames,
            max_bytes,
            bytes: 0,
            evicted_through: 0,
            last_seq: 0,
        }
    }

    /// Record the event sent with sequence number `seq`. Sequence numbers must increase; an
    /// event whose `seq` is not above the last one is refused (returns false).
    pub fn push(&mut self, seq: u64, name: &'static str, data: Bytes) -> bool {
        if seq <= self.last_seq {
            return false;
        }
        self.last_seq = seq;
        self.bytes += data.len();
        self.frames.push_back((seq, name, data));
        while self.frames.len() > self.max_frames || self.bytes > self.max_bytes {
            let Some((evicted, _, data)) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= data.len();
            self.evicted_through = evicted;
        }
        true
    }

    /// The dispatch frames after `seq` (the last one the client received), oldest first, or
    /// `None` when they cannot all be replayed: some were evicted, or `seq` is ahead of
    /// anything this session sent. Either way the server answers INVALID_SESSION(false).
    pub fn since(&self, seq: u64) -> Option<Vec<Bytes>> {
        if seq < self.evicted_through || seq > self.last_seq {
            return None;
        }
        let start = self.frames.partition_point(|(s, _, _)| *s <= seq);
        Some(
            self.frames
                .range(start..)
                .map(|(s, name, data)| super::payload::dispatch_frame(*s, name, data))
                .collect(),
        )
    }

    /// Drops the events up to `seq`, which the client acknowledged by heartbeat, and gives back
    /// the space: an idle session then holds no copy of READY or GUILD_CREATE, and a busy one
    /// only what arrived since its last heartbeat. A RESUME from before `seq` is refused, as
    /// for an eviction (a client's resume `seq` never goes below what it heartbeated).
    pub fn acknowledge(&mut self, seq: u64) {
        let seq = seq.min(self.last_seq);
        if seq <= self.evicted_through {
            return;
        }
        while self.frames.front().is_some_and(|(s, _, _)| *s <= seq) {
            if let Some((_, _, data)) = self.frames.pop_front() {
                self.bytes -= data.len();
            }
        }
        self.evicted_through = seq;
        if self.frames.is_empty() {
            // An idle session's usual state after a heartbeat: hold no slots at all.
            self.frames = VecDeque::new();
        } else if self.frames.capacity() > 16 && self.frames.len() < self.frames.capacity() / 4 {
            self.frames.shrink_to(self.frames.len().max(8) * 2);
        }
    }

    /// The highest sequence number recorded (0 before any dispatch).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes of event data held (shared encodings counted in full: a safe upper bound).
    pub fn byte_len(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INTERVAL: Duration = Duration::from_secs(40);

    fn machine() -> (SessionMachine, Instant) {
        let t0 = Instant::now();
        let limits = SessionLimits {
            heartbeat_interval: INTERVAL,
            ..SessionLimits::default()
        };
        (SessionMachine::new(limits, t0), t0)
    }

    fn frame(v: serde_json::Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    fn identify() -> Vec<u8> {
        frame(json!({"op": 2, "d": {"token": "Bot t", "intents": 513, "properties": {}}}))
    }

    fn resume() -> Vec<u8> {
        frame(json!({"op": 6, "d": {"token": "t", "session_id": "s", "seq": 3}}))
    }

    fn heartbeat() -> Vec<u8> {
        frame(json!({"op": 1, "d": null}))
    }

    fn presence() -> Vec<u8> {
        frame(
            json!({"op": 3, "d": {"since": null, "activities": [], "status": "dnd", "afk": false}}),
        )
    }

    #[test]
    fn identify_then_ready() {
        let (mut m, t) = machine();
        assert_eq!(m.phase(), SessionPhase::AwaitingIdentify);
        match m.on_frame(&identify(), t) {
            Action::Identify { identify, intents } => {
                assert_eq!(identify.bare_token(), "t");
                assert_eq!(intents, Intents::GUILDS | Intents::GUILD_MESSAGES);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.phase(), SessionPhase::Identifying);
        assert_eq!(m.ready(), Ok(()));
        assert_eq!(m.phase(), SessionPhase::Ready);
        assert!(
            matches!(m.on_frame(&presence(), t), Action::PresenceUpdate(p) if p.status == "dnd")
        );
        // READY twice is a bug in the caller, reported, not a panic.
        assert_eq!(m.ready(), Err(SessionPhase::Ready));
    }

    #[test]
    fn heartbeat_before_identify_is_acked() {
        let (mut m, t) = machine();
        assert_eq!(m.on_frame(&heartbeat(), t), Action::HeartbeatAck);
        assert_eq!(m.phase(), SessionPhase::AwaitingIdentify);
        assert!(matches!(
            m.on_frame(&identify(), t),
            Action::Identify { .. }
        ));
        assert_eq!(m.on_frame(&heartbeat(), t), Action::HeartbeatAck);
    }

    #[test]
    fn second_identify_or_resume_is_already_authenticated() {
        for second in [identify(), resume()] {
            // While authenticating…
            let (mut m, t) = machine();
            m.on_frame(&identify(), t);
            assert_eq!(
                m.on_frame(&second, t),
                Action::Close(CloseCode::AlreadyAuthenticated)
            );
            assert_eq!(m.phase(), SessionPhase::Closed);
            // …and once ready.
            let (mut m, t) = machine();
            m.on_frame(&identify(), t);
            m.ready().unwrap();
            assert_eq!(
                m.on_frame(&second, t),
                Action::Close(CloseCode::AlreadyAuthenticated)
            );
        }
    }

    #[test]
    fn commands_before_identify_are_not_authenticated() {
        let before_identify = [
            presence(),
            frame(json!({"op": 4, "d": {"guild_id": "1", "channel_id": null}})),
            frame(json!({"op": 8, "d": {"guild_id": "1", "query": "", "limit": 0}})),
            frame(json!({"op": 31, "d": {"guild_ids": []}})),
        ];
        for f in before_identify {
            let (mut m, t) = machine();
            assert_eq!(
                m.on_frame(&f, t),
                Action::Close(CloseCode::NotAuthenticated)
            );
            assert_eq!(m.phase(), SessionPhase::Closed);
        }
    }

    #[test]
    fn protocol_errors_close() {
        let cases = [
            (b"{not json".to_vec(), CloseCode::DecodeError),
            (
                frame(json!({"op": 2, "d": {"intents": 1}})),
                CloseCode::DecodeError,
            ),
            (frame(json!({"op": 5, "d": null})), CloseCode::UnknownOpcode),
            (
                frame(json!({"op": 11, "d": null})),
                CloseCode::UnknownOpcode,
            ),
            (
                frame(json!({"op": 2, "d": {"token": "t", "intents": 1u64 << 18}})),
                CloseCode::InvalidIntents,
            ),
            (
                frame(json!({"op": 2, "d": {"token": "t", "shard": [2, 2]}})),
                CloseCode::InvalidShard,
            ),
        ];
        for (f, code) in cases {
            let (mut m, t) = machine();
            assert_eq!(m.on_frame(&f, t), Action::Close(code));
            assert_eq!(m.phase(), SessionPhase::Closed);
            // Closed machines ignore everything.
            assert_eq!(m.on_frame(&heartbeat(), t), Action::Ignore);
            assert_eq!(m.check_heartbeat(t + INTERVAL * 10), None);
        }
    }

    #[test]
    fn resume_paths() {
        let (mut m, t) = machine();
        assert!(matches!(m.on_frame(&resume(), t), Action::Resume(r) if r.seq == 3));
        assert_eq!(m.phase(), SessionPhase::Resuming);
        assert_eq!(m.resumed(), Ok(()));
        assert_eq!(m.phase(), SessionPhase::Ready);

        // A failed resume lets the client identify on the same connection.
        let (mut m, t) = machine();
        m.on_frame(&resume(), t);
        assert_eq!(m.resume_failed(), Ok(()));
        assert_eq!(m.phase(), SessionPhase::AwaitingIdentify);
        assert!(matches!(
            m.on_frame(&identify(), t),
            Action::Identify { .. }
        ));
        assert_eq!(m.resume_failed(), Err(SessionPhase::Identifying));
    }

    #[test]
    fn auth_failure_closes_4004() {
        let (mut m, t) = machine();
        m.on_frame(&identify(), t);
        assert_eq!(
            m.auth_failed(),
            Action::Close(CloseCode::AuthenticationFailed)
        );
        assert_eq!(m.phase(), SessionPhase::Closed);
        assert_eq!(m.ready(), Err(SessionPhase::Closed));
    }

    #[test]
    fn heartbeat_deadline_is_one_and_a_half_intervals() {
        assert_eq!(
            heartbeat_deadline(Duration::from_secs(40)),
            Duration::from_secs(60)
        );
        assert_eq!(
            heartbeat_deadline(Duration::from_millis(41_250)),
            Duration::from_millis(61_875)
        );
        assert_eq!(heartbeat_deadline(Duration::MAX), Duration::MAX);
    }

    #[test]
    fn missed_heartbeat_times_out() {
        let (mut m, t0) = machine();
        let deadline = t0 + Duration::from_secs(60);
        assert_eq!(m.heartbeat_deadline_at(), deadline);
        assert_eq!(
            m.check_heartbeat(deadline),
            None,
            "the deadline itself is still on time"
        );
        // A heartbeat pushes the deadline out.
        let t1 = t0 + Duration::from_secs(35);
        assert_eq!(m.on_frame(&heartbeat(), t1), Action::HeartbeatAck);
        assert_eq!(m.heartbeat_deadline_at(), t1 + Duration::from_secs(60));
        assert_eq!(m.check_heartbeat(deadline + Duration::from_secs(1)), None);
        // Other frames do not count as heartbeats.
        m.on_frame(&identify(), t1 + Duration::from_secs(10));
        let late = t1 + Duration::from_secs(60) + Duration::from_millis(1);
        assert_eq!(
            m.check_heartbeat(late),
            Some(Action::Close(CloseCode::SessionTimedOut))
        );
        assert_eq!(m.phase(), SessionPhase::Closed);
    }

    #[test]
    fn pings_count_against_the_rate_limit() {
        let (mut m, t0) = machine();
        for _ in 0..120 {
            assert_eq!(m.on_ping(t0), None);
        }
        assert_eq!(m.on_ping(t0), Some(Action::Close(CloseCode::RateLimited)));
        assert_eq!(m.phase(), SessionPhase::Closed);
        assert_eq!(m.on_ping(t0), None, "closed: ignored");
    }

    #[test]
    fn rate_limit_closes_4008_and_window_resets() {
        let t0 = Instant::now();
        let limits = SessionLimits {
            heartbeat_interval: INTERVAL,
            max_frames_per_window: 3,
            rate_window: Duration::from_secs(60),
        };
        let mut m = SessionMachine::new(limits, t0);
        for i in 0..3 {
            assert_eq!(
                m.on_frame(&heartbeat(), t0 + Duration::from_secs(i)),
                Action::HeartbeatAck
            );
        }
        // A new window allows three more.
        let t1 = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(m.on_frame(&heartbeat(), t1), Action::HeartbeatAck);
        }
        assert_eq!(
            m.on_frame(&heartbeat(), t1),
            Action::Close(CloseCode::RateLimited)
        );
    }

    #[test]
    fn on_command_skips_decoding() {
        let (mut m, t) = machine();
        assert_eq!(
            m.on_command(Command::Heartbeat(Some(1)), t),
            Action::HeartbeatAck
        );
        let close = m.close(CloseCode::UnknownError);
        assert_eq!(close, Action::Close(CloseCode::UnknownError));
        assert_eq!(m.on_command(Command::Heartbeat(None), t), Action::Ignore);
    }

    fn filled(
        max_frames: usize,
        max_bytes: usize,
        seqs: std::ops::RangeInclusive<u64>,
    ) -> ReplayBuffer {
        let mut b = ReplayBuffer::new(max_frames, max_bytes);
        for s in seqs {
            assert!(b.push(s, "MESSAGE_CREATE", Bytes::from_static(b"{}")));
        }
        b
    }

    fn seqs(frames: &[Bytes]) -> Vec<u64> {
        frames
            .iter()
            .map(|f| {
                serde_json::from_slice::<serde_json::Value>(f).unwrap()["s"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn acknowledged_events_are_dropped_and_later_ones_replayed() {
        let mut b = ReplayBuffer::new(1000, 1 << 20);
        for s in 1..=200u64 {
            b.push(s, "MESSAGE_CREATE", Bytes::from_static(b"{}"));
        }
        b.acknowledge(150);
        assert_eq!(b.len(), 50);
        assert!(b.frames.capacity() < 256, "space given back");
        assert!(b.since(149).is_none(), "before the acknowledged seq");
        assert_eq!(
            seqs(&b.since(150).unwrap()),
            (151..=200).collect::<Vec<_>>()
        );
        assert_eq!(
            seqs(&b.since(190).unwrap()),
            (191..=200).collect::<Vec<_>>()
        );
        // An older or bogus acknowledgement changes nothing it shouldn't.
        b.acknowledge(10);
        assert_eq!(b.len(), 50);
        b.acknowledge(10_000);
        assert_eq!(b.len(), 0);
        assert_eq!(b.since(200).unwrap().len(), 0);
        b.push(201, "TYPING_START", Bytes::from_static(b"{}"));
        assert_eq!(seqs(&b.since(200).unwrap()), vec![201]);
    }

    #[test]
    fn heartbeats_record_the_acknowledged_seq() {
        let t = Instant::now();
        let mut m = SessionMachine::new(SessionLimits::default(), t);
        assert_eq!(m.heartbeat_seq(), 0);
        m.on_command(Command::Heartbeat(Some(7)), t);
        m.on_command(Command::Heartbeat(Some(3)), t);
        m.on_command(Command::Heartbeat(None), t);
        assert_eq!(m.heartbeat_seq(), 7);
    }

    #[test]
    fn replay_returns_frames_after_seq() {
        let b = filled(10, usize::MAX, 1..=5);
        assert_eq!(seqs(&b.since(2).unwrap()), [3, 4, 5]);
        assert_eq!(seqs(&b.since(0).unwrap()), [1, 2, 3, 4, 5]);
        assert_eq!(b.since(5).unwrap(), Vec::<Bytes>::new());
        assert_eq!(b.since(6), None, "ahead of the session");
        assert_eq!(b.last_seq(), 5);
        assert!(ReplayBuffer::new(4, 100).since(0).unwrap().is_empty());
    }

    #[test]
    fn replay_detects_eviction() {
        let b = filled(3, usize::MAX, 1..=10);
        assert_eq!(b.len(), 3);
        assert_eq!(
            seqs(&b.since(7).unwrap()),
            [8, 9, 10],
            "oldest kept is 8, client has 7"
        );
        assert_eq!(b.since(6), None, "7 was evicted");
        assert_eq!(b.since(0), None);
    }

    #[test]
    fn replay_bounded_by_bytes() {
        let one = b"{}".len();
        let b = filled(100, one * 2 + 1, 1..=5);
        assert_eq!(b.len(), 2);
        assert!(b.byte_len() <= one * 2 + 1);
        assert_eq!(seqs(&b.since(3).unwrap()), [4, 5]);
        assert_eq!(b.since(2), None);
        // A frame bigger than the whole budget is evicted at once.
        let mut b = ReplayBuffer::new(10, 4);
        b.push(1, "X", Bytes::from_static(b"0123456789"));
        assert!(b.is_empty());
        assert_eq!(b.since(0), None);
        assert_eq!(b.since(1), Some(vec![]));
    }

    #[test]
    fn replay_refuses_non_increasing_seq() {
        let mut b = filled(10, usize::MAX, 1..=3);
        assert!(!b.push(3, "X", Bytes::from_static(b"{}")));
        assert!(!b.push(2, "X", Bytes::from_static(b"{}")));
        assert!(b.push(7, "X", Bytes::from_static(b"{}")));
        assert_eq!(b.since(3).unwrap().len(), 1);
    }
}
