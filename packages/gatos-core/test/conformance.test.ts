/**
 * Runs conformance/ vectors against this implementation, and cross-checks some of them independently of it:
 * CIDs by hashing with @noble/hashes and assembling the CID bytes and base32 by hand, one canonical encoding
 * with a hand-written CBOR writer, and every event signature with @noble/ed25519.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ed from '@noble/ed25519';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { CID } from 'multiformats/cid';
import { describe, expect, it } from 'vitest';
import { keyId, keyPairFromSeed, sign, validatePublicKey } from '../src/trust/ed25519.js';
import { type ErrorCode, ErrorCodes, GatosError } from '../src/errors.js';
import { eventCidString, parseEventCid } from '../src/events/event-cid.js';
import {
  decodeEnvelope,
  type EventEnvelope,
  encodeEnvelope,
  envelopeFromJson,
} from '../src/events/event-envelope.js';
import {
  assertEventSignature,
  eventSigningInput,
  formatSignature,
  parseSignature,
  signEvent,
  verifyEventSignature,
} from '../src/events/event-signature.js';

ed.hashes.sha512 = sha512;

const root = join(import.meta.dirname, '../../../conformance');
const load = <T>(p: string): T => JSON.parse(readFileSync(join(root, p), 'utf8')) as T;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ACCEPTED';
  } catch (e) {
    if (e instanceof GatosError) return e.code;
    throw e;
  }
};

interface ValidVector {
  name: string;
  envelope?: EventEnvelope;
  envelope_text?: string;
  canonical_hex: string;
  cid: string;
}
interface InvalidVector {
  name: string;
  input?: unknown;
  input_text?: string;
  input_hex?: string;
  max_bytes?: number;
  code: ErrorCode;
}
const valid = load<ValidVector[]>('envelope/valid.json');
const invalid = load<InvalidVector[]>('envelope/invalid.json');

// RFC 4648 base32, lowercase, no padding: written here so the CID check does not trust multiformats.
function base32(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

describe('conformance/envelope/valid.json', () => {
  it('has the expected vectors', () => {
    expect(valid.length).toBeGreaterThanOrEqual(15);
    expect(new Set(valid.map((v) => v.name)).size).toBe(valid.length);
  });

  for (const v of valid) {
    it(v.name, () => {
      const bytes = unhex(v.canonical_hex);
      if (v.envelope !== undefined) expect(hex(encodeEnvelope(v.envelope))).toBe(v.canonical_hex);
      if (v.envelope_text !== undefined) {
        expect(hex(encodeEnvelope(envelopeFromJson(v.envelope_text)))).toBe(v.canonical_hex);
      }
      const decoded = decodeEnvelope(bytes);
      if (v.envelope !== undefined) expect(decoded).toEqual(v.envelope);
      expect(hex(encodeEnvelope(decoded))).toBe(v.canonical_hex);
      expect(eventCidString(bytes)).toBe(v.cid);
      // Independent: CIDv1 = 0x01, dag-cbor 0x71, blake3 0x1e, length 0x20, digest; multibase 'b' + base32.
      const cidBytes = Uint8Array.from([0x01, 0x71, 0x1e, 0x20, ...blake3(bytes)]);
      expect(`b${base32(cidBytes)}`).toBe(v.cid);
    });
  }

  it('the minimal vector matches a hand-written CBOR encoding', () => {
    const v = valid.find((x) => x.name === 'minimal')!;
    const env = v.envelope!;
    const text = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      const head = b.length < 24 ? [0x60 | b.length] : [0x78, b.length];
      return [...head, ...b];
    };
    // DAG-CBOR key order: by encoded length, then bytewise.
    const keys = Object.keys(env).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    expect(keys).toEqual(['ts', 'type', 'ulid', 'actor', 'payload', 'sig_alg', 'policy_root']);
    const bytes = [0xa0 | keys.length];
    for (const k of keys) {
      const value = (env as unknown as Record<string, unknown>)[k];
      bytes.push(...text(k), ...(value === null ? [0xf6] : text(value as string)));
    }
    expect(hex(Uint8Array.from(bytes))).toBe(v.canonical_hex);
  });

  it('the key-ordering vector shows length-first key order in the bytes', () => {
    const v = valid.find((x) => x.name === 'key-ordering')!;
    // (JS objects enumerate integer-like keys such as "9" and "10" first, so look at the bytes, not Object.keys.)
    const order: [string, number][] = [
      ['', 8],
      ['9', 7],
      ['B', 4],
      ['_', 10],
      ['a', 5],
      ['c', 3],
      ['10', 6],
      ['ab', 9],
      ['bb', 2],
      ['aaa', 1],
    ];
    const map = [0xaa, ...order.flatMap(([k, n]) => [0x60 | k.length, ...Buffer.from(k), n])];
    expect(v.canonical_hex).toContain(`677061796c6f6164${hex(Uint8Array.from(map))}`);
  });
});

describe('conformance/envelope/invalid.json', () => {
  it('covers every envelope and payload code, and only known codes', () => {
    const codes = new Set(invalid.map((v) => v.code));
    for (const c of codes) expect(c in ErrorCodes, c).toBe(true);
    for (const c of Object.keys(ErrorCodes).filter((k) => /^GATOS_E_(ENVELOPE|PAYLOAD)_/.test(k))) {
      if (c === 'GATOS_E_PAYLOAD_UNDEFINED') continue; // JSON and DAG-CBOR cannot express it
      expect(codes.has(c as ErrorCode), c).toBe(true);
    }
    for (const c of ['GATOS_E_NOT_CANONICAL', 'GATOS_E_DECODE', 'GATOS_E_INPUT_JSON'] as const) {
      expect(codes.has(c), c).toBe(true);
    }
  });

  for (const v of invalid) {
    it(`${v.name} → ${v.code}`, () => {
      const opts = v.max_bytes === undefined ? {} : { maxBytes: v.max_bytes };
      let got: string;
      if (v.input_hex !== undefined) got = codeOf(() => decodeEnvelope(unhex(v.input_hex!), opts));
      else if (v.input_text !== undefined) {
        got = codeOf(() => encodeEnvelope(envelopeFromJson(v.input_text!, opts), opts));
      } else got = codeOf(() => encodeEnvelope(v.input as EventEnvelope, opts));
      expect(got).toBe(v.code);
    });
  }
});

interface SigFile {
  rfc8032: {
    name: string;
    seed: string;
    public_key: string;
    message: string;
    signature: string;
    key_id: string;
  }[];
  keys: { name: string; seed: string; public_key: string; key_id: string }[];
  event_signatures: {
    name: string;
    seed: string;
    public_key: string;
    key_id: string;
    ref: string;
    parent: string;
    cid: string;
    signing_input: string;
    signature: string;
    signature_string: string;
  }[];
  invalid_public_keys: { name: string; public_key: string; reason: string; code: ErrorCode }[];
  invalid_signatures: {
    name: string;
    public_key: string;
    ref: string;
    parent: string;
    cid: string;
    signature: string;
    code: ErrorCode;
  }[];
  signature_strings: {
    valid: { string: string; signature: string }[];
    invalid: { name: string; string: string }[];
  };
}
const sigs = load<SigFile>('signature/ed25519.json');

describe('conformance/signature/ed25519.json', () => {
  it('RFC 8032 vectors', () => {
    for (const v of sigs.rfc8032) {
      expect(hex(keyPairFromSeed(unhex(v.seed)).publicKey)).toBe(v.public_key);
      expect(hex(sign(unhex(v.seed), unhex(v.message)))).toBe(v.signature);
      expect(keyId(unhex(v.public_key))).toBe(v.key_id);
    }
  });

  it('keys and key ids', () => {
    for (const k of sigs.keys) {
      expect(hex(keyPairFromSeed(unhex(k.seed)).publicKey)).toBe(k.public_key);
      expect(hex(ed.getPublicKey(unhex(k.seed)))).toBe(k.public_key);
      expect(k.key_id).toBe(`ed25519:${hex(blake3(unhex(k.public_key))).slice(0, 32)}`);
      expect(keyId(unhex(k.public_key))).toBe(k.key_id);
    }
  });

  for (const v of sigs.event_signatures) {
    it(`event signature ${v.name}`, () => {
      const ctx = { ref: v.ref, parent: v.parent, cid: parseEventCid(v.cid) };
      const input = eventSigningInput(ctx);
      expect(hex(input)).toBe(v.signing_input);
      // Independent: rebuild the signing input with multiformats' CID parser, and sign/verify with noble.
      const manual = Buffer.concat([
        Buffer.from(`GATOS-EVENT-SIG-v1\0${v.ref}\0${v.parent}\0`, 'utf8'),
        CID.parse(v.cid).bytes,
      ]);
      expect(manual.toString('hex')).toBe(v.signing_input);
      expect(hex(ed.sign(unhex(v.signing_input), unhex(v.seed)))).toBe(v.signature);
      expect(
        ed.verify(unhex(v.signature), unhex(v.signing_input), unhex(v.public_key), { zip215: false }),
      ).toBe(true);
      const sig = signEvent(unhex(v.seed), ctx);
      expect(hex(sig)).toBe(v.signature);
      expect(verifyEventSignature(unhex(v.public_key), ctx, sig)).toBe(true);
      expect(formatSignature(sig)).toBe(v.signature_string);
      expect(hex(parseSignature(v.signature_string))).toBe(v.signature);
    });
  }

  it('invalid public keys', () => {
    for (const v of sigs.invalid_public_keys) {
      let got: unknown = 'ACCEPTED';
      try {
        validatePublicKey(unhex(v.public_key));
      } catch (e) {
        got = `${(e as GatosError).code}/${(e as GatosError).data.reason}`;
      }
      expect(got, v.name).toBe(`${v.code}/${v.reason}`);
    }
  });

  it('invalid signatures', () => {
    for (const v of sigs.invalid_signatures) {
      const ctx = { ref: v.ref, parent: v.parent, cid: parseEventCid(v.cid) };
      const pk = unhex(v.public_key);
      expect(
        codeOf(() => assertEventSignature(pk, ctx, unhex(v.signature))),
        v.name,
      ).toBe(v.code);
      expect(verifyEventSignature(pk, ctx, unhex(v.signature)), v.name).toBe(false);
    }
  });

  it('signature strings', () => {
    for (const v of sigs.signature_strings.valid) expect(hex(parseSignature(v.string))).toBe(v.signature);
    for (const v of sigs.signature_strings.invalid) {
      expect(
        codeOf(() => parseSignature(v.string)),
        v.name,
      ).toBe('GATOS_E_SIG_MALFORMED');
    }
  });
});
