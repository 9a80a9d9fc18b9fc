//! `otlpx_exporter`: create, record finished spans, scopes, flush, shutdown,
//! stats and strings, and the host send callback as a core transport.
//!
//! Owns: the exporter handle shared by span handles, and the translation of
//! core's outcomes and stats into C structs.
//! Must not: batch, encode, retry or count anything itself (core does).

use std::os::raw::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bumpalo::Bump;

use otlpx_core::config::{Config, Protocol};
use otlpx_core::exporter::{ExportOutcome, Exporter};
use otlpx_core::sampler::Sampler;
use otlpx_core::transport::{ExportRequest, ExportResponse, FnTransport, Transport, TransportError};
use otlpx_core::{BatchError, DropReason, RequestOutcome, ScopeId, SpanLimits};

use crate::config::{otlpx_config, otlpx_export_request, otlpx_export_response, otlpx_header, SendCallback};
use crate::packed::{self, otlpx_packed_attribute, otlpx_packed_event, otlpx_packed_link, otlpx_packed_span};
use crate::span::otlpx_span;
use crate::value::{self, otlpx_scope, otlpx_span_data, with_scratch};
use crate::{ffi_boundary, otlpx_result, slice_arg, tri, write_string};

/// An exporter: a bounded queue of encoded spans and a background thread
/// that exports them. Create with `otlpx_exporter_new`, release with
/// `otlpx_exporter_free`.
///
/// Thread safety: every `otlpx_exporter_*` function may be called from any
/// number of threads at once, except `otlpx_exporter_free`, which must be the
/// last call on the handle.
pub struct otlpx_exporter {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) exporter: Exporter,
    pub(crate) sampler: Sampler,
    pub(crate) limits: SpanLimits,
    closed: Arc<AtomicBool>,
    /// Ended span handles kept for reuse (bounded), so the start/end API
    /// allocates nothing in steady state. Boxed: a handle's address is what C holds.
    #[allow(clippy::vec_box)]
    pub(crate) pool: Mutex<Vec<Box<otlpx_span>>>,
}

impl Inner {
    /// Converts a span in this thread's scratch arena and records it; a span
    /// that does not convert is counted as `invalid` and its code returned.
    pub(crate) fn record_with(
        &self,
        scope: u32,
        convert: impl for<'b> FnOnce(&'b Bump) -> Result<otlpx_core::Span<'b>, otlpx_result>,
    ) -> otlpx_result {
        with_scratch(|bump| match convert(bump) {
            Ok(s) => self.record(scope, &s),
            Err(code) => {
                self.exporter.refuse(DropReason::Invalid);
                code
            }
        })
    }

    /// Records a converted span, mapping a drop to its result code.
    pub(crate) fn record(&self, scope: u32, span: &otlpx_core::Span<'_>) -> otlpx_result {
        let Ok(scope) = u16::try_from(scope) else {
            self.exporter.refuse(DropReason::Invalid);
            return otlpx_result::InvalidScope;
        };
        match self.exporter.record(ScopeId(scope), span) {
            Ok(()) => otlpx_result::Ok,
            Err(reason) => otlpx_result::from_drop(reason),
        }
    }
}

/// What a flush or shutdown achieved by its deadline.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_outcome {
    /// 1 when the deadline passed before every queued span was exported or dropped.
    pub timed_out: u8,
    /// Spans exported during the call.
    pub exported: u64,
    /// Spans dropped during the call, any reason.
    pub dropped: u64,
    /// Spans still queued or in flight when the call returned.
    pub pending: u64,
}

impl From<ExportOutcome> for otlpx_outcome {
    fn from(o: ExportOutcome) -> Self {
        otlpx_outcome {
            timed_out: u8::from(o.timed_out),
            exported: o.exported,
            dropped: o.dropped,
            pending: o.pending,
        }
    }
}

/// The reasons a span is dropped (`otlpx_drop_reason_name` names them).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_drop_reason {
    /// The queue was full when the span ended.
    QueueFull = 0,
    /// The span alone is larger than a whole batch.
    TooLarge = 1,
    /// Export failed after the retries the policy allows.
    ExportFailed = 2,
    /// The receiver refused the spans (4xx, or partial success).
    Rejected = 3,
    /// The exporter was shut down (or its deadline passed) first.
    Shutdown = 4,
    /// The span was invalid (bad input, unknown scope).
    Invalid = 5,
    /// The circuit breaker was open after repeated failures.
    CircuitOpen = 6,
    /// The SDK is disabled.
    Disabled = 7,
}

