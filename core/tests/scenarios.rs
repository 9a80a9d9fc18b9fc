//! The Rust runner of the shared behaviour scenarios in `scenarios/*.json`
//! (the format is documented in `scenarios/README.md`).
//!
//! Owns: reading each scenario, driving one exporter per scenario through a
//! scripted in-memory transport (no network), decoding every request body
//! with prost, and comparing stats, request layout and span contents.
//! Must not: open sockets, depend on timing beyond the scenario's own retry
//! settings, or stop at the first failing scenario (every failure is listed).

mod support;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::trace::v1 as pt;
use otlpx_core::config::Config;
use otlpx_core::exporter::Exporter;
use otlpx_core::log::Logger;
use otlpx_core::retry::RetryConfig;
use otlpx_core::transport::{ExportRequest, ExportResponse, FnTransport, TransportError};
use otlpx_core::{DropReason, RequestOutcome, Scope, ScopeId, SpanLimits, StatsSnapshot};
use prost::Message;
use serde_json::{json, Map, Value};
use support::*;

/// Runner settings that are not part of a scenario (see the README).
const SCHEDULE_DELAY: Duration = Duration::from_secs(60);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const HOLD_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_RETRY: RetryConfig = RetryConfig {
    enabled: true,
    initial_interval: Duration::from_millis(10),
    max_interval: Duration::from_millis(100),
    max_elapsed_time: Duration::from_millis(5000),
};

type Res<T> = Result<T, String>;

// ---------------------------------------------------------------------------
// The scenario, parsed.

struct ScopeDef {
    view: Scope<'static>,
    proto: pc::InstrumentationScope,
    schema_url: String,
}

struct SpanDef {
    scope: u64,
    span: OSpan,
    after_shutdown: bool,
}

#[derive(Clone)]
enum Reply {
    Status {
        code: u16,
        retry_after: Option<String>,
        partial: Option<(i64, String)>,
    },
    ConnectError,
    Timeout,
}

#[derive(Default)]
struct ExpectStats {
    accepted: u64,
    exported: u64,
    dropped: [u64; DropReason::COUNT],
    requests: Option<[u64; 3]>,
    retries: Option<u64>,
    batches: Option<u64>,
    circuit_opened: Option<u64>,
}

/// One scope group of one request: scope index and input span indices.
type Group = (usize, Vec<usize>);

struct Scenario {
    name: String,
    config: Config,
    resource: Vec<(String, String)>,
    scopes: Vec<ScopeDef>,
    spans: Vec<SpanDef>,
    script: Vec<Reply>,
    hold_after: Option<usize>,
    stats: ExpectStats,
    requests: Vec<Vec<Group>>,
    /// Expected decoded span per input index (`None`: never sent).
    expected_spans: Vec<Option<pt::Span>>,
}

// ---------------------------------------------------------------------------
// JSON helpers.

fn obj<'a>(v: &'a Value, what: &str) -> Res<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected an object, got {v}"))
}

fn only_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Res<()> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: unknown key {k:?} (allowed: {allowed:?})")),
        None => Ok(()),
    }
}

fn uint(m: &Map<String, Value>, key: &str, what: &str) -> Res<Option<u64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{what}.{key}: expected a non-negative integer, got {v}")),
    }
}

fn uint32(m: &Map<String, Value>, key: &str, what: &str) -> Res<Option<u32>> {
    uint(m, key, what)?
        .map(|n| u32::try_from(n).map_err(|_| format!("{what}.{key}: {n} does not fit 32 bits")))
        .transpose()
}

fn string<'a>(m: &'a Map<String, Value>, key: &str, what: &str) -> Res<Option<&'a str>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("{what}.{key}: expected a string, got {v}")),
    }
}

fn array<'a>(m: &'a Map<String, Value>, key: &str, what: &str) -> Res<&'a [Value]> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(v) => Err(format!("{what}.{key}: expected an array, got {v}")),
    }
}

fn hex_id(m: &Map<String, Value>, key: &str, len: usize, required: bool, what: &str) -> Res<()> {
    match string(m, key, what)? {
        None if required => Err(format!("{what}.{key} is required")),
        None => Ok(()),
        Some("") if !required => Ok(()),
        Some(s) if s.len() == len * 2 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => Ok(()),
        Some(s) => Err(format!("{what}.{key}: {s:?} is not {len} bytes of lowercase hex")),
    }
}

/// Checks an OTLP/JSON `AnyValue` strictly (opentelemetry-proto's serde skips unknown keys).
fn check_any_value(v: &Value, what: &str) -> Res<()> {
    let m = obj(v, what)?;
    if m.len() != 1 {
        return Err(format!("{what}: an AnyValue needs exactly one field, got {v}"));
    }
    let (k, inner) = m.iter().next().ok_or("unreachable")?;
    let ok = match k.as_str() {
        "stringValue" | "bytesValue" => inner.is_string(),
        "boolValue" => inner.is_boolean(),
        "doubleValue" => inner.is_number(),
        "intValue" => inner.as_str().is_some_and(|s| s.parse::<i64>().is_ok()),
        "arrayValue" => {
            let a = obj(inner, what)?;
            only_keys(a, &["values"], what)?;
            for (i, x) in array(a, "values", what)?.iter().enumerate() {
                check_any_value(x, &format!("{what}.arrayValue[{i}]"))?;
            }
            true
        }
        "kvlistValue" => {
            let a = obj(inner, what)?;
            only_keys(a, &["values"], what)?;
            check_attributes(array(a, "values", what)?, &format!("{what}.kvlistValue"))?;
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what}: {k}={inner} is not a valid OTLP/JSON AnyValue field (intValue is a decimal string)"
        ))
    }
}

