//! Voice states: who sits in which voice or stage channel, muted, suppressed or asking to
//! speak. Live state, one per member, held by the guild actor and never stored — Discord forgets
//! a voice state when its session ends, and so do we. Accord carries no media: joining a channel
//! (gateway op 4) records the state and announces it, nothing more.
//!
//! Also the voice channel status (`PUT /channels/{id}/voice-status`), which Discord clears when
//! the last member leaves the channel, so it lives here beside the states.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, double_option};
use crate::actors::Reply;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ChannelId, UserId};
use crate::model::{ChannelKind, PublicUser, Timestamp};
use crate::permissions::{Permissions, require};

/// One member's voice state (Discord's voice state object, less the member's own mute/deaf,
/// which are read from the member when the state is shown).
#[derive(Debug, Clone)]
pub struct VoiceState {
    pub user_id: UserId,
    /// The gateway session that joined: only its end (or a leave) removes the state.
    pub session_id: String,
    pub channel_id: ChannelId,
    pub self_mute: bool,
    pub self_deaf: bool,
    pub self_video: bool,
    /// Stage audience members are suppressed until a moderator (or they themselves, with
    /// MUTE_MEMBERS) invite them to speak.
    pub suppress: bool,
    pub request_to_speak_timestamp: Option<Timestamp>,
}

/// The guild's live voice data.
#[derive(Debug, Default)]
pub struct Voice {
    pub states: HashMap<UserId, VoiceState>,
    /// Voice channel statuses (`VOICE_CHANNEL_STATUS_UPDATE`), cleared when a channel empties.
    pub statuses: HashMap<ChannelId, String>,
    /// The user objects of those in voice (read when they join with op 4): VOICE_STATE_UPDATE
    /// carries the `member`, with its user, and is sent from places that cannot wait for the
    /// user cache.
    pub users: HashMap<UserId, PublicUser>,
}

impl Voice {
    /// Whether anyone is still connected to `channel`.
    pub(in crate::actors::guild) fn occupied(&self, channel: ChannelId) -> bool {
        self.states.values().any(|s| s.channel_id == channel)
    }

    /// The users in `channel`.
    pub fn users_in(&self, channel: ChannelId) -> Vec<UserId> {
        self.states
            .values()
            .filter(|s| s.channel_id == channel)
            .map(|s| s.user_id)
            .collect()
    }
}

/// Requests about voice states (one `GuildMsg` variant, so the feature stays in this file).
pub enum VoiceMsg {
    /// `GET /guilds/{id}/voice-states/{user}` (`@me` resolved by the route).
    Get {
        user: UserId,
        target: UserId,
        reply: Reply<Value>,
    },
    /// `PATCH /guilds/{id}/voice-states/@me`.
    UpdateSelf {
        user: UserId,
        body: SelfVoicePatch,
        reply: Reply<()>,
    },
    /// `PATCH /guilds/{id}/voice-states/{user}`.
    UpdateOther {
        by: UserId,
        target: UserId,
        body: VoicePatch,
        reply: Reply<()>,
    },
    /// `PUT /channels/{id}/voice-status`.
    SetStatus {
        user: UserId,
        channel: ChannelId,
        status: Option<String>,
        reply: Reply<()>,
    },
}

/// Body of `PATCH /guilds/{id}/voice-states/@me`.
#[derive(Debug, Default, Deserialize)]
pub struct SelfVoicePatch {
    pub channel_id: Option<ChannelId>,
    pub suppress: Option<bool>,
    /// Absent: unchanged; `null`: the request is withdrawn.
    #[serde(default, deserialize_with = "double_option")]
    pub request_to_speak_timestamp: Option<Option<Timestamp>>,
}

/// Body of `PATCH /guilds/{id}/voice-states/{user}`.
#[derive(Debug, Default, Deserialize)]
pub struct VoicePatch {
    pub channel_id: Option<ChannelId>,
    pub suppress: Option<bool>,
}

