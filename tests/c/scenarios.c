/*
 * The shared scenarios (the scenarios/ JSON files, format in scenarios/README.md)
 * through the C API. This runner does not compare: for each scenario it
 * writes a transcript `<out_dir>/<name>.json` =
 *   {"binding": "c", "scenario", "requests": [{"content_type",
 *    "content_encoding", "spans", "body_hex"}...], "stats": {...},
 *    "errors": [runner-side problems]}
 * which `OTLPX_SCENARIO_TRANSCRIPTS=<out_dir> cargo test -p otlpx-core
 * --test scenarios transcripts` checks with the Rust runner's comparator.
 *
 * Usage: scenarios <out_dir> <scenario.json>...
 * Exit status: 0 when every transcript was written without runner errors.
 *
 * JSON is parsed with cJSON. cJSON stores strings NUL-terminated, so a
 * "\u0000" escape is first rewritten to a private-use sentinel (U+10FFFD)
 * and turned back into a NUL byte when the string is copied out with its
 * length.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Errors and an arena for everything one scenario allocates */

typedef struct block {
  struct block *next;
  max_align_t data[];
} block;

typedef struct {
  block *blocks;
  char errors[16][512];
  int n_errors;
} ctx;

static void *arena_alloc(ctx *c, size_t size) {
  block *b = (block *)calloc(1, sizeof(block) + (size ? size : 1));
  if (!b) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  b->next = c->blocks;
  c->blocks = b;
  return b->data;
}

static void arena_free(ctx *c) {
  while (c->blocks) {
    block *n = c->blocks->next;
    free(c->blocks);
    c->blocks = n;
  }
}

static void add_error(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(ctx *c, const char *fmt, ...) {
  if (c->n_errors >= 16) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->errors[c->n_errors++], sizeof c->errors[0], fmt, ap);
  va_end(ap);
}

/* Parsing stops at the first problem: each parser returns 0 on error. */
#define REQUIRE(cond, ...)      \
  do {                          \
    if (!(cond)) {              \
      add_error(c, __VA_ARGS__); \
      return 0;                 \
    }                           \
  } while (0)

/* Every key of `obj` is one of `allowed` (NULL-terminated). */
static int only_keys(ctx *c, const cJSON *obj, const char *const *allowed, const char *what) {
  REQUIRE(cJSON_IsObject(obj), "%s is not an object", what);
  for (const cJSON *k = obj->child; k; k = k->next) {
    int ok = 0;
    for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(k->string, *a) == 0;
    REQUIRE(ok, "%s: unknown key \"%s\"", what, k->string);
  }
  return 1;
}

/* ------------------------------------------------------------------ */
/* Scalars */

/* U+10FFFD, the stand-in for an escaped NUL. */
static const char SENTINEL_UTF8[] = "\xf4\x8f\xbf\xbd";

/* A copy of `item`'s string (NULL item: ""), sentinels back to NUL. */
static int get_str(ctx *c, const cJSON *item, const char **out, size_t *len, const char *what) {
  if (!item || cJSON_IsNull(item)) {
    *out = "";
    *len = 0;
    return 1;
  }
  REQUIRE(cJSON_IsString(item), "%s is not a string", what);
  const char *s = item->valuestring;
  size_t n = strlen(s);
  char *d = (char *)arena_alloc(c, n + 1);
  size_t j = 0;
  for (size_t i = 0; i < n;) {
    if (i + 4 <= n && memcmp(s + i, SENTINEL_UTF8, 4) == 0) {
      d[j++] = 0;
      i += 4;
    } else {
      d[j++] = s[i++];
    }
  }
  *out = d;
  *len = j;
  return 1;
}

static int get_u64(ctx *c, const cJSON *item, uint64_t max, uint64_t *out, const char *what) {
  if (!item) {
    *out = 0;
    return 1;
  }
  if (cJSON_IsString(item)) {
    const char *s = item->valuestring;
    REQUIRE(*s && isdigit((unsigned char)*s), "%s: \"%s\" is not a decimal number", what, s);
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    REQUIRE(errno == 0 && *end == 0 && v <= max, "%s: \"%s\" is out of range", what, s);
    *out = v;
    return 1;
  }
  REQUIRE(cJSON_IsNumber(item), "%s is not a number", what);
  double d = item->valuedouble;
  REQUIRE(d >= 0 && d <= 9007199254740992.0 && floor(d) == d && (uint64_t)d <= max, "%s: %g out of range", what,
          d);
  *out = (uint64_t)d;
  return 1;
}

static int get_i64(ctx *c, const cJSON *item, int64_t *out, const char *what) {
  if (cJSON_IsString(item)) {
    const char *s = item->valuestring;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    REQUIRE(*s && errno == 0 && *end == 0, "%s: \"%s\" is not an int64", what, s);
    *out = v;
    return 1;
  }
  REQUIRE(cJSON_IsNumber(item), "%s is not a number", what);
  double d = item->valuedouble;
  REQUIRE(fabs(d) <= 9007199254740992.0 && floor(d) == d, "%s: %g is not an exact integer", what, d);
  *out = (int64_t)d;
  return 1;
}

