//! W3C Trace Context for hosts without an OpenTelemetry SDK: the incoming
//! `traceparent`/`tracestate` headers, the outgoing `traceparent`, random ids,
//! and the decision made when a span starts.
//!
//! Owns: parsing `traceparent` as W3C Trace Context Level 1 specifies (version
//! `00` exactly 55 characters; higher versions parsed by their first 55
//! characters, as the "Versioning of traceparent" rules say; `ff` and anything
//! that is not lowercase hex rejected; all-zero ids rejected), validating and
//! normalising `tracestate` (Level 1's key grammar, which the Go SDK checks;
//! values; at most 32 members; no duplicate keys; an invalid `tracestate` is
//! dropped whole, as the Go SDK does), formatting both back, trace and span ids
//! from a per-thread xoshiro256++ generator seeded once per thread (reseeded
//! after [`reseed_after_fork`] or [`add_entropy`]), and [`start_span`]: ids,
//! parent, sampled flag and OTLP span flags from a [`Sampler`].
//! Must not: allocate on the hot path (parsing a canonical header, [`start_span`],
//! formatting, ids; only a `tracestate` that needs normalising, or an explicit
//! [`TraceState::into_owned`]/[`TraceState::insert`], allocates), make a system
//! call per id, read the environment, know HTTP beyond header values, or panic.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{SpanId, TraceId};
use crate::sampler::{ParentInfo, Sampler};

/// The W3C `sampled` trace flag.
pub const FLAG_SAMPLED: u8 = 0x01;
/// The W3C Trace Context Level 2 `random-trace-id` trace flag. Parsed and kept in
/// [`SpanContext::flags`], but never written by [`format_traceparent`] or set by
/// [`start_span`]: the Go SDK's propagator rejects a version `00` header whose
/// flags exceed `02`, so `03` would break traces through Go services.
pub const FLAG_RANDOM: u8 = 0x02;
/// OTLP `Span.flags`: the bits holding the span's W3C trace flags.
pub const SPAN_FLAGS_TRACE_FLAGS_MASK: u32 = 0x0000_00ff;
/// OTLP `Span.flags`: whether the parent is remote is known (`SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`).
pub const SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK: u32 = 0x0000_0100;
/// OTLP `Span.flags`: the parent is remote (`SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`).
pub const SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK: u32 = 0x0000_0200;
/// The length of a version `00` `traceparent` value.
pub const TRACEPARENT_LEN: usize = 55;
/// The most list-members a `tracestate` may hold.
pub const TRACESTATE_MAX_MEMBERS: usize = 32;

// ---------------------------------------------------------------------------
// Errors.

/// Why a `traceparent` or `tracestate` value was rejected. A rejected
/// `traceparent` means: start a new trace. A rejected `tracestate` is dropped
/// whole and does not affect the `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceContextError {
    /// The `traceparent` value is empty (or only whitespace).
    Empty,
    /// The version is not two lowercase hex digits followed by `-`, or is `ff`.
    Version,
    /// Wrong length: shorter than 55 characters, or not exactly 55 for version `00`.
    Length,
    /// A `-` is missing after the trace id, the parent id or (for a higher version) the flags.
    Delimiter,
    /// The trace id, parent id or flags contain a character that is not lowercase hex.
    Hex,
    /// The trace id is all zeros.
    ZeroTraceId,
    /// The parent (span) id is all zeros.
    ZeroSpanId,
    /// A `tracestate` list-member has no `=`.
    TraceStateMember,
    /// A `tracestate` key does not follow the key grammar.
    TraceStateKey,
    /// A `tracestate` value is empty, longer than 256 characters, or has a forbidden character.
    TraceStateValue,
    /// A `tracestate` key appears twice.
    TraceStateDuplicateKey,
    /// A `tracestate` has more than 32 list-members.
    TraceStateTooManyMembers,
}

