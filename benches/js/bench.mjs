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
// - otlpx_wasm: the wasm-bindgen frontend through its public API (wasm/js):
//   Exporter.record of the 512 spans, then forceFlush into a capturing fetch.
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
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  generateStandardBatch, toReadableSpans, fnv1a64, SPANS, STANDARD_REQUEST_LEN, STANDARD_REQUEST_FNV1A64,
} from './standard_batch.mjs';
import { InputWriter, PlainModule, standardInput } from './plain_wasm.mjs';
import { loadOtlpxWasm, standardExporter, standardSpans } from './otlpx_wasm.mjs';

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

/**
 * Median ns per span of `f` (one batch per call): ~300 ms warm-up, rounds of
 * ~50 ms. An async `f` is awaited call by call; a synchronous one runs
 * without a microtask between calls.
 */
async function measure(f) {
  let calls = 0;
  const warmEnd = process.hrtime.bigint() + 300_000_000n;
  while (process.hrtime.bigint() < warmEnd) {
    const r = f();
    if (r instanceof Promise) await r;
    calls++;
  }
  const perRound = Math.max(1, Math.ceil(calls / 6));
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) {
      const p = f();
      if (p instanceof Promise) await p;
    }
    samples.push(Number(process.hrtime.bigint() - t) / (perRound * SPANS));
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

// ===========================================================================
// otlpx-wasm, the wasm-bindgen frontend, through its public API (wasm/js):
// an Exporter whose fetch captures the request; each call records the 512
// finished spans (as a Node app holds them: ids as bytes, times as BigInt ns)
// and awaits forceFlush, which packs nothing more, takes the encoded request
// out of wasm memory and hands it to fetch. The resource differs from the
// standard one (the exporter adds telemetry.sdk.*), so the check compares the
// span entries with the standard request's (see spanSection).
// ===========================================================================
async function otlpxWasm(batch) {
  const js = await loadOtlpxWasm();
  let body = null;
  const { exporter, scope } = standardExporter(js, (b) => {
    body = b;
  });
  const spans = standardSpans(js, batch);
  // The two halves of record, for the floor: JS packing alone (no wasm call),
  // and the wasm side alone (the 512 spans, packed beforehand).
  const { writeSpan } = await import(pathToFileURL(join(root, 'wasm/js/pack.js')).href);
  const packer = exporter._packer;
  const core = exporter._core;
  packOnly = () => {
    let n = 0;
    for (const span of spans) n += packer.pack(writeSpan, span, scope);
    return n;
  };
  // Each span packed once beforehand; per call, each is copied back into the
  // scratch buffer (~300 bytes, included) and recorded: 512 different spans,
  // as in the whole path.
  const packed = spans.map((span) => packer.u8.slice(0, packer.pack(writeSpan, span, scope)));
  recordOnly = () => {
    for (let i = 0; i < SPANS; i++) {
      const p = packed[i];
      if (packer.u8.byteLength === 0) packer.views();
      packer.u8.set(p, 0);
      if (core.record(p.length) > 1) throw new Error('otlpx-wasm: core.record dropped a span');
    }
    core.dropAll(4, 0); // empty the queue (counted as shutdown drops; this exporter is for measuring only)
  };
  return async () => {
    for (const span of spans) {
      const r = exporter.record(span, scope);
      if (r !== 'queued') throw new Error(`otlpx-wasm: record gave ${r}`);
    }
    const out = await exporter.forceFlush(60_000);
    if (!out.success || body == null) throw new Error(`otlpx-wasm: flush ${JSON.stringify(out)}`);
    const request = body;
    body = null;
    return request;
  };
}

/**
 * The span entries of a one-resource, one-scope ExportTraceServiceRequest:
 * the bytes after the scope inside ScopeSpans (canonical field order).
 */
