//! The C shapes of a span (values, attributes, events, links, scope, span)
//! and their checked conversion into core's borrowed model.
//!
//! Owns: the `#[repr(C)]` structs of `otlpx.h` that describe span data, and
//! the per-thread scratch arena the conversion uses (so converting a span
//! allocates nothing on the heap in steady state).
//! Must not: copy string data (core borrows it), apply span limits itself
//! beyond not converting what core would cut anyway (the counts it skips are
//! added to the dropped counts exactly as core would count them).

use std::cell::RefCell;
use std::os::raw::c_char;

use bumpalo::Bump;
use otlpx_core::{AnyValue, Event, KeyValue, Link, Scope, Span, SpanKind, SpanLimits, Status, StatusCode};

use crate::{otlpx_result, slice_arg, str_arg};

/// The type of an [`otlpx_value`] (`otlpx_value.kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_value_kind {
    /// A UTF-8 string: `ptr` (`const char *`) and `len` bytes.
    String = 1,
    /// A boolean: `int_value` (0 is false, anything else true).
    Bool = 2,
    /// A signed 64-bit integer: `int_value`.
    Int = 3,
    /// A double: `double_value`.
    Double = 4,
    /// Bytes: `ptr` (`const uint8_t *`) and `len` bytes.
    Bytes = 5,
    /// An array of values: `ptr` (`const otlpx_value *`) and `len` elements.
    Array = 6,
    /// A list of key-values: `ptr` (`const otlpx_attribute *`) and `len` elements.
    Kvlist = 7,
}

/// The kind of a span (`otlpx_span_data.kind`), OTLP's numbering.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_span_kind {
    /// Unspecified (0).
    Unspecified = 0,
    /// Internal (1).
    Internal = 1,
    /// Server (2): an incoming request.
    Server = 2,
    /// Client (3): an outgoing request.
    Client = 3,
    /// Producer (4).
    Producer = 4,
    /// Consumer (5).
    Consumer = 5,
}

/// The status code of a span (`otlpx_span_data.status_code`), OTLP's numbering.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_status_code {
    /// Unset (0).
    Unset = 0,
    /// Ok (1).
    Ok = 1,
    /// Error (2); the message says why.
    Error = 2,
}

/// An attribute value (OTLP `AnyValue`). Which fields count depends on `kind`
/// (an `otlpx_value_kind`); the others are ignored. Nested arrays and
/// key-value lists may go 32 levels deep. The data pointed to is borrowed for
/// the duration of the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_value {
    /// An `otlpx_value_kind`.
    pub kind: u32,
    /// `OTLPX_VALUE_KIND_INT` and `OTLPX_VALUE_KIND_BOOL`.
    pub int_value: i64,
    /// `OTLPX_VALUE_KIND_DOUBLE`.
    pub double_value: f64,
    /// String or byte data, or the first element of an array or key-value list.
    pub ptr: *const std::ffi::c_void,
    /// Bytes of a string or byte value, elements of an array or key-value list.
    pub len: usize,
}

/// A key-value pair (OTLP `KeyValue`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_attribute {
    /// The key, UTF-8.
    pub key: *const c_char,
    /// Bytes in `key`.
    pub key_len: usize,
    /// The value.
    pub value: otlpx_value,
}

/// A span event.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_event {
    /// The event name, UTF-8.
    pub name: *const c_char,
    /// Bytes in `name`.
    pub name_len: usize,
    /// When it happened, Unix nanoseconds.
    pub time_unix_nano: u64,
    /// Its attributes.
    pub attributes: *const otlpx_attribute,
    /// Elements in `attributes`.
    pub attributes_len: usize,
    /// Attributes the host already dropped.
    pub dropped_attributes_count: u32,
}

/// A link to another span.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_link {
    /// The linked span's trace id.
    pub trace_id: [u8; 16],
    /// The linked span's id.
    pub span_id: [u8; 8],
    /// The linked span's W3C trace state, UTF-8.
    pub trace_state: *const c_char,
    /// Bytes in `trace_state`.
    pub trace_state_len: usize,
    /// Its attributes.
    pub attributes: *const otlpx_attribute,
    /// Elements in `attributes`.
    pub attributes_len: usize,
    /// Attributes the host already dropped.
    pub dropped_attributes_count: u32,
    /// OTLP link flags (W3C trace flags in bits 0-7, is-remote bits 8-9).
    pub flags: u32,
}