impl TraceContextError {
    /// A short, static description.
    pub fn as_str(&self) -> &'static str {
        match self {
            TraceContextError::Empty => "traceparent is empty",
            TraceContextError::Version => "traceparent version is not two lowercase hex digits other than ff",
            TraceContextError::Length => "traceparent has the wrong length",
            TraceContextError::Delimiter => "traceparent is missing a '-' delimiter",
            TraceContextError::Hex => "traceparent field is not lowercase hex",
            TraceContextError::ZeroTraceId => "traceparent trace-id is all zeros",
            TraceContextError::ZeroSpanId => "traceparent parent-id is all zeros",
            TraceContextError::TraceStateMember => "tracestate list-member has no '='",
            TraceContextError::TraceStateKey => "tracestate key is invalid",
            TraceContextError::TraceStateValue => "tracestate value is invalid",
            TraceContextError::TraceStateDuplicateKey => "tracestate has a duplicate key",
            TraceContextError::TraceStateTooManyMembers => "tracestate has more than 32 list-members",
        }
    }
}

impl fmt::Display for TraceContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for TraceContextError {}

// ---------------------------------------------------------------------------
// Hex.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The value of each byte as a lowercase hex digit; `0xff` for anything else
/// (uppercase included).
const HEX_VAL: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The value of up to 16 hex digits, and the OR of their table entries: any
/// digit that is not lowercase hex sets a bit of `0xf0` in it.
#[inline]
fn hex_u64(src: &[u8]) -> (u64, u8) {
    let mut v = 0u64;
    let mut bad = 0u8;
    for &c in src {
        let d = HEX_VAL[usize::from(c)];
        bad |= d;
        v = v << 4 | u64::from(d & 0x0f);
    }
    (v, bad)
}

#[inline]
fn encode_hex(src: &[u8], dst: &mut [u8]) {
    for (pair, b) in dst.chunks_exact_mut(2).zip(src) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
}

/// Optional whitespace (RFC 7230 `OWS`): spaces and horizontal tabs.
#[inline]
fn trim_ows(s: &str) -> &str {
    let b = s.as_bytes();
    let is_ows = |c: &u8| *c == b' ' || *c == b'\t';
    match b.iter().position(|c| !is_ows(c)) {
        // Both ends are ASCII positions, so the slice is on character boundaries.
        Some(start) => {
            let end = b.iter().rposition(|c| !is_ows(c)).map_or(b.len(), |e| e + 1);
            s.get(start..end).unwrap_or(s)
        }
        None => "",
    }
}

// ---------------------------------------------------------------------------
// tracestate.

/// A validated W3C `tracestate`, always held in its canonical form: list-members
/// joined by `,` without optional whitespace or empty members. Borrows the header
/// value when it was already canonical (what SDKs send), so the hot path does
/// not allocate; [`TraceState::into_owned`] gives a `TraceState<'static>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceState<'a>(Cow<'a, str>);

impl Default for TraceState<'_> {
    /// The empty trace state (borrowed, no allocation).
    fn default() -> Self {
        TraceState::empty()
    }
}

/// `tracestate` key, W3C Trace Context Level 1 (as the Go SDK checks it):
/// `simple-key = lcalpha 0*255(keychar)` or
/// `tenant-id "@" system-id` with `tenant-id = (lcalpha / DIGIT) 0*240(keychar)`,
/// `system-id = lcalpha 0*13(keychar)`, `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/"`.
fn valid_key(key: &str) -> bool {
    fn keychar(c: &u8) -> bool {
        matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
    }
    fn part(p: &[u8], first_digit_ok: bool, max_rest: usize) -> bool {
        match p.split_first() {
            Some((first, rest)) => {
                (first.is_ascii_lowercase() || (first_digit_ok && first.is_ascii_digit()))
                    && rest.len() <= max_rest
                    && rest.iter().all(keychar)
            }
            None => false,
        }
    }
    let k = key.as_bytes();
    match k.iter().position(|&c| c == b'@') {
        None => part(k, false, 255),
        Some(at) => part(&k[..at], true, 240) && part(&k[at + 1..], false, 13),
    }
}

/// `tracestate` value: `0*255(chr) nblk-chr`, `chr = %x20 / nblk-chr`,
/// `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`.
fn valid_value(value: &str) -> bool {
    let v = value.as_bytes();
    match v.split_last() {
        Some((last, rest)) => {
            v.len() <= 256 && *last != b' ' && value_char(*last) && rest.iter().all(|&c| value_char(c))
        }
        None => false,
    }
}

#[inline]
fn value_char(c: u8) -> bool {
    (0x20..=0x7e).contains(&c) && c != b',' && c != b'='
}

