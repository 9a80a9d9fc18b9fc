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
func (e *SpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := getBuilder()
	defer putBuilder(b)
	var dropped int
	var first error
	for _, s := range spans {
		id, err := e.scope(s.InstrumentationScope())
		if err != nil {
			id = InvalidScope
		}
		sd := b.readOnlySpan(s)
		r := C.otlpx_exporter_record(e.h.ptr, C.uint32_t(id), sd)
		b.a.reset()
		if r != C.OTLPX_RESULT_OK {
			dropped++
			if first == nil {
				first = check("exporter_record", r)
			}
		}
	}
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

// readOnlySpan lays out an SDK span.
func (b *builder) readOnlySpan(s sdktrace.ReadOnlySpan) *C.otlpx_span_data {
	sd := (*C.otlpx_span_data)(b.a.alloc(C.sizeof_otlpx_span_data))
	*sd = C.otlpx_span_data{}
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	copyID(sd.trace_id[:], tid[:])
	copyID(sd.span_id[:], sid[:])
	if p := s.Parent(); p.IsValid() {
		psid := p.SpanID()
		copyID(sd.parent_span_id[:], psid[:])
		// OTLP: the span's flags carry the parent's is-remote bit.
		sd.flags = C.uint32_t(uint32(sc.TraceFlags()) | FlagHasIsRemote)
		if p.IsRemote() {
			sd.flags |= C.uint32_t(FlagIsRemote)
		}
	} else {
		sd.flags = C.uint32_t(uint32(sc.TraceFlags()) | FlagHasIsRemote)
	}
	sd.trace_state, sd.trace_state_len = b.validStr(sc.TraceState().String())
	sd.kind = C.uint32_t(s.SpanKind()) // trace.SpanKind uses OTLP's numbering
	if s.SpanKind() > trace.SpanKindConsumer {
		sd.kind = C.OTLPX_SPAN_KIND_UNSPECIFIED
	}
	sd.name, sd.name_len = b.validStr(s.Name())
	sd.start_time_unix_nano = unixNano(s.StartTime())
	sd.end_time_unix_nano = unixNano(s.EndTime())
	sd.attributes, sd.attributes_len = b.validAttributes(s.Attributes())
	sd.dropped_attributes_count = C.uint32_t(s.DroppedAttributes())
	if evs := s.Events(); len(evs) > 0 {
		out := unsafe.Slice((*C.otlpx_event)(b.a.alloc(uintptr(len(evs))*C.sizeof_otlpx_event)), len(evs))
		for i := range evs {
			out[i] = C.otlpx_event{}
			out[i].name, out[i].name_len = b.validStr(evs[i].Name)
			out[i].time_unix_nano = unixNano(evs[i].Time)
			out[i].attributes, out[i].attributes_len = b.validAttributes(evs[i].Attributes)
			out[i].dropped_attributes_count = C.uint32_t(evs[i].DroppedAttributeCount)
		}
		sd.events, sd.events_len = &out[0], C.size_t(len(out))
	}
	sd.dropped_events_count = C.uint32_t(s.DroppedEvents())
	if ls := s.Links(); len(ls) > 0 {
		out := unsafe.Slice((*C.otlpx_link)(b.a.alloc(uintptr(len(ls))*C.sizeof_otlpx_link)), len(ls))
		for i := range ls {
			out[i] = C.otlpx_link{}
			lt, lsid := ls[i].SpanContext.TraceID(), ls[i].SpanContext.SpanID()
			copyID(out[i].trace_id[:], lt[:])
			copyID(out[i].span_id[:], lsid[:])
			out[i].trace_state, out[i].trace_state_len = b.validStr(ls[i].SpanContext.TraceState().String())
			out[i].attributes, out[i].attributes_len = b.validAttributes(ls[i].Attributes)
			out[i].dropped_attributes_count = C.uint32_t(ls[i].DroppedAttributeCount)
			out[i].flags = C.uint32_t(contextFlags(ls[i].SpanContext))
		}
		sd.links, sd.links_len = &out[0], C.size_t(len(out))
	}
	sd.dropped_links_count = C.uint32_t(s.DroppedLinks())
	st := s.Status()
	switch st.Code { // go.opentelemetry.io/otel/codes: Unset 0, Error 1, Ok 2
	case 1: // codes.Error
		sd.status_code = C.OTLPX_STATUS_CODE_ERROR
		sd.status_message, sd.status_message_len = b.validStr(st.Description)
	case 2: // codes.Ok
		sd.status_code = C.OTLPX_STATUS_CODE_OK
	default:
		sd.status_code = C.OTLPX_STATUS_CODE_UNSET
	}
	return sd
}

func (b *builder) validStr(s string) (*C.char, C.size_t) { return b.str(valid(s)) }

func (b *builder) validAttributes(kvs []attribute.KeyValue) (*C.otlpx_attribute, C.size_t) {
	out := b.attrSlice(len(kvs))
	for i, kv := range kvs {
		if !utf8.ValidString(string(kv.Key)) || (kv.Value.Type() == attribute.STRING && !utf8.ValidString(kv.Value.AsString())) {
			kv = fromAttributeToSDK(kv)
		}
		b.attribute(&out[i], kv)
	}
	return firstAttr(out)
}

// fromAttributeToSDK repairs invalid UTF-8 in a key or string value.
func fromAttributeToSDK(kv attribute.KeyValue) attribute.KeyValue {
	k := attribute.Key(valid(string(kv.Key)))
	if kv.Value.Type() == attribute.STRING {
		return k.String(valid(kv.Value.AsString()))
	}
	return attribute.KeyValue{Key: k, Value: kv.Value}
}
