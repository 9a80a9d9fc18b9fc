//! The span model: every field of an OTLP trace span, as borrowed views.
//!
//! Owns: the shapes a frontend hands to the encoder (span, attribute values,
//! events, links, status, resource, instrumentation scope).
//! Must not: own heap data on the hot path or know anything about protobuf.
//! Everything here borrows (`&str`, `&[u8]`, slices) so a frontend can pass its
//! data without copying it into owned Rust types.

/// A trace id: 16 bytes.
pub type TraceId = [u8; 16];
/// A span id: 8 bytes.
pub type SpanId = [u8; 8];

/// The kind of a span, with the numbers OTLP gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum SpanKind {
    /// Not set by the producer (OTLP `SPAN_KIND_UNSPECIFIED`).
    Unspecified = 0,
    /// An internal operation (the default).
    #[default]
    Internal = 1,
    /// The server side of a synchronous request.
    Server = 2,
    /// The client side of a synchronous request.
    Client = 3,
    /// The producer of an asynchronous message.
    Producer = 4,
    /// The consumer of an asynchronous message.
    Consumer = 5,
}

impl SpanKind {
    /// The kind for an OTLP number, `None` when the number is out of range.
    pub fn from_i32(v: i32) -> Option<SpanKind> {
        Some(match v {
            0 => SpanKind::Unspecified,
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => return None,
        })
    }
}

/// The status code of a span, with the numbers OTLP gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum StatusCode {
    /// No status was set.
    #[default]
    Unset = 0,
    /// The operation succeeded.
    Ok = 1,
    /// The operation failed.
    Error = 2,
}

impl StatusCode {
    /// The status code for an OTLP number, `None` when out of range.
    pub fn from_i32(v: i32) -> Option<StatusCode> {
        Some(match v {
            0 => StatusCode::Unset,
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => return None,
        })
    }
}

/// The status of a span: a code and, for errors, a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status<'a> {
    /// The code.
    pub code: StatusCode,
    /// A developer-facing message (meaningful for `Error`).
    pub message: &'a str,
}

impl<'a> Status<'a> {
    /// The unset status (no `status` field is sent).
    pub const UNSET: Status<'static> = Status {
        code: StatusCode::Unset,
        message: "",
    };
    /// The OK status.
    pub const OK: Status<'static> = Status {
        code: StatusCode::Ok,
        message: "",
    };
    /// An error status with a message.
    pub fn error(message: &'a str) -> Status<'a> {
        Status {
            code: StatusCode::Error,
            message,
        }
    }
    /// True when nothing would be sent for this status.
    pub fn is_unset(&self) -> bool {
        self.code == StatusCode::Unset && self.message.is_empty()
    }
}

/// An attribute value: every variant of OTLP's `AnyValue`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnyValue<'a> {
    /// A UTF-8 string.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An array of values, which may nest.
    Array(&'a [AnyValue<'a>]),
    /// A list of key-value pairs, which may nest.
    KvList(&'a [KeyValue<'a>]),
}

impl<'a> From<&'a str> for AnyValue<'a> {
    fn from(v: &'a str) -> Self {
        AnyValue::Str(v)
    }
}
impl From<bool> for AnyValue<'_> {
    fn from(v: bool) -> Self {
        AnyValue::Bool(v)
    }
}
impl From<i64> for AnyValue<'_> {
    fn from(v: i64) -> Self {
        AnyValue::Int(v)
    }
}
impl From<f64> for AnyValue<'_> {
    fn from(v: f64) -> Self {
        AnyValue::Double(v)
    }
}
impl<'a> From<&'a [u8]> for AnyValue<'a> {
    fn from(v: &'a [u8]) -> Self {
        AnyValue::Bytes(v)
    }
}

/// An attribute: a key and a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyValue<'a> {
    /// The attribute key.
    pub key: &'a str,
    /// The attribute value.
    pub value: AnyValue<'a>,
}

impl<'a> KeyValue<'a> {
    /// A key-value pair from anything that converts into a value.
    pub fn new(key: &'a str, value: impl Into<AnyValue<'a>>) -> Self {
        KeyValue {
            key,
            value: value.into(),
        }
    }
}

/// A timed event inside a span.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Event<'a> {
    /// When it happened, unix nanoseconds.
    pub time_unix_nano: u64,
    /// Its name.
    pub name: &'a str,
    /// Its attributes.
    pub attributes: &'a [KeyValue<'a>],
    /// Attributes the producer already dropped.
    pub dropped_attributes_count: u32,
}

/// A link from a span to another span.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Link<'a> {
    /// The linked span's trace id.
    pub trace_id: TraceId,
    /// The linked span's id.
    pub span_id: SpanId,
    /// The linked span's W3C trace state.
    pub trace_state: &'a str,
    /// Attributes of the link.
    pub attributes: &'a [KeyValue<'a>],
    /// Attributes the producer already dropped.
    pub dropped_attributes_count: u32,
    /// W3C trace flags and OTLP span flags of the link.
    pub flags: u32,
}

/// A finished span.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Span<'a> {
    /// The trace id.
    pub trace_id: TraceId,
    /// The span id.
    pub span_id: SpanId,
    /// The W3C trace state.
    pub trace_state: &'a str,
    /// The parent span id; `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// W3C trace flags (bits 0-7) and OTLP span flags (bits 8-9: has-is-remote, is-remote).
    pub flags: u32,
    /// The operation name.
    pub name: &'a str,
    /// The kind.
    pub kind: SpanKind,
    /// Start time, unix nanoseconds.
    pub start_time_unix_nano: u64,
    /// End time, unix nanoseconds.
    pub end_time_unix_nano: u64,
    /// Attributes.
    pub attributes: &'a [KeyValue<'a>],
    /// Attributes the producer already dropped (added to those dropped by limits).
    pub dropped_attributes_count: u32,
    /// Events.
    pub events: &'a [Event<'a>],
    /// Events the producer already dropped.
    pub dropped_events_count: u32,
    /// Links.
    pub links: &'a [Link<'a>],
    /// Links the producer already dropped.
    pub dropped_links_count: u32,
    /// Status.
    pub status: Status<'a>,
}

/// The resource: the entity producing telemetry, set once per exporter.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Resource<'a> {
    /// Resource attributes (`service.name`, `deployment.environment.name`, ...).
    pub attributes: &'a [KeyValue<'a>],
    /// Attributes the producer already dropped.
    pub dropped_attributes_count: u32,
    /// The schema URL of the resource (sent on `ResourceSpans`).
    pub schema_url: &'a str,
}

/// An instrumentation scope, registered once and referred to by [`ScopeId`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scope<'a> {
    /// Scope name, e.g. the instrumentation library.
    pub name: &'a str,
    /// Scope version.
    pub version: &'a str,
    /// Scope attributes.
    pub attributes: &'a [KeyValue<'a>],
    /// Attributes the producer already dropped.
    pub dropped_attributes_count: u32,
    /// The schema URL (sent on `ScopeSpans`).
    pub schema_url: &'a str,
}

/// A handle for a registered scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ScopeId(pub u16);
