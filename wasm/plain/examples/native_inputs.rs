//! Writes the wasm host test's inputs and the native encoder's requests for
//! them: for each case, `<case>.input` (the plain input layout) and
//! `<case>.native.pb` (the `ExportTraceServiceRequest` this crate's
//! `encode_input` produces natively: the very code the wasm module runs).
//! Before writing, checks the native bytes against paths that do not read the
//! plain input at all: the standard batch through otlpx-core's batcher (and its
//! length and FNV-1a constants), the every-kind batch through
//! `envelope::encode_request`.
//! Must not: load wasm (host_test.py does).
//!
//! Usage: `cargo run -p otlpx-wasm-plain --example native_inputs -- <out dir>`

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::path::PathBuf;
use std::process::ExitCode;

use otlpx_benches::{fnv1a64, StandardBatch, STANDARD_REQUEST_FNV1A64, STANDARD_REQUEST_LEN};
use otlpx_core::encode::SpanLimits;
use otlpx_wasm_plain::encode_input;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: native_inputs <out dir>");
        return ExitCode::from(2);
    };
    let cases: [(&str, Vec<u8>, Vec<u8>); 3] = [
        (
            "standard",
            fixtures::standard_input(),
            StandardBatch::new().otlpx_request(),
        ),
        (
            "every_anyvalue_kind",
            fixtures::every_kind_input(&SpanLimits::default()),
            fixtures::every_kind_core(&SpanLimits::default()),
        ),
        (
            "tight_span_limits",
            fixtures::every_kind_input(&fixtures::TIGHT_LIMITS),
            fixtures::every_kind_core(&fixtures::TIGHT_LIMITS),
        ),
    ];
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("native_inputs: {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    for (name, input, reference) in &cases {
        let native = match encode_input(input) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("native_inputs: {name}: input refused: {e}");
                return ExitCode::FAILURE;
            }
        };
        if native != *reference {
            eprintln!("native_inputs: {name}: encode_input differs from the reference encoding");
            ok = false;
        }
        if *name == "standard" && (native.len() != STANDARD_REQUEST_LEN || fnv1a64(&native) != STANDARD_REQUEST_FNV1A64)
        {
            eprintln!("native_inputs: standard: length or FNV-1a differs from the benches constants");
            ok = false;
        }
        for (ext, bytes) in [("input", input), ("native.pb", &native)] {
            let path = dir.join(format!("{name}.{ext}"));
            if let Err(e) = std::fs::write(&path, bytes) {
                eprintln!("native_inputs: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        println!(
            "{name}: input {} bytes, request {} bytes, fnv1a64 {:#018x}",
            input.len(),
            native.len(),
            fnv1a64(&native)
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