fn check_attributes(attrs: &[Value], what: &str) -> Res<()> {
    for (i, kv) in attrs.iter().enumerate() {
        let w = format!("{what}[{i}]");
        let m = obj(kv, &w)?;
        only_keys(m, &["key", "value"], &w)?;
        if !m.get("key").is_some_and(Value::is_string) {
            return Err(format!("{w}: key must be a string"));
        }
        check_any_value(m.get("value").ok_or_else(|| format!("{w}: value is required"))?, &w)?;
    }
    Ok(())
}

fn check_u64_string(m: &Map<String, Value>, key: &str, what: &str) -> Res<()> {
    match m.get(key) {
        None => Ok(()),
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(()),
        Some(v) => Err(format!("{what}.{key}: expected a decimal string (fixed64), got {v}")),
    }
}

/// Strict key and form checks of an OTLP/JSON span, so a typo fails loudly.
fn check_span_json(v: &Value, what: &str) -> Res<()> {
    let m = obj(v, what)?;
    only_keys(
        m,
        &[
            "traceId",
            "spanId",
            "traceState",
            "parentSpanId",
            "flags",
            "name",
            "kind",
            "startTimeUnixNano",
            "endTimeUnixNano",
            "attributes",
            "droppedAttributesCount",
            "events",
            "droppedEventsCount",
            "links",
            "droppedLinksCount",
            "status",
        ],
        what,
    )?;
    hex_id(m, "traceId", 16, true, what)?;
    hex_id(m, "spanId", 8, true, what)?;
    hex_id(m, "parentSpanId", 8, false, what)?;
    check_u64_string(m, "startTimeUnixNano", what)?;
    check_u64_string(m, "endTimeUnixNano", what)?;
    for key in [
        "flags",
        "droppedAttributesCount",
        "droppedEventsCount",
        "droppedLinksCount",
    ] {
        uint32(m, key, what)?;
    }
    if let Some(k) = uint(m, "kind", what)? {
        if k > 5 {
            return Err(format!("{what}.kind: {k} is not a span kind (0-5)"));
        }
    }
    check_attributes(array(m, "attributes", what)?, &format!("{what}.attributes"))?;
    for (i, e) in array(m, "events", what)?.iter().enumerate() {
        let w = format!("{what}.events[{i}]");
        let em = obj(e, &w)?;
        only_keys(
            em,
            &["timeUnixNano", "name", "attributes", "droppedAttributesCount"],
            &w,
        )?;
        check_u64_string(em, "timeUnixNano", &w)?;
        uint32(em, "droppedAttributesCount", &w)?;
        check_attributes(array(em, "attributes", &w)?, &format!("{w}.attributes"))?;
    }
    for (i, l) in array(m, "links", what)?.iter().enumerate() {
        let w = format!("{what}.links[{i}]");
        let lm = obj(l, &w)?;
        only_keys(
            lm,
            &[
                "traceId",
                "spanId",
                "traceState",
                "attributes",
                "droppedAttributesCount",
                "flags",
            ],
            &w,
        )?;
        hex_id(lm, "traceId", 16, true, &w)?;
        hex_id(lm, "spanId", 8, true, &w)?;
        uint32(lm, "droppedAttributesCount", &w)?;
        uint32(lm, "flags", &w)?;
        check_attributes(array(lm, "attributes", &w)?, &format!("{w}.attributes"))?;
    }
    if let Some(s) = m.get("status") {
        let w = format!("{what}.status");
        let sm = obj(s, &w)?;
        only_keys(sm, &["code", "message"], &w)?;
        if uint(sm, "code", &w)?.is_some_and(|c| c > 2) {
            return Err(format!("{w}.code must be 0, 1 or 2"));
        }
        string(sm, "message", &w)?;
    }
    Ok(())
}

/// Decodes OTLP/JSON pieces with the receiver's decoder (the collector's quirks included).
fn decode_scope_spans(scope: Value, schema_url: &str, spans: Vec<Value>) -> Res<pt::ScopeSpans> {
    let req = json!({"resourceSpans": [{"scopeSpans": [{"scope": scope, "schemaUrl": schema_url, "spans": spans}]}]});
    let bytes = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
    let mut decoded = otlpx_receiver::decode_json_request(&bytes)?;
    decoded
        .resource_spans
        .pop()
        .and_then(|mut rs| rs.scope_spans.pop())
        .ok_or_else(|| "decoder lost the scope".to_string())
}

fn decode_span(v: &Value, what: &str) -> Res<pt::Span> {
    check_span_json(v, what)?;
    let mut ss = decode_scope_spans(json!({}), "", vec![v.clone()]).map_err(|e| format!("{what}: {e}"))?;
    ss.spans.pop().ok_or_else(|| format!("{what}: decoder lost the span"))
}

// ---------------------------------------------------------------------------
// proto -> owned model (support's OSpan), for recording.

fn ovalue(v: &pc::AnyValue, what: &str) -> Res<OValue> {
    use pc::any_value::Value as V;
    Ok(match &v.value {
        Some(V::StringValue(s)) => OValue::Str(s.clone()),
        Some(V::BoolValue(b)) => OValue::Bool(*b),
        Some(V::IntValue(i)) => OValue::Int(*i),
        Some(V::DoubleValue(d)) => OValue::Double(*d),
        Some(V::BytesValue(b)) => OValue::Bytes(b.clone()),
        Some(V::ArrayValue(a)) => OValue::Array(a.values.iter().map(|x| ovalue(x, what)).collect::<Res<_>>()?),
        Some(V::KvlistValue(kv)) => OValue::KvList(oattrs(&kv.values, what)?),
        Some(V::StringValueStrindex(_)) | None => return Err(format!("{what}: empty or unsupported AnyValue")),
    })
}

fn oattrs(kvs: &[pc::KeyValue], what: &str) -> Res<Vec<(String, OValue)>> {
    kvs.iter()
        .map(|kv| {
            let v = kv
                .value
                .as_ref()
                .ok_or_else(|| format!("{what}: attribute {:?} has no value", kv.key))?;
            Ok((kv.key.clone(), ovalue(v, what)?))
        })
        .collect()
}

