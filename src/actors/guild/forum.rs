//! Forum (15) and media (16) channels: their settings (tags, default reaction, sort order,
//! layout, the slowmode new posts get, REQUIRE_TAG), checked on channel create and PATCH; the
//! tags a post may carry; and thread search (`GET /channels/{id}/threads/search`). Posts are
//! public threads whose starter message has the thread's id (see `threads` and the route).

use serde::Deserialize;
use serde_json::{Value, json};

use super::State;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::{ChannelId, EmojiId, TagId, UserId};
use crate::model::channel::{DefaultReaction, ForumOnly, ForumTag, channel_flags};
use crate::model::{ChannelKind, ChannelRecord};
use crate::permissions::{Permissions, require};

/// Discord's upper bound on slowmode (six hours).
const MAX_RATE_LIMIT: u32 = 21_600;

/// Forum fields of `POST /guilds/{id}/channels` and `PATCH /channels/{id}` (ignored on other
/// channel types, as Discord does); `Some(None)` is an explicit `null`.
#[derive(Debug, Default)]
pub struct ForumFields {
    pub available_tags: Option<Vec<TagInput>>,
    pub default_reaction_emoji: Option<Option<DefaultReaction>>,
    pub default_sort_order: Option<Option<u8>>,
    pub default_forum_layout: Option<u8>,
    pub default_thread_rate_limit_per_user: Option<u32>,
}

/// One tag as a client sends it: an existing tag keeps its `id`, a new one gets a snowflake.
#[derive(Debug, Default, Deserialize)]
pub struct TagInput {
    pub id: Option<TagId>,
    pub name: Option<String>,
    pub moderated: Option<bool>,
    pub emoji_id: Option<EmojiId>,
    pub emoji_name: Option<String>,
}

/// Order of thread search results (Discord's `sort_by`; `relevance` sorts as
/// `last_message_time`, the name filter being a plain substring match).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    #[default]
    LastMessageTime,
    CreationTime,
    ArchiveTime,
    Relevance,
}

/// `GET /channels/{id}/threads/search`, checked by the route.
#[derive(Debug, Clone, Default)]
pub struct ThreadSearch {
    /// Case-insensitive; every word must occur in the thread's name.
    pub name: Option<String>,
    pub tags: Vec<TagId>,
    /// `match_all` (true) or `match_some` (false, Discord's default).
    pub match_all: bool,
    pub archived: Option<bool>,
    pub sort_by: SortBy,
    pub ascending: bool,
    pub limit: usize,
    pub offset: usize,
}

macro_rules! take_forum_fields {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// The forum fields of this body, taken out of it.
            pub(super) fn take_forum(&mut self) -> ForumFields {
                ForumFields {
                    available_tags: self.available_tags.take(),
                    default_reaction_emoji: self.default_reaction_emoji.take(),
                    default_sort_order: self.default_sort_order.take(),
                    default_forum_layout: self.default_forum_layout.take(),
                    default_thread_rate_limit_per_user: self.default_thread_rate_limit_per_user.take(),
                }
            }
        }
    )*};
}

take_forum_fields!(super::ChannelCreate, super::ChannelPatch);

fn coded(code: u32, key: &'static str) -> ApiError {
    ApiError::coded(axum::http::StatusCode::BAD_REQUEST, code, key)
}

/// The flags a forum (REQUIRE_TAG) or media channel (also HIDE_MEDIA_DOWNLOAD_OPTIONS) may set
/// through PATCH; other bits are system-managed and kept as they are.
pub fn settable_flags(kind: ChannelKind) -> u64 {
    match kind {
        ChannelKind::GuildForum => channel_flags::REQUIRE_TAG,
        ChannelKind::GuildMedia => {
            channel_flags::REQUIRE_TAG | channel_flags::HIDE_MEDIA_DOWNLOAD_OPTIONS
        }
        _ => 0,
    }
}