/// A finished span, for `otlpx_exporter_record`. Every pointer is borrowed
/// for the call only: otlpx encodes the span before returning.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_span_data {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// The span id.
    pub span_id: [u8; 8],
    /// The parent span id; all zero for a root span.
    pub parent_span_id: [u8; 8],
    /// The W3C trace state, UTF-8.
    pub trace_state: *const c_char,
    /// Bytes in `trace_state`.
    pub trace_state_len: usize,
    /// OTLP span flags (W3C trace flags in bits 0-7, is-remote bits 8-9).
    pub flags: u32,
    /// An `otlpx_span_kind`.
    pub kind: u32,
    /// The span name, UTF-8.
    pub name: *const c_char,
    /// Bytes in `name`.
    pub name_len: usize,
    /// Start, Unix nanoseconds.
    pub start_time_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_time_unix_nano: u64,
    /// Attributes.
    pub attributes: *const otlpx_attribute,
    /// Elements in `attributes`.
    pub attributes_len: usize,
    /// Attributes the host already dropped.
    pub dropped_attributes_count: u32,
    /// Events.
    pub events: *const otlpx_event,
    /// Elements in `events`.
    pub events_len: usize,
    /// Events the host already dropped.
    pub dropped_events_count: u32,
    /// Links.
    pub links: *const otlpx_link,
    /// Elements in `links`.
    pub links_len: usize,
    /// Links the host already dropped.
    pub dropped_links_count: u32,
    /// An `otlpx_status_code`.
    pub status_code: u32,
    /// The status message, UTF-8 (kept only with `OTLPX_STATUS_CODE_ERROR`
    /// by convention, but sent as given).
    pub status_message: *const c_char,
    /// Bytes in `status_message`.
    pub status_message_len: usize,
}

/// An instrumentation scope, for `otlpx_exporter_add_scope`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_scope {
    /// The scope name (e.g. the instrumentation library), UTF-8.
    pub name: *const c_char,
    /// Bytes in `name`.
    pub name_len: usize,
    /// The scope version, UTF-8.
    pub version: *const c_char,
    /// Bytes in `version`.
    pub version_len: usize,
    /// Scope attributes.
    pub attributes: *const otlpx_attribute,
    /// Elements in `attributes`.
    pub attributes_len: usize,
    /// Attributes the host already dropped.
    pub dropped_attributes_count: u32,
    /// The schema URL, UTF-8.
    pub schema_url: *const c_char,
    /// Bytes in `schema_url`.
    pub schema_url_len: usize,
}

/// Nesting depth of arrays and key-value lists a value may have.
pub(crate) const MAX_DEPTH: u32 = 32;
/// Values (nested ones included) one call may convert; bounds the scratch.
pub(crate) const MAX_VALUES: usize = 1 << 16;

thread_local! {
    static SCRATCH: RefCell<Bump> = RefCell::new(Bump::with_capacity(16 << 10));
}

/// Runs `f` with this thread's scratch arena, reset first. A re-entrant call
/// (from a callback) or a call during thread teardown gets a fresh arena. An
/// arena that grew past 1 MiB is replaced after use, so one huge span does
/// not pin memory.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&Bump) -> R) -> R {
    let mut f = Some(f);
    let mut out = None;
    let _ = SCRATCH.try_with(|cell| {
        if let Ok(mut bump) = cell.try_borrow_mut() {
            bump.reset();
            if let Some(f) = f.take() {
                out = Some(f(&bump));
            }
            if bump.allocated_bytes() > 1 << 20 {
                *bump = Bump::with_capacity(16 << 10);
            }
        }
    });
    match (out, f) {
        (Some(r), _) => r,
        (None, Some(f)) => f(&Bump::new()),
        (None, None) => unreachable!("the scratch closure ran without a result"),
    }
}

/// Counts what conversion may still convert.
pub(crate) struct Budget(usize);

