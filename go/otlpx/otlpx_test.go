package otlpx_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otlpx/otlpx/go/otlpx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// capture is a SendFunc that decodes every request.
type capture struct {
	mu   sync.Mutex
	reqs []*collpb.ExportTraceServiceRequest
}

func (c *capture) send(r *otlpx.ExportRequest) (otlpx.ExportResponse, error) {
	var m collpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(r.Body, &m); err != nil {
		return otlpx.ExportResponse{Status: 400}, nil
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, &m)
	c.mu.Unlock()
	return otlpx.ExportResponse{Status: 200}, nil
}

func (c *capture) spans() (out []*tracepb.Span, scopes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.reqs {
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, s)
					scopes = append(scopes, ss.Scope.GetName())
				}
			}
		}
	}
	return
}

// TestSpanExporterConverts: every ReadOnlySpan field reaches the wire.
func TestSpanExporterConverts(t *testing.T) {
	c := &capture{}
	exp, err := otlpx.NewSpanExporter(context.Background(), otlpx.WithoutProcessEnv(), otlpx.WithSendFunc(c.send),
		otlpx.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc"))))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("scope-a", trace.WithInstrumentationVersion("1.2"), trace.WithInstrumentationAttributes(attribute.Bool("x", true)))
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ts, _ := trace.ParseTraceState("k=v")
	remote = remote.WithTraceState(ts)
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)
	link := trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8}}),
		Attributes: []attribute.KeyValue{attribute.String("l", "1")}}
	_, sp := tr.Start(ctx, "op", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(link))
	sp.SetAttributes(
		attribute.String("s", "v"), attribute.Int("i", -3), attribute.Bool("b", true), attribute.Float64("f", 1.5),
		attribute.StringSlice("ss", []string{"a", "b"}), attribute.IntSlice("is", []int{1, 2}),
		attribute.BoolSlice("bs", []bool{true, false}), attribute.Float64Slice("fs", []float64{0.5}),
	)
	sp.AddEvent("ev", trace.WithAttributes(attribute.String("e", "1")))
	sp.SetStatus(codes.Error, "boom")
	sp.End()
	tr2 := tp.Tracer("scope-b")
	_, sp2 := tr2.Start(context.Background(), "second")
	sp2.End()
	_, sp3 := tr.Start(context.Background(), "third") // scope-a again: cached
	sp3.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans, scopes := c.spans()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if scopes[0] != "scope-a" || s.Name != "op" || s.Kind != tracepb.Span_SPAN_KIND_CONSUMER {
		t.Errorf("scope %q name %q kind %v", scopes[0], s.Name, s.Kind)
	}
	if s.TraceId[0] != 1 || s.ParentSpanId[0] != 4 || s.TraceState != "k=v" {
		t.Errorf("ids/state: %x %x %q", s.TraceId, s.ParentSpanId, s.TraceState)
	}
	if s.Flags != 0x301 {
		t.Errorf("flags %#x, want 0x301 (sampled, parent remote)", s.Flags)
	}
	if len(s.Attributes) != 8 || s.Attributes[4].Value.GetArrayValue().GetValues()[1].GetStringValue() != "b" {
		t.Errorf("attributes %v", s.Attributes)
	}
	if len(s.Events) != 1 || s.Events[0].Name != "ev" || len(s.Links) != 1 || s.Links[0].Flags != 0x100 {
		t.Errorf("events %v links %v", s.Events, s.Links)
	}
	if s.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || s.Status.GetMessage() != "boom" {
		t.Errorf("status %v", s.Status)
	}
	// Spans are grouped by scope in a request; scope-a registered once.
	if strings.Join(scopes, ",") != "scope-a,scope-a,scope-b" {
		t.Errorf("scopes %v", scopes)
	}
	_ = instrumentation.Scope{}
}

