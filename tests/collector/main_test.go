// Tests for otelcol-receiver: the real otlpreceiver, started in-process
// (HTTP protobuf, HTTP gzip, HTTP JSON, gRPC, TLS, mTLS) and, when
// OTELCOL_RECEIVER_BIN names a built binary, as a subprocess (READY line,
// SIGTERM exit). Each checks that the batch lands in -out as one OTLP/JSON
// line that decodes back to exactly what was sent.
//
// These tests only talk to 127.0.0.1 and generate their certificates in a
// temp dir; they must not depend on anything outside this module.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// sampleTraces has every AnyValue kind (string, bool, int, double, bytes,
// array, kvlist, empty) on resource, scope, span, event and link, plus every
// span field otlpx encodes.
func sampleTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	fillAttrs(rs.Resource().Attributes(), "res")
	rs.Resource().Attributes().PutStr("service.name", "otlpx-smoke")
	rs.Resource().SetDroppedAttributesCount(1)

	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("otlpx.smoke")
	ss.Scope().SetVersion("0.1.0")
	fillAttrs(ss.Scope().Attributes(), "scope")
	ss.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")

	kinds := []ptrace.SpanKind{
		ptrace.SpanKindUnspecified, ptrace.SpanKindInternal, ptrace.SpanKindServer,
		ptrace.SpanKindClient, ptrace.SpanKindProducer, ptrace.SpanKindConsumer,
	}
	for i, k := range kinds {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i + 1)})
		sp.SetSpanID(pcommon.SpanID{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, byte(i + 1)})
		if i > 0 {
			sp.SetParentSpanID(pcommon.SpanID{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, byte(i)})
		}
		sp.TraceState().FromRaw("vendor=value,other=x")
		sp.SetFlags(0x101)
		sp.SetName(fmt.Sprintf("span-%d ünïcode", i))
		sp.SetKind(k)
		sp.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + uint64(i)))
		sp.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_123_456_789 + uint64(i)))
		fillAttrs(sp.Attributes(), "span")
		sp.SetDroppedAttributesCount(2)
		ev := sp.Events().AppendEmpty()
		ev.SetName("event")
		ev.SetTimestamp(pcommon.Timestamp(1_700_000_000_050_000_000))
		fillAttrs(ev.Attributes(), "event")
		ev.SetDroppedAttributesCount(3)
		sp.SetDroppedEventsCount(4)
		ln := sp.Links().AppendEmpty()
		ln.SetTraceID(pcommon.TraceID{0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3, 0xf2, 0xf1, 0xf0})
		ln.SetSpanID(pcommon.SpanID{1, 1, 1, 1, 1, 1, 1, 1})
		ln.TraceState().FromRaw("l=1")
		ln.SetFlags(0x301)
		fillAttrs(ln.Attributes(), "link")
		ln.SetDroppedAttributesCount(5)
		sp.SetDroppedLinksCount(6)
		switch i % 3 {
		case 1:
			sp.Status().SetCode(ptrace.StatusCodeOk)
		case 2:
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("boom")
		}
	}
	return td
}

func fillAttrs(m pcommon.Map, prefix string) {
	m.PutStr(prefix+".str", "hello \"quoted\" \n newline")
	m.PutStr(prefix+".empty_str", "")
	m.PutBool(prefix+".bool", true)
	m.PutInt(prefix+".int", -9_007_199_254_740_993) // beyond float64 precision
	m.PutInt(prefix+".int_max", 1<<63-1)
	m.PutDouble(prefix+".double", 3.5)
	m.PutDouble(prefix+".double_neg", -0.000125)
	m.PutEmptyBytes(prefix + ".bytes").FromRaw([]byte{0, 1, 2, 0xfe, 0xff})
	arr := m.PutEmptySlice(prefix + ".array")
	arr.AppendEmpty().SetStr("a")
	arr.AppendEmpty().SetInt(7)
	arr.AppendEmpty().SetDouble(1.25)
	arr.AppendEmpty().SetBool(false)
	arr.AppendEmpty().SetEmptyBytes().FromRaw([]byte("xy"))
	arr.AppendEmpty() // empty AnyValue
	kv := m.PutEmptyMap(prefix + ".kvlist")
	kv.PutStr("k", "v")
	kv.PutEmptyMap("nested").PutInt("deep", 42)
	kv.PutEmptySlice("list").AppendEmpty().SetStr("in-list")
	m.PutEmpty(prefix + ".empty_value")
}

