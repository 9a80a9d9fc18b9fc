/*
 * A tiny single-threaded HTTP/1.1 server on 127.0.0.1, instrumented with
 * otlpx alone (no OpenTelemetry SDK): each request's `traceparent` /
 * `tracestate` headers are extracted (a missing or malformed traceparent
 * starts a new trace), a SERVER span is recorded for it, and the answer's
 * body names that span's traceparent, so a caller can check the linkage.
 *
 *   http_server --port P [--requests N]
 *
 * Prints `listening on 127.0.0.1:P` on stdout (flushed) once ready (with
 * --port 0, P is the port the system picked). Serves until N requests were
 * handled (default: unlimited) or `GET /shutdown` arrives, then shuts the
 * exporter down (at most 5 s) and exits 0. Exports per the OTEL_* variables
 * (service.name defaults to "c-http-server").
 *
 * Routes: GET /hello -> 200; /shutdown -> 200 and stop (no span); anything
 * else -> 404. Every answer except /shutdown has the body
 *   {"message":"hello","traceparent":"00-<trace id>-<span id>-<flags>"}\n
 * (message "not found" for a 404), where the traceparent is the SERVER
 * span's own. Each connection carries one request (Connection: close).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "otlpx.h"

#define MAX_REQUEST 16384

typedef struct {
  char method[16];
  char target[1024];
  char version[16]; /* "1.1" */
  const char *traceparent;
  size_t traceparent_len;
  const char *tracestate;
  size_t tracestate_len;
  const char *user_agent;
  size_t user_agent_len;
} request;

/* Reads until the end of the headers. Returns the bytes read, 0 on failure. */
static size_t read_head(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    n += (size_t)r;
    buf[n] = 0;
    if (strstr(buf, "\r\n\r\n")) return n;
  }
  return 0;
}

static void trim(const char **p, size_t *len) {
  while (*len && (**p == ' ' || **p == '\t')) {
    (*p)++;
    (*len)--;
  }
  while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t')) (*len)--;
}

/* Parses the request line and the headers we need. 0 on a malformed request. */
static int parse(char *buf, request *req) {
  memset(req, 0, sizeof *req);
  char *line_end = strstr(buf, "\r\n");
  if (!line_end) return 0;
  *line_end = 0;
  char proto[32];
  if (sscanf(buf, "%15s %1023s %31s", req->method, req->target, proto) != 3) return 0;
  if (strncmp(proto, "HTTP/", 5) != 0) return 0;
  size_t vlen = strlen(proto + 5);
  if (vlen >= sizeof req->version) return 0;
  memcpy(req->version, proto + 5, vlen + 1);
  for (char *line = line_end + 2; *line && strncmp(line, "\r\n", 2) != 0;) {
    char *end = strstr(line, "\r\n");
    if (!end) break;
    char *colon = memchr(line, ':', (size_t)(end - line));
    if (colon) {
      size_t name_len = (size_t)(colon - line);
      const char *value = colon + 1;
      size_t value_len = (size_t)(end - value);
      trim(&value, &value_len);
      if (name_len == 11 && strncasecmp(line, "traceparent", 11) == 0) {
        req->traceparent = value;
        req->traceparent_len = value_len;
      } else if (name_len == 10 && strncasecmp(line, "tracestate", 10) == 0) {
        req->tracestate = value;
        req->tracestate_len = value_len;
      } else if (name_len == 10 && strncasecmp(line, "user-agent", 10) == 0) {
        req->user_agent = value;
        req->user_agent_len = value_len;
      }
    }
    line = end + 2;
  }
  return 1;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void respond(int fd, int status, const char *body) {
  char head[256];
  const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, reason, strlen(body));
  send_all(fd, head, (size_t)n);
  send_all(fd, body, strlen(body));
}

