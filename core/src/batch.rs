//! The bounded batcher: preallocated blocks of encoded spans.
//!
//! Owns: the queue, in spans and in bytes; sealing blocks into batches; the
//! drop counting for spans refused at enqueue (`queue_full`, `too_large`,
//! `shutdown`, `invalid`).
//! Must not: do I/O, block a producer on anything but a short critical section,
//! or allocate after construction.
//!
//! Memory is fixed at construction: `ceil(max_queue_size / max_export_batch_size) + 1`
//! blocks, each with a buffer of `max_batch_bytes` (reserved, touched only as
//! spans are written) and room for `max_export_batch_size` span entries. A
//! producer takes the lock and encodes its span in one pass straight into the
//! current block (no size pass, no second copy); when the span does not fit
//! what is left, the block is sealed and the span encoded into a fresh one.
//! A block is sealed into a batch when it holds `max_export_batch_size` spans
//! or the next span would push the request past `max_batch_bytes`. The
//! exporter takes batches and hands the blocks back when they are sent.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::encode::{len_field, span_len, write_span_entry, SpanLimits, Writer, SLACK};
use crate::envelope::{base_overhead, write_request, EncodedResource, EncodedScope, RequestSink};
use crate::model::{Resource, Scope, ScopeId, Span};
use crate::stats::{DropReason, Stats};

/// Default `max_queue_size` (spec: `OTEL_BSP_MAX_QUEUE_SIZE`).
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;
/// Default `max_export_batch_size` (spec: `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
pub const DEFAULT_MAX_EXPORT_BATCH_SIZE: usize = 512;
/// Default byte cap of one export request.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 4 << 20;
/// Hard ceiling of the byte cap.
pub const MAX_BATCH_BYTES_CEILING: usize = 64 << 20;
/// Most scopes one exporter can register.
pub const MAX_SCOPES: usize = 1024;

/// Sizes of the batcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Spans the queue holds before new ones are dropped (`queue_full`).
    pub max_queue_size: usize,
    /// Spans in one export request.
    pub max_export_batch_size: usize,
    /// Bytes of one export request, framing included.
    pub max_batch_bytes: usize,
    /// Span limits applied while encoding.
    pub limits: SpanLimits,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            max_export_batch_size: DEFAULT_MAX_EXPORT_BATCH_SIZE,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            limits: SpanLimits::default(),
        }
    }
}

/// Why a batcher could not be built or a scope registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// A size is zero or out of range; the text says which.
    InvalidConfig(String),
    /// More than [`MAX_SCOPES`] scopes.
    TooManyScopes,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::InvalidConfig(s) => write!(f, "invalid batch configuration: {s}"),
            BatchError::TooManyScopes => write!(f, "too many instrumentation scopes (at most {MAX_SCOPES})"),
        }
    }
}
impl std::error::Error for BatchError {}

/// What happened to a span handed to [`Batcher::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued; the current batch still has room.
    Queued,
    /// Queued, and a batch is now full: the exporter should be woken.
    BatchReady,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    scope: u16,
    start: u32,
    len: u32,
}

/// One preallocated block of span entries.
#[derive(Debug)]
struct Block {
    buf: Box<[u8]>,
    len: usize,
    entries: Vec<Entry>,
    /// Scopes present, in the order first seen.
    scopes: Vec<u16>,
    /// `scope_mark[s] == epoch` when scope `s` is present.
    scope_mark: Box<[u32]>,
    /// Entry bytes per scope (valid where marked).
    scope_bytes: Box<[usize]>,
    epoch: u32,
    /// Framing bytes the present scopes add.
    overhead: usize,
}

impl Block {
    fn new(bytes: usize, spans: usize) -> Block {
        Block {
            buf: vec![0u8; bytes + SLACK].into_boxed_slice(),
            len: 0,
            entries: Vec::with_capacity(spans),
            scopes: Vec::with_capacity(MAX_SCOPES),
            scope_mark: vec![0u32; MAX_SCOPES].into_boxed_slice(),
            scope_bytes: vec![0usize; MAX_SCOPES].into_boxed_slice(),
            epoch: 1,
            overhead: 0,
        }
    }

