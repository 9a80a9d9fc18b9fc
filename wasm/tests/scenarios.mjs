// The Node runner of the shared behaviour scenarios (scenarios/*.json, format
// in scenarios/README.md), through otlpx-wasm's public JS API.
//
// Owns: turning each scenario into Exporter options, scopes and spans, a
// scripted fake transport (the injected fetch, with a held promise for
// `hold_first_request_after`), decoding every request with protobufjs
// (independent of otlpx's encoder) and comparing stats, request layout and
// spans. Runs every file and lists every failure; exits 1 on any.
// Env: OTLPX_SCENARIO=<name> runs one, OTLPX_SCENARIO_DIR=<dir> another directory.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exporter, double, DROP_REASONS } from '../js/index.js';
import { decodeRequestOneofs, canonDecodedSpan, canonDecodedKv, encodePartialSuccess } from './otlp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.env.OTLPX_SCENARIO_DIR ?? join(here, '..', '..', 'scenarios');
const only = process.env.OTLPX_SCENARIO;

const DEFAULT_RETRY = { enabled: true, initialIntervalMs: 10, maxIntervalMs: 100, maxElapsedMs: 5000 };
const SCHEDULE_DELAY_MS = 60000;
const SHUTDOWN_TIMEOUT_MS = 10000;
const HOLD_TIMEOUT_MS = 5000;
const OUTCOMES = ['success', 'retryable', 'permanent'];

