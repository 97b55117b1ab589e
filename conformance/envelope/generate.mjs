#!/usr/bin/env node
// Regenerates conformance/envelope/{valid,invalid}.json from the cases below, using the built @gatos/core
// (run `npx tsc -b` first). Every expected error code is written here by hand and checked against the
// implementation before the files are written; canonical bytes and CIDs come from the implementation and are
// cross-checked independently by packages/gatos-core/test/conformance.test.ts.
//   node conformance/envelope/generate.mjs
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { encodeCanonical } from '../../packages/gatos-core/dist/canonical.js';
import {
  decodeEnvelope,
  encodeEnvelope,
  envelopeFromJson,
} from '../../packages/gatos-core/dist/event-envelope.js';
import { eventCidString } from '../../packages/gatos-core/dist/event-cid.js';

const here = new URL('.', import.meta.url);
const hex = (b) => Buffer.from(b).toString('hex');

const base = {
  type: 'issue.opened',
  ulid: '01JDA6ZB7T3Q9V2W5X8Y4K1M0N',
  actor: 'user:alice',
  payload: null,
  policy_root: createHash('sha256').update('gatos conformance policy').digest('hex'),
  sig_alg: 'ed25519',
  ts: '2026-11-23T12:34:56.789Z',
};
const env = (over) => ({ ...base, ...over });
const nest = (n, leaf, wrap) => {
  let v = leaf;
  for (let i = 0; i < n; i++) v = wrap(v);
  return v;
};

// ---- valid -----------------------------------------------------------------------------------------------------

const valid = [];
function addValid(name, description, value, extra = {}) {
  const bytes = encodeEnvelope(value);
  const back = decodeEnvelope(bytes);
  if (hex(encodeEnvelope(back)) !== hex(bytes)) throw new Error(`${name}: round trip changed the bytes`);
  valid.push({ name, description, ...extra, canonical_hex: hex(bytes), cid: eventCidString(bytes) });
}
const addJson = (name, description, value) => addValid(name, description, value, { envelope: value });

addJson('minimal', 'required fields only, payload null', env({}));
addJson('empty-payload-object', 'payload {}', env({ payload: {} }));
addJson('empty-payload-array', 'payload []', env({ payload: [] }));
addJson(
  'with-caps',
  'caps sorted bytewise ascending and unique',
  env({ caps: ['issue.close', 'issue.write', 'journal.append'] }),
);
addJson(
  'caps-grammar',
  'capability names with digits, _ and -; 128-char type',
  env({ type: `a${'.b'.repeat(63)}_`, caps: ['a-b.c_d', 'x0', 'z'] }),
);
addJson(
  'actors',
  'service actor with . _ @ + - in its name; leap day',
  env({ actor: 'service:ci-bot_2.x+gatos@example.org', ts: '2024-02-29T00:00:00.000Z' }),
);
addJson(
  'agent-max-ts',
  'agent actor; the last representable instant',
  env({
    actor: 'agent:0',
    ts: '9999-12-31T23:59:59.999Z',
  }),
);
addJson(
  'unicode-strings',
  'non-ASCII strings and keys; map keys sort by UTF-8 length, then bytes',
  env({
    payload: {
      text: 'héllo wörld — 你好 👋',
      z: 1,
      é: 2,
      日本: 3,
      '\u0000nul': 'a\u0000b',
      emoji: '\u{1F600}',
    },
  }),
);
addJson(
  'nested-payload',
  'maps in arrays in maps; booleans, null, empty string',
  env({
    type: 'doc.updated',
    payload: {
      doc: { id: 'd-1', tags: ['a', 'b'], meta: { rev: 7, draft: false, parent: null } },
      ops: [
        { op: 'set', path: ['title'], value: 'New' },
        { op: 'del', path: ['body', 3] },
      ],
      ok: true,
      note: '',
    },
  }),
);
addJson(
  'integers',
  'integers at every CBOR width boundary and at ±(2^53−1)',
  env({
    payload: {
      zero: 0,
      i23: 23,
      i24: 24,
      i255: 255,
      i256: 256,
      i65535: 65535,
      i65536: 65536,
      u32max: 4294967295,
      u32max1: 4294967296,
      maxSafe: 9007199254740991,
      minSafe: -9007199254740991,
      neg1: -1,
      neg24: -24,
      neg25: -25,
      neg256: -256,
      neg257: -257,
    },
  }),
);
addJson(
  'key-ordering',
  'DAG-CBOR map key order: shorter keys first, then bytewise (so "b" < "aa" and "B" < "a")',
  env({ payload: { aaa: 1, bb: 2, c: 3, B: 4, a: 5, 10: 6, 9: 7, '': 8, ab: 9, _: 10 } }),
);
addJson(
  'depth-64',
  'payload nesting exactly at the default limit (64 arrays)',
  env({ payload: nest(64, 1, (v) => [v]) }),
);
{
  const text = JSON.stringify(env({ payload: { one: 1, big: 1e3, neg: -5 } })).replace(
    '"one":1',
    '"one":1.0',
  );
  const value = envelopeFromJson(text);
  addValid('json-integral-float', 'JSON 1.0 and 1e3 read as the integers 1 and 1000', value, {
    envelope_text: text,
  });
}
addValid(
  'bytes-payload',
  'CBOR byte strings (JSON cannot carry them): {"blob": h\'0001ff\', "empty": h\'\'}',
  env({ payload: { blob: Uint8Array.from([0, 1, 255]), empty: new Uint8Array(0) } }),
);
addValid(
  'int64-payload',
  'integers beyond 2^53 within int64 (JSON cannot carry them): [2^53, 2^63−1, −2^63]',
  env({ payload: [2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)] }),
);

