//! The standard batch: the one benchmark workload every otlpx benchmark uses
//! (Rust here; the Go and Node benchmarks reproduce it from this description).
//!
//! Owns: the generator of the standard batch, its owned storage
//! ([`StandardBatch`]), allocation-free borrowed views of it for otlpx
//! ([`StandardSpan::with_view`]), and converters to the peers' types:
//! opentelemetry-proto's prost structs ([`StandardBatch::to_proto`]) and
//! opentelemetry-rust's `SpanData` ([`StandardBatch::to_sdk_spans`]).
//! Must not: measure anything (the benches do), or be used by the product.
//!
//! # The workload
//! 512 spans of kind SERVER, one resource, one scope. Every span has
//! - a trace id, a span id and a parent span id, an empty trace state, and
//!   flags `0x301` (sampled, and the parent is remote: what opentelemetry-rust
//!   sends for a server span whose parent came in the request);
//! - the name `"{method} {route}"`, start and end times, status OK;
//! - 8 attributes, in this order: `http.request.method` (string),
//!   `url.path` (string), `http.route` (string), `server.address` (string),
//!   `http.response.status_code` (int), `server.port` (int),
//!   `http.request.resend` (bool), `http.server.request.duration` (double,
//!   seconds);
//! - one event `"message"` with `message.type` (string `"SENT"`) and
//!   `message.uncompressed_size` (int).
//!
//! The resource has 5 attributes ([`RESOURCE_ATTRIBUTES`]) and the scope is
//! [`SCOPE_NAME`] / [`SCOPE_VERSION`]. The request (`ExportTraceServiceRequest`,
//! canonical protobuf, fields in number order) is [`STANDARD_REQUEST_LEN`]
//! bytes, 496.2 per span, with the fingerprint [`STANDARD_REQUEST_FNV1A64`].
//!
//! # The generator (to reproduce in another language)
//! splitmix64 seeded with [`SEED`] (see [`SplitMix64`]). For span `i` in
//! `0..512`, thirteen draws `d0..d12` in this order:
//! - `trace_id = be(d0) ++ be(d1)`, `span_id = be(d2)`, `parent_span_id = be(d3)`
//!   (big-endian bytes; an all-zero id gets its last byte set to 1);
//! - `route = ROUTES[d4 % 8]`, giving method, route template, path template
//!   and status code; the path's `{a}` is `d5 % 1_000_000` and `{b}` is
//!   `d6 % 100_000`, in decimal;
//! - `host = HOSTS[d7 % 3]` (`server.address`, `server.port`);
//! - `duration_ns = 250_000 + d8 % 120_000_000`;
//!   `start = BASE_TIME_UNIX_NANO + i * 2_000_000 + d9 % 2_000_000`;
//!   `end = start + duration_ns`; the double attribute is
//!   `duration_ns as f64 / 1e9`;
//! - the event's time is `start + d10 % duration_ns`, its
//!   `message.uncompressed_size` is `d11 % 65_536`;
//! - `http.request.resend` is `d12 % 20 == 0`.

pub mod export;
pub mod floor;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as pcommon;
use opentelemetry_proto::tonic::resource::v1 as presource;
use opentelemetry_proto::tonic::trace::v1 as ptrace;
use otlpx_core::{
    AnyValue, BatchConfig, Batcher, Event, KeyValue, Resource, Scope, ScopeId, Span, SpanKind, SpanLimits, Stats,
    Status,
};

