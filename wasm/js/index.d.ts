// Types of otlpx-wasm's public JS API (wasm/js/index.js). The wasm-bindgen
// class underneath (`Core`, pkg/otlpx_wasm.d.ts) is internal.

/** A time: ms since the epoch (number, fractions allowed), ns since the epoch (BigInt), [seconds, nanoseconds], or a Date. */
export type Time = number | bigint | [number, number] | Date;

/** An id: a Uint8Array (16 bytes for a trace, 8 for a span) or lower/upper-case hex. */
export type Id = Uint8Array | string;

/**
 * An attribute value, every OTLP AnyValue kind: string; boolean; integral number or BigInt → intValue
 * (int64); other number → doubleValue (use `double(x)` to force a double); Uint8Array → bytesValue;
 * array → arrayValue; plain object or Map → kvlistValue (nesting allowed).
 */
export type AttributeValue =
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | DoubleValue
  | IntValue
  | AttributeValue[]
  | Map<string, AttributeValue>
  | { [key: string]: AttributeValue };

/** Attributes: an object, a Map, or [key, value] pairs (order and duplicates kept). A null/undefined value is skipped and counted in droppedAttributesCount. */
export type Attributes =
  | { [key: string]: AttributeValue | null | undefined }
  | Map<string, AttributeValue | null | undefined>
  | Array<[string, AttributeValue | null | undefined]>;

/** OTLP span kind numbers (UNSPECIFIED 0, INTERNAL 1, SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5) or lower-case names. */
export type SpanKindLike = number | 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export declare const SpanKind: Readonly<{
  UNSPECIFIED: 0;
  INTERNAL: 1;
  SERVER: 2;
  CLIENT: 3;
  PRODUCER: 4;
  CONSUMER: 5;
}>;

export type StatusCodeLike = 0 | 1 | 2 | 'unset' | 'ok' | 'error';

/** A finished span, as `Exporter.record` takes it (every OTLP field). */
export interface SpanData {
  traceId: Id;
  spanId: Id;
  parentSpanId?: Id;
  traceState?: string;
  /** W3C trace flags (bits 0-7) and OTLP span flags (bits 8-9). */
  flags?: number;
  name?: string;
  kind?: SpanKindLike;
  startTime?: Time;
  endTime?: Time;
  attributes?: Attributes;
  droppedAttributesCount?: number;
  events?: Array<{ time?: Time; name?: string; attributes?: Attributes; droppedAttributesCount?: number }>;
  droppedEventsCount?: number;
  links?: Array<{
    traceId: Id;
    spanId: Id;
    traceState?: string;
    attributes?: Attributes;
    droppedAttributesCount?: number;
    flags?: number;
  }>;
  droppedLinksCount?: number;
  status?: { code?: StatusCodeLike; message?: string };
}

export type DropReason =
  | 'queue_full'
  | 'too_large'
  | 'export_failed'
  | 'rejected'
  | 'shutdown'
  | 'invalid'
  | 'circuit_open'
  | 'disabled';

export declare const DROP_REASONS: readonly DropReason[];

export interface Stats {
  /** Spans handed to record (kept or dropped). */
  accepted: number;
  exported: number;
  dropped: Record<DropReason, number>;
  droppedTotal: number;
  /** Accepted, neither exported nor dropped yet. */
  pending: number;
  bytesEncoded: number;
  batches: number;
  requests: { success: number; retryable: number; permanent: number };
  retries: number;
  circuitOpened: number;
  lastHttpStatus: number;
  lastSuccessUnixNano: bigint;
  lastError: string | null;
}

