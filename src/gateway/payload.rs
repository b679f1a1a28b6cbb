//! Gateway frames: decoding what clients send, encoding what the server sends.
//!
//! Inbound decoding is lenient the way client libraries need it: unknown fields are ignored,
//! `null` means "absent", ids may be strings or numbers, and a few fields take the odd shapes
//! real libraries send (`$os` property keys, serenity's `since` object, a single `guild_id`
//! where an array is allowed). Only what the gateway cannot work without (a token, a session
//! id) is required.
//!
//! Outbound frames are built by byte concatenation. A dispatched event's data is serialized
//! once and shared as [`Bytes`] by every recipient session; [`dispatch_frame`] only wraps it
//! with the per-session sequence number. Keys are written `t`, `s`, `op`, then `d`: some
//! clients (twilight) locate `"op":`, `"s":` and `"t":` by scanning the text from the start,
//! so those must come before the event data, which may contain the same keys.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::close::CloseCode;
use super::intents::{Intents, InvalidIntents};
use super::opcode::{OpCode, UnknownOpCode};
use crate::id::{ChannelId, GuildId, UserId};

// ---------------------------------------------------------------------------------------------
// Inbound
// ---------------------------------------------------------------------------------------------

/// One frame as a client sent it, before `d` is interpreted for its opcode.
///
/// `op` stays a raw number so an out-of-range opcode is reported as "unknown opcode" (4001)
/// rather than "decode error" (4002). `d` is a [`Value`] because the crate does not enable
/// serde_json's `raw_value`; client frames are small, so the extra tree costs little.
#[derive(Debug, Clone, Deserialize)]
pub struct InboundFrame {
    /// The opcode number.
    pub op: u64,
    /// The opcode's data; `Value::Null` when absent.
    #[serde(default)]
    pub d: Value,
    /// Sequence number; clients send `null`, kept only for completeness.
    #[serde(default, deserialize_with = "ignore_invalid")]
    pub s: Option<u64>,
    /// Event name; clients send `null`, kept only for completeness.
    #[serde(default, deserialize_with = "ignore_invalid")]
    pub t: Option<String>,
}

impl InboundFrame {
    /// Parse a text (or decompressed binary) WebSocket message.
    pub fn parse(frame: &[u8]) -> Result<Self, serde_json::Error> {
        // serde's derived struct visitor also accepts a JSON array (`[1, 2]` as op 1, d 2);
        // a gateway payload is an object, so refuse anything else up front.
        if frame.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(serde::de::Error::custom(
                "a gateway payload must be a JSON object",
            ));
        }
        // serde_json, not simd-json: fuzzing (`gateway_decode`) found simd-json 0.15 reading
        // frames differently from the JSON spec — a lone surrogate escape (`"\ud800"`) decoded
        // into other characters, a 19-digit number followed by a stray byte (`…161%]`)
        // accepted, `-0` read as the integer 0 (JSON's -0 is a float to serde_json), integers
        // beyond 64 bits refused — and a client sends at most `gateway.max_payloads_per_window`
        // small frames per rate window, so its speed buys nothing here. (Outbound events, the hot path, never used it.)
        serde_json::from_slice(frame)
    }

    /// The opcode, if it is one Discord defines.
    pub fn opcode(&self) -> Result<OpCode, UnknownOpCode> {
        OpCode::try_from(self.op)
    }
}

/// A client → server command, decoded and typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Op 1; the last sequence number the client received (`None` before any dispatch).
    Heartbeat(Option<u64>),
    /// Op 2.
    Identify(Box<Identify>),
    /// Op 3.
    PresenceUpdate(PresenceUpdate),
    /// Op 4.
    VoiceStateUpdate(VoiceStateUpdate),
    /// Op 6.
    Resume(Resume),
    /// Op 8.
    RequestGuildMembers(RequestGuildMembers),
    /// Op 31.
    RequestSoundboardSounds(RequestSoundboardSounds),
    /// Op 14 or 37, normalized to `{guild_id: {"channels": {channel_id: [[start, end], …]}}}`.
    GuildSubscriptions(Value),
}

impl Command {
    /// The opcode this command arrived with.
    pub fn opcode(&self) -> OpCode {
        match self {
            Self::Heartbeat(_) => OpCode::Heartbeat,
            Self::Identify(_) => OpCode::Identify,
            Self::PresenceUpdate(_) => OpCode::PresenceUpdate,
            Self::VoiceStateUpdate(_) => OpCode::VoiceStateUpdate,
            Self::Resume(_) => OpCode::Resume,
            Self::RequestGuildMembers(_) => OpCode::RequestGuildMembers,
            Self::RequestSoundboardSounds(_) => OpCode::RequestSoundboardSounds,
            Self::GuildSubscriptions(_) => OpCode::GuildSubscriptions,
        }
    }
}

