// Command otelcol-receiver runs the real OpenTelemetry Collector OTLP receiver
// (go.opentelemetry.io/collector/receiver/otlpreceiver, built through its own
// factory and config types) on a loopback address, for otlpx's integration
// tests.
//
// Every trace export request the receiver accepts is written to -out as one
// line of OTLP/JSON (ptrace.JSONMarshaler), flushed before the receiver
// answers the client, so a client that got a success response can read its
// batch from the file at once.
//
// It owns: flag parsing, building the receiver config, the file-writing
// consumer, reporting the bound ports. It must not: listen on anything but
// loopback, change what the receiver decodes, or batch/reorder requests.
//
// Usage:
//
//	otelcol-receiver -out FILE [-http-addr 127.0.0.1:0] [-grpc-addr 127.0.0.1:PORT]
//	                 [-tls-cert FILE -tls-key FILE [-tls-client-ca FILE]]
//	                 [-max-request-bytes N] [-log-level warn]
//
// On success it prints "GRPC <port>" (only with -grpc-addr) and then
// "READY <http-port>" on stdout once both listeners are bound; it exits 0 on
// SIGTERM/SIGINT after shutting the receiver down.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

// options is the parsed command line.
type options struct {
	httpAddr        string
	grpcAddr        string
	out             string
	tlsCert         string
	tlsKey          string
	tlsClientCA     string
	maxRequestBytes int64
	logLevel        string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("otelcol-receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.httpAddr, "http-addr", "127.0.0.1:0", "OTLP/HTTP listen address (loopback only; port 0 = pick a free port)")
	fs.StringVar(&o.grpcAddr, "grpc-addr", "", "OTLP/gRPC listen address (loopback only; empty = gRPC disabled)")
	fs.StringVar(&o.out, "out", "", "file to append received trace batches to, one OTLP/JSON line per request (required)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "server certificate PEM file (enables TLS on every enabled protocol)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "server private key PEM file")
	fs.StringVar(&o.tlsClientCA, "tls-client-ca", "", "CA PEM file for client certificates (enables mTLS: client cert required)")
	fs.Int64Var(&o.maxRequestBytes, "max-request-bytes", 0, "OTLP/HTTP max request body size (0 = collector default, 20 MiB)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "collector log level on stderr (debug, info, warn, error)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.out == "" {
		return o, errors.New("-out FILE is required")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, errors.New("-tls-cert and -tls-key must be given together")
	}
	if o.tlsClientCA != "" && o.tlsCert == "" {
		return o, errors.New("-tls-client-ca needs -tls-cert and -tls-key")
	}
	if err := checkLoopback(o.httpAddr); err != nil {
		return o, fmt.Errorf("-http-addr: %w", err)
	}
	if o.grpcAddr != "" {
		if err := checkLoopback(o.grpcAddr); err != nil {
			return o, fmt.Errorf("-grpc-addr: %w", err)
		}
	}
	if o.maxRequestBytes < 0 {
		return o, errors.New("-max-request-bytes must be >= 0")
	}
	return o, nil
}

// checkLoopback accepts host:port where host is a loopback IP or "localhost".
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("bad port %q", port)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", host)
	}
	return nil
}

// fileSink appends one OTLP/JSON line per ConsumeTraces call.
type fileSink struct {
	mu  sync.Mutex
	f   *os.File
	enc ptrace.JSONMarshaler
}

func (s *fileSink) consume(_ context.Context, td ptrace.Traces) error {
	line, err := s.enc.MarshalTraces(td)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("marshal OTLP/JSON: %w", err))
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	// One write(2) per line on an unbuffered *os.File: visible to readers
	// before the receiver answers the client.
	if _, err := s.f.Write(line); err != nil {
		return fmt.Errorf("write %s: %w", s.f.Name(), err)
	}
	return nil
}

// host is the minimal component.Host: no extensions; fatal runtime errors
// reported by the receiver (e.g. a listener dying) go to fatal.
type host struct {
	fatal chan error
}

func (h *host) GetExtensions() map[component.ID]component.Component { return nil }

func (h *host) Report(ev *componentstatus.Event) {
	if ev.Status() == componentstatus.StatusFatalError {
		select {
		case h.fatal <- ev.Err():
		default:
		}
	}
}

// started is a running receiver and the ports it bound.
type started struct {
	rcv      receiver.Traces
	httpPort int
	grpcPort int // 0 when gRPC is disabled
	fatal    chan error
	sink     *fileSink
}

func (s *started) shutdown(ctx context.Context) error {
	err := s.rcv.Shutdown(ctx)
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	return errors.Join(err, s.sink.f.Close())
}