fn id<const N: usize>(b: &[u8], what: &str) -> Res<[u8; N]> {
    b.try_into()
        .map_err(|_| format!("{what}: id of {} bytes, want {N}", b.len()))
}

fn ospan(p: &pt::Span, what: &str) -> Res<OSpan> {
    let status = p.status.clone().unwrap_or_default();
    Ok(OSpan {
        trace_id: id(&p.trace_id, what)?,
        span_id: id(&p.span_id, what)?,
        trace_state: p.trace_state.clone(),
        parent: if p.parent_span_id.is_empty() {
            None
        } else {
            Some(id(&p.parent_span_id, what)?)
        },
        flags: p.flags,
        name: p.name.clone(),
        kind: u8::try_from(p.kind).map_err(|_| format!("{what}: bad kind"))?,
        start: p.start_time_unix_nano,
        end: p.end_time_unix_nano,
        attrs: oattrs(&p.attributes, what)?,
        dropped_attrs: p.dropped_attributes_count,
        events: p
            .events
            .iter()
            .map(|e| {
                Ok(OEvent {
                    time: e.time_unix_nano,
                    name: e.name.clone(),
                    attrs: oattrs(&e.attributes, what)?,
                    dropped: e.dropped_attributes_count,
                })
            })
            .collect::<Res<_>>()?,
        dropped_events: p.dropped_events_count,
        links: p
            .links
            .iter()
            .map(|l| {
                Ok(OLink {
                    trace_id: id(&l.trace_id, what)?,
                    span_id: id(&l.span_id, what)?,
                    trace_state: l.trace_state.clone(),
                    attrs: oattrs(&l.attributes, what)?,
                    dropped: l.dropped_attributes_count,
                    flags: l.flags,
                })
            })
            .collect::<Res<_>>()?,
        dropped_links: p.dropped_links_count,
        status_code: u8::try_from(status.code).map_err(|_| format!("{what}: bad status code"))?,
        status_message: status.message,
    })
}

// ---------------------------------------------------------------------------
// Parsing a scenario file.

fn parse_config(v: Option<&Value>, resource: &[(String, String)]) -> Res<(Config, SpanLimits)> {
    let empty = Map::new();
    let m = match v {
        None => &empty,
        Some(v) => obj(v, "config")?,
    };
    only_keys(
        m,
        &[
            "max_queue_size",
            "max_export_batch_size",
            "max_batch_bytes",
            "export_timeout_ms",
            "sdk_disabled",
            "attribute_count",
            "attribute_value_length",
            "event_count",
            "link_count",
            "attributes_per_event",
            "attributes_per_link",
            "retry",
        ],
        "config",
    )?;
    let d = SpanLimits::default();
    let limits = SpanLimits {
        attribute_count: uint32(m, "attribute_count", "config")?.unwrap_or(d.attribute_count),
        attribute_value_length: uint32(m, "attribute_value_length", "config")?,
        event_count: uint32(m, "event_count", "config")?.unwrap_or(d.event_count),
        link_count: uint32(m, "link_count", "config")?.unwrap_or(d.link_count),
        attributes_per_event: uint32(m, "attributes_per_event", "config")?.unwrap_or(d.attributes_per_event),
        attributes_per_link: uint32(m, "attributes_per_link", "config")?.unwrap_or(d.attributes_per_link),
    };
    let mut retry = DEFAULT_RETRY;
    if let Some(r) = m.get("retry") {
        let r = obj(r, "config.retry")?;
        only_keys(
            r,
            &["enabled", "initial_interval_ms", "max_interval_ms", "max_elapsed_ms"],
            "config.retry",
        )?;
        if let Some(e) = r.get("enabled") {
            retry.enabled = e.as_bool().ok_or("config.retry.enabled: expected a boolean")?;
        }
        let ms = |k: &str, dflt: Duration| -> Res<Duration> {
            Ok(uint(r, k, "config.retry")?.map_or(dflt, Duration::from_millis))
        };
        retry.initial_interval = ms("initial_interval_ms", retry.initial_interval)?;
        retry.max_interval = ms("max_interval_ms", retry.max_interval)?;
        retry.max_elapsed_time = ms("max_elapsed_ms", retry.max_elapsed_time)?;
    }
    let mut b = Config::builder()
        .span_limits(limits)
        .retry(retry)
        .schedule_delay(SCHEDULE_DELAY)
        .resource_attributes(resource.iter().cloned());
    if let Some(n) = uint(m, "max_queue_size", "config")? {
        b = b.max_queue_size(n as usize);
    }
    if let Some(n) = uint(m, "max_export_batch_size", "config")? {
        b = b.max_export_batch_size(n as usize);
    }
    if let Some(n) = uint(m, "max_batch_bytes", "config")? {
        b = b.max_batch_bytes(n as usize);
    }
    if let Some(n) = uint(m, "export_timeout_ms", "config")? {
        b = b.export_timeout(Duration::from_millis(n));
    }
    if let Some(d) = m.get("sdk_disabled") {
        b = b.sdk_disabled(d.as_bool().ok_or("config.sdk_disabled: expected a boolean")?);
    }
    let (config, warnings) = b.build_from_lookup(|_| None);
    if !warnings.is_empty() {
        let w: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        return Err(format!("config gives warnings: {}", w.join("; ")));
    }
    Ok((config, limits))
}

fn parse_resource(v: Option<&Value>) -> Res<Vec<(String, String)>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let m = obj(v, "resource")?;
    only_keys(m, &["attributes"], "resource")?;
    let attrs = array(m, "attributes", "resource")?;
    check_attributes(attrs, "resource.attributes")?;
    attrs
        .iter()
        .map(|kv| {
            let key = kv["key"].as_str().unwrap_or_default().to_string();
            match kv["value"].get("stringValue").and_then(Value::as_str) {
                Some(s) => Ok((key, s.to_string())),
                None => Err(format!("resource.attributes: {key:?} must be a stringValue")),
            }
        })
        .collect()
}

