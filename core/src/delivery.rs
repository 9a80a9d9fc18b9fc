//! Delivery of one batch, sans I/O: the request body (protobuf, OTLP/JSON,
//! gzip) and the per-batch state machine that says when to send, how long to
//! wait, and when the batch is done (exported, partly rejected, or dropped
//! under a named reason), updating the stats, the circuit breaker and the log.
//!
//! Owns: [`RequestBuffers`] (framing a batch into a body, the reused gzip
//! state), [`Deliverer`] (the exporter-lifetime retry policy, circuit breaker
//! and timeouts) and [`Delivery`] (one batch: deadline, backoff, shutdown).
//! The native exporter thread and the wasm host driver both run a batch as
//! `before_attempt` → send → `after_attempt` → (wait) → `before_attempt` …
//! until [`Next::Done`], so the decisions live here once.
//!
//! Must not: spawn threads, sleep, do I/O or read a clock
//! (`Instant::now()`/`SystemTime::now()` panic on wasm32-unknown-unknown):
//! every monotonic instant is a `Duration` since an origin the caller chose,
//! and the wall clock is passed in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flate2::{Compress, Compression as Level, FlushCompress, Status as ZStatus};

use crate::batch::{Batch, Batcher};
use crate::config::{Compression, Config, Protocol};
use crate::envelope::RequestSink;
use crate::log::Logger;
use crate::retry::{Attempt, Backoff, CircuitBreaker, Decision, RetryPolicy, Timing};
use crate::stats::{DropReason, Stats};

/// `Content-Type` of OTLP/HTTP protobuf.
pub const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";
/// `Content-Type` of OTLP/HTTP JSON.
pub const CONTENT_TYPE_JSON: &str = "application/json";

// ---------------------------------------------------------------------------
// The request body.

/// A prepared request body and its headers.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    /// The bytes to send.
    pub bytes: &'a [u8],
    /// `application/x-protobuf` or `application/json`.
    pub content_type: &'static str,
    /// `Some("gzip")` when compressed.
    pub content_encoding: Option<&'static str>,
}

/// The buffers a batch is framed into, reused from batch to batch: the
/// protobuf request, its OTLP/JSON form (`http/json` only), and the gzip
/// output with one reused compressor.
pub struct RequestBuffers {
    request: Vec<u8>,
    json: Vec<u8>,
    gzip: Vec<u8>,
    deflate: Compress,
    /// Which buffer holds the last prepared body.
    last: Option<(Which, &'static str, Option<&'static str>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Request,
    Json,
    Gzip,
}

impl std::fmt::Debug for RequestBuffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuffers")
            .field("request", &self.request.len())
            .field("json", &self.json.len())
            .field("gzip", &self.gzip.len())
            .finish_non_exhaustive()
    }
}

impl RequestBuffers {
    /// Empty buffers; `capacity` bytes are reserved for the protobuf request.
    pub fn new(capacity: usize) -> Self {
        RequestBuffers {
            request: Vec::with_capacity(capacity),
            json: Vec::new(),
            gzip: Vec::new(),
            deflate: Compress::new_gzip(Level::fast(), 15),
            last: None,
        }
    }

