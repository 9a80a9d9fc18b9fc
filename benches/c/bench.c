/*
 * C benchmark of otlpx's direct API: ns per span for a span of the standard
 * batch's shape (kind SERVER; 8 attributes: http.request.method, url.path,
 * http.route, server.address (strings), http.response.status_code,
 * server.port (ints), http.request.resend (bool),
 * http.server.request.duration (double); one event "message" with
 * message.type and message.uncompressed_size), recorded
 *   (a) with otlpx_exporter_record (a finished span in one call), and
 *   (b) with otlpx_span_start + otlpx_span_set_attributes +
 *       otlpx_span_add_event + otlpx_span_end (times taken by otlpx), and
 *   (c) with otlpx_exporter_record_packed (the same span as (a), packed:
 *       strings as offsets into one buffer, as the Go binding sends it),
 * into an exporter whose send callback discards every request (answers
 * 200). Each round records N spans on one thread and is timed alone; the
 * queue is drained (untimed) between rounds. Prints the median and the
 * minimum of the rounds, and the spans dropped (which would make a round
 * cheaper than a real one; there should be none).
 *
 *   bench [--spans N (default 1000000)] [--rounds R (default 5)] [--api any of abc (default abc)]
 *
 * Build: cc -O2 -I include benches/c/bench.c target/release/libotlpx.a \
 *          -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otlpx.h"

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t discard(void *userdata, const otlpx_export_request *req, otlpx_export_response *resp) {
  (void)req;
  (*(uint64_t *)userdata)++;
  otlpx_export_response_set_status(resp, 200);
  return OTLPX_SEND_RESULT_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#define MUST(call)                                                                  \
  do {                                                                              \
    otlpx_result rc_ = (call);                                                      \
    if (rc_ != OTLPX_RESULT_OK) {                                                   \
      fprintf(stderr, "%s: %s\n", #call, otlpx_result_message(rc_));                \
      exit(1);                                                                      \
    }                                                                               \
  } while (0)

static uint64_t dropped(const otlpx_exporter *exp) {
  otlpx_stats s;
  MUST(otlpx_exporter_stats(exp, &s));
  return s.dropped_queue_full + s.dropped_too_large + s.dropped_export_failed + s.dropped_rejected +
         s.dropped_shutdown + s.dropped_invalid + s.dropped_circuit_open + s.dropped_disabled;
}

int main(int argc, char **argv) {
  long spans = 1000000, rounds = 5;
  const char *apis = "abc";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--spans") == 0) spans = strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--rounds") == 0) rounds = strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--api") == 0) apis = argv[i + 1];
  }
  if (spans < 1 || rounds < 1 || rounds > 99 || strspn(apis, "abc") != strlen(apis) || !*apis) {
    fprintf(stderr, "usage: %s [--spans N] [--rounds R] [--api abc]\n", argv[0]);
    return 2;
  }

  uint64_t requests = 0;
  otlpx_config *cfg = NULL;
  MUST(otlpx_config_new(&cfg));
  MUST(otlpx_config_ignore_process_env(cfg, 1));
  MUST(otlpx_config_set_send_callback(cfg, discard, &requests));
  MUST(otlpx_config_set_compression(cfg, OTLPX_LIT("none")));
  MUST(otlpx_config_set_limit(cfg, OTLPX_LIMIT_MAX_QUEUE_SIZE, 16384));
  MUST(otlpx_config_set_limit(cfg, OTLPX_LIMIT_MAX_EXPORT_BATCH_SIZE, 512));
  MUST(otlpx_config_set_service_name(cfg, OTLPX_LIT("checkout-api")));
  otlpx_exporter *exp = NULL;
  MUST(otlpx_exporter_new(cfg, &exp));
  otlpx_config_free(cfg);
  uint32_t scope = 0;
  MUST(otlpx_exporter_default_scope(exp, &scope));

  otlpx_attribute attrs[8] = {
      otlpx_attr_str("http.request.method", "GET"),
      otlpx_attr_str("url.path", "/api/v1/catalog/products/48213/reviews"),
      otlpx_attr_str("http.route", "/api/v1/catalog/products/{product_id}/reviews"),
      otlpx_attr_str("server.address", "checkout-api.shop.svc.cluster.local"),
      otlpx_attr_int("http.response.status_code", 200),
      otlpx_attr_int("server.port", 8080),
      otlpx_attr_bool("http.request.resend", false),
      otlpx_attr_double("http.server.request.duration", 0.012345),
  };
  otlpx_attribute event_attrs[2] = {otlpx_attr_str("message.type", "SENT"),
                                    otlpx_attr_int("message.uncompressed_size", 1234)};
  otlpx_event event = {"message", 7, 0, event_attrs, 2, 0};
  otlpx_span_data sd;
  memset(&sd, 0, sizeof sd);
  MUST(otlpx_new_trace_id(sd.trace_id));
  MUST(otlpx_new_span_id(sd.parent_span_id));
  sd.flags = 0x301;
  sd.kind = OTLPX_SPAN_KIND_SERVER;
  sd.name = "GET /api/v1/catalog/products/{product_id}/reviews";
  sd.name_len = strlen(sd.name);
  sd.attributes = attrs;
  sd.attributes_len = 8;
  sd.events = &event;
  sd.events_len = 1;
  sd.status_code = OTLPX_STATUS_CODE_OK;
  otlpx_span_context parent;
  memset(&parent, 0, sizeof parent);
  memcpy(parent.trace_id, sd.trace_id, 16);
  memcpy(parent.span_id, sd.parent_span_id, 8);
  parent.trace_flags = 1;
  parent.is_remote = 1;

  /* (c): the span of (a), packed. */
  static uint8_t pdata[1024];
  uint32_t pused = 0;
