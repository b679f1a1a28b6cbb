//! Mention raid protection (a MENTION_SPAM rule with `mention_raid_protection_enabled`): when
//! `limits.automod.mention_raid_members` different members hit the rule's mention limit within
//! `mention_raid_window_secs`, the guild is being raided. Discord documents the switch and the
//! guild's `incidents_data.raid_detected_at`; the threshold and the response are ours: the
//! detection time is recorded, joins through invites and DMs are paused for
//! `mention_raid_pause_minutes` (the incident actions moderators can set and lift themselves,
//! with INVITES_DISABLED and GUILD_UPDATE), and a GUILD_INCIDENT_ALERT_MODE_ENABLED system
//! message (type 36, its content the time the pause ends) goes to the safety alerts channel
//! unless the guild has RAID_ALERTS_DISABLED.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::State;
use super::setup::{INVITES_DISABLED_FEATURE, set_feature};
use crate::actors::channel::{ChannelMsg, SystemMessage};
use crate::id::UserId;
use crate::model::Timestamp;

/// Message type of the alert (Discord's GUILD_INCIDENT_ALERT_MODE_ENABLED).
const ALERT_MODE_ENABLED: u8 = 36;
/// Guild feature that silences raid alerts (Discord's).
pub(super) const RAID_ALERTS_DISABLED: &str = "RAID_ALERTS_DISABLED";

/// Recent mention spam in a guild (live only: a restarted actor starts a fresh window).
#[derive(Debug, Default)]
pub(super) struct RaidWatch {
    recent: VecDeque<(Instant, UserId)>,
}

impl RaidWatch {
    /// Records `user`'s mention spam at `now` and answers how many different members spammed
    /// within `window` (older entries are forgotten).
    fn note(&mut self, user: UserId, now: Instant, window: Duration) -> usize {
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= window)
        {
            self.recent.pop_front();
        }
        self.recent.retain(|(_, u)| *u != user);
        self.recent.push_back((now, user));
        self.recent.len()
    }
}

impl State {
    /// A member's message fired a MENTION_SPAM rule with raid protection on.
    pub(super) async fn note_mention_spam(&mut self, user: UserId) {
        let limits = self.services.config.get().limits.clone();
        let cfg = &limits.automod;
        if cfg.mention_raid_members == 0 {
            return;
        }
        let window = Duration::from_secs(u64::from(cfg.mention_raid_window_secs));
        let spammers = self.raid_watch.note(user, Instant::now(), window);
        if spammers < cfg.mention_raid_members as usize {
            return;
        }
        self.raid_watch.recent.clear();
        let now = Timestamp::now();
        let minutes = cfg
            .mention_raid_pause_minutes
            .min(limits.onboarding.max_incident_hours.saturating_mul(60));
        let until = Timestamp::from_millis(now.millis() + i64::from(minutes) * 60_000);
        let mut setup = self.setup.clone();
        let i = &mut setup.incidents;
        i.raid_detected_at = Some(now);
        if minutes > 0 {
            // A longer pause moderators set stays.
            i.invites_disabled_until =
                Some(i.invites_disabled_until.map_or(until, |t| t.max(until)));
            i.dms_disabled_until = Some(i.dms_disabled_until.map_or(until, |t| t.max(until)));
        }
        let invites_until = i.invites_disabled_until;
        let mut features = self.guild.features.clone();
        set_feature(
            &mut features,
            INVITES_DISABLED_FEATURE,
            invites_until.is_some_and(|t| t > now) || self.setup.invites_disabled,
        );
        tracing::info!(guild = %self.id(), spammers, "mention raid detected");
        if let Err(e) = self.save_setup(setup, features).await {
            tracing::warn!(error = %e, "mention raid not recorded");
            return;
        }
        self.post_raid_alert(invites_until).await;
    }

    /// The alert in the safety alerts channel (none without one, or with RAID_ALERTS_DISABLED).
    /// Authored by the owner: the guild's system messages need an author, and the owner is the
    /// one member every guild has.
    async fn post_raid_alert(&mut self, until: Option<Timestamp>) {
        let Some(channel) = self.guild.safety_alerts_channel_id else {
            return;
        };
        if self
            .guild
            .features
            .iter()
            .any(|f| f == RAID_ALERTS_DISABLED)
            || !self.channels.contains_key(&channel)
        {
            return;
        }
        let Ok(actor) = self.services.channel(channel).await else {
            return;
        };
        let Ok(id) = self.services.ids.next() else {
            return;
        };
        let alert = SystemMessage {
            id,
            author: self.guild.owner_id,
            kind: ALERT_MODE_ENABLED,
            content: until.map(|t| t.to_string()).unwrap_or_default(),
            embeds: Vec::new(),
        };
        // Told, not asked: the channel actor may be waiting on this actor.
        let _ = crate::actors::tell(&actor, ChannelMsg::PostSystem(Box::new(alert)));
    }
}
