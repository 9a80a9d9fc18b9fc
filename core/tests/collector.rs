//! The exporter against the REAL OpenTelemetry Collector OTLP receiver (`go.opentelemetry.io/collector/receiver/
//! otlpreceiver`, in the small Go main under `tests/collector/`): spans with every attribute type, events, links,
//! statuses, trace states and flags, sent uncompressed and gzip-compressed, must come out of the collector's own
//! decoder equal to the opentelemetry-proto oracle (`support::proto_span`).
//!
//! It owns: building the collector binary once (`tests/collector/build.sh`), running it on a free loopback port,
//! reading back the OTLP/JSON lines it writes, and comparing them. It must not: talk to anything but 127.0.0.1,
//! leave the collector process running (a drop guard stops and reaps it, also on panic), or skip silently: without
//! `go` on PATH it fails, unless `OTLPX_SKIP_COLLECTOR=1` asks to skip (it then says so on stdout).

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::trace::v1 as pt;
use otlpx_core::config::{Compression, Config};
use otlpx_core::exporter::Exporter;
use otlpx_core::log::Logger;
use otlpx_core::retry::RetryConfig;
use otlpx_core::{RequestOutcome, SpanLimits};
use support::*;

const SKIP_ENV: &str = "OTLPX_SKIP_COLLECTOR";
const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.26.0";

// ---------------------------------------------------------------------------
// The collector binary and process

/// The workspace root (core's parent).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core has a parent directory")
        .to_path_buf()
}

/// Builds the collector once per test binary (build.sh itself is idempotent across runs) and returns its path.
/// `None`: skipped on request. Panics with a clear message when Go is missing or the build fails.
fn collector_binary() -> Option<PathBuf> {
    static BIN: OnceLock<Result<Option<PathBuf>, String>> = OnceLock::new();
    BIN.get_or_init(build_collector)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn build_collector() -> Result<Option<PathBuf>, String> {
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        // Straight to the process's stderr, past libtest's capture: a skip must be visible in every log.
        let _ = writeln!(
            std::io::stderr(),
            "collector test SKIPPED: {SKIP_ENV}=1 (the real OpenTelemetry Collector receiver was not run)"
        );
        return Ok(None);
    }
    match Command::new("go").arg("version").env("GOTOOLCHAIN", "local").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Err(format!(
                "`go version` failed ({}): {}; the collector integration test needs Go >= 1.26 on PATH \
                 (set {SKIP_ENV}=1 to skip it)",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
        Err(e) => {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                "`go` is not on PATH".to_string()
            } else {
                format!("`go` cannot be run ({e})")
            };
            return Err(format!(
                "{what}: the collector integration test needs Go >= 1.26 to build the real OpenTelemetry Collector \
                 receiver (tests/collector/build.sh); install Go, or set {SKIP_ENV}=1 to skip this test"
            ));
        }
    }
    let root = workspace();
    let script = root.join("tests/collector/build.sh");
    let out_dir = root.join("target/collector");
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(&script)
        .arg(&out_dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}); its output is above",
            script.display(),
            out.status
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .last()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| format!("{} printed no binary path", script.display()))?;
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(format!(
            "{} printed {}, which is not a file",
            script.display(),
            path.display()
        ));
    }
    println!("collector binary {} ready in {:.1?}", path.display(), started.elapsed());
    Ok(Some(path))
}

/// A running `otelcol-receiver`; dropping it stops (SIGTERM, then SIGKILL) and reaps the process.
struct Collector {
    child: Option<Child>,
    port: u16,
    out: PathBuf,
}

impl Collector {
    fn start(bin: &Path, out: &Path) -> Collector {
        let mut child = Command::new(bin)
            .arg("-out")
            .arg(out)
            .args(["-http-addr", "127.0.0.1:0", "-log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        // The guard exists before waiting for READY, so a timeout or early exit still reaps the process.
        let mut guard = Collector {
            child: Some(child),
            port: 0,
            out: out.to_path_buf(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while guard.port == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(p) = line.strip_prefix("READY ") {
                        guard.port = p
                            .trim()
                            .parse()
                            .unwrap_or_else(|e| panic!("bad READY line {line:?}: {e}"));
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("collector did not print READY in 30 s; stdout: {seen:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = guard.child.as_mut().and_then(|c| c.wait().ok());
                    panic!("collector exited ({status:?}) before READY; stdout: {seen:?} (stderr is above)")
                }
            }
        }
        guard
    }

    fn traces_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.port)
    }

    /// Every request the collector accepted so far, decoded.
    fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_else(|e| panic!("read {}: {e}", self.out.display()));
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                otlpx_receiver::decode_json_request(l.as_bytes())
                    .unwrap_or_else(|e| panic!("line {} of {} is not OTLP/JSON: {e}\n{l}", i + 1, self.out.display()))
            })
            .collect()
    }

    /// SIGTERM, then wait up to `grace`; SIGKILL after that. Returns the exit status.
    fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

