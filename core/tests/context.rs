//! W3C Trace Context: the specification's valid and invalid `traceparent` and
//! `tracestate` examples (and the cases of the W3C test harness), round trips,
//! ids, sampling at span start, and a counting allocator proving that ids,
//! parsing a canonical header, starting a span and formatting allocate nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;

use otlpx_core::context::*;
use otlpx_core::encode::encode_span;
use otlpx_core::sampler::{RootSampler, Sampler};
use otlpx_core::{Span, SpanKind, SpanLimits};

// ---------------------------------------------------------------------------
// A per-thread counting allocator: tests run in parallel, so each counts its own thread.

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs_in<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = ALLOCS.with(|c| c.get());
    let r = f();
    (ALLOCS.with(|c| c.get()) - before, r)
}

// ---------------------------------------------------------------------------
// Helpers.

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const H_TRACE: &str = "12345678901234567890123456789012";
const H_SPAN: &str = "1234567890123456";

fn tp(version: &str, trace: &str, span: &str, flags: &str) -> String {
    format!("{version}-{trace}-{span}-{flags}")
}

fn err(h: &str) -> TraceContextError {
    match parse_traceparent(h) {
        Ok(sc) => panic!("{h:?} parsed as {sc:?}"),
        Err(e) => e,
    }
}

fn parent_based() -> Sampler {
    Sampler::default()
}

// ---------------------------------------------------------------------------
// traceparent: the specification's examples.

#[test]
fn spec_valid_examples() {
    let sc = parse_traceparent(TP).unwrap();
    assert_eq!(hex(&sc.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&sc.span_id), "00f067aa0ba902b7");
    assert_eq!(sc.flags, 0x01);
    assert!(sc.is_sampled());
    assert!(sc.remote);
    assert!(sc.trace_state.is_empty());
    assert!(sc.is_valid());

    let sc = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
    assert!(!sc.is_sampled());
    assert_eq!(sc.flags, 0);

    let sc = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    assert_eq!(hex(&sc.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&sc.span_id), "b7ad6b7169203331");
}

#[test]
fn flags_are_a_bit_field() {
    // `09` is sampled plus an unknown flag: sampled, and the byte is kept as received.
    let sc = parse_traceparent(&tp("00", H_TRACE, H_SPAN, "09")).unwrap();
    assert!(sc.is_sampled());
    assert_eq!(sc.flags, 0x09);
    // `03` (sampled + Level 2 random, what the Java SDK sends) joins the trace.
    let sc = parse_traceparent(&tp("00", H_TRACE, H_SPAN, "03")).unwrap();
    assert_eq!(sc.flags, FLAG_SAMPLED | FLAG_RANDOM);
    let sc = parse_traceparent(&tp("00", H_TRACE, H_SPAN, "02")).unwrap();
    assert!(!sc.is_sampled());
    let sc = parse_traceparent(&tp("00", H_TRACE, H_SPAN, "ff")).unwrap();
    assert!(sc.is_sampled());
    // Outgoing, only `sampled` is written.
    assert!(sc.traceparent().as_str().ends_with("-01"));
}

#[test]
fn invalid_version() {
    use TraceContextError::*;
    assert_eq!(err(&tp("ff", H_TRACE, H_SPAN, "01")), Version);
    assert_eq!(err(&tp("FF", H_TRACE, H_SPAN, "01")), Version);
    assert_eq!(err(&tp("0A", H_TRACE, H_SPAN, "01")), Version); // uppercase
    assert_eq!(err(&tp(".0", H_TRACE, H_SPAN, "01")), Version);
    assert_eq!(err(&tp("0.", H_TRACE, H_SPAN, "01")), Version);
    assert_eq!(err(&tp("000", H_TRACE, H_SPAN, "01")), Version);
    assert_eq!(err(&tp("0000", H_TRACE, H_SPAN, "01")), Version);
    assert_eq!(err(&tp("0", H_TRACE, H_SPAN, "01")), Version);
    assert_eq!(err("00"), Version);
    assert_eq!(err("zz-"), Version);
    assert_eq!(err(""), Empty);
    assert_eq!(err(" \t "), Empty);
}

