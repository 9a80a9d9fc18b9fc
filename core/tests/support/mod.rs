//! Test support: owned spans, their borrowed views, and the expected
//! opentelemetry-proto messages (the oracle), with span limits applied.
#![allow(dead_code)]

use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::resource::v1 as pr;
use opentelemetry_proto::tonic::trace::v1 as pt;
use otlpx_core::{AnyValue, Event, KeyValue, Link, Resource, Scope, Span, SpanKind, SpanLimits, Status, StatusCode};

#[derive(Debug, Clone, PartialEq)]
pub enum OValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<OValue>),
    KvList(Vec<(String, OValue)>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OEvent {
    pub time: u64,
    pub name: String,
    pub attrs: Vec<(String, OValue)>,
    pub dropped: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OLink {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub trace_state: String,
    pub attrs: Vec<(String, OValue)>,
    pub dropped: u32,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OSpan {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub trace_state: String,
    pub parent: Option<[u8; 8]>,
    pub flags: u32,
    pub name: String,
    pub kind: u8,
    pub start: u64,
    pub end: u64,
    pub attrs: Vec<(String, OValue)>,
    pub dropped_attrs: u32,
    pub events: Vec<OEvent>,
    pub dropped_events: u32,
    pub links: Vec<OLink>,
    pub dropped_links: u32,
    pub status_code: u8,
    pub status_message: String,
}

// ---- borrowed views (leaked: tests only) ----

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

pub fn view_value(v: &OValue) -> AnyValue<'static> {
    match v {
        OValue::Str(s) => AnyValue::Str(Box::leak(s.clone().into_boxed_str())),
        OValue::Bool(b) => AnyValue::Bool(*b),
        OValue::Int(i) => AnyValue::Int(*i),
        OValue::Double(d) => AnyValue::Double(*d),
        OValue::Bytes(b) => AnyValue::Bytes(leak(b.clone())),
        OValue::Array(vs) => AnyValue::Array(leak(vs.iter().map(view_value).collect())),
        OValue::KvList(kvs) => AnyValue::KvList(view_attrs(kvs)),
    }
}

pub fn view_attrs(kvs: &[(String, OValue)]) -> &'static [KeyValue<'static>] {
    leak(
        kvs.iter()
            .map(|(k, v)| KeyValue {
                key: Box::leak(k.clone().into_boxed_str()),
                value: view_value(v),
            })
            .collect(),
    )
}

fn s(x: &str) -> &'static str {
    Box::leak(x.to_owned().into_boxed_str())
}

pub fn view_span(o: &OSpan) -> Span<'static> {
    Span {
        trace_id: o.trace_id,
        span_id: o.span_id,
        trace_state: s(&o.trace_state),
        parent_span_id: o.parent,
        flags: o.flags,
        name: s(&o.name),
        kind: SpanKind::from_i32(o.kind as i32).unwrap(),
        start_time_unix_nano: o.start,
        end_time_unix_nano: o.end,
        attributes: view_attrs(&o.attrs),
        dropped_attributes_count: o.dropped_attrs,
        events: leak(
            o.events
                .iter()
                .map(|e| Event {
                    time_unix_nano: e.time,
                    name: s(&e.name),
                    attributes: view_attrs(&e.attrs),
                    dropped_attributes_count: e.dropped,
                })
                .collect(),
        ),
        dropped_events_count: o.dropped_events,
        links: leak(
            o.links
                .iter()
                .map(|l| Link {
                    trace_id: l.trace_id,
                    span_id: l.span_id,
                    trace_state: s(&l.trace_state),
                    attributes: view_attrs(&l.attrs),
                    dropped_attributes_count: l.dropped,
                    flags: l.flags,
                })
                .collect(),
        ),
        dropped_links_count: o.dropped_links,
        status: Status {
            code: StatusCode::from_i32(o.status_code as i32).unwrap(),
            message: s(&o.status_message),
        },
    }
}

// ---- the oracle ----

fn trunc(x: &str, limit: Option<u32>) -> String {
    match limit {
        Some(n) => x.chars().take(n as usize).collect(),
        None => x.to_owned(),
    }
}

/// `limit` truncates strings at the top level and inside arrays.
pub fn proto_value(v: &OValue, limit: Option<u32>) -> pc::AnyValue {
    use pc::any_value::Value as V;
    let value = match v {
        OValue::Str(x) => V::StringValue(trunc(x, limit)),
        OValue::Bool(b) => V::BoolValue(*b),
        OValue::Int(i) => V::IntValue(*i),
        OValue::Double(d) => V::DoubleValue(*d),
        OValue::Bytes(b) => V::BytesValue(b.clone()),
        OValue::Array(vs) => V::ArrayValue(pc::ArrayValue {
            values: vs.iter().map(|v| proto_value(v, limit)).collect(),
        }),
        OValue::KvList(kvs) => V::KvlistValue(pc::KeyValueList {
            values: proto_attrs(kvs, usize::MAX, None),
        }),
    };
    pc::AnyValue { value: Some(value) }
}

