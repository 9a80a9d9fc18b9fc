//! otlpx-ffi: the C ABI over otlpx-core. Every function is a short
//! translation into core behind a panic boundary; `include/otlpx.h` is
//! generated from this crate by cbindgen.
//!
//! This crate is thin until the C ABI issue fills it.

/// The version of otlpx as a static NUL-terminated string.
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn otlpx_version() -> *const std::os::raw::c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}
