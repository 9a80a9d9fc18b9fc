#!/usr/bin/env bash
# The C side of otlpx, from a clean checkout: builds libotlpx (release), then
#  1. checks that tests/c calls every function libotlpx exports;
#  2. runs the C API tests (tests/c/test_api.c) under AddressSanitizer +
#     UndefinedBehaviorSanitizer + LeakSanitizer (static library), and under
#     valgrind (no sanitizers), one test exporting over real HTTP to
#     `otlpx receive` on loopback;
#  3. runs the shared scenarios through the C API (tests/c/scenarios.c, under
#     ASan) and checks the transcripts with the Rust comparator;
#  4. builds examples/c (static and shared) and runs them against the
#     receiver, including an http_server round trip with a traceparent;
#  5. builds benches/c/bench.c and runs a tiny smoke round (no timing
#     assertions; run it yourself for figures: see benches/c/bench.c).
# Exits non-zero on any failure. Installs missing Debian packages (gcc, make,
# valgrind, libcjson-dev) with apt-get when run as root.
#
# Environment: CARGO_TARGET_DIR (default target), OTLPX_C_SKIP_VALGRIND=1,
# OTLPX_C_SKIP_SCENARIO_CHECK=1 (skip the cargo checker).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
export CARGO_TARGET_DIR="$TARGET"
LIB="$TARGET/release"
OUT="$TARGET/c"
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'c.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- packages
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
command -v valgrind >/dev/null 2>&1 || [ "${OTLPX_C_SKIP_VALGRIND:-}" = 1 ] || need+=(valgrind)
[ -f /usr/include/cjson/cJSON.h ] || need+=(libcjson-dev)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  [ "$(id -u)" = 0 ] || fail "missing ${need[*]} (run as root, or install them)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# ---------------------------------------------------------------- build
step "cargo build --release -p otlpx-ffi -p otlpx"
cargo build --release -q -p otlpx-ffi -p otlpx
[ -f "$LIB/libotlpx.a" ] && [ -f "$LIB/libotlpx.so" ] || fail "libotlpx.a/.so not in $LIB"
# The static link line Rust asks for (cargo rustc --print native-static-libs), on Linux.
NATIVE_LIBS="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

