// This file owns the options of an Exporter and their translation into an
// otlpx_config. Precedence is the OpenTelemetry Go SDK's: an option set in
// code wins over the OTEL_* environment, which wins over the defaults. It
// must not read the environment itself (the core does).
package otlpx

/*
#include <stdint.h>
#include <stdlib.h>
#include "otlpx.h"

*/
import "C"

import (
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Option configures an Exporter. Options are applied in order; anything not
// set comes from the OTEL_* environment variables, then the defaults.
type Option func(*settings)

// LogLevel is the severity of a log message from otlpx.
type LogLevel uint32

// Log levels (otlpx_log_level).
const (
	LogError LogLevel = C.OTLPX_LOG_LEVEL_ERROR
	LogWarn  LogLevel = C.OTLPX_LOG_LEVEL_WARN
	LogInfo  LogLevel = C.OTLPX_LOG_LEVEL_INFO
	LogDebug LogLevel = C.OTLPX_LOG_LEVEL_DEBUG
)

func (l LogLevel) String() string {
	switch l {
	case LogError:
		return "error"
	case LogWarn:
		return "warn"
	case LogInfo:
		return "info"
	default:
		return "debug"
	}
}

// LogFunc receives otlpx's log messages (configuration warnings, export
// errors). It runs on the goroutine creating the exporter and on the
// exporter's background thread, so it must be safe for concurrent use; it
// must not call the exporter's ForceFlush or Shutdown.
type LogFunc func(level LogLevel, message string)

// Header is one HTTP header of an export request.
type Header struct{ Name, Value string }

// ExportRequest is one export attempt handed to a SendFunc. Body is borrowed
// from otlpx and valid only during the call: copy it to keep it.
type ExportRequest struct {
	URL             string
	Headers         []Header // configured headers, without Content-Type/Content-Encoding
	Body            []byte   // an encoded ExportTraceServiceRequest (gzipped when ContentEncoding is "gzip")
	ContentType     string   // application/x-protobuf or application/json
	ContentEncoding string   // "gzip" or ""
	Timeout         time.Duration
	Spans           int
}

// ExportResponse is what the receiver answered: the HTTP status (required),
// the Retry-After header value if any, and the body (an
// ExportTraceServiceResponse for a 2xx).
type ExportResponse struct {
	Status     int
	RetryAfter string
	Body       []byte
}

// SendFunc sends export requests instead of otlpx's built-in HTTP client
// (WithSendFunc). It runs on the exporter's background thread, one call at
// a time; it may block up to req.Timeout. Return ErrConnect or
// ErrSendTimeout (possibly wrapped) for retryable failures.
type SendFunc func(req *ExportRequest) (ExportResponse, error)

// RetryConfig is the retry policy for failed exports (the Go SDK's
// defaults: enabled, 5 s initial, 30 s max interval, 60 s max elapsed).
type RetryConfig struct {
	Enabled         bool
	InitialInterval time.Duration
	MaxInterval     time.Duration
	MaxElapsedTime  time.Duration
}

type kv struct{ k, v string }

type limit struct {
	which C.uint32_t
	value int64
}

type duration struct {
	which C.uint32_t
	d     time.Duration
}

type settings struct {
	env               []kv
	ignoreProcessEnv  bool
	endpoint          string
	endpointHost      string
	insecure          *bool
	headers           []kv
	serviceName       string
	resourceAttrs     []kv
	protocol          string
	compression       string
	samplerName       string
	samplerRatio      float64
	limits            []limit
	durations         []duration
	retry             *RetryConfig
	sdkDisabled       *bool
	scopeName         string
	scopeVersion      string
	log               LogFunc
	logLevel          LogLevel
	send              SendFunc
	certificate       string
	clientCertificate string
	clientKey         string
}

// WithEndpointURL sets the full traces URL, used as given (like
// otlptracehttp.WithEndpointURL; an empty path becomes /v1/traces). It
// overrides OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_ENDPOINT.
func WithEndpointURL(u string) Option { return func(s *settings) { s.endpoint = u } }

// WithEndpoint sets host:port (like otlptracehttp.WithEndpoint): the URL is
// https://host:port/v1/traces, or http:// with WithInsecure.
func WithEndpoint(hostport string) Option { return func(s *settings) { s.endpointHost = hostport } }

// WithInsecure allows plain HTTP (like otlptracehttp.WithInsecure).
func WithInsecure() Option { return func(s *settings) { t := true; s.insecure = &t } }

// WithHeaders adds headers sent with every export request, like
// otlptracehttp.WithHeaders: for Kloudfuse,
// WithHeaders(map[string]string{"kf-api-key": os.Getenv("KLOUDFUSE_API_KEY")}).
// Code headers win over OTEL_EXPORTER_OTLP_HEADERS for the same name.
func WithHeaders(h map[string]string) Option {
	return func(s *settings) {
		for k, v := range h {
			s.headers = append(s.headers, kv{k, v})
		}
	}
}

// WithServiceName sets service.name (overrides OTEL_SERVICE_NAME).
func WithServiceName(name string) Option { return func(s *settings) { s.serviceName = name } }

// WithResourceAttributes adds resource attributes (code wins over
// OTEL_RESOURCE_ATTRIBUTES for the same key). otlpx keeps resource
// attributes as strings: other types are formatted with Value.Emit.
// service.name is taken as WithServiceName.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return func(s *settings) {
		for _, a := range attrs {
			if a.Key == "service.name" {
				s.serviceName = a.Value.Emit()
				continue
			}
			s.resourceAttrs = append(s.resourceAttrs, kv{string(a.Key), a.Value.Emit()})
		}
	}
}