/// Spans in the standard batch.
pub const SPANS: usize = 512;
/// The generator's seed.
pub const SEED: u64 = 0x6f74_6c70_785f_0496;
/// 2025-11-25T00:00:00Z, the first span's start (before jitter).
pub const BASE_TIME_UNIX_NANO: u64 = 1_764_028_800_000_000_000;
/// W3C sampled (0x01), OTLP has-is-remote (0x100) and is-remote (0x200).
pub const SPAN_FLAGS: u32 = 0x301;
/// Length of the standard request (`ExportTraceServiceRequest`) in bytes.
pub const STANDARD_REQUEST_LEN: usize = 254_077;
/// FNV-1a 64 of the standard request bytes ([`fnv1a64`]), so another
/// language's generator can check that it builds the very same request.
pub const STANDARD_REQUEST_FNV1A64: u64 = 0x866a_3f54_0138_56e9;
/// The event's name.
pub const EVENT_NAME: &str = "message";
/// The scope's name.
pub const SCOPE_NAME: &str = "otlpx.bench/http-server";
/// The scope's version.
pub const SCOPE_VERSION: &str = "1.4.0";

/// The resource's attributes.
pub const RESOURCE_ATTRIBUTES: [KeyValue<'static>; 5] = [
    kv_str("service.name", "checkout-api"),
    kv_str("service.namespace", "shop"),
    kv_str("deployment.environment.name", "production"),
    kv_str("host.name", "ip-10-42-17-203.eu-west-1.compute.internal"),
    kv_str("telemetry.sdk.language", "rust"),
];

const fn kv_str(key: &'static str, value: &'static str) -> KeyValue<'static> {
    KeyValue {
        key,
        value: AnyValue::Str(value),
    }
}

/// One route of the workload: method, route template, path template
/// (`{a}` and `{b}` are replaced by numbers), status code.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `http.request.method`.
    pub method: &'static str,
    /// `http.route`.
    pub route: &'static str,
    /// Template of `url.path`.
    pub path: &'static str,
    /// `http.response.status_code`.
    pub status_code: i64,
}

/// The routes, picked by `d4 % 8`.
pub const ROUTES: [Route; 8] = [
    route("GET", "/api/v1/customers/{customer_id}", "/api/v1/customers/{a}", 200),
    route(
        "GET",
        "/api/v1/customers/{customer_id}/orders",
        "/api/v1/customers/{a}/orders",
        200,
    ),
    route(
        "GET",
        "/api/v1/orders/{order_id}/items/{item_id}",
        "/api/v1/orders/{a}/items/{b}",
        200,
    ),
    route(
        "POST",
        "/api/v1/carts/{cart_id}/checkout",
        "/api/v1/carts/{a}/checkout",
        201,
    ),
    route(
        "PUT",
        "/api/v1/carts/{cart_id}/items/{item_id}",
        "/api/v1/carts/{a}/items/{b}",
        200,
    ),
    route(
        "DELETE",
        "/api/v1/carts/{cart_id}/items/{item_id}",
        "/api/v1/carts/{a}/items/{b}",
        204,
    ),
    route(
        "GET",
        "/api/v1/catalog/products/{product_id}/reviews",
        "/api/v1/catalog/products/{a}/reviews",
        200,
    ),
    route("GET", "/api/v1/catalog/search", "/api/v1/catalog/search", 200),
];

const fn route(method: &'static str, route: &'static str, path: &'static str, status_code: i64) -> Route {
    Route {
        method,
        route,
        path,
        status_code,
    }
}

/// The servers, picked by `d7 % 3`: `server.address`, `server.port`.
pub const HOSTS: [(&str, i64); 3] = [
    ("checkout-api.shop.svc.cluster.local", 8080),
    ("checkout-canary.shop.internal", 8080),
    ("api.shop.example.com", 443),
];

