// The packed span format, written by JS straight into the wasm module's
// scratch buffer (see wasm/src/packed.rs for the layout; the two must agree).
//
// Owns: turning JS values (spans, scopes, attribute values of every OTLP
// AnyValue kind, ids, times) into that layout without allocating per span on
// the common path (ASCII strings are copied by a loop, others through
// TextEncoder.encodeInto; numbers through one DataView).
// Must not: keep views across a wasm call that may grow memory (views are
// re-made when the memory's buffer changes), or accept a value it cannot
// represent exactly (it throws InvalidInput, which the caller counts as an
// `invalid` drop).

const TAG_STR = 1;
const TAG_BOOL = 2;
const TAG_INT = 3;
const TAG_DOUBLE = 4;
const TAG_BYTES = 5;
const TAG_ARRAY = 6;
const TAG_KVLIST = 7;

const TWO32 = 4294967296;
/** The `str` length bit meaning "index of an interned string" (packed.rs INTERNED). */
const INTERNED = 0x80000000;
/** Keys up to this many UTF-16 units are interned (at most 192 UTF-8 bytes; core takes 256). */
const MAX_INTERNED_UNITS = 64;
/** At most this many span and event names are interned (core's table holds 4096 strings in all). */
const MAX_INTERNED_NAMES = 1024;
/** At most this many attribute string values are interned, in all. */
const MAX_INTERNED_VALUES = 2048;
/** At most this many string values are interned per attribute key. */
const VALUES_PER_KEY = 32;
/**
 * Once a key's value table is full, its lookups are judged over this many
 * values: when fewer than half hit, the key's values are no longer looked up
 * (a high-cardinality key such as url.path).
 */
const VALUE_TRIAL = 256;
/** Values remembered per key before its value Map is looked up (a power of two). */
const SEEN = 8;
/** Positions remembered by the interned-string lookup (a power of two). */
const SLOTS = 64;
const INT64_LIMIT = 9223372036854775808; // 2^63
/** Deepest nesting of arrays and kvlists: core's encode::MAX_VALUE_DEPTH (packed.rs reads it from there). */
const MAX_DEPTH = 64;
const encoder = new TextEncoder();
/** Typed arrays store in the host's byte order; wasm memory is little-endian. */
const LITTLE_ENDIAN = typeof BigUint64Array === 'function' && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const hasOwn = Object.prototype.hasOwnProperty;

/** Thrown (as a shared object) when the scratch buffer is too small. */
const OVERFLOW = { overflow: true };

/** Thrown for a value that cannot be packed; the span counts as `invalid`. */
export class InvalidInput extends Error {
  constructor(message) {
    super(message);
    this.name = 'InvalidInput';
    this.code = 'ERR_OTLPX_INVALID_ARGUMENT';
  }
}

/** A value recorded as an OTLP `doubleValue` even when it is integral. */
export class DoubleValue {
  constructor(value) {
    this.value = Number(value);
  }
}

/** A value recorded as an OTLP `intValue` (int64): a number or a BigInt. */
export class IntValue {
  constructor(value) {
    this.value = value;
  }
}

const HEX = '0123456789abcdef';
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE[HEX.charCodeAt(i)] = i;
  HEX_VALUE[HEX.toUpperCase().charCodeAt(i)] = i;
}

