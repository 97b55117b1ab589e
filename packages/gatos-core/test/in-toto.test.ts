import { describe, expect, it } from 'vitest';
import type { GatosError } from '../src/errors.js';
import {
  buildStatement,
  canonicalJson,
  canonicalJsonBytes,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  type InTotoStatement,
  parseStatement,
  prettyJson,
  statementBytes,
  validateJsonValue,
  validateStatement,
} from '../src/proofs/in-toto.js';

const enc = new TextEncoder();
const fail = (fn: () => unknown): GatosError => {
  try {
    fn();
  } catch (e) {
    return e as GatosError;
  }
  throw new Error('expected an error');
};
const digest = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';
const good = (): InTotoStatement => ({
  _type: IN_TOTO_STATEMENT_TYPE,
  subject: [{ name: 'hello.txt', digest: { sha256: digest } }],
  predicateType: 'https://example.com/p/v1',
  predicate: { b: 1, a: [true, null, 'x'] },
});

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [], c: {} }, A: 'x' })).toBe('{"A":"x","a":{"c":{},"d":[]},"b":1}');
    // Integer-like keys sort as strings (JS objects would put them first in numeric order).
    expect(canonicalJson({ b: 0, 10: 1, 2: 2, '': 3 })).toBe('{"":3,"10":1,"2":2,"b":0}');
    // Code-unit order: U+E000 (one unit) sorts after U+1F600 (surrogates D83D…), as RFC 8785 requires.
    expect(canonicalJson({ '\ue000': 1, '😀': 2 })).toBe('{"😀":2,"\ue000":1}');
    expect(canonicalJson(JSON.parse('{"__proto__":1,"a":2}'))).toBe('{"__proto__":1,"a":2}');
    const nullProto = Object.assign(Object.create(null) as object, { z: 1, y: 2 });
    expect(canonicalJson(nullProto)).toBe('{"y":2,"z":1}');
  });

  it('writes strings as JSON.stringify does and integers in decimal', () => {
    expect(canonicalJson(['a"b\\c', '\n\t\u0001\u001f', 'é😀', '\u2028', '/'])).toBe(
      '["a\\"b\\\\c","\\n\\t\\u0001\\u001f","é😀","\u2028","/"]',
    );
    expect(canonicalJson([0, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 1e3])).toBe(
      '[0,-1,9007199254740991,-9007199254740991,1000]',
    );
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson([true, false])).toBe('[true,false]');
    expect(canonicalJsonBytes({ k: 'é' })).toEqual(enc.encode('{"k":"é"}'));
  });

  it('refuses values outside JSON-with-integers, naming the path', () => {
    const cases: [unknown, string, string][] = [
      [{ a: 1.5 }, 'GATOS_E_PAYLOAD_FLOAT', 'a'],
      [[-0], 'GATOS_E_PAYLOAD_FLOAT', '[0]'],
      [{ a: [Number.NaN] }, 'GATOS_E_PAYLOAD_NAN', 'a[0]'],
      [Number.POSITIVE_INFINITY, 'GATOS_E_PAYLOAD_NAN', '(root)'],
      [{ a: 2 ** 53 }, 'GATOS_E_PAYLOAD_UNSAFE_INT', 'a'],
      [{ a: 1n }, 'GATOS_E_PAYLOAD_UNSAFE_INT', 'a'],
      [{ a: undefined }, 'GATOS_E_PAYLOAD_UNDEFINED', 'a'],
      [[() => 1], 'GATOS_E_PAYLOAD_UNDEFINED', '[0]'],
      [{ a: new Map() }, 'GATOS_E_PAYLOAD_CLASS', 'a'],
      [{ a: new Date(0) }, 'GATOS_E_PAYLOAD_CLASS', 'a'],
      [{ a: new Uint8Array(1) }, 'GATOS_E_PAYLOAD_CLASS', 'a'],
      [{ 'odd key': '\ud800' }, 'GATOS_E_PAYLOAD_STRING', '["odd key"]'],
      [{ '\udc00': 1 }, 'GATOS_E_PAYLOAD_KEY', '["\\udc00"]'],
      [{ [Symbol('s')]: 1 }, 'GATOS_E_PAYLOAD_KEY', '(root)'],
    ];
    for (const [v, code, path] of cases) {
      const e = fail(() => canonicalJson(v));
      expect(e.code, String(path)).toBe(code);
      expect(e.data.path).toBe(path);
    }
    // An array hole reads as undefined.
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(fail(() => canonicalJson([1, , 2])).code).toBe('GATOS_E_PAYLOAD_UNDEFINED');
    let deep: unknown = 1;
    for (let i = 0; i < 64; i++) deep = [deep];
    expect(canonicalJson(deep)).toBe(`${'['.repeat(64)}1${']'.repeat(64)}`);
    expect(fail(() => canonicalJson([deep])).code).toBe('GATOS_E_PAYLOAD_DEPTH');
    expect(() => validateJsonValue({ a: [1, 'x', null, { b: false }] })).not.toThrow();
  });

  it('prettyJson sorts like canonicalJson and lays out like JSON.stringify(v, null, 2)', () => {
    const v = { b: [1, { d: 'x', c: [] }], a: {}, z: null };
    expect(prettyJson(v)).toBe(`${JSON.stringify({ a: {}, b: [1, { c: [], d: 'x' }], z: null }, null, 2)}\n`);
    expect(prettyJson({ 10: 'a', 2: 'b' })).toBe('{\n  "10": "a",\n  "2": "b"\n}\n');
    expect(prettyJson([])).toBe('[]\n');
    expect(prettyJson('s')).toBe('"s"\n');
  });
});