/// Why a client frame could not be turned into a [`Command`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not an object with a numeric `op`.
    #[error("not a gateway payload: {0}")]
    Frame(#[source] serde_json::Error),
    /// `op` is not an opcode Discord defines.
    #[error(transparent)]
    UnknownOpcode(#[from] UnknownOpCode),
    /// `op` is one only the server sends (Dispatch, Hello, …).
    #[error("opcode {0:?} is sent by the server only")]
    ServerOnly(OpCode),
    /// `d` does not have the shape the opcode needs (e.g. IDENTIFY without a token).
    #[error("invalid data for {op:?}: {source}")]
    Data {
        /// The opcode whose data was invalid.
        op: OpCode,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },
}

impl DecodeError {
    /// The close code the gateway answers this error with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::Frame(_) | Self::Data { .. } => CloseCode::DecodeError,
            Self::UnknownOpcode(_) | Self::ServerOnly(_) => CloseCode::UnknownOpcode,
        }
    }
}

/// Decode one client message into a [`Command`].
pub fn decode_command(frame: &[u8]) -> Result<Command, DecodeError> {
    let frame = InboundFrame::parse(frame).map_err(DecodeError::Frame)?;
    let op = frame.opcode()?;
    let data = |source| DecodeError::Data { op, source };
    Ok(match op {
        // Lenient: anything but a non-negative integer counts as "no sequence yet".
        OpCode::Heartbeat => Command::Heartbeat(frame.d.as_u64()),
        OpCode::Identify => Command::Identify(serde_json::from_value(frame.d).map_err(data)?),
        OpCode::PresenceUpdate => {
            Command::PresenceUpdate(serde_json::from_value(frame.d).map_err(data)?)
        }
        OpCode::VoiceStateUpdate => {
            Command::VoiceStateUpdate(serde_json::from_value(frame.d).map_err(data)?)
        }
        OpCode::Resume => Command::Resume(serde_json::from_value(frame.d).map_err(data)?),
        OpCode::RequestGuildMembers => {
            Command::RequestGuildMembers(serde_json::from_value(frame.d).map_err(data)?)
        }
        OpCode::RequestSoundboardSounds => {
            Command::RequestSoundboardSounds(serde_json::from_value(frame.d).map_err(data)?)
        }
        // Op 14 carries one guild (`guild_id` + its subscription), op 37 a map of them.
        OpCode::GuildSubscriptions => {
            let mut d = frame.d;
            let guild = d.get("guild_id").cloned().unwrap_or(Value::Null);
            let Some(guild) = guild
                .as_str()
                .map(str::to_string)
                .or_else(|| guild.as_u64().map(|g| g.to_string()))
            else {
                return Err(data(serde::de::Error::custom("guild_id is required")));
            };
            if let Some(o) = d.as_object_mut() {
                o.remove("guild_id");
            }
            Command::GuildSubscriptions(serde_json::json!({ guild: d }))
        }
        OpCode::GuildSubscriptionsBulk => Command::GuildSubscriptions(
            frame
                .d
                .get("subscriptions")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({})),
        ),
        OpCode::Dispatch
        | OpCode::Reconnect
        | OpCode::InvalidSession
        | OpCode::Hello
        | OpCode::HeartbeatAck => return Err(DecodeError::ServerOnly(op)),
    })
}

/// Op 2 IDENTIFY: start a new session.
#[derive(Clone, PartialEq, Deserialize)]
pub struct Identify {
    /// The token, bare or prefixed `Bot ` (see [`Identify::bare_token`]).
    pub token: String,
    /// Client connection properties; missing or `null` → all empty.
    #[serde(default)]
    pub properties: ConnectionProperties,
    /// Per-payload zlib compression (not zlib-stream) requested.
    #[serde(default)]
    pub compress: Option<bool>,
    /// Member count above which a guild is "large" (see [`Identify::large_threshold`]).
    #[serde(default)]
    pub large_threshold: Option<u64>,
    /// `[shard_id, num_shards]`.
    #[serde(default)]
    pub shard: Option<[u32; 2]>,
    /// Initial presence.
    #[serde(default)]
    pub presence: Option<PresenceUpdate>,
    /// Intents bitfield (number, or a numeric string). User clients omit it; see
    /// [`Identify::intents`] for what that means.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub intents: Option<u64>,
    /// User-client capability bits; accepted and otherwise ignored.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub capabilities: Option<u64>,
}

/// Discord's bounds for `large_threshold`; the lower bound is also the default.
const LARGE_THRESHOLD: std::ops::RangeInclusive<u64> = 50..=250;