// TestSpanExporterEveryField: the SDK adapter's packed layout carries
// dropped counts, event and link attributes (with arrays after them), link
// trace states and flags, times, an OK status, and repairs invalid UTF-8.
func TestSpanExporterEveryField(t *testing.T) {
	c := &capture{}
	exp, err := otlpx.NewSpanExporter(context.Background(), otlpx.WithoutProcessEnv(), otlpx.WithSendFunc(c.send))
	if err != nil {
		t.Fatal(err)
	}
	limits := sdktrace.NewSpanLimits()
	limits.AttributeCountLimit = 3
	limits.EventCountLimit = 2
	limits.LinkCountLimit = 1
	limits.AttributePerEventCountLimit = 2
	limits.AttributePerLinkCountLimit = 1
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithRawSpanLimits(limits))
	tr := tp.Tracer("every")
	ts, _ := trace.ParseTraceState("a=1,b=2")
	linked := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{7}, SpanID: trace.SpanID{6}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
	})
	other := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{5}, SpanID: trace.SpanID{4}})
	start := time.Unix(1_700_000_000, 123)
	_, sp := tr.Start(context.Background(), "bad \xff name", trace.WithTimestamp(start),
		trace.WithLinks( // the SDK keeps the newest links and events
			trace.Link{SpanContext: other},
			trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.IntSlice("li", []int{1, 2}), attribute.Bool("cut", true)}},
		))
	sp.SetAttributes(attribute.String("k\xfe", "v\xfd"), attribute.StringSlice("ss", []string{"x", "y", "z"}),
		attribute.Int64("i", 1<<40), attribute.Bool("over", true))
	sp.AddEvent("e0")
	sp.AddEvent("e1", trace.WithTimestamp(start.Add(time.Second)),
		trace.WithAttributes(attribute.Float64Slice("fs", []float64{0.25, 0.5}), attribute.String("s", "t"), attribute.Int("cut", 1)))
	sp.AddEvent("e2", trace.WithTimestamp(start.Add(2*time.Second)), trace.WithAttributes(attribute.BoolSlice("bs", []bool{true})))
	sp.SetStatus(codes.Ok, "ignored for ok")
	sp.End(trace.WithTimestamp(start.Add(3 * time.Second)))
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans, _ := c.spans()
	if len(spans) != 1 {
		t.Fatalf("%d spans (stats %+v)", len(spans), exp.Stats())
	}
	s := spans[0]
	if s.Name != "bad \ufffd name" || s.StartTimeUnixNano != uint64(start.UnixNano()) ||
		s.EndTimeUnixNano != uint64(start.Add(3*time.Second).UnixNano()) {
		t.Errorf("name %q times %d %d", s.Name, s.StartTimeUnixNano, s.EndTimeUnixNano)
	}
	if len(s.Attributes) != 3 || s.DroppedAttributesCount != 1 || s.Attributes[0].Key != "k\ufffd" ||
		s.Attributes[0].Value.GetStringValue() != "v\ufffd" ||
		len(s.Attributes[1].Value.GetArrayValue().GetValues()) != 3 || s.Attributes[2].Value.GetIntValue() != 1<<40 {
		t.Errorf("attributes %v dropped %d", s.Attributes, s.DroppedAttributesCount)
	}
	if len(s.Events) != 2 || s.DroppedEventsCount != 1 {
		t.Fatalf("events %v dropped %d", s.Events, s.DroppedEventsCount)
	}
	e1, e2 := s.Events[0], s.Events[1]
	if e1.Name != "e1" || e1.TimeUnixNano != uint64(start.Add(time.Second).UnixNano()) || len(e1.Attributes) != 2 ||
		e1.DroppedAttributesCount != 1 || e1.Attributes[0].Value.GetArrayValue().GetValues()[1].GetDoubleValue() != 0.5 ||
		e1.Attributes[1].Value.GetStringValue() != "t" {
		t.Errorf("event 1 %v", e1)
	}
	if e2.Name != "e2" || len(e2.Attributes) != 1 || !e2.Attributes[0].Value.GetArrayValue().GetValues()[0].GetBoolValue() {
		t.Errorf("event 2 %v", e2)
	}
	if len(s.Links) != 1 || s.DroppedLinksCount != 1 {
		t.Fatalf("links %v dropped %d", s.Links, s.DroppedLinksCount)
	}
	l := s.Links[0]
	if l.TraceId[0] != 7 || l.SpanId[0] != 6 || l.TraceState != "a=1,b=2" || l.Flags != 0x301 ||
		len(l.Attributes) != 1 || l.DroppedAttributesCount != 1 ||
		l.Attributes[0].Value.GetArrayValue().GetValues()[1].GetIntValue() != 2 {
		t.Errorf("link %v", l)
	}
	if s.Status.GetCode() != tracepb.Status_STATUS_CODE_OK || s.Status.GetMessage() != "" || s.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("status %v kind %v", s.Status, s.Kind)
	}
	if len(s.ParentSpanId) != 0 || s.Flags != 0x101 {
		t.Errorf("root span: parent %x flags %#x", s.ParentSpanId, s.Flags)
	}
}

