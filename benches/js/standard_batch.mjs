// The standard batch (benches/src/lib.rs), ported: the one workload every otlpx
// benchmark uses, generated here span for span as the Rust generator does.
//
// Owns: the generator (splitmix64 over BigInt, thirteen draws per span in the
// documented order), the batch as the OpenTelemetry JS SDK's finished spans
// (ReadableSpans made by its own tracer), FNV-1a 64.
// Must not: measure anything (bench.mjs does) or change the workload (it is
// defined in benches/src/lib.rs; check_standard_batch.mjs compares with a dump
// of the Rust generator).

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export const SPANS = 512;
export const SEED = 0x6f74_6c70_785f_0496n;
export const BASE_TIME_UNIX_NANO = 1_764_028_800_000_000_000n;
export const SPAN_FLAGS = 0x301;
export const STANDARD_REQUEST_LEN = 254_077;
export const STANDARD_REQUEST_FNV1A64 = 0x866a_3f54_0138_56e9n;
export const EVENT_NAME = 'message';
export const SCOPE_NAME = 'otlpx.bench/http-server';
export const SCOPE_VERSION = '1.4.0';
export const RESOURCE_ATTRIBUTES = [
  ['service.name', 'checkout-api'],
  ['service.namespace', 'shop'],
  ['deployment.environment.name', 'production'],
  ['host.name', 'ip-10-42-17-203.eu-west-1.compute.internal'],
  ['telemetry.sdk.language', 'rust'],
];
// [method, route template, path template, status code], picked by d4 % 8.
export const ROUTES = [
  ['GET', '/api/v1/customers/{customer_id}', '/api/v1/customers/{a}', 200],
  ['GET', '/api/v1/customers/{customer_id}/orders', '/api/v1/customers/{a}/orders', 200],
  ['GET', '/api/v1/orders/{order_id}/items/{item_id}', '/api/v1/orders/{a}/items/{b}', 200],
  ['POST', '/api/v1/carts/{cart_id}/checkout', '/api/v1/carts/{a}/checkout', 201],
  ['PUT', '/api/v1/carts/{cart_id}/items/{item_id}', '/api/v1/carts/{a}/items/{b}', 200],
  ['DELETE', '/api/v1/carts/{cart_id}/items/{item_id}', '/api/v1/carts/{a}/items/{b}', 204],
  ['GET', '/api/v1/catalog/products/{product_id}/reviews', '/api/v1/catalog/products/{a}/reviews', 200],
  ['GET', '/api/v1/catalog/search', '/api/v1/catalog/search', 200],
];
// [server.address, server.port], picked by d7 % 3.
export const HOSTS = [
  ['checkout-api.shop.svc.cluster.local', 8080],
  ['checkout-canary.shop.internal', 8080],
  ['api.shop.example.com', 443],
];

const M64 = (1n << 64n) - 1n;

/** splitmix64 (Steele, Lea and Flood), as `SplitMix64` in benches/src/lib.rs. */
export class SplitMix64 {
  constructor(seed) {
    this.s = seed & M64;
  }
  next() {
    this.s = (this.s + 0x9e37_79b9_7f4a_7c15n) & M64;
    let z = this.s;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & M64;
    return z ^ (z >> 31n);
  }
}

function beBytes(...words) {
  const out = new Uint8Array(8 * words.length);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setBigUint64(8 * i, w, false));
  return out;
}

function idBytes(b) {
  if (b.every((x) => x === 0)) b[b.length - 1] = 1;
  return b;
}

/**
 * Span `i`, drawing from `rng`: the fields of Rust's `StandardSpan`, with ids
 * as Uint8Array, times as BigInt unix nanoseconds.
 */
