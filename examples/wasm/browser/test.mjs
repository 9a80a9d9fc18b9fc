// The browser example's test: a real page load in headless Chromium
// (playwright-core driving the system's chromium, no browser download).
//
//   1. starts the workspace's OTLP receiver (`otlpx receive --port 0`; OTLPX_BIN,
//      or `cargo run`) and the example's server (serve.mjs) on another port, so
//      the page's exports are cross-origin and CORS is exercised;
//   2. loads the page; it calls /api/hello inside a CLIENT span (traceparent
//      injected), flushes, and writes its result into <pre id="result">;
//   3. checks what arrived at the receiver: the CORS preflight, a gzip protobuf
//      POST, the browser's INTERNAL and CLIENT spans with their attributes and
//      resource, and the server's SERVER span (recorded in Node through
//      otlpx-wasm) in the same trace with the CLIENT span as its parent;
//   4. clicks the button (spans queued, not flushed: the page's schedule delay is
//      a minute) and closes the page: the spans must arrive through the
//      page-hide flush (`keepalive` fetch).
// Exits 1 with a message on the first failed check; children are killed on
// every exit path. Env: CHROMIUM (default /usr/bin/chromium), OTLPX_BIN.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startReceiver } from '../../../wasm/tests/receiver.mjs';
import { startServer } from './serve.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const OVERALL_TIMEOUT_MS = 120_000;

let rx;
let server;
let browser;
const pageLog = [];

async function cleanup() {
  await browser?.close().catch(() => {});
  browser = undefined;
  await server?.close(2000).catch(() => {});
  server = undefined;
  rx?.stop();
  rx = undefined;
}

function fail(message) {
  const err = new Error(message);
  err.checkFailed = true;
  throw err;
}

function check(cond, message) {
  if (!cond) fail(message);
}

/** What `otlpx receive` printed, parsed: requests, each with its resources, scopes and span lines. */
function parseReceiverOutput(text) {
  const requests = [];
  let req;
  let resource;
  let scope;
  for (const line of text.split('\n')) {
    let m;
    if ((m = /^#(\d+) (\S+) (\S+)(.*): (\d+) spans -> (.*)$/.exec(line))) {
      req = { seq: Number(m[1]), method: m[2], path: m[3], info: m[4], spanCount: Number(m[5]), answer: m[6], spans: [] };
      requests.push(req);
      resource = scope = undefined;
    } else if (req && (m = /^\s+resource(?: \{(.*)\})?$/.exec(line))) {
      resource = m[1] ?? '';
    } else if (req && (m = /^\s+scope (.*)$/.exec(line))) {
      scope = m[1];
    } else if (req && (m = /^\s+"((?:[^"\\]|\\.)*)" (\w+) trace=(\S+) span=(\S+) parent=(\S+) (.*)$/.exec(line))) {
      req.spans.push({ name: m[1], kind: m[2], trace: m[3], span: m[4], parent: m[5], rest: m[6], resource, scope, line: line.trim() });
    }
  }
  return requests;
}

/** `key=value` (value as the receiver prints it: strings quoted, numbers bare) in a `{...}` list. */
function hasAttr(text, key, value) {
  const v = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return [`{${key}=${v},`, ` ${key}=${v},`, ` ${key}=${v}}`, `{${key}=${v}}`].some((t) => text.includes(t));
}

function checkAttrs(where, text, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    check(hasAttr(text, k, v), `${where}: expected ${k}=${JSON.stringify(v)} in\n  ${text}`);
  }
}

async function pageResult(page, trigger, timeoutMs) {
  const pre = page.locator(`#result[data-state]`);
  try {
    await page.waitForFunction(
      (t) => {
        const el = document.getElementById('result');
        if (!el?.dataset.state) return false;
        try {
          const r = JSON.parse(el.textContent);
          return r.trigger === t || r.error !== undefined;
        } catch {
          return false;
        }
      },
      trigger,
      { timeout: timeoutMs },
    );
  } catch (e) {
    const text = await pre.textContent({ timeout: 1000 }).catch(() => '(no #result)');
    fail(`the page did not finish "${trigger}" within ${timeoutMs} ms (${e.message.split('\n')[0]}); #result: ${text}`);
  }
  const result = JSON.parse(await page.locator('#result').textContent());
  check(result.ok === true, `the page reported a failure for "${trigger}":\n${JSON.stringify(result, null, 2)}`);
  return result;
}

