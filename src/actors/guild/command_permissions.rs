//! Application command permissions in this guild: the guild actor checks who sets them
//! (MANAGE_GUILD and MANAGE_ROLES, as Discord asks of the user behind the Bearer token) and that
//! their role and channel targets are this guild's, writes them, announces
//! APPLICATION_COMMAND_PERMISSIONS_UPDATE and records the change in the audit log.

use serde_json::{Map, Value, json};

use super::{State, audit};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, RoleId, UserId};
use crate::model::CommandPermissionsRecord;
use crate::model::command_permissions::target;
use crate::permissions::Permissions;
use crate::store::AuditChange;

impl State {
    pub(super) async fn put_command_permissions(
        &mut self,
        user: UserId,
        record: CommandPermissionsRecord,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD | Permissions::MANAGE_ROLES)?;
        let guild = self.id();
        let all_channels = guild.get().saturating_sub(1);
        let mut errs = FieldErrors::default();
        for (i, p) in record.permissions.iter().enumerate() {
            let known = match p.kind {
                target::ROLE => self.roles.iter().any(|r| r.id == RoleId(p.id)),
                target::CHANNEL => {
                    p.id.0 == all_channels || self.channels.contains_key(&ChannelId(p.id))
                }
                // Users need not be members yet (Discord allows it); the id must be a user's.
                _ => self.services.users.get(UserId(p.id)).await?.is_some(),
            };
            if !known {
                errs.add(&format!("permissions.{i}.id"), FieldError::InvalidSnowflake);
            }
        }
        errs.into_result()?;
        let before = self
            .services
            .store
            .command_permissions_of(guild, record.application_id)
            .await?
            .into_iter()
            .find(|r| r.id == record.id);
        self.services.store.put_command_permissions(&record).await?;
        let v = record.to_json();
        self.dispatch("APPLICATION_COMMAND_PERMISSIONS_UPDATE", &v, None);
        let old: Map<String, Value> = before
            .iter()
            .flat_map(|r| r.permissions.iter())
            .map(|p| (p.id.to_string(), json!(p)))
            .collect();
        let new: Map<String, Value> = record
            .permissions
            .iter()
            .map(|p| (p.id.to_string(), json!(p)))
            .collect();
        let mut changes: Vec<AuditChange> = Vec::new();
        for key in old.keys().chain(new.keys()) {
            let (o, n) = (
                old.get(key).cloned().unwrap_or(Value::Null),
                new.get(key).cloned().unwrap_or(Value::Null),
            );
            if o != n && !changes.iter().any(|c| &c.key == key) {
                changes.push(AuditChange {
                    key: key.clone(),
                    old: o,
                    new: n,
                });
            }
        }
        self.audit(
            user,
            audit::APPLICATION_COMMAND_PERMISSION_UPDATE,
            Some(record.id),
            changes,
            Some(json!({"application_id": record.application_id})),
        )
        .await;
        Ok(v)
    }
}
