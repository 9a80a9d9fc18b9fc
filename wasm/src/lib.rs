//! otlpx-wasm: the WebAssembly frontend over otlpx-core, for Node and browsers.
//!
//! Owns: the wasm-bindgen class `Core` that the JS layer (`wasm/js/`) wraps:
//! configuration from a JS object of `OTEL_*` keys plus code options, scope
//! registration, the packed span record call (see `packed.rs`), span start
//! (ids and sampling through core's `context`), the host-driven export steps
//! (`poll` → send with `fetch` → `afterAttempt` → wait) over core's
//! `delivery` state machine, stats, and the translation of errors into JS
//! `Error` objects with a `code` property.
//! Must not: do I/O, read a clock (every instant comes from JS), keep a JS
//! value across threads, panic on any input from JS, or decide anything that
//! core decides (batching, limits, retry, backoff, circuit breaker).

mod packed;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bumpalo::Bump;
use js_sys::{Array, Function, Object, Reflect};
use otlpx_core::batch::Batcher;
use otlpx_core::config::{Compression, Config, ConfigBuilder, Protocol};
use otlpx_core::context::{self, IdGenerator, SpanContext, TraceState};
use otlpx_core::delivery::{Deliverer, Delivery, Env, Next};
use otlpx_core::log::{Level, Logger};
use otlpx_core::retry::{Attempt, RetryConfig};
use otlpx_core::sampler::Sampler;
use otlpx_core::stats::RequestOutcome;
use otlpx_core::{DropReason, KeyValue, Resource, Scope, ScopeId, Stats};
use wasm_bindgen::prelude::*;

/// The allocator: talc rather than Rust's default dlmalloc on wasm, 6.3 KB less
/// of module (docs/WASM.md, size table). Nothing on the span path allocates once
/// warm; the queue's blocks are allocated when the exporter is built.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The version of otlpx.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The otlpx version, for JS.
#[wasm_bindgen(js_name = version)]
pub fn js_version() -> String {
    version().to_string()
}

/// Error codes of the JS `Error` objects thrown by this module (`err.code`).
pub mod codes {
    /// The configuration cannot work (grpc, bad sizes, bad option values).
    pub const CONFIG: &str = "ERR_OTLPX_CONFIG";
    /// An argument has the wrong type or shape.
    pub const INVALID_ARGUMENT: &str = "ERR_OTLPX_INVALID_ARGUMENT";
    /// More scopes than the exporter can register.
    pub const TOO_MANY_SCOPES: &str = "ERR_OTLPX_TOO_MANY_SCOPES";
}

/// A JS `Error` with `message` and a `code` property.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    let _ = Reflect::set(&e, &"code".into(), &code.into());
    e.into()
}

/// The most memory the span queue may reserve (wasm32 has 4 GiB in all).
const MAX_QUEUE_MEMORY: u64 = 1 << 30;

/// The most strings `Core::intern` keeps, and their longest (bytes): 1 MiB at most.
const MAX_INTERNED: usize = 4096;
const MAX_INTERNED_LEN: usize = 256;

/// `poll` results.
const STEP_IDLE: u32 = 0;
const STEP_SEND: u32 = 1;
const STEP_WAIT: u32 = 2;

/// `record` results: 0 queued, 1 queued and a batch is full, `2 + reason`
/// when dropped (reason as `DropReason` index).
const RECORD_QUEUED: u32 = 0;
const RECORD_BATCH_READY: u32 = 1;
const RECORD_DROPPED_BASE: u32 = 2;

/// A JS monotonic reading (`performance.now()`, ms) as a `Duration`.
fn mono(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        // Microseconds through a saturating cast: smaller code than
        // `try_from_secs_f64`, and finer than any JS clock.
        Duration::from_micros((ms * 1000.0) as u64)
    } else {
        Duration::ZERO
    }
}

