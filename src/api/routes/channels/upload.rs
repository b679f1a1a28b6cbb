//! Parsing `multipart/form-data` message bodies the way Discord accepts them: a `payload_json`
//! part (or plain `content`/`nonce`/`tts` parts) and files under `files[n]` (also `file`,
//! `fileN`). Files are size-checked one by one and stored on the CDN.

use axum::extract::Multipart;
use serde_json::Value;

use crate::actors::channel::MessageCreate;
use crate::actors::guild::ThreadCreate;
use crate::api::extract::parse_json;
use crate::app::App;
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::id::{AttachmentId, ChannelId};
use crate::model::message::Attachment;

struct File {
    index: usize,
    filename: String,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

fn file_index(name: &str) -> Option<usize> {
    if name == "file" {
        return Some(0);
    }
    let rest = name
        .strip_prefix("files[")
        .and_then(|r| r.strip_suffix(']'))
        .or_else(|| name.strip_prefix("file"))?;
    rest.parse().ok()
}

pub async fn message_from_multipart(
    app: &App,
    channel: ChannelId,
    multipart: Multipart,
) -> Result<MessageCreate, ApiError> {
    from_multipart(app, channel, multipart, &["payload_json"], parse_json).await
}

/// A Slack-compatible webhook body sent as `multipart/form-data`: the Slack JSON in a `payload`
/// part (Slack's form field; `payload_json` is read too), turned into a message by `convert`;
/// files as for messages, so a tool that attaches them gets them posted.
pub async fn slack_from_multipart(
    app: &App,
    channel: ChannelId,
    multipart: Multipart,
    convert: impl FnMut(&[u8]) -> Result<MessageCreate, ApiError>,
) -> Result<MessageCreate, ApiError> {
    from_multipart(
        app,
        channel,
        multipart,
        &["payload", "payload_json"],
        convert,
    )
    .await
}

/// An interaction callback sent as `multipart/form-data`: `payload_json` is `{type, data}` with
/// the message in `data`; files as for messages. Returns the callback type and the message.
pub async fn callback_from_multipart(
    app: &App,
    channel: ChannelId,
    multipart: Multipart,
) -> Result<(u8, MessageCreate), ApiError> {
    let mut kind = 0;
    let body = from_multipart(app, channel, multipart, &["payload_json"], |bytes| {
        let v: Value = parse_json(bytes)?;
        kind = v["type"]
            .as_u64()
            .and_then(|k| u8::try_from(k).ok())
            .unwrap_or(0);
        match v.get("data").filter(|d| !d.is_null()) {
            Some(d) => serde_json::from_value(d.clone()).map_err(|_| ApiError::InvalidJson),
            None => Ok(MessageCreate::default()),
        }
    })
    .await?;
    Ok((kind, body))
}

/// A forum post sent as `multipart/form-data`: `payload_json` is the thread body with the
/// starter message in `message`; files belong to that message and are stored under `thread`
/// (the id the route minted for the post). Returns the body with the message inside.
pub async fn thread_from_multipart(
    app: &App,
    thread: ChannelId,
    multipart: Multipart,
) -> Result<ThreadCreate, ApiError> {
    let mut thread_body = ThreadCreate::default();
    let message = from_multipart(app, thread, multipart, &["payload_json"], |bytes| {
        let mut b: ThreadCreate = parse_json(bytes)?;
        let message = b.message.take().map(|m| *m).unwrap_or_default();
        thread_body = b;
        Ok(message)
    })
    .await?;
    thread_body.message = Some(Box::new(message));
    Ok(thread_body)
}

/// The parts named one of `payload_fields` hold the body (read by `payload`).
async fn from_multipart(
    app: &App,
    channel: ChannelId,
    mut multipart: Multipart,
    payload_fields: &[&str],
    mut payload: impl FnMut(&[u8]) -> Result<MessageCreate, ApiError>,
) -> Result<MessageCreate, ApiError> {
    let config = app.config().get();
    let max_file = config.cdn.max_upload_bytes;
    let max_files = config.limits.message.max_attachments as usize;
    let mut body = MessageCreate::default();
    let mut files: Vec<File> = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| ApiError::InvalidJson)?
    {
        let name = field.name().unwrap_or("").to_string();
        if payload_fields.contains(&name.as_str()) {
            let text = field.bytes().await.map_err(|_| ApiError::InvalidJson)?;
            body = payload(&text)?;
            continue;
        }
        if let Some(index) = file_index(&name) {
            let filename = field.file_name().unwrap_or("file").to_string();
            let content_type = field.content_type().map(str::to_string);
            let bytes = field.bytes().await.map_err(|_| ApiError::PayloadTooLarge)?;
            if bytes.len() > max_file {
                return Err(ApiError::PayloadTooLarge);
            }
            files.push(File {
                index,
                filename,
                content_type,
                bytes: bytes.to_vec(),
            });
            if files.len() > max_files {
                return Err(FieldErrors::single(
                    "files",
                    FieldError::TooMany { max: max_files },
                ));
            }
            continue;
        }
        let text = field.text().await.map_err(|_| ApiError::InvalidJson)?;
        match name.as_str() {
            "content" => body.content = Some(text),
            "nonce" => body.nonce = Some(Value::String(text)),
            "tts" => body.tts = Some(text == "true"),
            _ => {}
        }
    }
    // `attachments` in the payload may rename files or describe them, matched by `id` = index.
    let described = body.attachments.clone().unwrap_or_default();
    files.sort_by_key(|f| f.index);
    for f in files {
        let meta = described.iter().find(|a| {
            a["id"].as_u64() == Some(f.index as u64)
                || a["id"].as_str() == Some(&f.index.to_string())
        });
        let filename = meta
            .and_then(|m| m["filename"].as_str())
            .unwrap_or(&f.filename)
            .to_string();
        let id: AttachmentId = app.services.ids.next()?;
        let stored = app
            .cdn
            .put_attachment(channel, id, &filename, &f.bytes)
            .await
            .map_err(ApiError::internal)?;
        let image = crate::cdn::inspect_image(&f.bytes);
        let url = format!("{}/attachments/{channel}/{id}/{stored}", app.cdn_endpoint());
        body.uploaded.push(Attachment {
            id,
            filename: stored,
            size: f.bytes.len() as u64,
            proxy_url: url.clone(),
            url,
            content_type: image
                .map(|i| i.content_type.to_string())
                .or(f.content_type)
                .or_else(|| Some(crate::cdn::content_type_for(&filename).to_string())),
            width: image.map(|i| i.width),
            height: image.map(|i| i.height),
            description: meta
                .and_then(|m| m["description"].as_str())
                .map(|d| d.chars().take(Attachment::MAX_DESCRIPTION).collect()),
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::file_index;

    #[test]
    fn file_field_names() {
        assert_eq!(file_index("files[0]"), Some(0));
        assert_eq!(file_index("files[12]"), Some(12));
        assert_eq!(file_index("file"), Some(0));
        assert_eq!(file_index("file3"), Some(3));
        assert_eq!(file_index("payload_json"), None);
        assert_eq!(file_index("files[x]"), None);
    }
}
