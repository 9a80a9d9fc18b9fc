// Checks that the JS standard batch is the Rust one: the generator's fields
// against a JSON dump of the Rust generator, the JS SDK's ReadableSpans made
// from it against the same dump, and (optionally) the plain wasm module's
// request against the standard constants.
//
// Owns: those comparisons, and writing the JS SDK's serialized request for
// `dump_standard_batch --check-request` (which decodes it with
// opentelemetry-proto and compares it with the Rust batch, field by field).
// Must not: measure anything.
//
// Usage (from benches/js):
//   node check_standard_batch.mjs [--dump spans.json] [--write-sdk-request sdk.pb] [--plain-wasm file.wasm]
// Without --dump it runs `cargo run -q -p otlpx-benches --example dump_standard_batch`
// (in the workspace root). Exits 1 on any difference; prints PASS or FAIL.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  generateStandardBatch, toReadableSpans, toHex, hrTime, spanAttributes, fnv1a64,
  SPANS, SEED, SPAN_FLAGS, SCOPE_NAME, SCOPE_VERSION, STANDARD_REQUEST_LEN, STANDARD_REQUEST_FNV1A64, EVENT_NAME,
} from './standard_batch.mjs';
import { PlainModule, standardInput } from './plain_wasm.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const { values: args } = parseArgs({
  options: {
    dump: { type: 'string' },
    'write-sdk-request': { type: 'string' },
    'plain-wasm': { type: 'string' },
  },
});

const failures = [];
function check(what, ok, detail = '') {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
  if (!ok) failures.push(what);
}

const dumpText = args.dump
  ? readFileSync(args.dump, 'utf8')
  : execFileSync('cargo', ['run', '-q', '-p', 'otlpx-benches', '--example', 'dump_standard_batch'], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'],
  });
const dump = JSON.parse(dumpText);

// 1. The generator's fields.
check('seed', BigInt(dump.seed) === SEED, dump.seed);
check('span count', dump.spans.length === SPANS && dump.span_count === SPANS, String(dump.spans.length));
check('request constants', dump.request_len === STANDARD_REQUEST_LEN
  && BigInt(dump.request_fnv1a64) === STANDARD_REQUEST_FNV1A64, `${dump.request_len} ${dump.request_fnv1a64}`);
const batch = generateStandardBatch();
const asDump = (s) => ({
  trace_id: toHex(s.trace_id), span_id: toHex(s.span_id), parent_span_id: toHex(s.parent_span_id),
  name: s.name, method: s.method, path: s.path, route: s.route, server_address: s.server_address,
  status_code: s.status_code, server_port: s.server_port, resend: s.resend, duration_s: s.duration_s,
  start_time_unix_nano: String(s.start_time_unix_nano), end_time_unix_nano: String(s.end_time_unix_nano),
  event_time_unix_nano: String(s.event_time_unix_nano), message_size: s.message_size,
});
let fieldDiffs = 0;
let firstDiff = '';
batch.forEach((s, i) => {
  const a = asDump(s);
  const b = dump.spans[i] ?? {};
  for (const k of Object.keys(b)) {
    if (a[k] !== b[k]) {
      fieldDiffs++;
      firstDiff ||= `span ${i} ${k}: JS ${a[k]} vs Rust ${b[k]}`;
    }
  }
  if (Object.keys(a).length !== Object.keys(b).length) {
    fieldDiffs++;
    firstDiff ||= `span ${i}: field sets differ`;
  }
});
check('JS generator == Rust generator (every field of every span)', fieldDiffs === 0,
  fieldDiffs ? `${fieldDiffs} differences, first: ${firstDiff}` : `${SPANS} spans x 16 fields`);

// 2. The JS SDK's ReadableSpans carry the same fields.
const spans = toReadableSpans(batch);
let sdkDiffs = 0;
let firstSdkDiff = '';
const same = (what, a, b) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    sdkDiffs++;
    firstSdkDiff ||= `${what}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
};
spans.forEach((r, i) => {
  const d = dump.spans[i];
  const s = batch[i];
  const ctx = r.spanContext();
  same(`span ${i} trace_id`, ctx.traceId, d.trace_id);
  same(`span ${i} span_id`, ctx.spanId, d.span_id);
  same(`span ${i} parent`, [r.parentSpanContext?.spanId, r.parentSpanContext?.isRemote], [d.parent_span_id, true]);
  same(`span ${i} flags`, ctx.traceFlags | 0x100 | (r.parentSpanContext?.isRemote ? 0x200 : 0), SPAN_FLAGS);
  same(`span ${i} name`, r.name, d.name);
  same(`span ${i} kind`, r.kind, 1 /* SpanKind.SERVER; OTLP 2 */);
  same(`span ${i} start`, r.startTime, hrTime(BigInt(d.start_time_unix_nano)));
  same(`span ${i} end`, r.endTime, hrTime(BigInt(d.end_time_unix_nano)));
  same(`span ${i} attributes`, Object.entries(r.attributes), Object.entries(spanAttributes(s)));
  same(`span ${i} events`, r.events.map((e) => [e.name, e.time, Object.entries(e.attributes)]),
    [[EVENT_NAME, hrTime(BigInt(d.event_time_unix_nano)),
      [['message.type', 'SENT'], ['message.uncompressed_size', d.message_size]]]]);
  same(`span ${i} status`, r.status.code, 1);
  same(`span ${i} scope`, [r.instrumentationScope.name, r.instrumentationScope.version], [SCOPE_NAME, SCOPE_VERSION]);
  same(`span ${i} dropped`, [r.droppedAttributesCount, r.droppedEventsCount, r.droppedLinksCount, r.links.length],
    [0, 0, 0, 0]);
});
check('JS SDK ReadableSpans == Rust generator', sdkDiffs === 0, sdkDiffs ? `${sdkDiffs}, first: ${firstSdkDiff}` : '');

const sdkRequest = ProtobufTraceSerializer.serializeRequest(spans);
console.log(`  JS SDK request: ${sdkRequest.length} bytes (otlpx: ${STANDARD_REQUEST_LEN}; the SDK also writes `
  + 'some default-valued fields), fnv1a64 0x' + fnv1a64(sdkRequest).toString(16));
if (args['write-sdk-request']) {
  writeFileSync(args['write-sdk-request'], sdkRequest);
  console.log(`  wrote ${args['write-sdk-request']} (check: cargo run -p otlpx-benches --example `
    + `dump_standard_batch -- --check-request ${args['write-sdk-request']})`);
}

// 3. The plain wasm module, fed by JS, gives the standard request.
if (args['plain-wasm']) {
  const m = await PlainModule.load(args['plain-wasm']);
  const request = m.encode(standardInput(batch));
  check('plain wasm (input written in JS): request length == STANDARD_REQUEST_LEN',
    request.length === STANDARD_REQUEST_LEN, String(request.length));
  check('plain wasm: FNV-1a 64 == STANDARD_REQUEST_FNV1A64', fnv1a64(request) === STANDARD_REQUEST_FNV1A64,
    '0x' + fnv1a64(request).toString(16));
}

console.log(failures.length ? `FAIL (${failures.join('; ')})` : 'PASS');
process.exit(failures.length ? 1 : 0);