static int get_u32(ctx *c, const cJSON *item, uint32_t *out, const char *what) {
  uint64_t v;
  if (!get_u64(c, item, UINT32_MAX, &v, what)) return 0;
  *out = (uint32_t)v;
  return 1;
}

static int get_bool(ctx *c, const cJSON *item, int *out, const char *what) {
  if (!item) {
    *out = 0;
    return 1;
  }
  REQUIRE(cJSON_IsBool(item), "%s is not a boolean", what);
  *out = cJSON_IsTrue(item);
  return 1;
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Lowercase hex of exactly n bytes (or "" / absent when empty_ok: zeros). */
static int get_id(ctx *c, const cJSON *item, uint8_t *out, size_t n, int empty_ok, const char *what) {
  memset(out, 0, n);
  if (!item || (cJSON_IsString(item) && item->valuestring[0] == 0)) {
    REQUIRE(empty_ok, "%s missing", what);
    return 1;
  }
  REQUIRE(cJSON_IsString(item) && strlen(item->valuestring) == 2 * n, "%s is not %zu hex digits", what, 2 * n);
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(item->valuestring[2 * i]), lo = hexval(item->valuestring[2 * i + 1]);
    REQUIRE(hi >= 0 && lo >= 0, "%s: bad hex %s", what, item->valuestring);
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 1;
}

static int b64val(int ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

/* Standard base64 with padding. */
static int get_base64(ctx *c, const cJSON *item, const uint8_t **out, size_t *len, const char *what) {
  REQUIRE(cJSON_IsString(item), "%s is not a base64 string", what);
  const char *s = item->valuestring;
  size_t n = strlen(s);
  REQUIRE(n % 4 == 0, "%s: base64 length %zu is not a multiple of 4", what, n);
  uint8_t *d = (uint8_t *)arena_alloc(c, n / 4 * 3 + 1);
  size_t j = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      if (s[i + k] == '=' && i + 4 == n && k >= 2) {
        v[k] = 0;
        pad++;
      } else {
        REQUIRE(pad == 0 && (v[k] = b64val((unsigned char)s[i + k])) >= 0, "%s: bad base64", what);
      }
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    d[j++] = (uint8_t)(w >> 16);
    if (pad < 2) d[j++] = (uint8_t)(w >> 8);
    if (pad < 1) d[j++] = (uint8_t)w;
  }
  *out = d;
  *len = j;
  return 1;
}

/* ------------------------------------------------------------------ */
/* OTLP/JSON values */

static int get_keyvalues(ctx *c, const cJSON *arr, const otlpx_attribute **out, size_t *len, const char *what);

static int get_anyvalue(ctx *c, const cJSON *v, otlpx_value *out, const char *what) {
  memset(out, 0, sizeof *out);
  REQUIRE(cJSON_IsObject(v), "%s: AnyValue is not an object", what);
  REQUIRE(cJSON_GetArraySize(v) == 1, "%s: AnyValue must have exactly one field", what);
  const cJSON *f = v->child;
  const char *k = f->string;
  if (strcmp(k, "stringValue") == 0) {
    out->kind = OTLPX_VALUE_KIND_STRING;
    const char *s;
    if (!get_str(c, f, &s, &out->len, what)) return 0;
    out->ptr = s;
  } else if (strcmp(k, "boolValue") == 0) {
    int b;
    REQUIRE(cJSON_IsBool(f), "%s: boolValue is not a boolean", what);
    b = cJSON_IsTrue(f);
    out->kind = OTLPX_VALUE_KIND_BOOL;
    out->int_value = b;
  } else if (strcmp(k, "intValue") == 0) {
    out->kind = OTLPX_VALUE_KIND_INT;
    if (!get_i64(c, f, &out->int_value, what)) return 0;
  } else if (strcmp(k, "doubleValue") == 0) {
    out->kind = OTLPX_VALUE_KIND_DOUBLE;
    if (cJSON_IsString(f)) {
      const char *s = f->valuestring;
      if (strcmp(s, "NaN") == 0) out->double_value = NAN;
      else if (strcmp(s, "Infinity") == 0) out->double_value = INFINITY;
      else if (strcmp(s, "-Infinity") == 0) out->double_value = -INFINITY;
      else REQUIRE(0, "%s: doubleValue \"%s\"", what, s);
    } else {
      REQUIRE(cJSON_IsNumber(f), "%s: doubleValue is not a number", what);
      out->double_value = f->valuedouble;
    }
  } else if (strcmp(k, "bytesValue") == 0) {
    out->kind = OTLPX_VALUE_KIND_BYTES;
    const uint8_t *b;
    if (!get_base64(c, f, &b, &out->len, what)) return 0;
    out->ptr = b;
  } else if (strcmp(k, "arrayValue") == 0) {
    static const char *const keys[] = {"values", NULL};
    if (!only_keys(c, f, keys, what)) return 0;
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(f, "values");
    out->kind = OTLPX_VALUE_KIND_ARRAY;
    if (vals) {
      REQUIRE(cJSON_IsArray(vals), "%s: arrayValue.values is not an array", what);
      size_t n = (size_t)cJSON_GetArraySize(vals);
      otlpx_value *items = (otlpx_value *)arena_alloc(c, n * sizeof *items);
      size_t i = 0;
      for (const cJSON *e = vals->child; e; e = e->next, i++)
        if (!get_anyvalue(c, e, &items[i], what)) return 0;
      out->ptr = items;
      out->len = n;
    }
  } else if (strcmp(k, "kvlistValue") == 0) {
    static const char *const keys[] = {"values", NULL};
    if (!only_keys(c, f, keys, what)) return 0;
    out->kind = OTLPX_VALUE_KIND_KVLIST;
    const otlpx_attribute *kvs = NULL;
    if (!get_keyvalues(c, cJSON_GetObjectItemCaseSensitive(f, "values"), &kvs, &out->len, what)) return 0;
    out->ptr = kvs;
  } else {
    REQUIRE(0, "%s: unknown AnyValue field \"%s\"", what, k);
  }
  return 1;
}

static int get_keyvalues(ctx *c, const cJSON *arr, const otlpx_attribute **out, size_t *len, const char *what) {
  *out = NULL;
  *len = 0;
  if (!arr) return 1;
  REQUIRE(cJSON_IsArray(arr), "%s: attributes is not an array", what);
  size_t n = (size_t)cJSON_GetArraySize(arr);
  otlpx_attribute *kvs = (otlpx_attribute *)arena_alloc(c, n * sizeof *kvs);
  size_t i = 0;
  static const char *const keys[] = {"key", "value", NULL};
  for (const cJSON *e = arr->child; e; e = e->next, i++) {
    if (!only_keys(c, e, keys, what)) return 0;
    if (!get_str(c, cJSON_GetObjectItemCaseSensitive(e, "key"), &kvs[i].key, &kvs[i].key_len, what)) return 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
    REQUIRE(v, "%s: key-value without value", what);
    if (!get_anyvalue(c, v, &kvs[i].value, what)) return 0;
  }
  *out = kvs;
  *len = n;
  return 1;
}

/* ------------------------------------------------------------------ */
/* Spans and scopes */

static int get_span(ctx *c, const cJSON *j, otlpx_span_data *s, const char *what) {
  static const char *const keys[] = {"traceId", "spanId", "parentSpanId", "traceState", "flags", "name", "kind",
                                     "startTimeUnixNano", "endTimeUnixNano", "attributes",
                                     "droppedAttributesCount", "events", "droppedEventsCount", "links",
                                     "droppedLinksCount", "status", NULL};
  memset(s, 0, sizeof *s);
  if (!only_keys(c, j, keys, what)) return 0;
#define F(name) cJSON_GetObjectItemCaseSensitive(j, name)
  if (!get_id(c, F("traceId"), s->trace_id, 16, 1, what)) return 0;
  if (!get_id(c, F("spanId"), s->span_id, 8, 1, what)) return 0;
  if (!get_id(c, F("parentSpanId"), s->parent_span_id, 8, 1, what)) return 0;
  if (!get_str(c, F("traceState"), &s->trace_state, &s->trace_state_len, what)) return 0;
  if (!get_u32(c, F("flags"), &s->flags, what)) return 0;
  if (!get_str(c, F("name"), &s->name, &s->name_len, what)) return 0;
  if (!get_u32(c, F("kind"), &s->kind, what)) return 0;
  if (!get_u64(c, F("startTimeUnixNano"), UINT64_MAX, &s->start_time_unix_nano, what)) return 0;
  if (!get_u64(c, F("endTimeUnixNano"), UINT64_MAX, &s->end_time_unix_nano, what)) return 0;
  if (!get_keyvalues(c, F("attributes"), &s->attributes, &s->attributes_len, what)) return 0;
  if (!get_u32(c, F("droppedAttributesCount"), &s->dropped_attributes_count, what)) return 0;
  if (!get_u32(c, F("droppedEventsCount"), &s->dropped_events_count, what)) return 0;
  if (!get_u32(c, F("droppedLinksCount"), &s->dropped_links_count, what)) return 0;
  const cJSON *evs = F("events");
  if (evs) {
    REQUIRE(cJSON_IsArray(evs), "%s: events is not an array", what);
    size_t n = (size_t)cJSON_GetArraySize(evs);
    otlpx_event *e = (otlpx_event *)arena_alloc(c, n * sizeof *e);
    size_t i = 0;
    static const char *const ekeys[] = {"timeUnixNano", "name", "attributes", "droppedAttributesCount", NULL};
    for (const cJSON *x = evs->child; x; x = x->next, i++) {
      if (!only_keys(c, x, ekeys, what)) return 0;
      if (!get_u64(c, cJSON_GetObjectItemCaseSensitive(x, "timeUnixNano"), UINT64_MAX, &e[i].time_unix_nano, what))
        return 0;
      if (!get_str(c, cJSON_GetObjectItemCaseSensitive(x, "name"), &e[i].name, &e[i].name_len, what)) return 0;
      if (!get_keyvalues(c, cJSON_GetObjectItemCaseSensitive(x, "attributes"), &e[i].attributes,
                         &e[i].attributes_len, what))
        return 0;
      if (!get_u32(c, cJSON_GetObjectItemCaseSensitive(x, "droppedAttributesCount"), &e[i].dropped_attributes_count,
                   what))
        return 0;
    }
    s->events = e;
    s->events_len = n;
  }
  const cJSON *lns = F("links");
  if (lns) {
    REQUIRE(cJSON_IsArray(lns), "%s: links is not an array", what);
    size_t n = (size_t)cJSON_GetArraySize(lns);
    otlpx_link *l = (otlpx_link *)arena_alloc(c, n * sizeof *l);
    size_t i = 0;
    static const char *const lkeys[] = {"traceId", "spanId", "traceState", "attributes", "droppedAttributesCount",
                                        "flags", NULL};
    for (const cJSON *x = lns->child; x; x = x->next, i++) {
      if (!only_keys(c, x, lkeys, what)) return 0;
      if (!get_id(c, cJSON_GetObjectItemCaseSensitive(x, "traceId"), l[i].trace_id, 16, 1, what)) return 0;
      if (!get_id(c, cJSON_GetObjectItemCaseSensitive(x, "spanId"), l[i].span_id, 8, 1, what)) return 0;
      if (!get_str(c, cJSON_GetObjectItemCaseSensitive(x, "traceState"), &l[i].trace_state, &l[i].trace_state_len,
                   what))
        return 0;
      if (!get_keyvalues(c, cJSON_GetObjectItemCaseSensitive(x, "attributes"), &l[i].attributes,
                         &l[i].attributes_len, what))
        return 0;
      if (!get_u32(c, cJSON_GetObjectItemCaseSensitive(x, "droppedAttributesCount"), &l[i].dropped_attributes_count,
                   what))
        return 0;
      if (!get_u32(c, cJSON_GetObjectItemCaseSensitive(x, "flags"), &l[i].flags, what)) return 0;
    }
    s->links = l;
    s->links_len = n;
  }
  const cJSON *st = F("status");
  if (st) {
    static const char *const skeys[] = {"code", "message", NULL};
    if (!only_keys(c, st, skeys, what)) return 0;
    if (!get_u32(c, cJSON_GetObjectItemCaseSensitive(st, "code"), &s->status_code, what)) return 0;
    if (!get_str(c, cJSON_GetObjectItemCaseSensitive(st, "message"), &s->status_message, &s->status_message_len,
                 what))
      return 0;
  }
#undef F
  return 1;
}

static int get_scope(ctx *c, const cJSON *j, otlpx_scope *s, const char *what) {
  static const char *const keys[] = {"name", "version", "attributes", "droppedAttributesCount", "schemaUrl", NULL};
  memset(s, 0, sizeof *s);
  if (!only_keys(c, j, keys, what)) return 0;
  if (!get_str(c, cJSON_GetObjectItemCaseSensitive(j, "name"), &s->name, &s->name_len, what)) return 0;
  if (!get_str(c, cJSON_GetObjectItemCaseSensitive(j, "version"), &s->version, &s->version_len, what)) return 0;
  if (!get_keyvalues(c, cJSON_GetObjectItemCaseSensitive(j, "attributes"), &s->attributes, &s->attributes_len, what))
    return 0;
  if (!get_u32(c, cJSON_GetObjectItemCaseSensitive(j, "droppedAttributesCount"), &s->dropped_attributes_count, what))
    return 0;
  if (!get_str(c, cJSON_GetObjectItemCaseSensitive(j, "schemaUrl"), &s->schema_url, &s->schema_url_len, what))
    return 0;
  return 1;
}

/* ------------------------------------------------------------------ */
/* Config */

static int set_limit(ctx *c, otlpx_config *cfg, const cJSON *conf, const char *key, uint32_t which) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(conf, key);
  if (!v) return 1;
  uint64_t n;
  if (!get_u64(c, v, INT64_MAX, &n, key)) return 0;
  otlpx_result rc = otlpx_config_set_limit(cfg, which, (int64_t)n);
  REQUIRE(rc == OTLPX_RESULT_OK, "config %s = %" PRIu64 ": %s", key, n, otlpx_result_message(rc));
  return 1;
}

