//! Inputs shared by the native tests and the `native_inputs` example (which
//! writes them for the wasm host test): the standard batch, and a batch with
//! every `AnyValue` kind, nesting, bytes, Unicode, extremes and several scopes.
//! Must not: depend on anything but otlpx-core, otlpx-benches and this crate.
#![allow(dead_code)]

use otlpx_benches::StandardBatch;
use otlpx_core::encode::SpanLimits;
use otlpx_core::{AnyValue, Event, KeyValue, Link, Resource, Scope, Span, SpanKind, Status, StatusCode};
use otlpx_wasm_plain::InputWriter;

/// The standard batch as plain input, written span by span from the same
/// views the native benchmarks encode.
pub fn standard_input() -> Vec<u8> {
    let batch = StandardBatch::new();
    let mut w = InputWriter::new(&StandardBatch::batch_config().limits, &StandardBatch::resource(), 1);
    w.group_header(&StandardBatch::scope(), batch.spans.len() as u32);
    batch.for_each_span(|s| {
        w.span(s);
    });
    w.finish()
}

/// Tight limits: every limit cuts something in [`with_every_kind`]'s spans.
pub const TIGHT_LIMITS: SpanLimits = SpanLimits {
    attribute_count: 6,
    attribute_value_length: Some(4),
    event_count: 1,
    link_count: 1,
    attributes_per_event: 1,
    attributes_per_link: 1,
};

