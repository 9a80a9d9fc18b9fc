//! `otlpx demo`: a few small, realistic traces sent through the real exporter. With no endpoint
//! configured they go to an in-process receiver and everything that arrived is printed, grouped by trace;
//! with one configured they go there and the exporter's stats are printed.
//!
//! Owns: choosing the destination and the printout of arrived traces. Must not: send anywhere but the
//! configured endpoint or loopback, or print secrets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use otlpx_core::config::{Config, Protocol};
use otlpx_core::exporter::Exporter;
use otlpx_core::log::Logger;
use otlpx_receiver::proto::{Resource, Span};
use otlpx_receiver::{describe_span, format_any_value, hex_id, Receiver, ReceiverConfig};

use crate::args::DemoArgs;
use crate::export::{build_exporter, check_delivered, print_outcome};
use crate::output::{errln, out_block, outln, stderr_logger, Exit};
use crate::spans::demo_spans;

/// The variables that name an endpoint.
const ENDPOINT_VARS: [&str; 2] = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];

/// How long to wait for the receiver to have recorded what the exporter says it delivered.
const ARRIVAL_WAIT: Duration = Duration::from_secs(2);

/// Whether the environment names an endpoint (set and not blank, as the configuration reads it).
fn endpoint_configured() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.to_string_lossy().trim().is_empty()))
}

/// Runs `otlpx demo`.
pub fn run(args: &DemoArgs) -> Exit {
    let logger = stderr_logger();
    if endpoint_configured() {
        remote(args.spans, logger)
    } else {
        local(args.spans, logger)
    }
}

/// Records the demo spans and shuts the exporter down; returns the outcome and how long shutdown took.
fn send(exporter: &Exporter, n: usize) -> (otlpx_core::exporter::ExportOutcome, Duration) {
    let scope = exporter.default_scope();
    demo_spans(n, |span| {
        // A refused span is counted in the stats under its reason.
        let _ = exporter.record(scope, span);
    });
    let start = Instant::now();
    let outcome = exporter.shutdown(exporter.config().export_timeout());
    (outcome, start.elapsed())
}

fn local(n: usize, logger: Logger) -> Exit {
    let rx = match Receiver::start(ReceiverConfig::default()) {
        Ok(rx) => rx,
        Err(e) => {
            errln!("cannot start the demo receiver: {e}");
            return Exit::Failure;
        }
    };
    // Code wins over the environment: the endpoint, and HTTP since that is what the receiver speaks. The
    // rest (headers, compression, batch sizes, ...) still comes from the environment.
    let config = Config::builder()
        .endpoint(rx.traces_url())
        .protocol(Protocol::HttpProtobuf)
        .build();
    let exporter = match build_exporter(config, logger) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    outln!(
        "demo: no endpoint configured; sending {n} spans to a local receiver at {}",
        rx.traces_url()
    );
    let (outcome, _) = send(&exporter, n);
    let stats = exporter.stats();
    if outcome.is_success() {
        rx.wait_for_spans(n, ARRIVAL_WAIT);
    }
    rx.shutdown();
    let spans = rx.spans();
    out_block(&arrived_text(&spans, rx.request_count()));
    let arrived = spans.len() as u64;
    outln!(
        "demo: {n} spans sent, {arrived} arrived, {} dropped",
        stats.dropped_total()
    );
    let exit = check_delivered(n as u64, &outcome, &stats, exporter.config());
    if exit == Exit::Success && arrived != n as u64 {
        errln!("{n} spans were exported but {arrived} arrived");
        return Exit::Failure;
    }
    exit
}

fn remote(n: usize, logger: Logger) -> Exit {
    let exporter = match build_exporter(Config::from_env(), logger) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    let endpoint = exporter.config().redacted_endpoint();
    outln!("demo: sending {n} spans to {endpoint}");
    let (outcome, took) = send(&exporter, n);
    let stats = exporter.stats();
    print_outcome(&outcome, took, &stats);
    outln!(
        "demo: {n} spans sent, {} exported, {} dropped",
        stats.exported,
        stats.dropped_total()
    );
    check_delivered(n as u64, &outcome, &stats, exporter.config())
}

/// What arrived: the resource once, then each trace (in arrival order) as a tree of spans, one line each
/// (`describe_span`), children indented under their parent in start order.
fn arrived_text(spans: &[(Resource, otlpx_receiver::proto::InstrumentationScope, Span)], requests: usize) -> String {
    let mut s = format!("arrived at the receiver in {requests} request(s):\n");
    if let Some((resource, scope, _)) = spans.first() {
        let attrs: Vec<String> = resource
            .attributes
            .iter()
            .map(|kv| {
                let v = kv.value.as_ref().map(format_any_value).unwrap_or_default();
                format!("{}={v}", kv.key)
            })
            .collect();
        s.push_str(&format!("resource {{{}}}\n", attrs.join(", ")));
        s.push_str(&format!("scope {:?} {}\n", scope.name, scope.version));
    }
    // Traces in order of first arrival.
    let mut order: Vec<&[u8]> = Vec::new();
    let mut by_trace: HashMap<&[u8], Vec<&Span>> = HashMap::new();
    for (_, _, span) in spans {
        let list = by_trace.entry(span.trace_id.as_slice()).or_default();
        if list.is_empty() {
            order.push(span.trace_id.as_slice());
        }
        list.push(span);
    }
    for trace in order {
        let members = &by_trace[trace];
        s.push_str(&format!("trace {} ({} spans)\n", hex_id(trace), members.len()));
        let mut roots: Vec<&Span> = members
            .iter()
            .copied()
            .filter(|sp| sp.parent_span_id.is_empty() || !members.iter().any(|p| p.span_id == sp.parent_span_id))
            .collect();
        roots.sort_by_key(|sp| sp.start_time_unix_nano);
        for root in roots {
            write_tree(&mut s, root, members, 1);
        }
    }
    s
}

/// `span` at `depth`, then its children in start order.
fn write_tree(out: &mut String, span: &Span, members: &[&Span], depth: usize) {
    out.push_str(&"  ".repeat(depth));
    out.push_str(&describe_span(span));
    out.push('\n');
    let mut children: Vec<&Span> = members
        .iter()
        .copied()
        .filter(|c| c.parent_span_id == span.span_id && c.span_id != span.span_id)
        .collect();
    children.sort_by_key(|c| c.start_time_unix_nano);
    // Depth is bounded: a cycle of parent ids would need a span to be its own ancestor, and each level
    // here goes one step down from a root; cap it anyway against malformed input.
    if depth < 32 {
        for c in children {
            write_tree(out, c, members, depth + 1);
        }
    }
}
