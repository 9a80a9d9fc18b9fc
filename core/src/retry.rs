//! The retry policy: given the result of one export attempt, decide whether
//! the batch was delivered, should be retried after some delay, or must be
//! given up (and under which drop reason); plus the circuit breaker that stops
//! batches from being attempted back to back while the receiver is down.
//!
//! Owns: the OTLP/HTTP classification of responses (opentelemetry-proto
//! `docs/specification.md`, "OTLP/HTTP Response"), the exponential backoff
//! with jitter of the Go SDK (`otlptracehttp/internal/retry` over
//! `cenkalti/backoff`'s `ExponentialBackOff`), `Retry-After` parsing
//! (delta-seconds and the three HTTP-date forms of RFC 9110 §5.6.7), and the
//! minimal protobuf reading of `ExportTraceServiceResponse` and
//! `google.rpc.Status` response bodies.
//!
//! Must not: open sockets, sleep, read a clock or panic on any input. Every
//! instant is passed in by the caller, so the native exporter thread and the
//! wasm host driver (which has no `Instant`) make the same decisions, and the
//! tests are deterministic. Monotonic readings are plain `Duration`s since an
//! origin the caller chooses (`origin.elapsed()` natively, `performance.now()`
//! in a browser), because `std::time::Instant` cannot be created on
//! `wasm32-unknown-unknown`.

use crate::stats::{DropReason, RequestOutcome};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A duration for messages: `250ms`, `1.5s`, `60.0s` (Display, not `Debug`,
/// whose float formatting the wasm module does not carry).
struct Dur(Duration);

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (secs, ms) = (self.0.as_secs(), self.0.subsec_millis());
        if secs == 0 {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{secs}.{}s", ms / 100)
        }
    }
}

/// Go SDK default: wait after the first failure.
pub const DEFAULT_INITIAL_INTERVAL: Duration = Duration::from_secs(5);
/// Go SDK default: upper bound of the (pre-jitter) backoff interval.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Go SDK default: total time spent on one batch, retries included.
pub const DEFAULT_MAX_ELAPSED_TIME: Duration = Duration::from_secs(60);
/// `backoff.DefaultRandomizationFactor`: a delay is drawn from `[i - 0.5 i, i + 0.5 i]`.
pub const RANDOMIZATION_FACTOR: f64 = 0.5;
/// `backoff.DefaultMultiplier`: growth of the interval per retry.
pub const MULTIPLIER: f64 = 1.5;
/// Consecutive failed batches that open the circuit breaker.
pub const DEFAULT_BREAKER_THRESHOLD: u32 = 5;
/// Longest non-protobuf error body quoted in an error message, in bytes.
pub const MAX_BODY_SNIPPET: usize = 256;
/// Longest server-supplied message (`Status.message`, `partial_success.error_message`) kept, in bytes.
pub const MAX_SERVER_MESSAGE: usize = 1024;

/// How failed exports are retried. Defaults are the Go SDK's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retry retryable failures at all. When false the first failure gives up.
    pub enabled: bool,
    /// Wait after the first failure (before jitter).
    pub initial_interval: Duration,
    /// Cap of the backoff interval (before jitter, so a wait can reach 1.5× this).
    pub max_interval: Duration,
    /// Give up when the next retry would start later than this after the first
    /// attempt began. Zero means no limit (the caller's deadline still applies).
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            enabled: true,
            initial_interval: DEFAULT_INITIAL_INTERVAL,
            max_interval: DEFAULT_MAX_INTERVAL,
            max_elapsed_time: DEFAULT_MAX_ELAPSED_TIME,
        }
    }
}