/* Warnings while the exporter is built are runner errors (a broken scenario). */
typedef struct {
  ctx *c;
  int building;
} log_state;

static void scenario_log(void *ud, uint32_t level, const char *msg, size_t len) {
  log_state *ls = (log_state *)ud;
  if (ls->building && level <= OTLPX_LOG_LEVEL_WARN)
    add_error(ls->c, "configuration warning: %.*s", (int)(len > 400 ? 400 : len), msg);
  if (getenv("OTLPX_SCENARIO_VERBOSE")) fprintf(stderr, "  log[%u] %.*s\n", level, (int)len, msg);
}

static int build_config(ctx *c, const cJSON *sc, otlpx_config *cfg, fake *fk, log_state *ls) {
  otlpx_result rc;
#define OK(call)                                                                       \
  do {                                                                                 \
    rc = (call);                                                                       \
    REQUIRE(rc == OTLPX_RESULT_OK, "%s: %s", #call, otlpx_result_message(rc));          \
  } while (0)
  OK(otlpx_config_ignore_process_env(cfg, 1));
  OK(otlpx_config_set_protocol(cfg, S("http/protobuf")));
  OK(otlpx_config_set_compression(cfg, S("none")));
  OK(otlpx_config_set_duration_ms(cfg, OTLPX_DURATION_SCHEDULE_DELAY, 60000));
  OK(otlpx_config_set_send_callback(cfg, fake_send, fk));
  OK(otlpx_config_set_log_callback(cfg, scenario_log, ls, OTLPX_LOG_LEVEL_DEBUG));
  uint64_t retry_initial = 10, retry_max = 100, retry_elapsed = 5000;
  int retry_enabled = 1;
  const cJSON *conf = cJSON_GetObjectItemCaseSensitive(sc, "config");
  if (conf) {
    static const char *const keys[] = {"max_queue_size", "max_export_batch_size", "max_batch_bytes",
                                       "export_timeout_ms", "sdk_disabled", "attribute_count",
                                       "attribute_value_length", "event_count", "link_count",
                                       "attributes_per_event", "attributes_per_link", "retry", NULL};
    if (!only_keys(c, conf, keys, "config")) return 0;
    if (!set_limit(c, cfg, conf, "max_queue_size", OTLPX_LIMIT_MAX_QUEUE_SIZE)) return 0;
    if (!set_limit(c, cfg, conf, "max_export_batch_size", OTLPX_LIMIT_MAX_EXPORT_BATCH_SIZE)) return 0;
    if (!set_limit(c, cfg, conf, "max_batch_bytes", OTLPX_LIMIT_MAX_BATCH_BYTES)) return 0;
    if (!set_limit(c, cfg, conf, "attribute_count", OTLPX_LIMIT_ATTRIBUTE_COUNT)) return 0;
    if (!set_limit(c, cfg, conf, "event_count", OTLPX_LIMIT_EVENT_COUNT)) return 0;
    if (!set_limit(c, cfg, conf, "link_count", OTLPX_LIMIT_LINK_COUNT)) return 0;
    if (!set_limit(c, cfg, conf, "attributes_per_event", OTLPX_LIMIT_ATTRIBUTES_PER_EVENT)) return 0;
    if (!set_limit(c, cfg, conf, "attributes_per_link", OTLPX_LIMIT_ATTRIBUTES_PER_LINK)) return 0;
    const cJSON *avl = cJSON_GetObjectItemCaseSensitive(conf, "attribute_value_length");
    if (avl && !cJSON_IsNull(avl)) {
      if (!set_limit(c, cfg, conf, "attribute_value_length", OTLPX_LIMIT_ATTRIBUTE_VALUE_LENGTH)) return 0;
    } else {
      OK(otlpx_config_set_limit(cfg, OTLPX_LIMIT_ATTRIBUTE_VALUE_LENGTH, -1));
    }
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(conf, "export_timeout_ms");
    if (et) {
      uint64_t ms;
      if (!get_u64(c, et, UINT64_MAX, &ms, "export_timeout_ms")) return 0;
      OK(otlpx_config_set_duration_ms(cfg, OTLPX_DURATION_EXPORT_TIMEOUT, ms));
    }
    int disabled = 0;
    if (!get_bool(c, cJSON_GetObjectItemCaseSensitive(conf, "sdk_disabled"), &disabled, "sdk_disabled")) return 0;
    OK(otlpx_config_set_sdk_disabled(cfg, (uint8_t)disabled));
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(conf, "retry");
    if (r) {
      static const char *const rkeys[] = {"enabled", "initial_interval_ms", "max_interval_ms", "max_elapsed_ms",
                                          NULL};
      if (!only_keys(c, r, rkeys, "config.retry")) return 0;
      const cJSON *x;
      if ((x = cJSON_GetObjectItemCaseSensitive(r, "enabled")) && !get_bool(c, x, &retry_enabled, "retry.enabled"))
        return 0;
      if ((x = cJSON_GetObjectItemCaseSensitive(r, "initial_interval_ms")) &&
          !get_u64(c, x, UINT64_MAX, &retry_initial, "retry.initial_interval_ms"))
        return 0;
      if ((x = cJSON_GetObjectItemCaseSensitive(r, "max_interval_ms")) &&
          !get_u64(c, x, UINT64_MAX, &retry_max, "retry.max_interval_ms"))
        return 0;
      if ((x = cJSON_GetObjectItemCaseSensitive(r, "max_elapsed_ms")) &&
          !get_u64(c, x, UINT64_MAX, &retry_elapsed, "retry.max_elapsed_ms"))
        return 0;
    }
  }
  OK(otlpx_config_set_retry(cfg, (uint8_t)retry_enabled, retry_initial, retry_max, retry_elapsed));

  const cJSON *res = cJSON_GetObjectItemCaseSensitive(sc, "resource");
  if (res) {
    static const char *const keys[] = {"attributes", NULL};
    if (!only_keys(c, res, keys, "resource")) return 0;
    const otlpx_attribute *kvs;
    size_t n;
    if (!get_keyvalues(c, cJSON_GetObjectItemCaseSensitive(res, "attributes"), &kvs, &n, "resource")) return 0;
    for (size_t i = 0; i < n; i++) {
      REQUIRE(kvs[i].value.kind == OTLPX_VALUE_KIND_STRING, "resource attribute %.*s is not a stringValue",
              (int)kvs[i].key_len, kvs[i].key);
      OK(otlpx_config_add_resource_attribute(cfg, kvs[i].key, kvs[i].key_len, (const char *)kvs[i].value.ptr,
                                             kvs[i].value.len));
    }
  }
#undef OK
  return 1;
}

/* ------------------------------------------------------------------ */
/* The transport script */

static int get_script(ctx *c, const cJSON *arr, reply **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (!arr) return 1;
  REQUIRE(cJSON_IsArray(arr), "transport_script is not an array");
  size_t n = (size_t)cJSON_GetArraySize(arr);
  reply *r = (reply *)arena_alloc(c, n * sizeof *r);
  size_t i = 0;
  for (const cJSON *e = arr->child; e; e = e->next, i++) {
    if (cJSON_IsString(e)) {
      if (strcmp(e->valuestring, "connect_error") == 0) r[i].kind = REPLY_CONNECT;
      else if (strcmp(e->valuestring, "timeout") == 0) r[i].kind = REPLY_TIMEOUT;
      else REQUIRE(0, "transport_script[%zu]: unknown entry \"%s\"", i, e->valuestring);
      continue;
    }
    static const char *const keys[] = {"status", "retry_after", "partial_success", NULL};
    if (!only_keys(c, e, keys, "transport_script entry")) return 0;
    uint32_t status;
    REQUIRE(cJSON_GetObjectItemCaseSensitive(e, "status"), "transport_script[%zu]: status missing", i);
    if (!get_u32(c, cJSON_GetObjectItemCaseSensitive(e, "status"), &status, "status")) return 0;
    REQUIRE(status >= 100 && status <= 999, "transport_script[%zu]: status %u", i, status);
    r[i].kind = REPLY_STATUS;
    r[i].status = (uint16_t)status;
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(e, "retry_after");
    if (ra) {
      REQUIRE(cJSON_IsString(ra), "transport_script[%zu]: retry_after is not a string", i);
      r[i].retry_after = ra->valuestring;
    }
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(e, "partial_success");
    if (ps) {
      static const char *const pkeys[] = {"rejected_spans", "error_message", NULL};
      if (!only_keys(c, ps, pkeys, "partial_success")) return 0;
      r[i].partial = 1;
      const cJSON *rs = cJSON_GetObjectItemCaseSensitive(ps, "rejected_spans");
      if (rs && !get_i64(c, rs, &r[i].rejected_spans, "rejected_spans")) return 0;
      if (!get_str(c, cJSON_GetObjectItemCaseSensitive(ps, "error_message"), &r[i].error_message,
                   &r[i].error_message_len, "error_message"))
        return 0;
    }
  }
  *out = r;
  *len = n;
  return 1;
}

/* ------------------------------------------------------------------ */
/* Reading a file */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = (char *)malloc(cap + 1);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      cap *= 2;
      char *nb = (char *)realloc(buf, cap + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
      }
      buf = nb;
    }
  }
  fclose(f);
  if (buf) buf[n] = 0;
  *len = n;
  return buf;
}

