//! A guild's scheduled events: list/get (members; channel-bound events only for those who can
//! see the channel), create (CREATE_EVENTS or MANAGE_EVENTS), modify/delete (MANAGE_EVENTS, or
//! CREATE_EVENTS for one's own), subscribe/unsubscribe (members). Every change is dispatched
//! (GUILD_SCHEDULED_EVENT_*, gated by the GUILD_SCHEDULED_EVENTS intent) and recorded in the
//! audit log (100/101/102), like Discord. An event follows its channel: deleting the channel
//! deletes the event, and moving the event is told to each member as it looks to them (UPDATE,
//! or DELETE/CREATE when it leaves or enters their sight).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, audit, double_option};
use crate::actors::Reply;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{ChannelId, ScheduledEventId, Snowflake, UserId};
use crate::model::recurrence::{self, RecurrenceRule, RuleProblem};
use crate::model::{
    ChannelKind, EntityMetadata, EntityType, EventException, EventStatus, PrivacyLevel,
    ScheduledEventRecord, Timestamp,
};
use crate::permissions::Permissions;

mod clock;
mod exceptions;

pub use exceptions::ExceptionBody;

/// Requests about a guild's scheduled events (one `GuildMsg` variant, so the feature stays in
/// this file).
pub enum EventMsg {
    /// `GET /guilds/{id}/scheduled-events`.
    List {
        user: UserId,
        with_user_count: bool,
        reply: Reply<Value>,
    },
    /// `GET /guilds/{id}/scheduled-events/{event}`.
    Get {
        user: UserId,
        id: ScheduledEventId,
        with_user_count: bool,
        reply: Reply<Value>,
    },
    /// Asked by the route before it stores a cover image on the CDN: permission and room.
    MayCreate { user: UserId, reply: Reply<()> },
    Create {
        user: UserId,
        id: ScheduledEventId,
        body: EventBody,
        reply: Reply<Value>,
    },
    /// Asked by the route before it stores a new cover image.
    MayModify {
        user: UserId,
        id: ScheduledEventId,
        reply: Reply<()>,
    },
    Update {
        user: UserId,
        id: ScheduledEventId,
        body: EventBody,
        reply: Reply<Value>,
    },
    Delete {
        user: UserId,
        id: ScheduledEventId,
        reply: Reply<()>,
    },
    /// `GET …/{event}/users`: subscribers in user id order, `after` or `before` exclusive.
    Users {
        user: UserId,
        id: ScheduledEventId,
        query: UsersQuery,
        reply: Reply<Value>,
    },
    /// `PUT`/`DELETE …/{event}/users/@me`.
    Subscribe {
        user: UserId,
        id: ScheduledEventId,
        subscribed: bool,
        reply: Reply<Value>,
    },
    /// `POST …/{event}/exceptions` (`exception` None) and `PATCH …/exceptions/{exception}`.
    PutException {
        user: UserId,
        id: ScheduledEventId,
        exception: Option<Snowflake>,
        body: ExceptionBody,
        reply: Reply<Value>,
    },
    /// `DELETE …/{event}/exceptions/{exception}`.
    DeleteException {
        user: UserId,
        id: ScheduledEventId,
        exception: Snowflake,
        reply: Reply<()>,
    },
    /// `GET …/{event}/users/counts`.
    Counts {
        user: UserId,
        id: ScheduledEventId,
        exceptions: Vec<Snowflake>,
        reply: Reply<Value>,
    },
    /// `GET …/{event}/{exception}/users`.
    ExceptionUsers {
        user: UserId,
        id: ScheduledEventId,
        exception: Snowflake,
        query: UsersQuery,
        reply: Reply<Value>,
    },
    /// `PUT`/`DELETE …/{event}/{exception}/users/@me` (`response` None: forget the answer).
    AnswerOccurrence {
        user: UserId,
        id: ScheduledEventId,
        exception: Snowflake,
        response: Option<u8>,
        reply: Reply<Value>,
    },
}