/// Parses and validates a `tracestate` header value (several header fields
/// joined with `,`, as RFC 7230 combines them). Optional whitespace around
/// list-members and empty list-members are allowed and dropped; an empty value
/// gives an empty trace state. Borrows `header` when it is already canonical.
pub fn parse_tracestate(header: &str) -> Result<TraceState<'_>, TraceContextError> {
    let s = trim_ows(header);
    let mut keys: [&str; TRACESTATE_MAX_MEMBERS] = [""; TRACESTATE_MAX_MEMBERS];
    let mut count = 0usize;
    let mut canonical = true;
    // Byte loops rather than `split`: members are short, and `,`, `=` are ASCII,
    // so every slice below is on a character boundary.
    let b = s.as_bytes();
    let mut start = 0;
    while start <= b.len() {
        let end = b[start..]
            .iter()
            .position(|&c| c == b',')
            .map_or(b.len(), |p| start + p);
        let raw = s.get(start..end).unwrap_or_default();
        start = end + 1;
        let member = trim_ows(raw);
        if member.is_empty() {
            canonical = false;
            continue;
        }
        if member.len() != raw.len() {
            canonical = false;
        }
        let eq = member
            .bytes()
            .position(|c| c == b'=')
            .ok_or(TraceContextError::TraceStateMember)?;
        let (key, value) = (
            member.get(..eq).unwrap_or_default(),
            member.get(eq + 1..).unwrap_or_default(),
        );
        if !valid_key(key) {
            return Err(TraceContextError::TraceStateKey);
        }
        if !valid_value(value) {
            return Err(TraceContextError::TraceStateValue);
        }
        if keys[..count].contains(&key) {
            return Err(TraceContextError::TraceStateDuplicateKey);
        }
        if count == TRACESTATE_MAX_MEMBERS {
            return Err(TraceContextError::TraceStateTooManyMembers);
        }
        keys[count] = key;
        count += 1;
    }
    if count == 0 {
        return Ok(TraceState::default());
    }
    if canonical {
        return Ok(TraceState(Cow::Borrowed(s)));
    }
    let mut out = String::with_capacity(s.len());
    for member in s.split(',').map(trim_ows).filter(|m| !m.is_empty()) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(member);
    }
    Ok(TraceState(Cow::Owned(out)))
}

impl<'a> TraceState<'a> {
    /// The empty trace state.
    pub const fn empty() -> Self {
        TraceState(Cow::Borrowed(""))
    }

    /// Parses a `tracestate` header value; see [`parse_tracestate`].
    pub fn parse(header: &'a str) -> Result<Self, TraceContextError> {
        parse_tracestate(header)
    }

    /// The canonical header value (`""` when empty): what to send as `tracestate`
    /// and what OTLP's `Span.trace_state` holds.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether there are no list-members (then no `tracestate` header should be sent).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of list-members.
    pub fn member_count(&self) -> usize {
        self.members().count()
    }

    /// The list-members as `(key, value)`, left to right.
    pub fn members(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.split(',').filter_map(|m| m.split_once('='))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether this trace state borrows the header it was parsed from (no allocation).
    pub fn is_borrowed(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }

    /// A trace state borrowing this one (never allocates).
    pub fn reborrow(&self) -> TraceState<'_> {
        TraceState(Cow::Borrowed(&self.0))
    }

    /// An owned copy, independent of the header it was parsed from.
    pub fn into_owned(self) -> TraceState<'static> {
        TraceState(Cow::Owned(self.0.into_owned()))
    }

    /// This trace state with `key=value` as its left-most member, as the W3C
    /// mutation rules say: an existing member of `key` is removed, and when the
    /// result would exceed 32 members the right-most is dropped.
    pub fn insert(&self, key: &str, value: &str) -> Result<TraceState<'static>, TraceContextError> {
        if !valid_key(key) {
            return Err(TraceContextError::TraceStateKey);
        }
        if !valid_value(value) {
            return Err(TraceContextError::TraceStateValue);
        }
        let mut out = String::with_capacity(key.len() + value.len() + 2 + self.0.len());
        out.push_str(key);
        out.push('=');
        out.push_str(value);
        // The new member is first; keep at most 31 others, dropping from the right.
        let others = self.members().filter(|(k, _)| *k != key);
        for (k, v) in others.take(TRACESTATE_MAX_MEMBERS - 1) {
            out.push(',');
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        Ok(TraceState(Cow::Owned(out)))
    }

    /// This trace state without the member of `key`.
    pub fn remove(&self, key: &str) -> TraceState<'static> {
        let mut out = String::with_capacity(self.0.len());
        for (k, v) in self.members().filter(|(k, _)| *k != key) {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        TraceState(Cow::Owned(out))
    }
}