/// What happened to one export request, as the transport saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// The receiver answered.
    Response {
        /// HTTP status code.
        status: u16,
        /// The raw `Retry-After` header value, if present.
        retry_after: Option<&'a str>,
        /// The (decompressed) response body.
        body: &'a [u8],
    },
    /// Could not connect, or the connection broke before a response (retryable).
    ConnectError(&'a str),
    /// The request did not complete within its timeout (retryable).
    Timeout,
    /// Any other local failure: TLS setup, invalid URL, ... (permanent).
    OtherError(&'a str),
}

impl Attempt<'_> {
    /// The request counter this attempt belongs to.
    pub fn outcome(&self) -> RequestOutcome {
        match *self {
            Attempt::Response { status, .. } if is_success(status) => RequestOutcome::Success,
            Attempt::Response { status, .. } if is_retryable_status(status) => RequestOutcome::Retryable,
            Attempt::ConnectError(_) | Attempt::Timeout => RequestOutcome::Retryable,
            Attempt::Response { .. } | Attempt::OtherError(_) => RequestOutcome::Permanent,
        }
    }

    /// The HTTP status, when the receiver answered.
    pub fn http_status(&self) -> Option<u16> {
        match *self {
            Attempt::Response { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// True for 2xx.
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The OTLP/HTTP retryable statuses: 429, 502, 503, 504. Every other
/// non-2xx status MUST NOT be retried.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// One attempt, classified without any retry state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// 2xx: the batch was delivered, minus `rejected` spans.
    Success {
        /// `partial_success.rejected_spans` (negative values read as 0).
        rejected: u64,
        /// `partial_success.error_message`, or a note that the body was not understood.
        message: Option<String>,
    },
    /// Worth retrying; `throttle` is the server's `Retry-After`, if it gave a valid one.
    Retryable {
        /// Minimum wait the server asked for.
        throttle: Option<Duration>,
        /// Description for the log and the last error.
        error: String,
    },
    /// Must not be retried.
    Permanent {
        /// `Rejected` for 4xx, `ExportFailed` otherwise.
        reason: DropReason,
        /// Description for the log and the last error.
        error: String,
    },
}

/// Classify one attempt per the OTLP/HTTP specification. `now` is only used to
/// turn an HTTP-date `Retry-After` into a delay.
pub fn classify(attempt: &Attempt<'_>, now: SystemTime) -> Classification {
    match *attempt {
        Attempt::Response { status, body, .. } if is_success(status) => success(body),
        Attempt::Response {
            status,
            retry_after,
            body,
        } => {
            let error = describe_failure(status, body);
            if is_retryable_status(status) {
                let throttle = retry_after.and_then(|v| parse_retry_after(v, now));
                Classification::Retryable { throttle, error }
            } else {
                let reason = if (400..500).contains(&status) {
                    DropReason::Rejected
                } else {
                    DropReason::ExportFailed
                };
                Classification::Permanent { reason, error }
            }
        }
        Attempt::ConnectError(e) => Classification::Retryable {
            throttle: None,
            error: format!("connection failed: {}", bounded(e, MAX_SERVER_MESSAGE)),
        },
        Attempt::Timeout => Classification::Retryable {
            throttle: None,
            error: "request timed out".to_string(),
        },
        Attempt::OtherError(e) => Classification::Permanent {
            reason: DropReason::ExportFailed,
            error: format!("export failed: {}", bounded(e, MAX_SERVER_MESSAGE)),
        },
    }
}

fn success(body: &[u8]) -> Classification {
    match decode_partial_success(body) {
        Some((rejected, msg)) => Classification::Success {
            rejected: u64::try_from(rejected).unwrap_or(0),
            message: (!msg.is_empty()).then(|| bounded(&msg, MAX_SERVER_MESSAGE)),
        },
        // The spans were accepted (2xx); only the response is odd. Go returns an
        // error here, but counting delivered spans as lost would be wrong.
        None => Classification::Success {
            rejected: 0,
            message: Some(format!(
                "success response body ({} bytes) is not an ExportTraceServiceResponse",
                body.len()
            )),
        },
    }
}

fn describe_failure(status: u16, body: &[u8]) -> String {
    match decode_status(body) {
        Some((code, msg)) if !msg.is_empty() => {
            let msg = bounded(&msg, MAX_SERVER_MESSAGE);
            if code != 0 {
                format!("HTTP {status} (rpc code {code}): {msg}")
            } else {
                format!("HTTP {status}: {msg}")
            }
        }
        Some((code, _)) if code != 0 => format!("HTTP {status} (rpc code {code})"),
        // Plain text can happen to parse as unknown protobuf fields ("xxx...").
        Some(_) if !looks_like_text(body) => format!("HTTP {status}"),
        _ => format!("HTTP {status}: {}", body_snippet(body)),
    }
}

/// Non-empty UTF-8 without control characters other than whitespace.
fn looks_like_text(body: &[u8]) -> bool {
    !body.is_empty()
        && std::str::from_utf8(body).is_ok_and(|s| s.chars().all(|c| !c.is_control() || c.is_ascii_whitespace()))
}

/// A lossy, single-line, bounded view of a body that is not protobuf.
fn body_snippet(body: &[u8]) -> String {
    let cut = &body[..body.len().min(MAX_BODY_SNIPPET)];
    let mut s: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // A multi-byte character split by the cut becomes U+FFFD: harmless.
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
    if body.len() > MAX_BODY_SNIPPET {
        s.push('…');
    }
    s
}

/// `s` cut to at most `max` bytes on a character boundary.
fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or(""))
}

/// What the caller should do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Delivered. Count `rejected` spans as `DropReason::Rejected` and log `message`.
    Success {
        /// Spans the receiver refused (`partial_success.rejected_spans`).
        rejected: u64,
        /// The receiver's `partial_success.error_message`, or a decoding note.
        message: Option<String>,
    },
    /// Send the same request again after `delay`.
    RetryAfter {
        /// How long to wait (backoff with jitter, or `Retry-After` when larger).
        delay: Duration,
        /// Why this attempt failed, for the log and the last error.
        error: String,
    },
    /// Drop the batch.
    GiveUp {
        /// The drop reason to count the batch's spans under.
        reason: DropReason,
        /// The class of the last attempt (for the request counters).
        outcome: RequestOutcome,
        /// Why, for the log and the last error.
        error: String,
    },
}

impl Decision {
    /// The request counter the attempt that led to this decision belongs to.
    pub fn outcome(&self) -> RequestOutcome {
        match self {
            Decision::Success { .. } => RequestOutcome::Success,
            Decision::RetryAfter { .. } => RequestOutcome::Retryable,
            Decision::GiveUp { outcome, .. } => *outcome,
        }
    }
}

/// Time as seen by the caller when an attempt finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Wall clock, for an HTTP-date `Retry-After`.
    pub now: SystemTime,
    /// Time since the first attempt of this batch began.
    pub elapsed: Duration,
    /// Time left before the caller's deadline for the whole batch export
    /// (`OTEL_BSP_EXPORT_TIMEOUT`, retries included), or a shutdown's deadline.
    pub deadline_remaining: Duration,
}

/// Long-lived retry policy: the configuration and a seeded generator that
/// gives each batch its own jitter sequence.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    config: RetryConfig,
    rng: SplitMix64,
}

impl RetryPolicy {
    /// A policy whose jitter derives from `seed` (fixed in tests; from time or
    /// an address in production).
    pub fn new(config: RetryConfig, seed: u64) -> Self {
        RetryPolicy {
            config,
            rng: SplitMix64(seed),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// Fresh backoff state for one batch export.
    pub fn backoff(&mut self) -> Backoff {
        Backoff::new(self.config, self.rng.next_u64())
    }
}

/// Per-batch retry state: the current backoff interval, the jitter generator
/// and the number of retries granted so far.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: RetryConfig,
    current: Duration,
    rng: SplitMix64,
    retries: u32,
}

impl Backoff {
    /// State before the first attempt.
    pub fn new(config: RetryConfig, seed: u64) -> Self {
        Backoff {
            config,
            current: config.initial_interval,
            rng: SplitMix64(seed),
            retries: 0,
        }
    }

    /// Retries granted so far (`RetryAfter` decisions).
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The next jittered backoff, as `ExponentialBackOff.NextBackOff`: a value
    /// in `[0.5 i, 1.5 i]` for the current interval `i`, which then grows ×1.5
    /// up to `max_interval`.
    pub fn next_backoff(&mut self) -> Duration {
        let cur = self.current.as_nanos() as f64;
        let delta = RANDOMIZATION_FACTOR * cur;
        let (lo, hi) = (cur - delta, cur + delta);
        // `+ 1` as in cenkalti/backoff, so the upper bound is reachable.
        let next = lo + self.rng.next_f64() * (hi - lo + 1.0);
        let max = self.config.max_interval;
        self.current = if cur >= max.as_nanos() as f64 / MULTIPLIER {
            max
        } else {
            Duration::from_nanos((cur * MULTIPLIER) as u64)
        };
        Duration::from_nanos(next as u64)
    }

