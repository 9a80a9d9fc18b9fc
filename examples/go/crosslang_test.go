package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otlpx/otlpx/go/otlpx"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

const badTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// Malformed traceparent values (W3C Trace Context): each must start a new trace.
var malformed = []string{
	"ff-" + badTraceID + "-00f067aa0ba902b7-01",               // version ff
	"00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
	"00-" + badTraceID + "-0000000000000000-01",               // all-zero span id
	"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", // uppercase hex
	"00-" + badTraceID[:31] + "-00f067aa0ba902b7-01",          // trace id too short
	"00-" + badTraceID + "-00f067aa0ba902b7a-01",              // span id too long
	"00-" + badTraceID + "-00f067aa0ba902b7-1",                // flags too short
	"00-" + badTraceID + "-00f067aa0ba902b7-01-extra",         // version 00 with more fields
	"00-" + badTraceID[:30] + "zz-00f067aa0ba902b7-01",        // bad hex
	"0-" + badTraceID + "-00f067aa0ba902b7-01",                // version too short
}

// buildHTTPServer builds the C example server (examples/c) or skips.
func buildHTTPServer(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Makefile")); err != nil {
		t.Skipf("cross-language test skipped: %s/Makefile not found, so the C http_server cannot be built", dir)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("cross-language test skipped: make is not installed, so the C http_server cannot be built")
	}
	// The Makefile's target is build/http_server (an http_server alias may
	// exist); it links <repo>/target/release/libotlpx.a like the cgo package.
	var log []byte
	for _, target := range []string{"http_server", "build/http_server"} {
		cmd := exec.Command("make", "-C", dir, target)
		cmd.Env = append(os.Environ(), "CARGO_TARGET_DIR="+filepath.Join(dir, "..", "..", "target"))
		out, err := cmd.CombinedOutput()
		log = append(log, out...)
		if err != nil {
			continue
		}
		for _, bin := range []string{filepath.Join(dir, "build", "http_server"), filepath.Join(dir, "http_server")} {
			if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return bin
			}
		}
	}
	t.Skipf("cross-language test skipped: the C http_server could not be built with make -C %s:\n%s", dir, log)
	return ""
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestCrossLanguageTraceparent: a Go client instrumented with otelhttp calls
// the C http_server (instrumented with otlpx alone); the C server's SERVER
// span arrives as the Go CLIENT span's child. Malformed traceparent values
// start new traces.
func TestCrossLanguageTraceparent(t *testing.T) {
	bin := buildHTTPServer(t)
	recv := startReceiver(t)
	port := freePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port))
	cmd.Env = append(os.Environ(),
		"OTEL_EXPORTER_OTLP_ENDPOINT="+recv.URL,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_SERVICE_NAME=c-http-server",
		"OTEL_BSP_SCHEDULE_DELAY=100",
	)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), fmt.Sprintf("listening on 127.0.0.1:%d", port)) {
				close(ready)
				signalled = true
			}
		}
		if !signalled {
			close(ready)
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the C server did not print 'listening on'")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	// The Go client: SDK + otlpx exporter to the same receiver, otelhttp transport.
	exp, err := otlpx.NewSpanExporter(context.Background(), otlpx.WithServiceName("go-client"),
		otlpx.WithEndpointURL(recv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagation.TraceContext{}))}
	req, _ := http.NewRequest(http.MethodGet, base+"/hello", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("C server answered %d", resp.StatusCode)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Raw requests with malformed traceparent values.
	for i, tpv := range malformed {
		req, _ := http.NewRequest(http.MethodGet, base+"/hello", nil)
		req.Header.Set("traceparent", tpv)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("malformed %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Shut the C server down (it flushes its exporter first).
	if resp, err := http.Get(base + "/shutdown"); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("C server exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the C server did not exit after GET /shutdown")
	}

	spans := recv.waitSpans(2+len(malformed), 5*time.Second)
	var clientSpan *recvSpan
	var servers []*recvSpan
	for i := range spans {
		s := &spans[i]
		switch {
		case s.Kind == tracepb.Span_SPAN_KIND_CLIENT && s.resource["service.name"] == "go-client":
			clientSpan = s
		case s.Kind == tracepb.Span_SPAN_KIND_SERVER && s.resource["service.name"] == "c-http-server":
			servers = append(servers, s)
		}
	}
	if clientSpan == nil {
		t.Fatalf("no Go CLIENT span among %d spans", len(spans))
	}
	var child *recvSpan
	var others []*recvSpan
	for _, s := range servers {
		if hexOf(s.ParentSpanId) == hexOf(clientSpan.SpanId) {
			child = s
		} else {
			others = append(others, s)
		}
	}
	if child == nil {
		for _, s := range servers {
			t.Logf("server span %q trace %s parent %s", s.Name, hexOf(s.TraceId), hexOf(s.ParentSpanId))
		}
		t.Fatalf("no C SERVER span is the child of the Go client span %s", hexOf(clientSpan.SpanId))
	}
	if hexOf(child.TraceId) != hexOf(clientSpan.TraceId) {
		t.Errorf("C server span trace %s, client trace %s", hexOf(child.TraceId), hexOf(clientSpan.TraceId))
	}
	if child.Flags&0x300 != 0x300 {
		t.Errorf("C server span flags %#x: parent should be marked remote", child.Flags)
	}
	if len(others) < len(malformed) {
		t.Fatalf("%d other SERVER spans, want at least %d (one per malformed traceparent)", len(others), len(malformed))
	}
	seen := map[string]bool{hexOf(clientSpan.TraceId): true}
	for _, s := range others {
		tid := hexOf(s.TraceId)
		if len(s.ParentSpanId) != 0 && hexOf(s.ParentSpanId) != "0000000000000000" {
			t.Errorf("server span %q has parent %s: a malformed traceparent was accepted", s.Name, hexOf(s.ParentSpanId))
		}
		if tid == badTraceID || strings.EqualFold(tid, badTraceID) || tid == strings.Repeat("0", 32) || seen[tid] {
			t.Errorf("server span %q reuses trace %s: not a fresh trace", s.Name, tid)
		}
		seen[tid] = true
	}
}
