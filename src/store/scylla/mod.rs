//! ScyllaDB backend (also runs on Apache Cassandra 4/5: the tests use Cassandra 5).
//!
//! The tables are in `schema.cql` at the repository root; `connect` creates the keyspace and
//! applies the schema when a table is missing, then prepares every statement once.
//!
//! Shape, the way Discord models it:
//! - **Messages** are partitioned by `(channel_id, bucket)`, where `bucket` is a 10-day window of the
//!   snowflake's time, clustered by `message_id DESC`. `message_buckets` lists the buckets a channel
//!   ever used, so paging (`Latest`/`Before`/`After`/`Around`) walks only those, newest or oldest
//!   first, issuing one `LIMIT`ed query per bucket until the page is full.
//! - **Lookups** another key needs are denormalized tables written with the record: users by email
//!   and by username, guilds by user, a guild's channels (with a copy of the record, so loading a
//!   guild reads partitions, not rows), private channels by recipient, invites and templates by
//!   guild. Multi-row writes that must stay in step are logged batches.
//! - **Uniqueness** (email, `username#discriminator`, invite and template codes) is claimed with
//!   lightweight transactions (`IF NOT EXISTS`), released with `DELETE … IF user_id = ?`; invite
//!   and template uses are counted by compare-and-set on the record. Those tables are only written with LWTs (mixing LWT
//!   and plain writes on one row is unsafe). A claim that finds its own user id already there
//!   counts as won, so a retried create/update is idempotent.
//! - **No `ALLOW FILTERING`**, no secondary indexes: every query names its partition.
//!
//! **Records are stored as JSON text** (`data` column, the serde form of the `*Record` structs, the
//! same encoding as the embedded store) rather than one typed column per field: they are nested
//! (permission overwrites, attachments, embeds, reactions, message references), they are always read
//! and written whole, and new fields arrive through serde defaults without an `ALTER TABLE`. Only
//! the fields a query keys, orders or compares on have typed columns.
//!
//! Snowflakes are stored as `bigint` holding the u64 bit pattern (`as i64`). Real snowflakes are
//! below 2^63 until 2084; and since a bucket is derived from the top bits of the id, all ids of a
//! bucket share their sign bit, so clustering order equals u64 order within every partition.
//!
//! Reads use `LOCAL_QUORUM`, LWTs `LOCAL_SERIAL`; writes carry client-side monotonic timestamps so a
//! delete followed by a re-insert from this process is ordered. In a cluster, an actor's writes
//! carry the stamp taken at its lease check instead (see [`super::stamp`]).

mod app_extras;
mod commands;
mod guild_extras;
mod oauth;
mod scheduled_events;
mod schema;
mod statements;
mod stickers;
mod teams;
mod templates;
mod user_data;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::{CqlValue, Row};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::schema::{DEFAULT_REPLICATION, SCHEMA_CQL};
use self::statements::Statements;
use super::{
    AuditEntry, BanRecord, GuildAuditEntry, GuildState, MessagePage, Store, StoreError,
    StoreResult, stamp, username_key,
};
use crate::id::{
    ApplicationId, AutoModRuleId, ChannelId, CommandId, EmojiId, GuildId, IntegrationId,
    JoinRequestId, MessageId, RoleId, ScheduledEventId, Snowflake, StickerId, TeamId, UserId,
    WebhookId,
};
use crate::model::{
    AppEmojiRecord, ApplicationRecord, AutoModRuleRecord, ChannelRecord, CommandPermissionsRecord,
    CommandRecord, ConnectedAccountRecord, EmojiRecord, EntitlementRecord, EventExceptionUser,
    GuildRecord, GuildSetupRecord, IntegrationRecord, InviteRecord, InviteTargetUsersRecord,
    JoinRequestRecord, MemberRecord, MessageRecord, OAuthTokenRecord, PollExpiry, ReadStateRecord,
    RelationshipRecord, Role, RoleConnectionMetadata, ScheduledEventRecord, StickerRecord,
    TeamMemberRecord, TeamRecord, TemplateRecord, ThreadMemberRecord, Timestamp, UserConsent,
    UserRecord, UserRoleConnectionRecord, UserSettings, WebhookRecord,
};

/// Width of a message bucket: 10 days of snowflake time.
pub const BUCKET_MS: u64 = 10 * 24 * 60 * 60 * 1000;

/// The bucket (partition) of a message id: its milliseconds since the Discord epoch / 10 days.
pub fn bucket_of(id: MessageId) -> i32 {
    // 2^42 ms / 10 days < 5100: always fits.
    i32::try_from((id.get() >> 22) / BUCKET_MS).unwrap_or(i32::MAX)
}

/// Width of an audit-log bucket: 30 days of snowflake time.
pub const AUDIT_BUCKET_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// The audit-log partition of an entry id.
fn audit_bucket_of(id: Snowflake) -> i32 {
    i32::try_from((id.get() >> 22) / AUDIT_BUCKET_MS).unwrap_or(i32::MAX)
}

/// Requests in flight at once for fan-out reads/writes (index lookups, cascading deletes).
const CONCURRENCY: usize = 32;
/// Compare-and-set rounds `use_invite` tries under contention before giving up.
const MAX_CAS_ROUNDS: usize = 32;
/// Logged batches are split before they reach Cassandra's default 50 KiB failure threshold.
const BATCH_MAX_BYTES: usize = 32 * 1024;
const BATCH_MAX_STATEMENTS: usize = 64;
/// (channel, bucket) pairs known to be in `message_buckets`; cleared when it grows past this.
const BUCKET_CACHE_MAX: usize = 100_000;

pub struct ScyllaStore {
    session: Session,
    st: Statements,
    keyspace: String,
    /// Buckets already recorded, so inserting a message costs one write, not two.
    known_buckets: parking_lot::Mutex<HashSet<(u64, i32)>>,
}

fn be<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::backend(e)
}

fn enc<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn dec<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A snowflake as a CQL `bigint` (same bits).
fn n(id: u64) -> i64 {
    id as i64
}

/// A CQL `bigint` back to a snowflake.
fn u(v: i64) -> u64 {
    v as u64
}

/// The outcome of a lightweight transaction: `[applied]` and, when not applied, the current values
/// of the row's columns that the server sends back.
struct Lwt {
    applied: bool,
    columns: Vec<(String, Option<CqlValue>)>,
}

impl Lwt {
    fn bigint(&self, name: &str) -> Option<i64> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| match v {
                Some(CqlValue::BigInt(v)) => Some(*v),
                _ => None,
            })
    }

    fn text(&self, name: &str) -> Option<String> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| match v {
                Some(CqlValue::Text(s)) | Some(CqlValue::Ascii(s)) => Some(s.clone()),
                _ => None,
            })
    }
}

/// Heterogeneous statements collected into as few logged batches as the size limits allow.
struct Batches {
    done: Vec<(Batch, Vec<Vec<CqlValue>>)>,
    batch: Batch,
    values: Vec<Vec<CqlValue>>,
    bytes: usize,
}

impl Batches {
    fn new() -> Self {
        Self {
            done: Vec::new(),
            batch: Batch::new(BatchType::Logged),
            values: Vec::new(),
            bytes: 0,
        }
    }

