// Package otlpx is the Go frontend of otlpx, an embeddable OpenTelemetry
// trace exporter written in Rust, linked statically through its C ABI
// (include/otlpx.h) with cgo.
//
// It offers two ways in:
//
//   - [NewSpanExporter]: a go.opentelemetry.io/otel/sdk/trace.SpanExporter,
//     so a service on the OpenTelemetry Go SDK swaps otlptracehttp.New(ctx)
//     for otlpx.NewSpanExporter(ctx) and keeps its OTEL_* variables;
//   - the direct API ([Exporter.StartSpan], [Span]): start and end spans with
//     attributes without the Go SDK, with no Go allocation per span and one
//     cgo call per span.
//
// Build: the package links ../../target/release/libotlpx.a, built by
// `cargo build --release -p otlpx-ffi` from the repository root.
//
// This file owns the cgo preamble (link flags, C helpers) and the
// conversions between Go and C scalars. It must not hold exporter logic.
package otlpx

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libotlpx.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
#include <stdlib.h>
#include <stdint.h>
#include "otlpx.h"

// Implemented in Go (callbacks.go).
extern uint32_t otlpxGoSend(void *userdata, otlpx_export_request *request, otlpx_export_response *response);
extern void otlpxGoLog(void *userdata, uint32_t level, char *message, size_t message_len);

// The callbacks take a cgo.Handle as userdata; it travels as an integer so
// that no Go pointer is ever stored in C memory.
static otlpx_result otlpx_go_set_send(otlpx_config *cfg, uintptr_t handle) {
	return otlpx_config_set_send_callback(cfg, (otlpx_send_callback)otlpxGoSend, (void *)handle);
}
static otlpx_result otlpx_go_set_log(otlpx_config *cfg, uintptr_t handle, uint32_t max_level) {
	return otlpx_config_set_log_callback(cfg, (otlpx_log_callback)otlpxGoLog, (void *)handle, max_level);
}
*/
import "C"

import "unsafe"

// cstr returns a Go string's bytes as a C pointer + length without copying.
// Only for arguments C reads during the call (Go memory without Go pointers).
func cstr(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

func cbool(b bool) C.uint8_t {
	if b {
		return 1
	}
	return 0
}

// Version is the version of the linked otlpx library.
func Version() string { return C.GoString(C.otlpx_version()) }

func setSendCallback(cfg *C.otlpx_config, h cgoHandle) C.otlpx_result {
	return C.otlpx_go_set_send(cfg, C.uintptr_t(h))
}

func setLogCallback(cfg *C.otlpx_config, h cgoHandle, level LogLevel) C.otlpx_result {
	return C.otlpx_go_set_log(cfg, C.uintptr_t(h), C.uint32_t(level))
}