/// Body of `POST` and `PATCH /guilds/{id}/scheduled-events…`; absent and null differ for the
/// clearable fields. `image` has already become the CDN hash when it reaches the actor.
#[derive(Debug, Default, Deserialize)]
pub struct EventBody {
    #[serde(default, deserialize_with = "double_option")]
    pub channel_id: Option<Option<ChannelId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub entity_metadata: Option<Option<EntityMetadata>>,
    pub name: Option<String>,
    pub privacy_level: Option<i64>,
    pub scheduled_start_time: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub scheduled_end_time: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    pub entity_type: Option<i64>,
    /// PATCH only.
    pub status: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub image: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub recurrence_rule: Option<Option<Value>>,
}

/// Query of `GET …/{event}/users`.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    pub limit: Option<usize>,
    pub with_member: Option<bool>,
    pub before: Option<UserId>,
    pub after: Option<UserId>,
}

/// The events and their subscribers, owned by the guild actor.
#[derive(Debug, Default)]
pub struct Events {
    list: Vec<ScheduledEventRecord>,
    users: HashMap<ScheduledEventId, BTreeSet<UserId>>,
    /// Answers for single occurrences of recurring events (see [`exceptions`]).
    answers: HashMap<ScheduledEventId, exceptions::Answers>,
    /// Since when the channel of each ACTIVE stage/voice event is empty (see [`clock`]).
    empty_since: HashMap<ScheduledEventId, Timestamp>,
    /// The status clock's pending wake-up: when, and the sleeping task.
    timer: crate::actors::due_timer::DueTimer,
}

impl Events {
    /// Whether the guild has this event.
    pub fn contains(&self, id: ScheduledEventId) -> bool {
        self.list.iter().any(|e| e.id == id)
    }

    /// Loads a guild's events and each event's subscribers.
    pub async fn load(
        store: &crate::store::DynStore,
        guild: crate::id::GuildId,
    ) -> crate::store::StoreResult<Self> {
        let list = store.guild_scheduled_events(guild).await?;
        let mut users = HashMap::new();
        let mut answers = HashMap::new();
        for e in &list {
            let subs = store.event_users(guild, e.id).await?;
            users.insert(e.id, subs.into_iter().collect());
            if e.recurrence_rule.is_some() {
                let a: exceptions::Answers = store
                    .event_exception_users(guild, e.id)
                    .await?
                    .into_iter()
                    .map(|a| ((a.exception_id, a.user_id), a.response))
                    .collect();
                answers.insert(e.id, a);
            }
        }
        Ok(Self {
            list,
            users,
            answers,
            ..Self::default()
        })
    }

    fn count(&self, id: ScheduledEventId) -> u32 {
        self.users.get(&id).map_or(0, |s| s.len() as u32)
    }
}

/// Discord's 180000-style refusal of a change to a finished event or an impossible status move.
fn invalid_transition(errs: &mut FieldErrors) {
    errs.add(
        "status",
        FieldError::Choice {
            allowed: "a later status (SCHEDULED → ACTIVE → COMPLETED, SCHEDULED → CANCELED)".into(),
        },
    );
}

fn max_events_reached() -> ApiError {
    ApiError::coded(
        StatusCode::BAD_REQUEST,
        30038,
        "max-scheduled-events-reached",
    )
}

fn time(errs: &mut FieldErrors, path: &str, s: &str) -> Option<Timestamp> {
    let t = Timestamp::parse(s);
    if t.is_none() {
        errs.add(path, FieldError::InvalidDate);
    }
    t
}

/// Discord's recurrence rule, checked as its docs list the allowed fields and combinations
/// ([`RecurrenceRule::validate`]); every problem becomes a field error under `recurrence_rule`.
fn validate_recurrence(errs: &mut FieldErrors, rule: &Value) {
    let Err(problems) = RecurrenceRule::validate(rule) else {
        return;
    };
    for (field, problem) in problems {
        let path = if field.is_empty() {
            "recurrence_rule".to_owned()
        } else {
            format!("recurrence_rule.{field}")
        };
        let error = match problem {
            RuleProblem::NotObject => FieldError::BadType {
                expected: "object".into(),
            },
            RuleProblem::Required => FieldError::Required,
            RuleProblem::InvalidDate => FieldError::InvalidDate,
            RuleProblem::Choice(allowed) => FieldError::Choice {
                allowed: allowed.into(),
            },
            RuleProblem::TooMany(max) => FieldError::TooMany { max },
        };
        errs.add(&path, error);
    }
}

