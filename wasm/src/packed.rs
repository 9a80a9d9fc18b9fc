//! The packed span format: how the JS layer hands a span (or a scope, or a
//! span's parent) to the wasm side in one flat buffer, and its reader into
//! otlpx-core's borrowed model views.
//!
//! Owns: the byte layout (written by `wasm/js/pack.js`; the two must agree)
//! and its bounds-checked reader. Strings and bytes are borrowed from the
//! buffer; attribute, event and link slices are allocated in a bump arena
//! that the caller resets per span, so recording a span does not touch the
//! allocator once warm.
//! Must not: panic or trust a length on any input (a short or malformed
//! buffer reads as invalid), or know about wasm-bindgen.
//!
//! Layout (little-endian; `str` = `u32` byte length + UTF-8, or `u32`
//! [`INTERNED`] | index of a string registered with `Core.intern`; `u64` = two
//! `u32`, low word first; `attrs` = `u32` count + (`str` key, value) pairs):
//! ```text
//! span:  u64 start | u64 end | u32 scope | [16] trace id | [8] span id
//!        | u8 has parent | [8] parent | u32 flags | u8 kind | str name | str trace state
//!        | attrs | u32 dropped attrs
//!        | u32 events, each: u64 time | str name | attrs | u32 dropped
//!        | u32 dropped events
//!        | u32 links, each: [16] | [8] | str trace state | attrs | u32 dropped | u32 flags
//!        | u32 dropped links | u8 status code | str status message
//! value: u8 tag, then 1 str | 2 u8 bool | 3 i64 (as u64) | 4 f64 | 5 u32 len + bytes
//!        | 6 u32 count + values (array) | 7 attrs (kvlist)
//! scope: str name | str version | attrs | u32 dropped | str schema url
//! ```

use bumpalo::Bump;
use otlpx_core::{AnyValue, Event, KeyValue, Link, Scope, Span, SpanKind, Status, StatusCode};

/// The bit of a `str` length word that makes it an index into the interned
/// strings (attribute keys and span names, which repeat from span to span,
/// are packed as 4 bytes).
pub const INTERNED: u32 = 1 << 31;

/// Deepest nesting of arrays and kvlists accepted: core's limit (pack.js
/// checks the same number before packing).
pub const MAX_DEPTH: u32 = otlpx_core::encode::MAX_VALUE_DEPTH as u32;

/// Value tags.
pub const TAG_STR: u8 = 1;
/// Boolean.
pub const TAG_BOOL: u8 = 2;
/// int64.
pub const TAG_INT: u8 = 3;
/// double.
pub const TAG_DOUBLE: u8 = 4;
/// bytes.
pub const TAG_BYTES: u8 = 5;
/// array.
pub const TAG_ARRAY: u8 = 6;
/// kvlist.
pub const TAG_KVLIST: u8 = 7;

/// A bounds-checked cursor. After any failed read, `bad` is set and every
/// later read returns zero or empty.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    bad: bool,
    strings: &'a [Box<str>],
}

