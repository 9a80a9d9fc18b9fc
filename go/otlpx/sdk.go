// This file owns the OpenTelemetry Go SDK adapter: a
// go.opentelemetry.io/otel/sdk/trace.SpanExporter that converts
// ReadOnlySpans into otlpx span records. It must not batch or retry (the
// exporter does) and must not block on I/O in ExportSpans.
package otlpx

/*
#include <stdint.h>
#include "otlpx.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// SpanExporter is an sdktrace.SpanExporter over an otlpx Exporter: swap
//
//	exporter, err := otlptracehttp.New(ctx)
//
// for
//
//	exporter, err := otlpx.NewSpanExporter(ctx)
//
// and keep sdktrace.WithBatcher(exporter) and the OTEL_* variables.
// ExportSpans only encodes the spans into otlpx's queue (no I/O), so
// sdktrace.WithSyncer(exporter) is also a good fit and saves the SDK's own
// batching.
//
// The resource: otlpx sends its own configured resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, options), not the one each span carries; pass
// the SDK resource with WithResource so they agree.
//
// Note that TracerProvider.ForceFlush does not reach exporters in the Go
// SDK: call SpanExporter.ForceFlush after it when spans must be out now.
// TracerProvider.Shutdown does reach Shutdown, which flushes.
type SpanExporter struct {
	*Exporter
	mu     sync.RWMutex
	scopes map[scopeKey]ScopeID
}

type scopeKey struct {
	name, version, schemaURL string
	attrs                    attribute.Distinct
}

var _ sdktrace.SpanExporter = (*SpanExporter)(nil)

// NewSpanExporter creates an otlpx exporter (see NewExporter) wrapped as an
// sdktrace.SpanExporter.
func NewSpanExporter(_ context.Context, opts ...Option) (*SpanExporter, error) {
	e, err := NewExporter(opts...)
	if err != nil {
		return nil, err
	}
	return &SpanExporter{Exporter: e, scopes: map[scopeKey]ScopeID{}}, nil
}

// scope returns the otlpx scope id of an SDK instrumentation scope,
// registering it the first time.
func (e *SpanExporter) scope(s instrumentation.Scope) (ScopeID, error) {
	k := scopeKey{s.Name, s.Version, s.SchemaURL, s.Attributes.Equivalent()}
	e.mu.RLock()
	id, ok := e.scopes[k]
	e.mu.RUnlock()
	if ok {
		return id, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.scopes[k]; ok {
		return id, nil
	}
	attrs := s.Attributes.ToSlice()
	kvs := make([]KeyValue, 0, len(attrs))
	for _, a := range attrs {
		kvs = append(kvs, fromAttribute(a))
	}
	id, err := e.AddScope(Scope{Name: valid(s.Name), Version: valid(s.Version), SchemaURL: valid(s.SchemaURL), Attributes: kvs})
	if err != nil {
		return 0, err
	}
	e.scopes[k] = id
	return id, nil
}

// ExportSpans encodes the spans into otlpx's queue. It returns an error
// naming the drops when some spans were not queued (they are counted in
// Stats under their reason).
//
// Each span is laid out in pooled, pointer-free Go memory (the direct API's
// packed form) and recorded with one cgo call: no C allocation, and no Go
// allocation once the pool is warm beyond what the SDK's accessors make.
func (e *SpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp := e.spanPool.Get().(*Span)
	sp.e = e.Exporter
	var dropped int
	var first error
	for _, s := range spans {
		id, err := e.scope(s.InstrumentationScope())
		if err != nil {
			id = InvalidScope
		}
		sp.scope = id
		sp.readOnlySpan(s)
		r := sp.record()
		sp.clear()
		if r != C.OTLPX_RESULT_OK {
			dropped++
			if first == nil {
				first = check("exporter_record", r)
			}
		}
	}
	sp.release()
	runtime.KeepAlive(e)
	if dropped > 0 {
		return fmt.Errorf("otlpx: %d of %d spans dropped: %w", dropped, len(spans), first)
	}
	return nil
}

// Shutdown flushes what is queued and stops the exporter, waiting until
// ctx's deadline (30 s without one).
func (e *SpanExporter) Shutdown(ctx context.Context) error {
	_, err := e.Exporter.Shutdown(ctx)
	return err
}

// ForceFlush exports everything queued, waiting until ctx's deadline.
func (e *SpanExporter) ForceFlush(ctx context.Context) error {
	_, err := e.Exporter.ForceFlush(ctx)
	return err
}

// valid returns s, with invalid UTF-8 replaced (otlpx refuses it).
func valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s))
}

func fromAttribute(a attribute.KeyValue) KeyValue {
	kv := KeyValue{Key: string(a.Key)}
	switch a.Value.Type() {
	case attribute.STRING:
		kv.Value = StringValue(a.Value.AsString())
	case attribute.BOOL:
		kv.Value = BoolValue(a.Value.AsBool())
	case attribute.INT64:
		kv.Value = IntValue(a.Value.AsInt64())
	case attribute.FLOAT64:
		kv.Value = DoubleValue(a.Value.AsFloat64())
	case attribute.STRINGSLICE:
		for _, x := range a.Value.AsStringSlice() {
			kv.Value.Array = append(kv.Value.Array, StringValue(x))
		}
		kv.Value.Kind = KindArray
	case attribute.BOOLSLICE:
		for _, x := range a.Value.AsBoolSlice() {
			kv.Value.Array = append(kv.Value.Array, BoolValue(x))
		}
		kv.Value.Kind = KindArray
	case attribute.INT64SLICE:
		for _, x := range a.Value.AsInt64Slice() {
			kv.Value.Array = append(kv.Value.Array, IntValue(x))
		}
		kv.Value.Kind = KindArray
	case attribute.FLOAT64SLICE:
		for _, x := range a.Value.AsFloat64Slice() {
			kv.Value.Array = append(kv.Value.Array, DoubleValue(x))
		}
		kv.Value.Kind = KindArray
	default:
		kv.Value = StringValue(a.Value.Emit())
	}
	kv.Key = valid(kv.Key)
	if kv.Value.Kind == KindString {
		kv.Value.Str = valid(kv.Value.Str)
	}
	return kv
}

// contextFlags is OTLP's flags field for a span context: the W3C trace
// flags, and the is-remote bits (HAS_IS_REMOTE always, IS_REMOTE when remote).
func contextFlags(sc trace.SpanContext) uint32 {
	f := uint32(sc.TraceFlags()) | FlagHasIsRemote
	if sc.IsRemote() {
		f |= FlagIsRemote
	}
	return f
}

func unixNano(t interface{ UnixNano() int64 }) C.uint64_t {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return C.uint64_t(n)
}

// readOnlySpan lays out an SDK span in sp's buffers (the packed form).
// Invalid UTF-8 in names, keys, string values and trace states is repaired
// (otlpx refuses it); other strings go as they are.
func (sp *Span) readOnlySpan(s sdktrace.ReadOnlySpan) {
	h := &sp.hdr
	*h = C.otlpx_packed_span{}
	sc := s.SpanContext()
	*(*[16]byte)(unsafe.Pointer(&h.trace_id)) = sc.TraceID()
	*(*[8]byte)(unsafe.Pointer(&h.span_id)) = sc.SpanID()
	flags := uint32(sc.TraceFlags()) | FlagHasIsRemote
	if p := s.Parent(); p.IsValid() {
		*(*[8]byte)(unsafe.Pointer(&h.parent_span_id)) = p.SpanID()
		// OTLP: the span's flags carry the parent's is-remote bit.
		if p.IsRemote() {
			flags |= FlagIsRemote
		}
	}
	h.flags = C.uint32_t(flags)
	h.kind = C.uint32_t(s.SpanKind()) // trace.SpanKind uses OTLP's numbering
	if s.SpanKind() > trace.SpanKindConsumer {
		h.kind = C.OTLPX_SPAN_KIND_UNSPECIFIED
	}
	h.name = sp.str(valid(s.Name()))
	if ts := sc.TraceState(); ts.Len() > 0 {
		h.trace_state = sp.str(valid(ts.String()))
	}
	h.start_time_unix_nano = unixNano(s.StartTime())
	h.end_time_unix_nano = unixNano(s.EndTime())
	for _, kv := range s.Attributes() {
		sp.attrs = append(sp.attrs, sp.packAttribute(&kv, true))
	}
	h.dropped_attributes_count = C.uint32_t(s.DroppedAttributes())
	for _, ev := range s.Events() {
		first, _ := sp.nestedAttributes(ev.Attributes, true)
		sp.events = append(sp.events, C.otlpx_packed_event{
			name:                     sp.str(valid(ev.Name)),
			time_unix_nano:           unixNano(ev.Time),
			attributes_first:         C.uint32_t(first),
			attributes_len:           C.uint32_t(len(ev.Attributes)),
			dropped_attributes_count: C.uint32_t(ev.DroppedAttributeCount),
		})
	}
	h.dropped_events_count = C.uint32_t(s.DroppedEvents())
	for _, l := range s.Links() {
		first, _ := sp.nestedAttributes(l.Attributes, true)
		pl := C.otlpx_packed_link{
			attributes_first:         C.uint32_t(first),
			attributes_len:           C.uint32_t(len(l.Attributes)),
			dropped_attributes_count: C.uint32_t(l.DroppedAttributeCount),
			flags:                    C.uint32_t(contextFlags(l.SpanContext)),
		}
		*(*[16]byte)(unsafe.Pointer(&pl.trace_id)) = l.SpanContext.TraceID()
		*(*[8]byte)(unsafe.Pointer(&pl.span_id)) = l.SpanContext.SpanID()
		if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
			pl.trace_state = sp.str(valid(ts.String()))
		}
		sp.links = append(sp.links, pl)
	}
	h.dropped_links_count = C.uint32_t(s.DroppedLinks())
	st := s.Status()
	switch st.Code { // go.opentelemetry.io/otel/codes: Unset 0, Error 1, Ok 2
	case 1: // codes.Error
		h.status_code = C.OTLPX_STATUS_CODE_ERROR
		h.status_message = sp.str(valid(st.Description))
	case 2: // codes.Ok
		h.status_code = C.OTLPX_STATUS_CODE_OK
	default:
		h.status_code = C.OTLPX_STATUS_CODE_UNSET
	}
}

// fromAttributeToSDK repairs invalid UTF-8 in a key or string value.
func fromAttributeToSDK(kv attribute.KeyValue) attribute.KeyValue {
	k := attribute.Key(valid(string(kv.Key)))
	if kv.Value.Type() == attribute.STRING {
		return k.String(valid(kv.Value.AsString()))
	}
	return attribute.KeyValue{Key: k, Value: kv.Value}
}