/* Serves one request; returns 1 when it was /shutdown. */
static int serve(otlpx_exporter *exp, uint32_t scope, int port, int fd) {
  char buf[MAX_REQUEST];
  if (!read_head(fd, buf, sizeof buf)) return 0;
  request req;
  if (!parse(buf, &req)) {
    respond(fd, 400, "{\"message\":\"bad request\"}\n");
    return 0;
  }
  char *query = strchr(req.target, '?');
  if (query) *query = 0;
  const char *path = req.target;
  if (strcmp(path, "/shutdown") == 0) {
    respond(fd, 200, "{\"message\":\"bye\"}\n");
    return 1;
  }
  int known = strcmp(path, "/hello") == 0;
  int status = known ? 200 : 404;

  /* The parent from the caller's headers; a malformed traceparent (or none)
   * starts a new trace, as W3C Trace Context says. */
  otlpx_span_context parent;
  int has_parent = otlpx_trace_context_extract(req.traceparent, req.traceparent_len, req.tracestate,
                                               req.tracestate_len, &parent) == OTLPX_RESULT_OK;
  char name[sizeof req.method + sizeof req.target + 1];
  if (known) snprintf(name, sizeof name, "%s %s", req.method, path);
  else snprintf(name, sizeof name, "%s", req.method);
  otlpx_span *span = NULL;
  otlpx_result rc =
      otlpx_span_start(exp, scope, name, strlen(name), OTLPX_SPAN_KIND_SERVER, has_parent ? &parent : NULL, 0, &span);
  char traceparent[OTLPX_TRACEPARENT_LEN + 1] = {0};
  if (rc == OTLPX_RESULT_OK) {
    otlpx_attribute attrs[10];
    size_t n = 0;
    attrs[n++] = otlpx_attr_str("http.request.method", req.method);
    attrs[n++] = otlpx_attr_str("url.path", path);
    attrs[n++] = otlpx_attr_str("url.scheme", "http");
    if (known) attrs[n++] = otlpx_attr_str("http.route", path);
    attrs[n++] = otlpx_attr_int("http.response.status_code", status);
    attrs[n++] = otlpx_attr_str("server.address", "127.0.0.1");
    attrs[n++] = otlpx_attr_int("server.port", port);
    attrs[n++] = otlpx_attr_str("network.protocol.version", req.version);
    if (req.user_agent) {
      otlpx_attribute ua = otlpx_attr_str("user_agent.original", "");
      ua.value.ptr = req.user_agent;
      ua.value.len = req.user_agent_len;
      attrs[n++] = ua;
    }
    otlpx_span_set_attributes(span, attrs, n); /* a non-UTF-8 user agent is skipped; the rest stays */
    otlpx_span_traceparent(span, traceparent, OTLPX_TRACEPARENT_LEN);
  } else {
    fprintf(stderr, "http_server: span_start: %s\n", otlpx_result_message(rc));
  }
  char body[256];
  snprintf(body, sizeof body, "{\"message\":\"%s\",\"traceparent\":\"%s\"}\n", known ? "hello" : "not found",
           traceparent);
  respond(fd, status, body);
  if (span) {
    rc = otlpx_span_end(span, 0);
    if (rc != OTLPX_RESULT_OK) fprintf(stderr, "http_server: span dropped: %s\n", otlpx_result_message(rc));
  }
  return 0;
}

int main(int argc, char **argv) {
  long port = -1, requests = -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) requests = strtol(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: %s --port P [--requests N]\n", argv[0]);
      return 2;
    }
  }
  if (port < 0 || port > 65535 || (requests != -1 && requests < 1)) {
    fprintf(stderr, "usage: %s --port P [--requests N]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  otlpx_config *cfg = NULL;
  otlpx_exporter *exp = NULL;
  if (otlpx_config_new(&cfg) != OTLPX_RESULT_OK) return 1;
  const char *svc = getenv("OTEL_SERVICE_NAME");
  if (!svc || !*svc) otlpx_config_set_env(cfg, OTLPX_LIT("OTEL_SERVICE_NAME"), OTLPX_LIT("c-http-server"));
  otlpx_config_set_default_scope(cfg, OTLPX_LIT("io.otlpx.examples.http_server"), OTLPX_LIT("1.0.0"));
  otlpx_result rc = otlpx_exporter_new(cfg, &exp);
  otlpx_config_free(cfg);
  if (rc != OTLPX_RESULT_OK) {
    fprintf(stderr, "http_server: cannot create the exporter: %s\n", otlpx_result_message(rc));
    return 1;
  }
  uint32_t scope = 0;
  otlpx_exporter_default_scope(exp, &scope);

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((uint16_t)port);
  socklen_t alen = sizeof addr;
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 64) != 0 ||
      getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
    perror("http_server: listen");
    otlpx_exporter_free(exp);
    return 1;
  }
  int actual = ntohs(addr.sin_port);
  printf("listening on 127.0.0.1:%d\n", actual);
  fflush(stdout);

  long handled = 0;
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      perror("http_server: accept");
      break;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int stop = serve(exp, scope, actual, fd);
    shutdown(fd, SHUT_WR);
    close(fd);
    if (stop) break;
    if (requests > 0 && ++handled >= requests) break;
  }
  close(lfd);

  otlpx_outcome out;
  rc = otlpx_exporter_shutdown(exp, 5000, &out);
  otlpx_stats st;
  otlpx_exporter_stats(exp, &st);
  fprintf(stderr, "http_server: shutdown %s; accepted %" PRIu64 ", exported %" PRIu64 "\n", otlpx_result_message(rc),
          st.accepted, st.exported);
  otlpx_exporter_free(exp);
  return 0;
}