    fn push(&mut self, statement: &PreparedStatement, values: Vec<CqlValue>) {
        let size: usize = values
            .iter()
            .map(|v| match v {
                CqlValue::Text(s) => s.len(),
                _ => 8,
            })
            .sum();
        if !self.values.is_empty()
            && (self.bytes + size > BATCH_MAX_BYTES || self.values.len() >= BATCH_MAX_STATEMENTS)
        {
            let full = std::mem::replace(&mut self.batch, Batch::new(BatchType::Logged));
            self.done.push((full, std::mem::take(&mut self.values)));
            self.bytes = 0;
        }
        self.batch.append_statement(statement.clone());
        self.values.push(values);
        self.bytes += size;
    }

    /// The batches in push order.
    fn finish(mut self) -> Vec<(Batch, Vec<Vec<CqlValue>>)> {
        if !self.values.is_empty() {
            self.done.push((self.batch, self.values));
        }
        self.done
    }
}

/// Decodes the JSON `data` of every row, skipping null cells.
fn decode_all<T: DeserializeOwned>(
    rows: impl Iterator<Item = Option<String>>,
) -> StoreResult<Vec<T>> {
    rows.flatten().map(|json| dec(&json)).collect()
}

fn big(id: u64) -> CqlValue {
    CqlValue::BigInt(n(id))
}

fn text(s: impl Into<String>) -> CqlValue {
    CqlValue::Text(s.into())
}

fn cql_consistency(c: crate::config::bootstrap::Consistency) -> Consistency {
    use crate::config::bootstrap::Consistency as C;
    match c {
        C::One => Consistency::One,
        C::LocalOne => Consistency::LocalOne,
        C::Quorum => Consistency::Quorum,
        C::LocalQuorum => Consistency::LocalQuorum,
        C::All => Consistency::All,
    }
}

/// Datacenter-local levels keep lightweight transactions local too.
fn serial_consistency(c: crate::config::bootstrap::Consistency) -> SerialConsistency {
    use crate::config::bootstrap::Consistency as C;
    match c {
        C::LocalOne | C::LocalQuorum => SerialConsistency::LocalSerial,
        C::One | C::Quorum | C::All => SerialConsistency::Serial,
    }
}

impl ScyllaStore {
    /// Connects to `nodes` (`host:port`), creates `keyspace` (SimpleStrategy, RF 1) and the tables
    /// of `schema.cql` if missing, and prepares every statement.
    pub async fn connect(nodes: &[String], keyspace: &str) -> Result<Self, StoreError> {
        Self::connect_with_replication(nodes, keyspace, DEFAULT_REPLICATION).await
    }

    /// Like [`ScyllaStore::connect`], with the keyspace's replication map given as CQL, e.g.
    /// `{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}` (only used when the keyspace
    /// is created).
    pub async fn connect_with_replication(
        nodes: &[String],
        keyspace: &str,
        replication: &str,
    ) -> Result<Self, StoreError> {
        Self::connect_with(
            nodes,
            keyspace,
            replication,
            crate::config::bootstrap::Consistency::default(),
        )
        .await
    }

