//! Stage instances: the live stage of a stage channel (its topic), at most one per channel.
//! Opening, editing and closing one needs what Discord asks of a stage moderator —
//! MANAGE_CHANNELS, MUTE_MEMBERS and MOVE_MEMBERS in the channel — and each is announced as
//! STAGE_INSTANCE_CREATE/UPDATE/DELETE to those who see the channel and recorded in the audit
//! log (83/84/85). Kept in the guild's setup record (see `model::guild_setup`).

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::{State, audit};
use crate::actors::Reply;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ChannelId, ScheduledEventId, UserId};
use crate::model::ChannelKind;
use crate::model::guild_setup::StageInstance;
use crate::permissions::{Permissions, require};
use crate::validate;

// Discord's audit log event numbers for stage instances.
pub const STAGE_INSTANCE_CREATE: u16 = 83;
pub const STAGE_INSTANCE_UPDATE: u16 = 84;
pub const STAGE_INSTANCE_DELETE: u16 = 85;

/// The only privacy level Discord still accepts (GUILD_ONLY).
const GUILD_ONLY: u8 = 2;

/// What a stage moderator needs in the stage channel.
const MODERATOR: Permissions = Permissions::from_bits_truncate(
    Permissions::MANAGE_CHANNELS.bits()
        | Permissions::MUTE_MEMBERS.bits()
        | Permissions::MOVE_MEMBERS.bits(),
);

/// Requests about stage instances (one `GuildMsg` variant, so the feature stays in this file).
pub enum StageMsg {
    /// `POST /stage-instances`.
    Create {
        user: UserId,
        body: StageCreate,
        reply: Reply<Value>,
    },
    /// `GET /stage-instances/{channel}`.
    Get {
        user: UserId,
        channel: ChannelId,
        reply: Reply<Value>,
    },
    /// `PATCH /stage-instances/{channel}`.
    Update {
        user: UserId,
        channel: ChannelId,
        patch: StagePatch,
        reply: Reply<Value>,
    },
    /// `DELETE /stage-instances/{channel}`.
    Delete {
        user: UserId,
        channel: ChannelId,
        reply: Reply<()>,
    },
}

/// Body of `POST /stage-instances` (every field Discord documents).
#[derive(Debug, Default, Deserialize)]
pub struct StageCreate {
    pub channel_id: Option<ChannelId>,
    pub topic: Option<String>,
    pub privacy_level: Option<u8>,
    /// Notifying @everyone that the stage started; accepted (there are no push notifications).
    pub send_start_notification: Option<bool>,
    pub guild_scheduled_event_id: Option<ScheduledEventId>,
}

/// Body of `PATCH /stage-instances/{channel}`.
#[derive(Debug, Default, Deserialize)]
pub struct StagePatch {
    pub topic: Option<String>,
    pub privacy_level: Option<u8>,
}

fn already_open() -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, 150006, "stage-already-open")
}

impl State {
    pub(super) async fn handle_stage(&mut self, msg: StageMsg) {
        use crate::actors::reply;
        match msg {
            StageMsg::Create {
                user,
                body,
                reply: r,
            } => {
                let v = self.create_stage(user, body).await;
                let created = v.as_ref().ok().cloned();
                reply(r, v);
                if let Some(after) = created {
                    let target = audit::id_of(&after);
                    self.audit_change(user, STAGE_INSTANCE_CREATE, target, None, Some(after))
                        .await;
                }
            }
            StageMsg::Get {
                user,
                channel,
                reply: r,
            } => reply(r, self.get_stage(user, channel)),
            StageMsg::Update {
                user,
                channel,
                patch,
                reply: r,
            } => {
                let before = self.stage_of(channel).map(StageInstance::to_json);
                let v = self.update_stage(user, channel, patch).await;
                let after = v.as_ref().ok().cloned();
                reply(r, v);
                if let Some(after) = after {
                    let target = audit::id_of(&after);
                    self.audit_change(user, STAGE_INSTANCE_UPDATE, target, before, Some(after))
                        .await;
                }
            }
            StageMsg::Delete {
                user,
                channel,
                reply: r,
            } => {
                let before = self.stage_of(channel).map(StageInstance::to_json);
                let v = self.delete_stage(user, channel).await;
                let ok = v.is_ok();
                reply(r, v);
                if let (true, Some(before)) = (ok, before) {
                    let target = audit::id_of(&before);
                    self.audit_change(user, STAGE_INSTANCE_DELETE, target, Some(before), None)
                        .await;
                }
            }
        }
    }

    fn stage_of(&self, channel: ChannelId) -> Option<&StageInstance> {
        self.setup
            .stage_instances
            .iter()
            .find(|s| s.channel_id == channel)
    }

    /// The stage instances a user sees (GUILD_CREATE's `stage_instances`).
    pub(super) fn stage_instances_for(&self, user: UserId) -> Value {
        Value::Array(
            self.setup
                .stage_instances
                .iter()
                .filter(|s| {
                    self.channels.get(&s.channel_id).is_some_and(|c| {
                        self.channel_permissions(user, c)
                            .contains(Permissions::VIEW_CHANNEL)
                    })
                })
                .map(StageInstance::to_json)
                .collect(),
        )
    }