function spanSection(req) {
  let i = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = req[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  const expect = (tag) => {
    if (req[i++] !== tag) throw new Error(`spanSection: tag ${tag} expected at ${i - 1}`);
    return varint();
  };
  // (`i += expect()` would add to the old `i`: read each length first.)
  const rsLen = expect(0x0a);
  const rsEnd = rsLen + i;
  const resourceLen = expect(0x0a);
  i += resourceLen;
  const ssLen = expect(0x12);
  const ssEnd = ssLen + i;
  const scopeLen = expect(0x0a);
  i += scopeLen;
  if (ssEnd > rsEnd) throw new Error('spanSection: bad lengths');
  return req.subarray(i, ssEnd);
}

// ---------------------------------------------------------------------------

console.log(`standard batch, ${SPANS} spans; Node ${process.version}; ${cpus().length} CPUs; `
  + `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${new Date().toISOString()}`);
const batch = generateStandardBatch();
const rows = [];
let wasmSpanSection = null;
let packOnly = null;
let recordOnly = null;
let wasmChecked = false;

// (a) The JS SDK path.
const spans = toReadableSpans(batch);
const sdkBytes = ProtobufTraceSerializer.serializeRequest(spans);
if (!sdkBytes || sdkBytes.length < STANDARD_REQUEST_LEN) throw new Error('the JS SDK serializer returned too little');
rows.push(['js_sdk (otlp-transformer ProtobufTraceSerializer)', await measure(() => ProtobufTraceSerializer.serializeRequest(spans))]);

// (b) otlpx-wasm, the wasm-bindgen frontend (needs wasm/pkg: bash scripts/wasm.sh).
if (existsSync(join(root, 'wasm/pkg/otlpx_wasm_bg.wasm'))) {
  const encode = await otlpxWasm(batch);
  const request = await encode();
  const spansOf = spanSection(request);
  if (spansOf.length < SPANS * 400) throw new Error('otlpx-wasm: the request holds too few span bytes');
  wasmSpanSection = spansOf.slice(); // the exporter reuses its body buffer
  rows.push(['otlpx_wasm (wasm-bindgen frontend: record + forceFlush)', await measure(encode)]);
  rows.push(['  of which JS packing the span objects (no wasm call)', await measure(packOnly)]);
  rows.push(['  of which wasm: read packed span, encode, enqueue', await measure(recordOnly)]);
} else {
  rows.push(['otlpx_wasm (wasm-bindgen frontend)', null, 'wasm/pkg not built (bash scripts/wasm.sh)']);
}

// (c) The plain C-ABI module, driven from JS.
if (existsSync(args['plain-wasm'])) {
  const m = await PlainModule.load(args['plain-wasm']);
  const w = new InputWriter(300_000);
  const request = m.encode(standardInput(batch, w));
  if (request.length !== STANDARD_REQUEST_LEN || fnv1a64(request) !== STANDARD_REQUEST_FNV1A64) {
    throw new Error('plain wasm: not the standard request');
  }
  if (wasmSpanSection && Buffer.compare(Buffer.from(spanSection(request)), Buffer.from(wasmSpanSection)) !== 0) {
    throw new Error('otlpx-wasm: its span entries differ from the standard request\'s');
  }
  wasmChecked = wasmSpanSection != null;
  rows.push(['otlpx_plain_wasm (JS writes input, wasm encodes)', await measure(() => m.encode(standardInput(batch, w)))]);
  const len = m.write(standardInput(batch, w));
  rows.push(['otlpx_plain_wasm_encode_only (input in memory)', await measure(() => m.encodeWritten(len))]);
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
if (wasmSpanSection) {
  console.log(wasmChecked
    ? '\notlpx-wasm: its 512 span entries are byte-equal to the standard request\'s (checked against the plain module)'
    : '\notlpx-wasm: span entries not compared (plain module not built)');
}
console.log(`\nrounds: ${ROUNDS} (median); JS SDK request ${sdkBytes.length} bytes, otlpx ${STANDARD_REQUEST_LEN} bytes `
  + '(the same decoded request: check_standard_batch.mjs --write-sdk-request + dump_standard_batch --check-request)');
