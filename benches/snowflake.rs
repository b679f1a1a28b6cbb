//! Snowflake generation: one thread, and two threads contending on one generator.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use accord::id::SnowflakeGenerator;

fn snowflake(c: &mut Criterion) {
    let mut g = c.benchmark_group("snowflake");
    g.throughput(Throughput::Elements(1));
    let ids = SnowflakeGenerator::new(0, 0).unwrap();
    g.bench_function("generate", |b| b.iter(|| black_box(ids.generate())));
    g.throughput(Throughput::Elements(2 * 10_000));
    g.bench_function("generate/2_threads_x10k", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..10_000 {
                            let _ = black_box(ids.generate());
                        }
                    });
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, snowflake);
criterion_main!(benches);