describe('in-toto Statement v1', () => {
  it('builds, serializes canonically and parses back', () => {
    const st = buildStatement(good().subject, good().predicateType, good().predicate);
    expect(st).toEqual(good());
    const bytes = statementBytes(st);
    expect(new TextDecoder().decode(bytes)).toBe(
      `{"_type":"${IN_TOTO_STATEMENT_TYPE}","predicate":{"a":[true,null,"x"],"b":1},` +
        `"predicateType":"https://example.com/p/v1","subject":[{"digest":{"sha256":"${digest}"},"name":"hello.txt"}]}`,
    );
    expect(parseStatement(bytes)).toEqual(st);
    expect(IN_TOTO_PAYLOAD_TYPE).toBe('application/vnd.in-toto+json');
  });

  it('refuses malformed statements with GATOS_E_PROOF_MALFORMED', () => {
    const bad: [string, (s: Record<string, unknown>) => void][] = [
      ['unknown field', (s) => (s.extra = 1)],
      ['missing predicate', (s) => delete s.predicate],
      ['old _type', (s) => (s._type = 'https://in-toto.io/Statement/v0.1')],
      ['empty subject', (s) => (s.subject = [])],
      ['subject not array', (s) => (s.subject = {})],
      ['subject extra field', (s) => (s.subject = [{ name: 'a', digest: { sha256: digest }, uri: 'x' }])],
      ['subject empty name', (s) => (s.subject = [{ name: '', digest: { sha256: digest } }])],
      ['empty digest', (s) => (s.subject = [{ name: 'a', digest: {} }])],
      ['uppercase hex', (s) => (s.subject = [{ name: 'a', digest: { sha256: digest.toUpperCase() } }])],
      ['odd hex', (s) => (s.subject = [{ name: 'a', digest: { sha256: 'abc' } }])],
      ['bad alg', (s) => (s.subject = [{ name: 'a', digest: { 'sha-256': digest } }])],
      ['empty predicateType', (s) => (s.predicateType = '')],
      ['predicate not object', (s) => (s.predicate = [1])],
      ['float in predicate', (s) => (s.predicate = { x: 0.5 })],
    ];
    for (const [name, mutate] of bad) {
      const s = good() as unknown as Record<string, unknown>;
      mutate(s);
      const e = fail(() => validateStatement(s));
      expect(e.code, name).toBe('GATOS_E_PROOF_MALFORMED');
      expect(e.exitStatus).toBe(3);
    }
    expect(fail(() => validateStatement({ ...good(), predicate: { x: 0.5 } })).data.reason).toBe(
      'GATOS_E_PAYLOAD_FLOAT',
    );
  });

  it('parses only the canonical bytes', () => {
    const st = good();
    const canonical = new TextDecoder().decode(statementBytes(st));
    const variants = [
      JSON.stringify(st), // keys in insertion order
      JSON.stringify(JSON.parse(canonical), null, 1),
      `${canonical}\n`,
      ` ${canonical}`,
      canonical.replace('"b":1', '"b":1.0'),
      canonical.replace('"b":1', '"b":1e0'),
      canonical.replace('"b":1', '"b":0,"b":1'), // duplicate key: JSON.parse keeps the last
      canonical.replace('"x"', '"\\u0078"'), // escaped where it need not be
    ];
    for (const v of variants) {
      const e = fail(() => parseStatement(enc.encode(v)));
      expect(e.code, v).toBe('GATOS_E_PROOF_MALFORMED');
      expect(e.data.reason, v).toBe('not-canonical');
    }
    expect(fail(() => parseStatement(Uint8Array.of(0xc3))).code).toBe('GATOS_E_PROOF_MALFORMED');
    expect(fail(() => parseStatement(enc.encode('{"_type":'))).code).toBe('GATOS_E_PROOF_MALFORMED');
    expect(fail(() => parseStatement(enc.encode(canonical), 10)).code).toBe('GATOS_E_PROOF_MALFORMED');
    expect(parseStatement(enc.encode(canonical))).toEqual(st);
  });
});
