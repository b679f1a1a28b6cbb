//! The embedded store (redb) in a temporary directory: message insert (eventual and immediate
//! durability) and reading a page (latest 50, and 50 before a message deep in the channel).

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use accord::id::{ChannelId, MessageId, SnowflakeGenerator};
use accord::store::embedded::EmbeddedStore;
use accord::store::{Durability, MessagePage, Store};

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ids = Arc::new(SnowflakeGenerator::new(1, 1).unwrap());
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(1));
    for (name, durability, samples) in [
        ("insert_message/eventual", Durability::Eventual, 100),
        ("insert_message/immediate", Durability::Immediate, 20),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), durability).unwrap();
        let channel = 81384788765712384;
        g.sample_size(samples);
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let m = common::record(
                    ids.generate().expect("unleased generator").0,
                    channel,
                    "a benchmark message of typical length",
                );
                let store = &store;
                async move { store.insert_message(&m).await.unwrap() }
            })
        });
        g.sample_size(100);
    }

    // Pages: a channel with 10k messages.
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), Durability::Eventual).unwrap();
    let channel = 81384788765712385;
    let middle = AtomicU64::new(0);
    rt.block_on(async {
        for i in 0..10_000u64 {
            let id = ids.generate().expect("unleased generator").0;
            if i == 5_000 {
                middle.store(id, Ordering::Relaxed);
            }
            store
                .insert_message(&common::record(id, channel, "history"))
                .await
                .unwrap();
        }
    });
    let middle = MessageId::new(middle.load(Ordering::Relaxed));
    g.throughput(Throughput::Elements(50));
    g.bench_function("messages_page/latest_50", |b| {
        b.to_async(&rt).iter(|| async {
            let page = store
                .messages_page(ChannelId::new(channel), MessagePage::Latest, 50)
                .await
                .unwrap();
            assert_eq!(page.len(), 50);
        })
    });
    g.bench_function("messages_page/before_middle_50", |b| {
        b.to_async(&rt).iter(|| async {
            let page = store
                .messages_page(ChannelId::new(channel), MessagePage::Before(middle), 50)
                .await
                .unwrap();
            assert_eq!(page.len(), 50);
        })
    });
    g.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
