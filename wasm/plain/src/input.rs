//! The plain input format: how a wasm host without JavaScript hands a batch
//! of spans to otlpx, and how it is read back into otlpx-core's borrowed model.
//!
//! Owns: the byte layout (documented in `wasm/plain/README.md` and below), its
//! validating reader ([`encode_input`]) and a writer for Rust callers and tests
//! ([`InputWriter`]).
//! Must not: encode protobuf itself (otlpx-core's encoder and envelope do),
//! panic on any input, or keep state between calls.
//!
//! # Layout (version 1)
//! Little-endian throughout; `str` and `bytes` are `u32 length ++ bytes`
//! (`str` must be UTF-8); `attrs` is `u32 count ++ keyvalue*`.
//! ```text
//! input    := "OXPI" u32:version(=1) limits resource u32:group_count group*
//! limits   := u32:attribute_count u32:attribute_value_length(0xFFFF_FFFF = none)
//!             u32:event_count u32:link_count u32:attributes_per_event u32:attributes_per_link
//! resource := attrs u32:dropped_attributes_count str:schema_url
//! group    := str:scope_name str:scope_version attrs u32:dropped_attributes_count
//!             str:schema_url u32:span_count span*
//! span     := u8[16]:trace_id u8[8]:span_id str:trace_state
//!             u8:has_parent(0|1) u8[8]:parent_span_id(always present, ignored when has_parent = 0)
//!             u32:flags str:name u8:kind(0..=5) u64:start_time_unix_nano u64:end_time_unix_nano
//!             attrs u32:dropped_attributes_count
//!             u32:event_count event* u32:dropped_events_count
//!             u32:link_count link* u32:dropped_links_count
//!             u8:status_code(0..=2) str:status_message
//! event    := u64:time_unix_nano str:name attrs u32:dropped_attributes_count
//! link     := u8[16]:trace_id u8[8]:span_id str:trace_state attrs u32:dropped_attributes_count u32:flags
//! keyvalue := str:key value
//! value    := u8:type payload, type 1 string: str | 2 bool: u8(0|1) | 3 int: i64 | 4 double: f64 bits
//!             | 5 bytes: bytes | 6 array: u32 count value* | 7 kvlist: attrs
//! ```
//! Values nest at most [`MAX_DEPTH`] levels. Nothing may follow the last group.
//!
//! # How it is read
//! Item by item (the resource, each scope, each span), two passes over the
//! item's bytes while they are in cache: the first validates and counts its
//! key-values, array values, events and links; pools of exactly those sizes
//! are then allocated (fallibly: out of memory is a result code, not a trap)
//! and the second pass fills them and builds the borrowed view, which goes
//! straight to otlpx-core's encoder. Strings and bytes are borrowed from the
//! input, never copied; UTF-8 is checked in the second pass. The span entries
//! are then framed by otlpx-core's envelope into an exactly sized request.

use otlpx_core::encode::{len_field, SpanLimits};
use otlpx_core::envelope::{encode_span_entry, write_request, EncodedResource, EncodedScope};
use otlpx_core::{AnyValue, Event, KeyValue, Link, Resource, Scope, Span, SpanKind, Status, StatusCode};

/// The four bytes every input starts with.
pub const MAGIC: [u8; 4] = *b"OXPI";
/// The layout version this crate reads and writes.
pub const VERSION: u32 = 1;
/// The deepest nesting of array and kvlist values accepted (a value at the
/// top of an attribute list is at depth 1).
pub const MAX_DEPTH: u32 = 32;
/// `attribute_value_length` meaning "no limit".
pub const NO_VALUE_LENGTH_LIMIT: u32 = u32::MAX;

/// Why an input was refused. The numbers are the C ABI's result codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum InputErrorKind {
    /// The input ends before the layout does.
    Truncated = 3,
    /// The input does not start with [`MAGIC`].
    BadMagic = 4,
    /// The version is not [`VERSION`].
    UnsupportedVersion = 5,
    /// A `str` is not UTF-8.
    InvalidUtf8 = 6,
    /// A value type, span kind, status code, bool or `has_parent` byte is out of range.
    InvalidTag = 7,
    /// Values nest deeper than [`MAX_DEPTH`].
    TooDeep = 8,
    /// Bytes follow the last group.
    TrailingBytes = 9,
    /// The views or the output could not be allocated.
    OutOfMemory = 10,
}

/// A refused input: what is wrong and where (byte offset in the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputError {
    /// What is wrong.
    pub kind: InputErrorKind,
    /// The offset of the field that is wrong.
    pub offset: usize,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} at input offset {}", self.kind, self.offset)
    }
}

