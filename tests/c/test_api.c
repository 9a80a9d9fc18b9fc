/*
 * C tests of the whole otlpx C ABI (include/otlpx.h): every exported
 * function, with good and bad input (NULL everywhere, (NULL, len > 0),
 * invalid UTF-8, huge lengths, unknown enum values, misaligned arrays, deep
 * nesting), calls after shutdown and free, concurrent use, the send and log
 * callbacks, stats, trace context, ids and fork.
 *
 * Most tests export through the send callback (tests/c/testutil.h, no
 * network). With OTLPX_TEST_ENDPOINT=http://127.0.0.1:P/v1/traces set, one
 * test also exports over real HTTP to that loopback receiver.
 *
 * Run under AddressSanitizer + UBSan and under valgrind by scripts/c.sh.
 * Exit status: 0 when every check passed.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define SCOPE_ANY 0u

/* ------------------------------------------------------------------ */
/* Fixtures */

static const uint8_t TRACE_ID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t SPAN_ID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

/* A valid span with a few attributes; callers tweak it. */
static otlpx_span_data good_span(otlpx_attribute *attrs, size_t n) {
  otlpx_span_data s;
  memset(&s, 0, sizeof s);
  memcpy(s.trace_id, TRACE_ID, 16);
  memcpy(s.span_id, SPAN_ID, 8);
  s.flags = 1;
  s.kind = OTLPX_SPAN_KIND_SERVER;
  s.name = "GET /hello";
  s.name_len = strlen(s.name);
  s.start_time_unix_nano = 1700000000000000000ull;
  s.end_time_unix_nano = 1700000000001000000ull;
  s.attributes = attrs;
  s.attributes_len = n;
  return s;
}

typedef struct {
  fake fk;
  otlpx_config *cfg;
  otlpx_exporter *exp;
} harness;

/* A config that reads no process environment, exports through `fk`, never
 * on a timer, and retries quickly. */
static otlpx_config *test_config(fake *fk) {
  otlpx_config *cfg = NULL;
  CHECK_OK(otlpx_config_new(&cfg));
  CHECK_OK(otlpx_config_ignore_process_env(cfg, 1));
  CHECK_OK(otlpx_config_set_send_callback(cfg, fake_send, fk));
  CHECK_OK(otlpx_config_set_duration_ms(cfg, OTLPX_DURATION_SCHEDULE_DELAY, 60000));
  CHECK_OK(otlpx_config_set_retry(cfg, 1, 1, 5, 2000));
  CHECK_OK(otlpx_config_set_compression(cfg, S("none")));
  return cfg;
}

static void harness_start(harness *h, const reply *script, size_t n) {
  fake_init(&h->fk, script, n);
  h->cfg = test_config(&h->fk);
  h->exp = NULL;
}

static void harness_build(harness *h) {
  CHECK_OK(otlpx_exporter_new(h->cfg, &h->exp));
  if (!h->exp) {
    fprintf(stderr, "cannot continue without an exporter\n");
    exit(1);
  }
}

static void harness_end(harness *h) {
  otlpx_exporter_free(h->exp);
  otlpx_config_free(h->cfg);
  fake_destroy(&h->fk);
}

static otlpx_stats stats_of(const otlpx_exporter *exp) {
  otlpx_stats st;
  memset(&st, 0, sizeof st);
  CHECK_OK(otlpx_exporter_stats(exp, &st));
  return st;
}

/* Finds `needle` (n bytes) in a buffer. */
static int contains(const uint8_t *hay, size_t hay_len, const char *needle) {
  size_t n = strlen(needle);
  if (n == 0) return 1;
  if (!hay || hay_len < n) return 0;
  for (size_t i = 0; i + n <= hay_len; i++)
    if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, n) == 0) return 1;
  return 0;
}

/* Does any request body `fk` received contain `needle`? */
static int any_body_contains(fake *fk, const char *needle) {
  int found = 0;
  pthread_mutex_lock(&fk->mu);
  for (size_t i = 0; i < fk->n_sent && !found; i++)
    found = contains(fk->sent[i].body, fk->sent[i].body_len, needle);
  pthread_mutex_unlock(&fk->mu);
  return found;
}

/* ------------------------------------------------------------------ */
/* Result messages, version, drop reason names */

static void test_messages(void) {
  const char *seen[18];
  for (uint32_t c = 0; c <= 17; c++) {
    const char *m = otlpx_result_message(c);
    CHECK(m != NULL && m[0] != 0, "message for code %u is empty", c);
    CHECK(strcmp(m, "unknown result code") != 0, "code %u has no message of its own", c);
    seen[c] = m;
    for (uint32_t d = 0; d < c; d++)
      CHECK(strcmp(seen[d], m) != 0, "codes %u and %u share the message %s", d, c, m);
  }
  CHECK(strcmp(otlpx_result_message(0), "ok") == 0, "OK's message is %s", otlpx_result_message(0));
  CHECK(strcmp(otlpx_result_message(18), "unknown result code") == 0, "code 18: %s", otlpx_result_message(18));
  CHECK(strcmp(otlpx_result_message(UINT32_MAX), "unknown result code") == 0, "code UINT32_MAX");

  const char *v = otlpx_version();
  CHECK(v != NULL && strlen(v) >= 5 && strchr(v, '.') != NULL, "version %s", v ? v : "(null)");

  static const char *names[8] = {"queue_full", "too_large", "export_failed", "rejected",
                                 "shutdown", "invalid", "circuit_open", "disabled"};
  for (uint32_t r = 0; r < 8; r++)
    CHECK(strcmp(otlpx_drop_reason_name(r), names[r]) == 0, "drop reason %u is %s, want %s", r,
          otlpx_drop_reason_name(r), names[r]);
  CHECK(strcmp(otlpx_drop_reason_name(OTLPX_DROP_REASON_DISABLED), "disabled") == 0, "disabled");
  CHECK(strcmp(otlpx_drop_reason_name(8), "unknown") == 0, "reason 8: %s", otlpx_drop_reason_name(8));
  CHECK(strcmp(otlpx_drop_reason_name(UINT32_MAX), "unknown") == 0, "reason UINT32_MAX");
}

/* ------------------------------------------------------------------ */
/* Config: NULL everywhere, bad strings, bad enums */

typedef otlpx_result (*str_setter)(otlpx_config *, const char *, size_t);

static void check_string_setter(const char *name, str_setter f, otlpx_config *cfg, const char *valid,
                                int empty_ok) {
  otlpx_result rc;
  rc = f(NULL, valid, strlen(valid));
  CHECK(rc == OTLPX_RESULT_NULL_PARAMETER, "%s(NULL cfg) = %s", name, otlpx_result_message(rc));
  rc = f(cfg, NULL, 3);
  CHECK(rc == OTLPX_RESULT_NULL_PARAMETER, "%s(NULL, 3) = %s", name, otlpx_result_message(rc));
  rc = f(cfg, BAD);
  CHECK(rc == OTLPX_RESULT_INVALID_UTF8, "%s(bad UTF-8) = %s", name, otlpx_result_message(rc));
  rc = f(cfg, "x", SIZE_MAX);
  CHECK(rc == OTLPX_RESULT_INVALID_ARGUMENT, "%s(len SIZE_MAX) = %s", name, otlpx_result_message(rc));
  rc = f(cfg, "x", HUGE_LEN);
  CHECK(rc == OTLPX_RESULT_INVALID_ARGUMENT, "%s(len > isize max) = %s", name, otlpx_result_message(rc));
  if (empty_ok) {
    rc = f(cfg, NULL, 0);
    CHECK(rc == OTLPX_RESULT_OK, "%s(NULL, 0) = %s", name, otlpx_result_message(rc));
  }
  rc = f(cfg, valid, strlen(valid));
  CHECK(rc == OTLPX_RESULT_OK, "%s(\"%s\") = %s", name, valid, otlpx_result_message(rc));
}

static otlpx_result set_env_name(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_set_env(c, p, n, S("1"));
}
static otlpx_result set_env_value(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_set_env(c, S("OTEL_SERVICE_NAME"), p, n);
}
static otlpx_result add_header_name(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_add_header(c, p, n, S("v"));
}
static otlpx_result add_header_value(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_add_header(c, S("x-h"), p, n);
}
static otlpx_result add_res_key(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_add_resource_attribute(c, p, n, S("v"));
}
static otlpx_result add_res_value(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_add_resource_attribute(c, S("k"), p, n);
}
static otlpx_result sampler_name(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_set_sampler(c, p, n, 0.5);
}
static otlpx_result scope_name(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_set_default_scope(c, p, n, S("1.0"));
}
static otlpx_result scope_version(otlpx_config *c, const char *p, size_t n) {
  return otlpx_config_set_default_scope(c, S("s"), p, n);
}

