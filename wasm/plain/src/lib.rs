//! otlpx for wasm hosts without JavaScript: a plain C-ABI WebAssembly module
//! (no wasm-bindgen, no WASI, no imports) over otlpx-core's encoder.
//!
//! Owns: the exports a host calls (memory in and out, encode, result codes and
//! their messages) and the translation of their arguments into [`input`].
//! Must not: encode protobuf (otlpx-core does), panic across an export,
//! or hold state other than the offset of the last refused input.
//!
//! # The host's side
//! 1. `otlpx_plain_alloc(n)` → `p`; write the input (layout in [`input`] and
//!    `README.md`) to `p..p + n` of the module's memory.
//! 2. Allocate 8 bytes (`q`) for the two out-parameters (two `u32` on wasm32;
//!    they need no alignment).
//! 3. `otlpx_plain_encode(p, n, q, q + 4)` → result code. On `0` (`Ok`), `q`
//!    holds the request's pointer and `q + 4` its length: the bytes of an
//!    `ExportTraceServiceRequest`, ready to send to `/v1/traces`.
//! 4. `otlpx_plain_free(request_ptr, request_len)`, `otlpx_plain_free(p, n)`,
//!    `otlpx_plain_free(q, 8)`.
//!
//! Every export is safe to call with any integers: NULL and out-of-range
//! inputs are result codes. Pointers must point into the module's memory, as
//! they always do when a wasm host passes offsets.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod input;

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use input::{encode_input, InputError, InputErrorKind, InputWriter, MAGIC, MAX_DEPTH, VERSION};

/// The version of the exports and of the input layout.
pub const ABI_VERSION: u32 = 1;

/// The result codes of every export. `Ok` is 0; codes 3 to 10 are the
/// input's [`InputErrorKind`]s, with the same numbers.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum otlpx_plain_result {
    /// Success.
    Ok = 0,
    /// A pointer argument was NULL where data or an out-parameter is needed.
    NullParameter = 1,
    /// An argument was out of range.
    InvalidArgument = 2,
    /// The input ends before its layout does.
    Truncated = 3,
    /// The input does not start with `OXPI`.
    BadMagic = 4,
    /// The input's layout version is not supported.
    UnsupportedVersion = 5,
    /// A string in the input is not UTF-8.
    InvalidUtf8 = 6,
    /// A value type, span kind, status code, bool or `has_parent` byte is out of range.
    InvalidTag = 7,
    /// Attribute values nest too deep.
    TooDeep = 8,
    /// Bytes follow the input's last group.
    TrailingBytes = 9,
    /// Memory could not be allocated.
    OutOfMemory = 10,
    /// A bug: otlpx panicked (only reachable on native builds; wasm traps).
    Panic = 11,
}

impl otlpx_plain_result {
    /// A static, NUL-terminated description.
    pub fn message(self) -> &'static str {
        use otlpx_plain_result as R;
        match self {
            R::Ok => "ok\0",
            R::NullParameter => "a required pointer was NULL\0",
            R::InvalidArgument => "an argument was out of range\0",
            R::Truncated => "the input ends before its layout does\0",
            R::BadMagic => "the input does not start with OXPI\0",
            R::UnsupportedVersion => "unsupported input layout version\0",
            R::InvalidUtf8 => "a string in the input is not UTF-8\0",
            R::InvalidTag => "a value type, kind, status code or flag byte is out of range\0",
            R::TooDeep => "attribute values nest too deep\0",
            R::TrailingBytes => "bytes follow the input's last group\0",
            R::OutOfMemory => "out of memory\0",
            R::Panic => "otlpx panicked (a bug)\0",
        }
    }

    const ALL: [otlpx_plain_result; 12] = {
        use otlpx_plain_result as R;
        [
            R::Ok,
            R::NullParameter,
            R::InvalidArgument,
            R::Truncated,
            R::BadMagic,
            R::UnsupportedVersion,
            R::InvalidUtf8,
            R::InvalidTag,
            R::TooDeep,
            R::TrailingBytes,
            R::OutOfMemory,
            R::Panic,
        ]
    };
}

impl From<InputErrorKind> for otlpx_plain_result {
    fn from(k: InputErrorKind) -> Self {
        use otlpx_plain_result as R;
        match k {
            InputErrorKind::Truncated => R::Truncated,
            InputErrorKind::BadMagic => R::BadMagic,
            InputErrorKind::UnsupportedVersion => R::UnsupportedVersion,
            InputErrorKind::InvalidUtf8 => R::InvalidUtf8,
            InputErrorKind::InvalidTag => R::InvalidTag,
            InputErrorKind::TooDeep => R::TooDeep,
            InputErrorKind::TrailingBytes => R::TrailingBytes,
            InputErrorKind::OutOfMemory => R::OutOfMemory,
        }
    }
}