fn ms_of(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A JS wall-clock reading (`Date.now()`, ms) as a `SystemTime`.
fn wall(ms: f64) -> SystemTime {
    if !(ms.is_finite() && ms > 0.0) {
        return UNIX_EPOCH;
    }
    let whole = ms.trunc();
    let d = Duration::from_millis(whole as u64) + Duration::from_nanos(((ms - whole) * 1e6) as u64);
    UNIX_EPOCH.checked_add(d).unwrap_or(UNIX_EPOCH)
}

type LogBuffer = Arc<Mutex<Vec<(Level, String)>>>;

/// Reads a property; `undefined` and `null` are `None`.
fn prop(obj: &JsValue, key: &str) -> Option<JsValue> {
    if !obj.is_object() {
        return None;
    }
    let v = Reflect::get(obj, &JsValue::from_str(key)).ok()?;
    (!v.is_undefined() && !v.is_null()).then_some(v)
}

fn opt_string(obj: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    match prop(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| js_error(codes::INVALID_ARGUMENT, &format!("option {key} must be a string"))),
    }
}

fn opt_number(obj: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    match prop(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
            _ => Err(js_error(
                codes::INVALID_ARGUMENT,
                &format!("option {key} must be a non-negative number"),
            )),
        },
    }
}

fn opt_bool(obj: &JsValue, key: &str) -> Result<Option<bool>, JsValue> {
    match prop(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| js_error(codes::INVALID_ARGUMENT, &format!("option {key} must be a boolean"))),
    }
}

fn opt_ms(obj: &JsValue, key: &str) -> Result<Option<Duration>, JsValue> {
    Ok(opt_number(obj, key)?.map(mono))
}

fn opt_u32(obj: &JsValue, key: &str) -> Result<Option<u32>, JsValue> {
    Ok(opt_number(obj, key)?.map(|n| n.min(f64::from(u32::MAX)) as u32))
}

/// `{name: value}` of strings as pairs.
fn string_map(obj: &JsValue, key: &str) -> Result<Option<Vec<(String, String)>>, JsValue> {
    let Some(v) = prop(obj, key) else { return Ok(None) };
    let bad = || {
        js_error(
            codes::INVALID_ARGUMENT,
            &format!("option {key} must map strings to strings"),
        )
    };
    let o: &Object = v.dyn_ref().ok_or_else(bad)?;
    let mut out = Vec::new();
    for entry in Object::entries(o).iter() {
        let pair: Array = entry.dyn_into().map_err(|_| bad())?;
        let k = pair.get(0).as_string().ok_or_else(bad)?;
        let val = pair.get(1);
        let val = match val.as_string() {
            Some(s) => s,
            None if val.as_f64().is_some() || val.as_bool().is_some() => {
                String::from(js_sys::JsString::from(val.clone()))
            }
            None => return Err(bad()),
        };
        out.push((k, val));
    }
    Ok(Some(out))
}