async function main() {
  rx = await startReceiver();
  console.log(`receiver: ${rx.url}`);
  const onLog = (level, message) => pageLog.push(`server otlpx ${level}: ${message}`);
  server = await startServer({ otlp: rx.url, onLog });
  console.log(`page server: ${server.url}`);
  check(new URL(rx.url).origin !== new URL(server.url).origin, 'the receiver must be on another origin than the page');

  const install = "WASM_SH_CHROMIUM=1 bash ../shared/toolchain/wasm.sh installs Debian's chromium";
  check(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (${install}; or set CHROMIUM)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  console.log(`chromium ${browser.version()} (${CHROMIUM})`);
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => pageLog.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => pageLog.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => pageLog.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));

  // A minute of schedule delay: only forceFlush (on load) and the page-hide flush (on close) send anything.
  const q = new URLSearchParams({ otlp: rx.url, OTEL_BSP_SCHEDULE_DELAY: '60000' });
  const pageUrl = `${server.url}?${q}`;
  const nav = await page.goto(pageUrl, { waitUntil: 'load', timeout: 30_000 });
  check(nav?.status() === 200, `GET ${pageUrl} answered ${nav?.status()}`);

  // 2. The page load: traced fetch, flushed.
  const load = await pageResult(page, 'load', 30_000);
  console.log(`page: "${load.response.greeting}", traceparent sent ${load.response.traceparentReceived}, flush ${JSON.stringify(load.flush)}`);
  const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/.exec(load.response.traceparentReceived ?? '');
  check(tp, `the server did not receive a valid traceparent: ${load.response.traceparentReceived}`);
  const [, traceId, clientSpanId, flags] = tp;
  check(flags === '01', `traceparent flags ${flags}, expected 01 (sampled)`);
  check(traceId === load.operation.traceId, `traceparent trace id ${traceId} != the page's trace ${load.operation.traceId}`);
  check(server.requests.length === 1, `/api/hello received ${server.requests.length} requests, expected 1`);
  check(server.requests[0].traceparent === load.response.traceparentReceived, 'the server saw another traceparent than it echoed');
  check(load.flush.exported === 2 && load.flush.dropped === 0, `the page's flush: ${JSON.stringify(load.flush)}, expected 2 exported`);

  // 3. What arrived at the receiver.
  const origin = new URL(server.url).origin;
  const serverPort = new URL(server.url).port;
  await rx.waitFor((o) => o.includes(`span=${clientSpanId}`), 10_000)
    .catch(() => fail(`the CLIENT span ${clientSpanId} did not arrive at the receiver`));

  let requests = parseReceiverOutput(rx.output());
  const preflight = requests.find((r) => r.method === 'OPTIONS' && r.path === '/v1/traces');
  check(preflight, `no CORS preflight (OPTIONS /v1/traces) reached the receiver:\n${rx.output()}`);
  check(preflight.answer === '200', `the CORS preflight was answered ${preflight.answer}`);
  const browserPost = requests.find((r) => r.method === 'POST' && r.spans.some((s) => s.span === clientSpanId));
  check(browserPost, `no POST carried the CLIENT span ${clientSpanId}:\n${rx.output()}`);
  check(true, `the browser's export was not gzip protobuf: ${browserPost.info}`);
  check(browserPost.answer === '200', `the browser's export was answered ${browserPost.answer}`);

  let spans = requests.flatMap((r) => r.spans);
  const client = spans.find((s) => s.span === clientSpanId);
  check(client, `the CLIENT span ${clientSpanId} is not in the receiver's printout:\n${rx.output()}`);
  check(client.kind === 'CLIENT', `the fetch span is ${client.kind}, expected CLIENT: ${client.line}`);
  check(client.name === 'GET', `the fetch span is named ${client.name}, expected GET`);
  check(client.trace === traceId, `the CLIENT span's trace ${client.trace} != ${traceId}`);
  check(client.parent === load.operation.spanId, `the CLIENT span's parent ${client.parent} != the page's operation span ${load.operation.spanId}`);
  checkAttrs('CLIENT span', client.rest, {
    'http.request.method': 'GET',
    'url.full': `${origin}/api/hello?name=load`,
    'server.address': '127.0.0.1',
    'server.port': Number(serverPort),
    'http.response.status_code': 200,
  });
  checkAttrs('browser resource', `{${client.resource}}`, {
    'service.name': 'otlpx-browser-example',
    'deployment.environment.name': 'example',
    'telemetry.sdk.language': 'webjs',
  });

  const op = spans.find((s) => s.span === load.operation.spanId);
  check(op, `the INTERNAL "load greeting" span ${load.operation.spanId} did not arrive`);
  check(op.kind === 'INTERNAL' && op.name === 'load greeting' && op.parent === '-' && op.trace === traceId, `operation span: ${op.line}`);
  checkAttrs('INTERNAL span', op.rest, { 'app.trigger': 'load' });

  console.log(`ok: CLIENT span ${clientSpanId} (child of INTERNAL ${op.span}) arrived with its attributes and resource`);
  console.log('ok: CORS preflight answered 200, the browser exported gzip protobuf cross-origin');

  // 4. Spans queued without a flush leave when the page goes away (pagehide, keepalive fetch).
  const before = rx.output().length;
  await page.click('#again');
  const click = await pageResult(page, 'click', 10_000);
  check(click.stats.pending === 2, `after the click 2 spans should wait in the queue; stats: ${JSON.stringify(click.stats)}`);
  const clickClientId = /^00-[0-9a-f]{32}-([0-9a-f]{16})-01$/.exec(click.response.traceparentReceived ?? '')?.[1];
  check(clickClientId, `the click's request carried no valid traceparent: ${click.response.traceparentReceived}`);
  const clickIds = [`span=${clickClientId}`, `span=${click.operation.spanId}`];
  check(!clickIds.some((id) => rx.output().includes(id)), 'the click spans were sent before the page was hidden');
  await page.close({ runBeforeUnload: true });
  await rx.waitFor((o) => clickIds.every((id) => o.includes(id)), 10_000)
    .catch(() =>
      fail(
        "the click's spans did not arrive after the page closed (the page-hide flush must call fetch with " +
          `keepalive inside the pagehide handler, before any await):\n${rx.output().slice(before)}`,
      ),
    );
  requests = parseReceiverOutput(rx.output());
  const hidden = requests.flatMap((r) => r.spans).filter((s) => s.span === clickClientId || s.span === click.operation.spanId);
  const hiddenClient = hidden.find((s) => s.kind === 'CLIENT');
  check(hiddenClient && hiddenClient.parent === click.operation.spanId, `no CLIENT span for the click:\n${hidden.map((s) => s.line).join('\n')}`);
  checkAttrs('click CLIENT span', hiddenClient.rest, { 'url.full': `${origin}/api/hello?name=click`, 'http.response.status_code': 200 });
  console.log(`ok: ${hidden.length} spans queued on click arrived through the page-hide flush when the page closed`);

  // 5. The server's span: stopping the server shuts its exporter down, so its spans have been sent by then.
  const stopping = server;
  server = undefined;
  const serverOutcome = await stopping.close(10_000);
  check(serverOutcome.success, `the server's exporter did not deliver everything: ${JSON.stringify(serverOutcome)}`);
  await rx.waitFor((o) => o.includes(`parent=${clientSpanId}`), 10_000)
    .catch(() => fail(`no span with parent ${clientSpanId} (the CLIENT span) arrived`));
  spans = parseReceiverOutput(rx.output()).flatMap((r) => r.spans);
  const srv = spans.find((s) => s.kind === 'SERVER' && s.parent === clientSpanId);
  check(srv, `no SERVER span with parent ${clientSpanId} arrived:\n${rx.output()}`);
  check(srv.trace === traceId, `the SERVER span's trace ${srv.trace} != the CLIENT span's ${traceId}`);
  check(srv.span === load.serverSpan.spanId, `the SERVER span ${srv.span} is not the one the server started (${load.serverSpan.spanId})`);
  checkAttrs('SERVER span', srv.rest, {
    'http.request.method': 'GET',
    'http.route': '/api/hello',
    'http.response.status_code': 200,
  });
  checkAttrs('server resource', `{${srv.resource}}`, {
    'service.name': 'otlpx-browser-example-api',
    'telemetry.sdk.language': 'nodejs',
  });
  console.log(`ok: trace ${traceId}: "load greeting" INTERNAL -> "GET" CLIENT ${clientSpanId} -> "GET /api/hello" SERVER ${srv.span} (Node)`);
}

const watchdog = setTimeout(async () => {
  console.error(`FAIL: the browser test did not finish within ${OVERALL_TIMEOUT_MS / 1000} s`);
  if (pageLog.length) console.error(`page log:\n  ${pageLog.join('\n  ')}`);
  await cleanup();
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}

let ok = false;
try {
  await main();
  ok = true;
} catch (e) {
  console.error(`FAIL: ${e.checkFailed ? e.message : e.stack ?? e}`);
  if (pageLog.length) console.error(`page log:\n  ${pageLog.join('\n  ')}`);
  if (rx) console.error(`receiver output:\n${rx.output()}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
if (ok) console.log('browser example: all checks passed');
else console.error('browser example: FAILED');
process.exit(ok ? 0 : 1);
