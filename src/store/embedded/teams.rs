//! Developer teams in the embedded store: the team record, its members keyed (team, user) so one
//! range scan lists them, and the (user, team) index for "my teams".

use super::tables::{TEAM_MEMBERS, TEAMS, TEAMS_BY_USER, remove_range};
use super::{EmbeddedStore, be, dec, enc, values_in};
use crate::id::{TeamId, UserId};
use crate::model::{TeamMemberRecord, TeamRecord};
use crate::store::StoreResult;

impl EmbeddedStore {
    pub(super) async fn put_team_impl(&self, team: &TeamRecord) -> StoreResult<()> {
        let (key, bytes) = (team.id.get(), enc(team)?);
        self.writer
            .write(move |txn| {
                txn.open_table(TEAMS)
                    .map_err(be)?
                    .insert(key, bytes.as_slice())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn get_team_impl(&self, id: TeamId) -> StoreResult<Option<TeamRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(TEAMS).map_err(be)?;
        match table.get(id.get()).map_err(be)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    pub(super) async fn delete_team_impl(&self, id: TeamId) -> StoreResult<()> {
        let t = id.get();
        self.writer
            .write(move |txn| {
                txn.open_table(TEAMS).map_err(be)?.remove(t).map_err(be)?;
                let removed = remove_range(
                    &mut txn.open_table(TEAM_MEMBERS).map_err(be)?,
                    (t, 0)..=(t, u64::MAX),
                )?;
                let mut by_user = txn.open_table(TEAMS_BY_USER).map_err(be)?;
                for (_, user) in removed {
                    by_user.remove((user, t)).map_err(be)?;
                }
                Ok(())
            })
            .await
    }

    pub(super) async fn put_team_member_impl(&self, m: &TeamMemberRecord) -> StoreResult<()> {
        let (team, user, bytes) = (m.team_id.get(), m.user_id.get(), enc(m)?);
        self.writer
            .write(move |txn| {
                txn.open_table(TEAM_MEMBERS)
                    .map_err(be)?
                    .insert((team, user), bytes.as_slice())
                    .map_err(be)?;
                txn.open_table(TEAMS_BY_USER)
                    .map_err(be)?
                    .insert((user, team), ())
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) async fn delete_team_member_impl(
        &self,
        team: TeamId,
        user: UserId,
    ) -> StoreResult<()> {
        let (t, u) = (team.get(), user.get());
        self.writer
            .write(move |txn| {
                txn.open_table(TEAM_MEMBERS)
                    .map_err(be)?
                    .remove((t, u))
                    .map_err(be)?;
                txn.open_table(TEAMS_BY_USER)
                    .map_err(be)?
                    .remove((u, t))
                    .map_err(be)?;
                Ok(())
            })
            .await
    }

    pub(super) fn team_members_impl(&self, team: TeamId) -> StoreResult<Vec<TeamMemberRecord>> {
        let txn = self.read()?;
        let table = txn.open_table(TEAM_MEMBERS).map_err(be)?;
        let t = team.get();
        values_in(&table, (t, 0)..=(t, u64::MAX))
    }

    pub(super) fn teams_of_user_impl(&self, user: UserId) -> StoreResult<Vec<TeamId>> {
        let txn = self.read()?;
        let table = txn.open_table(TEAMS_BY_USER).map_err(be)?;
        let u = user.get();
        let mut out = Vec::new();
        for entry in table.range((u, 0)..=(u, u64::MAX)).map_err(be)? {
            out.push(TeamId::new(entry.map_err(be)?.0.value().1));
        }
        Ok(out)
    }
}
