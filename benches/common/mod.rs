//! Fixtures shared by the micro-benches: a MESSAGE_CREATE-sized message and its frame.
#![allow(dead_code)]

use accord::id::{ChannelId, GuildId, MessageId, UserId};
use accord::model::MessageRecord;
use accord::model::user::PublicUser;

pub fn author() -> PublicUser {
    PublicUser {
        id: UserId::new(175928847299117063),
        username: "benchmark-user".into(),
        discriminator: "0".into(),
        global_name: Some("Benchmark User".into()),
        avatar: Some("a_1269e74af4df7417b13759eae50c83dc".into()),
        banner: None,
        accent_color: None,
        bot: false,
        system: false,
        public_flags: 64,
        avatar_decoration_data: None,
    }
}

pub fn record(id: u64, channel: u64, content: &str) -> MessageRecord {
    MessageRecord {
        id: MessageId::new(id),
        channel_id: ChannelId::new(channel),
        guild_id: Some(GuildId::new(41771983423143937)),
        author_id: UserId::new(175928847299117063),
        content: content.to_string(),
        edited_timestamp: None,
        tts: false,
        mention_everyone: false,
        mentions: vec![],
        mention_roles: vec![],
        attachments: vec![],
        embeds: vec![],
        reactions: vec![],
        nonce: Some(serde_json::json!("1334466442357440512")),
        pinned: false,
        webhook_id: None,
        webhook_author: None,
        author_bot: false,
        kind: 0,
        flags: 0,
        message_reference: None,
        sticker_items: vec![],
        application_id: None,
        interaction: None,
        poll: None,
        thread: None,
    }
}

/// A typical chat line (~120 characters), as Discord's MESSAGE_CREATE data.
pub fn message_json() -> serde_json::Value {
    let content = "Has anyone tried the new build yet? It fixed the reconnect loop for me, \
                   but the voice settings page still crashes on open.";
    let mut v =
        record(1334466442357440512, 81384788765712384, content).to_json(&author(), &[], None);
    if let Some(o) = v.as_object_mut() {
        o.insert("guild_id".into(), "41771983423143937".into());
        o.insert(
            "member".into(),
            serde_json::json!({"roles": ["41771983423143936"], "joined_at": "2015-04-26T06:26:56.936000+00:00",
                "deaf": false, "mute": false, "flags": 0, "nick": null}),
        );
    }
    v
}

/// The whole gateway frame a session writes.
pub fn frame() -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!({"t": "MESSAGE_CREATE", "s": 42, "op": 0, "d": message_json()}),
    )
    .unwrap_or_default()
}
