//! `POST /webhooks/{id}/{token}/slack`: a Slack incoming-webhook payload posted as a Discord
//! message, so tools that only speak Slack can post here. `text` is the content,
//! `username`/`icon_url` the author override, and each attachment one embed. Discord ignores
//! Slack's `channel`, `icon_emoji`, `mrkdwn` and `mrkdwn_in`; so do we.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::{ExecuteQuery, by_token, check_thread, post};
use crate::actors::channel::MessageCreate;
use crate::api::extract::{Path, Query, parse_json};
use crate::api::routes::channels::upload::slack_from_multipart;
use crate::app::App;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::WebhookId;
use crate::model::embed::{Embed, EmbedAuthor, EmbedField, EmbedFooter, EmbedMedia};
use crate::model::timestamp::Timestamp;

/// Slack's incoming-webhook body (the fields Discord reads; the rest are accepted and ignored).
#[derive(Debug, Default, Deserialize)]
pub(super) struct SlackWebhook {
    text: Option<String>,
    username: Option<String>,
    icon_url: Option<String>,
    attachments: Option<Vec<Attachment>>,
}

/// One Slack attachment (Slack's "secondary content"), which becomes one embed.
#[derive(Debug, Default, Deserialize)]
struct Attachment {
    fallback: Option<String>,
    color: Option<String>,
    pretext: Option<String>,
    author_name: Option<String>,
    author_link: Option<String>,
    author_icon: Option<String>,
    title: Option<String>,
    title_link: Option<String>,
    text: Option<String>,
    fields: Option<Vec<Field>>,
    image_url: Option<String>,
    thumb_url: Option<String>,
    footer: Option<String>,
    footer_icon: Option<String>,
    /// Unix seconds; Slack sends it as a number or as a string (`"1700000000.000200"`).
    ts: Option<Value>,
}

/// Slack names a field `title` and its width `short`; Discord's document names them `name` and
/// `inline`. Both spellings are read.
#[derive(Debug, Default, Deserialize)]
struct Field {
    #[serde(alias = "title")]
    name: Option<String>,
    value: Option<String>,
    #[serde(alias = "short")]
    inline: Option<bool>,
}

/// Execute with a Slack payload: JSON, a form whose `payload` field holds the JSON (Slack's
/// other accepted encoding), or `multipart/form-data` with the JSON in a `payload` part and
/// files as attachments (what form-posting Slack clients send when they attach files).
/// Without `?wait=true` Discord answers `"ok"` as Slack does.
#[tracing::instrument(skip_all, fields(webhook = %id))]
pub(super) async fn execute(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
    Query(q): Query<ExecuteQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let w = by_token(&app, id, &token).await?;
    check_thread(&q)?;
    let content_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = if content_type.starts_with("multipart/form-data") {
        let m = Multipart::from_request(request, &app)
            .await
            .map_err(|_| ApiError::InvalidJson)?;
        slack_from_multipart(&app, w.channel_id, m, |json| to_message(parse_json(json)?)).await?
    } else {
        let bytes = Bytes::from_request(request, &app)
            .await
            .map_err(|_| ApiError::InvalidJson)?;
        let payload: SlackWebhook = if content_type.starts_with("application/x-www-form-urlencoded")
        {
            let json = form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "payload")
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| FieldErrors::single("payload", FieldError::Required))?;
            parse_json(json.as_bytes())?
        } else {
            parse_json(&bytes)?
        };
        to_message(payload)?
    };
    let message = post(&app, w, body).await?;
    Ok(if q.wait == Some(true) {
        axum::Json(message).into_response()
    } else {
        axum::Json("ok").into_response()
    })
}

/// The Discord message a Slack payload stands for. A payload with neither text nor
/// attachments is refused by the channel actor like any empty message (50006).
fn to_message(p: SlackWebhook) -> Result<MessageCreate, ApiError> {
    let mut errs = FieldErrors::default();
    let embeds: Vec<Value> = p
        .attachments
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, a)| to_embed(i, a, &mut errs).to_value())
        .collect();
    errs.into_result()?;
    Ok(MessageCreate {
        content: p.text.filter(|t| !t.is_empty()),
        embeds: (!embeds.is_empty()).then_some(embeds),
        username: p.username,
        avatar_url: p.icon_url.filter(|u| !u.is_empty()),
        ..MessageCreate::default()
    })
}