impl fmt::Display for TraceState<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------
// traceparent.

/// A span context: the identity of a span as propagated between processes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SpanContext<'a> {
    /// The trace id.
    pub trace_id: TraceId,
    /// The span id (the `parent-id` of an incoming `traceparent`).
    pub span_id: SpanId,
    /// The W3C trace flags. For an incoming version `00` header, the byte as
    /// received (unknown bits included); for a higher version, only `sampled`.
    pub flags: u8,
    /// The W3C trace state.
    pub trace_state: TraceState<'a>,
    /// Whether the context came from another process (extracted from headers).
    pub remote: bool,
}

impl<'a> SpanContext<'a> {
    /// Whether both ids are non-zero.
    pub fn is_valid(&self) -> bool {
        self.trace_id != [0; 16] && self.span_id != [0; 8]
    }

    /// The `sampled` flag.
    pub fn is_sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }

    /// What a [`Sampler`] needs to know about this context as a parent.
    pub fn parent_info(&self) -> ParentInfo {
        ParentInfo {
            sampled: self.is_sampled(),
            remote: self.remote,
        }
    }

    /// The outgoing `traceparent` for this context; see [`format_traceparent`].
    pub fn traceparent(&self) -> TraceparentHeader {
        format_traceparent(self)
    }

    /// A context borrowing this one's trace state (never allocates).
    pub fn reborrow(&self) -> SpanContext<'_> {
        SpanContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.flags,
            trace_state: self.trace_state.reborrow(),
            remote: self.remote,
        }
    }

    /// An owned copy, independent of the headers it was parsed from.
    pub fn into_owned(self) -> SpanContext<'static> {
        SpanContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.flags,
            trace_state: self.trace_state.into_owned(),
            remote: self.remote,
        }
    }
}

/// Parses a `traceparent` header value into a remote span context (with an
/// empty trace state; see [`extract`] for both headers).
///
/// Leading and trailing optional whitespace (spaces, tabs) is ignored, as HTTP
/// servers strip it from field values. Version `00` must be exactly
/// `00-<32 hex>-<16 hex>-<2 hex>`; a higher version (`01`..`fe`) must be at least
/// 55 characters with a `-` after the flags if longer, and its fields after the
/// flags are ignored. Only lowercase hex is accepted; version `ff` and all-zero
/// ids are invalid. Any error means: start a new trace. Never allocates.
pub fn parse_traceparent(header: &str) -> Result<SpanContext<'static>, TraceContextError> {
    let h = trim_ows(header).as_bytes();
    if h.is_empty() {
        return Err(TraceContextError::Empty);
    }
    if h.len() < 3 || h[2] != b'-' {
        return Err(TraceContextError::Version);
    }
    let (version, bad) = hex_u64(&h[..2]);
    if bad & 0xf0 != 0 {
        return Err(TraceContextError::Version);
    }
    if version == 0xff {
        return Err(TraceContextError::Version);
    }
    if h.len() < TRACEPARENT_LEN || (version == 0 && h.len() != TRACEPARENT_LEN) {
        return Err(TraceContextError::Length);
    }
    if h[35] != b'-' || h[52] != b'-' || (h.len() > TRACEPARENT_LEN && h[TRACEPARENT_LEN] != b'-') {
        return Err(TraceContextError::Delimiter);
    }
    let (hi, bad_hi) = hex_u64(&h[3..19]);
    let (lo, bad_lo) = hex_u64(&h[19..35]);
    let (span, bad_span) = hex_u64(&h[36..52]);
    let (flags, bad_flags) = hex_u64(&h[53..55]);
    if (bad_hi | bad_lo | bad_span | bad_flags) & 0xf0 != 0 {
        return Err(TraceContextError::Hex);
    }
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&hi.to_be_bytes());
    trace_id[8..].copy_from_slice(&lo.to_be_bytes());
    let span_id = span.to_be_bytes();
    let mut flags = flags as u8;
    if version != 0 {
        // Only the sampled bit is defined for versions this code does not know.
        flags &= FLAG_SAMPLED;
    }
    if trace_id == [0; 16] {
        return Err(TraceContextError::ZeroTraceId);
    }
    if span_id == [0; 8] {
        return Err(TraceContextError::ZeroSpanId);
    }
    Ok(SpanContext {
        trace_id,
        span_id,
        flags,
        trace_state: TraceState::default(),
        remote: true,
    })
}