/// Calls `f` with a resource and scope groups holding every `AnyValue` kind.
pub fn with_every_kind<R>(f: impl FnOnce(&Resource<'_>, &[(Scope<'_>, &[Span<'_>])]) -> R) -> R {
    let deep_value = deep(otlpx_wasm_plain::MAX_DEPTH);

    let inner_kv = [
        KeyValue::new("inner.bytes", &[0u8, 1, 2, 0xfe, 0xff][..]),
        KeyValue::new("inner.empty", ""),
    ];
    let inner_array = [AnyValue::Int(-7), AnyValue::KvList(&inner_kv), AnyValue::Array(&[])];
    let mixed = [
        AnyValue::Str("ünïcødé ✓ 𝄞"),
        AnyValue::Bool(true),
        AnyValue::Int(i64::MIN),
        AnyValue::Double(-0.0),
        AnyValue::Bytes(b"\x00\x80\xff"),
        AnyValue::Array(&inner_array),
        AnyValue::KvList(&inner_kv),
    ];
    let nested_kv = [
        KeyValue::new("list", AnyValue::Array(&mixed)),
        KeyValue::new("map", AnyValue::KvList(&inner_kv)),
        KeyValue::new("", AnyValue::KvList(&[])),
    ];
    let attributes = [
        KeyValue::new("string", "héllo wörld — 日本語 — עברית — 😀"),
        KeyValue::new("string.empty", ""),
        KeyValue::new("string.controls", "nul\0bell\u{7}\r\n\ttab"),
        KeyValue::new("bool.true", true),
        KeyValue::new("bool.false", false),
        KeyValue::new("int.min", i64::MIN),
        KeyValue::new("int.max", i64::MAX),
        KeyValue::new("int.zero", 0i64),
        KeyValue::new("int.minus_one", -1i64),
        KeyValue::new("double.neg_zero", -0.0f64),
        KeyValue::new("double.subnormal", 5e-324f64),
        KeyValue::new("double.max", f64::MAX),
        KeyValue::new("double.inf", f64::INFINITY),
        KeyValue::new("double.neg_inf", f64::NEG_INFINITY),
        KeyValue::new("double.nan", f64::NAN),
        KeyValue::new("bytes", &[0u8, 1, 2, 3, 0x7f, 0x80, 0xff][..]),
        KeyValue::new("bytes.empty", &[][..]),
        KeyValue::new("array.empty", AnyValue::Array(&[])),
        KeyValue::new("array.mixed", AnyValue::Array(&mixed)),
        KeyValue::new("kvlist.empty", AnyValue::KvList(&[])),
        KeyValue::new("kvlist.nested", AnyValue::KvList(&nested_kv)),
        KeyValue::new("deep", deep_value),
        KeyValue::new("ключ 🔑", "значение"),
        KeyValue::new("", "empty key"),
    ];
    let event_attrs = [
        KeyValue::new("exception.type", "Ошибка"),
        KeyValue::new("exception.stacktrace", AnyValue::Array(&mixed)),
    ];
    let events = [
        Event {
            time_unix_nano: 1_764_028_800_123_456_789,
            name: "exception",
            attributes: &event_attrs,
            dropped_attributes_count: 2,
        },
        Event {
            time_unix_nano: 0,
            name: "",
            attributes: &[],
            dropped_attributes_count: 0,
        },
        Event {
            time_unix_nano: u64::MAX,
            name: "ünïcødé event",
            attributes: &nested_kv,
            dropped_attributes_count: 0,
        },
    ];
    let links = [
        Link {
            trace_id: [0xab; 16],
            span_id: [0xcd; 8],
            trace_state: "vendor=a,other=b",
            attributes: &nested_kv,
            dropped_attributes_count: 1,
            flags: 0x301,
        },
        Link {
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_state: "",
            attributes: &[],
            dropped_attributes_count: 0,
            flags: 0,
        },
    ];
    let spans_a = [
        Span {
            trace_id: *b"0123456789abcdef",
            span_id: *b"spanid01",
            trace_state: "k=v,ünï=x",
            parent_span_id: Some(*b"parent01"),
            flags: 0x101,
            name: "every kind ✓",
            kind: SpanKind::Client,
            start_time_unix_nano: 1_764_028_800_000_000_000,
            end_time_unix_nano: 1_764_028_800_250_000_000,
            attributes: &attributes,
            dropped_attributes_count: 5,
            events: &events,
            dropped_events_count: 1,
            links: &links,
            dropped_links_count: 2,
            status: Status::error("boom ✗ — 失败"),
        },
        Span {
            trace_id: [0xff; 16],
            span_id: [0xff; 8],
            trace_state: "",
            parent_span_id: None,
            flags: u32::MAX,
            name: "",
            kind: SpanKind::Unspecified,
            start_time_unix_nano: u64::MAX,
            end_time_unix_nano: u64::MAX,
            attributes: &[],
            dropped_attributes_count: u32::MAX,
            events: &[],
            dropped_events_count: u32::MAX,
            links: &[],
            dropped_links_count: u32::MAX,
            status: Status {
                code: StatusCode::Ok,
                message: "",
            },
        },
    ];
    let spans_b = [Span {
        trace_id: [1; 16],
        span_id: [2; 8],
        parent_span_id: Some([0; 8]),
        name: "consumer",
        kind: SpanKind::Consumer,
        attributes: &attributes[..3],
        status: Status::UNSET,
        ..Span::default()
    }];
    let resource_attrs = [
        KeyValue::new("service.name", "plain-host ✓"),
        KeyValue::new("service.instance.id", AnyValue::Bytes(b"\x01\x02")),
        KeyValue::new("process.pid", 4242i64),
        KeyValue::new("host.labels", AnyValue::KvList(&inner_kv)),
    ];
    let resource = Resource {
        attributes: &resource_attrs,
        dropped_attributes_count: 3,
        schema_url: "https://opentelemetry.io/schemas/1.26.0",
    };
    let scope_attrs = [
        KeyValue::new("scope.flag", true),
        KeyValue::new("scope.list", AnyValue::Array(&mixed)),
    ];
    let groups: [(Scope<'_>, &[Span<'_>]); 3] = [
        (
            Scope {
                name: "otlpx.plain/every-kind",
                version: "0.1.0-ß",
                attributes: &scope_attrs,
                dropped_attributes_count: 1,
                schema_url: "https://example.invalid/schema",
            },
            &spans_a,
        ),
        (Scope::default(), &spans_b),
        (
            Scope {
                name: "empty group",
                ..Scope::default()
            },
            &[],
        ),
    ];
    f(&resource, &groups)
}

/// An int inside arrays, `levels` levels deep in all (the top value is
/// level 1). The arrays are leaked: tests only, 32 small arrays per call.
fn deep(levels: u32) -> AnyValue<'static> {
    let mut v = AnyValue::Int(42);
    for _ in 1..levels {
        v = AnyValue::Array(Box::leak(Box::new([v])));
    }
    v
}

/// The every-kind batch as plain input under `limits`.
pub fn every_kind_input(limits: &SpanLimits) -> Vec<u8> {
    with_every_kind(|resource, groups| {
        let mut w = InputWriter::new(limits, resource, groups.len() as u32);
        for (scope, spans) in groups {
            w.group(scope, spans);
        }
        w.finish()
    })
}

/// otlpx-core's own `encode_request` of the every-kind batch under `limits`,
/// straight from the views (no plain input involved).
pub fn every_kind_core(limits: &SpanLimits) -> Vec<u8> {
    with_every_kind(|resource, groups| {
        let mut out = Vec::new();
        otlpx_core::envelope::encode_request(resource, groups, limits, &mut out);
        out
    })
}
