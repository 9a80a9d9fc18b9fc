// This file owns the Go shapes of span data for Exporter.Record: values of
// every OTLP AnyValue kind, events, links, status. Plain data, no C.
package otlpx

// ValueKind is the type of a Value (an OTLP AnyValue).
type ValueKind uint32

// Value kinds (otlpx_value_kind).
const (
	KindString ValueKind = 1
	KindBool   ValueKind = 2
	KindInt    ValueKind = 3
	KindDouble ValueKind = 4
	KindBytes  ValueKind = 5
	KindArray  ValueKind = 6
	KindKVList ValueKind = 7
)

// Value is an OTLP AnyValue: Kind says which field counts (Int holds a
// bool as 0/1).
type Value struct {
	Kind   ValueKind
	Int    int64
	Float  float64
	Str    string
	Bytes  []byte
	Array  []Value
	KVList []KeyValue
}

// KeyValue is an OTLP KeyValue.
type KeyValue struct {
	Key   string
	Value Value
}

// Constructors.
func StringValue(s string) Value  { return Value{Kind: KindString, Str: s} }
func IntValue(i int64) Value      { return Value{Kind: KindInt, Int: i} }
func DoubleValue(f float64) Value { return Value{Kind: KindDouble, Float: f} }
func BytesValue(b []byte) Value   { return Value{Kind: KindBytes, Bytes: b} }
func ArrayValue(vs ...Value) Value {
	return Value{Kind: KindArray, Array: vs}
}
func KVListValue(kvs ...KeyValue) Value { return Value{Kind: KindKVList, KVList: kvs} }
func BoolValue(b bool) Value {
	v := Value{Kind: KindBool}
	if b {
		v.Int = 1
	}
	return v
}

// SpanKind is OTLP's span kind numbering.
type SpanKind uint32

// Span kinds.
const (
	SpanKindUnspecified SpanKind = 0
	SpanKindInternal    SpanKind = 1
	SpanKindServer      SpanKind = 2
	SpanKindClient      SpanKind = 3
	SpanKindProducer    SpanKind = 4
	SpanKindConsumer    SpanKind = 5
)

// StatusCode is OTLP's status code numbering.
type StatusCode uint32

// Status codes.
const (
	StatusUnset StatusCode = 0
	StatusOK    StatusCode = 1
	StatusError StatusCode = 2
)

// OTLP span/link flags: W3C trace flags in bits 0-7, is-remote bits 8-9.
const (
	FlagSampled     uint32 = 0x01
	FlagHasIsRemote uint32 = 0x100
	FlagIsRemote    uint32 = 0x200
)

// Event is a span event.
type Event struct {
	Name                   string
	TimeUnixNano           uint64
	Attributes             []KeyValue
	DroppedAttributesCount uint32
}

// Link is a link to another span.
type Link struct {
	TraceID                [16]byte
	SpanID                 [8]byte
	TraceState             string
	Attributes             []KeyValue
	DroppedAttributesCount uint32
	Flags                  uint32
}

// SpanData is a finished span for Exporter.Record.
type SpanData struct {
	TraceID                [16]byte
	SpanID                 [8]byte
	ParentSpanID           [8]byte // zero for a root span
	TraceState             string
	Flags                  uint32
	Kind                   SpanKind
	Name                   string
	StartTimeUnixNano      uint64
	EndTimeUnixNano        uint64
	Attributes             []KeyValue
	DroppedAttributesCount uint32
	Events                 []Event
	DroppedEventsCount     uint32
	Links                  []Link
	DroppedLinksCount      uint32
	StatusCode             StatusCode
	StatusMessage          string
}
