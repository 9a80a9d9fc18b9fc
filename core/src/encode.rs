//! The protobuf writer for `opentelemetry.proto.trace.v1.Span` and its parts.
//!
//! Owns: varints, tags and length prefixes, written by hand; the field numbers
//! of opentelemetry-proto; span limits (attribute, event and link counts,
//! attribute value length) with the `dropped_*_count` fields filled in.
//! Must not: allocate, lock, or know about batches and transports.
//!
//! Every nested message's length is computed arithmetically before it is
//! written (a `KeyValue`'s size is known from its key and value lengths), so
//! each byte is written once, straight into the caller's buffer. Fields are
//! written in ascending field-number order and proto3 defaults are omitted, so
//! the bytes equal prost's canonical encoding of the same message.

use crate::model::{AnyValue, Event, KeyValue, Link, Resource, Scope, Span, Status};

/// Span limits from the OpenTelemetry specification (`OTEL_SPAN_*_LIMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimits {
    /// Attributes kept per span (default 128).
    pub attribute_count: u32,
    /// Length limit of string attribute values, in characters (default: none).
    pub attribute_value_length: Option<u32>,
    /// Events kept per span (default 128).
    pub event_count: u32,
    /// Links kept per span (default 128).
    pub link_count: u32,
    /// Attributes kept per event (default 128).
    pub attributes_per_event: u32,
    /// Attributes kept per link (default 128).
    pub attributes_per_link: u32,
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits {
            attribute_count: 128,
            attribute_value_length: None,
            event_count: 128,
            link_count: 128,
            attributes_per_event: 128,
            attributes_per_link: 128,
        }
    }
}

impl SpanLimits {
    /// No limits at all (for tests and for re-encoding already limited data).
    pub const UNLIMITED: SpanLimits = SpanLimits {
        attribute_count: u32::MAX,
        attribute_value_length: None,
        event_count: u32::MAX,
        link_count: u32::MAX,
        attributes_per_event: u32::MAX,
        attributes_per_link: u32::MAX,
    };

    #[inline]
    fn value_len(&self) -> usize {
        match self.attribute_value_length {
            Some(n) => n as usize,
            None => usize::MAX,
        }
    }
}

// ---------------------------------------------------------------------------
// Wire primitives.

/// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

#[inline(always)]
const fn tag(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

/// The number of bytes `v` takes as a varint.
#[inline(always)]
pub const fn varint_len(v: u64) -> usize {
    if v < 0x80 {
        return 1; // the common case: short strings, small lengths
    }
    // Same formula as prost: 1 byte per started 7 bits.
    ((((v | 1).leading_zeros() ^ 63) * 9 + 73) / 64) as usize
}

/// Size of a length-delimited field with a one-byte tag and `n` content bytes.
#[inline(always)]
pub const fn len_field(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

#[inline(always)]
fn opt_len_field(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        len_field(n)
    }
}

#[inline(always)]
fn opt_varint_field(v: u64) -> usize {
    if v == 0 {
        0
    } else {
        1 + varint_len(v)
    }
}

/// A cursor over a buffer whose needed size was computed beforehand.
///
/// Every public operation checks, once, that the bytes it is about to write
/// fit (a miscomputed size panics instead of corrupting memory); inside an
/// operation the writes are unchecked. An operation's size is computed in the
/// same function from the same values it then writes, so the check covers
/// exactly what follows it.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    /// The accounted room: bytes past it (up to the buffer's end, at least
    /// [`SLACK`]) only absorb the attribute writer's upper-bound checks.
    soft: usize,
    overflow: bool,
}

/// Bytes a [`Writer`] needs past its accounted room, so that the attribute
/// writer's per-pair upper-bound check never refuses a pair that fits.
pub const SLACK: usize = 64;

