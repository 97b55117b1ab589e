import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DsseEnvelope,
  decodeBase64Strict,
  openDsse,
  pae,
  parseDsse,
  serializeDsse,
  signDsse,
  verifyDsse,
} from '../src/proofs/dsse.js';
import { keyId, keyPairFromSeed, sign } from '../src/trust/ed25519.js';
import { ErrorCodes, type GatosError } from '../src/errors.js';

const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../../conformance/dsse/vectors.json'), 'utf8'),
) as {
  pae: { payloadType: string; payload_utf8: string; pae_utf8: string; pae_hex: string };
  dsse: {
    seed: string;
    public_key: string;
    key_id: string;
    statement_canonical: string;
    pae_hex: string;
    signature_hex: string;
    envelope: DsseEnvelope;
    envelope_bytes: string;
  };
};

const enc = new TextEncoder();
const dec = new TextDecoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const fail = (fn: () => unknown): GatosError => {
  try {
    fn();
  } catch (e) {
    return e as GatosError;
  }
  throw new Error('expected an error');
};

const seedA = new Uint8Array(32).fill(0x42);
const seedB = new Uint8Array(32).fill(0x07);
const A = keyPairFromSeed(seedA);
const B = keyPairFromSeed(seedB);
const signerA = { keyId: keyId(A.publicKey), sign: (m: Uint8Array) => sign(seedA, m) };
const signerB = { keyId: keyId(B.publicKey), sign: (m: Uint8Array) => sign(seedB, m) };
const keys = new Map([
  [signerA.keyId, A.publicKey],
  [signerB.keyId, B.publicKey],
]);
const resolve = (id: string) => keys.get(id);
const TYPE = 'application/vnd.example+json';
const body = enc.encode('{"hello":"world"}');

