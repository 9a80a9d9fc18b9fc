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
use std::time::{Duration, Instant, SystemTime};

use crate::batch::{Batch, BatchError, Batcher, Enqueued};
use crate::config::{Compression, Config, ConfigWarning, Protocol};
use crate::delivery::{drop_batch, unix_nanos, Deliverer, Env, Next, RequestBuffers};
use crate::log::Logger;
use crate::model::{KeyValue, Resource, Scope, ScopeId, Span};
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

/// Buffers and delivery state owned by the exporter thread.
struct Pipeline {
    buffers: RequestBuffers,
    deliverer: Deliverer,
    origin: Instant,
}

fn seed() -> u64 {
    let t = unix_nanos(SystemTime::now());
    let addr = &t as *const u64 as u64;
    t ^ addr.rotate_left(32) ^ u64::from(std::process::id())
}

fn run(shared: Arc<Shared>, mut transport: Box<dyn Transport>) {
    let cfg = &shared.config;
    let mut pipe = Pipeline {
        buffers: RequestBuffers::new(cfg.max_batch_bytes().min(1 << 20)),
        deliverer: Deliverer::new(cfg, seed(), transport.describe()),
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

/// Sleeps until `until`, waking early when a shutdown whose deadline comes
/// first begins (the delivery then decides what that means for the batch).
fn sleep_until(shared: &Shared, until: Instant) {
    loop {
        let now = Instant::now();
        if now >= until {
            return;
        }
        if shared.shutdown_deadline().is_some_and(|d| d <= until) {
            return;
        }
        thread::park_timeout(until - now);
    }
}

/// Frames `batch` and runs it through the delivery state machine
/// (`delivery.rs`) with blocking sends and sleeps.
fn export_batch(shared: &Shared, transport: &mut dyn Transport, pipe: &mut Pipeline, batch: Batch) {
    let cfg = &shared.config;
    let env = Env {
        stats: &shared.stats,
        logger: &shared.logger,
    };
    let n = batch.len() as u64;
    let prepared = pipe
        .buffers
        .prepare(&shared.batcher, &batch, cfg.protocol(), cfg.compression());
    shared.batcher.release(batch);
    let body = match prepared {
        Ok(b) => b,
        Err(e) => {
            // Our own encoder's bytes always transcode; count it if not.
            shared.stats.add_batch();
            drop_batch(n, DropReason::Invalid, &e, &env, false);
            return;
        }
    };
    let origin = pipe.origin;
    let deliverer = &mut pipe.deliverer;
    let mut delivery = deliverer.begin(n, origin.elapsed(), &env);
    loop {
        if let Some(d) = shared.shutdown_deadline() {
            delivery.shutdown(d.saturating_duration_since(origin));
        }
        match delivery.before_attempt(origin.elapsed(), deliverer, &env) {
            Next::Send { timeout } => {
                let req = ExportRequest {
                    body: body.bytes,
                    content_type: body.content_type,
                    content_encoding: body.content_encoding,
                    timeout,
                    spans: n as usize,
                };
                let result = transport.send(&req);
                let attempt = attempt_of(&result);
                let next = delivery.after_attempt(&attempt, origin.elapsed(), SystemTime::now(), deliverer, &env);
                if let Next::Done(_) = next {
                    return;
                }
            }
            Next::Wait { until } => sleep_until(shared, origin + until),
            Next::Done(_) => return,
        }
    }
}