/// What a session's op 4 (or its end) asks.
pub struct VoiceUpdate {
    pub user: UserId,
    pub session_id: String,
    pub state: Value,
}

/// Marks an op-4 state sent for a session that ended: it removes the user's voice state only
/// if that session holds it (another session of the user may have joined since).
pub const SESSION_ENDED: &str = "session_ended";

fn invalid_channel_type() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        50024,
        "invalid-channel-type",
    )
}

impl State {
    pub(super) async fn handle_voice(&mut self, msg: VoiceMsg) {
        match msg {
            VoiceMsg::Get {
                user,
                target,
                reply: r,
            } => {
                let v = self.get_voice_state(user, target).await;
                crate::actors::reply(r, v)
            }
            VoiceMsg::UpdateSelf {
                user,
                body,
                reply: r,
            } => crate::actors::reply(r, self.update_own_voice_state(user, body)),
            VoiceMsg::UpdateOther {
                by,
                target,
                body,
                reply: r,
            } => crate::actors::reply(r, self.update_voice_state(by, target, body)),
            VoiceMsg::SetStatus {
                user,
                channel,
                status,
                reply: r,
            } => crate::actors::reply(r, self.set_voice_status(user, channel, status)),
        }
    }

    /// A voice state as Discord shows it (`member` included where Discord includes it).
    pub(super) fn voice_state_json(&self, s: &VoiceState) -> Value {
        let member = self.members.get(&s.user_id);
        json!({
            "guild_id": self.id(),
            "channel_id": s.channel_id,
            "user_id": s.user_id,
            "session_id": s.session_id,
            "deaf": member.is_some_and(|m| m.deaf),
            "mute": member.is_some_and(|m| m.mute),
            "self_deaf": s.self_deaf,
            "self_mute": s.self_mute,
            "self_video": s.self_video,
            "self_stream": false,
            "suppress": s.suppress,
            "request_to_speak_timestamp": s.request_to_speak_timestamp,
        })
    }

    /// VOICE_STATE_UPDATE's data: the state with the `member` (guild voice states, as Discord
    /// sends them).
    fn voice_event_json(&self, s: &VoiceState) -> Value {
        let mut v = self.voice_state_json(s);
        if let (Some(m), Some(u)) = (
            self.members.get(&s.user_id),
            self.voice.users.get(&s.user_id),
        ) {
            v["member"] = m.to_json(u);
        }
        v
    }

    /// Op 4's user object, read before the state changes (see [`Voice::users`]).
    pub(super) async fn load_voice_user(&mut self, user: UserId) {
        if self.voice.users.contains_key(&user) || !self.members.contains_key(&user) {
            return;
        }
        match self.services.users.public(user).await {
            Ok(u) => {
                self.voice.users.insert(user, u);
            }
            Err(e) => tracing::warn!(error = %e, %user, "voice state without its member"),
        }
    }

    /// Every voice state, for GUILD_CREATE.
    pub(super) fn voice_states_json(&self) -> Value {
        Value::Array(
            self.voice
                .states
                .values()
                .map(|s| self.voice_state_json(s))
                .collect(),
        )
    }

    async fn get_voice_state(&self, user: UserId, target: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let s = self
            .voice
            .states
            .get(&target)
            .ok_or(ApiError::Unknown(Unknown::VoiceState))?;
        let mut v = self.voice_state_json(s);
        if let Some(m) = self.members.get(&target) {
            v["member"] = self.member_json(m).await?;
        }
        Ok(v)
    }