/** What forceFlush or shutdown achieved by its deadline. */
export interface ExportOutcome {
  timedOut: boolean;
  exported: number;
  dropped: number;
  pending: number;
  /** Nothing dropped, nothing pending, no timeout. */
  success: boolean;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface ExporterOptions {
  /** OTEL_* variables (default: process.env in Node, {} elsewhere). Code options below win over them. */
  env?: Record<string, string | undefined>;
  /** The traces endpoint URL, used as is (like OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  endpoint?: string;
  headers?: Record<string, string>;
  serviceName?: string;
  resourceAttributes?: Record<string, string>;
  /** Only "http/protobuf" in WebAssembly. */
  protocol?: 'http/protobuf';
  compression?: 'gzip' | 'none';
  timeoutMs?: number;
  scheduleDelayMs?: number;
  exportTimeoutMs?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  maxBatchBytes?: number;
  sdkDisabled?: boolean;
  /** An OTEL_TRACES_SAMPLER name, with samplerArg as OTEL_TRACES_SAMPLER_ARG. */
  sampler?: string;
  samplerArg?: number;
  spanLimits?: {
    attributeCount?: number;
    /** null: no limit. */
    attributeValueLength?: number | null;
    eventCount?: number;
    linkCount?: number;
    attributesPerEvent?: number;
    attributesPerLink?: number;
  };
  retry?: { enabled?: boolean; initialIntervalMs?: number; maxIntervalMs?: number; maxElapsedMs?: number };
  /** Messages up to this level go to onLog (default "warn"). */
  logLevel?: LogLevel;
  /** Where configuration warnings and export errors go (default: console). */
  onLog?: (level: LogLevel, message: string) => void;
  /**
   * The fetch used to send requests (default: globalThis.fetch). `init.body` is a view of a buffer the
   * exporter reuses for its next request: like the platform's fetch, read or copy it before the returned
   * promise settles.
   */
  fetch?: typeof fetch;
  /**
   * Browsers (default true where `document` exists): flush on visibilitychange→hidden and pagehide with
   * `keepalive: true`; batches are capped at 64 KiB so each fits fetch's keepalive quota.
   */
  flushOnHide?: boolean;
  /** The default scope (default "otlpx-wasm" and the otlpx version). */
  scopeName?: string;
  scopeVersion?: string;
}

export interface ParentHeaders {
  traceparent: string;
  tracestate?: string;
}

export interface SpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState?: string;
  isRemote?: boolean;
}

export interface StartSpanOptions {
  kind?: SpanKindLike;
  /** A Span, a SpanContext, a traceparent string, or {traceparent, tracestate} headers (remote). */
  parent?: Span | SpanContext | ParentHeaders | string;
  attributes?: Attributes;
  links?: SpanData['links'];
  startTime?: Time;
  /** A scope id from addScope (default: the default scope). */
  scope?: number;
}

/** "queued", or why the span was dropped. */
export type RecordResult = 'queued' | DropReason;

export declare class Exporter {
  /** Throws an Error with `code` ERR_OTLPX_CONFIG or ERR_OTLPX_INVALID_ARGUMENT. */
  constructor(options?: ExporterOptions);
  readonly endpoint: string;
  readonly disabled: boolean;
  readonly queued: number;
  /** Registers a scope; throws ERR_OTLPX_TOO_MANY_SCOPES past 1024. */
  addScope(
    name: string,
    version?: string,
    extra?: { attributes?: Attributes; droppedAttributesCount?: number; schemaUrl?: string },
  ): number;
  readonly defaultScope: number;
  /** Never throws for bad span data: it is counted and returned as "invalid". */
  record(span: SpanData, scope?: number): RecordResult;
  startSpan(name: string, options?: StartSpanOptions): Span;
  tracedFetch(
    input: string | URL | Request,
    init?: RequestInit,
    options?: { fetch?: typeof fetch; name?: string; parent?: StartSpanOptions['parent']; attributes?: Attributes },
  ): Promise<Response>;
  stats(): Stats;
  forceFlush(timeoutMs?: number): Promise<ExportOutcome>;
  shutdown(timeoutMs?: number): Promise<ExportOutcome>;
}

export declare class Span {
  readonly sampled: boolean;
  readonly traceFlags: number;
  /** OTLP Span.flags (trace flags, has-is-remote and is-remote bits). */
  readonly flags: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly traceState: string;
  isRecording(): boolean;
  spanContext(): SpanContext;
  /** `00-<trace id>-<span id>-<flags>` for an outgoing request. */
  traceparent(): string;
  setAttribute(key: string, value: AttributeValue): this;
  setAttributes(attributes: { [key: string]: AttributeValue } | Map<string, AttributeValue>): this;
  addEvent(name: string, attributes?: Attributes, time?: Time): this;
  addLink(link: NonNullable<SpanData['links']>[number]): this;
  setStatus(code: StatusCodeLike, message?: string): this;
  recordException(error: unknown, time?: Time): this;
  updateName(name: string): this;
  /** Records the span: "queued", a drop reason, "not_sampled" or "ended" (already ended). */
  end(endTime?: Time): RecordResult | 'not_sampled' | 'ended';
}

export declare class DoubleValue {
  constructor(value: number);
  value: number;
}
export declare class IntValue {
  constructor(value: number | bigint);
  value: number | bigint;
}
/** Records `v` as an OTLP doubleValue even when integral. */
export declare function double(v: number): DoubleValue;
/** Records `v` as an OTLP intValue. */
export declare function int(v: number | bigint): IntValue;
export declare function toHex(bytes: Uint8Array): string;

export declare class OtlpxError extends Error {
  code: string;
}

/** Resolves when the wasm module is loaded (the module awaits it at import). */
export declare const ready: Promise<void>;
export declare const version: string;
