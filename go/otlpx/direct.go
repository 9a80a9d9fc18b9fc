// This file owns the direct API for hot paths: span contexts, W3C
// traceparent extraction (by the core) and formatting, id generation, the
// sampler decision at span start, and pooled Span builders that lay a span
// out in pointer-free Go memory (otlpx_exporter_record_packed's form) and
// record it with one cgo call, without a Go allocation. It must not pass C
// any Go memory that holds Go pointers, nor let C keep a Go pointer.
package otlpx

/*
#cgo noescape otlpx_trace_context_extract
#cgo nocallback otlpx_trace_context_extract
#cgo noescape otlpx_exporter_record_packed
#include <stdlib.h>
#include <string.h>
#include "otlpx.h"
*/
import "C"

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
)

// SpanContext is what propagates between processes.
type SpanContext struct {
	TraceID    [16]byte
	SpanID     [8]byte
	TraceFlags byte // bit 0: sampled
	Remote     bool // extracted from another process
	TraceState string
}

// IsValid reports whether both ids are non-zero.
func (c SpanContext) IsValid() bool {
	return c.TraceID != [16]byte{} && c.SpanID != [8]byte{}
}

// IsSampled reports the sampled flag.
func (c SpanContext) IsSampled() bool { return c.TraceFlags&1 != 0 }

// ExtractTraceparent parses incoming traceparent and tracestate header
// values (W3C Trace Context, by otlpx's core). A malformed traceparent
// (version ff, all-zero ids, bad or uppercase hex, wrong lengths) returns
// ErrInvalidHeader: start a new trace. A malformed tracestate is dropped.
func ExtractTraceparent(traceparent, tracestate string) (SpanContext, error) {
	var out C.otlpx_span_context
	tp, tpn := cstr(traceparent)
	ts, tsn := cstr(tracestate)
	if err := check("trace_context_extract", C.otlpx_trace_context_extract(tp, tpn, ts, tsn, &out)); err != nil {
		return SpanContext{}, err
	}
	var sc SpanContext
	for i := range sc.TraceID {
		sc.TraceID[i] = byte(out.trace_id[i])
	}
	for i := range sc.SpanID {
		sc.SpanID[i] = byte(out.span_id[i])
	}
	sc.TraceFlags = byte(out.trace_flags)
	sc.Remote = out.is_remote != 0
	if n := int(out.trace_state_len); n > 0 {
		sc.TraceState = C.GoStringN(&out.trace_state[0], C.int(n))
	}
	return sc, nil
}

const hexDigits = "0123456789abcdef"

