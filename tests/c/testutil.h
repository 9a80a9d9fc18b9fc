/*
 * Shared helpers of the C tests and the C scenario runner: assertions that
 * say what failed, and a scripted fake receiver used as otlpx's send
 * callback (no network). Header-only; every function is static.
 */
#ifndef OTLPX_TESTUTIL_H
#define OTLPX_TESTUTIL_H

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otlpx.h"

/* ---- Assertions (thread-safe counter; callbacks may assert too). ---- */

__attribute__((unused)) static int t_failures;
__attribute__((unused)) static int t_checks;

#define CHECK(cond, ...)                                                              \
  do {                                                                                \
    __atomic_fetch_add(&t_checks, 1, __ATOMIC_RELAXED);                               \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
      fprintf(stderr, __VA_ARGS__);                                                   \
      fputc('\n', stderr);                                                            \
      __atomic_fetch_add(&t_failures, 1, __ATOMIC_RELAXED);                           \
    }                                                                                 \
  } while (0)

/* The call must return `want` (an otlpx_result). */
#define CHECK_RC(call, want)                                                          \
  do {                                                                                \
    otlpx_result rc_ = (call);                                                        \
    otlpx_result want_ = (want);                                                      \
    __atomic_fetch_add(&t_checks, 1, __ATOMIC_RELAXED);                               \
    if (rc_ != want_) {                                                               \
      fprintf(stderr, "FAIL %s:%d: %s returned %u (%s), want %u (%s)\n", __FILE__,    \
              __LINE__, #call, (unsigned)rc_, otlpx_result_message(rc_),              \
              (unsigned)want_, otlpx_result_message(want_));                          \
      __atomic_fetch_add(&t_failures, 1, __ATOMIC_RELAXED);                           \
    }                                                                                 \
  } while (0)

#define CHECK_OK(call) CHECK_RC(call, OTLPX_RESULT_OK)

