/**
 * Running a job's program as a child process (spec/job-plane.md § 5 statuses): exactly the manifest's
 * environment, a fresh working directory, its own process group (a timeout or abort kills everything it
 * started), output and memory caps, and the regular files it left in the outputs directory.
 */
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobLimits } from '@gatos/core';
import { groupRssBytes } from './group-memory.js';
import { isJobPath, listOutputs, OutputRefused, readOutputs } from './job-files.js';
import type { RunnableKind } from './runtime.js';
import { WASM_RUNNER_SOURCE, type WasmRunnerConfig } from './wasm-runner.js';

/** How a run ended (the `status` of a job result). */
export type RunStatus = 'succeeded' | 'failed' | 'timeout' | 'signaled' | 'limit-exceeded' | 'error';

/** Options of {@link runProgram}. */
export interface RunProgramOptions {
  kind: RunnableKind;
  /** The program file that runs, a job path relative to `programDir`. */
  entry: string;
  programDir: string;
  inputsDir: string;
  /** Where the program writes its outputs; created if missing, must be empty. */
  outputsDir: string;
  args: readonly string[];
  /** The child's entire environment, before `GATOS_JOB_INPUTS` / `GATOS_JOB_OUTPUTS` are added. */
  env: Readonly<Record<string, string>>;
  limits: JobLimits;
  /** Aborting kills the program; the run ends with status `error`, error `aborted`. */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL of the process group (1000 ms). */
  killGraceMs?: number;
  /** Interval of the memory and output-size checks (200 ms). */
  pollMs?: number;
  /** Parent of the fresh working directory (the OS temp dir). */
  workRoot?: string;
}

/** What a run produced. `startedAt` / `finishedAt` are wall-clock ms: run metadata, never hashed. */
export interface RunOutcome {
  status: RunStatus;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Regular files under the outputs directory by job path, in bytewise path order. */
  outputs: Map<string, Buffer>;
  startedAt: number;
  finishedAt: number;
}

const MiB = 1024 * 1024;
const WASM_PAGE = 65536;

/** Bytes of regular files under `dir`, best effort (the program is still writing). */
function duBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    try {
      const st = lstatSync(join(dir, n));
      if (st.isDirectory()) total += duBytes(join(dir, n));
      else total += st.size;
    } catch {
      /* removed meanwhile */
    }
  }
  return total;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* ESRCH: the group is gone */
  }
}

function checkLimits(l: JobLimits): string | null {
  for (const k of ['timeout_ms', 'max_output_bytes', 'max_memory_mb'] as const) {
    if (!Number.isSafeInteger(l[k]) || l[k] <= 0) return `limits.${k} must be a positive integer`;
  }
  return null;
}