#[allow(unsafe_code)]
impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    #[inline]
    pub fn new(buf: &'a mut [u8]) -> Self {
        let soft = buf.len().saturating_sub(SLACK);
        Writer {
            buf,
            pos: 0,
            soft,
            overflow: false,
        }
    }

    /// True when a write did not fit the accounted room (the buffer less
    /// [`SLACK`]); the bytes written are then incomplete and must be discarded.
    #[inline]
    pub fn overflowed(&self) -> bool {
        self.overflow || self.pos > self.soft
    }
    /// Bytes written so far.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Checks that `n` more bytes fit; every unchecked write below is
    /// preceded by this check for at least the bytes it writes. When they do
    /// not fit, the writer is marked overflowed and writes nothing more.
    #[inline(always)]
    #[must_use]
    fn reserve(&mut self, n: usize) -> bool {
        if n <= self.buf.len() - self.pos && !self.overflow {
            true
        } else {
            self.overflow = true;
            false
        }
    }

    /// Starts a length-delimited field whose length is not known yet:
    /// writes the tag and `width` placeholder bytes, returns the content start.
    #[inline(always)]
    pub(crate) fn begin(&mut self, field: u8, width: usize) -> usize {
        if self.reserve(1 + width) {
            // SAFETY: reserved above.
            unsafe { self.put(tag(field, LEN)) };
            self.pos += width;
        }
        self.pos
    }

    /// Ends a field from [`begin`](Self::begin): writes its length as a
    /// canonical varint, moving the content when the length needs a width
    /// other than the placeholder's.
    #[inline(always)]
    pub(crate) fn end(&mut self, start: usize, width: usize) {
        if self.overflow {
            return;
        }
        let len = self.pos - start;
        let need = varint_len(len as u64);
        if need != width {
            if need > width && !self.reserve(need - width) {
                return;
            }
            let to = start - width + need;
            self.buf.copy_within(start..self.pos, to);
            self.pos = to + len;
        }
        let mut at = start - width;
        let mut v = len as u64;
        while v >= 0x80 {
            self.buf[at] = (v as u8) | 0x80;
            v >>= 7;
            at += 1;
        }
        self.buf[at] = v as u8;
    }

    // --- unchecked primitives: callers have reserved the bytes ---

    /// The write cursor as a raw pointer (for a run of unchecked writes).
    #[inline(always)]
    fn cursor(&mut self) -> *mut u8 {
        // SAFETY: pos <= len always holds, so this stays in (or one past) the buffer.
        unsafe { self.buf.as_mut_ptr().add(self.pos) }
    }

    /// Moves `pos` to a cursor obtained from [`cursor`](Self::cursor).
    #[inline(always)]
    fn advance_to(&mut self, p: *mut u8) {
        // SAFETY: `p` was derived from this buffer's pointer by the writes
        // of one reserved run, so it lies within the buffer.
        let pos = unsafe { p.offset_from(self.buf.as_ptr()) } as usize;
        debug_assert!(pos <= self.buf.len());
        self.pos = pos;
    }

    #[inline(always)]
    unsafe fn put(&mut self, b: u8) {
        let p = self.cursor();
        // SAFETY: the caller reserved this byte.
        unsafe { self.advance_to(raw::put(p, b)) };
    }

    #[inline(always)]
    unsafe fn put_varint(&mut self, v: u64) {
        let p = self.cursor();
        // SAFETY: the caller reserved `varint_len(v)` bytes.
        unsafe { self.advance_to(raw::varint(p, v)) };
    }

    #[inline(always)]
    unsafe fn put_slice(&mut self, src: &[u8]) {
        let p = self.cursor();
        // SAFETY: the caller reserved `src.len()` bytes.
        unsafe { self.advance_to(raw::slice(p, src)) };
    }

    #[inline(always)]
    unsafe fn put_len_bytes(&mut self, field: u8, b: &[u8]) {
        let p = self.cursor();
        // SAFETY: the caller reserved `len_field(b.len())` bytes.
        unsafe { self.advance_to(raw::len_bytes(p, field, b)) };
    }

    // --- checked operations ---

    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        if !self.reserve(1) {
            return;
        }
        // SAFETY: reserved above.
        unsafe { self.put(b) };
    }
    #[inline(always)]
    pub(crate) fn varint(&mut self, v: u64) {
        if !self.reserve(varint_len(v)) {
            return;
        }
        // SAFETY: reserved above.
        unsafe { self.put_varint(v) };
    }
    #[inline(always)]
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        if !self.reserve(b.len()) {
            return;
        }
        // SAFETY: reserved above.
        unsafe { self.put_slice(b) };
    }
    #[inline(always)]
    fn fixed64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    #[inline(always)]
    fn fixed32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    /// Tag and length of a length-delimited field.
    #[inline(always)]
    pub(crate) fn len_header(&mut self, field: u8, n: usize) {
        if !self.reserve(1 + varint_len(n as u64)) {
            return;
        }
        // SAFETY: reserved above.
        unsafe {
            self.put(tag(field, LEN));
            self.put_varint(n as u64);
        }
    }
    #[inline(always)]
    fn len_bytes(&mut self, field: u8, b: &[u8]) {
        if !self.reserve(len_field(b.len())) {
            return;
        }
        // SAFETY: reserved above.
        unsafe { self.put_len_bytes(field, b) };
    }
    #[inline(always)]
    fn opt_len_bytes(&mut self, field: u8, b: &[u8]) {
        if !b.is_empty() {
            self.len_bytes(field, b);
        }
    }
    #[inline(always)]
    fn opt_varint(&mut self, field: u8, v: u64) {
        if v != 0 {
            if !self.reserve(1 + varint_len(v)) {
                return;
            }
            // SAFETY: reserved above.
            unsafe {
                self.put(tag(field, VARINT));
                self.put_varint(v);
            }
        }
    }

    /// Fields 1 to 8 of a span (ids, trace state, parent, name, kind, times)
    /// after one bounds check.
    #[inline(always)]
    fn span_header(&mut self, span: &Span<'_>) {
        let ts = span.trace_state.as_bytes();
        let name = span.name.as_bytes();
        // 18 + 10 + 10 + 2 + 9 + 9 fixed, and two fields of at most 6 + len.
        if !self.reserve(70 + ts.len() + name.len()) {
            return;
        }
        let p = self.cursor();
        // SAFETY: the writes below take at most the bytes reserved above.
        let p = unsafe {
            let mut p = raw::len_bytes(p, 1, &span.trace_id);
            p = raw::len_bytes(p, 2, &span.span_id);
            if !ts.is_empty() {
                p = raw::len_bytes(p, 3, ts);
            }
            if let Some(parent) = &span.parent_span_id {
                p = raw::len_bytes(p, 4, parent);
            }
            if !name.is_empty() {
                p = raw::len_bytes(p, 5, name);
            }
            if span.kind as u8 != 0 {
                p = raw::put(raw::put(p, tag(6, VARINT)), span.kind as u8);
            }
            if span.start_time_unix_nano != 0 {
                p = raw::slice(raw::put(p, tag(7, FIXED64)), &span.start_time_unix_nano.to_le_bytes());
            }
            if span.end_time_unix_nano != 0 {
                p = raw::slice(raw::put(p, tag(8, FIXED64)), &span.end_time_unix_nano.to_le_bytes());
            }
            p
        };
        self.advance_to(p);
    }

    /// Fields 1 and 2 of an event (time, name) after one bounds check.
    #[inline(always)]
    fn event_header(&mut self, e: &Event<'_>) {
        let name = e.name.as_bytes();
        if !self.reserve(15 + name.len()) {
            return;
        }
        let p = self.cursor();
        // SAFETY: at most 9 + 6 + name bytes, reserved above.
        let p = unsafe {
            let mut p = p;
            if e.time_unix_nano != 0 {
                p = raw::slice(raw::put(p, tag(1, FIXED64)), &e.time_unix_nano.to_le_bytes());
            }
            if !name.is_empty() {
                p = raw::len_bytes(p, 2, name);
            }
            p
        };
        self.advance_to(p);
    }

    /// Writes a list of attributes. Scalar pairs go through one raw cursor
    /// kept across the loop, each after a bounds check of its upper bound;
    /// nested values take the checked path.
    #[inline(always)]
    fn attributes(&mut self, field_tag: u8, kvs: &[KeyValue<'_>], limit: usize) {
        if self.overflow {
            return;
        }
        let base = self.buf.as_mut_ptr();
        let len = self.buf.len();
        let mut pos = self.pos;
        for kv in kvs {
            let payload = match kv.value {
                AnyValue::Str(x) => x.len(),
                AnyValue::Bytes(x) => x.len(),
                AnyValue::Array(_) | AnyValue::KvList(_) => {
                    self.pos = pos;
                    write_nested_key_value(self, field_tag >> 3, kv, limit);
                    if self.overflow {
                        return;
                    }
                    pos = self.pos;
                    continue;
                }
                _ => 10,
            };
            let key = kv.key.as_bytes();
            if key.len() + payload + KV_OVERHEAD > len - pos {
                self.pos = pos;
                self.overflow = true;
                return;
            }
            // SAFETY: pos <= len, and `raw::scalar_key_value` writes at most
            // key + payload + KV_OVERHEAD bytes, checked just above.
            unsafe {
                let p = base.add(pos);
                let q = raw::scalar_key_value(p, field_tag, key, &kv.value, limit);
                pos += q.offset_from(p) as usize;
            }
        }
        self.pos = pos;
    }

    /// Writes a `KeyValue` whose value is a scalar as field `field` in one
    /// pass, after one bounds check of an upper bound for the whole pair.
    #[inline(always)]
    fn scalar_key_value(&mut self, field: u8, key: &[u8], v: &AnyValue<'_>, limit: usize) {
        let payload = match *v {
            AnyValue::Str(x) => x.len(),
            AnyValue::Bytes(x) => x.len(),
            _ => 10,
        };
        // Tags and up to five bytes per length varint: well under 24 + 10.
        if !self.reserve(key.len() + payload + KV_OVERHEAD) {
            return;
        }
        let p = self.cursor();
        // SAFETY: `raw::scalar_key_value` writes at most key + payload +
        // KV_OVERHEAD bytes, reserved above.
        let p = unsafe { raw::scalar_key_value(p, tag(field, LEN), key, v, limit) };
        self.advance_to(p);
    }
}