/// Extracts the parent context of an incoming request from its `traceparent`
/// and `tracestate` values (`""` for an absent header). The `tracestate` is read
/// only when the `traceparent` is valid, and an invalid `tracestate` is dropped
/// without affecting the `traceparent`. Allocates only when the `tracestate`
/// needs normalising (optional whitespace, empty members).
pub fn extract<'a>(traceparent: &str, tracestate: &'a str) -> Result<SpanContext<'a>, TraceContextError> {
    let sc = parse_traceparent(traceparent)?;
    Ok(SpanContext {
        trace_id: sc.trace_id,
        span_id: sc.span_id,
        flags: sc.flags,
        trace_state: parse_tracestate(tracestate).unwrap_or_default(),
        remote: true,
    })
}

/// A formatted version `00` `traceparent` value: `00-<trace id>-<span id>-<flags>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceparentHeader([u8; TRACEPARENT_LEN]);

impl TraceparentHeader {
    /// The header value as bytes.
    pub fn as_bytes(&self) -> &[u8; TRACEPARENT_LEN] {
        &self.0
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The header value's bytes.
    pub fn into_bytes(self) -> [u8; TRACEPARENT_LEN] {
        self.0
    }
}

impl fmt::Display for TraceparentHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TraceparentHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Writes `00-<trace id>-<span id>-<flags>` into `out`, with `flags` exactly as given.
pub fn write_traceparent(trace_id: &TraceId, span_id: &SpanId, flags: u8, out: &mut [u8; TRACEPARENT_LEN]) {
    out[0] = b'0';
    out[1] = b'0';
    out[2] = b'-';
    encode_hex(trace_id, &mut out[3..35]);
    out[35] = b'-';
    encode_hex(span_id, &mut out[36..52]);
    out[52] = b'-';
    encode_hex(&[flags], &mut out[53..55]);
}

/// The outgoing `traceparent` for `sc`, version `00`. Only the `sampled` flag is
/// written (the specification says unknown flags must be sent as zero, and the
/// Go SDK rejects `random` combined with `sampled`). Never allocates.
pub fn format_traceparent(sc: &SpanContext<'_>) -> TraceparentHeader {
    let mut out = [0u8; TRACEPARENT_LEN];
    write_traceparent(&sc.trace_id, &sc.span_id, sc.flags & FLAG_SAMPLED, &mut out);
    TraceparentHeader(out)
}

// ---------------------------------------------------------------------------
// Ids.

/// A source of trace and span ids. Implementations never return all-zero ids.
pub trait IdSource {
    /// A new trace id.
    fn trace_id(&mut self) -> TraceId;
    /// A new span id.
    fn span_id(&mut self) -> SpanId;
}

/// xoshiro256++ (Blackman and Vigna): fast, 256 bits of state, passes BigCrush.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Xoshiro256pp {
    s: [u64; 4],
}

