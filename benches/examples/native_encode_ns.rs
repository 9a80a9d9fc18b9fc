//! Native encoding of the standard batch, in ns per span, for the Node
//! benchmark's table (`benches/js/bench.mjs` runs this in the same session).
//!
//! Owns: a small timing loop over the two otlpx paths criterion measures in
//! `benches/encode.rs` (`otlpx_encode_request` and `otlpx_encode_only`), with
//! the median of several rounds, printed as one JSON line.
//! Must not: replace the criterion benchmark (it is the reference figure:
//! `cargo bench -p otlpx-benches --bench encode -- standard_batch_512/otlpx`).
//!
//! Usage: `cargo run --release -p otlpx-benches --example native_encode_ns [-- ROUNDS]`

use std::hint::black_box;
use std::time::Instant;

use otlpx_benches::{fnv1a64, StandardBatch, SPANS, STANDARD_REQUEST_FNV1A64};
use otlpx_core::encode::encode_span;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `f` (one batch per call) for rounds of about 20 ms each after a
/// warm-up; returns the median ns per span.
fn measure(rounds: usize, mut f: impl FnMut()) -> f64 {
    let warm = Instant::now();
    let mut calls = 0u64;
    while warm.elapsed().as_millis() < 200 {
        f();
        calls += 1;
    }
    let per_round = ((calls as f64 / 10.0).ceil() as u64).max(1); // ~20 ms
    let samples = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                f();
            }
            t.elapsed().as_nanos() as f64 / (per_round as f64 * SPANS as f64)
        })
        .collect();
    median(samples)
}

fn main() {
    let rounds = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(31usize);
    let batch = StandardBatch::new();
    let limits = StandardBatch::batch_config().limits;

    // The whole flush: record the 512 spans, take, write the request, release.
    let (batcher, scope) = StandardBatch::batcher();
    let mut out = Vec::with_capacity(batcher.max_request_bytes());
    let flush = |out: &mut Vec<u8>| {
        batch.for_each_span(|s| {
            let _ = black_box(batcher.record(scope, s));
        });
        if let Some(taken) = batcher.take_batch(false) {
            batcher.write_request(&taken, out);
            batcher.release(taken);
        }
        black_box(out.len());
    };
    flush(&mut out);
    assert_eq!(
        fnv1a64(&out),
        STANDARD_REQUEST_FNV1A64,
        "the timed request is the standard request"
    );
    let encode_request = measure(rounds, || flush(&mut out));

    // Span encoding only, into one reused buffer.
    let mut buf = Vec::with_capacity(out.len());
    let encode_only = measure(rounds, || {
        buf.clear();
        batch.for_each_span(|s| encode_span(s, &limits, &mut buf));
        black_box(buf.len());
    });

    println!(
        "{{\"spans\": {SPANS}, \"rounds\": {rounds}, \"otlpx_encode_request_ns_per_span\": {encode_request:.1}, \
         \"otlpx_encode_only_ns_per_span\": {encode_only:.1}}}"
    );
}
