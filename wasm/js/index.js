// otlpx for WebAssembly hosts: the JS layer over the wasm `Core`.
//
// Owns: loading the module (Node: from disk; browsers: fetch), the public
// `Exporter` and `Span` classes, and the I/O the wasm side asks for: sending
// each request with `fetch` (gzip through CompressionStream, `keepalive`
// while the page is being hidden), sleeping with setTimeout for the delays
// core returns, the schedule-delay timer, and the page-hide hook.
// Must not: decide anything core decides (batching, limits, sampling, retry,
// backoff, Retry-After, circuit breaker, drop reasons): it asks `Core.poll`
// what to do and reports each attempt back with `Core.afterAttempt`.

import initWasm, { initSync, Core, version as coreVersion } from '../pkg/otlpx_wasm.js';
import {
  Packer,
  InvalidInput,
  DoubleValue,
  IntValue,
  SpanKind,
  toHex,
  writeSpan,
  writeScope,
  writeParent,
  statusNumber,
} from './pack.js';

export { SpanKind, DoubleValue, IntValue, toHex };

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Resolves when the wasm module is loaded (done at import time). */
export const ready = (async () => {
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(new URL('../pkg/otlpx_wasm_bg.wasm', import.meta.url));
    initSync({ module: bytes });
  } else {
    await initWasm({ module_or_path: new URL('../pkg/otlpx_wasm_bg.wasm', import.meta.url) });
  }
})();
await ready;

/** The otlpx version. */
export const version = coreVersion();

/** Drop reason names, in core's index order. */
export const DROP_REASONS = Object.freeze(Core.dropReasons());
/** The request outcomes counted in `stats().requests`, in core's order. */
const REQUEST_OUTCOMES = Object.freeze(Core.requestOutcomes());

const STEP_IDLE = 0;
const STEP_SEND = 1;
const KEEPALIVE_LIMIT = 64 * 1024;
const DEFAULT_MAX_BATCH_BYTES = 4 << 20;

/** An Error with a `code` (all errors this module throws have one). */
export class OtlpxError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'OtlpxError';
    this.code = code;
  }
}

/** A value to record as an OTLP doubleValue even when integral. */
export const double = (v) => new DoubleValue(v);
/** A value to record as an OTLP intValue (number or BigInt). */
export const int = (v) => new IntValue(v);

const perfNow = () => globalThis.performance.now();
/** Now, in ms since the epoch with sub-ms precision. */
const epochNow = () => globalThis.performance.timeOrigin + globalThis.performance.now();

function defaultLog(level, message) {
  const f = level === 'error' ? console.error : console.warn;
  f.call(console, `otlpx ${level}: ${message}`);
}

async function gzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The numbers of Core.statValues() before the drop reasons (wasm/src/lib.rs writes them in this order). */
const STAT_NUMBERS = [
  'accepted', 'exported', 'droppedTotal', 'pending', 'bytesEncoded', 'batches', 'retries', 'circuitOpened',
  'lastHttpStatus',
];
const STAT = Object.fromEntries(STAT_NUMBERS.map((k, i) => [k, i]));

/** A flush's outcome from the stat values (Core.statValues()) before and after it. */
function outcomeBetween(before, after, timedOut) {
  const dropped = after[STAT.droppedTotal] - before[STAT.droppedTotal];
  const pending = after[STAT.pending];
  return {
    timedOut,
    exported: after[STAT.exported] - before[STAT.exported],
    dropped,
    pending,
    success: !timedOut && dropped === 0 && pending === 0,
  };
}

/** Resolves to true when `p` did not settle within `ms`. */
function timedOut(p, ms) {
  let timer;
  const t = new Promise((resolve) => {
    timer = setTimeout(() => resolve(true), Math.max(0, ms));
  });
  return Promise.race([p.then(() => false), t]).finally(() => clearTimeout(timer));
}

/** Options of the Exporter that are not core configuration. */
const JS_ONLY = new Set(['env', 'fetch', 'onLog', 'flushOnHide', 'scopeName', 'scopeVersion']);

