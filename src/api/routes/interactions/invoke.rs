//! `POST /interactions`: a user (Discord's client) invokes an application command in a channel.
//! The command, the caller's right to use it and the option values are checked here; the bot's
//! gateway gets INTERACTION_CREATE with Discord's interaction object (options resolved to users,
//! members, roles, channels and messages), the caller's sessions an INTERACTION_CREATE with the
//! id and nonce; the answer is 204.

use std::time::Instant;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{is_multipart, tell_user, watch};
use crate::actors::channel::ChannelMsg;
use crate::actors::guild::{Access, GuildMsg};
use crate::actors::interactions::{Interaction, new_token};
use crate::actors::{ask, mailbox};
use crate::api::extract::{Json, UserAccount, parse_json};
use crate::api::routes::applications::commands::options::{self, Refs};
use crate::api::routes::channels::{guild_of, visible_channel};
use crate::app::App;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{
    ApplicationId, ChannelId, CommandId, GuildId, InteractionId, MessageId, Snowflake, UserId,
};
use crate::model::command::kind;
use crate::model::{CommandRecord, MessageInteraction};
use crate::permissions::{Permissions, require};

/// The interaction type this server invokes: APPLICATION_COMMAND.
const APPLICATION_COMMAND: u8 = 2;

/// What a bot may do in its DM with a user (`app_permissions` there).
const DM_APP_PERMISSIONS: Permissions = Permissions::from_bits_truncate(
    Permissions::VIEW_CHANNEL.bits()
        | Permissions::SEND_MESSAGES.bits()
        | Permissions::READ_MESSAGE_HISTORY.bits()
        | Permissions::EMBED_LINKS.bits()
        | Permissions::ATTACH_FILES.bits()
        | Permissions::ADD_REACTIONS.bits()
        | Permissions::USE_EXTERNAL_EMOJIS.bits(),
);

/// The body Discord's client sends (JSON, or `payload_json` of a multipart body).
#[derive(Debug, Deserialize)]
struct InvokeBody {
    #[serde(rename = "type")]
    kind: u8,
    application_id: ApplicationId,
    guild_id: Option<GuildId>,
    channel_id: ChannelId,
    /// The invoking gateway session; accepted and ignored.
    #[allow(dead_code)]
    session_id: Option<String>,
    data: InvokeData,
    nonce: Option<Value>,
    #[allow(dead_code)]
    analytics_location: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct InvokeData {
    id: CommandId,
    #[serde(rename = "type")]
    kind: Option<u8>,
    #[serde(default)]
    options: Option<Vec<Value>>,
    /// USER and MESSAGE commands: the user or message acted on.
    target_id: Option<Snowflake>,
    /// The client's copy of the command; accepted and ignored (the stored one is used).
    #[allow(dead_code)]
    application_command: Option<Value>,
}

async fn parse(app: &App, request: Request) -> Result<InvokeBody, ApiError> {
    if !is_multipart(&request) {
        return Ok(Json::<InvokeBody>::from_request(request, app).await?.0);
    }
    let mut m = Multipart::from_request(request, app)
        .await
        .map_err(|_| ApiError::InvalidJson)?;
    while let Some(field) = m.next_field().await.map_err(|_| ApiError::InvalidJson)? {
        if field.name() == Some("payload_json") {
            let bytes = field.bytes().await.map_err(|_| ApiError::InvalidJson)?;
            return parse_json(&bytes);
        }
    }
    Err(FieldErrors::single("payload_json", FieldError::Required))
}

async fn guild_call<T: Send + 'static>(
    app: &App,
    guild: GuildId,
    make: impl FnOnce(ractor::RpcReplyPort<T>) -> GuildMsg,
) -> Result<T, ApiError> {
    let actor = app.services.guild(guild).await?;
    match mailbox::call(&actor, make, Some(app.services.call_timeout())).await {
        Ok(ractor::rpc::CallResult::Success(v)) => Ok(v),
        _ => Err(ApiError::internal("guild actor unavailable")),
    }
}

async fn access(
    app: &App,
    guild: GuildId,
    channel: ChannelId,
    user: UserId,
) -> Result<Access, ApiError> {
    guild_call(app, guild, |reply| GuildMsg::Access {
        channel,
        user,
        reply,
    })
    .await
}

