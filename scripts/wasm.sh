#!/usr/bin/env bash
# Builds and tests the WebAssembly frontend (wasm/), from a clean checkout,
# idempotently: toolchain (wasm32 target, wasm-bindgen-cli matching Cargo.lock),
# npm packages (package-lock.json), the size-optimised wasm build,
# wasm-bindgen into wasm/pkg, wasm-opt (npm binaryen), the Node tests (unit,
# loopback receiver, retry), the shared scenarios, the Node example and the
# browser example in headless Chromium (Debian's chromium, driven by
# playwright-core from examples/wasm/browser/package-lock.json).
# The size budget (150 KB = 150,000 bytes of .wasm after wasm-bindgen and wasm-opt) is
# checked last, so a size regression still shows every test result.
#
# Env: OTLPX_WASM_SIZE_BUDGET (bytes, default 150000), OTLPX_WASM_TARGET_DIR
# (default target/wasm), OTLPX_WASM_SKIP_TOOLCHAIN=1 (toolchain already there),
# WASM_SH_CHROMIUM=0 (do not install chromium; the browser test then needs CHROMIUM=<path>).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
native_target=${CARGO_TARGET_DIR:-$root/target}

step() { printf '\n== wasm: %s\n' "$*"; }

step "toolchain"
if [ "${OTLPX_WASM_SKIP_TOOLCHAIN:-0}" != 1 ]; then
  eval "$(WASM_SH_CHROMIUM=${WASM_SH_CHROMIUM:-1} bash ../shared/toolchain/wasm.sh "$root/Cargo.lock" | grep ^export)"
fi
command -v node >/dev/null || { echo "node (>= 20) is required"; exit 1; }
command -v wasm-bindgen >/dev/null || { echo "wasm-bindgen-cli is required (../shared/toolchain/wasm.sh installs it)"; exit 1; }
node --version

step "npm ci (wasm/, examples/wasm/node/, examples/wasm/browser/)"
for d in wasm examples/wasm/node examples/wasm/browser; do
  if [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

step "cargo build (wasm32-unknown-unknown, size profile)"
export CARGO_TARGET_DIR=${OTLPX_WASM_TARGET_DIR:-$root/target/wasm}
# Size over speed for the module only: the workspace's release profile stays as it is.
# The otlpx-wasm crate itself (the packed-span reader, record's glue) is built for speed: 8 % less
# time per span in Node for 147 bytes (core at opt-level s would cost 11 KB, 1 or 2 23 KB).
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  CARGO_PROFILE_RELEASE_PANIC=abort CARGO_PROFILE_RELEASE_DEBUG=0
${OTLPX_WASM_CARGO:-cargo} build -q -p otlpx-wasm --target wasm32-unknown-unknown --release \
  --config 'profile.release.package.otlpx-wasm.opt-level=3' ${OTLPX_WASM_BUILD_STD:-}
raw=$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/otlpx_wasm.wasm

step "wasm-bindgen --target web -> wasm/pkg"
rm -rf wasm/pkg.tmp
wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir wasm/pkg.tmp "$raw"
# --flatten --rereloop before -Oz: about 1.3 KB smaller than -Oz alone, same speed within noise.
wasm/node_modules/.bin/wasm-opt --flatten --rereloop -Oz -Oz --converge --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
  wasm/pkg.tmp/otlpx_wasm_bg.wasm -o wasm/pkg.tmp/otlpx_wasm_bg.wasm
rm -rf wasm/pkg && mv wasm/pkg.tmp wasm/pkg
size=$(wc -c < wasm/pkg/otlpx_wasm_bg.wasm)
echo "otlpx_wasm_bg.wasm: $size bytes ($((size / 1024)) KiB)"

step "node tests (unit, loopback receiver, retry)"
# The receiver for the loopback tests: the workspace's `otlpx receive`.
export CARGO_TARGET_DIR=$native_target
cargo build -q -p otlpx --release
export OTLPX_BIN=$native_target/release/otlpx
(cd wasm && node --test --test-reporter=spec tests/*.test.mjs)

step "shared scenarios (scenarios/*.json through the wasm API)"
(cd wasm && node tests/scenarios.mjs)

step "example: examples/wasm/node against a loopback receiver"
node wasm/tests/run-example.mjs

step "example: examples/wasm/browser in headless Chromium (CORS, traceparent, server span, page-hide flush)"
(cd examples/wasm/browser && node test.mjs)

step "size budget"
budget=${OTLPX_WASM_SIZE_BUDGET:-150000}
if [ "$size" -gt "$budget" ]; then
  echo "FAIL: otlpx_wasm_bg.wasm is $size bytes, over the budget of $budget bytes"
  exit 1
fi
echo "ok: $size bytes <= $budget"
echo
echo "wasm: all checks passed"
