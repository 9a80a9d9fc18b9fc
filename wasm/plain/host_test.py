"""A wasm host without JavaScript: otlpx's plain C-ABI module loaded by wasmtime (Python).

Owns: the host side of the plain module's contract (alloc, write input, encode,
read the request, free) and the checks that its bytes equal the native
encoder's for the same input.
Must not: build anything (test.sh builds the module and the native files).

Checks:
1. This script's own port of the standard batch generator and of the plain
   input writer produces exactly the input the Rust side wrote
   (`standard.input`): a host can write real input itself.
2. For every case `<name>.input` in the cases directory (the standard batch,
   every AnyValue kind, tight span limits), the wasm module's request equals
   `<name>.native.pb`, which the native build of the same code wrote, byte for
   byte. The standard request also has the length and FNV-1a 64 of
   benches/src/lib.rs (read from that file, so they cannot drift).
3. Malformed inputs and NULL out-parameters are result codes (no trap), and
   repeated encode/free does not grow the module's memory.

Usage: host_test.py --wasm otlpx_wasm_plain.wasm --cases DIR --benches-lib benches/src/lib.rs
Prints one line per check and PASS or FAIL; exits 0 only on PASS.
"""

import argparse
import importlib.metadata
import pathlib
import re
import struct
import sys

import wasmtime

# ---------------------------------------------------------------------------
# The plain input layout (wasm/plain/src/input.rs), written from Python.

NO_VALUE_LENGTH_LIMIT = 0xFFFF_FFFF
DEFAULT_LIMITS = (128, NO_VALUE_LENGTH_LIMIT, 128, 128, 128, 128)
SPAN_KIND_SERVER = 2
STATUS_OK = 1


class InputWriter:
    """Writes `OXPI` version 1: little-endian, u32-length-prefixed strings and lists."""

    def __init__(self, limits, resource_attrs, group_count, resource_dropped=0, resource_schema_url=""):
        self.b = bytearray(b"OXPI")
        self.u32(1)
        for v in limits:
            self.u32(v)
        self.attrs(resource_attrs)
        self.u32(resource_dropped)
        self.str(resource_schema_url)
        self.u32(group_count)

    def u8(self, v):
        self.b.append(v)

    def u32(self, v):
        self.b += struct.pack("<I", v)

    def u64(self, v):
        self.b += struct.pack("<Q", v)

    def raw(self, data):
        self.b += data

    def bytes(self, data):
        self.u32(len(data))
        self.b += data

    def str(self, s):
        self.bytes(s.encode("utf-8"))

    def attrs(self, kvs):
        """kvs: list of (key, value); value is str, bool, int, float, bytes,
        list (array) or ("kvlist", [(key, value), ...])."""
        self.u32(len(kvs))
        for k, v in kvs:
            self.str(k)
            self.value(v)

    def value(self, v):
        if isinstance(v, str):
            self.u8(1)
            self.str(v)
        elif isinstance(v, bool):
            self.u8(2)
            self.u8(int(v))
        elif isinstance(v, int):
            self.u8(3)
            self.b += struct.pack("<q", v)
        elif isinstance(v, float):
            self.u8(4)
            self.b += struct.pack("<d", v)
        elif isinstance(v, (bytes, bytearray)):
            self.u8(5)
            self.bytes(v)
        elif isinstance(v, list):
            self.u8(6)
            self.u32(len(v))
            for x in v:
                self.value(x)
        elif isinstance(v, tuple) and v[0] == "kvlist":
            self.u8(7)
            self.attrs(v[1])
        else:
            raise TypeError(f"no AnyValue for {v!r}")

    def group_header(self, name, version, span_count, attrs=(), dropped=0, schema_url=""):
        self.str(name)
        self.str(version)
        self.attrs(list(attrs))
        self.u32(dropped)
        self.str(schema_url)
        self.u32(span_count)

    def span(self, s):
        """s: dict with the span's fields (the standard batch's subset: one
        event, no links, OK status, no trace state)."""
        self.raw(s["trace_id"])
        self.raw(s["span_id"])
        self.str("")  # trace_state
        self.u8(1)  # has_parent
        self.raw(s["parent_span_id"])
        self.u32(s["flags"])
        self.str(s["name"])
        self.u8(s["kind"])
        self.u64(s["start"])
        self.u64(s["end"])
        self.attrs(s["attributes"])
        self.u32(0)  # dropped attributes
        self.u32(len(s["events"]))
        for time, name, attrs in s["events"]:
            self.u64(time)
            self.str(name)
            self.attrs(attrs)
            self.u32(0)
        self.u32(0)  # dropped events
        self.u32(0)  # links
        self.u32(0)  # dropped links
        self.u8(s["status"])
        self.str("")  # status message