/// One attachment as an embed. Slack shows `pretext` above the attachment; an embed has no
/// such line, so it leads the description. `fallback` (Slack's plain-text summary) stands in
/// only when the attachment would otherwise show nothing.
fn to_embed(i: usize, a: Attachment, errs: &mut FieldErrors) -> Embed {
    let color = a.color.as_deref().and_then(|c| match color(c) {
        Some(v) => Some(v),
        None => {
            errs.add(
                &format!("attachments.{i}.color"),
                FieldError::BadType {
                    expected: "a hex colour (#rrggbb)".into(),
                },
            );
            None
        }
    });
    let description = match (nonempty(a.pretext), nonempty(a.text)) {
        (Some(p), Some(t)) => Some(format!("{p}\n{t}")),
        (p, t) => p.or(t),
    };
    let fields: Vec<EmbedField> = a
        .fields
        .unwrap_or_default()
        .into_iter()
        .map(|f| EmbedField {
            name: f.name.unwrap_or_default(),
            value: f.value.unwrap_or_default(),
            inline: f.inline.unwrap_or(false),
        })
        .collect();
    let mut e = Embed {
        title: nonempty(a.title),
        url: nonempty(a.title_link),
        description,
        color,
        timestamp: a.ts.as_ref().and_then(timestamp),
        author: nonempty(a.author_name).map(|name| EmbedAuthor {
            name,
            url: nonempty(a.author_link),
            icon_url: nonempty(a.author_icon),
        }),
        footer: nonempty(a.footer).map(|text| EmbedFooter {
            text,
            icon_url: nonempty(a.footer_icon),
        }),
        image: nonempty(a.image_url).map(|url| EmbedMedia { url }),
        thumbnail: nonempty(a.thumb_url).map(|url| EmbedMedia { url }),
        fields,
        ..Embed::rich()
    };
    let shows_nothing = e.title.is_none()
        && e.description.is_none()
        && e.fields.is_empty()
        && e.image.is_none()
        && e.author.is_none();
    if shows_nothing {
        e.description = nonempty(a.fallback);
    }
    e
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// `#rrggbb` / `#rgb` (with or without `#`), or one of Slack's named colours.
fn color(c: &str) -> Option<u32> {
    match c {
        "good" => return Some(0x2EB886),
        "warning" => return Some(0xDAA038),
        "danger" => return Some(0xA30200),
        _ => {}
    }
    let hex = c.strip_prefix('#').unwrap_or(c);
    if !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => u32::from_str_radix(hex, 16).ok(),
        3 => {
            let v = u32::from_str_radix(hex, 16).ok()?;
            let (r, g, b) = ((v >> 8) & 0xF, (v >> 4) & 0xF, v & 0xF);
            Some((r * 17) << 16 | (g * 17) << 8 | (b * 17))
        }
        _ => None,
    }
}

/// Slack's `ts` (unix seconds, a number or a decimal string) as an embed timestamp.
fn timestamp(ts: &Value) -> Option<Timestamp> {
    let secs = match ts {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse::<f64>().ok()?,
        _ => return None,
    };
    (secs.is_finite() && (0.0..1e13).contains(&secs))
        .then(|| Timestamp::from_millis((secs * 1000.0) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(color("#36a64f"), Some(0x36A64F));
        assert_eq!(color("f00"), Some(0xFF0000));
        assert_eq!(color("good"), Some(0x2EB886));
        assert_eq!(color("#12345"), None);
        assert_eq!(color("#gggggg"), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            timestamp(&serde_json::json!(1_700_000_000)),
            Some(Timestamp::from_millis(1_700_000_000_000))
        );
        assert_eq!(
            timestamp(&serde_json::json!("1700000000.500")),
            Some(Timestamp::from_millis(1_700_000_000_500))
        );
        assert_eq!(timestamp(&serde_json::json!(-1)), None);
    }
}