impl std::error::Error for InputError {}

type Result<T> = std::result::Result<T, InputError>;

/// Reads one item (`resource`, `scope` or `span`, a `Parser` method) at
/// `*pos` in two passes over its bytes only, so they are still in cache the
/// second time: the first validates and counts, the second fills pools of
/// exactly those sizes and builds the view, which `$use` is called with.
/// Advances `*pos` past the item; `?`s out of the enclosing function on error.
macro_rules! two_pass {
    ($input:expr, $pos:expr, $read:ident, $use:expr) => {{
        let mut counting = Parser::at($input, *$pos);
        counting.$read()?;
        let end = counting.pos;
        let [nk, nv, ne, nl] = counting.pools.counts();
        let at: usize = *$pos;
        let oom = move |_| InputError {
            kind: InputErrorKind::OutOfMemory,
            offset: at,
        };
        let mut kvs = filled(nk, KeyValue::new("", false)).map_err(oom)?;
        let mut values = filled(nv, AnyValue::Bool(false)).map_err(oom)?;
        let mut events = filled(ne, Event::default()).map_err(oom)?;
        let mut links = filled(nl, Link::default()).map_err(oom)?;
        let mut building = Parser {
            input: $input,
            pos: *$pos,
            pools: Pools {
                kvs: Pool::new(&mut kvs),
                values: Pool::new(&mut values),
                events: Pool::new(&mut events),
                links: Pool::new(&mut links),
            },
        };
        let item = building.$read()?;
        *$pos = end;
        ($use)(&item)
    }};
}

/// Reads `input` (the layout above) and returns the encoded
/// `ExportTraceServiceRequest`: one `ResourceSpans`, one `ScopeSpans` per
/// group in input order, spans encoded by otlpx-core under the input's limits.
pub fn encode_input(input: &[u8]) -> Result<Vec<u8>> {
    let oom = |_| InputError {
        kind: InputErrorKind::OutOfMemory,
        offset: 0,
    };
    // The header, read without views.
    let mut top = Parser::at(input, 0);
    if top.bytes(4).ok() != Some(&MAGIC[..]) {
        return Err(top.err(InputErrorKind::BadMagic, 0));
    }
    if top.u32()? != VERSION {
        return Err(top.err(InputErrorKind::UnsupportedVersion, 4));
    }
    let limits = top.limits()?;
    let mut pos = top.pos;

    let resource = two_pass!(input, &mut pos, resource, |r: &Resource<'_>| EncodedResource::new(r));
    let (group_count, _) = Parser::at(input, pos).count()?;
    pos += 4;
    let mut scopes: Vec<EncodedScope> = Vec::new();
    // Where each group's span entries end in `body`.
    let mut group_ends: Vec<usize> = Vec::new();
    scopes.try_reserve_exact(group_count).map_err(oom)?;
    group_ends.try_reserve_exact(group_count).map_err(oom)?;
    // Span entries, all groups in a row. The request is usually smaller than
    // the input; it grows if not.
    let mut body: Vec<u8> = Vec::new();
    body.try_reserve(input.len()).map_err(oom)?;
    for _ in 0..group_count {
        scopes.push(two_pass!(input, &mut pos, scope, |s: &Scope<'_>| EncodedScope::new(s)));
        let (span_count, _) = Parser::at(input, pos).count()?;
        pos += 4;
        for _ in 0..span_count {
            two_pass!(input, &mut pos, span, |s: &Span<'_>| encode_span_entry(
                s, &limits, &mut body
            ));
        }
        group_ends.push(body.len());
    }
    if pos != input.len() {
        return Err(top.err(InputErrorKind::TrailingBytes, pos));
    }

    // The envelope around the span entries, into an exactly sized buffer.
    let group_range = |i: usize| {
        let start = if i == 0 { 0 } else { group_ends[i - 1] };
        start..group_ends[i]
    };
    let mut rs_len = resource.framing_len();
    for (i, scope) in scopes.iter().enumerate() {
        rs_len += len_field(scope.scope_spans_len(group_range(i).len()));
    }
    let mut out = Vec::new();
    out.try_reserve_exact(len_field(rs_len)).map_err(oom)?;
    let framed = scopes.iter().enumerate().map(|(i, s)| (i, s, group_range(i).len()));
    write_request(
        &resource,
        framed,
        |i, out: &mut Vec<u8>| out.extend_from_slice(&body[group_range(i)]),
        &mut out,
    );
    Ok(out)
}

fn filled<T: Clone>(n: usize, v: T) -> std::result::Result<Vec<T>, std::collections::TryReserveError> {
    let mut out = Vec::new();
    out.try_reserve_exact(n)?;
    out.resize(n, v);
    Ok(out)
}

// ---------------------------------------------------------------------------
// Pools: contiguous storage carved into the slices the views borrow.

/// A pool of `T` slots handed out in order. A counting pool has no storage:
/// it only adds up what was asked for and hands out empty slices.
struct Pool<'a, T> {
    slots: &'a mut [T],
    counting: bool,
    taken: usize,
}

impl<'a, T> Pool<'a, T> {
    fn new(slots: &'a mut [T]) -> Self {
        Pool {
            slots,
            counting: false,
            taken: 0,
        }
    }
    fn counting() -> Self {
        Pool {
            slots: &mut [],
            counting: true,
            taken: 0,
        }
    }
    /// The next `n` slots (or, counting, an empty slice). `n` was checked
    /// against the input's remaining length, so the sum cannot overflow in a
    /// valid input; an invalid one fails with `Truncated` soon after.
    #[inline]
    fn take(&mut self, n: usize, offset: usize) -> Result<&'a mut [T]> {
        let truncated = InputError {
            kind: InputErrorKind::Truncated,
            offset,
        };
        self.taken = self.taken.checked_add(n).ok_or(truncated)?;
        if self.counting {
            return Ok(&mut []);
        }
        if n > self.slots.len() {
            // Cannot happen: pass 2 reads the input pass 1 counted.
            return Err(truncated);
        }
        let (head, tail) = std::mem::take(&mut self.slots).split_at_mut(n);
        self.slots = tail;
        Ok(head)
    }
}

