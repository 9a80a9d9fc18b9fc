/*
 * otlpx from C: export a few realistic spans (an incoming request, its
 * outgoing call, a failed request) to the configured OTLP/HTTP endpoint.
 *
 * Configuration is the OpenTelemetry SDK's: OTEL_EXPORTER_OTLP_ENDPOINT
 * (default http://localhost:4318), OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ... . This program adds
 * defaults in code only for what the environment leaves unset, and sends
 * the API key from KF_API_KEY as the `kf-api-key` header when set (a header
 * set in code replaces OTEL_EXPORTER_OTLP_HEADERS, as Go's WithHeaders does).
 *
 * Prints the effective configuration (secrets redacted) and the stats;
 * exits 1 if any span was dropped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlpx.h"

#define CHECK(call)                                                                  \
  do {                                                                               \
    otlpx_result rc_ = (call);                                                       \
    if (rc_ != OTLPX_RESULT_OK) {                                                    \
      fprintf(stderr, "%s failed: %s\n", #call, otlpx_result_message(rc_));          \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

/* Sets `name` for this exporter unless the process environment already does. */
static otlpx_result default_env(otlpx_config *cfg, const char *name, const char *value) {
  const char *set = getenv(name);
  if (set && *set) return OTLPX_RESULT_OK;
  return otlpx_config_set_env(cfg, name, strlen(name), value, strlen(value));
}

/* One incoming request: a SERVER span and the CLIENT span of its outgoing call. */
static int handle_request(otlpx_exporter *exp, uint32_t scope, const char *route, const char *path, int status) {
  char name[128];
  snprintf(name, sizeof name, "GET %s", route);
  otlpx_span *server = NULL;
  CHECK(otlpx_span_start(exp, scope, name, strlen(name), OTLPX_SPAN_KIND_SERVER, NULL, 0, &server));
  otlpx_attribute attrs[] = {
      otlpx_attr_str("http.request.method", "GET"),
      otlpx_attr_str("url.path", path),
      otlpx_attr_str("url.scheme", "http"),
      otlpx_attr_str("http.route", route),
      otlpx_attr_str("server.address", "shop.example.com"),
      otlpx_attr_int("server.port", 8080),
      otlpx_attr_str("network.protocol.version", "1.1"),
  };
  CHECK(otlpx_span_set_attributes(server, attrs, sizeof attrs / sizeof *attrs));

  /* The outgoing call, a child of the server span; its traceparent would go
   * into the outgoing request's headers. */
  otlpx_span_context parent;
  CHECK(otlpx_span_get_context(server, &parent));
  otlpx_span *client = NULL;
  CHECK(otlpx_span_start(exp, scope, OTLPX_LIT("GET"), OTLPX_SPAN_KIND_CLIENT, &parent, 0, &client));
  char traceparent[OTLPX_TRACEPARENT_LEN];
  CHECK(otlpx_span_traceparent(client, traceparent, sizeof traceparent));
  printf("outgoing call: traceparent: %.*s\n", (int)sizeof traceparent, traceparent);
  otlpx_attribute cattrs[] = {
      otlpx_attr_str("http.request.method", "GET"),
      otlpx_attr_str("url.full", "http://inventory.internal:8080/stock/42"),
      otlpx_attr_str("server.address", "inventory.internal"),
      otlpx_attr_int("server.port", 8080),
      otlpx_attr_int("http.response.status_code", status == 500 ? 503 : 200),
  };
  CHECK(otlpx_span_set_attributes(client, cattrs, sizeof cattrs / sizeof *cattrs));
  if (status == 500) {
    /* A CLIENT span with a 5xx answer is an error; so is the SERVER span's 500. */
    CHECK(otlpx_span_set_status(client, OTLPX_STATUS_CODE_ERROR, OTLPX_LIT("")));
    otlpx_attribute ex[] = {otlpx_attr_str("exception.type", "UpstreamUnavailable"),
                            otlpx_attr_str("exception.message", "inventory answered 503")};
    CHECK(otlpx_span_add_event(server, OTLPX_LIT("exception"), 0, ex, 2));
    CHECK(otlpx_span_set_status(server, OTLPX_STATUS_CODE_ERROR, OTLPX_LIT("inventory unavailable")));
  }
  CHECK(otlpx_span_end(client, 0));

  otlpx_attribute st = otlpx_attr_int("http.response.status_code", status);
  CHECK(otlpx_span_set_attributes(server, &st, 1));
  otlpx_result rc = otlpx_span_end(server, 0);
  if (rc != OTLPX_RESULT_OK) {
    fprintf(stderr, "span dropped: %s\n", otlpx_result_message(rc));
    return 1;
  }
  return 0;
}

int main(void) {
  otlpx_config *cfg = NULL;
  CHECK(otlpx_config_new(&cfg));
  CHECK(default_env(cfg, "OTEL_SERVICE_NAME", "checkout"));
  CHECK(default_env(cfg, "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=dev,service.namespace=shop"));
  const char *key = getenv("KF_API_KEY");
  if (key && *key) CHECK(otlpx_config_add_header(cfg, OTLPX_LIT("kf-api-key"), key, strlen(key)));
  CHECK(otlpx_config_set_default_scope(cfg, OTLPX_LIT("io.otlpx.examples.c"), OTLPX_LIT("1.0.0")));

  otlpx_exporter *exp = NULL;
  CHECK(otlpx_exporter_new(cfg, &exp));
  otlpx_config_free(cfg);

  char text[8192];
  size_t len = 0;
  if (otlpx_exporter_config_string(exp, text, sizeof text, &len) == OTLPX_RESULT_OK)
    printf("otlpx %s, configuration:\n%s\n", otlpx_version(), text);

  uint32_t scope = 0;
  CHECK(otlpx_exporter_default_scope(exp, &scope));
  int failed = 0;
  failed |= handle_request(exp, scope, "/api/orders/{id}", "/api/orders/1001", 200);
  failed |= handle_request(exp, scope, "/api/orders/{id}", "/api/orders/1002", 200);
  failed |= handle_request(exp, scope, "/api/cart", "/api/cart", 500);

  otlpx_outcome out;
  otlpx_result rc = otlpx_exporter_shutdown(exp, 10000, &out);
  otlpx_stats st;
  CHECK(otlpx_exporter_stats(exp, &st));
  printf("shutdown: %s (exported %" PRIu64 ", dropped %" PRIu64 ", pending %" PRIu64 ")\n",
         otlpx_result_message(rc), out.exported, out.dropped, out.pending);
  printf("stats: accepted %" PRIu64 ", exported %" PRIu64 ", requests ok %" PRIu64 ", last HTTP status %u\n",
         st.accepted, st.exported, st.requests_success, st.last_http_status);
  const uint64_t dropped[8] = {st.dropped_queue_full, st.dropped_too_large, st.dropped_export_failed,
                               st.dropped_rejected, st.dropped_shutdown, st.dropped_invalid,
                               st.dropped_circuit_open, st.dropped_disabled};
  uint64_t total = 0;
  for (uint32_t r = 0; r < 8; r++) {
    total += dropped[r];
    if (dropped[r]) printf("  dropped %s: %" PRIu64 "\n", otlpx_drop_reason_name(r), dropped[r]);
  }
  if (total || rc != OTLPX_RESULT_OK) {
    char err[512];
    size_t n = 0;
    if (otlpx_exporter_last_error(exp, err, sizeof err, &n) == OTLPX_RESULT_OK && n) printf("last error: %s\n", err);
  }
  otlpx_exporter_free(exp);
  return failed || total || rc != OTLPX_RESULT_OK ? 1 : 0;
}
