//! Recurrence exceptions: one occurrence of a recurring event moved or canceled
//! (`…/scheduled-events/{event}/exceptions`), and answers for single occurrences (`…/{event}/
//! {exception}/users/@me`, where a series subscriber may also opt out of one occurrence) that
//! feed `…/users/counts` and `…/{event}/{exception}/users`.
//!
//! Discord's public docs name no gateway event for exceptions, so every change is told as the
//! event's GUILD_SCHEDULED_EVENT_UPDATE (its `guild_scheduled_event_exceptions` changed). An
//! exception's id is the snowflake of its occurrence's original start, so any occurrence can be
//! answered for before an exception exists.

use std::collections::BTreeMap;

use super::*;
use crate::id::Snowflake;
use crate::model::EventExceptionUser;

/// Body of `POST` and `PATCH …/exceptions…`; `original_scheduled_start_time` on POST only.
#[derive(Debug, Default, Deserialize)]
pub struct ExceptionBody {
    pub original_scheduled_start_time: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub scheduled_start_time: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub scheduled_end_time: Option<Option<String>>,
    pub is_canceled: Option<bool>,
}

/// Answers per occurrence, owned by the guild actor: `(exception, user) → response`.
pub type Answers = BTreeMap<(Snowflake, UserId), u8>;

/// `response`: interested in the occurrence.
const INTERESTED: u8 = 1;

/// The occurrence named by an exception id does not belong to the event.
fn unknown_occurrence() -> ApiError {
    ApiError::Unknown(Unknown::ScheduledEvent)
}

impl State {
    /// The event's rule, or the field error of a request about an occurrence of an event that
    /// does not recur.
    fn rule_of(e: &ScheduledEventRecord, field: &str) -> Result<RecurrenceRule, ApiError> {
        match e
            .recurrence_rule
            .as_ref()
            .and_then(|r| RecurrenceRule::validate(r).ok())
        {
            Some(rule) => Ok(rule),
            None => Err(FieldErrors::single(
                field,
                FieldError::Choice {
                    allowed: "an occurrence of a recurring event".into(),
                },
            )),
        }
    }

    /// Whether `exception` names an occurrence of the event that has not passed.
    fn is_upcoming_occurrence(e: &ScheduledEventRecord, exception: Snowflake) -> bool {
        let at = EventException {
            id: exception,
            scheduled_start_time: None,
            scheduled_end_time: None,
            is_canceled: false,
        }
        .original_start();
        EventException::id_for(at) == exception
            && at >= e.scheduled_start_time
            && e.recurrence_rule
                .as_ref()
                .and_then(|r| RecurrenceRule::validate(r).ok())
                .is_some_and(|rule| rule.is_occurrence(at))
    }

