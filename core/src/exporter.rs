//! The exporter: a bounded batcher drained by one background thread that
//! sends each batch through a [`Transport`], retrying as the retry policy says.
//!
//! Owns: the thread (no async runtime), its wake-ups (a full batch, the
//! schedule delay, a flush, shutdown), `force_flush` and `shutdown` with
//! deadlines and outcomes, and the accounting of every batch: exported,
//! rejected, or dropped under a named reason.
//! Must not: block a producer (spans are encoded and queued by the caller's
//! thread under a short lock; the exporter is woken only when a batch fills,
//! with no syscall unless it sleeps), hold a lock across I/O, or hang past a
//! deadline it was given.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flate2::{Compress, Compression as Level, FlushCompress, Status as ZStatus};

use crate::batch::{Batch, BatchError, Batcher, Enqueued};
use crate::config::{Compression, Config, ConfigWarning, Protocol};
use crate::envelope::RequestSink;
use crate::log::Logger;
use crate::model::{KeyValue, Resource, Scope, ScopeId, Span};
use crate::retry::{Backoff, CircuitBreaker, Decision, RetryPolicy, Timing};
use crate::stats::{DropReason, Stats, StatsSnapshot};
use crate::transport::{attempt_of, ExportRequest, Transport, TransportError};

/// What a flush or shutdown achieved by its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportOutcome {
    /// The deadline passed before every queued span was exported or dropped.
    pub timed_out: bool,
    /// Spans exported during the call.
    pub exported: u64,
    /// Spans dropped during the call (any reason).
    pub dropped: u64,
    /// Spans still queued or in flight when the call returned.
    pub pending: u64,
}

impl ExportOutcome {
    /// True when everything queued was exported and nothing was dropped.
    pub fn is_success(&self) -> bool {
        !self.timed_out && self.dropped == 0 && self.pending == 0
    }
}

impl std::fmt::Display for ExportOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.timed_out {
            "timed out"
        } else if self.dropped > 0 {
            "done, with drops"
        } else {
            "all exported"
        };
        write!(
            f,
            "{what}: {} exported, {} dropped, {} pending",
            self.exported, self.dropped, self.pending
        )
    }
}

/// Why an exporter could not be built.
#[derive(Debug)]
pub enum ExporterError {
    /// The configuration cannot work (a protocol not built in, bad sizes).
    Config(String),
    /// The transport could not be set up (unreadable certificate files, ...).
    Transport(TransportError),
    /// The exporter thread could not be started.
    Thread(io::Error),
}

impl std::fmt::Display for ExporterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExporterError::Config(s) => write!(f, "invalid exporter configuration: {s}"),
            ExporterError::Transport(e) => write!(f, "cannot set up the transport: {e}"),
            ExporterError::Thread(e) => write!(f, "cannot start the exporter thread: {e}"),
        }
    }
}

impl std::error::Error for ExporterError {}

impl From<BatchError> for ExporterError {
    fn from(e: BatchError) -> Self {
        ExporterError::Config(e.to_string())
    }
}

/// Builds an [`Exporter`]: configuration, logger, transport, scope.
pub struct ExporterBuilder {
    config: Option<Config>,
    logger: Logger,
    transport: Option<Box<dyn Transport>>,
    scope_name: String,
    scope_version: String,
    sdk_language: String,
}

impl Default for ExporterBuilder {
    fn default() -> Self {
        ExporterBuilder {
            config: None,
            logger: Logger::default(),
            transport: None,
            scope_name: "otlpx".into(),
            scope_version: env!("CARGO_PKG_VERSION").into(),
            sdk_language: "rust".into(),
        }
    }
}

