//! Every encoded request decodes with opentelemetry-proto's prost types to
//! exactly the input, and equals prost's own canonical encoding byte for byte.

mod support;

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1 as pt;
use otlpx_core::envelope::encode_request;
use otlpx_core::{BatchConfig, Batcher, SpanLimits, Stats};
use proptest::prelude::*;
use prost::Message;
use support::*;

fn value_strategy() -> impl Strategy<Value = OValue> {
    let leaf = prop_oneof![
        ".{0,12}".prop_map(OValue::Str),
        Just(OValue::Str(String::new())),
        "[a-zé€😀]{0,20}".prop_map(OValue::Str),
        any::<bool>().prop_map(OValue::Bool),
        any::<i64>().prop_map(OValue::Int),
        prop_oneof![
            any::<f64>().prop_filter("NaN never equals itself", |d| !d.is_nan()),
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::MIN_POSITIVE)
        ]
        .prop_map(OValue::Double),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(OValue::Bytes),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(OValue::Array),
            proptest::collection::vec((".{0,8}", inner), 0..6).prop_map(OValue::KvList),
        ]
    })
}

fn attrs_strategy(max: usize) -> impl Strategy<Value = Vec<(String, OValue)>> {
    proptest::collection::vec(("[a-z._]{0,12}", value_strategy()), 0..max)
}

fn id16() -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![any::<[u8; 16]>(), Just([0xff; 16]), Just([0; 16])]
}

fn id8() -> impl Strategy<Value = [u8; 8]> {
    prop_oneof![any::<[u8; 8]>(), Just([0xff; 8]), Just([0; 8])]
}

fn time() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), Just(0), Just(u64::MAX)]
}

fn event_strategy() -> impl Strategy<Value = OEvent> {
    (time(), ".{0,10}", attrs_strategy(4), any::<u32>()).prop_map(|(time, name, attrs, dropped)| OEvent {
        time,
        name,
        attrs,
        dropped: dropped % 4,
    })
}

fn link_strategy() -> impl Strategy<Value = OLink> {
    (
        id16(),
        id8(),
        "[a-z=,0-9]{0,16}",
        attrs_strategy(4),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(trace_id, span_id, trace_state, attrs, dropped, flags)| OLink {
            trace_id,
            span_id,
            trace_state,
            attrs,
            dropped: dropped % 3,
            flags: flags % 1024,
        })
}

prop_compose! {
    fn span_strategy()(
        trace_id in id16(), span_id in id8(), trace_state in "[a-z=,0-9]{0,16}",
        parent in proptest::option::of(id8()), flags in prop_oneof![Just(0u32), Just(1), Just(0x301), any::<u32>()],
        name in ".{0,24}", kind in 0u8..6, start in time(), end in time(),
        attrs in attrs_strategy(10), dropped_attrs in prop_oneof![Just(0u32), any::<u32>()],
        events in proptest::collection::vec(event_strategy(), 0..4), dropped_events in 0u32..3,
        links in proptest::collection::vec(link_strategy(), 0..3), dropped_links in 0u32..3,
        status_code in 0u8..3, status_message in prop_oneof![Just(String::new()), ".{0,12}".prop_map(|s| s)],
    ) -> OSpan {
        OSpan { trace_id, span_id, trace_state, parent, flags, name, kind, start, end, attrs, dropped_attrs,
                events, dropped_events, links, dropped_links, status_code, status_message }
    }
}

fn limits_strategy() -> impl Strategy<Value = SpanLimits> {
    prop_oneof![
        Just(SpanLimits::default()),
        Just(SpanLimits::UNLIMITED),
        (
            0u32..6,
            proptest::option::of(0u32..8),
            0u32..4,
            0u32..3,
            0u32..3,
            0u32..3
        )
            .prop_map(
                |(
                    attribute_count,
                    attribute_value_length,
                    event_count,
                    link_count,
                    attributes_per_event,
                    attributes_per_link,
                )| {
                    SpanLimits {
                        attribute_count,
                        attribute_value_length,
                        event_count,
                        link_count,
                        attributes_per_event,
                        attributes_per_link,
                    }
                }
            ),
    ]
}