#define PACK_STR(dst, p, n)                   \
  do {                                        \
    memcpy(pdata + pused, (p), (n));          \
    (dst).offset = pused;                     \
    (dst).len = (uint32_t)(n);                \
    pused += (uint32_t)(n);                   \
  } while (0)
  otlpx_packed_attribute pattrs[10];
  memset(pattrs, 0, sizeof pattrs);
  for (int i = 0; i < 10; i++) {
    const otlpx_attribute *a = i < 8 ? &attrs[i] : &event_attrs[i - 8];
    PACK_STR(pattrs[i].key, a->key, a->key_len);
    pattrs[i].value.kind = a->value.kind;
    switch (a->value.kind) {
      case OTLPX_VALUE_KIND_STRING: {
        otlpx_packed_str v;
        PACK_STR(v, a->value.ptr, a->value.len);
        pattrs[i].value.len = v.len;
        pattrs[i].value.bits = v.offset;
        break;
      }
      case OTLPX_VALUE_KIND_DOUBLE: memcpy(&pattrs[i].value.bits, &a->value.double_value, 8); break;
      default: pattrs[i].value.bits = (uint64_t)a->value.int_value; break;
    }
  }
  otlpx_packed_span psd;
  memset(&psd, 0, sizeof psd);
  memcpy(psd.trace_id, sd.trace_id, 16);
  memcpy(psd.parent_span_id, sd.parent_span_id, 8);
  psd.flags = sd.flags;
  psd.kind = sd.kind;
  psd.status_code = sd.status_code;
  PACK_STR(psd.name, sd.name, sd.name_len);
  otlpx_packed_event pevent;
  memset(&pevent, 0, sizeof pevent);
  PACK_STR(pevent.name, event.name, event.name_len);
  pevent.attributes_first = 0; /* nested = pattrs + 8 */
  pevent.attributes_len = 2;
#undef PACK_STR

  double res[3][99] = {{0}};
  uint64_t drops[3] = {0, 0, 0};
  for (int api = 0; api < 3; api++) {
    if (!strchr(apis, 'a' + api)) continue;
    for (long r = 0; r < rounds; r++) {
      uint64_t before = dropped(exp);
      uint64_t t0 = now_ns();
      if (api == 0) {
        uint64_t base = 1700000000000000000ull + (uint64_t)r * 1000000000000ull;
        for (long i = 0; i < spans; i++) {
          uint64_t id = (uint64_t)i + 1;
          memcpy(sd.span_id, &id, 8);
          sd.start_time_unix_nano = base + (uint64_t)i * 1000;
          sd.end_time_unix_nano = sd.start_time_unix_nano + 12345000;
          event.time_unix_nano = sd.start_time_unix_nano + 1000;
          otlpx_exporter_record(exp, scope, &sd);
        }
      } else if (api == 2) {
        uint64_t base = 1700000000000000000ull + (uint64_t)r * 1000000000000ull;
        for (long i = 0; i < spans; i++) {
          uint64_t id = (uint64_t)i + 1;
          memcpy(psd.span_id, &id, 8);
          psd.start_time_unix_nano = base + (uint64_t)i * 1000;
          psd.end_time_unix_nano = psd.start_time_unix_nano + 12345000;
          pevent.time_unix_nano = psd.start_time_unix_nano + 1000;
          otlpx_exporter_record_packed(exp, scope, &psd, pattrs, 8, pattrs + 8, 2, &pevent, 1, NULL, 0, pdata, pused);
        }
      } else {
        for (long i = 0; i < spans; i++) {
          otlpx_span *s = NULL;
          otlpx_span_start(exp, scope, sd.name, sd.name_len, OTLPX_SPAN_KIND_SERVER, &parent, 0, &s);
          otlpx_span_set_attributes(s, attrs, 8);
          otlpx_span_add_event(s, "message", 7, 0, event_attrs, 2);
          otlpx_span_end(s, 0);
        }
      }
      uint64_t t1 = now_ns();
      res[api][r] = (double)(t1 - t0) / (double)spans;
      otlpx_exporter_force_flush(exp, 30000, NULL);
      drops[api] += dropped(exp) - before;
    }
    qsort(res[api], (size_t)rounds, sizeof(double), cmp_double);
  }
  otlpx_outcome out;
  otlpx_exporter_shutdown(exp, 30000, &out);
  otlpx_stats st;
  MUST(otlpx_exporter_stats(exp, &st));
  otlpx_exporter_free(exp);

  printf("otlpx %s C direct API, %ld spans x %ld rounds, 8 attributes + 1 event (2 attributes), SERVER\n",
         otlpx_version(), spans, rounds);
  printf("%-52s %12s %12s %10s\n", "api", "median ns", "min ns", "dropped");
  if (strchr(apis, 'a'))
    printf("%-52s %12.1f %12.1f %10" PRIu64 "\n", "(a) otlpx_exporter_record", res[0][rounds / 2], res[0][0],
           drops[0]);
  if (strchr(apis, 'b'))
    printf("%-52s %12.1f %12.1f %10" PRIu64 "\n", "(b) span_start + set_attributes + add_event + end",
           res[1][rounds / 2], res[1][0], drops[1]);
  if (strchr(apis, 'c'))
    printf("%-52s %12.1f %12.1f %10" PRIu64 "\n", "(c) otlpx_exporter_record_packed", res[2][rounds / 2], res[2][0],
           drops[2]);
  printf("exported %" PRIu64 " spans in %" PRIu64 " requests (%.1f bytes/span encoded)\n", st.exported, requests,
         st.accepted ? (double)st.bytes_encoded / (double)st.accepted : 0.0);
  return drops[0] + drops[1] + drops[2] ? 1 : 0;
}
