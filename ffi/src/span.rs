//! `otlpx_span`: the start/end span handle API, for hosts that build a span
//! while it runs (an HTTP server instrumented with otlpx alone).
//!
//! Owns: the handle's copy of what the host set (strings and values copied
//! into the handle's own arena, since the host's buffers may not outlive the
//! call), and a bounded pool of ended handles so that steady-state use
//! allocates nothing.
//! Must not: sample, encode or count itself: start asks core's
//! `context::start_span` (the configured sampler), end goes through the same
//! record path as `otlpx_exporter_record`.

use std::os::raw::c_char;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bumpalo::Bump;
use otlpx_core::context::{self as cx, IdGenerator, TraceState};
use otlpx_core::SpanKind;

use crate::context::otlpx_span_context;
use crate::exporter::{otlpx_exporter, Inner};
use crate::value::{
    self, otlpx_attribute, otlpx_event, otlpx_link, otlpx_span_data, otlpx_value, otlpx_value_kind, Budget, MAX_DEPTH,
};
use crate::{ffi_boundary, otlpx_result, slice_arg, str_arg, tri};

/// Handles kept for reuse per exporter.
const POOL_MAX: usize = 256;
/// A pooled handle whose arena grew past this is not kept.
const POOL_ARENA_MAX: usize = 256 << 10;

/// A span in progress: created by `otlpx_span_start`, consumed by
/// `otlpx_span_end` (or discarded by `otlpx_span_free`).
///
/// Thread safety: a span handle may be used from one thread at a time (it may
/// move between threads); different handles may be used concurrently.
pub struct otlpx_span {
    exporter: Option<Arc<Inner>>,
    scope: u32,
    recording: bool,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: [u8; 8],
    trace_flags: u8,
    flags: u32,
    trace_state: String,
    name: String,
    kind: SpanKind,
    start: u64,
    status_code: u32,
    status_message: String,
    /// Owns every string and value the vectors below point into.
    arena: Bump,
    attributes: Vec<otlpx_attribute>,
    dropped_attributes: u32,
    events: Vec<otlpx_event>,
    dropped_events: u32,
    links: Vec<otlpx_link>,
    dropped_links: u32,
}

// SAFETY: the raw pointers in otlpx_span point into its own arena, which moves
// with it; nothing is shared with another thread.
unsafe impl Send for otlpx_span {}

impl otlpx_span {
    fn new() -> Self {
        otlpx_span {
            exporter: None,
            scope: 0,
            recording: false,
            trace_id: [0; 16],
            span_id: [0; 8],
            parent: [0; 8],
            trace_flags: 0,
            flags: 0,
            trace_state: String::new(),
            name: String::new(),
            kind: SpanKind::Internal,
            start: 0,
            status_code: 0,
            status_message: String::new(),
            arena: Bump::new(),
            attributes: Vec::new(),
            dropped_attributes: 0,
            events: Vec::new(),
            dropped_events: 0,
            links: Vec::new(),
            dropped_links: 0,
        }
    }

    fn clear(&mut self) {
        self.exporter = None;
        self.attributes.clear();
        self.events.clear();
        self.links.clear();
        self.arena.reset();
        self.trace_state.clear();
        self.name.clear();
        self.status_message.clear();
        self.status_code = 0;
        self.dropped_attributes = 0;
        self.dropped_events = 0;
        self.dropped_links = 0;
    }
}

fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Deep-copies a value into `arena` (validating it as conversion would).
///
/// # Safety
/// `v` follows the `otlpx_value` contract.
unsafe fn copy_value(
    arena: &Bump,
    v: &otlpx_value,
    depth: u32,
    budget: &mut Budget,
) -> Result<otlpx_value, otlpx_result> {
    budget.take(1)?;
    let mut out = *v;
    match v.kind {
        k if k == otlpx_value_kind::String as u32 => {
            let s = unsafe { str_arg(v.ptr.cast(), v.len)? };
            out.ptr = arena.alloc_str(s).as_ptr().cast();
        }
        k if k == otlpx_value_kind::Bytes as u32 => {
            let b = unsafe { slice_arg(v.ptr.cast::<u8>(), v.len)? };
            out.ptr = arena.alloc_slice_copy(b).as_ptr().cast();
        }
        k if k == otlpx_value_kind::Array as u32 => {
            if depth >= MAX_DEPTH {
                return Err(otlpx_result::InvalidArgument);
            }
            let src = unsafe { slice_arg(v.ptr.cast::<otlpx_value>(), v.len)? };
            budget.take(src.len())?;
            let dst = arena.alloc_slice_fill_copy(src.len(), *v);
            for (d, s) in dst.iter_mut().zip(src) {
                *d = unsafe { copy_value(arena, s, depth + 1, budget)? };
            }
            out.ptr = dst.as_ptr().cast();
        }
        k if k == otlpx_value_kind::Kvlist as u32 => {
            if depth >= MAX_DEPTH {
                return Err(otlpx_result::InvalidArgument);
            }
            let src = unsafe { slice_arg(v.ptr.cast::<otlpx_attribute>(), v.len)? };
            out.ptr = unsafe { copy_attributes(arena, src, depth + 1, budget)? }.cast();
        }
        k if k == otlpx_value_kind::Bool as u32
            || k == otlpx_value_kind::Int as u32
            || k == otlpx_value_kind::Double as u32 => {}
        _ => return Err(otlpx_result::InvalidArgument),
    }
    Ok(out)
}

/// Deep-copies key-values into `arena`; returns the copy's first element.
///
/// # Safety
/// Each element follows the `otlpx_attribute` contract.
unsafe fn copy_attributes(
    arena: &Bump,
    src: &[otlpx_attribute],
    depth: u32,
    budget: &mut Budget,
) -> Result<*const otlpx_attribute, otlpx_result> {
    budget.take(src.len())?;
    let dst = arena.alloc_slice_fill_copy(src.len(), EMPTY_ATTRIBUTE);
    for (d, s) in dst.iter_mut().zip(src) {
        *d = unsafe { copy_attribute(arena, s, depth, budget)? };
    }
    Ok(dst.as_ptr())
}

const EMPTY_ATTRIBUTE: otlpx_attribute = otlpx_attribute {
    key: std::ptr::null(),
    key_len: 0,
    value: otlpx_value {
        kind: otlpx_value_kind::Bool as u32,
        int_value: 0,
        double_value: 0.0,
        ptr: std::ptr::null(),
        len: 0,
    },
};

/// # Safety
/// `a` follows the `otlpx_attribute` contract.
unsafe fn copy_attribute(
    arena: &Bump,
    a: &otlpx_attribute,
    depth: u32,
    budget: &mut Budget,
) -> Result<otlpx_attribute, otlpx_result> {
    let key = unsafe { str_arg(a.key, a.key_len)? };
    Ok(otlpx_attribute {
        key: arena.alloc_str(key).as_ptr().cast(),
        key_len: key.len(),
        value: unsafe { copy_value(arena, &a.value, depth, budget)? },
    })
}

fn span_mut<'a>(span: *mut otlpx_span) -> Result<&'a mut otlpx_span, otlpx_result> {
    // SAFETY: a non-null handle from otlpx_span_start, not yet ended (caller's contract).
    unsafe { span.as_mut() }.ok_or(otlpx_result::NullParameter)
}

