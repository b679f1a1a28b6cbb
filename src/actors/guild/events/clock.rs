//! The scheduled events' clock: Discord's "status update automation". An EXTERNAL event becomes
//! ACTIVE at its start and COMPLETED at its end; an ACTIVE stage or voice event whose channel
//! stayed empty for `limits.guild.event_empty_end_secs` is COMPLETED; any event still SCHEDULED
//! `limits.guild.event_auto_cancel_secs` after its start is CANCELED. (Stage and voice events
//! are started by a moderator, never by the clock.) A recurring event that would complete or be
//! canceled moves on to its next occurrence instead, SCHEDULED again.
//!
//! The state is the events themselves (stored, loaded with the guild), so the clock is re-armed
//! from them whenever the guild actor starts, and what fell due while no actor ran happens then —
//! before the actor answers anyone, so nobody sees a stale status. Like the thread auto-archive
//! timer, one task per guild sleeps until the earliest due time and wakes the actor
//! ([`GuildMsg::EventsDue`]).

use crate::actors::guild::GuildMsg;
use ractor::ActorRef;

use super::*;

/// What the clock does to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Complete,
    Cancel,
    /// A recurring event moves to the occurrence starting then.
    Advance(Timestamp),
}

/// The clock's two waits, from the live config, in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Timing {
    cancel_after: i64,
    empty_end: i64,
}

/// How many occurrences the clock skips at most in one go (a recurring event whose occurrences
/// all passed while the server was down catches up to the next one ahead).
const MAX_SKIPPED: usize = 10_000;

impl Events {
    /// The next occurrence of a recurring event after its current one whose end (or start, for an
    /// event without end) is still ahead of `now`.
    fn next_occurrence(e: &ScheduledEventRecord, now: Timestamp) -> Option<Timestamp> {
        let rule = e
            .recurrence_rule
            .as_ref()
            .and_then(|r| RecurrenceRule::validate(r).ok())?;
        let length = e
            .scheduled_end_time
            .map_or(0, |end| end.millis() - e.scheduled_start_time.millis());
        let mut at = e.scheduled_start_time;
        for _ in 0..MAX_SKIPPED {
            at = rule.occurrence_after(at)?;
            // A canceled occurrence is skipped; a moved one counts with its own end.
            let (canceled, end) = match e.exception_at(at) {
                Some(x) => (
                    x.is_canceled,
                    x.scheduled_end_time
                        .map_or(at.millis() + length, Timestamp::millis),
                ),
                None => (false, at.millis() + length),
            };
            if !canceled && end.max(at.millis()) > now.millis() {
                return Some(at);
            }
        }
        None
    }

    /// What is due for `e` at `now`, and when the clock must look at it next.
    fn plan(
        e: &ScheduledEventRecord,
        now: Timestamp,
        t: Timing,
        empty_since: Option<Timestamp>,
    ) -> (Option<Step>, Option<i64>) {
        let now_ms = now.millis();
        let finish = |e: &ScheduledEventRecord, fallback: Step| match Self::next_occurrence(e, now)
        {
            Some(at) => Step::Advance(at),
            None => fallback,
        };
        let (start, end, canceled) = e.current_occurrence();
        let start = start.millis();
        if canceled && e.status == EventStatus::Scheduled {
            // A canceled occurrence is skipped (the clock leaves a series it cannot move alone).
            return match Self::next_occurrence(e, now) {
                Some(at) => (Some(Step::Advance(at)), Some(now_ms)),
                None => (None, None),
            };
        }
        match (e.status, e.entity_type) {
            (EventStatus::Scheduled, EntityType::External) => {
                // An occurrence that also ended while nobody looked completes at once.
                let step = if end.is_some_and(|end| now_ms >= end.millis()) {
                    Some(finish(e, Step::Complete))
                } else {
                    (now_ms >= start).then_some(Step::Start)
                };
                (step, Some(start))
            }
            (EventStatus::Scheduled, _) => {
                let due = start + t.cancel_after;
                ((now_ms >= due).then(|| finish(e, Step::Cancel)), Some(due))
            }
            (EventStatus::Active, EntityType::External) => match end {
                Some(end) => (
                    (now_ms >= end.millis()).then(|| finish(e, Step::Complete)),
                    Some(end.millis()),
                ),
                None => (None, None),
            },
            (EventStatus::Active, _) => match empty_since {
                Some(since) => {
                    let due = since.millis() + t.empty_end;
                    (
                        (now_ms >= due).then(|| finish(e, Step::Complete)),
                        Some(due),
                    )
                }
                None => (None, None),
            },
            _ => (None, None),
        }
    }
}

