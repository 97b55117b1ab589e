import { describe, expect, it } from 'vitest';
import { type ErrorCode, GatosError } from '../src/errors.js';
import {
  createEnvelope,
  decodeEnvelope,
  type EventEnvelope,
  encodeEnvelope,
  envelopeFromJson,
  envelopeTimestamp,
  isEnvelopeTimestamp,
  validateEnvelope,
} from '../src/events/event-envelope.js';

const base: EventEnvelope = {
  type: 'issue.opened',
  ulid: '01JDA6ZB7T3Q9V2W5X8Y4K1M0N',
  actor: 'user:alice',
  payload: { title: 'Hello' },
  policy_root: 'c951755741eeabc3b72853536c1f11cee6ba3c44cb44cf98712259e168de8a53',
  sig_alg: 'ed25519',
  ts: '2026-11-23T12:34:56.789Z',
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function err(fn: () => unknown): GatosError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatosError) return e;
    throw e;
  }
  throw new Error('accepted');
}
const codeOf = (value: unknown, opts?: { maxBytes?: number }): ErrorCode =>
  err(() => encodeEnvelope(value as EventEnvelope, opts)).code;

describe('envelope validation', () => {
  it('accepts a valid envelope and round-trips it byte for byte', () => {
    const bytes = encodeEnvelope(base);
    const back = decodeEnvelope(bytes);
    expect(back).toEqual(base);
    expect(hex(encodeEnvelope(back))).toBe(hex(bytes));
  });

  it('checks in a fixed order: shape, unknown, missing, then each field', () => {
    const e = err(() => validateEnvelope({ bogus: 1 }));
    expect(e.code).toBe('GATOS_E_ENVELOPE_UNKNOWN_FIELD');
    expect(e.data).toMatchObject({ fields: ['bogus'] });
    const m = err(() => validateEnvelope({ type: 'x' }));
    expect(m.code).toBe('GATOS_E_ENVELOPE_SHAPE');
    expect(m.data.fields).toEqual(['ulid', 'actor', 'payload', 'policy_root', 'sig_alg', 'ts']);
    expect(codeOf({ ...base, type: 'Bad', ulid: 'bad' })).toBe('GATOS_E_ENVELOPE_TYPE');
  });

  it('refuses non-plain envelopes and envelope quirks JSON cannot express', () => {
    expect(codeOf(new Map(Object.entries(base)))).toBe('GATOS_E_ENVELOPE_SHAPE');
    expect(codeOf(Object.assign(new (class Env {})(), base))).toBe('GATOS_E_ENVELOPE_SHAPE');
    expect(codeOf({ ...base, caps: undefined })).toBe('GATOS_E_ENVELOPE_SHAPE');
    expect(codeOf({ ...base, [Symbol('x')]: 1 })).toBe('GATOS_E_ENVELOPE_UNKNOWN_FIELD');
    expect(codeOf(Object.defineProperty({ ...base }, 'ts', { value: base.ts, enumerable: false }))).toBe(
      'GATOS_E_ENVELOPE_SHAPE',
    );
    expect(codeOf({ ...base, payload: undefined })).toBe('GATOS_E_PAYLOAD_UNDEFINED');
  });

  it('reports payload problems with a data path', () => {
    const e = err(() => encodeEnvelope({ ...base, payload: { items: [{ qty: 1 }, { qty: 1.5 }] } }));
    expect(e.code).toBe('GATOS_E_PAYLOAD_FLOAT');
    expect(e.data.path).toBe('payload.items[1].qty');
    expect(e.message).toContain('payload.items[1].qty');
    const k = err(() => encodeEnvelope({ ...base, payload: { m: new Map() } as never }));
    expect(k.data.path).toBe('payload.m');
  });

  it('validates caps: non-empty, sorted bytewise, unique, grammar', () => {
    expect(() => encodeEnvelope({ ...base, caps: ['a.b', 'a.c'] })).not.toThrow();
    expect(codeOf({ ...base, caps: ['B', 'a'] })).toBe('GATOS_E_ENVELOPE_CAPS');
    expect(codeOf({ ...base, caps: ['b', 'a'] })).toBe('GATOS_E_ENVELOPE_CAPS');
    expect(codeOf({ ...base, caps: ['a', 'a'] })).toBe('GATOS_E_ENVELOPE_CAPS');
    expect(codeOf({ ...base, caps: [] })).toBe('GATOS_E_ENVELOPE_CAPS');
    expect(err(() => encodeEnvelope({ ...base, caps: ['a', 'b', 'b'] })).data.path).toBe('caps[2]');
  });

  it('enforces maxBytes on the whole encoded envelope', () => {
    const bytes = encodeEnvelope(base);
    expect(codeOf(base, { maxBytes: bytes.length - 1 })).toBe('GATOS_E_PAYLOAD_TOO_LARGE');
    expect(encodeEnvelope(base, { maxBytes: bytes.length })).toEqual(bytes);
    expect(err(() => decodeEnvelope(bytes, { maxBytes: bytes.length - 1 })).code).toBe(
      'GATOS_E_PAYLOAD_TOO_LARGE',
    );
    // default: 1 MiB
    expect(codeOf({ ...base, payload: 'x'.repeat(1_048_576) })).toBe('GATOS_E_PAYLOAD_TOO_LARGE');
    expect(() => encodeEnvelope({ ...base, payload: 'x'.repeat(1_048_000) })).not.toThrow();
  });

  it('applies maxDepth to the payload on encode and decode', () => {
    const deep = { ...base, payload: [[[1]]] };
    expect(() => encodeEnvelope(deep)).not.toThrow();
    expect(err(() => encodeEnvelope(deep, { maxDepth: 2 })).code).toBe('GATOS_E_PAYLOAD_DEPTH');
    const bytes = encodeEnvelope(deep);
    expect(decodeEnvelope(bytes, { maxDepth: 3 })).toEqual(deep);
    expect(err(() => decodeEnvelope(bytes, { maxDepth: 2 })).code).toBe('GATOS_E_PAYLOAD_DEPTH');
  });
});