/// Starts a span named `name` of kind `kind` (an `otlpx_span_kind`) under
/// scope `scope`, as a child of `parent` (NULL, or a context with zero ids,
/// starts a new trace), at `start_unix_nano` (0 = now). The trace id and trace
/// state come from the parent; the span id is new; the configured sampler
/// (`OTEL_TRACES_SAMPLER`, parent-based always-on by default) decides whether
/// the span is recorded, honouring the parent's sampled flag as the Go SDK
/// does. An unsampled span is still a valid handle, whose context propagates
/// (`otlpx_span_get_context`), but setters do nothing and end records nothing.
/// Writes the handle to `*out`; end it with `otlpx_span_end`.
///
/// Thread safety: callable from any number of threads at once.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_start(
    exp: *const otlpx_exporter,
    scope: u32,
    name: *const c_char,
    name_len: usize,
    kind: u32,
    parent: *const otlpx_span_context,
    start_unix_nano: u64,
    out: *mut *mut otlpx_span,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: a non-null pointer from otlpx_exporter_new (caller's contract).
        let Some(exp) = (unsafe { exp.as_ref() }) else {
            return otlpx_result::NullParameter;
        };
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        let name = tri!(unsafe { str_arg(name, name_len) });
        let kind = tri!(value::span_kind(kind));
        // SAFETY: caller's contract for a non-null parent.
        let parent = match unsafe { parent.as_ref() } {
            Some(p) => Some(tri!(p.as_core())),
            None => None,
        };
        let inner = &exp.inner;
        let decision = cx::start_span(&inner.sampler, parent.as_ref(), &mut IdGenerator);
        let mut state = inner
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(|| Box::new(otlpx_span::new()));
        state.exporter = Some(inner.clone());
        state.scope = scope;
        state.recording = decision.sampled;
        state.trace_id = decision.trace_id;
        state.span_id = decision.span_id;
        state.parent = decision.parent_span_id.unwrap_or([0; 8]);
        state.trace_flags = decision.trace_flags;
        state.flags = decision.flags;
        state.trace_state.push_str(decision.trace_state.as_str());
        state.name.push_str(name);
        state.kind = kind;
        state.start = if start_unix_nano == 0 {
            now_unix_nano()
        } else {
            start_unix_nano
        };
        // SAFETY: checked non-null.
        unsafe { *out = Box::into_raw(state) };
        otlpx_result::Ok
    })
}

/// 1 when the span is sampled and will be exported when it ends, 0 when not
/// (or `span` is NULL).
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_is_recording(span: *const otlpx_span) -> u8 {
    let r = ffi_boundary!({
        // SAFETY: a non-null handle from otlpx_span_start (caller's contract).
        match unsafe { span.as_ref() } {
            Some(s) if s.recording => otlpx_result::Ok,
            _ => otlpx_result::InvalidArgument,
        }
    });
    u8::from(r == otlpx_result::Ok)
}

/// Writes the span's own context to `*out`: pass it as `parent` to child
/// spans, or format it with `otlpx_traceparent_format` for an outgoing
/// request (`otlpx_span_traceparent` does both steps).
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_get_context(span: *const otlpx_span, out: *mut otlpx_span_context) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: a non-null handle from otlpx_span_start (caller's contract).
        let Some(s) = (unsafe { span.as_ref() }) else {
            return otlpx_result::NullParameter;
        };
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        let mut c = otlpx_span_context {
            trace_id: s.trace_id,
            span_id: s.span_id,
            trace_flags: s.trace_flags,
            is_remote: 0,
            trace_state_len: 0,
            trace_state: [0; crate::OTLPX_TRACE_STATE_MAX],
        };
        c.set_trace_state(&TraceState::parse(&s.trace_state).unwrap_or_default());
        // SAFETY: checked non-null.
        unsafe { *out = c };
        otlpx_result::Ok
    })
}

/// Writes the `traceparent` value naming this span as the parent of an
/// outgoing request (55 bytes, no NUL) into `buf` (at least
/// `OTLPX_TRACEPARENT_LEN` bytes).
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_traceparent(
    span: *const otlpx_span,
    buf: *mut c_char,
    buf_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: a non-null handle from otlpx_span_start (caller's contract).
        let Some(s) = (unsafe { span.as_ref() }) else {
            return otlpx_result::NullParameter;
        };
        unsafe { crate::context::traceparent_to(&s.trace_id, &s.span_id, s.trace_flags, buf, buf_len) }
    })
}