/// Where the command is used, and who may do what there.
struct Place {
    channel: Value,
    guild: Option<Value>,
    /// The caller's permissions in the channel.
    perms: Permissions,
    /// The bot's (`app_permissions`).
    app_perms: Permissions,
}

/// The channel as the caller sees it, their right to use `command` there, and the bot's
/// presence: Missing Permissions without USE_APPLICATION_COMMANDS (or the command's default
/// member permissions), Missing Access when the bot is not there or the command not allowed
/// in this kind of channel.
async fn place(
    app: &App,
    caller: UserId,
    channel_id: ChannelId,
    command: &CommandRecord,
    bot: UserId,
) -> Result<Place, ApiError> {
    let channel = visible_channel(app, caller, channel_id).await?;
    let guild = guild_of(&channel);
    if command.guild_id.is_some_and(|g| Some(g) != guild) {
        return Err(ApiError::Unknown(Unknown::ApplicationCommand));
    }
    if !command.usable_in(guild.is_some()) {
        return Err(ApiError::MissingAccess);
    }
    if command.nsfw && channel["nsfw"] != true {
        return Err(ApiError::MissingAccess);
    }
    let Some(g) = guild else {
        let bot_here = channel["recipients"]
            .as_array()
            .is_some_and(|r| r.iter().any(|u| u["id"] == json!(bot)));
        if !bot_here {
            return Err(ApiError::MissingAccess);
        }
        return Ok(Place {
            channel,
            guild: None,
            perms: DM_APP_PERMISSIONS,
            app_perms: DM_APP_PERMISSIONS,
        });
    };
    let mine = access(app, g, channel_id, caller).await?;
    require(mine.permissions, Permissions::USE_APPLICATION_COMMANDS)?;
    if let Some(needed) = command.default_member_permissions {
        // Empty: administrators only.
        let needed = if needed.is_empty() {
            Permissions::ADMINISTRATOR
        } else {
            needed
        };
        require(mine.permissions, needed)?;
    }
    // The guild's command permissions (command-level over application-wide) may deny this
    // member, their roles or this channel.
    let set = app
        .store()
        .command_permissions_of(g, command.application_id)
        .await?;
    let roles: Vec<Snowflake> = mine.roles.iter().map(|r| r.snowflake()).collect();
    let may = crate::model::command_permissions::allowed(
        set.iter().find(|r| r.id == command.id.snowflake()),
        set.iter()
            .find(|r| r.id == command.application_id.snowflake()),
        g,
        channel_id.snowflake(),
        caller.snowflake(),
        &roles,
    );
    if !may {
        return Err(ApiError::MissingPermissions);
    }
    let theirs = access(app, g, channel_id, bot).await?;
    if !theirs.member {
        return Err(ApiError::MissingAccess);
    }
    let guild_json = guild_call(app, g, |reply| GuildMsg::Get {
        user: caller,
        reply,
    })
    .await??;
    Ok(Place {
        channel,
        guild: Some(guild_json),
        perms: mine.permissions,
        app_perms: theirs.permissions,
    })
}

/// A member object for an interaction: without `user` when `with_user` is false (resolved
/// members), with the member's permissions in the channel.
async fn member_json(
    app: &App,
    guild: GuildId,
    channel: ChannelId,
    caller: UserId,
    target: UserId,
    with_user: bool,
) -> Result<Option<Value>, ApiError> {
    let got: Result<Value, ApiError> = guild_call(app, guild, |reply| GuildMsg::GetMember {
        user: caller,
        target,
        reply,
    })
    .await?;
    let Ok(mut member) = got else {
        return Ok(None);
    };
    let perms = access(app, guild, channel, target).await?.permissions;
    if let Some(obj) = member.as_object_mut() {
        if !with_user {
            obj.remove("user");
        }
        obj.insert("permissions".into(), json!(perms));
    }
    Ok(Some(member))
}

