//! Polls on this channel's messages: the poll of a new message (validated against the live
//! `limits.poll`), votes, the voters of an answer, and the end of a poll (by its author, or by
//! the poll clock in `actors::polls`).
//!
//! Votes live in the message record, so they are message writes in this channel's order
//! (`persist_changed`), and the vote events go out once the vote is durable.

use serde::Deserialize;
use serde_json::{Value, json};

use super::State;
use crate::config::PollLimits;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{MessageId, UserId};
use crate::model::poll::{LAYOUT_DEFAULT, PollAnswerRecord, PollEmoji, PollMedia};
use crate::model::{MessageRecord, PollExpiry, PollRecord, Timestamp};
use crate::permissions::{Permissions, require};

/// Discord's longest emoji name in a poll answer.
const MAX_EMOJI_NAME: usize = 32;

/// `poll` of a message create body (Discord's poll create request). Every member is optional
/// here so that a missing one is a field error (50035), not a parse failure.
#[derive(Debug, Default, Deserialize)]
pub struct PollCreate {
    pub question: Option<PollMediaCreate>,
    pub answers: Option<Vec<PollAnswerCreate>>,
    /// Hours the poll stays open. A number, not an `i64`: discord.py sends a whole float
    /// (`1.0`), which Discord accepts.
    pub duration: Option<serde_json::Number>,
    pub allow_multiselect: Option<bool>,
    pub layout_type: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PollMediaCreate {
    pub text: Option<String>,
    pub emoji: Option<PollEmoji>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PollAnswerCreate {
    pub poll_media: Option<PollMediaCreate>,
}

/// How a vote request changes the caller's votes.
#[derive(Debug, Clone)]
pub enum VoteChange {
    /// `PUT …/answers/@me {answer_ids}`: exactly these (empty removes every vote).
    Set(Vec<i64>),
    /// `PUT …/answers/{answer}/@me`: add one (on a single-choice poll, instead of the others).
    Add(i64),
    /// `DELETE …/answers/{answer}/@me`: remove one.
    Remove(i64),
}

/// A checked `text`: required, 1..=`max` characters (`path` names the field in the error).
fn text(
    media: Option<&PollMediaCreate>,
    path: &str,
    max: u32,
    errs: &mut FieldErrors,
) -> Option<String> {
    let Some(t) = media.and_then(|m| m.text.clone()) else {
        errs.add(path, FieldError::Required);
        return None;
    };
    let len = t.chars().count();
    if t.trim().is_empty() || len > max as usize {
        errs.add(
            path,
            FieldError::BadLength {
                min: 1,
                max: max as usize,
            },
        );
        return None;
    }
    Some(t)
}

/// Builds the stored poll of a new message, adding what is wrong to `errs` (paths under
/// `poll.`, as Discord nests them). `None` when anything is.
pub fn build(
    body: PollCreate,
    limits: &PollLimits,
    now: Timestamp,
    errs: &mut FieldErrors,
) -> Option<PollRecord> {
    let before = errs.is_empty();
    let question = text(
        body.question.as_ref(),
        "poll.question.text",
        limits.max_question,
        errs,
    );
    let answers_in = body.answers.unwrap_or_default();
    if answers_in.is_empty() {
        errs.add("poll.answers", FieldError::MinLength { min: 1 });
    } else if answers_in.len() > limits.max_answers as usize {
        errs.add(
            "poll.answers",
            FieldError::TooMany {
                max: limits.max_answers as usize,
            },
        );
    }
    let mut answers = Vec::new();
    for (i, a) in answers_in
        .iter()
        .take(limits.max_answers as usize)
        .enumerate()
    {
        let at = format!("poll.answers.{i}.poll_media");
        let t = text(
            a.poll_media.as_ref(),
            &format!("{at}.text"),
            limits.max_answer_text,
            errs,
        );
        let emoji = a.poll_media.as_ref().and_then(|m| m.emoji.clone());
        if let Some(e) = &emoji {
            if e.id.is_none() && e.name.as_deref().is_none_or(str::is_empty) {
                errs.add(&format!("{at}.emoji"), FieldError::Required);
            } else if e
                .name
                .as_ref()
                .is_some_and(|n| n.chars().count() > MAX_EMOJI_NAME)
            {
                errs.add(
                    &format!("{at}.emoji.name"),
                    FieldError::MaxLength {
                        max: MAX_EMOJI_NAME,
                    },
                );
            }
        }
        answers.push(PollAnswerRecord {
            // At most `max_answers` (a u32 the config keeps small) answers are taken above.
            answer_id: u8::try_from(i + 1).unwrap_or(u8::MAX),
            poll_media: PollMedia { text: t, emoji },
            voters: Vec::new(),
        });
    }
    if limits.max_answers > u32::from(u8::MAX) {
        errs.add("poll.answers", FieldError::TooMany { max: 255 });
    }
    let hours = match body.duration {
        None => i64::from(limits.default_duration_hours),
        Some(n) => match n.as_i64() {
            Some(h) => h,
            // A whole float (within i64, so the cast is exact).
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
                _ => {
                    errs.add(
                        "poll.duration",
                        FieldError::BadType {
                            expected: "an integer".into(),
                        },
                    );
                    i64::from(limits.default_duration_hours)
                }
            },
        },
    };
    if hours < i64::from(limits.min_duration_hours) {
        errs.add(
            "poll.duration",
            FieldError::NumberMin {
                min: limits.min_duration_hours.into(),
            },
        );
    } else if hours > i64::from(limits.max_duration_hours) {
        errs.add(
            "poll.duration",
            FieldError::NumberMax {
                max: limits.max_duration_hours.into(),
            },
        );
    }
    let layout = body.layout_type.unwrap_or(i64::from(LAYOUT_DEFAULT));
    if layout != i64::from(LAYOUT_DEFAULT) {
        errs.add(
            "poll.layout_type",
            FieldError::Choice {
                allowed: LAYOUT_DEFAULT.to_string(),
            },
        );
    }
    if !(before && errs.is_empty()) {
        return None;
    }
    Some(PollRecord {
        question: PollMedia {
            text: question,
            emoji: None,
        },
        answers,
        expiry: Timestamp::from_millis(now.millis() + hours * i64::from(limits.hour_secs) * 1000),
        allow_multiselect: body.allow_multiselect.unwrap_or(false),
        layout_type: LAYOUT_DEFAULT,
        finalized: false,
        crosspost_copy: false,
    })
}

/// 520003: a sent poll is not editable (its question, answers and duration stay as sent).
pub(super) fn not_editable() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        520003,
        "poll-not-editable",
    )
}

