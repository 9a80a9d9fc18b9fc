// Profiling aid (not a benchmark): record + forceFlush the standard batch through otlpx-wasm for a few
// seconds. Run: node --cpu-prof --cpu-prof-dir=/tmp/prof prof_wasm.mjs
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  generateStandardBatch, spanAttributes, SPANS, SPAN_FLAGS, RESOURCE_ATTRIBUTES, SCOPE_NAME, SCOPE_VERSION, EVENT_NAME,
} from './standard_batch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const js = await import(pathToFileURL(join(root, 'wasm/js/index.js')).href);
await js.ready;
const ok = { status: 200, headers: { get: () => null }, arrayBuffer: async () => new ArrayBuffer(0) };
const exporter = new js.Exporter({
  env: {}, endpoint: 'http://127.0.0.1:9/v1/traces', fetch: async () => ok,
  resourceAttributes: Object.fromEntries(RESOURCE_ATTRIBUTES), scheduleDelayMs: 3_600_000,
  maxExportBatchSize: SPANS, onLog: () => {}, flushOnHide: false,
});
const scope = exporter.addScope(SCOPE_NAME, SCOPE_VERSION);
const spans = generateStandardBatch().map((s) => ({
  traceId: s.trace_id, spanId: s.span_id, parentSpanId: s.parent_span_id, flags: SPAN_FLAGS, name: s.name,
  kind: js.SpanKind.SERVER, startTime: s.start_time_unix_nano, endTime: s.end_time_unix_nano,
  attributes: spanAttributes(s),
  events: [{ time: s.event_time_unix_nano, name: EVENT_NAME,
    attributes: { 'message.type': 'SENT', 'message.uncompressed_size': s.message_size } }],
  status: { code: 'ok' },
}));
const mode = process.argv[2] || 'all';
const end = Date.now() + 4000;
let n = 0;
while (Date.now() < end) {
  for (const s of spans) exporter.record(s, scope);
  if (mode === 'all') await exporter.forceFlush(60_000);
  else exporter._core.dropAll?.();
  n += SPANS;
}
console.log(`${mode}: ${(4e9 / n).toFixed(0)} ns/span (${n} spans)`);
