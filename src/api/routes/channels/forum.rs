//! Forum and media channels: a post (`POST /channels/{forum}/threads` with `message`) is a
//! public thread the guild actor creates, whose starter message the thread's own channel actor
//! then posts with the thread's id; and `GET /channels/{id}/threads/search`, which the guild
//! actor answers from its threads, with the starter messages fetched from each post.

use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{guild_of, upload, visible_channel};
use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::actors::guild::{GuildMsg, SortBy, ThreadCreate, ThreadMsg, ThreadSearch};
use crate::api::extract::{Json, Path, Query, lenient_bool};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{AttachmentId, ChannelId, GuildId, MessageId, TagId, UserId};
use crate::model::{ChannelKind, ChannelRecord};

/// Whether the request carries `multipart/form-data` (a post with files).
fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// `POST /channels/{forum}/threads` on a forum or media channel: reads the body (JSON, or
/// multipart with the starter message's files, stored under the post's id minted here), and
/// removes the uploads again when the post is refused.
pub async fn create_post(
    app: &App,
    user: UserId,
    forum: ChannelId,
    kind: ChannelKind,
    guild: GuildId,
    request: Request,
    reason: Option<String>,
) -> Result<Value, ApiError> {
    let id: ChannelId = app.services.ids.next()?;
    let body = if is_multipart(&request) {
        let multipart = Multipart::from_request(request, app)
            .await
            .map_err(|_| ApiError::InvalidJson)?;
        upload::thread_from_multipart(app, id, multipart).await?
    } else {
        Json::<ThreadCreate>::from_request(request, app).await?.0
    };
    let uploaded: Vec<AttachmentId> = body
        .message
        .iter()
        .flat_map(|m| m.uploaded.iter().map(|a| a.id))
        .collect();
    let result = post(app, user, guild, forum, kind, id, body, reason).await;
    if result.is_err() {
        for a in uploaded {
            app.cdn.delete_attachment(id, a).await;
        }
    }
    result
}

