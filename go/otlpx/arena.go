// This file owns the C-memory arena and the builder that lays Go span data
// out as the C structs of otlpx.h. Everything handed to C lives in C memory
// (C.malloc), so no Go pointer is ever passed in memory to C or stored in
// C memory (the cgo pointer rules). It must not call the exporter.
package otlpx

/*
#include <stdlib.h>
#include "otlpx.h"
*/
import "C"

import (
	"sync"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
)

const arenaChunk = 16 << 10

// arena is a bump allocator over C memory. Pointers it returns stay valid
// until reset; reset keeps one chunk large enough for the last use, so in
// steady state it never calls malloc.
type arena struct {
	chunks []unsafe.Pointer
	cur    unsafe.Pointer
	off    uintptr
	size   uintptr
	used   uintptr // bytes handed out since reset, over every chunk
}

func (a *arena) alloc(n uintptr) unsafe.Pointer {
	n = (n + 7) &^ 7
	if a.cur == nil || a.off+n > a.size {
		a.grow(n)
	}
	p := unsafe.Add(a.cur, a.off)
	a.off += n
	a.used += n
	return p
}

func (a *arena) grow(n uintptr) {
	size := uintptr(arenaChunk)
	if a.size*2 > size {
		size = a.size * 2
	}
	for size < n {
		size *= 2
	}
	p := C.malloc(C.size_t(size))
	if p == nil {
		panic("otlpx: out of memory")
	}
	a.chunks = append(a.chunks, p)
	a.cur, a.off, a.size = p, 0, size
}

// reset makes every allocation reusable; several chunks become one.
func (a *arena) reset() {
	if len(a.chunks) > 1 {
		total := a.used
		a.free()
		a.grow(total)
	}
	a.off, a.used = 0, 0
}

func (a *arena) free() {
	for _, p := range a.chunks {
		C.free(p)
	}
	a.chunks = a.chunks[:0]
	a.cur, a.off, a.size, a.used = nil, 0, 0, 0
}

// builder lays out one span (or scope) in its arena.
type builder struct {
	a arena
}

var builderPool = sync.Pool{New: func() any { return new(builder) }}

func getBuilder() *builder { return builderPool.Get().(*builder) }

func putBuilder(b *builder) {
	if b.a.size > 1<<20 { // don't keep huge arenas around
		b.a.free()
	} else {
		b.a.reset()
	}
	builderPool.Put(b)
}

// str copies s into the arena.
func (b *builder) str(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	p := b.a.alloc(uintptr(len(s)))
	copy(unsafe.Slice((*byte)(p), len(s)), s)
	return (*C.char)(p), C.size_t(len(s))
}

func (b *builder) bytes(s []byte) (unsafe.Pointer, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	p := b.a.alloc(uintptr(len(s)))
	copy(unsafe.Slice((*byte)(p), len(s)), s)
	return p, C.size_t(len(s))
}

func (b *builder) attrSlice(n int) []C.otlpx_attribute {
	if n == 0 {
		return nil
	}
	p := b.a.alloc(uintptr(n) * C.sizeof_otlpx_attribute)
	return unsafe.Slice((*C.otlpx_attribute)(p), n)
}

func (b *builder) valueSlice(n int) []C.otlpx_value {
	if n == 0 {
		return nil
	}
	p := b.a.alloc(uintptr(n) * C.sizeof_otlpx_value)
	return unsafe.Slice((*C.otlpx_value)(p), n)
}

func firstAttr(s []C.otlpx_attribute) (*C.otlpx_attribute, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return &s[0], C.size_t(len(s))
}

// keyValues lays out otlpx KeyValues (every AnyValue kind).
func (b *builder) keyValues(kvs []KeyValue) (*C.otlpx_attribute, C.size_t) {
	out := b.attrSlice(len(kvs))
	for i := range kvs {
		out[i].key, out[i].key_len = b.str(kvs[i].Key)
		b.value(&out[i].value, &kvs[i].Value)
	}
	return firstAttr(out)
}