    /// Frames `batch` into a request body as `protocol` and `compression`
    /// say. Gzip of protobuf streams straight from the batch block into the
    /// compressor. The batch is not released. `Err` only when the OTLP/JSON
    /// transcoding fails (our own bytes always transcode; counted if not).
    pub fn prepare(
        &mut self,
        batcher: &Batcher,
        batch: &Batch,
        protocol: Protocol,
        compression: Compression,
    ) -> Result<Body<'_>, String> {
        self.last = None;
        let gzip = compression == Compression::Gzip;
        let which = if protocol == Protocol::HttpJson {
            self.request.clear();
            batcher.write_request(batch, &mut self.request);
            self.json.clear();
            crate::json::request_to_json(&self.request, &mut self.json)
                .map_err(|e| format!("cannot write OTLP/JSON: {e}"))?;
            if gzip {
                let mut sink = GzipSink::new(&mut self.deflate, &mut self.gzip);
                sink.put(&self.json);
                sink.finish();
                Which::Gzip
            } else {
                Which::Json
            }
        } else if gzip {
            let mut sink = GzipSink::new(&mut self.deflate, &mut self.gzip);
            batcher.write_request_to(batch, &mut sink);
            sink.finish();
            Which::Gzip
        } else {
            self.request.clear();
            batcher.write_request(batch, &mut self.request);
            Which::Request
        };
        let content_type = if protocol == Protocol::HttpJson {
            CONTENT_TYPE_JSON
        } else {
            CONTENT_TYPE_PROTOBUF
        };
        self.last = Some((which, content_type, gzip.then_some("gzip")));
        self.body().ok_or_else(|| "no body".to_string())
    }

    /// The last prepared body (`None` before the first, or after a failed `prepare`).
    pub fn body(&self) -> Option<Body<'_>> {
        let (which, content_type, content_encoding) = self.last?;
        let bytes = match which {
            Which::Request => &self.request,
            Which::Json => &self.json,
            Which::Gzip => &self.gzip,
        };
        Some(Body {
            bytes,
            content_type,
            content_encoding,
        })
    }

    /// Bytes held by the buffers (for a memory bound).
    pub fn capacity(&self) -> usize {
        self.request.capacity() + self.json.capacity() + self.gzip.capacity()
    }
}

/// Feeds a request into the gzip compressor (zlib-rs writes the gzip header
/// and trailer, folding the CRC into its pass), straight from the batch
/// block, so a compressed export never copies the batch into a request
/// buffer first. Small pieces (the framing) are gathered before they reach
/// the compressor.
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

// ---------------------------------------------------------------------------
// The delivery state machine.

/// What the caller does next for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Send the request now; it may take at most `timeout`. Then call
    /// [`Delivery::after_attempt`].
    Send {
        /// Per-request timeout: `min(OTEL_EXPORTER_OTLP_TIMEOUT, time left)`.
        timeout: Duration,
    },
    /// Wait until the monotonic reading `until`, then call
    /// [`Delivery::before_attempt`]. Wake early when a shutdown begins (after
    /// telling the delivery with [`Delivery::shutdown`]).
    Wait {
        /// When to come back.
        until: Duration,
    },
    /// The batch is finished; every span is exported or counted as dropped.
    Done(Delivered),
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivered {
    /// Spans the receiver took.
    pub exported: u64,
    /// Spans dropped (rejected by the receiver, or the whole batch).
    pub dropped: u64,
    /// The reason of the drop, when any span was dropped.
    pub reason: Option<DropReason>,
}

/// What a delivery touches besides itself, borrowed per call.
pub struct Env<'a> {
    /// The counters to update.
    pub stats: &'a Stats,
    /// Where warnings and errors go.
    pub logger: &'a Logger,
}

/// The exporter-lifetime part of delivery: retry policy (one jitter
/// sequence per batch), circuit breaker and timeouts.
#[derive(Debug, Clone)]
pub struct Deliverer {
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    export_timeout: Duration,
    request_timeout: Duration,
    target: String,
}

impl Deliverer {
    /// For `config`, with jitter seeded by `seed`; `target` names the
    /// receiver in logs (no secrets).
    pub fn new(config: &Config, seed: u64, target: impl Into<String>) -> Self {
        let retry = config.retry();
        Deliverer {
            policy: RetryPolicy::new(retry, seed),
            breaker: CircuitBreaker::for_config(&retry),
            export_timeout: config.export_timeout(),
            request_timeout: config.timeout(),
            target: target.into(),
        }
    }