// AppendTraceparent appends the traceparent value naming c as the parent
// (00-<trace id>-<span id>-<flags>, 55 bytes) to dst.
func (c SpanContext) AppendTraceparent(dst []byte) []byte {
	dst = append(dst, '0', '0', '-')
	for _, b := range c.TraceID {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	dst = append(dst, '-')
	for _, b := range c.SpanID {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	return append(dst, '-', hexDigits[c.TraceFlags>>4], hexDigits[c.TraceFlags&15])
}

// Traceparent is AppendTraceparent as a string.
func (c SpanContext) Traceparent() string { return string(c.AppendTraceparent(make([]byte, 0, 55))) }

// NewTraceID returns a random non-zero trace id (Go's per-thread ChaCha8
// generator: no lock, no syscall).
func NewTraceID() (id [16]byte) {
	hi, lo := rand.Uint64(), rand.Uint64()
	for hi|lo == 0 {
		hi, lo = rand.Uint64(), rand.Uint64()
	}
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id
}

// NewSpanID returns a random non-zero span id.
func NewSpanID() (id [8]byte) {
	v := rand.Uint64()
	for v == 0 {
		v = rand.Uint64()
	}
	binary.BigEndian.PutUint64(id[:], v)
	return id
}

// sampler is the direct API's sampling decision: the OTEL_TRACES_SAMPLER
// algorithms of the Go SDK (parent-based always-on by default).
type sampler struct {
	parentBased bool
	root        int // 0 always off, 1 always on, 2 ratio
	bound       uint64
}

func newSampler(s *settings) sampler {
	name, ratio := s.samplerName, s.samplerRatio
	if name == "" {
		get := func(k string) string {
			for i := len(s.env) - 1; i >= 0; i-- {
				if s.env[i].k == k {
					return s.env[i].v
				}
			}
			if s.ignoreProcessEnv {
				return ""
			}
			return os.Getenv(k)
		}
		name = get("OTEL_TRACES_SAMPLER")
		ratio = 1
		if a, err := strconv.ParseFloat(get("OTEL_TRACES_SAMPLER_ARG"), 64); err == nil && a >= 0 && a <= 1 {
			ratio = a
		}
	}
	sm := sampler{parentBased: true, root: 1}
	switch name {
	case "always_on":
		sm = sampler{root: 1}
	case "always_off":
		sm = sampler{root: 0}
	case "traceidratio":
		sm = sampler{root: 2}
	case "parentbased_always_off":
		sm = sampler{parentBased: true, root: 0}
	case "parentbased_traceidratio":
		sm = sampler{parentBased: true, root: 2}
	}
	if sm.root == 2 {
		switch {
		case ratio >= 1:
			sm.root = 1
		case ratio <= 0:
			sm.root = 0
		default:
			sm.bound = uint64(ratio * (1 << 63))
		}
	}
	return sm
}

func (s sampler) sample(parent *SpanContext, traceID *[16]byte) bool {
	if s.parentBased && parent.IsValid() {
		return parent.IsSampled()
	}
	switch s.root {
	case 0:
		return false
	case 1:
		return true
	}
	x := uint64(0)
	for _, b := range traceID[8:16] {
		x = x<<8 | uint64(b)
	}
	return x>>1 < s.bound
}

// Span is a span of the direct API, from Exporter.StartSpan. Its methods
// copy what they are given into the Span's own buffers; End records the
// span with one cgo call and returns the Span to a pool: do not use it
// after End. A Span is for one goroutine at a time. Unsampled spans
// propagate their context but record nothing.
//
// The buffers are Go memory without Go pointers (the packed form of
// otlpx_exporter_record_packed: strings are offsets into one byte buffer),
// so they are passed to C as they are, for the duration of the call.
type Span struct {
	e         *Exporter
	scope     ScopeID
	ctx       SpanContext
	recording bool
	bad       bool // a buffer outgrew the packed form's 32-bit offsets
	hdr       C.otlpx_packed_span
	attrs     []C.otlpx_packed_attribute // the span's attributes
	nested    []C.otlpx_packed_attribute // event and link attributes, array elements
	events    []C.otlpx_packed_event
	links     []C.otlpx_packed_link // (the SDK adapter's; the direct API adds none)
	data      []byte                // every string's bytes
}

func newSpan() *Span {
	return &Span{
		attrs:  make([]C.otlpx_packed_attribute, 0, 16),
		nested: make([]C.otlpx_packed_attribute, 0, 8),
		events: make([]C.otlpx_packed_event, 0, 2),
		data:   make([]byte, 0, 512),
	}
}

// StartSpan starts a span named name of kind kind under the default scope,
// as a child of parent (a zero SpanContext starts a new trace), now.
func (e *Exporter) StartSpan(name string, kind SpanKind, parent SpanContext) *Span {
	sp := e.StartSpanAt(e.defaultScope, name, kind, &parent, time.Time{})
	return sp
}

// StartSpanAt is StartSpan with an explicit scope, parent and start time
// (the zero time means now).
func (e *Exporter) StartSpanAt(scope ScopeID, name string, kind SpanKind, parent *SpanContext, start time.Time) *Span {
	sp := e.spanPool.Get().(*Span)
	sp.e = e
	sp.scope = scope
	parentValid := parent.IsValid()
	if parentValid {
		sp.ctx.TraceID = parent.TraceID
		sp.ctx.TraceState = parent.TraceState
	} else {
		sp.ctx.TraceID = NewTraceID()
		sp.ctx.TraceState = ""
	}
	sp.ctx.SpanID = NewSpanID()
	sp.ctx.Remote = false
	sp.recording = e.sampler.sample(parent, &sp.ctx.TraceID)
	sp.ctx.TraceFlags = 0
	if !sp.recording {
		return sp
	}
	sp.ctx.TraceFlags = 1
	h := &sp.hdr
	*h = C.otlpx_packed_span{}
	*(*[16]byte)(unsafe.Pointer(&h.trace_id)) = sp.ctx.TraceID
	*(*[8]byte)(unsafe.Pointer(&h.span_id)) = sp.ctx.SpanID
	flags := FlagSampled | FlagHasIsRemote
	if parentValid {
		*(*[8]byte)(unsafe.Pointer(&h.parent_span_id)) = parent.SpanID
		if parent.Remote {
			flags |= FlagIsRemote
		}
	}
	h.flags = C.uint32_t(flags)
	h.kind = C.uint32_t(kind)
	h.name = sp.str(name)
	h.trace_state = sp.str(sp.ctx.TraceState)
	h.start_time_unix_nano = C.uint64_t(e.unixNano(start))
	return sp
}

// unixNano is t in Unix nanoseconds, or now for the zero time.
func (e *Exporter) unixNano(t time.Time) int64 {
	if t.IsZero() {
		return e.clock.now()
	}
	return t.UnixNano()
}

// Context is the span's own context: pass it as the parent of child spans,
// or send its Traceparent with an outgoing request.
func (sp *Span) Context() SpanContext { return sp.ctx }

// IsRecording reports whether the span is sampled (and will be exported).
func (sp *Span) IsRecording() bool { return sp.recording }

// SetName renames the span.
func (sp *Span) SetName(name string) {
	if sp.recording {
		sp.hdr.name = sp.str(name)
	}
}

// fits reports whether n more bytes keep the data buffer within the packed
// form's 32-bit offsets; past that the span is dropped as invalid at End.
func (sp *Span) fits(n int) bool {
	if uint64(len(sp.data))+uint64(n) > math.MaxUint32 {
		sp.bad = true
		return false
	}
	return true
}

// str appends s to the data buffer.
func (sp *Span) str(s string) C.otlpx_packed_str {
	if len(s) == 0 || !sp.fits(len(s)) {
		return C.otlpx_packed_str{}
	}
	off := len(sp.data)
	sp.data = append(sp.data, s...)
	return C.otlpx_packed_str{offset: C.uint32_t(off), len: C.uint32_t(len(s))}
}

// SetString adds a string attribute. Attributes are appended in order
// (setting a key twice sends it twice; the attribute count limit applies).
// Strings must be UTF-8, or the span is dropped as invalid.
func (sp *Span) SetString(key, value string) {
	if !sp.recording || !sp.fits(len(key)+len(value)) {
		return
	}
	off := len(sp.data)
	sp.data = append(append(sp.data, key...), value...)
	sp.attrs = append(sp.attrs, C.otlpx_packed_attribute{
		key: C.otlpx_packed_str{offset: C.uint32_t(off), len: C.uint32_t(len(key))},
		value: C.otlpx_packed_value{
			kind: C.OTLPX_VALUE_KIND_STRING,
			len:  C.uint32_t(len(value)),
			bits: C.uint64_t(off + len(key)),
		},
	})
}

// scalar adds an attribute whose value is all in bits.
func (sp *Span) scalar(key string, kind uint32, bits uint64) {
	if !sp.recording {
		return
	}
	sp.attrs = append(sp.attrs, C.otlpx_packed_attribute{
		key:   sp.str(key),
		value: C.otlpx_packed_value{kind: C.uint32_t(kind), bits: C.uint64_t(bits)},
	})
}

// SetInt adds an int64 attribute.
func (sp *Span) SetInt(key string, value int64) {
	sp.scalar(key, C.OTLPX_VALUE_KIND_INT, uint64(value))
}

// SetBool adds a bool attribute.
func (sp *Span) SetBool(key string, value bool) {
	var b uint64
	if value {
		b = 1
	}
	sp.scalar(key, C.OTLPX_VALUE_KIND_BOOL, b)
}

// SetFloat64 adds a double attribute.
func (sp *Span) SetFloat64(key string, value float64) {
	sp.scalar(key, C.OTLPX_VALUE_KIND_DOUBLE, math.Float64bits(value))
}

// SetAttributes adds attributes of any attribute.Type.
func (sp *Span) SetAttributes(kvs ...attribute.KeyValue) {
	if !sp.recording {
		return
	}
	for i := range kvs {
		sp.attrs = append(sp.attrs, sp.packAttribute(&kvs[i], false))
	}
}

// packAttribute packs kv. With repair (the SDK adapter), invalid UTF-8 in
// its key or string value is replaced first; the direct API leaves it to
// otlpx, which refuses the span.
func (sp *Span) packAttribute(kv *attribute.KeyValue, repair bool) C.otlpx_packed_attribute {
	if repair && (!utf8.ValidString(string(kv.Key)) ||
		(kv.Value.Type() == attribute.STRING && !utf8.ValidString(kv.Value.AsString()))) {
		fixed := fromAttributeToSDK(*kv)
		kv = &fixed
	}
	k := sp.str(string(kv.Key))
	return C.otlpx_packed_attribute{key: k, value: sp.value(&kv.Value)}
}

// nestedAttributes packs an event's or a link's attributes into nested
// (their slots first: array elements go after them) and returns the first
// index; false (the span marked bad) when nested would outgrow the packed
// form's 32-bit indexes.
func (sp *Span) nestedAttributes(kvs []attribute.KeyValue, repair bool) (int, bool) {
	first := len(sp.nested)
	if uint64(first)+uint64(len(kvs)) > math.MaxUint32 {
		sp.bad = true
		return 0, false
	}
	sp.nested = append(sp.nested, make([]C.otlpx_packed_attribute, len(kvs))...)
	for i := range kvs {
		// packAttribute may grow nested (array elements): index it afterwards.
		a := sp.packAttribute(&kvs[i], repair)
		sp.nested[first+i] = a
	}
	return first, true
}

// value packs a Go SDK attribute value (every attribute.Type); the
// elements of a slice go to nested. (By pointer: a 48-byte Value passed in
// registers is spilled and reloaded wider, a store-forwarding stall.)
func (sp *Span) value(v *attribute.Value) C.otlpx_packed_value {
	switch v.Type() {
	case attribute.STRING:
		s := sp.str(v.AsString())
		return C.otlpx_packed_value{kind: C.OTLPX_VALUE_KIND_STRING, len: s.len, bits: C.uint64_t(s.offset)}
	case attribute.BOOL:
		var b C.uint64_t
		if v.AsBool() {
			b = 1
		}
		return C.otlpx_packed_value{kind: C.OTLPX_VALUE_KIND_BOOL, bits: b}
	case attribute.INT64:
		return C.otlpx_packed_value{kind: C.OTLPX_VALUE_KIND_INT, bits: C.uint64_t(v.AsInt64())}
	case attribute.FLOAT64:
		return C.otlpx_packed_value{kind: C.OTLPX_VALUE_KIND_DOUBLE, bits: C.uint64_t(math.Float64bits(v.AsFloat64()))}
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		first := len(sp.nested)
		for _, x := range xs {
			s := sp.str(x)
			sp.nested = append(sp.nested, C.otlpx_packed_attribute{value: C.otlpx_packed_value{
				kind: C.OTLPX_VALUE_KIND_STRING, len: s.len, bits: C.uint64_t(s.offset)}})
		}
		return sp.array(first, len(xs))
	case attribute.BOOLSLICE:
		return scalarArray(sp, v.AsBoolSlice(), C.OTLPX_VALUE_KIND_BOOL, func(x bool) C.uint64_t {
			if x {
				return 1
			}
			return 0
		})
	case attribute.INT64SLICE:
		return scalarArray(sp, v.AsInt64Slice(), C.OTLPX_VALUE_KIND_INT, func(x int64) C.uint64_t { return C.uint64_t(x) })
	case attribute.FLOAT64SLICE:
		return scalarArray(sp, v.AsFloat64Slice(), C.OTLPX_VALUE_KIND_DOUBLE,
			func(x float64) C.uint64_t { return C.uint64_t(math.Float64bits(x)) })
	default:
		// INVALID or a type newer than this package: send its text form.
		s := sp.str(v.Emit())
		return C.otlpx_packed_value{kind: C.OTLPX_VALUE_KIND_STRING, len: s.len, bits: C.uint64_t(s.offset)}
	}
}

// scalarArray packs xs as an array of `kind` values whose bits come from bits(x).
func scalarArray[T any](sp *Span, xs []T, kind C.uint32_t, bits func(T) C.uint64_t) C.otlpx_packed_value {
	first := len(sp.nested)
	for _, x := range xs {
		sp.nested = append(sp.nested, C.otlpx_packed_attribute{value: C.otlpx_packed_value{kind: kind, bits: bits(x)}})
	}
	return sp.array(first, len(xs))
}

func (sp *Span) array(first, n int) C.otlpx_packed_value {
	if uint64(n) > math.MaxUint32 {
		sp.bad = true
	}
	return C.otlpx_packed_value{kind: C.OTLPX_VALUE_KIND_ARRAY, len: C.uint32_t(n), bits: C.uint64_t(first)}
}

// AddEvent adds an event, now, with attributes.
func (sp *Span) AddEvent(name string, kvs ...attribute.KeyValue) {
	sp.AddEventAt(name, time.Time{}, kvs...)
}

// AddEventAt adds an event at t (the zero time means now) with attributes.
func (sp *Span) AddEventAt(name string, t time.Time, kvs ...attribute.KeyValue) {
	if !sp.recording {
		return
	}
	first, ok := sp.nestedAttributes(kvs, false)
	if !ok {
		return
	}
	sp.events = append(sp.events, C.otlpx_packed_event{
		name:             sp.str(name),
		time_unix_nano:   C.uint64_t(sp.e.unixNano(t)),
		attributes_first: C.uint32_t(first),
		attributes_len:   C.uint32_t(len(kvs)),
	})
}

// SetStatus sets the status; the message is kept for StatusError.
func (sp *Span) SetStatus(code StatusCode, message string) {
	if !sp.recording {
		return
	}
	sp.hdr.status_code = C.uint32_t(code)
	if code == StatusError {
		sp.hdr.status_message = sp.str(message)
	} else {
		sp.hdr.status_message = C.otlpx_packed_str{}
	}
}

// End ends the span now and records it (when sampled) with one cgo call;
// the result is Exporter.Record's. The Span must not be used afterwards.
func (sp *Span) End() error { return sp.EndAt(time.Time{}) }

// badKind is no span kind: a span whose buffers outgrew the packed form is
// recorded with it, so otlpx counts it as invalid.
const badKind = math.MaxUint32

// EndAt is End at t (the zero time means now).
func (sp *Span) EndAt(t time.Time) error {
	e := sp.e
	var r C.otlpx_result
	if sp.recording {
		sp.hdr.end_time_unix_nano = C.uint64_t(e.unixNano(t))
		r = sp.record()
	}
	sp.release()
	runtime.KeepAlive(e)
	if r != C.OTLPX_RESULT_OK {
		return &Error{Op: "exporter_record", Code: Result(r)}
	}
	return nil
}

// record hands the laid-out span to otlpx with one cgo call.
func (sp *Span) record() C.otlpx_result {
	h := &sp.hdr
	if sp.bad {
		h.kind = badKind
	}
	return C.otlpx_exporter_record_packed(sp.e.h.ptr, C.uint32_t(sp.scope), h,
		firstOf(sp.attrs), C.size_t(len(sp.attrs)),
		firstOf(sp.nested), C.size_t(len(sp.nested)),
		firstOf(sp.events), C.size_t(len(sp.events)),
		firstOf(sp.links), C.size_t(len(sp.links)),
		(*C.uint8_t)(unsafe.SliceData(sp.data)), C.size_t(len(sp.data)))
}

// firstOf is &s[0], or nil for an empty slice.
func firstOf[T any](s []T) *T {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

// release empties the Span's buffers (dropping any that grew large, so one
// huge span does not pin memory) and returns it to the pool.
func (sp *Span) release() {
	e := sp.e
	sp.e = nil
	sp.clear()
	e.spanPool.Put(sp)
}

// clear empties the buffers for the next span (dropping any that grew large).
func (sp *Span) clear() {
	sp.bad = false
	sp.attrs = reuse(sp.attrs, 1024)
	sp.nested = reuse(sp.nested, 1024)
	sp.events = reuse(sp.events, 128)
	sp.links = reuse(sp.links, 128)
	sp.data = reuse(sp.data, 1<<20)
}

func reuse[T any](s []T, most int) []T {
	if cap(s) > most {
		return nil
	}
	return s[:0]
}