    /// Like [`ScyllaStore::connect_with_replication`], with the consistency of every statement
    /// (`database.consistency`); lightweight transactions use the matching serial level.
    pub async fn connect_with(
        nodes: &[String],
        keyspace: &str,
        replication: &str,
        consistency: crate::config::bootstrap::Consistency,
    ) -> Result<Self, StoreError> {
        if nodes.is_empty() {
            return Err(StoreError::Backend("no Scylla nodes configured".into()));
        }
        let keyspace = schema::checked_keyspace(keyspace)?;
        let profile = ExecutionProfile::builder()
            .consistency(cql_consistency(consistency))
            .serial_consistency(Some(serial_consistency(consistency)))
            .request_timeout(Some(Duration::from_secs(20)))
            .build();
        let session = SessionBuilder::new()
            .known_nodes(nodes)
            .default_execution_profile_handle(profile.into_handle())
            .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()))
            .connection_timeout(Duration::from_secs(10))
            .keyspaces_to_fetch([keyspace.clone()])
            .build()
            .await
            .map_err(|e| StoreError::Backend(format!("connecting to {nodes:?}: {e}")))?;
        schema::ensure(&session, &keyspace, replication).await?;
        let st = Statements::prepare(&session).await?;
        Ok(Self {
            session,
            st,
            keyspace,
            known_buckets: parking_lot::Mutex::new(HashSet::new()),
        })
    }

    /// The keyspace this store works in.
    pub fn keyspace(&self) -> &str {
        &self.keyspace
    }

    /// The driver session, for administration and tests.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs a write. Under a lease's write stamp (cluster mode, see [`stamp`]) it carries that
    /// stamp instead of the send time, so a stale owner's late write loses to the next owner's.
    async fn exec(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<()> {
        match stamp::next() {
            None => self.session.execute_unpaged(statement, values).await,
            Some(at) => {
                let mut stamped = statement.clone();
                stamped.set_timestamp(Some(at));
                self.session.execute_unpaged(&stamped, values).await
            }
        }
        .map_err(be)?;
        Ok(())
    }

    /// All rows of a query that returns a bounded, small result.
    async fn rows<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<Vec<R>>
    where
        R: for<'f, 'm> DeserializeRow<'f, 'm>,
    {
        let result = self
            .session
            .execute_unpaged(statement, values)
            .await
            .map_err(be)?;
        let rows = result.into_rows_result().map_err(be)?;
        rows.rows::<R>()
            .map_err(be)?
            .collect::<Result<Vec<R>, _>>()
            .map_err(be)
    }

    /// All rows of a partition scan, fetched page by page.
    async fn scan<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<Vec<R>>
    where
        R: for<'f, 'm> DeserializeRow<'f, 'm> + 'static,
    {
        let pager = self
            .session
            .execute_iter(statement.clone(), values)
            .await
            .map_err(be)?;
        pager
            .rows_stream::<R>()
            .map_err(be)?
            .try_collect()
            .await
            .map_err(be)
    }

    /// One JSON record by key.
    async fn one<T: DeserializeOwned>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<Option<T>> {
        match self
            .rows::<(Option<String>,)>(statement, values)
            .await?
            .into_iter()
            .next()
        {
            Some((Some(json),)) => Ok(Some(dec(&json)?)),
            _ => Ok(None),
        }
    }

    async fn lwt(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<Lwt> {
        let result = self
            .session
            .execute_unpaged(statement, values)
            .await
            .map_err(be)?;
        let rows = result.into_rows_result().map_err(be)?;
        let names: Vec<String> = rows
            .column_specs()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let Some(row) = rows.maybe_first_row::<Row>().map_err(be)? else {
            return Err(StoreError::Backend(
                "lightweight transaction returned no row".into(),
            ));
        };
        let applied = matches!(row.columns.first(), Some(Some(CqlValue::Boolean(true))));
        Ok(Lwt {
            applied,
            columns: names.into_iter().zip(row.columns).collect(),
        })
    }

    async fn run_batches(&self, batches: Batches) -> StoreResult<()> {
        for (mut batch, values) in batches.finish() {
            if let Some(at) = stamp::next() {
                batch.set_timestamp(Some(at));
            }
            self.session.batch(&batch, values).await.map_err(be)?;
        }
        Ok(())
    }

    /// Runs futures with bounded concurrency, keeping their order; the first error wins. (Takes a
    /// `Vec`, not an iterator: a lazy `map` closure held across the await trips `Send` inference.)
    async fn all<T, F>(futures: Vec<F>) -> StoreResult<Vec<T>>
    where
        F: std::future::Future<Output = StoreResult<T>>,
    {
        futures::stream::iter(futures)
            .buffered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// Claims a unique key for `user`; Ok(false) when another user holds it.
    async fn claim(
        &self,
        statement: &PreparedStatement,
        key: &str,
        user: UserId,
    ) -> StoreResult<bool> {
        let outcome = self.lwt(statement, (key, n(user.get()))).await?;
        Ok(outcome.applied || outcome.bigint("user_id") == Some(n(user.get())))
    }

    /// Releases a unique key if `user` still holds it.
    async fn release(
        &self,
        statement: &PreparedStatement,
        key: &str,
        user: UserId,
    ) -> StoreResult<()> {
        self.lwt(statement, (key, n(user.get()))).await.map(|_| ())
    }

    async fn user_by_index(
        &self,
        statement: &PreparedStatement,
        key: &str,
        still_matches: impl Fn(&UserRecord) -> bool,
    ) -> StoreResult<Option<UserRecord>> {
        let Some((Some(id),)) = self
            .rows::<(Option<i64>,)>(statement, (key,))
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        // An index entry left behind by an interrupted update must not resolve to someone else.
        Ok(self
            .get_user(UserId::new(u(id)))
            .await?
            .filter(|user| still_matches(user)))
    }

    async fn buckets(
        &self,
        channel: ChannelId,
        from: i32,
        newest_first: bool,
    ) -> StoreResult<Vec<i32>> {
        let statement = if newest_first {
            &self.st.buckets_down_from
        } else {
            &self.st.buckets_up_from
        };
        let rows: Vec<(i32,)> = self.scan(statement, (n(channel.get()), from)).await?;
        Ok(rows.into_iter().map(|(b,)| b).collect())
    }

    /// Walks a channel's buckets from `id`'s bucket (newest first when `newest_first`, else oldest
    /// first) collecting up to `limit` messages: `first` (bound by `id`) in `id`'s bucket, `rest`
    /// in the following ones. Returns them in walk order.
    async fn walk(
        &self,
        channel: ChannelId,
        id: MessageId,
        newest_first: bool,
        first: &PreparedStatement,
        limit: usize,
    ) -> StoreResult<Vec<MessageRecord>> {
        let mut out = Vec::with_capacity(limit);
        if limit == 0 {
            return Ok(out);
        }
        let start = bucket_of(id);
        let rest = if newest_first {
            &self.st.messages_newest
        } else {
            &self.st.messages_oldest
        };
        let c = n(channel.get());
        for bucket in self.buckets(channel, start, newest_first).await? {
            let want = i32::try_from(limit - out.len()).unwrap_or(100);
            let rows: Vec<(Option<String>,)> = if bucket == start {
                self.rows(first, (c, bucket, n(id.get()), want)).await?
            } else {
                self.rows(rest, (c, bucket, want)).await?
            };
            for (json,) in rows {
                if let Some(json) = json {
                    out.push(dec(&json)?);
                }
            }
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        Ok(out)
    }

    async fn latest(&self, channel: ChannelId, limit: usize) -> StoreResult<Vec<MessageRecord>> {
        let c = n(channel.get());
        let mut out = Vec::with_capacity(limit);
        for bucket in self.buckets(channel, i32::MAX, true).await? {
            let want = i32::try_from(limit - out.len()).unwrap_or(100);
            for (json,) in self
                .rows::<(Option<String>,)>(&self.st.messages_newest, (c, bucket, want))
                .await?
            {
                if let Some(json) = json {
                    out.push(dec(&json)?);
                }
            }
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        Ok(out)
    }

    /// Deletes every message of a channel (each bucket partition) and its bucket list.
    async fn delete_channel_messages(&self, channel: ChannelId) -> StoreResult<()> {
        let c = n(channel.get());
        let buckets = self.buckets(channel, i32::MAX, true).await?;
        Self::all(
            buckets
                .iter()
                .map(|b| self.exec(&self.st.messages_del_bucket, (c, *b)))
                .collect::<Vec<_>>(),
        )
        .await?;
        self.exec(&self.st.buckets_del, (c,)).await?;
        self.known_buckets
            .lock()
            .retain(|(ch, _)| *ch != channel.get());
        Ok(())
    }

    async fn remember_bucket(&self, channel: ChannelId, bucket: i32) -> StoreResult<()> {
        let key = (channel.get(), bucket);
        if self.known_buckets.lock().contains(&key) {
            return Ok(());
        }
        self.exec(&self.st.bucket_put, (n(channel.get()), bucket))
            .await?;
        let mut known = self.known_buckets.lock();
        if known.len() >= BUCKET_CACHE_MAX {
            known.clear();
        }
        known.insert(key);
        Ok(())
    }

    fn push_channel_rows(&self, batches: &mut Batches, channel: &ChannelRecord, json: &str) {
        let c = channel.id.get();
        batches.push(&self.st.channel_put, vec![big(c), text(json)]);
        if let Some(g) = channel.guild_id {
            batches.push(
                &self.st.guild_channel_put,
                vec![big(g.get()), big(c), text(json)],
            );
        } else {
            for r in &channel.recipient_ids {
                batches.push(&self.st.private_channel_put, vec![big(r.get()), big(c)]);
            }
        }
    }
}

#[async_trait]
impl Store for ScyllaStore {
    fn backend_name(&self) -> &'static str {
        "scylla"
    }

    async fn get_config(&self) -> StoreResult<Option<String>> {
        let rows: Vec<(Option<String>,)> = self.rows(&self.st.config_get, ("config",)).await?;
        Ok(rows.into_iter().next().and_then(|(json,)| json))
    }

    async fn put_config(&self, json: &str) -> StoreResult<()> {
        self.exec(&self.st.config_put, ("config", json)).await
    }

    async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
        let json = enc(user)?;
        let name_key = username_key(&user.username, &user.discriminator);
        if !self.claim(&self.st.name_claim, &name_key, user.id).await? {
            return Err(StoreError::Conflict("username"));
        }
        if let Some(email) = user.email.as_deref().map(str::to_lowercase)
            && !self.claim(&self.st.email_claim, &email, user.id).await?
        {
            self.release(&self.st.name_release, &name_key, user.id)
                .await?;
            return Err(StoreError::Conflict("email"));
        }
        self.exec(&self.st.user_put, (n(user.id.get()), json.as_str()))
            .await
    }

    async fn update_user(&self, user: &UserRecord) -> StoreResult<()> {
        let json = enc(user)?;
        let Some(old) = self.get_user(user.id).await? else {
            return Err(StoreError::Corrupt(format!(
                "update of unknown user {}",
                user.id
            )));
        };
        let (old_key, new_key) = (
            username_key(&old.username, &old.discriminator),
            username_key(&user.username, &user.discriminator),
        );
        let (old_email, new_email) = (
            old.email.as_deref().map(str::to_lowercase),
            user.email.as_deref().map(str::to_lowercase),
        );
        // Claim the new keys first; a conflict gives back what this call claimed and changes nothing.
        let name_changed = old_key != new_key;
        if name_changed && !self.claim(&self.st.name_claim, &new_key, user.id).await? {
            return Err(StoreError::Conflict("username"));
        }
        let email_changed = old_email != new_email;
        if email_changed
            && let Some(e) = &new_email
            && !self.claim(&self.st.email_claim, e, user.id).await?
        {
            if name_changed {
                self.release(&self.st.name_release, &new_key, user.id)
                    .await?;
            }
            return Err(StoreError::Conflict("email"));
        }
        self.exec(&self.st.user_put, (n(user.id.get()), json.as_str()))
            .await?;
        if name_changed {
            self.release(&self.st.name_release, &old_key, user.id)
                .await?;
        }
        if email_changed && let Some(e) = &old_email {
            self.release(&self.st.email_release, e, user.id).await?;
        }
        Ok(())
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        self.one(&self.st.user_get, (n(id.get()),)).await
    }

    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<UserRecord>> {
        let found = Self::all(ids.iter().map(|id| self.get_user(*id)).collect::<Vec<_>>()).await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let email = email.to_lowercase();
        self.user_by_index(&self.st.email_get, &email, |user| {
            user.email.as_deref().map(str::to_lowercase).as_deref() == Some(email.as_str())
        })
        .await
    }

    async fn user_by_username(
        &self,
        username: &str,
        discriminator: &str,
    ) -> StoreResult<Option<UserRecord>> {
        let key = username_key(username, discriminator);
        self.user_by_index(&self.st.name_get, &key, |user| {
            username_key(&user.username, &user.discriminator) == key
        })
        .await
    }

    async fn create_guild(&self, state: &GuildState) -> StoreResult<()> {
        let g = state.guild.id.get();
        let mut batches = Batches::new();
        for role in &state.roles {
            batches.push(
                &self.st.role_put,
                vec![big(g), big(role.id.get()), text(enc(role)?)],
            );
        }
        for channel in &state.channels {
            self.push_channel_rows(&mut batches, channel, &enc(channel)?);
        }
        for member in &state.members {
            let user = member.user_id.get();
            batches.push(
                &self.st.member_put,
                vec![big(g), big(user), text(enc(member)?)],
            );
            batches.push(&self.st.guild_of_user_put, vec![big(user), big(g)]);
        }
        for ban in &state.bans {
            batches.push(
                &self.st.ban_put,
                vec![big(g), big(ban.user_id.get()), text(enc(ban)?)],
            );
        }
        // The guild row goes last: a guild that loads is complete even if a large one needed
        // several batches.
        batches.push(&self.st.guild_put, vec![big(g), text(enc(&state.guild)?)]);
        self.run_batches(batches).await
    }

    async fn update_guild(&self, guild: &GuildRecord) -> StoreResult<()> {
        self.exec(&self.st.guild_put, (n(guild.id.get()), enc(guild)?))
            .await
    }

    async fn guild_ids(&self) -> StoreResult<Vec<GuildId>> {
        let rows = self.scan::<(i64,)>(&self.st.guild_ids, ()).await?;
        Ok(rows
            .into_iter()
            .map(|(id,)| GuildId::new(id as u64))
            .collect())
    }

    async fn load_guild(&self, id: GuildId) -> StoreResult<Option<GuildState>> {
        let g = (n(id.get()),);
        let Some(guild) = self.one::<GuildRecord>(&self.st.guild_get, g).await? else {
            return Ok(None);
        };
        let (roles, channels, members, bans) = futures::try_join!(
            self.scan::<(Option<String>,)>(&self.st.roles_of_guild, g),
            self.scan::<(i64, Option<String>)>(&self.st.guild_channels, g),
            self.scan::<(i64, Option<String>)>(&self.st.members_of_guild, g),
            self.scan::<(Option<String>,)>(&self.st.bans_of_guild, g),
        )?;
        Ok(Some(GuildState {
            guild,
            roles: decode_all(roles.into_iter().map(|(json,)| json))?,
            channels: decode_all(channels.into_iter().map(|(_, json)| json))?,
            members: decode_all(members.into_iter().map(|(_, json)| json))?,
            bans: decode_all(bans.into_iter().map(|(json,)| json))?,
        }))
    }

    async fn delete_guild(&self, id: GuildId) -> StoreResult<()> {
        let g = n(id.get());
        let (channels, members, codes) = futures::try_join!(
            self.scan::<(i64, Option<String>)>(&self.st.guild_channels, (g,)),
            self.scan::<(i64, Option<String>)>(&self.st.members_of_guild, (g,)),
            self.scan::<(String,)>(&self.st.guild_invites, (g,)),
        )?;
        // Children first, the guild row last: an interrupted delete can simply be run again.
        Self::all(
            channels
                .iter()
                .map(|(c, _)| async move {
                    let channel = ChannelId::new(u(*c));
                    self.delete_channel_messages(channel).await?;
                    self.exec(&self.st.channel_del, (*c,)).await
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        Self::all(
            members
                .iter()
                .map(|(user, _)| self.exec(&self.st.guild_of_user_del, (*user, g)))
                .collect::<Vec<_>>(),
        )
        .await?;
        Self::all(
            codes
                .iter()
                .map(|(code,)| async move {
                    self.lwt(&self.st.invite_del, (code.as_str(),)).await?;
                    self.exec(&self.st.invite_targets_del, (code.as_str(),))
                        .await
                })
                .collect::<Vec<_>>(),
        )
        .await?;
        self.delete_guild_templates(id).await?;
        futures::try_join!(
            self.exec(&self.st.roles_del_guild, (g,)),
            self.exec(&self.st.bans_del_guild, (g,)),
            self.exec(&self.st.members_del_guild, (g,)),
            self.exec(&self.st.guild_channels_del_guild, (g,)),
            self.exec(&self.st.guild_invites_del_guild, (g,)),
            self.exec(&self.st.emojis_del_guild, (g,)),
            self.exec(&self.st.guild_setup_del, (g,)),
            self.exec(&self.st.integrations_del_guild, (g,)),
            self.exec(&self.st.join_requests_del_guild, (g,)),
            self.delete_guild_stickers(id),
            self.delete_guild_scheduled_events(id),
            self.exec(&self.st.guild_audit_del_guild, (g,)),
            self.exec(&self.st.thread_members_del_guild, (g,)),
            self.exec(&self.st.automod_del_guild, (g,)),
        )?;
        self.exec(&self.st.guild_del, (g,)).await
    }

    async fn put_role(&self, guild: GuildId, role: &Role) -> StoreResult<()> {
        self.exec(
            &self.st.role_put,
            (n(guild.get()), n(role.id.get()), enc(role)?),
        )
        .await
    }

    async fn delete_role(&self, guild: GuildId, role: RoleId) -> StoreResult<()> {
        self.exec(&self.st.role_del, (n(guild.get()), n(role.get())))
            .await
    }

    async fn put_member(&self, member: &MemberRecord) -> StoreResult<()> {
        let (g, user) = (member.guild_id.get(), member.user_id.get());
        let mut batches = Batches::new();
        batches.push(
            &self.st.member_put,
            vec![big(g), big(user), text(enc(member)?)],
        );
        batches.push(&self.st.guild_of_user_put, vec![big(user), big(g)]);
        self.run_batches(batches).await
    }

    async fn delete_member(&self, guild: GuildId, user: UserId) -> StoreResult<()> {
        let mut batches = Batches::new();
        batches.push(&self.st.member_del, vec![big(guild.get()), big(user.get())]);
        batches.push(
            &self.st.guild_of_user_del,
            vec![big(user.get()), big(guild.get())],
        );
        self.run_batches(batches).await
    }

    async fn get_member(&self, guild: GuildId, user: UserId) -> StoreResult<Option<MemberRecord>> {
        self.one(&self.st.member_get, (n(guild.get()), n(user.get())))
            .await
    }

    async fn guilds_of_user(&self, user: UserId) -> StoreResult<Vec<GuildId>> {
        let rows: Vec<(i64,)> = self.scan(&self.st.guilds_of_user, (n(user.get()),)).await?;
        Ok(rows.into_iter().map(|(g,)| GuildId::new(u(g))).collect())
    }

    async fn put_ban(&self, ban: &BanRecord) -> StoreResult<()> {
        self.exec(
            &self.st.ban_put,
            (n(ban.guild_id.get()), n(ban.user_id.get()), enc(ban)?),
        )
        .await
    }

    async fn delete_ban(&self, guild: GuildId, user: UserId) -> StoreResult<()> {
        self.exec(&self.st.ban_del, (n(guild.get()), n(user.get())))
            .await
    }

    async fn put_channel(&self, channel: &ChannelRecord) -> StoreResult<()> {
        let json = enc(channel)?;
        let mut batches = Batches::new();
        self.push_channel_rows(&mut batches, channel, &json);
        if channel.guild_id.is_none() {
            // A recipient who left a group DM must stop seeing it.
            let old: Option<ChannelRecord> = self.get_channel(channel.id).await?;
            for gone in old
                .iter()
                .flat_map(|o| &o.recipient_ids)
                .filter(|r| !channel.recipient_ids.contains(r))
            {
                batches.push(
                    &self.st.private_channel_del,
                    vec![big(gone.get()), big(channel.id.get())],
                );
            }
        }
        self.run_batches(batches).await
    }

    async fn get_channel(&self, id: ChannelId) -> StoreResult<Option<ChannelRecord>> {
        self.one(&self.st.channel_get, (n(id.get()),)).await
    }

    async fn delete_channel(&self, id: ChannelId) -> StoreResult<()> {
        let c = n(id.get());
        let old = self.get_channel(id).await?;
        self.delete_channel_messages(id).await?;
        let mut batches = Batches::new();
        if let Some(old) = &old {
            if let Some(g) = old.guild_id {
                batches.push(
                    &self.st.guild_channel_del,
                    vec![big(g.get()), CqlValue::BigInt(c)],
                );
            }
            for r in &old.recipient_ids {
                batches.push(
                    &self.st.private_channel_del,
                    vec![big(r.get()), CqlValue::BigInt(c)],
                );
            }
        }
        batches.push(&self.st.channel_del, vec![CqlValue::BigInt(c)]);
        self.run_batches(batches).await
    }

    async fn private_channels_of_user(&self, user: UserId) -> StoreResult<Vec<ChannelRecord>> {
        let ids: Vec<(i64,)> = self
            .scan(&self.st.private_channels, (n(user.get()),))
            .await?;
        let found = Self::all(
            ids.iter()
                .map(|(c,)| self.get_channel(ChannelId::new(u(*c))))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter(|c| c.guild_id.is_none() && c.recipient_ids.contains(&user))
            .collect())
    }

    async fn insert_message(&self, message: &MessageRecord) -> StoreResult<()> {
        let bucket = bucket_of(message.id);
        self.remember_bucket(message.channel_id, bucket).await?;
        let values = (
            n(message.channel_id.get()),
            bucket,
            n(message.id.get()),
            enc(message)?,
        );
        self.exec(&self.st.message_put, values).await
    }

    async fn update_message(&self, message: &MessageRecord) -> StoreResult<()> {
        self.insert_message(message).await
    }

    async fn get_message(
        &self,
        channel: ChannelId,
        id: MessageId,
    ) -> StoreResult<Option<MessageRecord>> {
        self.one(
            &self.st.message_get,
            (n(channel.get()), bucket_of(id), n(id.get())),
        )
        .await
    }

    async fn delete_messages(&self, channel: ChannelId, ids: &[MessageId]) -> StoreResult<()> {
        let c = n(channel.get());
        Self::all(
            ids.iter()
                .map(|id| self.exec(&self.st.message_del, (c, bucket_of(*id), n(id.get()))))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }

    async fn messages_page(
        &self,
        channel: ChannelId,
        page: MessagePage,
        limit: usize,
    ) -> StoreResult<Vec<MessageRecord>> {
        let limit = limit.clamp(1, 100);
        match page {
            MessagePage::Latest => self.latest(channel, limit).await,
            MessagePage::Before(id) => {
                if id.get() == 0 {
                    return Ok(Vec::new());
                }
                self.walk(channel, id, true, &self.st.messages_below, limit)
                    .await
            }
            MessagePage::After(id) => {
                let mut newer = self
                    .walk(channel, id, false, &self.st.messages_above, limit)
                    .await?;
                newer.reverse();
                Ok(newer)
            }
            MessagePage::Around(id) => {
                let mut newer = self
                    .walk(channel, id, false, &self.st.messages_above, limit / 2)
                    .await?;
                newer.reverse();
                let older = self
                    .walk(
                        channel,
                        id,
                        true,
                        &self.st.messages_at_or_below,
                        limit - newer.len(),
                    )
                    .await?;
                newer.extend(older);
                Ok(newer)
            }
        }
    }

    async fn create_invite(&self, invite: &InviteRecord) -> StoreResult<()> {
        let outcome = self
            .lwt(&self.st.invite_create, (invite.code.as_str(), enc(invite)?))
            .await?;
        if !outcome.applied {
            return Err(StoreError::Conflict("invite_code"));
        }
        if let Some(g) = invite.guild_id {
            self.exec(
                &self.st.guild_invite_put,
                (n(g.get()), invite.code.as_str()),
            )
            .await?;
        }
        Ok(())
    }

    async fn get_invite(&self, code: &str) -> StoreResult<Option<InviteRecord>> {
        self.one(&self.st.invite_get, (code,)).await
    }

    async fn guild_invites(&self, guild: GuildId) -> StoreResult<Vec<InviteRecord>> {
        let codes: Vec<(String,)> = self.scan(&self.st.guild_invites, (n(guild.get()),)).await?;
        let found = Self::all(
            codes
                .iter()
                .map(|(code,)| self.get_invite(code))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter(|i| i.guild_id == Some(guild))
            .collect())
    }

    async fn use_invite(&self, code: &str) -> StoreResult<Option<InviteRecord>> {
        let rows: Vec<(Option<String>,)> = self.rows(&self.st.invite_get, (code,)).await?;
        let mut current = rows.into_iter().next().and_then(|(json,)| json);
        for _ in 0..MAX_CAS_ROUNDS {
            let Some(old_json) = current else {
                return Ok(None);
            };
            let mut invite: InviteRecord = dec(&old_json)?;
            if !invite.is_usable(Timestamp::now()) {
                return Ok(None);
            }
            invite.uses += 1;
            let outcome = self
                .lwt(
                    &self.st.invite_cas,
                    (enc(&invite)?, code, old_json.as_str()),
                )
                .await?;
            if outcome.applied {
                return Ok(Some(invite));
            }
            // Someone else counted a use (or deleted it) first: retry on what is there now.
            current = outcome.text("data");
        }
        Err(StoreError::Backend(format!(
            "invite {code}: too much contention counting a use"
        )))
    }

    async fn delete_invite(&self, code: &str) -> StoreResult<()> {
        let old: Option<InviteRecord> = self.get_invite(code).await?;
        self.lwt(&self.st.invite_del, (code,)).await?;
        self.exec(&self.st.invite_targets_del, (code,)).await?;
        if let Some(g) = old.and_then(|i| i.guild_id) {
            self.exec(&self.st.guild_invite_del, (n(g.get()), code))
                .await?;
        }
        Ok(())
    }

    async fn put_invite_target_users(&self, targets: &InviteTargetUsersRecord) -> StoreResult<()> {
        self.exec(
            &self.st.invite_targets_put,
            (targets.code.as_str(), enc(targets)?),
        )
        .await
    }

    async fn invite_target_users(
        &self,
        code: &str,
    ) -> StoreResult<Option<InviteTargetUsersRecord>> {
        self.one(&self.st.invite_targets_get, (code,)).await
    }

    async fn create_template(&self, template: &TemplateRecord) -> StoreResult<()> {
        self.create_template_impl(template).await
    }

    async fn get_template(&self, code: &str) -> StoreResult<Option<TemplateRecord>> {
        self.get_template_impl(code).await
    }

    async fn guild_templates(&self, guild: GuildId) -> StoreResult<Vec<TemplateRecord>> {
        self.guild_templates_impl(guild).await
    }

    async fn update_template(
        &self,
        template: &TemplateRecord,
    ) -> StoreResult<Option<TemplateRecord>> {
        self.update_template_impl(template).await
    }

    async fn use_template(&self, code: &str) -> StoreResult<Option<TemplateRecord>> {
        self.use_template_impl(code).await
    }

    async fn delete_template(&self, code: &str) -> StoreResult<()> {
        self.delete_template_impl(code).await
    }

    async fn put_command(&self, command: &CommandRecord) -> StoreResult<CommandRecord> {
        self.put_command_impl(command).await
    }

    async fn get_command(
        &self,
        app: ApplicationId,
        id: CommandId,
    ) -> StoreResult<Option<CommandRecord>> {
        self.get_command_impl(app, id).await
    }

    async fn commands_of(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
    ) -> StoreResult<Vec<CommandRecord>> {
        self.commands_of_impl(app, guild).await
    }

    async fn replace_commands(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        commands: &[CommandRecord],
    ) -> StoreResult<()> {
        self.replace_commands_impl(app, guild, commands).await
    }

    async fn delete_command(&self, app: ApplicationId, id: CommandId) -> StoreResult<()> {
        self.delete_command_impl(app, id).await
    }

    async fn put_application(&self, app: &ApplicationRecord) -> StoreResult<()> {
        let id = n(app.id.get());
        if let Some(old) = self.get_application(app.id).await?
            && old.owner_id != app.owner_id
        {
            self.exec(&self.st.app_of_owner_del, (n(old.owner_id.get()), id))
                .await?;
        }
        self.exec(&self.st.app_put, (id, enc(app)?)).await?;
        self.exec(&self.st.app_of_owner_put, (n(app.owner_id.get()), id))
            .await
    }

    async fn get_application(&self, id: ApplicationId) -> StoreResult<Option<ApplicationRecord>> {
        self.one(&self.st.app_get, (n(id.get()),)).await
    }

    async fn applications_of_owner(&self, owner: UserId) -> StoreResult<Vec<ApplicationRecord>> {
        let ids: Vec<(i64,)> = self.scan(&self.st.apps_of_owner, (n(owner.get()),)).await?;
        let found = Self::all(
            ids.iter()
                .map(|(id,)| self.get_application(ApplicationId::new(*id as u64)))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter(|a| a.owner_id == owner)
            .collect())
    }

    async fn put_app_emoji(&self, emoji: &AppEmojiRecord) -> StoreResult<()> {
        self.put_app_emoji_impl(emoji).await
    }

    async fn get_app_emoji(
        &self,
        app: ApplicationId,
        id: EmojiId,
    ) -> StoreResult<Option<AppEmojiRecord>> {
        self.get_app_emoji_impl(app, id).await
    }

    async fn delete_app_emoji(&self, app: ApplicationId, id: EmojiId) -> StoreResult<()> {
        self.delete_app_emoji_impl(app, id).await
    }

    async fn app_emojis(&self, app: ApplicationId) -> StoreResult<Vec<AppEmojiRecord>> {
        self.app_emojis_impl(app).await
    }

    async fn put_role_connection_metadata(
        &self,
        app: ApplicationId,
        records: &[RoleConnectionMetadata],
    ) -> StoreResult<()> {
        self.put_role_connection_metadata_impl(app, records).await
    }

    async fn role_connection_metadata(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Vec<RoleConnectionMetadata>> {
        self.role_connection_metadata_impl(app).await
    }

    async fn put_user_role_connection(&self, c: &UserRoleConnectionRecord) -> StoreResult<()> {
        self.put_user_role_connection_impl(c).await
    }

    async fn get_user_role_connection(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<Option<UserRoleConnectionRecord>> {
        self.get_user_role_connection_impl(user, app).await
    }

    async fn delete_user_role_connection(
        &self,
        user: UserId,
        app: ApplicationId,
    ) -> StoreResult<()> {
        self.delete_user_role_connection_impl(user, app).await
    }

    async fn put_entitlement(&self, e: &EntitlementRecord) -> StoreResult<()> {
        self.put_entitlement_impl(e).await
    }

    async fn entitlements_of(&self, app: ApplicationId) -> StoreResult<Vec<EntitlementRecord>> {
        self.entitlements_of_impl(app).await
    }

    async fn put_command_permissions(&self, record: &CommandPermissionsRecord) -> StoreResult<()> {
        self.put_command_permissions_impl(record).await
    }

    async fn command_permissions_of(
        &self,
        guild: GuildId,
        app: ApplicationId,
    ) -> StoreResult<Vec<CommandPermissionsRecord>> {
        self.command_permissions_of_impl(guild, app).await
    }

    async fn command_permission_guilds(&self, app: ApplicationId) -> StoreResult<Vec<GuildId>> {
        self.command_permission_guilds_impl(app).await
    }

    async fn put_team(&self, team: &TeamRecord) -> StoreResult<()> {
        self.put_team_impl(team).await
    }

    async fn get_team(&self, id: TeamId) -> StoreResult<Option<TeamRecord>> {
        self.get_team_impl(id).await
    }

    async fn delete_team(&self, id: TeamId) -> StoreResult<()> {
        self.delete_team_impl(id).await
    }

    async fn put_team_member(&self, member: &TeamMemberRecord) -> StoreResult<()> {
        self.put_team_member_impl(member).await
    }

    async fn delete_team_member(&self, team: TeamId, user: UserId) -> StoreResult<()> {
        self.delete_team_member_impl(team, user).await
    }

    async fn team_members(&self, team: TeamId) -> StoreResult<Vec<TeamMemberRecord>> {
        self.team_members_impl(team).await
    }

    async fn teams_of_user(&self, user: UserId) -> StoreResult<Vec<TeamId>> {
        self.teams_of_user_impl(user).await
    }

    async fn put_connection(&self, account: &ConnectedAccountRecord) -> StoreResult<()> {
        self.put_connection_impl(account).await
    }

    async fn delete_connection(&self, user: UserId, kind: &str, id: &str) -> StoreResult<()> {
        self.delete_connection_impl(user, kind, id).await
    }

    async fn connections_of(&self, user: UserId) -> StoreResult<Vec<ConnectedAccountRecord>> {
        self.connections_of_impl(user).await
    }

    async fn put_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()> {
        let id = n(webhook.id.get());
        if let Some(old) = self.get_webhook(webhook.id).await? {
            self.exec(
                &self.st.webhook_of_channel_del,
                (n(old.channel_id.get()), id),
            )
            .await?;
            if let Some(g) = old.guild_id {
                self.exec(&self.st.webhook_of_guild_del, (n(g.get()), id))
                    .await?;
            }
            if let Some(c) = old.source_channel_id {
                self.exec(&self.st.webhook_of_source_del, (n(c.get()), id))
                    .await?;
            }
        }
        self.exec(&self.st.webhook_put, (id, enc(webhook)?)).await?;
        self.exec(
            &self.st.webhook_of_channel_put,
            (n(webhook.channel_id.get()), id),
        )
        .await?;
        if let Some(g) = webhook.guild_id {
            self.exec(&self.st.webhook_of_guild_put, (n(g.get()), id))
                .await?;
        }
        if let Some(c) = webhook.source_channel_id {
            self.exec(&self.st.webhook_of_source_put, (n(c.get()), id))
                .await?;
        }
        Ok(())
    }

    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookRecord>> {
        self.one(&self.st.webhook_get, (n(id.get()),)).await
    }

    async fn webhooks_of_channel(&self, channel: ChannelId) -> StoreResult<Vec<WebhookRecord>> {
        let ids: Vec<(i64,)> = self
            .scan(&self.st.webhooks_of_channel, (n(channel.get()),))
            .await?;
        let found = Self::all(
            ids.iter()
                .map(|(id,)| self.get_webhook(WebhookId::new(*id as u64)))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter(|w| w.channel_id == channel)
            .collect())
    }

    async fn webhooks_of_guild(&self, guild: GuildId) -> StoreResult<Vec<WebhookRecord>> {
        let ids: Vec<(i64,)> = self
            .scan(&self.st.webhooks_of_guild, (n(guild.get()),))
            .await?;
        let found = Self::all(
            ids.iter()
                .map(|(id,)| self.get_webhook(WebhookId::new(*id as u64)))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter(|w| w.guild_id == Some(guild))
            .collect())
    }

    async fn webhooks_following(&self, source: ChannelId) -> StoreResult<Vec<WebhookRecord>> {
        let ids: Vec<(i64,)> = self
            .scan(&self.st.webhooks_of_source, (n(source.get()),))
            .await?;
        let found = Self::all(
            ids.iter()
                .map(|(id,)| self.get_webhook(WebhookId::new(*id as u64)))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter(|w| w.source_channel_id == Some(source))
            .collect())
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        if let Some(old) = self.get_webhook(id).await? {
            self.exec(
                &self.st.webhook_of_channel_del,
                (n(old.channel_id.get()), n(id.get())),
            )
            .await?;
            if let Some(g) = old.guild_id {
                self.exec(&self.st.webhook_of_guild_del, (n(g.get()), n(id.get())))
                    .await?;
            }
            if let Some(c) = old.source_channel_id {
                self.exec(&self.st.webhook_of_source_del, (n(c.get()), n(id.get())))
                    .await?;
            }
        }
        self.exec(&self.st.webhook_del, (n(id.get()),)).await
    }

    async fn delete_application(&self, id: ApplicationId) -> StoreResult<()> {
        if let Some(old) = self.get_application(id).await? {
            self.exec(
                &self.st.app_of_owner_del,
                (n(old.owner_id.get()), n(id.get())),
            )
            .await?;
        }
        self.delete_app_links(id).await?;
        // What hangs on the application: each is one partition keyed by the application.
        let key = (n(id.get()),);
        self.exec(&self.st.app_emojis_del, key).await?;
        self.exec(&self.st.entitlements_del, key).await?;
        self.exec(&self.st.role_connection_metadata_del, key)
            .await?;
        self.exec(&self.st.app_del, key).await
    }

    async fn insert_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        let bucket = audit_bucket_of(entry.id);
        // Bucket first: an entry is never in a window the reader does not know about.
        self.exec(&self.st.audit_bucket_put, (bucket,)).await?;
        self.exec(&self.st.audit_put, (bucket, n(entry.id.get()), enc(entry)?))
            .await
    }

    async fn audit_entries(
        &self,
        limit: usize,
        before: Option<Snowflake>,
    ) -> StoreResult<Vec<AuditEntry>> {
        let limit = limit.clamp(1, 100);
        // Snowflakes stay below 2^63, so `i64::MAX` is above every id.
        let below = before.map_or(i64::MAX, |b| n(b.get()));
        let top = before.map_or(i32::MAX, audit_bucket_of);
        let buckets: Vec<(i32,)> = self.scan(&self.st.audit_buckets_down_from, (top,)).await?;
        let mut out = Vec::with_capacity(limit);
        for (bucket,) in buckets {
            let want = i32::try_from(limit - out.len()).unwrap_or(100);
            let rows: Vec<(Option<String>,)> = self
                .rows(&self.st.audit_below, (bucket, below, want))
                .await?;
            out.extend(decode_all::<AuditEntry>(rows.into_iter().map(|(j,)| j))?);
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        Ok(out)
    }

    async fn put_relationship(&self, relationship: &RelationshipRecord) -> StoreResult<()> {
        self.put_relationship_impl(relationship).await
    }

    async fn delete_relationship(&self, user: UserId, peer: UserId) -> StoreResult<()> {
        self.delete_relationship_impl(user, peer).await
    }

    async fn get_relationship(
        &self,
        user: UserId,
        peer: UserId,
    ) -> StoreResult<Option<RelationshipRecord>> {
        self.get_relationship_impl(user, peer).await
    }

    async fn relationships_of(&self, user: UserId) -> StoreResult<Vec<RelationshipRecord>> {
        self.relationships_of_impl(user).await
    }

    async fn get_user_settings(&self, user: UserId) -> StoreResult<Option<UserSettings>> {
        self.get_user_settings_impl(user).await
    }

    async fn put_user_settings(&self, user: UserId, settings: &UserSettings) -> StoreResult<()> {
        self.put_user_settings_impl(user, settings).await
    }

    async fn get_user_consent(&self, user: UserId) -> StoreResult<Option<UserConsent>> {
        self.get_user_consent_impl(user).await
    }

    async fn put_user_consent(&self, user: UserId, consent: &UserConsent) -> StoreResult<()> {
        self.put_user_consent_impl(user, consent).await
    }

    async fn put_read_state(&self, state: &ReadStateRecord) -> StoreResult<()> {
        self.put_read_state_impl(state).await
    }

    async fn read_states_of(&self, user: UserId) -> StoreResult<Vec<ReadStateRecord>> {
        self.read_states_of_impl(user).await
    }

    async fn put_emoji(&self, emoji: &EmojiRecord) -> StoreResult<()> {
        self.put_emoji_impl(emoji).await
    }

    async fn delete_emoji(&self, guild: GuildId, id: EmojiId) -> StoreResult<()> {
        self.delete_emoji_impl(guild, id).await
    }

    async fn guild_emojis(&self, guild: GuildId) -> StoreResult<Vec<EmojiRecord>> {
        self.guild_emojis_impl(guild).await
    }

    async fn put_integration(&self, integration: &IntegrationRecord) -> StoreResult<()> {
        self.put_integration_impl(integration).await
    }

    async fn delete_integration(&self, guild: GuildId, id: IntegrationId) -> StoreResult<()> {
        self.delete_integration_impl(guild, id).await
    }

    async fn guild_integrations(&self, guild: GuildId) -> StoreResult<Vec<IntegrationRecord>> {
        self.guild_integrations_impl(guild).await
    }

    async fn put_join_request(&self, request: &JoinRequestRecord) -> StoreResult<()> {
        self.put_join_request_impl(request).await
    }

    async fn delete_join_request(&self, guild: GuildId, id: JoinRequestId) -> StoreResult<()> {
        self.delete_join_request_impl(guild, id).await
    }

    async fn guild_join_requests(&self, guild: GuildId) -> StoreResult<Vec<JoinRequestRecord>> {
        self.guild_join_requests_impl(guild).await
    }

    async fn put_guild_setup(&self, setup: &GuildSetupRecord) -> StoreResult<()> {
        self.put_guild_setup_impl(setup).await
    }

    async fn guild_setup(&self, guild: GuildId) -> StoreResult<Option<GuildSetupRecord>> {
        self.guild_setup_impl(guild).await
    }

    async fn put_sticker(&self, sticker: &StickerRecord) -> StoreResult<()> {
        self.put_sticker_impl(sticker).await
    }

    async fn delete_sticker(&self, guild: GuildId, id: StickerId) -> StoreResult<()> {
        self.delete_sticker_impl(guild, id).await
    }

    async fn guild_stickers(&self, guild: GuildId) -> StoreResult<Vec<StickerRecord>> {
        self.guild_stickers_impl(guild).await
    }

    async fn get_sticker(&self, id: StickerId) -> StoreResult<Option<StickerRecord>> {
        self.get_sticker_impl(id).await
    }

    async fn put_automod_rule(&self, rule: &AutoModRuleRecord) -> StoreResult<()> {
        self.exec(
            &self.st.automod_put,
            (n(rule.guild_id.get()), n(rule.id.get()), enc(rule)?),
        )
        .await
    }

    async fn delete_automod_rule(&self, guild: GuildId, id: AutoModRuleId) -> StoreResult<()> {
        self.exec(&self.st.automod_del, (n(guild.get()), n(id.get())))
            .await
    }

    async fn guild_automod_rules(&self, guild: GuildId) -> StoreResult<Vec<AutoModRuleRecord>> {
        let rows: Vec<(i64, Option<String>)> = self
            .scan(&self.st.automod_of_guild, (n(guild.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(_, d)| d))
    }

    async fn put_scheduled_event(&self, event: &ScheduledEventRecord) -> StoreResult<()> {
        self.exec(
            &self.st.event_put,
            (n(event.guild_id.get()), n(event.id.get()), enc(event)?),
        )
        .await
    }

    async fn delete_scheduled_event(
        &self,
        guild: GuildId,
        id: ScheduledEventId,
    ) -> StoreResult<()> {
        self.delete_scheduled_event_impl(guild, id).await
    }

    async fn guild_scheduled_events(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<ScheduledEventRecord>> {
        self.guild_scheduled_events_impl(guild).await
    }

    async fn put_event_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.event_user_put,
            (n(guild.get()), n(event.get()), n(user.get())),
        )
        .await
    }

    async fn delete_event_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.event_user_del,
            (n(guild.get()), n(event.get()), n(user.get())),
        )
        .await
    }

    async fn put_event_exception_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        answer: EventExceptionUser,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.event_exception_user_put,
            (
                n(guild.get()),
                n(event.get()),
                n(answer.exception_id.get()),
                n(answer.user_id.get()),
                i32::from(answer.response),
            ),
        )
        .await
    }

    async fn delete_event_exception_user(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
        exception: Snowflake,
        user: UserId,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.event_exception_user_del,
            (
                n(guild.get()),
                n(event.get()),
                n(exception.get()),
                n(user.get()),
            ),
        )
        .await
    }

    async fn event_exception_users(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<EventExceptionUser>> {
        self.event_exception_users_impl(guild, event).await
    }

    async fn event_users(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<UserId>> {
        self.event_users_impl(guild, event).await
    }

    async fn put_thread_member(&self, m: &ThreadMemberRecord) -> StoreResult<()> {
        self.exec(
            &self.st.thread_member_put,
            (
                n(m.guild_id.get()),
                n(m.thread_id.get()),
                n(m.user_id.get()),
                enc(m)?,
            ),
        )
        .await
    }

    async fn delete_thread_member(
        &self,
        guild: GuildId,
        thread: ChannelId,
        user: UserId,
    ) -> StoreResult<()> {
        self.exec(
            &self.st.thread_member_del,
            (n(guild.get()), n(thread.get()), n(user.get())),
        )
        .await
    }

    async fn delete_thread_members(&self, guild: GuildId, thread: ChannelId) -> StoreResult<()> {
        self.exec(
            &self.st.thread_members_del,
            (n(guild.get()), n(thread.get())),
        )
        .await
    }

    async fn guild_thread_members(&self, guild: GuildId) -> StoreResult<Vec<ThreadMemberRecord>> {
        let rows: Vec<(Option<String>,)> = self
            .scan(&self.st.thread_members_of_guild, (n(guild.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    async fn put_poll_expiry(&self, expiry: &PollExpiry) -> StoreResult<()> {
        self.exec(
            &self.st.poll_expiry_put,
            (n(expiry.message_id.get()), enc(expiry)?),
        )
        .await
    }

    async fn delete_poll_expiry(&self, message: MessageId) -> StoreResult<()> {
        self.exec(&self.st.poll_expiry_del, (n(message.get()),))
            .await
    }

    async fn poll_expiries(&self) -> StoreResult<Vec<PollExpiry>> {
        let rows: Vec<(i64, Option<String>)> = self.scan(&self.st.poll_expiries_all, ()).await?;
        decode_all(rows.into_iter().map(|(_, d)| d))
    }

    async fn insert_guild_audit_entry(&self, entry: &GuildAuditEntry) -> StoreResult<()> {
        self.insert_guild_audit_entry_impl(entry).await
    }

    async fn guild_audit_entries(
        &self,
        guild: GuildId,
        limit: usize,
        before: Option<Snowflake>,
    ) -> StoreResult<Vec<GuildAuditEntry>> {
        self.guild_audit_entries_impl(guild, limit, before).await
    }

    async fn put_oauth_token(&self, token: &OAuthTokenRecord) -> StoreResult<()> {
        self.put_oauth_token_impl(token).await
    }

    async fn get_oauth_token(&self, hash: &str) -> StoreResult<Option<OAuthTokenRecord>> {
        self.get_oauth_token_impl(hash).await
    }

    async fn take_oauth_token(&self, hash: &str) -> StoreResult<Option<OAuthTokenRecord>> {
        self.take_oauth_token_impl(hash).await
    }

    async fn flush(&self) -> StoreResult<()> {
        // Acknowledged writes are already in the replicas' commit logs (at LOCAL_QUORUM); there is
        // nothing buffered client-side.
        Ok(())
    }
}
