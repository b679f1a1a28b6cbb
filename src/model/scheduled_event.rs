//! Guild scheduled events: the stored record and Discord's wire object. The numbers (entity type,
//! status, privacy level) are Discord's; the rules that tie them together (which entity needs a
//! channel, which status may follow which) live here so the actor and the tests share them.

use serde::{Deserialize, Serialize};

use super::{PublicUser, Timestamp};
use crate::id::{ChannelId, GuildId, ScheduledEventId, Snowflake, UserId};

discord_number!(
    /// Where the event happens (`entity_type`).
    EntityType {
        StageInstance = 1,
        Voice = 2,
        /// Somewhere outside Discord: needs `entity_metadata.location` and an end time.
        External = 3,
    }
);

discord_number!(
    /// Discord's event statuses; only the transitions of [`EventStatus::may_become`] exist.
    EventStatus {
        Scheduled = 1,
        Active = 2,
        Completed = 3,
        Canceled = 4,
    }
);

discord_number!(
    /// Who may see the event: Discord accepts only `GUILD_ONLY` (2).
    PrivacyLevel {
        GuildOnly = 2,
    }
);

impl EntityType {
    /// Stage and voice events happen in a channel; external events never do.
    pub fn needs_channel(self) -> bool {
        !matches!(self, Self::External)
    }
}

impl EventStatus {
    /// Discord's lifecycle: SCHEDULED → ACTIVE → COMPLETED, or SCHEDULED → CANCELED. Setting the
    /// current status again is not a transition (a PATCH may repeat it).
    pub fn may_become(self, next: Self) -> bool {
        self == next
            || matches!(
                (self, next),
                (Self::Scheduled, Self::Active)
                    | (Self::Active, Self::Completed)
                    | (Self::Scheduled, Self::Canceled)
            )
    }

    /// COMPLETED and CANCELED events can no longer be changed (Discord: 180000).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Canceled)
    }
}

/// `entity_metadata`: where an external event takes place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A guild's scheduled event as stored. The cover image lives on the CDN under
/// `guild-events/{id}/{hash}`, like guild icons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledEventRecord {
    pub id: ScheduledEventId,
    pub guild_id: GuildId,
    /// The stage or voice channel; None for external events.
    pub channel_id: Option<ChannelId>,
    pub creator_id: Option<UserId>,
    pub name: String,
    pub description: Option<String>,
    pub scheduled_start_time: Timestamp,
    pub scheduled_end_time: Option<Timestamp>,
    pub privacy_level: PrivacyLevel,
    pub status: EventStatus,
    pub entity_type: EntityType,
    /// The stage instance's id while one is live (never, here: no stage instances yet).
    #[serde(default)]
    pub entity_id: Option<Snowflake>,
    pub entity_metadata: Option<EntityMetadata>,
    /// The cover image's hash on the CDN.
    #[serde(default)]
    pub image: Option<String>,
    /// Discord's recurrence rule object, validated on the way in and returned as given.
    #[serde(default)]
    pub recurrence_rule: Option<serde_json::Value>,
    /// Moved or canceled occurrences of a recurring event (kept with the event: a handful at
    /// most, `limits.guild.max_event_exceptions`, read whenever the event is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<EventException>,
}

/// One occurrence of a recurring event, moved or canceled. Its id is the snowflake of the
/// occurrence's original start time, as Discord's are, so an occurrence has at most one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventException {
    pub id: Snowflake,
    pub scheduled_start_time: Option<Timestamp>,
    pub scheduled_end_time: Option<Timestamp>,
    #[serde(default)]
    pub is_canceled: bool,
}

impl EventException {
    /// The exception id of the occurrence originally starting at `at`.
    pub fn id_for(at: Timestamp) -> Snowflake {
        Snowflake::from_timestamp_ms(u64::try_from(at.millis()).unwrap_or(0))
    }

    /// When the occurrence originally started.
    pub fn original_start(&self) -> Timestamp {
        Timestamp::from_millis(i64::try_from(self.id.timestamp_ms()).unwrap_or(i64::MAX))
    }

