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
//!
//! A span is first tried on the fast path (`mod fast`): one pass through a raw
//! cursor with a bounds check per section, one-byte nested lengths computed
//! from key and value lengths and stored with their tags as words. Spans it
//! does not take (a limit cuts something, a nested attribute value, too little
//! room) go through the checked [`Writer`] path, which gives the same bytes.
//!
//! Arrays and key-value lists nest at most [`MAX_VALUE_DEPTH`] levels below
//! an attribute: a deeper value is not encoded (the writer reports
//! [`Writer::too_deep`] and the batcher refuses the span as invalid), so
//! recursion, and the stack it takes, stays bounded whatever the input.

use std::borrow::Cow;

use crate::model::{AnyValue, Event, KeyValue, Link, Resource, Scope, Span, Status};

/// How deep arrays and key-value lists may nest in an attribute value: the
/// attribute's value is at depth 0, an array's elements and a key-value
/// list's values one deeper; values deeper than this are refused (as the
/// JavaScript frontend refuses them; the C API takes 32).
pub const MAX_VALUE_DEPTH: usize = 64;

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
    /// An attribute value nested deeper than [`MAX_VALUE_DEPTH`] (also sets `overflow`).
    too_deep: bool,
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
            too_deep: false,
        }
    }

    /// True when an attribute value nested deeper than [`MAX_VALUE_DEPTH`]:
    /// nothing more was written ([`overflowed`](Self::overflowed) is true too)
    /// and the bytes must be discarded.
    #[inline]
    pub fn too_deep(&self) -> bool {
        self.too_deep
    }

    /// Marks the writer as stopped by a value nested too deep.
    #[cold]
    fn refuse_depth(&mut self) {
        self.too_deep = true;
        self.overflow = true;
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
                AnyValue::Str(x) => truncate(x, limit).len(),
                AnyValue::Bytes(x) => x.len(),
                AnyValue::Array(_) | AnyValue::KvList(_) => {
                    self.pos = pos;
                    write_nested_key_value(self, field_tag >> 3, kv, limit, 0);
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
            AnyValue::Str(x) => truncate(x, limit).len(),
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

    /// Copies `src`; short copies use overlapping head and tail loads that
    /// read only inside `src` and write only inside `dst[..n]`. Lengths 16
    /// to 64 (most keys and values) take one path without further branches.
    #[inline(always)]
    pub(super) unsafe fn slice(dst: *mut u8, src: &[u8]) -> *mut u8 {
        // SAFETY: as the caller's.
        unsafe { copy::<false>(dst, src) }
    }

    /// [`slice`] for lengths that repeat from span to span (keys, whose
    /// branches predict well): 16 to 32 bytes take two pieces instead of four.
    #[inline(always)]
    pub(super) unsafe fn slice_key(dst: *mut u8, src: &[u8]) -> *mut u8 {
        // SAFETY: as the caller's.
        unsafe { copy::<true>(dst, src) }
    }

    #[inline(always)]
    unsafe fn copy<const SPLIT: bool>(dst: *mut u8, src: &[u8]) -> *mut u8 {
        let n = src.len();
        let sp = src.as_ptr();
        // SAFETY: the caller reserved `n` bytes at `dst`; every read below
        // is within `src[..n]` and every write within `dst[..n]`.
        unsafe {
            if n >= 16 {
                if SPLIT && n <= 32 {
                    std::ptr::copy_nonoverlapping(sp, dst, 16);
                    std::ptr::copy_nonoverlapping(sp.add(n - 16), dst.add(n - 16), 16);
                } else if n <= 64 {
                    // Four 16-byte pieces at 0, min(16, n - 16),
                    // max(0, n - 32) and n - 16 cover [0, n) for 16 <= n <= 64.
                    let o2 = (n - 16).min(16);
                    let o3 = n.saturating_sub(32);
                    // Pieces may overlap in `dst`; they write the same bytes there.
                    std::ptr::copy_nonoverlapping(sp, dst, 16);
                    std::ptr::copy_nonoverlapping(sp.add(o2), dst.add(o2), 16);
                    std::ptr::copy_nonoverlapping(sp.add(o3), dst.add(o3), 16);
                    std::ptr::copy_nonoverlapping(sp.add(n - 16), dst.add(n - 16), 16);
                } else {
                    std::ptr::copy_nonoverlapping(sp, dst, n);
                }
            } else if n >= 8 {
                std::ptr::copy_nonoverlapping(sp, dst, 8);
                std::ptr::copy_nonoverlapping(sp.add(n - 8), dst.add(n - 8), 8);
            } else if n >= 4 {
                std::ptr::copy_nonoverlapping(sp, dst, 4);
                std::ptr::copy_nonoverlapping(sp.add(n - 4), dst.add(n - 4), 4);
            } else if n > 0 {
                // 1 to 3 bytes: first, middle and last (some coincide).
                let (a, b, c) = (*sp, *sp.add(n / 2), *sp.add(n - 1));
                *dst = a;
                *dst.add(n / 2) = b;
                *dst.add(n - 1) = c;
            }
            dst.add(n)
        }
    }

    /// Stores `N` bytes at `p` (unaligned); returns `p` advanced by `N`.
    #[inline(always)]
    pub(super) unsafe fn put_n<const N: usize>(p: *mut u8, b: [u8; N]) -> *mut u8 {
        // SAFETY: the caller reserved `N` bytes.
        unsafe {
            (p as *mut [u8; N]).write_unaligned(b);
            p.add(N)
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

/// The encoder's short-copy routines, for the benchmark's floor writer
/// (`otlpx_benches::floor`), so that the floor copies strings exactly as the
/// encoder does. Not part of the API.
#[doc(hidden)]
#[allow(unsafe_code)]
pub mod floor_support {
    /// Copies a value's bytes as the encoder does; returns `dst` advanced.
    ///
    /// # Safety
    /// `dst` is valid for `src.len()` bytes of writes.
    #[inline(always)]
    pub unsafe fn copy_value(dst: *mut u8, src: &[u8]) -> *mut u8 {
        // SAFETY: as the caller's.
        unsafe { super::raw::slice(dst, src) }
    }

    /// Copies a key's bytes as the encoder does; returns `dst` advanced.
    ///
    /// # Safety
    /// `dst` is valid for `src.len()` bytes of writes.
    #[inline(always)]
    pub unsafe fn copy_key(dst: *mut u8, src: &[u8]) -> *mut u8 {
        // SAFETY: as the caller's.
        unsafe { super::raw::slice_key(dst, src) }
    }
}

// ---------------------------------------------------------------------------
// The fast path for a whole span.

/// Whether spans try the one-pass fast path first. Off on wasm, where code
/// size is budgeted; the checked path writes the same bytes.
const FAST_PATH: bool = cfg!(not(target_family = "wasm"));

/// One pass over a span through a raw cursor, for the common case: no limit
/// cuts anything and every attribute value is a scalar. Nested lengths that
/// fit one byte (nearly all of them) are computed from the key and value
/// lengths and stored with the tags in 2- and 4-byte words; the rare longer
/// ones take the general unchecked writers. Each section (span header, each
/// attribute, each event or link header, the trailer) is preceded by a
/// bounds check of an upper bound of what it writes, against the end of the
/// buffer. Anything else (a cut, a nested value, too little room) returns
/// `None` before the cursor is committed, and the caller takes the checked
/// path from the same start: bytes written past the committed position are
/// scratch.
#[allow(unsafe_code)]
mod fast {
    use super::raw::{self, put, put_n, slice, slice_key, varint};
    use super::{tag, varint_len, AnyValue, Event, KeyValue, Link, Span, SpanLimits, FIXED32, FIXED64, LEN, VARINT};

    /// Bytes past the cursor available in `[p, end)`.
    #[inline(always)]
    fn room(p: *mut u8, end: *mut u8) -> usize {
        end as usize - p as usize
    }

    /// Scalar pairs whose key and payload add up to at most this have every
    /// length in one byte (the `KeyValue` content is at most 127 bytes).
    const SMALL_PAIR: usize = 121;

    /// The most bytes a small pair (see [`SMALL_PAIR`]) writes: 4 + key + 4 +
    /// value for strings and bytes, 4 + key + 3 + 10 for integers.
    const SMALL_PAIR_BYTES: usize = 130;

    /// Tag, one-byte length, key tag and key length as one little-endian word.
    #[inline(always)]
    fn pair_head(field_tag: u8, len: usize, k: usize) -> [u8; 4] {
        (field_tag as u32 | (len as u32) << 8 | (tag(1, LEN) as u32) << 16 | (k as u32) << 24).to_le_bytes()
    }

    /// Writes a repeated `KeyValue` field with tag `field_tag`.
    ///
    /// One check up front covers every pair at the small-pair bound; a pair
    /// that is not small (an empty or long key, a long value, a value the
    /// length limit cuts) checks its own upper bound plus the small-pair
    /// bound of the pairs after it, so the up-front check keeps covering them.
    ///
    /// # Safety
    /// `p <= end`, both in (or one past) the same buffer.
    #[inline(always)]
    unsafe fn attributes(
        p: *mut u8,
        end: *mut u8,
        field_tag: u8,
        kvs: &[KeyValue<'_>],
        limit: usize,
    ) -> Option<*mut u8> {
        // SAFETY: as the caller's. The quick variant needs room for every
        // pair at the small-pair bound, and a limit no small string exceeds.
        unsafe {
            if limit >= SMALL_PAIR && kvs.len().saturating_mul(SMALL_PAIR_BYTES) <= room(p, end) {
                pairs::<false>(p, end, field_tag, kvs, limit)
            } else {
                careful_pairs(p, end, field_tag, kvs, limit)
            }
        }
    }

    /// [`pairs`] with `CAREFUL`, out of line: it serves buffers sized to the
    /// span and small value length limits, and keeps the common loop compact.
    ///
    /// # Safety
    /// `p <= end`, both in (or one past) the same buffer.
    #[inline(never)]
    unsafe fn careful_pairs(
        p: *mut u8,
        end: *mut u8,
        field_tag: u8,
        kvs: &[KeyValue<'_>],
        limit: usize,
    ) -> Option<*mut u8> {
        // SAFETY: as the caller's.
        unsafe { pairs::<true>(p, end, field_tag, kvs, limit) }
    }

    /// [`attributes`]. Without `CAREFUL`, the caller checked that `[p, end)`
    /// holds SMALL_PAIR_BYTES per pair and that `limit >= SMALL_PAIR`; with
    /// it, each pair checks its own upper bound (as the checked writer does,
    /// so a buffer sized by [`super::span_len`] plus [`super::SLACK`] suffices)
    /// and small strings check the limit.
    ///
    /// # Safety
    /// `p <= end`, both in (or one past) the same buffer.
    #[inline(always)]
    unsafe fn pairs<const CAREFUL: bool>(
        mut p: *mut u8,
        end: *mut u8,
        field_tag: u8,
        kvs: &[KeyValue<'_>],
        limit: usize,
    ) -> Option<*mut u8> {
        let mut it = kvs.iter();
        while let Some(kv) = it.next() {
            let key = kv.key.as_bytes();
            let k = key.len();
            // An empty key (its field omitted) or a long one takes the general writer.
            let short_key = k.wrapping_sub(1) < SMALL_PAIR - 10;
            if CAREFUL {
                let payload = match kv.value {
                    AnyValue::Str(x) => super::truncate(x, limit).len(),
                    AnyValue::Bytes(x) => x.len(),
                    AnyValue::Array(_) | AnyValue::KvList(_) => return None,
                    _ => 10,
                };
                if k + payload + super::KV_OVERHEAD > room(p, end) {
                    return None;
                }
            }
            // SAFETY: without CAREFUL, at the top of each iteration
            // `room(p, end)` is at least SMALL_PAIR_BYTES per pair left; a
            // small pair writes at most that, and any other pair checks its
            // own bound plus that of the pairs after it. With CAREFUL, the
            // check above covers this pair's bound (at least what each arm
            // below writes).
            unsafe {
                p = match kv.value {
                    AnyValue::Str(x) if short_key && k + x.len() <= SMALL_PAIR && (!CAREFUL || x.len() <= limit) => {
                        let n = x.len();
                        let q = slice_key(put_n(p, pair_head(field_tag, k + n + 6, k)), key);
                        let head =
                            (tag(2, LEN) as u32 | (n as u32 + 2) << 8 | (tag(1, LEN) as u32) << 16) | (n as u32) << 24;
                        slice(put_n(q, head.to_le_bytes()), x.as_bytes())
                    }
                    AnyValue::Int(i) if short_key && (i as u64) < 1 << 28 => {
                        // The varint's 7-bit groups spread over bytes, its
                        // length from the highest group, its continuation
                        // bits below that: the value field is one word.
                        let v = i as u32;
                        let spread = (v & 0x7f) | (v << 1) & 0x7f00 | (v << 2) & 0x7f_0000 | (v << 3) & 0x7f00_0000;
                        let n = ((31 - (spread | 1).leading_zeros()) / 8 + 1) as usize;
                        let more = 0x0080_8080u32 >> (8 * (4 - n));
                        let q = slice_key(put_n(p, pair_head(field_tag, k + 5 + n, k)), key);
                        let value = tag(2, LEN) as u64
                            | (1 + n as u64) << 8
                            | (tag(3, VARINT) as u64) << 16
                            | ((spread | more) as u64) << 24;
                        // Bytes past the 3 + n of the field are scratch.
                        put_n(q, value.to_le_bytes()).sub(5 - n)
                    }
                    AnyValue::Int(i) if short_key => {
                        let v = i as u64;
                        let n = varint_len(v);
                        let q = slice_key(put_n(p, pair_head(field_tag, k + 5 + n, k)), key);
                        let q = put_n(q, [tag(2, LEN), 1 + n as u8, tag(3, VARINT), 0]).sub(1);
                        varint(q, v)
                    }
                    AnyValue::Bool(b) if short_key => {
                        let q = slice_key(put_n(p, pair_head(field_tag, k + 6, k)), key);
                        put_n(q, [tag(2, LEN), 2, tag(2, VARINT), b as u8])
                    }
                    AnyValue::Double(d) if short_key => {
                        let q = slice_key(put_n(p, pair_head(field_tag, k + 13, k)), key);
                        // The 4th byte is overwritten by the value.
                        put_n(q, [tag(2, LEN), 9, tag(4, FIXED64), 0]);
                        put_n(q.add(3), d.to_bits().to_le_bytes())
                    }
                    AnyValue::Bytes(x) if short_key && k + x.len() <= SMALL_PAIR => {
                        let n = x.len();
                        let q = slice_key(put_n(p, pair_head(field_tag, k + n + 6, k)), key);
                        slice(put_n(q, [tag(2, LEN), n as u8 + 2, tag(7, LEN), n as u8]), x)
                    }
                    AnyValue::Array(_) | AnyValue::KvList(_) => return None,
                    ref v => {
                        let payload = match *v {
                            AnyValue::Str(x) => super::truncate(x, limit).len(),
                            AnyValue::Bytes(x) => x.len(),
                            _ => 10,
                        };
                        let after = if CAREFUL { 0 } else { it.len() * SMALL_PAIR_BYTES };
                        if k + payload + super::KV_OVERHEAD + after > room(p, end) {
                            return None;
                        }
                        raw::scalar_key_value(p, field_tag, key, v, limit)
                    }
                };
            }
        }
        Some(p)
    }

    /// A length-delimited field: tag, length, bytes.
    ///
    /// # Safety
    /// The caller reserved `b.len() + 6` bytes at `p` (with `b` shorter than 2^35).
    #[inline(always)]
    unsafe fn len_bytes(p: *mut u8, field: u8, b: &[u8]) -> *mut u8 {
        // SAFETY: a one-byte length takes 2 + len bytes, a longer one
        // at most 6 + len; both reserved by the caller.
        unsafe {
            if b.len() < 0x80 {
                slice(put_n(p, [tag(field, LEN), b.len() as u8]), b)
            } else {
                raw::len_bytes(p, field, b)
            }
        }
    }

    /// An optional varint field (omitted when zero): at most 11 bytes.
    ///
    /// # Safety
    /// The caller reserved 11 bytes at `p`.
    #[inline(always)]
    unsafe fn opt_varint(p: *mut u8, field: u8, v: u64) -> *mut u8 {
        if v == 0 {
            return p;
        }
        // SAFETY: 1 + varint_len(v) <= 11 bytes, reserved by the caller.
        unsafe { varint(put(p, tag(field, VARINT)), v) }
    }

    /// An optional dropped count (omitted when zero), after checking its
    /// at most 11 bytes fit; `None` when they do not.
    ///
    /// # Safety
    /// `p <= end`, both in (or one past) the same buffer.
    #[inline(always)]
    unsafe fn dropped_count(p: *mut u8, end: *mut u8, field: u8, v: u32) -> Option<*mut u8> {
        if v == 0 {
            return Some(p);
        }
        if room(p, end) < 11 {
            return None;
        }
        // SAFETY: 11 bytes checked above.
        Some(unsafe { opt_varint(p, field, v as u64) })
    }

    /// Writes the length of a field whose one-byte placeholder is at
    /// `start - 1` and whose content is `[start, p)`; a length of 128 or more
    /// moves the content. Returns the end of the content.
    ///
    /// # Safety
    /// `start <= p <= end`, one placeholder byte before `start`, all in one buffer.
    #[inline(always)]
    unsafe fn close1(start: *mut u8, p: *mut u8, end: *mut u8) -> Option<*mut u8> {
        let len = p as usize - start as usize;
        // SAFETY: the placeholder byte precedes `start`; a move shifts the
        // content by `extra` bytes, checked against `end` first.
        unsafe {
            if len < 0x80 {
                *start.sub(1) = len as u8;
                return Some(p);
            }
            let extra = varint_len(len as u64) - 1;
            if extra > room(p, end) {
                return None;
            }
            std::ptr::copy(start, start.add(extra), len);
            varint(start.sub(1), len as u64);
            Some(p.add(extra))
        }
    }

    /// # Safety
    /// `p <= end`, both in (or one past) the same buffer.
    #[inline(always)]
    unsafe fn event(p: *mut u8, end: *mut u8, e: &Event<'_>, l: &SpanLimits, limit: usize) -> Option<*mut u8> {
        if e.attributes.len() > l.attributes_per_event as usize {
            return None;
        }
        let name = e.name.as_bytes();
        // Tag and placeholder, time (9), name (at most 6 + len).
        if 17 + name.len() > room(p, end) {
            return None;
        }
        // SAFETY: the writes before `attributes` take at most 17 + name
        // bytes, checked above; `attributes` and the dropped count check
        // their own room; `close1` checks a move.
        unsafe {
            let start = put(p, tag(11, LEN)).add(1);
            let mut q = start;
            if e.time_unix_nano != 0 {
                q = put_n(put(q, tag(1, FIXED64)), e.time_unix_nano.to_le_bytes());
            }
            if !name.is_empty() {
                q = len_bytes(q, 2, name);
            }
            q = attributes(q, end, tag(3, LEN), e.attributes, limit)?;
            q = dropped_count(q, end, 4, e.dropped_attributes_count)?;
            close1(start, q, end)
        }
    }

    /// # Safety
    /// `p <= end`, both in (or one past) the same buffer.
    #[inline(never)]
    unsafe fn link(p: *mut u8, end: *mut u8, k: &Link<'_>, l: &SpanLimits, limit: usize) -> Option<*mut u8> {
        if k.attributes.len() > l.attributes_per_link as usize {
            return None;
        }
        let ts = k.trace_state.as_bytes();
        // Tag and placeholder, ids (28), trace state (at most 6 + len).
        if 36 + ts.len() > room(p, end) {
            return None;
        }
        // SAFETY: the writes before `attributes` take at most 36 + ts bytes,
        // checked above; the rest check their own room.
        unsafe {
            let start = put(p, tag(13, LEN)).add(1);
            let mut q = put_n(put_n(start, [tag(1, LEN), 16]), k.trace_id);
            q = put_n(put_n(q, [tag(2, LEN), 8]), k.span_id);
            if !ts.is_empty() {
                q = len_bytes(q, 3, ts);
            }
            q = attributes(q, end, tag(4, LEN), k.attributes, limit)?;
            if room(q, end) < 16 {
                return None;
            }
            q = opt_varint(q, 5, k.dropped_attributes_count as u64);
            if k.flags != 0 {
                q = put_n(put(q, tag(6, FIXED32)), k.flags.to_le_bytes());
            }
            close1(start, q, end)
        }
    }

    /// Writes the `Span` message content at `p`; `None` when the span needs
    /// the general path (a limit cuts something, a nested value, too little room).
    ///
    /// # Safety
    /// `p <= end`, both in (or one past) the same buffer.
    #[inline(always)]
    unsafe fn span(p: *mut u8, end: *mut u8, span: &Span<'_>, l: &SpanLimits) -> Option<*mut u8> {
        if span.attributes.len() > l.attribute_count as usize
            || span.events.len() > l.event_count as usize
            || span.links.len() > l.link_count as usize
        {
            return None;
        }
        let limit = l.value_len();
        let ts = span.trace_state.as_bytes();
        let name = span.name.as_bytes();
        // 18 + 10 + 10 + 2 + 9 + 9 fixed, and two fields of at most 6 + len.
        if 70 + ts.len() + name.len() > room(p, end) {
            return None;
        }
        // SAFETY: the header writes take at most the 70 + ts + name bytes
        // checked above (each store below is within its field's bytes); every
        // later section checks its own room against `end` first.
        unsafe {
            let mut q = put_n(put_n(p, [tag(1, LEN), 16]), span.trace_id);
            q = put_n(put_n(q, [tag(2, LEN), 8]), span.span_id);
            if !ts.is_empty() {
                q = len_bytes(q, 3, ts);
            }
            if let Some(parent) = span.parent_span_id {
                q = put_n(put_n(q, [tag(4, LEN), 8]), parent);
            }
            if !name.is_empty() {
                q = len_bytes(q, 5, name);
            }
            if span.kind as u8 != 0 {
                q = put_n(q, [tag(6, VARINT), span.kind as u8]);
            }
            if span.start_time_unix_nano != 0 {
                q = put_n(put(q, tag(7, FIXED64)), span.start_time_unix_nano.to_le_bytes());
            }
            if span.end_time_unix_nano != 0 {
                q = put_n(put(q, tag(8, FIXED64)), span.end_time_unix_nano.to_le_bytes());
            }
            q = attributes(q, end, tag(9, LEN), span.attributes, limit)?;
            q = dropped_count(q, end, 10, span.dropped_attributes_count)?;
            for e in span.events {
                q = event(q, end, e, l, limit)?;
            }
            q = dropped_count(q, end, 12, span.dropped_events_count)?;
            for k in span.links {
                q = link(q, end, k, l, limit)?;
            }
            let msg = span.status.message.as_bytes();
            // A dropped count (11), status (at most 1 + 5 + 6 + msg + 2), flags (6).
            if 31 + msg.len() > room(q, end) {
                return None;
            }
            q = opt_varint(q, 14, span.dropped_links_count as u64);
            if !span.status.is_unset() {
                let code = span.status.code as u8;
                let n = super::status_len(&span.status);
                if n < 0x80 {
                    q = put_n(q, [tag(15, LEN), n as u8]);
                } else {
                    q = varint(put(q, tag(15, LEN)), n as u64);
                }
                if !msg.is_empty() {
                    q = len_bytes(q, 2, msg);
                }
                if code != 0 {
                    q = put_n(q, [tag(3, VARINT), code]);
                }
            }
            if span.flags != 0 {
                q = put_n(put_n(q, super::FLAGS_TAG), span.flags.to_le_bytes());
            }
            Some(q)
        }
    }

    /// The `Span` message content at the start of `buf`; the bytes written,
    /// or `None` for the general path.
    #[inline(never)]
    pub(super) fn span_content(buf: &mut [u8], s: &Span<'_>, l: &SpanLimits) -> Option<usize> {
        let p = buf.as_mut_ptr();
        // SAFETY: `p` and `end` bound `buf`; every write is checked against `end`.
        unsafe {
            let end = p.add(buf.len());
            let q = span(p, end, s, l)?;
            Some(q as usize - p as usize)
        }
    }

    /// A `ScopeSpans.spans` entry (tag, length, content) at the start of
    /// `buf`; the bytes written, or `None` for the general path. Not inlined:
    /// the caller's loop would otherwise hoist this path's set-up.
    #[inline(never)]
    pub(super) fn span_entry(buf: &mut [u8], s: &Span<'_>, l: &SpanLimits) -> Option<usize> {
        if buf.len() < 3 {
            return None;
        }
        let p = buf.as_mut_ptr();
        // SAFETY: `p` and `end` bound `buf`, which has the 3 bytes of tag and
        // placeholder (checked above); the content checks its own writes; a
        // move checks its extra bytes against `end` first.
        unsafe {
            let end = p.add(buf.len());
            let start = p.add(3);
            let q = span(start, end, s, l)?;
            let len = q as usize - start as usize;
            if (0x80..0x4000).contains(&len) {
                put_n(p, [tag(2, LEN), len as u8 | 0x80]);
                *p.add(2) = (len >> 7) as u8;
                return Some(3 + len);
            }
            let need = varint_len(len as u64);
            if need > 2 && need - 2 > room(q, end) {
                return None;
            }
            std::ptr::copy(start, p.add(1 + need), len);
            varint(put(p, tag(2, LEN)), len as u64);
            Some(1 + need + len)
        }
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
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Content length of an `AnyValue` message at nesting depth `depth` (an
/// attribute's value is at 0). `limit` truncates strings (top-level values
/// and array elements, as the specification says).
#[inline(always)]
fn any_value_len_at(v: &AnyValue<'_>, limit: usize, depth: usize) -> usize {
    match *v {
        AnyValue::Str(s) => len_field(truncate(s, limit).len()),
        AnyValue::Bool(_) => 2,
        AnyValue::Int(i) => 1 + varint_len(i as u64),
        AnyValue::Double(_) => 9,
        AnyValue::Bytes(b) => len_field(b.len()),
        AnyValue::Array(vs) => len_field(array_len(vs, limit, depth + 1)),
        AnyValue::KvList(kvs) => len_field(kvlist_len(kvs, depth + 1)),
    }
}

/// Content length of an `ArrayValue` whose elements are at `depth`. Past
/// [`MAX_VALUE_DEPTH`] it stops (0): the writer refuses such a value.
#[inline(never)]
fn array_len(vs: &[AnyValue<'_>], limit: usize, depth: usize) -> usize {
    if depth > MAX_VALUE_DEPTH {
        return 0;
    }
    vs.iter().map(|v| len_field(any_value_len_at(v, limit, depth))).sum()
}

/// Content length of a `KeyValueList` whose values are at `depth` (as [`array_len`]).
#[inline(never)]
fn kvlist_len(kvs: &[KeyValue<'_>], depth: usize) -> usize {
    if depth > MAX_VALUE_DEPTH {
        return 0;
    }
    kvs.iter()
        .map(|kv| len_field(key_value_len_at(kv, usize::MAX, depth)))
        .sum()
}

/// Content length of a `KeyValue` message.
#[inline(always)]
fn key_value_len(kv: &KeyValue<'_>, limit: usize) -> usize {
    key_value_len_at(kv, limit, 0)
}

/// [`key_value_len`] of a pair whose value is at nesting depth `depth`.
#[inline(always)]
fn key_value_len_at(kv: &KeyValue<'_>, limit: usize, depth: usize) -> usize {
    opt_len_field(kv.key.len()) + len_field(any_value_len_at(&kv.value, limit, depth))
}

/// Length of a repeated `KeyValue` field (tags and prefixes included), first `n` only.
#[inline]
fn attributes_len(kvs: &[KeyValue<'_>], n: usize, limit: usize) -> usize {
    kvs[..n].iter().map(|kv| len_field(key_value_len(kv, limit))).sum()
}

/// Writes the content of `v`, a value at nesting depth `depth`.
#[inline(never)]
fn write_any_value(w: &mut Writer<'_>, v: &AnyValue<'_>, limit: usize, depth: usize) {
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
            if depth >= MAX_VALUE_DEPTH && !vs.is_empty() {
                w.refuse_depth();
                return;
            }
            w.len_header(5, array_len(vs, limit, depth + 1));
            for v in vs {
                w.len_header(1, any_value_len_at(v, limit, depth + 1));
                write_any_value(w, v, limit, depth + 1);
            }
        }
        AnyValue::KvList(kvs) => {
            if depth >= MAX_VALUE_DEPTH && !kvs.is_empty() {
                w.refuse_depth();
                return;
            }
            w.len_header(6, kvlist_len(kvs, depth + 1));
            for kv in kvs {
                match kv.value {
                    AnyValue::Array(_) | AnyValue::KvList(_) => write_nested_key_value(w, 1, kv, usize::MAX, depth + 1),
                    _ => w.scalar_key_value(1, kv.key.as_bytes(), &kv.value, usize::MAX),
                }
            }
        }
    }
}

/// Writes a `KeyValue` whose value is an array or a key-value list (at
/// nesting depth `depth`) as field `field` (tag, length, content).
#[inline(never)]
fn write_nested_key_value(w: &mut Writer<'_>, field: u8, kv: &KeyValue<'_>, limit: usize, depth: usize) {
    let vlen = any_value_len_at(&kv.value, limit, depth);
    let klen = opt_len_field(kv.key.len()) + len_field(vlen);
    w.len_header(field, klen);
    w.opt_len_bytes(1, kv.key.as_bytes());
    w.len_header(2, vlen);
    write_any_value(w, &kv.value, limit, depth);
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

#[cfg_attr(target_family = "wasm", inline)]
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
    // wasm builds skip the fast path: same bytes, much less code (the module's size budget).
    if FAST_PATH && !w.overflow {
        if let Some(n) = fast::span_entry(&mut w.buf[w.pos..], span, limits) {
            w.pos += n;
            return;
        }
    }
    write_span_entry_checked(w, span, limits);
}

/// The checked path of [`write_span_entry`], for every span. On wasm it is
/// every span's path, and `#[inline]` has it compiled in the frontend crate,
/// which the size-optimised module builds for speed (scripts/wasm.sh).
#[cfg_attr(not(target_family = "wasm"), cold, inline(never))]
#[cfg_attr(target_family = "wasm", inline)]
fn write_span_entry_checked(w: &mut Writer<'_>, span: &Span<'_>, limits: &SpanLimits) {
    // Spans are usually 128 B to 16 KiB: a 2-byte length, moved otherwise.
    let start = w.begin(2, 2);
    write_span_checked(w, span, limits);
    w.end(start, 2);
}

/// Writes the `Span` message content (no tag, no length prefix).
/// `w` needs room for [`span_len`] bytes; with less it overflows.
pub fn write_span(w: &mut Writer<'_>, span: &Span<'_>, limits: &SpanLimits) {
    if FAST_PATH && !w.overflow {
        if let Some(n) = fast::span_content(&mut w.buf[w.pos..], span, limits) {
            w.pos += n;
            return;
        }
    }
    write_span_checked(w, span, limits);
}

/// The checked path of [`write_span`], for every span (on wasm, compiled in
/// the frontend crate: see [`write_span_entry_checked`]).
#[cfg_attr(not(target_family = "wasm"), inline(never))]
#[cfg_attr(target_family = "wasm", inline)]
fn write_span_checked(w: &mut Writer<'_>, span: &Span<'_>, limits: &SpanLimits) {
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
/// Allocates only when `out` lacks capacity. A span with an attribute value
/// nested deeper than [`MAX_VALUE_DEPTH`] is not encoded (`out` is left as it
/// was); [`try_encode_span`] says so.
pub fn encode_span(span: &Span<'_>, limits: &SpanLimits, out: &mut Vec<u8>) {
    try_encode_span(span, limits, out);
}

/// [`encode_span`], returning false (with `out` as it was) for a span with
/// an attribute value nested deeper than [`MAX_VALUE_DEPTH`].
pub fn try_encode_span(span: &Span<'_>, limits: &SpanLimits, out: &mut Vec<u8>) -> bool {
    let n = span_len(span, limits);
    let start = out.len();
    out.resize(start + n + SLACK, 0);
    let mut w = Writer::new(&mut out[start..]);
    write_span(&mut w, span, limits);
    if w.too_deep() {
        out.truncate(start);
        return false;
    }
    debug_assert!(!w.overflowed() && w.pos() == n);
    out.truncate(start + n);
    true
}

/// True when `v` nests arrays or key-value lists deeper than
/// [`MAX_VALUE_DEPTH`] (`v` itself at depth 0). Looks no deeper than that.
pub fn value_too_deep(v: &AnyValue<'_>) -> bool {
    too_deep_at(v, 0)
}

fn too_deep_at(v: &AnyValue<'_>, depth: usize) -> bool {
    match *v {
        AnyValue::Array(vs) => {
            !vs.is_empty() && (depth >= MAX_VALUE_DEPTH || vs.iter().any(|x| too_deep_at(x, depth + 1)))
        }
        AnyValue::KvList(kvs) => {
            !kvs.is_empty() && (depth >= MAX_VALUE_DEPTH || kvs.iter().any(|kv| too_deep_at(&kv.value, depth + 1)))
        }
        _ => false,
    }
}

/// `kvs` without the attributes whose values nest deeper than
/// [`MAX_VALUE_DEPTH`], and `dropped` with those added: resource and scope
/// attributes are encoded once, so they are checked and, rarely, copied.
fn shallow_attributes<'k, 'a>(kvs: &'k [KeyValue<'a>], dropped: u32) -> (Cow<'k, [KeyValue<'a>]>, u32) {
    if !kvs.iter().any(|kv| value_too_deep(&kv.value)) {
        return (Cow::Borrowed(kvs), dropped);
    }
    let kept: Vec<KeyValue<'a>> = kvs.iter().filter(|kv| !value_too_deep(&kv.value)).cloned().collect();
    let removed = u32::try_from(kvs.len() - kept.len()).unwrap_or(u32::MAX);
    (Cow::Owned(kept), dropped.saturating_add(removed))
}

// ---------------------------------------------------------------------------
// Resource and scope (encoded once, when configured).

/// Encodes a `Resource` message's content, appended to `out`. Attributes
/// whose values nest deeper than [`MAX_VALUE_DEPTH`] are dropped and counted
/// in `dropped_attributes_count`.
pub fn encode_resource(r: &Resource<'_>, out: &mut Vec<u8>) {
    let (attributes, dropped) = shallow_attributes(r.attributes, r.dropped_attributes_count);
    let n = attributes_len(&attributes, attributes.len(), usize::MAX) + opt_varint_field(dropped as u64);
    let start = out.len();
    out.resize(start + n + SLACK, 0);
    let mut w = Writer::new(&mut out[start..]);
    write_attributes(&mut w, 1, &attributes, usize::MAX);
    w.opt_varint(2, dropped as u64);
    debug_assert!(!w.overflowed() && w.pos() == n);
    out.truncate(start + n);
}

/// Encodes an `InstrumentationScope` message's content, appended to `out`;
/// attributes nested too deep are dropped and counted, as for a resource.
pub fn encode_scope(s: &Scope<'_>, out: &mut Vec<u8>) {
    let (attributes, dropped) = shallow_attributes(s.attributes, s.dropped_attributes_count);
    let n = opt_len_field(s.name.len())
        + opt_len_field(s.version.len())
        + attributes_len(&attributes, attributes.len(), usize::MAX)
        + opt_varint_field(dropped as u64);
    let start = out.len();
    out.resize(start + n + SLACK, 0);
    let mut w = Writer::new(&mut out[start..]);
    w.opt_len_bytes(1, s.name.as_bytes());
    w.opt_len_bytes(2, s.version.as_bytes());
    write_attributes(&mut w, 3, &attributes, usize::MAX);
    w.opt_varint(4, dropped as u64);
    debug_assert!(!w.overflowed() && w.pos() == n);
    out.truncate(start + n);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SpanKind;

    #[test]
    fn varint_lengths() {
        for (v, n) in [(0u64, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (u64::MAX, 10)] {
            assert_eq!(varint_len(v), n, "{v}");
        }
    }

    /// A small deterministic generator (splitmix64).
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// A length that often sits at a boundary of the fast path or a varint.
        fn len(&mut self) -> usize {
            const EDGES: [usize; 24] = [
                0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 110, 111, 112, 120, 121, 127, 128, 300,
            ];
            if self.below(2) == 0 {
                EDGES[self.below(EDGES.len() as u64) as usize]
            } else {
                self.below(48) as usize
            }
        }
    }

    const TEXT: &str = "abcdefghijklmnopqrstuvwxyz0123456789/ABCDEFGHIJKLMNOPQRSTUVWXYZ-é.";

    fn text(g: &mut Gen, store: &mut Vec<String>) -> usize {
        let n = g.len();
        let s: String = (0..n)
            .map(|_| TEXT.chars().nth(g.below(66) as usize).unwrap_or('x'))
            .collect();
        store.push(s);
        store.len() - 1
    }

    /// Owned parts of a generated span, so the views can borrow them.
    struct Parts {
        strings: Vec<String>,
        values: Vec<Vec<(usize, u64, u8)>>,
    }

    fn gen_attrs(g: &mut Gen, parts: &mut Parts, max: u64) -> usize {
        let n = g.below(max + 1);
        let mut kvs = Vec::new();
        for _ in 0..n {
            let key = text(g, &mut parts.strings);
            let kind = g.below(9) as u8;
            let v = match kind {
                0 | 1 => text(g, &mut parts.strings) as u64,
                2 => match g.below(6) {
                    0 => 0,
                    1 => g.below(128),
                    2 => g.below(1 << 14),
                    3 => g.below(1 << 28),
                    4 => (1 << 28) + g.below(1 << 30),
                    _ => g.next(), // negative or huge
                },
                _ => g.next(),
            };
            kvs.push((key, v, kind));
        }
        parts.values.push(kvs);
        parts.values.len() - 1
    }

    fn view_value<'a>(parts: &'a Parts, v: u64, kind: u8, nested: &'a [AnyValue<'a>]) -> AnyValue<'a> {
        match kind {
            0 => AnyValue::Str(&parts.strings[v as usize]),
            1 => AnyValue::Bytes(parts.strings[v as usize].as_bytes()),
            2 => AnyValue::Int(v as i64),
            3 | 4 => AnyValue::Bool(v & 1 == 1),
            5 | 6 => AnyValue::Double(f64::from_bits(v)),
            7 => AnyValue::Array(nested),
            _ => AnyValue::Int(-(v as i64 >> 3)),
        }
    }

    fn view_attrs<'a>(parts: &'a Parts, i: usize, nested: &'a [AnyValue<'a>], nest: bool) -> Vec<KeyValue<'a>> {
        parts.values[i]
            .iter()
            .map(|&(k, v, kind)| KeyValue {
                key: &parts.strings[k],
                value: if kind == 7 && !nest {
                    AnyValue::Bool(true)
                } else {
                    view_value(parts, v, kind, nested)
                },
            })
            .collect()
    }

    /// Bytes and overflow state of `f` run on a buffer of `len` bytes.
    fn run(len: usize, f: impl Fn(&mut Writer<'_>)) -> (bool, Vec<u8>) {
        let mut buf = vec![0xEEu8; len];
        let mut w = Writer::new(&mut buf);
        f(&mut w);
        let (over, pos) = (w.overflowed(), w.pos());
        (over, if over { Vec::new() } else { buf[..pos].to_vec() })
    }

    #[test]
    fn fast_path_equals_checked_path() {
        let mut g = Gen(0x0fa5);
        let nested = [AnyValue::Int(5), AnyValue::Str("x")];
        for round in 0..3000 {
            let mut parts = Parts {
                strings: Vec::new(),
                values: Vec::new(),
            };
            let nest = round % 7 == 0;
            let span_attrs = gen_attrs(&mut g, &mut parts, 12);
            let names: Vec<usize> = (0..4).map(|_| text(&mut g, &mut parts.strings)).collect();
            let event_attrs: Vec<usize> = (0..3).map(|_| gen_attrs(&mut g, &mut parts, 4)).collect();
            let link_attrs: Vec<usize> = (0..2).map(|_| gen_attrs(&mut g, &mut parts, 3)).collect();
            let ea: Vec<Vec<KeyValue<'_>>> = event_attrs
                .iter()
                .map(|&i| view_attrs(&parts, i, &nested, nest))
                .collect();
            let la: Vec<Vec<KeyValue<'_>>> = link_attrs
                .iter()
                .map(|&i| view_attrs(&parts, i, &nested, nest))
                .collect();
            let small = |g: &mut Gen| if g.below(4) == 0 { g.next() as u32 } else { 0 };
            let events: Vec<Event<'_>> = (0..g.below(4) as usize)
                .map(|i| Event {
                    time_unix_nano: if g.below(5) == 0 { 0 } else { g.next() },
                    name: if g.below(4) == 0 {
                        ""
                    } else {
                        &parts.strings[names[i % 4]]
                    },
                    attributes: &ea[i % 3],
                    dropped_attributes_count: small(&mut g),
                })
                .collect();
            let links: Vec<Link<'_>> = (0..g.below(3) as usize)
                .map(|i| Link {
                    trace_id: [g.next() as u8; 16],
                    span_id: [7; 8],
                    trace_state: if g.below(2) == 0 {
                        ""
                    } else {
                        &parts.strings[names[(i + 1) % 4]]
                    },
                    attributes: &la[i % 2],
                    dropped_attributes_count: small(&mut g),
                    flags: small(&mut g),
                })
                .collect();
            let attrs = view_attrs(&parts, span_attrs, &nested, nest);
            let span = Span {
                trace_id: [1; 16],
                span_id: [2; 8],
                trace_state: if g.below(3) == 0 { &parts.strings[names[2]] } else { "" },
                parent_span_id: if g.below(2) == 0 { Some([3; 8]) } else { None },
                flags: small(&mut g),
                name: &parts.strings[names[3]],
                kind: SpanKind::from_i32(g.below(6) as i32).unwrap_or_default(),
                start_time_unix_nano: if g.below(6) == 0 { 0 } else { g.next() },
                end_time_unix_nano: if g.below(6) == 0 { 0 } else { g.next() },
                attributes: &attrs,
                dropped_attributes_count: small(&mut g),
                events: &events,
                dropped_events_count: small(&mut g),
                links: &links,
                dropped_links_count: small(&mut g),
                status: match g.below(4) {
                    0 => Status::UNSET,
                    1 => Status::OK,
                    2 => Status::error(&parts.strings[names[0]]),
                    _ => Status::error(""),
                },
            };
            let limits = match g.below(4) {
                0 => SpanLimits::UNLIMITED,
                1 => SpanLimits::default(),
                _ => SpanLimits {
                    attribute_count: g.below(14) as u32,
                    attribute_value_length: if g.below(2) == 0 {
                        None
                    } else {
                        Some(g.below(130) as u32)
                    },
                    event_count: g.below(4) as u32,
                    link_count: g.below(3) as u32,
                    attributes_per_event: g.below(5) as u32,
                    attributes_per_link: g.below(4) as u32,
                },
            };
            let n = span_len(&span, &limits);
            let entry = len_field(n);
            let want = run(entry + SLACK, |w| write_span_entry_checked(w, &span, &limits));
            assert!(!want.0);
            assert_eq!(want.1.len(), entry);
            assert_eq!(
                run(entry + SLACK, |w| write_span_entry(w, &span, &limits)),
                want,
                "round {round}"
            );
            let content = run(n + SLACK, |w| write_span(w, &span, &limits));
            assert_eq!(content.1, want.1[entry - n..], "round {round}");
            // Every buffer length around the needed one, and a few far below.
            let lens = (entry.saturating_sub(40)..entry + SLACK + 40).chain([0, 1, 2, 3, 10, entry / 2]);
            for len in lens {
                let want = run(len, |w| write_span_entry_checked(w, &span, &limits));
                assert_eq!(
                    run(len, |w| write_span_entry(w, &span, &limits)),
                    want,
                    "round {round} len {len}"
                );
            }
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
