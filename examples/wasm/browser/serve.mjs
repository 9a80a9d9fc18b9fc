// The browser example's HTTP server, on 127.0.0.1 only:
//   - static files: the page (index.html, app.js) and otlpx-wasm (wasm/js and
//     wasm/pkg, under /otlpx-wasm/js/ and /otlpx-wasm/pkg/);
//   - the application endpoint GET /api/hello, which continues the caller's
//     trace: it records a SERVER span through otlpx-wasm in Node whose parent
//     is the incoming `traceparent` header, and answers with JSON that echoes
//     the trace context it received.
// Owns: serving and the server span. Must not: listen beyond loopback or
// serve files outside the directories above.
//
//   node serve.mjs [--port 8080] [--otlp http://127.0.0.1:4318/v1/traces]
// then open http://127.0.0.1:8080/?otlp=<the same receiver URL>.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exporter } from 'otlpx-wasm';

const here = fileURLToPath(new URL('.', import.meta.url));
const wasmDir = fileURLToPath(new URL('../../../wasm/', import.meta.url));

/** URL prefix -> directory. Only these files are served. */
const ROOTS = [
  ['/otlpx-wasm/js/', join(wasmDir, 'js')],
  ['/otlpx-wasm/pkg/', join(wasmDir, 'pkg')],
  ['/', here],
];
const PAGE_FILES = new Set(['index.html', 'app.js']);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
};

/** The file a request path maps to, or null (unknown, or an attempt to leave the roots). */
function fileFor(pathname) {
  if (pathname === '/') pathname = '/index.html';
  for (const [prefix, dir] of ROOTS) {
    if (!pathname.startsWith(prefix)) continue;
    const rel = decodeURIComponent(pathname.slice(prefix.length));
    if (prefix === '/' && !PAGE_FILES.has(rel)) return null;
    const file = normalize(join(dir, rel));
    return file.startsWith(dir.endsWith(sep) ? dir : dir + sep) ? file : null;
  }
  return null;
}

/**
 * Starts the server. `otlp`: the traces URL the server's own spans go to.
 * Resolves to { url, port, requests, close() }; `requests` lists what
 * /api/hello received (its traceparent and tracestate headers).
 */
export async function startServer({ port = 0, otlp, onLog } = {}) {
  const exporter = new Exporter({
    env: {},
    endpoint: otlp,
    serviceName: 'otlpx-browser-example-api',
    resourceAttributes: { 'deployment.environment.name': 'example' },
    scheduleDelayMs: 200,
    onLog,
  });
  const requests = [];

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    try {
      if (url.pathname === '/api/hello') {
        hello(req, res, url);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const file = fileFor(url.pathname);
      const body = file ? await readFile(file).catch(() => null) : null;
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}\n`);
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${e?.message ?? e}\n`);
    }
  });

  /** The application endpoint: a SERVER span that continues the caller's trace. */
  function hello(req, res, url) {
    const traceparent = req.headers.traceparent;
    const tracestate = req.headers.tracestate;
    requests.push({ traceparent, tracestate });
    const span = exporter.startSpan('GET /api/hello', {
      kind: 'server',
      // A missing or malformed traceparent starts a new trace (W3C Trace Context).
      parent: typeof traceparent === 'string' ? { traceparent, tracestate } : undefined,
      attributes: {
        'http.request.method': req.method ?? 'GET',
        'http.route': '/api/hello',
        'url.path': url.pathname,
        'url.scheme': 'http',
        'server.address': '127.0.0.1',
        'server.port': server.address().port,
        'user_agent.original': req.headers['user-agent'] ?? '',
      },
    });
    const name = url.searchParams.get('name') ?? 'world';
    const body = JSON.stringify({
      greeting: `hello, ${name}`,
      traceparent: traceparent ?? null,
      serverSpan: { traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId ?? null },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(body);
    span.setAttribute('http.response.status_code', 200).end();
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    requests,
    exporter,
    /** Stops serving and exports the server's spans; resolves to the exporter's outcome. */
    async close(timeoutMs = 10_000) {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
      return exporter.shutdown(timeoutMs);
    },
  };
}

// Run on its own: `node serve.mjs [--port P] [--otlp URL]`.
if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
  };
  const otlp = arg('--otlp', 'http://127.0.0.1:4318/v1/traces');
  const port = Number(arg('--port', '8080'));
  const s = await startServer({ port, otlp });
  console.log(`serving on ${s.url}  (open ${s.url}?otlp=${encodeURIComponent(otlp)})`);
  const stop = async () => {
    const outcome = await s.close(5000);
    console.log(`server spans: ${outcome.exported} exported, ${outcome.dropped} dropped`);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