impl Budget {
    pub(crate) fn new() -> Self {
        Budget(MAX_VALUES)
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<(), otlpx_result> {
        self.0 = self.0.checked_sub(n).ok_or(otlpx_result::InvalidArgument)?;
        Ok(())
    }
}

/// Converts one value.
///
/// # Safety
/// The pointers inside `v` follow the `otlpx_value` contract.
pub(crate) unsafe fn value<'b>(
    bump: &'b Bump,
    v: &otlpx_value,
    depth: u32,
    budget: &mut Budget,
) -> Result<AnyValue<'b>, otlpx_result> {
    budget.take(1)?;
    Ok(match v.kind {
        k if k == otlpx_value_kind::String as u32 => AnyValue::Str(unsafe { str_arg(v.ptr.cast(), v.len)? }),
        k if k == otlpx_value_kind::Bool as u32 => AnyValue::Bool(v.int_value != 0),
        k if k == otlpx_value_kind::Int as u32 => AnyValue::Int(v.int_value),
        k if k == otlpx_value_kind::Double as u32 => AnyValue::Double(v.double_value),
        k if k == otlpx_value_kind::Bytes as u32 => AnyValue::Bytes(unsafe { slice_arg(v.ptr.cast::<u8>(), v.len)? }),
        k if k == otlpx_value_kind::Array as u32 => {
            if depth >= MAX_DEPTH {
                return Err(otlpx_result::InvalidArgument);
            }
            let src = unsafe { slice_arg(v.ptr.cast::<otlpx_value>(), v.len)? };
            budget.take(src.len())?;
            let out = bump.alloc_slice_fill_copy(src.len(), AnyValue::Bool(false));
            for (o, s) in out.iter_mut().zip(src) {
                *o = unsafe { value(bump, s, depth + 1, budget)? };
            }
            AnyValue::Array(out)
        }
        k if k == otlpx_value_kind::Kvlist as u32 => {
            if depth >= MAX_DEPTH {
                return Err(otlpx_result::InvalidArgument);
            }
            let src = unsafe { slice_arg(v.ptr.cast::<otlpx_attribute>(), v.len)? };
            AnyValue::KvList(unsafe { key_values(bump, src, depth + 1, budget)? })
        }
        _ => return Err(otlpx_result::InvalidArgument),
    })
}

/// Converts a list of key-values.
///
/// # Safety
/// Each element follows the `otlpx_attribute` contract.
pub(crate) unsafe fn key_values<'b>(
    bump: &'b Bump,
    src: &[otlpx_attribute],
    depth: u32,
    budget: &mut Budget,
) -> Result<&'b [KeyValue<'b>], otlpx_result> {
    budget.take(src.len())?;
    let out = bump.alloc_slice_fill_copy(src.len(), KeyValue::new("", false));
    for (o, s) in out.iter_mut().zip(src) {
        *o = KeyValue {
            key: unsafe { str_arg(s.key, s.key_len)? },
            value: unsafe { value(bump, &s.value, depth, budget)? },
        };
    }
    Ok(out)
}

/// Converts the first `keep` of `len` attributes; the rest are added to
/// `dropped` (saturating), as core's limit would count them.
///
/// # Safety
/// `(ptr, len)` follows the array contract of `otlpx_attribute`.
unsafe fn limited_attributes<'b>(
    bump: &'b Bump,
    ptr: *const otlpx_attribute,
    len: usize,
    keep: u32,
    dropped: u32,
    budget: &mut Budget,
) -> Result<(&'b [KeyValue<'b>], u32), otlpx_result> {
    let src = unsafe { slice_arg(ptr, len)? };
    let (kept, dropped) = limited(src, keep, dropped);
    Ok((unsafe { key_values(bump, kept, 0, budget)? }, dropped))
}

pub(crate) fn limited<T>(src: &[T], keep: u32, dropped: u32) -> (&[T], u32) {
    let keep = usize::try_from(keep).unwrap_or(usize::MAX).min(src.len());
    let cut = (src.len() - keep) as u64;
    let dropped = (u64::from(dropped) + cut).min(u64::from(u32::MAX)) as u32;
    (&src[..keep], dropped)
}

