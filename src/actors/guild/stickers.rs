//! A guild's stickers: list/get (members), create (CREATE_GUILD_EXPRESSIONS or
//! MANAGE_GUILD_EXPRESSIONS), modify/delete (MANAGE_GUILD_EXPRESSIONS, or CREATE_… for one's own),
//! each change announced as GUILD_STICKERS_UPDATE with the full list and recorded in the audit
//! log, like Discord. Also resolves the `sticker_ids` of a message sent in one of its channels.

use serde::Deserialize;
use serde_json::{Value, json};

use super::emojis::EXPRESSIONS;
use super::{State, audit, double_option};
use crate::actors::Reply;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{StickerId, UserId};
use crate::model::{StickerFormat, StickerItem, StickerRecord};
use crate::permissions::Permissions;

/// Stickers one message may carry.
pub const MAX_MESSAGE_STICKERS: usize = 3;

/// Requests about a guild's stickers (one `GuildMsg` variant, so the sticker feature stays in
/// this file).
pub enum StickerMsg {
    /// `GET /guilds/{id}/stickers`.
    List { user: UserId, reply: Reply<Value> },
    /// `GET /guilds/{id}/stickers/{sticker}`.
    Get {
        user: UserId,
        id: StickerId,
        reply: Reply<Value>,
    },
    /// `GET /stickers/{id}`: anyone may look a sticker up by id (to show one seen in a message).
    Lookup {
        user: UserId,
        id: StickerId,
        reply: Reply<Value>,
    },
    /// Asked by the route before it stores a sticker file on the CDN: permission and room.
    MayCreate { user: UserId, reply: Reply<()> },
    Create {
        user: UserId,
        body: StickerCreate,
        reply: Reply<Value>,
    },
    Update {
        user: UserId,
        id: StickerId,
        patch: StickerPatch,
        reply: Reply<Value>,
    },
    Delete {
        user: UserId,
        id: StickerId,
        reply: Reply<()>,
    },
    /// The `sticker_ids` of a message sent in this guild, as the message's `sticker_items`.
    ForMessage {
        ids: Vec<StickerId>,
        reply: Reply<Vec<StickerItem>>,
    },
}

/// A new sticker whose file the route has already stored on the CDN.
#[derive(Debug)]
pub struct StickerCreate {
    pub id: StickerId,
    pub name: String,
    pub description: String,
    pub tags: String,
    pub format_type: StickerFormat,
}

/// Body of `PATCH /guilds/{id}/stickers/{sticker}`.
#[derive(Debug, Default, Deserialize)]
pub struct StickerPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    pub tags: Option<String>,
}

/// Discord's rules: name 2–30 characters, description empty or 2–100, tags 1–200.
pub fn validate_fields(
    errs: &mut FieldErrors,
    name: Option<&str>,
    description: Option<&str>,
    tags: Option<&str>,
) {
    if let Some(name) = name
        && !(2..=30).contains(&name.chars().count())
    {
        errs.add("name", FieldError::BadLength { min: 2, max: 30 });
    }
    if let Some(d) = description {
        let n = d.chars().count();
        if n != 0 && !(2..=100).contains(&n) {
            errs.add("description", FieldError::BadLength { min: 2, max: 100 });
        }
    }
    if let Some(tags) = tags
        && !(1..=200).contains(&tags.chars().count())
    {
        errs.add("tags", FieldError::BadLength { min: 1, max: 200 });
    }
}

/// Empty descriptions are stored (and sent) as null.
fn description_of(d: String) -> Option<String> {
    (!d.is_empty()).then_some(d)
}

fn max_stickers_reached() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        30039,
        "max-stickers-reached",
    )
}

/// Discord's "Invalid sticker sent": a sticker of another guild, or one not available.
fn invalid_sticker_sent() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        50081,
        "invalid-sticker-sent",
    )
}