impl State {
    pub(super) async fn handle_event(&mut self, msg: EventMsg) {
        use crate::actors::reply;
        match msg {
            EventMsg::List {
                user,
                with_user_count,
                reply: r,
            } => reply(r, self.list_events(user, with_user_count).await),
            EventMsg::Get {
                user,
                id,
                with_user_count,
                reply: r,
            } => reply(r, self.get_event(user, id, with_user_count).await),
            EventMsg::MayCreate { user, reply: r } => reply(r, self.may_create_event(user)),
            EventMsg::Create {
                user,
                id,
                body,
                reply: r,
            } => reply(r, self.create_event(user, id, body).await),
            EventMsg::MayModify { user, id, reply: r } => {
                reply(r, self.may_modify_event(user, id).map(|_| ()))
            }
            EventMsg::Update {
                user,
                id,
                body,
                reply: r,
            } => reply(r, self.update_event(user, id, body).await),
            EventMsg::Delete { user, id, reply: r } => reply(r, self.delete_event(user, id).await),
            EventMsg::Users {
                user,
                id,
                query,
                reply: r,
            } => reply(r, self.event_users(user, id, query).await),
            EventMsg::Subscribe {
                user,
                id,
                subscribed,
                reply: r,
            } => reply(r, self.subscribe_event(user, id, subscribed).await),
            EventMsg::PutException {
                user,
                id,
                exception,
                body,
                reply: r,
            } => reply(r, self.put_exception(user, id, exception, body).await),
            EventMsg::DeleteException {
                user,
                id,
                exception,
                reply: r,
            } => reply(r, self.delete_exception(user, id, exception).await),
            EventMsg::Counts {
                user,
                id,
                exceptions,
                reply: r,
            } => reply(r, self.event_user_counts(user, id, &exceptions)),
            EventMsg::ExceptionUsers {
                user,
                id,
                exception,
                query,
                reply: r,
            } => reply(r, self.exception_users(user, id, exception, query).await),
            EventMsg::AnswerOccurrence {
                user,
                id,
                exception,
                response,
                reply: r,
            } => reply(
                r,
                self.answer_occurrence(user, id, exception, response).await,
            ),
        }
    }

    /// The events `user` may see: channel-bound ones need VIEW_CHANNEL on their channel.
    fn event_visible(&self, user: UserId, e: &ScheduledEventRecord) -> bool {
        self.sees_channel(user, e.channel_id)
    }

    fn event_index(&self, user: UserId, id: ScheduledEventId) -> Result<usize, ApiError> {
        self.member_guard(user)?;
        self.events
            .list
            .iter()
            .position(|e| e.id == id && self.event_visible(user, e))
            .ok_or(ApiError::Unknown(Unknown::ScheduledEvent))
    }

    fn event_json(&self, e: &ScheduledEventRecord, with_count: bool) -> Value {
        json!(e.to_object(None, with_count.then(|| self.events.count(e.id))))
    }

    /// Discord's `guild_scheduled_events` of GUILD_CREATE for one user.
    pub(super) fn events_json_for(&self, user: UserId) -> Value {
        Value::Array(
            self.events
                .list
                .iter()
                .filter(|e| self.event_visible(user, e))
                .map(|e| self.event_json(e, true))
                .collect(),
        )
    }

    async fn with_creator(&self, e: &ScheduledEventRecord, with_count: bool) -> Value {
        let creator = match e.creator_id {
            Some(id) => self.services.users.public(id).await.ok(),
            None => None,
        };
        json!(e.to_object(
            creator.as_ref(),
            with_count.then(|| self.events.count(e.id))
        ))
    }

