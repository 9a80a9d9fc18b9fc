//! Queue and byte bounds hold with 4 producer threads racing one consumer,
//! and every span is accounted for: accepted = exported + dropped, exactly.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlpx_core::{BatchConfig, Batcher, DropReason, Stats};
use prost::Message;
use support::*;

#[test]
fn four_producers_one_consumer_account_for_every_span() {
    const PER_THREAD: usize = 50_000;
    let cfg = BatchConfig {
        max_queue_size: 256,
        max_export_batch_size: 64,
        max_batch_bytes: 16 * 1024,
        ..BatchConfig::default()
    };
    let stats = Arc::new(Stats::new());
    let res = vec![("service.name".to_string(), OValue::Str("race".into()))];
    let batcher = Arc::new(Batcher::new(cfg, &resource_view(&res, ""), stats.clone()).unwrap());
    let scopes: Vec<_> = (0..3)
        .map(|i| {
            batcher
                .add_scope(&scope_view(&format!("scope{i}"), "1", &[], ""))
                .unwrap()
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));

    let consumer = {
        let batcher = batcher.clone();
        let stats = stats.clone();
        let done = done.clone();
        thread::spawn(move || {
            let mut out = Vec::with_capacity(cfg.max_batch_bytes);
            let mut exported = 0u64;
            let mut max_queued = 0usize;
            loop {
                let finished = done.load(Ordering::Acquire);
                max_queued = max_queued.max(batcher.queued());
                match batcher.take_batch(finished) {
                    Some(batch) => {
                        assert!(batch.len() <= cfg.max_export_batch_size);
                        batcher.write_request(&batch, &mut out);
                        assert!(out.len() <= cfg.max_batch_bytes, "request of {} bytes", out.len());
                        let req = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
                        let n: usize = req.resource_spans[0].scope_spans.iter().map(|s| s.spans.len()).sum();
                        assert_eq!(n, batch.len());
                        exported += n as u64;
                        stats.add_exported(n as u64);
                        batcher.release(batch);
                    }
                    None if finished => break,
                    None => thread::yield_now(),
                }
            }
            (exported, max_queued)
        })
    };

    let producers: Vec<_> = (0..4)
        .map(|t| {
            let batcher = batcher.clone();
            let scopes = scopes.clone();
            thread::spawn(move || {
                let spans: Vec<_> = (0..16).map(|i| view_span(&http_span(i * 4 + t))).collect();
                // One span too large for any batch, now and then.
                let mut big = http_span(t);
                big.attrs.push(("blob".into(), OValue::Bytes(vec![0xab; 20 * 1024])));
                let big = view_span(&big);
                let mut too_large = 0u64;
                for i in 0..PER_THREAD {
                    let span = if i % 1000 == 999 { &big } else { &spans[i % spans.len()] };
                    if let Err(DropReason::TooLarge) = batcher.record(scopes[i % 3], span) {
                        too_large += 1;
                    }
                }
                too_large
            })
        })
        .collect();
    let too_large: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
    done.store(true, Ordering::Release);
    let (exported, max_queued) = consumer.join().unwrap();

    let s = stats.snapshot();
    assert_eq!(s.accepted, 4 * PER_THREAD as u64);
    assert_eq!(s.exported, exported);
    assert_eq!(s.dropped_for(DropReason::TooLarge), too_large);
    assert_eq!(too_large, 4 * (PER_THREAD as u64 / 1000));
    assert_eq!(s.accepted, s.exported + s.dropped_total(), "{s}");
    assert!(max_queued <= cfg.max_queue_size);
    assert!(s.dropped_for(DropReason::QueueFull) > 0 || s.exported > 0);
    assert_eq!(batcher.queued(), 0);
}

#[test]
fn full_queue_drops_and_counts_without_blocking() {
    let cfg = BatchConfig {
        max_queue_size: 8,
        max_export_batch_size: 4,
        ..BatchConfig::default()
    };
    let stats = Arc::new(Stats::new());
    let b = Batcher::new(cfg, &resource_view(&[], ""), stats.clone()).unwrap();
    let scope = b.add_scope(&scope_view("s", "", &[], "")).unwrap();
    let span = view_span(&http_span(1));
    for _ in 0..8 {
        b.record(scope, &span).unwrap();
    }
    assert_eq!(b.record(scope, &span), Err(DropReason::QueueFull));
    assert_eq!(b.record(otlpx_core::ScopeId(99), &span), Err(DropReason::Invalid));
    b.close();
    assert_eq!(b.record(scope, &span), Err(DropReason::Shutdown));
    let s = stats.snapshot();
    assert_eq!(s.accepted, 11);
    assert_eq!(s.dropped_for(DropReason::QueueFull), 1);
    assert_eq!(s.dropped_for(DropReason::Invalid), 1);
    assert_eq!(s.dropped_for(DropReason::Shutdown), 1);
    assert_eq!(s.pending(), 8);
    // Queued spans are still taken after close.
    let mut n = 0;
    while let Some(batch) = b.take_batch(true) {
        n += batch.len();
        b.release(batch);
    }
    assert_eq!(n, 8);
}

#[test]
fn byte_cap_seals_batches_and_refuses_oversized_spans() {
    let cfg = BatchConfig {
        max_queue_size: 1000,
        max_export_batch_size: 50,
        max_batch_bytes: 4096,
        ..BatchConfig::default()
    };
    let stats = Arc::new(Stats::new());
    let b = Batcher::new(cfg, &resource_view(&[], ""), stats.clone()).unwrap();
    let scope = b.add_scope(&scope_view("s", "1", &[], "")).unwrap();
    let span = view_span(&http_span(1));
    for _ in 0..100 {
        b.record(scope, &span).unwrap();
    }
    let mut big = http_span(2);
    big.name = "x".repeat(5000);
    assert_eq!(b.record(scope, &view_span(&big)), Err(DropReason::TooLarge));
    let mut out = Vec::new();
    let mut total = 0;
    while let Some(batch) = b.take_batch(true) {
        b.write_request(&batch, &mut out);
        assert!(out.len() <= 4096);
        total += batch.len();
        b.release(batch);
    }
    assert_eq!(total, 100);
    assert!(Batcher::new(
        BatchConfig {
            max_batch_bytes: 65 << 20,
            ..BatchConfig::default()
        },
        &resource_view(&[], ""),
        stats
    )
    .is_err());
}