/// Renames the span (e.g. once the route is known).
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_set_name(
    span: *mut otlpx_span,
    name: *const c_char,
    name_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let s = tri!(span_mut(span));
        let name = tri!(unsafe { str_arg(name, name_len) });
        if s.recording {
            s.name.clear();
            s.name.push_str(name);
        }
        otlpx_result::Ok
    })
}

/// Sets attributes (copied). A key already set gets the new value, as the
/// OpenTelemetry API says; beyond the attribute count limit new keys are
/// counted as dropped. On an error, the attributes before the failing one
/// are set.
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_set_attributes(
    span: *mut otlpx_span,
    attributes: *const otlpx_attribute,
    attributes_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let s = tri!(span_mut(span));
        let src = tri!(unsafe { slice_arg(attributes, attributes_len) });
        if !s.recording {
            return otlpx_result::Ok;
        }
        let limit = s.exporter.as_ref().map_or(128, |e| e.limits.attribute_count) as usize;
        let mut budget = Budget::new();
        // One at a time, so that on an error the attributes before it are set.
        for a in src {
            let c = tri!(unsafe { copy_attribute(&s.arena, a, 0, &mut budget) });
            // SAFETY: the copy's key points into the arena; validated UTF-8.
            let key = unsafe { str_arg(c.key, c.key_len) }.unwrap_or("");
            let existing = s
                .attributes
                .iter()
                .position(|a| unsafe { str_arg(a.key, a.key_len) }.unwrap_or("\u{0}") == key);
            match existing {
                Some(i) => s.attributes[i] = c,
                None if s.attributes.len() < limit => s.attributes.push(c),
                None => s.dropped_attributes = s.dropped_attributes.saturating_add(1),
            }
        }
        otlpx_result::Ok
    })
}

/// Adds an event named `name` at `time_unix_nano` (0 = now) with
/// attributes (copied). Beyond the event count limit, events are counted as
/// dropped.
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_add_event(
    span: *mut otlpx_span,
    name: *const c_char,
    name_len: usize,
    time_unix_nano: u64,
    attributes: *const otlpx_attribute,
    attributes_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let s = tri!(span_mut(span));
        let name = tri!(unsafe { str_arg(name, name_len) });
        let attrs = tri!(unsafe { slice_arg(attributes, attributes_len) });
        if !s.recording {
            return otlpx_result::Ok;
        }
        let limit = s.exporter.as_ref().map_or(128, |e| e.limits.event_count) as usize;
        if s.events.len() >= limit {
            s.dropped_events = s.dropped_events.saturating_add(1);
            return otlpx_result::Ok;
        }
        let mut budget = Budget::new();
        let copied = tri!(unsafe { copy_attributes(&s.arena, attrs, 0, &mut budget) });
        let name = s.arena.alloc_str(name);
        s.events.push(otlpx_event {
            name: name.as_ptr().cast(),
            name_len: name.len(),
            time_unix_nano: if time_unix_nano == 0 {
                now_unix_nano()
            } else {
                time_unix_nano
            },
            attributes: copied,
            attributes_len: attrs.len(),
            dropped_attributes_count: 0,
        });
        otlpx_result::Ok
    })
}

/// Adds a link (copied). Beyond the link count limit, links are counted as
/// dropped.
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_add_link(span: *mut otlpx_span, link: *const otlpx_link) -> otlpx_result {
    ffi_boundary!({
        let s = tri!(span_mut(span));
        // SAFETY: caller's contract for a non-null link.
        let Some(l) = (unsafe { link.as_ref() }) else {
            return otlpx_result::NullParameter;
        };
        let ts = tri!(unsafe { str_arg(l.trace_state, l.trace_state_len) });
        let attrs = tri!(unsafe { slice_arg(l.attributes, l.attributes_len) });
        if !s.recording {
            return otlpx_result::Ok;
        }
        let limit = s.exporter.as_ref().map_or(128, |e| e.limits.link_count) as usize;
        if s.links.len() >= limit {
            s.dropped_links = s.dropped_links.saturating_add(1);
            return otlpx_result::Ok;
        }
        let mut budget = Budget::new();
        let copied = tri!(unsafe { copy_attributes(&s.arena, attrs, 0, &mut budget) });
        let ts = s.arena.alloc_str(ts);
        s.links.push(otlpx_link {
            trace_state: ts.as_ptr().cast(),
            trace_state_len: ts.len(),
            attributes: copied,
            ..*l
        });
        otlpx_result::Ok
    })
}