    /// The caller's permissions in a stage channel they see (10003 for a channel of another
    /// guild or one they can't see; 50024 for a channel that is not a stage).
    fn stage_channel_permissions(
        &self,
        user: UserId,
        channel: ChannelId,
    ) -> Result<Permissions, ApiError> {
        self.member_guard(user)?;
        let c = self
            .channels
            .get(&channel)
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let perms = self.channel_permissions(user, c);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::Unknown(Unknown::Channel));
        }
        if c.kind != ChannelKind::GuildStageVoice {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                50024,
                "invalid-channel-type",
            ));
        }
        Ok(perms)
    }

    fn validate_stage_fields(
        &self,
        errs: &mut FieldErrors,
        topic: Option<&str>,
        privacy_level: Option<u8>,
    ) {
        let max = self.services.config.get().limits.channel.max_stage_topic;
        if let Some(topic) = topic {
            validate::length(errs, "topic", topic.trim(), 1, max);
        }
        if privacy_level.is_some_and(|p| p != GUILD_ONLY) {
            errs.add(
                "privacy_level",
                FieldError::Choice {
                    allowed: GUILD_ONLY.to_string(),
                },
            );
        }
    }

    /// Writes the setup record with `stages` as the guild's stage instances.
    async fn save_stages(&mut self, stages: Vec<StageInstance>) -> Result<(), ApiError> {
        let mut setup = self.setup.clone();
        setup.stage_instances = stages;
        self.services.store.put_guild_setup(&setup).await?;
        self.setup = setup;
        Ok(())
    }

    async fn create_stage(&mut self, user: UserId, body: StageCreate) -> Result<Value, ApiError> {
        let mut errs = FieldErrors::default();
        if body.channel_id.is_none() {
            errs.add("channel_id", FieldError::Required);
        }
        match body.topic.as_deref() {
            None => errs.add("topic", FieldError::Required),
            topic => self.validate_stage_fields(&mut errs, topic, body.privacy_level),
        }
        errs.into_result()?;
        let (Some(channel), Some(topic)) = (body.channel_id, body.topic) else {
            return Err(ApiError::Internal);
        };
        let perms = self.stage_channel_permissions(user, channel)?;
        require(perms, MODERATOR)?;
        if let Some(event) = body.guild_scheduled_event_id
            && !self.events.contains(event)
        {
            return Err(ApiError::Unknown(Unknown::ScheduledEvent));
        }
        if self.stage_of(channel).is_some() {
            return Err(already_open());
        }
        let stage = StageInstance {
            id: self.services.ids.next()?,
            guild_id: self.id(),
            channel_id: channel,
            topic: topic.trim().to_string(),
            privacy_level: body.privacy_level.unwrap_or(GUILD_ONLY),
            guild_scheduled_event_id: body.guild_scheduled_event_id,
        };
        let mut stages = self.setup.stage_instances.clone();
        stages.push(stage.clone());
        self.save_stages(stages).await?;
        let v = stage.to_json();
        self.dispatch("STAGE_INSTANCE_CREATE", &v, Some(channel));
        if let Some(event) = stage.guild_scheduled_event_id {
            self.start_event_for_stage(event, stage.id.snowflake())
                .await;
        }
        Ok(v)
    }

    fn get_stage(&self, user: UserId, channel: ChannelId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let visible = self.channels.get(&channel).is_some_and(|c| {
            self.channel_permissions(user, c)
                .contains(Permissions::VIEW_CHANNEL)
        });
        if !visible {
            return Err(ApiError::Unknown(Unknown::Channel));
        }
        self.stage_of(channel)
            .map(StageInstance::to_json)
            .ok_or(ApiError::Unknown(Unknown::StageInstance))
    }

    async fn update_stage(
        &mut self,
        user: UserId,
        channel: ChannelId,
        patch: StagePatch,
    ) -> Result<Value, ApiError> {
        let perms = self.stage_channel_permissions(user, channel)?;
        let mut errs = FieldErrors::default();
        self.validate_stage_fields(&mut errs, patch.topic.as_deref(), patch.privacy_level);
        errs.into_result()?;
        require(perms, MODERATOR)?;
        let mut stages = self.setup.stage_instances.clone();
        let stage = stages
            .iter_mut()
            .find(|s| s.channel_id == channel)
            .ok_or(ApiError::Unknown(Unknown::StageInstance))?;
        if let Some(topic) = patch.topic {
            stage.topic = topic.trim().to_string();
        }
        if let Some(p) = patch.privacy_level {
            stage.privacy_level = p;
        }
        let v = stage.to_json();
        self.save_stages(stages).await?;
        self.dispatch("STAGE_INSTANCE_UPDATE", &v, Some(channel));
        Ok(v)
    }

    async fn delete_stage(&mut self, user: UserId, channel: ChannelId) -> Result<(), ApiError> {
        let perms = self.stage_channel_permissions(user, channel)?;
        require(perms, MODERATOR)?;
        self.close_stage(channel).await?;
        Ok(())
    }

    /// Removes a channel's stage instance (if any) and announces it: on DELETE, and when the
    /// channel itself goes.
    pub(super) async fn close_stage(&mut self, channel: ChannelId) -> Result<(), ApiError> {
        let Some(stage) = self.stage_of(channel).cloned() else {
            return Err(ApiError::Unknown(Unknown::StageInstance));
        };
        let stages = self
            .setup
            .stage_instances
            .iter()
            .filter(|s| s.id != stage.id)
            .cloned()
            .collect();
        self.save_stages(stages).await?;
        self.dispatch("STAGE_INSTANCE_DELETE", &stage.to_json(), Some(channel));
        if let Some(event) = stage.guild_scheduled_event_id {
            self.end_event_for_stage(event).await;
        }
        Ok(())
    }
}
