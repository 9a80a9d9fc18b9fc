//! End-to-end tests of the `otlpx` binary: each runs the command with a cleared environment (so the
//! host's `OTEL_*` variables cannot leak in) and checks its output, exit status and, where spans are sent,
//! what a real otlpx-receiver got.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use otlpx_receiver::{free_port, Receiver, ReceiverConfig};

/// The binary with an empty environment plus `vars`.
fn otlpx(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otlpx"));
    cmd.env_clear().args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn run(args: &[&str], vars: &[(&str, &str)]) -> (Output, String, String) {
    let out = otlpx(args, vars).output().expect("run otlpx");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

#[test]
fn config_redacts_header_values_and_appends_the_traces_path() {
    let (out, stdout, stderr) = run(
        &["config"],
        &[
            ("OTEL_EXPORTER_OTLP_HEADERS", "kf-api-key=secret123,x-env=production"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.example:4318/"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("kf-api-key=****"), "{stdout}");
    assert!(stdout.contains("x-env=****"), "{stdout}");
    assert!(
        stdout.contains("endpoint = http://collector.example:4318/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT)"),
        "{stdout}"
    );
    for secret in ["secret123", "production"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret} leaked");
    }
    assert!(stderr.is_empty(), "no warnings expected: {stderr}");
}

#[test]
fn config_warns_once_about_a_bad_variable_and_still_succeeds() {
    let (out, stdout, stderr) = run(&["config"], &[("OTEL_BSP_MAX_QUEUE_SIZE", "lots")]);
    assert_eq!(out.status.code(), Some(0));
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("otlpx warning:")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("OTEL_BSP_MAX_QUEUE_SIZE"), "{stderr}");
    assert!(warnings[0].contains("lots"), "{stderr}");
    assert!(stdout.contains("max_queue_size = 2048 (default)"), "{stdout}");
}

#[test]
fn demo_without_an_endpoint_delivers_every_span_to_its_own_receiver() {
    let (out, stdout, stderr) = run(&["demo"], &[]);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("demo: 20 spans sent, 20 arrived, 0 dropped"),
        "{stdout}"
    );
    // 20 spans: six complete traces and one of two spans.
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("trace ")).count(),
        7,
        "{stdout}"
    );
    assert_eq!(stdout.matches(" SERVER trace=").count(), 7, "{stdout}");
    assert_eq!(stdout.matches(" CLIENT trace=").count(), 13, "{stdout}");
    assert_eq!(stdout.matches("status=ERROR").count(), 1, "{stdout}");
    // Children are printed under their parent, which has no parent.
    assert!(stdout.contains("parent=- "), "{stdout}");
    assert!(stdout.contains("\n    \"SELECT shop.orders\" CLIENT"), "{stdout}");
}

#[test]
fn demo_with_an_odd_count() {
    let (out, stdout, _) = run(&["demo", "--spans", "4"], &[]);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("demo: 4 spans sent, 4 arrived, 0 dropped"), "{stdout}");
}

#[test]
fn demo_with_an_endpoint_sends_there_and_prints_stats() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let (out, stdout, stderr) = run(
        &["demo", "--spans", "9"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.base_url())],
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("demo: 9 spans sent, 9 exported, 0 dropped"), "{stdout}");
    assert!(stdout.contains("exported: 9"), "{stdout}");
    assert_eq!(rx.span_count(), 9);
}

#[test]
fn send_delivers_exactly_n_spans_from_several_threads() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let (out, stdout, stderr) = run(
        &["send", "--spans", "1000", "--threads", "4"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.base_url())],
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(rx.wait_for_spans(1000, Duration::from_secs(5)));
    assert_eq!(rx.span_count(), 1000);
    assert!(
        stdout.contains("all exported: 1000 exported, 0 dropped, 0 pending"),
        "{stdout}"
    );
    assert!(stdout.contains("spans/s"), "{stdout}");
    // Every span is a SERVER span named after the route.
    assert!(rx
        .spans()
        .iter()
        .all(|(_, _, s)| s.name == "GET /api/orders/{id}" && s.kind == 2));
}

#[test]
fn send_to_a_dead_port_fails_and_reports_the_drops() {
    let port = free_port().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let (out, stdout, stderr) = run(
        &["send", "--spans", "50"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_EXPORT_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("dropped: 50"), "{stdout}");
    assert!(stdout.contains("exported: 0"), "{stdout}");
    assert!(stderr.contains("50 of 50 spans were not delivered"), "{stderr}");
}

#[test]
fn send_with_grpc_is_a_configuration_error() {
    let (out, _, stderr) = run(&["send", "--spans", "5"], &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("grpc is not supported yet"), "{stderr}");
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &["send"][..],
        &["send", "--spans", "x"],
        &["send", "--spans", "1", "--threads", "0"],
        &["nope"],
    ] {
        let (out, _, stderr) = run(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    }
}

#[test]
fn version_and_help() {
    let (out, stdout, _) = run(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(stdout.trim(), format!("otlpx {}", env!("CARGO_PKG_VERSION")));
    let (out, stdout, _) = run(&["help"], &[]);
    assert!(out.status.success());
    for cmd in ["config", "send", "receive", "demo"] {
        assert!(stdout.contains(cmd), "{stdout}");
    }
}

#[test]
fn receive_prints_what_send_sends_and_stops_after_max_requests() {
    let mut child = otlpx(&["receive", "--port", "0", "--max-requests", "1"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v1/traces"),
        "{url}"
    );

    let (out, sent, stderr) = run(
        &["send", "--spans", "5"],
        &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url)],
    );
    assert_eq!(out.status.code(), Some(0), "{sent}\n{stderr}");

    // The receiver exits by itself after one request.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("otlpx receive did not stop after --max-requests 1");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("#0 POST /v1/traces protobuf"), "{rest}");
    assert!(rest.contains(": 5 spans -> 200"), "{rest}");
    assert_eq!(
        rest.matches("\"GET /api/orders/{id}\" SERVER trace=").count(),
        5,
        "{rest}"
    );
    assert!(rest.contains("receive: 1 requests, 5 spans accepted"), "{rest}");
}

#[test]
fn receive_refuses_a_port_in_use() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let port = rx.addr().port().to_string();
    let (out, _, stderr) = run(&["receive", "--port", &port], &[]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}
