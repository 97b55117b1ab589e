import { CID } from 'multiformats/cid';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_DEPTH,
  decodeCanonical,
  encodeCanonical,
  formatPath,
  isWellFormedString,
  type PlainData,
  validatePlainData,
} from '../src/encoding/canonical.js';
import { type ErrorCode, GatosError } from '../src/errors.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

function codeOf(fn: () => unknown): { code: ErrorCode | 'ACCEPTED'; data: Record<string, unknown> } {
  try {
    fn();
    return { code: 'ACCEPTED', data: {} };
  } catch (e) {
    if (!(e instanceof GatosError)) throw e;
    return { code: e.code, data: e.data };
  }
}
const rejects = (value: unknown, opts?: Parameters<typeof encodeCanonical>[1]) =>
  codeOf(() => encodeCanonical(value, opts));

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

describe('validatePlainData: values JSON cannot express', () => {
  const cases: [string, unknown, ErrorCode, string][] = [
    ['undefined', { a: undefined }, 'GATOS_E_PAYLOAD_UNDEFINED', 'a'],
    ['undefined in array', [1, undefined], 'GATOS_E_PAYLOAD_UNDEFINED', '[1]'],
    ['sparse array hole', Object.assign([1], { 2: 3 }), 'GATOS_E_PAYLOAD_UNDEFINED', '[1]'],
    ['function', { f: () => 1 }, 'GATOS_E_PAYLOAD_UNDEFINED', 'f'],
    ['symbol value', { s: Symbol('s') }, 'GATOS_E_PAYLOAD_UNDEFINED', 's'],
    ['NaN', { n: Number.NaN }, 'GATOS_E_PAYLOAD_NAN', 'n'],
    ['Infinity', [Number.POSITIVE_INFINITY], 'GATOS_E_PAYLOAD_NAN', '[0]'],
    ['-Infinity', { a: { b: Number.NEGATIVE_INFINITY } }, 'GATOS_E_PAYLOAD_NAN', 'a.b'],
    ['float', { a: [0, 1, 2, 3.25] }, 'GATOS_E_PAYLOAD_FLOAT', 'a[3]'],
    ['-0', { z: -0 }, 'GATOS_E_PAYLOAD_FLOAT', 'z'],
    ['2^53', 2 ** 53, 'GATOS_E_PAYLOAD_UNSAFE_INT', '(root)'],
    ['-(2^53)', -(2 ** 53), 'GATOS_E_PAYLOAD_UNSAFE_INT', '(root)'],
    ['bigint 2^63', { big: 2n ** 63n }, 'GATOS_E_PAYLOAD_UNSAFE_INT', 'big'],
    ['bigint -2^63-1', { big: -(2n ** 63n) - 1n }, 'GATOS_E_PAYLOAD_UNSAFE_INT', 'big'],
    ['class instance', { p: new Point(1, 2) }, 'GATOS_E_PAYLOAD_CLASS', 'p'],
    ['Map', { m: new Map([['a', 1]]) }, 'GATOS_E_PAYLOAD_CLASS', 'm'],
    ['Set', { s: new Set([1]) }, 'GATOS_E_PAYLOAD_CLASS', 's'],
    ['Date', { d: new Date(0) }, 'GATOS_E_PAYLOAD_CLASS', 'd'],
    ['RegExp', { r: /x/ }, 'GATOS_E_PAYLOAD_CLASS', 'r'],
    ['Uint16Array', { t: new Uint16Array(2) }, 'GATOS_E_PAYLOAD_CLASS', 't'],
    ['ArrayBuffer', { t: new ArrayBuffer(2) }, 'GATOS_E_PAYLOAD_CLASS', 't'],
    ['boxed string', { s: new String('x') }, 'GATOS_E_PAYLOAD_CLASS', 's'],
    [
      'CID',
      { l: CID.parse('bafyreiabaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibae') },
      'GATOS_E_PAYLOAD_CLASS',
      'l',
    ],
    ['Array subclass', { a: new (class extends Array {})() }, 'GATOS_E_PAYLOAD_CLASS', 'a'],
    ['symbol key', { o: { [Symbol('k')]: 1, a: 1 } }, 'GATOS_E_PAYLOAD_KEY', 'o'],
    [
      'non-enumerable key',
      { o: Object.defineProperty({}, 'hidden', { value: 1, enumerable: false }) },
      'GATOS_E_PAYLOAD_KEY',
      'o',
    ],
    ['lone surrogate key', { '\ud800': 1 }, 'GATOS_E_PAYLOAD_KEY', '["\\ud800"]'],
    ['lone surrogate string', { 'odd key': ['ok', 'a\udc00'] }, 'GATOS_E_PAYLOAD_STRING', '["odd key"][1]'],
  ];
  for (const [name, value, code, path] of cases) {
    it(`${name} → ${code} at ${path}`, () => {
      expect(rejects(value)).toEqual({ code, data: expect.objectContaining({ path }) });
    });
  }

  it('dag-cbor alone would have accepted several of them silently', async () => {
    const dagCbor = await import('@ipld/dag-cbor');
    expect(hex(dagCbor.encode(-0))).toBe('00');
    expect(hex(dagCbor.encode(new Map([['a', 1]])))).toBe('a1616101');
    expect(hex(dagCbor.encode(new Point(1, 2)))).toBe('a2617801617902');
    expect(hex(dagCbor.encode(new Uint16Array([1])))).toBe('420100');
    expect(hex(dagCbor.encode('\ud800'))).toBe('63efbfbd');
  });

  it('accepts plain data: null-prototype objects, Buffers, int64 bigints, empty containers', () => {
    const nullProto = Object.assign(Object.create(null) as object, { b: 1, a: [] });
    const value = {
      n: null,
      t: true,
      f: false,
      s: '',
      i: Number.MAX_SAFE_INTEGER,
      j: Number.MIN_SAFE_INTEGER,
      big: 2n ** 63n - 1n,
      small: -(2n ** 63n),
      bytes: new Uint8Array([1, 2]),
      buf: Buffer.from([3]),
      nullProto,
      emptyObj: {},
      emptyArr: [],
      emoji: '👋',
    };
    expect(() => validatePlainData(value)).not.toThrow();
    const back = decodeCanonical(encodeCanonical(value)) as Record<string, PlainData>;
    expect(back.buf).toEqual(new Uint8Array([3]));
    expect(back.big).toBe(2n ** 63n - 1n);
    expect(back.nullProto).toEqual({ a: [], b: 1 });
  });

  it('bigints inside the safe range encode like numbers and decode as numbers', () => {
    expect(hex(encodeCanonical(5n))).toBe(hex(encodeCanonical(5)));
    expect(decodeCanonical(encodeCanonical(5n))).toBe(5);
    expect(decodeCanonical(encodeCanonical(2n ** 53n))).toBe(2n ** 53n);
  });

  it('enforces the depth limit (default 64) and reports it before recursing further', () => {
    let ok: unknown = 1;
    for (let i = 0; i < DEFAULT_MAX_DEPTH; i++) ok = [ok];
    expect(rejects(ok).code).toBe('ACCEPTED');
    expect(rejects([ok])).toEqual({
      code: 'GATOS_E_PAYLOAD_DEPTH',
      data: expect.objectContaining({ maxDepth: 64 }),
    });
    expect(rejects({ a: { b: { c: 1 } } }, { maxDepth: 2 }).code).toBe('GATOS_E_PAYLOAD_DEPTH');
    expect(rejects({ a: { b: 1 } }, { maxDepth: 2 }).code).toBe('ACCEPTED');
    // A self-referencing object cannot loop forever.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(rejects(cyclic).code).toBe('GATOS_E_PAYLOAD_DEPTH');
  });

  it('enforces maxBytes on encode and on decode', () => {
    const big = { s: 'x'.repeat(100) };
    const bytes = encodeCanonical(big);
    expect(rejects(big, { maxBytes: bytes.length - 1 })).toEqual({
      code: 'GATOS_E_PAYLOAD_TOO_LARGE',
      data: { size: bytes.length, maxBytes: bytes.length - 1 },
    });
    expect(rejects(big, { maxBytes: bytes.length }).code).toBe('ACCEPTED');
    expect(codeOf(() => decodeCanonical(bytes, { maxBytes: bytes.length - 1 })).code).toBe(
      'GATOS_E_PAYLOAD_TOO_LARGE',
    );
  });
});

