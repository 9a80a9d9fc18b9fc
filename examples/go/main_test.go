package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// TestExampleEndToEnd runs the guide's service against a loopback OTLP/HTTP
// receiver: a request to /api/orders makes the handler call /api/inventory
// through otelhttp.NewTransport; the receiver must get the orders SERVER
// span, its CLIENT child, and the inventory SERVER span under that client
// span, with the HTTP attributes and the guide's resource.
func TestExampleEndToEnd(t *testing.T) {
	recv := startReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL) // base endpoint: /v1/traces appended
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "kf-api-key=test-key-from-env,x-env=test")
	t.Setenv("KLOUDFUSE_API_KEY", "")
	ctx := context.Background()
	tp, err := initTracer(ctx)
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: newMux("http://" + ln.Addr().String() + "/api/inventory")}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	resp, err := http.Get("http://" + ln.Addr().String() + "/api/orders")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "42 widgets") {
		t.Fatalf("orders answered %d %q", resp.StatusCode, body)
	}

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil { // flushes the BSP and otlpx
		t.Fatalf("shutdown: %v", err)
	}
	spans := recv.waitSpans(3, 5*time.Second)
	if len(spans) != 3 {
		t.Fatalf("received %d spans, want 3", len(spans))
	}
	var orders, client, inventory *recvSpan
	for i := range spans {
		s := &spans[i]
		switch {
		case s.Kind == tracepb.Span_SPAN_KIND_SERVER && s.Name == "GET /api/orders":
			orders = s
		case s.Kind == tracepb.Span_SPAN_KIND_SERVER && s.Name == "GET /api/inventory":
			inventory = s
		case s.Kind == tracepb.Span_SPAN_KIND_CLIENT:
			client = s
		}
	}
	if orders == nil || client == nil || inventory == nil {
		for _, s := range spans {
			t.Logf("span %q kind %v", s.Name, s.Kind)
		}
		t.Fatal("missing the orders SERVER, CLIENT or inventory SERVER span")
	}
	// Linkage: one trace; orders is the root; client under orders; inventory under client.
	tid := hexOf(orders.TraceId)
	for _, s := range []*recvSpan{client, inventory} {
		if hexOf(s.TraceId) != tid {
			t.Errorf("%s: trace %s, want %s", s.Name, hexOf(s.TraceId), tid)
		}
	}
	if len(orders.ParentSpanId) != 0 {
		t.Errorf("orders span has parent %s", hexOf(orders.ParentSpanId))
	}
	if hexOf(client.ParentSpanId) != hexOf(orders.SpanId) {
		t.Errorf("client parent %s, want orders span %s", hexOf(client.ParentSpanId), hexOf(orders.SpanId))
	}
	if hexOf(inventory.ParentSpanId) != hexOf(client.SpanId) {
		t.Errorf("inventory parent %s, want client span %s (traceparent not carried?)",
			hexOf(inventory.ParentSpanId), hexOf(client.SpanId))
	}
	// The remote bit: inventory's parent came over HTTP.
	if inventory.Flags&0x300 != 0x300 {
		t.Errorf("inventory flags %#x: parent should be marked remote", inventory.Flags)
	}
	// Attributes.
	for _, s := range []*recvSpan{orders, inventory} {
		if v := attr(s.Span, "http.request.method"); v.GetStringValue() != "GET" {
			t.Errorf("%s: http.request.method = %v", s.Name, v)
		}
		if v := attr(s.Span, "http.response.status_code"); v.GetIntValue() != 200 {
			t.Errorf("%s: http.response.status_code = %v", s.Name, v)
		}
	}
	if v := attr(orders.Span, "http.route"); v.GetStringValue() != "/api/orders" {
		t.Errorf("orders: http.route = %v", v)
	}
	if v := attr(inventory.Span, "http.route"); v.GetStringValue() != "/api/inventory" {
		t.Errorf("inventory: http.route = %v", v)
	}
	if v := attr(client.Span, "http.request.method"); v.GetStringValue() != "GET" {
		t.Errorf("client: http.request.method = %v", v)
	}
	if v := attr(client.Span, "http.response.status_code"); v.GetIntValue() != 200 {
		t.Errorf("client: http.response.status_code = %v", v)
	}
	// Resource.
	want := map[string]string{
		"service.name":                "my-go-service",
		"deployment.environment.name": "production",
		"service.namespace":           "my-team",
		"telemetry.sdk.language":      "go",
	}
	for k, v := range want {
		if got := orders.resource[k]; got != v {
			t.Errorf("resource %s = %q, want %q", k, got, v)
		}
	}
	// The API key header from OTEL_EXPORTER_OTLP_HEADERS.
	recv.mu.Lock()
	h := recv.headers[0]
	recv.mu.Unlock()
	if h.Get("kf-api-key") != "test-key-from-env" || h.Get("x-env") != "test" {
		t.Errorf("headers: kf-api-key %q x-env %q", h.Get("kf-api-key"), h.Get("x-env"))
	}
	if h.Get("Content-Type") != "application/x-protobuf" {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
}

// TestAPIKeyFromCode: the WithHeaders analogue (KLOUDFUSE_API_KEY read in
// code) wins over OTEL_EXPORTER_OTLP_HEADERS.
func TestAPIKeyFromCode(t *testing.T) {
	recv := startReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "kf-api-key=from-env")
	t.Setenv("KLOUDFUSE_API_KEY", "from-code")
	ctx := context.Background()
	tp, err := initTracer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(ctx, "one")
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	recv.waitSpans(1, 5*time.Second)
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.headers) == 0 || recv.headers[0].Get("kf-api-key") != "from-code" {
		t.Fatalf("headers %v", recv.headers)
	}
}
