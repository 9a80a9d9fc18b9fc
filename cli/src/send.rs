//! `otlpx send`: records exactly N test spans from T threads into an exporter configured from the
//! environment, shuts it down, and reports the outcome, the stats and the rate achieved.
//!
//! Owns: splitting the work between threads and timing it. Must not: wait for back-pressure or retry a
//! refused span (a full queue drops, as it would in a real service: the stats say so), or print secrets.

use std::thread;
use std::time::Instant;

use otlpx_core::config::Config;

use crate::args::SendArgs;
use crate::export::{build_exporter, check_delivered, print_outcome, rate, show_duration};
use crate::output::{outln, stderr_logger, Exit};
use crate::spans::ServerSpans;

/// How many of `total` spans thread `i` of `threads` records: an even split, the first ones taking the
/// remainder.
pub fn share(total: u64, threads: u64, i: u64) -> u64 {
    total / threads + u64::from(i < total % threads)
}

/// Runs `otlpx send`.
pub fn run(args: &SendArgs) -> Exit {
    let logger = stderr_logger();
    let exporter = match build_exporter(Config::from_env(), logger) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    let endpoint = exporter.config().redacted_endpoint();
    let timeout = args.timeout.unwrap_or_else(|| exporter.config().export_timeout());
    let threads = u64::from(args.threads);
    outln!(
        "send: {} spans from {threads} thread(s) to {endpoint}, shutdown timeout {}",
        args.spans,
        show_duration(timeout)
    );

    let scope = exporter.default_scope();
    let start = Instant::now();
    let spawned = thread::scope(|s| {
        let mut handles = Vec::with_capacity(threads as usize);
        for i in 0..threads {
            let n = share(args.spans, threads, i);
            let exporter = &exporter;
            let h = thread::Builder::new()
                .name(format!("otlpx-send-{i}"))
                .spawn_scoped(s, move || {
                    let mut spans = ServerSpans::new();
                    // Pace to the queue, so that exactly N spans are delivered
                    // whatever its size: wait while it is nearly full.
                    let room = exporter
                        .config()
                        .max_queue_size()
                        .saturating_sub(threads as usize * 2)
                        .max(1);
                    for _ in 0..n {
                        while exporter.queued() >= room {
                            thread::sleep(std::time::Duration::from_micros(50));
                        }
                        // A refused span is counted in the stats under its reason; go on.
                        let _ = spans.with_next(|span| exporter.record(scope, span));
                    }
                });
            handles.push(h);
        }
        handles.into_iter().all(|h| h.is_ok())
    });
    let recorded = start.elapsed();
    if !spawned {
        crate::output::errln!("cannot start the sending threads");
    }
    outln!(
        "recorded {} spans in {} ({} spans/s)",
        exporter.stats().accepted,
        show_duration(recorded),
        rate(args.spans, recorded)
    );

    let shutdown_start = Instant::now();
    let outcome = exporter.shutdown(timeout);
    let shutdown_took = shutdown_start.elapsed();
    let total = start.elapsed();
    let stats = exporter.stats();
    print_outcome(&outcome, shutdown_took, &stats);
    outln!(
        "exported {} of {} spans in {} ({} spans/s end to end)",
        stats.exported,
        args.spans,
        show_duration(total),
        rate(stats.exported, total)
    );
    if !spawned {
        return Exit::Failure;
    }
    check_delivered(args.spans, &outcome, &stats, exporter.config())
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_add_up() {
        for (total, threads) in [(1000, 4), (10, 3), (2, 5), (0, 1), (7, 7)] {
            let parts: Vec<u64> = (0..threads).map(|i| share(total, threads, i)).collect();
            assert_eq!(parts.iter().sum::<u64>(), total);
            assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
        }
    }
}