impl State {
    fn event_timing(&self) -> Timing {
        let limits = &self.services.config.get().limits.guild;
        Timing {
            cancel_after: i64::from(limits.event_auto_cancel_secs) * 1000,
            empty_end: i64::from(limits.event_empty_end_secs) * 1000,
        }
    }

    /// Notes since when the channel of each ACTIVE stage or voice event is empty (an actor that
    /// starts counts from its start: who was connected before is not stored).
    fn track_empty_event_channels(&mut self, now: Timestamp) {
        let mut empty = HashMap::new();
        for e in &self.events.list {
            if e.status != EventStatus::Active || !e.entity_type.needs_channel() {
                continue;
            }
            let Some(channel) = e.channel_id else {
                continue;
            };
            if !self.voice.occupied(channel) {
                let since = self.events.empty_since.get(&e.id).copied().unwrap_or(now);
                empty.insert(e.id, since);
            }
        }
        self.events.empty_since = empty;
    }

    /// Moves every event whose time came (after a restart, possibly several steps at once) and
    /// tells the members (GUILD_SCHEDULED_EVENT_UPDATE). No audit log entry: nobody acted.
    pub(in crate::actors::guild) async fn run_event_clock(&mut self) {
        let now = Timestamp::now();
        self.track_empty_event_channels(now);
        let timing = self.event_timing();
        let ids: Vec<ScheduledEventId> = self.events.list.iter().map(|e| e.id).collect();
        for id in ids {
            // Each pass moves one status; an event that fell due twice moves twice.
            for _ in 0..4 {
                let Some(i) = self.events.list.iter().position(|e| e.id == id) else {
                    break;
                };
                let before = &self.events.list[i];
                let empty = self.events.empty_since.get(&id).copied();
                let (Some(step), _) = Events::plan(before, now, timing, empty) else {
                    break;
                };
                let mut e = before.clone();
                apply_step(&mut e, step);
                if let Err(err) = self.services.store.put_scheduled_event(&e).await {
                    tracing::warn!(error = %err, event = %id, "could not move a scheduled event");
                    break;
                }
                tracing::debug!(event = %id, ?step, "scheduled event moved on schedule");
                self.events.list[i] = e.clone();
                self.events.empty_since.remove(&id);
                let data = self.event_json(&e, false);
                self.dispatch_event("GUILD_SCHEDULED_EVENT_UPDATE", &data, e.channel_id);
            }
        }
        self.track_empty_event_channels(now);
    }

    /// A moderator opened a stage instance for the event: Discord starts a SCHEDULED event then,
    /// with the stage instance as its `entity_id`.
    pub(in crate::actors::guild) async fn start_event_for_stage(
        &mut self,
        id: ScheduledEventId,
        stage: crate::id::Snowflake,
    ) {
        self.move_event(id, |e| {
            let starts = e.status == EventStatus::Scheduled;
            if starts {
                e.status = EventStatus::Active;
                e.entity_id = Some(stage);
            }
            starts
        })
        .await;
    }

    /// The event's stage instance closed: the ACTIVE event completes (a recurring one moves on
    /// to its next occurrence).
    pub(in crate::actors::guild) async fn end_event_for_stage(&mut self, id: ScheduledEventId) {
        self.move_event(id, |e| {
            let ends = e.status == EventStatus::Active;
            if ends {
                e.status = EventStatus::Completed;
                e.entity_id = None;
                advance_if_recurring(e, Timestamp::now());
            }
            ends
        })
        .await;
    }