/// Counters of an exporter, read at any time (`otlpx_exporter_stats`).
/// `accepted = exported + dropped_* (all reasons) + pending`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct otlpx_stats {
    /// Spans handed to record (kept or not).
    pub accepted: u64,
    /// Spans the receiver accepted.
    pub exported: u64,
    /// Spans queued or in flight.
    pub pending: u64,
    /// Dropped: the queue was full.
    pub dropped_queue_full: u64,
    /// Dropped: larger than a batch.
    pub dropped_too_large: u64,
    /// Dropped: export failed after retries.
    pub dropped_export_failed: u64,
    /// Dropped: refused by the receiver.
    pub dropped_rejected: u64,
    /// Dropped: shut down first.
    pub dropped_shutdown: u64,
    /// Dropped: invalid input.
    pub dropped_invalid: u64,
    /// Dropped: circuit breaker open.
    pub dropped_circuit_open: u64,
    /// Dropped: SDK disabled.
    pub dropped_disabled: u64,
    /// Bytes of encoded spans accepted into the queue.
    pub bytes_encoded: u64,
    /// Batches handed to the transport.
    pub batches: u64,
    /// Requests answered 2xx.
    pub requests_success: u64,
    /// Requests that failed retryably (429/502/503/504, connection errors, timeouts).
    pub requests_retryable: u64,
    /// Requests that failed permanently.
    pub requests_permanent: u64,
    /// Retries made.
    pub retries: u64,
    /// Times the circuit breaker opened.
    pub circuit_opened: u64,
    /// The last HTTP status received (0 = none yet).
    pub last_http_status: u32,
    /// Unix nanoseconds of the last successful export (0 = none yet).
    pub last_success_unix_nano: u64,
}

fn exporter_ref<'a>(exp: *const otlpx_exporter) -> Result<&'a Inner, otlpx_result> {
    // SAFETY: a non-null pointer comes from otlpx_exporter_new and is not yet freed (caller's contract).
    unsafe { exp.as_ref() }
        .map(|e| &*e.inner)
        .ok_or(otlpx_result::NullParameter)
}

fn send_callback_transport(cb: SendCallback, config: &Config, closed: Arc<AtomicBool>) -> Box<dyn Transport> {
    let url = config.endpoint().to_owned();
    let headers: Vec<(String, String)> = config.headers().to_vec();
    Box::new(FnTransport::new(
        "the host's send callback",
        move |req: &ExportRequest<'_>| -> Result<ExportResponse, TransportError> {
            if closed.load(Ordering::Acquire) {
                return Err(TransportError::Other("the exporter was freed".into()));
            }
            let hdrs: Vec<otlpx_header> = headers
                .iter()
                .map(|(n, v)| otlpx_header {
                    name: n.as_ptr().cast(),
                    name_len: n.len(),
                    value: v.as_ptr().cast(),
                    value_len: v.len(),
                })
                .collect();
            let encoding = req.content_encoding.unwrap_or("");
            let creq = otlpx_export_request {
                url: url.as_ptr().cast(),
                url_len: url.len(),
                headers: hdrs.as_ptr(),
                headers_len: hdrs.len(),
                body: req.body.as_ptr(),
                body_len: req.body.len(),
                content_type: req.content_type.as_ptr().cast(),
                content_type_len: req.content_type.len(),
                content_encoding: if encoding.is_empty() {
                    std::ptr::null()
                } else {
                    encoding.as_ptr().cast()
                },
                content_encoding_len: encoding.len(),
                timeout_ms: u64::try_from(req.timeout.as_millis()).unwrap_or(u64::MAX),
                spans: req.spans,
            };
            let mut resp = otlpx_export_response {
                status: 0,
                retry_after: None,
                body: Vec::new(),
                error: None,
            };
            let code = cb.call(&creq, &mut resp);
            let error = |default: &str| resp.error.clone().unwrap_or_else(|| default.to_owned());
            match code {
                0 if resp.status != 0 => Ok(ExportResponse {
                    status: resp.status,
                    retry_after: resp.retry_after,
                    body: resp.body,
                }),
                0 => Err(TransportError::Other(
                    "the send callback returned OK without setting a status".into(),
                )),
                1 => Err(TransportError::Connect(error("connection failed (send callback)"))),
                2 => Err(TransportError::Timeout(error("timed out (send callback)"))),
                _ => Err(TransportError::Other(error("the send callback failed"))),
            }
        },
    ))
}