fn parse_scope(v: &Value, what: &str) -> Res<ScopeDef> {
    let m = obj(v, what)?;
    only_keys(
        m,
        &["name", "version", "attributes", "droppedAttributesCount", "schemaUrl"],
        what,
    )?;
    string(m, "name", what)?;
    string(m, "version", what)?;
    uint32(m, "droppedAttributesCount", what)?;
    check_attributes(array(m, "attributes", what)?, &format!("{what}.attributes"))?;
    let schema_url = string(m, "schemaUrl", what)?.unwrap_or_default().to_string();
    let mut scope_json = m.clone();
    scope_json.remove("schemaUrl");
    let ss = decode_scope_spans(Value::Object(scope_json), &schema_url, vec![]).map_err(|e| format!("{what}: {e}"))?;
    let proto = ss.scope.unwrap_or_default();
    let attrs = oattrs(&proto.attributes, what)?;
    let mut view = scope_view(&proto.name, &proto.version, &attrs, &schema_url);
    view.dropped_attributes_count = proto.dropped_attributes_count;
    Ok(ScopeDef {
        view,
        proto,
        schema_url,
    })
}

fn parse_reply(v: &Value, what: &str) -> Res<Reply> {
    match v {
        Value::String(s) if s == "connect_error" => Ok(Reply::ConnectError),
        Value::String(s) if s == "timeout" => Ok(Reply::Timeout),
        Value::Object(m) => {
            only_keys(m, &["status", "retry_after", "partial_success"], what)?;
            let code = uint(m, "status", what)?.ok_or_else(|| format!("{what}.status is required"))?;
            let code = u16::try_from(code).map_err(|_| format!("{what}.status: {code} is not an HTTP status"))?;
            let retry_after = string(m, "retry_after", what)?.map(str::to_string);
            let partial = match m.get("partial_success") {
                None => None,
                Some(p) => {
                    let w = format!("{what}.partial_success");
                    let pm = obj(p, &w)?;
                    only_keys(pm, &["rejected_spans", "error_message"], &w)?;
                    let n = pm
                        .get("rejected_spans")
                        .and_then(Value::as_i64)
                        .ok_or_else(|| format!("{w}.rejected_spans: expected an integer"))?;
                    Some((n, string(pm, "error_message", &w)?.unwrap_or_default().to_string()))
                }
            };
            Ok(Reply::Status {
                code,
                retry_after,
                partial,
            })
        }
        _ => Err(format!(
            "{what}: expected \"connect_error\", \"timeout\" or {{\"status\": ...}}, got {v}"
        )),
    }
}

fn parse_stats(v: &Value) -> Res<ExpectStats> {
    let w = "expect.stats";
    let m = obj(v, w)?;
    only_keys(
        m,
        &[
            "accepted",
            "exported",
            "dropped",
            "requests",
            "retries",
            "batches",
            "circuit_opened",
        ],
        w,
    )?;
    let mut s = ExpectStats {
        accepted: uint(m, "accepted", w)?.ok_or("expect.stats.accepted is required")?,
        exported: uint(m, "exported", w)?.ok_or("expect.stats.exported is required")?,
        retries: uint(m, "retries", w)?,
        batches: uint(m, "batches", w)?,
        circuit_opened: uint(m, "circuit_opened", w)?,
        ..ExpectStats::default()
    };
    if let Some(d) = m.get("dropped") {
        for (k, n) in obj(d, "expect.stats.dropped")? {
            let r = DropReason::from_name(k).ok_or_else(|| format!("expect.stats.dropped: unknown reason {k:?}"))?;
            s.dropped[r as usize] = n
                .as_u64()
                .ok_or_else(|| format!("expect.stats.dropped.{k}: expected an integer"))?;
        }
    }
    if let Some(r) = m.get("requests") {
        let rm = obj(r, "expect.stats.requests")?;
        let names: Vec<&str> = RequestOutcome::ALL.iter().map(|o| o.name()).collect();
        only_keys(rm, &names, "expect.stats.requests")?;
        let mut counts = [0u64; 3];
        for o in RequestOutcome::ALL {
            counts[o as usize] = uint(rm, o.name(), "expect.stats.requests")?.unwrap_or(0);
        }
        s.requests = Some(counts);
    }
    Ok(s)
}

fn parse_requests(v: &Value, n_scopes: usize, n_spans: usize) -> Res<Vec<Vec<Group>>> {
    let reqs = v.as_array().ok_or("expect.requests: expected an array")?;
    reqs.iter()
        .enumerate()
        .map(|(i, r)| {
            let w = format!("expect.requests[{i}]");
            let groups = r
                .as_array()
                .ok_or_else(|| format!("{w}: expected an array of scope groups"))?;
            groups
                .iter()
                .enumerate()
                .map(|(j, g)| {
                    let w = format!("{w}[{j}]");
                    let gm = obj(g, &w)?;
                    only_keys(gm, &["scope", "spans"], &w)?;
                    let scope = uint(gm, "scope", &w)?.ok_or_else(|| format!("{w}.scope is required"))? as usize;
                    if scope >= n_scopes {
                        return Err(format!("{w}.scope: no scope {scope}"));
                    }
                    let spans = array(gm, "spans", &w)?
                        .iter()
                        .map(|x| match x.as_u64() {
                            Some(k) if (k as usize) < n_spans => Ok(k as usize),
                            _ => Err(format!("{w}.spans: {x} is not an input span index")),
                        })
                        .collect::<Res<Vec<usize>>>()?;
                    Ok((scope, spans))
                })
                .collect()
        })
        .collect()
}

