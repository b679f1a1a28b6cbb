//! The user's connected accounts (GitHub, GitLab…): listed, linked (after the route finished the
//! provider's OAuth2 exchange, which does network I/O and so stays out of the actor), edited and
//! removed. Every change reaches the user's sessions as USER_CONNECTIONS_UPDATE with an empty
//! object (Spacebar sends it so too): the event says "refetch `GET /users/@me/connections`".

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::State;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::model::ConnectedAccountRecord;
use crate::model::connection::{VISIBILITY_EVERYONE, VISIBILITY_NONE};

/// Body of `PATCH /users/@me/connections/{type}/{id}`; Discord's other fields (`name`,
/// `metadata_visibility`) are accepted and ignored.
#[derive(Debug, Default, Deserialize)]
pub struct ConnectionPatch {
    /// 0 or 1 (Discord clients also send booleans).
    pub visibility: Option<Value>,
    pub show_activity: Option<bool>,
    pub friend_sync: Option<bool>,
    #[allow(dead_code)]
    pub name: Option<String>,
    #[allow(dead_code)]
    pub metadata_visibility: Option<Value>,
}

fn unknown_connection() -> ApiError {
    ApiError::coded(StatusCode::NOT_FOUND, 0, "unknown-connection")
}

fn visibility(v: &Value) -> Result<u8, ApiError> {
    match v {
        Value::Bool(b) => Ok(if *b {
            VISIBILITY_EVERYONE
        } else {
            VISIBILITY_NONE
        }),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(VISIBILITY_NONE),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(VISIBILITY_EVERYONE),
        _ => Err(FieldErrors::single(
            "visibility",
            FieldError::Choice {
                allowed: "0, 1".into(),
            },
        )),
    }
}

impl State {
    pub(super) fn connections_json(&self) -> Value {
        json!(
            self.connections
                .iter()
                .map(ConnectedAccountRecord::to_json)
                .collect::<Vec<_>>()
        )
    }

    /// What the profile shows others: visible, unrevoked accounts.
    pub(super) fn public_connections_json(&self) -> Value {
        json!(
            self.connections
                .iter()
                .filter(|c| c.is_public())
                .map(ConnectedAccountRecord::to_public_json)
                .collect::<Vec<_>>()
        )
    }

    fn position(&self, kind: &str, id: &str) -> Option<usize> {
        self.connections
            .iter()
            .position(|c| c.kind == kind && c.id == id)
    }

    fn connections_changed(&self) {
        self.send("USER_CONNECTIONS_UPDATE", &json!({}));
    }

    /// Stores a freshly authorized account. Linking the same account again refreshes its name
    /// and token and keeps the user's choices (visibility, activity, friend sync).
    pub(super) async fn link_connection(
        &mut self,
        mut account: ConnectedAccountRecord,
    ) -> Result<Value, ApiError> {
        account.user_id = self.me();
        let existing = self.position(&account.kind, &account.id);
        if let Some(i) = existing {
            let old = &self.connections[i];
            account.visibility = old.visibility;
            account.show_activity = old.show_activity;
            account.friend_sync = old.friend_sync;
            account.integrations = old.integrations.clone();
        }
        self.services.store.put_connection(&account).await?;
        let v = account.to_json();
        match existing {
            Some(i) => self.connections[i] = account,
            None => {
                self.connections.push(account);
                self.connections
                    .sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
            }
        }
        self.connections_changed();
        Ok(v)
    }

    pub(super) async fn update_connection(
        &mut self,
        kind: &str,
        id: &str,
        patch: ConnectionPatch,
    ) -> Result<Value, ApiError> {
        let i = self.position(kind, id).ok_or_else(unknown_connection)?;
        let mut c = self.connections[i].clone();
        if let Some(v) = &patch.visibility {
            c.visibility = visibility(v)?;
        }
        if let Some(b) = patch.show_activity {
            c.show_activity = b;
        }
        if let Some(b) = patch.friend_sync {
            c.friend_sync = b;
        }
        if c != self.connections[i] {
            self.services.store.put_connection(&c).await?;
            self.connections[i] = c;
            self.connections_changed();
        }
        Ok(self.connections[i].to_json())
    }

    pub(super) async fn remove_connection(&mut self, kind: &str, id: &str) -> Result<(), ApiError> {
        let i = self.position(kind, id).ok_or_else(unknown_connection)?;
        self.services
            .store
            .delete_connection(self.me(), kind, id)
            .await?;
        self.connections.remove(i);
        self.connections_changed();
        Ok(())
    }
}
