use serde::{Deserialize, Serialize, Serializer};

use crate::id::RoleId;
use crate::permissions::Permissions;

/// A guild role, stored and sent in Discord's shape (serialized with the derived `colors`, see
/// [`Role::serialize`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub color: u32,
    pub hoist: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
    pub position: i32,
    pub permissions: Permissions,
    pub managed: bool,
    pub mentionable: bool,
    pub flags: u64,
    #[serde(default)]
    pub tags: Option<serde_json::Value>,
}

/// Discord's `colors` object (enhanced role colours). Only the primary colour is kept: it is
/// `color`. Gradient colours need a guild feature no guild has here, so they are always null.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoleColors {
    pub primary_color: u32,
    pub secondary_color: Option<u32>,
    pub tertiary_color: Option<u32>,
}

impl Serialize for Role {
    /// The stored fields plus `colors`, which discord.js (14.19+) and discord.py (2.6+) read the
    /// role colour from (a role without it shows colour 0 in both).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: &'a RoleId,
            name: &'a str,
            color: u32,
            colors: RoleColors,
            hoist: bool,
            icon: &'a Option<String>,
            unicode_emoji: &'a Option<String>,
            position: i32,
            permissions: &'a Permissions,
            managed: bool,
            mentionable: bool,
            flags: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            tags: &'a Option<serde_json::Value>,
        }
        // Exhaustive on purpose: a new field must be added to `Wire` too.
        let Role {
            id,
            name,
            color,
            hoist,
            icon,
            unicode_emoji,
            position,
            permissions,
            managed,
            mentionable,
            flags,
            tags,
        } = self;
        Wire {
            id,
            name,
            color: *color,
            colors: RoleColors {
                primary_color: *color,
                secondary_color: None,
                tertiary_color: None,
            },
            hoist: *hoist,
            icon,
            unicode_emoji,
            position: *position,
            permissions,
            managed: *managed,
            mentionable: *mentionable,
            flags: *flags,
            tags,
        }
        .serialize(s)
    }
}
