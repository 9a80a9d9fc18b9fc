//! Human-readable one-line summaries of received spans (and a few-line summary of a whole request), as printed
//! by `otlpx receive`. Owns formatting only; it must not decode, record or print.

use std::fmt::Write;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};

/// Longest string value shown before it is cut with `…`.
const MAX_VALUE_CHARS: usize = 120;

/// Lowercase hex of an id; `-` for an empty one.
pub fn hex_id(id: &[u8]) -> String {
    if id.is_empty() {
        return "-".to_string();
    }
    let mut s = String::with_capacity(id.len() * 2);
    for b in id {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// An attribute value as text: strings quoted, bytes as `0x…`, arrays `[…]`, maps `{k=v}`, empty as `<empty>`.
pub fn format_any_value(value: &AnyValue) -> String {
    let mut s = String::new();
    write_value(&mut s, value.value.as_ref());
    s
}

fn write_value(out: &mut String, value: Option<&Value>) {
    match value {
        None => out.push_str("<empty>"),
        Some(Value::StringValue(v)) => {
            if v.chars().count() > MAX_VALUE_CHARS {
                let cut: String = v.chars().take(MAX_VALUE_CHARS).collect();
                let _ = write!(out, "{:?}…", cut);
            } else {
                let _ = write!(out, "{v:?}");
            }
        }
        Some(Value::BoolValue(v)) => {
            let _ = write!(out, "{v}");
        }
        Some(Value::IntValue(v)) => {
            let _ = write!(out, "{v}");
        }
        Some(Value::DoubleValue(v)) => {
            let _ = write!(out, "{v:?}");
        }
        Some(Value::BytesValue(v)) => {
            let _ = write!(out, "0x{}", if v.is_empty() { String::new() } else { hex_id(v) });
        }
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, v.value.as_ref());
            }
            out.push(']');
        }
        Some(Value::KvlistValue(kv)) => {
            out.push('{');
            write_attributes(out, &kv.values);
            out.push('}');
        }
        Some(Value::StringValueStrindex(i)) => {
            let _ = write!(out, "<strindex {i}>");
        }
    }
}

fn write_attributes(out: &mut String, attrs: &[KeyValue]) {
    for (i, kv) in attrs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&kv.key);
        out.push('=');
        write_value(out, kv.value.as_ref().and_then(|v| v.value.as_ref()));
    }
}

fn kind_name(kind: i32) -> String {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Unspecified) => "UNSPECIFIED".into(),
        Ok(SpanKind::Internal) => "INTERNAL".into(),
        Ok(SpanKind::Server) => "SERVER".into(),
        Ok(SpanKind::Client) => "CLIENT".into(),
        Ok(SpanKind::Producer) => "PRODUCER".into(),
        Ok(SpanKind::Consumer) => "CONSUMER".into(),
        Err(_) => format!("KIND({kind})"),
    }
}

fn duration_text(start: u64, end: u64) -> String {
    if end < start {
        return format!("-{}", duration_text(end, start));
    }
    let ns = end - start;
    match ns {
        0..=999 => format!("{ns}ns"),
        1_000..=999_999 => format!("{:.3}µs", ns as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.3}ms", ns as f64 / 1e6),
        _ => format!("{:.3}s", ns as f64 / 1e9),
    }
}