// ---- invalid ---------------------------------------------------------------------------------------------------

const invalid = [];
function run(fn) {
  try {
    fn();
  } catch (e) {
    return e.code ?? `${e.name}: ${e.message}`;
  }
  return 'ACCEPTED';
}
function check(name, got, code) {
  if (got !== code) throw new Error(`${name}: expected ${code}, got ${got}`);
}
function bad(name, input, code, opts) {
  const max = opts?.max_bytes === undefined ? {} : { maxBytes: opts.max_bytes };
  check(
    name,
    run(() => encodeEnvelope(envelopeFromJson(JSON.stringify(input), max), max)),
    code,
  );
  invalid.push({ name, input, ...(opts ?? {}), code });
}
function badText(name, text, code) {
  check(
    name,
    run(() => encodeEnvelope(envelopeFromJson(text))),
    code,
  );
  invalid.push({ name, input_text: text, code });
}
function badHex(name, bytes, code, opts) {
  const max = opts?.max_bytes === undefined ? {} : { maxBytes: opts.max_bytes };
  check(
    name,
    run(() => decodeEnvelope(bytes, max)),
    code,
  );
  invalid.push({ name, input_hex: hex(bytes), ...(opts ?? {}), code });
}
const without = (k) => {
  const e = env({});
  delete e[k];
  return e;
};

