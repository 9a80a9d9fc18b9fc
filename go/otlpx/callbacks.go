// This file owns the Go functions C calls back (the send and log
// callbacks). It must not contain C definitions in its preamble (cgo's rule
// for files with //export).
package otlpx

/*
#include <stdint.h>
#include "otlpx.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"time"
	"unsafe"
)

//export otlpxGoSend
func otlpxGoSend(userdata unsafe.Pointer, req *C.otlpx_export_request, resp *C.otlpx_export_response) C.uint32_t {
	send, ok := handleValue(userdata).(SendFunc)
	if !ok {
		return C.OTLPX_SEND_RESULT_ERROR
	}
	r := ExportRequest{
		URL:             C.GoStringN(req.url, C.int(req.url_len)),
		ContentType:     C.GoStringN(req.content_type, C.int(req.content_type_len)),
		ContentEncoding: C.GoStringN(req.content_encoding, C.int(req.content_encoding_len)),
		Timeout:         time.Duration(req.timeout_ms) * time.Millisecond,
		Spans:           int(req.spans),
	}
	if req.body_len > 0 {
		r.Body = unsafe.Slice((*byte)(unsafe.Pointer(req.body)), int(req.body_len))
	}
	if req.headers_len > 0 {
		hs := unsafe.Slice(req.headers, int(req.headers_len))
		r.Headers = make([]Header, len(hs))
		for i, x := range hs {
			r.Headers[i] = Header{
				Name:  C.GoStringN(x.name, C.int(x.name_len)),
				Value: C.GoStringN(x.value, C.int(x.value_len)),
			}
		}
	}
	out, err := callSend(send, &r)
	if err != nil {
		msg := err.Error()
		p, n := cstr(msg)
		C.otlpx_export_response_set_error(resp, p, n)
		switch {
		case errors.Is(err, ErrConnect):
			return C.OTLPX_SEND_RESULT_CONNECT_ERROR
		case errors.Is(err, ErrSendTimeout):
			return C.OTLPX_SEND_RESULT_TIMEOUT
		default:
			return C.OTLPX_SEND_RESULT_ERROR
		}
	}
	if out.Status <= 0 || out.Status > 999 {
		return C.OTLPX_SEND_RESULT_ERROR
	}
	C.otlpx_export_response_set_status(resp, C.uint16_t(out.Status))
	if out.RetryAfter != "" {
		p, n := cstr(out.RetryAfter)
		C.otlpx_export_response_set_retry_after(resp, p, n)
	}
	if len(out.Body) > 0 {
		C.otlpx_export_response_set_body(resp, (*C.uint8_t)(unsafe.Pointer(&out.Body[0])), C.size_t(len(out.Body)))
	}
	return C.OTLPX_SEND_RESULT_OK
}

// handleValue is the value of the cgo.Handle in userdata, or nil when the
// handle was already deleted (a callback racing the exporter's release).
func handleValue(userdata unsafe.Pointer) (v any) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return cgo.Handle(uintptr(userdata)).Value()
}

// callSend runs the host's SendFunc, turning a panic into an error (a panic
// must not unwind through the C frames of the exporter thread).
func callSend(send SendFunc, r *ExportRequest) (resp ExportResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("otlpx: the send function panicked")
		}
	}()
	return send(r)
}

//export otlpxGoLog
func otlpxGoLog(userdata unsafe.Pointer, level C.uint32_t, msg *C.char, n C.size_t) {
	f, ok := handleValue(userdata).(LogFunc)
	if !ok {
		return
	}
	defer func() { _ = recover() }()
	f(LogLevel(level), C.GoStringN(msg, C.int(n)))
}