fn parse(v: &Value) -> Res<Scenario> {
    let m = obj(v, "scenario")?;
    only_keys(
        m,
        &[
            "name",
            "description",
            "config",
            "resource",
            "scopes",
            "spans",
            "transport_script",
            "hold_first_request_after",
            "expect",
        ],
        "scenario",
    )?;
    let name = string(m, "name", "scenario")?.ok_or("name is required")?.to_string();
    string(m, "description", "scenario")?.ok_or("description is required")?;
    let resource = parse_resource(m.get("resource"))?;
    let (config, limits) = parse_config(m.get("config"), &resource)?;
    let scopes = array(m, "scopes", "scenario")?
        .iter()
        .enumerate()
        .map(|(i, s)| parse_scope(s, &format!("scopes[{i}]")))
        .collect::<Res<Vec<_>>>()?;
    if scopes.is_empty() {
        return Err("scopes: at least one scope is required".into());
    }
    let mut protos = Vec::new();
    let mut spans = Vec::new();
    for (i, s) in array(m, "spans", "scenario")?.iter().enumerate() {
        let w = format!("spans[{i}]");
        let sm = obj(s, &w)?;
        only_keys(sm, &["scope", "span", "after_shutdown"], &w)?;
        let scope = uint(sm, "scope", &w)?.ok_or_else(|| format!("{w}.scope is required"))?;
        let after_shutdown = match sm.get("after_shutdown") {
            None => false,
            Some(b) => b
                .as_bool()
                .ok_or_else(|| format!("{w}.after_shutdown: expected a boolean"))?,
        };
        let p = decode_span(sm.get("span").ok_or_else(|| format!("{w}.span is required"))?, &w)?;
        spans.push(SpanDef {
            scope,
            span: ospan(&p, &w)?,
            after_shutdown,
        });
        protos.push(p);
    }
    let script = array(m, "transport_script", "scenario")?
        .iter()
        .enumerate()
        .map(|(i, r)| parse_reply(r, &format!("transport_script[{i}]")))
        .collect::<Res<Vec<_>>>()?;
    let hold_after = uint(m, "hold_first_request_after", "scenario")?.map(|n| n as usize);
    if let Some(n) = hold_after {
        let before = spans.iter().filter(|s| !s.after_shutdown).count();
        if n == 0 || n > before {
            return Err(format!(
                "hold_first_request_after: {n} must be between 1 and the number of spans recorded before shutdown"
            ));
        }
    }
    let e = obj(m.get("expect").ok_or("expect is required")?, "expect")?;
    only_keys(e, &["stats", "requests", "spans"], "expect")?;
    let stats = parse_stats(e.get("stats").ok_or("expect.stats is required")?)?;
    let requests = parse_requests(
        e.get("requests").ok_or("expect.requests is required")?,
        scopes.len(),
        spans.len(),
    )?;
    let expected_spans = match e.get("spans") {
        None => return Err("expect.spans is required".into()),
        Some(Value::String(s)) if s == "input-after-limits" => {
            spans.iter().map(|s| Some(proto_span(&s.span, &limits))).collect()
        }
        Some(Value::Array(list)) => {
            if list.len() != spans.len() {
                return Err(format!(
                    "expect.spans: {} entries for {} input spans (use null for a span never sent)",
                    list.len(),
                    spans.len()
                ));
            }
            list.iter()
                .enumerate()
                .map(|(i, x)| match x {
                    Value::Null => Ok(None),
                    x => decode_span(x, &format!("expect.spans[{i}]")).map(Some),
                })
                .collect::<Res<Vec<_>>>()?
        }
        Some(v) => {
            return Err(format!(
                "expect.spans: expected \"input-after-limits\" or a list, got {v}"
            ))
        }
    };
    Ok(Scenario {
        name,
        config,
        resource,
        scopes,
        spans,
        script,
        hold_after,
        stats,
        requests,
        expected_spans,
    })
}

// ---------------------------------------------------------------------------
// The scripted transport.

#[derive(Default)]
struct FakeState {
    script: VecDeque<Reply>,
    sent: Vec<SentRequest>,
    hold: bool,
    held: bool,
    released: bool,
}

#[derive(Default)]
struct Fake {
    state: Mutex<FakeState>,
    cv: Condvar,
}

