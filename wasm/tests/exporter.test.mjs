// Node tests of otlpx-wasm's JS API: export to a real loopback receiver
// (protobuf and gzip), retry through an injected fetch (503 + Retry-After),
// errors as JS Error with a code, configuration warnings, trace context and
// sampling, and the accounting of every span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Exporter, double, version, DROP_REASONS } from '../js/index.js';
import { startReceiver } from './receiver.mjs';
import { decodeRequestOneofs, canonDecodedKv } from './otlp.mjs';

const quiet = { onLog: () => {} };

/** xorshift32 from `seed`: `rnd(n)` is in [0, n); `rnd.state()` reads the state, `rnd.state(s)` sets it. */
function xorshift(seed) {
  const rnd = (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  rnd.state = (s) => (s === undefined ? seed : (seed = s));
  return rnd;
}

test('exports to a real loopback receiver (protobuf, then gzip)', async () => {
  const rx = await startReceiver();
  try {
    for (const compression of ['none', 'gzip']) {
      const exp = new Exporter({
        env: { OTEL_SERVICE_NAME: 'wasm-node-test', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test' },
        endpoint: rx.url,
        compression,
        ...quiet,
      });
      const scope = exp.addScope('test-scope', '1.2.3');
      const span = exp.startSpan(`GET /users/:id ${compression}`, {
        kind: 'server',
        scope,
        attributes: { 'http.request.method': 'GET', 'http.route': '/users/:id', 'http.response.status_code': 200, ratio: double(0.5) },
      });
      span.addEvent('cache.miss', { key: 'user:42' });
      span.setStatus('ok');
      assert.equal(span.end(), 'queued');
      const out = await exp.shutdown(5000);
      assert.equal(out.timedOut, false);
      assert.equal(out.exported, 1, JSON.stringify(exp.stats(), (k, v) => (typeof v === "bigint" ? String(v) : v)));
      assert.equal(exp.stats().lastHttpStatus, 200);
      await rx.waitFor((o) => o.includes(`GET /users/:id ${compression}`));
    }
    const o = rx.output();
    assert.match(o, / gzip /, 'a gzip request arrived');
    assert.match(o, /service\.name="wasm-node-test"/);
    assert.match(o, /deployment\.environment\.name="test"/);
    assert.match(o, /telemetry\.sdk\.language="nodejs"/);
    assert.match(o, /scope "test-scope" 1\.2\.3/);
    assert.match(o, /http\.route="\/users\/:id"/);
    assert.match(o, /http\.response\.status_code=200/);
    assert.match(o, /ratio=0\.5/);
    assert.match(o, /SERVER/);
  } finally {
    rx.stop();
  }
});

test('retries a 503 after its Retry-After, as core decides', async () => {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ at: performance.now(), init });
    if (calls.length === 1) return new Response('busy', { status: 503, headers: { 'retry-after': '1' } });
    return new Response(null, { status: 200 });
  };
  const logs = [];
  const exp = new Exporter({ env: {}, fetch, onLog: (l, m) => logs.push([l, m]), retry: { initialIntervalMs: 10 } });
  exp.record({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'x', startTime: 1, endTime: 2 });
  const out = await exp.forceFlush(10000);
  assert.deepEqual([out.exported, out.dropped, out.timedOut], [1, 0, false]);
  assert.equal(calls.length, 2);
  assert.ok(calls[1].at - calls[0].at >= 990, `waited ${calls[1].at - calls[0].at} ms`);
  const s = exp.stats();
  assert.equal(s.retries, 1);
  assert.deepEqual(s.requests, { success: 1, retryable: 1, permanent: 0 });
  assert.ok(logs.some(([l, m]) => l === 'warn' && /HTTP 503.*busy/.test(m) && /retrying in 1\.\ds/.test(m)), JSON.stringify(logs));
  await exp.shutdown(1000);
});

test('a connection failure with retries disabled is export_failed; the error is logged', async () => {
  const logs = [];
  const exp = new Exporter({
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' },
    retry: { enabled: false },
    onLog: (l, m) => logs.push(`${l}: ${m}`),
  });
  exp.record({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'x', startTime: 1, endTime: 2 });
  const out = await exp.shutdown(5000);
  assert.equal(out.dropped, 1);
  assert.equal(exp.stats().dropped.export_failed, 1);
  assert.ok(logs.some((l) => l.startsWith('error: 1 spans dropped (export_failed)')), logs.join('\n'));
});

