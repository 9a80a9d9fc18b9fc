// The browser example's page script: traces a fetch with otlpx-wasm and
// exports the spans to an OTLP/HTTP receiver on another origin (CORS).
//
// On load: an INTERNAL span "load greeting" with, as its child, the CLIENT
// span of `fetch('/api/hello')` (Exporter.tracedFetch: stable HTTP semantic
// conventions, `traceparent` injected so the server's span joins the trace);
// then forceFlush, and the outcome goes into <pre id="result"> as JSON
// (`data-state` "ok" or "error"). The button does the same without flushing:
// those spans leave with the schedule timer, or with `keepalive` when the
// page is hidden or closed (flushOnHide, on by default in browsers).
//
// Query: ?otlp=<traces URL> (default http://127.0.0.1:4318/v1/traces); any
// OTEL_* parameter is passed as configuration (e.g. OTEL_BSP_SCHEDULE_DELAY,
// OTEL_TRACES_SAMPLER), as environment variables are elsewhere.
const out = document.getElementById('result');
const again = document.getElementById('again');
const params = new URLSearchParams(location.search);
const env = Object.fromEntries([...params].filter(([k]) => k.startsWith('OTEL_')));
const endpointFromEnv = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
// A code option wins over env, so it is only passed when no OTEL_* endpoint was given.
const endpoint = params.get('otlp') ?? (endpointFromEnv ? undefined : 'http://127.0.0.1:4318/v1/traces');
const logs = [];

function show(result) {
  out.textContent = JSON.stringify(result, null, 2);
  out.dataset.state = result.ok ? 'ok' : 'error';
}

/** One traced call of /api/hello under an INTERNAL span; `flush` exports right away. */
async function greet(exporter, trigger, flush) {
  const op = exporter.startSpan('load greeting', { kind: 'internal', attributes: { 'app.trigger': trigger } });
  let res;
  let body;
  try {
    // The CLIENT span: http.request.method, url.full, server.address, server.port, then
    // http.response.status_code; its traceparent goes in the request headers.
    res = await exporter.tracedFetch(
      `/api/hello?name=${encodeURIComponent(trigger)}`,
      { headers: { accept: 'application/json' } },
      { parent: op },
    );
    body = await res.json();
    if (!res.ok) op.setStatus('error', `HTTP ${res.status}`);
  } catch (e) {
    op.recordException(e).setStatus('error', String(e?.message ?? e));
    throw e;
  } finally {
    op.end();
  }
  const outcome = flush ? await exporter.forceFlush(10_000) : null;
  const s = exporter.stats();
  return {
    ok: res.ok && typeof body.traceparent === 'string' && (!outcome || outcome.success),
    trigger,
    endpoint: exporter.endpoint,
    operation: { traceId: op.traceId, spanId: op.spanId },
    // What the server received: the CLIENT span's context (its span id is the client span's).
    response: { status: res.status, greeting: body.greeting, traceparentReceived: body.traceparent },
    serverSpan: body.serverSpan,
    flush: outcome,
    stats: {
      exported: s.exported,
      dropped: s.droppedTotal,
      pending: s.pending,
      lastHttpStatus: s.lastHttpStatus,
      lastError: s.lastError,
    },
    logs,
  };
}

try {
  // Imported here rather than statically, so that a failure to load the module shows on the page.
  const { Exporter, version } = await import('./otlpx-wasm/js/index.js');
  const exporter = new Exporter({
    env,
    ...(endpoint ? { endpoint } : {}),
    serviceName: 'otlpx-browser-example',
    resourceAttributes: { 'deployment.environment.name': 'example', 'service.version': version },
    compression: 'gzip',
    onLog: (level, message) => logs.push(`${level}: ${message}`),
  });
  show({ ...(await greet(exporter, 'load', true)), otlpxVersion: version });
  again.disabled = false;
  again.addEventListener('click', async () => {
    try {
      show(await greet(exporter, 'click', false));
    } catch (e) {
      show({ ok: false, trigger: 'click', error: String(e?.stack ?? e), logs });
    }
  });
} catch (e) {
  show({ ok: false, error: String(e?.stack ?? e), logs });
}