impl Fake {
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, req: &ExportRequest<'_>) -> Result<ExportResponse, TransportError> {
        let mut st = self.lock();
        st.sent.push(SentRequest {
            content_type: req.content_type.to_owned(),
            content_encoding: req.content_encoding.unwrap_or("").to_owned(),
            spans: req.spans,
            body: req.body.to_vec(),
        });
        if st.hold && st.sent.len() == 1 {
            st.held = true;
            self.cv.notify_all();
            let until = Instant::now() + HOLD_TIMEOUT * 2;
            while !st.released && Instant::now() < until {
                st = match self.cv.wait_timeout(st, Duration::from_millis(50)) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
            }
        }
        match st.script.pop_front() {
            None => Ok(ExportResponse {
                status: 200,
                ..Default::default()
            }),
            Some(Reply::ConnectError) => Err(TransportError::Connect("scripted connect_error".into())),
            Some(Reply::Timeout) => Err(TransportError::Timeout("scripted timeout".into())),
            Some(Reply::Status {
                code,
                retry_after,
                partial,
            }) => {
                let body = match partial {
                    Some((rejected_spans, error_message)) => ExportTraceServiceResponse {
                        partial_success: Some(ExportTracePartialSuccess {
                            rejected_spans,
                            error_message,
                        }),
                    }
                    .encode_to_vec(),
                    None => Vec::new(),
                };
                Ok(ExportResponse {
                    status: code,
                    retry_after,
                    body,
                })
            }
        }
    }

    /// Waits until the first request is held; false on timeout.
    fn wait_held(&self) -> bool {
        let until = Instant::now() + HOLD_TIMEOUT;
        let mut st = self.lock();
        while !st.held {
            let now = Instant::now();
            if now >= until {
                return false;
            }
            st = match self.cv.wait_timeout(st, until - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    fn release(&self) {
        self.lock().released = true;
        self.cv.notify_all();
    }
}

// ---------------------------------------------------------------------------
// Running and checking.

/// Any serde-serializable proto message as one line of JSON (for messages).
macro_rules! to_json {
    ($x:expr) => {
        serde_json::to_string($x).unwrap_or_else(|e| format!("<{e}>"))
    };
}

/// What a binding's run of a scenario produced: the requests its transport
/// received, its stats after shutdown, and the runner's own problems. The Rust
/// runner builds one directly; the C, Go and Node runners write one as JSON
/// (see `read_transcript`).
struct Transcript {
    requests: Vec<SentRequest>,
    stats: StatsSnapshot,
    errors: Vec<String>,
}

struct SentRequest {
    content_type: String,
    content_encoding: String,
    /// Spans the exporter announced for the request.
    spans: usize,
    body: Vec<u8>,
}

fn run(sc: Scenario) -> Vec<String> {
    let transcript = drive(&sc);
    check(&sc, transcript)
}

/// Runs `sc` through the Rust API (the recording procedure of the README).
fn drive(sc: &Scenario) -> Transcript {
    let mut errors = Vec::new();
    let fake = Arc::new(Fake::default());
    {
        let mut st = fake.lock();
        st.script = sc.script.iter().cloned().collect();
        st.hold = sc.hold_after.is_some();
    }
    let f = fake.clone();
    let transport = FnTransport::new("scenario", move |req: &ExportRequest<'_>| f.send(req));
    let failed = |e: String| Transcript {
        requests: Vec::new(),
        stats: StatsSnapshot::default(),
        errors: vec![e],
    };
    let exp = match Exporter::builder()
        .config(sc.config.clone())
        .logger(Logger::silent())
        .transport(Box::new(transport))
        .build()
    {
        Ok(e) => e,
        Err(e) => return failed(format!("cannot build the exporter: {e}")),
    };
    let mut ids = Vec::new();
    for s in &sc.scopes {
        match exp.add_scope(&s.view) {
            Ok(id) => ids.push(id),
            Err(e) => return failed(format!("cannot add a scope: {e}")),
        }
    }
    let record = |s: &SpanDef| {
        // A scope index outside `scopes` is a handle the exporter never issued.
        let id = ids.get(s.scope as usize).copied().unwrap_or(ScopeId(u16::MAX));
        let _ = exp.record(id, &view_span(&s.span));
    };
    let before: Vec<&SpanDef> = sc.spans.iter().filter(|s| !s.after_shutdown).collect();
    match sc.hold_after {
        Some(n) => {
            before[..n].iter().for_each(|s| record(s));
            exp.force_flush(Duration::ZERO);
            if !fake.wait_held() {
                errors.push("the first request never reached the transport (hold)".into());
            }
            before[n..].iter().for_each(|s| record(s));
            fake.release();
        }
        None => before.iter().for_each(|s| record(s)),
    }
    let out = exp.shutdown(SHUTDOWN_TIMEOUT);
    if out.timed_out {
        errors.push(format!("shutdown timed out: {out}"));
    }
    sc.spans.iter().filter(|s| s.after_shutdown).for_each(record);
    let stats = exp.stats();
    let mut st = fake.lock();
    let requests = std::mem::take(&mut st.sent);
    Transcript {
        requests,
        stats,
        errors,
    }
}

/// Compares a transcript with the scenario's expectations.
fn check(sc: &Scenario, t: Transcript) -> Vec<String> {
    let mut errors = t.errors;
    check_stats(&sc.stats, &t.stats, &mut errors);
    if t.requests.len() != sc.requests.len() {
        errors.push(format!(
            "{} requests sent, {} expected",
            t.requests.len(),
            sc.requests.len()
        ));
    }
    for (i, (req, groups)) in t.requests.iter().zip(&sc.requests).enumerate() {
        if req.content_type != "application/x-protobuf" || !req.content_encoding.is_empty() {
            errors.push(format!(
                "request {i}: {:?} with encoding {:?}, not uncompressed application/x-protobuf",
                req.content_type, req.content_encoding
            ));
        }
        let want_spans: usize = groups.iter().map(|g| g.1.len()).sum();
        if req.spans != want_spans {
            errors.push(format!(
                "request {i}: the exporter announced {} spans, {want_spans} expected",
                req.spans
            ));
        }
        match ExportTraceServiceRequest::decode(req.body.as_slice()) {
            Ok(decoded) => check_request(
                i,
                &decoded,
                groups,
                &sc.resource,
                &sc.scopes,
                &sc.expected_spans,
                &mut errors,
            ),
            Err(e) => errors.push(format!("request {i}: does not decode: {e}")),
        }
    }
    errors
}

/// Reads a transcript a binding's runner wrote:
/// `{"binding", "scenario", "requests": [{"content_type", "content_encoding",
/// "spans", "body_hex"}], "stats": {"accepted", "exported", "dropped": {reason:
/// n}, "requests": {outcome: n}, "retries", "batches", "circuit_opened"},
/// "errors": [text]}`.
fn read_transcript(v: &Value) -> Res<Transcript> {
    let m = obj(v, "transcript")?;
    only_keys(m, &["binding", "scenario", "requests", "stats", "errors"], "transcript")?;
    let mut requests = Vec::new();
    for (i, r) in array(m, "requests", "transcript")?.iter().enumerate() {
        let what = format!("requests[{i}]");
        let r = obj(r, &what)?;
        only_keys(r, &["content_type", "content_encoding", "spans", "body_hex"], &what)?;
        let hex = string(r, "body_hex", &what)?.ok_or(format!("{what}: body_hex missing"))?;
        if hex.len() % 2 != 0 {
            return Err(format!("{what}: body_hex has odd length"));
        }
        let body = (0..hex.len())
            .step_by(2)
            .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).map_err(|e| format!("{what}: body_hex: {e}")))
            .collect::<Res<Vec<u8>>>()?;
        requests.push(SentRequest {
            content_type: string(r, "content_type", &what)?.unwrap_or("").to_owned(),
            content_encoding: string(r, "content_encoding", &what)?.unwrap_or("").to_owned(),
            spans: uint(r, "spans", &what)?.ok_or(format!("{what}: spans missing"))? as usize,
            body,
        });
    }
    let st = obj(m.get("stats").ok_or("transcript: stats missing")?, "stats")?;
    only_keys(
        st,
        &[
            "accepted",
            "exported",
            "dropped",
            "requests",
            "retries",
            "batches",
            "circuit_opened",
        ],
        "stats",
    )?;
    let count = |k: &str| -> Res<u64> { uint(st, k, "stats")?.ok_or(format!("stats.{k} missing")) };
    let mut stats = StatsSnapshot {
        accepted: count("accepted")?,
        exported: count("exported")?,
        retries: count("retries")?,
        batches: count("batches")?,
        circuit_opened: count("circuit_opened")?,
        ..StatsSnapshot::default()
    };
    let dropped = obj(st.get("dropped").ok_or("stats.dropped missing")?, "stats.dropped")?;
    for (k, _) in dropped {
        let r = DropReason::from_name(k).ok_or(format!("stats.dropped: unknown reason {k:?}"))?;
        stats.dropped[r as usize] = uint(dropped, k, "stats.dropped")?.unwrap_or(0);
    }
    let reqs = obj(st.get("requests").ok_or("stats.requests missing")?, "stats.requests")?;
    for o in RequestOutcome::ALL {
        stats.requests[o as usize] = uint(reqs, o.name(), "stats.requests")?.unwrap_or(0);
    }
    let errors = match m.get("errors") {
        None => Vec::new(),
        Some(e) => e
            .as_array()
            .ok_or("transcript: errors is not an array")?
            .iter()
            .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string()))
            .collect(),
    };
    Ok(Transcript {
        requests,
        stats,
        errors,
    })
}