pub fn proto_attrs(kvs: &[(String, OValue)], max: usize, limit: Option<u32>) -> Vec<pc::KeyValue> {
    kvs.iter()
        .take(max)
        .map(|(k, v)| pc::KeyValue {
            key: k.clone(),
            value: Some(proto_value(v, limit)),
            ..Default::default()
        })
        .collect()
}

fn dropped(len: usize, max: u32, given: u32) -> u32 {
    given.saturating_add(len.saturating_sub(max as usize) as u32)
}

pub fn proto_span(o: &OSpan, l: &SpanLimits) -> pt::Span {
    let vl = l.attribute_value_length;
    pt::Span {
        trace_id: o.trace_id.to_vec(),
        span_id: o.span_id.to_vec(),
        trace_state: o.trace_state.clone(),
        parent_span_id: o.parent.map(|p| p.to_vec()).unwrap_or_default(),
        flags: o.flags,
        name: o.name.clone(),
        kind: o.kind as i32,
        start_time_unix_nano: o.start,
        end_time_unix_nano: o.end,
        attributes: proto_attrs(&o.attrs, l.attribute_count as usize, vl),
        dropped_attributes_count: dropped(o.attrs.len(), l.attribute_count, o.dropped_attrs),
        events: o
            .events
            .iter()
            .take(l.event_count as usize)
            .map(|e| pt::span::Event {
                time_unix_nano: e.time,
                name: e.name.clone(),
                attributes: proto_attrs(&e.attrs, l.attributes_per_event as usize, vl),
                dropped_attributes_count: dropped(e.attrs.len(), l.attributes_per_event, e.dropped),
            })
            .collect(),
        dropped_events_count: dropped(o.events.len(), l.event_count, o.dropped_events),
        links: o
            .links
            .iter()
            .take(l.link_count as usize)
            .map(|k| pt::span::Link {
                trace_id: k.trace_id.to_vec(),
                span_id: k.span_id.to_vec(),
                trace_state: k.trace_state.clone(),
                attributes: proto_attrs(&k.attrs, l.attributes_per_link as usize, vl),
                dropped_attributes_count: dropped(k.attrs.len(), l.attributes_per_link, k.dropped),
                flags: k.flags,
            })
            .collect(),
        dropped_links_count: dropped(o.links.len(), l.link_count, o.dropped_links),
        status: if o.status_code == 0 && o.status_message.is_empty() {
            None
        } else {
            Some(pt::Status {
                message: o.status_message.clone(),
                code: o.status_code as i32,
            })
        },
    }
}

pub fn proto_resource(attrs: &[(String, OValue)]) -> pr::Resource {
    pr::Resource {
        attributes: proto_attrs(attrs, usize::MAX, None),
        ..Default::default()
    }
}

pub fn proto_scope(name: &str, version: &str, attrs: &[(String, OValue)]) -> pc::InstrumentationScope {
    pc::InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        attributes: proto_attrs(attrs, usize::MAX, None),
        dropped_attributes_count: 0,
    }
}

pub fn resource_view(attrs: &[(String, OValue)], schema_url: &str) -> Resource<'static> {
    Resource {
        attributes: view_attrs(attrs),
        dropped_attributes_count: 0,
        schema_url: s(schema_url),
    }
}

pub fn scope_view(name: &str, version: &str, attrs: &[(String, OValue)], schema_url: &str) -> Scope<'static> {
    Scope {
        name: s(name),
        version: s(version),
        attributes: view_attrs(attrs),
        dropped_attributes_count: 0,
        schema_url: s(schema_url),
    }
}

/// A realistic HTTP server span.
pub fn http_span(i: u64) -> OSpan {
    OSpan {
        trace_id: [(i % 251) as u8 + 1; 16],
        span_id: [(i % 241) as u8 + 1; 8],
        parent: Some([7; 8]),
        flags: 1,
        name: "GET /api/orders/{id}".into(),
        kind: 2,
        start: 1_700_000_000_000_000_000 + i,
        end: 1_700_000_000_000_500_000 + i,
        attrs: vec![
            ("http.request.method".into(), OValue::Str("GET".into())),
            ("url.path".into(), OValue::Str(format!("/api/orders/{i}"))),
            ("http.route".into(), OValue::Str("/api/orders/{id}".into())),
            ("server.address".into(), OValue::Str("orders.example".into())),
            ("http.response.status_code".into(), OValue::Int(200)),
            ("server.port".into(), OValue::Int(8080)),
            ("error".into(), OValue::Bool(false)),
            ("load".into(), OValue::Double(0.25)),
        ],
        events: vec![OEvent {
            time: 1_700_000_000_000_100_000,
            name: "cache.miss".into(),
            attrs: vec![
                ("cache.key".into(), OValue::Str("order".into())),
                ("cache.size".into(), OValue::Int(42)),
            ],
            dropped: 0,
        }],
        status_code: 1,
        ..Default::default()
    }
}
