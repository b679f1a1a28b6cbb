//! A guild's integrations: the bots added through OAuth2, listed as Discord lists them (type
//! "discord", the bot's account, its application, the scopes granted and who added it) and
//! removed with the bot.

use serde_json::{Value, json};

use super::{State, audit};
use crate::error::{ApiError, Unknown};
use crate::id::{ApplicationId, IntegrationId, UserId};
use crate::model::{IntegrationRecord, Timestamp};
use crate::permissions::Permissions;

/// The scopes Discord's integration object may list (others granted are not shown).
const LISTED_SCOPES: [&str; 3] = ["applications.commands", "bot", "webhook.incoming"];

impl State {
    /// After `by` added `bot` through OAuth2: records the integration (or refreshes its scopes
    /// when the application was already integrated) and announces GUILD_INTEGRATIONS_UPDATE.
    pub(super) async fn record_integration(
        &mut self,
        by: UserId,
        bot: UserId,
        application: ApplicationId,
        scopes: Vec<String>,
    ) -> Result<(), ApiError> {
        let record = match self
            .integrations
            .iter()
            .find(|i| i.application_id == application)
        {
            Some(existing) if existing.scopes == scopes => return Ok(()),
            Some(existing) => IntegrationRecord {
                scopes,
                ..existing.clone()
            },
            None => IntegrationRecord {
                id: self.services.ids.next()?,
                guild_id: self.id(),
                application_id: application,
                bot_id: bot,
                user_id: by,
                scopes,
                created_at: Timestamp::now(),
            },
        };
        self.services.store.put_integration(&record).await?;
        self.integrations.retain(|i| i.id != record.id);
        self.integrations.push(record);
        self.integrations.sort_by_key(|i| i.id);
        self.dispatch(
            "GUILD_INTEGRATIONS_UPDATE",
            &json!({"guild_id": self.id()}),
            None,
        );
        Ok(())
    }

    /// `GET /guilds/{id}/integrations` (MANAGE_GUILD).
    pub(super) async fn list_integrations(&self, user: UserId) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let mut out = Vec::with_capacity(self.integrations.len());
        for i in &self.integrations {
            let application = self
                .services
                .store
                .get_application(i.application_id)
                .await?;
            let bot = self.services.users.public(i.bot_id).await?;
            let added_by = self.services.users.public(i.user_id).await?;
            let (name, icon, description) = match &application {
                Some(a) => (a.name.clone(), a.icon.clone(), a.description.clone()),
                None => (bot.username.clone(), None, String::new()),
            };
            let scopes: Vec<&String> = i
                .scopes
                .iter()
                .filter(|s| LISTED_SCOPES.contains(&s.as_str()))
                .collect();
            out.push(json!({
                "id": i.id,
                "type": "discord",
                "name": name,
                "enabled": true,
                "account": {"id": i.bot_id.to_string(), "name": bot.username},
                "application": {
                    "id": i.application_id,
                    "name": name,
                    "icon": icon,
                    "description": description,
                    "type": null,
                    "bot": bot,
                },
                "scopes": scopes,
                "user": added_by,
            }));
        }
        Ok(Value::Array(out))
    }

    /// `DELETE /guilds/{id}/integrations/{integration}` (MANAGE_GUILD): removes the bot from
    /// the guild (GUILD_MEMBER_REMOVE) with its managed role, then the integration
    /// (INTEGRATION_DELETE, GUILD_INTEGRATIONS_UPDATE) and records INTEGRATION_DELETE.
    pub(super) async fn delete_integration(
        &mut self,
        user: UserId,
        id: IntegrationId,
    ) -> Result<(), ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let Some(integration) = self.integrations.iter().find(|i| i.id == id).cloned() else {
            return Err(ApiError::Unknown(Unknown::Integration));
        };
        let owner = self.guild.owner_id;
        let bot = integration.bot_id;
        // With the guild's authority: the caller's permission was checked above.
        if self.members.contains_key(&bot) {
            self.remove_member(owner, bot, None).await?;
        }
        let managed: Vec<_> = self
            .roles
            .iter()
            .filter(|r| r.managed && r.tags.as_ref().is_some_and(|t| t["bot_id"] == json!(bot)))
            .map(|r| r.id)
            .collect();
        for role in managed {
            self.delete_role(owner, role).await?;
        }
        // Gone with the member already, unless the bot had left before.
        self.drop_integrations_of(bot).await?;
        let name = match self
            .services
            .store
            .get_application(integration.application_id)
            .await?
        {
            Some(a) => a.name,
            None => String::new(),
        };
        let before = json!({"type": "discord", "name": name});
        self.audit_change(
            user,
            audit::INTEGRATION_DELETE,
            Some(id.into()),
            Some(before),
            None,
        )
        .await;
        Ok(())
    }

    /// Forgets the integrations that brought `bot` (it left or was removed):
    /// INTEGRATION_DELETE each, then GUILD_INTEGRATIONS_UPDATE.
    pub(super) async fn drop_integrations_of(&mut self, bot: UserId) -> Result<(), ApiError> {
        let gone: Vec<IntegrationRecord> = self
            .integrations
            .iter()
            .filter(|i| i.bot_id == bot)
            .cloned()
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        for i in &gone {
            self.services
                .store
                .delete_integration(self.id(), i.id)
                .await?;
            self.integrations.retain(|x| x.id != i.id);
            self.dispatch(
                "INTEGRATION_DELETE",
                &json!({"id": i.id, "guild_id": self.id(), "application_id": i.application_id}),
                None,
            );
        }
        self.dispatch(
            "GUILD_INTEGRATIONS_UPDATE",
            &json!({"guild_id": self.id()}),
            None,
        );
        Ok(())
    }
}
