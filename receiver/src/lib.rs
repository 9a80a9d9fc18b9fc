//! otlpx-receiver: a small, real OTLP/HTTP trace receiver on loopback, for `otlpx receive`, `otlpx demo` and the
//! exporter's integration tests.
//!
//! It owns: binding a loopback port, serving HTTP/1.1 (keep-alive, optional TLS and mTLS), decoding
//! `ExportTraceServiceRequest` (protobuf or OTLP/JSON, optionally gzip), recording every request, and answering
//! according to a programmable script of [`Behavior`]s (errors, `Retry-After`, partial success, delay, black hole).
//! It must not: listen on anything but a loopback address, use an async runtime, or panic on anything a client
//! sends. It is blocking and thread-per-connection, which is plenty for tests and a local demo.
//!
//! ```no_run
//! use otlpx_receiver::{Behavior, Receiver, ReceiverConfig};
//! let rx = Receiver::start(ReceiverConfig::default()).unwrap();
//! rx.set_behavior(Behavior::Status { code: 503, retry_after: Some("1".into()), body: vec![] }, 2);
//! // point an exporter at format!("{}/v1/traces", rx.base_url()) ...
//! assert!(rx.wait_for_spans(10, std::time::Duration::from_secs(5)));
//! ```

mod behavior;
mod config;
mod decode;
mod describe;
mod error;
mod http;
mod record;
mod server;
#[cfg(feature = "testcerts")]
pub mod testcerts;
mod tls;

pub use behavior::Behavior;
pub use config::{PemSource, ReceiverConfig, RequestHook, TlsConfig};
pub use describe::{describe_request, describe_span, format_any_value, hex_id};
pub use error::Error;
pub use record::{RecordedRequest, WireFormat};
pub use server::{free_port, Receiver};

/// Decodes one OTLP/JSON `ExportTraceServiceRequest` (for example a line the OpenTelemetry Collector's
/// `ptrace.JSONMarshaler` wrote), with the same fix-ups for opentelemetry-proto's serde that the receiver applies
/// to the requests it serves (`null` fields, empty `arrayValue`/`kvlistValue` without `values`).
pub fn decode_json_request(bytes: &[u8]) -> Result<proto::ExportTraceServiceRequest, String> {
    decode::decode_request(WireFormat::Json, bytes).map_err(|e| e.message)
}

/// The opentelemetry-proto types this crate hands out, re-exported so callers need no direct dependency.
pub mod proto {
    pub use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    pub use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
    };
    pub use opentelemetry_proto::tonic::resource::v1::Resource;
    pub use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
}