func TestTraceparent(t *testing.T) {
	sc, err := otlpx.ExtractTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=b")
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Remote || !sc.IsSampled() || sc.TraceState != "a=b" {
		t.Errorf("%+v", sc)
	}
	if got := sc.Traceparent(); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("round trip %q", got)
	}
	for _, bad := range []string{
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
		"",
	} {
		if _, err := otlpx.ExtractTraceparent(bad, ""); !errors.Is(err, otlpx.ErrInvalidHeader) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDirectAPI(t *testing.T) {
	c := &capture{}
	e, err := otlpx.NewExporter(otlpx.WithoutProcessEnv(), otlpx.WithSendFunc(c.send), otlpx.WithDefaultScope("direct", "1"))
	if err != nil {
		t.Fatal(err)
	}
	parent, _ := otlpx.ExtractTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "")
	sp := e.StartSpan("srv", otlpx.SpanKindServer, parent)
	ctx := sp.Context()
	sp.SetString("k", "v")
	sp.SetAttributes(attribute.StringSlice("sl", []string{"x"}))
	sp.AddEvent("e", attribute.Int("n", 1))
	sp.SetStatus(otlpx.StatusError, "bad")
	if err := sp.End(); err != nil {
		t.Fatal(err)
	}
	unsampled := e.StartSpan("no", otlpx.SpanKindServer, otlpx.SpanContext{TraceID: parent.TraceID, SpanID: parent.SpanID})
	if unsampled.IsRecording() {
		t.Error("child of an unsampled parent records")
	}
	_ = unsampled.End()
	out, err := e.Shutdown(context.Background())
	if err != nil || out.TimedOut {
		t.Fatal(err, out)
	}
	spans, scopes := c.spans()
	if len(spans) != 1 || scopes[0] != "direct" {
		t.Fatalf("%d spans, scopes %v", len(spans), scopes)
	}
	s := spans[0]
	if [16]byte(s.TraceId) != parent.TraceID || [8]byte(s.ParentSpanId) != parent.SpanID || [8]byte(s.SpanId) != ctx.SpanID {
		t.Errorf("ids %x %x %x", s.TraceId, s.ParentSpanId, s.SpanId)
	}
	if s.Flags != 0x301 || len(s.Attributes) != 2 || len(s.Events) != 1 || s.Status.GetMessage() != "bad" {
		t.Errorf("span %v", s)
	}
	if err := e.Record(e.DefaultScope(), &otlpx.SpanData{Name: "late"}); !errors.Is(err, otlpx.ErrShutDown) {
		t.Errorf("record after shutdown: %v", err)
	}
	st := e.Stats()
	if st.Exported != 1 || st.Dropped.Shutdown != 1 || st.Accepted != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestErrorsAndConfig(t *testing.T) {
	_, err := otlpx.NewExporter(otlpx.WithoutProcessEnv(), otlpx.WithProtocol("grpc"),
		otlpx.WithLogFunc(func(otlpx.LogLevel, string) {}, otlpx.LogError))
	if !errors.Is(err, otlpx.ErrUnsupported) || !strings.Contains(err.Error(), "otlpx") {
		t.Errorf("grpc: %v", err)
	}
	if _, err := otlpx.NewExporter(otlpx.WithCompression("zstd")); !errors.Is(err, otlpx.ErrInvalidArgument) {
		t.Errorf("compression: %v", err)
	}
	var logs []string
	var mu sync.Mutex
	e, err := otlpx.NewExporter(otlpx.WithoutProcessEnv(), otlpx.WithEnv("OTEL_BSP_MAX_QUEUE_SIZE", "nope"),
		otlpx.WithHeaders(map[string]string{"kf-api-key": "sekrit"}), otlpx.WithEndpoint("collector:4318"), otlpx.WithInsecure(),
		otlpx.WithLogFunc(func(_ otlpx.LogLevel, m string) { mu.Lock(); logs = append(logs, m); mu.Unlock() }, otlpx.LogWarn))
	if err != nil {
		t.Fatal(err)
	}
	cs := e.ConfigString()
	if strings.Contains(cs, "sekrit") || !strings.Contains(cs, "http://collector:4318/v1/traces") {
		t.Errorf("config string:\n%s", cs)
	}
	mu.Lock()
	if len(logs) == 0 {
		t.Error("no warning for a bad OTEL_BSP_MAX_QUEUE_SIZE")
	}
	mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := e.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with nothing queued: %v", err)
	}
}

