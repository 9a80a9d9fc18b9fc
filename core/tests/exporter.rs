//! The exporter against a real OTLP/HTTP receiver on loopback: routes,
//! headers, TLS, and every fault the OTLP/HTTP specification names.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otlpx_core::config::{Config, ConfigBuilder};
use otlpx_core::exporter::Exporter;
use otlpx_core::log::{Level, Logger};
use otlpx_core::retry::RetryConfig;
use otlpx_core::{DropReason, SpanLimits};
use otlpx_receiver::{free_port, testcerts, Behavior, Receiver, ReceiverConfig};
use support::*;

fn fast_retry() -> RetryConfig {
    RetryConfig {
        enabled: true,
        initial_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
        max_elapsed_time: Duration::from_secs(10),
    }
}

fn config(env: &[(&str, &str)], code: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Config {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let (cfg, warnings) = code(Config::builder().retry(fast_retry())).build_from_lookup(|k| env.get(k).cloned());
    assert!(warnings.is_empty(), "{warnings:?}");
    cfg
}

/// A logger that keeps messages for assertions.
fn capture() -> (Logger, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    let logger = Logger::new(
        Arc::new(move |level, msg| l.lock().unwrap().push(format!("{level}: {msg}"))),
        Level::Info,
    );
    (logger, lines)
}

fn exporter(cfg: Config) -> Exporter {
    Exporter::builder()
        .config(cfg)
        .logger(Logger::silent())
        .build()
        .unwrap()
}

fn send(exp: &Exporter, spans: &[OSpan]) {
    for s in spans {
        exp.record(exp.default_scope(), &view_span(s)).unwrap();
    }
}

fn all_types_span() -> OSpan {
    let mut s = http_span(9);
    s.attrs.extend([
        ("bytes".to_string(), OValue::Bytes(vec![0, 1, 0xff])),
        (
            "array".to_string(),
            OValue::Array(vec![OValue::Str("a".into()), OValue::Int(-1), OValue::Bool(true)]),
        ),
        (
            "kvlist".to_string(),
            OValue::KvList(vec![
                ("inner".into(), OValue::Double(1.5)),
                ("nested".into(), OValue::Array(vec![OValue::Str("ü".into())])),
            ]),
        ),
    ]);
    s.links.push(OLink {
        trace_id: [0xff; 16],
        span_id: [0xee; 8],
        trace_state: "k=v".into(),
        attrs: vec![("l".into(), OValue::Int(3))],
        dropped: 0,
        flags: 0x301,
    });
    s.status_code = 2;
    s.status_message = "boom".into();
    s
}

#[test]
fn every_attribute_type_arrives_and_decodes() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    let spans = vec![http_span(1), all_types_span()];
    send(&exp, &spans);
    let out = exp.shutdown(Duration::from_secs(5));
    assert!(out.is_success(), "{out}");
    let got = rx.spans();
    assert_eq!(got.len(), 2);
    let limits = SpanLimits::default();
    for (i, (resource, scope, span)) in got.iter().enumerate() {
        assert_eq!(span, &proto_span(&spans[i], &limits));
        assert_eq!(scope.name, "otlpx");
        let keys: Vec<_> = resource.attributes.iter().map(|a| a.key.as_str()).collect();
        assert!(keys.contains(&"service.name"), "{keys:?}");
        assert!(keys.contains(&"telemetry.sdk.name"), "{keys:?}");
    }
    let s = exp.stats();
    assert_eq!((s.accepted, s.exported, s.dropped_total()), (2, 2, 0));
    let req = &rx.requests()[0];
    assert_eq!(req.content_type.as_deref(), Some("application/x-protobuf"));
    assert!(req
        .header("user-agent")
        .unwrap()
        .starts_with("OTel-OTLP-Exporter-Rust-otlpx/"));
}

#[test]
fn base_endpoint_gets_v1_traces_with_or_without_trailing_slash() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    for base in [rx.base_url(), format!("{}/", rx.base_url())] {
        let exp = exporter(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &base)], |b| b));
        assert_eq!(exp.config().endpoint(), rx.traces_url());
        send(&exp, &[http_span(1)]);
        assert!(exp.shutdown(Duration::from_secs(5)).is_success());
    }
    let paths: Vec<_> = rx.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec!["/v1/traces", "/v1/traces"]);
}