test('errors are JS Error objects with a code', () => {
  const grpc = () => new Exporter({ env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, ...quiet });
  assert.throws(grpc, (e) => e instanceof Error && e.code === 'ERR_OTLPX_CONFIG' && /grpc/.test(e.message));
  assert.throws(() => new Exporter({ env: {}, maxQueueSize: 'many' }), (e) => e instanceof Error && e.code === 'ERR_OTLPX_INVALID_ARGUMENT');
  assert.throws(() => new Exporter({ env: {}, protocol: 'carrier-pigeon' }), (e) => e.code === 'ERR_OTLPX_CONFIG');
  const exp = new Exporter({ env: {}, ...quiet });
  assert.throws(() => {
    for (let i = 0; i < 2000; i++) exp.addScope(`s${i}`);
  }, (e) => e instanceof Error && e.code === 'ERR_OTLPX_TOO_MANY_SCOPES');
});

test('configuration warnings go to the log callback once, and the default is used', () => {
  const logs = [];
  const exp = new Exporter({ env: { OTEL_BSP_SCHEDULE_DELAY: 'soon' }, onLog: (l, m) => logs.push([l, m]) });
  assert.equal(logs.length, 1);
  assert.equal(logs[0][0], 'warn');
  assert.match(logs[0][1], /OTEL_BSP_SCHEDULE_DELAY/);
  assert.equal(exp._core.scheduleDelayMs, 5000);
  exp.shutdown(10);
});