/// 520004: an answer names a custom emoji the author cannot use here.
pub(super) fn unusable_emoji() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        520004,
        "poll-unusable-emoji",
    )
}

/// 520001: the poll no longer takes votes (and cannot be ended again).
/// A crosspost's copy of a poll takes no votes (they belong to the original).
fn voting_blocked() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::BAD_REQUEST,
        520000,
        "poll-voting-blocked",
    )
}

fn expired() -> ApiError {
    ApiError::coded(axum::http::StatusCode::BAD_REQUEST, 520001, "poll-expired")
}

/// The answer ids a vote names, checked against the poll: each 1..=answers, no repeats.
fn checked_answers(poll: &PollRecord, ids: &[i64], path: &str) -> Result<Vec<u8>, ApiError> {
    let mut errs = FieldErrors::default();
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match poll.answers.iter().find(|a| i64::from(a.answer_id) == *id) {
            Some(a) if !out.contains(&a.answer_id) => out.push(a.answer_id),
            Some(_) => {}
            None => {
                let at = if path.ends_with("answer_ids") {
                    format!("{path}.{i}")
                } else {
                    path.to_string()
                };
                errs.add(
                    &at,
                    FieldError::Choice {
                        allowed: format!("1..={}", poll.answers.len()),
                    },
                );
            }
        }
    }
    if !poll.allow_multiselect && out.len() > 1 {
        errs.add(path, FieldError::TooMany { max: 1 });
    }
    errs.into_result()?;
    Ok(out)
}

impl State {
    /// After a new message with a poll is stored: stores its pending end (in write order), then
    /// arms the poll clock.
    pub(super) fn schedule_poll_end(&self, m: &MessageRecord) -> Result<(), ApiError> {
        let Some(poll) = &m.poll else {
            return Ok(());
        };
        let expiry = PollExpiry {
            channel_id: m.channel_id,
            message_id: m.id,
            expiry: poll.expiry,
        };
        let (store, stored) = (self.services.store.clone(), expiry.clone());
        self.pipeline
            .deferred_write(async move { store.put_poll_expiry(&stored).await })?;
        let services = self.services.clone();
        self.pipeline.then(move |ok| {
            if ok {
                services.polls.arm(expiry);
            }
        });
        Ok(())
    }

    /// The message and its poll, or Unknown Message when it has none.
    async fn find_poll(&self, id: MessageId) -> Result<(MessageRecord, PollRecord), ApiError> {
        let mut m = self.find(id).await?;
        let poll = m.poll.take().ok_or(ApiError::Unknown(Unknown::Message))?;
        Ok((m, poll))
    }