    /// The circuit breaker.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Starts delivering a batch of `spans` spans at monotonic `now`, with
    /// the export timeout (`OTEL_BSP_EXPORT_TIMEOUT`) as its deadline. Counts
    /// the batch.
    pub fn begin(&mut self, spans: u64, now: Duration, env: &Env<'_>) -> Delivery {
        env.stats.add_batch();
        Delivery {
            spans,
            started: now,
            deadline: now.saturating_add(self.export_timeout),
            by_shutdown: false,
            shutdown_requested: false,
            backoff: self.policy.backoff(),
            state: State::Start,
            gated: false,
        }
    }
}

#[derive(Debug, Clone)]
enum State {
    /// Before the first attempt: the circuit breaker decides.
    Start,
    /// Waiting for the circuit breaker's cool-down before the first attempt.
    BreakerWait { until: Duration },
    /// Ready to attempt (first attempt allowed, or a retry's wait is over).
    Ready,
    /// A request is out; `after_attempt` comes next.
    Sending,
    /// Waiting before a retry; `error` is why the last attempt failed.
    RetryWait { until: Duration, error: String },
    /// Finished.
    Done(Delivered),
}

/// One batch on its way: deadline, backoff and where it stands.
#[derive(Debug, Clone)]
pub struct Delivery {
    spans: u64,
    started: Duration,
    deadline: Duration,
    /// The deadline is a shutdown's.
    by_shutdown: bool,
    /// A shutdown has begun (its deadline may be later than the batch's).
    shutdown_requested: bool,
    backoff: Backoff,
    state: State,
    /// The circuit breaker let this batch through: it must hear how it ended.
    gated: bool,
}

impl Delivery {
    /// Spans in the batch.
    pub fn spans(&self) -> u64 {
        self.spans
    }

    /// The batch's deadline (monotonic).
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// True once the batch is finished.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// A shutdown with monotonic `deadline` has begun: the batch must be done
    /// by then. Spans it cannot deliver in time are dropped as `shutdown`.
    pub fn shutdown(&mut self, deadline: Duration) {
        self.shutdown_requested = true;
        if deadline < self.deadline {
            self.deadline = deadline;
            self.by_shutdown = true;
        }
    }

    fn reason_at_deadline(&self) -> DropReason {
        if self.by_shutdown {
            DropReason::Shutdown
        } else {
            DropReason::ExportFailed
        }
    }

    /// What to do at monotonic `now`: send, wait, or nothing more (done).
    pub fn before_attempt(&mut self, now: Duration, d: &mut Deliverer, env: &Env<'_>) -> Next {
        loop {
            match std::mem::replace(&mut self.state, State::Ready) {
                State::Done(out) => {
                    self.state = State::Done(out);
                    return Next::Done(out);
                }
                State::Sending => {
                    // A second call without a result: treat the attempt as lost in transit.
                    self.state = State::Sending;
                    return Next::Send {
                        timeout: d.request_timeout.min(self.deadline.saturating_sub(now)),
                    };
                }
                State::Start => {
                    // The circuit breaker: no attempts after repeated failed batches.
                    if d.breaker.allow(now) {
                        self.gated = true;
                        self.state = State::Ready;
                        continue;
                    }
                    let wait = d.breaker.open_for(now).unwrap_or(Duration::ZERO);
                    self.state = State::BreakerWait {
                        until: now.saturating_add(wait),
                    };
                }
                State::BreakerWait { until } => {
                    if until >= self.deadline {
                        return self.drop_all(
                            DropReason::CircuitOpen,
                            "the circuit breaker is open after repeated export failures",
                            now,
                            d,
                            env,
                        );
                    }
                    if now < until {
                        self.state = State::BreakerWait { until };
                        return Next::Wait { until };
                    }
                    self.state = State::Start;
                }
                State::RetryWait { until, error } => {
                    if until >= self.deadline {
                        let reason = if self.shutdown_requested {
                            DropReason::Shutdown
                        } else {
                            self.reason_at_deadline()
                        };
                        let msg = format!("{error}; the export deadline passed before the next retry");
                        return self.drop_all(reason, &msg, now, d, env);
                    }
                    if now < until {
                        self.state = State::RetryWait { until, error };
                        return Next::Wait { until };
                    }
                    self.state = State::Ready;
                }
                State::Ready => {
                    if now >= self.deadline {
                        return self.drop_all(self.reason_at_deadline(), "the export deadline passed", now, d, env);
                    }
                    self.state = State::Sending;
                    return Next::Send {
                        timeout: d.request_timeout.min(self.deadline - now),
                    };
                }
            }
        }
    }

