//! The packed shapes of a span for `otlpx_exporter_record_packed`, and their
//! checked conversion into core's borrowed model.
//!
//! A packed span holds no pointers: every string and byte value is an
//! (offset, length) into one data buffer, nested values and event or link
//! attributes are index ranges into one `nested` array. That suits bindings
//! whose memory rules forbid pointers inside what they hand to C (Go's cgo:
//! Go memory passed to C must not hold Go pointers), and lets the whole data
//! buffer be checked as UTF-8 in one pass instead of string by string.
//!
//! Owns: the `#[repr(C)]` packed structs of `otlpx.h` and their conversion.
//! Must not: copy string data (core borrows it from the data buffer), trust
//! an offset, length or index (each is range-checked: a bad one is
//! `OTLPX_RESULT_INVALID_ARGUMENT`), or apply span limits beyond not
//! converting what core would cut anyway (counted as core would count them).

use bumpalo::Bump;
use otlpx_core::{AnyValue, Event, KeyValue, Link, Span, SpanLimits, Status};

use crate::otlpx_result;
use crate::value::{limited, otlpx_value_kind, span_kind, status_code, Budget, MAX_DEPTH};

/// A string (or bytes) of a packed span: `len` bytes at `offset` in the data buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_packed_str {
    /// Byte offset in the data buffer.
    pub offset: u32,
    /// Bytes.
    pub len: u32,
}

/// A value of a packed span (OTLP `AnyValue`), by `kind` (an `otlpx_value_kind`):
///  - `STRING`, `BYTES`: `len` bytes at offset `bits` in the data buffer;
///  - `BOOL`: `bits` 0 is false, anything else true;
///  - `INT`: `bits` is the int64's two's complement;
///  - `DOUBLE`: `bits` is the double's IEEE 754 bits;
///  - `ARRAY`, `KVLIST`: `len` elements of the `nested` array from index
///    `bits` (an array ignores the elements' keys). Nesting may go 32 levels deep.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_packed_value {
    /// An `otlpx_value_kind`.
    pub kind: u32,
    /// Bytes of a string or byte value, elements of an array or key-value list.
    pub len: u32,
    /// The value, or its offset or first index (see above).
    pub bits: u64,
}

/// A key-value pair of a packed span.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_packed_attribute {
    /// The key, UTF-8.
    pub key: otlpx_packed_str,
    /// The value.
    pub value: otlpx_packed_value,
}

/// An event of a packed span; its attributes are `attributes_len` elements
/// of the `nested` array from index `attributes_first`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_packed_event {
    /// The event name, UTF-8.
    pub name: otlpx_packed_str,
    /// When it happened, Unix nanoseconds.
    pub time_unix_nano: u64,
    /// Index of its first attribute in `nested`.
    pub attributes_first: u32,
    /// Its number of attributes.
    pub attributes_len: u32,
    /// Attributes the host already dropped.
    pub dropped_attributes_count: u32,
}

/// A link of a packed span; its attributes are `attributes_len` elements of
/// the `nested` array from index `attributes_first`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_packed_link {
    /// The linked span's trace id.
    pub trace_id: [u8; 16],
    /// The linked span's id.
    pub span_id: [u8; 8],
    /// The linked span's W3C trace state, UTF-8.
    pub trace_state: otlpx_packed_str,
    /// Index of its first attribute in `nested`.
    pub attributes_first: u32,
    /// Its number of attributes.
    pub attributes_len: u32,
    /// Attributes the host already dropped.
    pub dropped_attributes_count: u32,
    /// OTLP link flags (W3C trace flags in bits 0-7, is-remote bits 8-9).
    pub flags: u32,
}

/// The fixed part of a packed span (`otlpx_exporter_record_packed`). Fields
/// as `otlpx_span_data`; strings are in the data buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_packed_span {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// The span id.
    pub span_id: [u8; 8],
    /// The parent span id; all zero for a root span.
    pub parent_span_id: [u8; 8],
    /// OTLP span flags (W3C trace flags in bits 0-7, is-remote bits 8-9).
    pub flags: u32,
    /// An `otlpx_span_kind`.
    pub kind: u32,
    /// Start, Unix nanoseconds.
    pub start_time_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_time_unix_nano: u64,
    /// The span name, UTF-8.
    pub name: otlpx_packed_str,
    /// The W3C trace state, UTF-8.
    pub trace_state: otlpx_packed_str,
    /// The status message, UTF-8.
    pub status_message: otlpx_packed_str,
    /// An `otlpx_status_code`.
    pub status_code: u32,
    /// Attributes the host already dropped.
    pub dropped_attributes_count: u32,
    /// Events the host already dropped.
    pub dropped_events_count: u32,
    /// Links the host already dropped.
    pub dropped_links_count: u32,
}

