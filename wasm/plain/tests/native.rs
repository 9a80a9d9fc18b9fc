//! The plain module's code run natively: the input layout reads back into the
//! very views it was written from (the request equals otlpx-core's own),
//! every malformed input is a result code, and the C ABI behaves.
//! Must not: load wasm (host_test.py does, with wasmtime).

#[path = "common/fixtures.rs"]
mod fixtures;

use otlpx_benches::{fnv1a64, StandardBatch, STANDARD_REQUEST_FNV1A64, STANDARD_REQUEST_LEN};
use otlpx_core::encode::SpanLimits;
use otlpx_wasm_plain::*;

#[test]
fn standard_batch_equals_the_batcher_request_and_the_constants() {
    let input = fixtures::standard_input();
    let request = encode_input(&input).unwrap();
    assert_eq!(request.len(), STANDARD_REQUEST_LEN);
    assert_eq!(fnv1a64(&request), STANDARD_REQUEST_FNV1A64);
    assert_eq!(request, StandardBatch::new().otlpx_request());
}

#[test]
fn every_kind_equals_core_encode_request() {
    for limits in [SpanLimits::default(), fixtures::TIGHT_LIMITS, SpanLimits::UNLIMITED] {
        let input = fixtures::every_kind_input(&limits);
        assert_eq!(
            encode_input(&input).unwrap(),
            fixtures::every_kind_core(&limits),
            "{limits:?}"
        );
    }
    // The tight limits do cut something.
    assert_ne!(
        fixtures::every_kind_core(&fixtures::TIGHT_LIMITS),
        fixtures::every_kind_core(&SpanLimits::default())
    );
}

fn err(input: &[u8]) -> InputError {
    encode_input(input).unwrap_err()
}

#[test]
fn malformed_inputs_are_result_codes() {
    use InputErrorKind::*;
    let good = fixtures::every_kind_input(&SpanLimits::default());
    assert_eq!(err(&[]).kind, BadMagic);
    assert_eq!(err(b"OXPJ\x01\0\0\0").kind, BadMagic);
    assert_eq!(err(b"OXPI\x02\0\0\0").kind, UnsupportedVersion);
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        err(&trailing),
        InputError {
            kind: TrailingBytes,
            offset: good.len()
        }
    );

    // Every proper prefix is refused (never a panic, never a partial request).
    for n in 0..good.len() {
        let e = err(&good[..n]);
        assert!(matches!(e.kind, Truncated | BadMagic), "prefix {n}: {e}");
    }

    // Invalid UTF-8 in the resource's first key (offset: magic, version, 6 limits, count).
    let key_at = 4 + 4 + 24 + 4;
    let mut bad = good.clone();
    bad[key_at + 4] = 0xff;
    assert_eq!(
        err(&bad),
        InputError {
            kind: InvalidUtf8,
            offset: key_at
        }
    );

    // An unknown value type right after that key.
    let key_len = u32::from_le_bytes(good[key_at..key_at + 4].try_into().unwrap()) as usize;
    let tag_at = key_at + 4 + key_len;
    let mut bad = good.clone();
    bad[tag_at] = 8;
    assert_eq!(
        err(&bad),
        InputError {
            kind: InvalidTag,
            offset: tag_at
        }
    );

    // A count larger than the input.
    let mut bad = good.clone();
    bad[key_at - 4..key_at].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(err(&bad).kind, Truncated);
}

#[test]
fn nesting_deeper_than_max_depth_is_refused() {
    use otlpx_core::{AnyValue, KeyValue, Resource};
    let mut v = AnyValue::Int(1);
    for _ in 0..MAX_DEPTH {
        v = AnyValue::Array(Box::leak(Box::new([v])));
    }
    let attrs = [KeyValue::new("too.deep", v)];
    let resource = Resource {
        attributes: &attrs,
        ..Resource::default()
    };
    let input = InputWriter::new(&SpanLimits::default(), &resource, 0).finish();
    assert_eq!(err(&input).kind, InputErrorKind::TooDeep);
}

#[test]
fn single_byte_corruptions_never_panic() {
    let good = fixtures::every_kind_input(&fixtures::TIGHT_LIMITS);
    let mut input = good.clone();
    for i in 0..good.len() {
        for v in [0x00, 0x01, 0x07, 0x80, 0xff] {
            input[i] = v;
            let _ = encode_input(&input);
        }
        input[i] = good[i];
    }
}

#[test]
fn c_abi_round_trip() {
    let input = fixtures::standard_input();
    let p = otlpx_plain_alloc(input.len());
    assert!(!p.is_null());
    unsafe {
        std::ptr::copy_nonoverlapping(input.as_ptr(), p, input.len());
        // Unaligned out-parameters, as a wasm host may pass them.
        let mut outs = [0u8; 1 + std::mem::size_of::<usize>() * 2];
        let out_ptr = outs.as_mut_ptr().add(1).cast::<*mut u8>();
        let out_len = outs.as_mut_ptr().add(1 + std::mem::size_of::<usize>()).cast::<usize>();
        assert_eq!(otlpx_plain_encode(p, input.len(), out_ptr, out_len), 0);
        let (rp, rl) = (out_ptr.read_unaligned(), out_len.read_unaligned());
        assert_eq!(
            std::slice::from_raw_parts(rp, rl),
            &StandardBatch::new().otlpx_request()[..]
        );
        otlpx_plain_free(rp, rl);
        otlpx_plain_free(p, input.len());
        otlpx_plain_free(std::ptr::null_mut(), 0);
    }
}

#[test]
fn c_abi_errors() {
    let mut rp: *mut u8 = std::ptr::null_mut();
    let mut rl: usize = 7;
    unsafe {
        assert_eq!(otlpx_plain_encode(std::ptr::null(), 3, &mut rp, &mut rl), 1);
        assert_eq!(
            otlpx_plain_encode(std::ptr::null(), 0, std::ptr::null_mut(), &mut rl),
            1
        );
        assert_eq!(otlpx_plain_encode(std::ptr::null(), 0, &mut rp, &mut rl), 4);
        let bad = b"OXPI\x01\0\0\0";
        assert_eq!(otlpx_plain_encode(bad.as_ptr(), bad.len(), &mut rp, &mut rl), 3);
        assert_eq!(otlpx_plain_error_offset(), 8);
    }
    // Out-parameters untouched on error.
    assert!(rp.is_null());
    assert_eq!(rl, 7);
    assert!(otlpx_plain_alloc(0).is_null());
    assert_eq!(otlpx_plain_abi_version(), 1);
    for code in 0..=12u32 {
        let msg = unsafe { std::ffi::CStr::from_ptr(otlpx_plain_result_message(code)) };
        let msg = msg.to_str().unwrap();
        assert!(!msg.is_empty());
        assert_eq!(msg == "unknown result code", code == 12, "{code}: {msg}");
    }
}