    /// The attempt finished at monotonic `now` (wall clock `wall`, for an
    /// HTTP-date `Retry-After` and the last-success time). Counts the
    /// request and decides: done, or wait (then call `before_attempt`).
    pub fn after_attempt(
        &mut self,
        attempt: &Attempt<'_>,
        now: Duration,
        wall: SystemTime,
        d: &mut Deliverer,
        env: &Env<'_>,
    ) -> Next {
        if let State::Done(out) = self.state {
            return Next::Done(out);
        }
        let n = self.spans;
        let stats = env.stats;
        let decision = self.backoff.decide(
            attempt,
            Timing {
                now: wall,
                elapsed: now.saturating_sub(self.started),
                deadline_remaining: self.deadline.saturating_sub(now),
            },
        );
        stats.add_request(decision.outcome(), attempt.http_status());
        match decision {
            Decision::Success { rejected, message } => {
                let rejected = rejected.min(n);
                stats.add_exported(n - rejected);
                stats.set_last_success(unix_nanos(wall));
                d.breaker.on_success();
                self.gated = false;
                if rejected > 0 {
                    stats.add_dropped(DropReason::Rejected, rejected);
                }
                if rejected > 0 || message.is_some() {
                    let text = format!(
                        "partial success: {rejected} of {n} spans rejected: {}",
                        message.as_deref().unwrap_or("(no message)")
                    );
                    stats.set_last_error(text.clone());
                    env.logger.warn(&text);
                }
                let out = Delivered {
                    exported: n - rejected,
                    dropped: rejected,
                    reason: (rejected > 0).then_some(DropReason::Rejected),
                };
                self.state = State::Done(out);
                Next::Done(out)
            }
            Decision::RetryAfter { delay, error } => {
                stats.add_retry();
                stats.set_last_error(error.clone());
                env.logger.warn(&format!(
                    "export of {n} spans to {} failed, retrying in {}.{}s: {error}",
                    d.target,
                    delay.as_secs(),
                    delay.subsec_millis() / 100
                ));
                self.state = State::RetryWait {
                    until: now.saturating_add(delay),
                    error,
                };
                self.before_attempt(now, d, env)
            }
            Decision::GiveUp { reason, error, .. } => self.drop_all(reason, &error, now, d, env),
        }
    }

    fn drop_all(&mut self, reason: DropReason, error: &str, now: Duration, d: &mut Deliverer, env: &Env<'_>) -> Next {
        let n = self.spans;
        env.stats.add_dropped(reason, n);
        env.stats.set_last_error(error);
        env.logger.error(&format!("{n} spans dropped ({reason}): {error}"));
        // Every batch the breaker let through reports how it ended, so a
        // half-open trial never stays in flight.
        if self.gated {
            self.gated = false;
            if d.breaker.on_failure(now) {
                env.stats.add_circuit_opened();
                env.logger
                    .warn("circuit breaker opened: pausing exports after repeated failures");
            }
        }
        let out = Delivered {
            exported: 0,
            dropped: n,
            reason: Some(reason),
        };
        self.state = State::Done(out);
        Next::Done(out)
    }

    /// Drops the batch now (the host gave up on it, e.g. the page is gone).
    pub fn abandon(
        &mut self,
        reason: DropReason,
        error: &str,
        now: Duration,
        d: &mut Deliverer,
        env: &Env<'_>,
    ) -> Next {
        if let State::Done(out) = self.state {
            return Next::Done(out);
        }
        self.drop_all(reason, error, now, d, env)
    }
}

