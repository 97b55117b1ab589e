/** The job executor with real child processes: statuses, process-group kills, limits, env exactness, WASI. */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isGatosError } from '@gatos/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type JobLimits, materialize, type RunProgramOptions, runProgram } from '../src/jobs/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix = 'gatos-exec-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

const LIMITS: JobLimits = { timeout_ms: 20_000, max_output_bytes: 1_000_000, max_memory_mb: 256 };

/** Lays out a job (program files + inputs) and runs it. */
async function run(
  files: Record<string, string | Uint8Array>,
  opts: Partial<RunProgramOptions> = {},
  inputs: Record<string, string> = {},
) {
  const root = tmp();
  const enc = (v: string | Uint8Array) => (typeof v === 'string' ? Buffer.from(v) : v);
  await materialize(join(root, 'program'), new Map(Object.entries(files).map(([k, v]) => [k, enc(v)])));
  await materialize(join(root, 'inputs'), new Map(Object.entries(inputs).map(([k, v]) => [k, enc(v)])));
  const res = await runProgram({
    kind: 'script',
    entry: 'main.mjs',
    programDir: join(root, 'program'),
    inputsDir: join(root, 'inputs'),
    outputsDir: join(root, 'outputs'),
    args: [],
    env: {},
    limits: LIMITS,
    ...opts,
  });
  return { res, root };
}

