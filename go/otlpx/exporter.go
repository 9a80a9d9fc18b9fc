// This file owns the Exporter handle: creation from options and the
// environment, scopes, recording finished spans (SpanData), flush and
// shutdown with context deadlines, stats and the redacted configuration.
// It must not batch, encode or retry (the core does) and must never free
// the C exporter while a call may still use it (a GC cleanup frees it).
package otlpx

/*
#cgo noescape otlpx_exporter_stats
#cgo nocallback otlpx_exporter_stats
#include <stdint.h>
#include <stdlib.h>
#include "otlpx.h"
*/
import "C"

import (
	"context"
	"errors"
	"math"
	"runtime"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"
)

type cgoHandle = cgo.Handle

func newHandle(v any) cgoHandle { return cgo.NewHandle(v) }

// ScopeID names an instrumentation scope registered with an exporter.
type ScopeID uint32

// InvalidScope is a scope id no exporter issues (records are dropped as invalid).
const InvalidScope ScopeID = math.MaxUint16

// Scope is an instrumentation scope (OTLP InstrumentationScope).
type Scope struct {
	Name                   string
	Version                string
	Attributes             []KeyValue
	DroppedAttributesCount uint32
	SchemaURL              string
}

// Exporter is an otlpx exporter: a bounded queue of encoded spans and a
// background thread that exports them. All methods are safe for concurrent
// use. Call Shutdown before dropping it; the C exporter is freed when the
// Exporter becomes unreachable.
type Exporter struct {
	h            *handle
	defaultScope ScopeID
	sampler      sampler
	spanPool     sync.Pool
	clock        clock
}

// handle owns the C exporter and the callback handles; freed by a cleanup.
type handle struct {
	ptr     *C.otlpx_exporter
	handles []cgoHandle
	closed  bool
}

func (h *handle) free() {
	C.otlpx_exporter_free(h.ptr)
	for _, x := range h.handles {
		x.Delete()
	}
}

// NewExporter creates an exporter from the environment (OTEL_* variables)
// and the options, and starts its background thread. The SDK language is
// reported as "go". A bad environment value is logged and its default used;
// the gRPC protocol fails with ErrUnsupported (use http/protobuf on 4318).
func NewExporter(opts ...Option) (*Exporter, error) {
	s := &settings{logLevel: LogWarn}
	for _, o := range opts {
		o(s)
	}
	var handles []cgoHandle
	cfg, err := s.build(&handles)
	if err != nil {
		for _, x := range handles {
			x.Delete()
		}
		return nil, err
	}
	defer C.otlpx_config_free(cfg)
	var ptr *C.otlpx_exporter
	if err := check("exporter_new", C.otlpx_exporter_new(cfg, &ptr)); err != nil {
		for _, x := range handles {
			x.Delete()
		}
		return nil, err
	}
	h := &handle{ptr: ptr, handles: handles}
	e := &Exporter{h: h}
	runtime.AddCleanup(e, func(h *handle) { h.free() }, h)
	var sc C.uint32_t
	if err := check("exporter_default_scope", C.otlpx_exporter_default_scope(ptr, &sc)); err != nil {
		return nil, err
	}
	e.defaultScope = ScopeID(sc)
	e.sampler = newSampler(s)
	e.spanPool.New = func() any { return newSpan() }
	return e, nil
}

// DefaultScope is the id of the default instrumentation scope
// (WithDefaultScope, "otlpx" otherwise).
func (e *Exporter) DefaultScope() ScopeID { return e.defaultScope }

// AddScope registers an instrumentation scope (at most 1024 per exporter).
func (e *Exporter) AddScope(s Scope) (ScopeID, error) {
	b := getBuilder()
	defer putBuilder(b)
	cs := (*C.otlpx_scope)(b.a.alloc(C.sizeof_otlpx_scope))
	cs.name, cs.name_len = b.str(s.Name)
	cs.version, cs.version_len = b.str(s.Version)
	cs.schema_url, cs.schema_url_len = b.str(s.SchemaURL)
	cs.attributes, cs.attributes_len = b.keyValues(s.Attributes)
	cs.dropped_attributes_count = C.uint32_t(s.DroppedAttributesCount)
	var id C.uint32_t
	err := check("exporter_add_scope", C.otlpx_exporter_add_scope(e.h.ptr, cs, &id))
	runtime.KeepAlive(e)
	return ScopeID(id), err
}