impl Identify {
    /// The token without a `Bot ` prefix: IDENTIFY carries it either way depending on the library.
    pub fn bare_token(&self) -> &str {
        self.token.strip_prefix("Bot ").unwrap_or(&self.token)
    }

    /// The session's intents. A missing value gives [`Intents::IMPLICIT_DEFAULT`] (user
    /// clients never send intents); bits that are no intent are [`InvalidIntents`] (close 4013).
    pub fn intents(&self) -> Result<Intents, InvalidIntents> {
        self.intents
            .map_or(Ok(Intents::IMPLICIT_DEFAULT), Intents::from_wire)
    }

    /// `large_threshold` clamped to Discord's 50..=250 (default 50).
    pub fn large_threshold(&self) -> u64 {
        let (min, max) = (*LARGE_THRESHOLD.start(), *LARGE_THRESHOLD.end());
        self.large_threshold.map_or(min, |v| v.clamp(min, max))
    }

    /// Check what IDENTIFY can get wrong without looking anything up: the shard pair
    /// (4010) and the intents bits (4013). Returns the session's effective intents.
    /// Authentication (4004) and privileged-intent policy (4014) are the server's to check.
    pub fn validate(&self) -> Result<Intents, CloseCode> {
        if let Some([id, count]) = self.shard
            && (count == 0 || id >= count)
        {
            return Err(CloseCode::InvalidShard);
        }
        self.intents().map_err(|_| CloseCode::InvalidIntents)
    }
}

impl std::fmt::Debug for Identify {
    /// Written by hand so the token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identify")
            .field("token", &"<redacted>")
            .field("properties", &self.properties)
            .field("compress", &self.compress)
            .field("large_threshold", &self.large_threshold)
            .field("shard", &self.shard)
            .field("presence", &self.presence)
            .field("intents", &self.intents)
            .field("capabilities", &self.capabilities)
            .finish()
    }
}

/// IDENTIFY `properties`. Accepts both `os` and the pre-v8 `$os` spelling (and the same for
/// `browser`, `device`); values that are not strings are ignored. Every other key (user
/// clients send a dozen) is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionProperties {
    /// Operating system.
    pub os: String,
    /// Library or browser name.
    pub browser: String,
    /// Library or device name.
    pub device: String,
}

impl<'de> Deserialize<'de> for ConnectionProperties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Option::<serde_json::Map<String, Value>>::deserialize(d)?.unwrap_or_default();
        let get = |key: &str| {
            [key, &format!("${key}")]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Self {
            os: get("os"),
            browser: get("browser"),
            device: get("device"),
        })
    }
}

/// Op 3 PRESENCE_UPDATE (also IDENTIFY's `presence`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PresenceUpdate {
    /// Unix milliseconds since the client went idle. Accepts a number, `null`, or serenity's
    /// `{"secs_since_epoch": …, "nanos_since_epoch": …}` object; anything else is `None`.
    #[serde(default, deserialize_with = "since")]
    pub since: Option<u64>,
    /// Activities, passed through uninterpreted; `null` → empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub activities: Vec<Value>,
    /// `online`, `dnd`, `idle`, `invisible` or `offline`; missing or `null` → `online`.
    #[serde(default = "online", deserialize_with = "status")]
    pub status: String,
    /// Whether the client is AFK.
    #[serde(default)]
    pub afk: Option<bool>,
}

impl Default for PresenceUpdate {
    fn default() -> Self {
        Self {
            since: None,
            activities: Vec::new(),
            status: online(),
            afk: None,
        }
    }
}

/// Op 4 VOICE_STATE_UPDATE. Voice is not served; the body is decoded so the server can answer
/// it (e.g. with a VOICE_STATE_UPDATE dispatch) instead of closing the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct VoiceStateUpdate {
    /// Guild of the voice channel (`None` for DM calls).
    #[serde(default)]
    pub guild_id: Option<GuildId>,
    /// Channel to join, `None` to leave.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    /// Self-muted.
    #[serde(default, deserialize_with = "null_as_default")]
    pub self_mute: bool,
    /// Self-deafened.
    #[serde(default, deserialize_with = "null_as_default")]
    pub self_deaf: bool,
}

/// Op 6 RESUME: continue a session on a new connection.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Resume {
    /// The session's token (bare or `Bot `-prefixed).
    pub token: String,
    /// From READY.
    pub session_id: String,
    /// Last sequence number the client received. `null` (a client that resumes before any
    /// dispatch arrived) is read as 0: replay everything buffered.
    #[serde(default, deserialize_with = "null_as_default")]
    pub seq: u64,
}

impl Resume {
    /// The token without a `Bot ` prefix.
    pub fn bare_token(&self) -> &str {
        self.token.strip_prefix("Bot ").unwrap_or(&self.token)
    }
}