#[test]
fn ingester_route_over_https_with_kloudfuse_headers() {
    let pki = testcerts::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("otlpx-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = pki.write_to(&dir).unwrap();
    let rx = Receiver::start(ReceiverConfig::default().tls(pki.server_tls())).unwrap();
    let endpoint = format!("https://localhost:{}/ingester/otlp/traces", rx.addr().port());
    let ca = files.ca_cert.to_str().unwrap().to_owned();
    // As a Kubernetes Secret would hold it: the whole `kf-api-key=<key>`
    // expression, with URL-encoded characters in the key.
    let exp = exporter(config(
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/ignored"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "kf-api-key=s3cr%3Dt%2Fkey , x-env=production",
            ),
        ],
        |b| b,
    ));
    assert!(exp.config().to_string().contains("kf-api-key=****"));
    assert!(!exp.config().to_string().contains("s3cr"));
    send(&exp, &[http_span(1), http_span(2)]);
    let out = exp.shutdown(Duration::from_secs(10));
    assert!(out.is_success(), "{out} {:?}", exp.stats().last_error);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].tls);
    assert_eq!(reqs[0].path, "/ingester/otlp/traces");
    assert_eq!(reqs[0].header("kf-api-key"), Some("s3cr=t/key"));
    assert_eq!(reqs[0].header("x-env"), Some("production"));
    assert_eq!(rx.span_count(), 2);
}

#[test]
fn mutual_tls_with_a_client_certificate() {
    let pki = testcerts::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("otlpx-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = pki.write_to(&dir).unwrap();
    let rx = Receiver::start(ReceiverConfig::default().tls(pki.server_mtls())).unwrap();
    let endpoint = format!("https://localhost:{}/v1/traces", rx.addr().port());
    let ca = files.ca_cert.to_str().unwrap();
    let exp = exporter(config(
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                files.client_cert.to_str().unwrap(),
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", files.client_key.to_str().unwrap()),
        ],
        |b| b,
    ));
    send(&exp, &[http_span(1)]);
    assert!(exp.shutdown(Duration::from_secs(10)).is_success());
    assert!(rx.requests()[0].client_cert);

    // Without the client certificate the handshake fails: retried, then dropped and counted.
    let exp = exporter(config(
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca),
            ("OTEL_BSP_EXPORT_TIMEOUT", "1000"),
        ],
        |b| b,
    ));
    send(&exp, &[http_span(1)]);
    let out = exp.shutdown(Duration::from_secs(10));
    assert_eq!(out.dropped, 1, "{out}");
    assert_eq!(exp.stats().dropped_for(DropReason::ExportFailed), 1);
    assert_eq!(rx.span_count(), 1);
}

#[test]
fn receiver_down_at_start_then_up_delivers() {
    let port = free_port().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1/traces");
    let exp = exporter(config(&[], |b| b.endpoint(url)));
    send(&exp, &[http_span(1), http_span(2), http_span(3)]);
    let flusher = std::thread::spawn({
        let exp = Arc::new(exp);
        move || {
            let out = exp.force_flush(Duration::from_secs(10));
            (out, exp)
        }
    });
    std::thread::sleep(Duration::from_millis(400));
    let rx = Receiver::start(ReceiverConfig::with_port(port)).unwrap();
    let (out, exp) = flusher.join().unwrap();
    assert!(out.is_success(), "{out}");
    assert_eq!(rx.span_count(), 3);
    let s = exp.stats();
    assert!(s.retries >= 1, "{s}");
    assert_eq!(s.exported, 3);
}

#[test]
fn a_503_storm_with_retry_after_is_ridden_out() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_behavior(
        Behavior::Status {
            code: 503,
            retry_after: Some("1".into()),
            body: Vec::new(),
        },
        3,
    );
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    send(&exp, &[http_span(1)]);
    let t = Instant::now();
    let out = exp.force_flush(Duration::from_secs(20));
    assert!(out.is_success(), "{out}");
    // Retry-After: 1 second, three times, beats the 50 ms backoff.
    assert!(t.elapsed() >= Duration::from_millis(2900), "{:?}", t.elapsed());
    let s = exp.stats();
    assert_eq!(s.retries, 3);
    assert_eq!(s.last_http_status, 200);
    assert_eq!(rx.request_count(), 4);
    assert_eq!(rx.span_count(), 1);
}

#[test]
fn a_429_is_retried() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_behavior(
        Behavior::Status {
            code: 429,
            retry_after: None,
            body: Vec::new(),
        },
        2,
    );
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    send(&exp, &[http_span(1)]);
    assert!(exp.force_flush(Duration::from_secs(10)).is_success());
    assert_eq!(exp.stats().retries, 2);
    assert_eq!(rx.span_count(), 1);
}

