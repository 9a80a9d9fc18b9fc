//! What the receiver remembers: one [`RecordedRequest`] per HTTP request, and the accepted-span counter that
//! `wait_for_spans` waits on. Owns the store and its condition variable; it must not decode or do I/O.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// The body encoding of an export request, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// `application/x-protobuf`
    Protobuf,
    /// `application/json`
    Json,
}

/// One HTTP request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Numbered from 0 in arrival order since the receiver started (not reset by `clear`).
    pub seq: u64,
    /// Which TCP connection it came on (numbered from 0); equal ids mean the client reused a connection.
    pub connection_id: u64,
    /// Whether the connection was TLS, and whether the client presented a (verified) certificate.
    pub tls: bool,
    pub client_cert: bool,
    pub method: String,
    /// The request target as sent, query string included (e.g. `/v1/traces`).
    pub path: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// All headers in order, names lowercased, values as sent (invalid UTF-8 replaced).
    pub headers: Vec<(String, String)>,
    /// The `Content-Type` value without parameters, lowercased.
    pub content_type: Option<String>,
    /// The `Content-Encoding` value, lowercased.
    pub content_encoding: Option<String>,
    /// Body size on the wire (after de-chunking, before gunzip).
    pub body_size: usize,
    /// Body size after gunzip (equal to `body_size` when not compressed).
    pub decoded_size: usize,
    pub format: Option<WireFormat>,
    /// The decoded request, if the body decoded.
    pub request: Option<ExportTraceServiceRequest>,
    /// Why the body did not decode (or why the request was refused before decoding).
    pub error: Option<String>,
    /// The status sent back; `None` when no answer was sent (black hole, disconnect, shutdown during delay).
    pub response_status: Option<u16>,
    /// True when the spans were accepted (2xx answer and decoded): only these count in `spans()`.
    pub accepted: bool,
    pub received_at: SystemTime,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Number of spans in the decoded request (0 if it did not decode).
    pub fn span_count(&self) -> usize {
        self.request.as_ref().map(count_spans).unwrap_or(0)
    }
}

pub(crate) fn count_spans(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| rs.scope_spans.iter())
        .map(|ss| ss.spans.len())
        .sum()
}

#[derive(Default)]
pub(crate) struct Store {
    pub(crate) requests: VecDeque<RecordedRequest>,
    pub(crate) accepted_spans: usize,
    pub(crate) request_count: usize,
}

pub(crate) struct Recorder {
    store: Mutex<Store>,
    changed: Condvar,
    retain: Option<usize>,
}

impl Recorder {
    pub(crate) fn new(retain: Option<usize>) -> Self {
        Recorder {
            store: Mutex::new(Store::default()),
            changed: Condvar::new(),
            retain,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding this lock cannot leave the store inconsistent (plain pushes), so go on.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn record(&self, req: RecordedRequest) {
        let mut s = self.lock();
        if req.accepted {
            s.accepted_spans += req.span_count();
        }
        s.request_count += 1;
        if self.retain != Some(0) {
            s.requests.push_back(req);
        }
        if let Some(max) = self.retain {
            while s.requests.len() > max {
                s.requests.pop_front();
            }
        }
        drop(s);
        self.changed.notify_all();
    }

    pub(crate) fn clear(&self) {
        let mut s = self.lock();
        *s = Store::default();
    }

    /// Wait until `done(store)` holds or `timeout` passes; returns whether it holds.
    pub(crate) fn wait_until(&self, timeout: Duration, done: impl Fn(&Store) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if done(&s) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = match self.changed.wait_timeout(s, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}