/* Rewrites every "\u0000" escape to the sentinel's escape "\udbff\udffd". */
static char *protect_nul_escapes(const char *in, size_t n, int *clash) {
  *clash = strstr(in, SENTINEL_UTF8) != NULL || strstr(in, "\\udbff\\udffd") != NULL ||
           strstr(in, "\\uDBFF\\uDFFD") != NULL;
  char *out = (char *)malloc(2 * n + 1);
  if (!out) return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n;) {
    if (in[i] == '\\' && i + 1 < n) {
      if (in[i + 1] == 'u' && i + 6 <= n && memcmp(in + i + 2, "0000", 4) == 0) {
        memcpy(out + j, "\\udbff\\udffd", 12);
        j += 12;
        i += 6;
      } else {
        out[j++] = in[i++];
        out[j++] = in[i++];
      }
    } else {
      out[j++] = in[i++];
    }
  }
  out[j] = 0;
  return out;
}

/* ------------------------------------------------------------------ */
/* Running one scenario */

typedef struct {
  uint32_t scope;
  otlpx_span_data span;
  int after_shutdown;
} span_entry;

static void record(otlpx_exporter *exp, const uint32_t *ids, size_t n_ids, const span_entry *e) {
  /* A scope index outside the list: a handle the exporter never issued. */
  uint32_t id = e->scope < n_ids ? ids[e->scope] : 65535u;
  (void)otlpx_exporter_record(exp, id, &e->span);
}

