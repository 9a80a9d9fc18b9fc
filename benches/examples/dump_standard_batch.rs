//! The standard batch as JSON, for the other languages' generators to check
//! themselves against; and a checker for another implementation's request.
//!
//! Owns: the JSON dump of [`otlpx_benches::StandardBatch`]'s span fields, and the
//! semantic comparison of a foreign `ExportTraceServiceRequest` with
//! [`StandardBatch::to_proto`].
//! Must not: measure anything.
//!
//! Usage:
//! - `cargo run -p otlpx-benches --example dump_standard_batch > spans.json`:
//!   every span's fields (ids in lowercase hex, times in unix nanoseconds as
//!   decimal *strings* because they exceed 2^53, the double as Rust's shortest
//!   round-trip decimal), plus the request length and FNV-1a 64.
//! - `cargo run -p otlpx-benches --example dump_standard_batch -- --check-request FILE`:
//!   decodes FILE (e.g. the OpenTelemetry JS SDK's serialization of the batch)
//!   with opentelemetry-proto and compares it with the standard request, field
//!   by field; exits 1 on any difference. Encodings may differ (a serializer
//!   may write default-valued fields), the decoded requests may not.

use std::fmt::Write as _;
use std::process::ExitCode;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlpx_benches::{fnv1a64, StandardBatch, SCOPE_NAME, SCOPE_VERSION, SEED, SPANS, SPAN_FLAGS};
use prost::Message;

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// A JSON string literal (the batch's strings are ASCII, but escape anyway).
fn js(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dump() -> String {
    let batch = StandardBatch::new();
    let request = batch.otlpx_request();
    let mut out = String::new();
    let _ = writeln!(out, "{{");
    let _ = writeln!(out, "  \"seed\": \"{SEED:#x}\",");
    let _ = writeln!(out, "  \"span_count\": {SPANS},");
    let _ = writeln!(out, "  \"span_flags\": {SPAN_FLAGS},");
    let _ = writeln!(
        out,
        "  \"scope\": {{\"name\": {}, \"version\": {}}},",
        js(SCOPE_NAME),
        js(SCOPE_VERSION)
    );
    let _ = writeln!(out, "  \"request_len\": {},", request.len());
    let _ = writeln!(out, "  \"request_fnv1a64\": \"{:#018x}\",", fnv1a64(&request));
    let _ = writeln!(out, "  \"spans\": [");
    for (i, s) in batch.spans.iter().enumerate() {
        let _ = write!(
            out,
            "    {{\"trace_id\": \"{}\", \"span_id\": \"{}\", \"parent_span_id\": \"{}\", \"name\": {}, \
             \"method\": {}, \"path\": {}, \"route\": {}, \"server_address\": {}, \"status_code\": {}, \
             \"server_port\": {}, \"resend\": {}, \"duration_s\": {:?}, \"start_time_unix_nano\": \"{}\", \
             \"end_time_unix_nano\": \"{}\", \"event_time_unix_nano\": \"{}\", \"message_size\": {}}}",
            hex(&s.trace_id),
            hex(&s.span_id),
            hex(&s.parent_span_id),
            js(&s.name),
            js(s.method),
            js(&s.path),
            js(s.route),
            js(s.server_address),
            s.status_code,
            s.server_port,
            s.resend,
            s.duration_s,
            s.start_time_unix_nano,
            s.end_time_unix_nano,
            s.event_time_unix_nano,
            s.message_size,
        );
        let _ = writeln!(out, "{}", if i + 1 < batch.spans.len() { "," } else { "" });
    }
    let _ = writeln!(out, "  ]");
    let _ = writeln!(out, "}}");
    out
}

fn check_request(path: &str) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let got = match ExportTraceServiceRequest::decode(&bytes[..]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: not an ExportTraceServiceRequest: {e}");
            return ExitCode::FAILURE;
        }
    };
    let want = StandardBatch::new().to_proto();
    let mut diffs = Vec::new();
    if got.resource_spans.len() != 1 {
        diffs.push(format!("{} resource_spans, want 1", got.resource_spans.len()));
    } else {
        let (g, w) = (&got.resource_spans[0], &want.resource_spans[0]);
        if g.resource != w.resource {
            diffs.push(format!("resource: {:?}\n  want {:?}", g.resource, w.resource));
        }
        if g.scope_spans.len() != 1 {
            diffs.push(format!("{} scope_spans, want 1", g.scope_spans.len()));
        } else {
            let (gs, ws) = (&g.scope_spans[0], &w.scope_spans[0]);
            if gs.scope != ws.scope {
                diffs.push(format!("scope: {:?}\n  want {:?}", gs.scope, ws.scope));
            }
            if gs.spans.len() != ws.spans.len() {
                diffs.push(format!("{} spans, want {}", gs.spans.len(), ws.spans.len()));
            }
            for (i, (a, b)) in gs.spans.iter().zip(&ws.spans).enumerate() {
                if a != b {
                    diffs.push(format!("span {i}: {a:?}\n  want {b:?}"));
                }
            }
        }
    }
    if got != want && diffs.is_empty() {
        diffs.push("requests differ (schema URLs or framing)".to_owned());
    }
    let canonical = got.encode_to_vec();
    println!(
        "{path}: {} bytes as written; decoded and re-encoded canonically (prost): {} bytes, fnv1a64 {:#018x}",
        bytes.len(),
        canonical.len(),
        fnv1a64(&canonical)
    );
    if diffs.is_empty() {
        println!("{path}: the same request as the standard batch (every field of every span)");
        ExitCode::SUCCESS
    } else {
        for d in diffs.iter().take(5) {
            eprintln!("{path}: {d}");
        }
        eprintln!("{path}: {} differences", diffs.len());
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            print!("{}", dump());
            ExitCode::SUCCESS
        }
        [flag, path] if flag == "--check-request" => check_request(path),
        _ => {
            eprintln!("usage: dump_standard_batch [--check-request FILE]");
            ExitCode::from(2)
        }
    }
}