impl ExporterBuilder {
    /// The configuration (default: from the environment, warnings to the logger).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }
    /// Where warnings and errors go (default: standard error).
    pub fn logger(mut self, logger: Logger) -> Self {
        self.logger = logger;
        self
    }
    /// A transport instead of HTTP (a host callback, a test double).
    pub fn transport(mut self, transport: Box<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }
    /// Name and version of the default instrumentation scope ([`Exporter::default_scope`]).
    pub fn default_scope(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.scope_name = name.into();
        self.scope_version = version.into();
        self
    }
    /// The `telemetry.sdk.language` resource attribute (frontends set theirs).
    pub fn sdk_language(mut self, language: impl Into<String>) -> Self {
        self.sdk_language = language.into();
        self
    }

    /// Builds the exporter and starts its thread.
    pub fn build(self) -> Result<Exporter, ExporterError> {
        let logger = self.logger;
        let config = match self.config {
            Some(c) => c,
            None => {
                let (c, warnings) = Config::from_env();
                log_warnings(&logger, &warnings);
                c
            }
        };
        if config.protocol() == Protocol::Grpc && self.transport.is_none() {
            return Err(ExporterError::Config(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported yet (it comes with the gRPC transport); \
                 use http/protobuf with the OTLP/HTTP port 4318"
                    .into(),
            ));
        }
        // The resource: service.name, OTEL_RESOURCE_ATTRIBUTES, and the SDK's own.
        let mut attrs: Vec<KeyValue<'_>> = config
            .resource_attributes()
            .iter()
            .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
            .collect();
        for (k, v) in [
            ("telemetry.sdk.name", "otlpx"),
            ("telemetry.sdk.language", self.sdk_language.as_str()),
            ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ] {
            if !attrs.iter().any(|a| a.key == k) {
                attrs.push(KeyValue::new(k, v));
            }
        }
        let resource = Resource {
            attributes: &attrs,
            ..Resource::default()
        };
        let stats = Arc::new(Stats::new());
        let batcher = Batcher::new(config.batch_config(), &resource, stats.clone())?;
        let default_scope = batcher.add_scope(&Scope {
            name: &self.scope_name,
            version: &self.scope_version,
            ..Scope::default()
        })?;
        let disabled = config.sdk_disabled();
        let transport: Option<Box<dyn Transport>> = match self.transport {
            Some(t) => Some(t),
            None if disabled => None,
            #[cfg(feature = "http")]
            None => Some(Box::new(
                crate::http::HttpTransport::new(&config).map_err(ExporterError::Transport)?,
            )),
            #[cfg(not(feature = "http"))]
            None => {
                return Err(ExporterError::Config(
                    "no transport: this build has no HTTP client; pass one to ExporterBuilder::transport".into(),
                ))
            }
        };
        let shared = Arc::new(Shared {
            batcher,
            stats,
            logger,
            config,
            ctl: Mutex::new(Control::default()),
            done: Condvar::new(),
            worker: OnceLock::new(),
        });
        let worker = match transport {
            Some(t) if !disabled => {
                let s = shared.clone();
                let handle = thread::Builder::new()
                    .name("otlpx-exporter".into())
                    .spawn(move || run(s, t))
                    .map_err(ExporterError::Thread)?;
                let _ = shared.worker.set(handle.thread().clone());
                Some(handle)
            }
            _ => {
                shared.lock().finished = true;
                None
            }
        };
        Ok(Exporter {
            shared,
            handle: Mutex::new(worker),
            default_scope,
            disabled,
        })
    }
}

fn log_warnings(logger: &Logger, warnings: &[ConfigWarning]) {
    for w in warnings {
        logger.warn(&w.to_string());
    }
}

/// Flush and shutdown bookkeeping, shared by callers and the thread.
#[derive(Debug, Default)]
struct Control {
    flush_requested: u64,
    flush_done: u64,
    shutdown_deadline: Option<Instant>,
    finished: bool,
}

