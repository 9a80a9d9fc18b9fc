//! The encoding floor: the least a writer from otlpx span views costs on
//! the standard batch, measured beside otlpx in `benches/encode.rs`.
//!
//! Owns: [`write_entry`], a writer for exactly the standard span's shape (the
//! field order, the 8 attribute types by position, one event with a string
//! and an int attribute, every nested length in one byte): no dispatch on
//! value types, no span limits, no bounds checks, no batcher. It writes the
//! same `ScopeSpans.spans` entry bytes as `otlpx_core` (checked by
//! `tests/standard_batch.rs`), copying keys and values with the encoder's own
//! routines (overlapping head and tail loads that stay inside the source).
//! Must not: be used by the product. It is a bound, not an encoder: it writes
//! wrong bytes for a span of another shape (never out of bounds, see
//! [`entry_bound`]).
//!
//! Why it exists: the foundation issue's target of 50 ns per span for
//! encode + enqueue sits below what this writer costs on the machine the
//! target was set on, so the benchmark reports it in the same run (see
//! `docs/PERFORMANCE.md`).

use otlpx_core::encode::floor_support::{copy_key, copy_value};
use otlpx_core::{AnyValue, KeyValue, Span};

use crate::StandardBatch;

/// Stores `N` bytes at `p`, returning `p` advanced by `N`.
///
/// # Safety
/// `p` is valid for `N` bytes of writes.
#[inline(always)]
unsafe fn put<const N: usize>(p: *mut u8, b: [u8; N]) -> *mut u8 {
    // SAFETY: as the caller's.
    unsafe {
        (p as *mut [u8; N]).write_unaligned(b);
        p.add(N)
    }
}

#[inline(always)]
fn str_of<'a>(v: &AnyValue<'a>) -> &'a [u8] {
    match *v {
        AnyValue::Str(x) => x.as_bytes(),
        _ => b"",
    }
}

#[inline(always)]
fn int_of(v: &AnyValue<'_>) -> u32 {
    match *v {
        AnyValue::Int(x) => x as u32 & 0x0fff_ffff,
        _ => 0,
    }
}

/// A string attribute: pair head, key, value head, value.
///
/// # Safety
/// `p` is valid for `8 + key + value` bytes.
#[inline(always)]
unsafe fn str_pair(p: *mut u8, field_tag: u8, kv: &KeyValue<'_>) -> *mut u8 {
    let k = kv.key.len() as u32;
    let x = str_of(&kv.value);
    let n = x.len() as u32;
    // SAFETY: 4 + k + 4 + n bytes, the caller's.
    unsafe {
        let q = copy_key(
            put(
                p,
                (field_tag as u32 | (k + n + 6) << 8 | 0x0a << 16 | k << 24).to_le_bytes(),
            ),
            kv.key.as_bytes(),
        );
        copy_value(
            put(
                q,
                0x000a_0212u32.wrapping_add(n.wrapping_mul(0x0100_0100)).to_le_bytes(),
            ),
            x,
        )
    }
}

/// An int attribute below 2^28: pair head, key, value field as one word.
///
/// # Safety
/// `p` is valid for `12 + key` bytes.
#[inline(always)]
unsafe fn int_pair(p: *mut u8, field_tag: u8, kv: &KeyValue<'_>) -> *mut u8 {
    let k = kv.key.len() as u32;
    let v = int_of(&kv.value);
    let spread = (v & 0x7f) | (v << 1) & 0x7f00 | (v << 2) & 0x7f_0000 | (v << 3) & 0x7f00_0000;
    let n = (31 - (spread | 1).leading_zeros()) / 8 + 1;
    let more = 0x0080_8080u32 >> (8 * (4 - n));
    // SAFETY: 4 + k + 8 bytes, the caller's.
    unsafe {
        let q = copy_key(
            put(
                p,
                (field_tag as u32 | (k + 5 + n) << 8 | 0x0a << 16 | k << 24).to_le_bytes(),
            ),
            kv.key.as_bytes(),
        );
        let value = 0x12u64 | (1 + n as u64) << 8 | 0x18 << 16 | ((spread | more) as u64) << 24;
        put(q, value.to_le_bytes()).sub(5 - n as usize)
    }
}

/// The most bytes [`write_entry`] writes for `span` (whatever its shape).
pub fn entry_bound(span: &Span<'_>) -> usize {
    let kv_bytes = |kvs: &[KeyValue<'_>]| -> usize {
        kvs.iter()
            .take(8)
            .map(|kv| kv.key.len() + str_of(&kv.value).len() + 16)
            .sum()
    };
    let event = span
        .events
        .first()
        .map_or(0, |e| e.name.len() + kv_bytes(e.attributes) + 16);
    128 + span.name.len() + kv_bytes(span.attributes) + event
}

/// True when `span` has the standard batch's shape (its fields, the types
/// and counts of its attributes and event). With every nested length under
/// 128 bytes, as in the standard batch, [`write_entry`] then writes the
/// bytes otlpx writes.
pub fn is_standard_shape(span: &Span<'_>) -> bool {
    use AnyValue::{Bool, Double, Int, Str};
    let a = span.attributes;
    let types = a.len() == 8
        && matches!(
            (&a[0].value, &a[1].value, &a[2].value, &a[3].value),
            (Str(_), Str(_), Str(_), Str(_))
        )
        && matches!(
            (&a[4].value, &a[5].value, &a[6].value, &a[7].value),
            (Int(_), Int(_), Bool(_), Double(_))
        );
    let event = span.events.len() == 1
        && matches!(
            span.events[0].attributes,
            [KeyValue { value: Str(_), .. }, KeyValue { value: Int(_), .. }]
        );
    types && event && span.trace_state.is_empty() && span.links.is_empty() && span.parent_span_id.is_some()
}