    /// Applies `change` to the event (when it says it changed something), stores it and tells
    /// the members. A store failure is logged: the stage change that caused it stands.
    async fn move_event(
        &mut self,
        id: ScheduledEventId,
        change: impl FnOnce(&mut ScheduledEventRecord) -> bool,
    ) {
        let Some(i) = self.events.list.iter().position(|e| e.id == id) else {
            return;
        };
        let mut e = self.events.list[i].clone();
        if !change(&mut e) {
            return;
        }
        if let Err(err) = self.services.store.put_scheduled_event(&e).await {
            tracing::warn!(error = %err, event = %id, "could not move a stage's scheduled event");
            return;
        }
        self.events.list[i] = e.clone();
        let data = self.event_json(&e, false);
        self.dispatch_event("GUILD_SCHEDULED_EVENT_UPDATE", &data, e.channel_id);
    }

    /// The earliest time the clock must look again (unix ms).
    fn next_event_due(&self) -> Option<i64> {
        let now = Timestamp::now();
        let timing = self.event_timing();
        self.events
            .list
            .iter()
            .filter_map(|e| {
                let empty = self.events.empty_since.get(&e.id).copied();
                Events::plan(e, now, timing, empty).1
            })
            .min()
    }

    /// Wakes the actor at the next due time (replacing the pending wake-up when it moved).
    /// Called after every message, since voice changes, PATCHes and exceptions all move it.
    pub(in crate::actors::guild) fn rearm_event_timer(&mut self, me: &ActorRef<GuildMsg>) {
        self.track_empty_event_channels(Timestamp::now());
        let next = self.next_event_due();
        self.events.timer.arm(me, next, || GuildMsg::EventsDue);
    }

    /// Stops the pending wake-up (the actor stops; the next start re-arms from the store).
    pub(in crate::actors::guild) fn stop_event_timer(&mut self) {
        self.events.timer.cancel();
    }

    /// The clock's wake-up: the pending task is spent.
    pub(in crate::actors::guild) fn event_timer_fired(&mut self) {
        self.events.timer.fired();
    }
}

/// One step on the record. Advancing keeps the occurrence's length.
fn apply_step(e: &mut ScheduledEventRecord, step: Step) {
    match step {
        Step::Start => e.status = EventStatus::Active,
        Step::Complete => e.status = EventStatus::Completed,
        Step::Cancel => e.status = EventStatus::Canceled,
        Step::Advance(at) => {
            let length = e
                .scheduled_end_time
                .map(|end| end.millis() - e.scheduled_start_time.millis());
            e.status = EventStatus::Scheduled;
            e.entity_id = None;
            e.scheduled_start_time = at;
            e.scheduled_end_time = length.map(|l| Timestamp::from_millis(at.millis() + l));
            // The exceptions of occurrences now past have nothing left to say.
            e.exceptions.retain(|x| x.original_start() >= at);
        }
    }
}

