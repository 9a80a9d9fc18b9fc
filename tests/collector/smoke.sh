#!/usr/bin/env bash
# Smoke test for otelcol-receiver: builds it (build.sh, cached), then runs the
# Go tests of this module, which
#   - start the real otlpreceiver in-process and send OTLP/HTTP protobuf,
#     gzip and JSON, OTLP/gRPC, TLS and mTLS requests, and
#   - run the built binary as a subprocess on a free loopback port, wait for
#     "READY <port>", POST a protobuf ExportTraceServiceRequest carrying every
#     attribute type, check that it lands in -out as one OTLP/JSON line that
#     decodes back to exactly what was sent, then SIGTERM it and expect exit 0.
#
# Usage: tests/collector/smoke.sh [OUT_DIR]   (OUT_DIR as for build.sh)
# Only 127.0.0.1 is used. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$("$here/build.sh" "$@")"

export GOTOOLCHAIN=local
cd "$here"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# Same CGO_ENABLED/-trimpath as build.sh, so the packages it compiled are reused from the build cache.
OTELCOL_RECEIVER_BIN="$bin" CGO_ENABLED=0 go test -mod=readonly -trimpath -count=1 -timeout 120s -v . >"$log" 2>&1 || status=$?
cat "$log"
if [[ $status -ne 0 ]]; then
    echo "smoke.sh: FAILED (go test exit $status)" >&2
    exit 1
fi
if ! grep -q -- '--- PASS: TestSubprocess' "$log"; then
    echo "smoke.sh: FAILED (TestSubprocess did not run against the binary)" >&2
    exit 1
fi
echo "smoke.sh: ok ($bin)"