struct Pools<'a> {
    kvs: Pool<'a, KeyValue<'a>>,
    values: Pool<'a, AnyValue<'a>>,
    events: Pool<'a, Event<'a>>,
    links: Pool<'a, Link<'a>>,
}

impl<'a> Pools<'a> {
    fn counting() -> Self {
        Pools {
            kvs: Pool::counting(),
            values: Pool::counting(),
            events: Pool::counting(),
            links: Pool::counting(),
        }
    }
    fn counts(&self) -> [usize; 4] {
        [self.kvs.taken, self.values.taken, self.events.taken, self.links.taken]
    }
}

/// Stores `v` in slot `i` of `dst` when there is one (building); counting, `dst` is empty.
#[inline]
fn put<T>(dst: &mut [T], i: usize, v: T) {
    if let Some(slot) = dst.get_mut(i) {
        *slot = v;
    }
}

// ---------------------------------------------------------------------------
// The reader.

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    pools: Pools<'a>,
}

impl<'a> Parser<'a> {
    #[cold]
    fn err(&self, kind: InputErrorKind, offset: usize) -> InputError {
        InputError { kind, offset }
    }

    #[inline]
    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let input: &'a [u8] = self.input;
        match input.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => Err(self.err(InputErrorKind::Truncated, self.pos)),
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    #[inline]
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    #[inline]
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    #[inline]
    fn flag(&mut self) -> Result<bool> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.err(InputErrorKind::InvalidTag, at)),
        }
    }

    #[inline]
    fn len_prefixed(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    /// A `str`. UTF-8 is checked in the building pass only (the counting
    /// pass hands out no views); an invalid string fails there, before any
    /// byte is encoded.
    #[inline]
    fn str(&mut self) -> Result<&'a str> {
        let at = self.pos;
        let b = self.len_prefixed()?;
        if self.pools.kvs.counting {
            return Ok("");
        }
        std::str::from_utf8(b).map_err(|_| self.err(InputErrorKind::InvalidUtf8, at))
    }

    /// A count of items that each take at least one byte: never more than
    /// what is left of the input.
    #[inline]
    fn count(&mut self) -> Result<(usize, usize)> {
        let at = self.pos;
        let n = self.u32()? as usize;
        if n > self.input.len().saturating_sub(self.pos) {
            return Err(self.err(InputErrorKind::Truncated, at));
        }
        Ok((n, at))
    }

    /// A parser at `pos` that counts (see [`Pools::counting`]).
    fn at(input: &'a [u8], pos: usize) -> Self {
        Parser {
            input,
            pos,
            pools: Pools::counting(),
        }
    }

    fn resource(&mut self) -> Result<Resource<'a>> {
        Ok(Resource {
            attributes: self.attrs(0)?,
            dropped_attributes_count: self.u32()?,
            schema_url: self.str()?,
        })
    }

    fn scope(&mut self) -> Result<Scope<'a>> {
        Ok(Scope {
            name: self.str()?,
            version: self.str()?,
            attributes: self.attrs(0)?,
            dropped_attributes_count: self.u32()?,
            schema_url: self.str()?,
        })
    }

    fn limits(&mut self) -> Result<SpanLimits> {
        let attribute_count = self.u32()?;
        let attribute_value_length = match self.u32()? {
            NO_VALUE_LENGTH_LIMIT => None,
            n => Some(n),
        };
        Ok(SpanLimits {
            attribute_count,
            attribute_value_length,
            event_count: self.u32()?,
            link_count: self.u32()?,
            attributes_per_event: self.u32()?,
            attributes_per_link: self.u32()?,
        })
    }

    fn span(&mut self) -> Result<Span<'a>> {
        let trace_id = self.array()?;
        let span_id = self.array()?;
        let trace_state = self.str()?;
        let has_parent = self.flag()?;
        let parent: [u8; 8] = self.array()?;
        let flags = self.u32()?;
        let name = self.str()?;
        let at = self.pos;
        let kind = SpanKind::from_i32(self.u8()? as i32).ok_or_else(|| self.err(InputErrorKind::InvalidTag, at))?;
        let start_time_unix_nano = self.u64()?;
        let end_time_unix_nano = self.u64()?;
        let attributes = self.attrs(0)?;
        let dropped_attributes_count = self.u32()?;
        let (ne, at) = self.count()?;
        let events = self.pools.events.take(ne, at)?;
        for i in 0..ne {
            let e = Event {
                time_unix_nano: self.u64()?,
                name: self.str()?,
                attributes: self.attrs(0)?,
                dropped_attributes_count: self.u32()?,
            };
            put(events, i, e);
        }
        let dropped_events_count = self.u32()?;
        let (nl, at) = self.count()?;
        let links = self.pools.links.take(nl, at)?;
        for i in 0..nl {
            let k = Link {
                trace_id: self.array()?,
                span_id: self.array()?,
                trace_state: self.str()?,
                attributes: self.attrs(0)?,
                dropped_attributes_count: self.u32()?,
                flags: self.u32()?,
            };
            put(links, i, k);
        }
        let dropped_links_count = self.u32()?;
        let at = self.pos;
        let code = StatusCode::from_i32(self.u8()? as i32).ok_or_else(|| self.err(InputErrorKind::InvalidTag, at))?;
        let message = self.str()?;
        Ok(Span {
            trace_id,
            span_id,
            trace_state,
            parent_span_id: has_parent.then_some(parent),
            flags,
            name,
            kind,
            start_time_unix_nano,
            end_time_unix_nano,
            attributes,
            dropped_attributes_count,
            events: &*events,
            dropped_events_count,
            links: &*links,
            dropped_links_count,
            status: Status { code, message },
        })
    }

    /// The elements of an array value at `depth` (out of line: the recursion).
    #[inline(never)]
    fn array_values(&mut self, depth: u32) -> Result<&'a [AnyValue<'a>]> {
        let (n, at) = self.count()?;
        let dst = self.pools.values.take(n, at)?;
        for i in 0..n {
            let v = self.value(depth + 1)?;
            put(dst, i, v);
        }
        Ok(dst)
    }

    /// `attrs` whose values are at depth `depth + 1`.
    fn attrs(&mut self, depth: u32) -> Result<&'a [KeyValue<'a>]> {
        let (n, at) = self.count()?;
        let dst = self.pools.kvs.take(n, at)?;
        for i in 0..n {
            let key = self.str()?;
            let value = self.value(depth + 1)?;
            put(dst, i, KeyValue { key, value });
        }
        Ok(dst)
    }

    #[inline(always)]
    fn value(&mut self, depth: u32) -> Result<AnyValue<'a>> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return Err(self.err(InputErrorKind::TooDeep, at));
        }
        Ok(match self.u8()? {
            1 => AnyValue::Str(self.str()?),
            2 => AnyValue::Bool(self.flag()?),
            3 => AnyValue::Int(i64::from_le_bytes(self.array()?)),
            4 => AnyValue::Double(f64::from_bits(self.u64()?)),
            5 => AnyValue::Bytes(self.len_prefixed()?),
            6 => AnyValue::Array(self.array_values(depth)?),
            7 => AnyValue::KvList(self.attrs(depth)?),
            _ => return Err(self.err(InputErrorKind::InvalidTag, at)),
        })
    }
}

