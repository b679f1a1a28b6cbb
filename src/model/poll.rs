//! Polls on messages (<https://discord.com/developers/docs/resources/poll>): the stored poll with
//! its voters, and the poll object as Discord shows it on a message.
//!
//! Voters are kept inside the message record, like reactions: the channel actor that owns the
//! message is then the one writer of its votes, and a vote is one message write in its order.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::id::{ChannelId, EmojiId, MessageId, UserId};

/// Discord's only poll layout (`DEFAULT`).
pub const LAYOUT_DEFAULT: u8 = 1;

/// The text (and for answers, an emoji) of a question or answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<PollEmoji>,
}

/// An answer's emoji: a custom one by `id`, or a unicode one by `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollEmoji {
    #[serde(default)]
    pub id: Option<EmojiId>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
}

/// One answer and who voted for it (in vote order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollAnswerRecord {
    /// 1-based, the answer's position in the poll.
    pub answer_id: u8,
    pub poll_media: PollMedia,
    #[serde(default)]
    pub voters: Vec<UserId>,
}

/// A stored poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollRecord {
    pub question: PollMedia,
    pub answers: Vec<PollAnswerRecord>,
    /// When voting ends (moved to the moment of an early end by the author).
    pub expiry: Timestamp,
    pub allow_multiselect: bool,
    pub layout_type: u8,
    /// Set once the results are final (at expiry, or when the author ended the poll).
    #[serde(default)]
    pub finalized: bool,
    /// The read-only copy a crosspost carries into a following channel: nobody votes on it
    /// there (the votes belong to the original), and it shows no `results`, which Discord's
    /// poll object defines as "unknown results" rather than "no votes".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crosspost_copy: bool,
}

/// A pending poll end, stored so the timer that finalizes polls is re-armed after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollExpiry {
    pub channel_id: ChannelId,
    pub message_id: MessageId,
    pub expiry: Timestamp,
}

impl PollRecord {
    /// The poll as a crosspost carries it: question, answers, expiry and settings, without the
    /// voters (who voted where the poll lives is not the following guild's business).
    pub fn crosspost_copy(self) -> Self {
        Self {
            answers: self
                .answers
                .into_iter()
                .map(|a| PollAnswerRecord {
                    voters: Vec::new(),
                    ..a
                })
                .collect(),
            finalized: false,
            crosspost_copy: true,
            ..self
        }
    }

    /// Whether votes are closed at `now`: finalized, or past its expiry (the timer may not have
    /// run yet; a vote must not slip in between).
    pub fn closed(&self, now: Timestamp) -> bool {
        self.finalized || now >= self.expiry
    }

    /// The answers `user` voted for, in answer order.
    pub fn votes_of(&self, user: UserId) -> Vec<u8> {
        self.answers
            .iter()
            .filter(|a| a.voters.contains(&user))
            .map(|a| a.answer_id)
            .collect()
    }

    /// Whether anyone voted (then `me_voted` differs per reader).
    pub fn has_votes(&self) -> bool {
        self.answers.iter().any(|a| !a.voters.is_empty())
    }

    /// Makes `user`'s votes exactly `wanted`; returns the answers added and removed.
    pub fn set_votes(&mut self, user: UserId, wanted: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for a in &mut self.answers {
            let has = a.voters.contains(&user);
            let wants = wanted.contains(&a.answer_id);
            if wants && !has {
                a.voters.push(user);
                added.push(a.answer_id);
            } else if has && !wants {
                a.voters.retain(|u| *u != user);
                removed.push(a.answer_id);
            }
        }
        (added, removed)
    }

    /// The poll object as `me` sees it (`me_voted`).
    pub fn view(&self, me: Option<UserId>) -> PollView<'_> {
        PollView { poll: self, me }
    }
}

/// Discord's poll object, borrowed from the record.
pub struct PollView<'a> {
    poll: &'a PollRecord,
    me: Option<UserId>,
}

#[derive(Serialize)]
struct AnswerView<'a> {
    answer_id: u8,
    poll_media: &'a PollMedia,
}