impl State {
    /// Checks `f` for a forum or media channel `c` and applies it (new tags get ids); a new
    /// channel gets Discord's defaults for what `f` leaves out. Nothing is applied when a field
    /// is refused (50035). Other channel types ignore the forum fields, as on Discord.
    pub(super) fn apply_forum_fields(
        &self,
        c: &mut ChannelRecord,
        f: ForumFields,
        flags: Option<u64>,
    ) -> Result<(), ApiError> {
        if !c.kind.is_forum() {
            return Ok(());
        }
        let limits = self.services.config.get().limits.forum.clone();
        let mut errs = FieldErrors::default();
        let errs = &mut errs;
        let mut tags = None;
        if let Some(input) = f.available_tags {
            if input.len() > limits.max_tags as usize {
                errs.add(
                    "available_tags",
                    FieldError::TooMany {
                        max: limits.max_tags as usize,
                    },
                );
            }
            let mut out = Vec::with_capacity(input.len());
            for (i, t) in input.into_iter().enumerate() {
                let name = t.name.unwrap_or_default();
                let name = name.trim();
                let path = format!("available_tags.{i}.name");
                if name.is_empty() {
                    errs.add(&path, FieldError::Required);
                } else {
                    crate::validate::length(errs, &path, name, 1, limits.max_tag_name);
                }
                self.check_emoji(errs, &format!("available_tags.{i}"), t.emoji_id);
                let id = match t.id.filter(|id| c.tag(*id).is_some()) {
                    Some(id) => id,
                    None => self.services.ids.next()?,
                };
                out.push(ForumTag {
                    id,
                    name: name.to_string(),
                    moderated: t.moderated.unwrap_or(false),
                    emoji_id: t.emoji_id,
                    emoji_name: t.emoji_name.filter(|_| t.emoji_id.is_none()),
                });
            }
            tags = Some(out);
        }
        if let Some(Some(r)) = &f.default_reaction_emoji {
            self.check_emoji(errs, "default_reaction_emoji", r.emoji_id);
            if r.emoji_id.is_none() && r.emoji_name.as_deref().is_none_or(str::is_empty) {
                errs.add("default_reaction_emoji.emoji_name", FieldError::Required);
            }
        }
        if let Some(Some(o)) = f.default_sort_order
            && o > 1
        {
            errs.add(
                "default_sort_order",
                FieldError::Choice {
                    allowed: "0, 1".into(),
                },
            );
        }
        if let Some(l) = f.default_forum_layout
            && l > 2
        {
            errs.add(
                "default_forum_layout",
                FieldError::Choice {
                    allowed: "0, 1, 2".into(),
                },
            );
        }
        if let Some(r) = f.default_thread_rate_limit_per_user {
            check_rate(errs, r);
        }
        std::mem::take(errs).into_result()?;
        let new = c.available_tags.is_none();
        if let Some(t) = tags {
            c.available_tags = Some(t);
        } else if new {
            c.available_tags = Some(Vec::new());
        }
        match f.default_reaction_emoji {
            Some(Some(r)) => c.default_reaction_emoji = ForumOnly::Set(r),
            Some(None) => c.default_reaction_emoji = ForumOnly::Null,
            None if new => c.default_reaction_emoji = ForumOnly::Null,
            None => {}
        }
        match f.default_sort_order {
            Some(Some(o)) => c.default_sort_order = ForumOnly::Set(o),
            Some(None) => c.default_sort_order = ForumOnly::Null,
            None if new => c.default_sort_order = ForumOnly::Null,
            None => {}
        }
        if c.kind == ChannelKind::GuildForum {
            if let Some(l) = f.default_forum_layout {
                c.default_forum_layout = Some(l);
            } else if new {
                c.default_forum_layout = Some(0);
            }
        }
        if let Some(r) = f.default_thread_rate_limit_per_user {
            c.default_thread_rate_limit_per_user = Some(r);
        } else if new {
            c.default_thread_rate_limit_per_user = Some(0);
        }
        if let Some(flags) = flags {
            let settable = settable_flags(c.kind);
            c.flags = (c.flags & !settable) | (flags & settable);
        }
        Ok(())
    }

    /// A custom emoji named by a tag or the default reaction must be one of this guild's.
    fn check_emoji(&self, errs: &mut FieldErrors, path: &str, id: Option<EmojiId>) {
        if let Some(id) = id
            && !self.emojis.iter().any(|e| e.id == id)
        {
            errs.add(&format!("{path}.emoji_id"), FieldError::InvalidSnowflake);
        }
    }