describe('createEnvelope', () => {
  it('sorts and de-duplicates caps, omits empty caps, defaults sig_alg', () => {
    const { sig_alg: _, ...init } = base;
    const env = createEnvelope({ ...init, caps: new Set(['journal.append', 'issue.write', 'issue.write']) });
    expect(env.caps).toEqual(['issue.write', 'journal.append']);
    expect(env.sig_alg).toBe('ed25519');
    expect('caps' in createEnvelope({ ...init, caps: [] })).toBe(false);
    expect('caps' in createEnvelope({ ...init, caps: undefined })).toBe(false);
    expect(hex(encodeEnvelope(createEnvelope({ ...init, caps: ['b', 'a'] })))).toBe(
      hex(encodeEnvelope({ ...base, caps: ['a', 'b'] })),
    );
  });
});

describe('timestamps', () => {
  it('accepts real instants with exactly three fraction digits', () => {
    for (const ts of ['2024-02-29T23:59:59.999Z', '2000-02-29T00:00:00.000Z', '0000-01-01T00:00:00.000Z']) {
      expect(isEnvelopeTimestamp(ts), ts).toBe(true);
    }
    for (const ts of ['2100-02-29T00:00:00.000Z', '2026-06-31T00:00:00.000Z', '2026-01-01T00:00:00Z']) {
      expect(isEnvelopeTimestamp(ts), ts).toBe(false);
    }
  });
  it('envelopeTimestamp gives the canonical form of a Date', () => {
    expect(envelopeTimestamp(new Date(Date.UTC(2026, 10, 23, 1, 2, 3, 4)))).toBe('2026-11-23T01:02:03.004Z');
    expect(err(() => envelopeTimestamp(new Date(Date.UTC(10000, 0, 1)))).code).toBe('GATOS_E_ENVELOPE_TS');
  });
});

describe('envelopeFromJson', () => {
  const json = (payload: string) => JSON.stringify({ ...base, payload: 'P' }).replace('"P"', payload);
  it('reads integral JSON numbers as integers and refuses the rest', () => {
    expect(envelopeFromJson(json('[1.0, 1e3]')).payload).toEqual([1, 1000]);
    expect(err(() => envelopeFromJson(json('1.5'))).code).toBe('GATOS_E_PAYLOAD_FLOAT');
    expect(err(() => envelopeFromJson(json('-0'))).code).toBe('GATOS_E_PAYLOAD_FLOAT');
    expect(err(() => envelopeFromJson(json('9007199254740993'))).code).toBe('GATOS_E_PAYLOAD_UNSAFE_INT');
    expect(err(() => envelopeFromJson(json('1e999'))).code).toBe('GATOS_E_PAYLOAD_NAN');
  });
  it('refuses text that is not JSON', () => {
    const e = err(() => envelopeFromJson('{"type":'));
    expect(e.code).toBe('GATOS_E_INPUT_JSON');
  });
  it('keeps a "__proto__" key as data, and it round-trips', () => {
    const env = envelopeFromJson(json('{"__proto__": {"x": 1}}'));
    expect(Object.keys(env.payload as object)).toEqual(['__proto__']);
    const back = decodeEnvelope(encodeEnvelope(env));
    expect(Object.keys(back.payload as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back.payload)).toBe(Object.prototype);
  });
});
