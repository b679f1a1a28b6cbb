//! Developer teams on ScyllaDB: `teams` by id, a team's members in one partition, and
//! `teams_by_user` for "my teams". A member and its index row are written in one logged batch.

use super::{Batches, ScyllaStore, big, decode_all, enc, n, text, u};
use crate::id::{TeamId, UserId};
use crate::model::{TeamMemberRecord, TeamRecord};
use crate::store::StoreResult;

impl ScyllaStore {
    pub(super) async fn put_team_impl(&self, team: &TeamRecord) -> StoreResult<()> {
        self.exec(&self.st.team_put, (n(team.id.get()), enc(team)?))
            .await
    }

    pub(super) async fn get_team_impl(&self, id: TeamId) -> StoreResult<Option<TeamRecord>> {
        self.one(&self.st.team_get, (n(id.get()),)).await
    }

    pub(super) async fn delete_team_impl(&self, id: TeamId) -> StoreResult<()> {
        let members = self.team_members_impl(id).await?;
        let mut batches = Batches::new();
        for m in &members {
            batches.push(
                &self.st.team_of_user_del,
                vec![big(m.user_id.get()), big(id.get())],
            );
        }
        batches.push(&self.st.team_members_del, vec![big(id.get())]);
        batches.push(&self.st.team_del, vec![big(id.get())]);
        self.run_batches(batches).await
    }

    pub(super) async fn put_team_member_impl(&self, m: &TeamMemberRecord) -> StoreResult<()> {
        let (team, user) = (m.team_id.get(), m.user_id.get());
        let mut batches = Batches::new();
        batches.push(
            &self.st.team_member_put,
            vec![big(team), big(user), text(enc(m)?)],
        );
        batches.push(&self.st.team_of_user_put, vec![big(user), big(team)]);
        self.run_batches(batches).await
    }

    pub(super) async fn delete_team_member_impl(
        &self,
        team: TeamId,
        user: UserId,
    ) -> StoreResult<()> {
        let mut batches = Batches::new();
        batches.push(
            &self.st.team_member_del,
            vec![big(team.get()), big(user.get())],
        );
        batches.push(
            &self.st.team_of_user_del,
            vec![big(user.get()), big(team.get())],
        );
        self.run_batches(batches).await
    }

    pub(super) async fn team_members_impl(
        &self,
        team: TeamId,
    ) -> StoreResult<Vec<TeamMemberRecord>> {
        let rows: Vec<(Option<String>,)> = self
            .scan(&self.st.team_members_of, (n(team.get()),))
            .await?;
        decode_all(rows.into_iter().map(|(d,)| d))
    }

    pub(super) async fn teams_of_user_impl(&self, user: UserId) -> StoreResult<Vec<TeamId>> {
        let rows: Vec<(i64,)> = self.scan(&self.st.teams_of_user, (n(user.get()),)).await?;
        Ok(rows.into_iter().map(|(t,)| TeamId::new(u(t))).collect())
    }
}
