//! Builds and runs the quickstart against a real receiver on loopback.
use std::process::Command;
use std::time::Duration;

use otlpx_receiver::{Receiver, ReceiverConfig};

#[test]
fn quickstart_exports_its_span() {
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .env_clear()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.base_url())
        .env("OTEL_EXPORTER_OTLP_HEADERS", "kf-api-key=demo-key,x-env=production")
        .env("OTEL_SERVICE_NAME", "quickstart")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all exported"), "{stdout}");
    assert!(rx.wait_for_spans(1, Duration::from_secs(5)));
    let (resource, _, span) = &rx.spans()[0];
    assert_eq!(span.name, "GET /orders/{id}");
    assert!(resource
        .attributes
        .iter()
        .any(|a| a.key == "service.name" && format!("{:?}", a.value).contains("quickstart")));
    assert_eq!(rx.requests()[0].header("kf-api-key"), Some("demo-key"));
}
