#!/usr/bin/env bash
# The Go frontend's checks, from a clean checkout (CI calls it from
# scripts/test.sh): builds the release static library the cgo package links
# (target/release/libotlpx.a), then `go vet` and `go test` of go/ (cgo link
# test, SDK exporter, direct API, zero-allocation check, the shared
# scenarios) and examples/go (the Kloudfuse guide's service against a
# loopback OTLP receiver; the cross-language traceparent test with the C
# http_server when examples/c can build it), the Rust comparator over the Go
# scenario transcripts, and a one-iteration smoke run of the benchmarks (no
# timing is asserted). Idempotent.
#
# Modules come from the Go module proxy through the module cache and are
# checked against the committed go.sum (-mod=readonly); GOTOOLCHAIN=local.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

step() { printf '\n== go: %s\n' "$*"; }

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=1
command -v go >/dev/null || { echo "go.sh: go is required (Go >= 1.26)"; exit 1; }
command -v cargo >/dev/null || { echo "go.sh: cargo is required"; exit 1; }
go version

step "cargo build --release -p otlpx-ffi (target/release/libotlpx.a)"
# The cgo flags name <repo>/target/release/libotlpx.a, so build there
# whatever CARGO_TARGET_DIR says.
CARGO_TARGET_DIR="$repo/target" cargo build --release -p otlpx-ffi
test -f target/release/libotlpx.a
# Go's build cache does not hash a library named in #cgo LDFLAGS: without
# this, a rebuilt libotlpx.a can be skipped in favour of a cached link.
# A define carrying the library's hash puts it in the cgo package's cache key.
CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DOTLPX_LIB_ID=$(sha1sum target/release/libotlpx.a | cut -c1-16)"
export CGO_CFLAGS

step "go mod download"
(cd go && go mod download)
(cd examples/go && go mod download)

if [[ -f examples/c/Makefile ]] && command -v make >/dev/null; then
    step "make -C examples/c http_server (for the cross-language test)"
    CARGO_TARGET_DIR="$repo/target" make -C examples/c http_server \
        || CARGO_TARGET_DIR="$repo/target" make -C examples/c build/http_server \
        || echo "go.sh: the C http_server did not build; the cross-language test will skip (and say why)"
fi

step "go vet"
(cd go && go vet ./...)
(cd examples/go && go vet ./...)

transcripts="$repo/target/go-transcripts"
rm -rf "$transcripts"
mkdir -p "$transcripts"

step "go test ./... in go/ (scenario transcripts to $transcripts)"
(cd go && OTLPX_TRANSCRIPT_DIR="$transcripts" go test -count=1 ./...)

step "go test ./... in examples/go"
(cd examples/go && go test -count=1 -v ./...)

step "scenario transcripts through the Rust comparator"
OTLPX_SCENARIO_TRANSCRIPTS="$transcripts" cargo test -p otlpx-core --test scenarios transcripts

step "benchmark smoke (1 iteration each, not timed)"
(cd go && go test -count=1 -run XXX -bench . -benchtime 1x ./otlpx)

echo
echo "go: all checks passed"
