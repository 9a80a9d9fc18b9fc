//! otlpx-ffi: the C ABI over otlpx-core (`include/otlpx.h`, generated from
//! this crate by cbindgen).
//!
//! Owns: C types, result codes and the translation of C arguments into core
//! calls. Must not: hold behaviour of its own (batching, encoding, retry and
//! sampling live in core), let a panic unwind into C, trust a pointer, a
//! length, a discriminant or a string from C before checking it.
//!
//! Conventions (after rustls-ffi and the wasmtime C API):
//! - every exported function runs behind [`ffi_boundary!`]: a panic becomes
//!   [`otlpx_result::Panic`], never an unwind into C;
//! - one result enum, [`otlpx_result`], with [`otlpx_result_message`];
//! - out-parameters are written only when the function returns
//!   `OTLPX_RESULT_OK` (exceptions are named in the function's comment);
//! - strings and bytes are pointer + length, `(NULL, 0)` is the empty string,
//!   strings must be UTF-8 (`OTLPX_RESULT_INVALID_UTF8` otherwise);
//! - every `*_free` accepts NULL and does nothing;
//! - enum-typed inputs travel as integers and are range-checked, so a bad
//!   value from C is an error, never undefined behaviour;
//! - every function states its thread safety.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::os::raw::c_char;

mod config;
mod context;
mod exporter;
mod packed;
mod span;
mod value;

pub use config::*;
pub use context::*;
pub use exporter::*;
pub use packed::*;
pub use span::*;
pub use value::*;

/// Result codes of every otlpx function. `OTLPX_RESULT_OK` is 0.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_result {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL (or a pointer was NULL with a non-zero length).
    NullParameter = 1,
    /// An argument is out of range: an unknown enum value, a length too large,
    /// a misaligned array, values nested too deeply.
    InvalidArgument = 2,
    /// A string is not valid UTF-8.
    InvalidUtf8 = 3,
    /// An output buffer is too small; the length needed was written.
    BufferTooSmall = 4,
    /// The exporter could not be built from its configuration (the log
    /// callback or standard error says why).
    Config = 5,
    /// The span was dropped: the queue is full (counted as `queue_full`).
    QueueFull = 6,
    /// The span was dropped: larger than a whole batch (counted as `too_large`).
    TooLarge = 7,
    /// The span was dropped: the exporter is shut down (counted as `shutdown`).
    ShutDown = 8,
    /// The span was dropped: `OTEL_SDK_DISABLED` is true (counted as `disabled`).
    Disabled = 9,
    /// The span was dropped: its scope id was never issued by this exporter
    /// (counted as `invalid`).
    InvalidScope = 10,
    /// A flush or shutdown reached its deadline before every span was exported
    /// or dropped. The outcome was written.
    Timeout = 11,
    /// A flush or shutdown finished, but some spans were dropped meanwhile
    /// (see the outcome and the stats). The outcome was written.
    SpansDropped = 12,
    /// Too many scopes (at most 1024 per exporter).
    TooManyScopes = 13,
    /// The requested feature is not in this build (e.g. the gRPC protocol).
    Unsupported = 14,
    /// A panic inside otlpx was caught at the boundary. A bug: please report it.
    Panic = 15,
    /// The span handle was already ended (it is still consumed by end).
    AlreadyEnded = 16,
    /// A traceparent or tracestate header is malformed (W3C Trace Context):
    /// start a new trace.
    InvalidHeader = 17,
}

impl otlpx_result {
    /// The static, NUL-terminated message for this code.
    pub fn message(self) -> &'static str {
        match self {
            otlpx_result::Ok => "ok\0",
            otlpx_result::NullParameter => "a required pointer argument was NULL\0",
            otlpx_result::InvalidArgument => "an argument is out of range\0",
            otlpx_result::InvalidUtf8 => "a string argument is not valid UTF-8\0",
            otlpx_result::BufferTooSmall => "the output buffer is too small\0",
            otlpx_result::Config => "the exporter could not be built from its configuration\0",
            otlpx_result::QueueFull => "span dropped: the export queue is full\0",
            otlpx_result::TooLarge => "span dropped: it is larger than a whole export batch\0",
            otlpx_result::ShutDown => "span dropped: the exporter is shut down\0",
            otlpx_result::Disabled => "span dropped: the SDK is disabled (OTEL_SDK_DISABLED)\0",
            otlpx_result::InvalidScope => "span dropped: unknown scope id\0",
            otlpx_result::Timeout => "the deadline passed before every span was exported\0",
            otlpx_result::SpansDropped => "finished, but some spans were dropped\0",
            otlpx_result::TooManyScopes => "too many instrumentation scopes\0",
            otlpx_result::Unsupported => "not supported by this build\0",
            otlpx_result::Panic => "internal error: a panic was caught at the C boundary\0",
            otlpx_result::AlreadyEnded => "the span was already ended\0",
            otlpx_result::InvalidHeader => "malformed trace context header\0",
        }
    }

    pub(crate) fn from_drop(reason: otlpx_core::DropReason) -> otlpx_result {
        use otlpx_core::DropReason as R;
        match reason {
            R::QueueFull => otlpx_result::QueueFull,
            R::TooLarge => otlpx_result::TooLarge,
            R::Shutdown => otlpx_result::ShutDown,
            R::Disabled => otlpx_result::Disabled,
            R::Invalid => otlpx_result::InvalidScope,
            // Not produced by record; mapped for completeness.
            R::ExportFailed | R::Rejected | R::CircuitOpen => otlpx_result::SpansDropped,
        }
    }
}

