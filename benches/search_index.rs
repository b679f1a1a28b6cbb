//! Message search, per message: what a channel actor pays on the message path (building the
//! index document and handing it to the indexer's queue) next to what the indexer thread pays
//! (applying and committing), measured as batches of 1000 messages committed together — the
//! baseline is the same batch without the commit's flush of a segment (only queueing), in the
//! same run.

use std::hint::black_box;
use std::time::Instant;

use accord::id::{ChannelId, GuildId, MessageId, UserId};
use accord::model::MessageRecord;
use accord::search::{IndexOp, IndexedMessage, IndexerSettings, MessageIndex};
use criterion::{Criterion, criterion_group, criterion_main};

const BATCH: u64 = 1000;

fn message(id: u64) -> MessageRecord {
    let mut m: MessageRecord = serde_json::from_value(serde_json::json!({
        "id": "1", "channel_id": "2", "guild_id": "3", "author_id": "4",
        "content": "", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "reactions": [], "nonce": null,
        "pinned": false, "webhook_id": null, "type": 0, "flags": 0,
        "message_reference": null,
    }))
    .expect("message");
    m.id = MessageId::new(id);
    m.channel_id = ChannelId::new(10 + id % 7);
    m.guild_id = Some(GuildId::new(3));
    m.author_id = UserId::new(100 + id % 13);
    m.content = format!(
        "message {id}: the quick brown fox jumps over the lazy dog, see https://example.com/{id}"
    );
    m
}

fn settings() -> IndexerSettings {
    IndexerSettings {
        queue_capacity: 1 << 20,
        commit_interval_ms: 3_600_000,
        writer_memory_bytes: 50 << 20,
    }
}

fn bench(c: &mut Criterion) {
    let messages: Vec<MessageRecord> = (1..=BATCH).map(message).collect();
    let mut group = c.benchmark_group("search_index");
    group.sample_size(20);
    // The channel actor's share: build the document, queue it (never waits).
    let index = MessageIndex::open(None, settings()).expect("index");
    group.bench_function("document_and_queue_per_message", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let m = &messages[i % messages.len()];
            i += 1;
            if let Some(d) = IndexedMessage::from_record(black_box(m)) {
                index.submit(IndexOp::Upsert(Box::new(d)));
            }
        });
        index.flush().expect("flush");
    });
    // The indexer's share, end to end: 1000 messages queued and committed (searchable).
    let dir = tempfile::tempdir().expect("dir");
    let on_disk = MessageIndex::open(Some(dir.path()), settings()).expect("index");
    group.bench_function("batch_of_1000_indexed_and_committed_on_disk", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for m in &messages {
                    if let Some(d) = IndexedMessage::from_record(m) {
                        on_disk
                            .submit_waiting(IndexOp::Upsert(Box::new(d)))
                            .expect("queue");
                    }
                }
                on_disk.flush().expect("flush");
            }
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
