#!/usr/bin/env bash
# Builds otelcol-receiver (the real OpenTelemetry Collector OTLP receiver in a
# tiny Go main, see main.go) and prints the binary's absolute path on stdout.
#
# Usage: tests/collector/build.sh [OUT_DIR]
#   OUT_DIR defaults to <repo>/target/collector; the binary is OUT_DIR/otelcol-receiver.
#
# Idempotent: a stamp file next to the binary records a hash of go.mod, go.sum,
# main.go and the Go version; when it matches, nothing is built. Modules come
# from the Go module proxy through the ordinary module cache (GOMODCACHE) and
# are checked against the committed go.sum (-mod=readonly: go.sum is never
# rewritten). GOTOOLCHAIN=local: never downloads another Go toolchain.
# Everything but the final path goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out_dir="${1:-$repo/target/collector}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
bin="$out_dir/otelcol-receiver"
stamp="$bin.stamp"

export GOTOOLCHAIN=local
if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: 'go' not found on PATH (Go >= 1.26 needed)" >&2
    exit 1
fi
go_version="$(go env GOVERSION)"
case "$go_version" in
    go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
    *)
        echo "build.sh: $go_version is too old, go.mod needs Go >= 1.26" >&2
        exit 1
        ;;
esac

want="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -d' ' -f1) $go_version $(go env GOOS)/$(go env GOARCH)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "build.sh: $bin is up to date" >&2
    echo "$bin"
    exit 0
fi

echo "build.sh: building $bin with $go_version (first build downloads ~70 modules, ~340 MB, and compiles for ~1.5-2.5 min on 2 cores)" >&2
start=$(date +%s)
rm -f "$stamp"
(
    cd "$here"
    # -trimpath and -s -w: smaller, reproducible binary; CGO off: static, no C toolchain needed.
    CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags="-s -w" -o "$bin.tmp" .
)
mv -f "$bin.tmp" "$bin"
echo "$want" >"$stamp"
echo "build.sh: built in $(($(date +%s) - start))s, $(du -h "$bin" | cut -f1)" >&2
echo "$bin"
