#!/usr/bin/env bash
# Every test otlpx has, from a fresh checkout: formatting, lints, the Rust
# test suites (unit, property, integration against real receivers on
# loopback, the OpenTelemetry Collector's OTLP receiver built from Go
# modules), the C and Go frontends, the WebAssembly frontend (Node, headless
# Chromium, wasmtime), and a build of every benchmark. It installs what it
# needs (wasm target, wasm-bindgen-cli, Chromium, npm and PyPI packages, Go
# modules). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
if command -v rustup >/dev/null; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi
command -v go >/dev/null || { echo "go is required for the OpenTelemetry Collector receiver test"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
cargo --version; go version

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "OpenTelemetry Collector OTLP receiver (Go modules)"
bash tests/collector/build.sh target/collector

step "cargo test"
cargo test --workspace

step "C ABI: tests under ASan/UBSan and valgrind, scenarios, examples (scripts/c.sh)"
bash scripts/c.sh

step "Go package, example, cross-language trace test, scenarios (scripts/go.sh)"
bash scripts/go.sh

step "WebAssembly: Node tests, scenarios, Node and browser examples (headless Chromium), size budget (scripts/wasm.sh)"
bash scripts/wasm.sh

step "WebAssembly without JavaScript: the plain C-ABI module in wasmtime, byte-equal to native (wasm/plain/test.sh)"
bash wasm/plain/test.sh

step "cargo bench --no-run"
cargo bench --workspace --no-run

echo
echo "all checks passed"
