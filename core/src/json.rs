//! OTLP/JSON for `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`: transcodes a finished
//! `ExportTraceServiceRequest` (the protobuf bytes `envelope` and the batcher
//! write) into the OTLP "JSON Protobuf Encoding".
//!
//! Owns: a small protobuf reader for exactly the trace messages
//! (`ExportTraceServiceRequest` → `ResourceSpans` → `Resource`/`ScopeSpans` →
//! `InstrumentationScope`/`Span` → `KeyValue`/`AnyValue`/`ArrayValue`/
//! `KeyValueList`/`Event`/`Link`/`Status`, plus `EntityRef`), with the field
//! numbers of opentelemetry-proto, and the JSON writer (escaping, hex, base64,
//! numbers).
//! Must not: panic on any input, recurse deeper than [`MAX_DEPTH`], allocate
//! other than by growing `out`, or know the span model (it reads bytes only).
//!
//! The output follows the OTLP specification: lowerCamelCase field names;
//! `traceId`, `spanId` and `parentSpanId` as lowercase hex; enums as integers;
//! 64-bit integers as decimal strings; `bytesValue` as padded standard base64;
//! doubles as JSON numbers, or the strings `"NaN"`, `"Infinity"`,
//! `"-Infinity"`. Fields holding their default value are omitted, except where
//! a strict reader needs them: `KeyValue.key`, `ArrayValue.values` and
//! `KeyValueList.values` (written even when empty, so an empty array is
//! `{"arrayValue":{"values":[]}}`), and every `EntityRef` field.
//!
//! Protobuf semantics are kept: unknown fields are skipped by wire type
//! (groups included), a repeated scalar field's last occurrence wins, a
//! singular message field that occurs more than once is merged, and
//! `AnyValue`'s oneof takes its last member (merging a trailing run of the
//! same message member), as prost and the reference implementations do.
//! Repeated fields may be interleaved with others on the wire.

use std::fmt;
use std::io::Write as _;

/// The deepest nesting of messages (the request is depth 0) the transcoder
/// accepts; deeper input is an error, never a stack overflow. A span's
/// attribute values sit at depth 5, each nested array adds 2 and each nested
/// kvlist 3, so every value the frontends accept (nested at most 32 levels
/// from C, 64 from JS) converts: 5 + 3 × 64 = 197. (At 64, one span with a
/// value nested ~20 kvlists deep made the whole http/json batch fail.) The
/// recursion stays within a few hundred KiB of stack.
pub const MAX_DEPTH: usize = 256;

/// Appends the OTLP/JSON form of the `ExportTraceServiceRequest` in
/// `protobuf` to `out`.
///
/// Allocates only by growing `out` (it reserves about twice the input up
/// front). On error, `out` is left as it was at the call.
pub fn request_to_json(protobuf: &[u8], out: &mut Vec<u8>) -> Result<(), JsonError> {
    let start = out.len();
    out.reserve(protobuf.len().saturating_mul(2).saturating_add(2));
    let mut w = Writer { out, first: true };
    let r = w.request(&Msg::One { buf: protobuf, base: 0 }, 0);
    if r.is_err() {
        w.out.truncate(start);
    }
    r
}

/// Malformed protobuf input: what was wrong, and at which byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    offset: usize,
    message: &'static str,
    field: u32,
    problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Truncated,
    VarintTooLong,
    LengthOverrun(u64),
    InvalidKey(u64),
    FieldZero,
    InvalidWireType(u8),
    WrongWireType { expected: u8, found: u8 },
    UnexpectedEndGroup,
    UnclosedGroup,
    InvalidUtf8,
    TooDeep,
}

impl JsonError {
    /// Byte offset in the protobuf input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

fn wire_type_name(w: u8) -> &'static str {
    match w {
        VARINT => "varint",
        I64 => "64-bit",
        LEN => "length-delimited",
        3 => "start-group",
        4 => "end-group",
        I32 => "32-bit",
        _ => "invalid",
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed OTLP protobuf at byte {}", self.offset)?;
        if self.field != 0 {
            write!(f, " ({} field {})", self.message, self.field)?;
        } else {
            write!(f, " (in {})", self.message)?;
        }
        f.write_str(": ")?;
        match self.problem {
            Problem::Truncated => f.write_str("truncated field"),
            Problem::VarintTooLong => f.write_str("varint longer than 10 bytes or above 64 bits"),
            Problem::LengthOverrun(n) => write!(f, "length {n} runs past the end of the enclosing message"),
            Problem::InvalidKey(k) => write!(f, "field key {k} is too large"),
            Problem::FieldZero => f.write_str("field number 0"),
            Problem::InvalidWireType(w) => write!(f, "invalid wire type {w}"),
            Problem::WrongWireType { expected, found } => write!(
                f,
                "wire type {} where {} was expected",
                wire_type_name(found),
                wire_type_name(expected)
            ),
            Problem::UnexpectedEndGroup => f.write_str("end-group tag without a matching start-group"),
            Problem::UnclosedGroup => f.write_str("group without an end-group tag"),
            Problem::InvalidUtf8 => f.write_str("invalid UTF-8 in a string field"),
            Problem::TooDeep => write!(f, "messages nested deeper than {MAX_DEPTH} levels"),
        }
    }
}

