//! Encoding the standard batch (512 spans, see `otlpx_benches`): otlpx and its
//! peers, measured in the same run, one iteration = the whole batch.
//!
//! Owns: the group `standard_batch_512` (the question "what does it cost to
//! turn a finished batch of spans into OTLP request bytes?") and the side
//! group `standard_batch_512_side` (costs the main group leaves out, reported
//! so that nothing is hidden).
//! Must not: change the workload (it lives in `otlpx_benches`), or time
//! setup that a real exporter would not pay.
//!
//! What each timed section contains, per iteration:
//! - `otlpx_encode_enqueue`: building the 512 stack views and `Batcher::record`
//!   of each (size computation, lock, encoding into the preallocated block).
//!   Taking and releasing the sealed batch happens after the timer stops
//!   (`iter_custom`).
//! - `otlpx_encode_only`: `encode_span` of each view into one reused `Vec`
//!   (cleared per iteration); no batcher, no lock, no request framing.
//! - `otlpx_encode_request`: `record` of the 512 spans, `take_batch`,
//!   `write_request` (the full `ExportTraceServiceRequest` bytes, a copy of
//!   the block) into a reused `Vec`, and `release`: the whole flush.
//! - `prost_build_and_encode`: building opentelemetry-proto structs from the
//!   owned data, `encode` into a reused cleared `Vec`, dropping the structs.
//! - `prost_encode_prebuilt`: `encode` of prebuilt structs into a reused
//!   cleared `Vec`.
//! - `otel_rust_sdk_path`: the opentelemetry-otlp exporter's work for one
//!   batch: `group_spans_by_resource_and_scope` over 512 owned `SpanData`
//!   (consumed), `encode` of the request, dropping it. The `SpanData` clones
//!   the exporter receives are made in setup (`iter_batched`), untimed: the
//!   SDK's span processor hands the exporter owned spans, so the clone is part
//!   of neither path (it is reported in the side group). The real exporter
//!   calls `encode_to_vec` (a fresh 254 KB allocation per batch); here it gets
//!   a reused `Vec`, which favours it slightly.
//! - `memcpy_floor`: copying the request bytes (254 KB) into a preallocated
//!   buffer: the least any encoder that writes the bytes can cost.
//!
//! The side group splits (i) and bounds it from below:
//! - `otlpx_view_build`: building the 512 stack views alone (part of (i)).
//! - `otlpx_encode_enqueue_prebuilt_views`: (i) from views built in setup,
//!   as (iv) starts from `SpanData` built in setup.
//! - `floor_shape_writer` / `floor_shape_writer_prebuilt_views`: the same
//!   entry bytes written by [`otlpx_benches::floor::write_entry`], a writer
//!   for exactly the standard span's shape with no type dispatch, no limits,
//!   no bounds checks, no batcher (into a preallocated buffer); with the
//!   views built in the loop as in (i), and from prebuilt views.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use otlpx_benches::{floor, StandardBatch, SPANS};
use otlpx_core::encode::encode_span;
use otlpx_core::Batcher;
use prost::Message;

/// Times `record_all` (recording the 512 spans) `iters` times; taking and
/// releasing the sealed batch after each round is untimed.
fn timed_records(iters: u64, batcher: &Batcher, mut record_all: impl FnMut()) -> Duration {
    let mut timed = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        record_all();
        timed += start.elapsed();
        let taken = batcher.take_batch(false).expect("512 spans seal one batch");
        assert_eq!(taken.len(), SPANS);
        batcher.release(taken);
    }
    timed
}

