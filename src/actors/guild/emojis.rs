//! A guild's custom emojis: list/get (members), create (CREATE_GUILD_EXPRESSIONS or
//! MANAGE_GUILD_EXPRESSIONS), modify/delete (MANAGE_GUILD_EXPRESSIONS, or CREATE_… for one's own),
//! each change announced as GUILD_EMOJIS_UPDATE with the full list, like Discord.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, audit, double_option};
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{EmojiId, RoleId, UserId};
use crate::model::EmojiRecord;
use crate::permissions::Permissions;

/// A new emoji whose image the route has already stored on the CDN.
#[derive(Debug)]
pub struct EmojiCreate {
    pub id: EmojiId,
    pub name: String,
    /// CDN hash (`a_`-prefixed when animated).
    pub image: String,
    pub roles: Vec<RoleId>,
}

/// Body of `PATCH /guilds/{id}/emojis/{emoji}`.
#[derive(Debug, Default, Deserialize)]
pub struct EmojiPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub roles: Option<Option<Vec<RoleId>>>,
}

/// Discord's emoji name rule: 2–32 of `[A-Za-z0-9_]`.
pub fn validate_name(errs: &mut FieldErrors, name: &str) {
    let n = name.chars().count();
    if !(2..=32).contains(&n) {
        errs.add("name", FieldError::BadLength { min: 2, max: 32 });
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errs.add(
            "name",
            FieldError::BadType {
                expected: "letters, digits and underscores".into(),
            },
        );
    }
}

pub(super) const EXPRESSIONS: Permissions = Permissions::from_bits_truncate(
    Permissions::CREATE_GUILD_EXPRESSIONS.bits() | Permissions::MANAGE_GUILD_EXPRESSIONS.bits(),
);

impl State {
    /// The emojis as Discord sends them in guild objects and GUILD_CREATE (no `user`).
    pub(super) fn emojis_json(&self) -> Value {
        Value::Array(self.emojis.iter().map(|e| e.to_json(None)).collect())
    }

    /// With `user` (the uploader) when the viewer may manage expressions, as on Discord.
    async fn emojis_for(
        &self,
        viewer: UserId,
        list: &[EmojiRecord],
    ) -> Result<Vec<Value>, ApiError> {
        if !self.guild_permissions(viewer).intersects(EXPRESSIONS) {
            return Ok(list.iter().map(|e| e.to_json(None)).collect());
        }
        let mut ids: Vec<UserId> = list.iter().filter_map(|e| e.user_id).collect();
        ids.sort();
        ids.dedup();
        let users = self.services.users.public_many(&ids).await?;
        Ok(list
            .iter()
            .map(|e| e.to_json(users.iter().find(|u| Some(u.id) == e.user_id)))
            .collect())
    }

    fn announce_emojis(&mut self) {
        let data = json!({"guild_id": self.id(), "emojis": self.emojis_json()});
        self.dispatch("GUILD_EMOJIS_UPDATE", &data, None);
    }

    fn validate_roles(&self, errs: &mut FieldErrors, roles: &[RoleId]) {
        for (i, r) in roles.iter().enumerate() {
            if !self.roles.iter().any(|x| x.id == *r) {
                errs.add(&format!("roles.{i}"), FieldError::InvalidSnowflake);
            }
        }
    }

    pub(super) async fn list_emojis(&self, user: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        Ok(Value::Array(self.emojis_for(user, &self.emojis).await?))
    }

    pub(super) async fn get_emoji(&self, user: UserId, id: EmojiId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let e = self
            .emojis
            .iter()
            .find(|e| e.id == id)
            .ok_or(ApiError::Unknown(Unknown::Emoji))?;
        let mut list = self.emojis_for(user, std::slice::from_ref(e)).await?;
        list.pop().ok_or(ApiError::Unknown(Unknown::Emoji))
    }

    /// May `user` create emojis here? (The route asks before storing the image.)
    pub(super) fn may_create_emoji(&self, user: UserId) -> Result<(), ApiError> {
        self.member_guard(user)?;
        if self.guild_permissions(user).intersects(EXPRESSIONS) {
            Ok(())
        } else {
            Err(ApiError::MissingPermissions)
        }
    }