/// Creates the thread, then its starter message; a refused message takes the thread away
/// again, so a post never exists without its first message.
#[allow(clippy::too_many_arguments)]
async fn post(
    app: &App,
    user: UserId,
    guild: GuildId,
    forum: ChannelId,
    kind: ChannelKind,
    id: ChannelId,
    mut body: ThreadCreate,
    reason: Option<String>,
) -> Result<Value, ApiError> {
    let Some(mut message) = body.message.take() else {
        return Err(FieldErrors::single("message", FieldError::Required));
    };
    // A media channel's posts are their files.
    if kind == ChannelKind::GuildMedia && message.uploaded.is_empty() {
        return Err(FieldErrors::single(
            "message.attachments",
            FieldError::Required,
        ));
    }
    message.forum_starter = true;
    body.id = Some(id);
    let thread: ChannelRecord = app
        .services
        .ask_guild(guild, |reply| {
            GuildMsg::Threads(ThreadMsg::Create {
                user,
                parent: forum,
                starter: None,
                body,
                reply,
            })
            .with_reason(reason)
        })
        .await?;
    let posted = async {
        let actor = app.services.channel(thread.id).await?;
        ask(&app.services, &actor, |reply| ChannelMsg::CreateMessage {
            author: user,
            body: message,
            reply,
        })
        .await
    }
    .await;
    let bytes = match posted {
        Ok(b) => b,
        Err(e) => {
            let owner = app.services.guild(guild).await?;
            let _ = crate::actors::tell(
                &owner,
                GuildMsg::Threads(ThreadMsg::Abandon { thread: thread.id }),
            );
            return Err(e);
        }
    };
    let message: Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    let mut v = thread.to_json(None);
    v["last_message_id"] = message["id"].clone();
    v["message"] = message;
    Ok(v)
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    name: Option<String>,
    /// What some clients call the name filter.
    query: Option<String>,
    tag_setting: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    archived: Option<bool>,
    sort_by: Option<SortBy>,
    sort_order: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// The `tag` parameters: repeated (`tag=1&tag=2`) or comma-separated, as clients send them.
fn tags_of(raw: Option<&str>, errs: &mut FieldErrors) -> Vec<TagId> {
    let mut out = Vec::new();
    for pair in raw.unwrap_or("").split('&') {
        let Some(value) = pair
            .strip_prefix("tag=")
            .or_else(|| pair.strip_prefix("tag%5B%5D="))
            .or_else(|| pair.strip_prefix("tag[]="))
        else {
            continue;
        };
        // `%2C` is an encoded comma.
        for v in value
            .split(',')
            .flat_map(|v| v.split("%2C"))
            .filter(|v| !v.is_empty())
        {
            match v.parse::<TagId>() {
                Ok(t) => out.push(t),
                Err(_) => errs.add("tag", FieldError::InvalidSnowflake),
            }
        }
    }
    out
}

/// `GET /channels/{id}/threads/search?name&tag&tag_setting&archived&sort_by&sort_order&limit
/// &offset` (READ_MESSAGE_HISTORY): threads of the channel the caller may see, a page of
/// them, with `total_results` and the posts' starter messages as `first_messages`.
pub async fn search(
    State(app): State<App>,
    caller: Caller,
    Path(parent): Path<ChannelId>,
    Query(q): Query<SearchParams>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let limits = app.config().get().limits.forum.clone();
    let mut errs = FieldErrors::default();
    let limit = q.limit.unwrap_or(limits.max_search_limit as usize);
    if limit < 1 {
        errs.add("limit", FieldError::NumberMin { min: 1 });
    } else if limit > limits.max_search_limit as usize {
        errs.add(
            "limit",
            FieldError::NumberMax {
                max: limits.max_search_limit.into(),
            },
        );
    }
    let offset = q.offset.unwrap_or(0);
    if offset > limits.max_search_offset as usize {
        errs.add(
            "offset",
            FieldError::NumberMax {
                max: limits.max_search_offset.into(),
            },
        );
    }
    let match_all = match q.tag_setting.as_deref() {
        None | Some("match_some") => false,
        Some("match_all") => true,
        Some(_) => {
            errs.add(
                "tag_setting",
                FieldError::Choice {
                    allowed: "match_all, match_some".into(),
                },
            );
            false
        }
    };
    let ascending = match q.sort_order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => {
            errs.add(
                "sort_order",
                FieldError::Choice {
                    allowed: "asc, desc".into(),
                },
            );
            false
        }
    };
    let name = q.name.or(q.query).filter(|n| !n.trim().is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        errs.add("name", FieldError::MaxLength { max: 100 });
    }
    let tags = tags_of(raw.as_deref(), &mut errs);
    if tags.len() > limits.max_tags as usize {
        errs.add(
            "tag",
            FieldError::TooMany {
                max: limits.max_tags as usize,
            },
        );
    }
    errs.into_result()?;
    let query = ThreadSearch {
        name,
        tags,
        match_all,
        archived: q.archived,
        sort_by: q.sort_by.unwrap_or_default(),
        ascending,
        limit,
        offset,
    };
    let user = caller.user_id;
    let channel = visible_channel(&app, user, parent).await?;
    let guild = guild_of(&channel).ok_or(ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        50024,
        "invalid-channel-type",
    ))?;
    let mut v: Value = app
        .services
        .ask_guild(guild, |reply| {
            GuildMsg::Threads(ThreadMsg::Search {
                user,
                parent,
                query,
                reply,
            })
        })
        .await?;
    let ids: Vec<ChannelId> = v["threads"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str()?.parse().ok())
        .collect();
    let mut first = Vec::new();
    for thread in ids {
        // A post's starter message has the thread's id; threads started from a message keep
        // theirs in the parent, and those are not listed here.
        let id = MessageId::new(thread.get());
        let Ok(actor) = app.services.channel(thread).await else {
            continue;
        };
        if let Ok(m) = ask(&app.services, &actor, |reply| ChannelMsg::GetMessage {
            user,
            id,
            reply,
        })
        .await
        {
            first.push(m);
        }
    }
    v["first_messages"] = json!(first);
    Ok(Json(v))
}