describe('decodeCanonical', () => {
  it('refuses non-canonical and undecodable bytes with distinct codes', () => {
    const cases: [string, string, ErrorCode][] = [
      ['unsorted keys', 'a2626161016162 02'.replace(/ /g, ''), 'GATOS_E_NOT_CANONICAL'],
      ['float-encoded int', 'fb3ff0000000000000', 'GATOS_E_NOT_CANONICAL'],
      ['float16', 'f93c00', 'GATOS_E_NOT_CANONICAL'],
      ['CBOR undefined', 'f7', 'GATOS_E_NOT_CANONICAL'],
      ['canonical float', 'fb3ff8000000000000', 'GATOS_E_PAYLOAD_FLOAT'],
      ['indefinite array', '9f01ff', 'GATOS_E_DECODE'],
      ['trailing bytes', '0101', 'GATOS_E_DECODE'],
      ['duplicate keys', 'a2616101616102', 'GATOS_E_DECODE'],
      ['non-minimal int', '1801', 'GATOS_E_DECODE'],
      ['invalid UTF-8', '62c328', 'GATOS_E_DECODE'],
      ['empty', '', 'GATOS_E_DECODE'],
      ['truncated', '62c3', 'GATOS_E_DECODE'],
    ];
    for (const [name, h, code] of cases) {
      expect(codeOf(() => decodeCanonical(unhex(h))).code, name).toBe(code);
    }
  });

  it('refuses hostile nesting with GATOS_E_PAYLOAD_DEPTH, not a stack overflow', () => {
    const deep = new Uint8Array(200_001).fill(0x81);
    deep[200_000] = 1;
    expect(codeOf(() => decodeCanonical(deep)).code).toBe('GATOS_E_PAYLOAD_DEPTH');
  });

  it('encodes maps in DAG-CBOR key order whatever the insertion order', () => {
    const a = encodeCanonical({ b: 1, aa: 2, a: 3, '': 4 });
    const b = encodeCanonical({ '': 4, a: 3, aa: 2, b: 1 });
    expect(hex(a)).toBe(hex(b));
    expect(Object.keys(decodeCanonical(a) as object)).toEqual(['', 'a', 'b', 'aa']);
  });
});

