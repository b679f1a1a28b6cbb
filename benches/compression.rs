//! zlib-stream compression per event: one connection's stream compressing consecutive
//! MESSAGE_CREATE frames (what a `compress=zlib-stream` session pays per event), and the ratio.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use accord::gateway::compress::{DeflateSize, ZlibStream, compress_payload};

fn compression(c: &mut Criterion) {
    let frame = common::frame();
    let mut z = ZlibStream::new(DeflateSize::default()).unwrap();
    let first = z.compress(&frame).unwrap().len();
    let warm = z.compress(&frame).unwrap().len();
    eprintln!(
        "zlib-stream: frame {} B → first {first} B, later {warm} B ({:.0}%)",
        frame.len(),
        100.0 * warm as f64 / frame.len() as f64
    );
    let mut g = c.benchmark_group("zlib_stream");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("compress_event", |b| {
        let mut z = ZlibStream::new(DeflateSize::default()).unwrap();
        b.iter(|| z.compress(black_box(&frame)).unwrap())
    });
    g.bench_function("new_stream+first_event", |b| {
        b.iter(|| {
            ZlibStream::new(DeflateSize::default())
                .unwrap()
                .compress(black_box(&frame))
                .unwrap()
        })
    });
    g.bench_function("one_shot_payload", |b| {
        b.iter(|| compress_payload(black_box(&frame)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, compression);
criterion_main!(benches);