/// Drops a whole batch outside a delivery (a batch taken after the shutdown
/// deadline, a body that could not be prepared): counted and logged.
pub fn drop_batch(spans: u64, reason: DropReason, error: &str, env: &Env<'_>, log: bool) {
    env.stats.add_dropped(reason, spans);
    if !error.is_empty() {
        env.stats.set_last_error(error);
        if log {
            env.logger.error(&format!("{spans} spans dropped ({reason}): {error}"));
        }
    }
}

/// `wall` as unix nanoseconds (0 before the epoch).
pub fn unix_nanos(wall: SystemTime) -> u64 {
    wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryConfig;
    use std::sync::{Arc, Mutex};

    fn config(retry: RetryConfig, export_timeout: Duration) -> Config {
        let (c, w) = Config::builder()
            .retry(retry)
            .export_timeout(export_timeout)
            .build_from_lookup(|_| None);
        assert!(w.is_empty(), "{w:?}");
        c
    }

    fn fast_retry() -> RetryConfig {
        RetryConfig {
            enabled: true,
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(100),
            max_elapsed_time: Duration::from_secs(5),
        }
    }

    const MS: Duration = Duration::from_millis(1);
    const WALL: SystemTime = UNIX_EPOCH;

    fn ok() -> Attempt<'static> {
        Attempt::Response {
            status: 200,
            retry_after: None,
            body: &[],
        }
    }

    #[test]
    fn success_first_time() {
        let cfg = config(fast_retry(), Duration::from_secs(30));
        let stats = Stats::new();
        let logger = Logger::silent();
        let env = Env {
            stats: &stats,
            logger: &logger,
        };
        let mut d = Deliverer::new(&cfg, 1, "test");
        let mut b = d.begin(3, Duration::ZERO, &env);
        assert_eq!(
            b.before_attempt(Duration::ZERO, &mut d, &env),
            Next::Send { timeout: cfg.timeout() }
        );
        let next = b.after_attempt(&ok(), MS, WALL, &mut d, &env);
        assert!(matches!(
            next,
            Next::Done(Delivered {
                exported: 3,
                dropped: 0,
                ..
            })
        ));
        let s = stats.snapshot();
        assert_eq!((s.exported, s.batches, s.requests[0]), (3, 1, 1));
    }

    #[test]
    fn retry_after_is_honoured_then_success() {
        let cfg = config(fast_retry(), Duration::from_secs(30));
        let stats = Stats::new();
        let logger = Logger::silent();
        let env = Env {
            stats: &stats,
            logger: &logger,
        };
        let mut d = Deliverer::new(&cfg, 1, "test");
        let mut b = d.begin(2, Duration::ZERO, &env);
        assert!(matches!(
            b.before_attempt(Duration::ZERO, &mut d, &env),
            Next::Send { .. }
        ));
        let throttled = Attempt::Response {
            status: 503,
            retry_after: Some("2"),
            body: &[],
        };
        let Next::Wait { until } = b.after_attempt(&throttled, MS, WALL, &mut d, &env) else {
            panic!("expected a wait");
        };
        assert!(until >= Duration::from_secs(2) + MS);
        // Too early: wait again.
        assert_eq!(b.before_attempt(MS * 5, &mut d, &env), Next::Wait { until });
        assert!(matches!(b.before_attempt(until, &mut d, &env), Next::Send { .. }));
        assert!(matches!(
            b.after_attempt(&ok(), until + MS, WALL, &mut d, &env),
            Next::Done(Delivered { exported: 2, .. })
        ));
        assert_eq!(stats.snapshot().retries, 1);
    }

    #[test]
    fn shutdown_during_retry_wait_drops_as_shutdown() {
        let cfg = config(fast_retry(), Duration::from_secs(30));
        let stats = Stats::new();
        let logger = Logger::silent();
        let env = Env {
            stats: &stats,
            logger: &logger,
        };
        let mut d = Deliverer::new(&cfg, 1, "test");
        let mut b = d.begin(4, Duration::ZERO, &env);
        b.before_attempt(Duration::ZERO, &mut d, &env);
        let throttled = Attempt::Response {
            status: 429,
            retry_after: Some("3"),
            body: &[],
        };
        assert!(matches!(
            b.after_attempt(&throttled, MS, WALL, &mut d, &env),
            Next::Wait { .. }
        ));
        b.shutdown(Duration::from_secs(1));
        let next = b.before_attempt(MS * 2, &mut d, &env);
        assert!(matches!(
            next,
            Next::Done(Delivered {
                dropped: 4,
                reason: Some(DropReason::Shutdown),
                ..
            })
        ));
        assert_eq!(stats.snapshot().dropped_for(DropReason::Shutdown), 4);
    }

    #[test]
    fn breaker_opens_and_half_open_trial_never_wedges() {
        let retry = RetryConfig {
            enabled: false,
            ..fast_retry()
        };
        let cfg = config(retry, Duration::from_secs(30));
        let stats = Stats::new();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let l = logs.clone();
        let logger = Logger::new(
            Arc::new(move |_, m: &str| l.lock().unwrap().push(m.to_string())),
            crate::log::Level::Warn,
        );
        let env = Env {
            stats: &stats,
            logger: &logger,
        };
        let mut d = Deliverer::new(&cfg, 1, "test");
        let fail = Attempt::Response {
            status: 500,
            retry_after: None,
            body: &[],
        };
        let mut now = Duration::ZERO;
        for _ in 0..5 {
            let mut b = d.begin(1, now, &env);
            assert!(matches!(b.before_attempt(now, &mut d, &env), Next::Send { .. }));
            assert!(matches!(b.after_attempt(&fail, now, WALL, &mut d, &env), Next::Done(_)));
        }
        assert_eq!(stats.snapshot().circuit_opened, 1);
        // Open: the next batch waits for the cool-down (100 ms < 30 s deadline).
        let mut b = d.begin(1, now, &env);
        let Next::Wait { until } = b.before_attempt(now, &mut d, &env) else {
            panic!("expected a wait for the breaker");
        };
        now = until;
        assert!(matches!(b.before_attempt(now, &mut d, &env), Next::Send { .. }));
        // The half-open trial fails with a retryable status, then times out at the deadline.
        let Next::Done(out) = b.abandon(DropReason::ExportFailed, "gone", now, &mut d, &env) else {
            panic!("expected done");
        };
        assert_eq!(out.reason, Some(DropReason::ExportFailed));
        // The breaker heard about it: open again, not wedged half-open.
        assert!(d.breaker().open_for(now).is_some());
        assert!(logs
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("circuit breaker opened")));
    }

    #[test]
    fn circuit_open_when_cool_down_passes_the_deadline() {
        let retry = RetryConfig {
            enabled: false,
            max_interval: Duration::from_secs(5),
            ..fast_retry()
        };
        let cfg = config(retry, Duration::from_secs(1));
        let stats = Stats::new();
        let logger = Logger::silent();
        let env = Env {
            stats: &stats,
            logger: &logger,
        };
        let mut d = Deliverer::new(&cfg, 1, "test");
        let fail = Attempt::ConnectError("refused");
        for _ in 0..5 {
            let mut b = d.begin(1, Duration::ZERO, &env);
            b.before_attempt(Duration::ZERO, &mut d, &env);
            b.after_attempt(&fail, Duration::ZERO, WALL, &mut d, &env);
        }
        let mut b = d.begin(1, Duration::ZERO, &env);
        assert!(matches!(
            b.before_attempt(Duration::ZERO, &mut d, &env),
            Next::Done(Delivered {
                reason: Some(DropReason::CircuitOpen),
                ..
            })
        ));
        let s = stats.snapshot();
        assert_eq!(s.dropped_for(DropReason::ExportFailed), 5);
        assert_eq!(s.dropped_for(DropReason::CircuitOpen), 1);
    }
}