/// FNV-1a, 64 bits: a fingerprint of request bytes that any language computes
/// in four lines.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64 (Steele, Lea and Flood), the generator of the standard batch.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator with state `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next 64 bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// One span of the standard batch, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardSpan {
    /// Trace id.
    pub trace_id: [u8; 16],
    /// Span id.
    pub span_id: [u8; 8],
    /// Parent span id.
    pub parent_span_id: [u8; 8],
    /// `"{method} {route}"`.
    pub name: String,
    /// `http.request.method`.
    pub method: &'static str,
    /// `url.path`.
    pub path: String,
    /// `http.route`.
    pub route: &'static str,
    /// `server.address`.
    pub server_address: &'static str,
    /// `http.response.status_code`.
    pub status_code: i64,
    /// `server.port`.
    pub server_port: i64,
    /// `http.request.resend`.
    pub resend: bool,
    /// `http.server.request.duration`, seconds.
    pub duration_s: f64,
    /// Start time, unix nanoseconds.
    pub start_time_unix_nano: u64,
    /// End time, unix nanoseconds.
    pub end_time_unix_nano: u64,
    /// The event's time, unix nanoseconds.
    pub event_time_unix_nano: u64,
    /// The event's `message.uncompressed_size`.
    pub message_size: i64,
}

fn id_bytes<const N: usize>(mut b: [u8; N]) -> [u8; N] {
    if b.iter().all(|&x| x == 0) {
        b[N - 1] = 1;
    }
    b
}

impl StandardSpan {
    /// Span `i`, drawing from `rng` (see the crate docs for the order).
    pub fn generate(i: usize, rng: &mut SplitMix64) -> StandardSpan {
        let d: [u64; 13] = std::array::from_fn(|_| rng.next());
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&d[0].to_be_bytes());
        trace_id[8..].copy_from_slice(&d[1].to_be_bytes());
        let r = ROUTES[(d[4] % ROUTES.len() as u64) as usize];
        let path = r
            .path
            .replace("{a}", &(d[5] % 1_000_000).to_string())
            .replace("{b}", &(d[6] % 100_000).to_string());
        let (server_address, server_port) = HOSTS[(d[7] % HOSTS.len() as u64) as usize];
        let duration_ns = 250_000 + d[8] % 120_000_000;
        let start = BASE_TIME_UNIX_NANO + i as u64 * 2_000_000 + d[9] % 2_000_000;
        StandardSpan {
            trace_id: id_bytes(trace_id),
            span_id: id_bytes(d[2].to_be_bytes()),
            parent_span_id: id_bytes(d[3].to_be_bytes()),
            name: format!("{} {}", r.method, r.route),
            method: r.method,
            path,
            route: r.route,
            server_address,
            status_code: r.status_code,
            server_port,
            resend: d[12] % 20 == 0,
            duration_s: duration_ns as f64 / 1e9,
            start_time_unix_nano: start,
            end_time_unix_nano: start + duration_ns,
            event_time_unix_nano: start + d[10] % duration_ns,
            message_size: (d[11] % 65_536) as i64,
        }
    }

    /// The span's 8 attributes, as otlpx views (built on the stack).
    #[inline]
    pub fn attributes(&self) -> [KeyValue<'_>; 8] {
        [
            KeyValue::new("http.request.method", self.method),
            KeyValue::new("url.path", self.path.as_str()),
            KeyValue::new("http.route", self.route),
            KeyValue::new("server.address", self.server_address),
            KeyValue::new("http.response.status_code", self.status_code),
            KeyValue::new("server.port", self.server_port),
            KeyValue::new("http.request.resend", self.resend),
            KeyValue::new("http.server.request.duration", self.duration_s),
        ]
    }

    /// The event's 2 attributes, as otlpx views.
    #[inline]
    pub fn event_attributes(&self) -> [KeyValue<'_>; 2] {
        [
            KeyValue::new("message.type", "SENT"),
            KeyValue::new("message.uncompressed_size", self.message_size),
        ]
    }

    /// The span's event, with `attributes` (see [`Self::event_attributes`]).
    #[inline]
    pub fn event<'a>(&'a self, attributes: &'a [KeyValue<'a>]) -> Event<'a> {
        Event {
            time_unix_nano: self.event_time_unix_nano,
            name: EVENT_NAME,
            attributes,
            dropped_attributes_count: 0,
        }
    }

    /// The otlpx view of this span over its attribute and event arrays.
    #[inline]
    pub fn view<'a>(&'a self, attributes: &'a [KeyValue<'a>], events: &'a [Event<'a>]) -> Span<'a> {
        Span {
            trace_id: self.trace_id,
            span_id: self.span_id,
            trace_state: "",
            parent_span_id: Some(self.parent_span_id),
            flags: SPAN_FLAGS,
            name: &self.name,
            kind: SpanKind::Server,
            start_time_unix_nano: self.start_time_unix_nano,
            end_time_unix_nano: self.end_time_unix_nano,
            attributes,
            dropped_attributes_count: 0,
            events,
            dropped_events_count: 0,
            links: &[],
            dropped_links_count: 0,
            status: Status::OK,
        }
    }

    /// Calls `f` with an otlpx view of this span. Allocation-free: the
    /// attribute and event arrays live on the stack for the call.
    #[inline]
    pub fn with_view<R>(&self, f: impl FnOnce(&Span<'_>) -> R) -> R {
        let attributes = self.attributes();
        let event_attributes = self.event_attributes();
        let events = [self.event(&event_attributes)];
        f(&self.view(&attributes, &events))
    }
}