    /// Decide what to do after `attempt`.
    ///
    /// Retryable failures wait `max(backoff, Retry-After)` (a backoff step is
    /// consumed even when `Retry-After` wins, as in Go). The batch is given up
    /// as `ExportFailed` when retries are disabled, when `elapsed` already
    /// exceeds `max_elapsed_time`, when `elapsed + delay` would exceed it (Go
    /// checks this only for the `Retry-After` part and may sleep past the
    /// budget; we do not), or when `delay` would reach the caller's deadline.
    pub fn decide(&mut self, attempt: &Attempt<'_>, timing: Timing) -> Decision {
        let (throttle, error) = match classify(attempt, timing.now) {
            Classification::Success { rejected, message } => return Decision::Success { rejected, message },
            Classification::Permanent { reason, error } => {
                return Decision::GiveUp {
                    reason,
                    outcome: RequestOutcome::Permanent,
                    error,
                }
            }
            Classification::Retryable { throttle, error } => (throttle, error),
        };
        let give_up = |why: String| Decision::GiveUp {
            reason: DropReason::ExportFailed,
            outcome: RequestOutcome::Retryable,
            error: format!("{error}; giving up: {why}"),
        };
        if !self.config.enabled {
            return give_up("retries are disabled".to_string());
        }
        let max = self.config.max_elapsed_time;
        if !max.is_zero() && timing.elapsed > max {
            return give_up(format!("max retry time {} elapsed", Dur(max)));
        }
        let backoff = self.next_backoff();
        let delay = throttle.map_or(backoff, |t| t.max(backoff));
        if !max.is_zero() && timing.elapsed.saturating_add(delay) > max {
            return give_up(format!(
                "a retry in {} would pass the max retry time {} ({} elapsed)",
                Dur(delay),
                Dur(max),
                Dur(timing.elapsed)
            ));
        }
        if delay >= timing.deadline_remaining {
            return give_up(format!(
                "a retry in {} would pass the export deadline ({} left)",
                Dur(delay),
                Dur(timing.deadline_remaining)
            ));
        }
        self.retries += 1;
        Decision::RetryAfter { delay, error }
    }
}

/// SplitMix64: tiny, seedable, good enough for jitter.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

// ---------------------------------------------------------------------------
// Circuit breaker

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Batches are attempted.
    Closed,
    /// Batches are not attempted until the monotonic reading `until`.
    Open {
        /// End of the cool-down.
        until: Duration,
    },
    /// Cool-down over: one trial batch is allowed.
    HalfOpen {
        /// The trial batch has been allowed and its result is pending.
        trial_in_flight: bool,
    },
}

/// Opens after `threshold` consecutive failed batches, stays open for a
/// cool-down, then lets one trial batch through: its success closes the
/// breaker, its failure opens it again. Times are monotonic readings (see the
/// module doc). A batch counts as failed when its export was given up.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    threshold: u32,
    cool_down: Duration,
    consecutive_failures: u32,
    state: BreakerState,
}

impl Default for CircuitBreaker {
    /// Five failures, 30 s cool-down.
    fn default() -> Self {
        CircuitBreaker::new(DEFAULT_BREAKER_THRESHOLD, DEFAULT_MAX_INTERVAL)
    }
}

impl CircuitBreaker {
    /// A breaker opening after `threshold` consecutive failures (0: never opens).
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        CircuitBreaker {
            threshold,
            cool_down,
            consecutive_failures: 0,
            state: BreakerState::Closed,
        }
    }

    /// The default threshold with the retry configuration's max interval as cool-down.
    pub fn for_config(config: &RetryConfig) -> Self {
        CircuitBreaker::new(DEFAULT_BREAKER_THRESHOLD, config.max_interval)
    }

    /// Current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Consecutive failed batches so far.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// May a batch be attempted at `now`? Moves an expired open breaker to
    /// half-open and hands out its single trial.
    pub fn allow(&mut self, now: Duration) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open { until } if now < until => false,
            BreakerState::Open { .. } | BreakerState::HalfOpen { trial_in_flight: false } => {
                self.state = BreakerState::HalfOpen { trial_in_flight: true };
                true
            }
            BreakerState::HalfOpen { trial_in_flight: true } => false,
        }
    }

    /// While open, the time left until a trial is allowed.
    pub fn open_for(&self, now: Duration) -> Option<Duration> {
        match self.state {
            BreakerState::Open { until } => Some(until.saturating_sub(now)),
            _ => None,
        }
    }

    /// A batch was delivered: close.
    pub fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.state = BreakerState::Closed;
    }

    /// A batch was given up at `now`. Returns true when this opened the breaker.
    pub fn on_failure(&mut self, now: Duration) -> bool {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let open = match self.state {
            BreakerState::HalfOpen { .. } => true,
            BreakerState::Closed => self.threshold != 0 && self.consecutive_failures >= self.threshold,
            BreakerState::Open { .. } => false,
        };
        if open {
            self.state = BreakerState::Open {
                until: now.saturating_add(self.cool_down),
            };
        }
        open
    }
}

// ---------------------------------------------------------------------------
// Retry-After and HTTP-date (RFC 9110 §10.2.3, §5.6.7)