// A seeded generator of random plain data (no fast-check needed): decode(encode(x)) == x, re-encode is stable.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ALPHABET = ['a', 'b', 'Z', '0', ' ', 'é', '中', '👋', '\u0000', '"', '\\'];
function randomData(r: () => number, depth: number): PlainData {
  const pick = Math.floor(r() * (depth > 4 ? 7 : 9));
  const str = () =>
    Array.from({ length: Math.floor(r() * 6) }, () => ALPHABET[Math.floor(r() * 11)]).join('');
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2: {
      const scale = [1, 24, 256, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER][Math.floor(r() * 6)]!;
      return Math.floor(r() * scale) * (r() < 0.5 ? -1 : 1) || 0;
    }
    case 3: {
      const b = BigInt(Math.floor(r() * 2 ** 29)) * 2n ** 33n + 2n ** 53n;
      return r() < 0.5 ? b : -b;
    }
    case 4:
      return str();
    case 5:
      return Uint8Array.from({ length: Math.floor(r() * 5) }, () => Math.floor(r() * 256));
    case 6:
      return str();
    case 7:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomData(r, depth + 1));
    default: {
      const o: Record<string, PlainData> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) o[str()] = randomData(r, depth + 1);
      return o;
    }
  }
}

describe('round trip property (seeded)', () => {
  it('decode(encode(x)) deep-equals x and re-encoding gives the same bytes, 2000 cases', () => {
    const r = rng(0x6a7005);
    for (let i = 0; i < 2000; i++) {
      const x = randomData(r, 0);
      const bytes = encodeCanonical(x);
      const back = decodeCanonical(bytes);
      expect(back).toEqual(x);
      expect(hex(encodeCanonical(back))).toBe(hex(bytes));
    }
  });
});

describe('helpers', () => {
  it('formats paths readably', () => {
    expect(formatPath('payload', ['a', 3, 'odd key', '$ok'])).toBe('payload.a[3]["odd key"].$ok');
    expect(formatPath('', [])).toBe('(root)');
    expect(formatPath('', ['x', 0])).toBe('x[0]');
  });
  it('detects lone surrogates', () => {
    expect(isWellFormedString('a👋b')).toBe(true);
    expect(isWellFormedString('a\ud83db')).toBe(false);
    expect(isWellFormedString('\udc4b')).toBe(false);
  });
});