func (b *builder) value(dst *C.otlpx_value, v *Value) {
	*dst = C.otlpx_value{}
	switch v.Kind {
	case KindString:
		dst.kind = C.OTLPX_VALUE_KIND_STRING
		p, n := b.str(v.Str)
		dst.ptr, dst.len = unsafe.Pointer(p), n
	case KindBool:
		dst.kind = C.OTLPX_VALUE_KIND_BOOL
		if v.Int != 0 {
			dst.int_value = 1
		}
	case KindInt:
		dst.kind, dst.int_value = C.OTLPX_VALUE_KIND_INT, C.int64_t(v.Int)
	case KindDouble:
		dst.kind, dst.double_value = C.OTLPX_VALUE_KIND_DOUBLE, C.double(v.Float)
	case KindBytes:
		dst.kind = C.OTLPX_VALUE_KIND_BYTES
		dst.ptr, dst.len = b.bytes(v.Bytes)
	case KindArray:
		dst.kind = C.OTLPX_VALUE_KIND_ARRAY
		vs := b.valueSlice(len(v.Array))
		for i := range v.Array {
			b.value(&vs[i], &v.Array[i])
		}
		if len(vs) > 0 {
			dst.ptr, dst.len = unsafe.Pointer(&vs[0]), C.size_t(len(vs))
		}
	case KindKVList:
		dst.kind = C.OTLPX_VALUE_KIND_KVLIST
		p, n := b.keyValues(v.KVList)
		dst.ptr, dst.len = unsafe.Pointer(p), n
	default:
		dst.kind = 0 // refused by otlpx as an invalid argument
	}
}

// attribute lays out a Go SDK attribute (every attribute.Type).
func (b *builder) attribute(dst *C.otlpx_attribute, kv attribute.KeyValue) {
	dst.key, dst.key_len = b.str(string(kv.Key))
	v := &dst.value
	*v = C.otlpx_value{}
	switch kv.Value.Type() {
	case attribute.STRING:
		v.kind = C.OTLPX_VALUE_KIND_STRING
		p, n := b.str(kv.Value.AsString())
		v.ptr, v.len = unsafe.Pointer(p), n
	case attribute.BOOL:
		v.kind = C.OTLPX_VALUE_KIND_BOOL
		if kv.Value.AsBool() {
			v.int_value = 1
		}
	case attribute.INT64:
		v.kind, v.int_value = C.OTLPX_VALUE_KIND_INT, C.int64_t(kv.Value.AsInt64())
	case attribute.FLOAT64:
		v.kind, v.double_value = C.OTLPX_VALUE_KIND_DOUBLE, C.double(kv.Value.AsFloat64())
	case attribute.STRINGSLICE:
		xs := kv.Value.AsStringSlice()
		vs := b.arrayOf(v, len(xs))
		for i, x := range xs {
			vs[i].kind = C.OTLPX_VALUE_KIND_STRING
			p, n := b.str(x)
			vs[i].ptr, vs[i].len = unsafe.Pointer(p), n
		}
	case attribute.BOOLSLICE:
		xs := kv.Value.AsBoolSlice()
		vs := b.arrayOf(v, len(xs))
		for i, x := range xs {
			vs[i].kind = C.OTLPX_VALUE_KIND_BOOL
			if x {
				vs[i].int_value = 1
			}
		}
	case attribute.INT64SLICE:
		xs := kv.Value.AsInt64Slice()
		vs := b.arrayOf(v, len(xs))
		for i, x := range xs {
			vs[i].kind, vs[i].int_value = C.OTLPX_VALUE_KIND_INT, C.int64_t(x)
		}
	case attribute.FLOAT64SLICE:
		xs := kv.Value.AsFloat64Slice()
		vs := b.arrayOf(v, len(xs))
		for i, x := range xs {
			vs[i].kind, vs[i].double_value = C.OTLPX_VALUE_KIND_DOUBLE, C.double(x)
		}
	default:
		// INVALID or a type newer than this package: send its text form.
		v.kind = C.OTLPX_VALUE_KIND_STRING
		p, n := b.str(kv.Value.Emit())
		v.ptr, v.len = unsafe.Pointer(p), n
	}
}