/// The wait a `Retry-After` value asks for: delta-seconds (saturating) or an
/// HTTP-date relative to `now` (zero when in the past). `None` when invalid.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim_matches([' ', '\t']);
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let secs = v.bytes().fold(0u64, |acc, b| {
            acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        });
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v, now)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parse an HTTP-date in any of the forms recipients must accept:
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), obsolete RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`, two-digit year resolved against `now`
/// per RFC 9110) and asctime (`Sun Nov  6 08:49:37 1994`). Names are matched
/// case-insensitively; the weekday must be a valid name but is not checked
/// against the date.
pub fn parse_http_date(s: &str, now: SystemTime) -> Option<SystemTime> {
    let s = s.trim_matches([' ', '\t']);
    // `split_once(',')` then a space, not `split_once(", ")`: a str pattern
    // pulls the two-way searcher into the wasm module.
    let comma = s.split_once(',').and_then(|(w, r)| Some((w, r.strip_prefix(' ')?)));
    let (year, month, day, time) = if let Some((wday, rest)) = comma {
        if wday.len() == 3 {
            weekday(wday, false)?;
            let mut p = rest.split(' ');
            let (d, m, y, t, gmt) = (p.next()?, p.next()?, p.next()?, p.next()?, p.next()?);
            if p.next().is_some() || !gmt.eq_ignore_ascii_case("GMT") {
                return None;
            }
            (i64::from(digits(y, 4)?), month_number(m)?, digits(d, 2)?, t)
        } else {
            weekday(wday, true)?;
            let mut p = rest.split(' ');
            let (date, t, gmt) = (p.next()?, p.next()?, p.next()?);
            if p.next().is_some() || !gmt.eq_ignore_ascii_case("GMT") {
                return None;
            }
            let mut dp = date.split('-');
            let (d, m, y) = (dp.next()?, dp.next()?, dp.next()?);
            if dp.next().is_some() {
                return None;
            }
            (two_digit_year(digits(y, 2)?, now), month_number(m)?, digits(d, 2)?, t)
        }
    } else {
        // asctime: fixed columns "Www Mmm dd hh:mm:ss yyyy", day space-padded.
        let b = s.as_bytes();
        if b.len() != 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
            return None;
        }
        weekday(s.get(0..3)?, false)?;
        let d = s.get(8..10)?;
        let day = match d.strip_prefix(' ') {
            Some(one) => digits(one, 1)?,
            None => digits(d, 2)?,
        };
        (
            i64::from(digits(s.get(20..24)?, 4)?),
            month_number(s.get(4..7)?)?,
            day,
            s.get(11..19)?,
        )
    };
    let (hh, mm, ss) = clock_time(time)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + i64::from(hh * 3600 + mm * 60 + ss);
    match u64::try_from(secs) {
        Ok(s) => UNIX_EPOCH.checked_add(Duration::from_secs(s)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs())),
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn weekday(name: &str, long: bool) -> Option<()> {
    WEEKDAYS
        .iter()
        .any(|w| {
            let w = if long { Some(*w) } else { w.get(..3) };
            w.is_some_and(|w| w.eq_ignore_ascii_case(name))
        })
        .then_some(())
}

fn month_number(name: &str) -> Option<u32> {
    let i = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))?;
    u32::try_from(i + 1).ok()
}

/// Exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')))
}

/// `hh:mm:ss`, second 60 allowed (leap second).
fn clock_time(t: &str) -> Option<(u32, u32, u32)> {
    let mut p = t.split(':');
    let (h, m, s) = (digits(p.next()?, 2)?, digits(p.next()?, 2)?, digits(p.next()?, 2)?);
    (p.next().is_none() && h < 24 && m < 60 && s <= 60).then_some((h, m, s))
}

/// RFC 9110: a two-digit year that appears more than 50 years in the future is
/// the most recent past year with those digits.
fn two_digit_year(yy: u32, now: SystemTime) -> i64 {
    let now_secs = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX / 2),
    };
    let this_year = year_of_days(now_secs.div_euclid(86_400));
    let mut year = this_year - this_year.rem_euclid(100) + i64::from(yy);
    if year > this_year + 50 {
        year -= 100;
    } else if year + 100 <= this_year + 50 {
        year += 100;
    }
    year
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Gregorian year containing day `days` since 1970-01-01.
fn year_of_days(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    yoe + era * 400 + i64::from(mp >= 10)
}

// ---------------------------------------------------------------------------
// Protobuf reading of the two response messages

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if i == 9 && b > 1 {
            return None; // more than 64 bits
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Walk the fields of one message; `None` on malformed input or when `f` refuses a field.
fn for_each_field<'a>(buf: &'a [u8], mut f: impl FnMut(u64, Field<'a>) -> Option<()>) -> Option<()> {
    let mut pos = 0;
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos)?;
        let number = key >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return None;
        }
        let field = match key & 7 {
            0 => Field::Varint(read_varint(buf, &mut pos)?),
            1 | 5 => {
                let end = pos.checked_add(if key & 7 == 1 { 8 } else { 4 })?;
                buf.get(pos..end)?;
                pos = end;
                Field::Fixed
            }
            2 => {
                let len = usize::try_from(read_varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                let bytes = buf.get(pos..end)?;
                pos = end;
                Field::Bytes(bytes)
            }
            _ => return None, // groups (3, 4) and invalid wire types
        };
        f(number, field)?;
    }
    Some(())
}

/// `ExportTraceServiceResponse` → `(rejected_spans, error_message)` (defaults when absent).
fn decode_partial_success(body: &[u8]) -> Option<(i64, String)> {
    let (mut rejected, mut message) = (0i64, String::new());
    for_each_field(body, |n, field| match (n, field) {
        // Repeated occurrences of an embedded message merge, as in protobuf.
        (1, Field::Bytes(ps)) => for_each_field(ps, |n, field| match (n, field) {
            (1, Field::Varint(v)) => {
                rejected = v as i64;
                Some(())
            }
            (2, Field::Bytes(b)) => {
                message = std::str::from_utf8(b).ok()?.to_string();
                Some(())
            }
            (1 | 2, _) => None,
            _ => Some(()),
        }),
        (1, _) => None,
        _ => Some(()),
    })?;
    Some((rejected, message))
}

/// `google.rpc.Status` → `(code, message)`; `details` and unknown fields skipped.
fn decode_status(body: &[u8]) -> Option<(i32, String)> {
    let (mut code, mut message) = (0i32, String::new());
    for_each_field(body, |n, field| match (n, field) {
        (1, Field::Varint(v)) => {
            code = v as i32;
            Some(())
        }
        (2, Field::Bytes(b)) => {
            message = std::str::from_utf8(b).ok()?.to_string();
            Some(())
        }
        (3, Field::Bytes(_)) => Some(()),
        (1..=3, _) => None,
        _ => Some(()),
    })?;
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse};
    use prost::Message;

    /// google.rpc.Status and Any, as prost would generate them.
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
        #[prost(message, repeated, tag = "3")]
        details: Vec<Any>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct Any {
        #[prost(string, tag = "1")]
        type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        value: Vec<u8>,
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// 1994-11-06T08:49:37Z, the RFC's example.
    fn rfc_example() -> SystemTime {
        UNIX_EPOCH + S(784_111_777)
    }

    fn timing(elapsed: Duration) -> Timing {
        Timing {
            now: rfc_example(),
            elapsed,
            deadline_remaining: S(3600),
        }
    }

    fn resp<'a>(status: u16, retry_after: Option<&'a str>, body: &'a [u8]) -> Attempt<'a> {
        Attempt::Response {
            status,
            retry_after,
            body,
        }
    }

    fn status_body(code: i32, message: &str) -> Vec<u8> {
        RpcStatus {
            code,
            message: message.into(),
            details: vec![Any {
                type_url: "type.googleapis.com/google.rpc.BadRequest".into(),
                value: vec![1, 2, 3],
            }],
        }
        .encode_to_vec()
    }

    fn partial(rejected: i64, msg: &str) -> Vec<u8> {
        ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: msg.into(),
            }),
        }
        .encode_to_vec()
    }

    fn no_jitter(mut b: Backoff) -> Vec<Duration> {
        (0..8).map(|_| b.next_backoff()).collect()
    }

    // -- classification -----------------------------------------------------

    #[test]
    fn every_status_class() {
        let now = rfc_example();
        for status in [200, 201, 202, 204, 299] {
            assert!(matches!(
                classify(&resp(status, None, b""), now),
                Classification::Success {
                    rejected: 0,
                    message: None
                }
            ));
            assert_eq!(resp(status, None, b"").outcome(), RequestOutcome::Success);
        }
        for status in [429, 502, 503, 504] {
            assert!(matches!(
                classify(&resp(status, None, b""), now),
                Classification::Retryable { throttle: None, .. }
            ));
            assert_eq!(resp(status, None, b"").outcome(), RequestOutcome::Retryable);
        }
        for status in [400, 401, 403, 404, 405, 408, 413, 415, 499] {
            match classify(&resp(status, None, b""), now) {
                Classification::Permanent { reason, error } => {
                    assert_eq!(reason, DropReason::Rejected);
                    assert_eq!(error, format!("HTTP {status}"));
                }
                other => panic!("{status}: {other:?}"),
            }
            assert_eq!(resp(status, None, b"").outcome(), RequestOutcome::Permanent);
        }
        for status in [100, 301, 304, 500, 501, 505, 511, 599, 0, 999] {
            assert!(
                matches!(
                    classify(&resp(status, Some("1"), b""), now),
                    Classification::Permanent {
                        reason: DropReason::ExportFailed,
                        ..
                    }
                ),
                "{status}"
            );
        }
        assert!(matches!(
            classify(&Attempt::Timeout, now),
            Classification::Retryable { .. }
        ));
        assert!(
            matches!(classify(&Attempt::ConnectError("refused"), now), Classification::Retryable { error, .. } if error == "connection failed: refused")
        );
        assert!(matches!(
            classify(&Attempt::OtherError("bad tls"), now),
            Classification::Permanent {
                reason: DropReason::ExportFailed,
                ..
            }
        ));
        assert_eq!(Attempt::Timeout.outcome(), RequestOutcome::Retryable);
        assert_eq!(Attempt::OtherError("x").outcome(), RequestOutcome::Permanent);
        assert_eq!(Attempt::Timeout.http_status(), None);
        assert_eq!(resp(503, None, b"").http_status(), Some(503));
    }

    #[test]
    fn failure_messages_from_status_or_snippet() {
        let now = rfc_example();
        let err = |status, body: &[u8]| match classify(&resp(status, None, body), now) {
            Classification::Retryable { error, .. } | Classification::Permanent { error, .. } => error,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(400, &status_body(3, "bad span id")),
            "HTTP 400 (rpc code 3): bad span id"
        );
        assert_eq!(err(503, &status_body(0, "overloaded")), "HTTP 503: overloaded");
        assert_eq!(err(500, &status_body(13, "")), "HTTP 500 (rpc code 13)");
        assert_eq!(err(404, b"404 page not found\n"), "HTTP 404: 404 page not found");
        assert_eq!(
            err(502, b"<html>\r\nBad\tGateway</html>"),
            "HTTP 502: <html>  Bad Gateway</html>"
        );
        assert_eq!(err(500, &[0x28, 0x01]), "HTTP 500"); // only unknown fields, not text
        let long = vec![b'x'; 1000];
        let e = err(500, &long);
        assert_eq!(e, format!("HTTP 500: {}…", "x".repeat(MAX_BODY_SNIPPET)));
        // Invalid UTF-8 inside a would-be Status: not a Status, lossy snippet.
        let e = err(400, &[0x12, 0x02, 0xff, 0xfe]);
        assert!(e.starts_with("HTTP 400: "), "{e}");
        // A huge server message is bounded.
        let e = err(400, &status_body(0, &"é".repeat(2000)));
        assert!(e.len() < MAX_SERVER_MESSAGE + 20 && e.ends_with('…'), "{}", e.len());
    }

    #[test]
    fn partial_success_decoding() {
        let now = rfc_example();
        let ok = |body: &[u8]| match classify(&resp(200, None, body), now) {
            Classification::Success { rejected, message } => (rejected, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            ok(&partial(7, "7 spans had no name")),
            (7, Some("7 spans had no name".into()))
        );
        assert_eq!(
            ok(&partial(0, "warning: deprecated")),
            (0, Some("warning: deprecated".into()))
        );
        assert_eq!(ok(&partial(3, "")), (3, None));
        assert_eq!(ok(&partial(-5, "negative")), (0, Some("negative".into())));
        assert_eq!(ok(&partial(i64::MAX, "")), (i64::MAX as u64, None));
        assert_eq!(
            ok(&ExportTraceServiceResponse { partial_success: None }.encode_to_vec()),
            (0, None)
        );
        assert_eq!(ok(b""), (0, None));
        // Two partial_success occurrences merge (last value wins per field).
        let mut two = partial(1, "first");
        two.extend(partial(2, ""));
        assert_eq!(ok(&two), (2, Some("first".into())));
        // Unknown fields are skipped at both levels.
        let mut unknown = vec![0x10, 0x05, 0x1d, 1, 2, 3, 4]; // field 2 varint, field 3 fixed32
        unknown.extend(partial(4, "x"));
        assert_eq!(ok(&unknown), (4, Some("x".into())));
        assert_eq!(ok(&[0x0a, 0x04, 0x21, 0, 0, 0]), (0, Some(bounded_note(6))));
        // Malformed bodies: still a success (the spans were accepted), with a note.
        for body in [
            &b"{}"[..],
            &[0x0a, 0x05, 0x08][..],             // truncated message
            &[0x0a, 0x02, 0x12, 0x05][..],       // inner string overruns
            &[0x08, 0x01][..],                   // field 1 with the wrong wire type
            &[0x0a, 0x02, 0x12, 0x00, 0x00][..], // field number 0
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..], // varint too long
            &[0x0a, 0x03, 0x12, 0x01, 0xff][..], // invalid UTF-8 message
        ] {
            let (rejected, msg) = ok(body);
            assert_eq!(rejected, 0);
            assert!(
                msg.is_some_and(|m| m.contains("not an ExportTraceServiceResponse")),
                "{body:?}"
            );
        }
    }

    fn bounded_note(len: usize) -> String {
        format!("success response body ({len} bytes) is not an ExportTraceServiceResponse")
    }

    #[test]
    fn varints_match_prost() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX, 1 << 63] {
            let mut buf = Vec::new();
            prost::encoding::encode_varint(v, &mut buf);
            let mut pos = 0;
            assert_eq!(read_varint(&buf, &mut pos), Some(v));
            assert_eq!(pos, buf.len());
        }
        let mut pos = 0;
        assert_eq!(read_varint(&[0x80, 0x80], &mut pos), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = SplitMix64(0x5eed);
        let mut buf = Vec::new();
        let now = rfc_example();
        for i in 0..20_000 {
            buf.clear();
            let len = (rng.next_u64() % 64) as usize;
            buf.extend((0..len).map(|_| rng.next_u64() as u8));
            // Bias half the inputs toward plausible protobuf prefixes.
            if i % 2 == 0 && !buf.is_empty() {
                buf[0] = [0x0a, 0x08, 0x12, 0x1a][(i / 2) % 4];
            }
            for status in [200, 400, 503] {
                let _ = classify(&resp(status, std::str::from_utf8(&buf).ok(), &buf), now);
            }
            let text = String::from_utf8_lossy(&buf);
            let _ = parse_retry_after(&text, now);
            let _ = parse_http_date(&text, now);
        }
    }

    proptest::proptest! {
        #[test]
        fn partial_success_roundtrip(rejected in proptest::num::i64::ANY, msg in ".{0,40}") {
            let body = partial(rejected, &msg);
            proptest::prop_assert_eq!(decode_partial_success(&body), Some((rejected, msg)));
        }

        #[test]
        fn status_roundtrip(code in proptest::num::i32::ANY, msg in ".{0,40}") {
            proptest::prop_assert_eq!(decode_status(&status_body(code, &msg)), Some((code, msg)));
        }

        #[test]
        fn dates_never_panic(s in "\\PC{0,40}") {
            let _ = parse_http_date(&s, rfc_example());
            let _ = parse_retry_after(&s, rfc_example());
        }
    }

    // -- Retry-After and HTTP-date -----------------------------------------

    #[test]
    fn http_date_forms() {
        let now = rfc_example();
        let want = Some(rfc_example());
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", now), want);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now), want);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994", now), want);
        assert_eq!(parse_http_date("Sun Nov 06 08:49:37 1994", now), want);
        assert_eq!(parse_http_date(" sun, 06 nov 1994 08:49:37 gmt\t", now), want);
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", now), Some(UNIX_EPOCH));
        assert_eq!(
            parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT", now),
            UNIX_EPOCH.checked_sub(S(1))
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT", now),
            Some(UNIX_EPOCH + S(951_825_600))
        );
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:60 GMT", now),
            Some(UNIX_EPOCH + S(253_402_300_800))
        );
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Mon, 29 Feb 1900 00:00:00 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 06-Nov-94-1 08:49:37 GMT",
            "Sundae, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov é6 08:49:37 199",
            "1994-11-06T08:49:37Z",
        ] {
            assert_eq!(parse_http_date(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc850_two_digit_year_window() {
        // now = 2025-06-01
        let now = UNIX_EPOCH + S(1_748_736_000);
        let year = |s: &str| parse_http_date(s, now).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(year("Sunday, 01-Jan-75 00:00:00 GMT"), Some(days(2075, 1, 1)));
        assert_eq!(year("Sunday, 01-Jan-76 00:00:00 GMT"), Some(days(1976, 1, 1)));
        assert_eq!(year("Sunday, 01-Jan-25 00:00:00 GMT"), Some(days(2025, 1, 1)));
        assert_eq!(year("Sunday, 01-Jan-99 00:00:00 GMT"), Some(days(1999, 1, 1)));
        // now = 2090: "05" is 2105 (15 years ahead), not 2005.
        let later = UNIX_EPOCH + S(days(2090, 3, 1));
        assert_eq!(
            parse_http_date("Monday, 01-Jan-05 00:00:00 GMT", later),
            Some(UNIX_EPOCH + S(days(2105, 1, 1)))
        );
    }

    fn days(y: i64, m: u32, d: u32) -> u64 {
        (days_from_civil(y, m, d) * 86_400) as u64
    }

    #[test]
    fn civil_calendar_agrees_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for d in (-800_000i64..3_000_000).step_by(997) {
            let y = year_of_days(d);
            assert!(days_from_civil(y, 1, 1) <= d && d < days_from_civil(y + 1, 1, 1), "{d}");
        }
    }

    #[test]
    fn retry_after_values() {
        let now = rfc_example();
        assert_eq!(parse_retry_after("120", now), Some(S(120)));
        assert_eq!(parse_retry_after(" 0\t", now), Some(S(0)));
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(S(u64::MAX)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(S(30)));
        let now_frac = now + Duration::from_millis(250);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now_frac),
            Some(Duration::from_millis(29_750))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", " ", "-5", "+5", "1.5", "5s", "0x10", "soon", "Sun, 06 Nov 1994"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    // -- backoff -------------------------------------------------------------

    #[test]
    fn backoff_grows_by_1_5_with_half_jitter_and_caps() {
        let cfg = RetryConfig::default();
        // Pre-jitter intervals: 5, 7.5, 11.25, 16.875, 25.3125, 30, 30, ...
        let centers = [5.0, 7.5, 11.25, 16.875, 25.3125, 30.0, 30.0, 30.0];
        for seed in 0..200 {
            for (got, c) in no_jitter(Backoff::new(cfg, seed)).iter().zip(centers) {
                let g = got.as_secs_f64();
                assert!(g >= c * 0.5 && g <= c * 1.5 + 1e-9, "seed {seed}: {g} vs {c}");
            }
        }
        // Deterministic per seed, different across seeds.
        assert_eq!(no_jitter(Backoff::new(cfg, 42)), no_jitter(Backoff::new(cfg, 42)));
        assert_ne!(no_jitter(Backoff::new(cfg, 42)), no_jitter(Backoff::new(cfg, 43)));
        // The jitter spreads over the whole window.
        let firsts: Vec<f64> = (0..500)
            .map(|s| Backoff::new(cfg, s).next_backoff().as_secs_f64())
            .collect();
        assert!(firsts.iter().any(|&x| x < 3.0) && firsts.iter().any(|&x| x > 7.0));
        // initial > max: first wait around initial, then the cap.
        let odd = RetryConfig {
            initial_interval: S(100),
            ..cfg
        };
        let mut b = Backoff::new(odd, 1);
        assert!(b.next_backoff() >= S(50));
        assert!(b.next_backoff() <= S(45));
        // Degenerate durations do not panic.
        let huge = RetryConfig {
            initial_interval: Duration::MAX,
            max_interval: Duration::MAX,
            ..cfg
        };
        let mut b = Backoff::new(huge, 1);
        assert!(b.next_backoff() > S(1 << 30));
        let zero = RetryConfig {
            initial_interval: Duration::ZERO,
            max_interval: Duration::ZERO,
            ..cfg
        };
        assert!(Backoff::new(zero, 1).next_backoff() <= Duration::from_nanos(1));
    }

    #[test]
    fn retries_until_max_elapsed() {
        let mut policy = RetryPolicy::new(RetryConfig::default(), 7);
        let mut b = policy.backoff();
        let mut elapsed = Duration::ZERO;
        let mut delays = Vec::new();
        loop {
            match b.decide(&resp(503, None, b""), timing(elapsed)) {
                Decision::RetryAfter { delay, error } => {
                    assert_eq!(error, "HTTP 503");
                    delays.push(delay);
                    elapsed += delay + Duration::from_millis(10);
                }
                Decision::GiveUp { reason, outcome, error } => {
                    assert_eq!(reason, DropReason::ExportFailed);
                    assert_eq!(outcome, RequestOutcome::Retryable);
                    assert!(error.starts_with("HTTP 503; giving up: a retry in"), "{error}");
                    assert!(error.contains("max retry time"), "{error}");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!((3..=6).contains(&delays.len()), "{delays:?}");
        assert_eq!(b.retries() as usize, delays.len());
        assert!(elapsed <= S(61));
        // Already past max elapsed: give up without drawing a delay.
        let mut b = policy.backoff();
        let d = b.decide(&Attempt::Timeout, timing(S(61)));
        assert!(
            matches!(&d, Decision::GiveUp { error, .. } if error.contains("elapsed")),
            "{d:?}"
        );
        // Zero max elapsed = unlimited.
        let mut b = Backoff::new(
            RetryConfig {
                max_elapsed_time: Duration::ZERO,
                ..RetryConfig::default()
            },
            1,
        );
        assert!(matches!(
            b.decide(&Attempt::Timeout, timing(S(100_000))),
            Decision::RetryAfter { .. }
        ));
    }

    #[test]
    fn deadline_bounds_retries() {
        let mut b = Backoff::new(RetryConfig::default(), 3);
        let t = |remaining| Timing {
            deadline_remaining: remaining,
            ..timing(S(1))
        };
        // First backoff is in [2.5 s, 7.5 s]: 2 s left is never enough, 10 s always is.
        let d = b.clone().decide(&Attempt::ConnectError("refused"), t(S(2)));
        assert!(
            matches!(&d, Decision::GiveUp { reason: DropReason::ExportFailed, error, .. } if error.contains("export deadline")),
            "{d:?}"
        );
        assert!(matches!(
            b.decide(&Attempt::ConnectError("refused"), t(S(10))),
            Decision::RetryAfter { .. }
        ));
        assert!(matches!(
            b.decide(&Attempt::Timeout, t(Duration::ZERO)),
            Decision::GiveUp { .. }
        ));
    }

    #[test]
    fn retry_after_overrides_when_larger() {
        let cfg = RetryConfig::default();
        let delay = |ra: Option<&str>, seed| match Backoff::new(cfg, seed).decide(&resp(429, ra, b""), timing(S(0))) {
            Decision::RetryAfter { delay, .. } => delay,
            other => panic!("{other:?}"),
        };
        let plain = delay(None, 9);
        assert!(plain >= Duration::from_millis(2500) && plain <= Duration::from_millis(7501));
        assert_eq!(delay(Some("20"), 9), S(20));
        assert_eq!(delay(Some("1"), 9), plain); // smaller: backoff wins
        assert_eq!(delay(Some("garbage"), 9), plain);
        assert_eq!(delay(Some("Sun, 06 Nov 1994 08:50:17 GMT"), 9), S(40));
        assert_eq!(delay(Some("Sun, 06 Nov 1994 08:00:00 GMT"), 9), plain); // in the past
                                                                            // A Retry-After beyond the budget gives up at once.
        let d = Backoff::new(cfg, 9).decide(&resp(503, Some("3600"), b""), timing(S(0)));
        assert!(matches!(
            d,
            Decision::GiveUp {
                reason: DropReason::ExportFailed,
                ..
            }
        ));
        // Retry-After on a permanent status is ignored.
        let d = Backoff::new(cfg, 9).decide(&resp(400, Some("1"), b""), timing(S(0)));
        assert!(matches!(
            d,
            Decision::GiveUp {
                reason: DropReason::Rejected,
                ..
            }
        ));
        // A backoff step is consumed even when Retry-After wins.
        let mut b = Backoff::new(cfg, 9);
        let mut reference = Backoff::new(cfg, 9);
        reference.next_backoff();
        let _ = b.decide(&resp(429, Some("20"), b""), timing(S(0)));
        assert_eq!(b.next_backoff(), reference.next_backoff());
    }

    #[test]
    fn disabled_retries_give_up_on_first_failure() {
        let cfg = RetryConfig {
            enabled: false,
            ..RetryConfig::default()
        };
        let mut b = Backoff::new(cfg, 1);
        for attempt in [resp(503, Some("1"), b""), Attempt::Timeout, Attempt::ConnectError("x")] {
            let d = b.decide(&attempt, timing(S(0)));
            assert!(
                matches!(&d, Decision::GiveUp { reason: DropReason::ExportFailed, outcome: RequestOutcome::Retryable, error } if error.ends_with("retries are disabled")),
                "{d:?}"
            );
        }
        assert!(matches!(
            b.decide(&resp(200, None, b""), timing(S(0))),
            Decision::Success { .. }
        ));
        assert_eq!(b.retries(), 0);
    }

    #[test]
    fn decisions_for_success_and_permanent() {
        let mut b = Backoff::new(RetryConfig::default(), 1);
        let d = b.decide(&resp(200, None, &partial(2, "bad attrs")), timing(S(0)));
        assert_eq!(
            d,
            Decision::Success {
                rejected: 2,
                message: Some("bad attrs".into())
            }
        );
        assert_eq!(d.outcome(), RequestOutcome::Success);
        let d = b.decide(&resp(413, None, &status_body(0, "too large")), timing(S(0)));
        assert_eq!(
            d,
            Decision::GiveUp {
                reason: DropReason::Rejected,
                outcome: RequestOutcome::Permanent,
                error: "HTTP 413: too large".into()
            }
        );
        assert_eq!(d.outcome(), RequestOutcome::Permanent);
        let d = b.decide(&Attempt::OtherError("invalid URL"), timing(S(0)));
        assert_eq!(d.outcome(), RequestOutcome::Permanent);
        let d = b.decide(&Attempt::Timeout, timing(S(0)));
        assert!(matches!(&d, Decision::RetryAfter { error, .. } if error == "request timed out"));
        assert_eq!(d.outcome(), RequestOutcome::Retryable);
    }

    #[test]
    fn policy_gives_each_batch_its_own_deterministic_jitter() {
        let mut p1 = RetryPolicy::new(RetryConfig::default(), 5);
        let mut p2 = RetryPolicy::new(RetryConfig::default(), 5);
        let (a1, a2) = (no_jitter(p1.backoff()), no_jitter(p1.backoff()));
        assert_ne!(a1, a2);
        assert_eq!(a1, no_jitter(p2.backoff()));
        assert_eq!(a2, no_jitter(p2.backoff()));
        assert_eq!(p1.config(), &RetryConfig::default());
    }

    #[test]
    fn defaults_match_go() {
        let c = RetryConfig::default();
        assert!(c.enabled);
        assert_eq!(
            (c.initial_interval, c.max_interval, c.max_elapsed_time),
            (S(5), S(30), S(60))
        );
    }

    // -- circuit breaker -----------------------------------------------------

    #[test]
    fn breaker_opens_half_opens_and_closes() {
        let mut cb = CircuitBreaker::default();
        let t = S;
        for i in 0..4 {
            assert!(cb.allow(t(i)));
            assert!(!cb.on_failure(t(i)));
        }
        assert_eq!(cb.consecutive_failures(), 4);
        assert!(cb.allow(t(4)));
        assert!(cb.on_failure(t(4)), "fifth failure opens");
        assert_eq!(cb.state(), BreakerState::Open { until: t(34) });
        assert_eq!(cb.open_for(t(10)), Some(t(24)));
        assert!(!cb.allow(t(5)));
        assert!(!cb.allow(t(33)));
        // Cool-down over: exactly one trial.
        assert!(cb.allow(t(34)));
        assert_eq!(cb.state(), BreakerState::HalfOpen { trial_in_flight: true });
        assert!(!cb.allow(t(35)));
        assert_eq!(cb.open_for(t(35)), None);
        // Trial fails: open again, for a full cool-down.
        assert!(cb.on_failure(t(36)));
        assert_eq!(cb.state(), BreakerState::Open { until: t(66) });
        assert!(!cb.allow(t(65)));
        assert!(cb.allow(t(70)));
        // Trial succeeds: closed, counter reset.
        cb.on_success();
        assert_eq!(cb.state(), BreakerState::Closed);
        assert_eq!(cb.consecutive_failures(), 0);
        assert!(cb.allow(t(71)));
        assert!(!cb.on_failure(t(71)));
    }

    #[test]
    fn breaker_success_resets_streak_and_zero_threshold_never_opens() {
        let mut cb = CircuitBreaker::new(2, S(10));
        assert!(!cb.on_failure(S(0)));
        cb.on_success();
        assert!(!cb.on_failure(S(1)));
        assert!(cb.on_failure(S(2)));
        assert!(!cb.on_failure(S(3)), "failing while open does not re-open");
        assert_eq!(cb.state(), BreakerState::Open { until: S(12) });

        let mut never = CircuitBreaker::new(0, S(10));
        for i in 0..100 {
            assert!(!never.on_failure(S(i)));
            assert!(never.allow(S(i)));
        }
        let cfg = RetryConfig {
            max_interval: S(7),
            ..RetryConfig::default()
        };
        let mut cb = CircuitBreaker::for_config(&cfg);
        for _ in 0..DEFAULT_BREAKER_THRESHOLD {
            cb.on_failure(Duration::MAX);
        }
        assert_eq!(cb.state(), BreakerState::Open { until: Duration::MAX });
    }
}