// ---------------------------------------------------------------------------
// The spans

fn kv(k: &str, v: OValue) -> (String, OValue) {
    (k.to_owned(), v)
}

/// Every attribute type, with edge values, and nesting both ways (kvlist in array in kvlist ...).
fn every_type_attrs() -> Vec<(String, OValue)> {
    vec![
        kv("str", OValue::Str("GET /api/orders/{id}".into())),
        kv("str.empty", OValue::Str(String::new())),
        kv(
            "str.unicode",
            OValue::Str("üñï©ødé 😀 \u{2028} \"quoted\" \\ /\n\t".into()),
        ),
        kv("bool.true", OValue::Bool(true)),
        kv("bool.false", OValue::Bool(false)),
        kv("int.zero", OValue::Int(0)),
        kv("int.neg", OValue::Int(-1)),
        kv("int.min", OValue::Int(i64::MIN)),
        kv("int.max", OValue::Int(i64::MAX)),
        kv("int.beyond_f64", OValue::Int(9_007_199_254_740_993)),
        kv("double", OValue::Double(0.25)),
        kv("double.neg", OValue::Double(-1.5e300)),
        kv("double.tiny", OValue::Double(5e-324)),
        kv("double.max", OValue::Double(f64::MAX)),
        kv("double.tenth", OValue::Double(0.1)),
        kv("double.zero", OValue::Double(0.0)),
        kv("bytes", OValue::Bytes(vec![0, 1, 0x7f, 0x80, 0xfe, 0xff])),
        kv("bytes.empty", OValue::Bytes(Vec::new())),
        kv(
            "array",
            OValue::Array(vec![
                OValue::Str("a".into()),
                OValue::Int(-7),
                OValue::Bool(true),
                OValue::Double(2.5),
                OValue::Bytes(vec![9, 8]),
            ]),
        ),
        kv("array.empty", OValue::Array(Vec::new())),
        kv(
            "kvlist",
            OValue::KvList(vec![
                kv("inner.double", OValue::Double(1.5)),
                kv("inner.str", OValue::Str("ü".into())),
                kv("inner.int", OValue::Int(42)),
            ]),
        ),
        kv("kvlist.empty", OValue::KvList(Vec::new())),
        kv(
            "nested",
            OValue::KvList(vec![
                kv(
                    "array",
                    OValue::Array(vec![
                        OValue::KvList(vec![
                            kv("deep", OValue::Array(vec![OValue::Array(vec![OValue::Int(1)])])),
                            kv("bytes", OValue::Bytes(vec![0xde, 0xad, 0xbe, 0xef])),
                        ]),
                        OValue::Array(vec![OValue::Str("x".into()), OValue::KvList(Vec::new())]),
                    ]),
                ),
                kv("kvlist", OValue::KvList(vec![kv("bool", OValue::Bool(false))])),
            ]),
        ),
    ]
}

