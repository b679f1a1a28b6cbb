//! Group DM recipients: `PUT`/`DELETE /channels/{id}/recipients/{user}`.
//!
//! Any recipient may add a user (Discord also requires the two to be friends; relationships are
//! not consulted here); the owner may remove anyone, everyone may remove themselves (leave). When
//! the owner leaves, the oldest remaining recipient becomes the owner.

use axum::http::StatusCode;
use serde_json::json;

use super::State;
use crate::error::{ApiError, Unknown};
use crate::events::Dispatch;
use crate::id::UserId;
use crate::model::ChannelKind;

/// Discord's cap on a group DM's members (the owner included).
pub const MAX_GROUP_DM_RECIPIENTS: usize = 10;

impl State {
    /// Only group DMs have a recipient list to change (50003 for a 1:1 DM, 50024 otherwise).
    fn require_group_dm(&self) -> Result<(), ApiError> {
        match self.channel.kind {
            ChannelKind::GroupDm => Ok(()),
            ChannelKind::Dm => Err(ApiError::coded(
                StatusCode::FORBIDDEN,
                50003,
                "cannot-execute-on-dm",
            )),
            _ => Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                50024,
                "invalid-channel-type",
            )),
        }
    }

    /// The channel as `viewer` sees it: `recipients` lists the others.
    async fn json_for(&self, viewer: UserId) -> Result<serde_json::Value, ApiError> {
        let others: Vec<UserId> = self
            .channel
            .recipient_ids
            .iter()
            .copied()
            .filter(|u| *u != viewer)
            .collect();
        let users = self.services.users.public_many(&others).await?;
        Ok(self.channel.to_json(Some(&users)))
    }

    /// In order with the channel's other events (see `pipeline`).
    fn send_to_recipients(&self, event: &std::sync::Arc<Dispatch>) {
        self.send_to_users(self.channel.recipient_ids.clone(), event.clone());
    }

    pub(super) async fn add_recipient(
        &mut self,
        user: UserId,
        target: UserId,
    ) -> Result<(), ApiError> {
        self.view(user).await?;
        self.require_group_dm()?;
        if self.channel.recipient_ids.contains(&target) {
            return Ok(());
        }
        if self.services.users.get(target).await?.is_none() {
            return Err(ApiError::Unknown(Unknown::User));
        }
        if self.channel.recipient_ids.len() >= MAX_GROUP_DM_RECIPIENTS {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                30004,
                "max-recipients-reached",
            ));
        }
        let mut c = self.channel.clone();
        c.recipient_ids.push(target);
        self.services.store.put_channel(&c).await?;
        self.channel = c;
        self.access.remove(&target);
        let added = self.services.users.public(target).await?;
        let data = json!({"channel_id": self.channel.id, "user": added});
        let event = Dispatch::new("CHANNEL_RECIPIENT_ADD", &data, false);
        for r in self.channel.recipient_ids.iter().filter(|r| **r != target) {
            self.send_to_user(*r, &event);
        }
        let theirs = self.json_for(target).await?;
        self.send_to_user(target, &Dispatch::new("CHANNEL_CREATE", &theirs, false));
        Ok(())
    }

    pub(super) async fn remove_recipient(
        &mut self,
        user: UserId,
        target: UserId,
    ) -> Result<(), ApiError> {
        self.view(user).await?;
        self.require_group_dm()?;
        if target != user && self.channel.owner_id != Some(user) {
            return Err(ApiError::MissingPermissions);
        }
        if !self.channel.recipient_ids.contains(&target) {
            return Err(ApiError::Unknown(Unknown::User));
        }
        let gone = self.json_for(target).await?;
        let mut c = self.channel.clone();
        c.recipient_ids.retain(|r| *r != target);
        let owner_changed = c.owner_id == Some(target);
        if owner_changed {
            c.owner_id = c.recipient_ids.first().copied();
        }
        self.services.store.put_channel(&c).await?;
        self.channel = c;
        self.access.remove(&target);
        let removed = self.services.users.public(target).await?;
        let data = json!({"channel_id": self.channel.id, "user": removed});
        self.send_to_recipients(&Dispatch::new("CHANNEL_RECIPIENT_REMOVE", &data, false));
        self.send_to_user(target, &Dispatch::new("CHANNEL_DELETE", &gone, false));
        if owner_changed {
            for r in self.channel.recipient_ids.clone() {
                let v = self.json_for(r).await?;
                self.send_to_user(r, &Dispatch::new("CHANNEL_UPDATE", &v, false));
            }
        }
        Ok(())
    }
}
