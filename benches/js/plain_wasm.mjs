// otlpx's plain C-ABI wasm module (wasm/plain) in Node, with no glue: the
// input layout written from JS, WebAssembly.instantiate, encode, copy out.
//
// Owns: the JS writer of the plain input layout (wasm/plain/README.md) for
// the standard batch, and a small wrapper over the module's exports.
// Must not: encode protobuf in JS (the module does) or measure anything.

import { readFileSync } from 'node:fs';
import { SCOPE_NAME, SCOPE_VERSION, EVENT_NAME, RESOURCE_ATTRIBUTES, SPAN_FLAGS } from './standard_batch.mjs';

const NO_LIMIT = 0xffff_ffff;
const DEFAULT_LIMITS = [128, NO_LIMIT, 128, 128, 128, 128];
const utf8 = new TextEncoder();

/** Grows as needed; `finish()` returns the written bytes (a view). */
export class InputWriter {
  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }
  reserve(n) {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u8(v) { this.reserve(1); this.buf[this.pos++] = v; }
  u32(v) { this.reserve(4); this.view.setUint32(this.pos, v, true); this.pos += 4; }
  u64(v) { this.reserve(8); this.view.setBigUint64(this.pos, v, true); this.pos += 8; }
  i64(v) { this.reserve(8); this.view.setBigInt64(this.pos, BigInt(v), true); this.pos += 8; }
  f64(v) { this.reserve(8); this.view.setFloat64(this.pos, v, true); this.pos += 8; }
  raw(bytes) { this.reserve(bytes.length); this.buf.set(bytes, this.pos); this.pos += bytes.length; }
  str(s) {
    const n = s.length;
    this.reserve(4 + 3 * n); // at most 3 bytes per UTF-16 unit
    const buf = this.buf;
    const at = this.pos + 4;
    // ASCII fast path (TextEncoder costs ~100 ns per call on short strings).
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at + i] = c;
    }
    let written = i;
    if (i < n) written = utf8.encodeInto(s, buf.subarray(at)).written;
    this.view.setUint32(this.pos, written, true);
    this.pos = at + written;
  }
  /** A signed 64-bit int from a Number (safe integer) or a BigInt. */
  int(v) {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.u32(v >>> 0);
      this.u32(Math.floor(v / 0x1_0000_0000));
    } else {
      this.i64(v);
    }
  }
  /** kvs: [key, value] pairs; value a string, boolean, BigInt (int), number (double),
   *  or ['int', Number] (an integer kept as a Number). */
  attrs(kvs) {
    this.u32(kvs.length);
    for (const [k, v] of kvs) {
      this.str(k);
      switch (typeof v) {
        case 'string': this.u8(1); this.str(v); break;
        case 'boolean': this.u8(2); this.u8(v ? 1 : 0); break;
        case 'bigint': this.u8(3); this.i64(v); break;
        case 'number': this.u8(4); this.f64(v); break;
        case 'object': this.u8(3); this.int(v[1]); break;
        default: throw new TypeError(`no AnyValue for ${typeof v}`);
      }
    }
  }
  // One key-value each, without building pair arrays (after a `u32` count).
  kvStr(k, v) { this.str(k); this.u8(1); this.str(v); }
  kvBool(k, v) { this.str(k); this.u8(2); this.u8(v ? 1 : 0); }
  kvInt(k, v) { this.str(k); this.u8(3); this.int(v); }
  kvDouble(k, v) { this.str(k); this.u8(4); this.f64(v); }
  finish() { return this.buf.subarray(0, this.pos); }
}

/** The standard batch (generateStandardBatch()) as plain input. */
export function standardInput(batch, w = new InputWriter(300_000)) {
  w.pos = 0;
  w.raw(utf8.encode('OXPI'));
  w.u32(1);
  for (const v of DEFAULT_LIMITS) w.u32(v);
  w.attrs(RESOURCE_ATTRIBUTES);
  w.u32(0); // dropped
  w.str(''); // schema_url
  w.u32(1); // groups
  w.str(SCOPE_NAME);
  w.str(SCOPE_VERSION);
  w.u32(0); w.u32(0); w.str(''); // scope attrs, dropped, schema_url
  w.u32(batch.length);
  for (const s of batch) {
    w.raw(s.trace_id);
    w.raw(s.span_id);
    w.str('');
    w.u8(1);
    w.raw(s.parent_span_id);
    w.u32(SPAN_FLAGS);
    w.str(s.name);
    w.u8(2); // SERVER
    w.u64(s.start_time_unix_nano);
    w.u64(s.end_time_unix_nano);
    w.u32(8);
    w.kvStr('http.request.method', s.method);
    w.kvStr('url.path', s.path);
    w.kvStr('http.route', s.route);
    w.kvStr('server.address', s.server_address);
    w.kvInt('http.response.status_code', s.status_code);
    w.kvInt('server.port', s.server_port);
    w.kvBool('http.request.resend', s.resend);
    w.kvDouble('http.server.request.duration', s.duration_s);
    w.u32(0);
    w.u32(1); // events
    w.u64(s.event_time_unix_nano);
    w.str(EVENT_NAME);
    w.u32(2);
    w.kvStr('message.type', 'SENT');
    w.kvInt('message.uncompressed_size', s.message_size);
    w.u32(0);
    w.u32(0); // dropped events
    w.u32(0); w.u32(0); // links, dropped links
    w.u8(1); // status OK
    w.str('');
  }
  return w.finish();
}

/** The plain module, instantiated (it has no imports). */
export class PlainModule {
  static async load(path) {
    const { instance } = await WebAssembly.instantiate(readFileSync(path), {});
    return new PlainModule(instance.exports);
  }
  constructor(exports) {
    this.x = exports;
    this.out = this.x.otlpx_plain_alloc(8);
    this.inPtr = 0;
    this.inCap = 0;
  }
  /** Copies `input` into the module's memory (kept between calls). */
  write(input) {
    if (input.length > this.inCap) {
      if (this.inCap) this.x.otlpx_plain_free(this.inPtr, this.inCap);
      this.inPtr = this.x.otlpx_plain_alloc(input.length);
      if (!this.inPtr) throw new Error('otlpx_plain_alloc failed');
      this.inCap = input.length;
    }
    new Uint8Array(this.x.memory.buffer, this.inPtr, input.length).set(input);
    return input.length;
  }
  /** Encodes the `len` input bytes last written; returns a copy of the request. */
  encodeWritten(len) {
    const code = this.x.otlpx_plain_encode(this.inPtr, len, this.out, this.out + 4);
    if (code !== 0) {
      throw new Error(`otlpx_plain_encode: result ${code} at input offset ${this.x.otlpx_plain_error_offset()}`);
    }
    const dv = new DataView(this.x.memory.buffer);
    const ptr = dv.getUint32(this.out, true);
    const n = dv.getUint32(this.out + 4, true);
    const request = new Uint8Array(this.x.memory.buffer, ptr, n).slice();
    this.x.otlpx_plain_free(ptr, n);
    return request;
  }
  encode(input) {
    return this.encodeWritten(this.write(input));
  }
}