/// Creates an exporter and starts its background thread. With `cfg` NULL
/// the configuration comes from the environment (`OTEL_*`) and defaults
/// alone. Configuration warnings go to the log callback (standard error
/// without one); a bad value never fails creation, it falls back to the
/// default. Fails with `OTLPX_RESULT_UNSUPPORTED` for the gRPC protocol
/// (until the gRPC transport lands) and `OTLPX_RESULT_CONFIG` when the
/// transport cannot be built (e.g. an unreadable certificate file).
///
/// Registers a `pthread_atfork` child handler (once per process) so a forked
/// child never repeats its parent's trace and span ids. The exporter itself
/// does not survive `fork`: create a new one in the child.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_new(cfg: *const otlpx_config, out: *mut *mut otlpx_exporter) -> otlpx_result {
    ffi_boundary!({
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        crate::context::register_atfork();
        let default_cfg;
        // SAFETY: a non-null config pointer comes from otlpx_config_new.
        let cfg = match unsafe { cfg.as_ref() } {
            Some(c) => c,
            None => {
                default_cfg = otlpx_config::default();
                &default_cfg
            }
        };
        let closed = Arc::new(AtomicBool::new(false));
        let logger = cfg.logger(closed.clone());
        let (config, warnings) = cfg.resolve();
        for w in &warnings {
            logger.warn(&w.to_string());
        }
        if config.protocol() == Protocol::Grpc && cfg.send.is_none() {
            logger.error(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported yet (it comes with the gRPC transport); \
                 use http/protobuf with the OTLP/HTTP port 4318",
            );
            return otlpx_result::Unsupported;
        }
        let sampler = config.sampler();
        let limits = config.span_limits();
        let mut builder = Exporter::builder()
            .logger(logger.clone())
            .sdk_language(cfg.sdk_language.clone());
        if let Some((name, version)) = &cfg.scope {
            builder = builder.default_scope(name.clone(), version.clone());
        }
        if let Some(cb) = &cfg.send {
            builder = builder.transport(send_callback_transport(cb.clone(), &config, closed.clone()));
        }
        let exporter = match builder.config(config).build() {
            Ok(e) => e,
            Err(e) => {
                logger.error(&format!("cannot create the exporter: {e}"));
                return otlpx_result::Config;
            }
        };
        let handle = otlpx_exporter {
            inner: Arc::new(Inner {
                exporter,
                sampler,
                limits,
                closed,
                pool: Mutex::new(Vec::new()),
            }),
        };
        // SAFETY: out checked non-null.
        unsafe { *out = Box::into_raw(Box::new(handle)) };
        otlpx_result::Ok
    })
}

/// Shuts the exporter down (waiting up to its export timeout,
/// `OTEL_BSP_EXPORT_TIMEOUT`, for queued spans to go out) and releases it.
/// NULL does nothing. Call `otlpx_exporter_shutdown` first to choose the
/// deadline and see the outcome. After this returns no callback is called
/// again, except a send callback already in progress (which must still find
/// its userdata valid until it returns). Span handles still open stay
/// usable; ending them counts their spans as dropped (`shutdown`).
///
/// Thread safety: must be the last call on this exporter; no other thread may
/// use the handle during or after it.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_free(exp: *mut otlpx_exporter) {
    let _ = ffi_boundary!({
        if exp.is_null() {
            return otlpx_result::Ok;
        }
        // SAFETY: a pointer from otlpx_exporter_new, freed once (caller's contract).
        let exp = unsafe { Box::from_raw(exp) };
        let timeout = exp.inner.exporter.config().export_timeout();
        exp.inner.exporter.shutdown(timeout);
        exp.inner.closed.store(true, Ordering::Release);
        drop(exp);
        otlpx_result::Ok
    });
}

/// Registers an instrumentation scope and writes its id to `*out_scope`.
/// Spans name their scope by this id. At most 1024 scopes per exporter.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_add_scope(
    exp: *const otlpx_exporter,
    scope: *const otlpx_scope,
    out_scope: *mut u32,
) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        // SAFETY: caller's contract for a non-null scope.
        let Some(scope) = (unsafe { scope.as_ref() }) else {
            return otlpx_result::NullParameter;
        };
        if out_scope.is_null() {
            return otlpx_result::NullParameter;
        }
        let id = with_scratch(|bump| {
            let s = unsafe { value::scope(bump, scope)? };
            inner.exporter.add_scope(&s).map_err(|e| match e {
                BatchError::TooManyScopes => otlpx_result::TooManyScopes,
                BatchError::InvalidConfig(_) => otlpx_result::InvalidArgument,
            })
        });
        let id = tri!(id);
        // SAFETY: checked non-null.
        unsafe { *out_scope = u32::from(id.0) };
        otlpx_result::Ok
    })
}