test('startSpan: remote parent from traceparent, local children, sampler from config', async () => {
  const bodies = [];
  const fetch = async (url, init) => {
    bodies.push(new Uint8Array(init.body)); // a copy: the exporter reuses its body buffer
    return new Response(null, { status: 200 });
  };
  const exp = new Exporter({ env: {}, fetch, ...quiet });
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const server = exp.startSpan('server', { kind: 'server', parent: { traceparent: tp, tracestate: 'k=v' } });
  assert.equal(server.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(server.parentSpanId, 'b7ad6b7169203331');
  assert.equal(server.traceState, 'k=v');
  assert.equal(server.flags, 0x301);
  const child = exp.startSpan('child', { parent: server });
  assert.equal(child.traceId, server.traceId);
  assert.equal(child.parentSpanId, server.spanId);
  assert.match(child.traceparent(), /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  const root = exp.startSpan('root');
  assert.notEqual(root.traceId, server.traceId);
  assert.equal(root.parentSpanId, undefined);
  child.end();
  server.end();
  root.end();
  await exp.shutdown(2000);
  assert.equal(exp.stats().exported, 3);
  const req = decodeRequestOneofs(bodies[0]);
  const spans = req.resourceSpans[0].scopeSpans[0].spans;
  assert.deepEqual(spans.map((s) => s.name), ['child', 'server', 'root']);
  assert.equal(spans[1].traceState, 'k=v');

  const off = new Exporter({ env: { OTEL_TRACES_SAMPLER: 'always_off' }, fetch, ...quiet });
  const s = off.startSpan('dropped-by-sampler');
  assert.equal(s.sampled, false);
  assert.match(s.traceparent(), /-00$/);
  assert.equal(s.end(), 'not_sampled');
  assert.equal(off.stats().accepted, 0);
  await off.shutdown(100);
});

test('every AnyValue type from JS, and every span counted (invalid, shutdown, disabled)', async () => {
  const bodies = [];
  const exp = new Exporter({ env: {}, fetch: async (u, i) => { bodies.push(new Uint8Array(i.body)); return new Response(null, { status: 200 }); }, ...quiet });
  const r = exp.record({
    traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), name: 'values', kind: 'client',
    startTime: [1700000000, 5], endTime: 1700000000123n * 1000000n,
    attributes: {
      s: 'é', b: false, i: -42, big: -9223372036854775808n, d: 2.5, dd: double(3), bytes: new Uint8Array([0, 255]),
      arr: [1, 'x', [true]], kv: { inner: { deep: 1n } }, skipped: undefined,
    },
  });
  assert.equal(r, 'queued');
  assert.equal(exp.record({ traceId: 'nothex', spanId: 'b7ad6b7169203331' }), 'invalid');
  assert.equal(exp.record({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', attributes: { f: () => 1 } }), 'invalid');
  await exp.shutdown(2000);
  assert.equal(exp.record({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }), 'shutdown');
  const s = exp.stats();
  assert.deepEqual([s.accepted, s.exported, s.dropped.invalid, s.dropped.shutdown, s.pending], [4, 1, 2, 1, 0]);
  const span = decodeRequestOneofs(bodies[0]).resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(span.kind, 3);
  assert.equal(span.startTimeUnixNano, '1700000000000000005');
  assert.equal(span.endTimeUnixNano, '1700000000123000000');
  assert.equal(span.droppedAttributesCount, 1);
  const attrs = Object.fromEntries(span.attributes.map(canonDecodedKv).map((kv) => [kv.k, kv.v]));
  assert.deepEqual(attrs, {
    s: { s: 'é' }, b: { b: false }, i: { i: '-42' }, big: { i: '-9223372036854775808' }, d: { d: '2.5' }, dd: { d: '3' },
    bytes: { y: '00ff' }, arr: { a: [{ i: '1' }, { s: 'x' }, { a: [{ b: true }] }] },
    kv: { kv: [{ k: 'inner', v: { kv: [{ k: 'deep', v: { i: '1' } }] } }] },
  });

  const off = new Exporter({ env: { OTEL_SDK_DISABLED: 'true' }, ...quiet });
  assert.equal(off.disabled, true);
  assert.equal(off.record({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }), 'disabled');
  assert.equal(off.stats().dropped.disabled, 1);
  assert.deepEqual(DROP_REASONS, ['queue_full', 'too_large', 'export_failed', 'rejected', 'shutdown', 'invalid', 'circuit_open', 'disabled']);
  assert.match(version, /^\d+\.\d+\.\d+/);
});

test('shutdown returns by its deadline when the receiver never answers', async () => {
  const exp = new Exporter({ env: {}, fetch: (u, init) => new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))), ...quiet });
  exp.record({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'x' });
  const t0 = performance.now();
  const out = await exp.shutdown(300);
  assert.ok(performance.now() - t0 < 1500);
  const s = exp.stats();
  assert.equal(s.pending, 0);
  assert.equal(out.dropped, 1);
  assert.equal(s.dropped.shutdown + s.dropped.export_failed, 1);
});

test('tracedFetch injects traceparent into a CLIENT span', async () => {
  const bodies = [];
  const exp = new Exporter({ env: {}, fetch: async (u, i) => { bodies.push(new Uint8Array(i.body)); return new Response(null, { status: 200 }); }, ...quiet });
  let seen;
  const res = await exp.tracedFetch('http://127.0.0.1:1/api?q=1', { method: 'post' }, {
    fetch: async (input, init) => { seen = init.headers.get('traceparent'); return new Response('ok', { status: 201 }); },
  });
  assert.equal(res.status, 201);
  assert.match(seen, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  await exp.shutdown(1000);
  const span = decodeRequestOneofs(bodies[0]).resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(span.kind, 3);
  assert.equal(Buffer.from(span.spanId).toString('hex'), seen.split('-')[2]);
  const attrs = Object.fromEntries(span.attributes.map(canonDecodedKv).map((kv) => [kv.k, kv.v]));
  assert.deepEqual(attrs['http.request.method'], { s: 'POST' });
  assert.deepEqual(attrs['http.response.status_code'], { i: '201' });
  assert.deepEqual(attrs['server.port'], { i: '1' });
});

test('interned keys and names: repeated, long, unicode and past the table size all arrive intact', async () => {
  const bodies = [];
  const exp = new Exporter({
    env: {}, maxQueueSize: 8192, maxExportBatchSize: 8192, scheduleDelayMs: 3_600_000,
    fetch: async (u, i) => { bodies.push(new Uint8Array(i.body)); return new Response(null, { status: 200 }); }, ...quiet,
  });
  const long = 'k'.repeat(65); // past the interned length: always packed in full
  const N = 5000; // more distinct keys than core's table holds (4096)
  for (let i = 0; i < N; i++) {
    const r = exp.record({
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: i % 2 ? 'odd é' : `name ${i % 7}`,
      attributes: { 'http.route': '/r', [`key.${i}`]: i, [long]: 'v', 'clé': 'x' },
      events: [{ name: 'ev', time: 1, attributes: { 'http.route': 'e' } }],
    });
    assert.equal(r, 'queued');
  }
  const out = await exp.shutdown(10_000);
  assert.equal(out.exported, N);
  const spans = bodies.flatMap((b) => decodeRequestOneofs(b).resourceSpans[0].scopeSpans[0].spans);
  assert.equal(spans.length, N);
  for (let i = 0; i < N; i += 499) {
    const s = spans[i];
    assert.equal(s.name, i % 2 ? 'odd é' : `name ${i % 7}`);
    assert.deepEqual(s.attributes.map((kv) => kv.key), ['http.route', `key.${i}`, long, 'clé']);
    assert.equal(s.attributes[1].value.intValue, String(i));
    assert.equal(s.events[0].name, 'ev');
    assert.equal(s.events[0].attributes[0].key, 'http.route');
  }
});

test('interned string values: repeated, high-cardinality, unicode and empty values all arrive intact', async () => {
  const bodies = [];
  const exp = new Exporter({
    env: {}, maxQueueSize: 8192, maxExportBatchSize: 8192, scheduleDelayMs: 3_600_000,
    fetch: async (u, i) => { bodies.push(new Uint8Array(i.body)); return new Response(null, { status: 200 }); }, ...quiet,
  });
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'é€😀', ''];
  const N = 3000;
  const attributesOf = (i) => ({
    'http.request.method': methods[i % methods.length], // low cardinality: interned
    'url.path': `/orders/${i}`, // unique: the key stops being looked up
    'http.route': `/route/${i % 40}`, // 40 values: more than one key interns
    'long.value': 'v'.repeat(60 + (i % 10)), // some past the interned length
    'mixed': i % 3 ? 'same' : i, // a string or a number under one key
  });
  for (let i = 0; i < N; i++) {
    const r = exp.record({
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'n',
      attributes: attributesOf(i),
      events: [{ name: 'ev', time: 1, attributes: { 'http.request.method': methods[(i + 1) % methods.length] } }],
    });
    assert.equal(r, 'queued');
  }
  // The high-cardinality key's values are no longer looked up; the others' still are.
  assert.equal(exp._packer.interned.get('url.path').values, null);
  assert.notEqual(exp._packer.interned.get('http.request.method').values, null);
  const out = await exp.shutdown(10_000);
  assert.equal(out.exported, N);
  const spans = bodies.flatMap((b) => decodeRequestOneofs(b).resourceSpans[0].scopeSpans[0].spans);
  assert.equal(spans.length, N);
  for (let i = 0; i < N; i++) {
    const got = Object.fromEntries(spans[i].attributes.map((kv) => [kv.key, kv.value]));
    const want = attributesOf(i);
    for (const k of ['http.request.method', 'url.path', 'http.route', 'long.value']) {
      assert.equal(got[k].stringValue, want[k], `span ${i} ${k}`);
    }
    if (typeof want.mixed === 'string') assert.equal(got.mixed.stringValue, want.mixed);
    else assert.equal(got.mixed.intValue, String(want.mixed));
    assert.equal(spans[i].events[0].attributes[0].value.stringValue, methods[(i + 1) % methods.length]);
  }
});

test('plain-object attributes pack exactly as the same [key, value] pairs (pack.js common-pair path and its fallbacks)', async () => {
  // Two exporters get the same spans, one with attributes as plain objects
  // (their common pairs written by objectAttrs), one as arrays of pairs
  // (always through Packer.one): the requests must be byte-identical while
  // keys, names and values are interned, value tables fill, and a
  // high-cardinality key stops being looked up.
  const rnd = xorshift(0x2545f491);
  const values = [
    () => ['GET', 'POST', 'PUT', 'DELETE'][rnd(4)], // a low-cardinality key's values
    () => `/api/v1/orders/${rnd(100000)}`, // high cardinality: fills the table, then not looked up
    () => `v${rnd(40)}`, // 40 values: a full table that keeps hitting
    () => 'é'.repeat(rnd(3)) + 'x', // non-ASCII (sometimes ASCII)
    () => 'y'.repeat(60 + rnd(10)), // around the interned length
    () => rnd(1000) - 500,
    () => 2 ** 60 + rnd(1000) * 4096, // integral, past 2^53
    () => rnd(1000) / 7,
    () => [NaN, Infinity, -0][rnd(3)],
    () => rnd(2) === 0,
    () => [null, undefined][rnd(2)], // skipped, counted as dropped
    () => [rnd(5), 'a', [true]], // nested: through one()
    () => ({ inner: rnd(3) }),
    () => BigInt(rnd(1000)) - 500n,
    () => new Uint8Array([rnd(256), 1]),
  ];
  const keys = ['http.request.method', 'url.path', 'k.forty', 'k.utf8', 'k.long', 'int', 'big', 'dbl', 'odd', 'flag', 'nil', 'arr', 'kv', 'bigint', 'bytes'];
  const make = () => {
    const bodies = [];
    const exp = new Exporter({
      env: {}, maxQueueSize: 8192, maxExportBatchSize: 8192, scheduleDelayMs: 3_600_000,
      fetch: async (u, i) => { bodies.push(new Uint8Array(i.body)); return new Response(null, { status: 200 }); }, ...quiet,
    });
    return { exp, bodies };
  };
  const a = make();
  const b = make();
  // Runs of spans of one shape (so that keys come back at the positions
  // where objectAttrs looks for them): scalar keys only, a key whose value
  // table is full, non-ASCII strings, values only one() packs (BigInt,
  // bytes, null in the middle, nested), and keys at random.
  const shapes = [[0, 1, 5, 6, 7, 9, 8], [0, 2, 5], [3, 9, 5, 4], [4, 0, 13, 14], [0, 5, 10, 9, 11, 12], null];
  let shape = null;
  for (let i = 0; i < 3000; i++) {
    if (i % 25 === 0) shape = shapes[rnd(shapes.length)] ?? Array.from({ length: rnd(9) }, () => rnd(keys.length));
    const pairs = [];
    for (const k of shape) {
      const key = rnd(200) === 0 ? `rare.${rnd(1000)}` : keys[k];
      if (pairs.some(([x]) => x === key)) continue; // an object holds each key once
      pairs.push([key, values[k]()]);
    }
    const span = (attributes, eventAttributes) => ({
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: `op ${rnd(5)}`,
      startTime: 1000n + BigInt(i), endTime: 2000n + BigInt(i), attributes,
      events: [{ name: 'ev', time: 1500n, attributes: eventAttributes }],
    });
    const evPairs = [['message.type', ['SENT', 'RECEIVED'][rnd(2)]], ['message.id', rnd(100)]];
    const s = rnd.state();
    assert.equal(a.exp.record(span(Object.fromEntries(pairs), Object.fromEntries(evPairs))), 'queued');
    rnd.state(s); // the same name for the second exporter
    assert.equal(b.exp.record(span(pairs, evPairs)), 'queued');
  }
  assert.equal((await a.exp.shutdown(10_000)).exported, 3000);
  assert.equal((await b.exp.shutdown(10_000)).exported, 3000);
  assert.equal(a.bodies.length, b.bodies.length);
  for (let i = 0; i < a.bodies.length; i++) assert.deepEqual(a.bodies[i], b.bodies[i], `request ${i}`);
});

test('writeSpan packs every span exactly as writeAnySpan does (the common-span path and its fallbacks)', async () => {
  const { writeSpan, writeAnySpan } = await import('../js/pack.js');
  const rnd = xorshift(0x9e3779b9);
  const bytes = (n) => Uint8Array.from({ length: n }, () => rnd(256));
  const one = (...choices) => choices[rnd(choices.length)];
  // Mostly the common value (so that many spans take the common path whole), now and then another.
  const usually = (common, ...others) => (rnd(16) === 0 ? one(...others) : common);
  const attrs = () => {
    const o = {};
    const n = rnd(6);
    for (let i = 0; i < n; i++) {
      o[one('http.request.method', 'url.path', 'server.port', 'ok', 'ratio', `k${rnd(30)}`)] = usually(
        () => one('GET', 'POST', `/p/${rnd(1000)}`, rnd(70000), rnd(2) === 0, rnd(100) / 3),
        () => 'é', () => null, () => [1, 'x'], () => 5n,
      )();
    }
    return usually(o, Object.entries(o), new Map(Object.entries(o)), undefined, null);
  };
  const span = () => {
    const s = {
      traceId: usually(bytes(16), '0af7651916cd43dd8448eb211c80319c', bytes(15), undefined),
      spanId: usually(bytes(8), 'b7ad6b7169203331'),
      parentSpanId: one(undefined, bytes(8), usually(null, '', 'b7ad6b7169203332')),
      flags: usually(one(undefined, 1, 0x301), '1', -1),
      name: usually(one('GET /a', `op ${rnd(3)}`), 'é op', undefined, 7),
      kind: usually(one(undefined, 1, 2, 3), 'server', 9, null, 2.5),
      startTime: usually(1_700_000_000_000_000_000n + BigInt(rnd(1000)), 1700000000000.5, -1n, 2n ** 64n, undefined),
      endTime: usually(1_700_000_000_100_000_000n, [1700000000, 5], new Date(5)),
      traceState: usually(undefined, '', 'a=b', null),
      attributes: attrs(),
      droppedAttributesCount: usually(one(undefined, 3), -1, 1.5, '2', 2 ** 40),
      events: usually(one(undefined, [], [{ name: 'ev', time: 5n, attributes: attrs() }]),
        [{ name: 'ev', time: 5n }, { name: one('ev2', 'é'), time: one(6n, 6), attributes: attrs(), droppedAttributesCount: one(undefined, 2) }], [null], 'x'),
      droppedEventsCount: usually(undefined, 1, NaN),
      links: usually(one(undefined, []), [{ traceId: bytes(16), spanId: bytes(8), attributes: attrs() }], null),
      droppedLinksCount: usually(one(undefined, 0, 4), null, -2),
      status: usually(one(undefined, { code: 'ok' }, { code: 'error' }, { code: 1 }), { code: 'error', message: 'boom' }, { code: 'OK' }, { code: 5 }, 'ok', null),
    };
    return s;
  };
  const a = new Exporter({ env: {}, ...quiet });
  const b = new Exporter({ env: {}, ...quiet });
  const pa = a._packer;
  const pb = b._packer;
  const pack = (p, write, s) => {
    try {
      const len = p.pack(write, s, 0);
      return p.u8.slice(0, len);
    } catch (e) {
      return `${e.name}: ${e.message}`;
    }
  };
  let common = 0;
  for (let i = 0; i < 4000; i++) {
    const s = span();
    // Also the same object shapes and values many times in a row, as an app records them.
    for (let r = 0; r < 1 + rnd(3); r++) {
      const x = pack(pa, writeSpan, s);
      const y = pack(pb, writeAnySpan, s);
      assert.deepEqual(x, y, `span ${i}`);
      if (typeof x !== 'string') common++;
    }
  }
  assert.ok(common > 1000, `${common} spans packed`);
});

test('gzip configured on an engine without CompressionStream: a warning, and requests go uncompressed', async () => {
  const saved = globalThis.CompressionStream;
  const logs = [];
  const sent = [];
  try {
    delete globalThis.CompressionStream;
    const exp = new Exporter({
      env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' },
      fetch: async (u, i) => { sent.push(i.headers['content-encoding'] ?? 'identity'); return new Response(null, { status: 200 }); },
      onLog: (level, message) => logs.push(`${level}: ${message}`),
    });
    assert.equal(exp.record({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'x' }), 'queued');
    assert.equal((await exp.shutdown(5000)).exported, 1);
  } finally {
    globalThis.CompressionStream = saved;
  }
  assert.deepEqual(sent, ['identity']);
  assert.ok(logs.some((l) => l.startsWith('warn: ') && l.includes('CompressionStream')), logs.join('\n'));
});
