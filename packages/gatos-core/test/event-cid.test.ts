import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from 'multiformats/hashes/sha2';
import { CID } from 'multiformats/cid';
import { base58btc } from 'multiformats/bases/base58';
import { describe, expect, it } from 'vitest';
import { GatosError } from '../src/errors.js';
import {
  assertEventCid,
  eventCid,
  eventCidFromBytes,
  eventCidString,
  isEventCid,
  parseEventCid,
} from '../src/events/event-cid.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ACCEPTED';
  } catch (e) {
    return (e as GatosError).code;
  }
};

describe('Event-CID', () => {
  const bytes = new TextEncoder().encode('any canonical bytes');

  it('is CIDv1 dag-cbor over a blake3-256 multihash: 01 71 1e 20 ‖ digest', () => {
    const cid = eventCid(bytes);
    expect(hex(cid.bytes)).toBe(`01711e20${hex(blake3(bytes))}`);
    expect(cid.bytes.length).toBe(36);
    const s = eventCidString(bytes);
    expect(s).toBe(cid.toString());
    expect(s).toMatch(/^b[a-z2-7]{58}$/);
    expect(isEventCid(cid)).toBe(true);
  });

  it('parses only the canonical string form of a real Event-CID', () => {
    const s = eventCidString(bytes);
    expect(parseEventCid(s).equals(eventCid(bytes))).toBe(true);
    expect(code(() => parseEventCid(s.toUpperCase()))).toBe('GATOS_E_CID_INVALID');
    expect(code(() => parseEventCid(eventCid(bytes).toString(base58btc)))).toBe('GATOS_E_CID_INVALID');
    expect(code(() => parseEventCid(`${s} `))).toBe('GATOS_E_CID_INVALID');
    expect(code(() => parseEventCid(''))).toBe('GATOS_E_CID_INVALID');
    const sha = CID.createV1(0x71, sha256.digest(bytes) as never);
    expect(code(() => parseEventCid(sha.toString()))).toBe('GATOS_E_CID_INVALID');
    const raw = CID.createV1(0x55, eventCid(bytes).multihash);
    expect(code(() => parseEventCid(raw.toString()))).toBe('GATOS_E_CID_INVALID');
    expect(code(() => assertEventCid(raw))).toBe('GATOS_E_CID_INVALID');
    expect(code(() => assertEventCid('not a cid'))).toBe('GATOS_E_CID_INVALID');
  });

  it('parses the 36-byte binary form strictly', () => {
    const cid = eventCid(bytes);
    expect(eventCidFromBytes(cid.bytes).equals(cid)).toBe(true);
    expect(code(() => eventCidFromBytes(cid.bytes.subarray(0, 35)))).toBe('GATOS_E_CID_INVALID');
    const wrong = Uint8Array.from(cid.bytes);
    wrong[1] = 0x55;
    expect(code(() => eventCidFromBytes(wrong))).toBe('GATOS_E_CID_INVALID');
  });

  it('errors are GatosErrors', () => {
    expect(() => parseEventCid('x')).toThrow(GatosError);
  });
});