    /// Discord's exception object.
    pub fn to_object(&self, event: ScheduledEventId) -> EventExceptionObject {
        EventExceptionObject {
            event_id: event,
            event_exception_id: self.id,
            scheduled_start_time: self.scheduled_start_time,
            scheduled_end_time: self.scheduled_end_time,
            is_canceled: self.is_canceled,
        }
    }
}

/// A user's answer for one occurrence of a recurring event (`response`: 1 interested, 0 not —
/// a series subscriber may opt out of one occurrence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventExceptionUser {
    pub exception_id: Snowflake,
    pub user_id: UserId,
    pub response: u8,
}

/// Discord's guild scheduled event exception object.
#[derive(Debug, Clone, Serialize)]
pub struct EventExceptionObject {
    pub event_id: ScheduledEventId,
    pub event_exception_id: Snowflake,
    pub scheduled_start_time: Option<Timestamp>,
    pub scheduled_end_time: Option<Timestamp>,
    pub is_canceled: bool,
}

/// Discord's guild scheduled event object.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduledEventObject<'a> {
    pub id: ScheduledEventId,
    pub guild_id: GuildId,
    pub channel_id: Option<ChannelId>,
    pub creator_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<&'a PublicUser>,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub image: Option<&'a str>,
    pub scheduled_start_time: Timestamp,
    pub scheduled_end_time: Option<Timestamp>,
    pub privacy_level: PrivacyLevel,
    pub status: EventStatus,
    pub entity_type: EntityType,
    pub entity_id: Option<Snowflake>,
    /// Discord sends an object for every type (`{}` for stage and voice events).
    pub entity_metadata: EntityMetadata,
    pub recurrence_rule: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_count: Option<u32>,
    /// Moved or canceled occurrences (Discord always sends the key).
    pub guild_scheduled_event_exceptions: Vec<EventExceptionObject>,
}

impl ScheduledEventRecord {
    /// The exception for the occurrence originally starting at `at`, if any.
    pub fn exception_at(&self, at: Timestamp) -> Option<&EventException> {
        let id = EventException::id_for(at);
        self.exceptions.iter().find(|x| x.id == id)
    }

    /// The current occurrence's start and end as they will happen (an exception may move them),
    /// and whether it is canceled.
    pub fn current_occurrence(&self) -> (Timestamp, Option<Timestamp>, bool) {
        match self.exception_at(self.scheduled_start_time) {
            Some(x) => (
                x.scheduled_start_time.unwrap_or(self.scheduled_start_time),
                x.scheduled_end_time.or(self.scheduled_end_time),
                x.is_canceled,
            ),
            None => (self.scheduled_start_time, self.scheduled_end_time, false),
        }
    }

    /// The wire object; `creator` and `user_count` only where Discord sends them.
    pub fn to_object<'a>(
        &'a self,
        creator: Option<&'a PublicUser>,
        user_count: Option<u32>,
    ) -> ScheduledEventObject<'a> {
        ScheduledEventObject {
            id: self.id,
            guild_id: self.guild_id,
            channel_id: self.channel_id,
            creator_id: self.creator_id,
            creator,
            name: &self.name,
            description: self.description.as_deref(),
            image: self.image.as_deref(),
            scheduled_start_time: self.scheduled_start_time,
            scheduled_end_time: self.scheduled_end_time,
            privacy_level: self.privacy_level,
            status: self.status,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            entity_metadata: self.entity_metadata.clone().unwrap_or_default(),
            recurrence_rule: self.recurrence_rule.as_ref(),
            user_count,
            guild_scheduled_event_exceptions: self
                .exceptions
                .iter()
                .map(|x| x.to_object(self.id))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_transitions_are_discords() {
        use EventStatus::*;
        let all = [Scheduled, Active, Completed, Canceled];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a != b && a.may_become(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Scheduled, Active),
                (Scheduled, Canceled),
                (Active, Completed)
            ]
        );
    }

    #[test]
    fn numbers_round_trip() {
        assert_eq!(
            serde_json::to_value(EntityType::External).unwrap(),
            serde_json::json!(3)
        );
        assert!(serde_json::from_value::<EntityType>(4.into()).is_err());
        assert!(serde_json::from_value::<PrivacyLevel>(1.into()).is_err());
        assert_eq!(
            serde_json::from_value::<EventStatus>(4.into()).unwrap(),
            EventStatus::Canceled
        );
    }
}