/// Most bytes a scalar `KeyValue` takes beyond its key and payload bytes.
const KV_OVERHEAD: usize = 24;

/// Unchecked writes through a raw cursor; each returns the advanced cursor.
/// Callers guarantee the bytes were reserved.
#[allow(unsafe_code)]
mod raw {
    use super::{len_field, tag, truncate, varint_len, AnyValue, FIXED64, LEN, VARINT};

    #[inline(always)]
    pub(super) unsafe fn put(p: *mut u8, b: u8) -> *mut u8 {
        // SAFETY: the caller reserved this byte.
        unsafe {
            *p = b;
            p.add(1)
        }
    }

    #[inline(always)]
    pub(super) unsafe fn varint(mut p: *mut u8, mut v: u64) -> *mut u8 {
        // SAFETY: the caller reserved `varint_len(v)` bytes.
        unsafe {
            while v >= 0x80 {
                p = put(p, (v as u8) | 0x80);
                v >>= 7;
            }
            put(p, v as u8)
        }
    }

    /// Copies `src`; short copies use overlapping head and tail words that
    /// read only inside `src` and write only inside the reserved range.
    #[inline(always)]
    pub(super) unsafe fn slice(dst: *mut u8, src: &[u8]) -> *mut u8 {
        let n = src.len();
        let sp = src.as_ptr();
        // SAFETY: the caller reserved `n` bytes at `dst`; every read below
        // is within `src[..n]` and every write within `dst[..n]`.
        unsafe {
            if n >= 16 {
                if n <= 32 {
                    let head = (sp as *const u128).read_unaligned();
                    let tail = (sp.add(n - 16) as *const u128).read_unaligned();
                    (dst as *mut u128).write_unaligned(head);
                    (dst.add(n - 16) as *mut u128).write_unaligned(tail);
                } else {
                    std::ptr::copy_nonoverlapping(sp, dst, n);
                }
            } else if n >= 8 {
                let head = (sp as *const u64).read_unaligned();
                let tail = (sp.add(n - 8) as *const u64).read_unaligned();
                (dst as *mut u64).write_unaligned(head);
                (dst.add(n - 8) as *mut u64).write_unaligned(tail);
            } else if n >= 4 {
                let head = (sp as *const u32).read_unaligned();
                let tail = (sp.add(n - 4) as *const u32).read_unaligned();
                (dst as *mut u32).write_unaligned(head);
                (dst.add(n - 4) as *mut u32).write_unaligned(tail);
            } else {
                for i in 0..n {
                    *dst.add(i) = *sp.add(i);
                }
            }
            dst.add(n)
        }
    }