#[test]
fn a_400_is_dropped_as_rejected_and_logged() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_behavior(
        Behavior::Status {
            code: 400,
            retry_after: None,
            body: b"bad spans".to_vec(),
        },
        1,
    );
    let (logger, lines) = capture();
    let exp = Exporter::builder()
        .config(config(&[], |b| b.endpoint(rx.traces_url())))
        .logger(logger)
        .build()
        .unwrap();
    send(&exp, &[http_span(1), http_span(2)]);
    let out = exp.shutdown(Duration::from_secs(5));
    assert_eq!((out.exported, out.dropped), (0, 2), "{out}");
    let s = exp.stats();
    assert_eq!(s.dropped_for(DropReason::Rejected), 2);
    assert_eq!(s.retries, 0);
    assert_eq!(s.last_http_status, 400);
    assert!(s.last_error.as_deref().unwrap_or("").contains("bad spans"), "{s}");
    assert!(lines.lock().unwrap().iter().any(|l| l.contains("rejected")));
}

#[test]
fn partial_success_counts_rejected_spans() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_behavior(
        Behavior::PartialSuccess {
            rejected: 2,
            message: "2 spans too old".into(),
        },
        1,
    );
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    send(&exp, &[http_span(1), http_span(2), http_span(3)]);
    let out = exp.shutdown(Duration::from_secs(5));
    assert_eq!((out.exported, out.dropped), (1, 2), "{out}");
    let s = exp.stats();
    assert_eq!(s.dropped_for(DropReason::Rejected), 2);
    assert!(s.last_error.unwrap().contains("too old"));
}

#[test]
fn a_slow_receiver_past_the_timeout_is_retried_then_dropped() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_default_behavior(Behavior::Delay(Duration::from_secs(3)));
    let exp = exporter(config(
        &[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "300"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "1500"),
        ],
        |b| b.endpoint(rx.traces_url()),
    ));
    send(&exp, &[http_span(1)]);
    let t = Instant::now();
    let out = exp.force_flush(Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(out.dropped, 1, "{out}");
    let s = exp.stats();
    assert!(s.retries >= 1, "{s}");
    assert_eq!(s.dropped_for(DropReason::ExportFailed), 1);
    assert!(s.last_error.unwrap().contains("timed out"));
}

#[test]
fn shutdown_returns_by_its_deadline_against_a_black_hole() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_default_behavior(Behavior::BlackHole);
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    send(&exp, &[http_span(1), http_span(2)]);
    let _ = exp.force_flush(Duration::from_millis(200));
    let t = Instant::now();
    let out = exp.shutdown(Duration::from_millis(500));
    let took = t.elapsed();
    assert!(took < Duration::from_millis(900), "shutdown took {took:?}");
    assert!(out.timed_out, "{out}");
    assert_eq!(out.pending, 2);
    // Dropping it afterwards does not hang either.
    let t = Instant::now();
    drop(exp);
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[test]
fn gzip_compression_arrives_decoded() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let exp = exporter(config(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")], |b| {
        b.endpoint(rx.traces_url())
    }));
    let spans: Vec<_> = (0..100).map(http_span).collect();
    send(&exp, &spans);
    assert!(exp.shutdown(Duration::from_secs(5)).is_success());
    let req = &rx.requests()[0];
    assert_eq!(req.content_encoding.as_deref(), Some("gzip"));
    assert!(
        req.body_size < req.decoded_size / 2,
        "{} vs {}",
        req.body_size,
        req.decoded_size
    );
    assert_eq!(rx.span_count(), 100);
}

#[test]
fn spans_after_shutdown_and_when_disabled_are_counted() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    send(&exp, &[http_span(1)]);
    assert!(exp.shutdown(Duration::from_secs(5)).is_success());
    assert_eq!(
        exp.record(exp.default_scope(), &view_span(&http_span(2))),
        Err(DropReason::Shutdown)
    );
    let s = exp.stats();
    assert_eq!((s.accepted, s.exported, s.dropped_for(DropReason::Shutdown)), (2, 1, 1));
    // A second shutdown returns at once.
    assert!(!exp.shutdown(Duration::from_secs(5)).timed_out);

    let exp = exporter(config(&[("OTEL_SDK_DISABLED", "true")], |b| {
        b.endpoint(rx.traces_url())
    }));
    assert_eq!(
        exp.record(exp.default_scope(), &view_span(&http_span(3))),
        Err(DropReason::Disabled)
    );
    assert!(!exp.shutdown(Duration::from_secs(1)).timed_out);
    assert_eq!(exp.stats().dropped_for(DropReason::Disabled), 1);
    assert_eq!(rx.span_count(), 1);
}