    /// The tags of a post in `forum`, replacing `current`: at most `max_applied_tags`, each one
    /// of the forum's; a moderated tag may be added or removed by MANAGE_THREADS holders only
    /// (50013), while one the post keeps is no obstacle; at least one when the forum has
    /// REQUIRE_TAG (40067). Duplicates are dropped.
    pub(super) fn check_applied_tags(
        &self,
        forum: &ChannelRecord,
        current: &[TagId],
        tags: &[TagId],
        perms: Permissions,
    ) -> Result<Vec<TagId>, ApiError> {
        let max = self.services.config.get().limits.forum.max_applied_tags as usize;
        let mut errs = FieldErrors::default();
        if tags.len() > max {
            errs.add("applied_tags", FieldError::TooMany { max });
        }
        let allowed = || {
            forum
                .available_tags
                .iter()
                .flatten()
                .map(|t| t.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out: Vec<TagId> = Vec::with_capacity(tags.len());
        let mut moderated = false;
        for (i, id) in tags.iter().enumerate() {
            match forum.tag(*id) {
                Some(t) => moderated |= t.moderated && !current.contains(id),
                None => errs.add(
                    &format!("applied_tags.{i}"),
                    FieldError::Choice { allowed: allowed() },
                ),
            }
            if !out.contains(id) {
                out.push(*id);
            }
        }
        errs.into_result()?;
        let removes_moderated = current
            .iter()
            .any(|id| !out.contains(id) && forum.tag(*id).is_some_and(|t| t.moderated));
        if moderated || removes_moderated {
            require(perms, Permissions::MANAGE_THREADS)?;
        }
        if out.is_empty() && forum.flags & channel_flags::REQUIRE_TAG != 0 {
            return Err(coded(40067, "forum-tag-required"));
        }
        Ok(out)
    }

    /// Threads of `parent_id` matching `q` that `user` may see, a page of them with the total,
    /// and the caller's own memberships. The route adds the starter messages.
    pub(super) fn search_threads(
        &self,
        user: UserId,
        parent_id: ChannelId,
        q: &ThreadSearch,
    ) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let parent = self
            .channels
            .get(&parent_id)
            .filter(|c| !c.kind.is_thread())
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        let perms = self.channel_permissions(user, parent);
        if !perms.contains(Permissions::VIEW_CHANNEL) {
            return Err(ApiError::MissingAccess);
        }
        require(perms, Permissions::READ_MESSAGE_HISTORY)?;
        let words: Vec<String> = q
            .name
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let archived = |c: &ChannelRecord| c.thread_metadata.as_ref().is_some_and(|m| m.archived);
        let mut threads: Vec<&ChannelRecord> = self
            .channels
            .values()
            .filter(|c| c.kind.is_thread() && c.parent_id == Some(parent_id))
            .filter(|c| q.archived.is_none_or(|a| archived(c) == a))
            .filter(|c| {
                let name = c.name.as_deref().unwrap_or("").to_lowercase();
                words.iter().all(|w| name.contains(w.as_str()))
            })
            .filter(|c| {
                if q.tags.is_empty() {
                    return true;
                }
                let applied = c.applied_tags.as_deref().unwrap_or(&[]);
                if q.match_all {
                    q.tags.iter().all(|t| applied.contains(t))
                } else {
                    q.tags.iter().any(|t| applied.contains(t))
                }
            })
            .filter(|c| {
                self.channel_permissions(user, c)
                    .contains(Permissions::VIEW_CHANNEL)
            })
            .collect();
        let key = |c: &ChannelRecord| -> (i64, ChannelId) {
            let t = match q.sort_by {
                SortBy::CreationTime => c.id.snowflake().timestamp_ms() as i64,
                SortBy::ArchiveTime => c
                    .thread_metadata
                    .as_ref()
                    .map_or(0, |m| m.archive_timestamp.millis()),
                SortBy::LastMessageTime | SortBy::Relevance => {
                    c.last_message_id
                        .map_or(c.id.snowflake(), |m| m.snowflake())
                        .timestamp_ms() as i64
                }
            };
            (t, c.id)
        };
        threads.sort_by_key(|c| key(c));
        if !q.ascending {
            threads.reverse();
        }
        let total = threads.len();
        let page: Vec<&ChannelRecord> = threads.into_iter().skip(q.offset).take(q.limit).collect();
        let has_more = q.offset + page.len() < total;
        let members = self.own_memberships(user, page.iter().copied());
        Ok(json!({
            "threads": page.iter().map(|c| c.to_json(None)).collect::<Vec<_>>(),
            "members": members,
            "has_more": has_more,
            "total_results": total,
        }))
    }
}

fn check_rate(errs: &mut FieldErrors, r: u32) {
    if r > MAX_RATE_LIMIT {
        errs.add(
            "default_thread_rate_limit_per_user",
            FieldError::NumberMax {
                max: MAX_RATE_LIMIT.into(),
            },
        );
    }
}
