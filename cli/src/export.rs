//! What `send` and `demo` share: building an exporter from a configuration (with its warnings printed),
//! and reporting how an export went.
//!
//! Owns: the mapping of exporter errors to exit statuses and the report format. Must not: print a secret
//! (endpoints are shown as the configuration's redacted `Display` shows them).

use std::time::Duration;

use otlpx_core::config::{Config, ConfigWarning};
use otlpx_core::exporter::{ExportOutcome, Exporter, ExporterError};
use otlpx_core::log::Logger;
use otlpx_core::{DropReason, StatsSnapshot};

use crate::output::{errln, indent, out_block, Exit};

/// Prints each configuration warning through `logger`.
pub fn log_warnings(logger: &Logger, warnings: &[ConfigWarning]) {
    for w in warnings {
        logger.warn(&w.to_string());
    }
}

/// Builds and starts an exporter for `config`. A configuration that cannot work (an unsupported protocol,
/// unreadable certificate files) is a usage error; a thread that cannot start is a failure. Either is
/// printed to standard error.
pub fn build_exporter((config, warnings): (Config, Vec<ConfigWarning>), logger: Logger) -> Result<Exporter, Exit> {
    log_warnings(&logger, &warnings);
    Exporter::builder()
        .config(config)
        .logger(logger)
        .default_scope("otlpx-cli", env!("CARGO_PKG_VERSION"))
        .build()
        .inspect(|e| {
            if e.config().sdk_disabled() {
                e.logger()
                    .warn("OTEL_SDK_DISABLED=true: the exporter is disabled and every span is dropped");
            }
        })
        .map_err(|e| {
            errln!("{e}");
            match e {
                ExporterError::Config(_) | ExporterError::Transport(_) => Exit::Usage,
                ExporterError::Thread(_) => Exit::Failure,
            }
        })
}

/// `12.345ms` or `1.234s`.
pub fn show_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.3}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

/// `n` per `d` as a whole number per second (`-` for an empty interval).
pub fn rate(n: u64, d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs <= 0.0 {
        "-".to_string()
    } else {
        format!("{:.0}", n as f64 / secs)
    }
}

/// `shutdown: all exported: ... (in 1.2ms)` and the stats, indented.
pub fn print_outcome(outcome: &ExportOutcome, took: Duration, stats: &StatsSnapshot) {
    let mut s = format!(
        "shutdown (what was still queued): {outcome} (in {})\nstats:\n",
        show_duration(took)
    );
    s.push_str(&indent(&stats.to_string(), "  "));
    out_block(&s);
}

/// The nonzero drop counters as `export_failed: 3, shutdown: 2` (`none` when nothing was dropped).
pub fn drops_by_reason(stats: &StatsSnapshot) -> String {
    let parts: Vec<String> = DropReason::ALL
        .into_iter()
        .filter(|r| stats.dropped_for(*r) > 0)
        .map(|r| format!("{}: {}", r.name(), stats.dropped_for(r)))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// Whether all of `sent` spans were exported: none dropped or pending, and the deadline kept. Prints why
/// not to standard error.
pub fn check_delivered(sent: u64, outcome: &ExportOutcome, stats: &StatsSnapshot, config: &Config) -> Exit {
    if outcome.timed_out {
        errln!(
            "shutdown timed out with {} spans still pending; raise --timeout or OTEL_BSP_EXPORT_TIMEOUT",
            outcome.pending
        );
    }
    let lost = sent.saturating_sub(stats.exported);
    if stats.dropped_total() > 0 || lost > 0 || outcome.timed_out {
        errln!(
            "{lost} of {sent} spans were not delivered (dropped: {})",
            drops_by_reason(stats)
        );
        if stats.dropped_for(DropReason::QueueFull) > 0 {
            errln!(
                "spans were recorded faster than they were exported and the queue ({} spans) filled up; \
                 raise OTEL_BSP_MAX_QUEUE_SIZE or send fewer spans",
                config.max_queue_size()
            );
        }
        Exit::Failure
    } else {
        Exit::Success
    }
}