/// Sets the status (`code` an `otlpx_status_code`; the message is kept for
/// `OTLPX_STATUS_CODE_ERROR`). As the OpenTelemetry API says, Ok is final:
/// once set, later calls do nothing; Unset never overrides.
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_set_status(
    span: *mut otlpx_span,
    code: u32,
    message: *const c_char,
    message_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let s = tri!(span_mut(span));
        let code_v = tri!(value::status_code(code));
        let message = tri!(unsafe { str_arg(message, message_len) });
        use otlpx_core::StatusCode as C;
        if !s.recording || code_v == C::Unset || s.status_code == C::Ok as u32 {
            return otlpx_result::Ok;
        }
        s.status_code = code;
        s.status_message.clear();
        if code_v == C::Error {
            s.status_message.push_str(message);
        }
        otlpx_result::Ok
    })
}

fn recycle(mut state: Box<otlpx_span>) {
    let Some(exp) = state.exporter.take() else {
        return;
    };
    if state.arena.allocated_bytes() > POOL_ARENA_MAX {
        return;
    }
    state.clear();
    let mut pool = exp.pool.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < POOL_MAX {
        pool.push(state);
    }
}

/// Ends the span at `end_unix_nano` (0 = now) and records it (when
/// sampled), exactly as `otlpx_exporter_record` would; returns its result.
/// The handle is consumed in every case, even on error: do not use it again.
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_end(span: *mut otlpx_span, end_unix_nano: u64) -> otlpx_result {
    ffi_boundary!({
        if span.is_null() {
            return otlpx_result::NullParameter;
        }
        // SAFETY: a handle from otlpx_span_start, consumed once (caller's contract).
        let state = unsafe { Box::from_raw(span) };
        let result = match (&state.exporter, state.recording) {
            (Some(exp), true) => {
                let data = otlpx_span_data {
                    trace_id: state.trace_id,
                    span_id: state.span_id,
                    parent_span_id: state.parent,
                    trace_state: state.trace_state.as_ptr().cast(),
                    trace_state_len: state.trace_state.len(),
                    flags: state.flags,
                    kind: state.kind as u32,
                    name: state.name.as_ptr().cast(),
                    name_len: state.name.len(),
                    start_time_unix_nano: state.start,
                    end_time_unix_nano: if end_unix_nano == 0 {
                        now_unix_nano()
                    } else {
                        end_unix_nano
                    },
                    attributes: state.attributes.as_ptr(),
                    attributes_len: state.attributes.len(),
                    dropped_attributes_count: state.dropped_attributes,
                    events: state.events.as_ptr(),
                    events_len: state.events.len(),
                    dropped_events_count: state.dropped_events,
                    links: state.links.as_ptr(),
                    links_len: state.links.len(),
                    dropped_links_count: state.dropped_links,
                    status_code: state.status_code,
                    status_message: state.status_message.as_ptr().cast(),
                    status_message_len: state.status_message.len(),
                };
                exp.record_with(state.scope, |bump| unsafe { value::span(bump, &data, &exp.limits) })
            }
            _ => otlpx_result::Ok,
        };
        recycle(state);
        result
    })
}

/// Discards a span without recording it (NULL does nothing). For spans
/// abandoned on an error path; an ended span must not be freed.
///
/// Thread safety: as for the handle.
#[no_mangle]
pub unsafe extern "C" fn otlpx_span_free(span: *mut otlpx_span) {
    let _ = ffi_boundary!({
        if !span.is_null() {
            // SAFETY: a handle from otlpx_span_start, consumed once (caller's contract).
            recycle(unsafe { Box::from_raw(span) });
        }
        otlpx_result::Ok
    });
}