static void test_config_bad_input(void) {
  CHECK_RC(otlpx_config_new(NULL), OTLPX_RESULT_NULL_PARAMETER);
  otlpx_config_free(NULL);

  otlpx_config *cfg = NULL;
  CHECK_OK(otlpx_config_new(&cfg));
  CHECK(cfg != NULL, "config_new wrote NULL");

  check_string_setter("set_env(name)", set_env_name, cfg, "OTEL_X", 0);
  check_string_setter("set_env(value)", set_env_value, cfg, "svc", 1);
  check_string_setter("set_endpoint", otlpx_config_set_endpoint, cfg, "http://127.0.0.1:4318/v1/traces", 1);
  check_string_setter("set_service_name", otlpx_config_set_service_name, cfg, "svc", 1);
  check_string_setter("set_certificate", otlpx_config_set_certificate, cfg, "/tmp/ca.pem", 1);
  check_string_setter("set_client_certificate", otlpx_config_set_client_certificate, cfg, "/tmp/c.pem", 1);
  check_string_setter("set_client_key", otlpx_config_set_client_key, cfg, "/tmp/k.pem", 1);
  check_string_setter("add_header(name)", add_header_name, cfg, "x-h", 0);
  check_string_setter("add_header(value)", add_header_value, cfg, "v", 1);
  check_string_setter("add_resource_attribute(key)", add_res_key, cfg, "k", 0);
  check_string_setter("add_resource_attribute(value)", add_res_value, cfg, "v", 1);
  check_string_setter("set_protocol", otlpx_config_set_protocol, cfg, "http/protobuf", 0);
  check_string_setter("set_compression", otlpx_config_set_compression, cfg, "none", 0);
  check_string_setter("set_sampler", sampler_name, cfg, "always_on", 0);
  check_string_setter("set_default_scope(name)", scope_name, cfg, "s", 1);
  check_string_setter("set_default_scope(version)", scope_version, cfg, "1", 1);
  check_string_setter("set_sdk_language", otlpx_config_set_sdk_language, cfg, "c", 0);

  /* Empty names are refused. */
  CHECK_RC(otlpx_config_set_env(cfg, NULL, 0, S("v")), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_add_header(cfg, NULL, 0, S("v")), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_add_resource_attribute(cfg, NULL, 0, S("v")), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_sdk_language(cfg, NULL, 0), OTLPX_RESULT_INVALID_ARGUMENT);

  /* Protocol, compression, sampler values. */
  CHECK_OK(otlpx_config_set_protocol(cfg, S("http/protobuf")));
  CHECK_OK(otlpx_config_set_protocol(cfg, S("http/json")));
  CHECK_OK(otlpx_config_set_protocol(cfg, S("grpc")));
  CHECK_RC(otlpx_config_set_protocol(cfg, S("carrier-pigeon")), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_OK(otlpx_config_set_compression(cfg, S("gzip")));
  CHECK_OK(otlpx_config_set_compression(cfg, S("none")));
  CHECK_RC(otlpx_config_set_compression(cfg, S("zstd")), OTLPX_RESULT_INVALID_ARGUMENT);
  static const char *samplers[] = {"always_on", "always_off", "traceidratio", "parentbased_always_on",
                                   "parentbased_always_off", "parentbased_traceidratio"};
  for (size_t i = 0; i < sizeof samplers / sizeof *samplers; i++)
    CHECK_RC(otlpx_config_set_sampler(cfg, samplers[i], strlen(samplers[i]), 0.25), OTLPX_RESULT_OK);
  CHECK_RC(otlpx_config_set_sampler(cfg, S("sometimes"), 0.5), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_sampler(cfg, S("traceidratio"), 1.5), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_sampler(cfg, S("traceidratio"), -0.1), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_sampler(cfg, S("traceidratio"), 0.0 / 0.0), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_sampler(NULL, S("always_on"), 1.0), OTLPX_RESULT_NULL_PARAMETER);

  /* Durations and limits: unknown enum values, out of range values. */
  CHECK_OK(otlpx_config_set_duration_ms(cfg, OTLPX_DURATION_TIMEOUT, 10000));
  CHECK_OK(otlpx_config_set_duration_ms(cfg, OTLPX_DURATION_SCHEDULE_DELAY, 5000));
  CHECK_OK(otlpx_config_set_duration_ms(cfg, OTLPX_DURATION_EXPORT_TIMEOUT, 30000));
  CHECK_RC(otlpx_config_set_duration_ms(cfg, 3, 1), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_duration_ms(cfg, UINT32_MAX, 1), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_duration_ms(NULL, OTLPX_DURATION_TIMEOUT, 1), OTLPX_RESULT_NULL_PARAMETER);
  for (uint32_t w = OTLPX_LIMIT_MAX_QUEUE_SIZE; w <= OTLPX_LIMIT_ATTRIBUTES_PER_LINK; w++) {
    otlpx_result rc = otlpx_config_set_limit(cfg, w, w == OTLPX_LIMIT_MAX_BATCH_BYTES ? 1 << 20 : 2048);
    CHECK(rc == OTLPX_RESULT_OK, "set_limit(%u, ok value) = %s", w, otlpx_result_message(rc));
    rc = otlpx_config_set_limit(cfg, w, (int64_t)UINT32_MAX + 1);
    CHECK(rc == OTLPX_RESULT_INVALID_ARGUMENT, "set_limit(%u, 2^32) = %s", w, otlpx_result_message(rc));
    rc = otlpx_config_set_limit(NULL, w, 1);
    CHECK(rc == OTLPX_RESULT_NULL_PARAMETER, "set_limit(NULL, %u) = %s", w, otlpx_result_message(rc));
  }
  CHECK_RC(otlpx_config_set_limit(cfg, OTLPX_LIMIT_MAX_QUEUE_SIZE, -1), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_limit(cfg, OTLPX_LIMIT_ATTRIBUTE_VALUE_LENGTH, -1), OTLPX_RESULT_OK);
  CHECK_RC(otlpx_config_set_limit(cfg, OTLPX_LIMIT_ATTRIBUTE_VALUE_LENGTH, INT64_MIN), OTLPX_RESULT_OK);
  CHECK_RC(otlpx_config_set_limit(cfg, 9, 1), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_limit(cfg, UINT32_MAX, 1), OTLPX_RESULT_INVALID_ARGUMENT);

  /* Flags and retry take any value. */
  CHECK_OK(otlpx_config_set_retry(cfg, 255, UINT64_MAX, UINT64_MAX, UINT64_MAX));
  CHECK_OK(otlpx_config_set_retry(cfg, 0, 0, 0, 0));
  CHECK_RC(otlpx_config_set_retry(NULL, 1, 1, 1, 1), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_OK(otlpx_config_set_insecure(cfg, 1));
  CHECK_RC(otlpx_config_set_insecure(NULL, 1), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_OK(otlpx_config_set_sdk_disabled(cfg, 0));
  CHECK_RC(otlpx_config_set_sdk_disabled(NULL, 1), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_OK(otlpx_config_ignore_process_env(cfg, 1));
  CHECK_RC(otlpx_config_ignore_process_env(NULL, 1), OTLPX_RESULT_NULL_PARAMETER);

  /* Callbacks: NULL callback restores the default; unknown level refused. */
  CHECK_OK(otlpx_config_set_log_callback(cfg, NULL, NULL, OTLPX_LOG_LEVEL_DEBUG));
  CHECK_RC(otlpx_config_set_log_callback(cfg, NULL, NULL, 4), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_config_set_log_callback(NULL, NULL, NULL, 0), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_OK(otlpx_config_set_send_callback(cfg, NULL, NULL));
  CHECK_RC(otlpx_config_set_send_callback(NULL, NULL, NULL), OTLPX_RESULT_NULL_PARAMETER);

  /* to_string: NULL config, NULL out_len, (NULL, n) buffer, too small, exact. */
  char buf[8192];
  size_t len = 12345;
  CHECK_RC(otlpx_config_to_string(NULL, buf, sizeof buf, &len), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_config_to_string(cfg, buf, sizeof buf, NULL), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_config_to_string(cfg, NULL, 10, &len), OTLPX_RESULT_NULL_PARAMETER);
  len = 0;
  CHECK_RC(otlpx_config_to_string(cfg, NULL, 0, &len), OTLPX_RESULT_BUFFER_TOO_SMALL);
  CHECK(len > 0 && len < sizeof buf, "needed length %zu", len);
  size_t need = len;
  memset(buf, 'Z', sizeof buf);
  CHECK_RC(otlpx_config_to_string(cfg, buf, need - 1, &len), OTLPX_RESULT_BUFFER_TOO_SMALL);
  CHECK(buf[0] == 'Z', "a too-small buffer was written");
  CHECK_OK(otlpx_config_to_string(cfg, buf, need, &len));
  CHECK(len == need && buf[need] == 'Z', "exact buffer: len %zu, no NUL expected", len);
  CHECK_OK(otlpx_config_to_string(cfg, buf, sizeof buf, &len));
  CHECK(len == need && buf[need] == 0 && strlen(buf) == need, "NUL appended when room");
  otlpx_config_free(cfg);
}

/* ------------------------------------------------------------------ */
/* Log callback, redacted config */

typedef struct {
  pthread_mutex_t mu;
  int count;
  int warn_queue_size;
  int wrong_level;
  char last[512];
} log_sink;

static void log_cb(void *ud, uint32_t level, const char *msg, size_t len) {
  log_sink *s = (log_sink *)ud;
  pthread_mutex_lock(&s->mu);
  s->count++;
  if (level > OTLPX_LOG_LEVEL_DEBUG) s->wrong_level++;
  copy_field(s->last, sizeof s->last, msg, len);
  if (level == OTLPX_LOG_LEVEL_WARN && strstr(s->last, "OTEL_BSP_MAX_QUEUE_SIZE")) s->warn_queue_size++;
  pthread_mutex_unlock(&s->mu);
}

static void test_log_callback_and_redaction(void) {
  log_sink sink;
  memset(&sink, 0, sizeof sink);
  pthread_mutex_init(&sink.mu, NULL);
  harness h;
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_log_callback(h.cfg, log_cb, &sink, OTLPX_LOG_LEVEL_WARN));
  CHECK_OK(otlpx_config_set_env(h.cfg, S("OTEL_BSP_MAX_QUEUE_SIZE"), S("abc")));
  CHECK_OK(otlpx_config_set_env(h.cfg, S("OTEL_EXPORTER_OTLP_HEADERS"), S("x-team=core,kf-api-key=env-secret-123")));
  CHECK_OK(otlpx_config_add_header(h.cfg, S("kf-api-key"), S("code-secret-456")));
  CHECK_OK(otlpx_config_set_endpoint(h.cfg, S("http://127.0.0.1:4318/v1/traces")));
  CHECK_OK(otlpx_config_set_service_name(h.cfg, S("checkout")));
  CHECK_OK(otlpx_config_add_resource_attribute(h.cfg, S("deployment.environment.name"), S("test")));

  char buf[8192];
  size_t len = 0;
  CHECK_OK(otlpx_config_to_string(h.cfg, buf, sizeof buf, &len));
  CHECK(strstr(buf, "kf-api-key=****") != NULL, "config string lacks kf-api-key=****:\n%s", buf);
  CHECK(strstr(buf, "secret") == NULL, "config string shows a secret:\n%s", buf);
  CHECK(strstr(buf, "checkout") != NULL, "config string lacks the service name:\n%s", buf);
  CHECK(sink.warn_queue_size >= 1, "config_to_string: no warning about OTEL_BSP_MAX_QUEUE_SIZE=abc (last: %s)",
        sink.last);
  int before = sink.warn_queue_size;

  harness_build(&h);
  CHECK(sink.warn_queue_size > before, "exporter_new: no warning about OTEL_BSP_MAX_QUEUE_SIZE=abc (last: %s)",
        sink.last);
  CHECK(sink.wrong_level == 0, "a log level out of range arrived");

  len = 0;
  CHECK_OK(otlpx_exporter_config_string(h.exp, buf, sizeof buf, &len));
  CHECK(len == strlen(buf), "exporter config string length %zu vs %zu", len, strlen(buf));
  CHECK(strstr(buf, "kf-api-key=****") != NULL, "exporter config string lacks kf-api-key=****:\n%s", buf);
  CHECK(strstr(buf, "secret") == NULL, "exporter config string shows a secret:\n%s", buf);
  CHECK(strstr(buf, "2048") != NULL, "bad queue size did not fall back to 2048:\n%s", buf);
  CHECK_RC(otlpx_exporter_config_string(NULL, buf, sizeof buf, &len), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_config_string(h.exp, buf, sizeof buf, NULL), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_config_string(h.exp, NULL, 5, &len), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_config_string(h.exp, buf, 3, &len), OTLPX_RESULT_BUFFER_TOO_SMALL);

  /* The request carries the code header (code wins over the environment). */
  otlpx_attribute a = otlpx_attr_str("k", "v");
  otlpx_span_data sd = good_span(&a, 1);
  CHECK_OK(otlpx_exporter_record(h.exp, SCOPE_ANY, &sd));
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 5000, NULL));
  CHECK(fake_count(&h.fk) == 1, "%zu requests", fake_count(&h.fk));
  if (fake_count(&h.fk) >= 1) {
    sent_request *r = &h.fk.sent[0];
    CHECK(strstr(r->headers, "kf-api-key: code-secret-456\n") != NULL, "headers:\n%s", r->headers);
    CHECK(strstr(r->headers, "env-secret") == NULL, "env header not overridden:\n%s", r->headers);
    /* Code headers replace the environment's as a whole (Go's WithHeaders). */
    CHECK(strstr(r->headers, "x-team") == NULL, "env headers merged with code headers:\n%s", r->headers);
    CHECK(strcmp(r->url, "http://127.0.0.1:4318/v1/traces") == 0, "url %s", r->url);
    CHECK(r->timeout_ms > 0, "timeout_ms 0");
  }
  CHECK(contains(h.fk.n_sent ? h.fk.sent[0].body : NULL, h.fk.n_sent ? h.fk.sent[0].body_len : 0, "checkout"),
        "resource service.name missing from the body");
  harness_end(&h);

  /* A log level filter of ERROR hides warnings. */
  memset(&sink, 0, sizeof sink);
  pthread_mutex_init(&sink.mu, NULL);
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_log_callback(h.cfg, log_cb, &sink, OTLPX_LOG_LEVEL_ERROR));
  CHECK_OK(otlpx_config_set_env(h.cfg, S("OTEL_BSP_MAX_QUEUE_SIZE"), S("abc")));
  harness_build(&h);
  CHECK(sink.warn_queue_size == 0, "a warning passed an ERROR filter");
  harness_end(&h);
  pthread_mutex_destroy(&sink.mu);
}

/* ------------------------------------------------------------------ */
/* Exporter creation */

static void test_exporter_new(void) {
  fake fk;
  fake_init(&fk, NULL, 0);
  otlpx_config *cfg = test_config(&fk);
  otlpx_exporter *exp = (otlpx_exporter *)0x1;
  CHECK_RC(otlpx_exporter_new(cfg, NULL), OTLPX_RESULT_NULL_PARAMETER);
  otlpx_exporter_free(NULL);

  /* gRPC without a send callback: unsupported; out not written. */
  otlpx_config *g = NULL;
  CHECK_OK(otlpx_config_new(&g));
  CHECK_OK(otlpx_config_ignore_process_env(g, 1));
  CHECK_OK(otlpx_config_set_protocol(g, S("grpc")));
  log_sink sink;
  memset(&sink, 0, sizeof sink);
  pthread_mutex_init(&sink.mu, NULL);
  CHECK_OK(otlpx_config_set_log_callback(g, log_cb, &sink, OTLPX_LOG_LEVEL_DEBUG));
  exp = (otlpx_exporter *)0x1;
  CHECK_RC(otlpx_exporter_new(g, &exp), OTLPX_RESULT_UNSUPPORTED);
  CHECK(exp == (otlpx_exporter *)0x1, "out written on failure");
  CHECK(sink.count >= 1 && strstr(sink.last, "grpc") != NULL, "no log message about grpc: %s", sink.last);
  pthread_mutex_destroy(&sink.mu);
  otlpx_config_free(g);

  /* A config may build several exporters, one after the other. */
  for (int i = 0; i < 2; i++) {
    exp = NULL;
    CHECK_OK(otlpx_exporter_new(cfg, &exp));
    uint32_t sc = 99;
    CHECK_OK(otlpx_exporter_default_scope(exp, &sc));
    CHECK(sc == 0, "default scope %u", sc);
    CHECK_RC(otlpx_exporter_default_scope(NULL, &sc), OTLPX_RESULT_NULL_PARAMETER);
    CHECK_RC(otlpx_exporter_default_scope(exp, NULL), OTLPX_RESULT_NULL_PARAMETER);
    size_t mb = 0;
    CHECK_OK(otlpx_exporter_memory_bound(exp, &mb));
    CHECK(mb >= 4u << 20, "memory bound %zu below one batch", mb);
    CHECK_RC(otlpx_exporter_memory_bound(NULL, &mb), OTLPX_RESULT_NULL_PARAMETER);
    CHECK_RC(otlpx_exporter_memory_bound(exp, NULL), OTLPX_RESULT_NULL_PARAMETER);
    otlpx_exporter_free(exp);
  }

  /* From the process environment alone (cfg NULL): built-in HTTP, nothing sent. */
  exp = NULL;
  CHECK_OK(otlpx_exporter_new(NULL, &exp));
  CHECK_OK(otlpx_exporter_shutdown(exp, 1000, NULL));
  otlpx_exporter_free(exp);

  otlpx_config_free(cfg);
  fake_destroy(&fk);
}

/* ------------------------------------------------------------------ */
/* Scopes */

static void test_scopes(void) {
  harness h;
  harness_start(&h, NULL, 0);
  harness_build(&h);
  otlpx_attribute sa[2] = {otlpx_attr_str("library.language", "c"), otlpx_attr_int("n", 3)};
  otlpx_scope sc;
  memset(&sc, 0, sizeof sc);
  sc.name = "io.otlpx.test";
  sc.name_len = strlen(sc.name);
  sc.version = "1.2.3";
  sc.version_len = 5;
  sc.attributes = sa;
  sc.attributes_len = 2;
  sc.dropped_attributes_count = 1;
  sc.schema_url = "https://opentelemetry.io/schemas/1.26.0";
  sc.schema_url_len = strlen(sc.schema_url);
  uint32_t id = 0, out = 777;
  CHECK_OK(otlpx_exporter_add_scope(h.exp, &sc, &id));
  CHECK(id != 0, "a new scope got the default scope's id");
  CHECK_RC(otlpx_exporter_add_scope(NULL, &sc, &out), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_add_scope(h.exp, NULL, &out), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_add_scope(h.exp, &sc, NULL), OTLPX_RESULT_NULL_PARAMETER);
  otlpx_scope bad = sc;
  bad.name = BAD_UTF8;
  bad.name_len = sizeof BAD_UTF8 - 1;
  CHECK_RC(otlpx_exporter_add_scope(h.exp, &bad, &out), OTLPX_RESULT_INVALID_UTF8);
  bad = sc;
  bad.version = NULL;
  CHECK_RC(otlpx_exporter_add_scope(h.exp, &bad, &out), OTLPX_RESULT_NULL_PARAMETER);
  bad = sc;
  bad.attributes = NULL;
  CHECK_RC(otlpx_exporter_add_scope(h.exp, &bad, &out), OTLPX_RESULT_NULL_PARAMETER);
  bad = sc;
  bad.attributes_len = HUGE_LEN;
  CHECK_RC(otlpx_exporter_add_scope(h.exp, &bad, &out), OTLPX_RESULT_INVALID_ARGUMENT);
  bad = sc;
  bad.schema_url_len = SIZE_MAX;
  CHECK_RC(otlpx_exporter_add_scope(h.exp, &bad, &out), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK(out == 777, "out_scope written on failure");

  /* At most 1024 scopes. */
  otlpx_result rc = OTLPX_RESULT_OK;
  int added = 0;
  char name[32];
  for (int i = 0; i < 1100 && rc == OTLPX_RESULT_OK; i++) {
    snprintf(name, sizeof name, "scope-%d", i);
    otlpx_scope s2;
    memset(&s2, 0, sizeof s2);
    s2.name = name;
    s2.name_len = strlen(name);
    rc = otlpx_exporter_add_scope(h.exp, &s2, &out);
    if (rc == OTLPX_RESULT_OK) added++;
  }
  CHECK(rc == OTLPX_RESULT_TOO_MANY_SCOPES, "after %d scopes: %s", added, otlpx_result_message(rc));
  CHECK(added + 2 <= 1024 && added + 2 >= 1000, "%d scopes added before the limit", added);

  /* A span under the new scope. */
  otlpx_span_data sd = good_span(NULL, 0);
  CHECK_OK(otlpx_exporter_record(h.exp, id, &sd));
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 5000, NULL));
  CHECK(any_body_contains(&h.fk, "io.otlpx.test") && any_body_contains(&h.fk, "schemas/1.26.0"),
        "scope name/schema missing from the request");
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* Recording: bad spans */

static void test_record_bad_input(void) {
  harness h;
  harness_start(&h, NULL, 0);
  harness_build(&h);
  uint64_t invalid = 0, invalid_scope = 0;
  otlpx_attribute attrs[2] = {otlpx_attr_str("http.request.method", "GET"), otlpx_attr_int("n", 1)};

  otlpx_span_data sd = good_span(attrs, 2);
  CHECK_RC(otlpx_exporter_record(NULL, 0, &sd), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_record(h.exp, 0, NULL), OTLPX_RESULT_NULL_PARAMETER);
  invalid++;

#define BAD_SPAN(mutate, want)                       \
  do {                                               \
    otlpx_span_data b_ = good_span(attrs, 2);        \
    mutate;                                          \
    CHECK_RC(otlpx_exporter_record(h.exp, 0, &b_), want); \
    invalid++;                                       \
  } while (0)

  BAD_SPAN(b_.name = NULL, OTLPX_RESULT_NULL_PARAMETER);
  BAD_SPAN((b_.name = BAD_UTF8, b_.name_len = sizeof BAD_UTF8 - 1), OTLPX_RESULT_INVALID_UTF8);
  BAD_SPAN(b_.name_len = SIZE_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN(b_.name_len = HUGE_LEN, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN((b_.trace_state = NULL, b_.trace_state_len = 4), OTLPX_RESULT_NULL_PARAMETER);
  BAD_SPAN((b_.status_message = BAD_UTF8, b_.status_message_len = 3), OTLPX_RESULT_INVALID_UTF8);
  BAD_SPAN(b_.kind = 6, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN(b_.kind = UINT32_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN(b_.status_code = 3, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN(b_.status_code = 0x80000000u, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN(b_.attributes = NULL, OTLPX_RESULT_NULL_PARAMETER);
  BAD_SPAN(b_.attributes_len = HUGE_LEN, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN(b_.attributes_len = SIZE_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_SPAN((b_.events = NULL, b_.events_len = 1), OTLPX_RESULT_NULL_PARAMETER);
  BAD_SPAN((b_.links = NULL, b_.links_len = 1), OTLPX_RESULT_NULL_PARAMETER);
  BAD_SPAN((b_.events = (const otlpx_event *)attrs, b_.events_len = SIZE_MAX / 2), OTLPX_RESULT_INVALID_ARGUMENT);

  /* Misaligned arrays (never dereferenced by this test, only passed). */
  {
    static otlpx_attribute store[4];
    store[0] = attrs[0];
    const otlpx_attribute *mis = (const otlpx_attribute *)(const void *)((const char *)store + 1);
    BAD_SPAN((b_.attributes = mis, b_.attributes_len = 1), OTLPX_RESULT_INVALID_ARGUMENT);
    static otlpx_event evs[2];
    const otlpx_event *mise = (const otlpx_event *)(const void *)((const char *)evs + 4);
    BAD_SPAN((b_.attributes_len = 0, b_.events = mise, b_.events_len = 1), OTLPX_RESULT_INVALID_ARGUMENT);
  }

  /* Bad values. */
  otlpx_attribute bv;
#define BAD_VALUE(mutate, want)                            \
  do {                                                     \
    bv = otlpx_attr_int("k", 1);                           \
    mutate;                                                \
    BAD_SPAN((b_.attributes = &bv, b_.attributes_len = 1), want); \
  } while (0)
  BAD_VALUE(bv.value.kind = 0, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_VALUE(bv.value.kind = 8, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_VALUE(bv.value.kind = UINT32_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_STRING, bv.value.ptr = NULL, bv.value.len = 2),
            OTLPX_RESULT_NULL_PARAMETER);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_STRING, bv.value.ptr = BAD_UTF8, bv.value.len = 4),
            OTLPX_RESULT_INVALID_UTF8);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_STRING, bv.value.ptr = "x", bv.value.len = SIZE_MAX),
            OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_BYTES, bv.value.ptr = NULL, bv.value.len = 1),
            OTLPX_RESULT_NULL_PARAMETER);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_BYTES, bv.value.ptr = "x", bv.value.len = HUGE_LEN),
            OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_ARRAY, bv.value.ptr = NULL, bv.value.len = 1),
            OTLPX_RESULT_NULL_PARAMETER);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_KVLIST, bv.value.ptr = NULL, bv.value.len = 1),
            OTLPX_RESULT_NULL_PARAMETER);
  BAD_VALUE((bv.value.kind = OTLPX_VALUE_KIND_ARRAY, bv.value.ptr = attrs, bv.value.len = HUGE_LEN),
            OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_VALUE((bv.key = NULL, bv.key_len = 1), OTLPX_RESULT_NULL_PARAMETER);
  BAD_VALUE((bv.key = BAD_UTF8, bv.key_len = 3), OTLPX_RESULT_INVALID_UTF8);

  /* Nesting: 32 levels of arrays (or kvlists) are fine, 33 are not. */
  {
    otlpx_value arr[40];
    otlpx_attribute kv[40];
    for (int depth = 31; depth <= 34; depth++) {
      /* arr[0] is the outermost array; arr[depth-1] the innermost, holding an int. */
      memset(arr, 0, sizeof arr);
      for (int i = 0; i < depth; i++) {
        arr[i].kind = OTLPX_VALUE_KIND_ARRAY;
        arr[i].ptr = &arr[i + 1];
        arr[i].len = 1;
      }
      arr[depth].kind = OTLPX_VALUE_KIND_INT;
      arr[depth].int_value = depth;
      otlpx_attribute top = {"deep", 4, arr[0]};
      otlpx_span_data b = good_span(&top, 1);
      otlpx_result want = depth <= 32 ? OTLPX_RESULT_OK : OTLPX_RESULT_INVALID_ARGUMENT;
      otlpx_result rc = otlpx_exporter_record(h.exp, 0, &b);
      CHECK(rc == want, "%d nested arrays: %s, want %s", depth, otlpx_result_message(rc),
            otlpx_result_message(want));
      if (rc != OTLPX_RESULT_OK) invalid++;

      memset(kv, 0, sizeof kv);
      for (int i = 0; i < depth; i++) {
        kv[i].key = "k";
        kv[i].key_len = 1;
        kv[i].value.kind = OTLPX_VALUE_KIND_KVLIST;
        kv[i].value.ptr = &kv[i + 1];
        kv[i].value.len = 1;
      }
      kv[depth].key = "leaf";
      kv[depth].key_len = 4;
      kv[depth].value.kind = OTLPX_VALUE_KIND_BOOL;
      kv[depth].value.int_value = 1;
      b = good_span(&kv[0], 1);
      rc = otlpx_exporter_record(h.exp, 0, &b);
      CHECK(rc == want, "%d nested kvlists: %s, want %s", depth, otlpx_result_message(rc),
            otlpx_result_message(want));
      if (rc != OTLPX_RESULT_OK) invalid++;
    }
  }

  /* Event and link contents. */
  {
    otlpx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.name = BAD_UTF8;
    ev.name_len = 2 + 1;
    BAD_SPAN((b_.events = &ev, b_.events_len = 1), OTLPX_RESULT_INVALID_UTF8);
    ev.name = "e";
    ev.name_len = 1;
    ev.attributes = NULL;
    ev.attributes_len = 3;
    BAD_SPAN((b_.events = &ev, b_.events_len = 1), OTLPX_RESULT_NULL_PARAMETER);
    otlpx_link ln;
    memset(&ln, 0, sizeof ln);
    ln.trace_state = BAD_UTF8;
    ln.trace_state_len = 4;
    BAD_SPAN((b_.links = &ln, b_.links_len = 1), OTLPX_RESULT_INVALID_UTF8);
    ln.trace_state = NULL;
    ln.trace_state_len = 0;
    ln.attributes = NULL;
    ln.attributes_len = 1;
    BAD_SPAN((b_.links = &ln, b_.links_len = 1), OTLPX_RESULT_NULL_PARAMETER);
  }

  /* Unknown scopes. */
  CHECK_RC(otlpx_exporter_record(h.exp, 999, &sd), OTLPX_RESULT_INVALID_SCOPE);
  CHECK_RC(otlpx_exporter_record(h.exp, 65535, &sd), OTLPX_RESULT_INVALID_SCOPE);
  CHECK_RC(otlpx_exporter_record(h.exp, 65536, &sd), OTLPX_RESULT_INVALID_SCOPE);
  CHECK_RC(otlpx_exporter_record(h.exp, UINT32_MAX, &sd), OTLPX_RESULT_INVALID_SCOPE);
  invalid_scope += 4;

  /* Good spans go out. */
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  otlpx_outcome oc;
  memset(&oc, 0xab, sizeof oc);
  otlpx_result frc = otlpx_exporter_force_flush(h.exp, 5000, &oc);
  CHECK(frc == OTLPX_RESULT_OK, "flush: %s", otlpx_result_message(frc));
  CHECK(oc.timed_out == 0 && oc.dropped == 0 && oc.pending == 0 && oc.exported >= 1,
        "flush outcome timed_out %u exported %" PRIu64 " dropped %" PRIu64 " pending %" PRIu64, oc.timed_out,
        oc.exported, oc.dropped, oc.pending);
  CHECK_RC(otlpx_exporter_force_flush(NULL, 10, &oc), OTLPX_RESULT_NULL_PARAMETER);

  otlpx_stats st = stats_of(h.exp);
  CHECK_STATS_BALANCE(st);
  CHECK_EQ_U64(st.dropped_invalid, invalid + invalid_scope);
  CHECK_EQ_U64(st.accepted, st.exported + invalid + invalid_scope);
  CHECK_RC(otlpx_exporter_stats(NULL, &st), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_stats(h.exp, NULL), OTLPX_RESULT_NULL_PARAMETER);
  harness_end(&h);
#undef BAD_VALUE
#undef BAD_SPAN
}

/* ------------------------------------------------------------------ */
/* Recording packed spans (otlpx_exporter_record_packed): every value
 * kind, events, links, and bad offsets, indices and strings. */

/* Appends `s` to the data buffer and returns its (offset, length). */
static otlpx_packed_str pack_str(uint8_t *data, uint32_t *used, const void *s, uint32_t n) {
  otlpx_packed_str p = {*used, n};
  memcpy(data + *used, s, n);
  *used += n;
  return p;
}

static void test_record_packed(void) {
  harness h;
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_protocol(h.cfg, S("http/json")));
  harness_build(&h);
  uint8_t data[512];
  uint32_t used = 0;
  static const uint8_t bytes[3] = {0xff, 0xad, 0x01}; /* never UTF-8 */
  otlpx_packed_span sp;
  memset(&sp, 0, sizeof sp);
  memcpy(sp.trace_id, TRACE_ID, 16);
  memcpy(sp.span_id, SPAN_ID, 8);
  sp.parent_span_id[0] = 0x77;
  sp.flags = 1;
  sp.kind = OTLPX_SPAN_KIND_SERVER;
  sp.start_time_unix_nano = 1700000000000000000ull;
  sp.end_time_unix_nano = 1700000000001000000ull;
  sp.name = pack_str(data, &used, "GET /packed", 11);
  sp.status_code = OTLPX_STATUS_CODE_ERROR;
  sp.status_message = pack_str(data, &used, "boom", 4);
  sp.trace_state = pack_str(data, &used, "a=b", 3);

  otlpx_packed_attribute attrs[7], nested[6];
  memset(attrs, 0, sizeof attrs);
  memset(nested, 0, sizeof nested);
  otlpx_packed_str s;
  attrs[0].key = pack_str(data, &used, "http.request.method", 19);
  s = pack_str(data, &used, "GET", 3);
  attrs[0].value = (otlpx_packed_value){OTLPX_VALUE_KIND_STRING, s.len, s.offset};
  attrs[1].key = pack_str(data, &used, "http.response.status_code", 25);
  attrs[1].value = (otlpx_packed_value){OTLPX_VALUE_KIND_INT, 0, (uint64_t)INT64_MIN};
  attrs[2].key = pack_str(data, &used, "cache.hit", 9);
  attrs[2].value = (otlpx_packed_value){OTLPX_VALUE_KIND_BOOL, 0, 1};
  double ratio = 0.25;
  uint64_t ratio_bits;
  memcpy(&ratio_bits, &ratio, 8);
  attrs[3].key = pack_str(data, &used, "ratio", 5);
  attrs[3].value = (otlpx_packed_value){OTLPX_VALUE_KIND_DOUBLE, 0, ratio_bits};
  attrs[4].key = pack_str(data, &used, "list", 4);
  attrs[4].value = (otlpx_packed_value){OTLPX_VALUE_KIND_ARRAY, 2, 0}; /* nested[0..2] */
  s = pack_str(data, &used, "elem", 4);
  nested[0].value = (otlpx_packed_value){OTLPX_VALUE_KIND_STRING, s.len, s.offset};
  nested[1].value = (otlpx_packed_value){OTLPX_VALUE_KIND_INT, 0, 42};
  attrs[5].key = pack_str(data, &used, "map", 3);
  attrs[5].value = (otlpx_packed_value){OTLPX_VALUE_KIND_KVLIST, 1, 2}; /* nested[2] */
  nested[2].key = pack_str(data, &used, "inner.flag", 10);
  nested[2].value = (otlpx_packed_value){OTLPX_VALUE_KIND_BOOL, 0, 1};
  /* Event attributes (nested[3..5]) and a link attribute (nested[5]). */
  nested[3].key = pack_str(data, &used, "exception.type", 14);
  s = pack_str(data, &used, "Timeout\xc3\xa9", 9);
  nested[3].value = (otlpx_packed_value){OTLPX_VALUE_KIND_STRING, s.len, s.offset};
  nested[4].key = pack_str(data, &used, "n", 1);
  nested[4].value = (otlpx_packed_value){OTLPX_VALUE_KIND_INT, 0, 7};
  nested[5].key = pack_str(data, &used, "link.attr", 9);
  nested[5].value = (otlpx_packed_value){OTLPX_VALUE_KIND_INT, 0, 5};
  otlpx_packed_event ev;
  memset(&ev, 0, sizeof ev);
  ev.name = pack_str(data, &used, "exception", 9);
  ev.time_unix_nano = 1700000000000500000ull;
  ev.attributes_first = 3;
  ev.attributes_len = 2;
  otlpx_packed_link ln;
  memset(&ln, 0, sizeof ln);
  memcpy(ln.trace_id, TRACE_ID, 16);
  ln.span_id[7] = 9;
  ln.trace_state = pack_str(data, &used, "vendor=x", 8);
  ln.attributes_first = 5;
  ln.attributes_len = 1;
  uint32_t text_end = used;
  /* Bytes last: the data buffer is then not UTF-8 as a whole, so the
   * strings are checked one by one (first record); then without them. */
  attrs[6].key = pack_str(data, &used, "payload", 7);
  s = pack_str(data, &used, bytes, 3);
  attrs[6].value = (otlpx_packed_value){OTLPX_VALUE_KIND_BYTES, s.len, s.offset};

  CHECK_OK(otlpx_exporter_record_packed(h.exp, 0, &sp, attrs, 7, nested, 6, &ev, 1, &ln, 1, data, used));
  CHECK_OK(otlpx_exporter_record_packed(h.exp, 0, &sp, attrs, 6, nested, 6, &ev, 1, &ln, 1, data, text_end));
  /* The smallest span: no arrays, no data. */
  otlpx_packed_span empty;
  memset(&empty, 0, sizeof empty);
  memcpy(empty.trace_id, TRACE_ID, 16);
  memcpy(empty.span_id, SPAN_ID, 8);
  CHECK_OK(otlpx_exporter_record_packed(h.exp, 0, &empty, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0));

  uint64_t invalid = 0;
#define BAD_PACKED(mutate, want)                                                                         \
  do {                                                                                                   \
    otlpx_packed_span bs_ = sp;                                                                          \
    otlpx_packed_attribute ba_[7], bn_[6];                                                               \
    otlpx_packed_event be_ = ev;                                                                         \
    otlpx_packed_link bl_ = ln;                                                                          \
    memcpy(ba_, attrs, sizeof ba_);                                                                      \
    memcpy(bn_, nested, sizeof bn_);                                                                     \
    size_t nd_ = used;                                                                                   \
    (void)nd_;                                                                                           \
    mutate;                                                                                              \
    CHECK_RC(otlpx_exporter_record_packed(h.exp, 0, &bs_, ba_, 7, bn_, 6, &be_, 1, &bl_, 1, data, nd_), \
             want);                                                                                      \
    invalid++;                                                                                           \
  } while (0)
  BAD_PACKED(bs_.name.offset = used, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(bs_.name.len = UINT32_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED((bs_.name.offset = UINT32_MAX, bs_.name.len = UINT32_MAX), OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(nd_ = used - 1, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(ba_[0].value.bits = UINT64_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(ba_[6].value.len = 4, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(ba_[4].value.bits = 5, OTLPX_RESULT_INVALID_ARGUMENT);  /* nested[5..7] */
  BAD_PACKED(ba_[4].value.bits = UINT64_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(ba_[5].value.len = 7, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(be_.attributes_first = 6, OTLPX_RESULT_INVALID_ARGUMENT); /* nested[6..8] */
  BAD_PACKED(be_.attributes_len = UINT32_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(bl_.attributes_first = UINT32_MAX, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(ba_[0].value.kind = 0, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(ba_[0].value.kind = 8, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(bs_.kind = 6, OTLPX_RESULT_INVALID_ARGUMENT);
  BAD_PACKED(bs_.status_code = 3, OTLPX_RESULT_INVALID_ARGUMENT);
  /* Strings: the raw bytes are not UTF-8; a piece that splits a character
   * (whole buffer valid, or not). */
  BAD_PACKED((bs_.name = (otlpx_packed_str){s.offset, 3}), OTLPX_RESULT_INVALID_UTF8);
  BAD_PACKED((nd_ = text_end, ba_[6] = ba_[0], bs_.name = (otlpx_packed_str){(uint32_t)nested[3].value.bits + 7, 1}),
             OTLPX_RESULT_INVALID_UTF8);
  BAD_PACKED((bs_.name = (otlpx_packed_str){(uint32_t)nested[3].value.bits + 8, 1}), OTLPX_RESULT_INVALID_UTF8);
  BAD_PACKED((ba_[0].key = (otlpx_packed_str){s.offset, 3}), OTLPX_RESULT_INVALID_UTF8);
  BAD_PACKED((bl_.trace_state = (otlpx_packed_str){s.offset, 1}), OTLPX_RESULT_INVALID_UTF8);
  BAD_PACKED((be_.name = (otlpx_packed_str){s.offset, 2}), OTLPX_RESULT_INVALID_UTF8);
  /* An array that contains itself: refused at the nesting limit. */
  BAD_PACKED((bn_[0].value = (otlpx_packed_value){OTLPX_VALUE_KIND_ARRAY, 1, 0}), OTLPX_RESULT_INVALID_ARGUMENT);
  /* NULL with a length. */
  CHECK_RC(otlpx_exporter_record_packed(h.exp, 0, &sp, NULL, 1, nested, 6, &ev, 1, &ln, 1, data, used),
           OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_record_packed(h.exp, 0, &sp, attrs, 7, nested, 6, &ev, 1, &ln, 1, NULL, used),
           OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_record_packed(h.exp, 0, NULL, attrs, 7, nested, 6, &ev, 1, &ln, 1, data, used),
           OTLPX_RESULT_NULL_PARAMETER);
  invalid += 3;
  CHECK_RC(otlpx_exporter_record_packed(NULL, 0, &sp, attrs, 7, nested, 6, &ev, 1, &ln, 1, data, used),
           OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_exporter_record_packed(h.exp, 999, &sp, attrs, 7, nested, 6, &ev, 1, &ln, 1, data, used),
           OTLPX_RESULT_INVALID_SCOPE);
  invalid++;
#undef BAD_PACKED

  CHECK_OK(otlpx_exporter_shutdown(h.exp, 5000, NULL));
  otlpx_stats st = stats_of(h.exp);
  CHECK_STATS_BALANCE(st);
  CHECK_EQ_U64(st.exported, 3);
  CHECK_EQ_U64(st.dropped_invalid, invalid);
  CHECK(fake_count(&h.fk) >= 1, "%zu requests", fake_count(&h.fk));
  if (fake_count(&h.fk) >= 1) {
    sent_request *r = &h.fk.sent[0];
    static const char *want[] = {"GET /packed", "http.request.method", "\"GET\"", "http.response.status_code",
                                 "-9223372036854775808", "cache.hit", "ratio", "0.25", "payload", "/60B", "list",
                                 "elem", "42", "inner.flag", "exception", "Timeout", "vendor=x",
                                 "link.attr", "boom", "a=b", "4bf92f3577b34da6a3ce929d0e0e4736",
                                 "00f067aa0ba902b7", "7700000000000000"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
      CHECK(contains(r->body, r->body_len, want[i]), "JSON body lacks %s: %.*s", want[i], (int)r->body_len,
            (const char *)r->body);
  }
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* Every attribute type, events, links, checked in the JSON body */

static void test_json_content(void) {
  harness h;
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_protocol(h.cfg, S("http/json")));
  harness_build(&h);
  static const uint8_t bytes[3] = {0xde, 0xad, 0x01};
  otlpx_value arr[3];
  memset(arr, 0, sizeof arr);
  arr[0].kind = OTLPX_VALUE_KIND_STRING;
  arr[0].ptr = "elem";
  arr[0].len = 4;
  arr[1].kind = OTLPX_VALUE_KIND_INT;
  arr[1].int_value = INT64_MIN;
  arr[2].kind = OTLPX_VALUE_KIND_DOUBLE;
  arr[2].double_value = 0.5;
  otlpx_attribute inner[1] = {otlpx_attr_bool("inner.flag", true)};
  otlpx_attribute attrs[7];
  attrs[0] = otlpx_attr_str("http.request.method", "GET");
  attrs[1] = otlpx_attr_int("http.response.status_code", 200);
  attrs[2] = otlpx_attr_bool("cache.hit", true);
  attrs[3] = otlpx_attr_double("ratio", 0.25);
  memset(&attrs[4], 0, 3 * sizeof attrs[4]);
  attrs[4].key = "payload";
  attrs[4].key_len = 7;
  attrs[4].value.kind = OTLPX_VALUE_KIND_BYTES;
  attrs[4].value.ptr = bytes;
  attrs[4].value.len = 3;
  attrs[5].key = "list";
  attrs[5].key_len = 4;
  attrs[5].value.kind = OTLPX_VALUE_KIND_ARRAY;
  attrs[5].value.ptr = arr;
  attrs[5].value.len = 3;
  attrs[6].key = "map";
  attrs[6].key_len = 3;
  attrs[6].value.kind = OTLPX_VALUE_KIND_KVLIST;
  attrs[6].value.ptr = inner;
  attrs[6].value.len = 1;
  otlpx_attribute eattrs[1] = {otlpx_attr_str("exception.type", "Timeout")};
  otlpx_event ev = {"exception", 9, 1700000000000500000ull, eattrs, 1, 0};
  otlpx_link ln;
  memset(&ln, 0, sizeof ln);
  memcpy(ln.trace_id, TRACE_ID, 16);
  ln.span_id[7] = 9;
  ln.trace_state = "vendor=x";
  ln.trace_state_len = 8;
  otlpx_span_data sd = good_span(attrs, 7);
  sd.events = &ev;
  sd.events_len = 1;
  sd.links = &ln;
  sd.links_len = 1;
  sd.status_code = OTLPX_STATUS_CODE_ERROR;
  sd.status_message = "boom";
  sd.status_message_len = 4;
  sd.parent_span_id[0] = 0x77;
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  CHECK_OK(otlpx_exporter_shutdown(h.exp, 5000, NULL));
  CHECK(fake_count(&h.fk) == 1, "%zu requests", fake_count(&h.fk));
  if (fake_count(&h.fk) == 1) {
    sent_request *r = &h.fk.sent[0];
    CHECK(strcmp(r->content_type, "application/json") == 0, "content type %s", r->content_type);
    static const char *want[] = {"GET /hello", "http.request.method", "\"GET\"", "http.response.status_code",
                                 "cache.hit", "ratio", "payload", "3q0B", "list", "elem", "-9223372036854775808",
                                 "inner.flag", "exception", "Timeout", "vendor=x", "boom",
                                 "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "7700000000000000",
                                 "telemetry.sdk.language", "\"c\""};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
      CHECK(contains(r->body, r->body_len, want[i]), "JSON body lacks %s: %.*s", want[i], (int)r->body_len,
            (const char *)r->body);
  }
  harness_end(&h);

  /* gzip: the body is gzip and says so. */
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_compression(h.cfg, S("gzip")));
  harness_build(&h);
  sd = good_span(attrs, 4);
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 5000, NULL));
  if (fake_count(&h.fk) == 1) {
    sent_request *r = &h.fk.sent[0];
    CHECK(strcmp(r->content_encoding, "gzip") == 0, "encoding %s", r->content_encoding);
    CHECK(r->body_len > 2 && r->body[0] == 0x1f && r->body[1] == 0x8b, "not a gzip body");
    CHECK(strcmp(r->content_type, "application/x-protobuf") == 0, "content type %s", r->content_type);
  } else {
    CHECK(0, "gzip: %zu requests", fake_count(&h.fk));
  }
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* Values nested as deep as the C API accepts (32 levels) export under
 * http/json too: the OTLP/JSON transcoder's message depth limit (core/src/json.rs
 * MAX_DEPTH) covers them, and a deep span never costs its batch. */

static void test_json_deep_nesting(void) {
  for (int kv = 0; kv <= 1; kv++) {
    harness h;
    harness_start(&h, NULL, 0);
    CHECK_OK(otlpx_config_set_protocol(h.cfg, S("http/json")));
    CHECK_OK(otlpx_config_set_log_callback(h.cfg, NULL, NULL, OTLPX_LOG_LEVEL_ERROR));
    harness_build(&h);
    otlpx_value arr[33];
    otlpx_attribute kvs[33];
    for (int i = 0; i < 32; i++) {
      arr[i].kind = OTLPX_VALUE_KIND_ARRAY;
      arr[i].ptr = &arr[i + 1];
      arr[i].len = 1;
      kvs[i].key = "k";
      kvs[i].key_len = 1;
      kvs[i].value.kind = OTLPX_VALUE_KIND_KVLIST;
      kvs[i].value.ptr = &kvs[i + 1];
      kvs[i].value.len = 1;
    }
    arr[32].kind = OTLPX_VALUE_KIND_INT;
    arr[32].int_value = 1;
    kvs[32] = otlpx_attr_int("leaf", 1);
    otlpx_attribute top = {"deep", 4, arr[0]};
    otlpx_span_data normal = good_span(NULL, 0);
    otlpx_span_data deep = good_span(kv ? &kvs[0] : &top, 1);
    CHECK_OK(otlpx_exporter_record(h.exp, 0, &normal));
    CHECK_OK(otlpx_exporter_record(h.exp, 0, &deep));
    otlpx_exporter_force_flush(h.exp, 5000, NULL);
    otlpx_stats st = stats_of(h.exp);
    CHECK_STATS_BALANCE(st);
    /* Fixed: the JSON transcoder's depth limit (64 messages) used to fail the whole batch here. */
    CHECK(st.exported == 2, "32 nested %s under http/json: exported %" PRIu64 " of 2", kv ? "kvlists" : "arrays",
          st.exported);
    harness_end(&h);
  }
}

/* ------------------------------------------------------------------ */
/* Send callback results: retries, errors, partial success, response setters */

static void test_send_callback_results(void) {
  static const reply script[] = {
      {REPLY_STATUS, 503, "0", 0, 0, NULL, 0},
      {REPLY_CONNECT, 0, NULL, 0, 0, NULL, 0},
      {REPLY_TIMEOUT, 0, NULL, 0, 0, NULL, 0},
      {REPLY_STATUS, 429, NULL, 0, 0, NULL, 0},
      {REPLY_STATUS, 200, NULL, 0, 0, NULL, 0},
  };
  harness h;
  harness_start(&h, script, 5);
  harness_build(&h);
  otlpx_span_data sd = good_span(NULL, 0);
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  otlpx_outcome oc;
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 10000, &oc));
  otlpx_stats st = stats_of(h.exp);
  CHECK_EQ_U64(fake_count(&h.fk), 5);
  CHECK_EQ_U64(st.retries, 4);
  CHECK_EQ_U64(st.requests_retryable, 4);
  CHECK_EQ_U64(st.requests_success, 1);
  CHECK_EQ_U64(st.exported, 1);
  CHECK_EQ_U64(st.batches, 1);
  CHECK_EQ_U64(st.last_http_status, 200);
  CHECK(st.last_success_unix_nano > 1600000000000000000ull, "last success %" PRIu64, st.last_success_unix_nano);
  CHECK_STATS_BALANCE(st);
  if (fake_count(&h.fk) == 5) {
    for (int i = 1; i < 5; i++)
      CHECK(h.fk.sent[i].body_len == h.fk.sent[0].body_len &&
                memcmp(h.fk.sent[i].body, h.fk.sent[0].body, h.fk.sent[0].body_len) == 0,
            "retry %d sent a different body", i);
    CHECK(strcmp(h.fk.sent[0].content_type, "application/x-protobuf") == 0, "content type %s",
          h.fk.sent[0].content_type);
    CHECK(h.fk.sent[0].content_encoding[0] == 0, "encoding %s", h.fk.sent[0].content_encoding);
    CHECK(h.fk.sent[0].body_len > 0 && h.fk.sent[0].spans == 1, "body %zu B, %zu spans", h.fk.sent[0].body_len,
          h.fk.sent[0].spans);
  }
  harness_end(&h);

  /* Non-retryable outcomes: ERROR, OK without status, an unknown result, 400,
   * then partial success (1 rejected), then a 500 with retries disabled. */
  static const reply script2[] = {
      {REPLY_ERROR, 0, NULL, 0, 0, NULL, 0},
      {REPLY_NO_STATUS, 0, NULL, 0, 0, NULL, 0},
      {REPLY_BAD_RESULT, 0, NULL, 0, 0, NULL, 0},
      {REPLY_STATUS, 400, NULL, 0, 0, NULL, 0},
      {REPLY_STATUS, 200, NULL, 1, 1, "one bad span", 12},
  };
  harness_start(&h, script2, 5);
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_MAX_EXPORT_BATCH_SIZE, 2));
  harness_build(&h);
  char err[256];
  size_t elen = 99;
  CHECK_OK(otlpx_exporter_last_error(h.exp, err, sizeof err, &elen));
  CHECK(elen == 0 && err[0] == 0, "last error before any export: %s", err);
  for (int i = 0; i < 5; i++) {
    CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
    otlpx_result rc = otlpx_exporter_force_flush(h.exp, 5000, &oc);
    CHECK(rc == (i < 4 ? OTLPX_RESULT_SPANS_DROPPED : OTLPX_RESULT_SPANS_DROPPED),
          "flush %d: %s", i, otlpx_result_message(rc));
    CHECK(oc.dropped == 1 && oc.timed_out == 0, "flush %d dropped %" PRIu64, i, oc.dropped);
    if (i == 0) {
      CHECK_OK(otlpx_exporter_last_error(h.exp, err, sizeof err, &elen));
      CHECK(strstr(err, "disk on fire") != NULL, "last error: %s", err);
      CHECK_RC(otlpx_exporter_last_error(h.exp, err, 2, &elen), OTLPX_RESULT_BUFFER_TOO_SMALL);
      CHECK(elen > 2, "needed length %zu", elen);
      CHECK_RC(otlpx_exporter_last_error(NULL, err, sizeof err, &elen), OTLPX_RESULT_NULL_PARAMETER);
      CHECK_RC(otlpx_exporter_last_error(h.exp, err, sizeof err, NULL), OTLPX_RESULT_NULL_PARAMETER);
      CHECK_RC(otlpx_exporter_last_error(h.exp, NULL, 1, &elen), OTLPX_RESULT_NULL_PARAMETER);
    }
  }
  /* Partial success with two spans in the batch: one exported, one rejected. */
  st = stats_of(h.exp);
  CHECK_EQ_U64(st.dropped_export_failed, 3);
  CHECK_EQ_U64(st.dropped_rejected, 2);
  CHECK_EQ_U64(st.retries, 0);
  /* ERROR, OK without a status, an unknown result and 400 fail permanently. */
  CHECK_EQ_U64(st.requests_permanent, 4);
  CHECK_EQ_U64(st.requests_success, 1);
  CHECK_STATS_BALANCE(st);
  harness_end(&h);

  harness_start(&h, NULL, 0);
  {
    static const reply s500[] = {{REPLY_STATUS, 500, NULL, 0, 0, NULL, 0}};
    h.fk.script = s500;
    h.fk.script_len = 1;
  }
  CHECK_OK(otlpx_config_set_retry(h.cfg, 0, 1, 1, 1));
  harness_build(&h);
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  CHECK_RC(otlpx_exporter_force_flush(h.exp, 5000, NULL), OTLPX_RESULT_SPANS_DROPPED);
  st = stats_of(h.exp);
  CHECK_EQ_U64(st.dropped_export_failed, 1);
  CHECK_EQ_U64(st.requests_permanent, 1);
  CHECK_EQ_U64(st.last_http_status, 500);
  harness_end(&h);
}

static atomic_int hook_ran;

static void response_setters_hook(fake *f, const otlpx_export_request *req, otlpx_export_response *resp) {
  (void)f;
  (void)req;
  atomic_fetch_add(&hook_ran, 1);
  CHECK_RC(otlpx_export_response_set_status(NULL, 200), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_export_response_set_status(resp, 0), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_export_response_set_status(resp, 99), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_export_response_set_status(resp, 1000), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_export_response_set_status(resp, UINT16_MAX), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_export_response_set_retry_after(NULL, S("1")), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_export_response_set_retry_after(resp, NULL, 3), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_export_response_set_retry_after(resp, BAD), OTLPX_RESULT_INVALID_UTF8);
  CHECK_RC(otlpx_export_response_set_retry_after(resp, "1", SIZE_MAX), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_export_response_set_body(NULL, (const uint8_t *)"x", 1), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_export_response_set_body(resp, NULL, 5), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_export_response_set_body(resp, (const uint8_t *)"x", HUGE_LEN), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_export_response_set_body(resp, NULL, 0), OTLPX_RESULT_OK);
  /* A body over 64 KiB is accepted (the rest ignored). */
  static uint8_t big[70000];
  CHECK_RC(otlpx_export_response_set_body(resp, big, sizeof big), OTLPX_RESULT_OK);
  CHECK_RC(otlpx_export_response_set_body(resp, NULL, 0), OTLPX_RESULT_OK);
  CHECK_RC(otlpx_export_response_set_error(NULL, S("x")), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_export_response_set_error(resp, NULL, 2), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_export_response_set_error(resp, BAD), OTLPX_RESULT_INVALID_UTF8);
  CHECK_RC(otlpx_export_response_set_error(resp, "x", SIZE_MAX), OTLPX_RESULT_INVALID_ARGUMENT);
  /* A long error message is fine (kept shortened). */
  static char long_msg[5000];
  memset(long_msg, 'e', sizeof long_msg);
  CHECK_RC(otlpx_export_response_set_error(resp, long_msg, sizeof long_msg), OTLPX_RESULT_OK);
  CHECK_RC(otlpx_export_response_set_retry_after(resp, S("Wed, 21 Oct 2015 07:28:00 GMT")), OTLPX_RESULT_OK);
}

static void test_response_setters(void) {
  harness h;
  harness_start(&h, NULL, 0);
  h.fk.hook = response_setters_hook;
  harness_build(&h);
  otlpx_span_data sd = good_span(NULL, 0);
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 5000, NULL));
  CHECK(atomic_load(&hook_ran) == 1, "hook ran %d times", atomic_load(&hook_ran));
  otlpx_stats st = stats_of(h.exp);
  CHECK_EQ_U64(st.exported, 1);
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* The span handle API */

static void test_span_api(void) {
  harness h;
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_protocol(h.cfg, S("http/json")));
  harness_build(&h);
  otlpx_span *sp = (otlpx_span *)0x1;

  /* Bad arguments to start; out not written. */
  CHECK_RC(otlpx_span_start(NULL, 0, S("x"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_start(h.exp, 0, S("x"), OTLPX_SPAN_KIND_SERVER, NULL, 0, NULL), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_start(h.exp, 0, NULL, 4, OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_start(h.exp, 0, BAD, OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp), OTLPX_RESULT_INVALID_UTF8);
  CHECK_RC(otlpx_span_start(h.exp, 0, "x", SIZE_MAX, OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp),
           OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_span_start(h.exp, 0, S("x"), 6, NULL, 0, &sp), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_span_start(h.exp, 0, S("x"), UINT32_MAX, NULL, 0, &sp), OTLPX_RESULT_INVALID_ARGUMENT);
  otlpx_span_context badp;
  memset(&badp, 0, sizeof badp);
  badp.trace_state_len = OTLPX_TRACE_STATE_MAX + 1;
  CHECK_RC(otlpx_span_start(h.exp, 0, S("x"), 1, &badp, 0, &sp), OTLPX_RESULT_INVALID_ARGUMENT);
  badp.trace_state_len = 3;
  memcpy(badp.trace_state, "\xff\xfe\xfd", 3);
  CHECK_RC(otlpx_span_start(h.exp, 0, S("x"), 1, &badp, 0, &sp), OTLPX_RESULT_INVALID_UTF8);
  CHECK(sp == (otlpx_span *)0x1, "out written on failure");

  /* NULL handles. */
  otlpx_span_context ctx;
  char tp[OTLPX_TRACEPARENT_LEN + 1];
  otlpx_attribute a1 = otlpx_attr_str("url.path", "/hello");
  otlpx_link ln;
  memset(&ln, 0, sizeof ln);
  CHECK(otlpx_span_is_recording(NULL) == 0, "NULL span is recording");
  CHECK_RC(otlpx_span_get_context(NULL, &ctx), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_traceparent(NULL, tp, sizeof tp), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_set_name(NULL, S("n")), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_set_attributes(NULL, &a1, 1), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_add_event(NULL, S("e"), 0, NULL, 0), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_add_link(NULL, &ln), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_set_status(NULL, OTLPX_STATUS_CODE_OK, NULL, 0), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_end(NULL, 0), OTLPX_RESULT_NULL_PARAMETER);
  otlpx_span_free(NULL);

  /* A server span with everything, then a child. */
  sp = NULL;
  CHECK_OK(otlpx_span_start(h.exp, 0, S("GET"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp));
  CHECK(sp != NULL, "no handle");
  CHECK(otlpx_span_is_recording(sp) == 1, "a root span is not recording with the default sampler");
  CHECK_RC(otlpx_span_get_context(sp, NULL), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_OK(otlpx_span_get_context(sp, &ctx));
  static const uint8_t zero[16] = {0};
  CHECK(memcmp(ctx.trace_id, zero, 16) != 0 && memcmp(ctx.span_id, zero, 8) != 0, "zero ids");
  CHECK(ctx.trace_flags == 1 && ctx.is_remote == 0, "flags %u remote %u", ctx.trace_flags, ctx.is_remote);
  CHECK_RC(otlpx_span_traceparent(sp, NULL, 55), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_traceparent(sp, tp, 54), OTLPX_RESULT_BUFFER_TOO_SMALL);
  memset(tp, 0, sizeof tp);
  CHECK_OK(otlpx_span_traceparent(sp, tp, sizeof tp));
  char hex[33];
  t_hex(ctx.trace_id, 16, hex);
  CHECK(strncmp(tp, "00-", 3) == 0 && strncmp(tp + 3, hex, 32) == 0 && strcmp(tp + 52, "-01") == 0,
        "traceparent %s", tp);
  char tp2[OTLPX_TRACEPARENT_LEN + 1] = {0};
  CHECK_OK(otlpx_traceparent_format(&ctx, tp2, OTLPX_TRACEPARENT_LEN));
  CHECK(strcmp(tp, tp2) == 0, "span_traceparent %s vs format %s", tp, tp2);

  CHECK_RC(otlpx_span_set_name(sp, NULL, 2), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_set_name(sp, BAD), OTLPX_RESULT_INVALID_UTF8);
  CHECK_OK(otlpx_span_set_name(sp, S("GET /hello")));
  otlpx_attribute attrs[4] = {otlpx_attr_str("http.request.method", "GET"), otlpx_attr_str("url.path", "/hello"),
                              otlpx_attr_int("http.response.status_code", 500),
                              otlpx_attr_str("http.route", "/hello")};
  CHECK_OK(otlpx_span_set_attributes(sp, attrs, 4));
  otlpx_attribute fix = otlpx_attr_int("http.response.status_code", 200);
  CHECK_OK(otlpx_span_set_attributes(sp, &fix, 1)); /* overwrites */
  CHECK_OK(otlpx_span_set_attributes(sp, NULL, 0));
  CHECK_RC(otlpx_span_set_attributes(sp, NULL, 1), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_set_attributes(sp, attrs, HUGE_LEN), OTLPX_RESULT_INVALID_ARGUMENT);
  /* On an error, the attributes before the failing one are set. */
  otlpx_attribute mixed[2] = {otlpx_attr_str("before.bad", "kept"), otlpx_attr_str("bad.value", "x")};
  mixed[1].value.ptr = BAD_UTF8;
  mixed[1].value.len = 4;
  CHECK_RC(otlpx_span_set_attributes(sp, mixed, 2), OTLPX_RESULT_INVALID_UTF8);
  otlpx_attribute deep;
  otlpx_value chain[40];
  for (int i = 0; i < 39; i++) {
    chain[i].kind = OTLPX_VALUE_KIND_ARRAY;
    chain[i].ptr = &chain[i + 1];
    chain[i].len = 1;
  }
  chain[39].kind = OTLPX_VALUE_KIND_INT;
  chain[39].int_value = 1;
  deep.key = "deep";
  deep.key_len = 4;
  deep.value = chain[0];
  CHECK_RC(otlpx_span_set_attributes(sp, &deep, 1), OTLPX_RESULT_INVALID_ARGUMENT);
  deep.value = chain[39 - 33]; /* 33 arrays */
  CHECK_RC(otlpx_span_set_attributes(sp, &deep, 1), OTLPX_RESULT_INVALID_ARGUMENT);
  {
    /* 32 levels are accepted (on a span that is then discarded: see
     * test_json_deep_nesting for what the JSON encoder makes of them). */
    otlpx_span *d = NULL;
    CHECK_OK(otlpx_span_start(h.exp, 0, S("deep"), OTLPX_SPAN_KIND_INTERNAL, NULL, 0, &d));
    deep.value = chain[39 - 32];
    CHECK_OK(otlpx_span_set_attributes(d, &deep, 1));
    otlpx_span_free(d);
  }

  otlpx_attribute eattr = otlpx_attr_str("exception.message", "upstream slow");
  CHECK_RC(otlpx_span_add_event(sp, NULL, 1, 0, NULL, 0), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_add_event(sp, BAD, 0, NULL, 0), OTLPX_RESULT_INVALID_UTF8);
  CHECK_RC(otlpx_span_add_event(sp, S("e"), 0, NULL, 2), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_add_event(sp, S("e"), 0, &eattr, HUGE_LEN), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_OK(otlpx_span_add_event(sp, S("retry"), 0, &eattr, 1));
  CHECK_OK(otlpx_span_add_event(sp, S("at.time"), 1700000000000000001ull, NULL, 0));

  CHECK_RC(otlpx_span_add_link(sp, NULL), OTLPX_RESULT_NULL_PARAMETER);
  ln.trace_state = BAD_UTF8;
  ln.trace_state_len = 3;
  CHECK_RC(otlpx_span_add_link(sp, &ln), OTLPX_RESULT_INVALID_UTF8);
  ln.trace_state = "a=b";
  ln.trace_state_len = 3;
  ln.attributes = NULL;
  ln.attributes_len = 1;
  CHECK_RC(otlpx_span_add_link(sp, &ln), OTLPX_RESULT_NULL_PARAMETER);
  ln.attributes = &eattr;
  memcpy(ln.trace_id, TRACE_ID, 16);
  ln.span_id[0] = 0x42;
  CHECK_OK(otlpx_span_add_link(sp, &ln));

  CHECK_RC(otlpx_span_set_status(sp, 3, NULL, 0), OTLPX_RESULT_INVALID_ARGUMENT);
  CHECK_RC(otlpx_span_set_status(sp, OTLPX_STATUS_CODE_ERROR, NULL, 4), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_span_set_status(sp, OTLPX_STATUS_CODE_ERROR, BAD), OTLPX_RESULT_INVALID_UTF8);
  CHECK_OK(otlpx_span_set_status(sp, OTLPX_STATUS_CODE_ERROR, S("first error")));
  CHECK_OK(otlpx_span_set_status(sp, OTLPX_STATUS_CODE_OK, S("ignored message")));
  CHECK_OK(otlpx_span_set_status(sp, OTLPX_STATUS_CODE_ERROR, S("after ok")));

  otlpx_span *child = NULL;
  CHECK_OK(otlpx_span_start(h.exp, 0, S("SELECT users"), OTLPX_SPAN_KIND_CLIENT, &ctx, 0, &child));
  otlpx_span_context cctx;
  CHECK_OK(otlpx_span_get_context(child, &cctx));
  CHECK(memcmp(cctx.trace_id, ctx.trace_id, 16) == 0, "child in another trace");
  CHECK(memcmp(cctx.span_id, ctx.span_id, 8) != 0, "child reuses the parent's span id");
  CHECK_OK(otlpx_span_end(child, 0));
  CHECK_OK(otlpx_span_end(sp, 0));

  /* A span freed without ending records nothing. */
  otlpx_span *dropped = NULL;
  CHECK_OK(otlpx_span_start(h.exp, 0, S("abandoned"), OTLPX_SPAN_KIND_INTERNAL, NULL, 0, &dropped));
  CHECK_OK(otlpx_span_set_attributes(dropped, attrs, 4));
  otlpx_span_free(dropped);

  CHECK_OK(otlpx_exporter_force_flush(h.exp, 5000, NULL));
  otlpx_stats st = stats_of(h.exp);
  CHECK_EQ_U64(st.accepted, 2);
  CHECK_EQ_U64(st.exported, 2);
  char parent_hex[17];
  t_hex(ctx.span_id, 8, parent_hex);
  static const char *want[] = {"GET /hello", "SELECT users", "\"200\"", "/hello", "retry", "at.time",
                               "upstream slow", "4200000000000000", "a=b", "before.bad"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    CHECK(any_body_contains(&h.fk, want[i]), "body lacks %s", want[i]);
  CHECK(any_body_contains(&h.fk, parent_hex), "child's parent id %s missing", parent_hex);
  CHECK(!any_body_contains(&h.fk, "\"500\""), "overwritten status code 500 still sent");
  CHECK(!any_body_contains(&h.fk, "after ok") && !any_body_contains(&h.fk, "ignored message"),
        "status changed after Ok");
  CHECK(!any_body_contains(&h.fk, "abandoned"), "a freed span was recorded");
  harness_end(&h);

  /* Unsampled: always_off and a parent-based sampler with an unsampled parent. */
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_sampler(h.cfg, S("always_off"), 0.0));
  harness_build(&h);
  CHECK_OK(otlpx_span_start(h.exp, 0, S("unsampled"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp));
  CHECK(otlpx_span_is_recording(sp) == 0, "always_off span is recording");
  CHECK_OK(otlpx_span_get_context(sp, &ctx));
  CHECK(ctx.trace_flags == 0, "unsampled flags %u", ctx.trace_flags);
  CHECK_OK(otlpx_span_set_name(sp, S("x")));
  CHECK_OK(otlpx_span_set_attributes(sp, attrs, 4));
  CHECK_OK(otlpx_span_add_event(sp, S("e"), 0, NULL, 0));
  CHECK_OK(otlpx_span_add_link(sp, &ln));
  CHECK_OK(otlpx_span_set_status(sp, OTLPX_STATUS_CODE_ERROR, S("m")));
  CHECK_OK(otlpx_span_end(sp, 0));
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 1000, NULL));
  st = stats_of(h.exp);
  CHECK_EQ_U64(st.accepted, 0);
  CHECK_EQ_U64(fake_count(&h.fk), 0);
  harness_end(&h);

  harness_start(&h, NULL, 0);
  harness_build(&h);
  otlpx_span_context unsampled;
  CHECK_OK(otlpx_trace_context_extract(S("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), NULL, 0,
                                       &unsampled));
  CHECK_OK(otlpx_span_start(h.exp, 0, S("child of unsampled"), OTLPX_SPAN_KIND_SERVER, &unsampled, 0, &sp));
  CHECK(otlpx_span_is_recording(sp) == 0, "parent-based sampler ignored an unsampled parent");
  CHECK_OK(otlpx_span_end(sp, 0));
  /* A zero parent context starts a new trace. */
  otlpx_span_context zp;
  memset(&zp, 0, sizeof zp);
  CHECK_OK(otlpx_span_start(h.exp, 0, S("root"), OTLPX_SPAN_KIND_SERVER, &zp, 123, &sp));
  CHECK(otlpx_span_is_recording(sp) == 1, "root from zero parent not recording");
  CHECK_OK(otlpx_span_get_context(sp, &ctx));
  CHECK(memcmp(ctx.trace_id, zero, 16) != 0, "zero trace id from a zero parent");
  CHECK_OK(otlpx_span_end(sp, 456));
  /* Span limits: events beyond the limit are dropped (counted), not errors. */
  harness_end(&h);

  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_EVENT_COUNT, 1));
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_LINK_COUNT, 1));
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_ATTRIBUTE_COUNT, 2));
  CHECK_OK(otlpx_config_set_protocol(h.cfg, S("http/json")));
  harness_build(&h);
  CHECK_OK(otlpx_span_start(h.exp, 0, S("limited"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp));
  CHECK_OK(otlpx_span_set_attributes(sp, attrs, 4));
  for (int i = 0; i < 3; i++) {
    CHECK_OK(otlpx_span_add_event(sp, S("ev"), 0, NULL, 0));
    CHECK_OK(otlpx_span_add_link(sp, &ln));
  }
  CHECK_OK(otlpx_span_end(sp, 0));
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 5000, NULL));
  CHECK(any_body_contains(&h.fk, "\"droppedAttributesCount\":2"), "dropped attributes not 2");
  CHECK(any_body_contains(&h.fk, "\"droppedEventsCount\":2"), "dropped events not 2");
  CHECK(any_body_contains(&h.fk, "\"droppedLinksCount\":2"), "dropped links not 2");
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* Shutdown, double shutdown, calls after shutdown, handles after free */

static void test_after_shutdown(void) {
  harness h;
  harness_start(&h, NULL, 0);
  harness_build(&h);
  otlpx_span_data sd = good_span(NULL, 0);
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  otlpx_span *open1 = NULL, *open2 = NULL;
  CHECK_OK(otlpx_span_start(h.exp, 0, S("open across shutdown"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &open1));
  CHECK_OK(otlpx_span_start(h.exp, 0, S("open across free"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &open2));
  otlpx_outcome oc;
  memset(&oc, 0, sizeof oc);
  CHECK_OK(otlpx_exporter_shutdown(h.exp, 5000, &oc));
  CHECK(oc.exported == 1 && oc.dropped == 0 && oc.pending == 0 && !oc.timed_out, "shutdown outcome");
  uint64_t t0 = t_now_ms();
  CHECK_OK(otlpx_exporter_shutdown(h.exp, 5000, &oc));
  CHECK(t_now_ms() - t0 < 1000, "second shutdown waited");
  CHECK_OK(otlpx_exporter_shutdown(h.exp, 0, NULL));
  CHECK_RC(otlpx_exporter_shutdown(NULL, 0, NULL), OTLPX_RESULT_NULL_PARAMETER);

  CHECK_RC(otlpx_exporter_record(h.exp, 0, &sd), OTLPX_RESULT_SHUT_DOWN);
  CHECK_OK(otlpx_exporter_force_flush(h.exp, 100, &oc));
  CHECK_RC(otlpx_span_end(open1, 0), OTLPX_RESULT_SHUT_DOWN);
  otlpx_span *late = NULL;
  otlpx_result rc = otlpx_span_start(h.exp, 0, S("late"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &late);
  CHECK(rc == OTLPX_RESULT_OK, "span_start after shutdown: %s", otlpx_result_message(rc));
  if (rc == OTLPX_RESULT_OK) CHECK_RC(otlpx_span_end(late, 0), OTLPX_RESULT_SHUT_DOWN);
  uint32_t sid = 0;
  otlpx_scope sc;
  memset(&sc, 0, sizeof sc);
  sc.name = "late.scope";
  sc.name_len = 10;
  rc = otlpx_exporter_add_scope(h.exp, &sc, &sid);
  CHECK(rc == OTLPX_RESULT_OK || rc == OTLPX_RESULT_SHUT_DOWN, "add_scope after shutdown: %s",
        otlpx_result_message(rc));
  otlpx_stats st = stats_of(h.exp);
  CHECK_EQ_U64(st.dropped_shutdown, 3);
  CHECK_EQ_U64(st.exported, 1);
  CHECK_EQ_U64(st.accepted, 4);
  CHECK_STATS_BALANCE(st);
  char buf[4096];
  size_t len;
  CHECK_OK(otlpx_exporter_config_string(h.exp, buf, sizeof buf, &len));
  CHECK_OK(otlpx_exporter_last_error(h.exp, buf, sizeof buf, &len));

  /* Free the exporter with a span still open: the handle keeps it alive. */
  otlpx_exporter_free(h.exp);
  h.exp = NULL;
  CHECK(otlpx_span_is_recording(open2) == 1, "open span stopped recording after free");
  otlpx_attribute a = otlpx_attr_str("after.free", "yes");
  CHECK_OK(otlpx_span_set_attributes(open2, &a, 1));
  CHECK_OK(otlpx_span_add_event(open2, S("e"), 0, &a, 1));
  otlpx_span_context c;
  CHECK_OK(otlpx_span_get_context(open2, &c));
  CHECK_RC(otlpx_span_end(open2, 0), OTLPX_RESULT_SHUT_DOWN);
  CHECK_EQ_U64(fake_count(&h.fk), 1);
  harness_end(&h); /* exp is NULL: frees the config and the fake */

  /* Free without shutdown exports what is queued first; a span freed
   * (not ended) after the exporter is gone releases it. */
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_duration_ms(h.cfg, OTLPX_DURATION_EXPORT_TIMEOUT, 5000));
  harness_build(&h);
  otlpx_span *orphan = NULL;
  CHECK_OK(otlpx_span_start(h.exp, 0, S("orphan"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &orphan));
  for (int i = 0; i < 3; i++) CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  otlpx_exporter_free(h.exp);
  h.exp = NULL;
  CHECK_EQ_U64(fake_count(&h.fk), 1);
  otlpx_span_free(orphan);
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* Hold: flush without waiting, queue overflow while a request is in flight */

static void test_flush_timeout_and_queue_full(void) {
  harness h;
  harness_start(&h, NULL, 0);
  h.fk.hold = 1;
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_MAX_QUEUE_SIZE, 4));
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_MAX_EXPORT_BATCH_SIZE, 2));
  harness_build(&h);
  otlpx_span_data sd = good_span(NULL, 0);
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  otlpx_outcome oc;
  otlpx_result rc = otlpx_exporter_force_flush(h.exp, 0, &oc);
  CHECK(rc == OTLPX_RESULT_TIMEOUT && oc.timed_out == 1, "flush(0): %s", otlpx_result_message(rc));
  CHECK(fake_wait_held(&h.fk, 5000), "the first request was never held");
  int full = 0;
  for (int i = 0; i < 7; i++) {
    rc = otlpx_exporter_record(h.exp, 0, &sd);
    if (rc == OTLPX_RESULT_QUEUE_FULL) full++;
    else CHECK(rc == OTLPX_RESULT_OK, "record %d: %s", i, otlpx_result_message(rc));
  }
  CHECK(full == 3, "%d queue_full results, want 3", full);
  uint64_t t0 = t_now_ms();
  rc = otlpx_exporter_force_flush(h.exp, 50, &oc);
  CHECK(rc == OTLPX_RESULT_TIMEOUT && oc.timed_out && oc.pending > 0, "flush(50) while held: %s pending %" PRIu64,
        otlpx_result_message(rc), oc.pending);
  CHECK(t_now_ms() - t0 < 2000, "flush waited past its deadline");
  otlpx_stats st = stats_of(h.exp);
  CHECK_STATS_BALANCE(st);
  CHECK(st.pending == 5, "pending %" PRIu64 ", want 5", st.pending);
  fake_release(&h.fk);
  CHECK_OK(otlpx_exporter_shutdown(h.exp, 5000, &oc));
  st = stats_of(h.exp);
  CHECK_EQ_U64(st.accepted, 8);
  CHECK_EQ_U64(st.exported, 5);
  CHECK_EQ_U64(st.dropped_queue_full, 3);
  CHECK_EQ_U64(st.pending, 0);
  CHECK_STATS_BALANCE(st);
  harness_end(&h);

  /* Shutdown with a deadline shorter than a held request: returns on time,
   * queued spans are dropped as shutdown. */
  harness_start(&h, NULL, 0);
  h.fk.hold = 1;
  harness_build(&h);
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  otlpx_exporter_force_flush(h.exp, 0, NULL);
  CHECK(fake_wait_held(&h.fk, 5000), "never held");
  CHECK_OK(otlpx_exporter_record(h.exp, 0, &sd));
  t0 = t_now_ms();
  rc = otlpx_exporter_shutdown(h.exp, 100, &oc);
  CHECK(rc == OTLPX_RESULT_TIMEOUT, "shutdown(100) while held: %s", otlpx_result_message(rc));
  CHECK(t_now_ms() - t0 < 2000, "shutdown waited past its deadline");
  fake_release(&h.fk);
  otlpx_exporter_free(h.exp); /* waits for the thread; userdata still valid */
  h.exp = NULL;
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* SDK disabled */

static void test_disabled(void) {
  harness h;
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_sdk_disabled(h.cfg, 1));
  harness_build(&h);
  otlpx_span_data sd = good_span(NULL, 0);
  CHECK_RC(otlpx_exporter_record(h.exp, 0, &sd), OTLPX_RESULT_DISABLED);
  otlpx_span *sp = NULL;
  CHECK_OK(otlpx_span_start(h.exp, 0, S("x"), OTLPX_SPAN_KIND_SERVER, NULL, 0, &sp));
  otlpx_result rc = otlpx_span_end(sp, 0);
  CHECK(rc == OTLPX_RESULT_DISABLED || rc == OTLPX_RESULT_OK, "span_end disabled: %s", otlpx_result_message(rc));
  CHECK_OK(otlpx_exporter_shutdown(h.exp, 1000, NULL));
  otlpx_stats st = stats_of(h.exp);
  CHECK(st.dropped_disabled >= 1 && st.exported == 0, "disabled %" PRIu64, st.dropped_disabled);
  CHECK_STATS_BALANCE(st);
  CHECK_EQ_U64(fake_count(&h.fk), 0);
  harness_end(&h);

  /* Also from the environment override. */
  harness_start(&h, NULL, 0);
  CHECK_OK(otlpx_config_set_env(h.cfg, S("OTEL_SDK_DISABLED"), S("true")));
  harness_build(&h);
  CHECK_RC(otlpx_exporter_record(h.exp, 0, &sd), OTLPX_RESULT_DISABLED);
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* Concurrency */

typedef struct {
  otlpx_exporter *exp;
  int id;
  int iterations;
  atomic_int *stop;
  uint64_t recorded; /* calls that counted a span as accepted */
} worker_arg;

static void *worker(void *p) {
  worker_arg *w = (worker_arg *)p;
  otlpx_attribute attrs[4] = {otlpx_attr_str("http.request.method", "POST"), otlpx_attr_str("url.path", "/w"),
                              otlpx_attr_int("thread", w->id), otlpx_attr_bool("ok", true)};
  otlpx_span_data sd = good_span(attrs, 4);
  for (int i = 0; i < w->iterations; i++) {
    sd.span_id[0] = (uint8_t)w->id;
    sd.span_id[1] = (uint8_t)i;
    otlpx_result rc = otlpx_exporter_record(w->exp, 0, &sd);
    CHECK(rc == OTLPX_RESULT_OK || rc == OTLPX_RESULT_QUEUE_FULL || rc == OTLPX_RESULT_SHUT_DOWN,
          "thread %d record: %s", w->id, otlpx_result_message(rc));
    w->recorded++;
    otlpx_span *sp = NULL;
    rc = otlpx_span_start(w->exp, 0, S("op"), OTLPX_SPAN_KIND_INTERNAL, NULL, 0, &sp);
    CHECK(rc == OTLPX_RESULT_OK, "thread %d span_start: %s", w->id, otlpx_result_message(rc));
    if (rc == OTLPX_RESULT_OK) {
      otlpx_span_set_attributes(sp, attrs, 4);
      otlpx_span_add_event(sp, S("tick"), 0, attrs, 1);
      rc = otlpx_span_end(sp, 0);
      CHECK(rc == OTLPX_RESULT_OK || rc == OTLPX_RESULT_QUEUE_FULL || rc == OTLPX_RESULT_SHUT_DOWN,
            "thread %d span_end: %s", w->id, otlpx_result_message(rc));
      w->recorded++;
    }
    if (i % 64 == 0) {
      otlpx_stats st;
      CHECK_OK(otlpx_exporter_stats(w->exp, &st));
      CHECK(st.accepted >= st.exported, "stats torn");
      uint8_t id[16];
      otlpx_new_trace_id(id);
      otlpx_new_span_id(id);
    }
    if (i % 256 == 0) {
      rc = otlpx_exporter_force_flush(w->exp, i % 512 ? 0 : 50, NULL);
      CHECK(rc == OTLPX_RESULT_OK || rc == OTLPX_RESULT_TIMEOUT || rc == OTLPX_RESULT_SPANS_DROPPED,
            "thread %d flush: %s", w->id, otlpx_result_message(rc));
    }
  }
  return NULL;
}

static void *flusher(void *p) {
  worker_arg *w = (worker_arg *)p;
  while (!atomic_load(w->stop)) {
    otlpx_exporter_force_flush(w->exp, 20, NULL);
    otlpx_stats st;
    otlpx_exporter_stats(w->exp, &st);
    char buf[64];
    size_t n;
    otlpx_exporter_last_error(w->exp, buf, sizeof buf, &n);
  }
  return NULL;
}

static void run_concurrency(int shutdown_midway, int iterations) {
  harness h;
  harness_start(&h, NULL, 0);
  h.fk.keep_bodies = 0;
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_MAX_QUEUE_SIZE, 512));
  CHECK_OK(otlpx_config_set_limit(h.cfg, OTLPX_LIMIT_MAX_EXPORT_BATCH_SIZE, 128));
  harness_build(&h);
  enum { N = 4 };
  pthread_t th[N + 1];
  worker_arg args[N + 1];
  atomic_int stop;
  atomic_init(&stop, 0);
  for (int i = 0; i <= N; i++) {
    args[i].exp = h.exp;
    args[i].id = i;
    args[i].iterations = iterations;
    args[i].stop = &stop;
    args[i].recorded = 0;
  }
  for (int i = 0; i < N; i++) pthread_create(&th[i], NULL, worker, &args[i]);
  pthread_create(&th[N], NULL, flusher, &args[N]);
  if (shutdown_midway) {
    t_sleep_ms(20);
    otlpx_result rc = otlpx_exporter_shutdown(h.exp, 5000, NULL);
    CHECK(rc == OTLPX_RESULT_OK || rc == OTLPX_RESULT_SPANS_DROPPED, "racing shutdown: %s",
          otlpx_result_message(rc));
  }
  for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
  atomic_store(&stop, 1);
  pthread_join(th[N], NULL);
  otlpx_outcome oc;
  otlpx_result src = otlpx_exporter_shutdown(h.exp, 10000, &oc);
  CHECK(!oc.timed_out && (src == OTLPX_RESULT_OK || (shutdown_midway && src == OTLPX_RESULT_SPANS_DROPPED)),
        "final shutdown: %s", otlpx_result_message(src));
  uint64_t recorded = 0;
  for (int i = 0; i < N; i++) recorded += args[i].recorded;
  otlpx_stats st = stats_of(h.exp);
  CHECK_EQ_U64(st.accepted, recorded);
  CHECK_EQ_U64(st.pending, 0);
  CHECK_STATS_BALANCE(st);
  CHECK(st.exported > 0, "nothing exported");
  CHECK(shutdown_midway || st.dropped_shutdown == 0, "shutdown drops without a racing shutdown");
  harness_end(&h);
}

static void test_concurrency(int iterations) {
  run_concurrency(0, iterations);
  run_concurrency(1, iterations);
}

/* ------------------------------------------------------------------ */
/* Trace context */

static void test_trace_context(void) {
  static const char *valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  otlpx_span_context c;
  memset(&c, 0x5a, sizeof c);
  CHECK_OK(otlpx_trace_context_extract(valid, strlen(valid), S("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"), &c));
  CHECK(memcmp(c.trace_id, TRACE_ID, 16) == 0 && memcmp(c.span_id, SPAN_ID, 8) == 0, "ids not extracted");
  CHECK(c.trace_flags == 1 && c.is_remote == 1, "flags %u remote %u", c.trace_flags, c.is_remote);
  CHECK(c.trace_state_len == 39 && memcmp(c.trace_state, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", 39) == 0,
        "trace state %.*s", (int)c.trace_state_len, c.trace_state);
  char out[OTLPX_TRACEPARENT_LEN + 1] = {0};
  CHECK_OK(otlpx_traceparent_format(&c, out, sizeof out));
  CHECK(strcmp(out, valid) == 0, "round trip %s", out);
  CHECK_RC(otlpx_traceparent_format(NULL, out, sizeof out), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_traceparent_format(&c, NULL, sizeof out), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_traceparent_format(&c, out, OTLPX_TRACEPARENT_LEN - 1), OTLPX_RESULT_BUFFER_TOO_SMALL);

  /* Unsampled flags and other flag bits survive. */
  CHECK_OK(otlpx_trace_context_extract(S("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), NULL, 0, &c));
  CHECK(c.trace_flags == 0 && c.trace_state_len == 0, "flags %u", c.trace_flags);

  /* A future version may carry more fields. */
  otlpx_result rc = otlpx_trace_context_extract(
      S("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like"), NULL, 0, &c);
  CHECK(rc == OTLPX_RESULT_OK, "future version with extra fields: %s", otlpx_result_message(rc));

  static const char *invalid[] = {
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace id */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero span id */
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", /* bad hex */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", /* bad hex */
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* uppercase */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", /* uppercase */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0G", /* bad flags */
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  /* short trace id */
      "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01", /* long trace id */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  /* short span id */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01", /* long span id */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",  /* short flags */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011", /* long flags */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", /* extra field, version 00 */
      "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* short version */
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* bad version hex */
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", /* wrong separators */
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",    /* missing flags */
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.", /* future version, bad tail */
      "",
      "00",
  };
  for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
    memset(&c, 0x5a, sizeof c);
    rc = otlpx_trace_context_extract(invalid[i], strlen(invalid[i]), NULL, 0, &c);
    CHECK(rc == OTLPX_RESULT_INVALID_HEADER, "traceparent %s: %s, want invalid header", invalid[i],
          otlpx_result_message(rc));
    CHECK(c.trace_flags == 0x5a && c.is_remote == 0x5a, "out written for %s", invalid[i]);
  }
  rc = otlpx_trace_context_extract(BAD, NULL, 0, &c);
  CHECK(rc == OTLPX_RESULT_INVALID_UTF8 || rc == OTLPX_RESULT_INVALID_HEADER, "bad UTF-8: %s",
        otlpx_result_message(rc));
  CHECK_RC(otlpx_trace_context_extract(NULL, 55, NULL, 0, &c), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_trace_context_extract(valid, strlen(valid), NULL, 0, NULL), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_trace_context_extract(valid, SIZE_MAX, NULL, 0, &c), OTLPX_RESULT_INVALID_ARGUMENT);
  rc = otlpx_trace_context_extract(NULL, 0, NULL, 0, &c);
  CHECK(rc == OTLPX_RESULT_INVALID_HEADER, "absent traceparent: %s", otlpx_result_message(rc));

  /* A malformed or non-UTF-8 tracestate is dropped; the traceparent counts. */
  static const char *bad_states[] = {"no equals sign", "UPPER=1", "a=1,a=2", "k=\x01"};
  for (size_t i = 0; i < sizeof bad_states / sizeof *bad_states; i++) {
    memset(&c, 0, sizeof c);
    CHECK_OK(otlpx_trace_context_extract(valid, strlen(valid), bad_states[i], strlen(bad_states[i]), &c));
    CHECK(c.trace_state_len == 0, "tracestate \"%s\" kept as %.*s", bad_states[i], (int)c.trace_state_len,
          c.trace_state);
  }
  CHECK_OK(otlpx_trace_context_extract(valid, strlen(valid), BAD, &c));
  CHECK(c.trace_state_len == 0, "non-UTF-8 trace state kept");
  CHECK_OK(otlpx_trace_context_extract(valid, strlen(valid), NULL, 7, &c));
  CHECK_OK(otlpx_trace_context_extract(valid, strlen(valid), "a=1", SIZE_MAX, &c));

  /* A trace state longer than 512 bytes keeps whole leading members. */
  char big[1200];
  size_t off = 0;
  for (int i = 0; i < 40; i++) off += (size_t)snprintf(big + off, sizeof big - off, "%sk%02d=%020d", i ? "," : "", i, i);
  memset(&c, 0, sizeof c);
  rc = otlpx_trace_context_extract(valid, strlen(valid), big, off, &c);
  CHECK(rc == OTLPX_RESULT_OK, "long tracestate: %s", otlpx_result_message(rc));
  CHECK(c.trace_state_len <= OTLPX_TRACE_STATE_MAX, "trace state len %u", c.trace_state_len);
  if (c.trace_state_len) {
    CHECK(memcmp(c.trace_state, big, c.trace_state_len) == 0 &&
              (big[c.trace_state_len] == ',' || c.trace_state_len == off),
          "truncated mid-member: %u", c.trace_state_len);
  }
}

/* ------------------------------------------------------------------ */
/* Ids, entropy, fork */

static void test_ids(void) {
  CHECK_RC(otlpx_new_trace_id(NULL), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_new_span_id(NULL), OTLPX_RESULT_NULL_PARAMETER);
  enum { N = 2000 };
  static uint8_t tids[N][16];
  static uint8_t sids[N][8];
  static const uint8_t zero[16] = {0};
  for (int i = 0; i < N; i++) {
    CHECK_OK(otlpx_new_trace_id(tids[i]));
    CHECK_OK(otlpx_new_span_id(sids[i]));
    CHECK(memcmp(tids[i], zero, 16) != 0, "zero trace id");
    CHECK(memcmp(sids[i], zero, 8) != 0, "zero span id");
  }
  int dup = 0;
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++) {
      if (memcmp(tids[i], tids[j], 16) == 0) dup++;
      if (memcmp(sids[i], sids[j], 8) == 0) dup++;
    }
  CHECK(dup == 0, "%d duplicate ids", dup);
  CHECK_OK(otlpx_add_entropy(NULL, 0));
  CHECK_OK(otlpx_add_entropy((const uint8_t *)"entropy!", 8));
  CHECK_RC(otlpx_add_entropy(NULL, 8), OTLPX_RESULT_NULL_PARAMETER);
  CHECK_RC(otlpx_add_entropy((const uint8_t *)"x", SIZE_MAX), OTLPX_RESULT_INVALID_ARGUMENT);
  otlpx_reseed_after_fork();
  uint8_t a[8], b[8];
  CHECK_OK(otlpx_new_span_id(a));
  CHECK_OK(otlpx_new_span_id(b));
  CHECK(memcmp(a, b, 8) != 0 && memcmp(a, zero, 8) != 0, "ids after reseed");
}

static void test_fork(void) {
  /* The atfork handler is registered by otlpx_exporter_new. */
  harness h;
  harness_start(&h, NULL, 0);
  harness_build(&h);
  enum { K = 8 };
  uint8_t warm[16];
  otlpx_new_trace_id(warm); /* the parent's generator is seeded */
  int fds[2];
  CHECK(pipe(fds) == 0, "pipe");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    uint8_t ids[K][24];
    for (int i = 0; i < K; i++) {
      otlpx_new_trace_id(ids[i]);
      otlpx_new_span_id(ids[i] + 16);
    }
    /* A new exporter works in the child. */
    fake fk;
    fake_init(&fk, NULL, 0);
    otlpx_config *cfg = test_config(&fk);
    otlpx_exporter *e = NULL;
    int ok = otlpx_exporter_new(cfg, &e) == OTLPX_RESULT_OK;
    otlpx_span_data sd = good_span(NULL, 0);
    ok = ok && otlpx_exporter_record(e, 0, &sd) == OTLPX_RESULT_OK;
    ok = ok && otlpx_exporter_shutdown(e, 5000, NULL) == OTLPX_RESULT_OK && fake_count(&fk) == 1;
    /* The verdict travels through the pipe: under valgrind the child's exit
     * status is valgrind's (the parent's other threads vanish in a forked
     * child, so their memory looks lost there). */
    uint8_t verdict = ok ? 'Y' : 'N';
    ssize_t w = write(fds[1], ids, sizeof ids);
    w += write(fds[1], &verdict, 1);
    _exit(w == (ssize_t)sizeof ids + 1 ? 0 : 3);
  }
  CHECK(pid > 0, "fork failed");
  close(fds[1]);
  uint8_t parent[K][24], child[K][24], verdict = 0;
  for (int i = 0; i < K; i++) {
    otlpx_new_trace_id(parent[i]);
    otlpx_new_span_id(parent[i] + 16);
  }
  size_t got = 0;
  while (got < sizeof child) {
    ssize_t r = read(fds[0], (uint8_t *)child + got, sizeof child - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  CHECK(read(fds[0], &verdict, 1) == 1 && verdict == 'Y', "the child's exporter failed (verdict %c)",
        verdict ? verdict : '?');
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 3, "child failed (status %d)", status);
  CHECK(got == sizeof child, "child sent %zu bytes", got);
  int same = 0;
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) {
      if (memcmp(parent[i], child[j], 16) == 0) same++;
      if (memcmp(parent[i] + 16, child[j] + 16, 8) == 0) same++;
    }
  CHECK(same == 0, "%d ids repeated between parent and child after fork", same);
  harness_end(&h);
}

/* ------------------------------------------------------------------ */
/* Real HTTP to a loopback receiver (OTLPX_TEST_ENDPOINT) */

static void test_real_http(const char *endpoint) {
  otlpx_config *cfg = NULL;
  CHECK_OK(otlpx_config_new(&cfg));
  CHECK_OK(otlpx_config_ignore_process_env(cfg, 1));
  CHECK_OK(otlpx_config_set_endpoint(cfg, endpoint, strlen(endpoint)));
  CHECK_OK(otlpx_config_set_service_name(cfg, S("otlpx-c-tests")));
  CHECK_OK(otlpx_config_add_header(cfg, S("kf-api-key"), S("c-test-key")));
  CHECK_OK(otlpx_config_set_compression(cfg, S("gzip")));
  otlpx_exporter *exp = NULL;
  CHECK_OK(otlpx_exporter_new(cfg, &exp));
  otlpx_attribute attrs[2] = {otlpx_attr_str("http.request.method", "GET"),
                              otlpx_attr_int("http.response.status_code", 200)};
  otlpx_span_data sd = good_span(attrs, 2);
  sd.name = "c-real-http";
  sd.name_len = strlen(sd.name);
  for (int i = 0; i < 3; i++) {
    sd.span_id[7] = (uint8_t)(i + 1);
    CHECK_OK(otlpx_exporter_record(exp, 0, &sd));
  }
  otlpx_span *sp = NULL;
  CHECK_OK(otlpx_span_start(exp, 0, S("c-real-http-handle"), OTLPX_SPAN_KIND_CLIENT, NULL, 0, &sp));
  CHECK_OK(otlpx_span_end(sp, 0));
  otlpx_outcome oc;
  otlpx_result rc = otlpx_exporter_shutdown(exp, 10000, &oc);
  CHECK(rc == OTLPX_RESULT_OK, "real HTTP shutdown: %s", otlpx_result_message(rc));
  otlpx_stats st = stats_of(exp);
  CHECK_EQ_U64(st.exported, 4);
  CHECK_EQ_U64(st.last_http_status, 200);
  CHECK(st.requests_success >= 1, "no successful request");
  char err[512];
  size_t n;
  otlpx_exporter_last_error(exp, err, sizeof err, &n);
  CHECK(st.exported == 4, "last error: %s", err);
  otlpx_exporter_free(exp);
  otlpx_config_free(cfg);
}

int main(int argc, char **argv) {
  const char *only = argc > 1 ? argv[1] : NULL;
  int iterations = 2000;
  const char *it = getenv("OTLPX_TEST_ITERATIONS");
  if (it && atoi(it) > 0) iterations = atoi(it);
#define RUN(name, call)                                                   \
  do {                                                                    \
    if (!only || strcmp(only, name) == 0) {                               \
      int before_ = t_failures;                                           \
      uint64_t t0_ = t_now_ms();                                          \
      call;                                                               \
      printf("%-28s %s (%" PRIu64 " ms)\n", name, t_failures == before_ ? "ok" : "FAILED", t_now_ms() - t0_); \
      fflush(stdout);                                                     \
    }                                                                     \
  } while (0)
  RUN("messages", test_messages());
  RUN("config_bad_input", test_config_bad_input());
  RUN("log_callback_redaction", test_log_callback_and_redaction());
  RUN("exporter_new", test_exporter_new());
  RUN("scopes", test_scopes());
  RUN("record_bad_input", test_record_bad_input());
  RUN("record_packed", test_record_packed());
  RUN("json_content", test_json_content());
  RUN("json_deep_nesting", test_json_deep_nesting());
  RUN("send_callback_results", test_send_callback_results());
  RUN("response_setters", test_response_setters());
  RUN("span_api", test_span_api());
  RUN("after_shutdown", test_after_shutdown());
  RUN("flush_timeout_queue_full", test_flush_timeout_and_queue_full());
  RUN("disabled", test_disabled());
  RUN("concurrency", test_concurrency(iterations));
  RUN("trace_context", test_trace_context());
  RUN("ids", test_ids());
  RUN("fork", test_fork());
  const char *endpoint = getenv("OTLPX_TEST_ENDPOINT");
  if (endpoint && *endpoint) RUN("real_http", test_real_http(endpoint));
  else if (!only) printf("%-28s skipped (OTLPX_TEST_ENDPOINT not set)\n", "real_http");
  printf("%d checks, %d failures\n", t_checks, t_failures);
  return t_failures ? 1 : 0;
}