/** Alive and not a zombie (a killed process whose parent died waits as a zombie when PID 1 does not reap). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
async function waitDead(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('runProgram: script', () => {
  it('succeeds with args, inputs, outputs (sorted, nested) and a fresh cwd', async () => {
    const { res, root } = await run(
      {
        'main.mjs': `
          import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
          const out = process.env.GATOS_JOB_OUTPUTS;
          const input = readFileSync(process.env.GATOS_JOB_INPUTS + '/data/n.txt', 'utf8');
          mkdirSync(out + '/sub');
          writeFileSync(out + '/z.txt', input.toUpperCase());
          writeFileSync(out + '/sub/a.bin', Buffer.from([0, 1, 2]));
          writeFileSync(out + '/B.txt', process.argv.slice(2).join(','));
          console.log(JSON.stringify({ cwd: process.cwd(), files: readdirSync('.') }));
          console.error('to stderr');`,
      },
      { args: ['x', 'y z'] },
      { 'data/n.txt': 'hello' },
    );
    expect(res.status).toBe('succeeded');
    expect(res.exit_code).toBe(0);
    expect(res.signal).toBeNull();
    expect(res.error).toBeNull();
    expect([...res.outputs.keys()]).toEqual(['B.txt', 'sub/a.bin', 'z.txt']);
    expect(res.outputs.get('z.txt')?.toString()).toBe('HELLO');
    expect(res.outputs.get('B.txt')?.toString()).toBe('x,y z');
    expect([...(res.outputs.get('sub/a.bin') ?? [])]).toEqual([0, 1, 2]);
    const info = JSON.parse(res.stdout.toString());
    expect(info.files).toEqual([]);
    expect(info.cwd.startsWith(root)).toBe(false);
    expect(() => readFileSync(info.cwd)).toThrow(); // removed after the run
    expect(res.stderr.toString()).toBe('to stderr\n');
    expect(res.finishedAt).toBeGreaterThanOrEqual(res.startedAt);
  });

  it('gives the child exactly the manifest env plus GATOS_JOB_INPUTS/OUTPUTS', async () => {
    const { res, root } = await run(
      { 'main.mjs': 'process.stdout.write(JSON.stringify(process.env))' },
      { env: { FOO: 'bar', EMPTY: '' } },
    );
    expect(res.status).toBe('succeeded');
    expect(JSON.parse(res.stdout.toString())).toEqual({
      FOO: 'bar',
      EMPTY: '',
      GATOS_JOB_INPUTS: join(root, 'inputs'),
      GATOS_JOB_OUTPUTS: join(root, 'outputs'),
    });
  });

  it('reports a non-zero exit as failed', async () => {
    const { res } = await run({ 'main.mjs': 'console.log("bye"); process.exit(3)' });
    expect(res).toMatchObject({ status: 'failed', exit_code: 3, signal: null });
    expect(res.stdout.toString()).toBe('bye\n');
  });

  it('reports death by a signal as signaled', async () => {
    const { res } = await run({ 'main.mjs': 'process.kill(process.pid, "SIGKILL")' });
    expect(res).toMatchObject({ status: 'signaled', exit_code: null, signal: 'SIGKILL' });
  });

  it('times out and kills the whole process group, grandchild included', async () => {
    const { res } = await run(
      {
        'main.mjs': `
          import { spawn } from 'node:child_process';
          const g = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
          console.log(g.pid);
          process.on('SIGTERM', () => {}); // ignores the polite kill: SIGKILL must follow
          setInterval(() => {}, 1000);`,
      },
      { limits: { ...LIMITS, timeout_ms: 1500 }, killGraceMs: 300 },
    );
    expect(res.status).toBe('timeout');
    expect(res.signal).toBe('SIGKILL');
    const gpid = Number(res.stdout.toString().trim());
    expect(gpid).toBeGreaterThan(0);
    expect(await waitDead(gpid)).toBe(true);
  });

  it('kills what the program left running when it exits', async () => {
    const { res } = await run({
      'main.mjs': `
        import { spawn } from 'node:child_process';
        const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
        g.unref();
        console.log(g.pid);`,
    });
    expect(res.status).toBe('succeeded');
    expect(await waitDead(Number(res.stdout.toString().trim()))).toBe(true);
  });

  it('kills a program whose stdout exceeds max_output_bytes', async () => {
    const { res } = await run(
      { 'main.mjs': 'const b = Buffer.alloc(65536, 97); for (;;) process.stdout.write(b);' },
      { limits: { ...LIMITS, max_output_bytes: 10_000 } },
    );
    expect(res.status).toBe('limit-exceeded');
    expect(res.stdout.length).toBeLessThanOrEqual(10_000);
    expect(res.outputs.size).toBe(0);
  });

  it('counts output files against max_output_bytes', async () => {
    const { res } = await run(
      {
        'main.mjs':
          'import { writeFileSync } from "node:fs"; writeFileSync(process.env.GATOS_JOB_OUTPUTS + "/big", Buffer.alloc(5000)); console.log("x".repeat(10))',
      },
      { limits: { ...LIMITS, max_output_bytes: 5005 } },
    );
    expect(res.status).toBe('limit-exceeded');
    expect(res.exit_code).toBe(0);
    expect(res.outputs.size).toBe(0);
  });

  it('stops a program whose memory grows past max_memory_mb', async () => {
    const { res } = await run(
      {
        'main.mjs':
          'const keep = []; for (let i = 0; i < 40; i++) { keep.push(Buffer.alloc(16 << 20, i)); await new Promise((r) => setTimeout(r, 20)); } console.log("survived")',
      },
      { limits: { ...LIMITS, max_memory_mb: 160 }, pollMs: 50 },
    );
    expect(res.status).toBe('limit-exceeded');
    expect(res.error).toMatch(/^memory/);
    expect(res.stdout.toString()).not.toContain('survived');
  });

  it('caps the JS heap with --max-old-space-size', async () => {
    const { res } = await run(
      { 'main.mjs': 'const a = []; for (;;) a.push({ i: a.length, s: "x" + a.length });' },
      { limits: { ...LIMITS, max_memory_mb: 200 } },
    );
    expect(res.status).toBe('limit-exceeded');
    expect(res.error).toMatch(/^memory/);
  });

  it('refuses a symlink in the outputs', async () => {
    const { res } = await run({
      'main.mjs':
        'import { symlinkSync } from "node:fs"; symlinkSync("/etc/passwd", process.env.GATOS_JOB_OUTPUTS + "/leak")',
    });
    expect(res.status).toBe('error');
    expect(res.error).toMatch(/leak.*not a regular file/);
    expect(res.outputs.size).toBe(0);
  });

  it('ends with error when aborted, and when the entry is missing', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const { res } = await run({ 'main.mjs': 'setInterval(() => {}, 1000)' }, { signal: ac.signal });
    expect(res).toMatchObject({ status: 'error', error: 'aborted' });
    const { res: missing } = await run({ 'main.mjs': '' }, { entry: 'nope.mjs' });
    expect(missing.status).toBe('error');
    expect(missing.error).toMatch(/does not exist/);
  });
});

describe('materialize', () => {
  it('refuses escaping or malformed paths', async () => {
    for (const p of ['../x', '/abs', 'a/../b', 'a//b', './a', 'a/', 'sp ace']) {
      await expect(materialize(tmp(), new Map([[p, Buffer.from('x')]]))).rejects.toSatisfy((e: unknown) =>
        isGatosError(e, 'GATOS_E_JOB_MANIFEST'),
      );
    }
  });

  it('never writes through a planted symlink', async () => {
    const dir = tmp();
    const target = join(tmp(), 'target');
    writeFileSync(target, 'original');
    symlinkSync(target, join(dir, 'evil'));
    await expect(materialize(dir, new Map([['evil', Buffer.from('pwned')]]))).rejects.toSatisfy(
      (e: unknown) => isGatosError(e, 'GATOS_E_JOB_MANIFEST'),
    );
    expect(readFileSync(target, 'utf8')).toBe('original');
  });
});

// ---- a tiny WebAssembly assembler: enough for WASI test modules ----
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const str = (s: string): number[] => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const I32 = 0x7f;
const I64 = 0x7e;
const i32 = (n: number): number[] => [0x41, ...sleb(n)];
const i64 = (n: number): number[] => [0x42, ...sleb(n)];
const call = (f: number): number[] => [0x10, ...uleb(f)];
// Imported functions, in index order.
const FD_WRITE = 0;
const PROC_EXIT = 1;
const PATH_OPEN = 2;

/** A WASI command: memory (min pages, optional max), data segments, and the body of `_start`. */
function wasiModule(opts: {
  code: number[];
  data?: [number, string][];
  minPages?: number;
  maxPages?: number;
}) {
  const types = [
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])], // fd_write
    [0x60, ...vec([[I32]]), ...vec([])], // proc_exit
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I64], [I64], [I32], [I32]]), ...vec([[I32]])], // path_open
    [0x60, ...vec([]), ...vec([])], // _start
  ];
  const imp = (name: string, type: number) => [...str('wasi_snapshot_preview1'), ...str(name), 0x00, type];
  const limits =
    opts.maxPages === undefined
      ? [0x00, ...uleb(opts.minPages ?? 1)]
      : [0x01, ...uleb(opts.minPages ?? 1), ...uleb(opts.maxPages)];
  const body = [0x00, ...opts.code, 0x0b];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec([imp('fd_write', 0), imp('proc_exit', 1), imp('path_open', 2)])),
    ...section(3, vec([[3]])),
    ...section(5, vec([limits])),
    ...section(
      7,
      vec([
        [...str('memory'), 0x02, 0],
        [...str('_start'), 0x00, 3],
      ]),
    ),
    ...section(10, vec([[...uleb(body.length), ...body]])),
    ...section(11, vec((opts.data ?? []).map(([at, s]) => [0x00, ...i32(at), 0x0b, ...str(s)]))),
  ]);
}