impl<'a> Reader<'a> {
    /// Reads `buf` from the start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self::with_strings(buf, &[])
    }

    /// Reads `buf` from the start; interned `str`s index `strings`.
    pub fn with_strings(buf: &'a [u8], strings: &'a [Box<str>]) -> Self {
        Reader {
            buf,
            pos: 0,
            bad: false,
            strings,
        }
    }

    /// True when a read ran past the end or found invalid data.
    pub fn is_bad(&self) -> bool {
        self.bad
    }

    /// True when every byte was read and nothing was bad.
    pub fn finished_ok(&self) -> bool {
        !self.bad && self.pos == self.buf.len()
    }

    fn fail(&mut self) {
        self.bad = true;
        self.pos = self.buf.len();
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes.
    #[inline(always)]
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(b) => {
                self.pos += n;
                b
            }
            None => {
                self.fail();
                &[]
            }
        }
    }

    /// The next `N` bytes as an array; zeros after a failed read. Reads the
    /// bytes in place: a `copy_from_slice` here becomes a `memory.copy` call
    /// per field in the size-optimised wasm build, which was half of `record`.
    #[inline]
    fn array<const N: usize>(&mut self) -> [u8; N] {
        match self.buf.get(self.pos..).and_then(|rest| rest.first_chunk::<N>()) {
            Some(a) => {
                self.pos += N;
                *a
            }
            None => {
                self.fail();
                [0; N]
            }
        }
    }

    /// A byte.
    #[inline(always)]
    pub fn u8(&mut self) -> u8 {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => {
                self.fail();
                0
            }
        }
    }

    /// A little-endian u32.
    #[inline(always)]
    pub fn u32(&mut self) -> u32 {
        self.u32_inline()
    }

    /// [`Reader::u32`], inlined: for the per-string and per-attribute reads
    /// only (inlining every read costs the wasm module too much size).
    #[inline(always)]
    fn u32_inline(&mut self) -> u32 {
        match self.buf.get(self.pos..).and_then(|rest| rest.first_chunk::<4>()) {
            Some(a) => {
                self.pos += 4;
                u32::from_le_bytes(*a)
            }
            None => {
                self.fail();
                0
            }
        }
    }

    /// A u64 as two little-endian u32 words, low first.
    #[inline(always)]
    pub fn u64(&mut self) -> u64 {
        let lo = u64::from(self.u32());
        let hi = u64::from(self.u32());
        (hi << 32) | lo
    }

    /// A little-endian f64.
    pub fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.array())
    }

    /// A length-prefixed UTF-8 string.
    #[inline(always)]
    pub fn str(&mut self) -> &'a str {
        let n = self.u32_inline();
        if n & INTERNED != 0 {
            return match self.strings.get((n & !INTERNED) as usize) {
                Some(s) => s,
                None => {
                    self.fail();
                    ""
                }
            };
        }
        if n == 0 {
            return ""; // trace state and status message, mostly: no call to validate nothing
        }
        let b = self.bytes(n as usize);
        match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(_) => {
                self.fail();
                ""
            }
        }
    }

    /// 16 bytes.
    pub fn id16(&mut self) -> [u8; 16] {
        self.array()
    }

    /// 8 bytes.
    pub fn id8(&mut self) -> [u8; 8] {
        self.array()
    }

    /// A count that cannot exceed what is left (each item takes at least `min_item` bytes).
    #[inline(always)]
    fn count(&mut self, min_item: usize) -> usize {
        let n = self.u32_inline() as usize;
        if n.saturating_mul(min_item) > self.remaining() {
            self.fail();
            return 0;
        }
        n
    }

    /// One `AnyValue`: strings and numbers read inline, the rest by
    /// [`Reader::other_value`].
    #[inline(always)]
    pub fn value(&mut self, bump: &'a Bump, depth: u32) -> AnyValue<'a> {
        if depth > MAX_DEPTH {
            self.fail();
            return AnyValue::Bool(false);
        }
        match self.u8() {
            TAG_STR => AnyValue::Str(self.str()),
            TAG_INT => AnyValue::Int(self.u64() as i64),
            tag => self.other_value(tag, bump, depth),
        }
    }

    /// An `AnyValue` of tag `tag`, which [`Reader::value`] did not read
    /// itself (not a string, not an int).
    #[inline(never)]
    fn other_value(&mut self, tag: u8, bump: &'a Bump, depth: u32) -> AnyValue<'a> {
        match tag {
            TAG_BOOL => AnyValue::Bool(self.u8() != 0),
            TAG_DOUBLE => AnyValue::Double(self.f64()),
            TAG_BYTES => {
                let n = self.u32() as usize;
                AnyValue::Bytes(self.bytes(n))
            }
            TAG_ARRAY => {
                let n = self.count(1);
                AnyValue::Array(bump.alloc_slice_fill_with(n, |_| self.value(bump, depth + 1)))
            }
            TAG_KVLIST => AnyValue::KvList(self.attrs(bump, depth + 1)),
            _ => {
                self.fail();
                AnyValue::Bool(false)
            }
        }
    }

    /// A list of attributes.
    pub fn attrs(&mut self, bump: &'a Bump, depth: u32) -> &'a [KeyValue<'a>] {
        let n = self.count(5);
        if n == 0 {
            return &[];
        }
        bump.alloc_slice_fill_with(n, |_| {
            let key = self.str();
            let value = self.value(bump, depth);
            KeyValue { key, value }
        })
    }
}

/// A span and the scope index it was recorded under; `None` when malformed.
pub fn read_span<'a>(buf: &'a [u8], bump: &'a Bump, strings: &'a [Box<str>]) -> Option<(u32, Span<'a>)> {
    let mut r = Reader::with_strings(buf, strings);
    // The times come first: at offsets 0 and 8 of the 8-aligned scratch
    // buffer, pack.js stores them through a BigUint64Array (a DataView's
    // setBigUint64 is a builtin call, four times slower).
    let start = r.u64();
    let end = r.u64();
    let scope = r.u32();
    let trace_id = r.id16();
    let span_id = r.id8();
    let has_parent = r.u8() != 0;
    let parent = r.id8();
    let flags = r.u32();
    let kind = SpanKind::from_i32(i32::from(r.u8()));
    let name = r.str();
    let trace_state = r.str();
    let attributes = r.attrs(bump, 0);
    let dropped_attributes_count = r.u32();
    let n_events = r.count(16);
    let events: &[Event<'_>] = if n_events == 0 {
        &[]
    } else {
        bump.alloc_slice_fill_with(n_events, |_| Event {
            time_unix_nano: r.u64(),
            name: r.str(),
            attributes: r.attrs(bump, 0),
            dropped_attributes_count: r.u32(),
        })
    };
    let dropped_events_count = r.u32();
    let n_links = r.count(36);
    let links: &[Link<'_>] = if n_links == 0 {
        &[]
    } else {
        bump.alloc_slice_fill_with(n_links, |_| Link {
            trace_id: r.id16(),
            span_id: r.id8(),
            trace_state: r.str(),
            attributes: r.attrs(bump, 0),
            dropped_attributes_count: r.u32(),
            flags: r.u32(),
        })
    };
    let dropped_links_count = r.u32();
    let code = StatusCode::from_i32(i32::from(r.u8()));
    let message = r.str();
    let (Some(kind), Some(code)) = (kind, code) else {
        return None;
    };
    if !r.finished_ok() {
        return None;
    }
    Some((
        scope,
        Span {
            trace_id,
            span_id,
            trace_state,
            parent_span_id: has_parent.then_some(parent),
            flags,
            name,
            kind,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            dropped_attributes_count,
            events,
            dropped_events_count,
            links,
            dropped_links_count,
            status: Status { code, message },
        },
    ))
}

/// A scope; `None` when malformed.
pub fn read_scope<'a>(buf: &'a [u8], bump: &'a Bump, strings: &'a [Box<str>]) -> Option<Scope<'a>> {
    let mut r = Reader::with_strings(buf, strings);
    let scope = Scope {
        name: r.str(),
        version: r.str(),
        attributes: r.attrs(bump, 0),
        dropped_attributes_count: r.u32(),
        schema_url: r.str(),
    };
    r.finished_ok().then_some(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct W(Vec<u8>);
    impl W {
        fn u8(&mut self, v: u8) -> &mut Self {
            self.0.push(v);
            self
        }
        fn u32(&mut self, v: u32) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn u64(&mut self, v: u64) -> &mut Self {
            self.u32(v as u32).u32((v >> 32) as u32)
        }
        fn str(&mut self, s: &str) -> &mut Self {
            self.u32(s.len() as u32);
            self.0.extend_from_slice(s.as_bytes());
            self
        }
    }

    fn span_bytes(attrs: impl FnOnce(&mut W)) -> Vec<u8> {
        let mut w = W(Vec::new());
        w.u64(10).u64(u64::MAX).u32(0);
        w.0.extend_from_slice(&[1; 16]);
        w.0.extend_from_slice(&[2; 8]);
        w.u8(1);
        w.0.extend_from_slice(&[3; 8]);
        w.u32(0x301).u8(2).str("name").str("a=b");
        attrs(&mut w);
        w.u32(7); // dropped attrs
        w.u32(1).u64(11).str("ev").u32(0).u32(0); // one event, no attrs
        w.u32(0); // dropped events
        w.u32(0).u32(0); // no links
        w.u8(2).str("bad");
        w.0
    }

    #[test]
    fn interned_strings_are_read_by_index() {
        let strings: Vec<Box<str>> = vec!["http.route".into(), "server.port".into()];
        let buf = span_bytes(|w| {
            w.u32(2);
            w.u32(INTERNED | 1).u8(TAG_INT).u64(443);
            w.u32(INTERNED).u8(TAG_STR).str("/a");
        });
        let bump = Bump::new();
        let (_, s) = read_span(&buf, &bump, &strings).expect("valid");
        assert_eq!(s.attributes[0].key, "server.port");
        assert_eq!(s.attributes[1].key, "http.route");
        // An index past the table makes the span invalid, never a panic.
        let bad = span_bytes(|w| {
            w.u32(1);
            w.u32(INTERNED | 2).u8(TAG_BOOL).u8(1);
        });
        assert!(read_span(&bad, &bump, &strings).is_none());
        assert!(read_span(&buf, &bump, &[]).is_none());
    }

    #[test]
    fn reads_a_span_with_nested_values() {
        let buf = span_bytes(|w| {
            w.u32(3);
            w.str("s").u8(TAG_STR).str("é");
            w.str("arr")
                .u8(TAG_ARRAY)
                .u32(2)
                .u8(TAG_INT)
                .u64(-5i64 as u64)
                .u8(TAG_KVLIST)
                .u32(1);
            w.str("k").u8(TAG_BYTES).u32(2).u8(0).u8(255);
            w.str("d").u8(TAG_DOUBLE);
            w.0.extend_from_slice(&1.5f64.to_le_bytes());
        });
        let bump = Bump::new();
        let (scope, s) = read_span(&buf, &bump, &[]).expect("valid");
        assert_eq!(scope, 0);
        assert_eq!(s.parent_span_id, Some([3; 8]));
        assert_eq!(s.end_time_unix_nano, u64::MAX);
        assert_eq!(s.kind, SpanKind::Server);
        assert_eq!(s.attributes.len(), 3);
        let AnyValue::Array(a) = s.attributes[1].value else {
            panic!("array expected")
        };
        assert_eq!(a[0], AnyValue::Int(-5));
        let AnyValue::KvList(kv) = a[1] else {
            panic!("kvlist expected")
        };
        assert_eq!(kv[0].value, AnyValue::Bytes(&[0, 255]));
        assert_eq!(s.attributes[2].value, AnyValue::Double(1.5));
        assert_eq!(s.events[0].name, "ev");
        assert_eq!(s.status.code, StatusCode::Error);
        assert_eq!(s.dropped_attributes_count, 7);
    }

    #[test]
    fn every_truncation_is_rejected() {
        let buf = span_bytes(|w| {
            w.u32(1).str("k").u8(TAG_ARRAY).u32(1).u8(TAG_STR).str("v");
        });
        let bump = Bump::new();
        assert!(read_span(&buf, &bump, &[]).is_some());
        for n in 0..buf.len() {
            assert!(read_span(&buf[..n], &bump, &[]).is_none(), "prefix {n}");
        }
        let mut long = buf.clone();
        long.push(0);
        assert!(read_span(&long, &bump, &[]).is_none());
    }

    #[test]
    fn huge_counts_and_deep_nesting_are_rejected() {
        let buf = span_bytes(|w| {
            w.u32(u32::MAX);
        });
        let bump = Bump::new();
        assert!(read_span(&buf, &bump, &[]).is_none());
        let deep = span_bytes(|w| {
            w.u32(1).str("k");
            for _ in 0..100 {
                w.u8(TAG_ARRAY).u32(1);
            }
            w.u8(TAG_BOOL).u8(1);
        });
        assert!(read_span(&deep, &bump, &[]).is_none());
    }
}