// WithResource takes over the attributes of an SDK resource at
// construction. The otlpx exporter sends its own configured resource
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and code), not the resource
// each ReadOnlySpan carries: pass the resource given to
// sdktrace.WithResource here so both agree. Attributes are copied as
// strings (WithResourceAttributes); telemetry.sdk.* are otlpx's own.
func WithResource(r *resource.Resource) Option {
	return func(s *settings) {
		if r == nil {
			return
		}
		var attrs []attribute.KeyValue
		for _, a := range r.Attributes() {
			if strings.HasPrefix(string(a.Key), "telemetry.sdk.") {
				continue
			}
			attrs = append(attrs, a)
		}
		WithResourceAttributes(attrs...)(s)
	}
}

// WithProtocol sets "http/protobuf" (default) or "http/json". "grpc" is
// refused by NewExporter with ErrUnsupported until the gRPC transport lands.
func WithProtocol(p string) Option { return func(s *settings) { s.protocol = p } }

// WithCompression sets "gzip" or "none".
func WithCompression(c string) Option { return func(s *settings) { s.compression = c } }

// WithTimeout sets the per-request timeout (OTEL_EXPORTER_OTLP_TIMEOUT).
func WithTimeout(d time.Duration) Option {
	return func(s *settings) { s.durations = append(s.durations, duration{C.OTLPX_DURATION_TIMEOUT, d}) }
}

// WithScheduleDelay sets the delay between scheduled exports (OTEL_BSP_SCHEDULE_DELAY).
func WithScheduleDelay(d time.Duration) Option {
	return func(s *settings) { s.durations = append(s.durations, duration{C.OTLPX_DURATION_SCHEDULE_DELAY, d}) }
}

// WithExportTimeout sets the time for one batch, retries included (OTEL_BSP_EXPORT_TIMEOUT).
func WithExportTimeout(d time.Duration) Option {
	return func(s *settings) { s.durations = append(s.durations, duration{C.OTLPX_DURATION_EXPORT_TIMEOUT, d}) }
}

// WithSampler sets the sampler by its OTEL_TRACES_SAMPLER name (always_on,
// always_off, traceidratio, parentbased_always_on, parentbased_always_off,
// parentbased_traceidratio); ratio is used by the ratio samplers. The
// sampler applies to the direct API (StartSpan); the Go SDK path keeps the
// SDK's own sampler.
func WithSampler(name string, ratio float64) Option {
	return func(s *settings) { s.samplerName, s.samplerRatio = name, ratio }
}

func withLimit(which C.uint32_t, v int64) Option {
	return func(s *settings) { s.limits = append(s.limits, limit{which, v}) }
}

// WithMaxQueueSize sets the spans the queue holds (OTEL_BSP_MAX_QUEUE_SIZE).
func WithMaxQueueSize(n int) Option { return withLimit(C.OTLPX_LIMIT_MAX_QUEUE_SIZE, int64(n)) }

// WithMaxExportBatchSize sets the spans per request (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).
func WithMaxExportBatchSize(n int) Option {
	return withLimit(C.OTLPX_LIMIT_MAX_EXPORT_BATCH_SIZE, int64(n))
}

// WithMaxBatchBytes sets the bytes per request (OTLPX_MAX_BATCH_BYTES).
func WithMaxBatchBytes(n int) Option { return withLimit(C.OTLPX_LIMIT_MAX_BATCH_BYTES, int64(n)) }

// SpanLimits are the OTEL_SPAN_*/OTEL_EVENT_*/OTEL_LINK_* limits; a zero
// field keeps its current value, AttributeValueLength < 0 means no limit.
type SpanLimits struct {
	AttributeCount       int
	AttributeValueLength int
	EventCount           int
	LinkCount            int
	AttributesPerEvent   int
	AttributesPerLink    int
}