func mustProto(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	var m ptrace.ProtoMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readLines waits (bounded) until out has want lines, then returns them.
func readLines(t *testing.T, out string, want int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(out)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			lines = nil
		}
		if len(lines) >= want || time.Now().After(deadline) {
			if len(lines) != want {
				t.Fatalf("%s: want %d lines, got %d: %q", out, want, len(lines), b)
			}
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkLine decodes one output line and compares it with what was sent.
func checkLine(t *testing.T, line string, sent ptrace.Traces) {
	t.Helper()
	var u ptrace.JSONUnmarshaler
	got, err := u.UnmarshalTraces([]byte(line))
	if err != nil {
		t.Fatalf("output line is not OTLP/JSON: %v\n%s", err, line)
	}
	if got.SpanCount() != sent.SpanCount() {
		t.Fatalf("span count: got %d want %d", got.SpanCount(), sent.SpanCount())
	}
	// pdata maps are ordered slices, so the proto encoding is canonical.
	if !bytes.Equal(mustProto(t, got), mustProto(t, sent)) {
		var j ptrace.JSONMarshaler
		want, _ := j.MarshalTraces(sent)
		t.Fatalf("decoded batch differs from sent batch\n got: %s\nwant: %s", line, want)
	}
	if strings.Contains(line, "\n") {
		t.Fatal("line contains a newline")
	}
}

func startInProcess(t *testing.T, o options) *started {
	t.Helper()
	if o.httpAddr == "" {
		o.httpAddr = "127.0.0.1:0"
	}
	if o.logLevel == "" {
		o.logLevel = "warn"
	}
	s, err := start(context.Background(), o, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.shutdown(ctx)
	})
	return s
}

func post(t *testing.T, c *http.Client, url, contentType, encoding string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func expectOK(t *testing.T, resp *http.Response) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %q", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct == "application/x-protobuf" {
		r := ptraceotlp.NewExportResponse()
		if err := r.UnmarshalProto(body); err != nil {
			t.Fatalf("response is not ExportTraceServiceResponse: %v", err)
		}
		if n := r.PartialSuccess().RejectedSpans(); n != 0 {
			t.Fatalf("partial success: %d rejected", n)
		}
	}
}

func TestHTTPProtobuf(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startInProcess(t, options{out: out})
	td := sampleTraces()
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/traces", s.httpPort)
	expectOK(t, post(t, http.DefaultClient, url, "application/x-protobuf", "", mustProto(t, td)))
	// A second request is a second line.
	expectOK(t, post(t, http.DefaultClient, url, "application/x-protobuf", "", mustProto(t, td)))
	lines := readLines(t, out, 2)
	checkLine(t, lines[0], td)
	checkLine(t, lines[1], td)
}

func TestHTTPGzipAndJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startInProcess(t, options{out: out})
	td := sampleTraces()
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/traces", s.httpPort)

	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write(mustProto(t, td)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	expectOK(t, post(t, http.DefaultClient, url, "application/x-protobuf", "gzip", gz.Bytes()))

	var j ptrace.JSONMarshaler
	js, err := j.MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	expectOK(t, post(t, http.DefaultClient, url, "application/json", "", js))

	lines := readLines(t, out, 2)
	checkLine(t, lines[0], td)
	checkLine(t, lines[1], td)
}

func TestHTTPRejectsGarbage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startInProcess(t, options{out: out})
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/traces", s.httpPort)
	resp := post(t, http.DefaultClient, url, "application/x-protobuf", "", []byte{0xff, 0xff, 0xff})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("garbage: want 400, got %d", resp.StatusCode)
	}
	readLines(t, out, 0)
}

func TestGRPC(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startInProcess(t, options{out: out, grpcAddr: "127.0.0.1:0"})
	if s.grpcPort == 0 {
		t.Fatal("gRPC port not reported")
	}
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", s.grpcPort),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	td := sampleTraces()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatal(err)
	}
	checkLine(t, readLines(t, out, 1)[0], td)
}