func buildConfig(o options) (*otlpreceiver.Config, error) {
	factory := otlpreceiver.NewFactory()
	cfg, ok := factory.CreateDefaultConfig().(*otlpreceiver.Config)
	if !ok {
		return nil, errors.New("otlpreceiver default config has an unexpected type")
	}
	var tls configoptional.Optional[configtls.ServerConfig]
	if o.tlsCert != "" {
		t := configtls.NewDefaultServerConfig()
		t.CertFile = o.tlsCert
		t.KeyFile = o.tlsKey
		t.ClientCAFile = o.tlsClientCA
		tls = configoptional.Some(t)
	}

	// The defaults are configoptional.Default (present, not enabled);
	// GetOrInsertDefault + Some enable a protocol with the collector's own
	// defaults, as a YAML "http:" key would.
	httpCfg := *cfg.Protocols.HTTP.GetOrInsertDefault()
	httpCfg.ServerConfig.NetAddr.Endpoint = o.httpAddr
	httpCfg.ServerConfig.TLS = tls
	if o.maxRequestBytes > 0 {
		httpCfg.ServerConfig.MaxRequestBodySize = o.maxRequestBytes
	}
	cfg.Protocols.HTTP = configoptional.Some(httpCfg)

	if o.grpcAddr != "" {
		grpcCfg := *cfg.Protocols.GRPC.GetOrInsertDefault()
		grpcCfg.NetAddr.Endpoint = o.grpcAddr
		grpcCfg.TLS = tls
		cfg.Protocols.GRPC = configoptional.Some(grpcCfg)
	} else {
		cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	}
	if err := cfg.Protocols.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLogger(level string, stderr io.Writer) (*zap.Logger, *observer.ObservedLogs, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, fmt.Errorf("-log-level: %w", err)
	}
	encCfg := zap.NewDevelopmentEncoderConfig()
	console := zapcore.NewCore(zapcore.NewConsoleEncoder(encCfg), zapcore.AddSync(stderr), lvl)
	// The observer captures the receiver's "Starting ... server" info lines,
	// which carry the bound endpoint (the only place the actual port of a
	// ":0" listener is exposed).
	obsCore, logs := observer.New(zapcore.InfoLevel)
	return zap.New(zapcore.NewTee(console, obsCore)), logs, nil
}

// boundPort finds the port of the endpoint logged with msg.
func boundPort(logs *observer.ObservedLogs, msg string) (int, error) {
	for _, e := range logs.FilterMessage(msg).All() {
		for _, f := range e.Context {
			if f.Key != "endpoint" {
				continue
			}
			_, p, err := net.SplitHostPort(f.String)
			if err != nil {
				return 0, fmt.Errorf("parse logged endpoint %q: %w", f.String, err)
			}
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("bad port in logged endpoint %q", f.String)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("receiver did not log %q with an endpoint", msg)
}

// start builds and starts the receiver; the caller owns shutdown.
func start(ctx context.Context, o options, stderr io.Writer) (*started, error) {
	cfg, err := buildConfig(o)
	if err != nil {
		return nil, err
	}
	logger, logs, err := newLogger(o.logLevel, stderr)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	sink := &fileSink{f: f}
	next, err := consumer.NewTraces(sink.consume, consumer.WithCapabilities(consumer.Capabilities{MutatesData: false}))
	if err != nil {
		_ = f.Close()
		return nil, err
	}

	factory := otlpreceiver.NewFactory()
	set := receiver.Settings{
		ID: component.NewID(factory.Type()),
		TelemetrySettings: component.TelemetrySettings{
			Logger:         logger,
			TracerProvider: tracenoop.NewTracerProvider(),
			MeterProvider:  metricnoop.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.NewDefaultBuildInfo(),
	}
	rcv, err := factory.CreateTraces(ctx, set, cfg, next)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("create otlp receiver: %w", err)
	}
	h := &host{fatal: make(chan error, 1)}
	if err := rcv.Start(ctx, h); err != nil {
		_ = rcv.Shutdown(ctx)
		_ = f.Close()
		return nil, fmt.Errorf("start otlp receiver: %w", err)
	}
	s := &started{rcv: rcv, fatal: h.fatal, sink: sink}
	if s.httpPort, err = boundPort(logs, "Starting HTTP server"); err != nil {
		return nil, errors.Join(err, s.shutdown(ctx))
	}
	if o.grpcAddr != "" {
		if s.grpcPort, err = boundPort(logs, "Starting GRPC server"); err != nil {
			return nil, errors.Join(err, s.shutdown(ctx))
		}
	}
	return s, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "otelcol-receiver:", err)
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	s, err := start(context.Background(), o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "otelcol-receiver:", err)
		return 1
	}
	if s.grpcPort != 0 {
		fmt.Fprintf(stdout, "GRPC %d\n", s.grpcPort)
	}
	// os.Stdout is unbuffered: the line is out as soon as Fprintf returns.
	fmt.Fprintf(stdout, "READY %d\n", s.httpPort)

	code := 0
	select {
	case <-sigs:
	case ferr := <-s.fatal:
		fmt.Fprintln(stderr, "otelcol-receiver: fatal:", ferr)
		code = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.shutdown(ctx); err != nil {
		fmt.Fprintln(stderr, "otelcol-receiver: shutdown:", err)
		code = 1
	}
	return code
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
