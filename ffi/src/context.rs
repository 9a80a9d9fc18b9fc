//! W3C Trace Context for hosts without an SDK: extract a parent from
//! incoming `traceparent`/`tracestate`, format an outgoing `traceparent`,
//! generate ids, reseed after `fork`.
//!
//! Owns: the C span context struct (self-contained, no pointers) and the
//! `pthread_atfork` registration.
//! Must not: parse or format headers itself (core's `context` does).

use std::os::raw::c_char;

use otlpx_core::context::{self as cx, SpanContext, TraceState, TRACEPARENT_LEN};

use crate::{ffi_boundary, otlpx_result, str_arg, tri};

/// Bytes of a formatted `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`).
pub const OTLPX_TRACEPARENT_LEN: usize = 55;
/// Most bytes of trace state an `otlpx_span_context` carries (the W3C
/// propagation minimum); longer trace states lose members from the end.
pub const OTLPX_TRACE_STATE_MAX: usize = 512;

const _: () = assert!(OTLPX_TRACEPARENT_LEN == TRACEPARENT_LEN);

/// A span context: what propagates between processes. Self-contained (the
/// trace state is copied in), so it may be stored and copied freely.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct otlpx_span_context {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// The span id.
    pub span_id: [u8; 8],
    /// W3C trace flags (bit 0: sampled).
    pub trace_flags: u8,
    /// 1 when the context came from another process (extracted from headers).
    pub is_remote: u8,
    /// Bytes used in `trace_state`.
    pub trace_state_len: u16,
    /// The W3C trace state (UTF-8, not NUL-terminated).
    pub trace_state: [c_char; OTLPX_TRACE_STATE_MAX],
}

impl otlpx_span_context {
    /// Copies a core context in; a trace state longer than the buffer keeps
    /// its leading members that fit.
    pub(crate) fn from_core(sc: &SpanContext<'_>) -> Self {
        let mut out = otlpx_span_context {
            trace_id: sc.trace_id,
            span_id: sc.span_id,
            trace_flags: sc.flags,
            is_remote: u8::from(sc.remote),
            trace_state_len: 0,
            trace_state: [0; OTLPX_TRACE_STATE_MAX],
        };
        out.set_trace_state(&sc.trace_state);
        out
    }

    pub(crate) fn set_trace_state(&mut self, ts: &TraceState<'_>) {
        let full = ts.as_str();
        let mut len = 0;
        if full.len() <= OTLPX_TRACE_STATE_MAX {
            len = full.len();
        } else {
            // Members are separated by ','; keep whole members that fit.
            for (i, b) in full.bytes().enumerate() {
                if i > OTLPX_TRACE_STATE_MAX {
                    break;
                }
                if b == b',' {
                    len = i;
                }
            }
        }
        for (d, s) in self.trace_state.iter_mut().zip(&full.as_bytes()[..len]) {
            *d = *s as c_char;
        }
        self.trace_state_len = len as u16;
    }

    /// The trace state as a string (validated: it came from C).
    pub(crate) fn trace_state_str(&self) -> Result<&str, otlpx_result> {
        let len = usize::from(self.trace_state_len);
        if len > OTLPX_TRACE_STATE_MAX {
            return Err(otlpx_result::InvalidArgument);
        }
        // SAFETY: in-bounds prefix of an array field.
        unsafe { str_arg(self.trace_state.as_ptr(), len) }
    }

    /// A core context borrowing this one's trace state. An invalid trace
    /// state is dropped (as W3C says), not an error.
    pub(crate) fn as_core(&self) -> Result<SpanContext<'_>, otlpx_result> {
        let ts = self.trace_state_str()?;
        Ok(SpanContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.trace_flags,
            trace_state: TraceState::parse(ts).unwrap_or_default(),
            remote: self.is_remote != 0,
        })
    }
}

/// Extracts the parent context of an incoming request from its `traceparent`
/// and `tracestate` header values (pass `(NULL, 0)` for an absent header).
/// Follows W3C Trace Context: a malformed `traceparent` (wrong version
/// format, all-zero ids, bad hex or uppercase hex, wrong lengths) gives
/// `OTLPX_RESULT_INVALID_HEADER` and `*out` is not written: start a new
/// trace. A malformed `tracestate` is dropped; the `traceparent` still counts.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_trace_context_extract(
    traceparent: *const c_char,
    traceparent_len: usize,
    tracestate: *const c_char,
    tracestate_len: usize,
    out: *mut otlpx_span_context,
) -> otlpx_result {
    ffi_boundary!({
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        let tp = tri!(unsafe { str_arg(traceparent, traceparent_len) });
        // A tracestate that is not UTF-8 is malformed: drop it.
        let ts = unsafe { str_arg(tracestate, tracestate_len) }.unwrap_or("");
        let Ok(sc) = cx::extract(tp, ts) else {
            return otlpx_result::InvalidHeader;
        };
        // SAFETY: checked non-null.
        unsafe { *out = otlpx_span_context::from_core(&sc) };
        otlpx_result::Ok
    })
}