struct Shared {
    batcher: Batcher,
    stats: Arc<Stats>,
    logger: Logger,
    config: Config,
    ctl: Mutex<Control>,
    /// Signalled when a flush completes or the thread finishes.
    done: Condvar,
    worker: OnceLock<Thread>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Control> {
        self.ctl.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn wake(&self) {
        if let Some(t) = self.worker.get() {
            t.unpark();
        }
    }
    fn shutdown_deadline(&self) -> Option<Instant> {
        self.lock().shutdown_deadline
    }
}

/// The exporter. Share it between threads by reference or `Arc`: every
/// method takes `&self` and is safe to call from any thread.
pub struct Exporter {
    shared: Arc<Shared>,
    handle: Mutex<Option<JoinHandle<()>>>,
    default_scope: ScopeId,
    disabled: bool,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("endpoint", &self.shared.config.endpoint())
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// A builder.
    pub fn builder() -> ExporterBuilder {
        ExporterBuilder::default()
    }

    /// An exporter configured from the `OTEL_*` environment.
    pub fn from_env() -> Result<Exporter, ExporterError> {
        Exporter::builder().build()
    }

    /// The scope registered at build time (`otlpx` unless set).
    pub fn default_scope(&self) -> ScopeId {
        self.default_scope
    }

    /// Registers another instrumentation scope.
    pub fn add_scope(&self, scope: &Scope<'_>) -> Result<ScopeId, BatchError> {
        self.shared.batcher.add_scope(scope)
    }

    /// Records a finished span: encodes and queues it on the caller's
    /// thread, never blocking on I/O. A refused span is counted under its
    /// reason and returned as `Err`.
    #[inline]
    pub fn record(&self, scope: ScopeId, span: &Span<'_>) -> Result<(), DropReason> {
        if self.disabled {
            self.shared.batcher.refuse(DropReason::Disabled);
            return Err(DropReason::Disabled);
        }
        if self.shared.batcher.record(scope, span)? == Enqueued::BatchReady {
            self.shared.wake();
        }
        Ok(())
    }

    /// Counts a span a frontend refused before encoding (invalid input).
    pub fn refuse(&self, reason: DropReason) {
        self.shared.batcher.refuse(reason);
    }

