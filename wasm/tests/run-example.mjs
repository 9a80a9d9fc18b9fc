// Runs examples/wasm/node against a loopback receiver (`otlpx receive`)
// with the endpoint in OTEL_* variables, and checks the trace arrived.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startReceiver } from './receiver.mjs';

const example = fileURLToPath(new URL('../../examples/wasm/node/', import.meta.url));
const rx = await startReceiver();
let ok = false;
try {
  const base = rx.url.replace(/\/v1\/traces$/, '');
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_SERVICE_NAME: 'wasm-node-example' };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') && !['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME'].includes(k)) delete env[k];
  const run = spawnSync(process.execPath, ['index.mjs'], { cwd: example, env, encoding: 'utf8', timeout: 60000 });
  process.stdout.write(run.stdout);
  process.stderr.write(run.stderr);
  if (run.status !== 0) throw new Error(`the example exited with ${run.status}`);
  await rx.waitFor((o) => o.includes('"GET /orders/:id"') && o.includes('"SELECT orders"'));
  const out = rx.output();
  for (const want of [
    'service.name="wasm-node-example"',
    'trace=4bf92f3577b34da6a3ce929d0e0e4736',
    'http.route="/orders/:id"',
    'db.system.name="postgresql"',
    ': 3 spans',
  ]) {
    if (!out.includes(want)) throw new Error(`the receiver did not see ${want}:\n${out}`);
  }
  ok = true;
  console.log('example: 3 spans arrived at the loopback receiver with their attributes');
} finally {
  rx.stop();
}
process.exit(ok ? 0 : 1);