fn standard_batch_512(c: &mut Criterion) {
    let batch = StandardBatch::new();
    let request = batch.otlpx_request();
    let limits = StandardBatch::batch_config().limits;

    let mut g = c.benchmark_group("standard_batch_512");
    g.throughput(Throughput::Elements(SPANS as u64));

    // (i) record into the batcher; draining is untimed.
    {
        let (batcher, scope) = StandardBatch::batcher();
        g.bench_function("otlpx_encode_enqueue", |b| {
            b.iter_custom(|iters| {
                let mut refused = 0usize;
                let timed = timed_records(iters, &batcher, || {
                    batch.for_each_span(|s| {
                        if black_box(batcher.record(scope, s)).is_err() {
                            refused += 1;
                        }
                    })
                });
                assert_eq!(
                    refused, 0,
                    "the batcher refused spans: the timing would be of the drop path"
                );
                timed
            })
        });
    }

    // (i-b) encode only, into one reused buffer.
    {
        let mut buf = Vec::with_capacity(request.len());
        g.bench_function("otlpx_encode_only", |b| {
            b.iter(|| {
                buf.clear();
                batch.for_each_span(|s| encode_span(s, &limits, &mut buf));
                black_box(buf.len());
            })
        });
    }

    // (i-c) record, then the whole flush: take, write the request, release.
    {
        let (batcher, scope) = StandardBatch::batcher();
        let mut out = Vec::with_capacity(batcher.max_request_bytes());
        g.bench_function("otlpx_encode_request", |b| {
            b.iter(|| {
                batch.for_each_span(|s| {
                    let _ = black_box(batcher.record(scope, s));
                });
                let taken = batcher.take_batch(false).expect("512 spans seal one batch");
                batcher.write_request(&taken, &mut out);
                batcher.release(taken);
                black_box(out.len());
            })
        });
        // Empty when a filter skipped this function.
        assert!(
            out.is_empty() || out == request,
            "the timed request is the standard request"
        );
    }

    // (ii) build prost structs from the owned data, then encode.
    {
        let mut buf = Vec::with_capacity(request.len());
        g.bench_function("prost_build_and_encode", |b| {
            b.iter(|| {
                let req = batch.to_proto();
                buf.clear();
                req.encode(&mut buf).expect("a Vec grows");
                black_box(buf.len());
            })
        });
    }

    // (iii) encode prebuilt prost structs.
    {
        let req = batch.to_proto();
        let mut buf = Vec::with_capacity(request.len());
        g.bench_function("prost_encode_prebuilt", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&req).encode(&mut buf).expect("a Vec grows");
                black_box(buf.len());
            })
        });
    }

    // (iv) opentelemetry-rust: SpanData -> prost structs -> bytes.
    {
        let spans = batch.to_sdk_spans();
        let resource = ResourceAttributesWithSchema::from(&StandardBatch::sdk_resource());
        let mut buf = Vec::with_capacity(request.len());
        g.bench_function("otel_rust_sdk_path", |b| {
            b.iter_batched(
                || spans.clone(),
                |spans| {
                    let req = ExportTraceServiceRequest {
                        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
                    };
                    buf.clear();
                    req.encode(&mut buf).expect("a Vec grows");
                    black_box(buf.len());
                },
                BatchSize::SmallInput,
            )
        });
    }

    // (v) the floor: copy the request bytes.
    {
        let mut dst = vec![0u8; request.len()];
        g.bench_function("memcpy_floor", |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&request));
                black_box(dst.as_ptr());
            })
        });
    }
    g.finish();

    // Costs left out of the main group.
    let mut side = c.benchmark_group("standard_batch_512_side");
    side.throughput(Throughput::Elements(SPANS as u64));
    {
        // The clone (iv) makes in setup; its drop is untimed too.
        let spans = batch.to_sdk_spans();
        side.bench_function("otel_rust_sdk_clone_span_data", |b| {
            b.iter_with_large_drop(|| spans.clone())
        });
    }
    {
        // take_batch + release, which (i) leaves out.
        let (batcher, scope) = StandardBatch::batcher();
        side.bench_function("otlpx_take_and_release", |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    batch.for_each_span(|s| {
                        let _ = batcher.record(scope, s);
                    });
                    let start = Instant::now();
                    let taken = batcher.take_batch(false).expect("512 spans seal one batch");
                    batcher.release(black_box(taken));
                    timed += start.elapsed();
                }
                timed
            })
        });
    }
    {
        side.bench_function("otlpx_view_build", |b| {
            b.iter(|| {
                batch.for_each_span(|s| {
                    black_box(s);
                })
            })
        });
    }
    batch.with_prebuilt_views(|views| {
        let (batcher, scope) = StandardBatch::batcher();
        side.bench_function("otlpx_encode_enqueue_prebuilt_views", |b| {
            b.iter_custom(|iters| {
                timed_records(iters, &batcher, || {
                    for s in views {
                        let _ = black_box(batcher.record(scope, s));
                    }
                })
            })
        });
    });
    {
        assert!(
            request.ends_with(&floor::batch_entries(&batch)),
            "the floor writes the request's span entries"
        );
        // Room for every entry at its bound.
        let mut buf = vec![0u8; floor::batch_room(&batch)];
        let out = buf.as_mut_ptr();
        side.bench_function("floor_shape_writer", |b| {
            // SAFETY: `buf` holds `batch_room` bytes; each iteration writes the same entries again.
            b.iter(|| black_box(unsafe { floor::write_batch(out, &batch) }))
        });
        batch.with_prebuilt_views(|views| {
            side.bench_function("floor_shape_writer_prebuilt_views", |b| {
                // SAFETY: as above (the same spans' views).
                b.iter(|| black_box(unsafe { floor::write_views(out, views) }))
            });
        });
    }
    side.finish();
}

criterion_group!(benches, standard_batch_512);
criterion_main!(benches);
