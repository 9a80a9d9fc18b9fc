//! The C ABI's hot paths allocate nothing on the calling thread in steady
//! state: `otlpx_exporter_record` and `otlpx_exporter_record_packed` (converted in a per-thread
//! arena) and the span handle API (pooled handles with their own arenas).
//! Measured with a counting global allocator that counts per thread, so the
//! exporter's background thread (which sends) does not blur the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;

use otlpx::*;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(p, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

unsafe extern "C" fn accept_all(
    _userdata: *mut c_void,
    _req: *const otlpx_export_request,
    resp: *mut otlpx_export_response,
) -> u32 {
    unsafe { otlpx_export_response_set_status(resp, 200) };
    otlpx_send_result::Ok as u32
}

fn s(v: &str) -> (*const std::os::raw::c_char, usize) {
    (v.as_ptr().cast(), v.len())
}

fn attr_str(key: &'static str, value: &'static str) -> otlpx_attribute {
    otlpx_attribute {
        key: key.as_ptr().cast(),
        key_len: key.len(),
        value: otlpx_value {
            kind: otlpx_value_kind::String as u32,
            int_value: 0,
            double_value: 0.0,
            ptr: value.as_ptr().cast(),
            len: value.len(),
        },
    }
}

fn attr_int(key: &'static str, v: i64) -> otlpx_attribute {
    otlpx_attribute {
        key: key.as_ptr().cast(),
        key_len: key.len(),
        value: otlpx_value {
            kind: otlpx_value_kind::Int as u32,
            int_value: v,
            double_value: 0.0,
            ptr: ptr::null(),
            len: 0,
        },
    }
}

fn exporter() -> *mut otlpx_exporter {
    unsafe {
        let mut cfg = ptr::null_mut();
        assert_eq!(otlpx_config_new(&mut cfg), otlpx_result::Ok);
        assert_eq!(otlpx_config_ignore_process_env(cfg, 1), otlpx_result::Ok);
        assert_eq!(
            otlpx_config_set_send_callback(cfg, Some(accept_all), ptr::null_mut()),
            otlpx_result::Ok
        );
        assert_eq!(
            otlpx_config_set_limit(cfg, otlpx_limit::MaxQueueSize as u32, 1 << 16),
            otlpx_result::Ok
        );
        let mut exp = ptr::null_mut();
        assert_eq!(otlpx_exporter_new(cfg, &mut exp), otlpx_result::Ok);
        otlpx_config_free(cfg);
        exp
    }
}

#[test]
fn record_and_span_handles_allocate_nothing_in_steady_state() {
    let exp = exporter();
    let attrs = [
        attr_str("http.request.method", "GET"),
        attr_str("url.path", "/orders/42"),
        attr_str("http.route", "/orders/{id}"),
        attr_str("server.address", "api.example.com"),
        attr_int("http.response.status_code", 200),
        attr_int("server.port", 443),
    ];
    let (name, name_len) = s("GET /orders/{id}");
    let data = otlpx_span_data {
        trace_id: [7; 16],
        span_id: [8; 8],
        parent_span_id: [9; 8],
        trace_state: ptr::null(),
        trace_state_len: 0,
        flags: 1,
        kind: otlpx_span_kind::Server as u32,
        name,
        name_len,
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        attributes: attrs.as_ptr(),
        attributes_len: attrs.len(),
        dropped_attributes_count: 0,
        events: ptr::null(),
        events_len: 0,
        dropped_events_count: 0,
        links: ptr::null(),
        links_len: 0,
        dropped_links_count: 0,
        status_code: 1,
        status_message: ptr::null(),
        status_message_len: 0,
    };
    // The same span packed (otlpx_exporter_record_packed).
    let mut text = Vec::new();
    let mut put = |v: &str| {
        let p = otlpx_packed_str {
            offset: text.len() as u32,
            len: v.len() as u32,
        };
        text.extend_from_slice(v.as_bytes());
        p
    };
    let packed_str = |key: &str, value: &str, put: &mut dyn FnMut(&str) -> otlpx_packed_str| {
        let key = put(key);
        let v = put(value);
        otlpx_packed_attribute {
            key,
            value: otlpx_packed_value {
                kind: otlpx_value_kind::String as u32,
                len: v.len,
                bits: u64::from(v.offset),
            },
        }
    };
    let packed_int = |key: &str, v: i64, put: &mut dyn FnMut(&str) -> otlpx_packed_str| otlpx_packed_attribute {
        key: put(key),
        value: otlpx_packed_value {
            kind: otlpx_value_kind::Int as u32,
            len: 0,
            bits: v as u64,
        },
    };
    let packed_attrs = [
        packed_str("http.request.method", "GET", &mut put),
        packed_str("url.path", "/orders/42", &mut put),
        packed_str("http.route", "/orders/{id}", &mut put),
        packed_str("server.address", "api.example.com", &mut put),
        packed_int("http.response.status_code", 200, &mut put),
        packed_int("server.port", 443, &mut put),
    ];
    let packed_span = otlpx_packed_span {
        trace_id: [7; 16],
        span_id: [8; 8],
        parent_span_id: [9; 8],
        flags: 1,
        kind: otlpx_span_kind::Server as u32,
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        name: put("GET /orders/{id}"),
        status_code: 1,
        ..Default::default()
    };
    let record_packed = |exp: *mut otlpx_exporter, scope: u32| unsafe {
        otlpx_exporter_record_packed(
            exp,
            scope,
            &packed_span,
            packed_attrs.as_ptr(),
            packed_attrs.len(),
            ptr::null(),
            0,
            ptr::null(),
            0,
            ptr::null(),
            0,
            text.as_ptr(),
            text.len(),
        )
    };
    let handle_span = |exp: *mut otlpx_exporter| unsafe {
        let mut span = ptr::null_mut();
        assert_eq!(
            otlpx_span_start(exp, 0, name, name_len, 2, ptr::null(), 0, &mut span),
            otlpx_result::Ok
        );
        assert_eq!(
            otlpx_span_set_attributes(span, attrs.as_ptr(), attrs.len()),
            otlpx_result::Ok
        );
        let (ev, ev_len) = s("message");
        assert_eq!(
            otlpx_span_add_event(span, ev, ev_len, 0, attrs.as_ptr(), 2),
            otlpx_result::Ok
        );
        assert_eq!(otlpx_span_set_status(span, 2, ev, ev_len), otlpx_result::Ok);
        let r = otlpx_span_end(span, 0);
        assert!(r == otlpx_result::Ok || r == otlpx_result::QueueFull, "{r:?}");
    };
    unsafe {
        let mut scope = 0;
        assert_eq!(otlpx_exporter_default_scope(exp, &mut scope), otlpx_result::Ok);
        // Warm-up: thread-locals, the scratch arena, the handle pool.
        for _ in 0..1000 {
            let r = otlpx_exporter_record(exp, scope, &data);
            assert!(r == otlpx_result::Ok || r == otlpx_result::QueueFull, "{r:?}");
            let r = record_packed(exp, scope);
            assert!(r == otlpx_result::Ok || r == otlpx_result::QueueFull, "{r:?}");
            handle_span(exp);
        }
        let before = allocs();
        for _ in 0..10_000 {
            let _ = otlpx_exporter_record(exp, scope, &data);
        }
        let after_record = allocs();
        for _ in 0..10_000 {
            let _ = record_packed(exp, scope);
        }
        let after_packed = allocs();
        for _ in 0..10_000 {
            handle_span(exp);
        }
        let after_handles = allocs();
        let mut stats = otlpx_stats::default();
        assert_eq!(otlpx_exporter_shutdown(exp, 5000, ptr::null_mut()), otlpx_result::Ok);
        assert_eq!(otlpx_exporter_stats(exp, &mut stats), otlpx_result::Ok);
        otlpx_exporter_free(exp);
        assert_eq!(after_record - before, 0, "otlpx_exporter_record allocated");
        assert_eq!(after_packed - after_record, 0, "otlpx_exporter_record_packed allocated");
        assert_eq!(after_handles - after_packed, 0, "the span handle API allocated");
        assert_eq!(stats.accepted, 33_000);
        assert_eq!(stats.accepted, stats.exported + stats.dropped_queue_full);
    }
}
