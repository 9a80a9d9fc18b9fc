// The shared behaviour scenarios (../../scenarios/*.json, format in
// scenarios/README.md) run through the Go package with a scripted SendFunc
// as the fake transport. Each run writes a transcript to
// $OTLPX_TRANSCRIPT_DIR/<name>.json (a temp dir without it) for the Rust
// comparator (`OTLPX_SCENARIO_TRANSCRIPTS=<dir> cargo test -p otlpx-core
// --test scenarios transcripts`); this test checks what is cheap to check
// in Go (runner errors, request/span counts decode, stats identity).
package otlpx

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

type scenario struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Config      map[string]any `json:"config"`
	Resource    *struct {
		Attributes []jsonKV `json:"attributes"`
	} `json:"resource"`
	Scopes          []jsonScope       `json:"scopes"`
	Spans           []jsonSpanEntry   `json:"spans"`
	TransportScript []json.RawMessage `json:"transport_script"`
	HoldAfter       *int              `json:"hold_first_request_after"`
	Expect          struct {
		Stats    map[string]any `json:"stats"`
		Requests [][]struct {
			Scope int   `json:"scope"`
			Spans []int `json:"spans"`
		} `json:"requests"`
		Spans json.RawMessage `json:"spans"`
	} `json:"expect"`
}

type jsonKV struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

type jsonScope struct {
	Name                   string   `json:"name"`
	Version                string   `json:"version"`
	Attributes             []jsonKV `json:"attributes"`
	DroppedAttributesCount uint32   `json:"droppedAttributesCount"`
	SchemaURL              string   `json:"schemaUrl"`
}

type jsonSpanEntry struct {
	Scope         int      `json:"scope"`
	Span          jsonSpan `json:"span"`
	AfterShutdown bool     `json:"after_shutdown"`
}

