package otlpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/otlpx/otlpx/go/otlpx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sink is a loopback OTLP/HTTP endpoint that reads the body and answers 200.
func sink(tb testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(200)
	}))
	tb.Cleanup(s.Close)
	return s
}

// The standard-batch span shape: kind SERVER, 8 attributes (4 strings,
// 2 ints, 1 bool, 1 double), 1 event with 2 attributes, status OK.
var (
	eventAttrs = []attribute.KeyValue{attribute.String("message.type", "RECEIVED"), attribute.Int64("message.id", 7)}
)

func sdkSpan(tr trace.Tracer, ctx context.Context) {
	_, sp := tr.Start(ctx, "GET /api/orders", trace.WithSpanKind(trace.SpanKindServer))
	sp.SetAttributes(
		attribute.String("http.request.method", "GET"),
		attribute.String("url.path", "/api/orders/12345"),
		attribute.String("http.route", "/api/orders/{id}"),
		attribute.String("server.address", "orders.internal"),
		attribute.Int64("http.response.status_code", 200),
		attribute.Int64("server.port", 8080),
		attribute.Bool("cache.hit", true),
		attribute.Float64("request.ratio", 0.75),
	)
	sp.AddEvent("request.received", trace.WithAttributes(eventAttrs...))
	sp.SetStatus(codes.Ok, "")
	sp.End()
}

func benchSDK(b *testing.B, exp sdktrace.SpanExporter) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	tr := tp.Tracer("bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sdkSpan(tr, ctx)
	}
	b.StopTimer()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = tp.Shutdown(sctx)
}

// (i) the Go SDK with otlptracehttp and its BatchSpanProcessor.
func BenchmarkSpan_SDK_otlptracehttp(b *testing.B) {
	s := sink(b)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(s.URL+"/v1/traces"))
	if err != nil {
		b.Fatal(err)
	}
	benchSDK(b, exp)
}

// (ii) the Go SDK with the otlpx SpanExporter.
func BenchmarkSpan_SDK_otlpx(b *testing.B) {
	s := sink(b)
	exp, err := otlpx.NewSpanExporter(context.Background(), otlpx.WithEndpointURL(s.URL+"/v1/traces"),
		otlpx.WithLogFunc(func(otlpx.LogLevel, string) {}, otlpx.LogError))
	if err != nil {
		b.Fatal(err)
	}
	benchSDK(b, exp)
}

func directSpan(e *otlpx.Exporter) {
	sp := e.StartSpan("GET /api/orders", otlpx.SpanKindServer, otlpx.SpanContext{})
	sp.SetString("http.request.method", "GET")
	sp.SetString("url.path", "/api/orders/12345")
	sp.SetString("http.route", "/api/orders/{id}")
	sp.SetString("server.address", "orders.internal")
	sp.SetInt("http.response.status_code", 200)
	sp.SetInt("server.port", 8080)
	sp.SetBool("cache.hit", true)
	sp.SetFloat64("request.ratio", 0.75)
	sp.AddEvent("request.received", eventAttrs...)
	sp.SetStatus(otlpx.StatusOK, "")
	_ = sp.End()
}

// (iii) otlpx's direct API.
func BenchmarkSpan_direct_otlpx(b *testing.B) {
	s := sink(b)
	e, err := otlpx.NewExporter(otlpx.WithEndpointURL(s.URL+"/v1/traces"),
		otlpx.WithLogFunc(func(otlpx.LogLevel, string) {}, otlpx.LogError))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		directSpan(e)
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = e.Shutdown(ctx)
	st := e.Stats()
	b.ReportMetric(float64(st.Dropped.Total())/float64(b.N), "dropped/op")
}

// TestDirectAPIZeroAllocs: a span through the direct API allocates nothing
// on the Go heap (an allocation count, not a timing).
func TestDirectAPIZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items at random)")
	}
	var sent int
	e, err := otlpx.NewExporter(otlpx.WithoutProcessEnv(), otlpx.WithSendFunc(func(r *otlpx.ExportRequest) (otlpx.ExportResponse, error) {
		sent += r.Spans
		return otlpx.ExportResponse{Status: 200}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	directSpan(e) // warm the pool
	if n := testing.AllocsPerRun(1000, func() { directSpan(e) }); n != 0 {
		t.Errorf("direct API: %v allocations per span, want 0", n)
	}
	if _, err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Exported != st.Accepted || st.Accepted < 1001 {
		t.Errorf("stats %+v", st)
	}
}
