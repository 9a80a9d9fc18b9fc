//! Test spans for `otlpx send` and `otlpx demo`: HTTP SERVER spans shaped like a real service's, small trace
//! trees (a request with a database call and an outbound HTTP call), and the fast thread-local PRNG behind
//! their ids and values.
//!
//! Owns: the shapes and values of generated spans. Must not: do I/O, know about an exporter or a receiver
//! (spans are handed to a closure), or allocate per span on the `send` path (buffers are reused).

use std::cell::Cell;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use otlpx_core::{Event, KeyValue, Span, SpanId, SpanKind, Status, StatusCode, TraceId};

/// The name of every span [`ServerSpans`] makes (the route, as HTTP semantic conventions name server spans).
pub const SERVER_SPAN_NAME: &str = "GET /api/orders/{id}";
/// The route of those spans.
pub const ROUTE: &str = "/api/orders/{id}";
/// W3C `sampled` plus OTLP's "has is-remote" bit (the parent, if any, is local).
const FLAGS: u32 = 0x01 | 0x100;

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "okhttp/4.12.0",
    "curl/8.9.1",
];
/// Documentation address ranges (RFC 5737): client addresses that belong to nobody.
const CLIENT_NETS: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];

// ---------------------------------------------------------------------------
// The PRNG.

thread_local! {
    static RNG: Cell<u64> = Cell::new(thread_seed());
}