    fn reset(&mut self) {
        self.len = 0;
        self.entries.clear();
        self.scopes.clear();
        self.overhead = 0;
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.scope_mark.fill(0);
            self.epoch = 1;
        }
    }

    #[inline]
    fn has_scope(&self, s: usize) -> bool {
        self.scope_mark[s] == self.epoch
    }
}

/// A sealed block taken by the exporter. Give it back with [`Batcher::release`].
#[derive(Debug)]
pub struct Batch {
    block: Block,
}

impl Batch {
    /// Spans in the batch.
    pub fn len(&self) -> usize {
        self.block.entries.len()
    }
    /// True when the batch holds no span.
    pub fn is_empty(&self) -> bool {
        self.block.entries.is_empty()
    }
    /// Bytes of span entries in the batch.
    pub fn span_bytes(&self) -> usize {
        self.block.len
    }
}

#[derive(Debug)]
struct Queue {
    current: Option<Block>,
    sealed: VecDeque<Block>,
    free: Vec<Block>,
    /// Spans in `current` and `sealed`.
    queued: usize,
    closed: bool,
    /// Framing overhead per registered scope.
    scope_overhead: Vec<usize>,
}

/// The bounded, preallocated span queue. Safe for many producers and one consumer.
#[derive(Debug)]
pub struct Batcher {
    cfg: BatchConfig,
    /// Bytes available to span entries and scope framing in one request.
    span_capacity: usize,
    queue: Mutex<Queue>,
    resource: EncodedResource,
    scopes: RwLock<Vec<EncodedScope>>,
    stats: Arc<Stats>,
}

