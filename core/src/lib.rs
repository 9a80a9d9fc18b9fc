//! otlpx-core: the span model, the zero-allocation OTLP encoder, the bounded
//! batcher and the stats every frontend reads.
//!
//! No async, no FFI or wasm types, no frontend dependency. See
//! `docs/ARCHITECTURE.md` for how a span flows through these modules.
// Unsafe code is denied everywhere but in the encoder's `Writer`, whose
// unchecked writes follow a bounds check covering them.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
#[cfg(feature = "http")]
mod coalesce;
pub mod config;
pub mod context;
pub mod delivery;
pub mod encode;
pub mod envelope;
#[cfg(feature = "exporter")]
pub mod exporter;
#[cfg(feature = "http")]
pub mod http;
pub mod json;
pub mod log;
pub mod model;
pub mod retry;
pub mod sampler;
pub mod stats;
pub mod transport;

pub use batch::{Batch, BatchConfig, BatchError, Batcher, Enqueued};
pub use encode::SpanLimits;
pub use model::{
    AnyValue, Event, KeyValue, Link, Resource, Scope, ScopeId, Span, SpanId, SpanKind, Status, StatusCode, TraceId,
};
pub use stats::{DropReason, RequestOutcome, Stats, StatsSnapshot};