    /// `POST …/exceptions` (a second one for the same occurrence replaces its fields) and
    /// `PATCH …/exceptions/{id}`: MANAGE_EVENTS, or CREATE_EVENTS for one's own event.
    pub(super) async fn put_exception(
        &mut self,
        user: UserId,
        id: ScheduledEventId,
        existing: Option<Snowflake>,
        body: ExceptionBody,
    ) -> Result<Value, ApiError> {
        let (i, before) = self.changeable_event(user, id)?;
        let mut errs = FieldErrors::default();
        let rule = Self::rule_of(&before, "original_scheduled_start_time")?;
        let original = match (existing, &body.original_scheduled_start_time) {
            (Some(x), _) => {
                if !before.exceptions.iter().any(|e| e.id == x) {
                    return Err(unknown_occurrence());
                }
                before
                    .exceptions
                    .iter()
                    .find(|e| e.id == x)
                    .map(EventException::original_start)
            }
            (None, None) => {
                errs.add("original_scheduled_start_time", FieldError::Required);
                None
            }
            (None, Some(s)) => match time(&mut errs, "original_scheduled_start_time", s) {
                Some(at) if rule.is_occurrence(at) && at >= before.scheduled_start_time => Some(at),
                Some(_) => {
                    errs.add(
                        "original_scheduled_start_time",
                        FieldError::Choice {
                            allowed: "the start of an upcoming occurrence".into(),
                        },
                    );
                    None
                }
                None => None,
            },
        };
        let Some(original) = original else {
            return errs.into_result().map(|()| Value::Null);
        };
        let xid = EventException::id_for(original);
        let mut x = before
            .exceptions
            .iter()
            .find(|e| e.id == xid)
            .cloned()
            .unwrap_or(EventException {
                id: xid,
                scheduled_start_time: None,
                scheduled_end_time: None,
                is_canceled: false,
            });
        let max = self.services.config.get().limits.guild.max_event_exceptions as usize;
        if !before.exceptions.iter().any(|e| e.id == xid) && before.exceptions.len() >= max {
            errs.add("original_scheduled_start_time", FieldError::TooMany { max });
        }
        if let Some(start) = body.scheduled_start_time {
            x.scheduled_start_time =
                start.and_then(|s| time(&mut errs, "scheduled_start_time", &s));
            if x.scheduled_start_time.is_some_and(|t| t < Timestamp::now()) {
                errs.add("scheduled_start_time", FieldError::InvalidDate);
            }
        }
        if let Some(end) = body.scheduled_end_time {
            x.scheduled_end_time = end.and_then(|s| time(&mut errs, "scheduled_end_time", &s));
        }
        if let Some(c) = body.is_canceled {
            x.is_canceled = c;
        }
        // The occurrence as it will happen must still end after it starts.
        let length = before
            .scheduled_end_time
            .map(|end| end.millis() - before.scheduled_start_time.millis());
        let start = x.scheduled_start_time.unwrap_or(original);
        let end = x
            .scheduled_end_time
            .or_else(|| length.map(|l| Timestamp::from_millis(original.millis() + l)));
        if end.is_some_and(|end| end <= start) {
            errs.add("scheduled_end_time", FieldError::InvalidDate);
        }
        errs.into_result()?;
        let mut e = before;
        match e.exceptions.iter_mut().find(|e| e.id == xid) {
            Some(slot) => *slot = x.clone(),
            None => {
                e.exceptions.push(x.clone());
                e.exceptions.sort_by_key(|x| x.id);
            }
        }
        self.services.store.put_scheduled_event(&e).await?;
        self.events.list[i] = e.clone();
        let data = self.event_json(&e, false);
        self.dispatch_event("GUILD_SCHEDULED_EVENT_UPDATE", &data, e.channel_id);
        Ok(json!(x.to_object(id)))
    }

    /// `DELETE …/exceptions/{id}`: the occurrence happens as the rule says again.
    pub(super) async fn delete_exception(
        &mut self,
        user: UserId,
        id: ScheduledEventId,
        exception: Snowflake,
    ) -> Result<(), ApiError> {
        let i = self.may_modify_event(user, id)?;
        let mut e = self.events.list[i].clone();
        let before = e.exceptions.len();
        e.exceptions.retain(|x| x.id != exception);
        if e.exceptions.len() == before {
            return Err(unknown_occurrence());
        }
        self.services.store.put_scheduled_event(&e).await?;
        self.events.list[i] = e.clone();
        let data = self.event_json(&e, false);
        self.dispatch_event("GUILD_SCHEDULED_EVENT_UPDATE", &data, e.channel_id);
        Ok(())
    }

    /// Whether `user` is interested in the occurrence `exception`: their own answer for it, or
    /// else their subscription to the series.
    fn interested_in(&self, id: ScheduledEventId, exception: Snowflake, user: UserId) -> bool {
        match self
            .events
            .answers
            .get(&id)
            .and_then(|a| a.get(&(exception, user)))
        {
            Some(r) => *r == INTERESTED,
            None => self
                .events
                .users
                .get(&id)
                .is_some_and(|s| s.contains(&user)),
        }
    }

    /// The users interested in one occurrence, in user id order.
    fn occurrence_users(&self, id: ScheduledEventId, exception: Snowflake) -> BTreeSet<UserId> {
        let mut out: BTreeSet<UserId> = self.events.users.get(&id).cloned().unwrap_or_default();
        if let Some(answers) = self.events.answers.get(&id) {
            for ((x, user), response) in answers {
                if *x != exception {
                    continue;
                }
                if *response == INTERESTED {
                    out.insert(*user);
                } else {
                    out.remove(user);
                }
            }
        }
        out
    }

