//! A guild's soundboard: list/get (members), upload (CREATE_GUILD_EXPRESSIONS or
//! MANAGE_GUILD_EXPRESSIONS), modify/delete (MANAGE_GUILD_EXPRESSIONS, or CREATE_… for one's
//! own), each change announced as GUILD_SOUNDBOARD_SOUND_CREATE/UPDATE/DELETE and recorded in
//! the audit log (130/131/132), like Discord. Playing a sound in a voice channel
//! (`send-soundboard-sound`) is checked here too and announced as VOICE_CHANNEL_EFFECT_SEND —
//! an announcement only: Accord carries no audio.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::emojis::EXPRESSIONS;
use super::{State, double_option};
use crate::actors::Reply;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ChannelId, EmojiId, SoundId, UserId};
use crate::model::SoundRecord;
use crate::model::soundboard::default_sound;
use crate::permissions::{Permissions, require};
use crate::validate;

// Discord's audit log event numbers for soundboard sounds.
pub const SOUNDBOARD_SOUND_CREATE: u16 = 130;
pub const SOUNDBOARD_SOUND_UPDATE: u16 = 131;
pub const SOUNDBOARD_SOUND_DELETE: u16 = 132;

/// Discord's bounds on a sound's name.
const NAME_MIN: u32 = 2;
const NAME_MAX: u32 = 32;
/// Discord's bound on a sound's unicode emoji.
const EMOJI_NAME_MAX: u32 = 32;

/// Requests about a guild's soundboard (one `GuildMsg` variant, so the feature stays here).
pub enum SoundMsg {
    /// `GET /guilds/{id}/soundboard-sounds` (and the gateway's op 31).
    List { user: UserId, reply: Reply<Value> },
    /// `GET /guilds/{id}/soundboard-sounds/{sound}`.
    Get {
        user: UserId,
        id: SoundId,
        reply: Reply<Value>,
    },
    /// Asked by the route before it stores a sound file on the CDN: permission and room.
    MayCreate { user: UserId, reply: Reply<()> },
    Create {
        user: UserId,
        body: SoundCreate,
        reply: Reply<Value>,
    },
    Update {
        user: UserId,
        id: SoundId,
        patch: SoundPatch,
        reply: Reply<Value>,
    },
    Delete {
        user: UserId,
        id: SoundId,
        reply: Reply<()>,
    },
    /// `POST /channels/{id}/send-soundboard-sound` in this guild's voice channel. `external`:
    /// the sound of another guild, already looked up there by the route.
    Play {
        user: UserId,
        channel: ChannelId,
        sound: SoundId,
        external: Option<Value>,
        reply: Reply<()>,
    },
}

/// A new sound whose file the route has already stored on the CDN.
#[derive(Debug)]
pub struct SoundCreate {
    pub id: SoundId,
    pub name: String,
    pub volume: Option<f64>,
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
}

/// Body of `PATCH /guilds/{id}/soundboard-sounds/{sound}` (null clears the emoji fields and
/// resets the volume).
#[derive(Debug, Default, Deserialize)]
pub struct SoundPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub volume: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub emoji_id: Option<Option<EmojiId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub emoji_name: Option<Option<String>>,
}

/// Checks a sound's fields as Discord does (50035 with each field's error).
pub fn validate_sound_fields(
    errs: &mut FieldErrors,
    name: Option<&str>,
    volume: Option<f64>,
    emoji_name: Option<&str>,
) {
    if let Some(name) = name {
        validate::length(errs, "name", name.trim(), NAME_MIN, NAME_MAX);
    }
    if let Some(v) = volume {
        if v < 0.0 || v.is_nan() {
            errs.add("volume", FieldError::NumberMin { min: 0 });
        } else if v > 1.0 {
            errs.add("volume", FieldError::NumberMax { max: 1 });
        }
    }
    if let Some(e) = emoji_name {
        validate::length(errs, "emoji_name", e, 1, EMOJI_NAME_MAX);
    }
}

fn max_sounds_reached() -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, 30045, "max-soundboard-sounds")
}

fn not_connected() -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, 40032, "not-connected-to-voice")
}