/// Writes the `traceparent` value naming `context` as the parent
/// (`00-<trace id>-<span id>-<flags>`, 55 bytes, no NUL) into `buf`, which
/// must hold `OTLPX_TRACEPARENT_LEN` bytes (`OTLPX_RESULT_BUFFER_TOO_SMALL`
/// otherwise). The trace state to send as `tracestate` is
/// `context->trace_state`.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_traceparent_format(
    context: *const otlpx_span_context,
    buf: *mut c_char,
    buf_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: caller's contract for a non-null context.
        let Some(c) = (unsafe { context.as_ref() }) else {
            return otlpx_result::NullParameter;
        };
        unsafe { traceparent_to(&c.trace_id, &c.span_id, c.trace_flags, buf, buf_len) }
    })
}

/// Writes a `traceparent` value into a C buffer of `buf_len` bytes (at
/// least `OTLPX_TRACEPARENT_LEN`, no NUL).
///
/// # Safety
/// `buf` must point to `buf_len` writable bytes.
pub(crate) unsafe fn traceparent_to(
    trace_id: &[u8; 16],
    span_id: &[u8; 8],
    flags: u8,
    buf: *mut c_char,
    buf_len: usize,
) -> otlpx_result {
    if buf.is_null() {
        return otlpx_result::NullParameter;
    }
    if buf_len < OTLPX_TRACEPARENT_LEN {
        return otlpx_result::BufferTooSmall;
    }
    let mut tp = [0u8; TRACEPARENT_LEN];
    cx::write_traceparent(trace_id, span_id, flags, &mut tp);
    // SAFETY: buf holds at least OTLPX_TRACEPARENT_LEN bytes (checked length, caller's contract).
    unsafe { std::ptr::copy_nonoverlapping(tp.as_ptr(), buf.cast::<u8>(), TRACEPARENT_LEN) };
    otlpx_result::Ok
}

/// Writes a new random, non-zero trace id (16 bytes) to `out`. No system
/// call, lock or allocation per id.
///
/// Thread safety: callable from any number of threads at once.
#[no_mangle]
pub unsafe extern "C" fn otlpx_new_trace_id(out: *mut u8) -> otlpx_result {
    ffi_boundary!({
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        let id = cx::new_trace_id();
        // SAFETY: out holds 16 writable bytes (caller's contract).
        unsafe { std::ptr::copy_nonoverlapping(id.as_ptr(), out, id.len()) };
        otlpx_result::Ok
    })
}

/// Writes a new random, non-zero span id (8 bytes) to `out`.
///
/// Thread safety: callable from any number of threads at once.
#[no_mangle]
pub unsafe extern "C" fn otlpx_new_span_id(out: *mut u8) -> otlpx_result {
    ffi_boundary!({
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        let id = cx::new_span_id();
        // SAFETY: out holds 8 writable bytes (caller's contract).
        unsafe { std::ptr::copy_nonoverlapping(id.as_ptr(), out, id.len()) };
        otlpx_result::Ok
    })
}

/// Makes every thread's id generator reseed before its next id. otlpx calls
/// it itself in a forked child (through `pthread_atfork`); call it from
/// hosts that fork by other means (a raw `clone`).
///
/// Thread safety: async-signal-safe (one atomic increment).
#[no_mangle]
pub extern "C" fn otlpx_reseed_after_fork() {
    cx::reseed_after_fork();
}

/// Mixes `len` bytes of host entropy into the id generators' seeds
/// (optional on Linux and macOS).
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_add_entropy(bytes: *const u8, len: usize) -> otlpx_result {
    ffi_boundary!({
        let b = tri!(unsafe { crate::bytes_arg(bytes, len) });
        cx::add_entropy(b);
        otlpx_result::Ok
    })
}

extern "C" fn atfork_child() {
    cx::reseed_after_fork();
}

/// Registers the fork child handler once per process.
pub(crate) fn register_atfork() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        {
            extern "C" {
                fn pthread_atfork(
                    prepare: Option<extern "C" fn()>,
                    parent: Option<extern "C" fn()>,
                    child: Option<extern "C" fn()>,
                ) -> std::os::raw::c_int;
            }
            // SAFETY: registers a handler that only does an atomic increment.
            let _ = unsafe { pthread_atfork(None, None, Some(atfork_child)) };
        }
    });
}