// arrayOf makes v an array of n zeroed values and returns them.
func (b *builder) arrayOf(v *C.otlpx_value, n int) []C.otlpx_value {
	v.kind = C.OTLPX_VALUE_KIND_ARRAY
	vs := b.valueSlice(n)
	for i := range vs {
		vs[i] = C.otlpx_value{}
	}
	if n > 0 {
		v.ptr, v.len = unsafe.Pointer(&vs[0]), C.size_t(n)
	}
	return vs
}

// spanData lays out a SpanData.
func (b *builder) spanData(d *SpanData) *C.otlpx_span_data {
	sd := (*C.otlpx_span_data)(b.a.alloc(C.sizeof_otlpx_span_data))
	*sd = C.otlpx_span_data{}
	copyID(sd.trace_id[:], d.TraceID[:])
	copyID(sd.span_id[:], d.SpanID[:])
	copyID(sd.parent_span_id[:], d.ParentSpanID[:])
	sd.trace_state, sd.trace_state_len = b.str(d.TraceState)
	sd.flags = C.uint32_t(d.Flags)
	sd.kind = C.uint32_t(d.Kind)
	sd.name, sd.name_len = b.str(d.Name)
	sd.start_time_unix_nano = C.uint64_t(d.StartTimeUnixNano)
	sd.end_time_unix_nano = C.uint64_t(d.EndTimeUnixNano)
	sd.attributes, sd.attributes_len = b.keyValues(d.Attributes)
	sd.dropped_attributes_count = C.uint32_t(d.DroppedAttributesCount)
	if len(d.Events) > 0 {
		evs := unsafe.Slice((*C.otlpx_event)(b.a.alloc(uintptr(len(d.Events))*C.sizeof_otlpx_event)), len(d.Events))
		for i := range d.Events {
			ev := &d.Events[i]
			evs[i] = C.otlpx_event{}
			evs[i].name, evs[i].name_len = b.str(ev.Name)
			evs[i].time_unix_nano = C.uint64_t(ev.TimeUnixNano)
			evs[i].attributes, evs[i].attributes_len = b.keyValues(ev.Attributes)
			evs[i].dropped_attributes_count = C.uint32_t(ev.DroppedAttributesCount)
		}
		sd.events, sd.events_len = &evs[0], C.size_t(len(evs))
	}
	sd.dropped_events_count = C.uint32_t(d.DroppedEventsCount)
	if len(d.Links) > 0 {
		ls := unsafe.Slice((*C.otlpx_link)(b.a.alloc(uintptr(len(d.Links))*C.sizeof_otlpx_link)), len(d.Links))
		for i := range d.Links {
			l := &d.Links[i]
			ls[i] = C.otlpx_link{}
			copyID(ls[i].trace_id[:], l.TraceID[:])
			copyID(ls[i].span_id[:], l.SpanID[:])
			ls[i].trace_state, ls[i].trace_state_len = b.str(l.TraceState)
			ls[i].attributes, ls[i].attributes_len = b.keyValues(l.Attributes)
			ls[i].dropped_attributes_count = C.uint32_t(l.DroppedAttributesCount)
			ls[i].flags = C.uint32_t(l.Flags)
		}
		sd.links, sd.links_len = &ls[0], C.size_t(len(ls))
	}
	sd.dropped_links_count = C.uint32_t(d.DroppedLinksCount)
	sd.status_code = C.uint32_t(d.StatusCode)
	sd.status_message, sd.status_message_len = b.str(d.StatusMessage)
	return sd
}

func copyID(dst []C.uint8_t, src []byte) {
	for i := range dst {
		dst[i] = C.uint8_t(src[i])
	}
}