/** Runs a script (node) or wasm (WASI preview1) program to completion and reports how it ended. */
export async function runProgram(o: RunProgramOptions): Promise<RunOutcome> {
  const startedAt = Date.now();
  const empty = (error: string): RunOutcome => ({
    status: 'error',
    exit_code: null,
    signal: null,
    error,
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
    outputs: new Map(),
    startedAt,
    finishedAt: Date.now(),
  });
  const bad = checkLimits(o.limits);
  if (bad) return empty(bad);
  if (o.kind !== 'script' && o.kind !== 'wasm')
    return empty(`program kind ${String(o.kind)} cannot run here`);
  if (!isJobPath(o.entry)) return empty(`invalid entry path ${JSON.stringify(o.entry)}`);
  const programDir = resolve(o.programDir);
  const inputsDir = resolve(o.inputsDir);
  const outputsDir = resolve(o.outputsDir);
  const entry = join(programDir, ...o.entry.split('/'));
  try {
    if (!(await lstat(entry)).isFile()) return empty(`entry ${o.entry} is not a regular file`);
  } catch {
    return empty(`entry ${o.entry} does not exist in the program directory`);
  }
  await mkdir(outputsDir, { recursive: true });
  if ((await readdir(outputsDir)).length > 0) return empty('the outputs directory is not empty');
  if (o.signal?.aborted) return empty('aborted');

  const { max_memory_mb: mem, max_output_bytes: maxOut, timeout_ms } = o.limits;
  const jobEnv = { ...o.env, GATOS_JOB_INPUTS: inputsDir, GATOS_JOB_OUTPUTS: outputsDir };
  let argv: string[];
  let env: Record<string, string>;
  if (o.kind === 'script') {
    // No shell and no PATH lookup: the node that runs GATOS runs the script (that is the pinned runtime).
    argv = [`--max-old-space-size=${mem}`, entry, ...o.args];
    env = jobEnv;
  } else {
    const cfg: WasmRunnerConfig = {
      module: entry,
      args: [o.entry, ...o.args],
      env: { ...jobEnv, GATOS_JOB_INPUTS: '/inputs', GATOS_JOB_OUTPUTS: '/outputs' },
      inputs: inputsDir,
      outputs: outputsDir,
      maxPages: Math.floor((mem * MiB) / WASM_PAGE),
    };
    // node:wasi prints an ExperimentalWarning on stderr, which would become part of the program's stderr.
    argv = [
      '--disable-warning=ExperimentalWarning',
      `--max-old-space-size=${mem}`,
      '-e',
      WASM_RUNNER_SOURCE,
      JSON.stringify(cfg),
    ];
    env = {}; // The runner needs nothing; the module's environment travels in the config.
  }

  const workDir = await mkdtemp(join(o.workRoot ?? tmpdir(), 'gatos-job-'));
  try {
    return await supervise(o, argv, env, workDir, outputsDir, startedAt, maxOut, mem, timeout_ms);
  } finally {
    await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
}

async function supervise(
  o: RunProgramOptions,
  argv: string[],
  env: Record<string, string>,
  workDir: string,
  outputsDir: string,
  startedAt: number,
  maxOut: number,
  mem: number,
  timeoutMs: number,
): Promise<RunOutcome> {
  const child = spawn(process.execPath, argv, {
    cwd: workDir,
    env,
    detached: true, // Its own process group: one kill(-pid) reaches every process it started.
    stdio: ['ignore', 'pipe', 'pipe', o.kind === 'wasm' ? 'pipe' : 'ignore'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const report: Buffer[] = [];
  let outLen = 0;
  let errLen = 0;
  let killed: { status: RunStatus; error: string } | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  const pid = child.pid;
  const closed = new Promise<void>((done) => child.on('close', () => done()));

  const kill = (status: RunStatus, error: string): void => {
    if (killed || pid === undefined) return;
    killed = { status, error };
    killGroup(pid, 'SIGTERM');
    graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), o.killGraceMs ?? 1000);
  };
  const overOutput = (extra: number): boolean => outLen + errLen + extra > maxOut;
  const take = (chunks: Buffer[], c: Buffer, isOut: boolean): void => {
    if (killed) return;
    const room = maxOut - outLen - errLen;
    const kept = c.length <= room ? c : c.subarray(0, Math.max(0, room));
    chunks.push(kept);
    if (isOut) outLen += kept.length;
    else errLen += kept.length;
    if (kept.length < c.length) kill('limit-exceeded', `stdout, stderr and outputs exceed ${maxOut} bytes`);
  };
  child.stdout!.on('data', (c: Buffer) => take(out, c, true));
  child.stderr!.on('data', (c: Buffer) => take(err, c, false));
  (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (c: Buffer) => report.push(c));

  const timer = setTimeout(() => kill('timeout', `killed after ${timeoutMs} ms`), timeoutMs);
  const poll = setInterval(() => {
    if (pid === undefined) return;
    const rss = groupRssBytes(pid);
    if (rss !== null && rss > mem * MiB) {
      kill('limit-exceeded', `memory: the process group used ${Math.ceil(rss / MiB)} MiB > ${mem} MiB`);
    } else if (overOutput(duBytes(outputsDir))) {
      kill('limit-exceeded', `stdout, stderr and outputs exceed ${maxOut} bytes`);
    }
  }, o.pollMs ?? 200);
  const onAbort = (): void => kill('error', 'aborted');
  o.signal?.addEventListener('abort', onAbort);

  const ended = await new Promise<
    { code: number | null; sig: NodeJS.Signals | null } | { spawnError: Error }
  >((done) => {
    child.on('error', (e) => done({ spawnError: e }));
    child.on('exit', (code, sig) => {
      // Whatever the program left running dies with it (and stops writing into the outputs).
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      done({ code, sig });
    });
  });
  clearTimeout(timer);
  clearInterval(poll);
  o.signal?.removeEventListener('abort', onAbort);
  if (graceTimer) clearTimeout(graceTimer);
  // Drain the pipes; a process that escaped the group (setsid) could hold them open, so do not wait forever.
  if (child.exitCode !== null || child.signalCode !== null) {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise<void>((done) => {
        t = setTimeout(() => {
          for (const st of child.stdio) st?.destroy();
          done();
        }, 2000);
      }),
    ]);
    clearTimeout(t);
  }
  const base = {
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err),
    outputs: new Map<string, Buffer>(),
    startedAt,
  };
  if ('spawnError' in ended) {
    return {
      ...base,
      status: 'error',
      exit_code: null,
      signal: null,
      error: `cannot start the program: ${ended.spawnError.message}`,
      finishedAt: Date.now(),
    };
  }
  let status: RunStatus;
  let exitCode = ended.code;
  let error: string | null = null;
  const signal = ended.sig;
  const wasm = parseReport(Buffer.concat(report));
  const k = killed as { status: RunStatus; error: string } | null;
  if (k) {
    status = k.status;
    error = k.error;
  } else if (wasm && 'limit' in wasm) {
    status = 'limit-exceeded';
    error = `memory: ${wasm.limit}`;
    exitCode = null;
  } else if (wasm && 'error' in wasm) {
    status = 'error';
    error = `wasm: ${wasm.error}`;
    exitCode = null;
  } else if (wasm && 'trap' in wasm) {
    status = 'failed';
    error = `wasm trap: ${wasm.trap}`;
    exitCode = null;
  } else if (wasm && 'exit' in wasm) {
    exitCode = wasm.exit; // The full WASI exit code (a process exit code keeps only 8 bits).
    status = exitCode === 0 ? 'succeeded' : 'failed';
  } else if (signal !== null) {
    // V8 aborts on heap exhaustion; under --max-old-space-size that is the memory limit, not a crash.
    if (signal === 'SIGABRT' && /JavaScript heap out of memory/.test(base.stderr.toString('latin1'))) {
      status = 'limit-exceeded';
      error = `memory: JavaScript heap over ${mem} MiB`;
    } else status = 'signaled';
  } else status = exitCode === 0 ? 'succeeded' : 'failed';

  if (status !== 'limit-exceeded') {
    try {
      const list = await listOutputs(outputsDir);
      const total = list.reduce((s, f) => s + f.size, 0);
      if (overOutput(total)) {
        status = 'limit-exceeded';
        error = `stdout, stderr and outputs exceed ${maxOut} bytes`;
      } else base.outputs = await readOutputs(outputsDir, list);
    } catch (e) {
      if (!(e instanceof OutputRefused)) throw e;
      status = 'error';
      error = e.message;
    }
  }
  return { ...base, status, exit_code: exitCode, signal, error, finishedAt: Date.now() };
}

type WasmReport = { exit: number } | { trap: string } | { limit: string } | { error: string };

function parseReport(b: Buffer): WasmReport | null {
  const line = b.toString('utf8').split('\n')[0];
  if (!line) return null;
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if (typeof v.exit === 'number') return { exit: v.exit };
    for (const k of ['trap', 'limit', 'error'] as const) {
      if (typeof v[k] === 'string') return { [k]: v[k] } as WasmReport;
    }
  } catch {
    /* a runner that died mid-write: judged by its exit */
  }
  return null;
}
