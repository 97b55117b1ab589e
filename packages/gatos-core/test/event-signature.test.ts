import { describe, expect, it } from 'vitest';
import { keyPairFromSeed } from '../src/trust/ed25519.js';
import type { GatosError } from '../src/errors.js';
import { eventCid } from '../src/events/event-cid.js';
import {
  assertEventSignature,
  EVENT_SIG_DOMAIN,
  eventSigningInput,
  formatSignature,
  parseSignature,
  signEvent,
  verifyEventSignature,
} from '../src/events/event-signature.js';
import { ZERO_OID } from '../src/store/git-object.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fail = (fn: () => unknown): GatosError | null => {
  try {
    fn();
    return null;
  } catch (e) {
    return e as GatosError;
  }
};
const seed = new Uint8Array(32).fill(1);
const { publicKey } = keyPairFromSeed(seed);
const cid = eventCid(new TextEncoder().encode('envelope bytes'));
const ref = 'refs/gatos/journal/demo/user/alice';
const parent = 'aabbccddeeff00112233445566778899aabbccdd';

describe('event signing input', () => {
  it('is domain ‖ ref ‖ NUL ‖ parent hex ‖ NUL ‖ CID bytes', () => {
    const input = eventSigningInput({ ref, parent, cid });
    const expected = Buffer.concat([
      Buffer.from('GATOS-EVENT-SIG-v1\0', 'utf8'),
      Buffer.from(ref, 'utf8'),
      Buffer.from([0]),
      Buffer.from(parent, 'ascii'),
      Buffer.from([0]),
      Buffer.from(cid.bytes),
    ]);
    expect(hex(input)).toBe(expected.toString('hex'));
    expect(EVENT_SIG_DOMAIN.length).toBe(19);
    expect(input.length).toBe(19 + ref.length + 1 + 40 + 1 + 36);
  });

  it('uses 40 zeros for the first event; null means the same', () => {
    expect(hex(eventSigningInput({ ref, parent: null, cid }))).toBe(
      hex(eventSigningInput({ ref, parent: ZERO_OID, cid })),
    );
    expect(Buffer.from(eventSigningInput({ ref, parent: null, cid })).toString('latin1')).toContain(
      `\0${'0'.repeat(40)}\0`,
    );
  });

  it('refuses malformed positions', () => {
    expect(fail(() => eventSigningInput({ ref: 'refs/a\0b', parent, cid }))?.code).toBe('GATOS_E_REF_NAME');
    expect(fail(() => eventSigningInput({ ref: 'heads/main', parent, cid }))?.code).toBe('GATOS_E_REF_NAME');
    expect(fail(() => eventSigningInput({ ref, parent: parent.toUpperCase(), cid }))?.code).toBe(
      'GATOS_E_INTERNAL',
    );
    expect(fail(() => eventSigningInput({ ref, parent: parent.slice(1), cid }))?.code).toBe(
      'GATOS_E_INTERNAL',
    );
    expect(fail(() => eventSigningInput({ ref, parent, cid: 'b123' as never }))?.code).toBe(
      'GATOS_E_CID_INVALID',
    );
  });
});

describe('event signatures', () => {
  it('bind the signature to ref, parent and CID', () => {
    const ctx = { ref, parent, cid };
    const sig = signEvent(seed, ctx);
    expect(sig.length).toBe(64);
    expect(verifyEventSignature(publicKey, ctx, sig)).toBe(true);
    expect(verifyEventSignature(publicKey, { ...ctx, ref: `${ref}x` }, sig)).toBe(false);
    expect(verifyEventSignature(publicKey, { ...ctx, parent: null }, sig)).toBe(false);
    expect(verifyEventSignature(publicKey, { ...ctx, cid: eventCid(new Uint8Array([1])) }, sig)).toBe(false);
    expect(verifyEventSignature(publicKey, { ...ctx, parent: 'nope' }, sig)).toBe(false);
    expect(fail(() => assertEventSignature(publicKey, { ...ctx, parent: null }, sig))?.code).toBe(
      'GATOS_E_SIG_INVALID',
    );
    expect(fail(() => assertEventSignature(publicKey, ctx, sig))).toBe(null);
  });
});

describe('signature strings', () => {
  const sig = signEvent(seed, { ref, parent, cid });
  it('format as ed25519: + padded standard base64 and parse back', () => {
    const s = formatSignature(sig);
    expect(s).toMatch(/^ed25519:[A-Za-z0-9+/]{86}==$/);
    expect(hex(parseSignature(s))).toBe(hex(sig));
  });
  it('parse strictly', () => {
    const s = formatSignature(sig);
    const b64 = s.slice(8);
    const bad = [
      b64,
      `ED25519:${b64}`,
      s.replace(/==$/, ''),
      `${s}\n`,
      ` ${s}`,
      `ed25519:-${b64.slice(1)}`,
      `ed25519:_${b64.slice(1)}`,
      `ed25519:${b64.slice(0, 85)}${b64[85] === 'B' ? 'C' : 'B'}==`,
      `ed25519:${Buffer.alloc(63).toString('base64')}`,
      `ed25519:${Buffer.alloc(65).toString('base64')}`,
      '',
    ];
    for (const t of bad)
      expect(fail(() => parseSignature(t))?.code, JSON.stringify(t)).toBe('GATOS_E_SIG_MALFORMED');
    expect(fail(() => formatSignature(sig.subarray(1)))?.code).toBe('GATOS_E_SIG_MALFORMED');
  });
});