/// Writes the id of the default scope (named by
/// `otlpx_config_set_default_scope`, "otlpx" otherwise) to `*out_scope`.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_default_scope(exp: *const otlpx_exporter, out_scope: *mut u32) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        if out_scope.is_null() {
            return otlpx_result::NullParameter;
        }
        // SAFETY: checked non-null.
        unsafe { *out_scope = u32::from(inner.exporter.default_scope().0) };
        otlpx_result::Ok
    })
}

/// Records a finished span under scope `scope`: encodes it into the queue
/// before returning (nothing in `span` is kept) and never blocks on I/O.
/// The sampler is not consulted (the host decided); use `otlpx_span_start`
/// for spans the configured sampler should decide on.
///
/// Every call counts the span as accepted; a span that is not queued is
/// counted under a drop reason and the result says which:
/// `OTLPX_RESULT_QUEUE_FULL`, `_TOO_LARGE`, `_SHUT_DOWN`, `_DISABLED`,
/// `_INVALID_SCOPE`, or, for bad input (`_NULL_PARAMETER`,
/// `_INVALID_ARGUMENT`, `_INVALID_UTF8`), `invalid`.
///
/// Thread safety: callable from any number of threads at once.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_record(
    exp: *const otlpx_exporter,
    scope: u32,
    span: *const otlpx_span_data,
) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        inner.record_with(scope, |bump| {
            // SAFETY: caller's contract for a non-null span.
            let span = unsafe { span.as_ref() }.ok_or(otlpx_result::NullParameter)?;
            unsafe { value::span(bump, span, &inner.limits) }
        })
    })
}

/// Records a finished span given in packed form: `otlpx_exporter_record`
/// for bindings that cannot hand C a struct holding pointers (Go's cgo).
/// Every string and byte value is an (offset, length) into `data`; the
/// span's attributes are `attributes`; event and link attributes and the
/// elements of arrays and key-value lists are index ranges into `nested`
/// (see `otlpx_packed_value`). Nothing is kept after the call. An offset,
/// length or index out of range is `OTLPX_RESULT_INVALID_ARGUMENT`; the other
/// results, the counting and the thread safety are `otlpx_exporter_record`'s.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn otlpx_exporter_record_packed(
    exp: *const otlpx_exporter,
    scope: u32,
    span: *const otlpx_packed_span,
    attributes: *const otlpx_packed_attribute,
    attributes_len: usize,
    nested: *const otlpx_packed_attribute,
    nested_len: usize,
    events: *const otlpx_packed_event,
    events_len: usize,
    links: *const otlpx_packed_link,
    links_len: usize,
    data: *const u8,
    data_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        // SAFETY (all below): the caller's contract for pointer + length arguments.
        inner.record_with(scope, |bump| {
            let p = packed::Packed {
                span: unsafe { span.as_ref() }.ok_or(otlpx_result::NullParameter)?,
                attributes: unsafe { slice_arg(attributes, attributes_len)? },
                nested: unsafe { slice_arg(nested, nested_len)? },
                events: unsafe { slice_arg(events, events_len)? },
                links: unsafe { slice_arg(links, links_len)? },
                data: unsafe { slice_arg(data, data_len)? },
            };
            packed::span(bump, &p, &inner.limits)
        })
    })
}

fn outcome_result(o: ExportOutcome, out: *mut otlpx_outcome) -> otlpx_result {
    if !out.is_null() {
        // SAFETY: checked non-null; caller's contract for a writable outcome.
        unsafe { *out = o.into() };
    }
    if o.timed_out {
        otlpx_result::Timeout
    } else if o.dropped > 0 {
        otlpx_result::SpansDropped
    } else {
        otlpx_result::Ok
    }
}

/// Exports everything queued now, waiting at most `timeout_ms`. Returns OK
/// when everything went out, `OTLPX_RESULT_TIMEOUT` when the deadline passed
/// first, `OTLPX_RESULT_SPANS_DROPPED` when spans were dropped meanwhile.
/// In all three cases `*out` (may be NULL) receives the outcome. Never waits
/// past the deadline, whatever the receiver does.
///
/// Thread safety: callable from any thread (not from the exporter's callbacks).
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_force_flush(
    exp: *const otlpx_exporter,
    timeout_ms: u64,
    out: *mut otlpx_outcome,
) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        outcome_result(inner.exporter.force_flush(Duration::from_millis(timeout_ms)), out)
    })
}

