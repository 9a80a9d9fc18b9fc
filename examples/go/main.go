// Command example is the Kloudfuse Go guide's service with otlpx as the
// exporter: a net/http server wrapped by otelhttp.NewHandler (SERVER spans),
// an outbound call through otelhttp.NewTransport (CLIENT span, traceparent
// injected), a resource with service.name, deployment.environment.name and
// service.namespace, the W3C propagator, a BatchSpanProcessor, and a
// shutdown that flushes on exit. The only change from the guide is the
// exporter constructor: otlpx.NewSpanExporter(ctx) instead of
// otlptracehttp.New(ctx). See README.md for the OTEL_* settings.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/otlpx/otlpx/go/otlpx"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newResource is the guide's resource.
func newResource() *resource.Resource {
	return resource.NewWithAttributes(
		"https://opentelemetry.io/schemas/1.21.0",
		attribute.String("service.name", "my-go-service"),
		attribute.String("deployment.environment.name", "production"),
		attribute.String("service.namespace", "my-team"),
	)
}

// initTracer is the guide's initTracer with the otlpx exporter. Endpoint,
// headers (kf-api-key), protocol and compression come from the
// OTEL_EXPORTER_OTLP_* variables, exactly as for otlptracehttp.New(ctx).
func initTracer(ctx context.Context, extra ...otlpx.Option) (*sdktrace.TracerProvider, error) {
	res := newResource()
	opts := []otlpx.Option{otlpx.WithResource(res)}
	// The WithHeaders analogue, for when the key cannot come from
	// OTEL_EXPORTER_OTLP_HEADERS: read it from the environment, never hardcode it.
	if key := os.Getenv("KLOUDFUSE_API_KEY"); key != "" {
		opts = append(opts, otlpx.WithHeaders(map[string]string{"kf-api-key": key}))
	}
	exporter, err := otlpx.NewSpanExporter(ctx, append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	return tp, nil
}

// client carries traceparent on every outbound call.
var client = &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}

// newMux is the service: GET /api/orders calls the inventory service
// (inventoryURL) and answers with what it said; GET /api/inventory is that
// downstream service (in the same process here, for the demo).
func newMux(inventoryURL string) *http.ServeMux {
	mux := http.NewServeMux()
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, inventoryURL, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(w, "orders ok; inventory: %s", body)
	})
	inventory := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "42 widgets")
	})
	mux.Handle("GET /api/orders", otelhttp.NewHandler(orders, "GET /api/orders"))
	mux.Handle("GET /api/inventory", otelhttp.NewHandler(inventory, "GET /api/inventory"))
	return mux
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tp, err := initTracer(ctx)
	if err != nil {
		log.Fatalf("failed to init tracer: %v", err)
	}
	// Flush buffered spans on exit.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			log.Printf("tracer shutdown: %v", err)
		}
	}()

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: newMux("http://" + ln.Addr().String() + "/api/inventory")}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	log.Printf("listening on http://%s (try /api/orders)", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Print(err)
	}
}