// Record records a finished span under scope: it is encoded into the queue
// before Record returns (nothing is kept) and never blocks on I/O. The
// sampler is not consulted. A dropped span is counted under its reason and
// returned as an error (errors.Is(err, ErrQueueFull), ...).
func (e *Exporter) Record(scope ScopeID, d *SpanData) error {
	b := getBuilder()
	sd := b.spanData(d)
	r := C.otlpx_exporter_record(e.h.ptr, C.uint32_t(scope), sd)
	putBuilder(b)
	runtime.KeepAlive(e)
	return check("exporter_record", r)
}

// Outcome is what a flush or shutdown achieved by its deadline.
type Outcome struct {
	TimedOut bool
	Exported uint64 // spans exported during the call
	Dropped  uint64 // spans dropped during the call, any reason
	Pending  uint64 // spans still queued or in flight when it returned
}

// defaultWait is how long ForceFlush and Shutdown wait when the context has
// no deadline (the default OTEL_BSP_EXPORT_TIMEOUT).
const defaultWait = 30 * time.Second

func waitMs(ctx context.Context) uint64 {
	d := defaultWait
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	if d <= 0 {
		return 0
	}
	return uint64((d + time.Millisecond - 1) / time.Millisecond)
}

func (e *Exporter) wait(ctx context.Context, op string, f func(*C.otlpx_exporter, C.uint64_t, *C.otlpx_outcome) C.otlpx_result) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	type res struct {
		o Outcome
		r C.otlpx_result
	}
	ms := waitMs(ctx)
	call := func() res {
		var out C.otlpx_outcome
		r := f(e.h.ptr, C.uint64_t(ms), &out)
		runtime.KeepAlive(e)
		return res{Outcome{out.timed_out != 0, uint64(out.exported), uint64(out.dropped), uint64(out.pending)}, r}
	}
	var x res
	if ctx.Done() == nil {
		x = call()
	} else {
		ch := make(chan res, 1)
		go func() { ch <- call() }()
		select {
		case x = <-ch:
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
	}
	return x.o, check(op, x.r)
}

// ForceFlush exports everything queued now and waits for it until ctx's
// deadline (30 s without one). The error is ErrTimeout (also matching
// context.DeadlineExceeded) when the deadline passed first, ErrSpansDropped
// when spans were dropped meanwhile; the outcome is valid in both cases.
func (e *Exporter) ForceFlush(ctx context.Context) (Outcome, error) {
	return e.wait(ctx, "exporter_force_flush", func(p *C.otlpx_exporter, ms C.uint64_t, o *C.otlpx_outcome) C.otlpx_result {
		return C.otlpx_exporter_force_flush(p, ms, o)
	})
}

// Shutdown stops accepting spans, exports what is queued and stops the
// background thread, waiting until ctx's deadline (30 s without one).
// Spans recorded afterwards are dropped as "shutdown". Errors as ForceFlush.
func (e *Exporter) Shutdown(ctx context.Context) (Outcome, error) {
	return e.wait(ctx, "exporter_shutdown", func(p *C.otlpx_exporter, ms C.uint64_t, o *C.otlpx_outcome) C.otlpx_result {
		return C.otlpx_exporter_shutdown(p, ms, o)
	})
}

// Dropped counts spans by drop reason.
type Dropped struct {
	QueueFull, TooLarge, ExportFailed, Rejected, Shutdown, Invalid, CircuitOpen, Disabled uint64
}

// Total is the sum over every reason.
func (d Dropped) Total() uint64 {
	return d.QueueFull + d.TooLarge + d.ExportFailed + d.Rejected + d.Shutdown + d.Invalid + d.CircuitOpen + d.Disabled
}