// ---------------------------------------------------------------------------
// The writer.

/// Writes the input layout from otlpx-core views (for Rust hosts, the native
/// side of the wasm test, and tests).
#[derive(Debug, Default, Clone)]
pub struct InputWriter {
    buf: Vec<u8>,
}

impl InputWriter {
    /// Starts an input: magic, version, `limits` and the resource. Then call
    /// [`InputWriter::group`] once per scope group and [`InputWriter::finish`].
    /// `group_count` must be the number of groups that follow.
    pub fn new(limits: &SpanLimits, resource: &Resource<'_>, group_count: u32) -> Self {
        let mut w = InputWriter { buf: Vec::new() };
        w.buf.extend_from_slice(&MAGIC);
        w.u32(VERSION);
        for v in [
            limits.attribute_count,
            limits.attribute_value_length.unwrap_or(NO_VALUE_LENGTH_LIMIT),
            limits.event_count,
            limits.link_count,
            limits.attributes_per_event,
            limits.attributes_per_link,
        ] {
            w.u32(v);
        }
        w.attrs(resource.attributes);
        w.u32(resource.dropped_attributes_count);
        w.str(resource.schema_url);
        w.u32(group_count);
        w
    }

    /// Writes a scope group with `spans`.
    pub fn group(&mut self, scope: &Scope<'_>, spans: &[Span<'_>]) -> &mut Self {
        self.group_header(scope, len_u32(spans.len()));
        for s in spans {
            self.span(s);
        }
        self
    }

    /// Writes a scope group's header; exactly `span_count` calls of
    /// [`InputWriter::span`] must follow.
    pub fn group_header(&mut self, scope: &Scope<'_>, span_count: u32) -> &mut Self {
        self.str(scope.name);
        self.str(scope.version);
        self.attrs(scope.attributes);
        self.u32(scope.dropped_attributes_count);
        self.str(scope.schema_url);
        self.u32(span_count);
        self
    }

    /// Writes one span.
    pub fn span(&mut self, s: &Span<'_>) -> &mut Self {
        self.buf.extend_from_slice(&s.trace_id);
        self.buf.extend_from_slice(&s.span_id);
        self.str(s.trace_state);
        self.buf.push(s.parent_span_id.is_some() as u8);
        self.buf.extend_from_slice(&s.parent_span_id.unwrap_or_default());
        self.u32(s.flags);
        self.str(s.name);
        self.buf.push(s.kind as u8);
        self.u64(s.start_time_unix_nano);
        self.u64(s.end_time_unix_nano);
        self.attrs(s.attributes);
        self.u32(s.dropped_attributes_count);
        self.u32(len_u32(s.events.len()));
        for e in s.events {
            self.u64(e.time_unix_nano);
            self.str(e.name);
            self.attrs(e.attributes);
            self.u32(e.dropped_attributes_count);
        }
        self.u32(s.dropped_events_count);
        self.u32(len_u32(s.links.len()));
        for k in s.links {
            self.buf.extend_from_slice(&k.trace_id);
            self.buf.extend_from_slice(&k.span_id);
            self.str(k.trace_state);
            self.attrs(k.attributes);
            self.u32(k.dropped_attributes_count);
            self.u32(k.flags);
        }
        self.u32(s.dropped_links_count);
        self.buf.push(s.status.code as u8);
        self.str(s.status.message);
        self
    }

    /// The finished input.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(len_u32(b.len()));
        self.buf.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn attrs(&mut self, kvs: &[KeyValue<'_>]) {
        self.u32(len_u32(kvs.len()));
        for kv in kvs {
            self.str(kv.key);
            self.value(&kv.value);
        }
    }
    fn value(&mut self, v: &AnyValue<'_>) {
        match *v {
            AnyValue::Str(s) => {
                self.buf.push(1);
                self.str(s);
            }
            AnyValue::Bool(b) => {
                self.buf.push(2);
                self.buf.push(b as u8);
            }
            AnyValue::Int(i) => {
                self.buf.push(3);
                self.buf.extend_from_slice(&i.to_le_bytes());
            }
            AnyValue::Double(d) => {
                self.buf.push(4);
                self.u64(d.to_bits());
            }
            AnyValue::Bytes(b) => {
                self.buf.push(5);
                self.bytes(b);
            }
            AnyValue::Array(vs) => {
                self.buf.push(6);
                self.u32(len_u32(vs.len()));
                for v in vs {
                    self.value(v);
                }
            }
            AnyValue::KvList(kvs) => {
                self.buf.push(7);
                self.attrs(kvs);
            }
        }
    }
}

/// Lengths in the layout are `u32`. A slice of 4 Gi items or more cannot be
/// represented (nor passed to a wasm32 module): the count saturates.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