// shape
bad('not-an-object', [base], 'GATOS_E_ENVELOPE_SHAPE');
bad('null', null, 'GATOS_E_ENVELOPE_SHAPE');
bad('string', 'issue.opened', 'GATOS_E_ENVELOPE_SHAPE');
for (const k of ['type', 'ulid', 'actor', 'payload', 'policy_root', 'sig_alg', 'ts']) {
  bad(`missing-${k}`, without(k), 'GATOS_E_ENVELOPE_SHAPE');
}
bad('type-not-string', env({ type: 5 }), 'GATOS_E_ENVELOPE_SHAPE');
bad('ulid-null', env({ ulid: null }), 'GATOS_E_ENVELOPE_SHAPE');
bad('ts-number', env({ ts: 1764000000000 }), 'GATOS_E_ENVELOPE_SHAPE');
bad('caps-not-array', env({ caps: 'journal.append' }), 'GATOS_E_ENVELOPE_SHAPE');
bad('caps-null', env({ caps: null }), 'GATOS_E_ENVELOPE_SHAPE');
bad('sig-alg-not-string', env({ sig_alg: 1 }), 'GATOS_E_ENVELOPE_SHAPE');
// unknown fields
bad('sig-inside', env({ sig: 'ed25519:AAAA' }), 'GATOS_E_ENVELOPE_UNKNOWN_FIELD');
bad('extra-field', env({ foo: 1 }), 'GATOS_E_ENVELOPE_UNKNOWN_FIELD');
bad('field-case', { ...without('type'), Type: 'issue.opened' }, 'GATOS_E_ENVELOPE_UNKNOWN_FIELD');
// type
for (const [n, t] of [
  ['uppercase', 'Issue.opened'],
  ['leading-digit', '1issue'],
  ['empty', ''],
  ['empty-segment', 'issue..opened'],
  ['trailing-dot', 'issue.'],
  ['space', 'issue opened'],
  ['colon', 'issue:opened'],
  ['too-long', `a${'.b'.repeat(64)}`],
]) {
  bad(`type-${n}`, env({ type: t }), 'GATOS_E_ENVELOPE_TYPE');
}
// ulid
for (const [n, u] of [
  ['lowercase', '01jda6zb7t3q9v2w5x8y4k1m0n'],
  ['short', '01JDA6ZB7T3Q9V2W5X8Y4K1M0'],
  ['long', '01JDA6ZB7T3Q9V2W5X8Y4K1M0NN'],
  ['overflow', '8ZZZZZZZZZZZZZZZZZZZZZZZZZ'],
  ['letter-I', '01JDA6ZB7T3Q9V2W5X8Y4K1M0I'],
  ['letter-L', '01JDA6ZB7T3Q9V2W5X8Y4K1M0L'],
  ['letter-O', '01JDA6ZB7T3Q9V2W5X8Y4K1M0O'],
  ['letter-U', '01JDA6ZB7T3Q9V2W5X8Y4K1M0U'],
  ['uuid', '0193f1d2-8c1e-7abc-9def-0123456789ab'],
]) {
  bad(`ulid-${n}`, env({ ulid: u }), 'GATOS_E_ENVELOPE_ULID');
}
// actor
for (const [n, a] of [
  ['unknown-kind', 'robot:r2'],
  ['no-kind', 'alice'],
  ['empty-name', 'user:'],
  ['name-leading-dot', 'user:.alice'],
  ['name-colon', 'user:alice:bob'],
  ['name-space', 'user:alice smith'],
  ['name-too-long', `user:${'a'.repeat(129)}`],
  ['kind-uppercase', 'User:alice'],
]) {
  bad(`actor-${n}`, env({ actor: a }), 'GATOS_E_ENVELOPE_ACTOR');
}
// ts
for (const [n, t] of [
  ['no-fraction', '2026-11-23T12:34:56Z'],
  ['one-digit-fraction', '2026-11-23T12:34:56.7Z'],
  ['six-digit-fraction', '2026-11-23T12:34:56.789000Z'],
  ['offset', '2026-11-23T12:34:56.789+00:00'],
  ['lowercase-t', '2026-11-23t12:34:56.789Z'],
  ['lowercase-z', '2026-11-23T12:34:56.789z'],
  ['space', '2026-11-23 12:34:56.789Z'],
  ['date-only', '2026-11-23'],
  ['feb-30', '2026-02-30T00:00:00.000Z'],
  ['feb-29-non-leap', '2023-02-29T00:00:00.000Z'],
  ['feb-29-1900', '1900-02-29T00:00:00.000Z'],
  ['apr-31', '2026-04-31T00:00:00.000Z'],
  ['month-13', '2026-13-01T00:00:00.000Z'],
  ['month-00', '2026-00-01T00:00:00.000Z'],
  ['day-00', '2026-01-00T00:00:00.000Z'],
  ['hour-24', '2026-11-23T24:00:00.000Z'],
  ['minute-60', '2026-11-23T12:60:00.000Z'],
  ['leap-second', '2016-12-31T23:59:60.000Z'],
  ['five-digit-year', '+12026-11-23T12:34:56.789Z'],
]) {
  bad(`ts-${n}`, env({ ts: t }), 'GATOS_E_ENVELOPE_TS');
}
// policy_root
for (const [n, p] of [
  ['uppercase', base.policy_root.toUpperCase()],
  ['sha1-length', base.policy_root.slice(0, 40)],
  ['too-long', `${base.policy_root}0`],
  ['non-hex', `g${base.policy_root.slice(1)}`],
  ['prefixed', `sha256:${base.policy_root}`],
  ['empty', ''],
]) {
  bad(`policy-root-${n}`, env({ policy_root: p }), 'GATOS_E_ENVELOPE_POLICY_ROOT');
}
// caps
for (const [n, c] of [
  ['empty', []],
  ['unsorted', ['journal.append', 'issue.write']],
  ['duplicate', ['issue.write', 'issue.write']],
  ['uppercase', ['Issue.write']],
  ['non-string', [1]],
  ['null-element', [null]],
  ['too-many', Array.from({ length: 65 }, (_, i) => `c${String(i).padStart(2, '0')}`)],
]) {
  bad(`caps-${n}`, env({ caps: c }), 'GATOS_E_ENVELOPE_CAPS');
}
// sig_alg
for (const [n, s] of [
  ['capitalized', 'Ed25519'],
  ['rsa', 'rsa'],
  ['empty', ''],
]) {
  bad(`sig-alg-${n}`, env({ sig_alg: s }), 'GATOS_E_ENVELOPE_SIG_ALG');
}
// payload values JSON can express
bad('payload-float', env({ payload: 1.5 }), 'GATOS_E_PAYLOAD_FLOAT');
bad('payload-float-nested', env({ payload: { a: [1, 2, 0.1] } }), 'GATOS_E_PAYLOAD_FLOAT');
bad('payload-2^53', env({ payload: 9007199254740992 }), 'GATOS_E_PAYLOAD_UNSAFE_INT');
bad('payload-minus-2^53', env({ payload: { n: -9007199254740992 } }), 'GATOS_E_PAYLOAD_UNSAFE_INT');
bad('payload-1e300', env({ payload: 1e300 }), 'GATOS_E_PAYLOAD_UNSAFE_INT');
bad('payload-depth-65-arrays', env({ payload: nest(65, 1, (v) => [v]) }), 'GATOS_E_PAYLOAD_DEPTH');
bad('payload-depth-65-maps', env({ payload: nest(65, 1, (v) => ({ a: v })) }), 'GATOS_E_PAYLOAD_DEPTH');
bad('payload-too-large', env({ payload: 'x'.repeat(300) }), 'GATOS_E_PAYLOAD_TOO_LARGE', { max_bytes: 256 });
const json = (over) => JSON.stringify(env(over));
badText('payload-minus-zero', json({ payload: 'MZ' }).replace('"MZ"', '-0'), 'GATOS_E_PAYLOAD_FLOAT');
badText('payload-minus-zero-float', json({ payload: 'MZ' }).replace('"MZ"', '-0.0'), 'GATOS_E_PAYLOAD_FLOAT');
badText(
  'payload-2^53+1',
  json({ payload: 'N' }).replace('"N"', '9007199254740993'),
  'GATOS_E_PAYLOAD_UNSAFE_INT',
);
badText('payload-1e400', json({ payload: 'N' }).replace('"N"', '1e400'), 'GATOS_E_PAYLOAD_NAN');
badText('payload-minus-1e400', json({ payload: 'N' }).replace('"N"', '-1e400'), 'GATOS_E_PAYLOAD_NAN');
badText(
  'payload-lone-surrogate',
  json({ payload: 'S' }).replace('"S"', '"a\\ud800b"'),
  'GATOS_E_PAYLOAD_STRING',
);
badText(
  'payload-lone-surrogate-key',
  json({ payload: 'S' }).replace('"S"', '{"\\udc00":1}'),
  'GATOS_E_PAYLOAD_KEY',
);
// not JSON
badText('json-truncated', '{"type":', 'GATOS_E_INPUT_JSON');
badText('json-empty', '', 'GATOS_E_INPUT_JSON');
badText('json-single-quotes', "{'type':'issue.opened'}", 'GATOS_E_INPUT_JSON');
badText('json-trailing-comma', json({}).replace(/}$/, ',}'), 'GATOS_E_INPUT_JSON');