static cJSON *stats_json(const otlpx_stats *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "accepted", (double)s->accepted);
  cJSON_AddNumberToObject(o, "exported", (double)s->exported);
  cJSON *d = cJSON_AddObjectToObject(o, "dropped");
  cJSON_AddNumberToObject(d, "queue_full", (double)s->dropped_queue_full);
  cJSON_AddNumberToObject(d, "too_large", (double)s->dropped_too_large);
  cJSON_AddNumberToObject(d, "export_failed", (double)s->dropped_export_failed);
  cJSON_AddNumberToObject(d, "rejected", (double)s->dropped_rejected);
  cJSON_AddNumberToObject(d, "shutdown", (double)s->dropped_shutdown);
  cJSON_AddNumberToObject(d, "invalid", (double)s->dropped_invalid);
  cJSON_AddNumberToObject(d, "circuit_open", (double)s->dropped_circuit_open);
  cJSON_AddNumberToObject(d, "disabled", (double)s->dropped_disabled);
  cJSON *r = cJSON_AddObjectToObject(o, "requests");
  cJSON_AddNumberToObject(r, "success", (double)s->requests_success);
  cJSON_AddNumberToObject(r, "retryable", (double)s->requests_retryable);
  cJSON_AddNumberToObject(r, "permanent", (double)s->requests_permanent);
  cJSON_AddNumberToObject(o, "retries", (double)s->retries);
  cJSON_AddNumberToObject(o, "batches", (double)s->batches);
  cJSON_AddNumberToObject(o, "circuit_opened", (double)s->circuit_opened);
  return o;
}

