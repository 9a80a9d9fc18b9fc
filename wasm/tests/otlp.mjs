// An OTLP trace decoder for the tests, independent of otlpx's encoder:
// protobufjs over the opentelemetry-proto message definitions (trace,
// common, resource, collector trace service), written out here with their
// field numbers and types.
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10;
  repeated Event events = 11; uint32 dropped_events_count = 12;
  repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
}
message Status { string message = 2; int32 code = 3; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
`;

const root = protobuf.parse(PROTO, { keepCase: false }).root;
export const RequestType = root.lookupType('otlp.ExportTraceServiceRequest');
export const ResponseType = root.lookupType('otlp.ExportTraceServiceResponse');

const OBJ = { longs: String, bytes: Array, defaults: true, oneofs: false, arrays: true };

/** Decodes a request body into plain objects (ids as byte arrays, 64-bit values as decimal strings). */
export function decodeRequest(bytes) {
  return RequestType.toObject(RequestType.decode(bytes), OBJ);
}

/** An ExportTraceServiceResponse with partial_success. */
export function encodePartialSuccess(rejectedSpans, errorMessage) {
  return ResponseType.encode(
    ResponseType.fromObject({ partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage } }),
  ).finish();
}

const hex = (b) => Buffer.from(b ?? []).toString('hex');

/** Canonical AnyValue from a protobufjs message object (uses the oneof case). */
export function canonDecodedValue(msg) {
  if (!msg) return { empty: true };
  const m = msg;
  switch (m.value) {
    case 'stringValue': return { s: m.stringValue };
    case 'boolValue': return { b: m.boolValue };
    case 'intValue': return { i: String(m.intValue) };
    case 'doubleValue': return { d: Object.is(m.doubleValue, -0) ? '-0' : String(m.doubleValue) };
    case 'bytesValue': return { y: hex(m.bytesValue) };
    case 'arrayValue': return { a: (m.arrayValue?.values ?? []).map(canonDecodedValue) };
    case 'kvlistValue': return { kv: (m.kvlistValue?.values ?? []).map(canonDecodedKv) };
    default: return { empty: true };
  }
}
export function canonDecodedKv(kv) {
  return { k: kv.key, v: canonDecodedValue(kv.value) };
}

/** Decodes a request with the AnyValue oneof case kept (`value: "stringValue"`, ...). */
export function decodeRequestOneofs(bytes) {
  return RequestType.toObject(RequestType.decode(bytes), { ...OBJ, oneofs: true });
}

/** A decoded span in canonical form (see scenarios.mjs canonSpan for the expected side). */
export function canonDecodedSpan(s) {
  const st = s.status ?? { code: 0, message: '' };
  return {
    traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), traceState: s.traceState,
    flags: s.flags >>> 0, name: s.name, kind: s.kind,
    start: String(s.startTimeUnixNano), end: String(s.endTimeUnixNano),
    attributes: s.attributes.map(canonDecodedKv), droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) => ({ time: String(e.timeUnixNano), name: e.name, attributes: e.attributes.map(canonDecodedKv), dropped: e.droppedAttributesCount })),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), traceState: l.traceState, attributes: l.attributes.map(canonDecodedKv), dropped: l.droppedAttributesCount, flags: l.flags >>> 0 })),
    droppedLinksCount: s.droppedLinksCount,
    status: { code: st.code, message: st.message },
  };
}