impl State {
    pub(super) async fn handle_sound(&mut self, msg: SoundMsg) {
        use crate::actors::reply;
        match msg {
            SoundMsg::List { user, reply: r } => reply(r, self.list_sounds(user).await),
            SoundMsg::Get { user, id, reply: r } => reply(r, self.get_sound(user, id).await),
            SoundMsg::MayCreate { user, reply: r } => reply(r, self.may_create_sound(user)),
            SoundMsg::Create {
                user,
                body,
                reply: r,
            } => {
                let v = self.create_sound(user, body).await;
                // The audit entry records the sound itself, not the uploader shown with it.
                let after = v.as_ref().ok().map(|v| {
                    let mut v = v.clone();
                    if let Some(o) = v.as_object_mut() {
                        o.remove("user");
                    }
                    v
                });
                reply(r, v);
                if let Some(after) = after {
                    let target = sound_target(&after);
                    self.audit_change(user, SOUNDBOARD_SOUND_CREATE, target, None, Some(after))
                        .await;
                }
            }
            SoundMsg::Update {
                user,
                id,
                patch,
                reply: r,
            } => {
                let before = self.sound(id).map(SoundRecord::to_json);
                let v = self.update_sound(user, id, patch).await;
                let ok = v.is_ok();
                reply(r, v);
                if ok {
                    let after = self.sound(id).map(SoundRecord::to_json);
                    let target = Some(id.snowflake());
                    self.audit_change(user, SOUNDBOARD_SOUND_UPDATE, target, before, after)
                        .await;
                }
            }
            SoundMsg::Delete { user, id, reply: r } => {
                let before = self.sound(id).map(SoundRecord::to_json);
                let v = self.delete_sound(user, id).await;
                let ok = v.is_ok();
                reply(r, v);
                if ok {
                    let target = Some(id.snowflake());
                    self.audit_change(user, SOUNDBOARD_SOUND_DELETE, target, before, None)
                        .await;
                }
            }
            SoundMsg::Play {
                user,
                channel,
                sound,
                external,
                reply: r,
            } => reply(r, self.play_sound(user, channel, sound, external)),
        }
    }

    fn sound(&self, id: SoundId) -> Option<&SoundRecord> {
        self.setup.soundboard_sounds.iter().find(|s| s.id == id)
    }

    /// The sounds for GUILD_CREATE.
    pub(super) fn sounds_json(&self) -> Value {
        Value::Array(
            self.setup
                .soundboard_sounds
                .iter()
                .map(SoundRecord::to_json)
                .collect(),
        )
    }

    /// A sound as the REST routes show it: with its uploader for those who may manage
    /// expressions, as Discord does.
    async fn sound_json_for(&self, user: UserId, s: &SoundRecord) -> Result<Value, ApiError> {
        let mut v = s.to_json();
        if self.guild_permissions(user).intersects(EXPRESSIONS) {
            v["user"] = json!(self.services.users.public(s.user_id).await?);
        }
        Ok(v)
    }

    async fn list_sounds(&self, user: UserId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let mut items = Vec::new();
        for s in &self.setup.soundboard_sounds {
            items.push(self.sound_json_for(user, s).await?);
        }
        Ok(json!({"items": items}))
    }

