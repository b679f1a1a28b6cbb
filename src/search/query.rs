//! A guild message search as the index runs it: every filter Discord documents that the index
//! holds, ANDed; values of one filter ORed (`author_id=1&author_id=2`); `-x` values of `has`
//! and `author_type` excluded. Content words must all occur (case-insensitive, whole words).

use std::ops::Bound;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Term, Value};
use tantivy::{Index, IndexReader, Order, TantivyDocument};

use super::{Fields, SearchError};
use crate::id::{ChannelId, GuildId, MessageId, RoleId, UserId};

/// Result order (Discord's `sort_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Timestamp,
    Relevance,
}

/// One search, checked by the route; `channels` are those the caller may read (and asked
/// for), so an empty list finds nothing.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub guild: GuildId,
    pub channels: Vec<ChannelId>,
    pub content: Option<String>,
    pub authors: Vec<UserId>,
    /// `user`, `webhook` (and `bot`, indexed as `user`) with `-` for exclusion.
    pub author_types: Vec<String>,
    pub mentions: Vec<UserId>,
    pub mention_roles: Vec<RoleId>,
    pub mention_everyone: Option<bool>,
    pub pinned: Option<bool>,
    /// Discord's `has` values, `-x` excluding.
    pub has: Vec<String>,
    pub min_id: Option<MessageId>,
    pub max_id: Option<MessageId>,
    pub sort_by: SortBy,
    pub ascending: bool,
    pub limit: usize,
    pub offset: usize,
}

/// A page of results: `(channel, message)` in order, and how many matched in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hits {
    pub total: usize,
    pub messages: Vec<(ChannelId, MessageId)>,
}

fn term(t: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(t, IndexRecordOption::Basic))
}

/// Any of `terms` (a must-clause of shoulds); None when there are none.
fn any_of(terms: impl IntoIterator<Item = Term>) -> Option<Box<dyn Query>> {
    let clauses: Vec<(Occur, Box<dyn Query>)> = terms
        .into_iter()
        .map(|t| (Occur::Should, term(t)))
        .collect();
    (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
}

fn build(index: &Index, f: &Fields, q: &SearchQuery) -> Result<Box<dyn Query>, SearchError> {
    let mut must: Vec<(Occur, Box<dyn Query>)> = vec![
        (Occur::Must, Box::new(AllQuery)),
        (
            Occur::Must,
            term(Term::from_field_u64(f.guild_id, q.guild.get())),
        ),
    ];
    let mut push = |occur: Occur, query: Option<Box<dyn Query>>| {
        if let Some(query) = query {
            must.push((occur, query));
        }
    };
    push(
        Occur::Must,
        any_of(
            q.channels
                .iter()
                .map(|c| Term::from_field_u64(f.channel_id, c.get())),
        ),
    );
    push(
        Occur::Must,
        any_of(
            q.authors
                .iter()
                .map(|a| Term::from_field_u64(f.author_id, a.get())),
        ),
    );
    push(
        Occur::Must,
        any_of(
            q.mentions
                .iter()
                .map(|u| Term::from_field_u64(f.mentions, u.get())),
        ),
    );
    push(
        Occur::Must,
        any_of(
            q.mention_roles
                .iter()
                .map(|r| Term::from_field_u64(f.mention_roles, r.get())),
        ),
    );
    if let Some(e) = q.mention_everyone {
        push(
            Occur::Must,
            Some(term(Term::from_field_bool(f.mention_everyone, e))),
        );
    }
    if let Some(p) = q.pinned {
        push(Occur::Must, Some(term(Term::from_field_bool(f.pinned, p))));
    }
    let (has_not, has): (Vec<&String>, Vec<&String>) =
        q.has.iter().partition(|h| h.starts_with('-'));
    for h in has {
        push(Occur::Must, Some(term(Term::from_field_text(f.has, h))));
    }
    for h in has_not {
        push(
            Occur::MustNot,
            Some(term(Term::from_field_text(f.has, &h[1..]))),
        );
    }
    let (types_not, types): (Vec<&String>, Vec<&String>) =
        q.author_types.iter().partition(|t| t.starts_with('-'));
    push(
        Occur::Must,
        any_of(
            types
                .iter()
                .map(|t| Term::from_field_text(f.author_type, t)),
        ),
    );
    for t in types_not {
        push(
            Occur::MustNot,
            Some(term(Term::from_field_text(f.author_type, &t[1..]))),
        );
    }
    if q.min_id.is_some() || q.max_id.is_some() {
        let lower = q.min_id.map_or(Bound::Unbounded, |m| {
            Bound::Excluded(Term::from_field_u64(f.message_id, m.get()))
        });
        let upper = q.max_id.map_or(Bound::Unbounded, |m| {
            Bound::Excluded(Term::from_field_u64(f.message_id, m.get()))
        });
        push(Occur::Must, Some(Box::new(RangeQuery::new(lower, upper))));
    }
    if let Some(content) = q.content.as_deref() {
        let mut analyzer = index.tokenizer_for_field(f.content)?;
        let mut stream = analyzer.token_stream(content);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            words.push(Term::from_field_text(f.content, &token.text));
        }
        for w in words {
            push(
                Occur::Must,
                Some(Box::new(TermQuery::new(w, IndexRecordOption::WithFreqs))),
            );
        }
    }
    Ok(Box::new(BooleanQuery::new(must)))
}

