//! Counts heap allocations per span on the standard batch, for otlpx and its
//! peers, with a counting global allocator (per thread, so tests running in
//! parallel do not disturb each other). "Zero allocations per span" is a
//! measurement here, not a claim.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use otlpx_benches::{StandardBatch, SPANS};
use otlpx_core::encode::encode_span;
use prost::Message;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (alloc, alloc_zeroed, realloc) made on this thread by `f`.
fn count(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(|c| c.get());
    f();
    ALLOCATIONS.with(|c| c.get()) - before
}

fn per_span(n: u64) -> f64 {
    n as f64 / SPANS as f64
}

#[test]
fn otlpx_record_and_flush_allocate_nothing() {
    let batch = StandardBatch::new();
    let (batcher, scope) = StandardBatch::batcher();
    let mut out = Vec::with_capacity(batcher.max_request_bytes());
    let mut round = || {
        batch.for_each_span(|s| {
            batcher.record(scope, s).unwrap();
        });
        let taken = batcher.take_batch(false).unwrap();
        batcher.write_request(&taken, &mut out);
        batcher.release(taken);
    };
    round(); // warm: every block touched once
    let record_and_flush = count(&mut round);
    println!("otlpx record + write_request: {record_and_flush} allocations per batch");
    assert_eq!(record_and_flush, 0);
}

#[test]
fn otlpx_encode_only_allocates_nothing() {
    let batch = StandardBatch::new();
    let limits = StandardBatch::batch_config().limits;
    let mut buf = Vec::with_capacity(StandardBatch::batch_config().max_batch_bytes);
    let n = count(|| batch.for_each_span(|s| encode_span(s, &limits, &mut buf)));
    println!("otlpx encode_span: {n} allocations per batch");
    assert_eq!(n, 0);
}

#[test]
fn peers_allocations_per_span() {
    let batch = StandardBatch::new();
    let mut buf = Vec::with_capacity(StandardBatch::batch_config().max_batch_bytes);

    let prost_build = count(|| {
        let req = batch.to_proto();
        buf.clear();
        req.encode(&mut buf).unwrap();
    });

    let req = batch.to_proto();
    let prost_prebuilt = count(|| {
        buf.clear();
        req.encode(&mut buf).unwrap();
    });

    let spans = batch.to_sdk_spans();
    let resource = ResourceAttributesWithSchema::from(&StandardBatch::sdk_resource());
    let clones = spans.clone();
    let sdk = count(|| {
        let req = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(clones, &resource),
        };
        buf.clear();
        req.encode(&mut buf).unwrap();
    });
    let sdk_clone = count(|| drop(spans.clone()));

    println!("allocations per span on the standard batch:");
    println!("  prost_build_and_encode  {:6.2}", per_span(prost_build));
    println!("  prost_encode_prebuilt   {:6.2}", per_span(prost_prebuilt));
    println!("  otel_rust_sdk_path      {:6.2}", per_span(sdk));
    println!("  (SpanData clone)        {:6.2}", per_span(sdk_clone));
    assert_eq!(prost_prebuilt, 0);
    assert!(sdk > 0 && prost_build > 0);
}