    /// Op 4 from a member's session: joins, moves or leaves (`channel_id: null`). A channel
    /// the member may not connect to counts as leaving. Joining a stage channel makes one
    /// audience (suppressed), as on Discord.
    pub(super) fn voice_state(&mut self, update: VoiceUpdate) {
        let VoiceUpdate {
            user,
            session_id,
            state,
        } = update;
        if !self.members.contains_key(&user) {
            return;
        }
        if state[SESSION_ENDED].as_bool() == Some(true) {
            if self
                .voice
                .states
                .get(&user)
                .is_some_and(|s| s.session_id == session_id)
            {
                self.leave_voice(user);
            }
            return;
        }
        let channel: Option<ChannelId> = serde_json::from_value(state["channel_id"].clone())
            .ok()
            .flatten();
        let channel = channel.and_then(|c| {
            self.channels.get(&c).and_then(|ch| {
                let voice = matches!(
                    ch.kind,
                    ChannelKind::GuildVoice | ChannelKind::GuildStageVoice
                ) && self
                    .channel_permissions(user, ch)
                    .contains(Permissions::CONNECT);
                voice.then_some((c, ch.kind == ChannelKind::GuildStageVoice))
            })
        });
        let Some((channel, stage)) = channel else {
            if self.voice.states.contains_key(&user) {
                self.leave_voice(user);
            }
            return;
        };
        let previous = self.voice.states.get(&user).cloned();
        let same_channel = previous.as_ref().is_some_and(|p| p.channel_id == channel);
        let s = VoiceState {
            user_id: user,
            session_id,
            channel_id: channel,
            self_mute: state["self_mute"].as_bool().unwrap_or(false),
            self_deaf: state["self_deaf"].as_bool().unwrap_or(false),
            self_video: state["self_video"].as_bool().unwrap_or(false),
            suppress: match &previous {
                Some(p) if same_channel => p.suppress,
                _ => stage,
            },
            request_to_speak_timestamp: previous
                .filter(|_| same_channel)
                .and_then(|p| p.request_to_speak_timestamp),
        };
        let data = self.voice_event_json(&s);
        let left = self
            .voice
            .states
            .insert(user, s)
            .map(|p| p.channel_id)
            .filter(|c| *c != channel);
        self.dispatch("VOICE_STATE_UPDATE", &data, None);
        if let Some(old) = left {
            self.clear_status_if_empty(old);
        }
    }

    /// Removes a member's voice state and announces it (`channel_id: null`); the channel's
    /// status goes when its last member does.
    pub(super) fn leave_voice(&mut self, user: UserId) {
        let Some(s) = self.voice.states.remove(&user) else {
            self.voice.users.remove(&user);
            return;
        };
        let mut data = self.voice_event_json(&s);
        self.voice.users.remove(&user);
        data["channel_id"] = Value::Null;
        self.dispatch("VOICE_STATE_UPDATE", &data, None);
        self.clear_status_if_empty(s.channel_id);
    }

    /// Everyone in a deleted channel is disconnected.
    pub(super) fn channel_gone_from_voice(&mut self, channel: ChannelId) {
        for user in self.voice.users_in(channel) {
            self.leave_voice(user);
        }
        self.voice.statuses.remove(&channel);
    }

    fn clear_status_if_empty(&mut self, channel: ChannelId) {
        if !self.voice.occupied(channel) && self.voice.statuses.remove(&channel).is_some() {
            let data = json!({"id": channel, "guild_id": self.id(), "status": null});
            self.dispatch("VOICE_CHANNEL_STATUS_UPDATE", &data, None);
        }
    }

    /// The state of `target` in the stage channel `channel_id` names (when given): 10065 when
    /// the user is not connected, 50024 when the channel is not a stage, a field error when
    /// `channel_id` is not the channel the user is in.
    fn stage_state(
        &self,
        target: UserId,
        channel_id: Option<ChannelId>,
    ) -> Result<VoiceState, ApiError> {
        let s = self
            .voice
            .states
            .get(&target)
            .ok_or(ApiError::Unknown(Unknown::VoiceState))?;
        if let Some(c) = channel_id
            && c != s.channel_id
        {
            return Err(FieldErrors::single(
                "channel_id",
                FieldError::Choice {
                    allowed: s.channel_id.to_string(),
                },
            ));
        }
        let stage = self
            .channels
            .get(&s.channel_id)
            .is_some_and(|c| c.kind == ChannelKind::GuildStageVoice);
        if !stage {
            return Err(invalid_channel_type());
        }
        Ok(s.clone())
    }