/// Spans with ids unique per `run`: one of each kind, root and child, every status, trace states, flags,
/// events, links and dropped counts.
fn spans(run: u8) -> Vec<OSpan> {
    let mut out = Vec::new();
    for i in 0..12u8 {
        let n = u64::from(i);
        let mut s = http_span(n);
        s.trace_id = [run, i, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 + i];
        s.span_id = [run, i, 0xb0, 0, 0, 0, 0, 0x01 + i];
        s.kind = i % 6;
        out.push(s);
    }

    // 0: every attribute type, a remote parent, an error status, a trace state.
    let s = &mut out[0];
    s.attrs.extend(every_type_attrs());
    s.flags = 0x301;
    s.trace_state = "vendor=abc,ot=th:8".into();
    s.status_code = 2;
    s.status_message = "boom: upstream said 503".into();

    // 1: a root span (no parent), unset status, nothing dropped, sampled flag off.
    let s = &mut out[1];
    s.parent = None;
    s.flags = 0;
    s.status_code = 0;
    s.status_message.clear();
    s.events.clear();

    // 2: events of every shape, with attributes of every type and dropped counts.
    let s = &mut out[2];
    s.events = vec![
        OEvent {
            time: 1_700_000_000_000_200_000,
            name: "exception".into(),
            attrs: vec![
                kv("exception.type", OValue::Str("std::io::Error".into())),
                kv("exception.message", OValue::Str("connection reset".into())),
                kv("exception.escaped", OValue::Bool(true)),
            ],
            dropped: 2,
        },
        OEvent {
            time: 1_700_000_000_000_300_000,
            name: "every.type".into(),
            attrs: every_type_attrs(),
            dropped: 0,
        },
        OEvent {
            time: 1_700_000_000_000_400_000,
            name: String::new(),
            attrs: Vec::new(),
            dropped: 0,
        },
    ];
    s.dropped_events = 5;

    // 3: links with trace states, attributes, flags (remote bits) and dropped counts.
    let s = &mut out[3];
    s.links = vec![
        OLink {
            trace_id: [0xff; 16],
            span_id: [0xee; 8],
            trace_state: "k=v,k2=v2".into(),
            attrs: vec![
                kv("link.int", OValue::Int(3)),
                kv("link.kv", OValue::KvList(vec![kv("a", OValue::Bool(true))])),
            ],
            dropped: 1,
            flags: 0x301,
        },
        OLink {
            trace_id: [0x11; 16],
            span_id: [0x22; 8],
            trace_state: String::new(),
            attrs: every_type_attrs(),
            dropped: 0,
            flags: 0x100,
        },
        OLink {
            trace_id: [0x33; 16],
            span_id: [0x44; 8],
            ..OLink::default()
        },
    ];
    s.dropped_links = 4;
    s.dropped_attrs = 6;

    // 4: error status without a message; 5: unset status with a message (kept on the wire).
    out[4].status_code = 2;
    out[4].status_message.clear();
    out[5].status_code = 0;
    out[5].status_message = "unset but described".into();

    // 6: an empty name, no attributes, no events: a minimal span.
    let s = &mut out[6];
    s.name.clear();
    s.attrs.clear();
    s.events.clear();
    s.flags = 1;

    // 7: a long trace state and a long string value.
    out[7].trace_state = (0..32).map(|k| format!("k{k}=v{k}")).collect::<Vec<_>>().join(",");
    out[7].attrs.push(kv("long", OValue::Str("x".repeat(10_000))));

    // 8: the largest timestamps (u64 as JSON strings).
    out[8].start = u64::MAX - 1;
    out[8].end = u64::MAX;
    out
}

// ---------------------------------------------------------------------------
// Sending and checking

fn exporter(url: &str, service: &str, compression: Compression) -> Exporter {
    let (cfg, warnings) = Config::builder()
        .endpoint(url)
        .compression(compression)
        .service_name(service)
        .resource_attribute("deployment.environment.name", "ci")
        .max_export_batch_size(4)
        .retry(RetryConfig {
            enabled: true,
            initial_interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(200),
            max_elapsed_time: Duration::from_secs(10),
        })
        .build_from_lookup(|_| None);
    assert!(warnings.is_empty(), "{warnings:?}");
    Exporter::builder()
        .config(cfg)
        .logger(Logger::silent())
        .build()
        .unwrap()
}

/// Where each span went: the default scope for even indexes, a second scope (with attributes and a schema URL)
/// for odd ones.
const SECOND_SCOPE: (&str, &str) = ("checkout", "1.2.3");

fn second_scope_attrs() -> Vec<(String, OValue)> {
    vec![kv("scope.attr", OValue::Str("v".into())), kv("scope.n", OValue::Int(7))]
}

fn send(exp: &Exporter, spans: &[OSpan]) {
    let second = exp
        .add_scope(&scope_view(
            SECOND_SCOPE.0,
            SECOND_SCOPE.1,
            &second_scope_attrs(),
            SCHEMA_URL,
        ))
        .unwrap();
    for (i, s) in spans.iter().enumerate() {
        let scope = if i % 2 == 0 { exp.default_scope() } else { second };
        exp.record(scope, &view_span(s)).unwrap();
    }
    let out = exp.shutdown(Duration::from_secs(20));
    assert!(out.is_success(), "{out}; last error {:?}", exp.stats().last_error);
    let st = exp.stats();
    let n = spans.len() as u64;
    assert_eq!((st.accepted, st.exported, st.dropped_total()), (n, n, 0), "{st:?}");
    assert!(st.requests_for(RequestOutcome::Success) >= n.div_ceil(4), "{st:?}");
    assert_eq!(st.requests_for(RequestOutcome::Retryable), 0, "{st:?}");
    assert_eq!(st.requests_for(RequestOutcome::Permanent), 0, "{st:?}");
}

fn str_attr<'a>(attrs: &'a [pc::KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|a| a.key == key).and_then(|a| match &a.value {
        Some(pc::AnyValue {
            value: Some(pc::any_value::Value::StringValue(s)),
        }) => Some(s.as_str()),
        _ => None,
    })
}