/// The arrays of a packed span, borrowed for the call.
pub(crate) struct Packed<'b> {
    pub(crate) span: &'b otlpx_packed_span,
    pub(crate) attributes: &'b [otlpx_packed_attribute],
    pub(crate) nested: &'b [otlpx_packed_attribute],
    pub(crate) events: &'b [otlpx_packed_event],
    pub(crate) links: &'b [otlpx_packed_link],
    pub(crate) data: &'b [u8],
}

/// The data buffer, checked as UTF-8 once when it all is (then each string
/// costs a range and two char-boundary checks), string by string otherwise
/// (a buffer that also holds byte values, or an invalid string).
struct Data<'b> {
    bytes: &'b [u8],
    text: Option<&'b str>,
}

impl<'b> Data<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        Data {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    #[inline]
    fn bytes(&self, offset: u64, len: u32) -> Result<&'b [u8], otlpx_result> {
        Ok(&self.bytes[checked_range(self.bytes.len(), offset, len)?])
    }

    #[inline]
    fn str_at(&self, offset: u64, len: u32) -> Result<&'b str, otlpx_result> {
        if len == 0 {
            return Ok("");
        }
        let r = checked_range(self.bytes.len(), offset, len)?;
        match self.text {
            // Valid as a whole: a piece is valid iff it starts and ends on char boundaries.
            Some(t) => t.get(r).ok_or(otlpx_result::InvalidUtf8),
            None => crate::utf8(&self.bytes[r]),
        }
    }

    #[inline]
    fn str(&self, s: otlpx_packed_str) -> Result<&'b str, otlpx_result> {
        self.str_at(u64::from(s.offset), s.len)
    }
}

/// `len` items from `first` of something `total` long, or
/// `OTLPX_RESULT_INVALID_ARGUMENT` when they do not fit.
#[inline]
fn checked_range(total: usize, first: u64, len: u32) -> Result<std::ops::Range<usize>, otlpx_result> {
    let start = usize::try_from(first).map_err(|_| otlpx_result::InvalidArgument)?;
    let end = start
        .checked_add(len as usize)
        .filter(|&e| e <= total)
        .ok_or(otlpx_result::InvalidArgument)?;
    Ok(start..end)
}

/// A range of `nested`.
fn nested_range(
    nested: &[otlpx_packed_attribute],
    first: u64,
    len: u32,
) -> Result<&[otlpx_packed_attribute], otlpx_result> {
    Ok(&nested[checked_range(nested.len(), first, len)?])
}

struct Conv<'b, 'x> {
    bump: &'b Bump,
    data: Data<'b>,
    nested: &'b [otlpx_packed_attribute],
    budget: &'x mut Budget,
}