fn check_stats(want: &ExpectStats, got: &StatsSnapshot, errors: &mut Vec<String>) {
    let mut cmp = |what: &str, w: u64, g: u64| {
        if w != g {
            errors.push(format!("stats.{what}: got {g}, expected {w}"));
        }
    };
    cmp("accepted", want.accepted, got.accepted);
    cmp("exported", want.exported, got.exported);
    for r in DropReason::ALL {
        cmp(
            &format!("dropped.{}", r.name()),
            want.dropped[r as usize],
            got.dropped_for(r),
        );
    }
    if let Some(req) = want.requests {
        for o in RequestOutcome::ALL {
            cmp(&format!("requests.{}", o.name()), req[o as usize], got.requests_for(o));
        }
    }
    if let Some(n) = want.retries {
        cmp("retries", n, got.retries);
    }
    if let Some(n) = want.batches {
        cmp("batches", n, got.batches);
    }
    if let Some(n) = want.circuit_opened {
        cmp("circuit_opened", n, got.circuit_opened);
    }
}

fn check_request(
    i: usize,
    req: &ExportTraceServiceRequest,
    groups: &[Group],
    resource: &[(String, String)],
    scopes: &[ScopeDef],
    expected: &[Option<pt::Span>],
    errors: &mut Vec<String>,
) {
    let [rs] = req.resource_spans.as_slice() else {
        errors.push(format!(
            "request {i}: {} ResourceSpans, expected 1",
            req.resource_spans.len()
        ));
        return;
    };
    let attrs = rs
        .resource
        .as_ref()
        .map(|r| r.attributes.as_slice())
        .unwrap_or_default();
    for (k, v) in resource {
        let found = attrs.iter().find(|a| &a.key == k).and_then(|a| a.value.as_ref());
        let want = pc::AnyValue {
            value: Some(pc::any_value::Value::StringValue(v.clone())),
        };
        if found != Some(&want) {
            errors.push(format!(
                "request {i}: resource attribute {k:?} is {}, expected {v:?}",
                to_json!(&found)
            ));
        }
    }
    let got_layout: Vec<(String, usize)> = rs
        .scope_spans
        .iter()
        .map(|ss| {
            (
                ss.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
                ss.spans.len(),
            )
        })
        .collect();
    if rs.scope_spans.len() != groups.len() {
        errors.push(format!(
            "request {i}: {} scope groups {got_layout:?}, expected {}",
            rs.scope_spans.len(),
            groups.len()
        ));
        return;
    }
    for (j, (ss, (scope, idxs))) in rs.scope_spans.iter().zip(groups).enumerate() {
        let want = &scopes[*scope];
        if ss.scope.as_ref() != Some(&want.proto) || ss.schema_url != want.schema_url {
            errors.push(format!(
                "request {i} group {j}: scope {} (schemaUrl {:?}), expected scope {scope}: {} (schemaUrl {:?})",
                to_json!(&ss.scope),
                ss.schema_url,
                to_json!(&want.proto),
                want.schema_url
            ));
        }
        if ss.spans.len() != idxs.len() {
            errors.push(format!(
                "request {i} group {j}: {} spans, expected {} (layout {got_layout:?})",
                ss.spans.len(),
                idxs.len()
            ));
            continue;
        }
        for (got, &k) in ss.spans.iter().zip(idxs) {
            match &expected[k] {
                None => errors.push(format!(
                    "request {i} group {j}: span {k} was sent, but expect.spans[{k}] is null"
                )),
                Some(want) if want != got => {
                    let mut diffs = Vec::new();
                    json_diff(
                        "",
                        &serde_json::to_value(got).unwrap_or_default(),
                        &serde_json::to_value(want).unwrap_or_default(),
                        &mut diffs,
                    );
                    errors.push(format!(
                        "request {i} group {j}: span {k} differs:\n      {}",
                        diffs.join("\n      ")
                    ));
                }
                Some(_) => {}
            }
        }
    }
}

