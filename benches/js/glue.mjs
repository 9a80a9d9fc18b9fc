// What the otlpx-wasm path costs besides packing and encoding, in one run:
// a wasm-bindgen method call, forceFlush per span, and V8's per-character
// cost of copying a string into a typed array (the JS half's floor).
//
// Owns: these three side measurements for docs/PERFORMANCE.md (WebAssembly).
// Must not: change the workload (the standard batch, as bench.mjs records it).
//
// Usage (from benches/js, after `npm ci` and `bash scripts/wasm.sh`): node glue.mjs

import { generateStandardBatch, SPANS } from './standard_batch.mjs';
import { loadOtlpxWasm, standardExporter, standardSpans } from './otlpx_wasm.mjs';

const js = await loadOtlpxWasm();
const { exporter, scope } = standardExporter(js);
const batch = generateStandardBatch();
const spans = standardSpans(js, batch);

/** Median over 15 rounds of `f()`'s ns per unit (`f` returns the units it did and the ns it took). */
async function median(f, ms = 1500) {
  const end = Date.now() + ms / 3;
  while (Date.now() < end) await f();
  const out = [];
  for (let r = 0; r < 15; r++) {
    let units = 0;
    let ns = 0;
    const stop = Date.now() + (2 * ms) / 3 / 15;
    while (Date.now() < stop) {
      const [u, t] = await f();
      units += u;
      ns += t;
    }
    out.push(ns / units);
  }
  out.sort((a, b) => a - b);
  return out[7];
}
const now = () => process.hrtime.bigint();

const core = exporter._core;
const call = await median(() => {
  const t = now();
  let x = 0;
  for (let i = 0; i < SPANS; i++) x += core.queued();
  if (x < 0) throw new Error('unreachable');
  return [SPANS, Number(now() - t)];
});
const flush = await median(async () => {
  for (const span of spans) exporter.record(span, scope);
  const t = now();
  const out = await exporter.forceFlush(60_000);
  const ns = Number(now() - t);
  if (!out.success) throw new Error(`flush ${JSON.stringify(out)}`);
  return [SPANS, ns];
});
const u8 = new Uint8Array(1 << 16);
const paths = batch.map((s) => s.path);
let chars = 0;
for (const p of paths) chars += p.length;
const perChar = await median(() => {
  const t = now();
  let p = 0;
  for (let j = 0; j < paths.length; j++) {
    const s = paths[j];
    for (let i = 0; i < s.length; i++) u8[p++] = s.charCodeAt(i);
  }
  return [chars, Number(now() - t)];
});
console.log(`Node ${process.version}, standard batch (${SPANS} spans)`);
console.log(`wasm-bindgen method call (core.queued()):        ${call.toFixed(1)} ns`);
console.log(`forceFlush of 512 recorded spans, per span:      ${flush.toFixed(1)} ns`);
console.log(`string copy into a Uint8Array (url.path values): ${perChar.toFixed(2)} ns per character`);