    fn channel_perms_of(&self, user: UserId, channel: ChannelId) -> Permissions {
        self.channels
            .get(&channel)
            .map(|c| self.channel_permissions(user, c))
            .unwrap_or_default()
    }

    /// Stores a changed state and announces it.
    fn replace_voice_state(&mut self, s: VoiceState) {
        let data = self.voice_event_json(&s);
        self.voice.states.insert(s.user_id, s);
        self.dispatch("VOICE_STATE_UPDATE", &data, None);
    }

    /// `PATCH …/voice-states/@me`: anyone may suppress themselves or withdraw a request to
    /// speak; un-suppressing needs MUTE_MEMBERS, asking to speak REQUEST_TO_SPEAK (in the
    /// stage channel).
    fn update_own_voice_state(
        &mut self,
        user: UserId,
        body: SelfVoicePatch,
    ) -> Result<(), ApiError> {
        self.member_guard(user)?;
        let mut s = self.stage_state(user, body.channel_id)?;
        let perms = self.channel_perms_of(user, s.channel_id);
        if let Some(suppress) = body.suppress {
            if !suppress && s.suppress {
                require(perms, Permissions::MUTE_MEMBERS)?;
            }
            s.suppress = suppress;
        }
        match body.request_to_speak_timestamp {
            None => {}
            Some(None) => s.request_to_speak_timestamp = None,
            Some(Some(t)) => {
                require(perms, Permissions::REQUEST_TO_SPEAK)?;
                s.request_to_speak_timestamp = Some(t);
            }
        }
        self.replace_voice_state(s);
        Ok(())
    }

    /// `PATCH …/voice-states/{user}` (MUTE_MEMBERS in the stage channel): invites a member to
    /// speak or moves them back to the audience. Invited users' requests to speak are done.
    fn update_voice_state(
        &mut self,
        by: UserId,
        target: UserId,
        body: VoicePatch,
    ) -> Result<(), ApiError> {
        self.member_guard(by)?;
        if !self.members.contains_key(&target) {
            return Err(ApiError::Unknown(Unknown::Member));
        }
        let mut s = self.stage_state(target, body.channel_id)?;
        require(
            self.channel_perms_of(by, s.channel_id),
            Permissions::MUTE_MEMBERS,
        )?;
        if let Some(suppress) = body.suppress {
            s.suppress = suppress;
            if !suppress {
                s.request_to_speak_timestamp = None;
            }
        }
        self.replace_voice_state(s);
        Ok(())
    }

    /// `PUT /channels/{id}/voice-status`: members connected to the channel with
    /// SET_VOICE_CHANNEL_STATUS; others need MANAGE_CHANNELS as well, as on Discord.
    fn set_voice_status(
        &mut self,
        user: UserId,
        channel: ChannelId,
        status: Option<String>,
    ) -> Result<(), ApiError> {
        self.member_guard(user)?;
        let c = self
            .channels
            .get(&channel)
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let perms = self.channel_permissions(user, c);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        if c.kind != ChannelKind::GuildVoice {
            return Err(invalid_channel_type());
        }
        let connected = self
            .voice
            .states
            .get(&user)
            .is_some_and(|s| s.channel_id == channel);
        let mut need = Permissions::SET_VOICE_CHANNEL_STATUS;
        if !connected {
            need |= Permissions::MANAGE_CHANNELS;
        }
        require(perms, need)?;
        let max = self.services.config.get().limits.channel.max_voice_status;
        let status = status.filter(|s| !s.is_empty());
        if let Some(s) = &status
            && s.chars().count() > max as usize
        {
            return Err(FieldErrors::single(
                "status",
                FieldError::MaxLength { max: max as usize },
            ));
        }
        match &status {
            Some(s) => self.voice.statuses.insert(channel, s.clone()),
            None => self.voice.statuses.remove(&channel),
        };
        let data = json!({"id": channel, "guild_id": self.id(), "status": status});
        self.dispatch("VOICE_CHANNEL_STATUS_UPDATE", &data, None);
        Ok(())
    }
}
