//! Discord snowflakes and typed ids.
//!
//! A snowflake is a u64: 42 bits of milliseconds since the Discord epoch (2015-01-01), 5 bits
//! worker, 5 bits process, 12 bits increment. On the wire it is a JSON string (JavaScript numbers
//! lose precision above 2^53); on input both strings and numbers are accepted, as Discord does.
//! Each entity gets its own id type so a `ChannelId` can never be passed where a `GuildId` belongs.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 2015-01-01T00:00:00Z in Unix milliseconds.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Snowflake(pub u64);

impl Snowflake {
    pub const fn new(v: u64) -> Self {
        Self(v)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// Unix milliseconds at which this id was generated.
    pub const fn timestamp_ms(self) -> u64 {
        (self.0 >> 22) + DISCORD_EPOCH_MS
    }

    /// The smallest snowflake of a given Unix millisecond: used for `before`/`after` bounds
    /// derived from times, and for message buckets.
    pub const fn from_timestamp_ms(unix_ms: u64) -> Self {
        Self(unix_ms.saturating_sub(DISCORD_EPOCH_MS) << 22)
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a snowflake: {0:?}")]
pub struct ParseSnowflakeError(pub String);

impl FromStr for Snowflake {
    type Err = ParseSnowflakeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>()
            .map(Self)
            .map_err(|_| ParseSnowflakeError(s.chars().take(32).collect()))
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `collect_str` lets serde_json write the digits straight into its buffer.
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Snowflake;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a snowflake (string or integer)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Snowflake, E> {
                u64::try_from(v)
                    .map(Snowflake)
                    .map_err(|_| E::custom("snowflake must not be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("invalid snowflake {v:?}")))
            }
        }
        d.deserialize_any(V)
    }
}

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Snowflake);

        impl $name {
            pub const fn new(v: u64) -> Self {
                Self(Snowflake(v))
            }
            pub const fn get(self) -> u64 {
                self.0.0
            }
            pub const fn snowflake(self) -> Snowflake {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseSnowflakeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl From<Snowflake> for $name {
            fn from(s: Snowflake) -> Self {
                Self(s)
            }
        }

        impl From<$name> for Snowflake {
            fn from(id: $name) -> Snowflake {
                id.0
            }
        }
    )*};
}

typed_id!(
    UserId,
    GuildId,
    ChannelId,
    MessageId,
    RoleId,
    EmojiId,
    ApplicationId,
    WebhookId,
    StickerId,
    /// A guild scheduled event.
    ScheduledEventId,
    AttachmentId,
    AuditLogEntryId,
    TeamId,
    /// An application command (slash, user or message command).
    CommandId,
    /// One use of an application command (lives in memory, see `actors::interactions`).
    InteractionId,
    /// A guild integration (a bot added through OAuth2).
    IntegrationId,
    /// An auto-moderation rule of a guild.
    AutoModRuleId,
    /// An application's entitlement (a user's or guild's access to one of its SKUs).
    EntitlementId,
    /// An application's SKU (a premium offering); only ever referenced, never stored here.
    SkuId,
    /// A stage instance (the live stage of a stage channel).
    StageInstanceId,
    /// A soundboard sound (a guild's, or one of Discord's defaults with a small id).
    SoundId,
    /// An application to join a guild (member verification).
    JoinRequestId,
    /// A tag of a forum or media channel (`available_tags`, a post's `applied_tags`).
    TagId,
);

impl GuildId {
    /// Discord's `@everyone` role shares its guild's id.
    pub const fn everyone_role(self) -> RoleId {
        RoleId(self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("worker and process ids must be below 32 (got {worker}/{process})")]
pub struct BadNodeId {
    pub worker: u8,
    pub process: u8,
}

/// The 10 node bits of a snowflake (5 worker + 5 process bits) as one number, 0..1024: what a
/// cluster node claims under a lease so that no two live nodes mint the same ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(u16);

impl WorkerId {
    /// How many distinct worker ids a snowflake can carry.
    pub const COUNT: u16 = 1024;

    pub const fn new(v: u16) -> Option<Self> {
        if v < Self::COUNT { Some(Self(v)) } else { None }
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    /// The id's bits in place (bits 12..22 of a snowflake).
    const fn node_bits(self) -> u64 {
        (self.0 as u64) << 12
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Minting refused: this node's worker-id lease is not known to be valid (it could not renew
/// it in time, or lost it). Another node may hold the id by now, so minting would risk
/// duplicates; the HTTP edge answers 503 with `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("snowflake ids unavailable: the worker-id lease is not valid (retry in {retry_after:?})")]
pub struct IdsUnavailable {
    pub retry_after: Duration,
}

/// A worker id held under a lease, and until when the lease is known to be valid. The cluster's
/// identity task grants and extends it after each successful renewal; the generator reads it
/// on every id (two relaxed atomic loads) and refuses once `valid_until` has passed.
#[derive(Debug)]
pub struct IdLease {
    base: Instant,
    /// Nanoseconds after `base` until which minting is allowed; 0 = never granted or revoked.
    valid_until: AtomicU64,
    /// The held worker id's node bits.
    node_bits: AtomicU64,
    /// What a refused caller is told to wait (about one renewal period).
    retry_after_ms: AtomicU64,
}

impl IdLease {
    /// A lease not yet granted: the generator refuses until [`grant`](Self::grant).
    pub fn new(retry_after: Duration) -> Self {
        Self {
            base: Instant::now(),
            valid_until: AtomicU64::new(0),
            node_bits: AtomicU64::new(0),
            retry_after_ms: AtomicU64::new(retry_after.as_millis() as u64),
        }
    }

    /// Allows minting as `worker` until `until` (renewal time plus the TTL minus a margin).
    pub fn grant(&self, worker: WorkerId, until: Instant) {
        self.node_bits.store(worker.node_bits(), Ordering::Release);
        let nanos = until.saturating_duration_since(self.base).as_nanos() as u64;
        self.valid_until.store(nanos.max(1), Ordering::Release);
    }

    /// Stops minting at once (the lease was lost or released).
    pub fn revoke(&self) {
        self.valid_until.store(0, Ordering::Release);
    }

    pub fn is_valid(&self) -> bool {
        let until = self.valid_until.load(Ordering::Acquire);
        until != 0 && (self.base.elapsed().as_nanos() as u64) < until
    }

    /// The held worker id while the lease is valid.
    pub fn worker(&self) -> Option<WorkerId> {
        self.is_valid()
            .then(|| WorkerId((self.node_bits.load(Ordering::Acquire) >> 12) as u16))
    }

    fn node_bits(&self) -> Result<u64, IdsUnavailable> {
        if self.is_valid() {
            Ok(self.node_bits.load(Ordering::Acquire))
        } else {
            Err(IdsUnavailable {
                retry_after: Duration::from_millis(self.retry_after_ms.load(Ordering::Relaxed)),
            })
        }
    }
}

/// Lock-free snowflake generator: one atomic word holds the last issued id, so concurrent callers
/// never issue duplicates and ids are strictly increasing per generator. When more than 4096 ids
/// are asked for in one millisecond, the timestamp part runs ahead of the clock rather than
/// blocking, and the clock catches up.
///
/// A single node has fixed node bits; a cluster node's generator is *leased*: its node bits are
/// the worker id its [`IdLease`] holds, and it mints nothing while that lease is not valid.
#[derive(Debug)]
pub struct SnowflakeGenerator {
    node_bits: u64,
    lease: Option<std::sync::Arc<IdLease>>,
    last: AtomicU64,
}

impl SnowflakeGenerator {
    pub fn new(worker: u8, process: u8) -> Result<Self, BadNodeId> {
        if worker >= 32 || process >= 32 {
            return Err(BadNodeId { worker, process });
        }
        Ok(Self {
            node_bits: (u64::from(worker) << 17) | (u64::from(process) << 12),
            lease: None,
            last: AtomicU64::new(0),
        })
    }

    /// A generator that mints as the worker id `lease` holds, and only while it is valid.
    pub fn leased(lease: std::sync::Arc<IdLease>) -> Self {
        Self {
            node_bits: 0,
            lease: Some(lease),
            last: AtomicU64::new(0),
        }
    }

    pub fn generate(&self) -> Result<Snowflake, IdsUnavailable> {
        let node_bits = match &self.lease {
            None => self.node_bits,
            Some(lease) => lease.node_bits()?,
        };
        let now = now_ms().saturating_sub(DISCORD_EPOCH_MS);
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let prev_ts = prev >> 22;
            let prev_inc = prev & 0xfff;
            let (ts, inc) = if now > prev_ts {
                (now, 0)
            } else if prev_inc < 0xfff {
                (prev_ts, prev_inc + 1)
            } else {
                (prev_ts + 1, 0)
            };
            let next = (ts << 22) | node_bits | inc;
            match self
                .last
                .compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(Snowflake(next)),
                Err(actual) => prev = actual,
            }
        }
    }

    /// A new id of the requested type.
    pub fn next<T: From<Snowflake>>(&self) -> Result<T, IdsUnavailable> {
        self.generate().map(T::from)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(DISCORD_EPOCH_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn discord_documented_example() {
        // From Discord's reference: 175928847299117063 → 2016-04-30 11:18:25.796 UTC.
        let s = Snowflake(175928847299117063);
        assert_eq!(s.timestamp_ms(), 1_462_015_105_796);
        assert_eq!((s.0 & 0x3E0000) >> 17, 1);
        assert_eq!(s.0 & 0xFFF, 7);
    }

    #[test]
    fn serde_string_out_string_or_number_in() {
        let id = UserId::new(175928847299117063);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"175928847299117063\""
        );
        let a: UserId = serde_json::from_str("\"175928847299117063\"").unwrap();
        let b: UserId = serde_json::from_str("175928847299117063").unwrap();
        assert_eq!(a, id);
        assert_eq!(b, id);
        assert!(serde_json::from_str::<UserId>("\"abc\"").is_err());
        assert!(serde_json::from_str::<UserId>("-1").is_err());
    }

    #[test]
    fn generator_is_unique_and_increasing() {
        let g = SnowflakeGenerator::new(1, 2).unwrap();
        let mut seen = HashSet::new();
        let mut last = Snowflake(0);
        for _ in 0..20_000 {
            let s = g.generate().unwrap();
            assert!(s > last);
            assert!(seen.insert(s));
            assert_eq!((s.0 >> 17) & 0x1f, 1);
            assert_eq!((s.0 >> 12) & 0x1f, 2);
            last = s;
        }
        assert!(SnowflakeGenerator::new(32, 0).is_err());
    }

    /// A peer server was seen issuing duplicate ids under concurrency: millions of ids from many
    /// threads at once, none repeated, none going backwards within a thread.
    #[test]
    fn generator_is_unique_across_threads() {
        let g = std::sync::Arc::new(SnowflakeGenerator::new(3, 4).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || {
                    let mut ids = Vec::with_capacity(250_000);
                    for _ in 0..250_000 {
                        let id = g.generate().unwrap();
                        if let Some(last) = ids.last() {
                            assert!(id > *last, "went backwards in one thread");
                        }
                        ids.push(id);
                    }
                    ids
                })
            })
            .collect();
        let mut all = Vec::with_capacity(2_000_000);
        for t in threads {
            all.extend(t.join().unwrap());
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate ids");
    }

    #[test]
    fn timestamp_round_trip() {
        let t = 1_700_000_000_123;
        assert_eq!(Snowflake::from_timestamp_ms(t).timestamp_ms(), t);
        let g = SnowflakeGenerator::new(0, 0).unwrap();
        let now = now_ms();
        let ts = g.generate().unwrap().timestamp_ms();
        assert!(ts >= now && ts < now + 1000);
    }

    #[test]
    fn a_leased_generator_mints_only_while_its_lease_is_valid() {
        let lease = std::sync::Arc::new(IdLease::new(Duration::from_millis(3300)));
        let g = SnowflakeGenerator::leased(lease.clone());
        let refused = g.generate().unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(3300));
        let worker = WorkerId::new(1000).unwrap();
        lease.grant(worker, Instant::now() + Duration::from_secs(60));
        let id = g.generate().unwrap();
        assert_eq!(
            (id.0 >> 12) & 0x3ff,
            1000,
            "the leased worker id is in the id"
        );
        assert_eq!(lease.worker(), Some(worker));
        lease.revoke();
        assert!(g.generate().is_err(), "refused once revoked");
        assert_eq!(lease.worker(), None);
        // A lease that ran out (no renewal in time) refuses like a revoked one.
        lease.grant(worker, Instant::now());
        assert!(g.generate().is_err());
        assert!(WorkerId::new(1024).is_none());
    }

    #[test]
    fn everyone_role_is_guild_id() {
        assert_eq!(GuildId::new(42).everyone_role(), RoleId::new(42));
    }
}