/// The paths where two JSON values differ (the first 8), as `path: got X, expected Y`.
fn json_diff(path: &str, got: &Value, want: &Value, out: &mut Vec<String>) {
    if out.len() >= 8 || got == want {
        return;
    }
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let mut keys: Vec<&String> = g.keys().chain(w.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (g, w) = (g.get(k).unwrap_or(&Value::Null), w.get(k).unwrap_or(&Value::Null));
                json_diff(&format!("{path}.{k}"), g, w, out);
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (n, (g, w)) in g.iter().zip(w).enumerate() {
                json_diff(&format!("{path}[{n}]"), g, w, out);
            }
        }
        _ => out.push(format!("{}: got {got}, expected {want}", path.trim_start_matches('.'))),
    }
}

/// `scenarios/` at the workspace root, or `OTLPX_SCENARIO_DIR` when set.
fn scenario_dir() -> PathBuf {
    match std::env::var_os("OTLPX_SCENARIO_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"),
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Reads and parses one scenario file; on failure, its name and the problem.
fn load(path: &Path) -> Result<Scenario, (String, Vec<String>)> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fail = |e: String| (stem.clone(), vec![e]);
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| fail(format!("not JSON: {e}")))?;
    let sc = parse(&value).map_err(|e| fail(format!("bad scenario: {e}")))?;
    if sc.name != stem {
        return Err(fail(format!("name {:?} differs from the file name", sc.name)));
    }
    Ok(sc)
}

fn run_file(path: &Path) -> (String, Vec<String>) {
    let sc = match load(path) {
        Ok(sc) => sc,
        Err(failure) => return failure,
    };
    let name = sc.name.clone();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(sc))) {
        Ok(errors) => (name, errors),
        Err(_) => (name, vec!["panicked".into()]),
    }
}

/// Checks another binding's run of `path`: the transcript `<dir>/<name>.json`.
fn check_transcript_file(path: &Path, dir: &Path) -> (String, Vec<String>) {
    let sc = match load(path) {
        Ok(sc) => sc,
        Err(failure) => return failure,
    };
    let name = sc.name.clone();
    let file = dir.join(format!("{name}.json"));
    let transcript = std::fs::read_to_string(&file)
        .map_err(|e| format!("no transcript {}: {e}", file.display()))
        .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| format!("transcript is not JSON: {e}")))
        .and_then(|v| read_transcript(&v).map_err(|e| format!("bad transcript: {e}")));
    match transcript {
        Ok(t) => (name, check(&sc, t)),
        Err(e) => (name, vec![e]),
    }
}

#[test]
fn scenario_directory_is_not_empty() {
    let files = scenario_files();
    assert!(
        files.len() >= 10,
        "expected the shared scenarios in {}, found {}",
        scenario_dir().display(),
        files.len()
    );
}

/// Runs every scenario (or only `OTLPX_SCENARIO=<name>`) and lists every failure.
#[test]
fn all_scenarios_pass() {
    let only = std::env::var("OTLPX_SCENARIO").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in scenario_files() {
        if only.as_deref().is_some_and(|o| !path.ends_with(format!("{o}.json"))) {
            continue;
        }
        ran += 1;
        let (name, errors) = run_file(&path);
        if !errors.is_empty() {
            failures.push(format!("{name}:\n  - {}", errors.join("\n  - ")));
        }
    }
    assert!(ran > 0, "no scenario ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} scenarios failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Checks the transcripts a C, Go or Node runner wrote into the directory
/// `OTLPX_SCENARIO_TRANSCRIPTS` (one `<name>.json` per scenario; format in
/// `read_transcript`) with the same comparator as the Rust runner. Without
/// the variable there is nothing to check.
#[test]
fn transcripts() {
    let Some(dir) = std::env::var_os("OTLPX_SCENARIO_TRANSCRIPTS").map(PathBuf::from) else {
        return;
    };
    let only = std::env::var("OTLPX_SCENARIO").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in scenario_files() {
        if only.as_deref().is_some_and(|o| !path.ends_with(format!("{o}.json"))) {
            continue;
        }
        ran += 1;
        let (name, errors) = check_transcript_file(&path, &dir);
        if !errors.is_empty() {
            failures.push(format!("{name}:\n  - {}", errors.join("\n  - ")));
        }
    }
    assert!(ran > 0, "no scenario checked");
    assert!(
        failures.is_empty(),
        "{} of {ran} transcripts in {} failed:\n{}",
        failures.len(),
        dir.display(),
        failures.join("\n")
    );
}

/// The transcript format round-trips: the Rust runner's own runs, written as
/// the JSON the other bindings write and read back, pass the same checks.
#[test]
fn transcript_format_round_trips() {
    let mut failures = Vec::new();
    for path in scenario_files() {
        let Ok(sc) = load(&path) else { continue };
        let t = drive(&sc);
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let dropped: Map<String, Value> = DropReason::ALL
            .iter()
            .map(|r| (r.name().to_owned(), json!(t.stats.dropped_for(*r))))
            .collect();
        let requests: Map<String, Value> = RequestOutcome::ALL
            .iter()
            .map(|o| (o.name().to_owned(), json!(t.stats.requests_for(*o))))
            .collect();
        let v = json!({
            "binding": "rust",
            "scenario": sc.name,
            "requests": t.requests.iter().map(|r| json!({
                "content_type": r.content_type,
                "content_encoding": r.content_encoding,
                "spans": r.spans,
                "body_hex": hex(&r.body),
            })).collect::<Vec<_>>(),
            "stats": {
                "accepted": t.stats.accepted,
                "exported": t.stats.exported,
                "dropped": dropped,
                "requests": requests,
                "retries": t.stats.retries,
                "batches": t.stats.batches,
                "circuit_opened": t.stats.circuit_opened,
            },
            "errors": t.errors,
        });
        match read_transcript(&v) {
            Ok(back) => {
                let errors = check(&sc, back);
                if !errors.is_empty() {
                    failures.push(format!("{}: {errors:?}", sc.name));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", sc.name)),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