/// `resolved` for the ids the options (or the target) name; unknown ids are field errors.
async fn resolve(
    app: &App,
    caller: UserId,
    channel_id: ChannelId,
    place: &Place,
    refs: &Refs,
    target_message: Option<MessageId>,
    errs: &mut FieldErrors,
) -> Result<Value, ApiError> {
    let guild = guild_of(&place.channel);
    let mut users = Map::new();
    let mut members = Map::new();
    let mut roles = Map::new();
    let mut channels = Map::new();
    let mut messages = Map::new();
    let guild_roles = place
        .guild
        .as_ref()
        .and_then(|g| g["roles"].as_array().cloned())
        .unwrap_or_default();
    let role = |id: Snowflake| guild_roles.iter().find(|r| r["id"] == json!(id)).cloned();
    let mut want_users: Vec<Snowflake> = refs.users.clone();
    for m in &refs.mentionables {
        match role(*m) {
            Some(r) => {
                roles.insert(m.to_string(), r);
            }
            None => want_users.push(*m),
        }
    }
    for id in want_users {
        let user = UserId::from(id);
        match app.services.users.get(user).await? {
            Some(u) => {
                users.insert(id.to_string(), json!(u.public()));
                if let Some(g) = guild
                    && let Some(m) = member_json(app, g, channel_id, caller, user, false).await?
                {
                    members.insert(id.to_string(), m);
                }
            }
            // A mentionable that is neither a role nor a user, or an unknown user.
            None => errs.add("data.options", FieldError::InvalidSnowflake),
        }
    }
    for id in &refs.roles {
        match role(*id) {
            Some(r) => {
                roles.insert(id.to_string(), r);
            }
            None => errs.add("data.options", FieldError::InvalidSnowflake),
        }
    }
    if !refs.channels.is_empty() {
        let visible: Vec<Value> = match guild {
            Some(g) => guild_call(app, g, |reply| GuildMsg::ListChannels {
                user: caller,
                reply,
            })
            .await??
            .as_array()
            .cloned()
            .unwrap_or_default(),
            None => vec![place.channel.clone()],
        };
        for id in &refs.channels {
            let Some(c) = visible.iter().find(|c| c["id"] == json!(id)) else {
                errs.add("data.options", FieldError::InvalidSnowflake);
                continue;
            };
            let perms = match guild {
                Some(g) => {
                    access(app, g, ChannelId::from(*id), caller)
                        .await?
                        .permissions
                }
                None => place.perms,
            };
            channels.insert(
                id.to_string(),
                json!({
                    "id": c["id"],
                    "type": c["type"],
                    "name": c["name"],
                    "parent_id": c["parent_id"],
                    "permissions": perms,
                }),
            );
        }
    }
    if let Some(m) = target_message {
        let actor = app.services.channel(channel_id).await?;
        match ask(&app.services, &actor, |reply| ChannelMsg::GetMessage {
            user: caller,
            id: m,
            reply,
        })
        .await
        {
            Ok(message) => {
                messages.insert(m.to_string(), message);
            }
            Err(_) => errs.add("data.target_id", FieldError::InvalidSnowflake),
        }
    }
    let mut resolved = Map::new();
    for (key, map) in [
        ("users", users),
        ("members", members),
        ("roles", roles),
        ("channels", channels),
        ("messages", messages),
    ] {
        if !map.is_empty() {
            resolved.insert(key.into(), Value::Object(map));
        }
    }
    Ok(Value::Object(resolved))
}