    /// `GET …/users/counts?guild_scheduled_event_exception_ids=…` (at most 10).
    pub(super) fn event_user_counts(
        &self,
        user: UserId,
        id: ScheduledEventId,
        exceptions: &[Snowflake],
    ) -> Result<Value, ApiError> {
        self.event_index(user, id)?;
        if exceptions.len() > 10 {
            let mut errs = FieldErrors::default();
            errs.add(
                "guild_scheduled_event_exception_ids",
                FieldError::TooMany { max: 10 },
            );
            errs.into_result()?;
        }
        let counts: serde_json::Map<String, Value> = exceptions
            .iter()
            .map(|x| {
                (
                    x.get().to_string(),
                    json!(self.occurrence_users(id, *x).len()),
                )
            })
            .collect();
        Ok(json!({
            "guild_scheduled_event_count": self.events.count(id),
            "guild_scheduled_event_exception_counts": counts,
        }))
    }

    /// `GET …/{event}/{exception}/users`: the users interested in one occurrence, paged like
    /// the series' subscribers.
    pub(super) async fn exception_users(
        &self,
        user: UserId,
        id: ScheduledEventId,
        exception: Snowflake,
        q: UsersQuery,
    ) -> Result<Value, ApiError> {
        let i = self.event_index(user, id)?;
        if !Self::is_upcoming_occurrence(&self.events.list[i], exception) {
            return Err(unknown_occurrence());
        }
        let subs = self.occurrence_users(id, exception);
        let mut out = self.users_page(id, &subs, q).await?;
        for v in &mut out {
            v["guild_scheduled_event_exception_id"] = json!(exception);
        }
        Ok(Value::Array(out))
    }

    /// `PUT …/{event}/{exception}/users/@me` (`response` 1 interested, 0 not; default 1) and
    /// `DELETE` (forget the answer: the series subscription counts again). Dispatches
    /// GUILD_SCHEDULED_EVENT_USER_ADD/REMOVE with the occurrence's id.
    pub(super) async fn answer_occurrence(
        &mut self,
        user: UserId,
        id: ScheduledEventId,
        exception: Snowflake,
        response: Option<u8>,
    ) -> Result<Value, ApiError> {
        let i = self.event_index(user, id)?;
        let e = &self.events.list[i];
        if !Self::is_upcoming_occurrence(e, exception) {
            return Err(unknown_occurrence());
        }
        if response.is_some_and(|r| r > INTERESTED) {
            let mut errs = FieldErrors::default();
            errs.add(
                "response",
                FieldError::Choice {
                    allowed: "0, 1".into(),
                },
            );
            errs.into_result()?;
        }
        let channel = e.channel_id;
        let guild = self.id();
        let was = self.interested_in(id, exception, user);
        let store = &self.services.store;
        match response {
            Some(r) => {
                let answer = EventExceptionUser {
                    exception_id: exception,
                    user_id: user,
                    response: r,
                };
                store.put_event_exception_user(guild, id, answer).await?;
                self.events
                    .answers
                    .entry(id)
                    .or_default()
                    .insert((exception, user), r);
            }
            None => {
                store
                    .delete_event_exception_user(guild, id, exception, user)
                    .await?;
                if let Some(a) = self.events.answers.get_mut(&id) {
                    a.remove(&(exception, user));
                }
            }
        }
        let now = self.interested_in(id, exception, user);
        let body = json!({
            "guild_scheduled_event_id": id,
            "guild_scheduled_event_exception_id": exception,
            "user_id": user,
            "guild_id": guild,
            "response": u8::from(now),
        });
        if now != was {
            let name = if now {
                "GUILD_SCHEDULED_EVENT_USER_ADD"
            } else {
                "GUILD_SCHEDULED_EVENT_USER_REMOVE"
            };
            self.dispatch_event(name, &body, channel);
        }
        Ok(body)
    }
}