/// Runs `$body` (an expression of type `otlpx_result`) under `catch_unwind`;
/// a panic becomes `otlpx_result::Panic`. Every `extern "C"` function that can
/// fail goes through here.
macro_rules! ffi_boundary {
    ($body:expr) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> $crate::otlpx_result { $body })) {
            Ok(r) => r,
            Err(_) => $crate::otlpx_result::Panic,
        }
    };
}
pub(crate) use ffi_boundary;

/// Early return of an error code from inside [`ffi_boundary!`].
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}
pub(crate) use tri;

/// The static, NUL-terminated message for a result code (unknown codes get
/// "unknown result code"). Never NULL.
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn otlpx_result_message(result: u32) -> *const c_char {
    let msg = match result_from_u32(result) {
        Some(r) => r.message(),
        None => "unknown result code\0",
    };
    msg.as_ptr().cast()
}

fn result_from_u32(v: u32) -> Option<otlpx_result> {
    use otlpx_result as R;
    const ALL: [otlpx_result; 18] = [
        R::Ok,
        R::NullParameter,
        R::InvalidArgument,
        R::InvalidUtf8,
        R::BufferTooSmall,
        R::Config,
        R::QueueFull,
        R::TooLarge,
        R::ShutDown,
        R::Disabled,
        R::InvalidScope,
        R::Timeout,
        R::SpansDropped,
        R::TooManyScopes,
        R::Unsupported,
        R::Panic,
        R::AlreadyEnded,
        R::InvalidHeader,
    ];
    ALL.get(v as usize).copied()
}

/// The version of otlpx as a static NUL-terminated string.
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn otlpx_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

// ---------------------------------------------------------------------------
// Argument checks shared by every module.

/// A UTF-8 string from pointer + length; `(NULL, 0)` and `(p, 0)` are "".
///
/// # Safety
/// When `len > 0`, `ptr` must point to `len` readable bytes that stay valid
/// and unchanged for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, otlpx_result> {
    utf8(unsafe { bytes_arg(ptr.cast(), len)? })
}

/// `bytes` as UTF-8. Short ASCII strings (most keys and values) take a
/// branch-free check instead of the general validator's per-call set-up.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, otlpx_result> {
    if bytes.len() <= 64 && bytes.iter().fold(0u8, |acc, &b| acc | b) < 0x80 {
        // SAFETY: every byte is ASCII, and ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).map_err(|_| otlpx_result::InvalidUtf8)
}

/// Bytes from pointer + length; `(NULL, 0)` is empty.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], otlpx_result> {
    slice_arg(ptr, len)
}

/// A slice of `len` `T`s; `(NULL, 0)` is empty. Checks NULL, the length
/// (`len * size_of::<T>() <= isize::MAX`) and alignment.
///
/// # Safety
/// When `len > 0`, `ptr` must point to `len` initialised `T`s valid for `'a`.
pub(crate) unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], otlpx_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(otlpx_result::NullParameter);
    }
    let size = std::mem::size_of::<T>().max(1);
    if len > isize::MAX as usize / size {
        return Err(otlpx_result::InvalidArgument);
    }
    if !ptr.is_aligned() {
        return Err(otlpx_result::InvalidArgument);
    }
    // SAFETY: non-null, aligned, length in range; validity is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Writes `s` into the caller's buffer (not NUL-terminated unless room
/// allows: a NUL is appended when `cap > s.len()`), and its length to
/// `out_len`. On `BufferTooSmall`, `out_len` still receives the length needed.
///
/// # Safety
/// `buf` must point to `cap` writable bytes (or be NULL with `cap == 0`).
pub(crate) unsafe fn write_string(s: &str, buf: *mut c_char, cap: usize, out_len: *mut usize) -> otlpx_result {
    if out_len.is_null() || (buf.is_null() && cap > 0) {
        return otlpx_result::NullParameter;
    }
    // SAFETY: out_len checked non-null above.
    unsafe { *out_len = s.len() };
    if cap < s.len() {
        return otlpx_result::BufferTooSmall;
    }
    if !s.is_empty() {
        // SAFETY: buf has cap >= s.len() writable bytes (caller's contract), non-null since cap > 0.
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), s.len()) };
    }
    if cap > s.len() {
        // SAFETY: index s.len() < cap.
        unsafe { *buf.add(s.len()) = 0 };
    }
    otlpx_result::Ok
}