fn expected_request(
    res_attrs: &[(String, OValue)],
    groups: &[(String, Vec<OSpan>)],
    limits: &SpanLimits,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![pt::ResourceSpans {
            resource: Some(proto_resource(res_attrs)),
            scope_spans: groups
                .iter()
                .map(|(name, spans)| pt::ScopeSpans {
                    scope: Some(proto_scope(name, "1.0", &[])),
                    spans: spans.iter().map(|s| proto_span(s, limits)).collect(),
                    schema_url: format!("https://opentelemetry.io/schemas/{name}"),
                })
                .collect(),
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
    }
}

fn check(res_attrs: Vec<(String, OValue)>, groups: Vec<(String, Vec<OSpan>)>, limits: SpanLimits) {
    let resource = resource_view(&res_attrs, "https://opentelemetry.io/schemas/1.26.0");
    let views: Vec<(otlpx_core::Scope<'static>, &'static [otlpx_core::Span<'static>])> = groups
        .iter()
        .map(|(name, spans)| {
            let scope = scope_view(name, "1.0", &[], &format!("https://opentelemetry.io/schemas/{name}"));
            let spans: &'static [otlpx_core::Span<'static>] =
                Box::leak(spans.iter().map(view_span).collect::<Vec<_>>().into_boxed_slice());
            (scope, spans)
        })
        .collect();
    let mut ours = Vec::new();
    encode_request(&resource, &views, &limits, &mut ours);
    let expected = expected_request(&res_attrs, &groups, &limits);
    let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).expect("our bytes decode");
    assert_eq!(decoded, expected, "decoded request differs from input");
    assert_eq!(
        ours,
        expected.encode_to_vec(),
        "bytes differ from prost's canonical encoding"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn request_round_trips(
        res_attrs in attrs_strategy(6),
        spans in proptest::collection::vec(span_strategy(), 0..5),
        more in proptest::collection::vec(span_strategy(), 0..3),
        limits in limits_strategy(),
    ) {
        check(res_attrs, vec![("scope.a".into(), spans), ("scope.b".into(), more)], limits);
    }

    #[test]
    fn batcher_request_round_trips(
        spans in proptest::collection::vec((0usize..3, span_strategy()), 1..12),
        limits in limits_strategy(),
    ) {
        let res_attrs = vec![("service.name".to_string(), OValue::Str("checkout".into()))];
        let stats = Arc::new(Stats::new());
        let resource = resource_view(&res_attrs, "https://opentelemetry.io/schemas/1.26.0");
        let b = Batcher::new(
            BatchConfig { max_queue_size: 64, max_export_batch_size: 64, limits, ..BatchConfig::default() },
            &resource,
            stats.clone(),
        ).unwrap();
        let names = ["s0", "s1", "s2"];
        let ids: Vec<_> = names.iter().map(|n| {
            b.add_scope(&scope_view(n, "1.0", &[], &format!("https://opentelemetry.io/schemas/{n}"))).unwrap()
        }).collect();
        // Expected groups: scopes in first-seen order, spans in record order.
        let mut groups: Vec<(String, Vec<OSpan>)> = Vec::new();
        for (si, span) in &spans {
            b.record(ids[*si], &view_span(span)).unwrap();
            match groups.iter_mut().find(|(n, _)| n == names[*si]) {
                Some((_, v)) => v.push(span.clone()),
                None => groups.push((names[*si].to_string(), vec![span.clone()])),
            }
        }
        let batch = b.take_batch(true).unwrap();
        prop_assert_eq!(batch.len(), spans.len());
        let mut out = Vec::new();
        b.write_request(&batch, &mut out);
        b.release(batch);
        let expected = expected_request(&res_attrs, &groups, &limits);
        let decoded = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
        prop_assert_eq!(&decoded, &expected);
        prop_assert_eq!(out, expected.encode_to_vec());
        let snap = stats.snapshot();
        prop_assert_eq!(snap.accepted, spans.len() as u64);
        prop_assert_eq!(snap.dropped_total(), 0);
    }
}

#[test]
fn default_limits_cut_at_128_and_count_the_rest() {
    let mut span = http_span(1);
    span.attrs = (0..200).map(|i| (format!("k{i}"), OValue::Int(i))).collect();
    span.dropped_attrs = 3;
    span.events = (0..130)
        .map(|i| OEvent {
            time: i,
            name: format!("e{i}"),
            attrs: (0..129).map(|j| (format!("a{j}"), OValue::Bool(true))).collect(),
            dropped: 0,
        })
        .collect();
    span.links = (0..131)
        .map(|i| OLink {
            trace_id: [i as u8; 16],
            span_id: [1; 8],
            attrs: (0..130).map(|j| (format!("a{j}"), OValue::Int(j))).collect(),
            ..Default::default()
        })
        .collect();
    let limits = SpanLimits::default();
    let expected = proto_span(&span, &limits);
    assert_eq!(expected.attributes.len(), 128);
    assert_eq!(expected.dropped_attributes_count, 75);
    assert_eq!(expected.dropped_events_count, 2);
    assert_eq!(expected.dropped_links_count, 3);
    assert_eq!(expected.events[0].dropped_attributes_count, 1);
    assert_eq!(expected.links[0].dropped_attributes_count, 2);
    let mut ours = Vec::new();
    otlpx_core::encode::encode_span(&view_span(&span), &limits, &mut ours);
    assert_eq!(pt::Span::decode(ours.as_slice()).unwrap(), expected);
    assert_eq!(ours, expected.encode_to_vec());
}

#[test]
fn value_length_limit_truncates_strings_by_character() {
    let mut span = http_span(2);
    span.attrs = vec![
        ("s".into(), OValue::Str("héllo wörld".into())),
        (
            "arr".into(),
            OValue::Array(vec![OValue::Str("abcdef".into()), OValue::Int(1234567)]),
        ),
        ("b".into(), OValue::Bytes(vec![1; 40])),
    ];
    let limits = SpanLimits {
        attribute_value_length: Some(3),
        ..SpanLimits::default()
    };
    let mut ours = Vec::new();
    otlpx_core::encode::encode_span(&view_span(&span), &limits, &mut ours);
    let got = pt::Span::decode(ours.as_slice()).unwrap();
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    assert_eq!(
        got.attributes[0].value.as_ref().unwrap().value,
        Some(Value::StringValue("hél".into()))
    );
    assert_eq!(got, proto_span(&span, &limits));
    // Bytes are never truncated.
    assert_eq!(
        got.attributes[2].value.as_ref().unwrap().value,
        Some(Value::BytesValue(vec![1; 40]))
    );
}

#[test]
fn empty_and_unicode_strings_round_trip() {
    let mut span = http_span(3);
    span.name = String::new();
    span.attrs = vec![
        (String::new(), OValue::Str(String::new())),
        ("ключ".into(), OValue::Str("значение 😀".into())),
    ];
    check(vec![], vec![("s".into(), vec![span])], SpanLimits::default());
}

#[test]
fn long_values_cross_every_varint_width() {
    // Pair lengths around 128, 16384 and 2 MiB: lengths written after the
    // content must move it by one, two or three bytes.
    for n in [
        100usize, 120, 125, 126, 127, 128, 129, 200, 16_370, 16_380, 16_384, 16_400, 2_097_200,
    ] {
        let mut span = http_span(4);
        span.attrs = vec![
            ("s".into(), OValue::Str("x".repeat(n))),
            ("b".into(), OValue::Bytes(vec![7; n])),
            ("k".repeat(n.min(300)), OValue::Int(-5)),
        ];
        span.events[0]
            .attrs
            .push(("long".into(), OValue::Str("é".repeat(n / 2))));
        span.name = "n".repeat(n.min(5000));
        check(vec![], vec![("s".into(), vec![span.clone()])], SpanLimits::default());
        let stats = Arc::new(Stats::new());
        let b = Batcher::new(
            BatchConfig {
                max_batch_bytes: 16 << 20,
                ..BatchConfig::default()
            },
            &resource_view(&[], ""),
            stats,
        )
        .unwrap();
        let scope = b.add_scope(&scope_view("s", "1.0", &[], "")).unwrap();
        b.record(scope, &view_span(&span)).unwrap();
        let batch = b.take_batch(true).unwrap();
        let mut out = Vec::new();
        b.write_request(&batch, &mut out);
        let req = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
        let got = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(got, &proto_span(&span, &SpanLimits::default()), "n = {n}");
        assert_eq!(out, req.encode_to_vec(), "n = {n}");
    }
}

/// A value whose scalar sits `depth` levels below the attribute (arrays and
/// key-value lists alternating; depth 0 is the scalar itself).
fn nested(depth: usize) -> OValue {
    let mut v = OValue::Int(7);
    for i in 0..depth {
        v = if i % 2 == 0 {
            OValue::Array(vec![v])
        } else {
            OValue::KvList(vec![("k".into(), v)])
        };
    }
    v
}

#[test]
fn values_nested_to_the_limit_encode_and_deeper_ones_are_refused() {
    use otlpx_core::encode::{value_too_deep, MAX_VALUE_DEPTH};
    use otlpx_core::DropReason;
    assert_eq!(MAX_VALUE_DEPTH, 64);
    assert!(!value_too_deep(&view_value(&nested(64))));
    assert!(value_too_deep(&view_value(&nested(65))));
    // An empty array or list at the deepest level holds nothing deeper.
    assert!(!value_too_deep(&view_value(&OValue::Array(vec![]))));

    // At the limit: the same bytes as prost's encoding (prost's decoder stops
    // at 100 message levels, so only the bytes are compared here).
    let mut at_limit = http_span(1);
    at_limit.attrs.push(("deep".into(), nested(64)));
    let limits = SpanLimits::default();
    let res_attrs = vec![("service.name".to_string(), OValue::Str("checkout".into()))];
    let groups = vec![("scope.a".to_string(), vec![at_limit.clone()])];
    let resource = resource_view(&res_attrs, "https://opentelemetry.io/schemas/1.26.0");
    let scope = scope_view("scope.a", "1.0", &[], "https://opentelemetry.io/schemas/scope.a");
    let views = [view_span(&at_limit)];
    let mut ours = Vec::new();
    encode_request(&resource, &[(scope, &views)], &limits, &mut ours);
    assert_eq!(ours, expected_request(&res_attrs, &groups, &limits).encode_to_vec());

    // One level deeper: the span is left out of a request, refused by the
    // batcher as invalid (counted), and the queue is untouched.
    let mut too_deep = http_span(2);
    too_deep.attrs.push(("deep".into(), nested(65)));
    let views = [view_span(&too_deep), view_span(&http_span(3))];
    let mut ours = Vec::new();
    encode_request(&resource, &[(scope, &views)], &limits, &mut ours);
    let only = vec![("scope.a".to_string(), vec![http_span(3)])];
    assert_eq!(ours, expected_request(&res_attrs, &only, &limits).encode_to_vec());

    let stats = Arc::new(Stats::new());
    let b = Batcher::new(BatchConfig::default(), &resource, stats.clone()).unwrap();
    let id = b.add_scope(&scope).unwrap();
    assert_eq!(b.record(id, &view_span(&too_deep)), Err(DropReason::Invalid));
    b.record(id, &view_span(&http_span(3))).unwrap();
    let batch = b.take_batch(true).unwrap();
    let mut out = Vec::new();
    b.write_request(&batch, &mut out);
    assert_eq!(out, expected_request(&res_attrs, &only, &limits).encode_to_vec());
    let snap = stats.snapshot();
    assert_eq!((snap.accepted, snap.dropped_for(DropReason::Invalid)), (2, 1));

    // Resource and scope attributes nested too deep are dropped and counted.
    let deep_res = vec![
        ("deep".to_string(), nested(65)),
        ("service.name".to_string(), OValue::Str("c".into())),
    ];
    let mut encoded = Vec::new();
    otlpx_core::encode::encode_resource(&resource_view(&deep_res, ""), &mut encoded);
    let mut want = proto_resource(&deep_res[1..]);
    want.dropped_attributes_count = 1;
    assert_eq!(encoded, want.encode_to_vec());
    let mut encoded = Vec::new();
    otlpx_core::encode::encode_scope(&scope_view("s", "1", &deep_res, ""), &mut encoded);
    let mut want = proto_scope("s", "1", &deep_res[1..]);
    want.dropped_attributes_count = 1;
    assert_eq!(encoded, want.encode_to_vec());
}

#[test]
fn a_million_levels_deep_value_neither_overflows_the_stack_nor_encodes() {
    use otlpx_core::{AnyValue, DropReason, KeyValue};
    // Built as views (leaked, never dropped: dropping a million-deep
    // owned value would itself recurse).
    let mut v: AnyValue<'static> = AnyValue::Int(1);
    for i in 0..1_000_000 {
        v = if i % 2 == 0 {
            AnyValue::Array(Box::leak(Box::new([v])))
        } else {
            AnyValue::KvList(Box::leak(Box::new([KeyValue { key: "k", value: v }])))
        };
    }
    let attrs: &'static [KeyValue<'static>] = Box::leak(Box::new([KeyValue { key: "deep", value: v }]));
    let mut span = view_span(&http_span(1));
    span.attributes = attrs;
    let mut out = Vec::new();
    let limits = SpanLimits::default();
    assert!(!otlpx_core::encode::try_encode_span(&span, &limits, &mut out));
    otlpx_core::encode::encode_span(&span, &limits, &mut out);
    assert!(!otlpx_core::envelope::try_encode_span_entry(&span, &limits, &mut out));
    otlpx_core::envelope::encode_span_entry(&span, &limits, &mut out);
    assert!(out.is_empty());
    let resource = resource_view(&[], "");
    let b = Batcher::new(BatchConfig::default(), &resource, Arc::new(Stats::new())).unwrap();
    let id = b.add_scope(&scope_view("s", "1", &[], "")).unwrap();
    assert_eq!(b.record(id, &span), Err(DropReason::Invalid));
    // As a resource attribute: dropped and counted.
    let res = otlpx_core::Resource {
        attributes: attrs,
        dropped_attributes_count: 0,
        schema_url: "",
    };
    let mut encoded = Vec::new();
    otlpx_core::encode::encode_resource(&res, &mut encoded);
    assert_eq!(encoded, [0x10, 0x01]); // dropped_attributes_count = 1, nothing else
}
