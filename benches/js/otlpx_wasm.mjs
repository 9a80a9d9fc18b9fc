// The standard batch through otlpx-wasm's public API: the exporter every
// Node measurement here uses, and the batch as a Node app holds its finished
// spans (ids as bytes, times as BigInt ns).
//
// Owns: that setup, once, for bench.mjs, glue.mjs and prof_wasm.mjs.
// Must not: measure anything, or contact the network (the endpoint is never
// used: `fetch` answers 200 itself).

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  spanAttributes, SPANS, SPAN_FLAGS, RESOURCE_ATTRIBUTES, SCOPE_NAME, SCOPE_VERSION, EVENT_NAME,
} from './standard_batch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** wasm/js/index.js, loaded and ready. */
export async function loadOtlpxWasm() {
  const js = await import(pathToFileURL(join(root, 'wasm/js/index.js')).href);
  await js.ready;
  return js;
}

const okResponse = { status: 200, headers: { get: () => null }, arrayBuffer: async () => new ArrayBuffer(0) };

/**
 * An exporter with the standard resource and scope, batches of `SPANS`, no
 * timer export and no page-hide flush; `onBody(body)` sees each request.
 */
export function standardExporter(js, onBody = () => {}) {
  const exporter = new js.Exporter({
    env: {},
    endpoint: 'http://127.0.0.1:9/v1/traces', // never contacted: fetch below answers
    fetch: async (_url, init) => {
      onBody(init.body);
      return okResponse;
    },
    resourceAttributes: Object.fromEntries(RESOURCE_ATTRIBUTES),
    scheduleDelayMs: 3_600_000,
    maxExportBatchSize: SPANS,
    onLog: () => {},
    flushOnHide: false,
  });
  return { exporter, scope: exporter.addScope(SCOPE_NAME, SCOPE_VERSION) };
}

/** The standard batch (generateStandardBatch()) as otlpx-wasm SpanData. */
export function standardSpans(js, batch) {
  return batch.map((s) => ({
    traceId: s.trace_id,
    spanId: s.span_id,
    parentSpanId: s.parent_span_id,
    flags: SPAN_FLAGS,
    name: s.name,
    kind: js.SpanKind.SERVER,
    startTime: s.start_time_unix_nano,
    endTime: s.end_time_unix_nano,
    attributes: spanAttributes(s),
    events: [{
      time: s.event_time_unix_nano,
      name: EVENT_NAME,
      attributes: { 'message.type': 'SENT', 'message.uncompressed_size': s.message_size },
    }],
    status: { code: 'ok' },
  }));
}