    pub(super) async fn create_emoji(
        &mut self,
        user: UserId,
        body: EmojiCreate,
    ) -> Result<Value, ApiError> {
        self.may_create_emoji(user)?;
        let mut errs = FieldErrors::default();
        validate_name(&mut errs, &body.name);
        self.validate_roles(&mut errs, &body.roles);
        errs.into_result()?;
        let max = self.services.config.get().limits.guild.max_emojis as usize;
        if self.emojis.len() >= max {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                30008,
                "max-emojis-reached",
            ));
        }
        let e = EmojiRecord {
            id: body.id,
            guild_id: self.id(),
            name: body.name,
            roles: body.roles,
            user_id: Some(user),
            animated: body.image.starts_with("a_"),
            image: body.image,
            available: true,
            managed: false,
            require_colons: true,
        };
        self.services.store.put_emoji(&e).await?;
        self.emojis.push(e.clone());
        self.announce_emojis();
        let change = crate::store::AuditChange {
            key: "name".into(),
            old: Value::Null,
            new: json!(e.name),
        };
        self.audit(
            user,
            audit::EMOJI_CREATE,
            Some(e.id.snowflake()),
            vec![change],
            None,
        )
        .await;
        let mut list = self.emojis_for(user, std::slice::from_ref(&e)).await?;
        list.pop().ok_or(ApiError::Unknown(Unknown::Emoji))
    }

    /// MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for an emoji the caller uploaded.
    fn may_manage_emoji(&self, user: UserId, id: EmojiId) -> Result<usize, ApiError> {
        self.member_guard(user)?;
        let i = self
            .emojis
            .iter()
            .position(|e| e.id == id)
            .ok_or(ApiError::Unknown(Unknown::Emoji))?;
        let perms = self.guild_permissions(user);
        let own = self.emojis[i].user_id == Some(user)
            && perms.contains(Permissions::CREATE_GUILD_EXPRESSIONS);
        if own || perms.contains(Permissions::MANAGE_GUILD_EXPRESSIONS) {
            Ok(i)
        } else {
            Err(ApiError::MissingPermissions)
        }
    }

    pub(super) async fn update_emoji(
        &mut self,
        user: UserId,
        id: EmojiId,
        patch: EmojiPatch,
    ) -> Result<Value, ApiError> {
        let i = self.may_manage_emoji(user, id)?;
        let mut e = self.emojis[i].clone();
        let mut errs = FieldErrors::default();
        if let Some(name) = patch.name {
            validate_name(&mut errs, &name);
            e.name = name;
        }
        if let Some(roles) = patch.roles {
            let roles = roles.unwrap_or_default();
            self.validate_roles(&mut errs, &roles);
            e.roles = roles;
        }
        errs.into_result()?;
        let before = self.emojis[i].to_json(None);
        self.services.store.put_emoji(&e).await?;
        self.emojis[i] = e.clone();
        self.announce_emojis();
        let after = e.to_json(None);
        let changes = match (before.as_object(), after.as_object()) {
            (Some(b), Some(a)) => audit::diff(b, a),
            _ => Vec::new(),
        };
        self.audit(
            user,
            audit::EMOJI_UPDATE,
            Some(id.snowflake()),
            changes,
            None,
        )
        .await;
        let mut list = self.emojis_for(user, std::slice::from_ref(&e)).await?;
        list.pop().ok_or(ApiError::Unknown(Unknown::Emoji))
    }

    pub(super) async fn delete_emoji(&mut self, user: UserId, id: EmojiId) -> Result<(), ApiError> {
        let i = self.may_manage_emoji(user, id)?;
        self.services.store.delete_emoji(self.id(), id).await?;
        let e = self.emojis.remove(i);
        self.announce_emojis();
        let change = crate::store::AuditChange {
            key: "name".into(),
            old: json!(e.name),
            new: Value::Null,
        };
        self.audit(
            user,
            audit::EMOJI_DELETE,
            Some(id.snowflake()),
            vec![change],
            None,
        )
        .await;
        Ok(())
    }
}