    /// A `KeyValue` with a scalar value: its tag, a length written after
    /// the content (moved in the rare case the length needs two or more
    /// bytes), the key field and the value field. Writes at most
    /// `key.len() + payload + KV_OVERHEAD` bytes.
    #[inline(always)]
    pub(super) unsafe fn scalar_key_value(
        p: *mut u8,
        field_tag: u8,
        key: &[u8],
        v: &AnyValue<'_>,
        limit: usize,
    ) -> *mut u8 {
        // SAFETY: the caller reserved key + payload + KV_OVERHEAD bytes; the
        // writes below are 1 + 1 (+4 on a move) + len_field(key) + the value
        // field (at most payload + 12).
        unsafe {
            let lenpos = put(p, field_tag);
            let mut p = lenpos.add(1);
            if !key.is_empty() {
                p = len_bytes(p, 1, key);
            }
            p = match *v {
                AnyValue::Str(x) => {
                    let x = truncate(x, limit).as_bytes();
                    let p = varint(put(p, tag(2, LEN)), len_field(x.len()) as u64);
                    len_bytes(p, 1, x)
                }
                AnyValue::Bytes(x) => {
                    let p = varint(put(p, tag(2, LEN)), len_field(x.len()) as u64);
                    len_bytes(p, 7, x)
                }
                AnyValue::Int(i) => {
                    let p = put(put(p, tag(2, LEN)), 1 + varint_len(i as u64) as u8);
                    varint(put(p, tag(3, VARINT)), i as u64)
                }
                AnyValue::Bool(b) => put(put(put(put(p, tag(2, LEN)), 2), tag(2, VARINT)), b as u8),
                AnyValue::Double(d) => slice(
                    put(put(put(p, tag(2, LEN)), 9), tag(4, FIXED64)),
                    &d.to_bits().to_le_bytes(),
                ),
                AnyValue::Array(_) | AnyValue::KvList(_) => p,
            };
            let len = p.offset_from(lenpos) as usize - 1;
            if len < 0x80 {
                *lenpos = len as u8;
                return p;
            }
            let extra = varint_len(len as u64) - 1;
            std::ptr::copy(lenpos.add(1), lenpos.add(1 + extra), len);
            varint(lenpos, len as u64);
            p.add(extra)
        }
    }

