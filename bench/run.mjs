// GATOS benchmarks: each figure next to the physical limit measured in the same run, and their ratio.
// usage: pnpm bench [-- --events 100000 --quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendEvents,
  readJournal,
  sign,
  readTrust,
  verifyJournal,
  createEchoLua,
  echoLuaEngineId,
  foldEvents,
  foldEventView,
  FOLD_BATCH,
  foldNamespace,
  verifyFoldChain,
  PROFILES,
} from '@gatos/core';
import { benchActor } from './bench-journal.mjs';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const N_READ = Number(args[args.indexOf('--events') + 1] || 0) || (quick ? 10_000 : 100_000);
const results = {};
const dirs = [];

function tmp() {
  const d = mkdtempSync(join(tmpdir(), 'gatos-bench-'));
  dirs.push(d);
  return d;
}
function newRepo() {
  const d = tmp();
  execFileSync('git', ['init', '-q', d]);
  return d;
}
function report(name, value, unit, limitName, limit) {
  const ratio = limit ? value / limit : undefined;
  results[name] = {
    value: Math.round(value),
    unit,
    ...(limit ? { limit: limitName, limit_value: Math.round(limit), ratio: +ratio.toFixed(3) } : {}),
  };
  const r = limit
    ? `  (${(ratio * 100).toFixed(1)}% of ${limitName} ${Math.round(limit).toLocaleString('en-US')}/s)`
    : '';
  console.log(`${name.padEnd(44)} ${Math.round(value).toLocaleString('en-US').padStart(10)} ${unit}${r}`);
}
function time(fn) {
  const t = process.hrtime.bigint();
  const v = fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, v];
}
async function timeAsync(fn) {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, v];
}

// ---- limits ---------------------------------------------------------------------------------------------------
function fastImportRate(n) {
  const repo = newRepo();
  let s = '';
  for (let i = 0; i < n; i++) {
    const body = `event ${i} ${'x'.repeat(200)}\n`;
    const msg = `tick ${i}\n`;
    s += `blob\nmark :${2 * i + 1}\ndata ${Buffer.byteLength(body)}\n${body}`;
    s += `commit refs/heads/bench\nmark :${2 * i + 2}\nauthor a <a> ${1700000000 + i} +0000\ncommitter a <a> ${1700000000 + i} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}`;
    if (i > 0) s += `from :${2 * i}\n`;
    s += `M 100644 :${2 * i + 1} event.cbor\n\n`;
  }
  const [secs] = time(() => spawnSync('git', ['fast-import', '--quiet'], { cwd: repo, input: s }));
  return n / secs;
}
function cryptoVerifyRate(n) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const msgs = Array.from({ length: 64 }, () => randomBytes(100));
  const sigs = msgs.map((m) => nodeSign(null, m, privateKey));
  const [secs] = time(() => {
    for (let i = 0; i < n; i++) nodeVerify(null, msgs[i % 64], publicKey, sigs[i % 64]);
  });
  return n / secs;
}
function cryptoSignRate(n) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const m = randomBytes(100);
  const [secs] = time(() => {
    for (let i = 0; i < n; i++) nodeSign(null, m, privateKey);
  });
  return n / secs;
}

// ---- GATOS ----------------------------------------------------------------------------------------------------
async function journalRepo() {
  const dir = newRepo();
  const repo = await openRepository({ cwd: dir });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  const seed = new Uint8Array(32).fill(7);
  const { signer, trust, envelope } = await benchActor(objects, refs, seed);
  return { dir, objects, refs, signer, trust, envelope };
}

// The reducer both EchoLua and native Lua run: counts per actor and per type, sums a payload field.
const REDUCER = `function fold(state, event)
  state.count = (state.count or 0) + 1
  local bt = state.by_type or {}
  bt[event.type] = (bt[event.type] or 0) + 1
  state.by_type = bt
  state.sum = (state.sum or 0) + event.payload.i
  return state
end
`;

