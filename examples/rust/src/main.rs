//! The README's Rust quickstart: one SERVER span exported with the
//! configuration from the `OTEL_*` environment.
use std::time::Duration;

use otlpx_core::exporter::Exporter;
use otlpx_core::{KeyValue, Span, SpanKind, Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Endpoint, headers, TLS, batching and limits come from the OTEL_* environment.
    let exporter = Exporter::from_env()?;
    let attrs = [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("http.route", "/orders/{id}"),
        KeyValue::new("http.response.status_code", 200i64),
    ];
    let span = Span {
        trace_id: [1; 16],
        span_id: [2; 8],
        name: "GET /orders/{id}",
        kind: SpanKind::Server,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_002_000_000,
        attributes: &attrs,
        status: Status::OK,
        ..Span::default()
    };
    exporter.record(exporter.default_scope(), &span)?; // encodes and queues; never blocks on I/O
    let outcome = exporter.shutdown(Duration::from_secs(5)); // flushes, returns by the deadline
    println!("{outcome}\n{}", exporter.stats());
    if !outcome.is_success() {
        std::process::exit(1);
    }
    Ok(())
}