/// A PATCH that completes a recurring event moves it to its next occurrence, as the
/// clock does.
pub(super) fn advance_if_recurring(e: &mut ScheduledEventRecord, now: Timestamp) {
    if matches!(e.status, EventStatus::Completed)
        && let Some(at) = Events::next_occurrence(e, now)
    {
        apply_step(e, Step::Advance(at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::GuildId;

    const T: Timing = Timing {
        cancel_after: 3_600_000,
        empty_end: 300_000,
    };

    fn event(
        kind: EntityType,
        status: EventStatus,
        start: i64,
        end: Option<i64>,
    ) -> ScheduledEventRecord {
        ScheduledEventRecord {
            id: ScheduledEventId::new(1),
            guild_id: GuildId::new(2),
            channel_id: None,
            creator_id: None,
            name: "e".into(),
            description: None,
            scheduled_start_time: Timestamp::from_millis(start),
            scheduled_end_time: end.map(Timestamp::from_millis),
            privacy_level: PrivacyLevel::GuildOnly,
            status,
            entity_type: kind,
            entity_id: None,
            entity_metadata: None,
            image: None,
            recurrence_rule: None,
            exceptions: Vec::new(),
        }
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn external_events_start_and_end_on_schedule() {
        let e = event(
            EntityType::External,
            EventStatus::Scheduled,
            1_000,
            Some(5_000),
        );
        assert_eq!(Events::plan(&e, at(999), T, None), (None, Some(1_000)));
        assert_eq!(
            Events::plan(&e, at(1_000), T, None),
            (Some(Step::Start), Some(1_000))
        );
        let e = event(
            EntityType::External,
            EventStatus::Active,
            1_000,
            Some(5_000),
        );
        assert_eq!(Events::plan(&e, at(4_999), T, None), (None, Some(5_000)));
        assert_eq!(Events::plan(&e, at(5_000), T, None).0, Some(Step::Complete));
    }

    #[test]
    fn voice_events_wait_for_a_moderator_and_end_when_empty() {
        let e = event(EntityType::Voice, EventStatus::Scheduled, 1_000, None);
        // Not started by the clock; canceled once the start is long past.
        assert_eq!(
            Events::plan(&e, at(2_000), T, None),
            (None, Some(3_601_000))
        );
        assert_eq!(
            Events::plan(&e, at(3_601_000), T, None).0,
            Some(Step::Cancel)
        );
        let e = event(EntityType::Voice, EventStatus::Active, 1_000, None);
        assert_eq!(Events::plan(&e, at(9_000), T, None), (None, None));
        assert_eq!(
            Events::plan(&e, at(9_000), T, Some(at(8_000))),
            (None, Some(308_000))
        );
        assert_eq!(
            Events::plan(&e, at(308_000), T, Some(at(8_000))).0,
            Some(Step::Complete)
        );
    }

    #[test]
    fn recurring_events_move_to_their_next_occurrence() {
        // Daily from 2030-01-07 18:00 UTC, one hour long.
        let start = Timestamp::parse("2030-01-07T18:00:00Z").unwrap().millis();
        let mut e = event(
            EntityType::External,
            EventStatus::Active,
            start,
            Some(start + 3_600_000),
        );
        e.recurrence_rule = Some(serde_json::json!({
            "start": "2030-01-07T18:00:00Z", "frequency": 3, "interval": 1
        }));
        let day = 86_400_000;
        let (step, _) = Events::plan(&e, at(start + 3_600_000), T, None);
        assert_eq!(step, Some(Step::Advance(at(start + day))));
        apply_step(&mut e, Step::Advance(at(start + day)));
        assert_eq!(e.status, EventStatus::Scheduled);
        assert_eq!(e.scheduled_end_time, Some(at(start + day + 3_600_000)));
        // Three days late: the occurrences that passed are skipped.
        let (step, _) = Events::plan(&e, at(start + 4 * day + 10), T, None);
        assert_eq!(step, Some(Step::Advance(at(start + 4 * day))));
        apply_step(&mut e, Step::Advance(at(start + 4 * day)));
        let (step, _) = Events::plan(&e, at(start + 4 * day + 10), T, None);
        assert_eq!(step, Some(Step::Start));
        e.status = EventStatus::Active;
        let (step, _) = Events::plan(&e, at(start + 4 * day + 3_600_000), T, None);
        assert_eq!(step, Some(Step::Advance(at(start + 5 * day))));
        // A canceled occurrence is skipped, a moved one happens at its own time.
        e.exceptions = vec![
            EventException {
                id: EventException::id_for(at(start + 5 * day)),
                scheduled_start_time: None,
                scheduled_end_time: None,
                is_canceled: true,
            },
            EventException {
                id: EventException::id_for(at(start + 6 * day)),
                scheduled_start_time: Some(at(start + 6 * day + 7_200_000)),
                scheduled_end_time: Some(at(start + 6 * day + 9_000_000)),
                is_canceled: false,
            },
        ];
        let (step, _) = Events::plan(&e, at(start + 4 * day + 3_600_000), T, None);
        assert_eq!(step, Some(Step::Advance(at(start + 6 * day))));
        apply_step(&mut e, Step::Advance(at(start + 6 * day)));
        assert_eq!(e.exceptions.len(), 1);
        let (step, due) = Events::plan(&e, at(start + 6 * day + 10), T, None);
        assert_eq!((step, due), (None, Some(start + 6 * day + 7_200_000)));
    }
}