    #[inline(always)]
    pub(super) unsafe fn len_bytes(p: *mut u8, field: u8, b: &[u8]) -> *mut u8 {
        // SAFETY: the caller reserved `len_field(b.len())` bytes.
        unsafe { slice(varint(put(p, tag(field, LEN)), b.len() as u64), b) }
    }
}

// ---------------------------------------------------------------------------
// Attribute values.

/// Truncates `s` to at most `limit` characters (Unicode scalar values).
#[inline(always)]
fn truncate(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s; // bytes >= chars, so it fits
    }
    match s.char_indices().nth(limit) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Content length of an `AnyValue` message. `limit` truncates strings
/// (top-level values and array elements, as the specification says).
#[inline(always)]
fn any_value_len(v: &AnyValue<'_>, limit: usize) -> usize {
    match *v {
        AnyValue::Str(s) => len_field(truncate(s, limit).len()),
        AnyValue::Bool(_) => 2,
        AnyValue::Int(i) => 1 + varint_len(i as u64),
        AnyValue::Double(_) => 9,
        AnyValue::Bytes(b) => len_field(b.len()),
        AnyValue::Array(vs) => len_field(array_len(vs, limit)),
        AnyValue::KvList(kvs) => len_field(kvlist_len(kvs)),
    }
}