// WithSpanLimits sets the span limits applied while encoding.
func WithSpanLimits(l SpanLimits) Option {
	return func(s *settings) {
		add := func(which C.uint32_t, v int) {
			if v != 0 {
				s.limits = append(s.limits, limit{which, int64(v)})
			}
		}
		add(C.OTLPX_LIMIT_ATTRIBUTE_COUNT, l.AttributeCount)
		add(C.OTLPX_LIMIT_ATTRIBUTE_VALUE_LENGTH, l.AttributeValueLength)
		add(C.OTLPX_LIMIT_EVENT_COUNT, l.EventCount)
		add(C.OTLPX_LIMIT_LINK_COUNT, l.LinkCount)
		add(C.OTLPX_LIMIT_ATTRIBUTES_PER_EVENT, l.AttributesPerEvent)
		add(C.OTLPX_LIMIT_ATTRIBUTES_PER_LINK, l.AttributesPerLink)
	}
}

// WithRetry sets the retry policy.
func WithRetry(r RetryConfig) Option { return func(s *settings) { rc := r; s.retry = &rc } }

// WithSDKDisabled drops every span as "disabled" (like OTEL_SDK_DISABLED=true).
func WithSDKDisabled(disabled bool) Option { return func(s *settings) { s.sdkDisabled = &disabled } }

// WithDefaultScope names the default instrumentation scope of the direct API.
func WithDefaultScope(name, version string) Option {
	return func(s *settings) { s.scopeName, s.scopeVersion = name, version }
}

// WithLogFunc sends otlpx's log messages up to maxLevel to f instead of
// standard error.
func WithLogFunc(f LogFunc, maxLevel LogLevel) Option {
	return func(s *settings) { s.log, s.logLevel = f, maxLevel }
}

// WithSendFunc hands every export request to f instead of the built-in
// HTTP client (a host's own HTTP stack, a proxy, a test). otlpx still
// batches, encodes, compresses, retries and counts.
func WithSendFunc(f SendFunc) Option { return func(s *settings) { s.send = f } }

// WithEnv sets an environment variable for this exporter only, as if the
// process environment held it (e.g. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
func WithEnv(name, value string) Option {
	return func(s *settings) { s.env = append(s.env, kv{name, value}) }
}

// WithoutProcessEnv ignores the process environment: only options and
// WithEnv count (tests, sandboxes).
func WithoutProcessEnv() Option { return func(s *settings) { s.ignoreProcessEnv = true } }

// WithTLS sets a CA bundle file and an optional client certificate and key
// (OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY).
func WithTLS(caFile, clientCertFile, clientKeyFile string) Option {
	return func(s *settings) {
		s.certificate, s.clientCertificate, s.clientKey = caFile, clientCertFile, clientKeyFile
	}
}

