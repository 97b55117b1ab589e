/** The pure core touches no fs, network, processes, clock or randomness of its own: its imports say so. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../src');
// The one exception: the engine id hashes the Lua wasm binary wasmoon loads from its own package.
const ALLOWED: Record<string, string[]> = {
  'fold/echolua-identity.ts': ['node:fs/promises', 'node:module', 'node:path'],
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('gatos-core purity', () => {
  it('imports no node built-in but node:crypto (one documented exception)', () => {
    const offending: string[] = [];
    for (const f of files(SRC)) {
      const rel = relative(SRC, f);
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/from '(node:[^']+)'|import\('(node:[^']+)'\)/g)) {
        const mod = m[1] ?? m[2]!;
        if (mod !== 'node:crypto' && !ALLOWED[rel]?.includes(mod)) offending.push(`${rel}: ${mod}`);
      }
      for (const banned of ['Date.now(', 'new Date()', 'Math.random(', 'process.env', 'child_process']) {
        if (src.includes(banned)) offending.push(`${rel}: ${banned}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
