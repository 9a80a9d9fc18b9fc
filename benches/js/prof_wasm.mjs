// Profiling aid (not a benchmark): record + forceFlush the standard batch through otlpx-wasm for a few
// seconds. Run: node --cpu-prof --cpu-prof-dir=/tmp/prof prof_wasm.mjs
import { generateStandardBatch, SPANS } from './standard_batch.mjs';
import { loadOtlpxWasm, standardExporter, standardSpans } from './otlpx_wasm.mjs';

const js = await loadOtlpxWasm();
const { exporter, scope } = standardExporter(js);
const spans = standardSpans(js, generateStandardBatch());
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
