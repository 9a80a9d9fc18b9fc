// This file owns the direct API for hot paths: span contexts, W3C
// traceparent extraction (by the core) and formatting, id generation, the
// sampler decision at span start, and pooled Span builders that lay a span
// out in C memory and record it with one cgo call, without a Go allocation.
// It must not keep Go pointers in C memory.
package otlpx

/*
#cgo noescape otlpx_trace_context_extract
#cgo nocallback otlpx_trace_context_extract
#include <stdlib.h>
#include <string.h>
#include "otlpx.h"
*/
import "C"

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"time"
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
	for id == ([16]byte{}) {
		putU64(id[:8], rand.Uint64())
		putU64(id[8:], rand.Uint64())
	}
	return id
}

// NewSpanID returns a random non-zero span id.
func NewSpanID() (id [8]byte) {
	for id == ([8]byte{}) {
		putU64(id[:], rand.Uint64())
	}
	return id
}

func putU64(b []byte, v uint64) {
	_ = b[7]
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
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
// copy what they are given into C memory; End records the span with one cgo
// call and returns the Span to a pool: do not use it after End. A Span is
// for one goroutine at a time. Unsampled spans propagate their context but
// record nothing.
type Span struct {
	e         *Exporter
	m         *spanMem
	scope     ScopeID
	nAttrs    int
	nEvents   int
	ctx       SpanContext
	recording bool
}

// spanMem is a Span's C memory, freed by a cleanup when the pool lets the
// Span go (so it is a separate object).
type spanMem struct {
	b         builder
	sd        *C.otlpx_span_data
	attrs     *C.otlpx_attribute
	capAttrs  int
	events    *C.otlpx_event
	capEvents int
}

func (m *spanMem) free() {
	m.b.a.free()
	C.free(unsafe.Pointer(m.attrs))
	C.free(unsafe.Pointer(m.events))
	C.free(unsafe.Pointer(m.sd))
}

func newSpan() *Span {
	m := &spanMem{sd: (*C.otlpx_span_data)(C.calloc(1, C.sizeof_otlpx_span_data))}
	sp := &Span{m: m}
	runtime.AddCleanup(sp, func(m *spanMem) { m.free() }, m)
	return sp
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
	if parent.IsValid() {
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
	if sp.recording {
		sp.ctx.TraceFlags = 1
	}
	if !sp.recording {
		return sp
	}
	sd := sp.m.sd
	copyID(sd.trace_id[:], sp.ctx.TraceID[:])
	copyID(sd.span_id[:], sp.ctx.SpanID[:])
	flags := uint32(sp.ctx.TraceFlags) | FlagHasIsRemote
	if parent.IsValid() {
		copyID(sd.parent_span_id[:], parent.SpanID[:])
		if parent.Remote {
			flags |= FlagIsRemote
		}
	} else {
		sd.parent_span_id = [8]C.uint8_t{}
	}
	sd.flags = C.uint32_t(flags)
	sd.trace_state, sd.trace_state_len = sp.m.b.str(sp.ctx.TraceState)
	sd.kind = C.uint32_t(kind)
	sd.name, sd.name_len = sp.m.b.str(name)
	sd.start_time_unix_nano = C.uint64_t(e.unixNano(start))
	sd.dropped_attributes_count, sd.dropped_events_count, sd.dropped_links_count = 0, 0, 0
	sd.links, sd.links_len = nil, 0
	sd.status_code, sd.status_message, sd.status_message_len = 0, nil, 0
	sp.nAttrs, sp.nEvents = 0, 0
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
		sp.m.sd.name, sp.m.sd.name_len = sp.m.b.str(name)
	}
}

func (sp *Span) nextAttr() *C.otlpx_attribute {
	if sp.nAttrs == sp.m.capAttrs {
		n := max(16, sp.m.capAttrs*2)
		p := C.realloc(unsafe.Pointer(sp.m.attrs), C.size_t(n)*C.sizeof_otlpx_attribute)
		if p == nil {
			panic("otlpx: out of memory")
		}
		sp.m.attrs, sp.m.capAttrs = (*C.otlpx_attribute)(p), n
	}
	a := (*C.otlpx_attribute)(unsafe.Add(unsafe.Pointer(sp.m.attrs), uintptr(sp.nAttrs)*C.sizeof_otlpx_attribute))
	sp.nAttrs++
	return a
}

// SetString adds a string attribute. Attributes are appended in order
// (setting a key twice sends it twice; the attribute count limit applies).
// Strings must be UTF-8, or the span is dropped as invalid.
func (sp *Span) SetString(key, value string) {
	if !sp.recording {
		return
	}
	a := sp.nextAttr()
	a.key, a.key_len = sp.m.b.str(key)
	p, n := sp.m.b.str(value)
	a.value = C.otlpx_value{kind: C.OTLPX_VALUE_KIND_STRING, ptr: unsafe.Pointer(p), len: n}
}

// SetInt adds an int64 attribute.
func (sp *Span) SetInt(key string, value int64) {
	if !sp.recording {
		return
	}
	a := sp.nextAttr()
	a.key, a.key_len = sp.m.b.str(key)
	a.value = C.otlpx_value{kind: C.OTLPX_VALUE_KIND_INT, int_value: C.int64_t(value)}
}

// SetBool adds a bool attribute.
func (sp *Span) SetBool(key string, value bool) {
	if !sp.recording {
		return
	}
	a := sp.nextAttr()
	a.key, a.key_len = sp.m.b.str(key)
	a.value = C.otlpx_value{kind: C.OTLPX_VALUE_KIND_BOOL}
	if value {
		a.value.int_value = 1
	}
}

// SetFloat64 adds a double attribute.
func (sp *Span) SetFloat64(key string, value float64) {
	if !sp.recording {
		return
	}
	a := sp.nextAttr()
	a.key, a.key_len = sp.m.b.str(key)
	a.value = C.otlpx_value{kind: C.OTLPX_VALUE_KIND_DOUBLE, double_value: C.double(value)}
}

// SetAttributes adds attributes of any attribute.Type.
func (sp *Span) SetAttributes(kvs ...attribute.KeyValue) {
	if !sp.recording {
		return
	}
	for _, kv := range kvs {
		sp.m.b.attribute(sp.nextAttr(), kv)
	}
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
	if sp.nEvents == sp.m.capEvents {
		n := max(4, sp.m.capEvents*2)
		p := C.realloc(unsafe.Pointer(sp.m.events), C.size_t(n)*C.sizeof_otlpx_event)
		if p == nil {
			panic("otlpx: out of memory")
		}
		sp.m.events, sp.m.capEvents = (*C.otlpx_event)(p), n
	}
	ev := (*C.otlpx_event)(unsafe.Add(unsafe.Pointer(sp.m.events), uintptr(sp.nEvents)*C.sizeof_otlpx_event))
	sp.nEvents++
	ev.name, ev.name_len = sp.m.b.str(name)
	ev.time_unix_nano = C.uint64_t(sp.e.unixNano(t))
	ev.attributes, ev.attributes_len = sp.m.b.attributes(kvs)
	ev.dropped_attributes_count = 0
}

// SetStatus sets the status; the message is kept for StatusError.
func (sp *Span) SetStatus(code StatusCode, message string) {
	if !sp.recording {
		return
	}
	sp.m.sd.status_code = C.uint32_t(code)
	if code == StatusError {
		sp.m.sd.status_message, sp.m.sd.status_message_len = sp.m.b.str(message)
	} else {
		sp.m.sd.status_message, sp.m.sd.status_message_len = nil, 0
	}
}

// End ends the span now and records it (when sampled) with one cgo call;
// the result is Exporter.Record's. The Span must not be used afterwards.
func (sp *Span) End() error { return sp.EndAt(time.Time{}) }

// EndAt is End at t (the zero time means now).
func (sp *Span) EndAt(t time.Time) error {
	e := sp.e
	var r C.otlpx_result
	if sp.recording {
		sd := sp.m.sd
		sd.end_time_unix_nano = C.uint64_t(e.unixNano(t))
		sd.attributes, sd.attributes_len = sp.m.attrs, C.size_t(sp.nAttrs)
		sd.events, sd.events_len = sp.m.events, C.size_t(sp.nEvents)
		r = C.otlpx_exporter_record(e.h.ptr, C.uint32_t(sp.scope), sd)
	}
	sp.release()
	runtime.KeepAlive(e)
	if r != C.OTLPX_RESULT_OK {
		return &Error{Op: "exporter_record", Code: Result(r)}
	}
	return nil
}

func (sp *Span) release() {
	e := sp.e
	sp.e = nil
	sp.m.b.a.reset()
	if sp.m.b.a.size > 1<<20 {
		sp.m.b.a.free()
	}
	if sp.m.capAttrs > 1024 {
		C.free(unsafe.Pointer(sp.m.attrs))
		sp.m.attrs, sp.m.capAttrs = nil, 0
	}
	e.spanPool.Put(sp)
}