#[inline(never)]
fn array_len(vs: &[AnyValue<'_>], limit: usize) -> usize {
    vs.iter().map(|v| len_field(any_value_len(v, limit))).sum()
}

#[inline(never)]
fn kvlist_len(kvs: &[KeyValue<'_>]) -> usize {
    kvs.iter().map(|kv| len_field(key_value_len(kv, usize::MAX))).sum()
}

/// Content length of a `KeyValue` message.
#[inline(always)]
fn key_value_len(kv: &KeyValue<'_>, limit: usize) -> usize {
    opt_len_field(kv.key.len()) + len_field(any_value_len(&kv.value, limit))
}

/// Length of a repeated `KeyValue` field (tags and prefixes included), first `n` only.
#[inline]
fn attributes_len(kvs: &[KeyValue<'_>], n: usize, limit: usize) -> usize {
    kvs[..n].iter().map(|kv| len_field(key_value_len(kv, limit))).sum()
}

#[inline(never)]
fn write_any_value(w: &mut Writer<'_>, v: &AnyValue<'_>, limit: usize) {
    match *v {
        AnyValue::Str(s) => w.len_bytes(1, truncate(s, limit).as_bytes()),
        AnyValue::Bool(b) => {
            w.byte(tag(2, VARINT));
            w.byte(b as u8);
        }
        AnyValue::Int(i) => {
            w.byte(tag(3, VARINT));
            w.varint(i as u64);
        }
        AnyValue::Double(d) => {
            w.byte(tag(4, FIXED64));
            w.fixed64(d.to_bits());
        }
        AnyValue::Bytes(b) => w.len_bytes(7, b),
        AnyValue::Array(vs) => {
            w.len_header(5, array_len(vs, limit));
            for v in vs {
                w.len_header(1, any_value_len(v, limit));
                write_any_value(w, v, limit);
            }
        }
        AnyValue::KvList(kvs) => {
            w.len_header(6, kvlist_len(kvs));
            for kv in kvs {
                write_key_value(w, 1, kv, usize::MAX);
            }
        }
    }
}

/// Writes one `KeyValue` as field `field` (tag, length, content).
#[inline(always)]
fn write_key_value(w: &mut Writer<'_>, field: u8, kv: &KeyValue<'_>, limit: usize) {
    match kv.value {
        AnyValue::Array(_) | AnyValue::KvList(_) => write_nested_key_value(w, field, kv, limit),
        _ => w.scalar_key_value(field, kv.key.as_bytes(), &kv.value, limit),
    }
}

#[inline(never)]
fn write_nested_key_value(w: &mut Writer<'_>, field: u8, kv: &KeyValue<'_>, limit: usize) {
    let vlen = any_value_len(&kv.value, limit);
    let klen = opt_len_field(kv.key.len()) + len_field(vlen);
    w.len_header(field, klen);
    w.opt_len_bytes(1, kv.key.as_bytes());
    w.len_header(2, vlen);
    write_any_value(w, &kv.value, limit);
}

#[inline]
fn write_attributes(w: &mut Writer<'_>, field: u8, kvs: &[KeyValue<'_>], limit: usize) {
    w.attributes(tag(field, LEN), kvs, limit);
}

/// Kept count and new dropped count for a list under a count limit.
#[inline(always)]
fn limited(len: usize, max: u32, already_dropped: u32) -> (usize, u32) {
    let max = max as usize;
    if len <= max {
        (len, already_dropped)
    } else {
        let extra = u32::try_from(len - max).unwrap_or(u32::MAX);
        (max, already_dropped.saturating_add(extra))
    }
}

// ---------------------------------------------------------------------------
// Events, links, status.

fn event_len(e: &Event<'_>, l: &SpanLimits) -> usize {
    let (n, dropped) = limited(e.attributes.len(), l.attributes_per_event, e.dropped_attributes_count);
    let vl = l.value_len();
    (if e.time_unix_nano != 0 { 9 } else { 0 })
        + opt_len_field(e.name.len())
        + attributes_len(e.attributes, n, vl)
        + opt_varint_field(dropped as u64)
}

fn write_event(w: &mut Writer<'_>, e: &Event<'_>, l: &SpanLimits) {
    let (n, dropped) = limited(e.attributes.len(), l.attributes_per_event, e.dropped_attributes_count);
    let vl = l.value_len();
    w.event_header(e);
    write_attributes(w, 3, &e.attributes[..n], vl);
    w.opt_varint(4, dropped as u64);
}

fn link_len(k: &Link<'_>, l: &SpanLimits) -> usize {
    let (n, dropped) = limited(k.attributes.len(), l.attributes_per_link, k.dropped_attributes_count);
    18 + 10
        + opt_len_field(k.trace_state.len())
        + attributes_len(k.attributes, n, l.value_len())
        + opt_varint_field(dropped as u64)
        + if k.flags != 0 { 5 } else { 0 }
}

fn write_link(w: &mut Writer<'_>, k: &Link<'_>, l: &SpanLimits) {
    let (n, dropped) = limited(k.attributes.len(), l.attributes_per_link, k.dropped_attributes_count);
    w.len_bytes(1, &k.trace_id);
    w.len_bytes(2, &k.span_id);
    w.opt_len_bytes(3, k.trace_state.as_bytes());
    write_attributes(w, 4, &k.attributes[..n], l.value_len());
    w.opt_varint(5, dropped as u64);
    if k.flags != 0 {
        w.byte(tag(6, FIXED32));
        w.fixed32(k.flags);
    }
}

#[inline]
fn status_len(s: &Status<'_>) -> usize {
    opt_len_field(s.message.len()) + opt_varint_field(s.code as u64)
}

// ---------------------------------------------------------------------------
// Span.

/// The `Span` field tag 16 (`flags`, fixed32) takes two bytes.
const FLAGS_TAG: [u8; 2] = [(16 << 3 | FIXED32) | 0x80, 0x01];

/// The content length of the `Span` message for `span` under `limits`.
pub fn span_len(span: &Span<'_>, limits: &SpanLimits) -> usize {
    let vl = limits.value_len();
    let (na, da) = limited(
        span.attributes.len(),
        limits.attribute_count,
        span.dropped_attributes_count,
    );
    let (ne, de) = limited(span.events.len(), limits.event_count, span.dropped_events_count);
    let (nl, dl) = limited(span.links.len(), limits.link_count, span.dropped_links_count);
    let mut n = 18 + 10; // trace_id, span_id
    n += opt_len_field(span.trace_state.len());
    if span.parent_span_id.is_some() {
        n += 10;
    }
    n += opt_len_field(span.name.len());
    n += opt_varint_field(span.kind as u64);
    if span.start_time_unix_nano != 0 {
        n += 9;
    }
    if span.end_time_unix_nano != 0 {
        n += 9;
    }
    n += attributes_len(span.attributes, na, vl);
    n += opt_varint_field(da as u64);
    for e in &span.events[..ne] {
        n += len_field(event_len(e, limits));
    }
    n += opt_varint_field(de as u64);
    for k in &span.links[..nl] {
        n += len_field(link_len(k, limits));
    }
    n += opt_varint_field(dl as u64);
    if !span.status.is_unset() {
        n += len_field(status_len(&span.status));
    }
    if span.flags != 0 {
        n += 6;
    }
    n
}

/// Writes one span as a `ScopeSpans.spans` entry (tag, length, content) in
/// a single pass: nested lengths are written after their content. Check
/// [`Writer::overflowed`] afterwards: a span that does not fit leaves the
/// writer overflowed and its bytes must be discarded.
#[inline]
pub fn write_span_entry(w: &mut Writer<'_>, span: &Span<'_>, limits: &SpanLimits) {
    // Spans are usually 128 B to 16 KiB: a 2-byte length, moved otherwise.
    let start = w.begin(2, 2);
    write_span(w, span, limits);
    w.end(start, 2);
}

/// Writes the `Span` message content (no tag, no length prefix).
/// `w` needs room for [`span_len`] bytes; with less it overflows.
pub fn write_span(w: &mut Writer<'_>, span: &Span<'_>, limits: &SpanLimits) {
    let vl = limits.value_len();
    let (na, da) = limited(
        span.attributes.len(),
        limits.attribute_count,
        span.dropped_attributes_count,
    );
    let (ne, de) = limited(span.events.len(), limits.event_count, span.dropped_events_count);
    let (nl, dl) = limited(span.links.len(), limits.link_count, span.dropped_links_count);
    w.span_header(span);
    write_attributes(w, 9, &span.attributes[..na], vl);
    w.opt_varint(10, da as u64);
    for e in &span.events[..ne] {
        let start = w.begin(11, 1);
        write_event(w, e, limits);
        w.end(start, 1);
    }
    w.opt_varint(12, de as u64);
    for k in &span.links[..nl] {
        let start = w.begin(13, 1);
        write_link(w, k, limits);
        w.end(start, 1);
    }
    w.opt_varint(14, dl as u64);
    if !span.status.is_unset() {
        w.len_header(15, status_len(&span.status));
        w.opt_len_bytes(2, span.status.message.as_bytes());
        w.opt_varint(3, span.status.code as u64);
    }
    if span.flags != 0 {
        w.bytes(&FLAGS_TAG);
        w.fixed32(span.flags);
    }
}

/// Encodes `span` as a `Span` message, appended to `out`.
/// Allocates only when `out` lacks capacity.
pub fn encode_span(span: &Span<'_>, limits: &SpanLimits, out: &mut Vec<u8>) {
    let n = span_len(span, limits);
    let start = out.len();
    out.resize(start + n + SLACK, 0);
    let mut w = Writer::new(&mut out[start..]);
    write_span(&mut w, span, limits);
    debug_assert!(!w.overflowed() && w.pos() == n);
    out.truncate(start + n);
}

// ---------------------------------------------------------------------------
// Resource and scope (encoded once, when configured).

/// Encodes a `Resource` message's content, appended to `out`.
pub fn encode_resource(r: &Resource<'_>, out: &mut Vec<u8>) {
    let n = attributes_len(r.attributes, r.attributes.len(), usize::MAX)
        + opt_varint_field(r.dropped_attributes_count as u64);
    let start = out.len();
    out.resize(start + n + SLACK, 0);
    let mut w = Writer::new(&mut out[start..]);
    write_attributes(&mut w, 1, r.attributes, usize::MAX);
    w.opt_varint(2, r.dropped_attributes_count as u64);
    debug_assert!(!w.overflowed() && w.pos() == n);
    out.truncate(start + n);
}

/// Encodes an `InstrumentationScope` message's content, appended to `out`.
pub fn encode_scope(s: &Scope<'_>, out: &mut Vec<u8>) {
    let n = opt_len_field(s.name.len())
        + opt_len_field(s.version.len())
        + attributes_len(s.attributes, s.attributes.len(), usize::MAX)
        + opt_varint_field(s.dropped_attributes_count as u64);
    let start = out.len();
    out.resize(start + n + SLACK, 0);
    let mut w = Writer::new(&mut out[start..]);
    w.opt_len_bytes(1, s.name.as_bytes());
    w.opt_len_bytes(2, s.version.as_bytes());
    write_attributes(&mut w, 3, s.attributes, usize::MAX);
    w.opt_varint(4, s.dropped_attributes_count as u64);
    debug_assert!(!w.overflowed() && w.pos() == n);
    out.truncate(start + n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths() {
        for (v, n) in [(0u64, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (u64::MAX, 10)] {
            assert_eq!(varint_len(v), n, "{v}");
        }
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("", 0), "");
        assert_eq!(truncate("abc", 0), "");
    }
}
