//! otlpx-wasm: the WebAssembly frontend over otlpx-core (wasm-bindgen
//! classes, a JS `fetch` driver). Thin until the WebAssembly issue fills it.

/// The version of otlpx.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