/// The code options (camelCase keys) applied to a builder; code wins over the environment.
fn builder_from_options(o: &JsValue) -> Result<ConfigBuilder, JsValue> {
    let mut b = ConfigBuilder::new();
    if let Some(s) = opt_string(o, "endpoint")? {
        b = b.endpoint(s);
    }
    if let Some(h) = string_map(o, "headers")? {
        b = b.headers(h);
    }
    if let Some(s) = opt_string(o, "serviceName")? {
        b = b.service_name(s);
    }
    if let Some(r) = string_map(o, "resourceAttributes")? {
        b = b.resource_attributes(r);
    }
    if let Some(s) = opt_string(o, "protocol")? {
        let p = Protocol::parse(&s).ok_or_else(|| {
            js_error(
                codes::CONFIG,
                &format!("protocol \"{s}\": expected http/protobuf or http/json"),
            )
        })?;
        b = b.protocol(p);
    }
    if let Some(s) = opt_string(o, "compression")? {
        let c = Compression::parse(&s)
            .ok_or_else(|| js_error(codes::CONFIG, &format!("compression \"{s}\": expected gzip or none")))?;
        b = b.compression(c);
    }
    if let Some(d) = opt_ms(o, "timeoutMs")? {
        b = b.timeout(d);
    }
    if let Some(d) = opt_ms(o, "scheduleDelayMs")? {
        b = b.schedule_delay(d);
    }
    if let Some(d) = opt_ms(o, "exportTimeoutMs")? {
        b = b.export_timeout(d);
    }
    if let Some(n) = opt_number(o, "maxQueueSize")? {
        b = b.max_queue_size(n as usize);
    }
    if let Some(n) = opt_number(o, "maxExportBatchSize")? {
        b = b.max_export_batch_size(n as usize);
    }
    if let Some(n) = opt_number(o, "maxBatchBytes")? {
        b = b.max_batch_bytes(n as usize);
    }
    if let Some(d) = opt_bool(o, "sdkDisabled")? {
        b = b.sdk_disabled(d);
    }
    if let Some(name) = opt_string(o, "sampler")? {
        let ratio = opt_number(o, "samplerArg")?.unwrap_or(1.0);
        let s = Sampler::from_env_name(&name, ratio)
            .ok_or_else(|| js_error(codes::CONFIG, &format!("sampler \"{name}\" is not known")))?;
        b = b.sampler(s);
    }
    if let Some(l) = prop(o, "spanLimits") {
        if let Some(n) = opt_u32(&l, "attributeCount")? {
            b = b.attribute_count_limit(n);
        }
        if Reflect::has(&l, &"attributeValueLength".into()).unwrap_or(false) {
            b = b.attribute_value_length_limit(opt_u32(&l, "attributeValueLength")?);
        }
        if let Some(n) = opt_u32(&l, "eventCount")? {
            b = b.event_count_limit(n);
        }
        if let Some(n) = opt_u32(&l, "linkCount")? {
            b = b.link_count_limit(n);
        }
        if let Some(n) = opt_u32(&l, "attributesPerEvent")? {
            b = b.event_attribute_count_limit(n);
        }
        if let Some(n) = opt_u32(&l, "attributesPerLink")? {
            b = b.link_attribute_count_limit(n);
        }
    }
    if let Some(r) = prop(o, "retry") {
        let mut rc = RetryConfig::default();
        if let Some(e) = opt_bool(&r, "enabled")? {
            rc.enabled = e;
        }
        if let Some(d) = opt_ms(&r, "initialIntervalMs")? {
            rc.initial_interval = d;
        }
        if let Some(d) = opt_ms(&r, "maxIntervalMs")? {
            rc.max_interval = d;
        }
        if let Some(d) = opt_ms(&r, "maxElapsedMs")? {
            rc.max_elapsed_time = d;
        }
        b = b.retry(rc);
    }
    Ok(b)
}

fn level_of(s: &str) -> Option<Level> {
    Some(match s {
        "error" => Level::Error,
        "warn" => Level::Warn,
        "info" => Level::Info,
        "debug" => Level::Debug,
        _ => return None,
    })
}

/// The exporter's wasm side. The JS class `Exporter` (`wasm/js/index.js`)
/// drives it; it is not meant to be used directly.
#[wasm_bindgen]
pub struct Core {
    config: Config,
    batcher: Batcher,
    stats: Arc<Stats>,
    logger: Logger,
    logs: LogBuffer,
    log_fn: Option<Function>,
    deliverer: Deliverer,
    /// The protobuf request being delivered (gzip, when configured, is the JS layer's).
    request: Vec<u8>,
    gzip: bool,
    delivery: Option<Delivery>,
    sampler: Sampler,
    disabled: bool,
    shutdown_deadline: Option<Duration>,
    scratch: Vec<u8>,
    /// Strings the JS layer packs by index (attribute keys, span and event names), at most
    /// `MAX_INTERNED` of at most `MAX_INTERNED_LEN` bytes each.
    strings: Vec<Box<str>>,
    bump: Bump,
    timeout: Duration,
    until: Duration,
}

