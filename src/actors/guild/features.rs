//! The guild features a client may change with `PATCH /guilds/{id}`.
//!
//! Why an allow-list: most features describe what the server granted (VERIFIED, VANITY_URL,
//! WELCOME_SCREEN_ENABLED, …) or are kept in step with other settings, so a client that sends
//! back the list it read, plus or minus one entry, must not be able to grant itself the rest.
//! Discord documents the same four as mutable and ignores the others; the member verification
//! gate is a fifth here because Discord's client switches it this way too.

use super::automod_raid::RAID_ALERTS_DISABLED;
use super::setup::INVITES_DISABLED_FEATURE;
use super::verification::GATE_FEATURE;

/// Turning these on or off needs ADMINISTRATOR (MANAGE_GUILD is enough for the others).
/// The feature that makes a guild a community guild (rules and updates channels required).
pub(super) const COMMUNITY: &str = "COMMUNITY";

const ADMIN_FEATURES: [&str; 2] = [COMMUNITY, "DISCOVERABLE"];

/// Every feature a client may add or remove.
const MUTABLE_FEATURES: [&str; 5] = [
    "COMMUNITY",
    "DISCOVERABLE",
    INVITES_DISABLED_FEATURE,
    RAID_ALERTS_DISABLED,
    GATE_FEATURE,
];

/// What a requested feature list changes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FeatureChange {
    /// The guild's features after the request: the ones a client can't change as they were,
    /// then the mutable ones it asked for, in its order, once each.
    pub features: Vec<String>,
    /// Whether COMMUNITY or DISCOVERABLE was added or removed.
    pub needs_administrator: bool,
    /// Whether the client asked for invites to be paused (until it asks otherwise).
    pub invites_disabled: bool,
}

/// Applies a requested feature list to the current one. Features a client can't change are
/// ignored whether they are asked for or left out, as Discord does.
pub(super) fn mutable_features(current: &[String], asked: &[String]) -> FeatureChange {
    let mutable = |f: &str| MUTABLE_FEATURES.contains(&f);
    let mut features: Vec<String> = current.iter().filter(|f| !mutable(f)).cloned().collect();
    for f in asked {
        if mutable(f) && !features.contains(f) {
            features.push(f.clone());
        }
    }
    let has = |list: &[String], f: &str| list.iter().any(|x| x == f);
    let needs_administrator = ADMIN_FEATURES
        .iter()
        .any(|f| has(current, f) != has(&features, f));
    let invites_disabled = has(&features, INVITES_DISABLED_FEATURE);
    FeatureChange {
        features,
        needs_administrator,
        invites_disabled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_mutable_features_change() {
        let current = list(&["VERIFIED", "WELCOME_SCREEN_ENABLED", "RAID_ALERTS_DISABLED"]);
        let c = mutable_features(&current, &list(&["PARTNERED", "INVITES_DISABLED"]));
        assert_eq!(
            c.features,
            list(&["VERIFIED", "WELCOME_SCREEN_ENABLED", "INVITES_DISABLED"])
        );
        assert!(c.invites_disabled);
        assert!(!c.needs_administrator);
    }

    #[test]
    fn community_and_discoverable_need_administrator_only_when_they_change() {
        let current = list(&["COMMUNITY"]);
        assert!(!mutable_features(&current, &list(&["COMMUNITY"])).needs_administrator);
        assert!(mutable_features(&current, &[]).needs_administrator);
        assert!(
            mutable_features(&current, &list(&["COMMUNITY", "DISCOVERABLE"])).needs_administrator
        );
        let c = mutable_features(&current, &list(&["COMMUNITY", "COMMUNITY"]));
        assert_eq!(c.features, list(&["COMMUNITY"]));
        assert!(!c.invites_disabled);
    }
}