/// One line: name, kind, trace/span/parent ids (hex), duration, status, attributes, and counts of events,
/// links and dropped items when nonzero. For example:
/// `"GET /users" SERVER trace=4bf9…4736 span=00f067aa0ba902b7 parent=- 12.000ms status=OK {http.route="/users"}`
pub fn describe_span(span: &Span) -> String {
    let mut s = String::with_capacity(256);
    let _ = write!(
        s,
        "{:?} {} trace={} span={} parent={} {}",
        span.name,
        kind_name(span.kind),
        hex_id(&span.trace_id),
        hex_id(&span.span_id),
        hex_id(&span.parent_span_id),
        duration_text(span.start_time_unix_nano, span.end_time_unix_nano),
    );
    if let Some(status) = &span.status {
        let code = match StatusCode::try_from(status.code) {
            Ok(StatusCode::Unset) => "UNSET".to_string(),
            Ok(StatusCode::Ok) => "OK".to_string(),
            Ok(StatusCode::Error) => "ERROR".to_string(),
            Err(_) => format!("CODE({})", status.code),
        };
        if status.message.is_empty() {
            let _ = write!(s, " status={code}");
        } else {
            let _ = write!(s, " status={code}({:?})", status.message);
        }
    }
    if !span.attributes.is_empty() {
        s.push_str(" {");
        write_attributes(&mut s, &span.attributes);
        s.push('}');
    }
    if !span.events.is_empty() {
        s.push_str(" events=[");
        for (i, e) in span.events.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{:?}", e.name);
            if !e.attributes.is_empty() {
                s.push('{');
                write_attributes(&mut s, &e.attributes);
                s.push('}');
            }
        }
        s.push(']');
    }
    if !span.links.is_empty() {
        let _ = write!(s, " links={}", span.links.len());
    }
    let dropped = [
        ("attrs", span.dropped_attributes_count),
        ("events", span.dropped_events_count),
        ("links", span.dropped_links_count),
    ];
    for (what, n) in dropped {
        if n > 0 {
            let _ = write!(s, " dropped_{what}={n}");
        }
    }
    s
}

/// Several lines: one per resource (its attributes), one per scope (name and version, indented), one per span
/// (`describe_span`, indented twice).
pub fn describe_request(request: &ExportTraceServiceRequest) -> String {
    let mut s = String::new();
    for rs in &request.resource_spans {
        s.push_str("resource");
        if let Some(r) = &rs.resource {
            if !r.attributes.is_empty() {
                s.push_str(" {");
                write_attributes(&mut s, &r.attributes);
                s.push('}');
            }
        }
        s.push('\n');
        for ss in &rs.scope_spans {
            let (name, version) = ss
                .scope
                .as_ref()
                .map(|sc| (sc.name.as_str(), sc.version.as_str()))
                .unwrap_or(("", ""));
            let _ = writeln!(
                s,
                "  scope {name:?}{}{version}",
                if version.is_empty() { "" } else { " " }
            );
            for span in &ss.spans {
                let _ = writeln!(s, "    {}", describe_span(span));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::trace::v1::{span::Event, Status};

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    #[test]
    fn one_line() {
        let span = Span {
            trace_id: vec![0xab; 16],
            span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
            name: "GET /users".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: 1_000_000_000,
            end_time_unix_nano: 1_012_000_000,
            attributes: vec![
                kv("http.route", Value::StringValue("/users".into())),
                kv("n", Value::IntValue(-3)),
                kv("ok", Value::BoolValue(true)),
                kv("d", Value::DoubleValue(1.0)),
                kv("b", Value::BytesValue(vec![0xde, 0xad])),
                kv(
                    "a",
                    Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(Value::IntValue(1)),
                        }],
                    }),
                ),
                kv(
                    "m",
                    Value::KvlistValue(KeyValueList {
                        values: vec![kv("k", Value::StringValue("v".into()))],
                    }),
                ),
            ],
            events: vec![Event {
                name: "boom".into(),
                ..Default::default()
            }],
            status: Some(Status {
                code: StatusCode::Error as i32,
                message: "bad".into(),
            }),
            dropped_attributes_count: 2,
            ..Default::default()
        };
        let line = describe_span(&span);
        assert_eq!(
            line,
            "\"GET /users\" SERVER trace=abababababababababababababababab span=0102030405060708 parent=- 12.000ms \
             status=ERROR(\"bad\") {http.route=\"/users\", n=-3, ok=true, d=1.0, b=0xdead, a=[1], m={k=\"v\"}} \
             events=[\"boom\"] dropped_attrs=2"
        );
        assert_eq!(duration_text(10, 5), "-5ns");
        assert_eq!(duration_text(0, 1_500), "1.500µs");
        assert_eq!(duration_text(0, 2_000_000_000), "2.000s");
        assert_eq!(kind_name(42), "KIND(42)");
    }
}
