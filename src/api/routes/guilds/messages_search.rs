//! `GET /guilds/{id}/messages/search`: the guild's messages matching Discord's filters, from
//! this node's full-text index (see `crate::search`), limited to the channels the caller may
//! view and read the history of (the guild actor says which), each message rendered by its
//! channel actor. In a cluster the request is forwarded to the guild's owner, whose index
//! holds the guild.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::actors::ask;
use crate::actors::channel::ChannelMsg;
use crate::actors::guild::GuildMsg;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{ChannelId, GuildId, MessageId, Snowflake};
use crate::search::{HAS_VALUES, SearchQuery, SortBy};

pub fn routes() -> Router<App> {
    Router::new().route("/guilds/{guild_id}/messages/search", get(search))
}

/// Discord's `author_type` values.
const AUTHOR_TYPES: &[&str] = &["user", "bot", "webhook"];

/// Ids of a repeated parameter (`author_id=1&author_id=2`; commas also separate).
fn ids<T: From<Snowflake>>(errs: &mut FieldErrors, key: &str, values: &[String]) -> Vec<T> {
    let mut out = Vec::new();
    for v in values
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|v| !v.is_empty())
    {
        match v.trim().parse::<Snowflake>() {
            Ok(s) => out.push(T::from(s)),
            Err(_) => errs.add(key, FieldError::InvalidSnowflake),
        }
    }
    out
}

/// One of `allowed`, or its negation `-x` when `negatable`.
fn choices(
    errs: &mut FieldErrors,
    key: &str,
    values: &[String],
    allowed: &[&str],
    negatable: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for v in values {
        let bare = if negatable {
            v.strip_prefix('-').unwrap_or(v)
        } else {
            v
        };
        if allowed.contains(&bare) {
            out.push(v.clone());
        } else {
            errs.add(
                key,
                FieldError::Choice {
                    allowed: allowed.join(", "),
                },
            );
        }
    }
    out
}

fn boolean(errs: &mut FieldErrors, key: &str, value: Option<&String>) -> Option<bool> {
    match value.map(|v| v.to_ascii_lowercase()) {
        None => None,
        Some(v) if v == "true" || v == "1" => Some(true),
        Some(v) if v == "false" || v == "0" => Some(false),
        Some(_) => {
            errs.add(
                key,
                FieldError::BadType {
                    expected: "a boolean".into(),
                },
            );
            None
        }
    }
}

fn number(
    errs: &mut FieldErrors,
    key: &str,
    value: Option<&String>,
    min: usize,
    max: usize,
) -> Option<usize> {
    let v = value?;
    match v.parse::<usize>() {
        Ok(n) if n < min => {
            errs.add(key, FieldError::NumberMin { min: min as i64 });
            None
        }
        Ok(n) if n > max => {
            errs.add(key, FieldError::NumberMax { max: max as i64 });
            None
        }
        Ok(n) => Some(n),
        Err(_) => {
            errs.add(
                key,
                FieldError::BadType {
                    expected: "an integer".into(),
                },
            );
            None
        }
    }
}

/// The query string as `(key, values)`, keys without a trailing `[]`.
fn params(raw: Option<&str>) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let k = k.strip_suffix("[]").unwrap_or(&k).to_string();
        out.entry(k).or_default().push(v.into_owned());
    }
    out
}

