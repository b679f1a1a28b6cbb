//! Application commands on ScyllaDB: `application_commands`, one partition per scope (an
//! application's global commands, `guild_id` 0, or its commands in one guild) clustered by
//! (kind, name) — so a name is unique per scope and type by construction — and the
//! `application_commands_by_id` index from a command id to that row.

use std::collections::HashSet;

use scylla::value::CqlValue;

use super::{Batches, ScyllaStore, big, dec, decode_all, enc, n, text, u};
use crate::id::{ApplicationId, CommandId, GuildId};
use crate::model::CommandRecord;
use crate::store::StoreResult;

/// Where a command's row lives: (guild or 0, kind, name).
type Place = (i64, i32, String);

fn place(c: &CommandRecord) -> Place {
    (
        n(c.guild_id.map_or(0, GuildId::get)),
        i32::from(c.kind),
        c.name.clone(),
    )
}

impl ScyllaStore {
    /// The row and index writes of one command.
    fn push_command(&self, batches: &mut Batches, c: &CommandRecord, json: String) {
        let (app, id) = (c.application_id.get(), c.id.get());
        let (g, kind, name) = place(c);
        batches.push(
            &self.st.cmd_put,
            vec![
                big(app),
                CqlValue::BigInt(g),
                CqlValue::Int(kind),
                text(name.clone()),
                big(id),
                text(json),
            ],
        );
        batches.push(
            &self.st.cmd_index_put,
            vec![
                big(app),
                big(id),
                CqlValue::BigInt(g),
                CqlValue::Int(kind),
                text(name),
            ],
        );
    }

    async fn command_place(&self, app: u64, id: u64) -> StoreResult<Option<Place>> {
        let rows: Vec<(Option<i64>, Option<i32>, Option<String>)> =
            self.rows(&self.st.cmd_index_get, (n(app), n(id))).await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|(g, k, name)| Some((g?, k?, name?))))
    }

    /// The id and record at one place, if any.
    async fn command_at(
        &self,
        app: u64,
        (g, kind, name): &Place,
    ) -> StoreResult<Option<(u64, String)>> {
        let rows: Vec<(Option<i64>, Option<String>)> = self
            .rows(&self.st.cmd_by_name, (n(app), *g, *kind, name.as_str()))
            .await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|(id, data)| Some((u(id?), data?))))
    }

    pub(super) async fn put_command_impl(
        &self,
        command: &CommandRecord,
    ) -> StoreResult<CommandRecord> {
        let app = command.application_id.get();
        let target = place(command);
        let mut stored = command.clone();
        if let Some((existing, _)) = self.command_at(app, &target).await? {
            stored.id = CommandId::new(existing);
        }
        let mut batches = Batches::new();
        // A rename (or retype) moves the row: the old one goes in the same batch.
        if let Some(old) = self.command_place(app, stored.id.get()).await?
            && old != target
        {
            let (g, kind, name) = old;
            batches.push(
                &self.st.cmd_del,
                vec![
                    big(app),
                    CqlValue::BigInt(g),
                    CqlValue::Int(kind),
                    text(name),
                ],
            );
        }
        self.push_command(&mut batches, &stored, enc(&stored)?);
        self.run_batches(batches).await?;
        Ok(stored)
    }

    pub(super) async fn get_command_impl(
        &self,
        app: ApplicationId,
        id: CommandId,
    ) -> StoreResult<Option<CommandRecord>> {
        let Some(at) = self.command_place(app.get(), id.get()).await? else {
            return Ok(None);
        };
        match self.command_at(app.get(), &at).await? {
            Some((found, json)) if found == id.get() => Ok(Some(dec(&json)?)),
            _ => Ok(None),
        }
    }

    async fn scope_rows(
        &self,
        app: u64,
        guild: u64,
    ) -> StoreResult<Vec<(i32, String, i64, Option<String>)>> {
        self.scan(&self.st.cmds_of_scope, (n(app), n(guild))).await
    }

    pub(super) async fn commands_of_impl(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
    ) -> StoreResult<Vec<CommandRecord>> {
        let rows = self
            .scope_rows(app.get(), guild.map_or(0, GuildId::get))
            .await?;
        let mut out: Vec<CommandRecord> = decode_all(rows.into_iter().map(|(_, _, _, d)| d))?;
        out.sort_by_key(|c| c.id);
        Ok(out)
    }

    pub(super) async fn replace_commands_impl(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        new: &[CommandRecord],
    ) -> StoreResult<()> {
        let (a, g) = (app.get(), guild.map_or(0, GuildId::get));
        let keep_places: HashSet<Place> = new.iter().map(place).collect();
        let keep_ids: HashSet<u64> = new.iter().map(|c| c.id.get()).collect();
        let mut batches = Batches::new();
        // Only rows not written again are deleted: a delete and an insert of one row in one
        // batch share a timestamp, and the delete would win.
        for (kind, name, id, _) in self.scope_rows(a, g).await? {
            if !keep_places.contains(&(n(g), kind, name.clone())) {
                batches.push(
                    &self.st.cmd_del,
                    vec![big(a), big(g), CqlValue::Int(kind), text(name)],
                );
            }
            if !keep_ids.contains(&u(id)) {
                batches.push(&self.st.cmd_index_del, vec![big(a), CqlValue::BigInt(id)]);
            }
        }
        for c in new {
            self.push_command(&mut batches, c, enc(c)?);
        }
        self.run_batches(batches).await
    }

    pub(super) async fn delete_command_impl(
        &self,
        app: ApplicationId,
        id: CommandId,
    ) -> StoreResult<()> {
        let a = app.get();
        let Some(at) = self.command_place(a, id.get()).await? else {
            return Ok(());
        };
        let mut batches = Batches::new();
        batches.push(&self.st.cmd_index_del, vec![big(a), big(id.get())]);
        // The row only if it is still this command's (a later command may hold the name).
        if matches!(self.command_at(a, &at).await?, Some((found, _)) if found == id.get()) {
            let (g, kind, name) = at;
            batches.push(
                &self.st.cmd_del,
                vec![big(a), CqlValue::BigInt(g), CqlValue::Int(kind), text(name)],
            );
        }
        self.run_batches(batches).await
    }
}