    async fn list_events(&self, user: UserId, with_count: bool) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let mut out = Vec::new();
        for e in self
            .events
            .list
            .iter()
            .filter(|e| self.event_visible(user, e))
        {
            out.push(self.with_creator(e, with_count).await);
        }
        Ok(Value::Array(out))
    }

    async fn get_event(
        &self,
        user: UserId,
        id: ScheduledEventId,
        with_count: bool,
    ) -> Result<Value, ApiError> {
        let i = self.event_index(user, id)?;
        Ok(self.with_creator(&self.events.list[i], with_count).await)
    }

    fn may_create_event(&self, user: UserId) -> Result<(), ApiError> {
        self.member_guard(user)?;
        if !self
            .guild_permissions(user)
            .intersects(Permissions::CREATE_EVENTS | Permissions::MANAGE_EVENTS)
        {
            return Err(ApiError::MissingPermissions);
        }
        // Discord counts the events that are SCHEDULED or ACTIVE.
        let max = self.services.config.get().limits.guild.max_scheduled_events as usize;
        let live = self
            .events
            .list
            .iter()
            .filter(|e| !e.status.is_final())
            .count();
        if live >= max {
            return Err(max_events_reached());
        }
        Ok(())
    }

    /// The index and a copy of event `id` when `user` may change it and it can still change:
    /// a COMPLETED or CANCELED event answers 50035 with Discord's transition error.
    pub(super) fn changeable_event(
        &self,
        user: UserId,
        id: ScheduledEventId,
    ) -> Result<(usize, ScheduledEventRecord), ApiError> {
        let i = self.may_modify_event(user, id)?;
        let before = self.events.list[i].clone();
        if before.status.is_final() {
            let mut errs = FieldErrors::default();
            invalid_transition(&mut errs);
            errs.into_result()?;
        }
        Ok((i, before))
    }

    /// MANAGE_EVENTS, or CREATE_EVENTS for an event the caller created.
    fn may_modify_event(&self, user: UserId, id: ScheduledEventId) -> Result<usize, ApiError> {
        let i = self.event_index(user, id)?;
        let perms = self.guild_permissions(user);
        let own = self.events.list[i].creator_id == Some(user)
            && perms.contains(Permissions::CREATE_EVENTS);
        if own || perms.contains(Permissions::MANAGE_EVENTS) {
            Ok(i)
        } else {
            Err(ApiError::MissingPermissions)
        }
    }

    /// Applies a body to an event (a new one is a default SCHEDULED external event first) and
    /// checks Discord's rules on the result; `errs` collects every field error.
    fn apply_event_body(
        &self,
        user: UserId,
        e: &mut ScheduledEventRecord,
        body: EventBody,
        creating: bool,
        errs: &mut FieldErrors,
    ) {
        if let Some(name) = body.name {
            if !(1..=100).contains(&name.chars().count()) {
                errs.add("name", FieldError::BadLength { min: 1, max: 100 });
            }
            e.name = name;
        } else if creating {
            errs.add("name", FieldError::Required);
        }
        if let Some(d) = body.description {
            if d.as_ref().is_some_and(|d| d.chars().count() > 1000) {
                errs.add("description", FieldError::MaxLength { max: 1000 });
            }
            e.description = d.filter(|d| !d.is_empty());
        }
        match body.privacy_level {
            Some(p) => match u8::try_from(p)
                .ok()
                .and_then(|p| PrivacyLevel::try_from(p).ok())
            {
                Some(p) => e.privacy_level = p,
                None => errs.add(
                    "privacy_level",
                    FieldError::Choice {
                        allowed: "2".into(),
                    },
                ),
            },
            None if creating => errs.add("privacy_level", FieldError::Required),
            None => {}
        }
        match body.entity_type {
            Some(t) => match u8::try_from(t)
                .ok()
                .and_then(|t| EntityType::try_from(t).ok())
            {
                Some(t) => e.entity_type = t,
                None => errs.add(
                    "entity_type",
                    FieldError::Choice {
                        allowed: "1, 2, 3".into(),
                    },
                ),
            },
            None if creating => errs.add("entity_type", FieldError::Required),
            None => {}
        }
        match body.scheduled_start_time {
            Some(s) => {
                if let Some(t) = time(errs, "scheduled_start_time", &s) {
                    // Discord refuses a start in the past for an event that has not started.
                    if e.status == EventStatus::Scheduled && t < Timestamp::now() {
                        errs.add("scheduled_start_time", FieldError::InvalidDate);
                    }
                    e.scheduled_start_time = t;
                }
            }
            None if creating => errs.add("scheduled_start_time", FieldError::Required),
            None => {}
        }
        if let Some(end) = body.scheduled_end_time {
            e.scheduled_end_time = end.and_then(|s| time(errs, "scheduled_end_time", &s));
        }
        if let Some(c) = body.channel_id {
            e.channel_id = c;
        }
        if let Some(m) = body.entity_metadata {
            e.entity_metadata = m;
        }
        if let Some(img) = body.image {
            e.image = img;
        }
        if let Some(mut rule) = body.recurrence_rule {
            if let Some(r) = &mut rule {
                validate_recurrence(errs, r);
                recurrence::complete(r);
            }
            e.recurrence_rule = rule;
        }
        if let Some(s) = body.status {
            match u8::try_from(s)
                .ok()
                .and_then(|s| EventStatus::try_from(s).ok())
            {
                Some(next) if e.status.may_become(next) => e.status = next,
                _ => invalid_transition(errs),
            }
        }
        // The rules tying the fields together, checked on the result.
        if e.scheduled_end_time
            .is_some_and(|end| end <= e.scheduled_start_time)
        {
            errs.add("scheduled_end_time", FieldError::InvalidDate);
        }
        if e.entity_type.needs_channel() {
            let wanted = match e.entity_type {
                EntityType::StageInstance => ChannelKind::GuildStageVoice,
                _ => ChannelKind::GuildVoice,
            };
            match e.channel_id.and_then(|c| self.channels.get(&c)) {
                Some(c) if c.kind == wanted => {
                    if !self
                        .channel_permissions(user, c)
                        .contains(Permissions::VIEW_CHANNEL)
                    {
                        errs.add("channel_id", FieldError::InvalidSnowflake);
                    }
                }
                Some(_) | None if e.channel_id.is_some() => {
                    errs.add("channel_id", FieldError::InvalidSnowflake)
                }
                _ => errs.add("channel_id", FieldError::Required),
            }
            // Stage and voice events carry no location.
            e.entity_metadata = None;
        } else {
            e.channel_id = None;
            let location = e
                .entity_metadata
                .as_ref()
                .and_then(|m| m.location.as_deref())
                .unwrap_or_default();
            if location.is_empty() {
                errs.add("entity_metadata.location", FieldError::Required);
            } else if location.chars().count() > 100 {
                errs.add(
                    "entity_metadata.location",
                    FieldError::BadLength { min: 1, max: 100 },
                );
            }
            if e.scheduled_end_time.is_none() {
                errs.add("scheduled_end_time", FieldError::Required);
            }
        }
    }

    async fn create_event(
        &mut self,
        user: UserId,
        id: ScheduledEventId,
        body: EventBody,
    ) -> Result<Value, ApiError> {
        self.may_create_event(user)?;
        if body.status.is_some() {
            let mut errs = FieldErrors::default();
            invalid_transition(&mut errs);
            errs.into_result()?;
        }
        let mut e = ScheduledEventRecord {
            id,
            guild_id: self.id(),
            channel_id: None,
            creator_id: Some(user),
            name: String::new(),
            description: None,
            scheduled_start_time: Timestamp::now(),
            scheduled_end_time: None,
            privacy_level: PrivacyLevel::GuildOnly,
            status: EventStatus::Scheduled,
            entity_type: EntityType::External,
            entity_id: None,
            entity_metadata: None,
            image: None,
            recurrence_rule: None,
            exceptions: Vec::new(),
        };
        let mut errs = FieldErrors::default();
        self.apply_event_body(user, &mut e, body, true, &mut errs);
        errs.into_result()?;
        self.services.store.put_scheduled_event(&e).await?;
        self.events.list.push(e.clone());
        self.events.users.insert(e.id, BTreeSet::new());
        let data = self.event_json(&e, false);
        self.dispatch_event("GUILD_SCHEDULED_EVENT_CREATE", &data, e.channel_id);
        self.audit_change(
            user,
            audit::SCHEDULED_EVENT_CREATE,
            Some(id.snowflake()),
            None,
            Some(data),
        )
        .await;
        Ok(self.with_creator(&e, false).await)
    }

    async fn update_event(
        &mut self,
        user: UserId,
        id: ScheduledEventId,
        body: EventBody,
    ) -> Result<Value, ApiError> {
        let (i, before) = self.changeable_event(user, id)?;
        let mut errs = FieldErrors::default();
        let mut e = before.clone();
        self.apply_event_body(user, &mut e, body, false, &mut errs);
        errs.into_result()?;
        clock::advance_if_recurring(&mut e, Timestamp::now());
        self.services.store.put_scheduled_event(&e).await?;
        self.events.list[i] = e.clone();
        let old = self.event_json(&before, false);
        let data = self.event_json(&e, false);
        self.dispatch_event_update(&old, &data, before.channel_id, e.channel_id);
        self.audit_change(
            user,
            audit::SCHEDULED_EVENT_UPDATE,
            Some(id.snowflake()),
            Some(old),
            Some(data),
        )
        .await;
        Ok(self.with_creator(&e, false).await)
    }

    async fn delete_event(&mut self, user: UserId, id: ScheduledEventId) -> Result<(), ApiError> {
        let i = self.may_modify_event(user, id)?;
        self.services
            .store
            .delete_scheduled_event(self.id(), id)
            .await?;
        let e = self.events.list.remove(i);
        self.events.users.remove(&id);
        self.events.answers.remove(&id);
        let data = self.event_json(&e, false);
        self.dispatch_event("GUILD_SCHEDULED_EVENT_DELETE", &data, e.channel_id);
        self.audit_change(
            user,
            audit::SCHEDULED_EVENT_DELETE,
            Some(id.snowflake()),
            Some(data),
            None,
        )
        .await;
        Ok(())
    }

    async fn event_users(
        &self,
        user: UserId,
        id: ScheduledEventId,
        q: UsersQuery,
    ) -> Result<Value, ApiError> {
        self.event_index(user, id)?;
        let subs = self.events.users.get(&id).cloned().unwrap_or_default();
        Ok(Value::Array(self.users_page(id, &subs, q).await?))
    }

    /// One page of `subs` (user id order, `after` or `before` exclusive) as Discord's
    /// guild scheduled event user objects.
    async fn users_page(
        &self,
        id: ScheduledEventId,
        subs: &BTreeSet<UserId>,
        q: UsersQuery,
    ) -> Result<Vec<Value>, ApiError> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            let mut errs = FieldErrors::default();
            errs.add("limit", FieldError::NumberMax { max: 100 });
            errs.into_result()?;
        }
        let ids: Vec<UserId> = match (q.before, q.after) {
            (Some(before), None) => {
                let mut v: Vec<UserId> = subs.range(..before).rev().take(limit).copied().collect();
                v.reverse();
                v
            }
            (_, after) => {
                let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
                subs.range((from, std::ops::Bound::Unbounded))
                    .take(limit)
                    .copied()
                    .collect()
            }
        };
        let users = self.services.users.public_many(&ids).await?;
        let with_member = q.with_member.unwrap_or(false);
        let mut out = Vec::with_capacity(ids.len());
        for u in &users {
            // `response` 1: INTERESTED, the only answer without recurrence exceptions.
            let mut v =
                json!({"guild_scheduled_event_id": id, "user_id": u.id, "user": u, "response": 1});
            if with_member && let Some(m) = self.members.get(&u.id) {
                v["member"] = m.to_json(u);
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Subscribing twice (or leaving an event one never joined) changes nothing and dispatches
    /// nothing, as on Discord. Finished events take no new subscribers.
    async fn subscribe_event(
        &mut self,
        user: UserId,
        id: ScheduledEventId,
        subscribed: bool,
    ) -> Result<Value, ApiError> {
        let i = self.event_index(user, id)?;
        let guild = self.id();
        let body = json!({"guild_scheduled_event_id": id, "user_id": user, "guild_id": guild});
        let already = self
            .events
            .users
            .get(&id)
            .is_some_and(|s| s.contains(&user));
        if subscribed == already {
            return Ok(body);
        }
        if subscribed && self.events.list[i].status.is_final() {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                180000,
                "scheduled-event-finished",
            ));
        }
        let channel = self.events.list[i].channel_id;
        if subscribed {
            self.services.store.put_event_user(guild, id, user).await?;
            self.events.users.entry(id).or_default().insert(user);
            self.dispatch_event("GUILD_SCHEDULED_EVENT_USER_ADD", &body, channel);
        } else {
            self.services
                .store
                .delete_event_user(guild, id, user)
                .await?;
            if let Some(s) = self.events.users.get_mut(&id) {
                s.remove(&user);
            }
            self.dispatch_event("GUILD_SCHEDULED_EVENT_USER_REMOVE", &body, channel);
        }
        Ok(body)
    }

    /// Discord deletes the scheduled events of a deleted channel. Called while the channel is
    /// still in the guild's state, so each GUILD_SCHEDULED_EVENT_DELETE reaches exactly the
    /// members who could see the event. No audit entry: nobody deleted the event by hand.
    pub(super) async fn delete_channel_events(
        &mut self,
        channel: ChannelId,
    ) -> Result<(), ApiError> {
        let doomed: Vec<ScheduledEventId> = self
            .events
            .list
            .iter()
            .filter(|e| e.channel_id == Some(channel))
            .map(|e| e.id)
            .collect();
        for id in doomed {
            self.services
                .store
                .delete_scheduled_event(self.id(), id)
                .await?;
            if let Some(i) = self.events.list.iter().position(|e| e.id == id) {
                let e = self.events.list.remove(i);
                self.events.users.remove(&id);
                self.events.answers.remove(&id);
                let data = self.event_json(&e, false);
                self.dispatch_event("GUILD_SCHEDULED_EVENT_DELETE", &data, Some(channel));
            }
        }
        Ok(())
    }

    /// Whether `user` may see what lives in `channel` (None: the whole guild, as for an
    /// external event).
    fn sees_channel(&self, user: UserId, channel: Option<ChannelId>) -> bool {
        match channel {
            None => true,
            Some(id) => self.channels.get(&id).is_some_and(|c| {
                self.channel_permissions(user, c)
                    .contains(Permissions::VIEW_CHANNEL)
            }),
        }
    }

    /// An update is told to each session as it looks from there, by the visibility rule every
    /// channel-bound thing in Accord follows (VIEW_CHANNEL): an UPDATE to those who see the
    /// event before and after, a DELETE (of the event as they knew it, so the new channel's id
    /// does not leak) to those who lose sight of it, a CREATE to those who gain it.
    fn dispatch_event_update(
        &mut self,
        old: &Value,
        new: &Value,
        from: Option<ChannelId>,
        to: Option<ChannelId>,
    ) {
        if from == to {
            self.dispatch_event("GUILD_SCHEDULED_EVENT_UPDATE", new, to);
            return;
        }
        let update = Dispatch::new("GUILD_SCHEDULED_EVENT_UPDATE", new, true);
        let create = Dispatch::new("GUILD_SCHEDULED_EVENT_CREATE", new, true);
        let delete = Dispatch::new("GUILD_SCHEDULED_EVENT_DELETE", old, true);
        let mut dead = Vec::new();
        crate::actors::remote::fan_out(|| {
            for (key, s) in &self.online {
                let event: &Arc<Dispatch> = match (
                    self.sees_channel(s.user_id, from),
                    self.sees_channel(s.user_id, to),
                ) {
                    (true, true) => &update,
                    (true, false) => &delete,
                    (false, true) => &create,
                    (false, false) => continue,
                };
                if s.wants(event) && !s.deliver(event) {
                    dead.push(*key);
                }
            }
        });
        for k in dead {
            self.online.remove(&k);
        }
    }

    /// To every session that wants scheduled events and may see the event's channel.
    fn dispatch_event(&mut self, name: &'static str, data: &Value, channel: Option<ChannelId>) {
        self.dispatch(name, data, channel);
    }
}