/// A different seed for every thread: the time, mixed with a per-process thread counter.
fn thread_seed() -> u64 {
    static THREADS: AtomicU64 = AtomicU64::new(0);
    let n = THREADS.fetch_add(1, Ordering::Relaxed);
    unix_nanos() ^ u64::from(std::process::id()).rotate_left(32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The next value of this thread's generator (splitmix64: one add and three multiply-xor-shift steps).
pub fn next_u64() -> u64 {
    RNG.with(|s| {
        let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(x);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A value in `0..n` (0 when `n` is 0), without division.
pub fn below(n: u64) -> u64 {
    ((u128::from(next_u64()) * u128::from(n)) >> 64) as u64
}

/// A random, valid (not all-zero) trace id.
pub fn trace_id() -> TraceId {
    loop {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&next_u64().to_le_bytes());
        id[8..].copy_from_slice(&next_u64().to_le_bytes());
        if id != [0; 16] {
            return id;
        }
    }
}

/// A random, valid (not all-zero) span id.
pub fn span_id() -> SpanId {
    loop {
        let id = next_u64().to_le_bytes();
        if id != [0; 8] {
            return id;
        }
    }
}

/// Now, in unix nanoseconds (0 if the clock is before 1970).
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

const MS: u64 = 1_000_000;

/// A duration in `lo_ms..hi_ms` milliseconds, with microsecond detail.
fn millis_between(lo_ms: u64, hi_ms: u64) -> u64 {
    lo_ms * MS + below((hi_ms - lo_ms) * 1000) * 1000 + below(1000)
}

// ---------------------------------------------------------------------------
// HTTP server spans.

/// The attributes of an HTTP server span for `GET {path}` (10 of them; `error.type` for a 5xx is added by
/// the caller).
fn server_attributes<'a>(path: &'a str, client: &'a str, status: i64, user_agent: &'a str) -> [KeyValue<'a>; 10] {
    [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", path),
        KeyValue::new("http.route", ROUTE),
        KeyValue::new("http.response.status_code", status),
        KeyValue::new("server.address", "shop.example.com"),
        KeyValue::new("server.port", 443i64),
        KeyValue::new("url.scheme", "https"),
        KeyValue::new("network.protocol.version", "1.1"),
        KeyValue::new("user_agent.original", user_agent),
        KeyValue::new("client.address", client),
    ]
}

/// Makes HTTP SERVER spans, one per [`ServerSpans::with_next`] call, reusing its text buffers: about 90 %
/// answer 200, 6 % 404 and 4 % 500. As the HTTP semantic conventions say for server spans, only a 5xx sets
/// the status to ERROR (with `error.type` and an `exception` event); a 404 is the client's error and leaves
/// the status unset, as does a 200.
#[derive(Debug, Default)]
pub struct ServerSpans {
    path: String,
    client: String,
}

impl ServerSpans {
    /// A generator with empty buffers.
    pub fn new() -> Self {
        ServerSpans::default()
    }

    /// Builds the next span, ending now, and hands it to `f`.
    pub fn with_next<R>(&mut self, f: impl FnOnce(&Span<'_>) -> R) -> R {
        let order = 10_000 + below(90_000);
        self.path.clear();
        let _ = write!(self.path, "/api/orders/{order}");
        self.client.clear();
        let _ = write!(
            self.client,
            "{}.{}",
            CLIENT_NETS[below(CLIENT_NETS.len() as u64) as usize],
            1 + below(254)
        );
        let roll = below(100);
        let (status, duration) = match roll {
            0..=89 => (200i64, millis_between(2, 80)),
            90..=95 => (404, millis_between(1, 5)),
            _ => (500, millis_between(20, 300)),
        };
        let user_agent = USER_AGENTS[below(USER_AGENTS.len() as u64) as usize];
        let end = unix_nanos();
        let start = end.saturating_sub(duration);

        let base = server_attributes(&self.path, &self.client, status, user_agent);
        let mut attrs = [KeyValue::new("error.type", "500"); 11];
        attrs[..10].copy_from_slice(&base);
        let exception_attrs = [
            KeyValue::new("exception.type", "OrderStoreUnavailable"),
            KeyValue::new("exception.message", "the order store did not answer within 250ms"),
        ];
        let events = [Event {
            time_unix_nano: end.saturating_sub(MS),
            name: "exception",
            attributes: &exception_attrs,
            dropped_attributes_count: 0,
        }];
        let failed = status >= 500;
        let span = Span {
            trace_id: trace_id(),
            span_id: span_id(),
            flags: FLAGS,
            name: SERVER_SPAN_NAME,
            kind: SpanKind::Server,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes: if failed { &attrs[..] } else { &attrs[..10] },
            events: if failed { &events[..] } else { &[] },
            status: if failed {
                Status {
                    code: StatusCode::Error,
                    message: "",
                }
            } else {
                Status::UNSET
            },
            ..Span::default()
        };
        f(&span)
    }
}

// ---------------------------------------------------------------------------
// Demo traces.

/// Spans in a complete demo trace: the SERVER span, a database CLIENT span and an HTTP CLIENT span.
pub const DEMO_TRACE_SPANS: usize = 3;

/// Calls `f` with exactly `n` demo spans, in the order they end (children before their parent), grouped in
/// traces of [`DEMO_TRACE_SPANS`]: an incoming `GET /api/orders/{id}` (SERVER) whose handler queries
/// PostgreSQL (CLIENT) and then calls a payments API (CLIENT). When `n` is not a multiple of 3 the last
/// trace is cut short (the server span alone, or with its database call). In one trace (the second when
/// there are two or more complete ones) the payments API answers 503: that CLIENT span has status ERROR,
/// `error.type` and an `exception` event; it is the only error span. Returns the number of error spans.
pub fn demo_spans(n: usize, mut f: impl FnMut(&Span<'_>)) -> usize {
    let traces = n.div_ceil(DEMO_TRACE_SPANS);
    let complete = n / DEMO_TRACE_SPANS;
    let error_trace = if complete >= 2 {
        Some(1)
    } else {
        complete.checked_sub(1)
    };
    // The traces happen one after the other, 60 ms apart, the last one ending about now.
    let spacing = 60 * MS;
    let first_start = unix_nanos().saturating_sub(spacing * traces as u64);
    let mut errors = 0;
    for t in 0..traces {
        let size = (n - t * DEMO_TRACE_SPANS).min(DEMO_TRACE_SPANS);
        let failing = error_trace == Some(t);
        errors += usize::from(failing);
        demo_trace(first_start + spacing * t as u64, size, failing, &mut f);
    }
    errors
}

/// One demo trace of `size` (1 to 3) spans starting at `start`.
fn demo_trace(start: u64, size: usize, payment_fails: bool, f: &mut impl FnMut(&Span<'_>)) {
    let trace = trace_id();
    let root = span_id();
    let order = 10_000 + below(90_000);
    let path = format!("/api/orders/{order}");
    let client = format!(
        "{}.{}",
        CLIENT_NETS[below(CLIENT_NETS.len() as u64) as usize],
        1 + below(254)
    );
    let user_agent = USER_AGENTS[below(USER_AGENTS.len() as u64) as usize];

    // The database call: 2 ms in, a few ms long.
    let db_start = start + 2 * MS + below(MS);
    let db_end = db_start + millis_between(3, 9);
    if size >= 2 {
        let attrs = [
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.namespace", "shop"),
            KeyValue::new("db.collection.name", "orders"),
            KeyValue::new("db.operation.name", "SELECT"),
            KeyValue::new("db.query.text", "SELECT id, status, total FROM orders WHERE id = $1"),
            KeyValue::new("server.address", "orders-db.internal"),
            KeyValue::new("server.port", 5432i64),
        ];
        f(&Span {
            trace_id: trace,
            span_id: span_id(),
            parent_span_id: Some(root),
            flags: FLAGS,
            name: "SELECT shop.orders",
            kind: SpanKind::Client,
            start_time_unix_nano: db_start,
            end_time_unix_nano: db_end,
            attributes: &attrs,
            ..Span::default()
        });
    }

    // The payments API call, after the database answered.
    let http_start = db_end + below(MS);
    let http_end = http_start
        + if payment_fails {
            millis_between(25, 35)
        } else {
            millis_between(8, 20)
        };
    if size >= 3 {
        let url = format!("https://payments.example.com/v1/payments/pay_{order}");
        let status: i64 = if payment_fails { 503 } else { 200 };
        let mut attrs = [KeyValue::new("error.type", "503"); 8];
        attrs[..7].copy_from_slice(&[
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", url.as_str()),
            KeyValue::new("url.template", "/v1/payments/{id}"),
            KeyValue::new("server.address", "payments.example.com"),
            KeyValue::new("server.port", 443i64),
            KeyValue::new("http.response.status_code", status),
            KeyValue::new("network.protocol.version", "1.1"),
        ]);
        let exception_attrs = [
            KeyValue::new("exception.type", "PaymentServiceUnavailable"),
            KeyValue::new(
                "exception.message",
                "payments.example.com answered 503 Service Unavailable",
            ),
        ];
        let events = [Event {
            time_unix_nano: http_end,
            name: "exception",
            attributes: &exception_attrs,
            dropped_attributes_count: 0,
        }];
        f(&Span {
            trace_id: trace,
            span_id: span_id(),
            parent_span_id: Some(root),
            flags: FLAGS,
            name: "GET /v1/payments/{id}",
            kind: SpanKind::Client,
            start_time_unix_nano: http_start,
            end_time_unix_nano: http_end,
            attributes: if payment_fails { &attrs[..] } else { &attrs[..7] },
            events: if payment_fails { &events[..] } else { &[] },
            status: if payment_fails {
                Status::error("payment service unavailable")
            } else {
                Status::UNSET
            },
            ..Span::default()
        });
    }

    // The server span ends last, after whichever children it had.
    let last_child_end = match size {
        1 => start + millis_between(1, 3),
        2 => db_end,
        _ => http_end,
    };
    let attrs = server_attributes(&path, &client, 200, user_agent);
    f(&Span {
        trace_id: trace,
        span_id: root,
        flags: FLAGS,
        name: SERVER_SPAN_NAME,
        kind: SpanKind::Server,
        start_time_unix_nano: start,
        end_time_unix_nano: last_child_end + below(2 * MS),
        attributes: &attrs,
        ..Span::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlpx_core::AnyValue;

    fn attr<'a>(span: &Span<'a>, key: &str) -> Option<AnyValue<'a>> {
        span.attributes.iter().find(|kv| kv.key == key).map(|kv| kv.value)
    }

    #[test]
    fn prng_is_spread_and_ids_are_valid() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            assert!(seen.insert(trace_id()));
            assert_ne!(span_id(), [0; 8]);
            assert!(below(7) < 7);
        }
        assert_eq!(below(0), 0);
    }

    #[test]
    fn server_spans_look_like_http_requests() {
        let mut gen = ServerSpans::new();
        let (mut ok, mut not_found, mut failed) = (0, 0, 0);
        for _ in 0..2000 {
            gen.with_next(|s| {
                assert_eq!(s.name, SERVER_SPAN_NAME);
                assert_eq!(s.kind, SpanKind::Server);
                assert!(s.start_time_unix_nano < s.end_time_unix_nano);
                assert!(s.parent_span_id.is_none());
                match attr(s, "url.path") {
                    Some(AnyValue::Str(p)) => assert!(p.starts_with("/api/orders/")),
                    other => panic!("url.path: {other:?}"),
                }
                for key in [
                    "http.request.method",
                    "http.route",
                    "server.address",
                    "server.port",
                    "url.scheme",
                    "network.protocol.version",
                    "user_agent.original",
                    "client.address",
                ] {
                    assert!(attr(s, key).is_some(), "{key} missing");
                }
                match attr(s, "http.response.status_code") {
                    Some(AnyValue::Int(200)) => {
                        ok += 1;
                        assert!(s.status.is_unset() && s.events.is_empty());
                    }
                    Some(AnyValue::Int(404)) => {
                        not_found += 1;
                        assert!(s.status.is_unset() && s.events.is_empty());
                    }
                    Some(AnyValue::Int(500)) => {
                        failed += 1;
                        assert_eq!(s.status.code, StatusCode::Error);
                        assert_eq!(s.events.len(), 1);
                        assert_eq!(attr(s, "error.type"), Some(AnyValue::Str("500")));
                    }
                    other => panic!("status code {other:?}"),
                }
            });
        }
        assert!(ok > 1600 && not_found > 40 && failed > 20, "{ok} {not_found} {failed}");
    }

    /// What the tree test keeps of a span.
    struct Seen {
        trace: TraceId,
        span: SpanId,
        parent: Option<SpanId>,
        kind: SpanKind,
        error: bool,
        start: u64,
        end: u64,
    }

    #[test]
    fn demo_spans_form_trace_trees() {
        for n in [0usize, 1, 2, 3, 4, 5, 6, 20] {
            let mut spans: Vec<Seen> = Vec::new();
            let errors = demo_spans(n, |s| {
                spans.push(Seen {
                    trace: s.trace_id,
                    span: s.span_id,
                    parent: s.parent_span_id,
                    kind: s.kind,
                    error: s.status.code == StatusCode::Error,
                    start: s.start_time_unix_nano,
                    end: s.end_time_unix_nano,
                })
            });
            assert_eq!(spans.len(), n);
            assert_eq!(errors, usize::from(n >= 3));
            assert_eq!(spans.iter().filter(|s| s.error).count(), errors);
            let traces: std::collections::HashSet<_> = spans.iter().map(|s| s.trace).collect();
            assert_eq!(traces.len(), n.div_ceil(3));
            for s in &spans {
                match s.parent {
                    None => assert_eq!(s.kind, SpanKind::Server),
                    Some(parent) => {
                        assert_eq!(s.kind, SpanKind::Client);
                        let p = spans.iter().find(|p| p.span == parent).expect("parent present");
                        assert_eq!(p.trace, s.trace, "same trace");
                        assert!(p.start <= s.start && s.end <= p.end, "child within parent");
                    }
                }
            }
        }
    }
}