impl std::fmt::Debug for Resume {
    /// Written by hand so the token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resume")
            .field("token", &"<redacted>")
            .field("session_id", &self.session_id)
            .field("seq", &self.seq)
            .finish()
    }
}

/// Op 8 REQUEST_GUILD_MEMBERS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RequestGuildMembers {
    /// One guild or several (an array is a user-client extension Discord accepts).
    #[serde(deserialize_with = "one_or_many")]
    pub guild_id: Vec<GuildId>,
    /// Username prefix; `""` means all members.
    #[serde(default)]
    pub query: Option<String>,
    /// Maximum members to send; 0 means no limit (with an empty query).
    #[serde(default, deserialize_with = "null_as_default")]
    pub limit: u64,
    /// Include presences of the members.
    #[serde(default, deserialize_with = "null_as_default")]
    pub presences: bool,
    /// Specific users, one id or an array; `None` when absent.
    #[serde(default, deserialize_with = "opt_one_or_many")]
    pub user_ids: Option<Vec<UserId>>,
    /// Echoed back in GUILD_MEMBERS_CHUNK (Discord caps it at 32 bytes).
    #[serde(default)]
    pub nonce: Option<String>,
}

/// Op 31 REQUEST_SOUNDBOARD_SOUNDS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RequestSoundboardSounds {
    /// Guilds whose sounds are wanted.
    #[serde(default, deserialize_with = "one_or_many")]
    pub guild_ids: Vec<GuildId>,
}

// Lenient field deserializers ------------------------------------------------------------------

fn online() -> String {
    "online".to_owned()
}

/// `null` → `T::default()`.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A value of the wrong type → `None` instead of failing the whole frame.
fn ignore_invalid<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

fn status<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(online))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

/// `x`, `[x, …]` or `null` → a vector.
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(opt_one_or_many(d)?.unwrap_or_default())
}

fn opt_one_or_many<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<OneOrMany<T>>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(x) => vec![x],
        OneOrMany::Many(xs) => xs,
    }))
}

/// A non-negative integer or a string of digits; `null` → `None`.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => Ok(Some(n)),
        Some(NumOrStr::Str(s)) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// `since`: milliseconds as a number, `null`, or a serialized `SystemTime` object.
