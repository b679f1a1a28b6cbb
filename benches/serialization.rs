//! Event serialization: serde_json vs simd-json for a MESSAGE_CREATE-sized payload, both ways.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn serialization(c: &mut Criterion) {
    let message = common::message_json();
    let frame = common::frame();
    let mut g = c.benchmark_group("message_create");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("serialize/serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&message)).unwrap())
    });
    g.bench_function("serialize/simd_json", |b| {
        b.iter(|| simd_json::to_vec(black_box(&message)).unwrap())
    });
    let record = common::record(1334466442357440512, 81384788765712384, "hello world");
    g.bench_function("serialize/to_json+serde_json", |b| {
        let author = common::author();
        b.iter(|| serde_json::to_vec(&black_box(&record).to_json(&author, &[], None)).unwrap())
    });
    g.bench_function("parse/serde_json", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&frame)).unwrap())
    });
    g.bench_function("parse/simd_json", |b| {
        b.iter_batched_ref(
            || frame.clone(),
            |buf| simd_json::from_slice::<serde_json::Value>(buf).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, serialization);
criterion_main!(benches);