#[inline]
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Xoshiro256pp {
    /// State expanded from two seed words with splitmix64; never all zero.
    fn from_seeds(a: u64, b: u64) -> Self {
        let mut x = a;
        let s0 = splitmix64(&mut x);
        let s1 = splitmix64(&mut x);
        x ^= b;
        let s2 = splitmix64(&mut x);
        let s3 = splitmix64(&mut x);
        let mut s = [s0, s1, s2, s3];
        if s == [0; 4] {
            s[0] = 1;
        }
        Xoshiro256pp { s }
    }

    /// Seeded from std's per-thread random hasher keys (read from the operating
    /// system once per thread), the process id, the time, a stack address, a
    /// process-wide counter and whatever the host gave [`add_entropy`].
    fn from_entropy() -> Self {
        static SEEDED: AtomicU64 = AtomicU64::new(0);
        let n = SEEDED.fetch_add(1, Ordering::Relaxed);
        let (nanos, pid) = clock_and_pid();
        let marker = 0u8;
        let addr = std::ptr::addr_of!(marker) as usize;
        let extra = (
            EXTRA_ENTROPY[0].load(Ordering::Relaxed),
            EXTRA_ENTROPY[1].load(Ordering::Relaxed),
        );
        let mut a = RandomState::new().build_hasher();
        a.write_u64(n);
        a.write_u64(nanos);
        a.write_usize(addr);
        a.write_u32(pid);
        a.write_u64(extra.0);
        let ha = a.finish();
        let mut b = RandomState::new().build_hasher();
        b.write_u64(ha);
        b.write_u64(nanos.rotate_left(32) ^ n);
        b.write_u32(pid);
        b.write_u64(extra.1);
        Self::from_seeds(ha, b.finish())
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    #[inline]
    fn trace_id(&mut self) -> TraceId {
        loop {
            let hi = self.next_u64();
            let lo = self.next_u64();
            if hi | lo != 0 {
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&hi.to_be_bytes());
                id[8..].copy_from_slice(&lo.to_be_bytes());
                return id;
            }
        }
    }

    #[inline]
    fn span_id(&mut self) -> SpanId {
        loop {
            let v = self.next_u64();
            if v != 0 {
                return v.to_be_bytes();
            }
        }
    }
}

/// Bumped by [`reseed_after_fork`]; a thread whose generator was seeded in an
/// older epoch reseeds before its next id. Starts at 1 so that 0 means "never seeded".
static FORK_EPOCH: AtomicU64 = AtomicU64::new(1);

/// A thread's generator. Word-sized cells, read and written one word at a time,
/// so that each call's loads are forwarded from the previous call's stores.
struct ThreadRng {
    epoch: Cell<u64>,
    s: [Cell<u64>; 4],
}

thread_local! {
    static THREAD_RNG: ThreadRng = const {
        ThreadRng {
            epoch: Cell::new(0),
            s: [Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0)],
        }
    };
}

#[inline]
fn with_thread_rng<R>(mut f: impl FnMut(&mut Xoshiro256pp) -> R) -> R {
    let epoch = FORK_EPOCH.load(Ordering::Relaxed);
    let done = THREAD_RNG.try_with(|t| {
        let mut rng = if t.epoch.get() == epoch {
            Xoshiro256pp {
                s: [t.s[0].get(), t.s[1].get(), t.s[2].get(), t.s[3].get()],
            }
        } else {
            t.epoch.set(epoch);
            Xoshiro256pp::from_entropy()
        };
        let r = f(&mut rng);
        for (cell, word) in t.s.iter().zip(rng.s) {
            cell.set(word);
        }
        r
    });
    match done {
        Ok(r) => r,
        // Thread-local storage already torn down (thread exit): seed a one-off generator.
        Err(_) => f(&mut Xoshiro256pp::from_entropy()),
    }
}

/// The wall clock in nanoseconds and the process id, where the platform has them.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn clock_and_pid() -> (u64, u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos, std::process::id())
}

/// wasm32-unknown-unknown has neither (std would panic): the wasm frontend must
/// give the generators entropy with [`add_entropy`].
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn clock_and_pid() -> (u64, u32) {
    (0, 0)
}

/// Entropy from the host, mixed into every later seeding (see [`add_entropy`]).
static EXTRA_ENTROPY: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Mixes `bytes` from the host into the seeds of the id generators and makes
/// every thread reseed before its next id. Hosts where std has no entropy
/// source (wasm32-unknown-unknown, where std's hash keys are constant) must call
/// this once at start-up with random bytes (e.g. 32 bytes of
/// `crypto.getRandomValues`), or every instance generates the same ids.
/// Elsewhere it is optional.
pub fn add_entropy(bytes: &[u8]) {
    let mut x = 0x6a09_e667_f3bc_c908u64 ^ bytes.len() as u64;
    let (mut a, mut b) = (0u64, 0u64);
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        x ^= u64::from_le_bytes(w);
        a ^= splitmix64(&mut x);
        b = b.rotate_left(17) ^ splitmix64(&mut x);
    }
    EXTRA_ENTROPY[0].fetch_xor(a, Ordering::Relaxed);
    EXTRA_ENTROPY[1].fetch_xor(b, Ordering::Relaxed);
    FORK_EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// Tells the id generators that the process has forked: every thread reseeds