type jsonSpan struct {
	TraceID                string      `json:"traceId"`
	SpanID                 string      `json:"spanId"`
	ParentSpanID           string      `json:"parentSpanId"`
	TraceState             string      `json:"traceState"`
	Flags                  uint32      `json:"flags"`
	Kind                   uint32      `json:"kind"`
	Name                   string      `json:"name"`
	Start                  string      `json:"startTimeUnixNano"`
	End                    string      `json:"endTimeUnixNano"`
	Attributes             []jsonKV    `json:"attributes"`
	DroppedAttributesCount uint32      `json:"droppedAttributesCount"`
	Events                 []jsonEvent `json:"events"`
	DroppedEventsCount     uint32      `json:"droppedEventsCount"`
	Links                  []jsonLink  `json:"links"`
	DroppedLinksCount      uint32      `json:"droppedLinksCount"`
	Status                 *struct {
		Code    uint32 `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

type jsonEvent struct {
	Time                   string   `json:"timeUnixNano"`
	Name                   string   `json:"name"`
	Attributes             []jsonKV `json:"attributes"`
	DroppedAttributesCount uint32   `json:"droppedAttributesCount"`
}

type jsonLink struct {
	TraceID                string   `json:"traceId"`
	SpanID                 string   `json:"spanId"`
	TraceState             string   `json:"traceState"`
	Attributes             []jsonKV `json:"attributes"`
	DroppedAttributesCount uint32   `json:"droppedAttributesCount"`
	Flags                  uint32   `json:"flags"`
}

func hexID(s string, out []byte) error {
	if s == "" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(out) {
		return fmt.Errorf("bad id %q", s)
	}
	copy(out, b)
	return nil
}

func u64(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

func anyValue(raw json.RawMessage) (Value, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Value{}, err
	}
	for k, v := range m {
		switch k {
		case "stringValue":
			var s string
			err := json.Unmarshal(v, &s)
			return StringValue(s), err
		case "boolValue":
			var b bool
			err := json.Unmarshal(v, &b)
			return BoolValue(b), err
		case "intValue":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				var n json.Number
				if err := json.Unmarshal(v, &n); err != nil {
					return Value{}, err
				}
				s = n.String()
			}
			i, err := strconv.ParseInt(s, 10, 64)
			return IntValue(i), err
		case "doubleValue":
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				var s string // "NaN", "Infinity", "-Infinity"
				if json.Unmarshal(v, &s) != nil {
					return Value{}, err
				}
				switch s {
				case "NaN":
					f = math.NaN()
				case "Infinity":
					f = math.Inf(1)
				case "-Infinity":
					f = math.Inf(-1)
				default:
					return Value{}, fmt.Errorf("bad double %q", s)
				}
			}
			return DoubleValue(f), nil
		case "bytesValue":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return Value{}, err
			}
			b, err := base64.StdEncoding.DecodeString(s)
			return BytesValue(b), err
		case "arrayValue":
			var a struct {
				Values []json.RawMessage `json:"values"`
			}
			if err := json.Unmarshal(v, &a); err != nil {
				return Value{}, err
			}
			out := Value{Kind: KindArray}
			for _, x := range a.Values {
				xv, err := anyValue(x)
				if err != nil {
					return Value{}, err
				}
				out.Array = append(out.Array, xv)
			}
			return out, nil
		case "kvlistValue":
			var a struct {
				Values []jsonKV `json:"values"`
			}
			if err := json.Unmarshal(v, &a); err != nil {
				return Value{}, err
			}
			kvs, err := keyValues(a.Values)
			return Value{Kind: KindKVList, KVList: kvs}, err
		}
	}
	return Value{}, fmt.Errorf("empty AnyValue %s", raw)
}

func keyValues(kvs []jsonKV) ([]KeyValue, error) {
	var out []KeyValue
	for _, kv := range kvs {
		v, err := anyValue(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kv.Key, err)
		}
		out = append(out, KeyValue{Key: kv.Key, Value: v})
	}
	return out, nil
}

func (j *jsonSpan) data() (*SpanData, error) {
	d := &SpanData{
		TraceState: j.TraceState, Flags: j.Flags, Kind: SpanKind(j.Kind), Name: j.Name,
		DroppedAttributesCount: j.DroppedAttributesCount, DroppedEventsCount: j.DroppedEventsCount,
		DroppedLinksCount: j.DroppedLinksCount,
	}
	var err error
	for _, e := range []error{
		hexID(j.TraceID, d.TraceID[:]), hexID(j.SpanID, d.SpanID[:]), hexID(j.ParentSpanID, d.ParentSpanID[:]),
	} {
		if e != nil {
			return nil, e
		}
	}
	if d.StartTimeUnixNano, err = u64(j.Start); err != nil {
		return nil, err
	}
	if d.EndTimeUnixNano, err = u64(j.End); err != nil {
		return nil, err
	}
	if d.Attributes, err = keyValues(j.Attributes); err != nil {
		return nil, err
	}
	for _, e := range j.Events {
		ev := Event{Name: e.Name, DroppedAttributesCount: e.DroppedAttributesCount}
		if ev.TimeUnixNano, err = u64(e.Time); err != nil {
			return nil, err
		}
		if ev.Attributes, err = keyValues(e.Attributes); err != nil {
			return nil, err
		}
		d.Events = append(d.Events, ev)
	}
	for _, l := range j.Links {
		lk := Link{TraceState: l.TraceState, DroppedAttributesCount: l.DroppedAttributesCount, Flags: l.Flags}
		if err := hexID(l.TraceID, lk.TraceID[:]); err != nil {
			return nil, err
		}
		if err := hexID(l.SpanID, lk.SpanID[:]); err != nil {
			return nil, err
		}
		if lk.Attributes, err = keyValues(l.Attributes); err != nil {
			return nil, err
		}
		d.Links = append(d.Links, lk)
	}
	if j.Status != nil {
		d.StatusCode, d.StatusMessage = StatusCode(j.Status.Code), j.Status.Message
	}
	return d, nil
}

// fake is the scripted transport.
type fake struct {
	mu       sync.Mutex
	cv       *sync.Cond
	script   []json.RawMessage
	sent     []transcriptRequest
	hold     bool
	held     bool
	released bool
}

type transcriptRequest struct {
	ContentType     string `json:"content_type"`
	ContentEncoding string `json:"content_encoding"`
	Spans           int    `json:"spans"`
	BodyHex         string `json:"body_hex"`
	body            []byte
}

func (f *fake) send(r *ExportRequest) (ExportResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body := append([]byte(nil), r.Body...)
	f.sent = append(f.sent, transcriptRequest{r.ContentType, r.ContentEncoding, r.Spans, hex.EncodeToString(body), body})
	if f.hold && len(f.sent) == 1 {
		f.held = true
		f.cv.Broadcast()
		until := time.Now().Add(10 * time.Second)
		for !f.released && time.Now().Before(until) {
			f.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			f.mu.Lock()
		}
	}
	if len(f.script) == 0 {
		return ExportResponse{Status: 200}, nil
	}
	entry := f.script[0]
	f.script = f.script[1:]
	var s string
	if json.Unmarshal(entry, &s) == nil {
		switch s {
		case "connect_error":
			return ExportResponse{}, fmt.Errorf("scripted connect_error: %w", ErrConnect)
		case "timeout":
			return ExportResponse{}, fmt.Errorf("scripted timeout: %w", ErrSendTimeout)
		}
		return ExportResponse{}, fmt.Errorf("unknown script entry %q", s)
	}
	var m struct {
		Status         int    `json:"status"`
		RetryAfter     string `json:"retry_after"`
		PartialSuccess *struct {
			RejectedSpans int64  `json:"rejected_spans"`
			ErrorMessage  string `json:"error_message"`
		} `json:"partial_success"`
	}
	if err := json.Unmarshal(entry, &m); err != nil {
		return ExportResponse{}, err
	}
	resp := ExportResponse{Status: m.Status, RetryAfter: m.RetryAfter}
	if p := m.PartialSuccess; p != nil {
		b, err := proto.Marshal(&collpb.ExportTraceServiceResponse{PartialSuccess: &collpb.ExportTracePartialSuccess{
			RejectedSpans: p.RejectedSpans, ErrorMessage: p.ErrorMessage,
		}})
		if err != nil {
			return ExportResponse{}, err
		}
		resp.Body = b
	}
	return resp, nil
}

func (f *fake) waitHeld() bool {
	until := time.Now().Add(5 * time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	for !f.held {
		if time.Now().After(until) {
			return false
		}
		f.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		f.mu.Lock()
	}
	return true
}

func scenarioOptions(sc *scenario, f *fake) ([]Option, error) {
	retry := RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxElapsedTime: 5 * time.Second}
	opts := []Option{
		WithoutProcessEnv(), WithProtocol("http/protobuf"), WithCompression("none"),
		WithScheduleDelay(60 * time.Second), WithSendFunc(f.send),
		WithLogFunc(func(LogLevel, string) {}, LogError),
	}
	num := func(k string) (int64, bool, error) {
		v, ok := sc.Config[k]
		if !ok || v == nil {
			return 0, false, nil
		}
		n, ok := v.(float64)
		if !ok {
			return 0, false, fmt.Errorf("config.%s: not a number", k)
		}
		return int64(n), true, nil
	}
	limits := map[string]Option{}
	for k, which := range map[string]func(int64) Option{
		"max_queue_size":         func(n int64) Option { return WithMaxQueueSize(int(n)) },
		"max_export_batch_size":  func(n int64) Option { return WithMaxExportBatchSize(int(n)) },
		"max_batch_bytes":        func(n int64) Option { return WithMaxBatchBytes(int(n)) },
		"export_timeout_ms":      func(n int64) Option { return WithExportTimeout(time.Duration(n) * time.Millisecond) },
		"attribute_count":        func(n int64) Option { return withLimit(3, n) },
		"attribute_value_length": func(n int64) Option { return withLimit(4, n) },
		"event_count":            func(n int64) Option { return withLimit(5, n) },
		"link_count":             func(n int64) Option { return withLimit(6, n) },
		"attributes_per_event":   func(n int64) Option { return withLimit(7, n) },
		"attributes_per_link":    func(n int64) Option { return withLimit(8, n) },
	} {
		n, ok, err := num(k)
		if err != nil {
			return nil, err
		}
		if ok {
			limits[k] = which(n)
		}
	}
	// The queue size first, so the batch size is checked against it.
	for _, k := range []string{"max_queue_size", "max_export_batch_size", "max_batch_bytes", "export_timeout_ms",
		"attribute_count", "attribute_value_length", "event_count", "link_count", "attributes_per_event", "attributes_per_link"} {
		if o, ok := limits[k]; ok {
			opts = append(opts, o)
		}
	}
	if d, ok := sc.Config["sdk_disabled"].(bool); ok {
		opts = append(opts, WithSDKDisabled(d))
	}
	if r, ok := sc.Config["retry"].(map[string]any); ok {
		if e, ok := r["enabled"].(bool); ok {
			retry.Enabled = e
		}
		ms := func(k string, d *time.Duration) {
			if n, ok := r[k].(float64); ok {
				*d = time.Duration(n) * time.Millisecond
			}
		}
		ms("initial_interval_ms", &retry.InitialInterval)
		ms("max_interval_ms", &retry.MaxInterval)
		ms("max_elapsed_ms", &retry.MaxElapsedTime)
	}
	opts = append(opts, WithRetry(retry))
	if sc.Resource != nil {
		for _, kv := range sc.Resource.Attributes {
			var v struct {
				S *string `json:"stringValue"`
			}
			if err := json.Unmarshal(kv.Value, &v); err != nil || v.S == nil {
				return nil, fmt.Errorf("resource %s: not a stringValue", kv.Key)
			}
			if kv.Key == "service.name" {
				opts = append(opts, WithServiceName(*v.S))
			} else {
				opts = append(opts, withResourceString(kv.Key, *v.S))
			}
		}
	}
	return opts, nil
}

func withResourceString(k, v string) Option {
	return func(s *settings) { s.resourceAttrs = append(s.resourceAttrs, kv{k, v}) }
}

type transcript struct {
	Binding  string              `json:"binding"`
	Scenario string              `json:"scenario"`
	Requests []transcriptRequest `json:"requests"`
	Stats    map[string]any      `json:"stats"`
	Errors   []string            `json:"errors"`
}

func runScenario(sc *scenario) transcript {
	t := transcript{Binding: "go", Scenario: sc.Name, Requests: []transcriptRequest{}, Errors: []string{}}
	fail := func(err error) transcript {
		t.Errors = append(t.Errors, err.Error())
		t.Stats = statsJSON(Stats{})
		return t
	}
	f := &fake{script: sc.TransportScript, hold: sc.HoldAfter != nil}
	f.cv = sync.NewCond(&f.mu)
	opts, err := scenarioOptions(sc, f)
	if err != nil {
		return fail(err)
	}
	var warnings []string
	var wmu sync.Mutex
	building := true // only warnings while the exporter is built are configuration warnings
	opts = append(opts, WithLogFunc(func(l LogLevel, m string) {
		wmu.Lock()
		b := building
		wmu.Unlock()
		if l <= LogWarn && b {
			wmu.Lock()
			warnings = append(warnings, m)
			wmu.Unlock()
		}
	}, LogWarn))
	e, err := NewExporter(opts...)
	wmu.Lock()
	building = false
	wmu.Unlock()
	if err != nil {
		return fail(err)
	}
	var ids []ScopeID
	for _, s := range sc.Scopes {
		attrs, err := keyValues(s.Attributes)
		if err != nil {
			return fail(err)
		}
		id, err := e.AddScope(Scope{s.Name, s.Version, attrs, s.DroppedAttributesCount, s.SchemaURL})
		if err != nil {
			return fail(err)
		}
		ids = append(ids, id)
	}
	record := func(s *jsonSpanEntry) {
		id := InvalidScope
		if s.Scope >= 0 && s.Scope < len(ids) {
			id = ids[s.Scope]
		}
		d, err := s.Span.data()
		if err != nil {
			t.Errors = append(t.Errors, "span: "+err.Error())
			return
		}
		_ = e.Record(id, d)
	}
	var before []*jsonSpanEntry
	for i := range sc.Spans {
		if !sc.Spans[i].AfterShutdown {
			before = append(before, &sc.Spans[i])
		}
	}
	if n := sc.HoldAfter; n != nil {
		for _, s := range before[:*n] {
			record(s)
		}
		e.requestFlush()
		if !f.waitHeld() {
			t.Errors = append(t.Errors, "the first request never reached the transport (hold)")
		}
		for _, s := range before[*n:] {
			record(s)
		}
		f.mu.Lock()
		f.released = true
		f.mu.Unlock()
	} else {
		for _, s := range before {
			record(s)
		}
	}
	ctx, cancel := contextWithTimeout(10 * time.Second)
	out, _ := e.Shutdown(ctx)
	cancel()
	if out.TimedOut {
		t.Errors = append(t.Errors, fmt.Sprintf("shutdown timed out: %+v", out))
	}
	for i := range sc.Spans {
		if sc.Spans[i].AfterShutdown {
			record(&sc.Spans[i])
		}
	}
	wmu.Lock()
	for _, w := range warnings {
		t.Errors = append(t.Errors, "configuration warning: "+w)
	}
	wmu.Unlock()
	t.Stats = statsJSON(e.Stats())
	f.mu.Lock()
	t.Requests = append(t.Requests, f.sent...)
	f.mu.Unlock()
	return t
}

func statsJSON(s Stats) map[string]any {
	d := s.Dropped
	return map[string]any{
		"accepted": s.Accepted, "exported": s.Exported,
		"dropped": map[string]uint64{
			"queue_full": d.QueueFull, "too_large": d.TooLarge, "export_failed": d.ExportFailed,
			"rejected": d.Rejected, "shutdown": d.Shutdown, "invalid": d.Invalid,
			"circuit_open": d.CircuitOpen, "disabled": d.Disabled,
		},
		"requests": map[string]uint64{
			"success": s.RequestsSuccess, "retryable": s.RequestsRetryable, "permanent": s.RequestsPermanent,
		},
		"retries": s.Retries, "batches": s.Batches, "circuit_opened": s.CircuitOpened,
	}
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	dir := os.Getenv("OTLPX_TRANSCRIPT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var sc scenario
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields() // a typo must not silently weaken a scenario
		if err := dec.Decode(&sc); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			tr := runScenario(&sc)
			out, err := json.MarshalIndent(tr, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sc.Name+".json"), out, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, e := range tr.Errors {
				t.Errorf("runner: %s", e)
			}
			// Cheap checks in Go; the full comparison is the Rust checker's.
			if len(tr.Requests) != len(sc.Expect.Requests) {
				t.Errorf("%d requests, %d expected", len(tr.Requests), len(sc.Expect.Requests))
			}
			for i, r := range tr.Requests {
				var req collpb.ExportTraceServiceRequest
				if err := proto.Unmarshal(r.body, &req); err != nil {
					t.Errorf("request %d does not decode: %v", i, err)
					continue
				}
				n := 0
				for _, rs := range req.ResourceSpans {
					for _, ss := range rs.ScopeSpans {
						n += len(ss.Spans)
					}
				}
				if n != r.Spans {
					t.Errorf("request %d: %d spans decoded, %d announced", i, n, r.Spans)
				}
				if i < len(sc.Expect.Requests) {
					want := 0
					for _, g := range sc.Expect.Requests[i] {
						want += len(g.Spans)
					}
					if want != n {
						t.Errorf("request %d: %d spans, %d expected", i, n, want)
					}
				}
			}
			st := tr.Stats
			acc, exp := st["accepted"].(uint64), st["exported"].(uint64)
			var dropped uint64
			for _, v := range st["dropped"].(map[string]uint64) {
				dropped += v
			}
			if acc != exp+dropped {
				t.Errorf("accepted %d != exported %d + dropped %d after shutdown", acc, exp, dropped)
			}
			for _, k := range []string{"accepted", "exported"} {
				if w, ok := sc.Expect.Stats[k].(float64); ok && uint64(w) != st[k].(uint64) {
					t.Errorf("stats.%s = %d, want %d", k, st[k], uint64(w))
				}
			}
		})
	}
}
