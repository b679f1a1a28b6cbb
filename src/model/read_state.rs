//! Read states: the last message a user has read in a channel (`POST …/messages/{id}/ack`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::id::{ChannelId, MessageId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadStateRecord {
    pub user_id: UserId,
    pub channel_id: ChannelId,
    pub last_message_id: MessageId,
    #[serde(default)]
    pub mention_count: u32,
}

impl ReadStateRecord {
    /// An entry of READY's `read_state.entries`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.channel_id,
            "last_message_id": self.last_message_id,
            "mention_count": self.mention_count,
            "last_pin_timestamp": "1970-01-01T00:00:00+00:00",
            "flags": 0,
        })
    }
}
