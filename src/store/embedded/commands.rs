//! Application commands in the embedded store: `commands` ((application, command) → record) and
//! `command_names` ((application, guild or 0, type, name) → command id), which lists a scope
//! with one range scan and, being a key, keeps a name unique per scope and type.

use redb::{ReadableTable, Table, WriteTransaction};

use super::tables::{COMMAND_NAMES, COMMANDS};
use super::{EmbeddedStore, be, dec, enc};
use crate::id::{ApplicationId, CommandId, GuildId};
use crate::model::CommandRecord;
use crate::store::StoreResult;

type NameKey = (u64, u64, u8, String);

fn name_key(c: &CommandRecord) -> NameKey {
    (
        c.application_id.get(),
        c.guild_id.map_or(0, GuildId::get),
        c.kind,
        c.name.clone(),
    )
}

/// The ids of one scope's commands, from the name index.
fn scope_ids(
    names: &impl ReadableTable<NameKey, u64>,
    app: u64,
    guild: u64,
) -> StoreResult<Vec<(NameKey, u64)>> {
    let mut out = Vec::new();
    for entry in names.range((app, guild, 0, String::new())..).map_err(be)? {
        let (k, v) = entry.map_err(be)?;
        let key = k.value();
        if (key.0, key.1) != (app, guild) {
            break;
        }
        out.push((key, v.value()));
    }
    Ok(out)
}

/// Writes one command inside a write transaction (see `Store::put_command`).
fn put_in(txn: &WriteTransaction, command: &CommandRecord) -> StoreResult<CommandRecord> {
    let mut names = txn.open_table(COMMAND_NAMES).map_err(be)?;
    let mut commands: Table<(u64, u64), &[u8]> = txn.open_table(COMMANDS).map_err(be)?;
    let app = command.application_id.get();
    let key = name_key(command);
    let mut stored = command.clone();
    if let Some(existing) = names.get(key.clone()).map_err(be)? {
        stored.id = CommandId::new(existing.value());
    }
    let old: Option<CommandRecord> = match commands.get((app, stored.id.get())).map_err(be)? {
        Some(v) => Some(dec(v.value())?),
        None => None,
    };
    if let Some(old) = old.filter(|o| name_key(o) != key) {
        names.remove(name_key(&old)).map_err(be)?;
    }
    names.insert(key, stored.id.get()).map_err(be)?;
    commands
        .insert((app, stored.id.get()), enc(&stored)?.as_slice())
        .map_err(be)?;
    Ok(stored)
}

impl EmbeddedStore {
    pub(super) async fn put_command_impl(
        &self,
        command: &CommandRecord,
    ) -> StoreResult<CommandRecord> {
        let command = command.clone();
        self.writer.write(move |txn| put_in(txn, &command)).await
    }

    pub(super) fn get_command_impl(
        &self,
        app: ApplicationId,
        id: CommandId,
    ) -> StoreResult<Option<CommandRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(COMMANDS).map_err(be)?;
        match table.get((app.get(), id.get())).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    pub(super) fn commands_of_impl(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
    ) -> StoreResult<Vec<CommandRecord>> {
        let txn = self.read()?;
        let names = txn.open_table(COMMAND_NAMES).map_err(be)?;
        let commands = txn.open_table(COMMANDS).map_err(be)?;
        let mut out: Vec<CommandRecord> = Vec::new();
        for (_, id) in scope_ids(&names, app.get(), guild.map_or(0, GuildId::get))? {
            if let Some(v) = commands.get((app.get(), id)).map_err(be)? {
                out.push(dec(v.value())?);
            }
        }
        out.sort_by_key(|c| c.id);
        Ok(out)
    }

    pub(super) async fn replace_commands_impl(
        &self,
        app: ApplicationId,
        guild: Option<GuildId>,
        new: &[CommandRecord],
    ) -> StoreResult<()> {
        let (a, g, new) = (app.get(), guild.map_or(0, GuildId::get), new.to_vec());
        self.writer
            .write(move |txn| {
                {
                    let mut names = txn.open_table(COMMAND_NAMES).map_err(be)?;
                    let mut commands: Table<(u64, u64), &[u8]> =
                        txn.open_table(COMMANDS).map_err(be)?;
                    for (key, id) in scope_ids(&names, a, g)? {
                        names.remove(key).map_err(be)?;
                        commands.remove((a, id)).map_err(be)?;
                    }
                }
                for c in &new {
                    put_in(txn, c)?;
                }
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_command_impl(
        &self,
        app: ApplicationId,
        id: CommandId,
    ) -> StoreResult<()> {
        let (a, id) = (app.get(), id.get());
        self.writer
            .write(move |txn| {
                let mut commands: Table<(u64, u64), &[u8]> =
                    txn.open_table(COMMANDS).map_err(be)?;
                let old: Option<CommandRecord> = match commands.remove((a, id)).map_err(be)? {
                    Some(v) => Some(dec(v.value())?),
                    None => None,
                };
                if let Some(old) = old {
                    let mut names = txn.open_table(COMMAND_NAMES).map_err(be)?;
                    let key = name_key(&old);
                    let ours = names.get(key.clone()).map_err(be)?.map(|v| v.value()) == Some(id);
                    if ours {
                        names.remove(key).map_err(be)?;
                    }
                }
                Ok(())
            })
            .await
    }
}