/// `POST /interactions` (a user token): invokes an application command. 204 once the bot's
/// sessions have INTERACTION_CREATE; the bot has 3 seconds to answer.
pub async fn invoke(
    State(app): State<App>,
    UserAccount(caller): UserAccount,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let body = parse(&app, request).await?;
    if body.kind != APPLICATION_COMMAND {
        return Err(FieldErrors::single(
            "type",
            FieldError::InteractionTypeUnsupported,
        ));
    }
    let application = app
        .store()
        .get_application(body.application_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Application))?;
    let bot = application
        .bot_user_id
        .ok_or(ApiError::Unknown(Unknown::ApplicationCommand))?;
    let command = app
        .store()
        .get_command(application.id, body.data.id)
        .await?
        .filter(|c| body.data.kind.is_none_or(|k| k == c.kind))
        .ok_or(ApiError::Unknown(Unknown::ApplicationCommand))?;
    let place = place(&app, caller.user_id, body.channel_id, &command, bot).await?;
    let guild = guild_of(&place.channel);
    if body.guild_id.is_some() && body.guild_id != guild {
        return Err(FieldErrors::single(
            "guild_id",
            FieldError::InvalidSnowflake,
        ));
    }

    // Options (slash commands) or the target (user and message commands).
    let mut errs = FieldErrors::default();
    let mut data = json!({"id": command.id, "name": command.name, "type": command.kind});
    let mut name = command.name.clone();
    let (mut target_user, mut target_message) = (None, None);
    let mut refs = Refs::default();
    if command.kind == kind::CHAT_INPUT {
        let given = body.data.options.unwrap_or_default();
        let inv = options::invocation(&mut errs, "data.options", &command.options, &given);
        for part in &inv.path {
            name.push(' ');
            name.push_str(part);
        }
        if !inv.options.is_empty() {
            data["options"] = Value::Array(inv.options);
        }
        refs = inv.refs;
    } else {
        match body.data.target_id {
            None => errs.add("data.target_id", FieldError::Required),
            Some(t) if command.kind == kind::USER => {
                target_user = Some(UserId::from(t));
                refs.users.push(t);
            }
            Some(t) => target_message = Some(MessageId::from(t)),
        }
        if let Some(t) = body.data.target_id {
            data["target_id"] = json!(t);
        }
    }
    errs.into_result()?;
    let mut errs = FieldErrors::default();
    let resolved = resolve(
        &app,
        caller.user_id,
        body.channel_id,
        &place,
        &refs,
        target_message,
        &mut errs,
    )
    .await?;
    errs.into_result()?;
    if resolved.as_object().is_some_and(|r| !r.is_empty()) {
        data["resolved"] = resolved;
    }
    if let Some(g) = command.guild_id {
        data["guild_id"] = json!(g);
    }

    let id: InteractionId = app.services.ids.next()?;
    let token = new_token(id);
    let user = app
        .services
        .users
        .get(caller.user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut channel = place.channel.clone();
    channel["permissions"] = json!(place.perms);
    let mut v = json!({
        "id": id,
        "application_id": application.id,
        "type": APPLICATION_COMMAND,
        "data": data,
        "channel": channel,
        "channel_id": body.channel_id,
        "token": token,
        "version": 1,
        "app_permissions": place.app_perms,
        "locale": user.locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {
            "0": guild.map_or_else(|| "0".to_string(), |g| g.to_string()),
        },
        "context": if guild.is_some() { 0 } else { 1 },
        "attachment_size_limit": app.config().get().cdn.max_upload_bytes,
    });
    match (guild, &place.guild) {
        (Some(g), Some(gj)) => {
            v["guild_id"] = json!(g);
            v["guild"] =
                json!({"id": g, "locale": gj["preferred_locale"], "features": gj["features"]});
            v["guild_locale"] = gj["preferred_locale"].clone();
            v["member"] = member_json(
                &app,
                g,
                body.channel_id,
                caller.user_id,
                caller.user_id,
                true,
            )
            .await?
            .ok_or(ApiError::Unknown(Unknown::Member))?;
        }
        _ => v["user"] = json!(user.public()),
    }

    let interaction = Interaction {
        id,
        token,
        application_id: application.id,
        bot,
        user: caller.user_id,
        channel_id: body.channel_id,
        guild_id: guild,
        nonce: body.nonce,
        meta: MessageInteraction {
            id,
            kind: APPLICATION_COMMAND,
            command_kind: command.kind,
            name,
            user_id: caller.user_id,
            guild_id: guild,
            original_response_message_id: None,
            target_user_id: target_user,
            target_message_id: target_message,
        },
        created: Instant::now(),
    };
    app.services.interactions.insert(interaction.clone());
    watch(&app, id);
    let event = Dispatch::new("INTERACTION_CREATE", &v, guild.is_some());
    match guild {
        Some(g) => {
            let actor = app.services.guild(g).await?;
            crate::actors::tell(&actor, GuildMsg::FanoutTo { event, user: bot })
                .map_err(ApiError::internal)?;
        }
        None => app.services.sessions.send_to_user(bot, &event),
    }
    tell_user(&app, &interaction, "INTERACTION_CREATE");
    Ok(StatusCode::NO_CONTENT)
}