// build turns the settings into an otlpx_config (caller frees it).
func (s *settings) build(handles *[]cgoHandle) (*C.otlpx_config, error) {
	var cfg *C.otlpx_config
	if err := check("config_new", C.otlpx_config_new(&cfg)); err != nil {
		return nil, err
	}
	fail := func(err error) (*C.otlpx_config, error) {
		C.otlpx_config_free(cfg)
		return nil, err
	}
	str2 := func(op string, f func(*C.otlpx_config, *C.char, C.size_t, *C.char, C.size_t) C.otlpx_result, a, b string) error {
		pa, na := cstr(a)
		pb, nb := cstr(b)
		return check(op, f(cfg, pa, na, pb, nb))
	}
	str1 := func(op string, f func(*C.otlpx_config, *C.char, C.size_t) C.otlpx_result, a string) error {
		pa, na := cstr(a)
		return check(op, f(cfg, pa, na))
	}
	steps := []func() error{
		func() error { return str1("config_set_sdk_language", cfgSetSDKLanguage, "go") },
		func() error {
			if !s.ignoreProcessEnv {
				return nil
			}
			return check("config_ignore_process_env", C.otlpx_config_ignore_process_env(cfg, 1))
		},
	}
	for _, e := range s.env {
		steps = append(steps, func() error { return str2("config_set_env("+e.k+")", cfgSetEnv, e.k, e.v) })
	}
	endpoint := s.endpoint
	if endpoint == "" && s.endpointHost != "" {
		scheme := "https"
		if s.insecure != nil && *s.insecure {
			scheme = "http"
		}
		endpoint = (&url.URL{Scheme: scheme, Host: s.endpointHost, Path: "/v1/traces"}).String()
	}
	if endpoint != "" {
		steps = append(steps, func() error { return str1("config_set_endpoint", cfgSetEndpoint, endpoint) })
	}
	if s.insecure != nil {
		steps = append(steps, func() error {
			return check("config_set_insecure", C.otlpx_config_set_insecure(cfg, cbool(*s.insecure)))
		})
	}
	for _, h := range s.headers {
		steps = append(steps, func() error { return str2("config_add_header("+h.k+")", cfgAddHeader, h.k, h.v) })
	}
	if s.serviceName != "" {
		steps = append(steps, func() error { return str1("config_set_service_name", cfgSetServiceName, s.serviceName) })
	}
	for _, a := range s.resourceAttrs {
		steps = append(steps, func() error {
			return str2("config_add_resource_attribute("+a.k+")", cfgAddResourceAttribute, a.k, a.v)
		})
	}
	if s.protocol != "" {
		steps = append(steps, func() error { return str1("config_set_protocol", cfgSetProtocol, s.protocol) })
	}
	if s.compression != "" {
		steps = append(steps, func() error { return str1("config_set_compression", cfgSetCompression, s.compression) })
	}
	if s.samplerName != "" {
		steps = append(steps, func() error {
			p, n := cstr(s.samplerName)
			return check("config_set_sampler", C.otlpx_config_set_sampler(cfg, p, n, C.double(s.samplerRatio)))
		})
	}
	for _, d := range s.durations {
		steps = append(steps, func() error {
			ms := d.d.Milliseconds()
			if ms < 0 {
				ms = 0
			}
			return check("config_set_duration_ms", C.otlpx_config_set_duration_ms(cfg, d.which, C.uint64_t(ms)))
		})
	}
	for _, l := range s.limits {
		steps = append(steps, func() error {
			return check("config_set_limit", C.otlpx_config_set_limit(cfg, l.which, C.int64_t(l.value)))
		})
	}
	if r := s.retry; r != nil {
		steps = append(steps, func() error {
			return check("config_set_retry", C.otlpx_config_set_retry(cfg, cbool(r.Enabled),
				C.uint64_t(r.InitialInterval.Milliseconds()), C.uint64_t(r.MaxInterval.Milliseconds()),
				C.uint64_t(r.MaxElapsedTime.Milliseconds())))
		})
	}
	if s.sdkDisabled != nil {
		steps = append(steps, func() error {
			return check("config_set_sdk_disabled", C.otlpx_config_set_sdk_disabled(cfg, cbool(*s.sdkDisabled)))
		})
	}
	if s.scopeName != "" {
		steps = append(steps, func() error {
			return str2("config_set_default_scope", cfgSetDefaultScope, s.scopeName, s.scopeVersion)
		})
	}
	if s.certificate != "" {
		steps = append(steps, func() error { return str1("config_set_certificate", cfgSetCertificate, s.certificate) })
	}
	if s.clientCertificate != "" {
		steps = append(steps, func() error {
			return str1("config_set_client_certificate", cfgSetClientCertificate, s.clientCertificate)
		})
	}
	if s.clientKey != "" {
		steps = append(steps, func() error { return str1("config_set_client_key", cfgSetClientKey, s.clientKey) })
	}
	if s.log != nil {
		steps = append(steps, func() error {
			h := newHandle(s.log)
			*handles = append(*handles, h)
			return check("config_set_log_callback", setLogCallback(cfg, h, s.logLevel))
		})
	}
	if s.send != nil {
		steps = append(steps, func() error {
			h := newHandle(s.send)
			*handles = append(*handles, h)
			return check("config_set_send_callback", setSendCallback(cfg, h))
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fail(err)
		}
	}
	return cfg, nil
}

// Thin wrappers so the setters above can be passed as Go funcs.
func cfgSetSDKLanguage(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_sdk_language(c, p, n)
}
func cfgSetEndpoint(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_endpoint(c, p, n)
}
func cfgSetServiceName(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_service_name(c, p, n)
}
func cfgSetProtocol(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_protocol(c, p, n)
}
func cfgSetCompression(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_compression(c, p, n)
}
func cfgSetCertificate(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_certificate(c, p, n)
}
func cfgSetClientCertificate(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_client_certificate(c, p, n)
}
func cfgSetClientKey(c *C.otlpx_config, p *C.char, n C.size_t) C.otlpx_result {
	return C.otlpx_config_set_client_key(c, p, n)
}
func cfgSetEnv(c *C.otlpx_config, a *C.char, na C.size_t, b *C.char, nb C.size_t) C.otlpx_result {
	return C.otlpx_config_set_env(c, a, na, b, nb)
}
func cfgAddHeader(c *C.otlpx_config, a *C.char, na C.size_t, b *C.char, nb C.size_t) C.otlpx_result {
	return C.otlpx_config_add_header(c, a, na, b, nb)
}
func cfgAddResourceAttribute(c *C.otlpx_config, a *C.char, na C.size_t, b *C.char, nb C.size_t) C.otlpx_result {
	return C.otlpx_config_add_resource_attribute(c, a, na, b, nb)
}
func cfgSetDefaultScope(c *C.otlpx_config, a *C.char, na C.size_t, b *C.char, nb C.size_t) C.otlpx_result {
	return C.otlpx_config_set_default_scope(c, a, na, b, nb)
}