    /// Spans waiting in the queue now (not counting a batch being sent).
    /// Takes the queue lock: for pacing a load generator, not for the hot path.
    pub fn queued(&self) -> usize {
        self.shared.batcher.queued()
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The most heap memory the exporter holds under any load, in bytes:
    /// the queue plus the thread's request and compression buffers (each at
    /// most the batch byte cap). Spans beyond it are dropped and counted.
    pub fn memory_bound(&self) -> usize {
        let cap = self.shared.config.max_batch_bytes();
        let gzip = match self.shared.config.compression() {
            Compression::Gzip => cap + cap / 16 + 64,
            Compression::None => 0,
        };
        self.shared.batcher.memory_bound() + cap + gzip
    }

    /// The logger.
    pub fn logger(&self) -> &Logger {
        &self.shared.logger
    }

    fn outcome_since(&self, before: &StatsSnapshot, timed_out: bool) -> ExportOutcome {
        let now = self.stats();
        ExportOutcome {
            timed_out,
            exported: now.exported - before.exported,
            dropped: now.dropped_total() - before.dropped_total(),
            pending: now.pending(),
        }
    }

    /// Exports everything queued now, waiting at most `timeout`.
    pub fn force_flush(&self, timeout: Duration) -> ExportOutcome {
        let before = self.stats();
        let deadline = Instant::now() + timeout;
        let mut c = self.shared.lock();
        if c.finished {
            drop(c);
            return self.outcome_since(&before, false);
        }
        c.flush_requested += 1;
        let want = c.flush_requested;
        drop(c);
        self.shared.wake();
        let timed_out = self.wait(deadline, |c| c.flush_done >= want || c.finished);
        self.outcome_since(&before, timed_out)
    }

    /// Stops accepting spans, exports what is queued, and stops the thread,
    /// returning by `timeout` whatever the receiver does. Spans still queued
    /// at the deadline are dropped as `shutdown`. Later calls return at once.
    pub fn shutdown(&self, timeout: Duration) -> ExportOutcome {
        let before = self.stats();
        self.shared.batcher.close();
        // A later call never waits past an earlier call's deadline.
        let deadline = {
            let mut c = self.shared.lock();
            let requested = Instant::now() + timeout;
            let d = match c.shutdown_deadline {
                Some(d) => d.min(requested),
                None => requested,
            };
            c.shutdown_deadline = Some(d);
            d
        };
        self.shared.wake();
        let timed_out = self.wait(deadline, |c| c.finished);
        if !timed_out {
            let handle = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(h) = handle {
                let _ = h.join();
            }
        }
        if self.disabled {
            // Nothing was ever queued; spans were counted as they came.
            return self.outcome_since(&before, false);
        }
        self.outcome_since(&before, timed_out)
    }

    /// Waits until `done(control)` or the deadline; true when it timed out.
    fn wait(&self, deadline: Instant, done: impl Fn(&Control) -> bool) -> bool {
        let mut c = self.shared.lock();
        loop {
            if done(&c) {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            c = match self.shared.done.wait_timeout(c, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl Drop for Exporter {
    /// Shuts down with the export timeout (`OTEL_BSP_EXPORT_TIMEOUT`).
    fn drop(&mut self) {
        if !self.shared.lock().finished {
            let timeout = self.shared.config.export_timeout();
            self.shutdown(timeout);
        }
    }
}

// ---------------------------------------------------------------------------
// The exporter thread.

/// Buffers and policy state owned by the exporter thread.
struct Pipeline {
    request: Vec<u8>,
    /// The request as OTLP/JSON (`http/json` only).
    json: Vec<u8>,
    gzip: Vec<u8>,
    deflate: Compress,
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    origin: Instant,
}

/// Feeds a request into the gzip compressor (zlib-rs writes the gzip header
/// and trailer, folding the CRC into its pass), straight from the batch
/// block, so a compressed export never copies the batch into a request
/// buffer first. Small
/// pieces (the framing) are gathered before they reach the compressor.
struct GzipSink<'a> {
    deflate: &'a mut Compress,
    out: &'a mut Vec<u8>,
    small: [u8; 256],
    n: usize,
}

impl<'a> GzipSink<'a> {
    fn new(deflate: &'a mut Compress, out: &'a mut Vec<u8>) -> Self {
        deflate.reset();
        out.clear();
        GzipSink {
            deflate,
            out,
            small: [0; 256],
            n: 0,
        }
    }

    fn compress(&mut self, input: &[u8], flush: FlushCompress) {
        let start = self.deflate.total_in();
        loop {
            let consumed = (self.deflate.total_in() - start) as usize;
            if self.out.capacity() - self.out.len() < 4096 {
                self.out.reserve((input.len() - consumed) / 2 + 8192);
            }
            match self.deflate.compress_vec(&input[consumed..], self.out, flush) {
                Ok(ZStatus::StreamEnd) => return,
                Ok(_) => {
                    let done = (self.deflate.total_in() - start) as usize == input.len();
                    // Without Finish, stop once the input is consumed and the
                    // compressor had room to spare (nothing left to flush).
                    if done && flush == FlushCompress::None && self.out.capacity() > self.out.len() {
                        return;
                    }
                }
                // Compressing from memory into memory cannot fail; be safe anyway.
                Err(_) => return,
            }
        }
    }

    fn flush_small(&mut self) {
        if self.n > 0 {
            let small = self.small;
            let n = self.n;
            self.n = 0;
            self.compress(&small[..n], FlushCompress::None);
        }
    }

    fn finish(mut self) {
        self.flush_small();
        self.compress(&[], FlushCompress::Finish);
    }
}

impl RequestSink for GzipSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.n + bytes.len() <= self.small.len() {
            self.small[self.n..self.n + bytes.len()].copy_from_slice(bytes);
            self.n += bytes.len();
            return;
        }
        self.flush_small();
        if bytes.len() <= self.small.len() {
            self.small[..bytes.len()].copy_from_slice(bytes);
            self.n = bytes.len();
        } else {
            self.compress(bytes, FlushCompress::None);
        }
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn seed() -> u64 {
    let t = unix_nanos();
    let addr = &t as *const u64 as u64;
    t ^ addr.rotate_left(32) ^ u64::from(std::process::id())
}

fn run(shared: Arc<Shared>, mut transport: Box<dyn Transport>) {
    let cfg = &shared.config;
    let retry = cfg.retry();
    let mut pipe = Pipeline {
        request: Vec::with_capacity(cfg.max_batch_bytes().min(1 << 20)),
        json: Vec::new(),
        gzip: Vec::new(),
        deflate: Compress::new_gzip(Level::fast(), 15),
        policy: RetryPolicy::new(retry, seed()),
        breaker: CircuitBreaker::for_config(&retry),
        origin: Instant::now(),
    };
    let delay = cfg.schedule_delay();
    let mut next_timer = Instant::now() + delay;
    let mut flushed = 0u64;
    loop {
        let (flush_requested, shutdown) = {
            let c = shared.lock();
            (c.flush_requested, c.shutdown_deadline)
        };
        let now = Instant::now();
        let timer_due = now >= next_timer;
        let flushing = flush_requested > flushed;
        let partial = flushing || shutdown.is_some() || timer_due;
        if let Some(batch) = shared.batcher.take_batch(partial) {
            match shutdown {
                Some(d) if Instant::now() >= d => {
                    shared.stats.add_dropped(DropReason::Shutdown, batch.len() as u64);
                    shared.batcher.release(batch);
                }
                _ => export_batch(&shared, transport.as_mut(), &mut pipe, batch),
            }
            if timer_due {
                next_timer = Instant::now() + delay;
            }
            continue;
        }
        if timer_due {
            next_timer = now + delay;
        }
        if flushing || shutdown.is_some() {
            let mut c = shared.lock();
            c.flush_done = flush_requested;
            flushed = flush_requested;
            if shutdown.is_some() {
                c.finished = true;
            }
            let finished = c.finished;
            drop(c);
            shared.done.notify_all();
            if finished {
                shared.logger.info("exporter stopped");
                return;
            }
            continue;
        }
        thread::park_timeout(next_timer.saturating_duration_since(Instant::now()));
    }
}

/// Sleeps until `until`, waking early on shutdown; false if a shutdown
/// deadline comes first.
fn sleep_until(shared: &Shared, until: Instant) -> bool {
    loop {
        let now = Instant::now();
        if now >= until {
            return true;
        }
        if let Some(d) = shared.shutdown_deadline() {
            if d <= until {
                return false;
            }
        }
        thread::park_timeout(until - now);
    }
}

fn export_batch(shared: &Shared, transport: &mut dyn Transport, pipe: &mut Pipeline, batch: Batch) {
    let cfg = &shared.config;
    let stats = &shared.stats;
    let n = batch.len() as u64;
    let stream_gzip = cfg.compression() == Compression::Gzip && cfg.protocol() != Protocol::HttpJson;
    if stream_gzip {
        let mut sink = GzipSink::new(&mut pipe.deflate, &mut pipe.gzip);
        shared.batcher.write_request_to(&batch, &mut sink);
        sink.finish();
    } else {
        shared.batcher.write_request(&batch, &mut pipe.request);
    }
    shared.batcher.release(batch);
    stats.add_batch();
    let start = Instant::now();
    let mut deadline = start + cfg.export_timeout();
    let mut backoff: Backoff = pipe.policy.backoff();
    let Pipeline {
        request,
        json,
        gzip: gz,
        deflate,
        breaker,
        origin,
        ..
    } = pipe;
    let (payload, content_type): (&[u8], &'static str) = match cfg.protocol() {
        Protocol::HttpJson => {
            json.clear();
            if let Err(e) = crate::json::request_to_json(request, json) {
                // Our own encoder's bytes always transcode; count it if not.
                stats.add_dropped(DropReason::Invalid, n);
                stats.set_last_error(format!("cannot write OTLP/JSON: {e}"));
                return;
            }
            (json, "application/json")
        }
        _ => (request, "application/x-protobuf"),
    };
    let (body, encoding): (&[u8], Option<&'static str>) = match cfg.compression() {
        Compression::None => (payload, None),
        Compression::Gzip if stream_gzip => (gz, Some("gzip")),
        Compression::Gzip => {
            let mut sink = GzipSink::new(deflate, gz);
            sink.put(payload);
            sink.finish();
            (gz, Some("gzip"))
        }
    };
    let drop_all = |reason: DropReason, error: &str| {
        stats.add_dropped(reason, n);
        stats.set_last_error(error);
        shared.logger.error(&format!("{n} spans dropped ({reason}): {error}"));
    };
    loop {
        let by_shutdown = match shared.shutdown_deadline() {
            Some(d) if d < deadline => {
                deadline = d;
                true
            }
            _ => false,
        };
        let reason_at_deadline = if by_shutdown {
            DropReason::Shutdown
        } else {
            DropReason::ExportFailed
        };
        // The circuit breaker: no back-to-back attempts after repeated failures.
        let mono = |i: Instant| i.duration_since(*origin);
        if !breaker.allow(mono(Instant::now())) {
            let wait = breaker.open_for(mono(Instant::now())).unwrap_or(Duration::ZERO);
            let until = Instant::now() + wait;
            if until >= deadline || !sleep_until(shared, until) {
                drop_all(
                    DropReason::CircuitOpen,
                    "the circuit breaker is open after repeated export failures",
                );
                return;
            }
            continue;
        }
        let now = Instant::now();
        if now >= deadline {
            drop_all(reason_at_deadline, "the export deadline passed");
            return;
        }
        let req = ExportRequest {
            body,
            content_type,
            content_encoding: encoding,
            timeout: cfg.timeout().min(deadline - now),
            spans: n as usize,
        };
        let result = transport.send(&req);
        let attempt = attempt_of(&result);
        let after = Instant::now();
        let decision = backoff.decide(
            &attempt,
            Timing {
                now: SystemTime::now(),
                elapsed: after - start,
                deadline_remaining: deadline.saturating_duration_since(after),
            },
        );
        stats.add_request(decision.outcome(), attempt.http_status());
        match decision {
            Decision::Success { rejected, message } => {
                let rejected = rejected.min(n);
                stats.add_exported(n - rejected);
                stats.set_last_success(unix_nanos());
                breaker.on_success();
                if rejected > 0 {
                    stats.add_dropped(DropReason::Rejected, rejected);
                }
                if rejected > 0 || message.is_some() {
                    let text = format!(
                        "partial success: {rejected} of {n} spans rejected: {}",
                        message.as_deref().unwrap_or("(no message)")
                    );
                    stats.set_last_error(text.clone());
                    shared.logger.warn(&text);
                }
                return;
            }
            Decision::RetryAfter { delay, error } => {
                stats.add_retry();
                stats.set_last_error(error.clone());
                shared.logger.warn(&format!(
                    "export of {n} spans to {} failed, retrying in {:.1}s: {error}",
                    transport.describe(),
                    delay.as_secs_f64()
                ));
                let until = Instant::now() + delay;
                if until >= deadline || !sleep_until(shared, until) {
                    let reason = if shared.shutdown_deadline().is_some() {
                        DropReason::Shutdown
                    } else {
                        reason_at_deadline
                    };
                    drop_all(
                        reason,
                        &format!("{error}; the export deadline passed before the next retry"),
                    );
                    if breaker.on_failure(mono(Instant::now())) {
                        stats.add_circuit_opened();
                    }
                    return;
                }
            }
            Decision::GiveUp { reason, error, .. } => {
                drop_all(reason, &error);
                if breaker.on_failure(mono(Instant::now())) {
                    stats.add_circuit_opened();
                    shared
                        .logger
                        .warn("circuit breaker opened: pausing exports after repeated failures");
                }
                return;
            }
        }
    }
}
