//! Linked roles: an application's role connection metadata records (what a guild may require of
//! a member's linked account) and a user's role connection to an application (the values).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::id::{ApplicationId, UserId};

/// Discord's metadata types: 1–4 compare integers (less/greater than or equal, equal, not equal),
/// 5–6 compare ISO8601 dates by days (less/greater than or equal), 7–8 booleans (equal/not equal).
pub mod metadata_type {
    pub const INTEGER_LESS_THAN_OR_EQUAL: u8 = 1;
    pub const DATETIME_LESS_THAN_OR_EQUAL: u8 = 5;
    pub const DATETIME_GREATER_THAN_OR_EQUAL: u8 = 6;
    pub const BOOLEAN_EQUAL: u8 = 7;
    pub const BOOLEAN_NOT_EQUAL: u8 = 8;
}

/// One application role connection metadata record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleConnectionMetadata {
    #[serde(rename = "type")]
    pub kind: u8,
    pub key: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_localizations: Option<BTreeMap<String, String>>,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_localizations: Option<BTreeMap<String, String>>,
}

impl RoleConnectionMetadata {
    /// Whether `value` (always a string on the wire) fits this record's type: an integer for
    /// the integer types, an ISO8601 date or timestamp for the date types, "0"/"1" for booleans.
    pub fn accepts(&self, value: &str) -> bool {
        use metadata_type::*;
        match self.kind {
            BOOLEAN_EQUAL | BOOLEAN_NOT_EQUAL => matches!(value, "0" | "1"),
            DATETIME_LESS_THAN_OR_EQUAL | DATETIME_GREATER_THAN_OR_EQUAL => {
                super::Timestamp::parse(value).is_some()
                    || super::Timestamp::parse(&format!("{value}T00:00:00Z")).is_some()
            }
            _ => value.parse::<i64>().is_ok(),
        }
    }
}

/// A user's role connection to one application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRoleConnectionRecord {
    pub user_id: UserId,
    pub application_id: ApplicationId,
    pub platform_name: Option<String>,
    pub platform_username: Option<String>,
    /// Metadata key → value (stringified, as Discord stores them).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl UserRoleConnectionRecord {
    /// Discord's application role connection object (`platform_name` absent when unset: its
    /// schema types it as a string).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "platform_username": self.platform_username,
            "metadata": self.metadata,
        });
        if let Some(name) = &self.platform_name {
            v["platform_name"] = json!(name);
        }
        v
    }

    /// What is answered for a user who never connected: no platform, empty metadata.
    pub fn empty_json() -> Value {
        json!({"platform_username": null, "metadata": {}})
    }
}
