//! Overload: 4 threads produce 1,000,000 spans as fast as they can against
//! a slow receiver. Memory stays under the exporter's bound plus 16 MiB and
//! every span is accounted for: accepted = exported + dropped, exactly.
//! (Its own test binary, so the process's peak RSS is this test's alone.)

mod support;

use std::sync::Arc;
use std::time::Duration;

use otlpx_core::config::Config;
use otlpx_core::exporter::Exporter;
use otlpx_core::log::Logger;
use otlpx_core::DropReason;
use otlpx_receiver::{Behavior, Receiver, ReceiverConfig};
use support::*;

fn status_kib(field: &str) -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn a_million_spans_from_four_threads_stay_bounded_and_accounted() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_default_behavior(Behavior::Delay(Duration::from_millis(20)));
    // Views built before measuring: they are the test's, not the exporter's.
    let spans: Vec<_> = (0..64).map(|i| view_span(&http_span(i))).collect();
    let spans = Arc::new(spans);
    let baseline = status_kib("VmRSS:") * 1024;

    let (cfg, _) = Config::builder().endpoint(rx.traces_url()).build_from_lookup(|_| None);
    let exp = Arc::new(
        Exporter::builder()
            .config(cfg)
            .logger(Logger::silent())
            .build()
            .unwrap(),
    );
    let bound = exp.memory_bound();
    let producers: Vec<_> = (0..4)
        .map(|t| {
            let exp = exp.clone();
            let spans = spans.clone();
            std::thread::spawn(move || {
                let scope = exp.default_scope();
                for i in 0..250_000usize {
                    let _ = exp.record(scope, &spans[(i + t) % spans.len()]);
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let out = exp.shutdown(Duration::from_secs(30));
    assert!(!out.timed_out, "{out}");
    let peak = status_kib("VmHWM:") * 1024;
    let s = exp.stats();
    assert_eq!(s.accepted, 1_000_000);
    assert_eq!(s.accepted, s.exported + s.dropped_total(), "{s}");
    assert!(
        s.dropped_for(DropReason::QueueFull) > 0,
        "a slow receiver must make the queue overflow: {s}"
    );
    assert_eq!(rx.span_count() as u64, s.exported);
    let grown = peak.saturating_sub(baseline);
    eprintln!(
        "peak RSS grew {} KiB; bound {} KiB; exported {}, dropped {}",
        grown / 1024,
        bound / 1024,
        s.exported,
        s.dropped_total()
    );
    assert!(
        grown <= bound + (16 << 20),
        "RSS grew {grown} bytes, over the bound {bound} + 16 MiB"
    );
}
