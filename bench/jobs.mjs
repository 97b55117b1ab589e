// Job plane benchmark (spec/job-plane.md): claim latency (local compare-and-swap and leased push), trivial-job
// throughput with 1/2/4 worker processes on their own clones of one bare repository, and the overhead per job
// against running the same program directly. Each figure next to a limit measured in the same run.
// usage: pnpm bench:jobs [-- --claims 200 --remote-claims 100 --jobs 30 --workers 1,2,4 --direct 30 --notify-all]
// Writes bench/jobs-results.json. Worker runs use GIT_TRACE2_EVENT to time every git command they spawn.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  claimJob,
  contentDigest,
  keyPairFromSeed,
  readTrust,
  registerKey,
  sign,
  submitJob,
  trustedKeyEntry,
} from '@gatos/core';
import {
  createObjectStore,
  createRefStore,
  createRemoteRefStore,
  fetchJobs,
  openRepository,
} from '@gatos/git';
import { currentRuntime, runProgram } from '../packages/gatosd/dist/jobs/index.js';

const { values } = parseArgs({
  options: {
    claims: { type: 'string' },
    'remote-claims': { type: 'string' },
    jobs: { type: 'string' },
    workers: { type: 'string' },
    direct: { type: 'string' },
    'notify-all': { type: 'boolean' },
  },
});
const N_CLAIMS = Number(values.claims ?? 200);
const N_REMOTE = Number(values['remote-claims'] ?? 100);
const N_JOBS = Number(values.jobs ?? 30);
const WORKERS = (values.workers ?? '1,2,4').split(',').map(Number);
const N_DIRECT = Number(values.direct ?? 30);
const ROOT = join(import.meta.dirname, '..');
const CLI_DIR = join(ROOT, 'packages/git-gatos/bin');
const CLI = join(CLI_DIR, 'git-gatos');
const enc = new TextEncoder();
const dirs = [];
const tmp = (p) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
const git = (cwd, ...a) =>
  execFileSync('git', a, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();
const withHome = () => ({
  ...process.env,
  GATOS_HOME: tmp('jobs-bench-home-'),
  GATOS_ACTOR: '',
  PATH: `${CLI_DIR}:${process.env.PATH}`,
});
function cli(cwd, env, ...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git gatos ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const r1 = (x) => Math.round(x * 10) / 10;
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    n: s.length,
    p50_ms: r1(at(0.5)),
    p99_ms: r1(at(0.99)),
    mean_ms: r1(s.reduce((a, b) => a + b, 0) / s.length),
  };
}
const results = {
  machine: {
    nproc: availableParallelism(),
    node: process.version,
    git: git(ROOT, 'version'),
    loadavg_start: loadavg().map(r1),
  },
};
const log = (...a) => console.error(...a);

// The trivial job: the e2e tests' echo program (read one input, write one output, one line of stdout).
const ECHO = `import { readFileSync, writeFileSync } from 'node:fs';
const text = readFileSync(process.env.GATOS_JOB_INPUTS + '/in.txt', 'utf8');
writeFileSync(process.env.GATOS_JOB_OUTPUTS + '/out.txt', text.toUpperCase());
console.log('ok ' + text.length);
`;
const runtime = await currentRuntime('script');

/** Submits `n` trivial jobs (distinct inputs) into the repository at `path`, in-process; returns their ids. */
async function submitMany(path, n, tag) {
  const repo = await openRepository({ cwd: path });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  const prog = enc.encode(ECHO);
  const ids = [];
  try {
    for (let i = 0; i < n; i++) {
      const input = enc.encode(`${tag} job ${i}`);
      const manifest = {
        v: 1,
        type: 'gatos.job',
        program: {
          kind: 'script',
          entry: 'main.mjs',
          files: [{ path: 'main.mjs', digest: contentDigest(prog), size: prog.length }],
          runtime,
        },
        args: [],
        env: {},
        inputs: [{ name: 'in.txt', digest: contentDigest(input), size: input.length }],
        limits: { timeout_ms: 60_000, max_output_bytes: 1 << 20, max_memory_mb: 256 },
        cache: false,
        nonce: '',
      };
      const r = await submitJob(
        { objects, refs },
        { manifest, programFiles: new Map([['main.mjs', prog]]), inputFiles: new Map([['in.txt', input]]) },
      );
      ids.push(r.jobId);
    }
  } finally {
    await objects.close();
  }
  return ids;
}

