//! Guild scheduled events on ScyllaDB: one partition per guild (`scheduled_events`, loaded with
//! the guild) and one per event for its subscribers (`scheduled_event_users`, clustered by user
//! id), so a popular event never grows the guild's partition.

use super::{ScyllaStore, decode_all, n, u};
use crate::id::{GuildId, ScheduledEventId, Snowflake, UserId};
use crate::model::{EventExceptionUser, ScheduledEventRecord};
use crate::store::StoreResult;

impl ScyllaStore {
    pub(super) async fn delete_scheduled_event_impl(
        &self,
        guild: GuildId,
        id: ScheduledEventId,
    ) -> StoreResult<()> {
        let key = (n(guild.get()), n(id.get()));
        futures::try_join!(
            self.exec(&self.st.event_del, key),
            self.exec(&self.st.event_users_del, key),
            self.exec(&self.st.event_exception_users_del, key),
        )?;
        Ok(())
    }

    pub(super) async fn guild_scheduled_events_impl(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<ScheduledEventRecord>> {
        let rows: Vec<(i64, Option<String>)> = self
            .scan(&self.st.events_of_guild, (n(guild.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(_, d)| d))
    }

    pub(super) async fn event_users_impl(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<UserId>> {
        let rows: Vec<(i64,)> = self
            .scan(&self.st.event_users_of, (n(guild.get()), n(event.get())))
            .await?;
        Ok(rows.into_iter().map(|(id,)| UserId::new(u(id))).collect())
    }

    pub(super) async fn event_exception_users_impl(
        &self,
        guild: GuildId,
        event: ScheduledEventId,
    ) -> StoreResult<Vec<EventExceptionUser>> {
        let rows: Vec<(i64, i64, i32)> = self
            .scan(
                &self.st.event_exception_users_of,
                (n(guild.get()), n(event.get())),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(exception, user, response)| EventExceptionUser {
                exception_id: Snowflake::new(u(exception)),
                user_id: UserId::new(u(user)),
                response: u8::try_from(response).unwrap_or(0),
            })
            .collect())
    }

    /// Removes a deleted guild's events and their subscriber partitions.
    pub(super) async fn delete_guild_scheduled_events(&self, guild: GuildId) -> StoreResult<()> {
        let g = n(guild.get());
        let rows: Vec<(i64, Option<String>)> = self.scan(&self.st.events_of_guild, (g,)).await?;
        Self::all(
            rows.iter()
                .map(|(id, _)| self.exec(&self.st.event_users_del, (g, *id)))
                .chain(
                    rows.iter()
                        .map(|(id, _)| self.exec(&self.st.event_exception_users_del, (g, *id))),
                )
                .collect::<Vec<_>>(),
        )
        .await?;
        self.exec(&self.st.events_del_guild, (g,)).await
    }
}