describe('PAE', () => {
  it('matches the DSSE spec vector', () => {
    const out = pae('http://example.com/HelloWorld', enc.encode('hello world'));
    expect(dec.decode(out)).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    expect(hex(pae(vectors.pae.payloadType, enc.encode(vectors.pae.payload_utf8)))).toBe(vectors.pae.pae_hex);
    expect(vectors.pae.pae_utf8).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('counts bytes, not characters, and handles empty parts', () => {
    expect(dec.decode(pae('é', enc.encode('ü')))).toBe('DSSEv1 2 é 2 ü');
    expect(dec.decode(pae('', new Uint8Array()))).toBe('DSSEv1 0  0 ');
    const bin = pae('t', Uint8Array.of(0, 255, 32));
    expect(hex(bin)).toBe(hex(enc.encode('DSSEv1 1 t 3 ')) + '00ff20');
  });
});

describe('signDsse / verifyDsse', () => {
  it('round-trips and returns the verified payload', () => {
    const env = signDsse(TYPE, body, [signerA]);
    expect(Object.keys(env)).toEqual(['payloadType', 'payload', 'signatures']);
    expect(env.signatures).toHaveLength(1);
    expect(env.signatures[0]!.keyid).toBe(signerA.keyId);
    expect(verifyDsse(env, resolve)).toEqual(body);
    const opened = openDsse(env, resolve);
    expect(opened.payloadType).toBe(TYPE);
    expect(opened.verified.map((v) => v.keyid)).toEqual([signerA.keyId]);
  });

  it('reproduces the conformance envelope byte for byte', () => {
    const v = vectors.dsse;
    const seed = unhex(v.seed);
    const { publicKey } = keyPairFromSeed(seed);
    expect(hex(publicKey)).toBe(v.public_key);
    expect(keyId(publicKey)).toBe(v.key_id);
    const payload = enc.encode(v.statement_canonical);
    expect(hex(pae('application/vnd.in-toto+json', payload))).toBe(v.pae_hex);
    const env = signDsse('application/vnd.in-toto+json', payload, [
      { keyId: v.key_id, sign: (m) => sign(seed, m) },
    ]);
    expect(env).toEqual(v.envelope);
    expect(hex(decodeBase64Strict(env.signatures[0]!.sig)!)).toBe(v.signature_hex);
    expect(dec.decode(serializeDsse(env))).toBe(v.envelope_bytes);
    expect(parseDsse(v.envelope_bytes)).toEqual(v.envelope);
    expect(dec.decode(verifyDsse(v.envelope, (id) => (id === v.key_id ? publicKey : undefined)))).toBe(
      v.statement_canonical,
    );
  });

  it('refuses an unknown key, a bad signature and an envelope without signatures (GATOS_E_PROOF_SIG, exit 6)', () => {
    const env = signDsse(TYPE, body, [signerA]);
    const unknown = fail(() => verifyDsse(env, () => undefined));
    expect(unknown.code).toBe('GATOS_E_PROOF_SIG');
    expect(unknown.exitStatus).toBe(6);
    expect(unknown.data.signatures).toEqual([{ keyid: signerA.keyId, result: 'unknown-key' }]);
    expect(unknown.message).toContain('unknown-key');

    const tampered = { ...env, payload: Buffer.from('{"hello":"there"}').toString('base64') };
    expect(fail(() => verifyDsse(tampered, resolve)).data.signatures).toEqual([
      { keyid: signerA.keyId, result: 'bad-signature' },
    ]);
    const otherType = { ...env, payloadType: 'application/other' };
    expect(fail(() => verifyDsse(otherType, resolve)).code).toBe('GATOS_E_PROOF_SIG');
    // The key id is only a hint, but it must resolve to the key that signed.
    const swapped = { ...env, signatures: [{ keyid: signerB.keyId, sig: env.signatures[0]!.sig }] };
    expect(fail(() => verifyDsse(swapped, resolve)).code).toBe('GATOS_E_PROOF_SIG');

    const none = fail(() => verifyDsse({ ...env, signatures: [] }, resolve));
    expect(none.code).toBe('GATOS_E_PROOF_SIG');
    expect(none.message).toContain('no signatures');
  });

  it('refuses malleated (S + L) signatures and invalid public keys', () => {
    const env = signDsse(TYPE, body, [signerA]);
    const sig = decodeBase64Strict(env.signatures[0]!.sig)!;
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    s += L;
    const mal = Uint8Array.from(sig);
    for (let i = 0; i < 32; i++) mal[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
    const env2 = { ...env, signatures: [{ keyid: signerA.keyId, sig: Buffer.from(mal).toString('base64') }] };
    expect(fail(() => verifyDsse(env2, resolve)).code).toBe('GATOS_E_PROOF_SIG');
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(fail(() => verifyDsse(env, () => identity)).data.signatures).toEqual([
      { keyid: signerA.keyId, result: 'invalid-key' },
    ]);
    const short = { ...env, signatures: [{ keyid: signerA.keyId, sig: 'AAAA' }] };
    expect(fail(() => verifyDsse(short, resolve)).data.signatures).toEqual([
      { keyid: signerA.keyId, result: 'malformed-signature' },
    ]);
  });

  it('counts distinct public keys, not key ids', () => {
    const env = signDsse(TYPE, body, [signerA, { ...signerA, keyId: 'alias-of-a' }]);
    const aliased = (id: string) => (id === 'alias-of-a' ? A.publicKey : resolve(id));
    expect(openDsse(env, aliased).verified).toHaveLength(1);
    const e = fail(() => verifyDsse(env, aliased, { threshold: 2 }));
    expect(e.code).toBe('GATOS_E_PROOF_SIG');
    expect(e.data.signatures).toEqual([
      { keyid: signerA.keyId, result: 'ok' },
      { keyid: 'alias-of-a', result: 'duplicate-key' },
    ]);
    const two = signDsse(TYPE, body, [signerA, signerB]);
    expect(verifyDsse(two, resolve, { threshold: 2 })).toEqual(body);
    expect(fail(() => verifyDsse(two, resolve, { threshold: 3 })).code).toBe('GATOS_E_PROOF_SIG');
    // One good signature is enough at threshold 1, whatever the others are.
    const mixed = {
      ...two,
      signatures: [{ keyid: 'nobody', sig: two.signatures[0]!.sig }, two.signatures[1]!],
    };
    expect(verifyDsse(mixed, resolve)).toEqual(body);
  });

  it('refuses malformed envelopes (GATOS_E_PROOF_MALFORMED, exit 3)', () => {
    const env = signDsse(TYPE, body, [signerA]);
    const sig0 = env.signatures[0]!;
    const cases: unknown[] = [
      null,
      [],
      'x',
      { payloadType: TYPE, payload: env.payload },
      { ...env, extra: 1 },
      { ...env, payloadType: '' },
      { ...env, payloadType: 5 },
      { ...env, payload: env.payload.replace(/=+$/, '') }, // unpadded
      { ...env, payload: `${env.payload}\n` },
      { ...env, payload: 'ab-_' }, // base64url
      { ...env, signatures: {} },
      { ...env, signatures: [{ keyid: sig0.keyid }] },
      { ...env, signatures: [{ ...sig0, extra: true }] },
      { ...env, signatures: [{ ...sig0, keyid: '' }] },
      { ...env, signatures: [{ ...sig0, sig: 'not base64!' }] },
      { ...env, signatures: [{ ...sig0, sig: 'AB==' }] }, // non-zero padding bits: not the one spelling
    ];
    for (const c of cases) {
      const e = fail(() => verifyDsse(c, resolve));
      expect(e.code, JSON.stringify(c)).toBe('GATOS_E_PROOF_MALFORMED');
      expect(e.exitStatus).toBe(3);
    }
    expect(ErrorCodes.GATOS_E_PROOF_MALFORMED[0]).toBe(3);
    expect(() => signDsse(TYPE, body, [])).toThrow(/at least one signer/);
    expect(() => signDsse(TYPE, body, [{ keyId: 'k', sign: () => new Uint8Array(3) }])).toThrow(/64 bytes/);
  });
});

describe('serializeDsse / parseDsse', () => {
  it('writes one exact byte form: fixed key order, no whitespace, final newline', () => {
    const env = signDsse(TYPE, body, [signerA]);
    const shuffled = {
      signatures: [{ sig: env.signatures[0]!.sig, keyid: env.signatures[0]!.keyid }],
      payload: env.payload,
      payloadType: env.payloadType,
    };
    const text = dec.decode(serializeDsse(shuffled));
    expect(text).toBe(
      `{"payloadType":"${TYPE}","payload":"${env.payload}","signatures":[{"keyid":"${signerA.keyId}","sig":"${env.signatures[0]!.sig}"}]}\n`,
    );
    expect(parseDsse(enc.encode(text))).toEqual(env);
  });

  it('requires the canonical bytes unless told otherwise', () => {
    const env = signDsse(TYPE, body, [signerA]);
    const pretty = JSON.stringify(env, null, 2);
    const e = fail(() => parseDsse(pretty));
    expect(e.code).toBe('GATOS_E_PROOF_MALFORMED');
    expect(e.data.reason).toBe('not-canonical');
    expect(fail(() => parseDsse(JSON.stringify(env))).data.reason).toBe('not-canonical'); // no final newline
    expect(parseDsse(pretty, { canonical: false })).toEqual(env);
    expect(fail(() => parseDsse('{')).code).toBe('GATOS_E_PROOF_MALFORMED');
    expect(fail(() => parseDsse(Uint8Array.of(0xff, 0xfe))).code).toBe('GATOS_E_PROOF_MALFORMED');
  });

  it('decodes only strict standard base64', () => {
    expect(decodeBase64Strict('aGk=')).toEqual(enc.encode('hi'));
    expect(decodeBase64Strict('')).toEqual(new Uint8Array());
    for (const bad of ['aGk', 'aGl=', 'aG k=', 'a-_=', 'aGk==', '===='])
      expect(decodeBase64Strict(bad), bad).toBeNull();
  });
});