// Stats are an exporter's counters. Accepted = Exported + Dropped.Total() + Pending.
type Stats struct {
	Accepted, Exported, Pending uint64
	Dropped                     Dropped
	BytesEncoded                uint64
	Batches                     uint64
	RequestsSuccess             uint64 // 2xx
	RequestsRetryable           uint64 // 429/502/503/504, connection errors, timeouts
	RequestsPermanent           uint64
	Retries                     uint64
	CircuitOpened               uint64
	LastHTTPStatus              uint32 // 0 = none yet
	LastSuccess                 time.Time
}

// Stats reads the counters (atomic loads, no allocation).
func (e *Exporter) Stats() Stats {
	var s C.otlpx_stats
	C.otlpx_exporter_stats(e.h.ptr, &s)
	runtime.KeepAlive(e)
	out := Stats{
		Accepted: uint64(s.accepted), Exported: uint64(s.exported), Pending: uint64(s.pending),
		Dropped: Dropped{
			QueueFull: uint64(s.dropped_queue_full), TooLarge: uint64(s.dropped_too_large),
			ExportFailed: uint64(s.dropped_export_failed), Rejected: uint64(s.dropped_rejected),
			Shutdown: uint64(s.dropped_shutdown), Invalid: uint64(s.dropped_invalid),
			CircuitOpen: uint64(s.dropped_circuit_open), Disabled: uint64(s.dropped_disabled),
		},
		BytesEncoded: uint64(s.bytes_encoded), Batches: uint64(s.batches),
		RequestsSuccess: uint64(s.requests_success), RequestsRetryable: uint64(s.requests_retryable),
		RequestsPermanent: uint64(s.requests_permanent), Retries: uint64(s.retries),
		CircuitOpened: uint64(s.circuit_opened), LastHTTPStatus: uint32(s.last_http_status),
	}
	if s.last_success_unix_nano != 0 {
		out.LastSuccess = time.Unix(0, int64(s.last_success_unix_nano))
	}
	return out
}

type stringFn func(*C.otlpx_exporter, *C.char, C.size_t, *C.size_t) C.otlpx_result

func (e *Exporter) readString(op string, f stringFn) (string, error) {
	buf := make([]byte, 1024)
	for range 4 {
		var n C.size_t
		p := (*C.char)(unsafe.Pointer(&buf[0]))
		r := f(e.h.ptr, p, C.size_t(len(buf)), &n)
		runtime.KeepAlive(e)
		switch r {
		case C.OTLPX_RESULT_OK:
			return string(buf[:int(n)]), nil
		case C.OTLPX_RESULT_BUFFER_TOO_SMALL:
			buf = make([]byte, int(n)+1)
		default:
			return "", check(op, r)
		}
	}
	return "", errors.New("otlpx: " + op + ": the text kept growing")
}

// ConfigString is the effective configuration, one "name = value (origin)"
// line per setting, secrets redacted (kf-api-key=****).
func (e *Exporter) ConfigString() string {
	s, err := e.readString("exporter_config_string", func(p *C.otlpx_exporter, b *C.char, n C.size_t, o *C.size_t) C.otlpx_result {
		return C.otlpx_exporter_config_string(p, b, n, o)
	})
	if err != nil {
		return err.Error()
	}
	return s
}

// LastError is the text of the last export error ("" when none).
func (e *Exporter) LastError() string {
	s, _ := e.readString("exporter_last_error", func(p *C.otlpx_exporter, b *C.char, n C.size_t, o *C.size_t) C.otlpx_result {
		return C.otlpx_exporter_last_error(p, b, n, o)
	})
	return s
}

// MemoryBound is the most memory, in bytes, the exporter's buffers can take.
func (e *Exporter) MemoryBound() uint64 {
	var n C.size_t
	C.otlpx_exporter_memory_bound(e.h.ptr, &n)
	runtime.KeepAlive(e)
	return uint64(n)
}

// requestFlush asks for a flush without waiting for it (timeout 0).
func (e *Exporter) requestFlush() {
	C.otlpx_exporter_force_flush(e.h.ptr, 0, nil)
	runtime.KeepAlive(e)
}
