/**
 * Workers on separate clones coordinating only through one bare repository (slow: real processes, real pushes).
 * Jobs are submitted in-process straight into the shared repository; workers are `git gatos worker run` children.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type JobManifest,
  contentDigest,
  jobClaimRef,
  jobResultRef,
  readClaimLinks,
  readResultCommit,
  readTrust,
  submitJob,
  verifyJob,
} from '@gatos/core';
import { currentRuntime } from '@gatos/gatosd/jobs';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { describe, expect, it } from 'vitest';
import { BIN, BIN_DIR, expectOk, gatos, git, repoWithHome, tmp } from './helpers.js';

const enc = new TextEncoder();
const GATOSD = join(import.meta.dirname, '../../gatosd/bin/gatosd');

/** A shared bare repository with GATOS initialized and `n` worker clones whose keys are registered there. */
function cluster(n: number, adminKeys: string[] = []) {
  const shared = tmp('gatos-shared-');
  git(shared, 'init', '-q', '--bare');
  const admin = repoWithHome();
  expectOk(gatos(admin.repo, admin.env, ['init']));
  expectOk(gatos(admin.repo, admin.env, ['key', 'new', '--actor', 'user:admin']));
  for (const actor of adminKeys) expectOk(gatos(admin.repo, admin.env, ['key', 'new', '--actor', actor]));
  git(admin.repo, 'push', '-q', shared, 'refs/gatos/*:refs/gatos/*');
  const workers = [];
  for (let i = 1; i <= n; i++) {
    const w = repoWithHome();
    git(w.repo, 'fetch', '-q', shared, 'refs/gatos/*:refs/gatos/*');
    expectOk(gatos(w.repo, w.env, ['key', 'new', '--actor', `agent:w${i}`]));
    // Registering a key appends to the trust chain: publish it before the next worker extends it.
    git(w.repo, 'push', '-q', shared, 'refs/gatos/trust/keys:refs/gatos/trust/keys');
    workers.push({ ...w, actor: `agent:w${i}` });
  }
  return { shared, admin, workers };
}

/** Submits script jobs directly into `repoPath` (in-process core calls on the real repository). */
async function submit(
  repoPath: string,
  jobs: {
    program: string;
    args?: string[];
    input?: string;
    timeoutMs?: number;
    nonce?: string;
    cache?: boolean;
  }[],
): Promise<string[]> {
  const repo = await openRepository({ cwd: repoPath });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  const runtime = await currentRuntime('script');
  const ids: string[] = [];
  try {
    for (const j of jobs) {
      const prog = enc.encode(j.program);
      const input = enc.encode(j.input ?? '');
      const manifest: JobManifest = {
        v: 1,
        type: 'gatos.job',
        program: {
          kind: 'script',
          entry: 'main.mjs',
          files: [{ path: 'main.mjs', digest: contentDigest(prog), size: prog.length }],
          runtime,
        },
        args: j.args ?? [],
        env: {},
        inputs: [{ name: 'in.txt', digest: contentDigest(input), size: input.length }],
        limits: { timeout_ms: j.timeoutMs ?? 20_000, max_output_bytes: 1 << 20, max_memory_mb: 256 },
        cache: j.cache ?? false,
        nonce: j.nonce ?? '',
      };
      const r = await submitJob(
        { objects, refs },
        {
          manifest,
          programFiles: new Map([['main.mjs', prog]]),
          inputFiles: new Map([['in.txt', input]]),
        },
      );
      ids.push(r.jobId);
    }
  } finally {
    await objects.close();
  }
  return ids;
}

/** Opens the shared repository's stores for in-process checks. */
async function sharedStores(path: string) {
  const repo = await openRepository({ cwd: path });
  return { objects: createObjectStore(repo), refs: createRefStore(repo) };
}

interface Worker {
  child: ChildProcess;
  /** What it printed so far. */
  live: { stdout: string; stderr: string };
  done: Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>;
}