/// pdata (the collector's data model) has no "absent" status: an unset one is marshaled as `"status":{}`.
/// Proto3 reads an absent message and an empty one alike, so an empty received status compares as `None` (the
/// oracle's unset status); any code or message still has to match exactly.
fn normalize(mut span: pt::Span) -> pt::Span {
    if span
        .status
        .as_ref()
        .is_some_and(|s| s.code == 0 && s.message.is_empty())
    {
        span.status = None;
    }
    span
}

/// Every span sent by the exporter of `service` arrived exactly once, in the right resource and scope, equal to
/// the oracle. Returns how many requests carried them.
fn check(requests: &[ExportTraceServiceRequest], service: &str, sent: &[OSpan]) -> usize {
    let limits = SpanLimits::default();
    let mut expected: HashMap<(Vec<u8>, Vec<u8>), (usize, pt::Span)> = sent
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.trace_id.to_vec(), s.span_id.to_vec()), (i, proto_span(s, &limits))))
        .collect();
    assert_eq!(expected.len(), sent.len(), "span ids must be unique");
    let default_scope = proto_scope("otlpx", env!("CARGO_PKG_VERSION"), &[]);
    let second_scope = proto_scope(SECOND_SCOPE.0, SECOND_SCOPE.1, &second_scope_attrs());
    let mut carried = 0;
    for req in requests {
        let mut mine = false;
        for rs in &req.resource_spans {
            let resource = rs.resource.as_ref().expect("resource");
            if str_attr(&resource.attributes, "service.name") != Some(service) {
                continue;
            }
            mine = true;
            assert_eq!(resource.attributes[0].key, "service.name", "service.name comes first");
            assert_eq!(
                str_attr(&resource.attributes, "deployment.environment.name"),
                Some("ci")
            );
            assert_eq!(str_attr(&resource.attributes, "telemetry.sdk.name"), Some("otlpx"));
            assert_eq!(str_attr(&resource.attributes, "telemetry.sdk.language"), Some("rust"));
            assert_eq!(
                str_attr(&resource.attributes, "telemetry.sdk.version"),
                Some(env!("CARGO_PKG_VERSION"))
            );
            assert_eq!(resource.attributes.len(), 5, "{:?}", resource.attributes);
            assert_eq!(resource.dropped_attributes_count, 0);
            for ss in &rs.scope_spans {
                let scope = ss.scope.as_ref().expect("scope");
                for span in &ss.spans {
                    let key = (span.trace_id.clone(), span.span_id.clone());
                    let (i, want) = expected
                        .remove(&key)
                        .unwrap_or_else(|| panic!("unexpected or duplicate span {key:02x?} for {service}"));
                    if i % 2 == 0 {
                        assert_eq!(scope, &default_scope, "span {i}");
                        assert_eq!(ss.schema_url, "", "span {i}");
                    } else {
                        assert_eq!(scope, &second_scope, "span {i}");
                        assert_eq!(ss.schema_url, SCHEMA_URL, "span {i}");
                    }
                    assert_eq!(
                        normalize(span.clone()),
                        want,
                        "span {i} of {service} differs after the collector"
                    );
                }
            }
        }
        carried += usize::from(mine);
    }
    let missing: Vec<usize> = expected.values().map(|(i, _)| *i).collect();
    assert!(
        missing.is_empty(),
        "spans {missing:?} of {service} never reached the collector"
    );
    carried
}

#[test]
fn real_collector_receives_every_span_plain_and_gzip() {
    let Some(bin) = collector_binary() else { return };
    let dir = std::env::temp_dir().join(format!("otlpx-collector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("traces.jsonl");
    let _ = std::fs::remove_file(&out);

    let started = Instant::now();
    let mut collector = Collector::start(&bin, &out);
    println!(
        "collector listening on {} after {:.1?}",
        collector.traces_url(),
        started.elapsed()
    );

    let plain = spans(1);
    send(
        &exporter(&collector.traces_url(), "otlpx-collector-plain", Compression::None),
        &plain,
    );
    let gzip = spans(2);
    send(
        &exporter(&collector.traces_url(), "otlpx-collector-gzip", Compression::Gzip),
        &gzip,
    );

    // The collector writes each line before it answers, so everything acknowledged is in the file now.
    let requests = collector.requests();
    let plain_requests = check(&requests, "otlpx-collector-plain", &plain);
    let gzip_requests = check(&requests, "otlpx-collector-gzip", &gzip);
    assert_eq!(plain_requests + gzip_requests, requests.len(), "requests from nobody");
    assert!(
        plain_requests >= 3 && gzip_requests >= 3,
        "{plain_requests} {gzip_requests}"
    );

    let status = collector.stop(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "collector exit: {status:?}");
    println!(
        "{} spans in {} requests through the real collector in {:.1?}",
        plain.len() + gzip.len(),
        requests.len(),
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
