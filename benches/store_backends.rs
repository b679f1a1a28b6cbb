//! Embedded (redb) vs ScyllaDB backend, same workload, same run: message insert latency (one
//! writer), insert rate (64 concurrent writers over 64 channels, the shape of `loadgen rest`),
//! and page-read latency (latest 50; 50 before a message deep in a 10k-message channel).
//! On Scylla the inserts are measured twice more: stamped as a cluster node's actors stamp them
//! (`store::stamp`, the time of the lease check instead of the send), then plain again, so the
//! stamp's cost is read against plain rows of the same run on either side.
//!
//! `cargo bench --bench store_backends` — the Scylla rows need a CQL server:
//! `ACCORD_SCYLLA_NODES=127.0.0.1:9042` (scripts/cassandra/start.sh starts Cassandra 5 on the
//! machine's JDK, which is what the test suite and the figures in BENCHMARKS.md use). Without
//! it only the embedded rows are printed. Percentiles come from HdrHistogram; the machine is
//! noisy, so compare rows of one run rather than runs.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord::id::{ChannelId, MessageId, SnowflakeGenerator};
use accord::store::embedded::EmbeddedStore;
use accord::store::stamp::{self, WriteStamp};
use accord::store::{Durability, DynStore, MessagePage};
use hdrhistogram::Histogram;

const SEQUENTIAL_INSERTS: usize = 2_000;
const CONCURRENT_WRITERS: usize = 64;
const CONCURRENT_INSERTS: usize = 20_000;
const HISTORY: u64 = 10_000;
const PAGE_READS: usize = 2_000;

struct Row {
    backend: String,
    insert: Histogram<u64>,
    rate: f64,
    latest: Histogram<u64>,
    before: Histogram<u64>,
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

fn micros(d: Duration) -> u64 {
    d.as_micros().clamp(1, 60_000_000) as u64
}

/// An insert as an actor makes it: under the stamp of its lease check when `stamped`.
async fn insert(store: &DynStore, m: &accord::model::MessageRecord, stamped: bool) {
    let at = stamped.then(WriteStamp::now);
    stamp::under(at, store.insert_message(m))
        .await
        .expect("insert");
}

async fn measure(backend: &str, store: DynStore, ids: &SnowflakeGenerator, stamped: bool) -> Row {
    let base = ids.generate().expect("unleased generator").0;
    // One writer: latency of a single acknowledged insert.
    let channel = base;
    let mut insert = hist();
    for _ in 0..SEQUENTIAL_INSERTS {
        let m = common::record(
            ids.generate().expect("unleased generator").0,
            channel,
            "a benchmark message of typical length",
        );
        let t = Instant::now();
        self::insert(&store, &m, stamped).await;
        let _ = insert.record(micros(t.elapsed()));
    }
    // Many writers: what the store sustains when requests overlap (group commit / pipelining).
    let ids_shared = Arc::new(SnowflakeGenerator::new(2, 2).expect("generator"));
    let t = Instant::now();
    let writers: Vec<_> = (0..CONCURRENT_WRITERS)
        .map(|w| {
            let store = store.clone();
            let ids = ids_shared.clone();
            tokio::spawn(async move {
                let channel = base + 1 + w as u64;
                for _ in 0..CONCURRENT_INSERTS / CONCURRENT_WRITERS {
                    let m = common::record(
                        ids.generate().expect("unleased generator").0,
                        channel,
                        "concurrent writer",
                    );
                    self::insert(&store, &m, stamped).await;
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer task");
    }
    let rate = CONCURRENT_INSERTS as f64 / t.elapsed().as_secs_f64();
    // Pages of a long channel.
    let channel = base + 1000;
    let fill: Vec<u64> = (0..HISTORY)
        .map(|_| ids.generate().expect("unleased generator").0)
        .collect();
    for chunk in fill.chunks(CONCURRENT_WRITERS) {
        let writes = chunk.iter().map(|id| {
            let store = store.clone();
            let m = common::record(*id, channel, "history");
            async move { store.insert_message(&m).await.expect("history insert") }
        });
        futures::future::join_all(writes).await;
    }
    let middle = fill[HISTORY as usize / 2];
    let mut latest = hist();
    let mut before = hist();
    for _ in 0..PAGE_READS {
        let t = Instant::now();
        let page = store
            .messages_page(ChannelId::new(channel), MessagePage::Latest, 50)
            .await
            .expect("page");
        let _ = latest.record(micros(t.elapsed()));
        assert_eq!(page.len(), 50);
        let t = Instant::now();
        let page = store
            .messages_page(
                ChannelId::new(channel),
                MessagePage::Before(MessageId::new(middle)),
                50,
            )
            .await
            .expect("page");
        let _ = before.record(micros(t.elapsed()));
        assert_eq!(page.len(), 50);
    }
    Row {
        backend: backend.to_string(),
        insert,
        rate,
        latest,
        before,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: only run for real.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let ids = SnowflakeGenerator::new(1, 1).expect("generator");
    let mut rows = Vec::new();
    rt.block_on(async {
        for durability in [Durability::Eventual, Durability::Immediate] {
            let dir = tempfile::tempdir().expect("tempdir");
            let store: DynStore =
                Arc::new(EmbeddedStore::open(dir.path(), durability).expect("open"));
            let name = format!("embedded ({durability:?})").to_lowercase();
            rows.push(measure(&name, store, &ids, false).await);
        }
        match std::env::var("ACCORD_SCYLLA_NODES") {
            Ok(nodes) => {
                let nodes: Vec<String> = nodes.split(',').map(str::to_string).collect();
                let keyspace = format!("accord_bench_{}", std::process::id());
                let store = accord::store::scylla::ScyllaStore::connect(&nodes, &keyspace)
                    .await
                    .expect("connect to the CQL server");
                let store: DynStore = Arc::new(store);
                let nodes = nodes.join(",");
                for (label, stamped) in [("", false), (", stamped", true), (", again", false)] {
                    let name = format!("scylla ({nodes}){label}");
                    rows.push(measure(&name, store.clone(), &ids, stamped).await);
                }
            }
            Err(_) => eprintln!("ACCORD_SCYLLA_NODES not set: Scylla rows skipped"),
        }
    });
    println!(
        "{:<34} {:>10} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "backend", "insert p50", "p99 (µs)", "inserts/s", "latest p50", "p99", "before p50", "p99"
    );
    for r in &rows {
        println!(
            "{:<34} {:>10} {:>10} {:>12.0} {:>10} {:>10} {:>10} {:>10}",
            r.backend,
            r.insert.value_at_quantile(0.5),
            r.insert.value_at_quantile(0.99),
            r.rate,
            r.latest.value_at_quantile(0.5),
            r.latest.value_at_quantile(0.99),
            r.before.value_at_quantile(0.5),
            r.before.value_at_quantile(0.99),
        );
    }
}