/**
 * An OTLP/HTTP trace exporter: spans are encoded and batched in wasm, sent
 * with fetch. See index.d.ts for the options.
 */
export class Exporter {
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') {
      throw new OtlpxError('ERR_OTLPX_INVALID_ARGUMENT', 'options must be an object');
    }
    const env = options.env ?? (isNode ? process.env : {});
    const onLog = options.onLog ?? defaultLog;
    const hasDocument = typeof document !== 'undefined' && typeof addEventListener === 'function';
    this._flushOnHide = options.flushOnHide ?? hasDocument;
    const coreOptions = {};
    for (const k of Object.keys(options)) if (!JS_ONLY.has(k)) coreOptions[k] = options[k];
    if (this._flushOnHide) {
      // Every request must fit fetch's keepalive quota, so batches can leave while the page goes away.
      const fromEnv = Number(env.OTLPX_MAX_BATCH_BYTES);
      const wanted = options.maxBatchBytes ?? (fromEnv > 0 ? fromEnv : DEFAULT_MAX_BATCH_BYTES);
      coreOptions.maxBatchBytes = Math.min(wanted, KEEPALIVE_LIMIT);
    }
    const entropy = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const log = (level, message) => {
      try {
        onLog(level, message);
      } catch {
        // a failing log hook must not break exports
      }
    };
    this._core = new Core(env, coreOptions, log, entropy, isNode ? 'nodejs' : 'webjs');
    this._packer = new Packer(this._core);
    this._body = new Uint8Array(0);
    this._fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof this._fetch !== 'function') {
      throw new OtlpxError('ERR_OTLPX_CONFIG', 'no fetch function: pass options.fetch');
    }
    this._endpoint = this._core.endpoint;
    this._headers = Object.fromEntries(this._core.headers());
    this._gzip = this._core.gzip;
    if (this._gzip && typeof globalThis.CompressionStream !== 'function') {
      // Engines without it (Safari before 16.4): every gzip request would fail; send them as they are.
      this._gzip = false;
      log('warn', 'gzip compression is configured, but this JavaScript engine has no CompressionStream: requests are sent uncompressed');
    }
    this._scopeName = options.scopeName ?? 'otlpx-wasm';
    this._scopeVersion = options.scopeVersion ?? version;
    this._defaultScope = undefined;
    this._running = null;
    this._again = false;
    this._wantPartial = false;
    this._wake = null;
    this._hiding = false;
    this._shutdown = null;
    this._timer = null;
    this._armTimer();
    if (this._flushOnHide && hasDocument) {
      this._onHide = () => {
        if (document.visibilityState === 'hidden') {
          this._hiding = true;
          this._drive(true);
        } else {
          this._hiding = false;
        }
      };
      this._onPageHide = () => {
        this._hiding = true;
        this._drive(true);
      };
      addEventListener('visibilitychange', this._onHide);
      addEventListener('pagehide', this._onPageHide);
    }
  }

  /** The traces endpoint requests go to. */
  get endpoint() {
    return this._endpoint;
  }

  /** True when OTEL_SDK_DISABLED is set: spans are counted as `disabled`. */
  get disabled() {
    return this._core.disabled;
  }

  /** Registers an instrumentation scope; returns its id for `record`. */
  addScope(name, version = '', extra = {}) {
    const len = this._packer.pack(writeScope, { name, version, ...extra });
    return this._core.addScope(len);
  }

  get defaultScope() {
    if (this._defaultScope === undefined) this._defaultScope = this.addScope(this._scopeName, this._scopeVersion);
    return this._defaultScope;
  }

  /**
   * Records a finished span (SpanData, see index.d.ts) under `scope` (an id
   * from addScope; the default scope when omitted). Returns "queued" or the
   * drop reason ("queue_full", "too_large", "invalid", "shutdown", ...).
   * Never throws for bad span data: it is counted as `invalid`.
   */
  record(span, scope) {
    const core = this._core;
    let len;
    try {
      len = this._packer.pack(writeSpan, span, scope ?? this.defaultScope);
    } catch (e) {
      if (!(e instanceof InvalidInput) && !(e instanceof TypeError) && !(e instanceof RangeError)) throw e;
      core.refuse(DROP_REASONS.indexOf('invalid'));
      return 'invalid';
    }
    const r = core.record(len);
    if (r === 0) return 'queued';
    if (r === 1) {
      this._drive(false);
      return 'queued';
    }
    return DROP_REASONS[r - 2] ?? 'invalid';
  }

  /**
   * Starts a span: ids and the sampling decision come from core (the
   * configured OTEL_TRACES_SAMPLER). `parent`: a Span, a SpanContext, a
   * `traceparent` string or `{traceparent, tracestate}` headers.
   */
  startSpan(name, options = {}) {
    const len = this._packer.pack(writeParent, options.parent);
    const d = this._core.startSpan(len);
    return new Span(this, d, name, options);
  }

  /**
   * `fetch` with a CLIENT span around it whose `traceparent` (and
   * `tracestate`) is injected into the request, so the server's span joins
   * the trace.
   */
  async tracedFetch(input, init = {}, options = {}) {
    const fetchFn = options.fetch ?? globalThis.fetch;
    const base = globalThis.location?.href;
    const href = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    const url = new URL(href, base);
    const method = String(init.method ?? (typeof input === 'object' && input.method ? input.method : 'GET')).toUpperCase();
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const span = this.startSpan(options.name ?? method, {
      kind: 'client',
      parent: options.parent,
      attributes: {
        'http.request.method': method,
        'url.full': url.href,
        'server.address': url.hostname,
        'server.port': port,
        ...options.attributes,
      },
    });
    const headers = new Headers(init.headers ?? (typeof input === 'object' && input.headers ? input.headers : undefined));
    headers.set('traceparent', span.traceparent());
    if (span.traceState) headers.set('tracestate', span.traceState);
    try {
      const res = await fetchFn(input, { ...init, headers });
      span.setAttribute('http.response.status_code', res.status);
      if (res.status >= 400) span.setStatus('error');
      return res;
    } catch (e) {
      span.recordException(e);
      span.setStatus('error', String(e?.message ?? e));
      throw e;
    } finally {
      span.end();
    }
  }

  /** Every counter, with drops by reason. */
  stats() {
    const core = this._core;
    const v = core.statValues();
    const dropped = {};
    for (let i = 0; i < DROP_REASONS.length; i++) dropped[DROP_REASONS[i]] = v[STAT_NUMBERS.length + i];
    const requests = {};
    const at = STAT_NUMBERS.length + DROP_REASONS.length;
    for (let i = 0; i < REQUEST_OUTCOMES.length; i++) requests[REQUEST_OUTCOMES[i]] = v[at + i];
    return {
      accepted: v[STAT.accepted],
      exported: v[STAT.exported],
      dropped,
      droppedTotal: v[STAT.droppedTotal],
      pending: v[STAT.pending],
      bytesEncoded: v[STAT.bytesEncoded],
      batches: v[STAT.batches],
      requests,
      retries: v[STAT.retries],
      circuitOpened: v[STAT.circuitOpened],
      lastHttpStatus: v[STAT.lastHttpStatus],
      lastSuccessUnixNano: core.lastSuccessUnixNano(),
      lastError: core.lastError() ?? null,
    };
  }

  /** Spans waiting in the queue. */
  get queued() {
    return this._core.queued();
  }

  /** Exports everything queued now; resolves by `timeoutMs` with the outcome. */
  async forceFlush(timeoutMs = this._core.exportTimeoutMs) {
    const before = this._core.statValues();
    const late = await timedOut(this._drive(true), timeoutMs);
    return outcomeBetween(before, this._core.statValues(), late);
  }

  /**
   * Stops accepting spans, exports what is queued and stops the timer,
   * resolving by `timeoutMs` whatever the receiver does; spans not delivered
   * by then are dropped as `shutdown`. Later calls get the first call's result.
   */
  shutdown(timeoutMs = this._core.exportTimeoutMs) {
    if (this._shutdown) return this._shutdown;
    this._shutdown = (async () => {
      const before = this._core.statValues();
      this._core.beginShutdown(perfNow() + timeoutMs);
      clearTimeout(this._timer);
      this._timer = null;
      if (this._onHide) {
        removeEventListener('visibilitychange', this._onHide);
        removeEventListener('pagehide', this._onPageHide);
      }
      this._wakeUp();
      // Core finishes by the deadline; the margin covers timer lateness.
      const late = await timedOut(this._drive(true), timeoutMs + 100);
      return outcomeBetween(before, this._core.statValues(), late);
    })();
    return this._shutdown;
  }

  _armTimer() {
    const delay = this._core.scheduleDelayMs;
    if (this._core.disabled) return;
    this._timer = setTimeout(() => {
      this._drive(true).finally(() => {
        if (!this._shutdown) this._armTimer();
      });
    }, delay);
    // In Node the timer must not keep the process alive (call shutdown to export the rest).
    this._timer?.unref?.();
  }

  _wakeUp() {
    const w = this._wake;
    this._wake = null;
    if (w) w();
  }

  /** Runs the export loop (one at a time); `partial` also sends batches that are not full. */
  _drive(partial) {
    if (partial) this._wantPartial = true;
    if (this._running) {
      this._again = true;
      return this._running;
    }
    this._running = this._loop();
    return this._running;
  }

  async _loop() {
    try {
      for (;;) {
        const partial = this._wantPartial;
        this._wantPartial = false;
        this._again = false;
        await this._drain(partial);
        if (!this._again && !this._wantPartial) break;
      }
    } finally {
      this._running = null;
    }
  }

  async _drain(partial) {
    const core = this._core;
    for (;;) {
      const step = core.poll(perfNow(), partial);
      if (step === STEP_IDLE) return;
      if (step === STEP_SEND) {
        await this._send();
      } else {
        await this._sleep(core.waitUntilMs() - perfNow());
      }
    }
  }

  _sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this._wake = null;
        resolve();
      }, Math.max(0, ms));
      this._wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  async _send() {
    const core = this._core;
    // The request, copied out of wasm memory into a buffer reused across
    // requests (one request is in flight at a time; fetch and Blob copy the
    // body when called, as the Fetch and File API specifications say). A
    // custom fetch must be done with `body` when its promise settles.
    const len = core.bodyLen();
    const ptr = core.bodyPtr();
    // The copy lands 2 KiB off the source's position within a 4 KiB page
    // (when the buffer starts on a page, as large ones do): on some x86 CPUs
    // memcpy of a source and destination a few bytes apart modulo 4 KiB is
    // an order of magnitude slower (measured here: 87 against 6 us for a
    // 254 KB request).
    const at = (ptr + 2048) & 4095;
    if (this._body.length < at + len) this._body = new Uint8Array(4096 + Math.max(len, this._body.length * 2));
    let body = this._body.subarray(at, at + len);
    body.set(new Uint8Array(this._packer.memory.buffer, ptr, len));
    const headers = { ...this._headers, 'content-type': 'application/x-protobuf' };
    const timeoutMs = core.timeoutMs();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, timeoutMs));
    let kind = 0;
    let status = 0;
    let retryAfter;
    let resBody;
    let error = '';
    try {
      // While the page is being hidden, fetch must be called before any await: the page can be torn down at the
      // first one, and CompressionStream is asynchronous. Such requests go uncompressed (batches are capped at 64 KiB).
      if (this._gzip && !this._hiding) {
        body = await gzip(body);
        headers['content-encoding'] = 'gzip';
      }
      const res = await this._fetch(this._endpoint, {
        method: 'POST',
        headers,
        body,
        signal: controller.signal,
        keepalive: this._hiding && body.byteLength <= KEEPALIVE_LIMIT,
      });
      status = res.status;
      retryAfter = res.headers?.get?.('retry-after') ?? undefined;
      resBody = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      error = String(e?.cause?.message ?? e?.message ?? e);
      if (controller.signal.aborted || e?.name === 'TimeoutError' || e?.name === 'AbortError') kind = 2;
      else if (e instanceof TypeError) kind = 1;
      else kind = 3;
    } finally {
      clearTimeout(timer);
    }
    core.afterAttempt(kind, status, retryAfter ?? undefined, resBody, error, perfNow(), Date.now());
  }
}