export function generateSpan(i, rng) {
  const d = Array.from({ length: 13 }, () => rng.next());
  const [method, route, pathTemplate, statusCode] = ROUTES[Number(d[4] % 8n)];
  const path = pathTemplate
    .replace('{a}', String(d[5] % 1_000_000n))
    .replace('{b}', String(d[6] % 100_000n));
  const [serverAddress, serverPort] = HOSTS[Number(d[7] % 3n)];
  const durationNs = 250_000n + (d[8] % 120_000_000n);
  const start = BASE_TIME_UNIX_NANO + BigInt(i) * 2_000_000n + (d[9] % 2_000_000n);
  return {
    trace_id: idBytes(beBytes(d[0], d[1])),
    span_id: idBytes(beBytes(d[2])),
    parent_span_id: idBytes(beBytes(d[3])),
    name: `${method} ${route}`,
    method,
    path,
    route,
    server_address: serverAddress,
    status_code: statusCode,
    server_port: serverPort,
    resend: d[12] % 20n === 0n,
    // Exact: duration_ns < 2^53, and the division rounds as Rust's does.
    duration_s: Number(durationNs) / 1e9,
    start_time_unix_nano: start,
    end_time_unix_nano: start + durationNs,
    event_time_unix_nano: start + (d[10] % durationNs),
    message_size: Number(d[11] % 65_536n),
  };
}

/** The standard batch: `SPANS` spans from `SEED`. */
export function generateStandardBatch() {
  const rng = new SplitMix64(SEED);
  return Array.from({ length: SPANS }, (_, i) => generateSpan(i, rng));
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** HrTime ([seconds, nanoseconds]) of BigInt unix nanoseconds, exactly. */
export function hrTime(ns) {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/** The span's 8 attributes, in the standard order. */
export function spanAttributes(s) {
  return {
    'http.request.method': s.method,
    'url.path': s.path,
    'http.route': s.route,
    'server.address': s.server_address,
    'http.response.status_code': s.status_code,
    'server.port': s.server_port,
    'http.request.resend': s.resend,
    'http.server.request.duration': s.duration_s,
  };
}

/**
 * The batch as the JS SDK's finished spans (what its span processor hands an
 * exporter), made by the SDK's own tracer: the ids come from an IdGenerator
 * replaying the batch's span ids, the parent is a remote sampled span context,
 * times are exact HrTimes. The resource has exactly the standard attributes.
 */
export function toReadableSpans(batch) {
  let next = 0;
  const idGenerator = {
    generateSpanId: () => toHex(batch[next].span_id),
    generateTraceId: () => toHex(batch[next].trace_id),
  };
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(Object.fromEntries(RESOURCE_ATTRIBUTES)),
    idGenerator,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer(SCOPE_NAME, SCOPE_VERSION);
  for (; next < batch.length; next++) {
    const s = batch[next];
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: toHex(s.trace_id),
      spanId: toHex(s.parent_span_id),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const span = tracer.startSpan(
      s.name,
      { kind: SpanKind.SERVER, startTime: hrTime(s.start_time_unix_nano), attributes: spanAttributes(s) },
      parent,
    );
    span.addEvent(
      EVENT_NAME,
      { 'message.type': 'SENT', 'message.uncompressed_size': s.message_size },
      hrTime(s.event_time_unix_nano),
    );
    span.setStatus({ code: SpanStatusCode.OK });
    span.end(hrTime(s.end_time_unix_nano));
  }
  const spans = exporter.getFinishedSpans();
  if (spans.length !== batch.length) {
    throw new Error(`the SDK finished ${spans.length} spans, want ${batch.length}`);
  }
  return spans;
}

/** FNV-1a 64 of `bytes`, as BigInt (`fnv1a64` in benches/src/lib.rs). */
export function fnv1a64(bytes) {
  // Two 32-bit halves: BigInt per byte would take seconds for 254 KB.
  let hi = 0xcbf29ce4 >>> 0;
  let lo = 0x84222325 >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]) >>> 0;
    // (hi:lo) * 0x100_0000_01b3 = (hi:lo) * 0x1b3 + ((lo * 0x100) << 32)
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x1_0000_0000);
    const newLo = loMul >>> 0;
    hi = (Math.imul(hi, 0x1b3) + carry + Math.imul(lo, 0x100)) >>> 0;
    lo = newLo;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}