/** Registers a fresh worker key in the repository at `path`; returns a claim signer for it. */
async function registerWorker(path, actor) {
  const repo = await openRepository({ cwd: path });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  const seed = randomBytes(32);
  await registerKey(
    objects,
    refs,
    trustedKeyEntry(actor, keyPairFromSeed(seed).publicKey, (m) => sign(seed, m)),
  );
  const trust = await readTrust(objects, refs);
  await objects.close();
  const keyId = trust.keys.find((k) => k.actor === actor).key_id;
  return { keyId, sign: (m) => sign(seed, m) };
}

/** Wraps a store so that the wall time of the named methods adds up in `acc[name]` (private fields kept). */
function timed(store, names, acc) {
  for (const name of names) acc[name] = 0;
  return new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (!names.includes(prop)) return v.bind(target);
      return async (...a) => {
        const t = performance.now();
        try {
          return await v.apply(target, a);
        } finally {
          acc[prop] += performance.now() - t;
        }
      };
    },
  });
}

// 1a. Local claim latency: core claimJob over @gatos/git stores on a real repository, next to one raw
// `git update-ref` (process included) and one in-process ref-store cas (no claim) in the same repository.
{
  const path = tmp('jobs-bench-local-');
  git(path, 'init', '-q');
  const signer = await registerWorker(path, 'agent:bench');
  log(`local: submitting ${N_CLAIMS} jobs`);
  const ids = await submitMany(path, N_CLAIMS, 'local');
  const repo = await openRepository({ cwd: path });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  const acc = {};
  const stores = { objects: timed(objects, ['put'], acc), refs: timed(refs, ['cas'], acc) };
  const head = git(path, 'rev-parse', `refs/gatos/jobs/${ids[0]}/manifest`);
  // Interleaved (claim, raw update-ref, in-process cas) so that load swings hit all three alike.
  const lat = [];
  const raw = [];
  const casOnly = [];
  for (const [i, jobId] of ids.entries()) {
    let t = performance.now();
    const c = await claimJob(stores, { jobId, signer, nowMs: Date.now(), leaseMs: 60_000 });
    lat.push(performance.now() - t);
    if (c.outcome !== 'claimed') throw new Error(`local claim: ${c.outcome}`);
    t = performance.now();
    execFileSync('git', ['update-ref', `refs/bench/raw/${i}`, head, ''], { cwd: path });
    raw.push(performance.now() - t);
    t = performance.now();
    if (!(await refs.cas({ ref: `refs/bench/cas/${i}`, expect: null, next: head }))) throw new Error('cas');
    casOnly.push(performance.now() - t);
  }
  await objects.close();
  const claim = stats(lat);
  const limit = stats(raw);
  results.claim_local = {
    claimJob: claim,
    claim_parts_mean_ms: { objects_put: r1(acc.put / N_CLAIMS), ref_cas: r1(acc.cas / N_CLAIMS) },
    limit_git_update_ref: limit,
    refstore_cas_in_process: stats(casOnly),
    ratio_p50: r1(claim.p50_ms / limit.p50_ms),
  };
  log('claim local', JSON.stringify(results.claim_local));
}