step "every exported function is called by tests/c"
missing=0
for f in $(nm -D --defined-only "$LIB/libotlpx.so" | awk '$2 == "T" && $3 ~ /^otlpx_/ { print $3 }'); do
  if ! grep -qw "$f" tests/c/*.c; then echo "  not called: $f"; missing=1; fi
  grep -qw "$f" include/otlpx.h || { echo "  not in include/otlpx.h: $f"; missing=1; }
done
[ $missing = 0 ] || fail "tests/c misses exported functions"
echo "  $(nm -D --defined-only "$LIB/libotlpx.so" | awk '$2 == "T" && $3 ~ /^otlpx_/' | wc -l) functions, all called"

CFLAGS=(-std=c11 -g -O1 -Wall -Wextra -Werror -I include -I tests/c)
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
step "build the C tests (ASan+UBSan, and plain for valgrind)"
cc "${CFLAGS[@]}" "${SAN[@]}" tests/c/test_api.c -o "$OUT/test_api_asan" "$LIB/libotlpx.a" $NATIVE_LIBS
cc "${CFLAGS[@]}" tests/c/test_api.c -o "$OUT/test_api" "$LIB/libotlpx.a" $NATIVE_LIBS
cc "${CFLAGS[@]}" "${SAN[@]}" tests/c/scenarios.c -o "$OUT/scenarios_asan" "$LIB/libotlpx.a" -lcjson $NATIVE_LIBS

# ---------------------------------------------------------------- receiver
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# Waits until file $1 has a line matching $2 (at most $3 s); prints the line.
wait_line() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

step "start otlpx receive on loopback"
RX_LOG="$OUT/receiver.log"
: >"$RX_LOG"
"$LIB/otlpx" receive --port 0 >"$RX_LOG" 2>&1 &
PIDS+=($!)
RX_URL="$(wait_line "$RX_LOG" '^listening on ' 10 | sed 's/^listening on //')" || fail "the receiver did not start: $(cat "$RX_LOG")"
RX_BASE="${RX_URL%/v1/traces}"
echo "  $RX_URL"

# ---------------------------------------------------------------- tests
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
TEST_LOG="$OUT/test_api_asan.log"
step "C API tests under ASan+UBSan+LSan (log: $TEST_LOG)"
OTLPX_TEST_ENDPOINT="$RX_URL" "$OUT/test_api_asan" >"$TEST_LOG" 2>&1 || { grep -v '^otlpx \(warn\|error\)' "$TEST_LOG" | tail -80; fail "C API tests (ASan)"; }
grep -v '^otlpx \(warn\|error\)' "$TEST_LOG" | grep -v ' ok (' || true
grep -q '"c-real-http"' "$RX_LOG" || fail "the real-HTTP spans did not reach the receiver"

if [ "${OTLPX_C_SKIP_VALGRIND:-}" != 1 ]; then
  VG_LOG="$OUT/test_api_valgrind.log"
  step "C API tests under valgrind (log: $VG_LOG)"
  # --child-silent-after-fork: the fork test's child has no copy of the
  # parent's other threads, so their memory would look lost in it; the child
  # reports its own verdict through a pipe.
  OTLPX_TEST_ITERATIONS=300 OTLPX_TEST_ENDPOINT="$RX_URL" valgrind -q --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes "$OUT/test_api" >"$VG_LOG" 2>&1 ||
    { grep -v '^otlpx \(warn\|error\)' "$VG_LOG" | tail -80; fail "C API tests (valgrind)"; }
  grep -v '^otlpx \(warn\|error\)' "$VG_LOG" | tail -1
fi

TRANSCRIPTS="$OUT/scenario-transcripts"
rm -rf "$TRANSCRIPTS"
step "shared scenarios through C (ASan) -> $TRANSCRIPTS"
"$OUT/scenarios_asan" "$TRANSCRIPTS" scenarios/*.json || fail "C scenario runner"
if [ "${OTLPX_C_SKIP_SCENARIO_CHECK:-}" != 1 ]; then
  step "check the C transcripts with the Rust comparator"
  OTLPX_SCENARIO_TRANSCRIPTS="$TRANSCRIPTS" cargo test -q -p otlpx-core --test scenarios transcripts ||
    fail "C scenario transcripts"
fi

# ---------------------------------------------------------------- examples
step "examples/c: make (static and shared)"
make -s -C examples/c OUT="$OUT/examples" CARGO_TARGET_DIR="$TARGET" NATIVE_LIBS="$NATIVE_LIBS" \
  CFLAGS="-O2 -g -Wall -Wextra -Werror" static shared
for prog in main main_shared; do
  step "examples/c/$prog -> receiver"
  OTEL_EXPORTER_OTLP_ENDPOINT="$RX_BASE" OTEL_SERVICE_NAME="c-example-$prog" KF_API_KEY=example-secret \
    "$OUT/examples/$prog" >"$OUT/$prog.log" 2>&1 || { cat "$OUT/$prog.log"; fail "examples/c/$prog"; }
  grep -q 'kf-api-key=\*\*\*\*' "$OUT/$prog.log" || { cat "$OUT/$prog.log"; fail "$prog: no redacted kf-api-key in the config"; }
  ! grep -q 'example-secret' "$OUT/$prog.log" || fail "$prog printed the API key"
  tail -2 "$OUT/$prog.log"
done
wait_line "$RX_LOG" 'c-example-main_shared' 5 >/dev/null || fail "the examples' spans did not reach the receiver"

step "examples/c/http_server: a request with a traceparent joins the caller's trace"
HS_LOG="$OUT/http_server.log"
: >"$HS_LOG"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="$RX_URL" OTEL_SERVICE_NAME=c-http-server-check \
  "$OUT/examples/http_server" --port 0 --requests 3 >"$HS_LOG" 2>&1 &
HS_PID=$!
PIDS+=($HS_PID)
HS_PORT="$(wait_line "$HS_LOG" '^listening on 127\.0\.0\.1:[0-9]+$' 10 | sed 's/.*://')" || fail "http_server did not start: $(cat "$HS_LOG")"
# GET <path> with extra header lines; prints the response.
http_get() {
  local path=$1 extra=$2
  exec 3<>"/dev/tcp/127.0.0.1/$HS_PORT"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUser-Agent: c.sh\r\n%sConnection: close\r\n\r\n' "$path" "$HS_PORT" "$extra" >&3
  timeout 10 cat <&3
  exec 3<&-
}
TRACE=0af7651916cd43dd8448eb211c80319c
PARENT=b7ad6b7169203331
R1="$(http_get /hello "traceparent: 00-$TRACE-$PARENT-01"$'\r\n'"tracestate: vendor=c-sh"$'\r\n')"
R2="$(http_get /hello "traceparent: 00-${TRACE^^}-$PARENT-01"$'\r\n')"   # uppercase: invalid
R3="$(http_get /missing '')"
echo "$R1" | grep -q '^HTTP/1.1 200' || fail "http_server /hello: $R1"
echo "$R3" | grep -q '^HTTP/1.1 404' || fail "http_server /missing: $R3"
TP1="$(echo "$R1" | grep -o '"traceparent":"[^"]*"' | cut -d'"' -f4)"
TP2="$(echo "$R2" | grep -o '"traceparent":"[^"]*"' | cut -d'"' -f4)"
[[ "$TP1" == 00-$TRACE-*-01 ]] || fail "server span not in the caller's trace: $TP1"
[[ "$TP2" =~ ^00-[0-9a-f]{32}-[0-9a-f]{16}-01$ && "$TP2" != 00-$TRACE-* ]] || fail "a malformed traceparent did not start a new trace: $TP2"
SPAN1="$(echo "$TP1" | cut -d- -f3)"
for ((i = 0; i < 100; i++)); do kill -0 "$HS_PID" 2>/dev/null || break; sleep 0.1; done
wait "$HS_PID" || fail "http_server exited non-zero: $(cat "$HS_LOG")"
wait_line "$RX_LOG" "\"GET /hello\" SERVER trace=$TRACE span=$SPAN1 parent=$PARENT" 5 >/dev/null ||
  fail "the receiver did not get the server span as the caller's child (trace $TRACE, span $SPAN1, parent $PARENT)"
wait_line "$RX_LOG" "\"GET /hello\" SERVER trace=${TP2:3:32} span=[0-9a-f]{16} parent=- " 5 >/dev/null ||
  fail "the receiver did not get the new-trace server span (${TP2:3:32})"
echo "  server span $SPAN1 is a child of $PARENT in trace $TRACE; the malformed header started trace ${TP2:3:32}"

# ---------------------------------------------------------------- bench
step "benches/c/bench.c: build (-O2, release static lib) and smoke run"
cc -std=c11 -O2 -Wall -Wextra -Werror -I include benches/c/bench.c -o "$OUT/bench" "$LIB/libotlpx.a" $NATIVE_LIBS
"$OUT/bench" --spans 2000 --rounds 1 >/dev/null || fail "bench smoke run"
echo "  ok (figures: $OUT/bench, on a quiet machine)"

printf '\nc.sh: all C checks passed\n'