    /// Changes `user`'s votes; sends MESSAGE_POLL_VOTE_ADD/REMOVE per answer changed.
    pub(super) async fn vote(
        &mut self,
        user: UserId,
        id: MessageId,
        change: VoteChange,
    ) -> Result<(), ApiError> {
        let perms = self.view(user).await?;
        require(perms, Permissions::READ_MESSAGE_HISTORY)?;
        let (mut m, mut poll) = self.find_poll(id).await?;
        if poll.crosspost_copy {
            return Err(voting_blocked());
        }
        if poll.closed(Timestamp::now()) {
            return Err(expired());
        }
        let current = poll.votes_of(user);
        let wanted: Vec<u8> = match change {
            VoteChange::Set(ids) => checked_answers(&poll, &ids, "answer_ids")?,
            VoteChange::Add(a) => {
                let a = checked_answers(&poll, &[a], "answer_id")?;
                if poll.allow_multiselect {
                    current.iter().copied().chain(a).collect()
                } else {
                    a
                }
            }
            VoteChange::Remove(a) => {
                let a = checked_answers(&poll, &[a], "answer_id")?;
                current.into_iter().filter(|x| !a.contains(x)).collect()
            }
        };
        let (added, removed) = poll.set_votes(user, &wanted);
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        m.poll = Some(poll);
        self.persist_unindexed(&m)?;
        self.replace_cached(&m);
        for (name, answers) in [
            ("MESSAGE_POLL_VOTE_REMOVE", removed),
            ("MESSAGE_POLL_VOTE_ADD", added),
        ] {
            for answer in answers {
                let mut data = json!({
                    "user_id": user,
                    "channel_id": self.channel.id,
                    "message_id": id,
                    "answer_id": answer,
                });
                if let Some(g) = self.channel.guild_id {
                    data["guild_id"] = json!(g);
                }
                self.fanout(Dispatch::new(name, &data, self.in_guild()));
            }
        }
        Ok(())
    }

    /// `{users}`: who voted for `answer`, in user id order after `after`, at most `limit`.
    pub(super) async fn voters(
        &mut self,
        user: UserId,
        id: MessageId,
        answer: i64,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Value, ApiError> {
        let perms = self.view(user).await?;
        require(perms, Permissions::READ_MESSAGE_HISTORY)?;
        let (_, poll) = self.find_poll(id).await?;
        let Some(a) = poll
            .answers
            .iter()
            .find(|a| i64::from(a.answer_id) == answer)
        else {
            return Err(ApiError::coded(
                axum::http::StatusCode::NOT_FOUND,
                10008,
                "poll-unknown-answer",
            ));
        };
        let mut ids: Vec<UserId> = a
            .voters
            .iter()
            .copied()
            .filter(|u| after.is_none_or(|after| *u > after))
            .collect();
        ids.sort();
        ids.truncate(limit);
        let users = self.services.users.public_many(&ids).await?;
        Ok(json!({ "users": users }))
    }

    /// `POST …/expire`: the author ends the poll now. Returns the message as they see it.
    pub(super) async fn end_poll(
        &mut self,
        user: UserId,
        id: MessageId,
    ) -> Result<Value, ApiError> {
        self.view(user).await?;
        let m = self.find(id).await?;
        let Some(poll) = &m.poll else {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                520006,
                "poll-not-a-poll",
            ));
        };
        if m.author_id != user {
            return Err(ApiError::MissingPermissions);
        }
        if poll.finalized {
            return Err(expired());
        }
        let m = self.finalize(m).await?;
        self.render(&m, Some(user)).await
    }

    /// From the poll clock: ends the poll if its time has come (again: nothing to do).
    pub(super) async fn poll_due(&mut self, id: MessageId) -> Result<(), ApiError> {
        let m = match self.find(id).await {
            Ok(m) => m,
            Err(ApiError::Unknown(_)) => {
                // Deleted with its poll open: only the pending end remains.
                return self.forget_poll_end(id);
            }
            Err(e) => return Err(e),
        };
        match &m.poll {
            Some(p) if !p.finalized && p.closed(Timestamp::now()) => {
                self.finalize(m).await?;
                Ok(())
            }
            Some(p) if !p.finalized => {
                // Early for this poll (a clock step): arm again for its real end.
                self.services.polls.arm(PollExpiry {
                    channel_id: self.channel.id,
                    message_id: id,
                    expiry: p.expiry,
                });
                Ok(())
            }
            _ => self.forget_poll_end(id),
        }
    }

    /// Drops a poll's stored pending end (in write order).
    fn forget_poll_end(&self, id: MessageId) -> Result<(), ApiError> {
        let store = self.services.store.clone();
        self.pipeline
            .deferred_write(async move { store.delete_poll_expiry(id).await })
    }

    /// Freezes the results (expiry no later than now), stores them, forgets the pending end and
    /// sends MESSAGE_UPDATE.
    async fn finalize(&mut self, mut m: MessageRecord) -> Result<MessageRecord, ApiError> {
        let now = Timestamp::now();
        if let Some(p) = &mut m.poll {
            p.finalized = true;
            p.expiry = p.expiry.min(now);
        }
        // Rendered before the write starts, so a failed render leaves store and window alike.
        let v = self.render(&m, None).await?;
        self.persist_changed(&m)?;
        self.forget_poll_end(m.id)?;
        self.replace_cached(&m);
        self.fanout_update(&m, &v);
        Ok(m)
    }
}