# ---------------------------------------------------------------------------
# The standard batch (benches/src/lib.rs), ported.

SEED = 0x6F74_6C70_785F_0496
SPANS = 512
BASE_TIME_UNIX_NANO = 1_764_028_800_000_000_000
SPAN_FLAGS = 0x301
M64 = (1 << 64) - 1
ROUTES = [
    ("GET", "/api/v1/customers/{customer_id}", "/api/v1/customers/{a}", 200),
    ("GET", "/api/v1/customers/{customer_id}/orders", "/api/v1/customers/{a}/orders", 200),
    ("GET", "/api/v1/orders/{order_id}/items/{item_id}", "/api/v1/orders/{a}/items/{b}", 200),
    ("POST", "/api/v1/carts/{cart_id}/checkout", "/api/v1/carts/{a}/checkout", 201),
    ("PUT", "/api/v1/carts/{cart_id}/items/{item_id}", "/api/v1/carts/{a}/items/{b}", 200),
    ("DELETE", "/api/v1/carts/{cart_id}/items/{item_id}", "/api/v1/carts/{a}/items/{b}", 204),
    ("GET", "/api/v1/catalog/products/{product_id}/reviews", "/api/v1/catalog/products/{a}/reviews", 200),
    ("GET", "/api/v1/catalog/search", "/api/v1/catalog/search", 200),
]
HOSTS = [
    ("checkout-api.shop.svc.cluster.local", 8080),
    ("checkout-canary.shop.internal", 8080),
    ("api.shop.example.com", 443),
]
RESOURCE_ATTRIBUTES = [
    ("service.name", "checkout-api"),
    ("service.namespace", "shop"),
    ("deployment.environment.name", "production"),
    ("host.name", "ip-10-42-17-203.eu-west-1.compute.internal"),
    ("telemetry.sdk.language", "rust"),
]
SCOPE_NAME = "otlpx.bench/http-server"
SCOPE_VERSION = "1.4.0"