/** iovec {ptr,len} encoded little-endian as a data segment string. */
const iovec = (ptr: number, len: number) =>
  Buffer.from(new Uint32Array([ptr, len]).buffer).toString('latin1');
const exitWith = (n: number) => [...i32(n), ...call(PROC_EXIT)];
const drop = [0x1a];

describe('runProgram: wasm (WASI preview1)', () => {
  const runWasm = (mod: Uint8Array, limits: Partial<JobLimits> = {}) =>
    run({ 'main.wasm': mod }, { kind: 'wasm', entry: 'main.wasm', limits: { ...LIMITS, ...limits } });

  it('runs a module that writes to stdout and exits with a code', async () => {
    const hello = 'hello wasm\n';
    const mod = wasiModule({
      data: [
        [0, iovec(16, hello.length)],
        [16, hello],
      ],
      code: [...i32(1), ...i32(0), ...i32(1), ...i32(8), ...call(FD_WRITE), ...drop, ...exitWith(0)],
    });
    const { res } = await runWasm(mod);
    expect(res.stderr.toString()).toBe('');
    expect(res).toMatchObject({ status: 'succeeded', exit_code: 0, signal: null, error: null });
    expect(res.stdout.toString()).toBe(hello);
  });

  it('keeps the full WASI exit code and reports failure', async () => {
    const { res } = await runWasm(wasiModule({ code: exitWith(300) }));
    expect(res).toMatchObject({ status: 'failed', exit_code: 300 });
  });

  it('writes an output file through the /outputs preopen', async () => {
    const name = 'out.txt';
    const text = 'from wasm';
    const mod = wasiModule({
      data: [
        [24, iovec(64, text.length)],
        [40, name],
        [64, text],
      ],
      code: [
        // path_open(fd 4 = /outputs, dirflags 0, path, len, O_CREAT|O_TRUNC, rights fd_write, 0, 0, &fd at 8)
        ...i32(4),
        ...i32(0),
        ...i32(40),
        ...i32(name.length),
        ...i32(9),
        ...i64(64),
        ...i64(0),
        ...i32(0),
        ...i32(8),
        ...call(PATH_OPEN),
        0x04,
        0x40,
        ...exitWith(90),
        0x0b, // if errno != 0: exit 90
        ...i32(8),
        0x28,
        0x02,
        0x00, // i32.load fd
        ...i32(24),
        ...i32(1),
        ...i32(32),
        ...call(FD_WRITE),
        0x04,
        0x40,
        ...exitWith(91),
        0x0b,
        ...exitWith(0),
      ],
    });
    const { res } = await runWasm(mod);
    expect(res.stderr.toString()).toBe('');
    expect(res.status).toBe('succeeded');
    expect([...res.outputs.keys()]).toEqual([name]);
    expect(res.outputs.get(name)?.toString()).toBe(text);
  });

  it('caps linear memory: memory.grow past max_memory_mb returns -1', async () => {
    // grow by 4000 pages (250 MiB) > 128 MiB cap → -1 → exit 3; success would exit 0.
    const code = [
      ...i32(4000),
      0x40,
      0x00,
      ...i32(-1),
      0x46,
      0x04,
      0x40,
      ...exitWith(3),
      0x0b,
      ...exitWith(0),
    ];
    const { res } = await runWasm(wasiModule({ code }), { max_memory_mb: 128 });
    expect(res).toMatchObject({ status: 'failed', exit_code: 3 });
    const { res: roomy } = await runWasm(wasiModule({ code }), { max_memory_mb: 512 });
    expect(roomy).toMatchObject({ status: 'succeeded', exit_code: 0 });
  });

  it('refuses a module whose initial memory is over the cap', async () => {
    const { res } = await runWasm(wasiModule({ code: exitWith(0), minPages: 4096 }), { max_memory_mb: 128 });
    expect(res.status).toBe('limit-exceeded');
    expect(res.error).toMatch(/4096 pages.*2048/);
  });

  it('reports a trap as failed and garbage as error', async () => {
    const { res } = await runWasm(wasiModule({ code: [0x00] })); // unreachable
    expect(res.status).toBe('failed');
    expect(res.exit_code).toBeNull();
    expect(res.error).toMatch(/wasm trap: .*unreachable/);
    const { res: bad } = await runWasm(Buffer.from('not wasm at all'));
    expect(bad.status).toBe('error');
    expect(bad.error).toMatch(/^wasm: /);
  });

  it('times out an endless loop', async () => {
    const { res } = await runWasm(wasiModule({ code: [0x03, 0x40, 0x0c, 0x00, 0x0b] }), { timeout_ms: 800 });
    expect(res.status).toBe('timeout');
  });
});
