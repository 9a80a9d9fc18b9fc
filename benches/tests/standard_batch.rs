//! Checks the standard batch: deterministic, about 496 bytes per span, and the
//! same request whichever way it is built (otlpx, prost structs, the
//! opentelemetry-rust SDK path), so the benchmark peers all do the same work.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use otlpx_benches::{floor, fnv1a64, StandardBatch, SPANS, STANDARD_REQUEST_FNV1A64, STANDARD_REQUEST_LEN};
use otlpx_core::encode::encode_span;
use prost::Message;

#[test]
fn deterministic() {
    let a = StandardBatch::new();
    let b = StandardBatch::new();
    assert_eq!(a, b);
    assert_eq!(a.spans.len(), SPANS);
    assert_eq!(a.otlpx_request(), b.otlpx_request());
}

#[test]
fn fingerprint_is_pinned() {
    // Other languages reproduce the batch from the crate docs and compare
    // against these two numbers.
    let req = StandardBatch::new().otlpx_request();
    println!("standard request: {} bytes, fnv1a64 {:#018x}", req.len(), fnv1a64(&req));
    assert_eq!(req.len(), STANDARD_REQUEST_LEN);
    assert_eq!(fnv1a64(&req), STANDARD_REQUEST_FNV1A64);
}

#[test]
fn about_496_bytes_per_span() {
    let req = StandardBatch::new().otlpx_request();
    let per_span = req.len() as f64 / SPANS as f64;
    assert!((400.0..600.0).contains(&per_span), "{per_span} bytes per span");
    assert!(
        (490.0..502.0).contains(&per_span),
        "{per_span} bytes per span drifted from ~496"
    );
}

#[test]
fn otlpx_request_decodes_to_the_prost_structs() {
    let batch = StandardBatch::new();
    let bytes = batch.otlpx_request();
    let decoded = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
    let built = batch.to_proto();
    assert_eq!(decoded, built);
    // And byte for byte what prost writes for the same structs.
    assert_eq!(built.encode_to_vec(), bytes);
}

#[test]
fn encode_only_writes_the_span_messages() {
    let batch = StandardBatch::new();
    let limits = StandardBatch::batch_config().limits;
    let built = batch.to_proto();
    let protos = &built.resource_spans[0].scope_spans[0].spans;
    let mut i = 0;
    batch.for_each_span(|s| {
        let mut buf = Vec::new();
        encode_span(s, &limits, &mut buf);
        assert_eq!(buf, protos[i].encode_to_vec(), "span {i}");
        i += 1;
    });
    assert_eq!(i, SPANS);
}

#[test]
fn sdk_path_encodes_the_same_request() {
    let batch = StandardBatch::new();
    let resource = ResourceAttributesWithSchema::from(&StandardBatch::sdk_resource());
    let mut sdk = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(batch.to_sdk_spans(), &resource),
    };
    let mut ours = batch.to_proto();
    // The SDK keeps resource attributes in a hash map: compare them as a set.
    for req in [&mut sdk, &mut ours] {
        for rs in &mut req.resource_spans {
            if let Some(r) = rs.resource.as_mut() {
                r.attributes.sort_by(|a, b| a.key.cmp(&b.key));
            }
        }
    }
    assert_eq!(sdk, ours);
    // Same size on the wire, so the peers write the same number of bytes.
    assert_eq!(sdk.encoded_len(), batch.otlpx_request().len());
}

#[test]
fn floor_writer_writes_the_request_span_entries() {
    // The benchmark's floor row is only a bound if it writes the very bytes
    // otlpx writes: the request ends with the span entries.
    let batch = StandardBatch::new();
    let request = batch.otlpx_request();
    let entries = floor::batch_entries(&batch);
    assert!(request.ends_with(&entries));
    // What precedes the entries is the framing: resource, scope, lengths.
    assert!(
        request.len() - entries.len() < 300,
        "{} bytes before the entries",
        request.len() - entries.len()
    );
    // The same from prebuilt views.
    let mut again = vec![0u8; floor::batch_room(&batch)];
    // SAFETY: `again` holds `batch_room` bytes, the views' bounds.
    let pos = batch.with_prebuilt_views(|views| unsafe { floor::write_views(again.as_mut_ptr(), views) });
    assert_eq!(&again[..pos], &entries[..]);
}

#[test]
fn floor_writer_stays_within_its_bound_for_other_shapes() {
    use otlpx_core::{AnyValue, Event, KeyValue, Span};
    let long = "x".repeat(300);
    let attrs: Vec<KeyValue<'_>> = (0..8)
        .map(|i| KeyValue::new(&long[..100 + i], AnyValue::Str(&long[..200 + 12 * i])))
        .collect();
    let ints = [KeyValue::new("a", -1i64), KeyValue::new("b", i64::MAX)];
    let events = [Event {
        name: &long,
        attributes: &ints,
        ..Event::default()
    }];
    let spans = [
        Span::default(),
        Span {
            name: &long,
            attributes: &attrs,
            ..Span::default()
        },
        Span {
            name: &long,
            attributes: &attrs,
            events: &events,
            ..Span::default()
        },
    ];
    for span in &spans {
        assert!(!floor::is_standard_shape(span));
        let bound = floor::entry_bound(span);
        let mut buf = vec![0xa5u8; bound + 64];
        // SAFETY: `buf` holds `bound` bytes (and a canary after them).
        let n = unsafe { floor::write_entry(buf.as_mut_ptr(), span) };
        assert!(n <= bound);
        assert!(buf[bound..].iter().all(|&b| b == 0xa5), "wrote past the bound");
    }
}
