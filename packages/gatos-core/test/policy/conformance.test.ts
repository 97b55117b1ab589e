import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dagCbor from '@ipld/dag-cbor';
import { blake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import {
  compileRgs,
  decodeRgc,
  encodeRgc,
  evaluatePolicy,
  isGatosError,
  type PolicyInput,
  policyCodeRoot,
} from '../../src/index.js';

const dir = join(import.meta.dirname, '../../../../conformance/policy');
const load = <T>(f: string): T => JSON.parse(readFileSync(join(dir, f), 'utf8')) as T;
const compiled = load<{ file: string; rgc_hex: string; policy_code_root: string }[]>('compiled.json');
const decisions =
  load<
    {
      name: string;
      policy: string;
      input: PolicyInput;
      decision: string;
      rule: string | null;
      reason: string;
      errors: (string | null)[];
    }[]
  >('decisions.json');
const compileErrors =
  load<{ name: string; source: string; code: string; line: number; column: number }[]>('compile-errors.json');

describe('conformance/policy', () => {
  it.each(compiled)(
    '$file compiles to the recorded .rgc bytes and root, every run',
    ({ file, rgc_hex, policy_code_root }) => {
      const src = readFileSync(join(dir, file), 'utf8');
      for (let i = 0; i < 3; i++) {
        const c = compileRgs(src, { file });
        expect(Buffer.from(c.bytes).toString('hex')).toBe(rgc_hex);
        expect(c.policyCodeRoot).toBe(policy_code_root);
      }
      const bytes = Buffer.from(rgc_hex, 'hex');
      // Independent check: root = blake3-256 of the bytes; the bytes are what @ipld/dag-cbor writes for the IR.
      expect(Buffer.from(blake3(bytes)).toString('hex')).toBe(policy_code_root);
      expect(policy_code_root).toMatch(/^[0-9a-f]{64}$/);
      const ir = decodeRgc(new Uint8Array(bytes));
      expect(Buffer.from(dagCbor.encode(ir)).equals(bytes)).toBe(true);
      expect(Buffer.from(encodeRgc(ir)).equals(bytes)).toBe(true);
      expect(policyCodeRoot(bytes)).toBe(policy_code_root);
    },
  );

  it.each(decisions)('decision $name', ({ policy, input, decision, rule, reason, errors }) => {
    const c = compiled.find((x) => x.file === policy)!;
    const d = evaluatePolicy(new Uint8Array(Buffer.from(c.rgc_hex, 'hex')), input);
    expect({
      decision: d.decision,
      rule: d.rule,
      reason: d.reason,
      errors: d.errors.map((e) => e.rule),
    }).toEqual({
      decision,
      rule,
      reason,
      errors,
    });
  });

  it.each(compileErrors)('compile error $name at $line:$column', ({ source, code, line, column }) => {
    let err: unknown;
    try {
      compileRgs(source);
    } catch (e) {
      err = e;
    }
    expect(isGatosError(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    expect((err as { data: unknown }).data).toMatchObject({ line, column });
  });

  it('rejects malformed or non-canonical .rgc bytes', () => {
    const ir = decodeRgc(new Uint8Array(Buffer.from(compiled[0]!.rgc_hex, 'hex')));
    const bad = (v: unknown, code = 'GATOS_E_POLICY_RGC') =>
      expect(() => decodeRgc(dagCbor.encode(v))).toThrow(expect.objectContaining({ code }));
    bad({ ...ir, format: 'gatos.rgc/2' });
    bad({ ...ir, extra: 1 });
    bad({ ...ir, groups: { g: ['user:b', 'user:a'] } });
    bad({ ...ir, rules: [...ir.rules, ir.rules[0]] });
    bad({ ...ir, rules: [{ ...ir.rules[0], when: ['quorum', 'nope', '>=', 1] }] });
    bad({ ...ir, rules: [{ ...ir.rules[0], when: ['eval', 'x'] }] });
    bad({ ...ir, rules: [{ ...ir.rules[0], when: ['cmp', '==', ['get', ['payload', 'x']], ['lit', 1]] }] });
    bad({ ...ir, rules: [{ ...ir.rules[0], when: ['matches', ['get', ['ref']], 'a/**x'] }] });
    expect(() => decodeRgc(new Uint8Array([0xa0, 0x00]))).toThrow();
    expect(() => evaluatePolicy(new Uint8Array([1, 2, 3]), { ref: 'r', actor: 'user:a' })).toThrow();
  });
});