impl std::error::Error for JsonError {}

fn err(offset: usize, message: &'static str, field: u32, problem: Problem) -> JsonError {
    JsonError {
        offset,
        message,
        field,
        problem,
    }
}

// ---------------------------------------------------------------------------
// Protobuf reader

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// One field's value, as the wire gives it.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Varint(u64),
    I64(u64),
    I32(u32),
    /// Content and its absolute offset in the input.
    Len(&'a [u8], usize),
    /// A group, already skipped.
    Group,
    EndGroup,
}

impl Val<'_> {
    fn wire_type(&self) -> u8 {
        match self {
            Val::Varint(_) => VARINT,
            Val::I64(_) => I64,
            Val::Len(..) => LEN,
            Val::Group => 3,
            Val::EndGroup => 4,
            Val::I32(_) => I32,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    num: u32,
    val: Val<'a>,
    /// Absolute offset of the field's key.
    pos: usize,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    fn at(&self) -> usize {
        self.base + self.pos
    }

    #[inline(always)]
    fn varint(&mut self, field: u32) -> Result<u64, JsonError> {
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        self.varint_long(field)
    }

    #[inline(never)]
    fn varint_long(&mut self, field: u32) -> Result<u64, JsonError> {
        let start = self.at();
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(err(start, self.message, field, Problem::Truncated));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(err(start, self.message, field, Problem::VarintTooLong));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(err(start, self.message, field, Problem::VarintTooLong))
    }

    #[inline(always)]
    fn take(&mut self, n: usize, field: u32, start: usize) -> Result<&'a [u8], JsonError> {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => Err(err(start, self.message, field, Problem::Truncated)),
        }
    }

    /// The next field, groups skipped; `EndGroup` is returned for the caller to judge.
    #[inline]
    fn next(&mut self, depth: usize) -> Result<Field<'a>, JsonError> {
        let pos = self.at();
        let key = self.varint(0)?;
        if key > u64::from(u32::MAX) {
            return Err(err(pos, self.message, 0, Problem::InvalidKey(key)));
        }
        let num = (key >> 3) as u32;
        if num == 0 {
            return Err(err(pos, self.message, 0, Problem::FieldZero));
        }
        let val = match (key & 7) as u8 {
            VARINT => Val::Varint(self.varint(num)?),
            I64 => {
                let b = self.take(8, num, pos)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Val::I64(u64::from_le_bytes(a))
            }
            LEN => {
                let len = self.varint(num)?;
                let remaining = self.buf.len().saturating_sub(self.pos);
                if len > remaining as u64 {
                    return Err(err(pos, self.message, num, Problem::LengthOverrun(len)));
                }
                let off = self.at();
                Val::Len(self.take(len as usize, num, pos)?, off)
            }
            I32 => {
                let b = self.take(4, num, pos)?;
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                Val::I32(u32::from_le_bytes(a))
            }
            3 => {
                self.skip_group(num, pos, depth + 1)?;
                Val::Group
            }
            4 => Val::EndGroup,
            w => return Err(err(pos, self.message, num, Problem::InvalidWireType(w))),
        };
        Ok(Field { num, val, pos })
    }

    fn skip_group(&mut self, num: u32, start: usize, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(err(start, self.message, num, Problem::TooDeep));
        }
        loop {
            if self.pos >= self.buf.len() {
                return Err(err(start, self.message, num, Problem::UnclosedGroup));
            }
            let f = self.next(depth)?;
            if let Val::EndGroup = f.val {
                if f.num == num {
                    return Ok(());
                }
                return Err(err(f.pos, self.message, f.num, Problem::UnexpectedEndGroup));
            }
        }
    }
}