/// before its next id, so parent and child do not produce the same ids. A C
/// frontend calls this from a `pthread_atfork` child handler (it is a single
/// atomic increment). Hosts that never fork without `exec` need not call it.
pub fn reseed_after_fork() {
    FORK_EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// The id generator for production use: a per-thread xoshiro256++ seeded once
/// per thread (see [`reseed_after_fork`]). Zero-sized; any number of copies
/// share the calling thread's generator. No system call, lock or allocation
/// per id. Ids are random, so the `traceidratio` sampler sees uniform trace ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdGenerator;

impl IdGenerator {
    /// A new random, non-zero trace id.
    #[inline]
    pub fn new_trace_id(&self) -> TraceId {
        with_thread_rng(Xoshiro256pp::trace_id)
    }

    /// A new random, non-zero span id.
    #[inline]
    pub fn new_span_id(&self) -> SpanId {
        with_thread_rng(Xoshiro256pp::span_id)
    }
}

impl IdSource for IdGenerator {
    #[inline]
    fn trace_id(&mut self) -> TraceId {
        self.new_trace_id()
    }

    #[inline]
    fn span_id(&mut self) -> SpanId {
        self.new_span_id()
    }
}

/// A new random, non-zero trace id from the calling thread's generator.
#[inline]
pub fn new_trace_id() -> TraceId {
    IdGenerator.new_trace_id()
}

/// A new random, non-zero span id from the calling thread's generator.
#[inline]
pub fn new_span_id() -> SpanId {
    IdGenerator.new_span_id()
}

/// An id generator with its own xoshiro256++ state: deterministic when built
/// with [`SeededIdGenerator::from_seed`] (tests, replays, benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededIdGenerator(Xoshiro256pp);

impl SeededIdGenerator {
    /// A generator whose ids depend only on `seed`.
    pub fn from_seed(seed: u64) -> Self {
        SeededIdGenerator(Xoshiro256pp::from_seeds(seed, 0))
    }

    /// A generator seeded from the same sources as [`IdGenerator`].
    pub fn from_entropy() -> Self {
        SeededIdGenerator(Xoshiro256pp::from_entropy())
    }
}

impl IdSource for SeededIdGenerator {
    #[inline]
    fn trace_id(&mut self) -> TraceId {
        self.0.trace_id()
    }

    #[inline]
    fn span_id(&mut self) -> SpanId {
        self.0.span_id()
    }
}

// ---------------------------------------------------------------------------
// Span start.

/// What [`start_span`] decided for a new span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartDecision<'a> {
    /// The trace id: the parent's, or a new one for a root span.
    pub trace_id: TraceId,
    /// The new span's id.
    pub span_id: SpanId,
    /// The parent's span id; `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// Whether the span is sampled (recorded and exported).
    pub sampled: bool,
    /// The new span's W3C trace flags (`sampled` only), for the outgoing `traceparent`.
    pub trace_flags: u8,
    /// OTLP `Span.flags`: the trace flags in bits 0-7,
    /// [`SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`] always, and
    /// [`SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`] when the parent is remote.
    pub flags: u32,
    /// The trace state, inherited from the parent (borrowed, never copied).
    pub trace_state: TraceState<'a>,
}

impl StartDecision<'_> {
    /// The new span's own context (local), e.g. to inject into an outgoing request.
    pub fn span_context(&self) -> SpanContext<'_> {
        SpanContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.trace_flags,
            trace_state: self.trace_state.reborrow(),
            remote: false,
        }
    }

    /// The `traceparent` naming the new span as the parent of an outgoing request.
    pub fn traceparent(&self) -> TraceparentHeader {
        let mut out = [0u8; TRACEPARENT_LEN];
        write_traceparent(&self.trace_id, &self.span_id, self.trace_flags, &mut out);
        TraceparentHeader(out)
    }
}