#[derive(Serialize)]
struct CountView {
    id: u8,
    count: usize,
    me_voted: bool,
}

#[derive(Serialize)]
struct ResultsView {
    is_finalized: bool,
    answer_counts: Vec<CountView>,
}

#[derive(Serialize)]
struct Wire<'a> {
    question: &'a PollMedia,
    answers: Vec<AnswerView<'a>>,
    expiry: Timestamp,
    allow_multiselect: bool,
    layout_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    results: Option<ResultsView>,
}

impl Serialize for PollView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.poll;
        Wire {
            question: &p.question,
            answers: p
                .answers
                .iter()
                .map(|a| AnswerView {
                    answer_id: a.answer_id,
                    poll_media: &a.poll_media,
                })
                .collect(),
            expiry: p.expiry,
            allow_multiselect: p.allow_multiselect,
            layout_type: p.layout_type,
            results: (!p.crosspost_copy).then(|| ResultsView {
                is_finalized: p.finalized,
                answer_counts: p
                    .answers
                    .iter()
                    .map(|a| CountView {
                        id: a.answer_id,
                        count: a.voters.len(),
                        me_voted: self.me.is_some_and(|me| a.voters.contains(&me)),
                    })
                    .collect(),
            }),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn poll() -> PollRecord {
        let answer = |id: u8, text: &str| PollAnswerRecord {
            answer_id: id,
            poll_media: PollMedia {
                text: Some(text.into()),
                emoji: None,
            },
            voters: vec![],
        };
        PollRecord {
            question: PollMedia {
                text: Some("q".into()),
                emoji: None,
            },
            answers: vec![answer(1, "a"), answer(2, "b"), answer(3, "c")],
            expiry: Timestamp(1_700_000_000_000),
            allow_multiselect: true,
            layout_type: LAYOUT_DEFAULT,
            finalized: false,
            crosspost_copy: false,
        }
    }

    #[test]
    fn setting_votes_reports_what_changed_and_the_view_counts_them() {
        let mut p = poll();
        let (u, v) = (UserId::new(7), UserId::new(8));
        assert_eq!(p.set_votes(u, &[1, 3]), (vec![1, 3], vec![]));
        assert_eq!(p.set_votes(v, &[3]), (vec![3], vec![]));
        assert_eq!(p.set_votes(u, &[2, 3]), (vec![2], vec![1]));
        assert_eq!(p.votes_of(u), vec![2, 3]);
        let wire = serde_json::to_value(p.view(Some(u))).unwrap();
        assert_eq!(
            wire["results"],
            json!({"is_finalized": false, "answer_counts": [
                {"id": 1, "count": 0, "me_voted": false},
                {"id": 2, "count": 1, "me_voted": true},
                {"id": 3, "count": 2, "me_voted": true},
            ]})
        );
        assert_eq!(
            wire["answers"][1],
            json!({"answer_id": 2, "poll_media": {"text": "b"}})
        );
        assert_eq!(wire["expiry"], json!(Timestamp(1_700_000_000_000)));
        assert!(!p.closed(Timestamp(1_699_999_999_999)));
        assert!(p.closed(Timestamp(1_700_000_000_000)));
    }

    #[test]
    fn a_crosspost_copy_has_no_voters_and_shows_no_results() {
        let mut p = poll();
        p.set_votes(UserId::new(7), &[1]);
        p.finalized = true;
        let copy = p.clone().crosspost_copy();
        assert!(copy.crosspost_copy && !copy.finalized && !copy.has_votes());
        assert_eq!(copy.question, p.question);
        assert_eq!(copy.expiry, p.expiry);
        let wire = serde_json::to_value(copy.view(Some(UserId::new(7)))).unwrap();
        assert!(wire.get("results").is_none(), "{wire}");
        assert_eq!(wire["answers"][0]["poll_media"]["text"], "a");
        // The original's stored form is as before (no new field written).
        let stored = serde_json::to_value(&p).unwrap();
        assert!(stored.get("crosspost_copy").is_none());
    }
}
