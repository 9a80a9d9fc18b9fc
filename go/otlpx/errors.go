// This file owns the result codes of the C ABI as Go errors. It must not
// decide anything about exporting.
package otlpx

/*
#include "otlpx.h"
*/
import "C"

import (
	"context"
	"errors"
	"strconv"
)

// Result is an otlpx_result code of the C ABI.
type Result uint32

// The result codes (include/otlpx.h).
const (
	ResultOK              Result = C.OTLPX_RESULT_OK
	ResultNullParameter   Result = C.OTLPX_RESULT_NULL_PARAMETER
	ResultInvalidArgument Result = C.OTLPX_RESULT_INVALID_ARGUMENT
	ResultInvalidUTF8     Result = C.OTLPX_RESULT_INVALID_UTF8
	ResultBufferTooSmall  Result = C.OTLPX_RESULT_BUFFER_TOO_SMALL
	ResultConfig          Result = C.OTLPX_RESULT_CONFIG
	ResultQueueFull       Result = C.OTLPX_RESULT_QUEUE_FULL
	ResultTooLarge        Result = C.OTLPX_RESULT_TOO_LARGE
	ResultShutDown        Result = C.OTLPX_RESULT_SHUT_DOWN
	ResultDisabled        Result = C.OTLPX_RESULT_DISABLED
	ResultInvalidScope    Result = C.OTLPX_RESULT_INVALID_SCOPE
	ResultTimeout         Result = C.OTLPX_RESULT_TIMEOUT
	ResultSpansDropped    Result = C.OTLPX_RESULT_SPANS_DROPPED
	ResultTooManyScopes   Result = C.OTLPX_RESULT_TOO_MANY_SCOPES
	ResultUnsupported     Result = C.OTLPX_RESULT_UNSUPPORTED
	ResultPanic           Result = C.OTLPX_RESULT_PANIC
	ResultAlreadyEnded    Result = C.OTLPX_RESULT_ALREADY_ENDED
	ResultInvalidHeader   Result = C.OTLPX_RESULT_INVALID_HEADER
)

// Message is otlpx_result_message for the code.
func (r Result) Message() string { return C.GoString(C.otlpx_result_message(C.uint32_t(r))) }

func (r Result) String() string { return r.Message() + " (" + strconv.FormatUint(uint64(r), 10) + ")" }

// Error is a failed otlpx call: the operation and the result code.
// errors.Is(err, ErrQueueFull) and the other sentinels compare codes;
// a ResultTimeout error also matches context.DeadlineExceeded.
type Error struct {
	Op   string
	Code Result
}

func (e *Error) Error() string { return "otlpx: " + e.Op + ": " + e.Code.String() }

// Is matches sentinels by code, and a timeout as context.DeadlineExceeded.
func (e *Error) Is(target error) bool {
	if t, ok := target.(*Error); ok {
		return t.Op == "" && t.Code == e.Code
	}
	return e.Code == ResultTimeout && target == context.DeadlineExceeded
}

// Sentinels for errors.Is.
var (
	ErrInvalidArgument = &Error{Code: ResultInvalidArgument}
	ErrInvalidUTF8     = &Error{Code: ResultInvalidUTF8}
	ErrConfig          = &Error{Code: ResultConfig}
	ErrQueueFull       = &Error{Code: ResultQueueFull}
	ErrTooLarge        = &Error{Code: ResultTooLarge}
	ErrShutDown        = &Error{Code: ResultShutDown}
	ErrDisabled        = &Error{Code: ResultDisabled}
	ErrInvalidScope    = &Error{Code: ResultInvalidScope}
	ErrTimeout         = &Error{Code: ResultTimeout}
	ErrSpansDropped    = &Error{Code: ResultSpansDropped}
	ErrTooManyScopes   = &Error{Code: ResultTooManyScopes}
	ErrUnsupported     = &Error{Code: ResultUnsupported}
	ErrInvalidHeader   = &Error{Code: ResultInvalidHeader}
)

// ErrConnect and ErrSendTimeout are what a SendFunc returns (wrapped or not)
// for "could not connect" and "timed out": otlpx retries both. Any other
// error drops the batch as export_failed.
var (
	ErrConnect     = errors.New("otlpx: connection failed")
	ErrSendTimeout = errors.New("otlpx: request timed out")
)

func check(op string, r C.otlpx_result) error {
	if r == C.OTLPX_RESULT_OK {
		return nil
	}
	return &Error{Op: op, Code: Result(r)}
}