impl<'b> Conv<'b, '_> {
    /// Converts a value into `out`: scalars inline (the common case, kept
    /// outside the recursion so that it inlines, and written in place: a
    /// returned `AnyValue` would be copied through the stack byte-wise, a
    /// store-forwarding stall per value), the rest out of line.
    #[inline(always)]
    fn value_into(&mut self, out: &mut AnyValue<'b>, v: &otlpx_packed_value, depth: u32) -> Result<(), otlpx_result> {
        const STRING: u32 = otlpx_value_kind::String as u32;
        const BOOL: u32 = otlpx_value_kind::Bool as u32;
        const INT: u32 = otlpx_value_kind::Int as u32;
        const DOUBLE: u32 = otlpx_value_kind::Double as u32;
        const BYTES: u32 = otlpx_value_kind::Bytes as u32;
        self.budget.take(1)?;
        // One write per arm, each returning: a shared tail would merge the
        // variants through the stack.
        match v.kind {
            STRING => {
                let s = self.data.str_at(v.bits, v.len)?;
                *out = AnyValue::Str(s);
                Ok(())
            }
            INT => {
                *out = AnyValue::Int(v.bits as i64);
                Ok(())
            }
            DOUBLE => {
                *out = AnyValue::Double(f64::from_bits(v.bits));
                Ok(())
            }
            BOOL => {
                *out = AnyValue::Bool(v.bits != 0);
                Ok(())
            }
            BYTES => {
                let b = self.data.bytes(v.bits, v.len)?;
                *out = AnyValue::Bytes(b);
                Ok(())
            }
            _ => {
                *out = self.nested_value(v, depth)?;
                Ok(())
            }
        }
    }

    /// An array element (out of line: `value_into` inlines into its callers).
    #[inline(never)]
    fn element(&mut self, out: &mut AnyValue<'b>, v: &otlpx_packed_value, depth: u32) -> Result<(), otlpx_result> {
        self.value_into(out, v, depth)
    }

    /// Converts an array or a key-value list (anything else is invalid).
    #[inline(never)]
    fn nested_value(&mut self, v: &otlpx_packed_value, depth: u32) -> Result<AnyValue<'b>, otlpx_result> {
        let array = v.kind == otlpx_value_kind::Array as u32;
        if !array && v.kind != otlpx_value_kind::Kvlist as u32 {
            return Err(otlpx_result::InvalidArgument);
        }
        if depth >= MAX_DEPTH {
            return Err(otlpx_result::InvalidArgument);
        }
        let src = nested_range(self.nested, v.bits, v.len)?;
        if array {
            self.budget.take(src.len())?;
            let out = self.bump.alloc_slice_fill_copy(src.len(), AnyValue::Bool(false));
            for (o, s) in out.iter_mut().zip(src) {
                self.element(o, &s.value, depth + 1)?;
            }
            Ok(AnyValue::Array(out))
        } else {
            Ok(AnyValue::KvList(self.nested_key_values(src, depth + 1)?))
        }
    }

    /// A key-value list value (out of line, as `element`).
    #[inline(never)]
    fn nested_key_values(
        &mut self,
        src: &[otlpx_packed_attribute],
        depth: u32,
    ) -> Result<&'b [KeyValue<'b>], otlpx_result> {
        self.key_values(src, depth)
    }

    #[inline(always)]
    fn key_values(&mut self, src: &[otlpx_packed_attribute], depth: u32) -> Result<&'b [KeyValue<'b>], otlpx_result> {
        self.budget.take(src.len())?;
        let out = self.bump.alloc_slice_fill_copy(src.len(), KeyValue::new("", false));
        for (o, s) in out.iter_mut().zip(src) {
            o.key = self.data.str(s.key)?;
            self.value_into(&mut o.value, &s.value, depth)?;
        }
        Ok(out)
    }

    /// The first `keep` of `src`, with the rest added to `dropped`.
    fn limited_attributes(
        &mut self,
        src: &[otlpx_packed_attribute],
        keep: u32,
        dropped: u32,
    ) -> Result<(&'b [KeyValue<'b>], u32), otlpx_result> {
        let (kept, dropped) = limited(src, keep, dropped);
        Ok((self.key_values(kept, 0)?, dropped))
    }
}

/// Converts a packed span.
pub(crate) fn span<'b>(bump: &'b Bump, p: &Packed<'b>, limits: &SpanLimits) -> Result<Span<'b>, otlpx_result> {
    let mut budget = Budget::new();
    let mut c = Conv {
        bump,
        data: Data::new(p.data),
        nested: p.nested,
        budget: &mut budget,
    };
    let s = p.span;
    let (attributes, dropped_attributes_count) =
        c.limited_attributes(p.attributes, limits.attribute_count, s.dropped_attributes_count)?;
    let (events_src, dropped_events_count) = limited(p.events, limits.event_count, s.dropped_events_count);
    c.budget.take(events_src.len())?;
    let events = bump.alloc_slice_fill_copy(events_src.len(), Event::default());
    for (o, e) in events.iter_mut().zip(events_src) {
        let src = nested_range(p.nested, u64::from(e.attributes_first), e.attributes_len)?;
        let (attributes, dropped_attributes_count) =
            c.limited_attributes(src, limits.attributes_per_event, e.dropped_attributes_count)?;
        *o = Event {
            time_unix_nano: e.time_unix_nano,
            name: c.data.str(e.name)?,
            attributes,
            dropped_attributes_count,
        };
    }
    let (links_src, dropped_links_count) = limited(p.links, limits.link_count, s.dropped_links_count);
    c.budget.take(links_src.len())?;
    let links = bump.alloc_slice_fill_copy(links_src.len(), Link::default());
    for (o, l) in links.iter_mut().zip(links_src) {
        let src = nested_range(p.nested, u64::from(l.attributes_first), l.attributes_len)?;
        let (attributes, dropped_attributes_count) =
            c.limited_attributes(src, limits.attributes_per_link, l.dropped_attributes_count)?;
        *o = Link {
            trace_id: l.trace_id,
            span_id: l.span_id,
            trace_state: c.data.str(l.trace_state)?,
            attributes,
            dropped_attributes_count,
            flags: l.flags,
        };
    }
    Ok(Span {
        trace_id: s.trace_id,
        span_id: s.span_id,
        trace_state: c.data.str(s.trace_state)?,
        parent_span_id: (s.parent_span_id != [0; 8]).then_some(s.parent_span_id),
        flags: s.flags,
        name: c.data.str(s.name)?,
        kind: span_kind(s.kind)?,
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes,
        dropped_attributes_count,
        events,
        dropped_events_count,
        links,
        dropped_links_count,
        status: Status {
            code: status_code(s.status_code)?,
            message: c.data.str(s.status_message)?,
        },
    })
}