/// The standard batch, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardBatch {
    /// The spans, in generation order.
    pub spans: Vec<StandardSpan>,
}

impl Default for StandardBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl StandardBatch {
    /// Generates the standard batch ([`SPANS`] spans from [`SEED`]).
    pub fn new() -> StandardBatch {
        let mut rng = SplitMix64::new(SEED);
        StandardBatch {
            spans: (0..SPANS).map(|i| StandardSpan::generate(i, &mut rng)).collect(),
        }
    }

    /// The resource, as an otlpx view.
    pub fn resource() -> Resource<'static> {
        Resource {
            attributes: &RESOURCE_ATTRIBUTES,
            dropped_attributes_count: 0,
            schema_url: "",
        }
    }

    /// The scope, as an otlpx view.
    pub fn scope() -> Scope<'static> {
        Scope {
            name: SCOPE_NAME,
            version: SCOPE_VERSION,
            attributes: &[],
            dropped_attributes_count: 0,
            schema_url: "",
        }
    }

    /// Calls `f` with an otlpx view of every span, in order. Allocation-free.
    #[inline]
    pub fn for_each_span(&self, mut f: impl FnMut(&Span<'_>)) {
        for s in &self.spans {
            s.with_view(&mut f);
        }
    }

    /// Calls `f` with views of every span built beforehand (the attribute
    /// and event arrays in vectors), for the rows that time encoding from
    /// ready views, as the SDK path's row times encoding from ready `SpanData`.
    pub fn with_prebuilt_views<R>(&self, f: impl FnOnce(&[Span<'_>]) -> R) -> R {
        let attributes: Vec<[KeyValue<'_>; 8]> = self.spans.iter().map(StandardSpan::attributes).collect();
        let event_attributes: Vec<[KeyValue<'_>; 2]> = self.spans.iter().map(StandardSpan::event_attributes).collect();
        let events: Vec<[Event<'_>; 1]> = self
            .spans
            .iter()
            .zip(&event_attributes)
            .map(|(s, attributes)| [s.event(attributes)])
            .collect();
        let views: Vec<Span<'_>> = self
            .spans
            .iter()
            .zip(attributes.iter().zip(&events))
            .map(|(s, (attributes, events))| s.view(attributes, events))
            .collect();
        f(&views)
    }

    /// The batcher configuration of the benchmarks: room for 8 batches
    /// (queue 4096), 512 spans per batch, the default byte cap and limits.
    pub fn batch_config() -> BatchConfig {
        BatchConfig {
            max_queue_size: 4096,
            max_export_batch_size: SPANS,
            limits: SpanLimits::default(),
            ..BatchConfig::default()
        }
    }

    /// A batcher for the standard resource with the standard scope registered.
    ///
    /// # Panics
    /// Never for the constant configuration; panics if the core rejects it.
    pub fn batcher() -> (Batcher, ScopeId) {
        let batcher = Batcher::new(Self::batch_config(), &Self::resource(), Arc::new(Stats::new()))
            .expect("the standard batch configuration is valid");
        let scope = batcher.add_scope(&Self::scope()).expect("one scope always fits");
        (batcher, scope)
    }

    /// The otlpx `ExportTraceServiceRequest` bytes of the batch (through the
    /// batcher, as an exporter would send them).
    ///
    /// # Panics
    /// If the batcher refuses a span or does not seal exactly one batch.
    pub fn otlpx_request(&self) -> Vec<u8> {
        let (batcher, scope) = Self::batcher();
        self.for_each_span(|s| {
            batcher.record(scope, s).expect("the standard batch fits the batcher");
        });
        let batch = batcher.take_batch(false).expect("512 spans seal one batch");
        assert_eq!(batch.len(), SPANS);
        let mut out = Vec::with_capacity(batcher.max_request_bytes());
        batcher.write_request(&batch, &mut out);
        batcher.release(batch);
        out
    }

    // -----------------------------------------------------------------------
    // opentelemetry-proto (prost) structs.

    /// The resource as a prost struct.
    pub fn proto_resource() -> presource::Resource {
        presource::Resource {
            attributes: RESOURCE_ATTRIBUTES.iter().map(proto_kv).collect(),
            dropped_attributes_count: 0,
            entity_refs: Vec::new(),
        }
    }

    /// The scope as a prost struct.
    pub fn proto_scope() -> pcommon::InstrumentationScope {
        pcommon::InstrumentationScope {
            name: SCOPE_NAME.to_owned(),
            version: SCOPE_VERSION.to_owned(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
        }
    }

    /// The whole request as prost structs, built from the owned data the way
    /// a straightforward exporter builds them (every id, key and string
    /// copied into the structs).
    pub fn to_proto(&self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ptrace::ResourceSpans {
                resource: Some(Self::proto_resource()),
                scope_spans: vec![ptrace::ScopeSpans {
                    scope: Some(Self::proto_scope()),
                    spans: self.spans.iter().map(StandardSpan::to_proto).collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    // -----------------------------------------------------------------------
    // opentelemetry-rust SDK.

    /// The resource as the SDK holds it.
    pub fn sdk_resource() -> opentelemetry_sdk::Resource {
        opentelemetry_sdk::Resource::builder_empty()
            .with_attributes(RESOURCE_ATTRIBUTES.iter().map(|kv| match kv.value {
                AnyValue::Str(v) => opentelemetry::KeyValue::new(kv.key, v),
                _ => unreachable!("resource attributes are strings"),
            }))
            .build()
    }

    /// The scope as the SDK holds it.
    pub fn sdk_scope() -> opentelemetry::InstrumentationScope {
        opentelemetry::InstrumentationScope::builder(SCOPE_NAME)
            .with_version(SCOPE_VERSION)
            .build()
    }

    /// The spans as the SDK's `SpanData`, what its span processor hands the
    /// exporter. Keys and constant values are `&'static str`; values taken
    /// from the request (name, path, route, server address) are owned.
    pub fn to_sdk_spans(&self) -> Vec<opentelemetry_sdk::trace::SpanData> {
        let scope = Self::sdk_scope();
        self.spans.iter().map(|s| s.to_sdk(&scope)).collect()
    }
}

fn proto_any(v: &AnyValue<'_>) -> pcommon::AnyValue {
    use pcommon::any_value::Value as V;
    let value = match *v {
        AnyValue::Str(s) => V::StringValue(s.to_owned()),
        AnyValue::Bool(b) => V::BoolValue(b),
        AnyValue::Int(i) => V::IntValue(i),
        AnyValue::Double(d) => V::DoubleValue(d),
        AnyValue::Bytes(b) => V::BytesValue(b.to_vec()),
        AnyValue::Array(vs) => V::ArrayValue(pcommon::ArrayValue {
            values: vs.iter().map(proto_any).collect(),
        }),
        AnyValue::KvList(kvs) => V::KvlistValue(pcommon::KeyValueList {
            values: kvs.iter().map(proto_kv).collect(),
        }),
    };
    pcommon::AnyValue { value: Some(value) }
}

fn proto_kv(kv: &KeyValue<'_>) -> pcommon::KeyValue {
    pcommon::KeyValue {
        key: kv.key.to_owned(),
        value: Some(proto_any(&kv.value)),
        key_strindex: 0,
    }
}

fn sdk_time(unix_nano: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nano)
}

impl StandardSpan {
    /// This span as a prost struct.
    pub fn to_proto(&self) -> ptrace::Span {
        ptrace::Span {
            trace_id: self.trace_id.to_vec(),
            span_id: self.span_id.to_vec(),
            trace_state: String::new(),
            parent_span_id: self.parent_span_id.to_vec(),
            flags: SPAN_FLAGS,
            name: self.name.clone(),
            kind: ptrace::span::SpanKind::Server as i32,
            start_time_unix_nano: self.start_time_unix_nano,
            end_time_unix_nano: self.end_time_unix_nano,
            attributes: self.attributes().iter().map(proto_kv).collect(),
            dropped_attributes_count: 0,
            events: vec![ptrace::span::Event {
                time_unix_nano: self.event_time_unix_nano,
                name: EVENT_NAME.to_owned(),
                attributes: self.event_attributes().iter().map(proto_kv).collect(),
                dropped_attributes_count: 0,
            }],
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Some(ptrace::Status {
                message: String::new(),
                code: ptrace::status::StatusCode::Ok as i32,
            }),
        }
    }

    /// This span as the SDK's `SpanData`.
    pub fn to_sdk(&self, scope: &opentelemetry::InstrumentationScope) -> opentelemetry_sdk::trace::SpanData {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        use opentelemetry::{Key, KeyValue as Kv, Value};
        let k = Key::from_static_str;
        // `SpanEvents` is non-exhaustive: start from the default, as the SDK does.
        let mut events = opentelemetry_sdk::trace::SpanEvents::default();
        events.events.push(opentelemetry::trace::Event::new(
            EVENT_NAME,
            sdk_time(self.event_time_unix_nano),
            vec![
                Kv::new(k("message.type"), Value::from("SENT")),
                Kv::new(k("message.uncompressed_size"), Value::I64(self.message_size)),
            ],
            0,
        ));
        opentelemetry_sdk::trace::SpanData {
            span_context: SpanContext::new(
                TraceId::from_bytes(self.trace_id),
                SpanId::from_bytes(self.span_id),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::from_bytes(self.parent_span_id),
            parent_span_is_remote: true,
            span_kind: opentelemetry::trace::SpanKind::Server,
            name: Cow::Owned(self.name.clone()),
            start_time: sdk_time(self.start_time_unix_nano),
            end_time: sdk_time(self.end_time_unix_nano),
            attributes: vec![
                Kv::new(k("http.request.method"), Value::from(self.method)),
                Kv::new(k("url.path"), Value::from(self.path.clone())),
                Kv::new(k("http.route"), Value::from(self.route.to_owned())),
                Kv::new(k("server.address"), Value::from(self.server_address.to_owned())),
                Kv::new(k("http.response.status_code"), Value::I64(self.status_code)),
                Kv::new(k("server.port"), Value::I64(self.server_port)),
                Kv::new(k("http.request.resend"), Value::Bool(self.resend)),
                Kv::new(k("http.server.request.duration"), Value::F64(self.duration_s)),
            ],
            dropped_attributes_count: 0,
            events,
            links: opentelemetry_sdk::trace::SpanLinks::default(),
            status: opentelemetry::trace::Status::Ok,
            instrumentation_scope: scope.clone(),
        }
    }
}