// testPKI writes a CA, a server cert for 127.0.0.1/localhost and a client
// cert into dir.
type testPKI struct {
	caFile, serverCert, serverKey string
	pool                          *x509.CertPool
	client                        tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "otlpx test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, usage x509.ExtKeyUsage, cn string) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
			DNSNames:     []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var p testPKI
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p.caFile = write("ca.pem", caPEM)
	sc, sk := issue(2, x509.ExtKeyUsageServerAuth, "localhost")
	p.serverCert = write("server.pem", sc)
	p.serverKey = write("server-key.pem", sk)
	cc, ck := issue(3, x509.ExtKeyUsageClientAuth, "otlpx client")
	if p.client, err = tls.X509KeyPair(cc, ck); err != nil {
		t.Fatal(err)
	}
	p.pool = x509.NewCertPool()
	p.pool.AddCert(caCert)
	return p
}

func httpsClient(pool *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12},
		},
	}
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startInProcess(t, options{out: out, tlsCert: pki.serverCert, tlsKey: pki.serverKey})
	td := sampleTraces()
	url := fmt.Sprintf("https://127.0.0.1:%d/v1/traces", s.httpPort)
	expectOK(t, post(t, httpsClient(pki.pool), url, "application/x-protobuf", "", mustProto(t, td)))
	checkLine(t, readLines(t, out, 1)[0], td)

	// Plain HTTP against the TLS port must not be accepted.
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", s.httpPort), "application/x-protobuf",
		bytes.NewReader(mustProto(t, td)))
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP accepted on TLS port")
		}
	}
	readLines(t, out, 1)
}

func TestMTLS(t *testing.T) {
	pki := newTestPKI(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	s := startInProcess(t, options{out: out, tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsClientCA: pki.caFile})
	td := sampleTraces()
	url := fmt.Sprintf("https://127.0.0.1:%d/v1/traces", s.httpPort)

	// Without a client certificate the handshake fails.
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(mustProto(t, td)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if resp, err := httpsClient(pki.pool).Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("mTLS: request without client cert got status %d", resp.StatusCode)
	}

	expectOK(t, post(t, httpsClient(pki.pool, pki.client), url, "application/x-protobuf", "", mustProto(t, td)))
	checkLine(t, readLines(t, out, 1)[0], td)
}

func TestFlags(t *testing.T) {
	bad := [][]string{
		{},
		{"-out", "x", "-http-addr", "0.0.0.0:4318"},
		{"-out", "x", "-http-addr", "10.1.2.3:4318"},
		{"-out", "x", "-grpc-addr", "example.com:4317"},
		{"-out", "x", "-tls-cert", "c"},
		{"-out", "x", "-tls-client-ca", "ca"},
		{"-out", "x", "extra"},
	}
	for _, args := range bad {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	good := [][]string{
		{"-out", "x"},
		{"-out", "x", "-http-addr", "localhost:0", "-grpc-addr", "[::1]:0"},
		{"-out", "x", "-tls-cert", "c", "-tls-key", "k", "-tls-client-ca", "ca"},
	}
	for _, args := range good {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("parseFlags(%q): %v", args, err)
		}
	}
}

// TestSubprocess runs the built binary the way the otlpx test scripts do.
func TestSubprocess(t *testing.T) {
	bin := os.Getenv("OTELCOL_RECEIVER_BIN")
	if bin == "" {
		t.Skip("OTELCOL_RECEIVER_BIN not set (smoke.sh sets it)")
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-out", out)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	type ready struct {
		http, grpc int
		err        error
	}
	ch := make(chan ready, 1)
	go func() {
		var r ready
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if _, err := fmt.Sscanf(line, "GRPC %d", &r.grpc); err == nil {
				continue
			}
			if _, err := fmt.Sscanf(line, "READY %d", &r.http); err == nil {
				ch <- r
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
			r.err = fmt.Errorf("unexpected stdout line %q", line)
		}
		if r.err == nil {
			r.err = fmt.Errorf("stdout closed before READY: %v", sc.Err())
		}
		ch <- r
	}()
	var r ready
	select {
	case r = <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("no READY line within 20s")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.grpc == 0 {
		t.Fatal("no GRPC line before READY")
	}
	td := sampleTraces()
	expectOK(t, post(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", r.http),
		"application/x-protobuf", "", mustProto(t, td)))
	checkLine(t, readLines(t, out, 1)[0], td)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		done = true
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not exit within 15s of SIGTERM")
	}
}