#[test]
fn invalid_ids_and_flags() {
    use TraceContextError::*;
    // All-zero ids.
    assert_eq!(err(&tp("00", &"0".repeat(32), H_SPAN, "01")), ZeroTraceId);
    assert_eq!(err(&tp("00", H_TRACE, &"0".repeat(16), "01")), ZeroSpanId);
    assert_eq!(err(&tp("cc", &"0".repeat(32), H_SPAN, "01")), ZeroTraceId);
    // Uppercase hex anywhere.
    assert_eq!(err("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), Hex);
    assert_eq!(err("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"), Hex);
    assert_eq!(err("00-4bf92f3577b34da6a3ce929d0e0e473A-00f067aa0ba902b7-01"), Hex);
    assert_eq!(err(&tp("00", H_TRACE, H_SPAN, "0A")), Hex);
    // Characters that are not hex at all.
    assert_eq!(err("00-.2345678901234567890123456789012-1234567890123456-01"), Hex);
    assert_eq!(err("00-1234567890123456789012345678901.-1234567890123456-01"), Hex);
    assert_eq!(err("00-12345678901234567890123456789012-.234567890123456-01"), Hex);
    assert_eq!(err("00-12345678901234567890123456789012-123456789012345.-01"), Hex);
    assert_eq!(err("00-12345678901234567890123456789012-1234567890123456-.0"), Hex);
    assert_eq!(err("00-12345678901234567890123456789012-1234567890123456-0."), Hex);
    assert_eq!(err("00-g2345678901234567890123456789012-1234567890123456-01"), Hex);
    assert_eq!(err("00-12345678901234567890123456789012-1234567890123456-0g"), Hex);
    assert_eq!(err("00-1234567890123456789012345678901é-1234567890123456-01"), Length);
}

#[test]
fn invalid_lengths() {
    use TraceContextError::*;
    // The W3C harness: trace id, parent id and flags too long or too short.
    assert_eq!(err(&tp("00", &format!("{H_TRACE}3"), H_SPAN, "01")), Length);
    assert_eq!(err(&tp("00", &H_TRACE[..31], H_SPAN, "01")), Length);
    assert_eq!(err(&tp("00", H_TRACE, &format!("{H_SPAN}7"), "01")), Length);
    assert_eq!(err(&tp("00", H_TRACE, &H_SPAN[..15], "01")), Length);
    assert_eq!(err(&tp("00", H_TRACE, H_SPAN, "001")), Length);
    assert_eq!(err(&tp("00", H_TRACE, H_SPAN, "1")), Length);
    // Shorter than 55 for a higher version too.
    assert_eq!(err(&tp("cc", H_TRACE, H_SPAN, "1")), Length);
    assert_eq!(err(&tp("cc", &H_TRACE[..31], H_SPAN, "01")), Length);
    // A higher version with a longer trace id: the 36th character is not '-'.
    assert_eq!(err(&tp("cc", &format!("{H_TRACE}3"), H_SPAN, "01")), Delimiter);
    // Delimiters replaced.
    assert_eq!(err(&TP.replace("36-00", "36_00")), Delimiter);
    assert_eq!(err(&TP.replace("b7-01", "b7_01")), Delimiter);
}

#[test]
fn version_00_allows_nothing_after_the_flags() {
    use TraceContextError::*;
    assert_eq!(err(&format!("{}.", tp("00", H_TRACE, H_SPAN, "01"))), Length);
    assert_eq!(
        err(&format!(
            "{}-what-the-future-will-be-like",
            tp("00", H_TRACE, H_SPAN, "01")
        )),
        Length
    );
    assert_eq!(err(&format!("{}-", tp("00", H_TRACE, H_SPAN, "01"))), Length);
    // Two traceparent fields combined by a server (RFC 7230) are invalid.
    assert_eq!(err(&format!("{TP},{TP}")), Length);
}

#[test]
fn future_versions() {
    let sc = parse_traceparent(&tp("cc", H_TRACE, H_SPAN, "01")).unwrap();
    assert_eq!(hex(&sc.trace_id), H_TRACE);
    assert_eq!(hex(&sc.span_id), H_SPAN);
    assert!(sc.is_sampled());
    let sc = parse_traceparent(&format!(
        "{}-what-the-future-will-be-like",
        tp("cc", H_TRACE, H_SPAN, "01")
    ))
    .unwrap();
    assert_eq!(hex(&sc.trace_id), H_TRACE);
    // Only the sampled bit is read from a version this code does not know.
    let sc = parse_traceparent(&format!("{}-xx", tp("fe", H_TRACE, H_SPAN, "ff"))).unwrap();
    assert_eq!(sc.flags, FLAG_SAMPLED);
    // The flags must end the value or be followed by '-'.
    assert_eq!(
        err(&format!(
            "{}.what-the-future-will-be-like",
            tp("cc", H_TRACE, H_SPAN, "01")
        )),
        TraceContextError::Delimiter
    );
    assert_eq!(
        err(&format!("{}1", tp("cc", H_TRACE, H_SPAN, "01"))),
        TraceContextError::Delimiter
    );
    // Outgoing headers are always version 00.
    let sc = parse_traceparent(&tp("01", H_TRACE, H_SPAN, "01")).unwrap();
    assert_eq!(sc.traceparent().as_str(), tp("00", H_TRACE, H_SPAN, "01"));
}

#[test]
fn optional_whitespace_around_the_value() {
    for h in [
        format!(" {}", tp("00", H_TRACE, H_SPAN, "01")),
        format!("\t{}", tp("00", H_TRACE, H_SPAN, "01")),
        format!("{} ", tp("00", H_TRACE, H_SPAN, "01")),
        format!("{}\t", tp("00", H_TRACE, H_SPAN, "01")),
        format!("\t {} \t", tp("00", H_TRACE, H_SPAN, "01")),
    ] {
        let sc = parse_traceparent(&h).unwrap();
        assert_eq!(hex(&sc.trace_id), H_TRACE, "{h:?}");
    }
    // Other whitespace is not optional whitespace.
    assert!(parse_traceparent(&format!("{TP}\n")).is_err());
    assert!(parse_traceparent(&format!("\r{TP}")).is_err());
    // Nor inside the value.
    assert!(parse_traceparent(&TP.replace("-00f0", "- 00f0")).is_err());
}

#[test]
fn traceparent_round_trip() {
    let mut ids = SeededIdGenerator::from_seed(7);
    for i in 0..1000u32 {
        let sc = SpanContext {
            trace_id: ids.trace_id(),
            span_id: ids.span_id(),
            flags: (i % 2) as u8,
            ..SpanContext::default()
        };
        let h = format_traceparent(&sc);
        assert_eq!(h.as_str().len(), TRACEPARENT_LEN);
        assert_eq!(
            h.as_str(),
            format!("00-{}-{}-0{}", hex(&sc.trace_id), hex(&sc.span_id), i % 2)
        );
        let back = parse_traceparent(h.as_str()).unwrap();
        assert_eq!(
            (back.trace_id, back.span_id, back.flags),
            (sc.trace_id, sc.span_id, sc.flags)
        );
        assert!(back.remote);
    }
    // Parsing then formatting the spec's example gives it back.
    assert_eq!(parse_traceparent(TP).unwrap().traceparent().to_string(), TP);
    // The low-level writer writes the flags byte verbatim.
    let mut out = [0u8; TRACEPARENT_LEN];
    write_traceparent(&[0xab; 16], &[0xcd; 8], 0x03, &mut out);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        format!("00-{}-{}-03", "ab".repeat(16), "cd".repeat(8))
    );
}

// ---------------------------------------------------------------------------
// tracestate.

#[test]
fn tracestate_spec_examples() {
    let ts = parse_tracestate("rojo=00f067aa0ba902b7").unwrap();
    assert_eq!(ts.get("rojo"), Some("00f067aa0ba902b7"));
    assert!(ts.is_borrowed());
    let h = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    let ts = parse_tracestate(h).unwrap();
    assert!(ts.is_borrowed());
    assert_eq!(ts.as_str(), h);
    assert_eq!(ts.member_count(), 2);
    assert_eq!(
        ts.members().collect::<Vec<_>>(),
        vec![("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]
    );
    assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
    assert_eq!(ts.get("nope"), None);
    assert_eq!(ts.to_string(), h);
}

#[test]
fn tracestate_whitespace_and_empty_members() {
    for (input, canonical) in [
        ("", ""),
        (" ", ""),
        (",", ""),
        (" , \t,", ""),
        ("foo=1 \t , \t bar=2, \t baz=3", "foo=1,bar=2,baz=3"),
        ("foo=1\t \t,\t \tbar=2,\t \tbaz=3", "foo=1,bar=2,baz=3"),
        (" foo=1", "foo=1"),
        ("\tfoo=1", "foo=1"),
        ("foo=1 ", "foo=1"),
        ("foo=1\t", "foo=1"),
        ("\t foo=1 \t", "foo=1"),
        ("foo=1,,bar=2", "foo=1,bar=2"),
        ("foo=1,", "foo=1"),
        (",foo=1", "foo=1"),
        ("foo=1, ,bar=2", "foo=1,bar=2"),
        // Two header fields, the second empty, combined per RFC 7230.
        ("foo=1, ", "foo=1"),
        // Leading spaces belong to the value.
        ("foo= 1", "foo= 1"),
        ("foo=a b", "foo=a b"),
    ] {
        let ts = parse_tracestate(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(ts.as_str(), canonical, "{input:?}");
    }
    // Canonical after trimming the whole value: still borrowed.
    assert!(parse_tracestate("  foo=1,bar=2 ").unwrap().is_borrowed());
    assert!(!parse_tracestate("foo=1, bar=2").unwrap().is_borrowed());
    assert_eq!(parse_tracestate("foo= 1").unwrap().get("foo"), Some(" 1"));
}

#[test]
fn tracestate_member_limit() {
    let members = |n: usize| {
        (1..=n)
            .map(|i| format!("bar{i:02}={i:02}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let header = members(32);
    let ts = parse_tracestate(&header).unwrap();
    assert_eq!(ts.member_count(), 32);
    assert_eq!(ts.get("bar01"), Some("01"));
    assert_eq!(
        parse_tracestate(&members(33)),
        Err(TraceContextError::TraceStateTooManyMembers)
    );
    // Empty members do not count.
    let sparse = format!(
        "{},,, ,{}",
        members(16),
        (17..=32).map(|i| format!("bar{i}={i}")).collect::<Vec<_>>().join(",")
    );
    assert_eq!(parse_tracestate(&sparse).unwrap().member_count(), 32);
}

#[test]
fn tracestate_duplicates_drop_everything() {
    for h in ["foo=1,foo=1", "foo=1,foo=2", "foo=1,bar=2,foo=3", "foo=1, foo=2"] {
        assert_eq!(
            parse_tracestate(h),
            Err(TraceContextError::TraceStateDuplicateKey),
            "{h}"
        );
    }
    // The same key in two tenants is two keys.
    assert!(parse_tracestate("a@foo=1,b@foo=2,foo=3").is_ok());
}

#[test]
fn tracestate_keys() {
    use TraceContextError::*;
    for h in ["foo =1", "FOO=1", "foo.bar=1", "Foo=1", "1foo=1", "=1"] {
        assert_eq!(parse_tracestate(h), Err(TraceStateKey), "{h}");
    }
    // Vendor format (multi-tenant keys).
    for h in [
        "foo@=1,bar=2",
        "@foo=1,bar=2",
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
    ] {
        assert_eq!(parse_tracestate(h), Err(TraceStateKey), "{h}");
    }
    // Key length limits: 256, tenant 241, system 14.
    assert!(parse_tracestate(&format!("foo=1,{}=1", "z".repeat(256))).is_ok());
    assert_eq!(
        parse_tracestate(&format!("foo=1,{}=1", "z".repeat(257))),
        Err(TraceStateKey)
    );
    assert!(parse_tracestate(&format!("foo=1,{}@{}=1", "t".repeat(241), "v".repeat(14))).is_ok());
    assert_eq!(
        parse_tracestate(&format!("foo=1,{}@v=1", "t".repeat(242))),
        Err(TraceStateKey)
    );
    assert_eq!(
        parse_tracestate(&format!("foo=1,t@{}=1", "v".repeat(15))),
        Err(TraceStateKey)
    );
    // Members without '='.
    assert_eq!(parse_tracestate("foo"), Err(TraceStateMember));
    assert_eq!(parse_tracestate("foo=1,bar"), Err(TraceStateMember));
}

#[test]
fn tracestate_values() {
    use TraceContextError::*;
    for h in [
        "foo=bar=baz",
        "foo=,bar=3",
        "foo=",
        "foo= ",
        "foo=a\tb",
        "foo=\u{7f}",
        "foo=é",
        "foo=a\nb",
    ] {
        assert_eq!(parse_tracestate(h), Err(TraceStateValue), "{h:?}");
    }
    assert!(parse_tracestate(&format!("foo={}", "v".repeat(256))).is_ok());
    assert_eq!(
        parse_tracestate(&format!("foo={}", "v".repeat(257))),
        Err(TraceStateValue)
    );
}

#[test]
fn tracestate_all_allowed_characters() {
    let key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let key_with_vendor = format!("{key}@a-z0-9_-*/");
    let value: String = (0x20u8..=0x2b)
        .chain(0x2d..=0x3c)
        .chain(0x3e..=0x7e)
        .map(char::from)
        .collect();
    for k in [key.to_string(), key_with_vendor] {
        let h = format!("{k}={value}");
        let ts = parse_tracestate(&h).unwrap();
        assert_eq!(ts.get(&k), Some(value.as_str()));
        assert!(ts.is_borrowed());
    }
}

#[test]
fn tracestate_mutations() {
    let ts = parse_tracestate("congo=t61rcWkgMzE").unwrap();
    let ts2 = ts.insert("rojo", "00f067aa0ba902b7").unwrap();
    assert_eq!(ts2.as_str(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    // Updating moves the member to the left.
    let ts3 = ts2.insert("congo", "ucfJifl5GOE").unwrap();
    assert_eq!(ts3.as_str(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
    assert_eq!(ts3.remove("congo").as_str(), "rojo=00f067aa0ba902b7");
    assert_eq!(ts3.remove("nope").as_str(), ts3.as_str());
    assert_eq!(TraceState::default().insert("a", "1").unwrap().as_str(), "a=1");
    assert_eq!(ts.insert("A", "1"), Err(TraceContextError::TraceStateKey));
    assert_eq!(ts.insert("a", "1,b=2"), Err(TraceContextError::TraceStateValue));
    // A 33rd member pushes out the right-most.
    let full = (1..=32).map(|i| format!("k{i}={i}")).collect::<Vec<_>>().join(",");
    let ts = parse_tracestate(&full).unwrap().insert("new", "x").unwrap();
    assert_eq!(ts.member_count(), 32);
    assert_eq!(ts.members().next(), Some(("new", "x")));
    assert_eq!(ts.get("k32"), None);
    assert_eq!(ts.get("k31"), Some("31"));
    // Owned copies outlive the header.
    let owned = {
        let header = String::from("a=1,b=2");
        parse_tracestate(&header).unwrap().into_owned()
    };
    assert_eq!(owned.get("b"), Some("2"));
}

#[test]
fn extract_reads_both_headers() {
    let sc = extract(&tp("00", H_TRACE, H_SPAN, "00"), "foo=1,bar=2").unwrap();
    assert_eq!(hex(&sc.trace_id), H_TRACE);
    assert_eq!(sc.trace_state.get("foo"), Some("1"));
    assert_eq!(sc.trace_state.get("bar"), Some("2"));
    assert!(sc.remote);
    // An invalid tracestate is dropped, the traceparent is kept.
    for bad in ["foo=1,foo=2", "FOO=1", "foo=bar=baz", "foo@=1,bar=2"] {
        let sc = extract(&tp("00", H_TRACE, H_SPAN, "01"), bad).unwrap();
        assert_eq!(hex(&sc.trace_id), H_TRACE);
        assert!(sc.trace_state.is_empty(), "{bad}");
    }
    // An invalid traceparent is an error whatever the tracestate.
    assert_eq!(
        extract(&tp("00", &"0".repeat(32), H_SPAN, "01"), "foo=1"),
        Err(TraceContextError::ZeroTraceId)
    );
    assert_eq!(extract("", "foo=1"), Err(TraceContextError::Empty));
    let owned = extract(TP, "a=1").unwrap().into_owned();
    assert_eq!(owned.trace_state.as_str(), "a=1");
}

// ---------------------------------------------------------------------------
// Ids.

#[test]
fn ids_are_never_zero_and_distinct_across_threads() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 20_000;
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(|| {
                let g = IdGenerator;
                let t: Vec<_> = (0..PER_THREAD).map(|_| g.new_trace_id()).collect();
                let s: Vec<_> = (0..PER_THREAD).map(|_| new_span_id()).collect();
                (t, s)
            })
        })
        .collect();
    let mut traces = HashSet::new();
    let mut spans = HashSet::new();
    for h in handles {
        let (t, s) = h.join().unwrap();
        for id in t {
            assert_ne!(id, [0; 16]);
            assert!(traces.insert(id), "duplicate trace id {}", hex(&id));
        }
        for id in s {
            assert_ne!(id, [0; 8]);
            assert!(spans.insert(id), "duplicate span id {}", hex(&id));
        }
    }
    assert_eq!(traces.len(), THREADS * PER_THREAD);
    assert_eq!(spans.len(), THREADS * PER_THREAD);
}

#[test]
fn ids_look_uniform() {
    // Every bit of the trace id's low half (what traceidratio reads) is set about half the time.
    let mut ones = [0u32; 64];
    let n = 20_000;
    for _ in 0..n {
        let id = new_trace_id();
        let low = u64::from_be_bytes(id[8..].try_into().unwrap());
        for (b, c) in ones.iter_mut().enumerate() {
            *c += ((low >> b) & 1) as u32;
        }
    }
    for (b, c) in ones.iter().enumerate() {
        assert!((9_000..11_000).contains(c), "bit {b}: {c}");
    }
}

#[test]
fn seeded_generator_is_deterministic() {
    let mut a = SeededIdGenerator::from_seed(42);
    let mut b = SeededIdGenerator::from_seed(42);
    let mut c = SeededIdGenerator::from_seed(43);
    for _ in 0..100 {
        let (ta, tb, tc) = (a.trace_id(), b.trace_id(), c.trace_id());
        assert_eq!(ta, tb);
        assert_ne!(ta, tc);
        assert_eq!(a.span_id(), b.span_id());
    }
    let mut e1 = SeededIdGenerator::from_entropy();
    let mut e2 = SeededIdGenerator::from_entropy();
    assert_ne!(e1.trace_id(), e2.trace_id());
}

#[test]
fn ids_allocate_nothing() {
    let g = IdGenerator;
    let _ = g.new_trace_id(); // seeds this thread
    let (n, x) = allocs_in(|| {
        let mut x = 0u8;
        for _ in 0..10_000 {
            x ^= g.new_trace_id()[0] ^ g.new_span_id()[0];
        }
        x
    });
    assert_eq!(n, 0, "{n} allocations for 20,000 ids ({x})");
    // A fresh thread: seeding itself does not allocate either.
    let n = std::thread::spawn(|| allocs_in(new_span_id).0).join().unwrap();
    assert_eq!(n, 0);
}

#[test]
fn request_path_allocates_nothing() {
    let traceparent = format!("  {TP}\t");
    let tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE".to_string();
    let sampler = parent_based();
    let _ = new_trace_id();
    let (n, ok) = allocs_in(|| {
        let mut ok = true;
        for _ in 0..1_000 {
            let parent = extract(&traceparent, &tracestate).unwrap();
            let d = start_span(&sampler, Some(&parent), &mut IdGenerator);
            let out = d.traceparent();
            let sc = d.span_context();
            let again = format_traceparent(&sc);
            ok &= d.sampled && d.trace_state.is_borrowed() && out == again && d.trace_state.as_str() == tracestate;
            let root = start_span(&sampler, None, &mut IdGenerator);
            ok &= root.parent_span_id.is_none();
        }
        ok
    });
    assert!(ok);
    assert_eq!(n, 0, "{n} allocations on the request path");
    // The counter counts: a tracestate that needs normalising is copied once.
    let (n, ts) = allocs_in(|| parse_tracestate("rojo=1, congo=2").unwrap());
    assert_eq!((n, ts.as_str()), (1, "rojo=1,congo=2"));
}

// ---------------------------------------------------------------------------
// Sampling at span start.

#[test]
fn parent_based_default_follows_remote_parent() {
    let sampler = parent_based();
    let mut ids = SeededIdGenerator::from_seed(1);

    let parent = extract(TP, "congo=t61rcWkgMzE").unwrap();
    let d = start_span(&sampler, Some(&parent), &mut ids);
    assert!(d.sampled);
    assert_eq!(d.trace_id, parent.trace_id);
    assert_eq!(d.parent_span_id, Some(parent.span_id));
    assert_ne!(d.span_id, parent.span_id);
    assert_ne!(d.span_id, [0; 8]);
    assert_eq!(d.trace_flags, FLAG_SAMPLED);
    assert_eq!(
        d.flags,
        0x01 | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK | SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
    );
    assert_eq!(d.flags, 0x301);
    assert_eq!(d.trace_state.as_str(), "congo=t61rcWkgMzE");
    // The outgoing traceparent names the new span, same trace.
    assert_eq!(
        d.traceparent().as_str(),
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", hex(&d.span_id))
    );
    let child = d.span_context();
    assert!(!child.remote);
    assert_eq!(child.trace_state.as_str(), "congo=t61rcWkgMzE");

    let unsampled = parse_traceparent(&TP.replace("-01", "-00")).unwrap();
    let d = start_span(&sampler, Some(&unsampled), &mut ids);
    assert!(!d.sampled);
    assert_eq!(d.trace_flags, 0);
    assert_eq!(d.flags, 0x300);
    assert!(d.traceparent().as_str().ends_with("-00"));
    // Unknown flags do not leak into the child.
    let odd = parse_traceparent(&TP.replace("-01", "-fb")).unwrap();
    let d = start_span(&sampler, Some(&odd), &mut ids);
    assert!(d.sampled);
    assert_eq!(d.trace_flags, FLAG_SAMPLED);
    assert_eq!(d.flags, 0x301);
}

#[test]
fn local_parents_and_roots() {
    let mut ids = SeededIdGenerator::from_seed(2);
    let local = SpanContext {
        trace_id: [1; 16],
        span_id: [2; 8],
        flags: FLAG_SAMPLED,
        ..SpanContext::default()
    };
    let d = start_span(&parent_based(), Some(&local), &mut ids);
    assert!(d.sampled);
    assert_eq!(d.flags, 0x101);
    let unsampled = SpanContext {
        flags: 0,
        ..local.clone()
    };
    let d = start_span(&parent_based(), Some(&unsampled), &mut ids);
    assert!(!d.sampled);
    assert_eq!(d.flags, 0x100);

    // Roots: a new trace id, no parent; the root sampler decides.
    let d = start_span(&parent_based(), None, &mut ids);
    assert!(d.sampled);
    assert_eq!(d.parent_span_id, None);
    assert_ne!(d.trace_id, [0; 16]);
    assert_eq!(d.flags, 0x101);
    assert!(d.trace_state.is_empty());
    let off = Sampler::ParentBased {
        root: RootSampler::AlwaysOff,
    };
    let d = start_span(&off, None, &mut ids);
    assert!(!d.sampled);
    assert_eq!(d.flags, 0x100);
    // ...but a sampled parent still wins under parentbased_always_off.
    let remote = parse_traceparent(TP).unwrap();
    assert!(start_span(&off, Some(&remote), &mut ids).sampled);

    // An invalid parent (zero id) counts as none.
    let invalid = SpanContext {
        span_id: [0; 8],
        ..local.clone()
    };
    let d = start_span(&parent_based(), Some(&invalid), &mut ids);
    assert_eq!(d.parent_span_id, None);
    assert_ne!(d.trace_id, local.trace_id);
    assert_eq!(d.flags, 0x101);
}

#[test]
fn samplers_that_ignore_the_parent() {
    let mut ids = SeededIdGenerator::from_seed(3);
    let remote = parse_traceparent(TP).unwrap();
    let d = start_span(&Sampler::AlwaysOff, Some(&remote), &mut ids);
    assert!(!d.sampled);
    assert_eq!(d.flags, 0x300);
    let unsampled = parse_traceparent(&TP.replace("-01", "-00")).unwrap();
    assert!(start_span(&Sampler::AlwaysOn, Some(&unsampled), &mut ids).sampled);
    // traceidratio decides on the parent's trace id, like every other process of the trace.
    let mut low_id = tp("00", &format!("{}{}", "f".repeat(16), "0".repeat(16)), H_SPAN, "00");
    let parent = parse_traceparent(&low_id).unwrap();
    assert!(start_span(&Sampler::TraceIdRatio(0.5), Some(&parent), &mut ids).sampled);
    low_id = tp("00", &"f".repeat(32), H_SPAN, "01");
    let parent = parse_traceparent(&low_id).unwrap();
    assert!(!start_span(&Sampler::TraceIdRatio(0.5), Some(&parent), &mut ids).sampled);
    // With a ratio root, about that fraction of new traces is sampled.
    let ratio = Sampler::ParentBased {
        root: RootSampler::TraceIdRatio(0.25),
    };
    let sampled = (0..20_000)
        .filter(|_| start_span(&ratio, None, &mut IdGenerator).sampled)
        .count();
    assert!((4_500..5_500).contains(&sampled), "{sampled}");
}

#[test]
fn server_span_joins_the_incoming_trace() {
    // What a C HTTP server instrumented with otlpx alone does for one request.
    use opentelemetry_proto::tonic::trace::v1 as pt;
    use prost::Message;

    let parent = extract(
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "congo=t61rcWkgMzE",
    )
    .unwrap();
    let d = start_span(&Sampler::default(), Some(&parent), &mut IdGenerator);
    assert!(d.sampled);
    let span = Span {
        trace_id: d.trace_id,
        span_id: d.span_id,
        trace_state: d.trace_state.as_str(),
        parent_span_id: d.parent_span_id,
        flags: d.flags,
        name: "GET /users/{id}",
        kind: SpanKind::Server,
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Span::default()
    };
    let mut buf = Vec::new();
    encode_span(&span, &SpanLimits::default(), &mut buf);
    let decoded = pt::Span::decode(buf.as_slice()).unwrap();
    assert_eq!(hex(&decoded.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&decoded.parent_span_id), "b7ad6b7169203331");
    assert_eq!(decoded.span_id, d.span_id.to_vec());
    assert_eq!(decoded.trace_state, "congo=t61rcWkgMzE");
    assert_eq!(decoded.flags, 0x301);
    assert_eq!(decoded.kind, pt::span::SpanKind::Server as i32);
}

#[test]
fn errors_have_messages() {
    let e = parse_traceparent("ff-x").unwrap_err();
    assert_eq!(e.to_string(), e.as_str());
    assert!(!TraceContextError::TraceStateDuplicateKey.as_str().is_empty());
    let _: &dyn std::error::Error = &e;
}