// TestDirectAPIEveryType: every attribute.Type, events with slice
// attributes, renames, growth past the pooled capacities, and pooled Spans
// that carry nothing over from the span before; a span with a string that
// is not UTF-8 is dropped as invalid.
func TestDirectAPIEveryType(t *testing.T) {
	c := &capture{}
	e, err := otlpx.NewExporter(otlpx.WithoutProcessEnv(), otlpx.WithSendFunc(c.send),
		otlpx.WithLogFunc(func(otlpx.LogLevel, string) {}, otlpx.LogError))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1700000000, 0)
	long := strings.Repeat("é", 400) // 800 bytes: past the pooled data buffer
	for round := range 3 {
		sp := e.StartSpanAt(e.DefaultScope(), "first", otlpx.SpanKindClient, &otlpx.SpanContext{}, start)
		sp.SetName("renamed")
		sp.SetString("s", long)
		sp.SetInt("i", -5)
		sp.SetBool("b", true)
		sp.SetFloat64("f", 1.5)
		sp.SetAttributes(
			attribute.StringSlice("ss", []string{"x", "", "yz"}),
			attribute.BoolSlice("bs", []bool{true, false}),
			attribute.Int64Slice("is", []int64{1, -2}),
			attribute.Float64Slice("fs", []float64{0.5}),
			attribute.StringSlice("empty", nil),
			attribute.KeyValue{Key: "invalid"},
		)
		for i := range 20 { // past the pooled attribute capacity
			sp.SetInt("n", int64(i))
		}
		sp.AddEventAt("ev", start.Add(time.Millisecond), attribute.StringSlice("es", []string{"a", "b"}), attribute.Int("ei", 3))
		sp.AddEvent("bare")
		sp.SetStatus(otlpx.StatusError, "why")
		if err := sp.EndAt(start.Add(time.Second)); err != nil {
			t.Fatal(round, err)
		}
		// A small span from the same pool: nothing carried over.
		sp = e.StartSpan("small", otlpx.SpanKindInternal, otlpx.SpanContext{})
		sp.SetStatus(otlpx.StatusOK, "ignored")
		if err := sp.End(); err != nil {
			t.Fatal(round, err)
		}
	}
	bad := e.StartSpan("bad", otlpx.SpanKindServer, otlpx.SpanContext{})
	bad.SetString("k", "\xff")
	if err := bad.End(); !errors.Is(err, otlpx.ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if _, err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans, _ := c.spans()
	if len(spans) != 6 {
		t.Fatalf("%d spans", len(spans))
	}
	for i, s := range spans {
		if i%2 == 1 {
			if s.Name != "small" || len(s.Attributes) != 0 || len(s.Events) != 0 || s.Status.GetMessage() != "" ||
				s.Status.GetCode() != tracepb.Status_STATUS_CODE_OK || s.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
				t.Errorf("small span %v", s)
			}
			continue
		}
		if s.Name != "renamed" || s.Kind != tracepb.Span_SPAN_KIND_CLIENT || s.StartTimeUnixNano != uint64(start.UnixNano()) ||
			s.EndTimeUnixNano != uint64(start.Add(time.Second).UnixNano()) || s.Status.GetMessage() != "why" {
			t.Errorf("span %v", s)
		}
		if len(s.Attributes) != 30 {
			t.Fatalf("%d attributes", len(s.Attributes))
		}
		if s.Attributes[0].Value.GetStringValue() != long || s.Attributes[1].Value.GetIntValue() != -5 ||
			!s.Attributes[2].Value.GetBoolValue() || s.Attributes[3].Value.GetDoubleValue() != 1.5 {
			t.Errorf("scalars %v", s.Attributes[:4])
		}
		arr := func(i int) []string {
			var out []string
			for _, v := range s.Attributes[i].Value.GetArrayValue().GetValues() {
				out = append(out, v.String())
			}
			return out
		}
		if a := arr(4); len(a) != 3 || s.Attributes[4].Value.GetArrayValue().Values[2].GetStringValue() != "yz" {
			t.Errorf("string slice %v", a)
		}
		if a := s.Attributes[5].Value.GetArrayValue().GetValues(); len(a) != 2 || !a[0].GetBoolValue() || a[1].GetBoolValue() {
			t.Errorf("bool slice %v", a)
		}
		if a := s.Attributes[6].Value.GetArrayValue().GetValues(); len(a) != 2 || a[1].GetIntValue() != -2 {
			t.Errorf("int slice %v", a)
		}
		if a := s.Attributes[7].Value.GetArrayValue().GetValues(); len(a) != 1 || a[0].GetDoubleValue() != 0.5 {
			t.Errorf("float slice %v", a)
		}
		if s.Attributes[8].Key != "empty" || len(s.Attributes[8].Value.GetArrayValue().GetValues()) != 0 {
			t.Errorf("empty slice %v", s.Attributes[8])
		}
		if s.Attributes[9].Key != "invalid" || s.Attributes[29].Value.GetIntValue() != 19 {
			t.Errorf("attributes %v", s.Attributes[9:])
		}
		if len(s.Events) != 2 || s.Events[0].Name != "ev" || s.Events[0].TimeUnixNano != uint64(start.Add(time.Millisecond).UnixNano()) ||
			len(s.Events[0].Attributes) != 2 || s.Events[1].Name != "bare" || len(s.Events[1].Attributes) != 0 {
			t.Fatalf("events %v", s.Events)
		}
		if a := s.Events[0].Attributes[0].Value.GetArrayValue().GetValues(); len(a) != 2 || a[1].GetStringValue() != "b" ||
			s.Events[0].Attributes[1].Value.GetIntValue() != 3 {
			t.Errorf("event attributes %v", s.Events[0].Attributes)
		}
	}
	if st := e.Stats(); st.Dropped.Invalid != 1 || st.Exported != 6 {
		t.Errorf("stats %+v", st)
	}
}