/// Where the last refused input went wrong (byte offset), for hosts' error messages.
static LAST_ERROR_OFFSET: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` so that a panic becomes [`otlpx_plain_result::Panic`] (native
/// builds; on wasm32 a panic aborts, which the host sees as a trap).
fn boundary(f: impl FnOnce() -> otlpx_plain_result) -> u32 {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(otlpx_plain_result::Panic) as u32
}

/// The version of the exports and of the input layout ([`ABI_VERSION`]).
#[no_mangle]
pub extern "C" fn otlpx_plain_abi_version() -> u32 {
    ABI_VERSION
}

/// Allocates `len` zeroed bytes for the host to write an input into.
/// Returns NULL when `len` is 0 or the memory cannot be allocated.
/// Release with `otlpx_plain_free(ptr, len)`.
#[no_mangle]
pub extern "C" fn otlpx_plain_alloc(len: usize) -> *mut u8 {
    if len == 0 {
        return std::ptr::null_mut();
    }
    match std::alloc::Layout::array::<u8>(len) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { std::alloc::alloc_zeroed(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Releases `len` bytes at `ptr` returned by `otlpx_plain_alloc(len)` or by
/// `otlpx_plain_encode` (with the length it returned). NULL does nothing.
///
/// # Safety
/// `ptr` must be NULL or come from one of those calls with this same `len`,
/// and not be freed twice.
#[no_mangle]
pub unsafe extern "C" fn otlpx_plain_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: per the contract, `ptr` is an allocation of exactly `len` bytes
    // with alignment 1: the layout of a `Box<[u8]>` of that length.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
}

/// Encodes the input at `input .. input + input_len` (see [`input`]) as an
/// `ExportTraceServiceRequest`. On success writes the request's pointer to
/// `*out_ptr` and its length to `*out_len` (unaligned writes are fine) and
/// returns 0; the caller frees the request with `otlpx_plain_free`. On error
/// returns the code and writes nothing; `otlpx_plain_error_offset()` then
/// tells where the input went wrong. `(NULL, 0)` is the empty input.
///
/// # Safety
/// `input` must be NULL or valid for `input_len` bytes; `out_ptr` and
/// `out_len` must be NULL or valid for writes of a pointer and a `usize`.
#[no_mangle]
pub unsafe extern "C" fn otlpx_plain_encode(
    input: *const u8,
    input_len: usize,
    out_ptr: *mut *mut u8,
    out_len: *mut usize,
) -> u32 {
    boundary(|| {
        if out_ptr.is_null() || out_len.is_null() || (input.is_null() && input_len != 0) {
            return otlpx_plain_result::NullParameter;
        }
        let input: &[u8] = if input_len == 0 {
            &[]
        } else {
            // SAFETY: non-NULL and valid for `input_len` bytes per the contract.
            unsafe { std::slice::from_raw_parts(input, input_len) }
        };
        match encode_input(input) {
            Ok(request) => {
                let len = request.len();
                let ptr = Box::into_raw(request.into_boxed_slice()).cast::<u8>();
                // SAFETY: both are non-NULL and valid for writes per the contract.
                unsafe {
                    out_ptr.write_unaligned(ptr);
                    out_len.write_unaligned(len);
                }
                otlpx_plain_result::Ok
            }
            Err(e) => {
                LAST_ERROR_OFFSET.store(e.offset, Ordering::Relaxed);
                e.kind.into()
            }
        }
    })
}

/// The byte offset in the input where the last refused `otlpx_plain_encode`
/// call found the fault (0 before any).
#[no_mangle]
pub extern "C" fn otlpx_plain_error_offset() -> usize {
    LAST_ERROR_OFFSET.load(Ordering::Relaxed)
}

/// The static, NUL-terminated message of a result code ("unknown result code"
/// for numbers that are none). Never NULL.
#[no_mangle]
pub extern "C" fn otlpx_plain_result_message(code: u32) -> *const c_char {
    let msg = otlpx_plain_result::ALL
        .iter()
        .find(|r| **r as u32 == code)
        .map_or("unknown result code\0", |r| r.message());
    msg.as_ptr().cast()
}
