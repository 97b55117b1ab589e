import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dagCbor from '@ipld/dag-cbor';
import { blake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import type { GatosError } from '../src/errors.js';
import { eventCidString } from '../src/events/event-cid.js';
import {
  STATE_MAX_BYTES,
  parseStateRoot,
  stateBytes,
  stateDigestHex,
  stateFromBytes,
  stateJsonView,
  stateRoot,
  stateRootDigestHex,
  stateRootOfBytes,
} from '../src/fold/state-root.js';

const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../../conformance/dsse/vectors.json'), 'utf8'),
) as { state_root: { state: unknown; state_cbor_hex: string; state_root: string; state_json: string } };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fail = (fn: () => unknown): GatosError => {
  try {
    fn();
  } catch (e) {
    return e as GatosError;
  }
  throw new Error('expected an error');
};

describe('state root', () => {
  it('matches the conformance vector', () => {
    const v = vectors.state_root;
    expect(hex(stateBytes(v.state))).toBe(v.state_cbor_hex);
    expect(stateRoot(v.state)).toBe(v.state_root);
    expect(stateJsonView(v.state)).toBe(v.state_json);
    expect(stateFromBytes(Buffer.from(v.state_cbor_hex, 'hex'))).toEqual(v.state);
  });

  it('is CIDv1(dag-cbor, blake3-256) of the canonical bytes, independent of key insertion order', () => {
    const s1 = { b: [1, 2, { y: null, x: true }], a: 'x', long_key: -7 };
    const s2 = { long_key: -7, a: 'x', b: [1, 2, { x: true, y: null }] };
    const bytes = stateBytes(s1);
    expect(bytes).toEqual(stateBytes(s2));
    expect(bytes).toEqual(dagCbor.encode(s1));
    const root = stateRoot(s1);
    expect(root).toBe(stateRoot(s2));
    expect(root).toBe(eventCidString(bytes));
    expect(root).toBe(stateRootOfBytes(bytes));
    expect(root).toMatch(/^bafyr4i[a-z2-7]{52}$/);
    expect(stateRootDigestHex(root)).toBe(hex(blake3(bytes)));
    expect(stateDigestHex(bytes)).toBe(hex(blake3(bytes)));
    expect(parseStateRoot(root).toString()).toBe(root);
    expect(fail(() => parseStateRoot('bafy-not-a-cid')).code).toBe('GATOS_E_CID_INVALID');
    // Scalars are states too.
    expect(stateRoot(null)).toBe(eventCidString(Uint8Array.of(0xf6)));
  });

  it('refuses values outside the fold data model, with a path under `state`', () => {
    const cases: [unknown, string, string][] = [
      [{ a: 0.5 }, 'GATOS_E_PAYLOAD_FLOAT', 'state.a'],
      [{ a: [new Uint8Array(2)] }, 'GATOS_E_PAYLOAD_CLASS', 'state.a[0]'],
      [{ a: 5n }, 'GATOS_E_PAYLOAD_UNSAFE_INT', 'state.a'],
      [{ a: undefined }, 'GATOS_E_PAYLOAD_UNDEFINED', 'state.a'],
      [new Set(), 'GATOS_E_PAYLOAD_CLASS', 'state'],
    ];
    for (const [v, code, path] of cases) {
      const e = fail(() => stateRoot(v));
      expect(e.code).toBe(code);
      expect(e.data.path).toBe(path);
    }
  });

  it('reads bytes strictly: canonical DAG-CBOR holding JSON data only', () => {
    const s = { a: [1, 'x'], b: { c: null } };
    expect(stateFromBytes(stateBytes(s))).toEqual(s);
    // Unsorted keys: not canonical.
    const unsorted = Uint8Array.from([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]);
    expect(fail(() => stateFromBytes(unsorted)).code).toBe('GATOS_E_NOT_CANONICAL');
    expect(fail(() => stateFromBytes(dagCbor.encode({ b: new Uint8Array(1) }))).code).toBe(
      'GATOS_E_PAYLOAD_CLASS',
    );
    expect(fail(() => stateFromBytes(dagCbor.encode({ n: 2n ** 60n }))).code).toBe(
      'GATOS_E_PAYLOAD_UNSAFE_INT',
    );
    expect(fail(() => stateFromBytes(Uint8Array.of(0xff))).code).toBe('GATOS_E_DECODE');
  });

  it('allows large states (default limit 1 GiB) and honours a smaller limit', () => {
    expect(STATE_MAX_BYTES).toBe(1024 ** 3);
    const big = { blob: 'x'.repeat(3 * 1024 * 1024) };
    const bytes = stateBytes(big);
    expect(bytes.length).toBeGreaterThan(3 * 1024 * 1024);
    expect(stateFromBytes(bytes)).toEqual(big);
    expect(fail(() => stateBytes(big, { maxBytes: 1024 })).code).toBe('GATOS_E_PAYLOAD_TOO_LARGE');
    expect(fail(() => stateFromBytes(bytes, { maxBytes: 1024 })).code).toBe('GATOS_E_PAYLOAD_TOO_LARGE');
  });

  it('allows nesting as deep as EchoLua (100) and refuses beyond the limit (128)', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 128; i++) deep = { d: deep };
    expect(stateFromBytes(stateBytes(deep))).toEqual(deep);
    expect(stateJsonView(deep).split('\n')).toHaveLength(128 * 2 + 2);
    expect(fail(() => stateBytes({ d: deep })).code).toBe('GATOS_E_PAYLOAD_DEPTH');
    expect(fail(() => stateFromBytes(dagCbor.encode({ d: deep }))).code).toBe('GATOS_E_PAYLOAD_DEPTH');
    expect(stateBytes({ d: deep }, { maxDepth: 200 }).length).toBeGreaterThan(0);
  });

  it('gives a sorted, pretty JSON view that parses back to the state', () => {
    const s = { b: { 10: 1, 9: 2 }, a: ['é', { z: [], y: {} }] };
    const view = stateJsonView(s);
    expect(view).toBe(
      '{\n  "a": [\n    "é",\n    {\n      "y": {},\n      "z": []\n    }\n  ],\n  "b": {\n    "10": 1,\n    "9": 2\n  }\n}\n',
    );
    expect(JSON.parse(view)).toEqual(s);
  });
});
