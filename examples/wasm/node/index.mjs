// Exports a small trace from Node through otlpx-wasm. The endpoint, service
// name, headers, sampler, batching and retry settings come from the OTEL_*
// environment (process.env), as in every OpenTelemetry SDK; e.g.
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=checkout node index.mjs
import { Exporter } from 'otlpx-wasm';

const exporter = new Exporter({
  // process.env is read by default in Node; code options win over it.
  resourceAttributes: { 'deployment.environment.name': process.env.DEPLOY_ENV ?? 'example' },
});
console.log(`exporting to ${exporter.endpoint}`);

// An incoming request: continue the caller's trace from its traceparent header.
const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const server = exporter.startSpan('GET /orders/:id', {
  kind: 'server',
  parent: { traceparent: incoming },
  attributes: { 'http.request.method': 'GET', 'http.route': '/orders/:id', 'url.path': '/orders/42' },
});

// Work inside it: a database call and an outgoing request.
const db = exporter.startSpan('SELECT orders', {
  kind: 'client',
  parent: server,
  attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM orders WHERE id = $1' },
});
await new Promise((r) => setTimeout(r, 5));
db.end();

const call = exporter.startSpan('GET', { kind: 'client', parent: server, attributes: { 'server.address': 'inventory' } });
call.addEvent('retry', { attempt: 1 });
call.setAttribute('http.response.status_code', 200);
call.end();

server.setAttribute('http.response.status_code', 200);
server.setStatus('ok');
server.end();

// Send everything before exiting (the exporter's timer does not keep Node alive).
const outcome = await exporter.shutdown(10_000);
const stats = exporter.stats();
console.log(`trace ${server.traceId}: ${outcome.exported} spans exported, ${outcome.dropped} dropped` +
  (stats.lastError ? ` (last error: ${stats.lastError})` : ''));
process.exitCode = outcome.success ? 0 : 1;