    async fn get_sound(&self, user: UserId, id: SoundId) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let s = self
            .sound(id)
            .ok_or(ApiError::Unknown(Unknown::SoundboardSound))?;
        self.sound_json_for(user, s).await
    }

    fn may_create_sound(&self, user: UserId) -> Result<(), ApiError> {
        self.member_guard(user)?;
        if !self.guild_permissions(user).intersects(EXPRESSIONS) {
            return Err(ApiError::MissingPermissions);
        }
        let max = self
            .services
            .config
            .get()
            .limits
            .guild
            .max_soundboard_sounds;
        if self.setup.soundboard_sounds.len() >= max as usize {
            return Err(max_sounds_reached());
        }
        Ok(())
    }

    /// A custom emoji given for a sound must be one of this guild's (10014).
    fn check_sound_emoji(&self, emoji: Option<EmojiId>) -> Result<(), ApiError> {
        match emoji {
            Some(e) if !self.emojis.iter().any(|x| x.id == e) => {
                Err(ApiError::Unknown(Unknown::Emoji))
            }
            _ => Ok(()),
        }
    }

    async fn save_sounds(&mut self, sounds: Vec<SoundRecord>) -> Result<(), ApiError> {
        let mut setup = self.setup.clone();
        setup.soundboard_sounds = sounds;
        self.services.store.put_guild_setup(&setup).await?;
        self.setup = setup;
        Ok(())
    }

    async fn create_sound(&mut self, user: UserId, body: SoundCreate) -> Result<Value, ApiError> {
        self.may_create_sound(user)?;
        self.check_sound_emoji(body.emoji_id)?;
        let sound = SoundRecord {
            id: body.id,
            guild_id: self.id(),
            name: body.name.trim().to_string(),
            volume: body.volume.unwrap_or(1.0),
            emoji_id: body.emoji_id,
            emoji_name: body.emoji_name,
            user_id: user,
        };
        let mut sounds = self.setup.soundboard_sounds.clone();
        sounds.push(sound.clone());
        self.save_sounds(sounds).await?;
        self.dispatch("GUILD_SOUNDBOARD_SOUND_CREATE", &sound.to_json(), None);
        self.sound_json_for(user, &sound).await
    }

    /// MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for one's own sound.
    fn may_manage_sound(&self, user: UserId, s: &SoundRecord) -> Result<(), ApiError> {
        let perms = self.guild_permissions(user);
        let own = s.user_id == user && perms.contains(Permissions::CREATE_GUILD_EXPRESSIONS);
        if own {
            return Ok(());
        }
        Ok(require(perms, Permissions::MANAGE_GUILD_EXPRESSIONS)?)
    }

    async fn update_sound(
        &mut self,
        user: UserId,
        id: SoundId,
        patch: SoundPatch,
    ) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let current = self
            .sound(id)
            .cloned()
            .ok_or(ApiError::Unknown(Unknown::SoundboardSound))?;
        self.may_manage_sound(user, &current)?;
        let mut errs = FieldErrors::default();
        validate_sound_fields(
            &mut errs,
            patch.name.as_deref(),
            patch.volume.flatten(),
            patch.emoji_name.as_ref().and_then(|e| e.as_deref()),
        );
        errs.into_result()?;
        self.check_sound_emoji(patch.emoji_id.flatten())?;
        let mut s = current;
        if let Some(name) = patch.name {
            s.name = name.trim().to_string();
        }
        if let Some(v) = patch.volume {
            s.volume = v.unwrap_or(1.0);
        }
        if let Some(e) = patch.emoji_id {
            s.emoji_id = e;
        }
        if let Some(e) = patch.emoji_name {
            s.emoji_name = e;
        }
        let sounds = self
            .setup
            .soundboard_sounds
            .iter()
            .map(|x| if x.id == id { s.clone() } else { x.clone() })
            .collect();
        self.save_sounds(sounds).await?;
        self.dispatch("GUILD_SOUNDBOARD_SOUND_UPDATE", &s.to_json(), None);
        self.sound_json_for(user, &s).await
    }

    async fn delete_sound(&mut self, user: UserId, id: SoundId) -> Result<(), ApiError> {
        self.member_guard(user)?;
        let current = self
            .sound(id)
            .cloned()
            .ok_or(ApiError::Unknown(Unknown::SoundboardSound))?;
        self.may_manage_sound(user, &current)?;
        let sounds = self
            .setup
            .soundboard_sounds
            .iter()
            .filter(|x| x.id != id)
            .cloned()
            .collect();
        self.save_sounds(sounds).await?;
        let data = json!({"sound_id": id, "guild_id": self.id()});
        self.dispatch("GUILD_SOUNDBOARD_SOUND_DELETE", &data, None);
        Ok(())
    }

    /// `send-soundboard-sound`: the sender must be in the voice channel, neither deafened nor
    /// muted nor suppressed, with SPEAK and USE_SOUNDBOARD there (and USE_EXTERNAL_SOUNDS for
    /// another guild's sound).
    fn play_sound(
        &mut self,
        user: UserId,
        channel: ChannelId,
        sound: SoundId,
        external: Option<Value>,
    ) -> Result<(), ApiError> {
        self.member_guard(user)?;
        let c = self
            .channels
            .get(&channel)
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let perms = self.channel_permissions(user, c);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::Unknown(Unknown::Channel));
        }
        let state = self
            .voice
            .states
            .get(&user)
            .filter(|s| s.channel_id == channel)
            .ok_or_else(not_connected)?;
        let member = self.members.get(&user);
        let silenced = state.self_deaf
            || state.self_mute
            || state.suppress
            || member.is_some_and(|m| m.deaf || m.mute);
        if silenced {
            return Err(ApiError::MissingPermissions);
        }
        let mut need = Permissions::SPEAK | Permissions::USE_SOUNDBOARD;
        if external.is_some() {
            need |= Permissions::USE_EXTERNAL_SOUNDS;
        }
        require(perms, need)?;
        let (volume, emoji_id, emoji_name, source) = match external
            .or_else(|| self.sound(sound).map(SoundRecord::to_json))
            .or_else(|| default_sound(sound))
        {
            Some(s) => (
                s["volume"].clone(),
                s["emoji_id"].clone(),
                s["emoji_name"].clone(),
                s["guild_id"].clone(),
            ),
            None => return Err(ApiError::Unknown(Unknown::SoundboardSound)),
        };
        let emoji = match (emoji_id.is_null(), emoji_name.is_null()) {
            (true, true) => Value::Null,
            _ => json!({"id": emoji_id, "name": emoji_name}),
        };
        let mut data = json!({
            "channel_id": channel,
            "guild_id": self.id(),
            "user_id": user,
            "emoji": emoji,
            "sound_id": sound,
            "sound_volume": volume,
        });
        if !source.is_null() {
            data["source_guild_id"] = source;
        }
        self.dispatch("VOICE_CHANNEL_EFFECT_SEND", &data, Some(channel));
        Ok(())
    }
}

/// The audit target of a sound (its `sound_id`).
fn sound_target(v: &Value) -> Option<crate::id::Snowflake> {
    serde_json::from_value(v["sound_id"].clone()).ok()
}
