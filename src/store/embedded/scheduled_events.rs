//! Guild scheduled events in the embedded store: `(guild, event) → record`, so one range scan
//! lists a guild's events, and `(event, user) → ()` for the subscribers, in user id order.

use redb::Table;

use super::tables::{EVENT_EXCEPTION_USERS, EVENT_USERS, SCHEDULED_EVENTS, remove_range};
use super::{EmbeddedStore, be, enc, values_in};
use crate::id::{GuildId, ScheduledEventId, Snowflake, UserId};
use crate::model::{EventExceptionUser, ScheduledEventRecord};
use crate::store::StoreResult;

impl EmbeddedStore {
    pub(super) async fn put_scheduled_event_impl(
        &self,
        e: &ScheduledEventRecord,
    ) -> StoreResult<()> {
        let (g, id, bytes) = (e.guild_id.get(), e.id.get(), enc(e)?);
        self.writer
            .write(move |txn| {
                txn.open_table(SCHEDULED_EVENTS)
                    .map_err(be)?
                    .insert((g, id), bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_scheduled_event_impl(
        &self,
        guild: GuildId,
        id: ScheduledEventId,
    ) -> StoreResult<()> {
        let (g, id) = (guild.get(), id.get());
        self.writer
            .write(move |txn| {
                let removed = txn
                    .open_table(SCHEDULED_EVENTS)
                    .map_err(be)?
                    .remove((g, id))
                    .map_err(be)?
                    .is_some();
                // Only an event of this guild takes its subscribers with it.
                if removed {
                    remove_range(
                        &mut txn.open_table(EVENT_USERS).map_err(be)?,
                        (id, 0)..=(id, u64::MAX),
                    )?;
                    remove_exception_users(
                        &mut txn.open_table(EVENT_EXCEPTION_USERS).map_err(be)?,
                        id,
                    )?;
                }
                Ok(())
            })
            .await
    }

    pub(super) fn guild_scheduled_events_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<ScheduledEventRecord>> {
        let txn = self.read()?;
        let g = guild.get();
        values_in(
            &txn.open_table(SCHEDULED_EVENTS).map_err(be)?,
            (g, 0)..=(g, u64::MAX),
        )
    }

    pub(super) async fn put_event_user_impl(
        &self,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()> {
        let key = (event.get(), user.get());
        self.writer
            .write(move |txn| {
                txn.open_table(EVENT_USERS)
                    .map_err(be)?
                    .insert(key, ())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_event_user_impl(
        &self,
        event: ScheduledEventId,
        user: UserId,
    ) -> StoreResult<()> {
        let key = (event.get(), user.get());
        self.writer
            .write(move |txn| {
                txn.open_table(EVENT_USERS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn put_event_exception_user_impl(
        &self,
        event: ScheduledEventId,
        answer: EventExceptionUser,
    ) -> StoreResult<()> {
        let key = (event.get(), answer.exception_id.get(), answer.user_id.get());
        self.writer
            .write(move |txn| {
                txn.open_table(EVENT_EXCEPTION_USERS)
                    .map_err(be)?
                    .insert(key, answer.response)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_event_exception_user_impl(
        &self,
        event: ScheduledEventId,
        exception: Snowflake,
        user: UserId,
    ) -> StoreResult<()> {
        let key = (event.get(), exception.get(), user.get());
        self.writer
            .write(move |txn| {
                txn.open_table(EVENT_EXCEPTION_USERS)
                    .map_err(be)?
                    .remove(key)
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn event_exception_users_impl(
        &self,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<EventExceptionUser>> {
        let txn = self.read()?;
        let e = event.get();
        let table = txn.open_table(EVENT_EXCEPTION_USERS).map_err(be)?;
        let mut out = Vec::new();
        for entry in
            redb::ReadableTable::range(&table, (e, 0, 0)..=(e, u64::MAX, u64::MAX)).map_err(be)?
        {
            let (k, v) = entry.map_err(be)?;
            let (_, exception, user) = k.value();
            out.push(EventExceptionUser {
                exception_id: Snowflake::new(exception),
                user_id: UserId::new(user),
                response: v.value(),
            });
        }
        Ok(out)
    }

    pub(super) fn event_users_impl(&self, event: ScheduledEventId) -> StoreResult<Vec<UserId>> {
        let txn = self.read()?;
        let e = event.get();
        let table = txn.open_table(EVENT_USERS).map_err(be)?;
        let mut out = Vec::new();
        for entry in redb::ReadableTable::range(&table, (e, 0)..=(e, u64::MAX)).map_err(be)? {
            out.push(UserId::new(entry.map_err(be)?.0.value().1));
        }
        Ok(out)
    }
}

/// Removes the subscribers (of the series and of single occurrences) of the events removed
/// with their guild (inside `delete_guild`'s transaction).
pub(super) fn remove_event_users(
    users: &mut Table<'_, (u64, u64), ()>,
    answers: &mut Table<'_, (u64, u64, u64), u8>,
    removed_events: &[(u64, u64)],
) -> StoreResult<()> {
    for (_, event) in removed_events {
        remove_range(users, (*event, 0)..=(*event, u64::MAX))?;
        remove_exception_users(answers, *event)?;
    }
    Ok(())
}

/// Removes every per-occurrence answer of one event.
fn remove_exception_users(
    answers: &mut Table<'_, (u64, u64, u64), u8>,
    event: u64,
) -> StoreResult<()> {
    let mut keys = Vec::new();
    for entry in redb::ReadableTable::range(answers, (event, 0, 0)..=(event, u64::MAX, u64::MAX))
        .map_err(be)?
    {
        keys.push(entry.map_err(be)?.0.value());
    }
    for k in keys {
        answers.remove(k).map_err(be)?;
    }
    Ok(())
}
