//! Counters every frontend can read at any time: spans accepted, exported,
//! dropped by named reason, bytes encoded, requests and retries, the last error.
//!
//! Owns: the atomics and the last-error text. Must not: block a producer (the
//! hot-path counters are written only under the batcher's lock, as plain
//! load+store, so they cost no read-modify-write), or allocate on the hot path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Why a span was not delivered. Every lost span is counted under exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// The queue (spans or buffer blocks) was full when the span ended.
    QueueFull = 0,
    /// The encoded span alone is larger than the batch byte cap.
    TooLarge = 1,
    /// The export failed after all retries, or its deadline passed.
    ExportFailed = 2,
    /// The receiver refused the spans (permanent 4xx, or `partial_success.rejected_spans`).
    Rejected = 3,
    /// The span was recorded after shutdown, or was still queued when shutdown's deadline passed.
    Shutdown = 4,
    /// The input was invalid (unknown scope, bad data from a frontend, an
    /// attribute value nested deeper than `encode::MAX_VALUE_DEPTH`).
    Invalid = 5,
    /// The circuit breaker was open and the batch was not attempted.
    CircuitOpen = 6,
    /// The SDK is disabled (`OTEL_SDK_DISABLED=true`): nothing is exported.
    Disabled = 7,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 8] = [
        DropReason::QueueFull,
        DropReason::TooLarge,
        DropReason::ExportFailed,
        DropReason::Rejected,
        DropReason::Shutdown,
        DropReason::Invalid,
        DropReason::CircuitOpen,
        DropReason::Disabled,
    ];
    /// Number of reasons.
    pub const COUNT: usize = Self::ALL.len();

    /// The reason's stable name (`queue_full`, `too_large`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::TooLarge => "too_large",
            DropReason::ExportFailed => "export_failed",
            DropReason::Rejected => "rejected",
            DropReason::Shutdown => "shutdown",
            DropReason::Invalid => "invalid",
            DropReason::CircuitOpen => "circuit_open",
            DropReason::Disabled => "disabled",
        }
    }

    /// The reason with this stable name.
    pub fn from_name(name: &str) -> Option<DropReason> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused span is an error to the caller that recorded it.
impl std::error::Error for DropReason {}

/// Outcome classes of export requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RequestOutcome {
    /// 2xx.
    Success = 0,
    /// A retryable failure (429, 502, 503, 504, connection error, timeout).
    Retryable = 1,
    /// A permanent failure (other 4xx, bad response).
    Permanent = 2,
}

impl RequestOutcome {
    /// Every outcome, in counter order.
    pub const ALL: [RequestOutcome; 3] = [
        RequestOutcome::Success,
        RequestOutcome::Retryable,
        RequestOutcome::Permanent,
    ];
    /// Stable name.
    pub const fn name(self) -> &'static str {
        match self {
            RequestOutcome::Success => "success",
            RequestOutcome::Retryable => "retryable",
            RequestOutcome::Permanent => "permanent",
        }
    }
}

/// The live counters. Cheap to read from any thread.
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) accepted: AtomicU64,
    pub(crate) bytes_encoded: AtomicU64,
    exported: AtomicU64,
    dropped: [AtomicU64; DropReason::COUNT],
    batches: AtomicU64,
    requests: [AtomicU64; 3],
    retries: AtomicU64,
    circuit_opened: AtomicU64,
    last_http_status: AtomicU64,
    last_success_unix_nano: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Spans handed to the exporter (every record call, kept or dropped).
    pub accepted: u64,
    /// Spans the receiver took.
    pub exported: u64,
    /// Spans dropped, per reason, indexed as [`DropReason::ALL`].
    pub dropped: [u64; DropReason::COUNT],
    /// Encoded span bytes enqueued.
    pub bytes_encoded: u64,
    /// Batches handed to the transport.
    pub batches: u64,
    /// Requests by outcome, indexed as [`RequestOutcome::ALL`].
    pub requests: [u64; 3],
    /// Retries made.
    pub retries: u64,
    /// Times the circuit breaker opened.
    pub circuit_opened: u64,
    /// The last HTTP status seen (0: none yet).
    pub last_http_status: u16,
    /// When the last export succeeded, unix nanoseconds (0: never).
    pub last_success_unix_nano: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
}