/** A span started with Exporter.startSpan; `end()` records it (when sampled). */
export class Span {
  constructor(exporter, d, name, options) {
    this._exporter = exporter;
    this.sampled = d[0] === 1;
    this.traceFlags = d[1];
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    this.flags = dv.getUint32(4, true);
    this.traceIdBytes = d.slice(8, 24);
    this.spanIdBytes = d.slice(24, 32);
    this.parentSpanIdBytes = d[2] === 1 ? d.slice(32, 40) : undefined;
    this.traceState = d.length > 40 ? new TextDecoder().decode(d.subarray(40)) : '';
    this.name = name;
    this.kind = options.kind ?? 'internal';
    this.scope = options.scope;
    this.startTime = options.startTime ?? epochNow();
    this.attributes = new Map();
    if (options.attributes) this.setAttributes(options.attributes);
    this.events = [];
    this.links = options.links ? [...options.links] : [];
    this.status = undefined;
    this.ended = false;
  }

  get traceId() {
    return toHex(this.traceIdBytes);
  }

  get spanId() {
    return toHex(this.spanIdBytes);
  }

  get parentSpanId() {
    return this.parentSpanIdBytes ? toHex(this.parentSpanIdBytes) : undefined;
  }

  /** Whether `end()` will record the span. */
  isRecording() {
    return this.sampled && !this.ended;
  }