/// Checks the parameters into a query (the channels are filled in by the guild actor's answer).
fn parse(
    app: &App,
    guild: GuildId,
    raw: Option<&str>,
) -> Result<(SearchQuery, Vec<ChannelId>), ApiError> {
    let limits = app.config().get().search.clone();
    let p = params(raw);
    let none = Vec::new();
    let get = |k: &str| p.get(k).unwrap_or(&none);
    let first = |k: &str| p.get(k).and_then(|v| v.first());
    let mut errs = FieldErrors::default();
    let content = first("content").filter(|c| !c.trim().is_empty()).cloned();
    if content
        .as_ref()
        .is_some_and(|c| c.chars().count() > limits.max_content as usize)
    {
        errs.add(
            "content",
            FieldError::MaxLength {
                max: limits.max_content as usize,
            },
        );
    }
    let sort_by = match first("sort_by").map(String::as_str) {
        None | Some("timestamp") => SortBy::Timestamp,
        Some("relevance") => SortBy::Relevance,
        Some(_) => {
            errs.add(
                "sort_by",
                FieldError::Choice {
                    allowed: "timestamp, relevance".into(),
                },
            );
            SortBy::Timestamp
        }
    };
    let ascending = match first("sort_order").map(String::as_str) {
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
    let channels = ids(&mut errs, "channel_id", get("channel_id"));
    let query = SearchQuery {
        guild,
        channels: Vec::new(),
        content,
        authors: ids(&mut errs, "author_id", get("author_id")),
        author_types: choices(
            &mut errs,
            "author_type",
            get("author_type"),
            AUTHOR_TYPES,
            true,
        ),
        mentions: ids(&mut errs, "mentions", get("mentions")),
        mention_roles: ids(&mut errs, "mentions_role_id", get("mentions_role_id")),
        mention_everyone: boolean(&mut errs, "mention_everyone", first("mention_everyone")),
        pinned: boolean(&mut errs, "pinned", first("pinned")),
        has: choices(&mut errs, "has", get("has"), HAS_VALUES, true),
        min_id: ids::<MessageId>(&mut errs, "min_id", get("min_id"))
            .first()
            .copied(),
        max_id: ids::<MessageId>(&mut errs, "max_id", get("max_id"))
            .first()
            .copied(),
        sort_by,
        ascending,
        limit: number(
            &mut errs,
            "limit",
            first("limit"),
            1,
            limits.max_limit as usize,
        )
        .unwrap_or(limits.max_limit as usize),
        offset: number(
            &mut errs,
            "offset",
            first("offset"),
            0,
            limits.max_offset as usize,
        )
        .unwrap_or(0),
    };
    errs.into_result()?;
    Ok((query, channels))
}

/// `GET /guilds/{id}/messages/search` → `{total_results, messages: [[message]],
/// analytics_id, doing_deep_historical_index}`.
async fn search(
    State(app): State<App>,
    caller: Caller,
    Path(guild): Path<GuildId>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (mut query, asked) = parse(&app, guild, raw.as_deref())?;
    let user = caller.user_id;
    let readable: Vec<ChannelId> = app
        .services
        .ask_guild(guild, |reply| GuildMsg::ReadableChannels { user, reply })
        .await?;
    query.channels = if asked.is_empty() {
        readable
    } else {
        // A channel asked for that the caller may not read: Discord answers 403.
        if asked.iter().any(|c| !readable.contains(c)) {
            return Err(ApiError::MissingAccess);
        }
        asked
    };
    let Some(index) = app.services.search.get().cloned() else {
        return Err(ApiError::coded(
            StatusCode::SERVICE_UNAVAILABLE,
            0,
            "search-unavailable",
        ));
    };
    let hits = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut messages = Vec::with_capacity(hits.messages.len());
    for (channel, id) in hits.messages {
        // The index may lag a deletion by one commit: a message that is gone is left out.
        let Ok(actor) = app.services.channel(channel).await else {
            continue;
        };
        if let Ok(mut m) = ask(&app.services, &actor, |reply| ChannelMsg::GetMessage {
            user,
            id,
            reply,
        })
        .await
        {
            // Discord marks the matching message of each group (the group once held context).
            m["hit"] = json!(true);
            messages.push(json!([m]));
        }
    }
    Ok(Json(json!({
        "total_results": hits.total,
        "messages": messages,
        "analytics_id": format!("{:x}", app.services.ids.next::<Snowflake>()?.get()),
        "doing_deep_historical_index": false,
    })))
}
