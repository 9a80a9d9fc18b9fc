#!/usr/bin/env bash
# The plain C-ABI wasm module, tested in a host without JavaScript, from a clean
# checkout and idempotently:
#   1. the wasm32-unknown-unknown target (rustup, else ../shared/toolchain/wasm.sh);
#   2. the module: cargo build -p otlpx-wasm-plain --lib --release --target wasm32-unknown-unknown;
#   3. the native side: cargo test -p otlpx-wasm-plain, then the native_inputs example
#      writes each case's input and the native encoder's request;
#   4. a Python venv (target/pyenv) with wasmtime pinned in requirements.txt;
#   5. host_test.py loads the module in wasmtime and compares its requests with the
#      native ones byte for byte.
# Prints PASS or FAIL as its last line; exits 0 only on PASS.
# Honours CARGO_TARGET_DIR (default: target/ of the workspace).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cases="$target/plain-cases"
venv="$root/target/pyenv"

fail() { echo "wasm/plain/test.sh: $*" >&2; echo "wasm/plain: FAIL"; exit 1; }
step() { printf '\n== %s\n' "$*"; }

step "wasm target"
wasm_cargo=(cargo)
build_std=()
toolchain="$root/../shared/toolchain/wasm.sh"
if command -v rustup >/dev/null && rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  :
elif [ -f "$toolchain" ]; then
  exports=$(WASM_SH_CHROMIUM=0 bash "$toolchain" "$root/Cargo.lock" 2>/dev/null | grep '^export') \
    || fail "$toolchain failed"
  eval "$exports"
  if [ "${OTLPX_WASM_FALLBACK:-0}" = 1 ]; then
    # Debian's rustc-web: build std for the target (see wasm.sh).
    read -r -a wasm_cargo <<<"$OTLPX_WASM_CARGO"
    read -r -a build_std <<<"$OTLPX_WASM_BUILD_STD"
  fi
else
  rustup target add wasm32-unknown-unknown >/dev/null || fail "cannot add the wasm32-unknown-unknown target"
fi
echo "ready"

step "build the plain module (wasm32-unknown-unknown, release)"
"${wasm_cargo[@]}" build -q -p otlpx-wasm-plain --lib --release --target wasm32-unknown-unknown "${build_std[@]}" \
  || fail "wasm build failed"
wasm="$target/wasm32-unknown-unknown/release/otlpx_wasm_plain.wasm"
[ -f "$wasm" ] || fail "$wasm not found"
ls -l "$wasm"

step "native tests and native requests"
cargo test -q -p otlpx-wasm-plain || fail "native tests failed"
cargo run -q -p otlpx-wasm-plain --example native_inputs -- "$cases" || fail "native_inputs failed"

step "Python venv with wasmtime ($venv)"
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 ships venv separately.
    rm -rf "$venv"
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1; }
    fi
    python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" \
  || fail "pip install -r wasm/plain/requirements.txt failed"

step "wasm host without JavaScript: wasmtime (Python)"
"$venv/bin/python" "$here/host_test.py" --wasm "$wasm" --cases "$cases" --benches-lib "$root/benches/src/lib.rs"
rc=$?
echo
if [ $rc -eq 0 ]; then echo "wasm/plain: PASS"; else echo "wasm/plain: FAIL"; fi
exit $rc