  spanContext() {
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      traceFlags: this.traceFlags,
      traceState: this.traceState,
      isRemote: false,
    };
  }

  /** The `traceparent` naming this span as the parent of an outgoing request. */
  traceparent() {
    return `00-${this.traceId}-${this.spanId}-0${this.traceFlags & 1}`;
  }

  setAttribute(key, value) {
    if (this.isRecording()) this.attributes.set(key, value);
    return this;
  }

  setAttributes(attrs) {
    if (!this.isRecording()) return this;
    const entries = attrs instanceof Map ? attrs : Object.entries(attrs);
    for (const [k, v] of entries) this.attributes.set(k, v);
    return this;
  }

  addEvent(name, attributes, time) {
    if (this.isRecording()) this.events.push({ name, attributes, time: time ?? epochNow() });
    return this;
  }

  addLink(link) {
    if (this.isRecording()) this.links.push(link);
    return this;
  }

  /** `code`: "unset" | "ok" | "error" or 0-2. */
  setStatus(code, message = '') {
    if (this.isRecording()) this.status = { code: statusNumber(code), message };
    return this;
  }

  /** Adds an `exception` event (semantic conventions). */
  recordException(err, time) {
    const attrs = {
      'exception.type': String(err?.name ?? 'Error'),
      'exception.message': String(err?.message ?? err),
    };
    if (err?.stack) attrs['exception.stacktrace'] = String(err.stack);
    return this.addEvent('exception', attrs, time);
  }

  updateName(name) {
    if (this.isRecording()) this.name = name;
    return this;
  }

  /** Ends and records the span; returns "queued", a drop reason, or "not_sampled". */
  end(endTime) {
    if (this.ended) return 'ended';
    this.ended = true;
    if (!this.sampled) return 'not_sampled';
    return this._exporter.record(
      {
        traceId: this.traceIdBytes,
        spanId: this.spanIdBytes,
        parentSpanId: this.parentSpanIdBytes,
        traceState: this.traceState,
        flags: this.flags,
        name: this.name,
        kind: this.kind,
        startTime: this.startTime,
        endTime: endTime ?? epochNow(),
        attributes: this.attributes,
        events: this.events,
        links: this.links,
        status: this.status,
      },
      this.scope,
    );
  }
}