/// Stops accepting spans, exports what is queued, and stops the background
/// thread, waiting at most `timeout_ms`. Results and `*out` as
/// `otlpx_exporter_force_flush`. Spans recorded afterwards are dropped
/// (`shutdown`). A second call never waits past the first call's deadline.
/// The handle stays valid until `otlpx_exporter_free`.
///
/// Thread safety: callable from any thread (not from the exporter's callbacks).
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_shutdown(
    exp: *const otlpx_exporter,
    timeout_ms: u64,
    out: *mut otlpx_outcome,
) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        outcome_result(inner.exporter.shutdown(Duration::from_millis(timeout_ms)), out)
    })
}

/// Writes the exporter's counters to `*out`. Cheap (atomic loads).
///
/// Thread safety: callable from any number of threads at once.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_stats(exp: *const otlpx_exporter, out: *mut otlpx_stats) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        let s = inner.exporter.stats();
        let d = |r: DropReason| s.dropped_for(r);
        let stats = otlpx_stats {
            accepted: s.accepted,
            exported: s.exported,
            pending: s.pending(),
            dropped_queue_full: d(DropReason::QueueFull),
            dropped_too_large: d(DropReason::TooLarge),
            dropped_export_failed: d(DropReason::ExportFailed),
            dropped_rejected: d(DropReason::Rejected),
            dropped_shutdown: d(DropReason::Shutdown),
            dropped_invalid: d(DropReason::Invalid),
            dropped_circuit_open: d(DropReason::CircuitOpen),
            dropped_disabled: d(DropReason::Disabled),
            bytes_encoded: s.bytes_encoded,
            batches: s.batches,
            requests_success: s.requests_for(RequestOutcome::Success),
            requests_retryable: s.requests_for(RequestOutcome::Retryable),
            requests_permanent: s.requests_for(RequestOutcome::Permanent),
            retries: s.retries,
            circuit_opened: s.circuit_opened,
            last_http_status: u32::from(s.last_http_status),
            last_success_unix_nano: s.last_success_unix_nano,
        };
        // SAFETY: checked non-null.
        unsafe { *out = stats };
        otlpx_result::Ok
    })
}

/// Writes the last export error's text (empty when none) into `buf`. On OK
/// and on `OTLPX_RESULT_BUFFER_TOO_SMALL`, `*out_len` receives the full
/// length; a NUL is appended when `buf_len` leaves room.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_last_error(
    exp: *const otlpx_exporter,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        let text = inner.exporter.stats().last_error.unwrap_or_default();
        unsafe { write_string(&text, buf, buf_len, out_len) }
    })
}

/// Writes the exporter's effective configuration, one `name = value
/// (origin)` line per setting, secrets redacted (`kf-api-key=****`).
/// Lengths as `otlpx_exporter_last_error`.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_config_string(
    exp: *const otlpx_exporter,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        let text = inner.exporter.config().to_string();
        unsafe { write_string(&text, buf, buf_len, out_len) }
    })
}

/// Writes to `*out` the most memory, in bytes, the exporter's buffers can
/// take (queue, request and compression buffers), whatever the load.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_exporter_memory_bound(exp: *const otlpx_exporter, out: *mut usize) -> otlpx_result {
    ffi_boundary!({
        let inner = tri!(exporter_ref(exp));
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        // SAFETY: checked non-null.
        unsafe { *out = inner.exporter.memory_bound() };
        otlpx_result::Ok
    })
}

/// The name of a drop reason (`"queue_full"`, ...), static and
/// NUL-terminated; "unknown" for an unknown value. Never NULL.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub extern "C" fn otlpx_drop_reason_name(reason: u32) -> *const c_char {
    const NAMES: [&str; 8] = [
        "queue_full\0",
        "too_large\0",
        "export_failed\0",
        "rejected\0",
        "shutdown\0",
        "invalid\0",
        "circuit_open\0",
        "disabled\0",
    ];
    debug_assert!(DropReason::ALL
        .iter()
        .zip(NAMES)
        .all(|(r, n)| n.trim_end_matches('\0') == r.name()));
    NAMES
        .get(reason as usize)
        .copied()
        .unwrap_or("unknown\0")
        .as_ptr()
        .cast()
}
