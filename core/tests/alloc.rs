//! A counting global allocator proves zero heap allocations per span in
//! steady state: encode, enqueue, and the flush cycle (take, frame, release).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use otlpx_core::{BatchConfig, Batcher, Enqueued, Stats};
use support::*;

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn zero_allocations_per_span_in_steady_state() {
    let res = vec![("service.name".to_string(), OValue::Str("checkout".into()))];
    let batcher = Batcher::new(BatchConfig::default(), &resource_view(&res, ""), Arc::new(Stats::new())).unwrap();
    let scope = batcher.add_scope(&scope_view("io.otlpx.test", "1.0", &[], "")).unwrap();
    let spans: Vec<_> = (0..64).map(|i| view_span(&http_span(i))).collect();
    let mut request = Vec::with_capacity(batcher.max_request_bytes());

    let mut cycle = |n: usize| {
        for i in 0..n {
            if batcher.record(scope, &spans[i % spans.len()]).unwrap() == Enqueued::BatchReady {
                while let Some(batch) = batcher.take_batch(false) {
                    batcher.write_request(&batch, &mut request);
                    assert!(!request.is_empty());
                    batcher.release(batch);
                }
            }
        }
        while let Some(batch) = batcher.take_batch(true) {
            batcher.write_request(&batch, &mut request);
            batcher.release(batch);
        }
    };
    cycle(2_000); // warm-up: every block used once
    let before = ALLOCS.load(Ordering::SeqCst);
    cycle(10_000);
    let after = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "heap allocations during 10,000 spans");

    // Encoding alone, into a reused buffer.
    let limits = otlpx_core::SpanLimits::default();
    let mut buf = Vec::with_capacity(4096);
    let before = ALLOCS.load(Ordering::SeqCst);
    for s in spans.iter().cycle().take(10_000) {
        buf.clear();
        otlpx_core::encode::encode_span(s, &limits, &mut buf);
    }
    assert_eq!(ALLOCS.load(Ordering::SeqCst) - before, 0);
}
