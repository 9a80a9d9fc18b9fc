//! `ExportTraceServiceRequest` around spans that are already encoded.
//!
//! Owns: the resource and scope bytes (encoded once, when configured) and the
//! request framing (`ResourceSpans`, one `ScopeSpans` per scope).
//! Must not: encode a span again; spans arrive as finished `Span` entries
//! (`0x12 len bytes`, the `ScopeSpans.spans` field) and are copied as they are.

use crate::encode::{encode_resource, encode_scope, len_field, try_encode_span, varint_len, SpanLimits};
use crate::model::{Resource, Scope, Span};

/// A resource, encoded once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedResource {
    /// The `Resource` message content.
    pub bytes: Vec<u8>,
    /// `ResourceSpans.schema_url`.
    pub schema_url: String,
}

impl EncodedResource {
    /// Encodes `r`.
    pub fn new(r: &Resource<'_>) -> Self {
        let mut bytes = Vec::new();
        encode_resource(r, &mut bytes);
        EncodedResource {
            bytes,
            schema_url: r.schema_url.to_owned(),
        }
    }
    /// Bytes of `ResourceSpans` other than its scope groups.
    pub fn framing_len(&self) -> usize {
        len_field(self.bytes.len()) + opt_len_field(self.schema_url.len())
    }
}

/// An instrumentation scope, encoded once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedScope {
    /// The `InstrumentationScope` message content.
    pub bytes: Vec<u8>,
    /// `ScopeSpans.schema_url`.
    pub schema_url: String,
}

impl EncodedScope {
    /// Encodes `s`.
    pub fn new(s: &Scope<'_>) -> Self {
        let mut bytes = Vec::new();
        encode_scope(s, &mut bytes);
        EncodedScope {
            bytes,
            schema_url: s.schema_url.to_owned(),
        }
    }
    /// Content length of `ScopeSpans` holding `span_bytes` of span entries.
    pub fn scope_spans_len(&self, span_bytes: usize) -> usize {
        len_field(self.bytes.len()) + span_bytes + opt_len_field(self.schema_url.len())
    }
    /// The most bytes this scope's framing adds to a request (worst-case varints).
    pub fn max_overhead(&self) -> usize {
        // ScopeSpans tag + 5-byte length, then the scope field and schema URL.
        1 + 5 + len_field(self.bytes.len()) + opt_len_field(self.schema_url.len())
    }
}

/// The most bytes the request framing adds around the scope groups
/// (`resource_spans` tag and length, the resource, its schema URL).
pub fn base_overhead(resource: &EncodedResource) -> usize {
    1 + 5 + resource.framing_len()
}

fn opt_len_field(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        len_field(n)
    }
}

/// Where a request's bytes go: a buffer, or straight into a compressor.
pub trait RequestSink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl RequestSink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Appends a varint to `out`.
#[inline]
pub fn put_varint<S: RequestSink + ?Sized>(out: &mut S, mut v: u64) {
    let mut buf = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        buf[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    buf[n] = v as u8;
    out.put(&buf[..=n]);
}

fn put_len_field<S: RequestSink + ?Sized>(out: &mut S, tag: u8, b: &[u8]) {
    out.put(&[tag]);
    put_varint(out, b.len() as u64);
    out.put(b);
}

/// Writes an `ExportTraceServiceRequest` with one `ResourceSpans`.
///
/// `groups` yields, per scope group, a key, the scope and the total length of
/// the group's span entries (it is walked twice: sizes, then bytes);
/// `write_spans(key, out)` must append exactly that many bytes.
/// A `Vec` sink allocates only if it lacks capacity.
pub fn write_request<'s, I, S>(
    resource: &EncodedResource,
    groups: I,
    mut write_spans: impl FnMut(usize, &mut S),
    out: &mut S,
) where
    I: Iterator<Item = (usize, &'s EncodedScope, usize)> + Clone,
    S: RequestSink + ?Sized,
{
    let mut rs_len = resource.framing_len();
    for (_, scope, span_bytes) in groups.clone() {
        rs_len += len_field(scope.scope_spans_len(span_bytes));
    }
    // ExportTraceServiceRequest.resource_spans (1)
    out.put(&[0x0a]);
    put_varint(out, rs_len as u64);
    // ResourceSpans.resource (1)
    put_len_field(out, 0x0a, &resource.bytes);
    for (key, scope, span_bytes) in groups {
        // ResourceSpans.scope_spans (2)
        out.put(&[0x12]);
        put_varint(out, scope.scope_spans_len(span_bytes) as u64);
        // ScopeSpans.scope (1)
        put_len_field(out, 0x0a, &scope.bytes);
        // ScopeSpans.spans (2), already framed
        write_spans(key, out);
        // ScopeSpans.schema_url (3)
        if !scope.schema_url.is_empty() {
            put_len_field(out, 0x1a, scope.schema_url.as_bytes());
        }
    }
    // ResourceSpans.schema_url (3)
    if !resource.schema_url.is_empty() {
        put_len_field(out, 0x1a, resource.schema_url.as_bytes());
    }
}

/// Appends one span as a `ScopeSpans.spans` entry (`0x12 len bytes`). A
/// span with an attribute value nested deeper than
/// [`crate::encode::MAX_VALUE_DEPTH`] is left out ([`try_encode_span_entry`]
/// says so).
pub fn encode_span_entry(span: &Span<'_>, limits: &SpanLimits, out: &mut Vec<u8>) {
    try_encode_span_entry(span, limits, out);
}

/// [`encode_span_entry`], returning false (with `out` as it was) for a span
/// whose values nest too deep.
pub fn try_encode_span_entry(span: &Span<'_>, limits: &SpanLimits, out: &mut Vec<u8>) -> bool {
    let n = crate::encode::span_len(span, limits);
    let start = out.len();
    out.reserve(1 + varint_len(n as u64) + n);
    out.push(0x12);
    put_varint(out, n as u64);
    if try_encode_span(span, limits, out) {
        true
    } else {
        out.truncate(start);
        false
    }
}

/// Encodes a whole request in one call: a resource, and spans grouped by scope.
///
/// For hosts that batch themselves (and for tests); the batcher does the same
/// work incrementally. Spans whose attribute values nest deeper than
/// [`crate::encode::MAX_VALUE_DEPTH`] are left out (check them beforehand
/// with [`crate::encode::value_too_deep`], or encode with
/// [`try_encode_span_entry`], to count them).
pub fn encode_request(
    resource: &Resource<'_>,
    groups: &[(Scope<'_>, &[Span<'_>])],
    limits: &SpanLimits,
    out: &mut Vec<u8>,
) {
    let resource = EncodedResource::new(resource);
    let scopes: Vec<EncodedScope> = groups.iter().map(|(s, _)| EncodedScope::new(s)).collect();
    let mut bodies: Vec<Vec<u8>> = Vec::with_capacity(groups.len());
    for (_, spans) in groups {
        let mut b = Vec::new();
        for s in spans.iter() {
            encode_span_entry(s, limits, &mut b);
        }
        bodies.push(b);
    }
    let framed = scopes
        .iter()
        .zip(&bodies)
        .enumerate()
        .map(|(i, (s, b))| (i, s, b.len()));
    write_request(
        &resource,
        framed,
        |i, out: &mut Vec<u8>| out.extend_from_slice(&bodies[i]),
        out,
    );
}
