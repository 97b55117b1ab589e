/**
 * The architecture, checked (`docs/architecture.md`, ADR 0004): ref names come from one layout, compare-and-swap
 * retries from one helper, packages import each other only through their entry points, and no source module is
 * part of an import cycle.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const PACKAGES = join(ROOT, 'packages');

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every source file of every package (not tests, not builds). */
const SOURCES = readdirSync(PACKAGES)
  .sort()
  .flatMap((pkg) => tsFiles(join(PACKAGES, pkg, 'src')));
const rel = (f: string) => relative(ROOT, f);

/** Source text without comment lines (JSDoc and `//` lines): names in prose there are fine. */
function codeLines(src: string): { line: number; text: string }[] {
  return src
    .split('\n')
    .map((text, i) => ({ line: i + 1, text }))
    .filter(({ text }) => !/^\s*(\*|\/\*|\/\/)/.test(text));
}

describe('one ref layout', () => {
  it('no source file but ref-layout.ts spells a refs/gatos/ name', () => {
    const layout = join(PACKAGES, 'gatos-core/src/ref-layout.ts');
    const offending: string[] = [];
    for (const f of SOURCES) {
      if (f === layout) continue;
      for (const { line, text } of codeLines(readFileSync(f, 'utf8'))) {
        if (/refs\/gatos|refs\\\/gatos/.test(text)) offending.push(`${rel(f)}:${line}: ${text.trim()}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('the check finds a literal where there is one, and not in comments', () => {
    const src =
      "const r = 'refs/gatos/x';\n// refs/gatos/ in a comment\n * refs/gatos/ in a doc\nconst q = /refs\\/gatos/;";
    expect(codeLines(src).map((l) => l.line)).toEqual([1, 4]);
  });
});

/** The bodies of counting and open loops (`for (;;)`, `for (let …; …)`, `while`, `do`), not `for … of/in`. */
function retryLoopBodies(src: string): { line: number; body: string }[] {
  const out: { line: number; body: string }[] = [];
  const re = /\b(for\s*\((?![^)]*\b(of|in)\b)[^)]*\)|while\s*\([^)]*\)|do)\s*\{/g;
  for (const m of src.matchAll(re)) {
    let depth = 0;
    let i = m.index! + m[0].length - 1;
    const start = i;
    for (; i < src.length; i++) {
      if (src[i] === '{') depth++;
      else if (src[i] === '}' && --depth === 0) break;
    }
    out.push({ line: src.slice(0, m.index).split('\n').length, body: src.slice(start, i) });
  }
  return out;
}

describe('one compare-and-swap retry loop', () => {
  it('no loop outside chain/cas-retry.ts swaps a ref', () => {
    const helper = join(PACKAGES, 'gatos-core/src/chain/cas-retry.ts');
    const offending: string[] = [];
    for (const f of SOURCES) {
      if (f === helper) continue;
      for (const { line, body } of retryLoopBodies(readFileSync(f, 'utf8'))) {
        if (/\.cas(All)?\(/.test(body)) offending.push(`${rel(f)}:${line}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('the check finds a hand-written loop, and leaves one swap per item alone', () => {
    const loop = 'for (let attempt = 0; attempt < 16; attempt++) {\n  if (await refs.cas(u)) return;\n}';
    expect(retryLoopBodies(loop).filter((b) => /\.cas\(/.test(b.body))).toHaveLength(1);
    expect(retryLoopBodies('while (true) { await r.casAll(us); }')).toHaveLength(1);
    expect(retryLoopBodies('for (const seg of segs) { await refs.cas(u); }')).toHaveLength(0);
  });
});

/** Package name → its entry points (subpath → source file). */
const ENTRIES: Record<string, Record<string, string>> = {};
for (const pkg of readdirSync(PACKAGES).sort()) {
  const manifest = JSON.parse(readFileSync(join(PACKAGES, pkg, 'package.json'), 'utf8')) as {
    name: string;
    exports?: Record<string, { default: string }>;
  };
  ENTRIES[manifest.name] = Object.fromEntries(
    Object.entries(manifest.exports ?? {}).map(([sub, e]) => [
      sub,
      join(PACKAGES, pkg, e.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')),
    ]),
  );
}

/** The modules a file imports (relative and workspace packages), resolved to source files. */
function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/^(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\('([^']+)'\)/gm)) {
    const spec = (m[1] ?? m[2])!;
    if (spec.startsWith('.')) out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    else {
      const pkg = spec.split('/').slice(0, 2).join('/');
      const sub = spec.slice(pkg.length);
      const entry = ENTRIES[pkg]?.[`.${sub}`];
      if (entry) out.push(entry);
    }
  }
  return out;
}

describe('package seams', () => {
  it('the CLI imports gatosd only through its subpath entry points (gate, daemon, jobs, identity)', () => {
    const cli = SOURCES.filter((f) => f.includes('/git-gatos/src/'));
    const offending = cli.filter((f) => /from '@gatos\/gatosd'/.test(readFileSync(f, 'utf8'))).map(rel);
    expect(offending).toEqual([]);
  });

  it('gatos-core imports no other workspace package', () => {
    const core = SOURCES.filter((f) => f.includes('/gatos-core/src/'));
    const offending = core.filter((f) => /from '@gatos\//.test(readFileSync(f, 'utf8'))).map(rel);
    expect(offending).toEqual([]);
  });

  it("core's tests use core's memory stores: none imports @gatos/git", () => {
    const tests = tsFiles(join(PACKAGES, 'gatos-core/test'));
    const offending = tests.filter((f) => /from '@gatos\/git'/.test(readFileSync(f, 'utf8'))).map(rel);
    expect(tests.length).toBeGreaterThan(10);
    expect(offending).toEqual([]);
  });

  it('every file a module finds relative to itself (`new URL(…, import.meta.url)`) is there once built', () => {
    const missing: string[] = [];
    let seen = 0;
    for (const f of SOURCES) {
      for (const m of readFileSync(f, 'utf8').matchAll(/new URL\('([^']+)', import\.meta\.url\)/g)) {
        seen++;
        // Built modules live in dist/ where their sources live in src/; a .js target is a built module.
        const built = resolve(dirname(f.replace('/src/', '/dist/')), m[1]!);
        const source = built.replace('/dist/', '/src/').replace(/\.js$/, '.ts');
        if (!existsSync(built.endsWith('.js') ? source : built)) missing.push(`${rel(f)}: ${m[1]}`);
      }
    }
    expect(seen).toBeGreaterThan(2);
    expect(missing).toEqual([]);
  });

  it('no source module is part of an import cycle', () => {
    const graph = new Map(SOURCES.map((f) => [f, imports(f).filter((t) => SOURCES.includes(t))]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].map(rel).join(' → '));
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of SOURCES) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