#[wasm_bindgen]
impl Core {
    /// Builds the wasm side. `env`: an object of `OTEL_*` variables
    /// (`process.env`, or `{}`); `options`: code options (camelCase; they win
    /// over `env`); `log(level, message)`: where warnings go; `entropy`: random
    /// bytes (`crypto.getRandomValues`) for the id generators and jitter;
    /// `sdk_language`: the `telemetry.sdk.language` resource attribute.
    #[wasm_bindgen(constructor)]
    pub fn new(
        env: JsValue,
        options: JsValue,
        log: Option<Function>,
        entropy: &[u8],
        sdk_language: &str,
    ) -> Result<Core, JsValue> {
        context::add_entropy(entropy);
        let level = match opt_string(&options, "logLevel")? {
            Some(s) => level_of(&s).ok_or_else(|| {
                js_error(
                    codes::INVALID_ARGUMENT,
                    &format!("logLevel \"{s}\": expected error, warn, info or debug"),
                )
            })?,
            None => Level::Warn,
        };
        let logs: LogBuffer = Arc::default();
        let sink = logs.clone();
        let logger = Logger::new(
            Arc::new(move |l, m: &str| {
                if let Ok(mut g) = sink.lock() {
                    if g.len() < 1000 {
                        g.push((l, m.to_string()));
                    }
                }
            }),
            level,
        );
        let builder = builder_from_options(&options)?;
        let lookup = |k: &str| prop(&env, k).and_then(|v| v.as_string());
        let (config, warnings) = builder.build_from_lookup(lookup);
        for w in &warnings {
            logger.warn(&w.to_string());
        }
        let mut core_log = CoreLog {
            logs: &logs,
            log_fn: log.as_ref(),
        };
        if config.protocol() != Protocol::HttpProtobuf {
            core_log.flush();
            return Err(js_error(
                codes::CONFIG,
                &format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={} is not supported in WebAssembly (only http/protobuf, \
                     to keep the module small); use http/protobuf with the OTLP/HTTP port 4318",
                    config.protocol()
                ),
            ));
        }
        let mut attrs: Vec<KeyValue<'_>> = config
            .resource_attributes()
            .iter()
            .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
            .collect();
        for (k, v) in [
            ("telemetry.sdk.name", "otlpx"),
            ("telemetry.sdk.language", sdk_language),
            ("telemetry.sdk.version", version()),
        ] {
            if !attrs.iter().any(|a| a.key == k) {
                attrs.push(KeyValue::new(k, v));
            }
        }
        let resource = Resource {
            attributes: &attrs,
            ..Resource::default()
        };
        // The queue is allocated up front; a configuration whose queue cannot fit
        // wasm32's 4 GiB address space would trap in the allocator instead.
        let bc = config.batch_config();
        let blocks = bc.max_queue_size.div_ceil(bc.max_export_batch_size.max(1)) as u64 + 1;
        let queue_bytes = blocks.saturating_mul(bc.max_batch_bytes as u64);
        if queue_bytes > MAX_QUEUE_MEMORY {
            core_log.flush();
            return Err(js_error(
                codes::CONFIG,
                &format!(
                    "the queue would take {} MiB (ceil(max_queue_size / max_export_batch_size) + 1 blocks of \
                     max_batch_bytes); at most {} MiB in WebAssembly: lower OTEL_BSP_MAX_QUEUE_SIZE or \
                     OTLPX_MAX_BATCH_BYTES, or raise OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                    queue_bytes >> 20,
                    MAX_QUEUE_MEMORY >> 20
                ),
            ));
        }
        let stats = Arc::new(Stats::new());
        let batcher = match Batcher::new(config.batch_config(), &resource, stats.clone()) {
            Ok(b) => b,
            Err(e) => {
                core_log.flush();
                return Err(js_error(codes::CONFIG, &e.to_string()));
            }
        };
        let mut seed = [0u8; 8];
        for (i, b) in entropy.iter().enumerate() {
            seed[i % 8] ^= *b;
        }
        let deliverer = Deliverer::new(&config, u64::from_le_bytes(seed), config.redacted_endpoint());
        core_log.flush();
        Ok(Core {
            sampler: config.sampler(),
            disabled: config.sdk_disabled(),
            request: Vec::new(),
            gzip: config.compression() == Compression::Gzip,
            config,
            batcher,
            stats,
            logger,
            logs,
            log_fn: log,
            deliverer,
            delivery: None,
            shutdown_deadline: None,
            scratch: vec![0; 4096],
            strings: Vec::new(),
            bump: Bump::new(),
            timeout: Duration::ZERO,
            until: Duration::ZERO,
        })
    }

    /// The wasm memory (the JS layer writes packed spans into it).
    pub fn memory(&self) -> JsValue {
        wasm_bindgen::memory()
    }

    /// Makes the scratch buffer at least `len` bytes; returns its address.
    /// The address is valid until the next call that may allocate.
    #[wasm_bindgen(js_name = scratch)]
    pub fn scratch_ptr(&mut self, len: usize) -> usize {
        if self.scratch.len() < len {
            self.scratch.resize(len.next_power_of_two(), 0);
        }
        self.scratch.as_ptr() as usize
    }

    /// Bytes in the scratch buffer.
    #[wasm_bindgen(js_name = scratchLen)]
    pub fn scratch_len(&self) -> usize {
        self.scratch.len()
    }

    /// Interns `s` so packed spans can name it by index (`packed::INTERNED`);
    /// returns the index, or `u32::MAX` when the table is full or `s` too long
    /// (then the JS layer packs it in full, as before).
    pub fn intern(&mut self, s: &str) -> u32 {
        if self.strings.len() >= MAX_INTERNED || s.len() > MAX_INTERNED_LEN {
            return u32::MAX;
        }
        self.strings.push(s.into());
        (self.strings.len() - 1) as u32
    }

    /// Registers a scope packed in the scratch buffer (`len` bytes); returns its id.
    #[wasm_bindgen(js_name = addScope)]
    pub fn add_scope(&mut self, len: usize) -> Result<u32, JsValue> {
        self.bump.reset();
        let buf = self.scratch.get(..len).unwrap_or(&[]);
        let scope: Scope<'_> = packed::read_scope(buf, &self.bump, &self.strings)
            .ok_or_else(|| js_error(codes::INVALID_ARGUMENT, "the scope could not be read"))?;
        match self.batcher.add_scope(&scope) {
            Ok(id) => Ok(u32::from(id.0)),
            Err(e) => Err(js_error(codes::TOO_MANY_SCOPES, &e.to_string())),
        }
    }

    /// Records the span packed in the scratch buffer (`len` bytes). Returns
    /// 0 (queued), 1 (queued; a batch is full: drive the export) or 2 + the
    /// drop reason's index.
    pub fn record(&mut self, len: usize) -> u32 {
        if self.disabled {
            self.batcher.refuse(DropReason::Disabled);
            return RECORD_DROPPED_BASE + DropReason::Disabled as u32;
        }
        self.bump.reset();
        let buf = self.scratch.get(..len).unwrap_or(&[]);
        let Some((scope, span)) = packed::read_span(buf, &self.bump, &self.strings) else {
            self.batcher.refuse(DropReason::Invalid);
            return RECORD_DROPPED_BASE + DropReason::Invalid as u32;
        };
        let scope = ScopeId(u16::try_from(scope).unwrap_or(u16::MAX));
        match self.batcher.record(scope, &span) {
            Ok(otlpx_core::Enqueued::Queued) => RECORD_QUEUED,
            Ok(otlpx_core::Enqueued::BatchReady) => RECORD_BATCH_READY,
            Err(r) => RECORD_DROPPED_BASE + r as u32,
        }
    }

    /// Counts a span the JS layer refused before packing it (reason index).
    pub fn refuse(&mut self, reason: u32) {
        let r = DropReason::ALL
            .get(reason as usize)
            .copied()
            .unwrap_or(DropReason::Invalid);
        self.batcher.refuse(r);
    }

    /// Starts a span: the parent is packed in the scratch buffer (`len`
    /// bytes: `u8` 0 none; 1 `str traceparent`, `str tracestate` (remote);
    /// 2 `[16] trace id`, `[8] span id`, `u8 flags`, `u8 remote`, `str
    /// tracestate`). Returns `u8 sampled, u8 trace flags, u8 has parent, u8 0,
    /// u32 span flags, [16] trace id, [8] span id, [8] parent id`, then the
    /// inherited trace state as UTF-8.
    #[wasm_bindgen(js_name = startSpan)]
    pub fn start_span(&mut self, len: usize) -> Vec<u8> {
        let buf = self.scratch.get(..len).unwrap_or(&[]);
        let mut r = packed::Reader::new(buf);
        let parent: Option<SpanContext<'_>> = match r.u8() {
            1 => {
                let tp = r.str();
                let ts = r.str();
                context::extract(tp, ts).ok()
            }
            2 => {
                let trace_id = r.id16();
                let span_id = r.id8();
                let flags = r.u8();
                let remote = r.u8() != 0;
                let ts = r.str();
                Some(SpanContext {
                    trace_id,
                    span_id,
                    flags,
                    trace_state: context::parse_tracestate(ts).unwrap_or_else(|_| TraceState::empty()),
                    remote,
                })
            }
            _ => None,
        };
        let parent = if r.is_bad() { None } else { parent };
        let d = context::start_span(&self.sampler, parent.as_ref(), &mut IdGenerator);
        let mut out = Vec::with_capacity(40 + d.trace_state.as_str().len());
        out.extend_from_slice(&[
            u8::from(d.sampled),
            d.trace_flags,
            u8::from(d.parent_span_id.is_some()),
            0,
        ]);
        out.extend_from_slice(&d.flags.to_le_bytes());
        out.extend_from_slice(&d.trace_id);
        out.extend_from_slice(&d.span_id);
        out.extend_from_slice(&d.parent_span_id.unwrap_or_default());
        out.extend_from_slice(d.trace_state.as_str().as_bytes());
        out
    }

    /// Drives the export at monotonic `now_ms` (wall clock `wall_ms`):
    /// returns 0 (nothing to send), 1 (send `body()` within `timeoutMs()`,
    /// then call `afterAttempt`) or 2 (call again at `waitUntilMs()`, or
    /// earlier after `beginShutdown`). `partial`: also take a batch that is
    /// not full (flush, timer, shutdown).
    pub fn poll(&mut self, now_ms: f64, partial: bool) -> u32 {
        let now = mono(now_ms);
        let step = self.poll_inner(now, partial);
        self.flush_logs();
        step
    }

    fn poll_inner(&mut self, now: Duration, partial: bool) -> u32 {
        let env = Env {
            stats: &self.stats,
            logger: &self.logger,
        };
        loop {
            if let Some(d) = self.delivery.as_mut() {
                if let Some(sd) = self.shutdown_deadline {
                    d.shutdown(sd);
                }
                match d.before_attempt(now, &mut self.deliverer, &env) {
                    Next::Send { timeout } => {
                        self.timeout = timeout;
                        return STEP_SEND;
                    }
                    Next::Wait { until } => {
                        self.until = until;
                        return STEP_WAIT;
                    }
                    Next::Done(_) => self.delivery = None,
                }
                continue;
            }
            let partial = partial || self.shutdown_deadline.is_some();
            let Some(batch) = self.batcher.take_batch(partial) else {
                return STEP_IDLE;
            };
            let n = batch.len() as u64;
            if self.shutdown_deadline.is_some_and(|d| now >= d) {
                self.stats.add_dropped(DropReason::Shutdown, n);
                self.batcher.release(batch);
                continue;
            }
            self.request.clear();
            self.batcher.write_request(&batch, &mut self.request);
            self.batcher.release(batch);
            self.delivery = Some(self.deliverer.begin(n, now, &env));
        }
    }

    /// Where the body of the request to send starts in wasm memory: an
    /// `ExportTraceServiceRequest` (`application/x-protobuf`) of `bodyLen`
    /// bytes, to be gzipped by the host when `gzip` is true. The JS layer
    /// copies it out at once (into a buffer it reuses), before any other call.
    #[wasm_bindgen(js_name = bodyPtr)]
    pub fn body_ptr(&self) -> usize {
        self.request.as_ptr() as usize
    }

    /// The length of the request body (see `bodyPtr`).
    #[wasm_bindgen(js_name = bodyLen)]
    pub fn body_len(&self) -> usize {
        self.request.len()
    }

    /// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`: the host compresses the body
    /// (`CompressionStream`) and sends `Content-Encoding: gzip`.
    #[wasm_bindgen(getter)]
    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// Spans in the batch being delivered.
    #[wasm_bindgen(js_name = batchSpans)]
    pub fn batch_spans(&self) -> u32 {
        self.delivery.as_ref().map_or(0, |d| d.spans() as u32)
    }

    /// The per-request timeout of the send `poll` asked for, ms.
    #[wasm_bindgen(js_name = timeoutMs)]
    pub fn timeout_ms(&self) -> f64 {
        ms_of(self.timeout)
    }

    /// When `poll` wants to be called again, monotonic ms.
    #[wasm_bindgen(js_name = waitUntilMs)]
    pub fn wait_until_ms(&self) -> f64 {
        ms_of(self.until)
    }

    /// The result of the send: `kind` 0 response (`status`, `retry_after`,
    /// `body`), 1 connection failed, 2 timed out, 3 other local failure
    /// (`error` describes 1 and 3). Then call `poll` again.
    #[wasm_bindgen(js_name = afterAttempt)]
    #[allow(clippy::too_many_arguments)]
    pub fn after_attempt(
        &mut self,
        kind: u32,
        status: u16,
        retry_after: Option<String>,
        body: Option<Vec<u8>>,
        error: String,
        now_ms: f64,
        wall_ms: f64,
    ) {
        let body = body.unwrap_or_default();
        let attempt = match kind {
            0 => Attempt::Response {
                status,
                retry_after: retry_after.as_deref(),
                body: &body,
            },
            1 => Attempt::ConnectError(&error),
            2 => Attempt::Timeout,
            _ => Attempt::OtherError(&error),
        };
        let env = Env {
            stats: &self.stats,
            logger: &self.logger,
        };
        if let Some(d) = self.delivery.as_mut() {
            if let Next::Done(_) = d.after_attempt(&attempt, mono(now_ms), wall(wall_ms), &mut self.deliverer, &env) {
                self.delivery = None;
            }
        }
        self.flush_logs();
    }

    /// Stops accepting spans (later ones are dropped as `shutdown`) and sets
    /// the monotonic deadline by which everything must be sent or dropped.
    /// A later call never extends an earlier deadline.
    #[wasm_bindgen(js_name = beginShutdown)]
    pub fn begin_shutdown(&mut self, deadline_ms: f64) {
        self.batcher.close();
        let d = mono(deadline_ms);
        self.shutdown_deadline = Some(self.shutdown_deadline.map_or(d, |old| old.min(d)));
    }

    /// Drops the batch being delivered and everything queued as `reason`
    /// (e.g. the page is gone and nothing more can be sent).
    #[wasm_bindgen(js_name = dropAll)]
    pub fn drop_all(&mut self, reason: u32, now_ms: f64) {
        let r = DropReason::ALL
            .get(reason as usize)
            .copied()
            .unwrap_or(DropReason::Shutdown);
        let env = Env {
            stats: &self.stats,
            logger: &self.logger,
        };
        if let Some(mut d) = self.delivery.take() {
            d.abandon(r, "abandoned by the host", mono(now_ms), &mut self.deliverer, &env);
        }
        while let Some(b) = self.batcher.take_batch(true) {
            self.stats.add_dropped(r, b.len() as u64);
            self.batcher.release(b);
        }
        self.flush_logs();
    }

    /// True when `OTEL_SDK_DISABLED` is set: nothing is exported.
    #[wasm_bindgen(getter)]
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// The traces endpoint (full URL).
    #[wasm_bindgen(getter)]
    pub fn endpoint(&self) -> String {
        self.config.endpoint().to_string()
    }

    /// The configured headers as `[name, value]` pairs.
    pub fn headers(&self) -> Array {
        self.config
            .headers()
            .iter()
            .map(|(k, v)| Array::of2(&k.into(), &v.into()))
            .collect()
    }

    /// `OTEL_BSP_SCHEDULE_DELAY`, ms.
    #[wasm_bindgen(getter, js_name = scheduleDelayMs)]
    pub fn schedule_delay_ms(&self) -> f64 {
        ms_of(self.config.schedule_delay())
    }

    /// `OTEL_BSP_EXPORT_TIMEOUT`, ms.
    #[wasm_bindgen(getter, js_name = exportTimeoutMs)]
    pub fn export_timeout_ms(&self) -> f64 {
        ms_of(self.config.export_timeout())
    }

    /// `OTLPX_MAX_BATCH_BYTES` in effect.
    #[wasm_bindgen(getter, js_name = maxBatchBytes)]
    pub fn max_batch_bytes(&self) -> f64 {
        self.config.max_batch_bytes() as f64
    }

    /// Spans waiting in the queue.
    pub fn queued(&self) -> u32 {
        self.batcher.queued() as u32
    }

    /// Every counter as a number, in the order `wasm/js/index.js` reads them
    /// (`STAT_NUMBERS`, then one per drop reason, then one per request
    /// outcome, in `dropReasons()` and `requestOutcomes()` order): accepted,
    /// exported, droppedTotal, pending, bytesEncoded, batches, retries,
    /// circuitOpened, lastHttpStatus. The JS layer builds the stats object
    /// (a counter passes 2^53 only after centuries of spans).
    #[wasm_bindgen(js_name = statValues)]
    pub fn stat_values(&self) -> Vec<f64> {
        let s = self.stats.snapshot();
        let mut v = Vec::with_capacity(9 + DropReason::ALL.len() + RequestOutcome::ALL.len());
        v.extend(
            [
                s.accepted,
                s.exported,
                s.dropped_total(),
                s.pending(),
                s.bytes_encoded,
                s.batches,
                s.retries,
                s.circuit_opened,
                u64::from(s.last_http_status),
            ]
            .map(|n| n as f64),
        );
        v.extend(DropReason::ALL.iter().map(|&r| s.dropped_for(r) as f64));
        v.extend(RequestOutcome::ALL.iter().map(|&r| s.requests_for(r) as f64));
        v
    }

    /// When a request last succeeded, in unix nanoseconds (0: never).
    #[wasm_bindgen(js_name = lastSuccessUnixNano)]
    pub fn last_success_unix_nano(&self) -> u64 {
        self.stats.snapshot().last_success_unix_nano
    }

    /// The last error's text, if any.
    #[wasm_bindgen(js_name = lastError)]
    pub fn last_error(&self) -> Option<String> {
        self.stats.snapshot().last_error
    }

    /// The request outcomes' names, in index order.
    #[wasm_bindgen(js_name = requestOutcomes)]
    pub fn request_outcomes() -> Array {
        RequestOutcome::ALL
            .iter()
            .map(|r| JsValue::from_str(r.name()))
            .collect()
    }

    /// The drop reasons' names, in index order.
    #[wasm_bindgen(js_name = dropReasons)]
    pub fn drop_reasons() -> Array {
        DropReason::ALL.iter().map(|r| JsValue::from_str(r.name())).collect()
    }

    fn flush_logs(&self) {
        CoreLog {
            logs: &self.logs,
            log_fn: self.log_fn.as_ref(),
        }
        .flush();
    }
}

/// Hands buffered log lines to the JS log function (outside any core lock).
struct CoreLog<'a> {
    logs: &'a LogBuffer,
    log_fn: Option<&'a Function>,
}

impl CoreLog<'_> {
    fn flush(&mut self) {
        let lines = match self.logs.lock() {
            Ok(mut g) if !g.is_empty() => std::mem::take(&mut *g),
            _ => return,
        };
        if let Some(f) = self.log_fn {
            for (level, msg) in lines {
                // A throwing log function must not break the exporter.
                let _ = f.call2(&JsValue::NULL, &level.name().into(), &msg.into());
            }
        }
    }
}