impl StatsSnapshot {
    /// Spans dropped for `reason`.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped[reason as usize]
    }
    /// Spans dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
    /// Spans accepted but neither exported nor dropped yet (in the queue or in flight).
    pub fn pending(&self) -> u64 {
        self.accepted
            .saturating_sub(self.exported)
            .saturating_sub(self.dropped_total())
    }
    /// Requests with `outcome`.
    pub fn requests_for(&self, outcome: RequestOutcome) -> u64 {
        self.requests[outcome as usize]
    }
}

impl std::fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "accepted: {}", self.accepted)?;
        writeln!(f, "exported: {}", self.exported)?;
        writeln!(f, "dropped: {}", self.dropped_total())?;
        for r in DropReason::ALL {
            writeln!(f, "  {}: {}", r.name(), self.dropped_for(r))?;
        }
        writeln!(f, "pending: {}", self.pending())?;
        writeln!(f, "bytes_encoded: {}", self.bytes_encoded)?;
        writeln!(f, "batches: {}", self.batches)?;
        for o in RequestOutcome::ALL {
            writeln!(f, "requests_{}: {}", o.name(), self.requests_for(o))?;
        }
        writeln!(f, "retries: {}", self.retries)?;
        writeln!(f, "circuit_opened: {}", self.circuit_opened)?;
        writeln!(f, "last_http_status: {}", self.last_http_status)?;
        writeln!(f, "last_success_unix_nano: {}", self.last_success_unix_nano)?;
        write!(f, "last_error: {}", self.last_error.as_deref().unwrap_or("none"))
    }
}

impl Stats {
    /// Fresh zeroed counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `n` spans dropped for `reason`.
    pub fn add_dropped(&self, reason: DropReason, n: u64) {
        self.dropped[reason as usize].fetch_add(n, Relaxed);
    }
    /// Counts `n` spans delivered.
    pub fn add_exported(&self, n: u64) {
        self.exported.fetch_add(n, Relaxed);
    }
    /// Counts one batch handed to the transport.
    pub fn add_batch(&self) {
        self.batches.fetch_add(1, Relaxed);
    }
    /// Counts one request with `outcome` and, if known, its HTTP status.
    pub fn add_request(&self, outcome: RequestOutcome, http_status: Option<u16>) {
        self.requests[outcome as usize].fetch_add(1, Relaxed);
        if let Some(s) = http_status {
            self.last_http_status.store(s as u64, Relaxed);
        }
    }
    /// Counts one retry.
    pub fn add_retry(&self) {
        self.retries.fetch_add(1, Relaxed);
    }
    /// Counts one opening of the circuit breaker.
    pub fn add_circuit_opened(&self) {
        self.circuit_opened.fetch_add(1, Relaxed);
    }
    /// Records the time of a successful export.
    pub fn set_last_success(&self, unix_nano: u64) {
        self.last_success_unix_nano.store(unix_nano, Relaxed);
    }
    /// Records the last error text.
    pub fn set_last_error(&self, text: impl Into<String>) {
        let mut g = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(text.into());
    }

    /// A snapshot of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        // Read the outcomes before `accepted` so `pending` never goes negative
        // in a racing read.
        let exported = self.exported.load(Relaxed);
        let mut dropped = [0u64; DropReason::COUNT];
        for (d, a) in dropped.iter_mut().zip(self.dropped.iter()) {
            *d = a.load(Relaxed);
        }
        let mut requests = [0u64; 3];
        for (d, a) in requests.iter_mut().zip(self.requests.iter()) {
            *d = a.load(Relaxed);
        }
        StatsSnapshot {
            accepted: self.accepted.load(Relaxed),
            exported,
            dropped,
            bytes_encoded: self.bytes_encoded.load(Relaxed),
            batches: self.batches.load(Relaxed),
            requests,
            retries: self.retries.load(Relaxed),
            circuit_opened: self.circuit_opened.load(Relaxed),
            last_http_status: self.last_http_status.load(Relaxed) as u16,
            last_success_unix_nano: self.last_success_unix_nano.load(Relaxed),
            last_error: self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}