// 1b. Remote claim latency: claimJob through createRemoteRefStore (cas = leased push) from a clone to a local
// bare repository, next to one raw `git push --atomic --force-with-lease=<ref>:` of a prepared commit.
{
  const shared = tmp('jobs-bench-shared-');
  git(shared, 'init', '-q', '--bare');
  const signer = await registerWorker(shared, 'agent:bench');
  log(`remote: submitting ${N_REMOTE} jobs`);
  const ids = await submitMany(shared, N_REMOTE, 'remote');
  const path = tmp('jobs-bench-clone-');
  git(path, 'init', '-q');
  const repo = await openRepository({ cwd: path });
  await fetchJobs(repo, shared);
  const objects = createObjectStore(repo);
  const local = createRefStore(repo);
  const acc = {};
  const remoteRefs = createRemoteRefStore({ repo, local, remote: shared });
  const stores = { objects: timed(objects, ['put'], acc), refs: timed(remoteRefs, ['cas'], acc) };
  // Prepared commits like a claim's (a tree of two new blobs, no parent), one per push.
  let fi = '';
  for (let i = 0; i < N_REMOTE; i++) {
    const a = `claim ${i} ${'x'.repeat(100)}`;
    const b = randomBytes(64).toString('hex');
    const msg = `raw ${i}`;
    fi += `blob\nmark :${3 * i + 1}\ndata ${a.length}\n${a}\n`;
    fi += `blob\nmark :${3 * i + 2}\ndata ${b.length}\n${b}\n`;
    fi += `commit refs/bench/prep/${i}\nmark :${3 * i + 3}\ncommitter b <b@x> 0 +0000\ndata ${msg.length}\n${msg}\n`;
    fi += `M 100644 :${3 * i + 1} claim.cbor\nM 100644 :${3 * i + 2} claim.sig\n\n`;
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: path, input: fi });
  const prepared = git(path, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/bench/prep/');
  const oids = new Map(prepared.split('\n').map((l) => l.split(' ')));
  // Interleaved (claim, raw leased push) so that load swings hit both alike.
  const lat = [];
  const raw = [];
  for (const [i, jobId] of ids.entries()) {
    let t = performance.now();
    const c = await claimJob(stores, { jobId, signer, nowMs: Date.now(), leaseMs: 60_000 });
    lat.push(performance.now() - t);
    if (c.outcome !== 'claimed') throw new Error(`remote claim: ${c.outcome}`);
    const ref = `refs/bench/lease/${i}`;
    t = performance.now();
    execFileSync(
      'git',
      [
        'push',
        '-q',
        '--atomic',
        `--force-with-lease=${ref}:`,
        shared,
        `${oids.get(`refs/bench/prep/${i}`)}:${ref}`,
      ],
      {
        cwd: path,
        stdio: 'ignore',
      },
    );
    raw.push(performance.now() - t);
  }
  await objects.close();
  const claim = stats(lat);
  const limit = stats(raw);
  results.claim_remote = {
    claimJob: claim,
    claim_parts_mean_ms: {
      objects_put: r1(acc.put / N_REMOTE),
      leased_push_and_mirror: r1(acc.cas / N_REMOTE),
    },
    limit_git_push_force_with_lease: limit,
    ratio_p50: r1(claim.p50_ms / limit.p50_ms),
  };
  log('claim remote', JSON.stringify(results.claim_remote));
}

// 2 + 3. Worker processes, each on its own clone, draining N_JOBS trivial jobs from a fresh bare repository.
// The cluster (admin + 4 registered worker keys) is built once; every run gets a fresh shared repository
// holding the same trust registry, so no run lists the jobs of the one before.
const maxWorkers = Math.max(...WORKERS);
const base = tmp('jobs-bench-base-');
git(base, 'init', '-q', '--bare');
{
  const admin = tmp('jobs-bench-admin-');
  git(admin, 'init', '-q');
  const env = withHome();
  cli(admin, env, 'init');
  cli(admin, env, 'key', 'new', '--actor', 'user:admin');
  git(admin, 'push', '-q', base, 'refs/gatos/*:refs/gatos/*');
}
const workers = [];
for (let i = 1; i <= maxWorkers; i++) {
  const repo = tmp('jobs-bench-worker-');
  git(repo, 'init', '-q');
  const env = withHome();
  git(repo, 'fetch', '-q', base, 'refs/gatos/*:refs/gatos/*');
  cli(repo, env, 'key', 'new', '--actor', `agent:w${i}`);
  git(repo, 'push', '-q', base, 'refs/gatos/trust/keys:refs/gatos/trust/keys');
  workers.push({ repo, env, actor: `agent:w${i}` });
}