function startWorker(w: { repo: string; env: NodeJS.ProcessEnv; actor: string }, args: string[]): Worker {
  // The CLI itself, not `git gatos` (git would stand between the signals these tests send and the worker).
  const child = spawn(process.execPath, [BIN, 'worker', 'run', '--actor', w.actor, ...args], {
    cwd: w.repo,
    env: { ...w.env, PATH: `${BIN_DIR}:${w.env.PATH ?? ''}` },
  });
  const live = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (live.stdout += d));
  child.stderr!.on('data', (d) => (live.stderr += d));
  const done = new Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (status, signal) => resolve({ status, signal, ...live })),
  );
  return { child, live, done };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A second worker that drains the queue, taking over expired 2 s leases after a 200 ms skew margin. */
const TAKEOVER = ['--until-idle', '--json', '--lease', '2s', '--skew', '200ms', '--poll', '100ms'];

const ECHO = `import { readFileSync, writeFileSync } from 'node:fs';
const text = readFileSync(process.env.GATOS_JOB_INPUTS + '/in.txt', 'utf8');
writeFileSync(process.env.GATOS_JOB_OUTPUTS + '/out.txt', text.toUpperCase());
console.log('ok ' + text.length);
`;

describe('workers racing through one bare repository (slow)', () => {
  it('8 worker processes with their own clones claim each of 100 jobs exactly once and complete it once', async () => {
    const { shared, workers } = cluster(8);
    const ids = await submit(
      shared,
      Array.from({ length: 100 }, (_, i) => ({ program: ECHO, input: `job number ${i}` })),
    );
    const t0 = Date.now();
    const runs = workers.map((w) =>
      startWorker(w, ['--remote', shared, '--until-idle', '--json', '--poll', '200ms', '--lease', '60s']),
    );
    const outs = await Promise.all(runs.map((r) => r.done));
    const seconds = (Date.now() - t0) / 1000;
    const reports = outs.map((o) => {
      expect(o.status, o.stderr).toBe(0);
      return JSON.parse(o.stdout);
    });
    const completed = reports.reduce((n, r) => n + r.completed, 0);
    const lost = reports.reduce((n, r) => n + r.lostRaces, 0);
    console.log(
      `8 workers, 100 jobs: ${seconds.toFixed(1)} s, per worker ${reports.map((r) => r.completed).join('/')}, ` +
        `${lost} lost claim races`,
    );
    expect(completed).toBe(100);
    const byJob = new Map<string, number>();
    for (const r of reports) for (const j of r.jobs) byJob.set(j.jobId, (byJob.get(j.jobId) ?? 0) + 1);
    expect([...byJob.keys()].sort()).toEqual([...ids].sort());
    expect([...byJob.values()].every((n) => n === 1)).toBe(true);

    const s = await sharedStores(shared);
    try {
      const trust = await readTrust(s.objects, s.refs);
      for (const id of ids) {
        const links = await readClaimLinks(s.objects, (await s.refs.read(jobClaimRef(id)))!);
        // One claim, no reclaim: epoch 0 throughout, ending in done.
        expect(links.every((l) => l.record.epoch === 0)).toBe(true);
        expect(links.at(-1)!.record.state).toBe('done');
        const result = await readResultCommit(s.objects, (await s.refs.read(jobResultRef(id)))!);
        expect(result.result.status).toBe('succeeded');
        expect(result.result.worker).toBe(links[0]!.record.worker);
        const report = await verifyJob(s, id, trust);
        expect(report.problems).toEqual([]);
      }
      const one = await readResultCommit(s.objects, (await s.refs.read(jobResultRef(ids[7]!)))!);
      expect(new TextDecoder().decode(one.outputs.get('out.txt'))).toBe('JOB NUMBER 7');
    } finally {
      await s.objects.close();
    }
    expect(git(shared, 'fsck', '--no-progress', '--no-dangling')).toBe('');
  }, 600_000);

  it('a worker killed with SIGKILL mid-job: its lease expires, another completes the job', async () => {
    const { shared, workers } = cluster(2);
    const marker = join(tmp('gatos-marker-'), 'started');
    const slow = `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(marker)}, String(process.pid));
await new Promise((r) => setTimeout(r, 1500));
writeFileSync(process.env.GATOS_JOB_OUTPUTS + '/out.txt', 'finished');
`;
    const [id] = await submit(shared, [{ program: slow }]);
    const a = startWorker(workers[0]!, ['--remote', shared, '--lease', '2s', '--poll', '100ms']);
    await until(() => existsSync(marker), 60_000, 'worker A to start the job');
    a.child.kill('SIGKILL');
    await a.done;
    // A's program keeps running orphaned; stop it so it cannot interfere.
    try {
      process.kill(Number(readFileSync(marker, 'utf8')), 'SIGKILL');
    } catch {}
    const b = startWorker(workers[1]!, ['--remote', shared, ...TAKEOVER]);
    const out = await b.done;
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.completed).toBe(1);
    const s = await sharedStores(shared);
    try {
      const links = await readClaimLinks(s.objects, (await s.refs.read(jobClaimRef(id!)))!);
      expect(links[0]!.record.epoch).toBe(0);
      expect(links.at(-1)!.record).toMatchObject({ state: 'done', epoch: 1, worker: report.worker });
      const result = await readResultCommit(s.objects, (await s.refs.read(jobResultRef(id!)))!);
      expect(result.result.claim.epoch).toBe(1);
      expect(result.result.worker).toBe(report.worker);
      expect(result.result.status).toBe('succeeded');
      expect((await verifyJob(s, id!, await readTrust(s.objects, s.refs))).ok).toBe(true);
    } finally {
      await s.objects.close();
    }
  }, 180_000);

  it('a stalled worker that comes back after its lease was taken over has its late result refused', async () => {
    const { shared, workers } = cluster(2);
    const marker = join(tmp('gatos-marker-'), 'started');
    const slow = `import { writeFileSync, appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(marker)}, 'x');
await new Promise((r) => setTimeout(r, 1500));
writeFileSync(process.env.GATOS_JOB_OUTPUTS + '/out.txt', 'finished');
`;
    const [id] = await submit(shared, [{ program: slow }]);
    const a = startWorker(workers[0]!, ['--remote', shared, '--lease', '2s', '--poll', '100ms', '--json']);
    await until(() => existsSync(marker), 60_000, 'worker A to start the job');
    // Freeze A (no heartbeats) while its program finishes on its own; B takes over after the lease expires.
    a.child.kill('SIGSTOP');
    const b = startWorker(workers[1]!, ['--remote', shared, ...TAKEOVER]);
    const outB = await b.done;
    expect(outB.status, outB.stderr).toBe(0);
    expect(JSON.parse(outB.stdout).completed).toBe(1);
    const s = await sharedStores(shared);
    const resultBefore = await s.refs.read(jobResultRef(id!));
    a.child.kill('SIGCONT');
    // A wakes up holding a stale claim: its heartbeat or its completion must be refused.
    await until(() => /lease lost|refused/.test(a.live.stderr), 60_000, 'worker A to notice');
    a.child.kill('SIGTERM');
    const outA = await a.done;
    const reportA = JSON.parse(outA.stdout);
    expect(reportA.completed).toBe(0);
    expect(reportA.leaseLost + reportA.refused).toBeGreaterThanOrEqual(1);
    try {
      expect(await s.refs.read(jobResultRef(id!))).toBe(resultBefore);
      const result = await readResultCommit(s.objects, resultBefore!);
      expect(result.result.claim.epoch).toBe(1);
      expect((await verifyJob(s, id!, await readTrust(s.objects, s.refs))).ok).toBe(true);
    } finally {
      await s.objects.close();
    }
  }, 180_000);

  it('non-zero exits, timeouts and signals are recorded as such, each with a signed result', async () => {
    const { workers } = cluster(1);
    const w = workers[0]!;
    const ids = await submit(w.repo, [
      { program: 'process.exit(3);' },
      { program: 'await new Promise((r) => setTimeout(r, 60000));', timeoutMs: 500 },
      { program: "process.kill(process.pid, 'SIGKILL');" },
      { program: ECHO, input: 'fine' },
    ]);
    const run = startWorker(w, ['--until-idle', '--json', '--poll', '100ms', '--concurrency', '2']);
    const out = await run.done;
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).completed).toBe(4);
    const s = await sharedStores(w.repo);
    try {
      const results = [];
      for (const id of ids)
        results.push((await readResultCommit(s.objects, (await s.refs.read(jobResultRef(id)))!)).result);
      expect(results.map((r) => r.status)).toEqual(['failed', 'timeout', 'signaled', 'succeeded']);
      expect(results[0]!.exit_code).toBe(3);
      expect(results[2]!.signal).toBe('SIGKILL');
      const trust = await readTrust(s.objects, s.refs);
      for (const id of ids) expect((await verifyJob(s, id, trust)).problems).toEqual([]);
    } finally {
      await s.objects.close();
    }
  }, 180_000);

  it('reuses a verified result for the same program, inputs and parameters when the job allows it', async () => {
    const { workers } = cluster(1);
    const w = workers[0]!;
    const ids = await submit(w.repo, [
      { program: ECHO, input: 'same', cache: true, nonce: 'first' },
      { program: ECHO, input: 'same', cache: true, nonce: 'second' },
      { program: ECHO, input: 'same', cache: false, nonce: 'third' },
    ]);
    const out = await startWorker(w, ['--until-idle', '--json', '--poll', '100ms']).done;
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report.completed).toBe(3);
    expect(report.cacheHits).toBe(1);
    const s = await sharedStores(w.repo);
    try {
      const results = [];
      for (const id of ids) {
        results.push((await readResultCommit(s.objects, (await s.refs.read(jobResultRef(id)))!)).result);
      }
      // Whichever cacheable job ran first is the source of the other; the job that forbids caching always runs.
      const [a, b, c] = results;
      const hits = [a!.cached_from, b!.cached_from];
      expect(hits.filter((h) => h !== null)).toHaveLength(1);
      expect(hits[0] === ids[1] || hits[1] === ids[0]).toBe(true);
      expect(c!.cached_from).toBeNull();
      expect(a!.outputs_root).toBe(b!.outputs_root);
      const trust = await readTrust(s.objects, s.refs);
      for (const id of ids) expect((await verifyJob(s, id, trust)).problems).toEqual([]);
    } finally {
      await s.objects.close();
    }
  }, 180_000);

  it('job verify catches a program swapped in the manifest commit after the run', async () => {
    const { workers } = cluster(1);
    const w = workers[0]!;
    const [id] = await submit(w.repo, [{ program: ECHO, input: 'x' }]);
    expect((await startWorker(w, ['--until-idle', '--json', '--poll', '100ms']).done).status).toBe(0);
    expectOk(gatos(w.repo, w.env, ['job', 'verify', id!]));
    const ref = `refs/gatos/jobs/${id}/manifest`;
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], {
      cwd: w.repo,
      input: 'console.log("not what ran")\n',
      encoding: 'utf8',
    }).trim();
    const index = join(tmp('gatos-index-'), 'index');
    const env = { ...process.env, GIT_INDEX_FILE: index };
    execFileSync('git', ['read-tree', ref], { cwd: w.repo, env });
    execFileSync('git', ['update-index', '--cacheinfo', `100644,${blob},program/main.mjs`], {
      cwd: w.repo,
      env,
    });
    const tree = execFileSync('git', ['write-tree'], { cwd: w.repo, env, encoding: 'utf8' }).trim();
    const forged = execFileSync('git', ['commit-tree', tree, '-m', 'swapped'], {
      cwd: w.repo,
      encoding: 'utf8',
    }).trim();
    git(w.repo, 'update-ref', ref, forged);
    const r = gatos(w.repo, w.env, ['job', 'verify', id!, '--json']);
    expect(r.status).toBe(6);
    expect(r.json.error?.code ?? r.json.code).toBe('GATOS_E_JOB_VERIFY');
    expect(JSON.stringify(r.json)).toContain('program');
  }, 180_000);

  it('a worker subscribed to gatosd on the shared repository starts an announced job without waiting to poll', async () => {
    const { shared, admin, workers } = cluster(1, ['service:gatosd']);
    const daemon = spawn(process.execPath, [GATOSD, '--repo', shared, '--port', '0'], { env: admin.env });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        daemon.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')).trim());
        });
        daemon.stderr!.on('data', (d) => (err += d));
        daemon.on('exit', (code) => reject(new Error(`gatosd exited ${code}: ${err}`)));
      });
      // A poll interval far longer than the test: only the subscription can make the worker look in time.
      const w = startWorker(workers[0]!, [
        '--remote',
        shared,
        '--daemon',
        url,
        '--poll',
        '10m',
        '--max-jobs',
        '1',
        '--json',
      ]);
      await new Promise((r) => setTimeout(r, 3000));
      const program = join(tmp('gatos-prog-'), 'main.mjs');
      writeFileSync(program, ECHO);
      const input = join(tmp('gatos-in-'), 'in.txt');
      writeFileSync(input, 'announced');
      const t0 = Date.now();
      const sub = expectOk(
        gatos(admin.repo, admin.env, [
          'job',
          'submit',
          '--remote',
          shared,
          '--program',
          program,
          '--input',
          input,
          '--actor',
          'user:admin',
          '--json',
        ]),
      );
      const id = sub.json.job_id as string;
      await until(() => /completed/.test(w.live.stderr), 60_000, 'the worker to complete the announced job');
      console.log(`submit → completed through the gatosd subscription: ${Date.now() - t0} ms`);
      const exitT0 = Date.now();
      const out = await w.done;
      console.log(`worker exit after its last job: ${Date.now() - exitT0} ms`);
      const report = JSON.parse(out.stdout);
      expect(report.completed).toBe(1);
      expect(report.wakeups).toBeGreaterThanOrEqual(1);
      expect(git(shared, 'rev-parse', '--verify', '-q', jobResultRef(id))).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      daemon.kill('SIGTERM');
    }
  }, 180_000);

  it('two workers complete jobs through a shared repository guarded by the push-gate, with no refusal', async () => {
    const { shared, admin, workers } = cluster(2);
    expect(expectOk(gatos(admin.repo, admin.env, ['hook', 'install', shared, '--json'])).json.action).toBe(
      'installed',
    );
    const ids = await submit(
      shared,
      Array.from({ length: 6 }, (_, i) => ({ program: ECHO, input: `gated ${i}` })),
    );
    const outs = await Promise.all(
      workers.map(
        (w) => startWorker(w, ['--remote', shared, '--until-idle', '--json', '--poll', '100ms']).done,
      ),
    );
    const reports = outs.map((o) => {
      expect(o.status, o.stderr).toBe(0);
      return JSON.parse(o.stdout);
    });
    expect(reports.reduce((n, r) => n + r.completed, 0)).toBe(ids.length);
    // Every claim, heartbeat, completion and notice passed the gate: no DENY was recorded.
    expect(git(shared, 'for-each-ref', 'refs/gatos/audit/policy/deny')).toBe('');
    const s = await sharedStores(shared);
    try {
      const trust = await readTrust(s.objects, s.refs);
      for (const id of ids) expect((await verifyJob(s, id, trust)).problems).toEqual([]);
    } finally {
      await s.objects.close();
    }
  }, 300_000);

  it('a completion interrupted after its commit point (done claim, no result ref) is finished by the next worker', async () => {
    const { workers } = cluster(1);
    const w = workers[0]!;
    const [id] = await submit(w.repo, [{ program: ECHO, input: 'crash' }]);
    expect((await startWorker(w, ['--until-idle', '--json', '--poll', '100ms']).done).status).toBe(0);
    const result = git(w.repo, 'rev-parse', jobResultRef(id!));
    // The state a crash right after the claim's compare-and-swap leaves behind.
    git(w.repo, 'update-ref', '-d', jobResultRef(id!));
    git(w.repo, 'update-ref', '-d', `refs/gatos/audit/jobs/${id}`);
    expect(gatos(w.repo, w.env, ['job', 'verify', id!]).status).not.toBe(0);
    const out = await startWorker(w, ['--until-idle', '--json', '--poll', '100ms']).done;
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/repaired/);
    expect(JSON.parse(out.stdout).claimed).toBe(0);
    expect(git(w.repo, 'rev-parse', jobResultRef(id!))).toBe(result);
    expectOk(gatos(w.repo, w.env, ['job', 'verify', id!]));
  }, 180_000);
});
