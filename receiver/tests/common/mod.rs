//! Helpers shared by the receiver's integration tests: a sample request and a ureq agent that does not turn
//! HTTP errors into `Err`.
#![allow(dead_code)]

use std::time::Duration;

use otlpx_receiver::proto::{
    any_value::Value, span, AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource,
    ResourceSpans, ScopeSpans, Span, Status,
};

pub fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub fn span(i: u8) -> Span {
    Span {
        trace_id: vec![0x11; 16],
        span_id: vec![i; 8],
        parent_span_id: if i == 1 { vec![] } else { vec![1; 8] },
        name: format!("span-{i}"),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_005_000_000,
        attributes: vec![
            kv("http.request.method", Value::StringValue("GET".into())),
            kv("http.response.status_code", Value::IntValue(200)),
        ],
        status: Some(Status {
            code: 1,
            message: String::new(),
        }),
        ..Default::default()
    }
}

/// One resource, one scope, `n` spans.
pub fn request(n: u8) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue("test-svc".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test-scope".into(),
                    version: "1.0".into(),
                    ..Default::default()
                }),
                spans: (1..=n).map(span).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

pub fn agent_with_timeout(timeout: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build(),
    )
}

/// POST a protobuf body; returns (status, headers as (name, value), body).
pub fn post(agent: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> Result<Reply, ureq::Error> {
    let mut resp = agent.post(url).header("content-type", content_type).send(body)?;
    Ok(Reply {
        status: resp.status().as_u16(),
        content_type: header(&resp, "content-type"),
        retry_after: header(&resp, "retry-after"),
        body: resp.body_mut().read_to_vec()?,
    })
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}