// ---- invalid CBOR ----------------------------------------------------------------------------------------------

function head(major, n) {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 255];
  throw new Error('too long');
}
const cat = (...parts) => Uint8Array.from(parts.flatMap((p) => [...p]));
// DAG-CBOR key order: length first, then bytewise.
const dagOrder = (a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
/** An envelope map with `payload` replaced by raw bytes and keys in the given order (default: canonical). */
function envelopeWith(payloadBytes, { order = dagOrder, extra = {} } = {}) {
  const e = { ...base, ...extra };
  const keys = Object.keys(e).sort(order);
  return cat(
    head(5, keys.length),
    ...keys.flatMap((k) => [encodeCanonical(k), k === 'payload' ? payloadBytes : encodeCanonical(e[k])]),
  );
}
const h = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const canonical = envelopeWith(encodeCanonical(null));
if (hex(canonical) !== valid[0].canonical_hex)
  throw new Error('hand-built envelope differs from encodeEnvelope');

badHex(
  'cbor-top-keys-bytewise-order',
  envelopeWith(h('f6'), { order: (a, b) => (a < b ? -1 : 1) }),
  'GATOS_E_NOT_CANONICAL',
);
badHex('cbor-payload-keys-unsorted', envelopeWith(h('a2 62 6161 01 61 62 02')), 'GATOS_E_NOT_CANONICAL');
badHex('cbor-int-as-float64', envelopeWith(h('fb 3ff0000000000000')), 'GATOS_E_NOT_CANONICAL');
badHex('cbor-int-as-float32', envelopeWith(h('fa 3f800000')), 'GATOS_E_NOT_CANONICAL');
badHex('cbor-float16', envelopeWith(h('f9 3c00')), 'GATOS_E_NOT_CANONICAL');
badHex('cbor-float16-fraction', envelopeWith(h('f9 3e00')), 'GATOS_E_NOT_CANONICAL');
badHex('cbor-undefined', envelopeWith(h('f7')), 'GATOS_E_NOT_CANONICAL');
badHex('cbor-minus-zero-float16', envelopeWith(h('f9 8000')), 'GATOS_E_NOT_CANONICAL');
badHex('cbor-float64-fraction', envelopeWith(h('fb 3ff8000000000000')), 'GATOS_E_PAYLOAD_FLOAT');
badHex('cbor-uint64-2^63', envelopeWith(h('1b 8000000000000000')), 'GATOS_E_PAYLOAD_UNSAFE_INT');
badHex('cbor-nint64-minus-2^64', envelopeWith(h('3b ffffffffffffffff')), 'GATOS_E_PAYLOAD_UNSAFE_INT');
badHex(
  'cbor-cid-link',
  envelopeWith(cat(h('d8 2a 58 25 00 01 71 12 20'), new Uint8Array(32).fill(1))),
  'GATOS_E_PAYLOAD_CLASS',
);
badHex('cbor-indefinite-array', envelopeWith(h('9f 01 ff')), 'GATOS_E_DECODE');
badHex('cbor-indefinite-map', envelopeWith(h('bf 61 61 01 ff')), 'GATOS_E_DECODE');
badHex('cbor-indefinite-string', envelopeWith(h('7f 61 61 ff')), 'GATOS_E_DECODE');
badHex('cbor-non-minimal-int', envelopeWith(h('18 01')), 'GATOS_E_DECODE');
badHex('cbor-non-minimal-length', envelopeWith(h('78 01 61')), 'GATOS_E_DECODE');
badHex('cbor-duplicate-key', envelopeWith(h('a2 61 61 01 61 61 02')), 'GATOS_E_DECODE');
badHex('cbor-int-key', envelopeWith(h('a1 01 01')), 'GATOS_E_DECODE');
badHex('cbor-nan', envelopeWith(h('f9 7e00')), 'GATOS_E_DECODE');
badHex('cbor-infinity', envelopeWith(h('f9 7c00')), 'GATOS_E_DECODE');
badHex('cbor-simple-value', envelopeWith(h('f0')), 'GATOS_E_DECODE');
badHex('cbor-unknown-tag', envelopeWith(h('c1 1a 514b67b0')), 'GATOS_E_DECODE');
badHex('cbor-invalid-utf8', envelopeWith(h('62 c3 28')), 'GATOS_E_DECODE');
badHex('cbor-trailing-byte', cat(canonical, [0]), 'GATOS_E_DECODE');
badHex('cbor-truncated', canonical.subarray(0, canonical.length - 1), 'GATOS_E_DECODE');
badHex('cbor-empty', new Uint8Array(0), 'GATOS_E_DECODE');
badHex('cbor-top-level-array', cat([0x81], canonical), 'GATOS_E_ENVELOPE_SHAPE');
badHex('cbor-sig-field', envelopeWith(h('f6'), { extra: { sig: 'x' } }), 'GATOS_E_ENVELOPE_UNKNOWN_FIELD');
badHex('cbor-depth-65', envelopeWith(cat(new Uint8Array(65).fill(0x81), [1])), 'GATOS_E_PAYLOAD_DEPTH');
// Deep enough to overflow a recursive decoder's stack: must still be a clean GATOS_E_PAYLOAD_DEPTH.
badHex('cbor-depth-10000', envelopeWith(cat(new Uint8Array(10000).fill(0x81), [1])), 'GATOS_E_PAYLOAD_DEPTH');
badHex('cbor-too-large', canonical, 'GATOS_E_PAYLOAD_TOO_LARGE', { max_bytes: canonical.length - 1 });

// One vector per block; vectors whose pretty form would be very long (deep nesting) go on one line.
function format(list) {
  const items = list.map((v) => {
    const pretty = JSON.stringify(v, null, 2);
    return (pretty.split('\n').length > 60 ? JSON.stringify(v) : pretty).replace(/^/gm, '  ');
  });
  return `[\n${items.join(',\n')}\n]\n`;
}
writeFileSync(new URL('valid.json', here), format(valid));
writeFileSync(new URL('invalid.json', here), format(invalid));
console.log(`envelope vectors: ${valid.length} valid, ${invalid.length} invalid`);
