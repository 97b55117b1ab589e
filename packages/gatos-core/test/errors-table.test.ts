import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors.js';

const root = join(import.meta.dirname, '../../..');

function docRows(): Map<string, { exit: number; meaning: string }> {
  const md = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const rows = new Map<string, { exit: number; meaning: string }>();
  for (const m of md.matchAll(/^\|\s*`(GATOS_E_[A-Z0-9_]+)`\s*\|\s*(\d+)\s*\|\s*(.*?)\s*\|$/gm)) {
    expect(rows.has(m[1]!), `duplicate row ${m[1]}`).toBe(false);
    rows.set(m[1]!, { exit: Number(m[2]), meaning: m[3]! });
  }
  return rows;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(ts|mjs|js)$/.test(name)) out.push(p);
  }
  return out;
}

describe('error code table', () => {
  it('docs/errors.md lists every code with its exit status and summary, and nothing else', () => {
    const rows = docRows();
    for (const [code, [exit, summary]] of Object.entries(ErrorCodes)) {
      expect(rows.get(code), `docs/errors.md misses ${code}`).toEqual({ exit, meaning: summary });
    }
    expect([...rows.keys()].sort()).toEqual(Object.keys(ErrorCodes).sort());
  });

  it('every GATOS_E_* code used in the source tree is defined', () => {
    const used = new Set<string>();
    for (const f of [...sourceFiles(join(root, 'packages')), ...sourceFiles(join(root, 'bench'))]) {
      for (const m of readFileSync(f, 'utf8').matchAll(/GATOS_E_[A-Z0-9_]+/g)) used.add(m[0]);
    }
    const missing = [...used].filter((c) => !(c in ErrorCodes) && !c.endsWith('_'));
    expect(missing).toEqual([]);
  });
});