class SplitMix64:
    def __init__(self, seed):
        self.s = seed

    def next(self):
        self.s = (self.s + 0x9E37_79B9_7F4A_7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & M64
        return z ^ (z >> 31)


def id_bytes(b):
    return b if any(b) else b[:-1] + b"\x01"


def standard_spans():
    rng = SplitMix64(SEED)
    for i in range(SPANS):
        d = [rng.next() for _ in range(13)]
        method, route, path, status_code = ROUTES[d[4] % len(ROUTES)]
        path = path.replace("{a}", str(d[5] % 1_000_000)).replace("{b}", str(d[6] % 100_000))
        address, port = HOSTS[d[7] % len(HOSTS)]
        duration_ns = 250_000 + d[8] % 120_000_000
        start = BASE_TIME_UNIX_NANO + i * 2_000_000 + d[9] % 2_000_000
        yield {
            "trace_id": id_bytes(d[0].to_bytes(8, "big") + d[1].to_bytes(8, "big")),
            "span_id": id_bytes(d[2].to_bytes(8, "big")),
            "parent_span_id": id_bytes(d[3].to_bytes(8, "big")),
            "flags": SPAN_FLAGS,
            "name": f"{method} {route}",
            "kind": SPAN_KIND_SERVER,
            "start": start,
            "end": start + duration_ns,
            "attributes": [
                ("http.request.method", method),
                ("url.path", path),
                ("http.route", route),
                ("server.address", address),
                ("http.response.status_code", status_code),
                ("server.port", port),
                ("http.request.resend", d[12] % 20 == 0),
                ("http.server.request.duration", duration_ns / 1e9),
            ],
            "events": [
                (
                    start + d[10] % duration_ns,
                    "message",
                    [("message.type", "SENT"), ("message.uncompressed_size", d[11] % 65_536)],
                )
            ],
            "status": STATUS_OK,
        }


def standard_input():
    w = InputWriter(DEFAULT_LIMITS, RESOURCE_ATTRIBUTES, 1)
    w.group_header(SCOPE_NAME, SCOPE_VERSION, SPANS)
    for s in standard_spans():
        w.span(s)
    return bytes(w.b)


def fnv1a64(data):
    h = 0xCBF2_9CE4_8422_2325
    for b in data:
        h = ((h ^ b) * 0x0000_0100_0000_01B3) & M64
    return h


def benches_constants(lib_rs):
    text = pathlib.Path(lib_rs).read_text()
    length = re.search(r"STANDARD_REQUEST_LEN: usize = ([0-9_]+);", text)
    fnv = re.search(r"STANDARD_REQUEST_FNV1A64: u64 = (0x[0-9a-fA-F_]+);", text)
    if not length or not fnv:
        raise RuntimeError(f"{lib_rs}: STANDARD_REQUEST_LEN / STANDARD_REQUEST_FNV1A64 not found")
    return int(length.group(1).replace("_", "")), int(fnv.group(1).replace("_", ""), 16)


# ---------------------------------------------------------------------------
# The host.

RESULT_CODES = {
    0: "Ok", 1: "NullParameter", 2: "InvalidArgument", 3: "Truncated", 4: "BadMagic",
    5: "UnsupportedVersion", 6: "InvalidUtf8", 7: "InvalidTag", 8: "TooDeep",
    9: "TrailingBytes", 10: "OutOfMemory", 11: "Panic",
}


class PlainModule:
    """The plain module in a wasmtime store: no imports, no WASI, no JavaScript."""

    def __init__(self, wasm_path):
        self.engine = wasmtime.Engine()
        self.store = wasmtime.Store(self.engine)
        self.module = wasmtime.Module.from_file(self.engine, str(wasm_path))
        self.imports = [(i.module, i.name) for i in self.module.imports]
        self.instance = wasmtime.Instance(self.store, self.module, [])
        ex = self.instance.exports(self.store)
        self.memory = ex["memory"]
        self.alloc = ex["otlpx_plain_alloc"]
        self.free = ex["otlpx_plain_free"]
        self.encode_fn = ex["otlpx_plain_encode"]
        self.error_offset = ex["otlpx_plain_error_offset"]
        self.result_message_fn = ex["otlpx_plain_result_message"]
        self.abi_version = ex["otlpx_plain_abi_version"](self.store)

    def pages(self):
        return self.memory.size(self.store)

    def encode(self, data, out_null=False):
        """Returns (result code, request bytes or None)."""
        s = self.store
        n = len(data)
        p = self.alloc(s, n) if n else 0
        if n and p == 0:
            raise MemoryError("otlpx_plain_alloc failed")
        if n:
            self.memory.write(s, data, p)
        q = self.alloc(s, 8)
        try:
            code = self.encode_fn(s, p, n, 0 if out_null else q, q + 4)
            if code != 0:
                return code, None
            rp, rl = struct.unpack("<II", self.memory.read(s, q, q + 8))
            request = bytes(self.memory.read(s, rp, rp + rl))
            self.free(s, rp, rl)
            return code, request
        finally:
            self.free(s, q, 8)
            if n:
                self.free(s, p, n)

    def result_message(self, code):
        p = self.result_message_fn(self.store, code)
        raw = self.memory.read(self.store, p, p + 256)
        return bytes(raw[: raw.index(0)]).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wasm", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--benches-lib", required=True)
    args = ap.parse_args()
    failures = []

    def check(name, ok, detail=""):
        print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        if not ok:
            failures.append(name)

    cases = pathlib.Path(args.cases)
    m = PlainModule(args.wasm)
    print(f"module {args.wasm}: {pathlib.Path(args.wasm).stat().st_size} bytes, ABI {m.abi_version}, "
          f"wasmtime (PyPI) {importlib.metadata.version('wasmtime')}")
    check("module has no imports (no JavaScript, no WASI)", m.imports == [], repr(m.imports))

    # 1. The host writes the standard batch itself.
    py_input = standard_input()
    rust_input = (cases / "standard.input").read_bytes()
    check("Python-written standard input == Rust-written standard.input",
          py_input == rust_input, f"{len(py_input)} vs {len(rust_input)} bytes")

    # 2. wasm == native, byte for byte, on every case.
    expected_len, expected_fnv = benches_constants(args.benches_lib)
    names = sorted(p.name[: -len(".input")] for p in cases.glob("*.input"))
    check("cases found", {"standard", "every_anyvalue_kind"} <= set(names), ", ".join(names))
    for name in names:
        data = py_input if name == "standard" else (cases / f"{name}.input").read_bytes()
        native = (cases / f"{name}.native.pb").read_bytes()
        code, wasm = m.encode(data)
        if code != 0:
            check(f"{name}: wasm encode", False, f"result {code} {RESULT_CODES.get(code)} at {m.error_offset(m.store)}")
            continue
        first_diff = next((i for i, (a, b) in enumerate(zip(wasm, native)) if a != b), min(len(wasm), len(native)))
        check(f"{name}: wasm request == native request ({len(native)} bytes)", wasm == native,
              "" if wasm == native else f"{len(wasm)} vs {len(native)} bytes, first difference at {first_diff}")
        if name == "standard":
            check("standard: length == STANDARD_REQUEST_LEN", len(wasm) == expected_len, f"{len(wasm)}")
            fnv = fnv1a64(wasm)
            check("standard: FNV-1a 64 == STANDARD_REQUEST_FNV1A64", fnv == expected_fnv, f"{fnv:#018x}")

    # 3. Errors are result codes, never traps; memory is returned.
    def expect_code(what, data, want, **kw):
        code, _ = m.encode(data, **kw)
        check(f"error: {what} -> {RESULT_CODES.get(want)}", code == want,
              f"got {code} {RESULT_CODES.get(code)} ({m.result_message(code)!r}) at offset {m.error_offset(m.store)}")

    expect_code("empty input", b"", 4)
    expect_code("wrong magic", b"OXPJ" + py_input[4:], 4)
    expect_code("version 2", py_input[:4] + struct.pack("<I", 2) + py_input[8:], 5)
    expect_code("truncated standard input", py_input[:-1], 3)
    expect_code("trailing byte", py_input + b"\0", 9)
    key_at = 4 + 4 + 24 + 4  # magic, version, limits, resource attribute count
    bad = bytearray(py_input)
    bad[key_at + 4] = 0xFF
    expect_code("invalid UTF-8 in a key", bytes(bad), 6)
    check("error offset points at the key", m.error_offset(m.store) == key_at, f"{m.error_offset(m.store)}")
    deep = InputWriter(DEFAULT_LIMITS, [("deep", [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])], 0)
    expect_code("33 levels of nesting", bytes(deep.b), 8)
    expect_code("NULL out-parameter", py_input, 1, out_null=True)
    check("result messages", m.result_message(4) == "the input does not start with OXPI"
          and m.result_message(99) == "unknown result code", m.result_message(4))

    pages = m.pages()
    for _ in range(20):
        m.encode(py_input)
    check("20 more encodes of the standard batch do not grow memory", m.pages() == pages,
          f"{pages} -> {m.pages()} pages of 64 KiB")

    print("PASS" if not failures else f"FAIL ({len(failures)}: {', '.join(failures)})")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