/// Writes the `ScopeSpans.spans` entry of a standard-shape span at `out`
/// (tag, two-byte length, content) and returns its length.
///
/// # Safety
/// `out` is valid for [`entry_bound`]`(span)` bytes of writes.
#[inline(never)]
pub unsafe fn write_entry(out: *mut u8, span: &Span<'_>) -> usize {
    let (Some(a), Some(e)) = (span.attributes.first_chunk::<8>(), span.events.first()) else {
        return 0;
    };
    let Some(ea) = e.attributes.first_chunk::<2>() else {
        return 0;
    };
    // SAFETY: every section below writes at most what `entry_bound` counts
    // for it, inside the caller's `out`.
    unsafe {
        let start = out.add(3);
        let mut q = put(put(start, [0x0a, 16]), span.trace_id);
        q = put(put(q, [0x12, 8]), span.span_id);
        q = put(put(q, [0x22, 8]), span.parent_span_id.unwrap_or_default());
        q = copy_value(put(q, [0x2a, span.name.len() as u8]), span.name.as_bytes());
        q = put(q, [0x30, span.kind as u8, 0x39]);
        q = put(q, span.start_time_unix_nano.to_le_bytes());
        q = put(q, [0x41]);
        q = put(q, span.end_time_unix_nano.to_le_bytes());
        q = str_pair(q, 0x4a, &a[0]);
        q = str_pair(q, 0x4a, &a[1]);
        q = str_pair(q, 0x4a, &a[2]);
        q = str_pair(q, 0x4a, &a[3]);
        q = int_pair(q, 0x4a, &a[4]);
        q = int_pair(q, 0x4a, &a[5]);
        let k = a[6].key.len() as u32;
        let b = matches!(a[6].value, AnyValue::Bool(true)) as u8;
        q = copy_key(
            put(q, (0x4a | (k + 6) << 8 | 0x0a << 16 | k << 24).to_le_bytes()),
            a[6].key.as_bytes(),
        );
        q = put(q, [0x12, 2, 0x10, b]);
        let k = a[7].key.len() as u32;
        let d = match a[7].value {
            AnyValue::Double(d) => d,
            _ => 0.0,
        };
        q = copy_key(
            put(q, (0x4a | (k + 13) << 8 | 0x0a << 16 | k << 24).to_le_bytes()),
            a[7].key.as_bytes(),
        );
        q = put(put(q, [0x12, 9, 0x21]), d.to_bits().to_le_bytes());
        let event = put(q, [0x5a, 0]);
        let mut r = put(put(event, [0x09]), e.time_unix_nano.to_le_bytes());
        r = copy_value(put(r, [0x12, e.name.len() as u8]), e.name.as_bytes());
        r = str_pair(r, 0x1a, &ea[0]);
        r = int_pair(r, 0x1a, &ea[1]);
        *event.sub(1) = (r as usize - event as usize) as u8;
        // Status OK, then the flags (fixed32, field 16).
        q = put(r, [0x7a, 2, 0x18, span.status.code as u8, 0x85, 0x01]);
        q = put(q, span.flags.to_le_bytes());
        let len = q as usize - start as usize;
        put(out, [0x12, len as u8 | 0x80, (len >> 7) as u8]);
        3 + len
    }
}

/// Bytes that hold every span of `batch` at its [`entry_bound`].
///
/// # Panics
/// If a span of the batch is not of the standard shape.
pub fn batch_room(batch: &StandardBatch) -> usize {
    let mut room = 0;
    batch.for_each_span(|s| {
        assert!(is_standard_shape(s), "the standard batch has the standard shape");
        room += entry_bound(s);
    });
    room
}

/// Writes the entries of every span of `batch`, each view built as
/// [`StandardBatch::for_each_span`] builds it, from `out`; returns the bytes written.
///
/// # Safety
/// `out` is valid for [`batch_room`]`(batch)` bytes of writes.
#[inline]
pub unsafe fn write_batch(out: *mut u8, batch: &StandardBatch) -> usize {
    let mut pos = 0;
    // SAFETY: each span's entry fits its `entry_bound` after the entries before it.
    batch.for_each_span(|s| pos += unsafe { write_entry(out.add(pos), s) });
    pos
}

/// [`write_batch`] from views built beforehand ([`StandardBatch::with_prebuilt_views`]).
///
/// # Safety
/// `out` is valid for the sum of [`entry_bound`] over `views` bytes of writes.
#[inline]
pub unsafe fn write_views(out: *mut u8, views: &[Span<'_>]) -> usize {
    let mut pos = 0;
    for s in views {
        // SAFETY: as the caller's, span by span.
        pos += unsafe { write_entry(out.add(pos), s) };
    }
    pos
}

/// The span entries of the whole batch, as [`write_entry`] writes them.
pub fn batch_entries(batch: &StandardBatch) -> Vec<u8> {
    let mut buf = vec![0u8; batch_room(batch)];
    // SAFETY: `buf` holds `batch_room` bytes.
    let written = unsafe { write_batch(buf.as_mut_ptr(), batch) };
    buf.truncate(written);
    buf
}
