//! Application command permissions in one guild: who may use a command (or, under the
//! application's own id, every command of the application) — roles, users and channels, each
//! allowed or denied. Discord's guild application command permissions object.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::id::{ApplicationId, GuildId, Snowflake};

/// The target of one permission: 1 a role (the guild id is @everyone), 2 a user, 3 a channel
/// (the guild id minus one is "all channels").
pub mod target {
    pub const ROLE: u8 = 1;
    pub const USER: u8 = 2;
    pub const CHANNEL: u8 = 3;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandPermission {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    pub permission: bool,
}

/// The permissions of one command (or of the whole application, `id` == application id) in one
/// guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandPermissionsRecord {
    /// The command's id, or the application's id for application-wide permissions.
    pub id: Snowflake,
    pub application_id: ApplicationId,
    pub guild_id: GuildId,
    pub permissions: Vec<CommandPermission>,
}

impl CommandPermissionsRecord {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "application_id": self.application_id,
            "guild_id": self.guild_id,
            "permissions": self.permissions,
        })
    }
}

/// Whether a member may use a command, from the command's own permissions (`command`) and the
/// application-wide ones (`app`), as Discord decides: command-level entries win over
/// application-wide ones; a channel entry (the channel's own, else "all channels") that denies
/// forbids it; then a user entry decides, else the member's roles (any allow wins over denies),
/// else @everyone (the guild id). Nothing set: allowed (the command's default member
/// permissions still apply, checked elsewhere).
pub fn allowed(
    command: Option<&CommandPermissionsRecord>,
    app: Option<&CommandPermissionsRecord>,
    guild: GuildId,
    channel: Snowflake,
    user: Snowflake,
    roles: &[Snowflake],
) -> bool {
    let levels = [command, app];
    let all_channels = Snowflake(guild.get().saturating_sub(1));
    let channel_rule = levels.iter().flatten().find_map(|r| {
        let of = |id: Snowflake| {
            r.permissions
                .iter()
                .find(|p| p.kind == target::CHANNEL && p.id == id)
                .map(|p| p.permission)
        };
        of(channel).or_else(|| of(all_channels))
    });
    if channel_rule == Some(false) {
        return false;
    }
    for r in levels.iter().flatten() {
        let of = |kind: u8, id: Snowflake| {
            r.permissions
                .iter()
                .find(|p| p.kind == kind && p.id == id)
                .map(|p| p.permission)
        };
        if let Some(p) = of(target::USER, user) {
            return p;
        }
        let by_roles: Vec<bool> = roles
            .iter()
            .filter(|role| role.0 != guild.get())
            .filter_map(|role| of(target::ROLE, *role))
            .collect();
        if !by_roles.is_empty() {
            return by_roles.contains(&true);
        }
        if let Some(p) = of(target::ROLE, guild.snowflake()) {
            return p;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64, perms: &[(u64, u8, bool)]) -> CommandPermissionsRecord {
        CommandPermissionsRecord {
            id: Snowflake(id),
            application_id: ApplicationId::new(1),
            guild_id: GuildId::new(100),
            permissions: perms
                .iter()
                .map(|&(id, kind, permission)| CommandPermission {
                    id: Snowflake(id),
                    kind,
                    permission,
                })
                .collect(),
        }
    }

    const G: GuildId = GuildId::new(100);
    const CH: Snowflake = Snowflake(5);
    const ME: Snowflake = Snowflake(7);

    #[test]
    fn nothing_set_allows() {
        assert!(allowed(None, None, G, CH, ME, &[]));
    }

    #[test]
    fn user_entry_beats_roles_and_everyone() {
        let cmd = rec(2, &[(100, target::ROLE, false), (7, target::USER, true)]);
        assert!(allowed(Some(&cmd), None, G, CH, ME, &[Snowflake(9)]));
        let cmd = rec(2, &[(9, target::ROLE, true), (7, target::USER, false)]);
        assert!(!allowed(Some(&cmd), None, G, CH, ME, &[Snowflake(9)]));
    }

    #[test]
    fn roles_then_everyone() {
        let cmd = rec(2, &[(100, target::ROLE, false), (9, target::ROLE, true)]);
        assert!(allowed(Some(&cmd), None, G, CH, ME, &[Snowflake(9)]));
        assert!(!allowed(Some(&cmd), None, G, CH, ME, &[Snowflake(8)]));
    }

    #[test]
    fn command_level_overrides_app_level() {
        let app = rec(1, &[(100, target::ROLE, false)]);
        let cmd = rec(2, &[(100, target::ROLE, true)]);
        assert!(allowed(Some(&cmd), Some(&app), G, CH, ME, &[]));
        assert!(!allowed(None, Some(&app), G, CH, ME, &[]));
    }

    #[test]
    fn channel_denial_and_all_channels() {
        let cmd = rec(2, &[(5, target::CHANNEL, false)]);
        assert!(!allowed(Some(&cmd), None, G, CH, ME, &[]));
        let cmd = rec(
            2,
            &[(99, target::CHANNEL, false), (5, target::CHANNEL, true)],
        );
        assert!(allowed(Some(&cmd), None, G, CH, ME, &[]));
        assert!(!allowed(Some(&cmd), None, G, Snowflake(6), ME, &[]));
    }
}