/// Starts a span: takes the trace id and trace state from a valid `parent` (an
/// invalid one, with a zero id, counts as none), or a new trace id from `ids`
/// for a root span; takes a new span id from `ids`; and asks `sampler` (the
/// configured `OTEL_TRACES_SAMPLER`, `parentbased_always_on` by default) whether
/// the span is sampled, telling it whether the parent is sampled and remote.
/// This is what the Go SDK's tracer does when otelhttp starts a SERVER span
/// under an extracted remote context. Never allocates.
pub fn start_span<'p, I: IdSource + ?Sized>(
    sampler: &Sampler,
    parent: Option<&'p SpanContext<'_>>,
    ids: &mut I,
) -> StartDecision<'p> {
    let parent = parent.filter(|p| p.is_valid());
    let (trace_id, parent_span_id, info, trace_state) = match parent {
        Some(p) => (
            p.trace_id,
            Some(p.span_id),
            Some(p.parent_info()),
            p.trace_state.reborrow(),
        ),
        None => (ids.trace_id(), None, None, TraceState::default()),
    };
    let span_id = ids.span_id();
    let sampled = sampler.should_sample(&trace_id, info);
    let trace_flags = if sampled { FLAG_SAMPLED } else { 0 };
    let mut flags = u32::from(trace_flags) | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK;
    if info.is_some_and(|p| p.remote) {
        flags |= SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK;
    }
    StartDecision {
        trace_id,
        span_id,
        parent_span_id,
        sampled,
        trace_flags,
        flags,
        trace_state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro256pp_reference_outputs() {
        // The reference implementation's first outputs for state {1, 2, 3, 4}.
        let mut r = Xoshiro256pp { s: [1, 2, 3, 4] };
        assert_eq!(r.next_u64(), 41_943_041);
        assert_eq!(r.next_u64(), 58_720_359);
        assert_eq!(r.next_u64(), 3_588_806_011_781_223);
    }

    #[test]
    fn seeded_state_is_never_zero() {
        for seed in [0u64, 1, u64::MAX] {
            assert_ne!(Xoshiro256pp::from_seeds(seed, 0).s, [0; 4]);
        }
    }

    #[test]
    fn fork_epoch_reseeds_the_thread() {
        let snapshot = || THREAD_RNG.with(|t| (t.epoch.get(), t.s.each_ref().map(Cell::get)));
        let _ = new_span_id(); // seeded in the current epoch
        let (epoch_before, s) = snapshot();
        let mut continued = Xoshiro256pp { s };
        let expected_without_reseed = continued.span_id();
        reseed_after_fork();
        let after_id = new_span_id();
        let (epoch_after, _) = snapshot();
        assert!(epoch_after > epoch_before);
        assert_ne!(after_id, expected_without_reseed);
    }

    #[test]
    fn added_entropy_reseeds_the_thread() {
        let snapshot = || THREAD_RNG.with(|t| (t.epoch.get(), t.s.each_ref().map(Cell::get)));
        let _ = new_trace_id();
        let (epoch_before, s) = snapshot();
        let expected_without_reseed = Xoshiro256pp { s }.trace_id();
        add_entropy(&[7u8; 32]);
        assert_ne!(EXTRA_ENTROPY[0].load(Ordering::Relaxed), 0);
        assert_ne!(new_trace_id(), expected_without_reseed);
        assert!(snapshot().0 > epoch_before);
        add_entropy(&[]); // harmless
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(hex_u64(b"0aff").0, 0x0aff);
        assert_eq!(hex_u64(b"0123456789abcdef").0, 0x0123_4567_89ab_cdef);
        assert_eq!(hex_u64(b"0123456789abcdef").1 & 0xf0, 0);
        for bad in [&b"0A"[..], b"0g", b"/0", b":0", b"`0", b"0 ", b"\xff0"] {
            assert_ne!(hex_u64(bad).1 & 0xf0, 0, "{bad:?}");
        }
        let mut out = [0u8; 4];
        encode_hex(&[0x0a, 0xff], &mut out);
        assert_eq!(&out, b"0aff");
    }

    #[test]
    fn key_grammar_edges() {
        assert!(valid_key("a"));
        assert!(!valid_key("1a")); // a simple key starts with a letter
        assert!(valid_key("1a@b")); // a tenant may start with a digit
        assert!(valid_key(&"z".repeat(256)));
        assert!(!valid_key(&"z".repeat(257)));
        assert!(valid_key(&format!("{}@{}", "t".repeat(241), "v".repeat(14))));
        assert!(!valid_key(&format!("{}@v", "t".repeat(242))));
        assert!(!valid_key(&format!("t@{}", "v".repeat(15))));
        assert!(!valid_key("t@1v")); // a system id starts with a letter
        for bad in ["", "@", "a@", "@a", "a@@b", "a@b@c", "A", "a.b", "a b", "a="] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }
}
