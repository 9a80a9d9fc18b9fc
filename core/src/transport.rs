//! The transport seam: send these bytes with these headers within this
//! deadline, and tell me the status, `Retry-After` and body.
//!
//! Owns: the request/response types every transport speaks and their
//! mapping onto the retry policy's [`Attempt`]. Must not: decide about
//! retries (that is `retry`), or know about batches.
//! Implementations: HTTP over ureq + rustls (`http`, native), a host
//! callback (C function pointer, JS function) in the frontends, and later
//! gRPC behind a feature.

use std::fmt;
use std::time::Duration;

use crate::retry::Attempt;

/// One export request, ready to send.
#[derive(Debug, Clone, Copy)]
pub struct ExportRequest<'a> {
    /// The encoded (and possibly compressed) `ExportTraceServiceRequest`.
    pub body: &'a [u8],
    /// `application/x-protobuf` or `application/json`.
    pub content_type: &'static str,
    /// `Some("gzip")` when the body is compressed.
    pub content_encoding: Option<&'static str>,
    /// How long this one request may take.
    pub timeout: Duration,
    /// Spans in the request.
    pub spans: usize,
}

/// What the receiver answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
    /// The response body (bounded by the transport).
    pub body: Vec<u8>,
}

/// Why a request got no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The connection could not be made (refused, DNS, TLS handshake). Retryable.
    Connect(String),
    /// The request timed out. Retryable.
    Timeout(String),
    /// Anything else (bad URL, I/O after connect, TLS configuration). Permanent.
    Other(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(s) => write!(f, "connection failed: {s}"),
            TransportError::Timeout(s) => write!(f, "timed out: {s}"),
            TransportError::Other(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Sends export requests. One transport belongs to one exporter thread.
pub trait Transport: Send {
    /// Sends `req` and returns the receiver's answer.
    fn send(&mut self, req: &ExportRequest<'_>) -> Result<ExportResponse, TransportError>;
    /// Where requests go, for logs (no secrets).
    fn describe(&self) -> String;
}

/// A transport from a closure (host callbacks, tests).
pub struct FnTransport<F> {
    f: F,
    name: String,
}

impl<F> FnTransport<F>
where
    F: FnMut(&ExportRequest<'_>) -> Result<ExportResponse, TransportError> + Send,
{
    /// Wraps `f`; `name` describes it in logs.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        FnTransport { f, name: name.into() }
    }
}

impl<F> Transport for FnTransport<F>
where
    F: FnMut(&ExportRequest<'_>) -> Result<ExportResponse, TransportError> + Send,
{
    fn send(&mut self, req: &ExportRequest<'_>) -> Result<ExportResponse, TransportError> {
        (self.f)(req)
    }
    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// The retry policy's view of a request's result.
pub fn attempt_of(result: &Result<ExportResponse, TransportError>) -> Attempt<'_> {
    match result {
        Ok(r) => Attempt::Response {
            status: r.status,
            retry_after: r.retry_after.as_deref(),
            body: &r.body,
        },
        Err(TransportError::Connect(s)) => Attempt::ConnectError(s),
        Err(TransportError::Timeout(_)) => Attempt::Timeout,
        Err(TransportError::Other(s)) => Attempt::OtherError(s),
    }
}