/// Callback over a message's fields: gets each field's ordinal (its index in
/// the message, across merged parts) and returns whether to go on.
type Visit<'v, 'a> = dyn FnMut(usize, Field<'a>) -> Result<bool, JsonError> + 'v;

/// A message's content: one byte range, or (protobuf merge semantics) the
/// concatenation of every occurrence of a field in a parent message, from
/// the parent's field ordinal `from` on.
#[derive(Clone, Copy)]
enum Msg<'a, 'p> {
    One {
        buf: &'a [u8],
        base: usize,
    },
    Merged {
        parent: &'p Msg<'a, 'p>,
        field: u32,
        from: usize,
    },
}

/// Walks the fields of one byte range, numbering them from `*ord`.
fn each_in<'a, F>(
    buf: &'a [u8],
    base: usize,
    (message, depth): (&'static str, usize),
    ord: &mut usize,
    f: &mut F,
) -> Result<bool, JsonError>
where
    F: FnMut(usize, Field<'a>) -> Result<bool, JsonError> + ?Sized,
{
    let mut r = Reader {
        buf,
        pos: 0,
        base,
        message,
    };
    while r.pos < r.buf.len() {
        let field = r.next(depth)?;
        if let Val::EndGroup = field.val {
            return Err(err(field.pos, message, field.num, Problem::UnexpectedEndGroup));
        }
        let o = *ord;
        *ord += 1;
        if !f(o, field)? {
            return Ok(false);
        }
    }
    Ok(true)
}

impl<'a, 'p> Msg<'a, 'p> {
    /// The message from absolute offset `pos` on, where `pos` is a field
    /// boundary found by an earlier pass (a merged message is not cut).
    fn tail(&self, pos: usize) -> Msg<'a, 'p> {
        match *self {
            Msg::One { buf, base } => match pos.checked_sub(base).and_then(|i| buf.get(i..)) {
                Some(rest) => Msg::One { buf: rest, base: pos },
                None => *self,
            },
            m => m,
        }
    }

    fn offset(&self) -> usize {
        match self {
            Msg::One { base, .. } => *base,
            Msg::Merged { parent, .. } => parent.offset(),
        }
    }

    /// Calls `f` for each field in wire order; stops early when `f` says so.
    /// Generic so the common case (one byte range) inlines `f`; merged
    /// messages go through `each_dyn`, which keeps the recursion finite.
    fn each<F>(&self, message: &'static str, depth: usize, mut f: F) -> Result<bool, JsonError>
    where
        F: FnMut(usize, Field<'a>) -> Result<bool, JsonError>,
    {
        let mut ord = 0;
        match *self {
            Msg::One { buf, base } => each_in(buf, base, (message, depth), &mut ord, &mut f),
            Msg::Merged { parent, field, from } => {
                // The parent was scanned already, so walking it again cannot fail
                // but through `f`.
                parent.each_dyn(message, depth.saturating_sub(1), &mut |o, pf| {
                    if pf.num != field || o < from {
                        return Ok(true);
                    }
                    match pf.val {
                        Val::Len(buf, base) => each_in(buf, base, (message, depth), &mut ord, &mut f),
                        v => Err(err(
                            pf.pos,
                            message,
                            pf.num,
                            Problem::WrongWireType {
                                expected: LEN,
                                found: v.wire_type(),
                            },
                        )),
                    }
                })
            }
        }
    }

    fn each_dyn(&self, message: &'static str, depth: usize, f: &mut Visit<'_, 'a>) -> Result<bool, JsonError> {
        self.each(message, depth, f)
    }
}

const NONE: u8 = 0xff;

/// Expected wire type per field number (index), `NONE` for unknown fields.
const fn schema<const N: usize>(fields: &[(usize, u8)]) -> [u8; N] {
    let mut s = [NONE; N];
    let mut i = 0;
    while i < fields.len() {
        s[fields[i].0] = fields[i].1;
        i += 1;
    }
    s
}

const REQUEST: [u8; 2] = schema(&[(1, LEN)]);
const RESOURCE_SPANS: [u8; 4] = schema(&[(1, LEN), (2, LEN), (3, LEN)]);
const RESOURCE: [u8; 4] = schema(&[(1, LEN), (2, VARINT), (3, LEN)]);
const ENTITY_REF: [u8; 5] = schema(&[(1, LEN), (2, LEN), (3, LEN), (4, LEN)]);
const SCOPE_SPANS: [u8; 4] = schema(&[(1, LEN), (2, LEN), (3, LEN)]);
const SCOPE: [u8; 5] = schema(&[(1, LEN), (2, LEN), (3, LEN), (4, VARINT)]);
const SPAN: [u8; 17] = schema(&[
    (1, LEN),
    (2, LEN),
    (3, LEN),
    (4, LEN),
    (5, LEN),
    (6, VARINT),
    (7, I64),
    (8, I64),
    (9, LEN),
    (10, VARINT),
    (11, LEN),
    (12, VARINT),
    (13, LEN),
    (14, VARINT),
    (15, LEN),
    (16, I32),
]);
const EVENT: [u8; 5] = schema(&[(1, I64), (2, LEN), (3, LEN), (4, VARINT)]);
const LINK: [u8; 7] = schema(&[(1, LEN), (2, LEN), (3, LEN), (4, LEN), (5, VARINT), (6, I32)]);
// Field 1 (deprecated_code) is reserved: skipped as unknown.
const STATUS: [u8; 4] = schema(&[(2, LEN), (3, VARINT)]);
const KEY_VALUE: [u8; 4] = schema(&[(1, LEN), (2, LEN), (3, VARINT)]);
const ANY_VALUE: [u8; 9] = schema(&[
    (1, LEN),
    (2, VARINT),
    (3, VARINT),
    (4, I64),
    (5, LEN),
    (6, LEN),
    (7, LEN),
    (8, VARINT),
]);
const VALUES: [u8; 2] = schema(&[(1, LEN)]);

/// What one pass over a message found: per known field number, how often it
/// occurs and its last value; for a oneof message, the last member and
/// where its trailing run begins.
struct Scan<'a, const N: usize> {
    count: [u32; N],
    /// Offset of each field's first occurrence (where repeated fields start).
    first: [usize; N],
    last: [Val<'a>; N],
    oneof: u32,
    oneof_from: usize,
    oneof_run: u32,
}

/// Fills `s` (fresh from `Scan::new`) from one pass over `m`, checking the
/// wire types of the known fields.
fn scan<'a, const N: usize>(
    s: &mut Scan<'a, N>,
    m: &Msg<'a, '_>,
    (message, depth): (&'static str, usize),
    schema: &[u8; N],
    oneof: bool,
) -> Result<(), JsonError> {
    m.each(message, depth, |ord, f| {
        let n = f.num as usize;
        let Some(&expected) = schema.get(n) else {
            return Ok(true);
        };
        if expected == NONE {
            return Ok(true);
        }
        let found = f.val.wire_type();
        if found != expected {
            return Err(err(f.pos, message, f.num, Problem::WrongWireType { expected, found }));
        }
        if s.count[n] == 0 {
            s.first[n] = f.pos;
        }
        s.count[n] = s.count[n].saturating_add(1);
        s.last[n] = f.val;
        if oneof {
            if s.oneof != f.num {
                s.oneof = f.num;
                s.oneof_from = ord;
                s.oneof_run = 0;
            }
            s.oneof_run = s.oneof_run.saturating_add(1);
        }
        Ok(true)
    })?;
    Ok(())
}

impl<'a, const N: usize> Scan<'a, N> {
    fn new() -> Self {
        Scan {
            count: [0; N],
            first: [0; N],
            last: [Val::Varint(0); N],
            oneof: 0,
            oneof_from: 0,
            oneof_run: 0,
        }
    }

    fn count(&self, num: usize) -> u32 {
        self.count.get(num).copied().unwrap_or(0)
    }
    fn first(&self, num: usize) -> usize {
        self.first.get(num).copied().unwrap_or(0)
    }
    fn last(&self, num: usize) -> Option<Val<'a>> {
        if self.count(num) == 0 {
            return None;
        }
        self.last.get(num).copied()
    }
    fn varint(&self, num: usize) -> u64 {
        match self.last(num) {
            Some(Val::Varint(v)) => v,
            _ => 0,
        }
    }
    fn fixed32(&self, num: usize) -> u32 {
        match self.last(num) {
            Some(Val::I32(v)) => v,
            _ => 0,
        }
    }
    fn fixed64(&self, num: usize) -> u64 {
        match self.last(num) {
            Some(Val::I64(v)) => v,
            _ => 0,
        }
    }
    fn bytes(&self, num: usize) -> Option<(&'a [u8], usize)> {
        match self.last(num) {
            Some(Val::Len(b, off)) => Some((b, off)),
            _ => None,
        }
    }

    /// The content of singular message field `num` of `m`, merged over the
    /// `run` occurrences from field ordinal `from` on.
    fn sub<'p>(&self, m: &'p Msg<'a, 'p>, num: usize, from: usize, run: u32) -> Option<Msg<'a, 'p>> {
        match (run, self.bytes(num)) {
            (0, _) | (_, None) => None,
            (1, Some((buf, base))) => Some(Msg::One { buf, base }),
            _ => Some(Msg::Merged {
                parent: m,
                field: num as u32,
                from,
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// JSON writer

const HEX: &[u8; 16] = b"0123456789abcdef";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// For each byte: 0 if it goes into a JSON string as it is, else the escape
/// letter (`u` for `\u00XX`).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

type Emit<'a, 'o> = for<'p> fn(&mut Writer<'o>, &Msg<'a, 'p>, usize) -> Result<(), JsonError>;

struct Writer<'o> {
    out: &'o mut Vec<u8>,
    /// No member or element written yet in the innermost object or array.
    first: bool,
}

impl<'o> Writer<'o> {
    fn open(&mut self, c: u8) {
        self.out.push(c);
        self.first = true;
    }

    fn close(&mut self, c: u8) {
        self.out.push(c);
        self.first = false;
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// `"name":`, after a comma if needed. Names are plain ASCII constants
    /// (inlined, so their copies are too).
    #[inline(always)]
    fn key(&mut self, name: &str) {
        self.out.reserve(name.len() + 4);
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// Writes `s` as a JSON string; returns the OR of its bytes (>= 0x80
    /// when it is not ASCII and needs a UTF-8 check).
    fn escaped(&mut self, s: &[u8]) -> u8 {
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        let mut start = 0;
        let mut all = 0;
        for (i, &b) in s.iter().enumerate() {
            all |= b;
            let e = ESCAPE[b as usize];
            if e == 0 {
                continue;
            }
            self.out.extend_from_slice(&s[start..i]);
            if e == b'u' {
                self.out
                    .extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            } else {
                self.out.extend_from_slice(&[b'\\', e]);
            }
            start = i + 1;
        }
        self.out.extend_from_slice(&s[start..]);
        self.out.push(b'"');
        all
    }

    /// A protobuf string field's content as a JSON string; it must be UTF-8
    /// (checked only when not ASCII; on error the caller discards the output).
    fn string(&mut self, s: &[u8], off: usize, message: &'static str, field: u32) -> Result<(), JsonError> {
        if self.escaped(s) >= 0x80 {
            if let Err(e) = std::str::from_utf8(s) {
                return Err(err(off + e.valid_up_to(), message, field, Problem::InvalidUtf8));
            }
        }
        Ok(())
    }

    fn hex(&mut self, b: &[u8]) {
        self.out.reserve(b.len() * 2 + 2);
        self.out.push(b'"');
        for &x in b {
            self.out
                .extend_from_slice(&[HEX[(x >> 4) as usize], HEX[(x & 15) as usize]]);
        }
        self.out.push(b'"');
    }

    fn base64(&mut self, b: &[u8]) {
        self.out.reserve(b.len().div_ceil(3) * 4 + 2);
        self.out.push(b'"');
        let mut chunks = b.chunks_exact(3);
        for c in &mut chunks {
            let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
            self.out.extend_from_slice(&[
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                B64[(n >> 6) as usize & 63],
                B64[n as usize & 63],
            ]);
        }
        match *chunks.remainder() {
            [a] => {
                let n = u32::from(a) << 16;
                self.out
                    .extend_from_slice(&[B64[(n >> 18) as usize & 63], B64[(n >> 12) as usize & 63], b'=', b'=']);
            }
            [a, b] => {
                let n = (u32::from(a) << 16) | (u32::from(b) << 8);
                self.out.extend_from_slice(&[
                    B64[(n >> 18) as usize & 63],
                    B64[(n >> 12) as usize & 63],
                    B64[(n >> 6) as usize & 63],
                    b'=',
                ]);
            }
            _ => {}
        }
        self.out.push(b'"');
    }

    fn uint(&mut self, mut v: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&buf[i..]);
    }

    fn int(&mut self, v: i64) {
        if v < 0 {
            self.out.push(b'-');
        }
        self.uint(v.unsigned_abs());
    }

    /// A 64-bit integer, as proto3 JSON writes it: a decimal string.
    fn quoted_int(&mut self, v: i64) {
        self.out.push(b'"');
        self.int(v);
        self.out.push(b'"');
    }

    fn quoted_uint(&mut self, v: u64) {
        self.out.push(b'"');
        self.uint(v);
        self.out.push(b'"');
    }

    fn double(&mut self, v: f64) {
        if v.is_nan() {
            self.out.extend_from_slice(b"\"NaN\"");
        } else if v.is_infinite() {
            self.out
                .extend_from_slice(if v > 0.0 { b"\"Infinity\"" } else { b"\"-Infinity\"" });
        } else {
            // Shortest digits that read back to the same double; exponent form
            // only where the plain form would be long. Always with a '.' or an
            // 'e', so readers see a double (and -0.0 keeps its sign).
            let start = self.out.len();
            let a = v.abs();
            if a != 0.0 && !(1e-6..1e21).contains(&a) {
                let _ = write!(self.out, "{v:e}");
            } else {
                let _ = write!(self.out, "{v}");
            }
            if !self.out[start..].iter().any(|&c| c == b'.' || c == b'e') {
                self.out.extend_from_slice(b".0");
            }
        }
    }

    // -- fields --------------------------------------------------------------

    fn str_field<const N: usize>(
        &mut self,
        s: &Scan<'_, N>,
        num: usize,
        name: &str,
        message: &'static str,
    ) -> Result<(), JsonError> {
        if let Some((b, off)) = s.bytes(num) {
            if !b.is_empty() {
                self.key(name);
                self.string(b, off, message, num as u32)?;
            }
        }
        Ok(())
    }

    fn hex_field<const N: usize>(&mut self, s: &Scan<'_, N>, num: usize, name: &str) {
        if let Some((b, _)) = s.bytes(num) {
            if !b.is_empty() {
                self.key(name);
                self.hex(b);
            }
        }
    }

    fn u32_field<const N: usize>(&mut self, s: &Scan<'_, N>, num: usize, name: &str) {
        let v = s.varint(num) as u32;
        if v != 0 {
            self.key(name);
            self.uint(u64::from(v));
        }
    }

    fn i32_field<const N: usize>(&mut self, s: &Scan<'_, N>, num: usize, name: &str) {
        let v = s.varint(num) as i32;
        if v != 0 {
            self.key(name);
            self.int(i64::from(v));
        }
    }

    fn fixed32_field<const N: usize>(&mut self, s: &Scan<'_, N>, num: usize, name: &str) {
        let v = s.fixed32(num);
        if v != 0 {
            self.key(name);
            self.uint(u64::from(v));
        }
    }

    fn fixed64_field<const N: usize>(&mut self, s: &Scan<'_, N>, num: usize, name: &str) {
        let v = s.fixed64(num);
        if v != 0 {
            self.key(name);
            self.quoted_uint(v);
        }
    }

    /// A singular message field, merged over its occurrences.
    fn message_field<'a, const N: usize>(
        &mut self,
        m: &Msg<'a, '_>,
        s: &Scan<'a, N>,
        num: usize,
        name: &str,
        depth: usize,
        emit: Emit<'a, 'o>,
    ) -> Result<(), JsonError> {
        if let Some(sub) = s.sub(m, num, 0, s.count(num)) {
            self.key(name);
            emit(self, &sub, depth + 1)?;
        }
        Ok(())
    }

    /// A repeated message field as an array; omitted when empty unless `always`.
    fn repeated<'a, const N: usize>(
        &mut self,
        m: &Msg<'a, '_>,
        (s, always): (&Scan<'a, N>, bool),
        num: usize,
        (name, message): (&str, &'static str),
        depth: usize,
        emit: Emit<'a, 'o>,
    ) -> Result<(), JsonError> {
        let mut left = s.count(num);
        if left == 0 && !always {
            return Ok(());
        }
        self.key(name);
        self.open(b'[');
        if left > 0 {
            m.tail(s.first(num)).each(message, depth, |_, f| {
                if f.num as usize != num {
                    return Ok(true);
                }
                if let Val::Len(buf, base) = f.val {
                    self.comma();
                    emit(self, &Msg::One { buf, base }, depth + 1)?;
                }
                left -= 1;
                Ok(left > 0)
            })?;
        }
        self.close(b']');
        Ok(())
    }

    /// A repeated string field as an array, written even when empty.
    fn repeated_str<const N: usize>(
        &mut self,
        m: &Msg<'_, '_>,
        s: &Scan<'_, N>,
        num: usize,
        name: &str,
        (message, depth): (&'static str, usize),
    ) -> Result<(), JsonError> {
        let mut left = s.count(num);
        self.key(name);
        self.open(b'[');
        if left > 0 {
            m.tail(s.first(num)).each(message, depth, |_, f| {
                if f.num as usize != num {
                    return Ok(true);
                }
                if let Val::Len(b, off) = f.val {
                    self.comma();
                    self.string(b, off, message, f.num)?;
                }
                left -= 1;
                Ok(left > 0)
            })?;
        }
        self.close(b']');
        Ok(())
    }

    fn enter(&mut self, m: &Msg<'_, '_>, message: &'static str, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(err(m.offset(), message, 0, Problem::TooDeep));
        }
        self.open(b'{');
        Ok(())
    }

    // -- messages ------------------------------------------------------------

    fn request(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "ExportTraceServiceRequest";
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &REQUEST, false)?;
        self.enter(m, M, depth)?;
        self.repeated(m, (&s, false), 1, ("resourceSpans", M), depth, Self::resource_spans)?;
        self.close(b'}');
        Ok(())
    }

    fn resource_spans(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "ResourceSpans";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &RESOURCE_SPANS, false)?;
        self.message_field(m, &s, 1, "resource", depth, Self::resource)?;
        self.repeated(m, (&s, false), 2, ("scopeSpans", M), depth, Self::scope_spans)?;
        self.str_field(&s, 3, "schemaUrl", M)?;
        self.close(b'}');
        Ok(())
    }

    fn resource(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "Resource";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &RESOURCE, false)?;
        self.repeated(m, (&s, false), 1, ("attributes", M), depth, Self::key_value)?;
        self.u32_field(&s, 2, "droppedAttributesCount");
        self.repeated(m, (&s, false), 3, ("entityRefs", M), depth, Self::entity_ref)?;
        self.close(b'}');
        Ok(())
    }

    fn entity_ref(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "EntityRef";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &ENTITY_REF, false)?;
        for (num, name) in [(1, "schemaUrl"), (2, "type")] {
            let (b, off) = s.bytes(num).unwrap_or((&[][..], 0));
            self.key(name);
            self.string(b, off, M, num as u32)?;
        }
        self.repeated_str(m, &s, 3, "idKeys", (M, depth))?;
        self.repeated_str(m, &s, 4, "descriptionKeys", (M, depth))?;
        self.close(b'}');
        Ok(())
    }

    fn scope_spans(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "ScopeSpans";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &SCOPE_SPANS, false)?;
        self.message_field(m, &s, 1, "scope", depth, Self::scope)?;
        self.repeated(m, (&s, false), 2, ("spans", M), depth, Self::span)?;
        self.str_field(&s, 3, "schemaUrl", M)?;
        self.close(b'}');
        Ok(())
    }

    fn scope(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "InstrumentationScope";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &SCOPE, false)?;
        self.str_field(&s, 1, "name", M)?;
        self.str_field(&s, 2, "version", M)?;
        self.repeated(m, (&s, false), 3, ("attributes", M), depth, Self::key_value)?;
        self.u32_field(&s, 4, "droppedAttributesCount");
        self.close(b'}');
        Ok(())
    }

    fn span(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "Span";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &SPAN, false)?;
        self.hex_field(&s, 1, "traceId");
        self.hex_field(&s, 2, "spanId");
        self.str_field(&s, 3, "traceState", M)?;
        self.hex_field(&s, 4, "parentSpanId");
        self.fixed32_field(&s, 16, "flags");
        self.str_field(&s, 5, "name", M)?;
        self.i32_field(&s, 6, "kind");
        self.fixed64_field(&s, 7, "startTimeUnixNano");
        self.fixed64_field(&s, 8, "endTimeUnixNano");
        self.repeated(m, (&s, false), 9, ("attributes", M), depth, Self::key_value)?;
        self.u32_field(&s, 10, "droppedAttributesCount");
        self.repeated(m, (&s, false), 11, ("events", M), depth, Self::event)?;
        self.u32_field(&s, 12, "droppedEventsCount");
        self.repeated(m, (&s, false), 13, ("links", M), depth, Self::link)?;
        self.u32_field(&s, 14, "droppedLinksCount");
        self.message_field(m, &s, 15, "status", depth, Self::status)?;
        self.close(b'}');
        Ok(())
    }

    fn event(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "Span.Event";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &EVENT, false)?;
        self.fixed64_field(&s, 1, "timeUnixNano");
        self.str_field(&s, 2, "name", M)?;
        self.repeated(m, (&s, false), 3, ("attributes", M), depth, Self::key_value)?;
        self.u32_field(&s, 4, "droppedAttributesCount");
        self.close(b'}');
        Ok(())
    }

    fn link(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "Span.Link";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &LINK, false)?;
        self.hex_field(&s, 1, "traceId");
        self.hex_field(&s, 2, "spanId");
        self.str_field(&s, 3, "traceState", M)?;
        self.repeated(m, (&s, false), 4, ("attributes", M), depth, Self::key_value)?;
        self.u32_field(&s, 5, "droppedAttributesCount");
        self.fixed32_field(&s, 6, "flags");
        self.close(b'}');
        Ok(())
    }

    fn status(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "Status";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &STATUS, false)?;
        self.str_field(&s, 2, "message", M)?;
        self.i32_field(&s, 3, "code");
        self.close(b'}');
        Ok(())
    }

    fn key_value(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "KeyValue";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &KEY_VALUE, false)?;
        let (b, off) = s.bytes(1).unwrap_or((&[][..], 0));
        self.key("key");
        self.string(b, off, M, 1)?;
        self.message_field(m, &s, 2, "value", depth, Self::any_value)?;
        self.i32_field(&s, 3, "keyStrindex");
        self.close(b'}');
        Ok(())
    }

    fn any_value(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "AnyValue";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &ANY_VALUE, true)?;
        let n = s.oneof as usize;
        match (n, s.last(n)) {
            (1, Some(Val::Len(b, off))) => {
                self.key("stringValue");
                self.string(b, off, M, 1)?;
            }
            (2, Some(Val::Varint(v))) => {
                self.key("boolValue");
                self.out.extend_from_slice(if v != 0 { b"true" } else { b"false" });
            }
            (3, Some(Val::Varint(v))) => {
                self.key("intValue");
                self.quoted_int(v as i64);
            }
            (4, Some(Val::I64(v))) => {
                self.key("doubleValue");
                self.double(f64::from_bits(v));
            }
            (5 | 6, Some(_)) => {
                if let Some(sub) = s.sub(m, n, s.oneof_from, s.oneof_run) {
                    let (name, emit): (&str, Emit<'_, 'o>) = if n == 5 {
                        ("arrayValue", Self::array_value)
                    } else {
                        ("kvlistValue", Self::kvlist_value)
                    };
                    self.key(name);
                    emit(self, &sub, depth + 1)?;
                }
            }
            (7, Some(Val::Len(b, _))) => {
                self.key("bytesValue");
                self.base64(b);
            }
            (8, Some(Val::Varint(v))) => {
                self.key("stringValueStrindex");
                self.int(i64::from(v as i32));
            }
            _ => {}
        }
        self.close(b'}');
        Ok(())
    }

    fn array_value(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "ArrayValue";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &VALUES, false)?;
        self.repeated(m, (&s, true), 1, ("values", M), depth, Self::any_value)?;
        self.close(b'}');
        Ok(())
    }

    fn kvlist_value(&mut self, m: &Msg<'_, '_>, depth: usize) -> Result<(), JsonError> {
        const M: &str = "KeyValueList";
        self.enter(m, M, depth)?;
        let mut s = Scan::new();
        scan(&mut s, m, (M, depth), &VALUES, false)?;
        self.repeated(m, (&s, true), 1, ("values", M), depth, Self::key_value)?;
        self.close(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(pb: &[u8]) -> String {
        let mut out = Vec::new();
        request_to_json(pb, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn empty_request() {
        assert_eq!(json(&[]), "{}");
    }

    #[test]
    fn escapes_and_base64() {
        let mut w = Writer {
            out: &mut Vec::new(),
            first: true,
        };
        w.escaped(b"a\"b\\c\n\x01\x1f\x7f\xc3\xa9");
        w.base64(b"");
        w.base64(b"f");
        w.base64(b"fo");
        w.base64(b"foo");
        w.base64(b"foob");
        let s = String::from_utf8(w.out.clone()).unwrap();
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\n\\u0001\\u001f\x7fé\"\"\"\"Zg==\"\"Zm8=\"\"Zm9v\"\"Zm9vYg==\""
        );
    }

    #[test]
    fn doubles() {
        let cases: [(f64, &str); 9] = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5, "1.5"),
            (1e300, "1e300"),
            (-2.5e-7, "-2.5e-7"),
            (f64::NAN, "\"NaN\""),
            (f64::INFINITY, "\"Infinity\""),
            (f64::NEG_INFINITY, "\"-Infinity\""),
        ];
        for (v, want) in cases {
            let mut out = Vec::new();
            Writer {
                out: &mut out,
                first: true,
            }
            .double(v);
            assert_eq!(std::str::from_utf8(&out).unwrap(), want);
        }
    }
}