#define CHECK_EQ_U64(got, want)                                                       \
  do {                                                                                \
    uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                             \
    CHECK(g_ == w_, "%s = %" PRIu64 ", want %" PRIu64, #got, g_, w_);                 \
  } while (0)

/* A string with its length: S("abc") -> "abc", 3. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* Bytes that are not UTF-8 (a lone continuation byte, an overlong NUL). */
static const char BAD_UTF8[] = "ab\x80\xc0\x80";
#define BAD BAD_UTF8, (sizeof(BAD_UTF8) - 1)

/* A length no buffer can have: larger than isize::MAX. */
#define HUGE_LEN ((size_t)PTRDIFF_MAX + 1u)

__attribute__((unused)) static uint64_t t_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

__attribute__((unused)) static void t_sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

__attribute__((unused)) static void t_hex(const uint8_t *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = 0;
}

/* ---- The fake receiver (send callback). ---- */

typedef enum {
  REPLY_STATUS = 0,   /* an HTTP answer: status, optional Retry-After, optional partial success */
  REPLY_CONNECT,      /* OTLPX_SEND_RESULT_CONNECT_ERROR */
  REPLY_TIMEOUT,      /* OTLPX_SEND_RESULT_TIMEOUT */
  REPLY_ERROR,        /* OTLPX_SEND_RESULT_ERROR with an error message */
  REPLY_NO_STATUS,    /* OTLPX_SEND_RESULT_OK without setting a status (a host bug) */
  REPLY_BAD_RESULT,   /* an unknown otlpx_send_result value */
} reply_kind;

typedef struct {
  reply_kind kind;
  uint16_t status;
  const char *retry_after; /* NULL: no header */
  int partial;             /* 1: body is an ExportTraceServiceResponse with partial_success */
  int64_t rejected_spans;
  const char *error_message;
  size_t error_message_len;
} reply;

typedef struct {
  char content_type[64];
  char content_encoding[16];
  char url[256];
  char headers[1024]; /* "name: value\n" per header */
  size_t spans;
  uint64_t timeout_ms;
  uint8_t *body;
  size_t body_len;
} sent_request;

typedef struct fake fake;
struct fake {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  const reply *script;
  size_t script_len, script_pos;
  sent_request *sent;
  size_t n_sent, cap_sent;
  int keep_bodies; /* 0: count requests only (benchmarks, stress) */
  int hold, held, released;
  unsigned delay_ms; /* sleep in every call (to keep a request in flight) */
  /* Runs inside the callback before the scripted reply (response setter tests). */
  void (*hook)(fake *f, const otlpx_export_request *req, otlpx_export_response *resp);
};

static void fake_init(fake *f, const reply *script, size_t script_len) {
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  f->script = script;
  f->script_len = script_len;
  f->keep_bodies = 1;
}

static void fake_destroy(fake *f) {
  for (size_t i = 0; i < f->n_sent; i++) free(f->sent[i].body);
  free(f->sent);
  pthread_cond_destroy(&f->cv);
  pthread_mutex_destroy(&f->mu);
}

__attribute__((unused)) static size_t fake_count(fake *f) {
  pthread_mutex_lock(&f->mu);
  size_t n = f->n_sent;
  pthread_mutex_unlock(&f->mu);
  return n;
}

static void copy_field(char *dst, size_t cap, const char *src, size_t len) {
  if (len >= cap) len = cap - 1;
  if (len) memcpy(dst, src, len);
  dst[len] = 0;
}

static void deadline_after_ms(struct timespec *ts, unsigned ms) {
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += ms / 1000u;
  ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* Encodes ExportTraceServiceResponse{partial_success(1): {rejected_spans(1), error_message(2)}}. */
static size_t encode_partial_success(int64_t rejected, const char *msg, size_t msg_len, uint8_t *out,
                                     size_t cap) {
  uint8_t inner[1100];
  size_t n = 0;
  if (msg_len > 1024) msg_len = 1024;
  if (rejected != 0) {
    uint64_t v = (uint64_t)rejected;
    inner[n++] = 0x08;
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      inner[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
  }
  if (msg_len) {
    uint64_t v = msg_len;
    inner[n++] = 0x12;
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      inner[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    memcpy(inner + n, msg, msg_len);
    n += msg_len;
  }
  size_t m = 0;
  if (cap < n + 4) return 0;
  out[m++] = 0x0a;
  uint64_t v = n;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out[m++] = (uint8_t)(b | (v ? 0x80 : 0));
  } while (v);
  memcpy(out + m, inner, n);
  return m + n;
}

static uint32_t fake_send(void *userdata, const otlpx_export_request *req, otlpx_export_response *resp) {
  fake *f = (fake *)userdata;
  pthread_mutex_lock(&f->mu);
  if (f->n_sent == f->cap_sent) {
    size_t cap = f->cap_sent ? f->cap_sent * 2 : 16;
    sent_request *n = (sent_request *)realloc(f->sent, cap * sizeof *n);
    if (!n) abort();
    f->sent = n;
    f->cap_sent = cap;
  }
  sent_request *s = &f->sent[f->n_sent++];
  memset(s, 0, sizeof *s);
  copy_field(s->content_type, sizeof s->content_type, req->content_type, req->content_type_len);
  copy_field(s->content_encoding, sizeof s->content_encoding, req->content_encoding,
             req->content_encoding_len);
  copy_field(s->url, sizeof s->url, req->url, req->url_len);
  size_t off = 0;
  for (size_t i = 0; i < req->headers_len && off < sizeof s->headers - 4; i++) {
    const otlpx_header *h = &req->headers[i];
    int w = snprintf(s->headers + off, sizeof s->headers - off, "%.*s: %.*s\n", (int)h->name_len,
                     h->name, (int)h->value_len, h->value);
    if (w < 0) break;
    off += (size_t)w;
  }
  s->spans = req->spans;
  s->timeout_ms = req->timeout_ms;
  s->body_len = req->body_len;
  if (f->keep_bodies && req->body_len) {
    s->body = (uint8_t *)malloc(req->body_len);
    if (!s->body) abort();
    memcpy(s->body, req->body, req->body_len);
  }
  if (f->hold && f->n_sent == 1) {
    f->held = 1;
    pthread_cond_broadcast(&f->cv);
    struct timespec until;
    deadline_after_ms(&until, 10000);
    while (!f->released) {
      if (pthread_cond_timedwait(&f->cv, &f->mu, &until) == ETIMEDOUT) break;
    }
  }
  reply r = {REPLY_STATUS, 200, NULL, 0, 0, NULL, 0};
  if (f->script_pos < f->script_len) r = f->script[f->script_pos++];
  void (*hook)(fake *, const otlpx_export_request *, otlpx_export_response *) = f->hook;
  unsigned delay = f->delay_ms;
  pthread_mutex_unlock(&f->mu);

  if (delay) t_sleep_ms(delay);
  if (hook) hook(f, req, resp);
  switch (r.kind) {
    case REPLY_STATUS: {
      otlpx_result rc = otlpx_export_response_set_status(resp, r.status);
      if (rc != OTLPX_RESULT_OK) fprintf(stderr, "fake: set_status(%u): %s\n", r.status, otlpx_result_message(rc));
      if (r.retry_after) otlpx_export_response_set_retry_after(resp, r.retry_after, strlen(r.retry_after));
      if (r.partial) {
        uint8_t body[1200];
        size_t n = encode_partial_success(r.rejected_spans, r.error_message, r.error_message_len, body,
                                          sizeof body);
        otlpx_export_response_set_body(resp, body, n);
      }
      return OTLPX_SEND_RESULT_OK;
    }
    case REPLY_CONNECT:
      otlpx_export_response_set_error(resp, S("scripted connect_error"));
      return OTLPX_SEND_RESULT_CONNECT_ERROR;
    case REPLY_TIMEOUT:
      otlpx_export_response_set_error(resp, S("scripted timeout"));
      return OTLPX_SEND_RESULT_TIMEOUT;
    case REPLY_ERROR:
      otlpx_export_response_set_error(resp, S("scripted failure: disk on fire"));
      return OTLPX_SEND_RESULT_ERROR;
    case REPLY_NO_STATUS:
      return OTLPX_SEND_RESULT_OK;
    case REPLY_BAD_RESULT:
      return 12345u;
  }
  return OTLPX_SEND_RESULT_ERROR;
}

/* Waits (at most ms) until the first request is held. 1 when it is. */
__attribute__((unused)) static int fake_wait_held(fake *f, unsigned ms) {
  struct timespec until;
  deadline_after_ms(&until, ms);
  pthread_mutex_lock(&f->mu);
  while (!f->held) {
    if (pthread_cond_timedwait(&f->cv, &f->mu, &until) == ETIMEDOUT) break;
  }
  int held = f->held;
  pthread_mutex_unlock(&f->mu);
  return held;
}

__attribute__((unused)) static void fake_release(fake *f) {
  pthread_mutex_lock(&f->mu);
  f->released = 1;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

/* accepted = exported + every drop reason + pending, exactly. */
__attribute__((unused)) static uint64_t stats_dropped(const otlpx_stats *s) {
  return s->dropped_queue_full + s->dropped_too_large + s->dropped_export_failed + s->dropped_rejected +
         s->dropped_shutdown + s->dropped_invalid + s->dropped_circuit_open + s->dropped_disabled;
}

#define CHECK_STATS_BALANCE(st)                                                                   \
  CHECK((st).accepted == (st).exported + stats_dropped(&(st)) + (st).pending,                     \
        "accepted %" PRIu64 " != exported %" PRIu64 " + dropped %" PRIu64 " + pending %" PRIu64,  \
        (st).accepted, (st).exported, stats_dropped(&(st)), (st).pending)

#endif /* OTLPX_TESTUTIL_H */
