#!/usr/bin/env node
// Start-up time of the CLI and the pre-receive hook: wall time of a fresh `node` process, median of N runs, next to
// `node -e 0` measured in the same run (the physical limit: a process that loads nothing). Also counts the ES
// modules each start loads, all and ours (`packages/*`), through a loader hook (`module.register`).
// Usage: node bench/startup.mjs [--runs N] [--json]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 0) || 15;
const asJson = args.includes('--json');
const CLI = join(ROOT, 'packages/git-gatos/bin/git-gatos');
const HOOK = join(ROOT, 'packages/gatosd/bin/gatos-pre-receive');

const dir = mkdtempSync(join(tmpdir(), 'gatos-startup-'));
const repo = join(dir, 'repo.git');
execFileSync('git', ['init', '-q', '--bare', repo]);
const env = { ...process.env, GATOS_HOME: join(dir, 'home'), GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
const loadLog = join(dir, 'loads.txt');
writeFileSync(
  join(dir, 'hooks.mjs'),
  `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n` +
    `  appendFileSync(${JSON.stringify(loadLog)}, url + '\\n');\n  return next(url, context);\n}\n`,
);
writeFileSync(
  join(dir, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});\n`,
);

const cases = [
  { name: 'node -e 0 (limit)', argv: ['-e', '0'] },
  { name: 'git gatos help', argv: [CLI, 'help'] },
  { name: 'git gatos event append --help', argv: [CLI, 'event', 'append', '--help'] },
  {
    name: 'git gatos event append (fails: no key)',
    argv: [CLI, 'event', 'append', '--ns', 'x', '--actor', 'user:a', '--type', 't.x', '--payload', '{}'],
    cwd: repo,
  },
  { name: 'pre-receive hook (empty push)', argv: [HOOK], cwd: repo, input: '' },
];

function once(c, pre = []) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...pre, ...c.argv], {
    cwd: c.cwd ?? dir,
    env,
    input: c.input ?? '',
    encoding: 'utf8',
  });
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, stderr: r.stderr };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const out = [];
for (const c of cases) {
  once(c); // warm the page cache
  const times = [];
  for (let i = 0; i < runs; i++) times.push(once(c).ms);
  rmSync(loadLog, { force: true });
  once(c, ['--import', join(dir, 'register.mjs')]);
  const loaded = c.argv[0] === '-e' ? [] : readFileSync(loadLog, 'utf8').trim().split('\n');
  out.push({
    name: c.name,
    median_ms: +median(times).toFixed(1),
    min_ms: +Math.min(...times).toFixed(1),
    modules: loaded.length,
    our_modules: loaded.filter((u) => u.includes('/packages/')).length,
  });
}
const limit = out[0].median_ms;
for (const o of out) o.ratio_to_node = +(o.median_ms / limit).toFixed(2);
rmSync(dir, { recursive: true, force: true });
if (asJson) console.log(JSON.stringify({ runs, results: out }, null, 2));
else {
  console.log(`start-up, median of ${runs} runs (ms), ratio to \`node -e 0\`, ES modules loaded (ours)`);
  for (const o of out) {
    const mods = `${o.modules} (${o.our_modules})`;
    console.log(
      `${o.name.padEnd(44)} ${String(o.median_ms).padStart(7)}  ${`${o.ratio_to_node}x`.padStart(6)}  ${mods.padStart(10)}`,
    );
  }
}
