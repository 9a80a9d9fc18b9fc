//! Native cost of the plain path (`encode_input` of the standard batch's plain
//! input: validate, count, build the views, encode the request), in ns per
//! span, to set beside the same call in wasm (benches/js/bench.mjs).
//! Must not: replace the criterion benchmarks.
//!
//! Usage: `cargo run --release -p otlpx-wasm-plain --example encode_ns [-- ROUNDS]`

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::hint::black_box;
use std::time::Instant;

use otlpx_benches::SPANS;
use otlpx_wasm_plain::encode_input;

fn main() {
    let rounds = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(21usize);
    let input = fixtures::standard_input();
    let per_round = 50;
    let mut samples: Vec<f64> = (0..rounds + 3)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                let _ = black_box(encode_input(black_box(&input)));
            }
            t.elapsed().as_nanos() as f64 / (per_round * SPANS) as f64
        })
        .skip(3)
        .collect();
    samples.sort_by(f64::total_cmp);
    println!(
        "{{\"spans\": {SPANS}, \"rounds\": {rounds}, \"plain_encode_input_ns_per_span\": {:.1}}}",
        samples[samples.len() / 2]
    );
}