/// A span kind from C.
pub(crate) fn span_kind(v: u32) -> Result<SpanKind, otlpx_result> {
    i32::try_from(v)
        .ok()
        .and_then(SpanKind::from_i32)
        .ok_or(otlpx_result::InvalidArgument)
}

/// A status code from C.
pub(crate) fn status_code(v: u32) -> Result<StatusCode, otlpx_result> {
    i32::try_from(v)
        .ok()
        .and_then(StatusCode::from_i32)
        .ok_or(otlpx_result::InvalidArgument)
}

/// Converts a finished span.
///
/// # Safety
/// Every pointer in `s` follows the `otlpx_span_data` contract.
pub(crate) unsafe fn span<'b>(
    bump: &'b Bump,
    s: &otlpx_span_data,
    limits: &SpanLimits,
) -> Result<Span<'b>, otlpx_result> {
    let mut budget = Budget::new();
    let (attributes, dropped_attributes_count) = unsafe {
        limited_attributes(
            bump,
            s.attributes,
            s.attributes_len,
            limits.attribute_count,
            s.dropped_attributes_count,
            &mut budget,
        )?
    };
    let events_src = unsafe { slice_arg(s.events, s.events_len)? };
    let (events_src, dropped_events_count) = limited(events_src, limits.event_count, s.dropped_events_count);
    budget.take(events_src.len())?;
    let events = bump.alloc_slice_fill_copy(events_src.len(), Event::default());
    for (o, e) in events.iter_mut().zip(events_src) {
        let (attributes, dropped_attributes_count) = unsafe {
            limited_attributes(
                bump,
                e.attributes,
                e.attributes_len,
                limits.attributes_per_event,
                e.dropped_attributes_count,
                &mut budget,
            )?
        };
        *o = Event {
            time_unix_nano: e.time_unix_nano,
            name: unsafe { str_arg(e.name, e.name_len)? },
            attributes,
            dropped_attributes_count,
        };
    }
    let links_src = unsafe { slice_arg(s.links, s.links_len)? };
    let (links_src, dropped_links_count) = limited(links_src, limits.link_count, s.dropped_links_count);
    budget.take(links_src.len())?;
    let links = bump.alloc_slice_fill_copy(links_src.len(), Link::default());
    for (o, l) in links.iter_mut().zip(links_src) {
        let (attributes, dropped_attributes_count) = unsafe {
            limited_attributes(
                bump,
                l.attributes,
                l.attributes_len,
                limits.attributes_per_link,
                l.dropped_attributes_count,
                &mut budget,
            )?
        };
        *o = Link {
            trace_id: l.trace_id,
            span_id: l.span_id,
            trace_state: unsafe { str_arg(l.trace_state, l.trace_state_len)? },
            attributes,
            dropped_attributes_count,
            flags: l.flags,
        };
    }
    Ok(Span {
        trace_id: s.trace_id,
        span_id: s.span_id,
        trace_state: unsafe { str_arg(s.trace_state, s.trace_state_len)? },
        parent_span_id: (s.parent_span_id != [0; 8]).then_some(s.parent_span_id),
        flags: s.flags,
        name: unsafe { str_arg(s.name, s.name_len)? },
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
            message: unsafe { str_arg(s.status_message, s.status_message_len)? },
        },
    })
}

/// Converts a scope.
///
/// # Safety
/// Every pointer in `s` follows the `otlpx_scope` contract.
pub(crate) unsafe fn scope<'b>(bump: &'b Bump, s: &otlpx_scope) -> Result<Scope<'b>, otlpx_result> {
    let mut budget = Budget::new();
    let attrs = unsafe { slice_arg(s.attributes, s.attributes_len)? };
    Ok(Scope {
        name: unsafe { str_arg(s.name, s.name_len)? },
        version: unsafe { str_arg(s.version, s.version_len)? },
        attributes: unsafe { key_values(bump, attrs, 0, &mut budget)? },
        dropped_attributes_count: s.dropped_attributes_count,
        schema_url: unsafe { str_arg(s.schema_url, s.schema_url_len)? },
    })
}