pub(super) fn run(
    index: &Index,
    reader: &IndexReader,
    f: &Fields,
    q: &SearchQuery,
) -> Result<Hits, SearchError> {
    if q.channels.is_empty() || q.limit == 0 {
        return Ok(Hits::default());
    }
    let query = build(index, f, q)?;
    let searcher = reader.searcher();
    let top = TopDocs::with_limit(q.limit).and_offset(q.offset);
    let (total, addresses) = match q.sort_by {
        SortBy::Timestamp => {
            let order = if q.ascending { Order::Asc } else { Order::Desc };
            let (total, docs) = searcher.search(
                &query,
                &(Count, top.order_by_u64_field("message_id", order)),
            )?;
            (total, docs.into_iter().map(|(_, a)| a).collect::<Vec<_>>())
        }
        SortBy::Relevance => {
            let (total, docs) = searcher.search(&query, &(Count, top.order_by_score()))?;
            (total, docs.into_iter().map(|(_, a)| a).collect())
        }
    };
    let mut messages = Vec::with_capacity(addresses.len());
    for a in addresses {
        let doc: TantivyDocument = searcher.doc(a)?;
        let id = doc.get_first(f.message_id).and_then(|v| v.as_u64());
        let channel = doc.get_first(f.channel_id).and_then(|v| v.as_u64());
        if let (Some(id), Some(channel)) = (id, channel) {
            messages.push((ChannelId::new(channel), MessageId::new(id)));
        }
    }
    Ok(Hits { total, messages })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::document::AuthorKind;
    use crate::search::{IndexOp, IndexedMessage, IndexerSettings, MessageIndex};

    fn doc(id: u64, channel: u64, author: u64, content: &str, has: &[&'static str]) -> IndexOp {
        IndexOp::Upsert(Box::new(IndexedMessage {
            id: MessageId::new(id),
            guild_id: GuildId::new(1),
            channel_id: ChannelId::new(channel),
            author_id: UserId::new(author),
            author_kind: if author == 9 {
                AuthorKind::Webhook
            } else {
                AuthorKind::User
            },
            content: content.into(),
            mentions: if id == 3 {
                vec![UserId::new(7)]
            } else {
                vec![]
            },
            mention_roles: vec![],
            mention_everyone: false,
            pinned: id == 2,
            has: has.to_vec(),
        }))
    }

    fn query(channels: &[u64]) -> SearchQuery {
        SearchQuery {
            guild: GuildId::new(1),
            channels: channels.iter().map(|c| ChannelId::new(*c)).collect(),
            limit: 25,
            ..SearchQuery::default()
        }
    }

    fn ids(h: &Hits) -> Vec<u64> {
        h.messages.iter().map(|(_, m)| m.get()).collect()
    }

    #[test]
    fn filters_sort_and_page() {
        let settings = IndexerSettings {
            queue_capacity: 100,
            commit_interval_ms: 10,
            writer_memory_bytes: 15_000_000,
        };
        let index = MessageIndex::open(None, settings).expect("index");
        index.submit(doc(1, 10, 5, "Hello brave new world", &[]));
        index.submit(doc(2, 10, 6, "hello again https://x.y", &["link"]));
        index.submit(doc(3, 11, 5, "a picture", &["file", "image"]));
        index.submit(doc(4, 12, 9, "hello from a hook", &[]));
        index.submit(doc(5, 10, 5, "deleted soon", &[]));
        index.submit(IndexOp::Delete(vec![MessageId::new(5)]));
        index.flush().expect("flush");
        assert_eq!(index.documents(), 4);

        let all = index.search(&query(&[10, 11, 12])).expect("search");
        assert_eq!(all.total, 4);
        assert_eq!(ids(&all), vec![4, 3, 2, 1], "newest first");
        // Only readable channels.
        assert_eq!(index.search(&query(&[11])).expect("search").total, 1);
        assert_eq!(index.search(&query(&[])).expect("search").total, 0);

        let mut q = query(&[10, 11, 12]);
        q.content = Some("HELLO".into());
        assert_eq!(ids(&index.search(&q).expect("search")), vec![4, 2, 1]);
        q.content = Some("hello world".into());
        assert_eq!(ids(&index.search(&q).expect("search")), vec![1]);

        let mut q = query(&[10, 11, 12]);
        q.authors = vec![UserId::new(5), UserId::new(6)];
        assert_eq!(index.search(&q).expect("search").total, 3);
        q.has = vec!["-image".into()];
        assert_eq!(ids(&index.search(&q).expect("search")), vec![2, 1]);

        let mut q = query(&[10, 11, 12]);
        q.has = vec!["link".into()];
        assert_eq!(ids(&index.search(&q).expect("search")), vec![2]);
        let mut q = query(&[10, 11, 12]);
        q.mentions = vec![UserId::new(7)];
        assert_eq!(ids(&index.search(&q).expect("search")), vec![3]);
        let mut q = query(&[10, 11, 12]);
        q.pinned = Some(true);
        assert_eq!(ids(&index.search(&q).expect("search")), vec![2]);
        let mut q = query(&[10, 11, 12]);
        q.author_types = vec!["webhook".into()];
        assert_eq!(ids(&index.search(&q).expect("search")), vec![4]);
        q.author_types = vec!["-webhook".into()];
        assert_eq!(index.search(&q).expect("search").total, 3);

        let mut q = query(&[10, 11, 12]);
        q.min_id = Some(MessageId::new(1));
        q.max_id = Some(MessageId::new(4));
        assert_eq!(ids(&index.search(&q).expect("search")), vec![3, 2]);

        let mut q = query(&[10, 11, 12]);
        q.ascending = true;
        q.limit = 2;
        q.offset = 1;
        let page = index.search(&q).expect("search");
        assert_eq!(page.total, 4);
        assert_eq!(ids(&page), vec![2, 3]);

        // An edit replaces the document; a deleted channel takes its messages along.
        index.submit(doc(1, 10, 5, "goodbye", &[]));
        index.submit(IndexOp::DeleteChannel(ChannelId::new(12)));
        index.flush().expect("flush");
        let mut q = query(&[10, 11, 12]);
        q.content = Some("hello".into());
        assert_eq!(ids(&index.search(&q).expect("search")), vec![2]);
        index.submit(IndexOp::DeleteGuild(GuildId::new(1)));
        index.flush().expect("flush");
        assert_eq!(index.documents(), 0);
    }
}