impl State {
    pub(super) async fn handle_sticker(&mut self, msg: StickerMsg) {
        use crate::actors::reply;
        match msg {
            StickerMsg::List { user, reply: r } => reply(r, self.list_stickers(user).await),
            StickerMsg::Get { user, id, reply: r } => reply(r, self.get_sticker(user, id).await),
            StickerMsg::Lookup { user, id, reply: r } => {
                reply(r, self.lookup_sticker(user, id).await)
            }
            StickerMsg::MayCreate { user, reply: r } => reply(r, self.may_create_sticker(user)),
            StickerMsg::Create {
                user,
                body,
                reply: r,
            } => reply(r, self.create_sticker(user, body).await),
            StickerMsg::Update {
                user,
                id,
                patch,
                reply: r,
            } => reply(r, self.update_sticker(user, id, patch).await),
            StickerMsg::Delete { user, id, reply: r } => {
                reply(r, self.delete_sticker(user, id).await)
            }
            StickerMsg::ForMessage { ids, reply: r } => reply(r, self.message_stickers(&ids).await),
        }
    }

    /// The stickers as Discord sends them in guild objects and GUILD_CREATE (no `user`).
    pub(super) fn stickers_json(&self) -> Value {
        Value::Array(self.stickers.iter().map(|s| s.to_json(None)).collect())
    }

    /// With `user` (the uploader) when the viewer is a member who may manage expressions, as
    /// on Discord.
    async fn stickers_for(
        &self,
        viewer: UserId,
        list: &[StickerRecord],
    ) -> Result<Vec<Value>, ApiError> {
        let manager = self.members.contains_key(&viewer)
            && self.guild_permissions(viewer).intersects(EXPRESSIONS);
        if !manager {
            return Ok(list.iter().map(|s| s.to_json(None)).collect());
        }
        let mut ids: Vec<UserId> = list.iter().filter_map(|s| s.user_id).collect();
        ids.sort();
        ids.dedup();
        let users = self.services.users.public_many(&ids).await?;
        Ok(list
            .iter()
            .map(|s| s.to_json(users.iter().find(|u| Some(u.id) == s.user_id)))
            .collect())
    }

    async fn one_for(&self, viewer: UserId, s: &StickerRecord) -> Result<Value, ApiError> {
        let mut list = self.stickers_for(viewer, std::slice::from_ref(s)).await?;
        list.pop().ok_or(ApiError::Unknown(Unknown::Sticker))
    }

    fn announce_stickers(&mut self) {
        let data = json!({"guild_id": self.id(), "stickers": self.stickers_json()});
        self.dispatch("GUILD_STICKERS_UPDATE", &data, None);
    }

    fn sticker_index(&self, id: StickerId) -> Result<usize, ApiError> {
        self.stickers
            .iter()
            .position(|s| s.id == id)
            .ok_or(ApiError::Unknown(Unknown::Sticker))
    }

    async fn list_stickers(&self, user: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        Ok(Value::Array(self.stickers_for(user, &self.stickers).await?))
    }

    async fn get_sticker(&self, user: UserId, id: StickerId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let i = self.sticker_index(id)?;
        self.one_for(user, &self.stickers[i]).await
    }

    async fn lookup_sticker(&self, user: UserId, id: StickerId) -> Result<Value, ApiError> {
        let i = self.sticker_index(id)?;
        self.one_for(user, &self.stickers[i]).await
    }

    /// May `user` add a sticker now? (The route asks before storing the file.)
    fn may_create_sticker(&self, user: UserId) -> Result<(), ApiError> {
        self.member_guard(user)?;
        if !self.guild_permissions(user).intersects(EXPRESSIONS) {
            return Err(ApiError::MissingPermissions);
        }
        let max = self.services.config.get().limits.guild.max_stickers as usize;
        if self.stickers.len() >= max {
            return Err(max_stickers_reached());
        }
        Ok(())
    }