function nativeLuaRate(events) {
  const dir = tmp();
  const lit = (v) =>
    typeof v === 'string'
      ? JSON.stringify(v)
      : typeof v === 'number'
        ? String(v)
        : `{${Object.entries(v)
            .map(([k, x]) => `[${JSON.stringify(k)}]=${lit(x)}`)
            .join(',')}}`;
  const data = `return {\n${events.map((e) => lit(e)).join(',\n')}\n}\n`;
  writeFileSync(join(dir, 'events.lua'), data);
  writeFileSync(
    join(dir, 'run.lua'),
    `${REDUCER}\nlocal events = dofile(arg[1])\nlocal t0 = os.clock()\nlocal state = {}\nfor i = 1, #events do state = fold(state, events[i]) end\nlocal t = os.clock() - t0\nio.write(string.format("%d %.6f", state.count, t))\n`,
  );
  const r = spawnSync('lua5.4', [join(dir, 'run.lua'), join(dir, 'events.lua')], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const [count, secs] = r.stdout.trim().split(' ');
  if (Number(count) !== events.length) throw new Error('native lua folded a different count');
  return events.length / Number(secs);
}

async function foldBench(j, verifyLimit) {
  console.log('');
  const ns = 'bench';
  const ref = 'refs/gatos/journal/bench/user/bench';
  const head = await j.refs.read(ref);
  const events = await readJournal(j.objects, ref, head);
  const cfg = PROFILES.default;
  const vm = await createEchoLua({ fuel: cfg.fold.fuel, memoryBytes: cfg.fold.memory_bytes });
  const fold = await vm.loadFold(REDUCER);
  if (fold.instance !== 'reuse') throw new Error(`bench reducer not on the reuse path: ${fold.freshReason}`);
  // End to end in memory: validate, build the batch chunk, compile it, metered fold, encode, parse.
  const [vmSecs] = await timeAsync(() => foldEvents(fold, {}, events));
  // VM part only, like native: the batch tables are built inside the VM first (untimed), then only the metered
  // fold loop is timed (per-event fuel, hook, logs; the state stays inside Lua for the whole batch).
  const views = events.map(foldEventView);
  let loopSecs = 0;
  let st = {};
  for (let i = 0; i < views.length; i += FOLD_BATCH) {
    const r = await fold.timedRun(st, views.slice(i, i + FOLD_BATCH));
    st = r.state;
    loopSecs += r.loopSeconds;
  }
  if (st.count !== events.length) throw new Error('EchoLua folded a different count');
  fold.unload();
  const native = nativeLuaRate(
    events.map((e) => ({ type: e.envelope.type, actor: e.envelope.actor, payload: e.envelope.payload })),
  );
  report(
    `fold in EchoLua, end to end (${events.length.toLocaleString('en-US')} events)`,
    events.length / vmSecs,
    'events/s',
  );
  report(
    `fold in EchoLua, VM loop only (${events.length.toLocaleString('en-US')})`,
    events.length / loopSecs,
    'events/s',
    'native lua5.4',
    native ?? undefined,
  );
  if (native === null) console.log('  (lua5.4 not installed: apt-get install lua5.4 for the native limit)');
  else console.log(`  native / VM loop: ${(native / (events.length / loopSecs)).toFixed(2)}x (target ≤ 3x)`);
  const engine = await echoLuaEngineId();
  const signer = { keyId: j.signer.keyId, sign: (m) => sign(new Uint8Array(32).fill(7), m) };
  const loadFold = (src) => vm.loadFold(src);
  const [e2eSecs, out] = await timeAsync(() =>
    foldNamespace({
      objects: j.objects,
      refs: j.refs,
      ns,
      config: cfg,
      loadFold,
      engine,
      foldSource: REDUCER,
      signer,
    }),
  );
  report(
    `fold end to end from git (${out.folded.toLocaleString('en-US')} events)`,
    out.folded / e2eSecs,
    'events/s',
  );
  await appendEvents([j.envelope(N_READ + 1)], { objects: j.objects, refs: j.refs, ns, signer: j.signer });
  const [oneSecs, one] = await timeAsync(() =>
    foldNamespace({ objects: j.objects, refs: j.refs, ns, config: cfg, loadFold, engine, signer }),
  );
  if (one.folded !== 1) throw new Error('incremental fold folded more than one event');
  report(`fold 1 new event on a ${N_READ.toLocaleString('en-US')}-event checkpoint`, oneSecs * 1000, 'ms');
  const trust = await readTrust(j.objects, j.refs);
  const stateHead = await j.refs.read('refs/gatos/state/bench');
  const [vSecs, rep] = await timeAsync(() =>
    verifyFoldChain({ objects: j.objects, trust, head: stateHead, loadFold }),
  );
  if (!rep.ok) throw new Error(`fold verify failed: ${JSON.stringify(rep.problems[0])}`);
  report(
    `fold verify (${(N_READ + 1).toLocaleString('en-US')} events, 2 checkpoints)`,
    (N_READ + 1) / vSecs,
    'events/s',
    'node:crypto verify',
    verifyLimit,
  );
  vm.close();
}

async function main() {
  console.log(
    `GATOS bench — node ${process.version}, ${new Date().toISOString().slice(0, 10)}${quick ? ' (quick)' : ''}\n`,
  );
  const fi = fastImportRate(quick ? 5_000 : 10_000);
  report('limit: git fast-import commits/s', fi, 'commits/s');
  const cv = cryptoVerifyRate(quick ? 5_000 : 20_000);
  report('limit: node:crypto ed25519 verify/s', cv, 'verifies/s');
  const cs = cryptoSignRate(quick ? 5_000 : 20_000);
  report('limit: node:crypto ed25519 sign/s', cs, 'signs/s');
  console.log('');

  // Signed-event appends, one at a time (one CAS each).
  {
    const j = await journalRepo();
    const n = quick ? 300 : 1_000;
    const [secs] = await timeAsync(async () => {
      for (let i = 0; i < n; i++)
        await appendEvents([j.envelope(i)], {
          objects: j.objects,
          refs: j.refs,
          ns: 'bench',
          signer: j.signer,
        });
    });
    report('append, one event per CAS', n / secs, 'events/s', 'fast-import', fi);
    await j.objects.close();
  }
  // Batched appends: 1,000 events per CAS, and the 100k-event journal the read benchmark uses.
  const j = await journalRepo();
  {
    const batch = 1_000;
    const [secs] = await timeAsync(async () => {
      for (let b = 0; b < N_READ / batch; b++) {
        const envs = Array.from({ length: batch }, (_, i) => j.envelope(b * batch + i));
        await appendEvents(envs, { objects: j.objects, refs: j.refs, ns: 'bench', signer: j.signer });
      }
    });
    report(
      `append, batches of ${batch} (${N_READ.toLocaleString('en-US')} events)`,
      N_READ / secs,
      'events/s',
      'fast-import',
      fi,
    );
  }
  {
    const ref = 'refs/gatos/journal/bench/user/bench';
    const head = await j.refs.read(ref);
    const [rsecs, events] = await timeAsync(() => readJournal(j.objects, ref, head));
    if (events.length !== N_READ) throw new Error(`read ${events.length} events, expected ${N_READ}`);
    report(`journal read (${N_READ.toLocaleString('en-US')} events)`, N_READ / rsecs, 'events/s');
    const [vsecs, rep] = await timeAsync(() => verifyJournal(j.objects, j.trust, ref, head));
    if (!rep.ok || rep.events !== N_READ) throw new Error('verify failed');
    report(
      `journal read+verify (${N_READ.toLocaleString('en-US')} events)`,
      N_READ / vsecs,
      'events/s',
      'node:crypto verify',
      cv,
    );
  }
  await foldBench(j, cv);
  await j.objects.close();
  const out = join(import.meta.dirname, 'results.json');
  writeFileSync(out, `${JSON.stringify({ node: process.version, quick, results }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

try {
  await main();
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