fn since<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().or_else(|| {
            // Some clients send a float (JavaScript `Date.now() / 1`); negative → none.
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::Object(map) => {
            let secs = map.get("secs_since_epoch").and_then(Value::as_u64);
            let nanos = map
                .get("nanos_since_epoch")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            secs.map(|s| s.saturating_mul(1000).saturating_add(nanos / 1_000_000))
        }
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// Outbound
// ---------------------------------------------------------------------------------------------

/// Op 10 HELLO, the first frame on every connection.
pub fn hello(heartbeat_interval_ms: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    out.put_slice(br#"{"t":null,"s":null,"op":10,"d":{"heartbeat_interval":"#);
    put_u64(&mut out, heartbeat_interval_ms);
    out.put_slice(b"}}");
    out.freeze()
}

/// Op 11 HEARTBEAT_ACK.
pub fn heartbeat_ack() -> Bytes {
    Bytes::from_static(br#"{"t":null,"s":null,"op":11,"d":null}"#)
}

/// Op 1 HEARTBEAT sent by the server: asks the client to heartbeat now. `d` carries the
/// session's last sequence number because twilight requires a number there (a `null` fails
/// its parser); other libraries ignore `d`.
pub fn heartbeat_request(last_seq: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(48);
    out.put_slice(br#"{"t":null,"s":null,"op":1,"d":"#);
    put_u64(&mut out, last_seq);
    out.put_u8(b'}');
    out.freeze()
}

/// Op 9 INVALID_SESSION; `resumable` tells the client whether RESUME may still work.
pub fn invalid_session(resumable: bool) -> Bytes {
    if resumable {
        Bytes::from_static(br#"{"t":null,"s":null,"op":9,"d":true}"#)
    } else {
        Bytes::from_static(br#"{"t":null,"s":null,"op":9,"d":false}"#)
    }
}

/// Op 7 RECONNECT: the client should reconnect and resume.
pub fn reconnect() -> Bytes {
    Bytes::from_static(br#"{"t":null,"s":null,"op":7,"d":null}"#)
}

/// Op 0 DISPATCH: `{"t":"NAME","s":seq,"op":0,"d":<data_json>}`.
///
/// `data_json` must be one complete JSON value (the event, serialized once for all
/// recipients); it is copied in verbatim. Event names are upper-case ASCII, written as-is;
/// anything else is escaped so the frame stays valid JSON.
pub fn dispatch_frame(seq: u64, event_name: &str, data_json: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(event_name.len() + data_json.len() + 40);
    out.put_slice(br#"{"t":""#);
    put_json_str_body(&mut out, event_name);
    out.put_slice(br#"","s":"#);
    put_u64(&mut out, seq);
    out.put_slice(br#","op":0,"d":"#);
    out.put_slice(data_json);
    out.put_u8(b'}');
    out.freeze()
}

/// Decimal digits of `n`, without going through `fmt`.
fn put_u64(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

/// The inside of a JSON string literal for `s` (no surrounding quotes).
fn put_json_str_body(out: &mut BytesMut, s: &str) {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        out.put_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.put_slice(br#"\""#),
            '\\' => out.put_slice(br"\\"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as u8;
                out.put_slice(br"\u00");
                out.put_u8(HEX[usize::from(b >> 4)]);
                out.put_u8(HEX[usize::from(b & 0xf)]);
            }
            c => {
                let mut buf = [0u8; 4];
                out.put_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: Value) -> Result<Command, DecodeError> {
        decode_command(v.to_string().as_bytes())
    }

    fn identify(d: Value) -> Identify {
        match decode(json!({"op": 2, "d": d})).unwrap() {
            Command::Identify(i) => *i,
            other => panic!("not identify: {other:?}"),
        }
    }

    fn parse(frame: &Bytes) -> Value {
        serde_json::from_slice(frame).unwrap()
    }

    #[test]
    fn frame_errors_map_to_close_codes() {
        let code = |raw: &[u8]| decode_command(raw).unwrap_err().close_code();
        assert_eq!(code(b"not json"), CloseCode::DecodeError);
        assert_eq!(code(b"[1,2]"), CloseCode::DecodeError);
        assert_eq!(code(br#"{"d":null}"#), CloseCode::DecodeError);
        assert_eq!(code(br#"{"op":"2"}"#), CloseCode::DecodeError);
        assert_eq!(code(br#"{"op":5,"d":null}"#), CloseCode::UnknownOpcode);
        assert_eq!(code(br#"{"op":70000,"d":null}"#), CloseCode::UnknownOpcode);
        assert_eq!(code(br#"{"op":10,"d":null}"#), CloseCode::UnknownOpcode);
        assert_eq!(code(br#"{"op":0,"d":{}}"#), CloseCode::UnknownOpcode);
        // IDENTIFY without a token is an invalid payload.
        assert_eq!(code(br#"{"op":2,"d":{}}"#), CloseCode::DecodeError);
        assert_eq!(code(br#"{"op":2}"#), CloseCode::DecodeError);
        assert_eq!(
            code(br#"{"op":6,"d":{"token":"x"}}"#),
            CloseCode::DecodeError
        );
    }

    #[test]
    fn heartbeat_is_lenient() {
        assert_eq!(
            decode(json!({"op": 1, "d": 42})).unwrap(),
            Command::Heartbeat(Some(42))
        );
        assert_eq!(
            decode(json!({"op": 1, "d": null})).unwrap(),
            Command::Heartbeat(None)
        );
        assert_eq!(decode(json!({"op": 1})).unwrap(), Command::Heartbeat(None));
        assert_eq!(
            decode(json!({"op": 1, "d": "x", "s": "junk", "t": 5})).unwrap(),
            Command::Heartbeat(None)
        );
    }

    #[test]
    fn identify_discord_js_shape() {
        let i = identify(json!({
            "token": "Bot abc.def",
            "properties": {"os": "linux", "browser": "discord.js", "device": "discord.js"},
            "compress": false,
            "large_threshold": 50,
            "shard": [0, 1],
            "intents": 53608447,
            "presence": {"since": null, "activities": [], "status": "online", "afk": false},
            "version": 10,
        }));
        assert_eq!(i.bare_token(), "abc.def");
        assert_eq!(i.properties.browser, "discord.js");
        assert_eq!(i.shard, Some([0, 1]));
        assert_eq!(i.intents, Some(53_608_447));
        assert_eq!(i.validate(), Ok(Intents::from_bits_truncate(53_608_447)));
        assert_eq!(i.presence.unwrap().afk, Some(false));
    }

    #[test]
    fn identify_minimal_and_nulls() {
        let i = identify(json!({
            "token": "abc",
            "properties": null,
            "compress": null,
            "shard": null,
            "presence": null,
            "intents": null,
            "capabilities": null,
        }));
        assert_eq!(i.bare_token(), "abc");
        assert_eq!(i.properties, ConnectionProperties::default());
        assert_eq!(i.intents(), Ok(Intents::IMPLICIT_DEFAULT));
        assert_eq!(i.large_threshold(), 50);
        assert!(i.presence.is_none() && i.shard.is_none() && i.compress.is_none());
    }

    #[test]
    fn identify_dollar_properties_and_string_intents() {
        let i = identify(json!({
            "token": "t",
            "properties": {"$os": "linux", "$browser": "serenity", "$device": 7, "os": null},
            "intents": "513",
            "large_threshold": 1000,
            "capabilities": 16381,
        }));
        assert_eq!(i.properties.os, "linux");
        assert_eq!(i.properties.browser, "serenity");
        assert_eq!(i.properties.device, "");
        assert_eq!(i.intents, Some(513));
        assert_eq!(i.large_threshold(), 250);
        assert_eq!(i.capabilities, Some(16381));
    }

    #[test]
    fn identify_validation() {
        let with = |extra: Value| {
            let mut d = json!({"token": "t"});
            for (k, v) in extra.as_object().unwrap() {
                d[k] = v.clone();
            }
            identify(d).validate()
        };
        assert_eq!(with(json!({"shard": [1, 1]})), Err(CloseCode::InvalidShard));
        assert_eq!(with(json!({"shard": [0, 0]})), Err(CloseCode::InvalidShard));
        assert!(with(json!({"shard": [3, 4]})).is_ok());
        assert_eq!(
            with(json!({"intents": 1 << 17})),
            Err(CloseCode::InvalidIntents)
        );
        assert_eq!(with(json!({"intents": 1})), Ok(Intents::GUILDS));
    }

    #[test]
    fn identify_debug_redacts_token() {
        let i = identify(json!({"token": "secret-token"}));
        let shown = format!("{i:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        let r = Resume {
            token: "secret-token".into(),
            session_id: "s".into(),
            seq: 1,
        };
        assert!(!format!("{r:?}").contains("secret-token"));
    }

    #[test]
    fn presence_since_shapes() {
        let since = |v: Value| -> Option<u64> {
            match decode(json!({"op": 3, "d": {"since": v, "activities": [], "status": "idle", "afk": true}}))
                .unwrap()
            {
                Command::PresenceUpdate(p) => p.since,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(since(json!(null)), None);
        assert_eq!(since(json!(1_700_000_000_123u64)), Some(1_700_000_000_123));
        assert_eq!(since(json!(1.5e12)), Some(1_500_000_000_000));
        // serenity serializes a SystemTime.
        assert_eq!(
            since(
                json!({"secs_since_epoch": 1_700_000_000u64, "nanos_since_epoch": 456_000_000u64})
            ),
            Some(1_700_000_000_456)
        );
        assert_eq!(since(json!("yesterday")), None);
        assert_eq!(since(json!(-5)), None);
    }

    #[test]
    fn presence_defaults() {
        let Command::PresenceUpdate(p) =
            decode(json!({"op": 3, "d": {"activities": null, "status": null}})).unwrap()
        else {
            panic!("not a presence update")
        };
        assert_eq!(p, PresenceUpdate::default());
        assert_eq!(p.status, "online");
        let Command::PresenceUpdate(p) = decode(json!({"op": 3, "d": {
            "since": 0, "status": "dnd", "afk": false,
            "activities": [{"name": "x", "type": 0}]
        }}))
        .unwrap() else {
            panic!("not a presence update")
        };
        assert_eq!((p.status.as_str(), p.activities.len()), ("dnd", 1));
    }

    #[test]
    fn resume_shapes() {
        let resume = |d: Value| match decode(json!({"op": 6, "d": d})).unwrap() {
            Command::Resume(r) => r,
            other => panic!("{other:?}"),
        };
        let r = resume(json!({"token": "Bot t", "session_id": "abc", "seq": 1337}));
        assert_eq!(
            (r.bare_token(), r.session_id.as_str(), r.seq),
            ("t", "abc", 1337)
        );
        assert_eq!(
            resume(json!({"token": "t", "session_id": "abc", "seq": null})).seq,
            0
        );
    }

    #[test]
    fn request_guild_members_shapes() {
        let rgm = |d: Value| match decode(json!({"op": 8, "d": d})).unwrap() {
            Command::RequestGuildMembers(r) => r,
            other => panic!("{other:?}"),
        };
        // discord.py sends ids as integers.
        let r = rgm(json!({"guild_id": 41771983423143937u64, "query": "", "limit": 0}));
        assert_eq!(r.guild_id, vec![GuildId::new(41_771_983_423_143_937)]);
        assert_eq!((r.limit, r.presences, r.user_ids.clone()), (0, false, None));
        let r = rgm(json!({
            "guild_id": ["1", "2"], "user_ids": "3", "presences": true,
            "nonce": "n", "limit": null, "query": null
        }));
        assert_eq!(r.guild_id, vec![GuildId::new(1), GuildId::new(2)]);
        assert_eq!(r.user_ids, Some(vec![UserId::new(3)]));
        assert_eq!(
            (r.presences, r.nonce.as_deref(), r.query),
            (true, Some("n"), None)
        );
        let r = rgm(json!({"guild_id": "1", "user_ids": ["3", 4]}));
        assert_eq!(r.user_ids, Some(vec![UserId::new(3), UserId::new(4)]));
        assert!(decode(json!({"op": 8, "d": {"query": ""}})).is_err());
        assert!(decode(json!({"op": 8, "d": {"guild_id": "x"}})).is_err());
    }

    #[test]
    fn voice_and_soundboard_decode() {
        let Command::VoiceStateUpdate(v) = decode(json!({"op": 4, "d": {
            "guild_id": "1", "channel_id": null, "self_mute": true, "self_deaf": null
        }}))
        .unwrap() else {
            panic!("not voice")
        };
        assert_eq!(v.guild_id, Some(GuildId::new(1)));
        assert_eq!(
            (v.channel_id, v.self_mute, v.self_deaf),
            (None, true, false)
        );
        let Command::RequestSoundboardSounds(s) =
            decode(json!({"op": 31, "d": {"guild_ids": ["5", 6]}})).unwrap()
        else {
            panic!("not soundboard")
        };
        assert_eq!(s.guild_ids, vec![GuildId::new(5), GuildId::new(6)]);
    }

    #[test]
    fn command_knows_its_opcode() {
        assert_eq!(Command::Heartbeat(None).opcode(), OpCode::Heartbeat);
        let c = decode(json!({"op": 31, "d": {}})).unwrap();
        assert_eq!(c.opcode(), OpCode::RequestSoundboardSounds);
    }

    #[test]
    fn outbound_control_frames() {
        let h = parse(&hello(41_250));
        assert_eq!(
            h,
            json!({"t": null, "s": null, "op": 10, "d": {"heartbeat_interval": 41250}})
        );
        assert_eq!(parse(&heartbeat_ack())["op"], 11);
        assert_eq!(
            parse(&heartbeat_request(9)),
            json!({"t": null, "s": null, "op": 1, "d": 9})
        );
        assert_eq!(parse(&reconnect())["op"], 7);
        assert_eq!(
            parse(&invalid_session(true)),
            json!({"t": null, "s": null, "op": 9, "d": true})
        );
        assert_eq!(parse(&invalid_session(false))["d"], false);
        // Keys precede `d`, for clients that scan the text (twilight).
        for frame in [
            hello(1),
            heartbeat_ack(),
            invalid_session(false),
            reconnect(),
        ] {
            let text = std::str::from_utf8(&frame).unwrap();
            assert!(text.find(r#""op":"#).unwrap() < text.find(r#""d":"#).unwrap());
        }
    }

    #[test]
    fn dispatch_frame_wraps_shared_data() {
        let data = Bytes::from(
            json!({"id": "1", "content": "hi \"there\"", "op": 99, "nested": {"t": "x"}})
                .to_string(),
        );
        for seq in [0, 1, 42, u64::MAX] {
            let frame = dispatch_frame(seq, "MESSAGE_CREATE", &data);
            let v = parse(&frame);
            assert_eq!(v["t"], "MESSAGE_CREATE");
            assert_eq!(v["s"].as_u64(), Some(seq));
            assert_eq!(v["op"], 0);
            assert_eq!(v["d"]["content"], "hi \"there\"");
            assert_eq!(v["d"]["op"], 99);
            let text = std::str::from_utf8(&frame).unwrap();
            assert!(text.starts_with(&format!(r#"{{"t":"MESSAGE_CREATE","s":{seq},"op":0,"d":"#)));
        }
    }

    /// twilight parses gateway frames strictly (and locates `op`/`s`/`t` by scanning text):
    /// what it accepts, the other libraries accept too.
    #[test]
    fn twilight_parses_our_frames() {
        use serde::de::DeserializeSeed;
        use twilight_model::gateway::event::{GatewayEvent, GatewayEventDeserializer};

        fn twilight(frame: &Bytes) -> GatewayEvent {
            let text = std::str::from_utf8(frame).unwrap();
            let seed = GatewayEventDeserializer::from_json(text).unwrap();
            seed.deserialize(&mut serde_json::Deserializer::from_str(text))
                .unwrap()
        }

        assert!(
            matches!(twilight(&hello(41_250)), GatewayEvent::Hello(h) if h.heartbeat_interval == 41_250)
        );
        assert!(matches!(
            twilight(&heartbeat_ack()),
            GatewayEvent::HeartbeatAck
        ));
        assert!(matches!(
            twilight(&heartbeat_request(5)),
            GatewayEvent::Heartbeat(5)
        ));
        assert!(matches!(twilight(&reconnect()), GatewayEvent::Reconnect));
        assert!(matches!(
            twilight(&invalid_session(false)),
            GatewayEvent::InvalidateSession(false)
        ));
        assert!(matches!(
            twilight(&invalid_session(true)),
            GatewayEvent::InvalidateSession(true)
        ));
        // Event data containing its own "op"/"t"/"s" keys must not confuse the text scan.
        let data = br#"{"guild_id":"1","role_id":"2","op":5,"t":"X","s":9}"#;
        let event = twilight(&dispatch_frame(77, "GUILD_ROLE_DELETE", data));
        assert!(matches!(event, GatewayEvent::Dispatch(77, _)), "{event:?}");
        assert!(matches!(
            twilight(&dispatch_frame(78, "RESUMED", b"{}")),
            GatewayEvent::Dispatch(78, _)
        ));
    }

    /// What twilight sends decodes to the same values.
    #[test]
    fn decodes_twilight_commands() {
        use twilight_model::gateway::payload::outgoing::{
            Identify as TIdentify, RequestGuildMembers as TRequest, Resume as TResume,
            UpdatePresence, UpdateVoiceState,
            identify::{IdentifyInfo, IdentifyProperties},
        };
        use twilight_model::gateway::presence::{ActivityType, MinimalActivity, Status};
        use twilight_model::gateway::{Intents as TIntents, ShardId};
        use twilight_model::id::Id;

        fn bytes<T: serde::Serialize>(command: &T) -> Vec<u8> {
            serde_json::to_vec(command).unwrap()
        }
        let identify = TIdentify::new(IdentifyInfo {
            compress: false,
            intents: TIntents::GUILDS | TIntents::MESSAGE_CONTENT,
            large_threshold: 100,
            presence: None,
            properties: IdentifyProperties::new("twilight.rs", "twilight.rs", "linux"),
            shard: Some(ShardId::new(1, 2)),
            token: "Bot tok".into(),
        });
        let Command::Identify(i) = decode_command(&bytes(&identify)).unwrap() else {
            panic!("not identify")
        };
        assert_eq!(i.validate(), Ok(Intents::GUILDS | Intents::MESSAGE_CONTENT));
        assert_eq!(
            (i.shard, i.large_threshold(), i.bare_token()),
            (Some([1, 2]), 100, "tok")
        );
        assert_eq!(i.properties.os, "linux");

        let resume = TResume::new(42, "sess", "tok");
        assert!(matches!(
            decode_command(&bytes(&resume)).unwrap(),
            Command::Resume(r) if r.seq == 42 && r.session_id == "sess"
        ));

        let request = TRequest::builder(Id::new(7))
            .presences(true)
            .nonce("n")
            .query("ab", Some(10));
        let Command::RequestGuildMembers(r) = decode_command(&bytes(&request)).unwrap() else {
            panic!("not request guild members")
        };
        assert_eq!(r.guild_id, vec![GuildId::new(7)]);
        assert_eq!(
            (r.query.as_deref(), r.limit, r.presences),
            (Some("ab"), 10, true)
        );
        let request = TRequest::builder(Id::new(7)).user_id(Id::new(9));
        let Command::RequestGuildMembers(r) = decode_command(&bytes(&request)).unwrap() else {
            panic!("not request guild members")
        };
        assert_eq!(r.user_ids, Some(vec![UserId::new(9)]));

        let activity = MinimalActivity {
            kind: ActivityType::Playing,
            name: "a game".into(),
            url: None,
        };
        let presence =
            UpdatePresence::new(vec![activity.into()], true, Some(5), Status::Idle).unwrap();
        let Command::PresenceUpdate(p) = decode_command(&bytes(&presence)).unwrap() else {
            panic!("not presence")
        };
        assert_eq!(
            (p.since, p.status.as_str(), p.afk),
            (Some(5), "idle", Some(true))
        );
        assert_eq!(p.activities[0]["name"], "a game");

        let voice = UpdateVoiceState::new(Id::new(3), None, true, false);
        let Command::VoiceStateUpdate(v) = decode_command(&bytes(&voice)).unwrap() else {
            panic!("not voice")
        };
        assert_eq!(
            (v.guild_id, v.self_deaf, v.self_mute),
            (Some(GuildId::new(3)), true, false)
        );
    }

    #[test]
    fn dispatch_frame_escapes_odd_names_and_accepts_scalars() {
        let v = parse(&dispatch_frame(3, "WEIRD\"NAME\\\n", b"null"));
        assert_eq!(v["t"], "WEIRD\"NAME\\\n");
        assert_eq!(v["d"], Value::Null);
        let v = parse(&dispatch_frame(4, "RESUMED", b"{}"));
        assert_eq!(v["d"], json!({}));
    }
}