    async fn create_sticker(
        &mut self,
        user: UserId,
        body: StickerCreate,
    ) -> Result<Value, ApiError> {
        self.may_create_sticker(user)?;
        let mut errs = FieldErrors::default();
        validate_fields(
            &mut errs,
            Some(&body.name),
            Some(&body.description),
            Some(&body.tags),
        );
        errs.into_result()?;
        let s = StickerRecord {
            id: body.id,
            guild_id: self.id(),
            name: body.name,
            description: description_of(body.description),
            tags: body.tags,
            format_type: body.format_type,
            available: true,
            user_id: Some(user),
            sort_value: None,
        };
        self.services.store.put_sticker(&s).await?;
        self.stickers.push(s.clone());
        self.announce_stickers();
        self.audit_change(
            user,
            audit::STICKER_CREATE,
            Some(s.id.snowflake()),
            None,
            Some(s.to_json(None)),
        )
        .await;
        self.one_for(user, &s).await
    }

    /// MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for a sticker the caller uploaded.
    fn may_manage_sticker(&self, user: UserId, id: StickerId) -> Result<usize, ApiError> {
        self.member_guard(user)?;
        let i = self.sticker_index(id)?;
        let perms = self.guild_permissions(user);
        let own = self.stickers[i].user_id == Some(user)
            && perms.contains(Permissions::CREATE_GUILD_EXPRESSIONS);
        if own || perms.contains(Permissions::MANAGE_GUILD_EXPRESSIONS) {
            Ok(i)
        } else {
            Err(ApiError::MissingPermissions)
        }
    }

    async fn update_sticker(
        &mut self,
        user: UserId,
        id: StickerId,
        patch: StickerPatch,
    ) -> Result<Value, ApiError> {
        let i = self.may_manage_sticker(user, id)?;
        let description = patch.description.map(Option::unwrap_or_default);
        let mut errs = FieldErrors::default();
        validate_fields(
            &mut errs,
            patch.name.as_deref(),
            description.as_deref(),
            patch.tags.as_deref(),
        );
        errs.into_result()?;
        let mut s = self.stickers[i].clone();
        if let Some(name) = patch.name {
            s.name = name;
        }
        if let Some(d) = description {
            s.description = description_of(d);
        }
        if let Some(tags) = patch.tags {
            s.tags = tags;
        }
        let before = self.stickers[i].to_json(None);
        self.services.store.put_sticker(&s).await?;
        self.stickers[i] = s.clone();
        self.announce_stickers();
        self.audit_change(
            user,
            audit::STICKER_UPDATE,
            Some(id.snowflake()),
            Some(before),
            Some(s.to_json(None)),
        )
        .await;
        self.one_for(user, &s).await
    }

    async fn delete_sticker(&mut self, user: UserId, id: StickerId) -> Result<(), ApiError> {
        let i = self.may_manage_sticker(user, id)?;
        self.services.store.delete_sticker(self.id(), id).await?;
        let s = self.stickers.remove(i);
        self.announce_stickers();
        self.audit_change(
            user,
            audit::STICKER_DELETE,
            Some(id.snowflake()),
            Some(s.to_json(None)),
            None,
        )
        .await;
        Ok(())
    }

    /// This guild's available stickers only (bots can't send other guilds' stickers on Discord
    /// either): an id no guild has is 10060 Unknown Sticker, another guild's (or an unavailable)
    /// sticker is 50081 Invalid Sticker Sent.
    async fn message_stickers(&self, ids: &[StickerId]) -> Result<Vec<StickerItem>, ApiError> {
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            match self.stickers.iter().find(|s| s.id == *id) {
                Some(s) if s.available => items.push(s.item()),
                Some(_) => return Err(invalid_sticker_sent()),
                None => return Err(foreign_sticker(&self.services, *id).await),
            }
        }
        Ok(items)
    }
}

/// The error for a sticker that can't be sent where it was: unknown anywhere (10060), or
/// another guild's (50081). Also used for DMs, where no guild sticker may be sent.
pub async fn foreign_sticker(services: &crate::actors::Services, id: StickerId) -> ApiError {
    match services.store.get_sticker(id).await {
        Ok(Some(_)) => invalid_sticker_sent(),
        Ok(None) => ApiError::Unknown(Unknown::Sticker),
        Err(e) => e.into(),
    }
}