/** Lower-case hex of bytes. */
export function toHex(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

/** Bytes of a hex string of exactly `len` bytes. */
export function fromHex(hex, len) {
  if (typeof hex !== 'string' || hex.length !== len * 2) {
    throw new InvalidInput(`expected ${len * 2} hex digits, got ${JSON.stringify(hex)}`);
  }
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const hi = HEX_VALUE[hex.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_VALUE[hex.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new InvalidInput(`not hex: ${JSON.stringify(hex)}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** OTLP span kind numbers (note: not @opentelemetry/api's, which start at INTERNAL = 0). */
export const SpanKind = Object.freeze({
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
});

const KIND_NAMES = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS_NAMES = { unset: 0, ok: 1, error: 2 };

export function kindNumber(kind) {
  if (kind === undefined || kind === null) return 1;
  if (typeof kind === 'number' && kind >= 0 && kind <= 5 && Number.isInteger(kind)) return kind;
  const n = typeof kind === 'string' ? KIND_NAMES[kind.toLowerCase()] : undefined;
  if (n === undefined) throw new InvalidInput(`span kind ${String(kind)} is not one of 0-5 or a kind name`);
  return n;
}

export function statusNumber(code) {
  if (code === undefined || code === null) return 0;
  if (typeof code === 'number' && code >= 0 && code <= 2 && Number.isInteger(code)) return code;
  const n = typeof code === 'string' ? STATUS_NAMES[code.toLowerCase()] : undefined;
  if (n === undefined) throw new InvalidInput(`status code ${String(code)} is not 0-2, "unset", "ok" or "error"`);
  return n;
}

/** Writes packed values into the wasm scratch buffer of `core`. */
export class Packer {
  constructor(core) {
    this.core = core;
    this.memory = core.memory();
    this.buffer = null;
    this.ptr = 0;
    this.cap = 0;
    this.pos = 0;
    this.u8 = null;
    this.dv = null;
    this.b64 = null;
    // Attribute keys and names registered with core.intern: string ->
    // {id: INTERNED | index, values}, packed as 4 bytes instead of the UTF-8
    // (bounded by core's table). `values` (keys only) interns the key's
    // repeated string values (http.route, http.request.method, ...).
    this.interned = new Map();
    this.internOpen = typeof core.intern === 'function';
    this.namesLeft = MAX_INTERNED_NAMES;
    this.valuesLeft = MAX_INTERNED_VALUES;
    this.slot = 0;
    this.slotStrings = new Array(SLOTS).fill(null);
    this.slotEntries = new Array(SLOTS).fill(null);
    this.grow(4096);
  }

  grow(min) {
    this.ptr = this.core.scratch(min);
    this.cap = this.core.scratchLen();
    this.views();
  }

  views() {
    // Growing wasm memory detaches the old buffer (its views read as empty).
    this.buffer = this.memory.buffer;
    this.u8 = new Uint8Array(this.buffer, this.ptr, this.cap);
    this.dv = new DataView(this.buffer, this.ptr, this.cap);
    // 64-bit times at 8-aligned positions (the span's first two fields).
    this.b64 = LITTLE_ENDIAN && this.ptr % 8 === 0 ? new BigUint64Array(this.buffer, this.ptr, this.cap >> 3) : null;
  }

  /** Runs `write(packer, arg, arg2)` until it fits; returns the packed length. */
  pack(write, arg, arg2) {
    for (;;) {
      if (this.u8.byteLength === 0) this.views();
      this.pos = 0;
      this.slot = 0;
      try {
        write(this, arg, arg2);
        return this.pos;
      } catch (e) {
        if (e !== OVERFLOW) throw e;
        this.grow(this.cap * 2);
      }
    }
  }

  need(n) {
    if (this.pos + n > this.cap) throw OVERFLOW;
  }

  u8v(v) {
    this.need(1);
    this.u8[this.pos++] = v;
  }

  u32(v) {
    this.need(4);
    this.dv.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  /** A 64-bit value from a number in [-2^63, 2^64) (exact up to 2^53) or a BigInt. */
  u64(v) {
    this.need(8);
    if (typeof v === 'bigint') {
      // Wraps modulo 2^64, as BigInt.asUintN(64, v) would.
      this.dv.setBigUint64(this.pos, v, true);
      this.pos += 8;
      return;
    }
    putNumber64(this.dv, this.pos, v);
    this.pos += 8;
  }

  f64(v) {
    this.need(8);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  str(s) {
    if (typeof s !== 'string') {
      if (s === undefined || s === null) s = '';
      else throw new InvalidInput(`expected a string, got ${typeof s}`);
    }
    const n = s.length;
    this.need(4 + n);
    const u8 = this.u8;
    const start = this.pos;
    let p = start + 4 + n;
    if (!copyAscii(s, n, start + 4, u8, this.dv)) {
      this.need(4 + n * 3);
      p = start + 4 + encoder.encodeInto(s, u8.subarray(start + 4)).written;
    }
    this.dv.setUint32(start, p - start - 4, true);
    this.pos = p;
  }

  /**
   * An attribute key: its interned index once registered, else a str.
   * Returns the key's interned entry (null when not interned).
   */
  key(k) {
    const e = this.internedIndex(k);
    if (e !== null) return e;
    if (this.internable(k)) this.intern(k, true);
    this.str(k);
    return null;
  }

  /**
   * A string attribute value under key entry `e`: interned like a key when
   * the key's values repeat. Each key interns at most VALUES_PER_KEY values
   * (MAX_INTERNED_VALUES in all); a key whose values mostly miss then stops
   * being looked up, so high-cardinality values cost one string copy only.
   */
  strValue(v, e) {
    const t = e.values;
    if (t !== null && v.length <= MAX_INTERNED_UNITS) {
      const id = t.ids.get(v);
      if (t.full) {
        if (++t.tries === VALUE_TRIAL) {
          if (t.hits * 2 < VALUE_TRIAL) e.values = null;
          t.tries = 0;
          t.hits = 0;
        }
      }
      if (id !== undefined) {
        if (t.full) t.hits++;
        this.u32(id);
        return;
      }
      if (!t.full) {
        if (t.ids.size >= VALUES_PER_KEY || this.valuesLeft === 0 || !this.internOpen) {
          t.full = true;
        } else {
          const index = this.internIndex(v);
          if (index !== null) {
            this.valuesLeft--;
            t.ids.set(v, index);
          }
        }
      }
    }
    this.str(v);
  }

  /**
   * A span or event name: interned like a key while fewer than
   * MAX_INTERNED_NAMES names are (names are low-cardinality by the
   * specification; an application that breaks that only stops the interning).
   */
  name(s) {
    if (this.internedIndex(s) !== null) return;
    if (this.namesLeft > 0 && this.internable(s)) {
      this.namesLeft--;
      this.intern(s, false);
    }
    this.str(s);
  }

  /** Packs the interned index of `s` and returns its entry, or returns null when `s` is not interned. */
  internedIndex(s) {
    const e = interned(this, s, this.slot++);
    if (e === undefined) return null;
    this.u32(e.id);
    return e;
  }

  /** Whether `s` may be registered (the table still takes strings, and `s` is short). */
  internable(s) {
    return this.internOpen && typeof s === 'string' && s.length <= MAX_INTERNED_UNITS;
  }

  /** Registers key or name `k` for the next spans (this one still packs it in full). */
  intern(k, isKey) {
    const id = this.internIndex(k);
    if (id === null) return;
    // `seen`: the last value looked up per value length (mod SEEN) and its
    // id, compared before the Map (the same string objects come back).
    const values = isKey ? { ids: new Map(), full: false, tries: 0, hits: 0, seen: new Array(2 * SEEN).fill(null) } : null;
    this.interned.set(k, { id, values });
  }

  /** Registers `s` with core: its packed id (INTERNED | index), or null when the table is full. */
  internIndex(s) {
    const index = this.core.intern(s);
    // Passing the string may have grown wasm memory: the views must follow.
    if (this.u8.byteLength === 0) this.views();
    if (index === 0xffffffff) {
      this.internOpen = false; // the table is full
      return null;
    }
    return (INTERNED | index) >>> 0;
  }

  bytes(b) {
    this.need(4 + b.length);
    this.dv.setUint32(this.pos, b.length, true);
    this.u8.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }

  /** An id of `len` bytes: a Uint8Array or hex; absent/empty means all zero. */
  id(v, len) {
    this.need(len);
    this.idAt(this.pos, v, len);
    this.pos += len;
  }

  /** [`id`](#id) at `at`, whose `len` bytes the caller checked; `pos` does not move. */
  idAt(at, v, len) {
    if (isIdBytes(v, len)) {
      putId(this.dv, at, v, len);
    } else {
      // Kept out of this small function so that V8 inlines it.
      this.otherIdAt(at, v, len);
    }
  }

  /** [`idAt`](#idAt) for anything but a Uint8Array of `len` bytes. */
  otherIdAt(at, v, len) {
    if (v === undefined || v === null || v === '') {
      this.u8.fill(0, at, at + len);
    } else if (typeof v === 'string') {
      if (v.length !== len * 2) throw new InvalidInput(`expected an id of ${len * 2} hex digits, got ${JSON.stringify(v)}`);
      const u8 = this.u8;
      for (let i = 0; i < len; i++) {
        const hi = HEX_VALUE[v.charCodeAt(2 * i)] ?? -1;
        const lo = HEX_VALUE[v.charCodeAt(2 * i + 1)] ?? -1;
        if (hi < 0 || lo < 0) throw new InvalidInput(`id ${JSON.stringify(v)} is not hex`);
        u8[at + i] = (hi << 4) | lo;
      }
    } else {
      throw new InvalidInput(`expected an id of ${len} bytes (Uint8Array or hex)`);
    }
  }

  /** A time: ms since the epoch (number), ns (BigInt), or [seconds, nanoseconds]. */
  time(t) {
    this.need(8);
    this.timeAt(this.pos, t);
    this.pos += 8;
  }

  /** [`time`](#time) at `at`, whose 8 bytes the caller checked; `pos` does not move. */
  timeAt(at, t) {
    // One BigInt operation for the range check (TurboFan lowers asUintN(64));
    // two comparisons with BigInt constants cost about twice as much.
    if (typeof t === 'bigint' && BigInt.asUintN(64, t) === t) {
      putTime(this, at, t);
    } else {
      // Kept out of this small function so that V8 inlines it.
      this.otherTimeAt(at, t);
    }
  }

  /** [`timeAt`](#timeAt) for anything but a BigInt in [0, 2^64). */
  otherTimeAt(at, t) {
    const dv = this.dv;
    let ns;
    if (t === undefined || t === null) {
      ns = 0;
    } else if (typeof t === 'bigint') {
      throw new InvalidInput(`time ${t} does not fit 64 bits`);
    } else if (typeof t === 'number') {
      if (!(t >= 0) || !Number.isFinite(t)) throw new InvalidInput(`time ${t} is not a non-negative number of ms`);
      ns = Math.round(t * 1e6);
    } else if (Array.isArray(t) && t.length === 2) {
      dv.setBigUint64(at, BigInt(Math.trunc(t[0])) * 1000000000n + BigInt(Math.trunc(t[1])), true);
      return;
    } else if (t instanceof Date) {
      ns = t.getTime() * 1e6;
    } else {
      throw new InvalidInput('a time is ms (number), ns (BigInt), [s, ns] or a Date');
    }
    putNumber64(dv, at, ns);
  }

  value(v, depth) {
    if (depth > MAX_DEPTH) throw new InvalidInput('attribute values nest too deep');
    switch (typeof v) {
      case 'string':
        this.u8v(TAG_STR);
        this.str(v);
        return;
      case 'boolean':
        this.u8v(TAG_BOOL);
        this.u8v(v ? 1 : 0);
        return;
      case 'number':
        if (Number.isInteger(v) && v >= -INT64_LIMIT && v < INT64_LIMIT) {
          this.u8v(TAG_INT);
          this.u64(v);
        } else {
          this.u8v(TAG_DOUBLE);
          this.f64(v);
        }
        return;
      case 'bigint':
        this.int(v);
        return;
      case 'object':
        if (v === null) break;
        if (v instanceof Uint8Array) {
          this.u8v(TAG_BYTES);
          this.bytes(v);
        } else if (Array.isArray(v)) {
          this.u8v(TAG_ARRAY);
          this.u32(v.length);
          for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1);
        } else if (v instanceof DoubleValue) {
          this.u8v(TAG_DOUBLE);
          this.f64(v.value);
        } else if (v instanceof IntValue) {
          this.int(typeof v.value === 'bigint' ? v.value : BigInt(v.value));
        } else if (ArrayBuffer.isView(v)) {
          this.u8v(TAG_BYTES);
          this.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        } else {
          this.u8v(TAG_KVLIST);
          this.attrs(v, depth + 1, true);
        }
        return;
      default:
        break;
    }
    throw new InvalidInput(`attribute value of type ${v === null ? 'null' : typeof v} cannot be recorded`);
  }

  int(b) {
    if (b < -9223372036854775808n || b > 9223372036854775807n) {
      throw new InvalidInput(`integer ${b} does not fit int64`);
    }
    this.u8v(TAG_INT);
    this.u64(b);
  }

  /**
   * Attributes: a plain object, a Map, or an array of [key, value] pairs
   * (keeps order and duplicates exactly). Top-level `null`/`undefined`
   * values are skipped and returned as a count (added to
   * droppedAttributesCount); nested ones are invalid.
   */
  attrs(a, depth = 0, nested = false) {
    this.need(4);
    const at = this.pos;
    this.pos += 4;
    let n = 0;
    if (a === undefined || a === null) {
      // none
    } else if (Array.isArray(a)) {
      for (let i = 0; i < a.length; i++) {
        const kv = a[i];
        if (Array.isArray(kv)) n += this.one(kv[0], kv[1], depth, nested);
        else if (kv && typeof kv === 'object' && 'key' in kv) n += this.one(kv.key, kv.value, depth, nested);
        else throw new InvalidInput('attributes as an array must hold [key, value] pairs');
      }
    } else if (a instanceof Map) {
      for (const [k, v] of a) n += this.one(k, v, depth, nested);
    } else if (typeof a === 'object') {
      // The own enumerable string keys in order, as Object.keys gives them:
      // for-in with an own-property check reads them from V8's enum cache
      // without an array and loads each value by field index (about 3x
      // faster than Object.keys and a keyed load per attribute).
      const slot = this.slot;
      n = objectAttrs(this, a);
      if (n < 0) {
        // A pair objectAttrs leaves to one(): all of them again, from the start.
        this.pos = at + 4;
        this.slot = slot;
        n = 0;
        for (const k in a) {
          if (hasOwn.call(a, k)) n += this.one(k, a[k], depth, nested);
        }
      }
    } else {
      throw new InvalidInput('attributes must be an object, a Map or [key, value] pairs');
    }
    const count = n & 0xffffffff;
    const skipped = Math.floor(n / TWO32);
    this.dv.setUint32(at, count, true);
    return skipped;
  }

  /** One attribute: 1 when written, 2^32 when skipped (a null value), so one sum counts both. */
  one(k, v, depth, nested) {
    if (v === undefined || v === null) {
      if (nested) throw new InvalidInput(`attribute ${k} has no value`);
      return TWO32;
    }
    const e = this.key(k);
    if (e !== null && typeof v === 'string') {
      this.u8v(TAG_STR);
      this.strValue(v, e);
    } else {
      this.value(v, depth);
    }
    return 1;
  }

  count(c) {
    let n = commonCount(c);
    if (n < 0) {
      n = Number(c);
      if (!(n >= 0)) throw new InvalidInput(`count ${c} is not a non-negative number`);
      if (n > 4294967295) n = 4294967295;
    }
    this.u32(n);
  }
}

/**
 * Stores number `v` (an integer in [-2^63, 2^64) where it matters) at `at` as a little-endian
 * 64-bit word, two's complement when negative: its high and low 32 bits.
 */
function putNumber64(dv, at, v) {
  const hi = Math.floor(v / TWO32);
  dv.setUint32(at, (v - hi * TWO32) >>> 0, true);
  dv.setUint32(at + 4, hi >>> 0, true);
}

/**
 * Copies the `n` characters of `s` to `u8` at `at` (`n` bytes there are the
 * caller's) and returns true when all are ASCII; false otherwise, having
 * written only scratch bytes. Four characters per store: V8's per-character
 * cost dominates short strings (glue.mjs measures it).
 */
function copyAscii(s, n, at, u8, dv) {
  let or = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    const d = s.charCodeAt(i + 3);
    or |= a | b | c | d;
    dv.setUint32(at + i, a | (b << 8) | (c << 16) | (d << 24), true);
  }
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    or |= c;
    u8[at + i] = c;
  }
  return or < 0x80;
}

/**
 * The pairs of plain object `a` for Packer.attrs when each is common: a key
 * interned at this position last time (see internedIndex) and a scalar value
 * that one() would write without registering anything (a string value
 * strValue would not intern or count, and ASCII when copied). Writes them as
 * one() would, with the cursor and views in locals, and returns their count;
 * at the first other pair (or a full buffer) returns -1, having changed
 * nothing but scratch bytes, and Packer.attrs packs them all through one().
 * Everything is in this one function: V8 inlines neither a helper this large
 * nor one() without making the loop slower.
 */
function objectAttrs(p, a) {
  let n = 0;
  let pos = p.pos;
  const u8 = p.u8;
  const dv = p.dv;
  const cap = p.cap;
  let slot = p.slot;
  for (const k in a) {
    if (!hasOwn.call(a, k)) continue;
    const v = a[k];
    const at = slot++ & (SLOTS - 1);
    if (p.slotStrings[at] === k && pos + 13 <= cap) {
      const e = p.slotEntries[at];
      let q = -1;
      if (typeof v === 'string') {
        const len = v.length;
        const t = e.values;
        if (t !== null && len <= MAX_INTERNED_UNITS) {
          // A value of a key whose table still takes more: 4 bytes when
          // known. (A full table counts its lookups: strValue's.)
          let id;
          if (!t.full) {
            const c = 2 * (len & (SEEN - 1));
            const seen = t.seen;
            if (seen[c] === v) {
              id = seen[c + 1];
            } else {
              id = t.ids.get(v);
              if (id !== undefined) {
                seen[c] = v;
                seen[c + 1] = id;
              }
            }
          }
          if (id !== undefined) {
            u8[pos + 4] = TAG_STR;
            dv.setUint32(pos + 5, id, true);
            q = pos + 9;
          }
        } else if (pos + 9 + len <= cap) {
          // Not looked up (strValue's rule): the string, when ASCII.
          if (copyAscii(v, len, pos + 9, u8, dv)) {
            u8[pos + 4] = TAG_STR;
            dv.setUint32(pos + 5, len, true);
            q = pos + 9 + len;
          }
        }
      } else if (typeof v === 'number') {
        if ((v | 0) === v) {
          // An int32 (status codes, ports, sizes): its two words without a division.
          u8[pos + 4] = TAG_INT;
          dv.setUint32(pos + 5, v >>> 0, true);
          dv.setUint32(pos + 9, v < 0 ? 0xffffffff : 0, true);
        } else if (Number.isInteger(v) && v >= -INT64_LIMIT && v < INT64_LIMIT) {
          u8[pos + 4] = TAG_INT;
          putNumber64(dv, pos + 5, v);
        } else {
          u8[pos + 4] = TAG_DOUBLE;
          dv.setFloat64(pos + 5, v, true);
        }
        q = pos + 13;
      } else if (typeof v === 'boolean') {
        u8[pos + 4] = TAG_BOOL;
        u8[pos + 5] = v ? 1 : 0;
        q = pos + 6;
      }
      if (q >= 0) {
        dv.setUint32(pos, e.id, true);
        pos = q;
        n++;
        continue;
      }
    }
    return -1;
  }
  p.pos = pos;
  p.slot = slot;
  return n;
}

/** Bytes of a packed span before its name: times, scope, ids, parent, flags, kind. */
const SPAN_HEAD = 58;

/**
 * span: see index.d.ts (SpanData). `scope` is the scope id. The common span
 * is packed by commonSpan with the cursor in a local; any other goes through
 * writeAnySpan, which packs every span the same way.
 */
export function writeSpan(p, s, scope) {
  const at = p.pos;
  const slot = p.slot;
  const end = commonSpan(p, s, scope);
  if (end >= 0) {
    p.pos = end;
    return;
  }
  p.pos = at;
  p.slot = slot;
  writeAnySpan(p, s, scope);
}

/**
 * Stores time `t`, a BigInt in [0, 2^64), at `at`: an element store where
 * it is 8-aligned (b64 views the scratch buffer on little-endian hosts), which
 * V8 inlines where DataView's setBigUint64 is a builtin call.
 */
function putTime(p, at, t) {
  if ((at & 7) === 0 && p.b64 !== null) p.b64[at >> 3] = t;
  else p.dv.setBigUint64(at, t, true);
}

/** An id given as bytes: a Uint8Array of `len` (16 or 8) bytes. */
function isIdBytes(v, len) {
  return v instanceof Uint8Array && v.length === len;
}

/** Stores id bytes `v` (see isIdBytes) at `at`, four bytes per store: about twice as fast as a byte loop. */
function putId(dv, at, v, len) {
  for (let i = 0; i < len; i += 4) {
    dv.setUint32(at + i, v[i] | (v[i + 1] << 8) | (v[i + 2] << 16) | (v[i + 3] << 24), true);
  }
}

/**
 * A dropped count given as a number (or absent) as Packer.count writes it,
 * or -1 for anything else (count() converts it or throws).
 */
function commonCount(c) {
  if (c === undefined || c === null) return 0;
  if (typeof c !== 'number' || !(c >= 0)) return -1;
  return c > 4294967295 ? 4294967295 : c;
}

/**
 * The interned entry of `s` ({id, values}), or undefined, looked up at
 * position `slot` of the packer's span: spans of one shape repeat their keys
 * and names in the same order, so the string at this position last time is
 * compared first (immediate when it is the same string object, as literal
 * keys are), before the Map.
 */
function interned(p, s, slot) {
  const at = slot & (SLOTS - 1);
  if (p.slotStrings[at] === s) return p.slotEntries[at];
  const e = p.interned.get(s);
  if (e !== undefined) {
    p.slotStrings[at] = s;
    p.slotEntries[at] = e;
  }
  return e;
}

/** The interned id of name `s` at position `slot` (see interned), or -1. */
function commonName(p, s, slot) {
  const e = interned(p, s, slot);
  return e === undefined ? -1 : e.id;
}

/** Whether `a` is attributes objectAttrs may take: a plain object (not an array or a Map). */
function isPlainAttrs(a) {
  return typeof a === 'object' && a !== null && !Array.isArray(a) && !(a instanceof Map);
}

/**
 * Packs span `s` at the packer's position as writeAnySpan would when it is
 * common: Uint8Array ids, BigInt times, interned names, plain-object
 * attributes objectAttrs takes, no trace state, links, or status message,
 * counts that are plain numbers. Returns the end position, or -1 (having
 * changed only scratch bytes and name slots, a cache) for any other span.
 * V8 inlines little of writeAnySpan's calls; here the cursor stays local.
 */
function commonSpan(p, s, scope) {
  const at = p.pos;
  const b64 = p.b64;
  if ((at & 7) !== 0 || b64 === null || at + SPAN_HEAD + 16 > p.cap) return -1;
  const start = s.startTime ?? s.startTimeUnixNano;
  const end = s.endTime ?? s.endTimeUnixNano;
  if (typeof start !== 'bigint' || typeof end !== 'bigint' || BigInt.asUintN(64, start) !== start || BigInt.asUintN(64, end) !== end) return -1;
  const traceId = s.traceId;
  const spanId = s.spanId;
  const parent = s.parentSpanId;
  const hasParent = parent !== undefined && parent !== null && parent !== '';
  if (!isIdBytes(traceId, 16) || !isIdBytes(spanId, 8) || (hasParent && !isIdBytes(parent, 8))) return -1;
  const flags = s.flags ?? 0;
  const kind = s.kind ?? 1;
  if (typeof flags !== 'number' || typeof kind !== 'number' || !(kind >= 0 && kind <= 5) || !Number.isInteger(kind)) return -1;
  const ts = s.traceState;
  if (ts !== undefined && ts !== null && ts !== '') return -1;
  const dropped = commonCount(s.droppedAttributesCount);
  const events = s.events ?? EMPTY;
  const droppedEvents = commonCount(s.droppedEventsCount);
  const links = s.links;
  const droppedLinks = commonCount(s.droppedLinksCount);
  if (dropped < 0 || droppedEvents < 0 || droppedLinks < 0 || !Array.isArray(events)) return -1;
  if (links !== undefined && links !== null && !(Array.isArray(links) && links.length === 0)) return -1;
  const st = s.status;
  const code = st === undefined || st === null ? undefined : st.code;
  const status = code === undefined || code === null || code === 'unset' ? 0 : code === 'ok' ? 1 : code === 'error' ? 2 : code === 0 || code === 1 || code === 2 ? code : -1;
  const msg = st === undefined || st === null ? undefined : st.message;
  if (status < 0 || (msg !== undefined && msg !== null && msg !== '')) return -1;
  const attrs = s.attributes;
  if (attrs !== undefined && attrs !== null && !isPlainAttrs(attrs)) return -1;
  let slot = p.slot;
  const name = commonName(p, s.name ?? '', slot++);
  if (name < 0) return -1;

  const u8 = p.u8;
  const dv = p.dv;
  b64[at >> 3] = start;
  b64[(at >> 3) + 1] = end;
  dv.setUint32(at + 16, scope, true);
  putId(dv, at + 20, traceId, 16);
  putId(dv, at + 36, spanId, 8);
  u8[at + 44] = hasParent ? 1 : 0;
  if (hasParent) {
    putId(dv, at + 45, parent, 8);
  } else {
    dv.setUint32(at + 45, 0, true);
    dv.setUint32(at + 49, 0, true);
  }
  dv.setUint32(at + 53, flags, true);
  u8[at + 57] = kind;
  dv.setUint32(at + 58, name, true);
  dv.setUint32(at + 62, 0, true); // trace state
  let pos = at + 66;
  let n = 0;
  if (attrs !== undefined && attrs !== null) {
    p.pos = pos + 4;
    p.slot = slot;
    n = objectAttrs(p, attrs);
    if (n < 0) return -1;
    slot = p.slot;
  } else {
    p.pos = pos + 4;
  }
  dv.setUint32(pos, n, true);
  pos = p.pos;
  if (pos + 8 > p.cap) return -1;
  dv.setUint32(pos, dropped, true);
  dv.setUint32(pos + 4, events.length, true);
  pos += 8;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (typeof e !== 'object' || e === null || pos + 20 > p.cap) return -1;
    const t = e.time ?? e.timeUnixNano;
    const ea = e.attributes;
    const ed = commonCount(e.droppedAttributesCount);
    if (typeof t !== 'bigint' || BigInt.asUintN(64, t) !== t || ed < 0) return -1;
    if (ea !== undefined && ea !== null && !isPlainAttrs(ea)) return -1;
    const en = commonName(p, e.name ?? '', slot++);
    if (en < 0) return -1;
    putTime(p, pos, t);
    dv.setUint32(pos + 8, en, true);
    pos += 12;
    n = 0;
    p.pos = pos + 4;
    if (ea !== undefined && ea !== null) {
      p.slot = slot;
      n = objectAttrs(p, ea);
      if (n < 0) return -1;
      slot = p.slot;
    }
    dv.setUint32(pos, n, true);
    pos = p.pos;
    if (pos + 4 > p.cap) return -1;
    dv.setUint32(pos, ed, true);
    pos += 4;
  }
  if (pos + 17 > p.cap) return -1;
  dv.setUint32(pos, droppedEvents, true);
  dv.setUint32(pos + 4, 0, true); // links
  dv.setUint32(pos + 8, droppedLinks, true);
  u8[pos + 12] = status;
  dv.setUint32(pos + 13, 0, true); // status message
  p.slot = slot;
  return pos + 17;
}

const EMPTY = Object.freeze([]);

/** writeSpan for every span (the reference the common path matches). */
export function writeAnySpan(p, s, scope) {
  // The fixed head (58 bytes) at known offsets, after one check; the times
  // first, so that they are 8-aligned for p.b64 (see packed.rs).
  p.need(SPAN_HEAD);
  const at = p.pos;
  p.timeAt(at, s.startTime ?? s.startTimeUnixNano);
  p.timeAt(at + 8, s.endTime ?? s.endTimeUnixNano);
  p.dv.setUint32(at + 16, scope, true);
  p.idAt(at + 20, s.traceId, 16);
  p.idAt(at + 36, s.spanId, 8);
  const parent = s.parentSpanId;
  const hasParent = parent !== undefined && parent !== null && parent !== '';
  p.u8[at + 44] = hasParent ? 1 : 0;
  p.idAt(at + 45, hasParent ? parent : undefined, 8);
  p.dv.setUint32(at + 53, s.flags ?? 0, true);
  p.u8[at + 57] = kindNumber(s.kind);
  p.pos = at + SPAN_HEAD;
  p.name(s.name ?? '');
  p.str(s.traceState ?? '');
  const skipped = p.attrs(s.attributes);
  p.count((s.droppedAttributesCount ?? 0) + skipped);
  const events = s.events ?? [];
  p.u32(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    p.time(e.time ?? e.timeUnixNano);
    p.name(e.name ?? '');
    const sk = p.attrs(e.attributes);
    p.count((e.droppedAttributesCount ?? 0) + sk);
  }
  p.count(s.droppedEventsCount);
  const links = s.links ?? [];
  p.u32(links.length);
  for (let i = 0; i < links.length; i++) {
    const l = links[i];
    p.id(l.traceId, 16);
    p.id(l.spanId, 8);
    p.str(l.traceState ?? '');
    const sk = p.attrs(l.attributes);
    p.count((l.droppedAttributesCount ?? 0) + sk);
    p.u32(l.flags ?? 0);
  }
  p.count(s.droppedLinksCount);
  const st = s.status;
  p.u8v(statusNumber(st?.code));
  p.str(st?.message ?? '');
}

/** scope: {name, version, attributes, droppedAttributesCount, schemaUrl}. */
export function writeScope(p, s) {
  p.str(s.name ?? '');
  p.str(s.version ?? '');
  const skipped = p.attrs(s.attributes);
  p.count((s.droppedAttributesCount ?? 0) + skipped);
  p.str(s.schemaUrl ?? '');
}

/** A parent for startSpan: none, remote headers, or a span context. */
export function writeParent(p, parent) {
  if (parent === undefined || parent === null) {
    p.u8v(0);
  } else if (typeof parent === 'string') {
    p.u8v(1);
    p.str(parent);
    p.str('');
  } else if (typeof parent.traceparent === 'string') {
    p.u8v(1);
    p.str(parent.traceparent);
    p.str(parent.tracestate ?? '');
  } else {
    const sc = typeof parent.spanContext === 'function' ? parent.spanContext() : parent;
    p.u8v(2);
    p.id(sc.traceId, 16);
    p.id(sc.spanId, 8);
    p.u8v((sc.traceFlags ?? 0) & 0xff);
    p.u8v(sc.isRemote ? 1 : 0);
    p.str(sc.traceState ?? '');
  }
}