#[test]
fn schedule_delay_exports_a_partial_batch() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let exp = exporter(config(&[("OTEL_BSP_SCHEDULE_DELAY", "100")], |b| {
        b.endpoint(rx.traces_url())
    }));
    send(&exp, &[http_span(1)]);
    assert!(rx.wait_for_spans(1, Duration::from_secs(5)));
    drop(exp);
}

#[test]
fn one_keep_alive_connection_serves_many_batches() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    for i in 0..5 {
        send(&exp, &[http_span(i)]);
        assert!(exp.force_flush(Duration::from_secs(5)).is_success());
    }
    assert!(exp.shutdown(Duration::from_secs(5)).is_success());
    assert_eq!(rx.request_count(), 5);
    assert_eq!(rx.connection_count(), 1, "the connection was not reused");
}

#[test]
fn the_circuit_breaker_opens_after_repeated_failures_and_recovers() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    rx.set_behavior(
        Behavior::Status {
            code: 400,
            retry_after: None,
            body: Vec::new(),
        },
        5,
    );
    let exp = exporter(config(&[], |b| b.endpoint(rx.traces_url())));
    for i in 0..5 {
        send(&exp, &[http_span(i)]);
        exp.force_flush(Duration::from_secs(5));
    }
    let s = exp.stats();
    assert_eq!(s.circuit_opened, 1, "{s}");
    assert_eq!(s.dropped_for(DropReason::Rejected), 5);
    // The next batch waits out the cool-down (the max retry interval, 200 ms
    // here) instead of going back to back, then is delivered.
    send(&exp, &[http_span(9)]);
    let t = Instant::now();
    assert!(exp.force_flush(Duration::from_secs(5)).is_success());
    assert!(t.elapsed() >= Duration::from_millis(100), "{:?}", t.elapsed());
    assert_eq!(rx.span_count(), 1);
}

#[test]
fn http_json_protocol_sends_otlp_json() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    for compression in ["none", "gzip"] {
        let exp = exporter(config(
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", compression),
            ],
            |b| b.endpoint(rx.traces_url()),
        ));
        send(&exp, &[http_span(1), all_types_span()]);
        assert!(exp.shutdown(Duration::from_secs(5)).is_success());
    }
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs
        .iter()
        .all(|r| r.content_type.as_deref() == Some("application/json")));
    assert_eq!(reqs[1].content_encoding.as_deref(), Some("gzip"));
    let limits = SpanLimits::default();
    let got = rx.spans();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].2, proto_span(&http_span(1), &limits));
    assert_eq!(got[3].2, proto_span(&all_types_span(), &limits));
}

#[test]
fn gzip_streams_many_scopes_and_large_spans() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let exp = exporter(config(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")], |b| {
        b.endpoint(rx.traces_url())
    }));
    let scopes: Vec<_> = (0..3)
        .map(|i| exp.add_scope(&scope_view(&format!("scope{i}"), "1", &[], "")).unwrap())
        .collect();
    let mut big = http_span(7);
    big.span_id = [0xbb; 8];
    // Incompressible bytes, larger than the compressor's first output reservation.
    let mut x = 0x9e3779b97f4a7c15u64;
    let noise: Vec<u8> = (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    big.attrs.push(("blob".into(), OValue::Bytes(noise)));
    let spans: Vec<_> = (0..40)
        .map(|i| if i == 20 { big.clone() } else { http_span(i) })
        .collect();
    for (i, s) in spans.iter().enumerate() {
        exp.record(scopes[i % 3], &view_span(s)).unwrap();
    }
    assert!(exp.shutdown(Duration::from_secs(10)).is_success());
    assert_eq!(rx.span_count(), 40);
    let limits = SpanLimits::default();
    let got = rx.spans();
    for (_, scope, span) in &got {
        let i = spans.iter().position(|s| s.span_id.to_vec() == span.span_id).unwrap();
        assert!(span == &proto_span(&spans[i], &limits), "span {i} differs");
        assert_eq!(scope.name, format!("scope{}", i % 3));
    }
}