static const char *base_name(const char *path, char *buf, size_t cap) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(buf, cap, "%s", b);
  char *dot = strstr(buf, ".json");
  if (dot && dot[5] == 0) *dot = 0;
  return buf;
}

/* Runs one scenario file and writes its transcript. 0 on success. */
static int run_scenario(const char *path, const char *out_dir) {
  ctx cx;
  memset(&cx, 0, sizeof cx);
  ctx *c = &cx;
  char name[256];
  base_name(path, name, sizeof name);
  otlpx_stats st;
  memset(&st, 0, sizeof st);
  fake fk;
  fake_init(&fk, NULL, 0);
  cJSON *root = NULL;
  otlpx_config *cfg = NULL;
  otlpx_exporter *exp = NULL;
  log_state ls = {c, 0};

  size_t raw_len = 0;
  char *raw = read_file(path, &raw_len);
  if (!raw) {
    add_error(c, "cannot read %s: %s", path, strerror(errno));
  } else {
    int clash = 0;
    char *prot = protect_nul_escapes(raw, raw_len, &clash);
    if (clash) add_error(c, "%s contains U+10FFFD, the runner's NUL sentinel", path);
    root = prot ? cJSON_Parse(prot) : NULL;
    if (!root) add_error(c, "%s is not JSON (near: %.40s)", path, cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "?");
    free(prot);
    free(raw);
  }

  span_entry *spans = NULL;
  size_t n_spans = 0;
  uint32_t *ids = NULL;
  size_t n_ids = 0;
  reply *script = NULL;
  size_t script_len = 0;
  uint64_t hold_after = 0;
  int ok = root != NULL;
  if (ok) {
    static const char *const keys[] = {"name", "description", "config", "resource", "scopes", "spans",
                                       "transport_script", "hold_first_request_after", "expect", NULL};
    ok = only_keys(c, root, keys, "scenario");
  }
  if (ok) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!cJSON_IsString(nm) || strcmp(nm->valuestring, name) != 0) {
      add_error(c, "scenario name %s does not match the file name %s",
                cJSON_IsString(nm) ? nm->valuestring : "(missing)", name);
      ok = 0;
    }
  }
  if (ok) ok = get_script(c, cJSON_GetObjectItemCaseSensitive(root, "transport_script"), &script, &script_len);
  if (ok) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "hold_first_request_after");
    ok = get_u64(c, h, SIZE_MAX, &hold_after, "hold_first_request_after");
  }
  if (ok) {
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(root, "spans");
    ok = cJSON_IsArray(sp);
    if (!ok) add_error(c, "spans is not an array");
    else {
      n_spans = (size_t)cJSON_GetArraySize(sp);
      spans = (span_entry *)arena_alloc(c, n_spans * sizeof *spans);
      size_t i = 0;
      static const char *const ekeys[] = {"scope", "span", "after_shutdown", NULL};
      for (const cJSON *e = sp->child; e && ok; e = e->next, i++) {
        char what[64];
        snprintf(what, sizeof what, "spans[%zu]", i);
        ok = only_keys(c, e, ekeys, what) &&
             get_u32(c, cJSON_GetObjectItemCaseSensitive(e, "scope"), &spans[i].scope, what) &&
             get_span(c, cJSON_GetObjectItemCaseSensitive(e, "span"), &spans[i].span, what) &&
             get_bool(c, cJSON_GetObjectItemCaseSensitive(e, "after_shutdown"), &spans[i].after_shutdown, what);
      }
    }
  }
  if (ok) {
    fk.script = script;
    fk.script_len = script_len;
    fk.hold = hold_after > 0;
    ok = otlpx_config_new(&cfg) == OTLPX_RESULT_OK && build_config(c, root, cfg, &fk, &ls);
  }
  if (ok) {
    ls.building = 1;
    otlpx_result rc = otlpx_exporter_new(cfg, &exp);
    ls.building = 0;
    if (rc != OTLPX_RESULT_OK) {
      add_error(c, "cannot build the exporter: %s", otlpx_result_message(rc));
      ok = 0;
    }
  }
  if (ok) {
    const cJSON *scs = cJSON_GetObjectItemCaseSensitive(root, "scopes");
    if (!cJSON_IsArray(scs)) {
      add_error(c, "scopes is not an array");
      ok = 0;
    } else {
      n_ids = (size_t)cJSON_GetArraySize(scs);
      ids = (uint32_t *)arena_alloc(c, n_ids * sizeof *ids);
      size_t i = 0;
      for (const cJSON *e = scs->child; e && ok; e = e->next, i++) {
        char what[64];
        snprintf(what, sizeof what, "scopes[%zu]", i);
        otlpx_scope s;
        ok = get_scope(c, e, &s, what);
        if (ok) {
          otlpx_result rc = otlpx_exporter_add_scope(exp, &s, &ids[i]);
          if (rc != OTLPX_RESULT_OK) {
            add_error(c, "cannot add %s: %s", what, otlpx_result_message(rc));
            ok = 0;
          }
        }
      }
    }
  }
  if (ok) {
    /* Record, per the README's recording procedure. */
    size_t before = 0;
    for (size_t i = 0; i < n_spans; i++)
      if (!spans[i].after_shutdown) {
        if (hold_after && before == hold_after) {
          otlpx_exporter_force_flush(exp, 0, NULL);
          if (!fake_wait_held(&fk, 5000)) add_error(c, "the first request never reached the transport (hold)");
        }
        record(exp, ids, n_ids, &spans[i]);
        before++;
      }
    if (hold_after && before == hold_after) {
      otlpx_exporter_force_flush(exp, 0, NULL);
      if (!fake_wait_held(&fk, 5000)) add_error(c, "the first request never reached the transport (hold)");
    }
    if (hold_after) fake_release(&fk);
    otlpx_outcome oc;
    memset(&oc, 0, sizeof oc);
    otlpx_exporter_shutdown(exp, 10000, &oc);
    if (oc.timed_out)
      add_error(c, "shutdown timed out: exported %" PRIu64 " dropped %" PRIu64 " pending %" PRIu64, oc.exported,
                oc.dropped, oc.pending);
    for (size_t i = 0; i < n_spans; i++)
      if (spans[i].after_shutdown) record(exp, ids, n_ids, &spans[i]);
    otlpx_result rc = otlpx_exporter_stats(exp, &st);
    if (rc != OTLPX_RESULT_OK) add_error(c, "stats: %s", otlpx_result_message(rc));
  }

  /* The transcript. */
  cJSON *t = cJSON_CreateObject();
  cJSON_AddStringToObject(t, "binding", "c");
  cJSON_AddStringToObject(t, "scenario", name);
  cJSON *reqs = cJSON_AddArrayToObject(t, "requests");
  pthread_mutex_lock(&fk.mu);
  for (size_t i = 0; i < fk.n_sent; i++) {
    const sent_request *r = &fk.sent[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "content_type", r->content_type);
    cJSON_AddStringToObject(o, "content_encoding", r->content_encoding);
    cJSON_AddNumberToObject(o, "spans", (double)r->spans);
    char *hex = (char *)malloc(2 * r->body_len + 1);
    if (!hex) exit(2);
    t_hex(r->body ? r->body : (const uint8_t *)"", r->body ? r->body_len : 0, hex);
    cJSON_AddStringToObject(o, "body_hex", hex);
    free(hex);
    cJSON_AddItemToArray(reqs, o);
  }
  size_t n_sent = fk.n_sent;
  pthread_mutex_unlock(&fk.mu);
  cJSON_AddItemToObject(t, "stats", stats_json(&st));
  cJSON *errs = cJSON_AddArrayToObject(t, "errors");
  for (int i = 0; i < c->n_errors; i++) cJSON_AddItemToArray(errs, cJSON_CreateString(c->errors[i]));

  char *text = cJSON_PrintUnformatted(t);
  char out_path[4096];
  snprintf(out_path, sizeof out_path, "%s/%s.json", out_dir, name);
  FILE *f = fopen(out_path, "wb");
  int written = f && text && fputs(text, f) >= 0;
  if (f && fclose(f) != 0) written = 0;
  if (!written) fprintf(stderr, "cannot write %s: %s\n", out_path, strerror(errno));
  printf("%-40s %zu requests, accepted %" PRIu64 " exported %" PRIu64 " dropped %" PRIu64 "%s\n", name, n_sent,
         st.accepted, st.exported, stats_dropped(&st), c->n_errors ? "  RUNNER ERRORS:" : "");
  for (int i = 0; i < c->n_errors; i++) printf("    - %s\n", c->errors[i]);
  fflush(stdout);
  cJSON_free(text);
  cJSON_Delete(t);

  otlpx_exporter_free(exp);
  otlpx_config_free(cfg);
  fake_destroy(&fk);
  cJSON_Delete(root);
  int failed = !written || c->n_errors > 0;
  arena_free(c);
  return failed;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <out_dir> <scenario.json>...\n", argv[0]);
    return 2;
  }
  const char *out_dir = argv[1];
  mkdir(out_dir, 0755);
  int failed = 0;
  for (int i = 2; i < argc; i++) failed += run_scenario(argv[i], out_dir);
  printf("%d scenarios, %d with runner errors\n", argc - 2, failed);
  return failed ? 1 : 0;
}