/** Git commands of one worker process from its trace2 event log: top-level commands only, by kind. */
function gitTime(file) {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const argv = new Map();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.sid.includes('/')) continue;
    if (e.event === 'start') argv.set(e.sid, e.argv);
    else if (e.event === 'exit' && argv.has(e.sid)) {
      const a = argv.get(e.sid);
      let kind = a[1];
      if (kind === 'push') {
        const refs = a.filter((x) => x.includes(':refs/'));
        if (refs.some((x) => x.includes('/mbus'))) kind = 'push (bus notice)';
        else if (refs.length === 3) kind = 'push (completion: claim+result+audit)';
        else if (refs.length === 1 && refs[0].endsWith('/claim')) kind = 'push (claim/heartbeat)';
        else kind = `push (${refs.length} refs)`;
      } else if (kind === 'cat-file' || kind === 'fetch' || kind === 'update-ref') {
        kind = `${kind} ${a.filter((x) => x.startsWith('--')).join(' ')}`.trim();
      }
      out[kind] ??= { n: 0, ms: 0 };
      const o = out[kind];
      o.n++;
      o.ms += e.t_abs * 1000;
    }
  }
  return out;
}

/** One run: `n` worker processes drain N_JOBS jobs; wall time, steady-state rate, per-job spans, git time. */
async function workerRun(n, notify) {
  const shared = tmp('jobs-bench-run-');
  git(shared, 'init', '-q', '--bare');
  git(base, 'push', '-q', shared, 'refs/gatos/*:refs/gatos/*');
  await submitMany(shared, N_JOBS, `run-${n}-${notify}`);
  const traceDir = tmp('jobs-bench-trace-');
  const t0 = performance.now();
  const procs = workers.slice(0, n).map((w, i) => {
    const trace = join(traceDir, `w${i}.json`);
    const args = ['worker', 'run', '--actor', w.actor, '--remote', shared, '--until-idle', '--json'];
    args.push('--poll', '100ms', '--lease', '60s', ...(notify ? [] : ['--no-notify']));
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: w.repo,
      env: { ...w.env, GIT_TRACE2_EVENT: trace },
    });
    const events = [];
    let out = '';
    let buf = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      buf += d;
      for (let k = buf.indexOf('\n'); k >= 0; k = buf.indexOf('\n')) {
        const line = buf.slice(0, k);
        buf = buf.slice(k + 1);
        const m = /^(claimed|completed|lost race|error)\s+(\S*)/.exec(line);
        if (m) events.push({ t: performance.now() - t0, kind: m[1], id: m[2], line });
      }
    });
    const done = new Promise((resolve, reject) =>
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${buf}${out}`)),
      ),
    );
    return { done, events, trace, report: () => JSON.parse(out) };
  });
  await Promise.all(procs.map((p) => p.done));
  const wall = performance.now() - t0;
  const reports = procs.map((p) => p.report());
  const completed = reports.reduce((a, r) => a + r.completed, 0);
  if (completed !== N_JOBS) throw new Error(`${n} workers completed ${completed} of ${N_JOBS}`);
  const doneAt = procs.flatMap((p) => p.events.filter((e) => e.kind === 'completed').map((e) => e.t));
  doneAt.sort((a, b) => a - b);
  const firstClaim = Math.min(
    ...procs.flatMap((p) => p.events.filter((e) => e.kind === 'claimed').map((e) => e.t)),
  );
  const out = {
    workers: n,
    notify,
    jobs: N_JOBS,
    wall_s: r1(wall / 1000),
    jobs_per_s_wall: r1((N_JOBS / wall) * 1000),
    // From the first completion to the last: no process start, first fetch or idle check.
    jobs_per_s_steady: r1(((N_JOBS - 1) / (doneAt.at(-1) - doneAt[0])) * 1000),
    first_claim_after_ms: Math.round(firstClaim),
    lost_races: reports.reduce((a, r) => a + r.lostRaces, 0),
    per_worker: reports.map((r) => r.completed),
  };
  if (n === 1) {
    // Per job, one worker: claimed→completed (execute: scratch dir, materialize, run, completion push) and
    // completed→next claimed (fetch, list, manifest read, claim push; bus notice in the background).
    const ev = procs[0].events;
    const run = reports[0].jobs.map((j) => j.ms);
    const claimedToDone = [];
    const doneToClaim = [];
    for (let k = 0; k < ev.length; k++) {
      if (ev[k].kind === 'claimed') {
        const d = ev.slice(k).find((e) => e.kind === 'completed' && e.id === ev[k].id);
        claimedToDone.push(d.t - ev[k].t);
      } else if (ev[k].kind === 'completed') {
        const c = ev.slice(k).find((e) => e.kind === 'claimed');
        if (c) doneToClaim.push(c.t - ev[k].t);
      }
    }
    const cycle = doneAt.slice(1).map((t, k) => t - doneAt[k]);
    const g = gitTime(procs[0].trace);
    out.per_job = {
      cycle: stats(cycle),
      claimed_to_completed: stats(claimedToDone),
      run_in_worker: stats(run),
      completed_to_next_claimed: stats(doneToClaim),
      git_per_job_ms: Object.fromEntries(
        Object.entries(g)
          .filter(([k]) => !k.startsWith('cat-file'))
          .map(([k, v]) => [
            k,
            { per_job: r1(v.ms / N_JOBS), calls_per_job: r1(v.n / N_JOBS), mean: r1(v.ms / v.n) },
          ]),
      ),
      git_long_lived: Object.fromEntries(
        Object.entries(g)
          .filter(([k]) => k.startsWith('cat-file'))
          .map(([k, v]) => [k, v.n]),
      ),
    };
  }
  log(`workers ${n} notify ${notify}`, JSON.stringify(out));
  return out;
}

results.throughput = [];
for (const n of WORKERS) results.throughput.push(await workerRun(n, true));
for (const n of values['notify-all'] ? WORKERS : [1]) results.throughput.push(await workerRun(n, false));

// 3. The same program run directly: `node main.mjs` spawned sequentially, and through the worker's executor
// (runProgram: fresh directories, exact environment, output collection) in-process.
{
  const d = tmp('jobs-bench-direct-');
  writeFileSync(join(d, 'main.mjs'), ECHO);
  mkdirSync(join(d, 'in'));
  writeFileSync(join(d, 'in', 'in.txt'), 'direct job');
  const direct = [];
  for (let i = 0; i < N_DIRECT; i++) {
    const outDir = join(d, `out${i}`);
    mkdirSync(outDir);
    const t = performance.now();
    const r = spawnSync(process.execPath, ['main.mjs'], {
      cwd: d,
      env: { GATOS_JOB_INPUTS: join(d, 'in'), GATOS_JOB_OUTPUTS: outDir },
    });
    direct.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`direct run: ${r.stderr}`);
  }
  const executor = [];
  for (let i = 0; i < N_DIRECT; i++) {
    const t = performance.now();
    const r = await runProgram({
      kind: 'script',
      entry: 'main.mjs',
      programDir: d,
      inputsDir: join(d, 'in'),
      outputsDir: join(d, `exec-out${i}`),
      args: [],
      env: {},
      limits: { timeout_ms: 60_000, max_output_bytes: 1 << 20, max_memory_mb: 256 },
      workRoot: d,
    });
    executor.push(performance.now() - t);
    if (r.status !== 'succeeded') throw new Error(`runProgram: ${r.status} ${r.error}`);
  }
  const one = results.throughput.find((r) => r.workers === 1 && r.notify);
  const oneQuiet = results.throughput.find((r) => r.workers === 1 && !r.notify);
  const directStats = stats(direct);
  results.overhead = {
    direct_node_spawn: directStats,
    executor_runProgram: stats(executor),
    worker_cycle_p50_ms: one.per_job.cycle.p50_ms,
    worker_cycle_no_notify_p50_ms: oneQuiet?.per_job.cycle.p50_ms,
    ratio_worker_to_direct_p50: r1(one.per_job.cycle.p50_ms / directStats.p50_ms),
    ratio_worker_no_notify_to_direct_p50: oneQuiet
      ? r1(oneQuiet.per_job.cycle.p50_ms / directStats.p50_ms)
      : undefined,
  };
  log('overhead', JSON.stringify(results.overhead));
}

results.machine.loadavg_end = loadavg().map(r1);
for (const d of dirs) rmSync(d, { recursive: true, force: true });
writeFileSync(join(import.meta.dirname, 'jobs-results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
