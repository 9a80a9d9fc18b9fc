// Encoding the standard batch in Node, in one run: the OpenTelemetry JS SDK's
// OTLP protobuf serializer, otlpx through WebAssembly, and otlpx natively.
//
// Owns: the Node side of issue 6's benchmark (ns per span, median of rounds,
// ratios against the JS SDK path in the same run).
// Must not: change the workload (standard_batch.mjs ports benches/src/lib.rs),
// or time setup a real exporter would not pay.
//
// What each row times, per batch of 512 spans:
// - js_sdk: ProtobufTraceSerializer.serializeRequest(ReadableSpans) of
//   @opentelemetry/otlp-transformer; the finished spans are made beforehand by
//   the SDK's own tracer (its span processor hands them to the exporter).
// - otlpx_wasm: the wasm-bindgen frontend (wasm/pkg), through the hook
//   `otlpxWasm` below; skipped until it is filled in.
// - otlpx_plain_wasm: the plain C-ABI module (wasm/plain): JS writes the batch
//   in the plain input layout, copies it into wasm memory, encode, copy the
//   request out. `_encode_only`: the wasm call and the copy out, input already
//   in memory.
// - native: benches/examples/native_encode_ns.rs, run now (cargo --release):
//   otlpx's record + flush of the request, and span encoding alone.
//
// Usage (from benches/js, after `npm ci`):
//   node bench.mjs [--rounds 21] [--plain-wasm PATH] [--no-native]
// Builds nothing but the native example; build the plain module first
// (bash wasm/plain/test.sh, or cargo build -p otlpx-wasm-plain --lib --release
// --target wasm32-unknown-unknown). Honours CARGO_TARGET_DIR.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  generateStandardBatch, toReadableSpans, fnv1a64, SPANS, STANDARD_REQUEST_LEN, STANDARD_REQUEST_FNV1A64,
} from './standard_batch.mjs';
import { InputWriter, PlainModule, standardInput } from './plain_wasm.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR || join(root, 'target');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '21' },
    'plain-wasm': { type: 'string', default: join(targetDir, 'wasm32-unknown-unknown/release/otlpx_wasm_plain.wasm') },
    'no-native': { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(3, Number(args.rounds) | 0);

/** Median ns per span of `f` (one batch per call): ~300 ms warm-up, rounds of ~50 ms. */
function measure(f) {
  let calls = 0;
  const warmEnd = process.hrtime.bigint() + 300_000_000n;
  while (process.hrtime.bigint() < warmEnd) {
    f();
    calls++;
  }
  const perRound = Math.max(1, Math.ceil(calls / 6));
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) f();
    samples.push(Number(process.hrtime.bigint() - t) / (perRound * SPANS));
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

// ===========================================================================
// HOOK: otlpx-wasm, the wasm-bindgen frontend (wasm/pkg). TO FILL IN once its
// API exists. Given the loaded module and the generated batch (the fields of
// each span, as a JS application would hold them), return a function that
// encodes the whole batch into ExportTraceServiceRequest bytes once per call,
// through the frontend's public API (the way a Node app would record spans and
// flush). Return null to skip the row.
// ===========================================================================
// eslint-disable-next-line no-unused-vars
async function otlpxWasm(mod, batch) {
  return null;
}

/** Loads wasm/pkg when it exists (wasm-bindgen `--target nodejs` or `web`). */
async function loadOtlpxWasmPkg() {
  const pkg = join(root, 'wasm/pkg');
  if (!existsSync(join(pkg, 'package.json'))) return { mod: null, why: 'wasm/pkg not built yet' };
  try {
    const meta = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    const entry = join(pkg, meta.main || meta.module || `${meta.name}.js`);
    const mod = await import(pathToFileURL(entry).href);
    if (typeof mod.default === 'function' && typeof mod.initSync === 'function') {
      // --target web: initialise from the file next to the glue.
      const wasmFile = (meta.files || []).find((f) => f.endsWith('.wasm'));
      if (wasmFile) mod.initSync({ module: readFileSync(join(pkg, wasmFile)) });
    }
    return { mod, why: '' };
  } catch (e) {
    return { mod: null, why: `wasm/pkg did not load: ${e.message}` };
  }
}

// ---------------------------------------------------------------------------

console.log(`standard batch, ${SPANS} spans; Node ${process.version}; ${cpus().length} CPUs; `
  + `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${new Date().toISOString()}`);
const batch = generateStandardBatch();
const rows = [];

// (a) The JS SDK path.
const spans = toReadableSpans(batch);
const sdkBytes = ProtobufTraceSerializer.serializeRequest(spans);
if (!sdkBytes || sdkBytes.length < STANDARD_REQUEST_LEN) throw new Error('the JS SDK serializer returned too little');
rows.push(['js_sdk (otlp-transformer ProtobufTraceSerializer)', measure(() => ProtobufTraceSerializer.serializeRequest(spans))]);

// (b) otlpx-wasm, the wasm-bindgen frontend.
{
  const { mod, why } = await loadOtlpxWasmPkg();
  const encode = mod ? await otlpxWasm(mod, batch) : null;
  if (encode) {
    const request = encode();
    if (fnv1a64(request) !== STANDARD_REQUEST_FNV1A64) throw new Error('otlpx-wasm: not the standard request');
    rows.push(['otlpx_wasm (wasm-bindgen frontend)', measure(encode)]);
  } else {
    rows.push(['otlpx_wasm (wasm-bindgen frontend)', null, why || 'hook otlpxWasm() not filled in yet']);
  }
}

// (c) The plain C-ABI module, driven from JS.
if (existsSync(args['plain-wasm'])) {
  const m = await PlainModule.load(args['plain-wasm']);
  const w = new InputWriter(300_000);
  const request = m.encode(standardInput(batch, w));
  if (request.length !== STANDARD_REQUEST_LEN || fnv1a64(request) !== STANDARD_REQUEST_FNV1A64) {
    throw new Error('plain wasm: not the standard request');
  }
  rows.push(['otlpx_plain_wasm (JS writes input, wasm encodes)', measure(() => m.encode(standardInput(batch, w)))]);
  const len = m.write(standardInput(batch, w));
  rows.push(['otlpx_plain_wasm_encode_only (input in memory)', measure(() => m.encodeWritten(len))]);
} else {
  rows.push(['otlpx_plain_wasm', null, `${args['plain-wasm']} not built (bash wasm/plain/test.sh)`]);
}

// (d) Native, in this run.
if (!args['no-native']) {
  try {
    const out = execFileSync('cargo', ['run', '-q', '--release', '-p', 'otlpx-benches', '--example', 'native_encode_ns'], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
    });
    const native = JSON.parse(out.trim().split('\n').pop());
    rows.push(['native otlpx (record + flush request)', native.otlpx_encode_request_ns_per_span]);
    rows.push(['native otlpx (span encoding only)', native.otlpx_encode_only_ns_per_span]);
  } catch (e) {
    rows.push(['native otlpx', null, `native_encode_ns failed: ${e.message.split('\n')[0]}`]);
  }
} else {
  rows.push(['native otlpx', null, 'skipped (--no-native); criterion: cargo bench -p otlpx-benches --bench encode -- standard_batch_512/otlpx']);
}

// The table.
const sdk = rows[0][1];
const w0 = Math.max(...rows.map((r) => r[0].length));
console.log(`\n${'path'.padEnd(w0)}  ${'ns/span'.padStart(9)}  ${'JS SDK / path'.padStart(13)}`);
for (const [name, ns, note] of rows) {
  if (ns == null) {
    console.log(`${name.padEnd(w0)}  ${'-'.padStart(9)}  ${'-'.padStart(13)}  (${note})`);
  } else {
    console.log(`${name.padEnd(w0)}  ${ns.toFixed(1).padStart(9)}  ${(sdk / ns).toFixed(2).padStart(12)}x`);
  }
}
console.log(`\nrounds: ${ROUNDS} (median); JS SDK request ${sdkBytes.length} bytes, otlpx ${STANDARD_REQUEST_LEN} bytes `
  + '(the same decoded request: check_standard_batch.mjs --write-sdk-request + dump_standard_batch --check-request)');