impl Batcher {
    /// A batcher for `resource`, with its memory allocated now.
    pub fn new(cfg: BatchConfig, resource: &Resource<'_>, stats: Arc<Stats>) -> Result<Batcher, BatchError> {
        if cfg.max_queue_size == 0 {
            return Err(BatchError::InvalidConfig("max_queue_size must be at least 1".into()));
        }
        if cfg.max_export_batch_size == 0 {
            return Err(BatchError::InvalidConfig(
                "max_export_batch_size must be at least 1".into(),
            ));
        }
        if cfg.max_export_batch_size > cfg.max_queue_size {
            return Err(BatchError::InvalidConfig(format!(
                "max_export_batch_size ({}) must not exceed max_queue_size ({})",
                cfg.max_export_batch_size, cfg.max_queue_size
            )));
        }
        if cfg.max_batch_bytes > MAX_BATCH_BYTES_CEILING {
            return Err(BatchError::InvalidConfig(format!(
                "max_batch_bytes ({}) exceeds the ceiling of {} bytes",
                cfg.max_batch_bytes, MAX_BATCH_BYTES_CEILING
            )));
        }
        let resource = EncodedResource::new(resource);
        let base = base_overhead(&resource);
        if cfg.max_batch_bytes < base + 64 {
            return Err(BatchError::InvalidConfig(format!(
                "max_batch_bytes ({}) leaves no room for spans after the resource ({} bytes)",
                cfg.max_batch_bytes, base
            )));
        }
        let span_capacity = cfg.max_batch_bytes - base;
        let blocks = cfg.max_queue_size.div_ceil(cfg.max_export_batch_size) + 1;
        let mut free = Vec::with_capacity(blocks);
        for _ in 0..blocks {
            free.push(Block::new(span_capacity, cfg.max_export_batch_size));
        }
        Ok(Batcher {
            cfg,
            span_capacity,
            queue: Mutex::new(Queue {
                current: None,
                sealed: VecDeque::with_capacity(blocks),
                free,
                queued: 0,
                closed: false,
                scope_overhead: Vec::with_capacity(MAX_SCOPES),
            }),
            resource,
            scopes: RwLock::new(Vec::with_capacity(MAX_SCOPES)),
            stats,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BatchConfig {
        &self.cfg
    }

    /// The counters this batcher writes.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue's invariants hold between statements, so a poisoned lock
        // (a panic elsewhere while holding it) leaves it usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers an instrumentation scope; spans refer to it by the returned id.
    pub fn add_scope(&self, scope: &Scope<'_>) -> Result<ScopeId, BatchError> {
        let enc = EncodedScope::new(scope);
        let overhead = enc.max_overhead();
        let mut scopes = self.scopes.write().unwrap_or_else(|p| p.into_inner());
        let mut q = self.lock();
        if scopes.len() >= MAX_SCOPES {
            return Err(BatchError::TooManyScopes);
        }
        let id = scopes.len() as u16;
        scopes.push(enc);
        q.scope_overhead.push(overhead);
        Ok(ScopeId(id))
    }

    /// Encodes `span` into the queue. Never blocks on I/O and never allocates;
    /// a refused span is counted under its [`DropReason`] and returned as `Err`.
    // On wasm, compiled in the frontend crate (built for speed inside the
    // size-optimised module) with the checked span writer it calls.
    #[cfg_attr(target_family = "wasm", inline)]
    pub fn record(&self, scope: ScopeId, span: &Span<'_>) -> Result<Enqueued, DropReason> {
        let sid = scope.0 as usize;
        let mut q = self.lock();
        let stats = &*self.stats;
        // Only this critical section writes `accepted` and `bytes_encoded`,
        // so a plain load+store is exact.
        stats.accepted.store(stats.accepted.load(Relaxed) + 1, Relaxed);
        let refused = if q.closed {
            Some(DropReason::Shutdown)
        } else if sid >= q.scope_overhead.len() {
            Some(DropReason::Invalid)
        } else if q.queued >= self.cfg.max_queue_size {
            Some(self.full_or_too_large(span, q.scope_overhead[sid]))
        } else {
            None
        };
        if let Some(reason) = refused {
            drop(q);
            stats.add_dropped(reason, 1);
            return Err(reason);
        }
        let sov = q.scope_overhead[sid];
        let q = &mut *q;
        let mut ready = false;
        // Encode straight into the current block; when the span does not fit
        // what is left of it, seal the block and encode again into a fresh one.
        loop {
            if q.current.is_none() {
                match q.free.pop() {
                    Some(mut b) => {
                        b.reset();
                        q.current = Some(b);
                    }
                    None => {
                        let reason = self.full_or_too_large(span, sov);
                        stats.add_dropped(reason, 1);
                        return Err(reason);
                    }
                }
            }
            let Some(b) = q.current.as_mut() else {
                continue; // installed just above
            };
            let new_scope = !b.has_scope(sid);
            let used = b.len + b.overhead + if new_scope { sov } else { 0 };
            let room = self.span_capacity.saturating_sub(used);
            let start = b.len;
            let mut w = Writer::new(&mut b.buf[start..start + room + SLACK]);
            write_span_entry(&mut w, span, &self.cfg.limits);
            if w.too_deep() {
                // Nothing was committed: the block is as it was.
                stats.add_dropped(DropReason::Invalid, 1);
                return Err(DropReason::Invalid);
            }
            if !w.overflowed() {
                let entry = w.pos();
                if new_scope {
                    b.scope_mark[sid] = b.epoch;
                    b.scope_bytes[sid] = 0;
                    b.scopes.push(sid as u16);
                    b.overhead += sov;
                }
                b.len += entry;
                b.scope_bytes[sid] += entry;
                b.entries.push(Entry {
                    scope: sid as u16,
                    start: start as u32,
                    len: entry as u32,
                });
                if b.entries.len() >= self.cfg.max_export_batch_size {
                    if let Some(b) = q.current.take() {
                        q.sealed.push_back(b);
                    }
                    ready = true;
                }
                q.queued += 1;
                stats
                    .bytes_encoded
                    .store(stats.bytes_encoded.load(Relaxed) + entry as u64, Relaxed);
                return Ok(if ready { Enqueued::BatchReady } else { Enqueued::Queued });
            }
            // Rare path (once per block): would it fit even an empty request?
            if b.entries.is_empty() || self.full_or_too_large(span, sov) == DropReason::TooLarge {
                stats.add_dropped(DropReason::TooLarge, 1);
                return Err(DropReason::TooLarge);
            }
            if let Some(b) = q.current.take() {
                q.sealed.push_back(b);
            }
            ready = true;
        }
    }

    /// Counts a span that a frontend refused before encoding it (invalid
    /// input, a disabled SDK): accepted and dropped for `reason`.
    pub fn refuse(&self, reason: DropReason) {
        let q = self.lock();
        let stats = &*self.stats;
        stats.accepted.store(stats.accepted.load(Relaxed) + 1, Relaxed);
        drop(q);
        stats.add_dropped(reason, 1);
    }

    /// The reason to give a span refused for lack of room: `too_large` when
    /// it would not fit even an empty request, else `queue_full` (drop path only).
    fn full_or_too_large(&self, span: &Span<'_>, scope_overhead: usize) -> DropReason {
        if len_field(span_len(span, &self.cfg.limits)) + scope_overhead > self.span_capacity {
            DropReason::TooLarge
        } else {
            DropReason::QueueFull
        }
    }

    /// Takes the oldest full batch; with `partial`, also the current one
    /// when no full batch waits. The spans leave the queue's count.
    pub fn take_batch(&self, partial: bool) -> Option<Batch> {
        let mut q = self.lock();
        let block = match q.sealed.pop_front() {
            Some(b) => b,
            None if partial => match q.current.take() {
                Some(b) if !b.entries.is_empty() => b,
                Some(b) => {
                    q.current = Some(b);
                    return None;
                }
                None => return None,
            },
            None => return None,
        };
        q.queued -= block.entries.len();
        Some(Batch { block })
    }

    /// True when a full batch waits.
    pub fn has_full_batch(&self) -> bool {
        !self.lock().sealed.is_empty()
    }

    /// Spans in the queue (not counting batches taken by the exporter).
    pub fn queued(&self) -> usize {
        self.lock().queued
    }

    /// Refuses every later span (counted as `shutdown`). Queued spans stay
    /// for the exporter to take.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    /// True after [`close`](Self::close).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Writes the `ExportTraceServiceRequest` for `batch` to `out` (cleared
    /// first). Allocates only if `out` lacks capacity (`max_batch_bytes` suffices).
    pub fn write_request(&self, batch: &Batch, out: &mut Vec<u8>) {
        out.clear();
        self.write_request_to(batch, out);
    }

    /// Writes the `ExportTraceServiceRequest` for `batch` into `sink`
    /// (a buffer, or a compressor fed straight from the batch's block).
    pub fn write_request_to<S: RequestSink + ?Sized>(&self, batch: &Batch, sink: &mut S) {
        let out = sink;
        let b = &batch.block;
        let scopes = self.scopes.read().unwrap_or_else(|p| p.into_inner());
        let groups = b
            .scopes
            .iter()
            .map(|&s| (s as usize, &scopes[s as usize], b.scope_bytes[s as usize]));
        write_request(&self.resource, groups, |s, out: &mut S| copy_scope(b, s, out), out);
    }

    /// Gives a taken batch's block back to the queue.
    pub fn release(&self, batch: Batch) {
        let mut q = self.lock();
        q.free.push(batch.block);
    }

    /// The most heap memory the queue can hold, in bytes: every block's
    /// buffer, entry list and scope tables. Fixed at construction.
    pub fn memory_bound(&self) -> usize {
        let blocks = self.cfg.max_queue_size.div_ceil(self.cfg.max_export_batch_size) + 1;
        let per_block = self.span_capacity
            + self.cfg.max_export_batch_size * std::mem::size_of::<Entry>()
            + MAX_SCOPES * (2 + 4 + std::mem::size_of::<usize>());
        blocks * per_block
    }

    /// The most bytes one request can take (the byte cap).
    pub fn max_request_bytes(&self) -> usize {
        self.cfg.max_batch_bytes
    }
}

/// Appends the entries of scope `s` from block `b`.
fn copy_scope<S: RequestSink + ?Sized>(b: &Block, s: usize, out: &mut S) {
    if b.scopes.len() == 1 {
        out.put(&b.buf[..b.len]);
        return;
    }
    for e in b.entries.iter().filter(|e| e.scope as usize == s) {
        let start = e.start as usize;
        out.put(&b.buf[start..start + e.len as usize]);
    }
}