function onlyKeys(o, allowed, what) {
  for (const k of Object.keys(o ?? {})) {
    if (!allowed.includes(k)) throw new Error(`${what}: unknown key ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
  }
}

// ---------------------------------------------------------------------------
// OTLP/JSON -> the wasm API's values.

const b64hex = (b64) => Buffer.from(b64, 'base64').toString('hex');

function jsValue(v, what) {
  const keys = Object.keys(v);
  if (keys.length !== 1) throw new Error(`${what}: an AnyValue needs exactly one field`);
  const k = keys[0];
  const x = v[k];
  switch (k) {
    case 'stringValue': return x;
    case 'boolValue': return x;
    case 'intValue': return BigInt(x);
    case 'doubleValue': return double(x);
    case 'bytesValue': return new Uint8Array(Buffer.from(x, 'base64'));
    case 'arrayValue': return (x.values ?? []).map((e, i) => jsValue(e, `${what}[${i}]`));
    case 'kvlistValue': return new Map((x.values ?? []).map((kv) => [kv.key, jsValue(kv.value, `${what}.${kv.key}`)]));
    default: throw new Error(`${what}: unknown AnyValue field ${k}`);
  }
}

/** Attributes as [key, value] pairs (order and duplicates kept). */
const jsAttrs = (attrs, what) => (attrs ?? []).map((kv) => {
  onlyKeys(kv, ['key', 'value'], what);
  return [kv.key, jsValue(kv.value, `${what}.${kv.key}`)];
});

function jsSpan(s, what) {
  onlyKeys(s, ['traceId', 'spanId', 'traceState', 'parentSpanId', 'flags', 'name', 'kind', 'startTimeUnixNano',
    'endTimeUnixNano', 'attributes', 'droppedAttributesCount', 'events', 'droppedEventsCount', 'links',
    'droppedLinksCount', 'status'], what);
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId || undefined,
    traceState: s.traceState ?? '',
    flags: s.flags ?? 0,
    name: s.name ?? '',
    kind: s.kind ?? 0,
    startTime: BigInt(s.startTimeUnixNano ?? '0'),
    endTime: BigInt(s.endTimeUnixNano ?? '0'),
    attributes: jsAttrs(s.attributes, `${what}.attributes`),
    droppedAttributesCount: s.droppedAttributesCount ?? 0,
    events: (s.events ?? []).map((e, i) => ({
      time: BigInt(e.timeUnixNano ?? '0'),
      name: e.name ?? '',
      attributes: jsAttrs(e.attributes, `${what}.events[${i}]`),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: s.droppedEventsCount ?? 0,
    links: (s.links ?? []).map((l, i) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      traceState: l.traceState ?? '',
      attributes: jsAttrs(l.attributes, `${what}.links[${i}]`),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
      flags: l.flags ?? 0,
    })),
    droppedLinksCount: s.droppedLinksCount ?? 0,
    status: s.status ? { code: s.status.code ?? 0, message: s.status.message ?? '' } : undefined,
  };
}

// ---------------------------------------------------------------------------
// Expected spans in canonical form (the decoded side: otlp.mjs canonDecodedSpan).

function canonValue(v, limit, cut) {
  const k = Object.keys(v)[0];
  const x = v[k];
  switch (k) {
    case 'stringValue': return { s: cut && limit != null ? [...x].slice(0, limit).join('') : x };
    case 'boolValue': return { b: x };
    case 'intValue': return { i: String(BigInt(x)) };
    case 'doubleValue': return { d: Object.is(x, -0) ? '-0' : String(x) };
    case 'bytesValue': return { y: b64hex(x) };
    case 'arrayValue': return { a: (x.values ?? []).map((e) => canonValue(e, limit, cut)) };
    // Strings inside a kvlist are never cut (README, span limit rules).
    case 'kvlistValue': return { kv: (x.values ?? []).map((kv) => ({ k: kv.key, v: canonValue(kv.value, limit, false) })) };
    default: return { empty: true };
  }
}

const canonKvs = (attrs, limit) => (attrs ?? []).map((kv) => ({ k: kv.key, v: canonValue(kv.value, limit, true) }));
const sat = (n) => Math.min(n, 4294967295);

/** The expected decoded span for input `s` with the limits applied (null limits: as given). */
function canonSpan(s, L) {
  const lim = (list, n) => (L ? (list ?? []).slice(0, n) : list ?? []);
  const cutCount = (list, n) => (L ? Math.max(0, (list ?? []).length - n) : 0);
  const vl = L ? L.attribute_value_length : null;
  const st = s.status ?? {};
  return {
    traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', traceState: s.traceState ?? '',
    flags: s.flags ?? 0, name: s.name ?? '', kind: s.kind ?? 0,
    start: String(BigInt(s.startTimeUnixNano ?? '0')), end: String(BigInt(s.endTimeUnixNano ?? '0')),
    attributes: canonKvs(lim(s.attributes, L?.attribute_count), vl),
    droppedAttributesCount: sat((s.droppedAttributesCount ?? 0) + cutCount(s.attributes, L?.attribute_count)),
    events: lim(s.events, L?.event_count).map((e) => ({
      time: String(BigInt(e.timeUnixNano ?? '0')), name: e.name ?? '',
      attributes: canonKvs(lim(e.attributes, L?.attributes_per_event), vl),
      dropped: sat((e.droppedAttributesCount ?? 0) + cutCount(e.attributes, L?.attributes_per_event)),
    })),
    droppedEventsCount: sat((s.droppedEventsCount ?? 0) + cutCount(s.events, L?.event_count)),
    links: lim(s.links, L?.link_count).map((l) => ({
      traceId: l.traceId, spanId: l.spanId, traceState: l.traceState ?? '',
      attributes: canonKvs(lim(l.attributes, L?.attributes_per_link), vl),
      dropped: sat((l.droppedAttributesCount ?? 0) + cutCount(l.attributes, L?.attributes_per_link)),
      flags: l.flags ?? 0,
    })),
    droppedLinksCount: sat((s.droppedLinksCount ?? 0) + cutCount(s.links, L?.link_count)),
    status: { code: st.code ?? 0, message: st.message ?? '' },
  };
}

function diff(a, b, path, out) {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    if (a !== b) out.push(`${path}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
    return;
  }
  if (Array.isArray(a) !== Array.isArray(b)) {
    out.push(`${path}: got ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
    return;
  }
  if (Array.isArray(a) && a.length !== b.length) {
    out.push(`${path}: ${a.length} items, expected ${b.length}: got ${JSON.stringify(a).slice(0, 300)}, expected ${JSON.stringify(b).slice(0, 300)}`);
    return;
  }
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diff(a[k], b[k], `${path}.${k}`, out);
}

// ---------------------------------------------------------------------------
// One scenario.

async function run(sc) {
  const errors = [];
  onlyKeys(sc, ['name', 'description', 'config', 'resource', 'scopes', 'spans', 'transport_script',
    'hold_first_request_after', 'expect'], 'scenario');
  const c = sc.config ?? {};
  onlyKeys(c, ['max_queue_size', 'max_export_batch_size', 'max_batch_bytes', 'export_timeout_ms', 'sdk_disabled',
    'attribute_count', 'attribute_value_length', 'event_count', 'link_count', 'attributes_per_event',
    'attributes_per_link', 'retry'], 'config');
  const limits = {
    attribute_count: c.attribute_count ?? 128,
    attribute_value_length: c.attribute_value_length ?? null,
    event_count: c.event_count ?? 128,
    link_count: c.link_count ?? 128,
    attributes_per_event: c.attributes_per_event ?? 128,
    attributes_per_link: c.attributes_per_link ?? 128,
  };
  const r = c.retry ?? {};
  onlyKeys(r, ['enabled', 'initial_interval_ms', 'max_interval_ms', 'max_elapsed_ms'], 'config.retry');
  const resource = (sc.resource?.attributes ?? []).map((kv) => [kv.key, kv.value.stringValue]);
  const options = {
    env: {},
    protocol: 'http/protobuf',
    compression: 'none',
    scheduleDelayMs: SCHEDULE_DELAY_MS,
    resourceAttributes: Object.fromEntries(resource),
    spanLimits: {
      attributeCount: limits.attribute_count,
      attributeValueLength: limits.attribute_value_length,
      eventCount: limits.event_count,
      linkCount: limits.link_count,
      attributesPerEvent: limits.attributes_per_event,
      attributesPerLink: limits.attributes_per_link,
    },
    retry: {
      enabled: r.enabled ?? DEFAULT_RETRY.enabled,
      initialIntervalMs: r.initial_interval_ms ?? DEFAULT_RETRY.initialIntervalMs,
      maxIntervalMs: r.max_interval_ms ?? DEFAULT_RETRY.maxIntervalMs,
      maxElapsedMs: r.max_elapsed_ms ?? DEFAULT_RETRY.maxElapsedMs,
    },
    flushOnHide: false,
  };
  if (c.max_queue_size != null) options.maxQueueSize = c.max_queue_size;
  if (c.max_export_batch_size != null) options.maxExportBatchSize = c.max_export_batch_size;
  if (c.max_batch_bytes != null) options.maxBatchBytes = c.max_batch_bytes;
  if (c.export_timeout_ms != null) options.exportTimeoutMs = c.export_timeout_ms;
  if (c.sdk_disabled != null) options.sdkDisabled = c.sdk_disabled;

  // The scripted transport.
  const script = [...(sc.transport_script ?? [])];
  const requests = [];
  const hold = sc.hold_first_request_after != null;
  let releaseHeld;
  const released = new Promise((res) => { releaseHeld = res; });
  let onHeld;
  const held = new Promise((res) => { onHeld = res; });
  const fetch = async (url, init) => {
    requests.push({ body: new Uint8Array(init.body), headers: { ...init.headers } });
    if (hold && requests.length === 1) {
      onHeld();
      await released;
    }
    const reply = script.shift();
    if (reply === undefined) return new Response(null, { status: 200 });
    if (reply === 'connect_error') throw new TypeError('fetch failed (scripted connect_error)');
    if (reply === 'timeout') throw Object.assign(new Error('scripted timeout'), { name: 'TimeoutError' });
    onlyKeys(reply, ['status', 'retry_after', 'partial_success'], 'transport_script entry');
    const headers = {};
    if (reply.retry_after !== undefined) headers['retry-after'] = reply.retry_after;
    const p = reply.partial_success;
    const body = p ? encodePartialSuccess(p.rejected_spans, p.error_message ?? '') : null;
    return new Response(body, { status: reply.status, headers });
  };

  const warnings = [];
  let exp;
  try {
    exp = new Exporter({ ...options, fetch, onLog: (level, msg) => warnings.push(`${level}: ${msg}`) });
  } catch (e) {
    return [`cannot build the exporter: ${e.message} (${e.code})`];
  }
  const configWarnings = warnings.splice(0);
  if (configWarnings.length) errors.push(`config gives warnings: ${configWarnings.join('; ')}`);

  const scopeIds = (sc.scopes ?? []).map((s, i) => {
    onlyKeys(s, ['name', 'version', 'attributes', 'droppedAttributesCount', 'schemaUrl'], `scopes[${i}]`);
    return exp.addScope(s.name ?? '', s.version ?? '', {
      attributes: jsAttrs(s.attributes, `scopes[${i}].attributes`),
      droppedAttributesCount: s.droppedAttributesCount ?? 0,
      schemaUrl: s.schemaUrl ?? '',
    });
  });
  const inputs = sc.spans.map((e, i) => {
    onlyKeys(e, ['scope', 'span', 'after_shutdown'], `spans[${i}]`);
    return { scope: scopeIds[e.scope] ?? 65535, span: jsSpan(e.span, `spans[${i}]`), after: !!e.after_shutdown, json: e.span };
  });
  const record = (x) => exp.record(x.span, x.scope);
  const before = inputs.filter((x) => !x.after);
  if (hold) {
    const n = sc.hold_first_request_after;
    before.slice(0, n).forEach(record);
    exp.forceFlush(HOLD_TIMEOUT_MS * 2); // not awaited
    const t = await Promise.race([held.then(() => true), new Promise((res) => setTimeout(() => res(false), HOLD_TIMEOUT_MS))]);
    if (!t) errors.push('the first request never reached the transport (hold)');
    before.slice(n).forEach(record);
    releaseHeld();
  } else {
    before.forEach(record);
  }
  const out = await exp.shutdown(SHUTDOWN_TIMEOUT_MS);
  if (out.timedOut) errors.push(`shutdown timed out: ${JSON.stringify(out)}`);
  inputs.filter((x) => x.after).forEach(record);

  // Stats.
  const st = exp.stats();
  const want = sc.expect.stats;
  onlyKeys(want, ['accepted', 'exported', 'dropped', 'requests', 'retries', 'batches', 'circuit_opened'], 'expect.stats');
  const cmp = (what, w, g) => { if (w !== g) errors.push(`stats.${what}: got ${g}, expected ${w}`); };
  cmp('accepted', want.accepted, st.accepted);
  cmp('exported', want.exported, st.exported);
  for (const reason of DROP_REASONS) cmp(`dropped.${reason}`, want.dropped?.[reason] ?? 0, st.dropped[reason]);
  for (const k of Object.keys(want.dropped ?? {})) if (!DROP_REASONS.includes(k)) errors.push(`expect.stats.dropped: unknown reason ${k}`);
  if (want.requests) for (const o of OUTCOMES) cmp(`requests.${o}`, want.requests[o] ?? 0, st.requests[o]);
  if (want.retries !== undefined) cmp('retries', want.retries, st.retries);
  if (want.batches !== undefined) cmp('batches', want.batches, st.batches);
  if (want.circuit_opened !== undefined) cmp('circuit_opened', want.circuit_opened, st.circuitOpened);

  // Requests and spans.
  const expectSpans = sc.expect.spans === 'input-after-limits'
    ? inputs.map((x) => canonSpan(x.json, limits))
    : sc.expect.spans.map((s) => (s === null ? null : canonSpan(s, null)));
  const wantReqs = sc.expect.requests;
  if (requests.length !== wantReqs.length) errors.push(`${requests.length} requests sent, ${wantReqs.length} expected`);
  const scopesJson = sc.scopes ?? [];
  requests.forEach((req, i) => {
    const groups = wantReqs[i];
    if (!groups) return;
    const ct = req.headers['content-type'];
    if (ct !== 'application/x-protobuf' || req.headers['content-encoding'] !== undefined) {
      errors.push(`request ${i}: not uncompressed application/x-protobuf (${ct}, ${req.headers['content-encoding']})`);
    }
    let decoded;
    try {
      decoded = decodeRequestOneofs(req.body);
    } catch (e) {
      errors.push(`request ${i}: does not decode: ${e.message}`);
      return;
    }
    if (decoded.resourceSpans.length !== 1) {
      errors.push(`request ${i}: ${decoded.resourceSpans.length} ResourceSpans, expected 1`);
      return;
    }
    const rs = decoded.resourceSpans[0];
    const rattrs = (rs.resource?.attributes ?? []).map(canonDecodedKv);
    for (const [k, v] of resource) {
      if (!rattrs.some((a) => a.k === k && a.v.s === v)) errors.push(`request ${i}: resource lacks ${k}=${JSON.stringify(v)}`);
    }
    if (rs.scopeSpans.length !== groups.length) {
      errors.push(`request ${i}: ${rs.scopeSpans.length} scope groups, expected ${groups.length}`);
    }
    rs.scopeSpans.forEach((ss, g) => {
      const group = groups[g];
      if (!group) return;
      const sj = scopesJson[group.scope] ?? {};
      const gotScope = {
        name: ss.scope?.name ?? '', version: ss.scope?.version ?? '',
        attributes: (ss.scope?.attributes ?? []).map(canonDecodedKv),
        dropped: ss.scope?.droppedAttributesCount ?? 0, schemaUrl: ss.schemaUrl,
      };
      const wantScope = {
        name: sj.name ?? '', version: sj.version ?? '', attributes: canonKvs(sj.attributes, null),
        dropped: sj.droppedAttributesCount ?? 0, schemaUrl: sj.schemaUrl ?? '',
      };
      diff(gotScope, wantScope, `request ${i} group ${g} scope`, errors);
      if (ss.spans.length !== group.spans.length) {
        errors.push(`request ${i} group ${g}: ${ss.spans.length} spans, expected ${group.spans.length}`);
      }
      ss.spans.forEach((span, j) => {
        const idx = group.spans[j];
        if (idx === undefined) return;
        const wantSpan = expectSpans[idx];
        if (!wantSpan) {
          errors.push(`request ${i} group ${g}: span ${idx} sent but expected never to be sent`);
          return;
        }
        diff(canonDecodedSpan(span), wantSpan, `request ${i} span ${idx}`, errors);
      });
    });
  });
  return errors;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
let failed = 0;
let passed = 0;
for (const f of files) {
  const name = f.replace(/\.json$/, '');
  if (only && only !== name) continue;
  let errors;
  try {
    const sc = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    if (sc.name !== name) throw new Error(`name ${sc.name} differs from the file name`);
    errors = await run(sc);
  } catch (e) {
    errors = [`runner error: ${e.stack ?? e}`];
  }
  if (errors.length) {
    failed++;
    console.log(`FAIL ${name}`);
    for (const e of errors) console.log(`  - ${e}`);
  } else {
    passed++;
    console.log(`ok   ${name}`);
  }
}
console.log(`scenarios: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
