/**
 * The WASI preview1 runner: plain CommonJS source that a child `node -e` runs. It is kept as a string (not a
 * file next to the module) so the bytes that run, and that the wasm runtime digest covers, are the same whether
 * GATOS runs from `src/` (tests) or `dist/` (installed), and nothing has to be copied at build time.
 *
 * Contract with the executor: `process.argv[1]` is a JSON {@link WasmRunnerConfig}; the runner writes one JSON
 * line to fd 3 — `{"exit":n}`, `{"trap":msg}`, `{"limit":msg}` or `{"error":msg}` — and exits.
 */

/** What the executor hands the runner. */
export interface WasmRunnerConfig {
  /** Absolute path of the `.wasm` module. */
  module: string;
  /** WASI argv, argv[0] first. */
  args: string[];
  /** The module's entire environment. */
  env: Record<string, string>;
  /** Host directories preopened as `/inputs` and `/outputs` (fds 3 and 4, in that order). */
  inputs: string;
  outputs: string;
  /** Upper bound of the module's linear memory, in 64 KiB pages. */
  maxPages: number;
}

/**
 * The runner source. The memory cap rewrites the module's memory section so every memory declares
 * `max <= maxPages`: `memory.grow` past it returns -1 inside the module, as the WebAssembly spec defines, and a
 * module whose initial size is over the cap is refused before it starts.
 */
export const WASM_RUNNER_SOURCE = `'use strict';
const fs = require('node:fs');
const { WASI } = require('node:wasi');
const cfg = JSON.parse(process.argv[1]);
function report(o) {
  try { fs.writeSync(3, JSON.stringify(o) + '\\n'); } catch {}
}
function leb(b, p) {
  let v = 0, s = 0, c;
  do { c = b[p++]; v += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80);
  return [v, p];
}
function uleb(v) {
  const out = [];
  do { let c = v % 128; v = Math.floor(v / 128); if (v > 0) c |= 0x80; out.push(c); } while (v > 0);
  return out;
}
class Refused extends Error {}
function capMemory(b, maxPages) {
  if (b.length < 8 || b.readUInt32LE(0) !== 0x6d736100 || b.readUInt32LE(4) !== 1) throw new Refused('not a WebAssembly 1.0 module');
  const parts = [b.subarray(0, 8)];
  let p = 8;
  while (p < b.length) {
    const id = b[p];
    const [size, q] = leb(b, p + 1);
    const end = q + size;
    if (end > b.length) throw new Refused('truncated section');
    if (id === 5) {
      let [n, r] = leb(b, q);
      const body = [...uleb(n)];
      for (let i = 0; i < n; i++) {
        const flags = b[r++];
        if (flags > 1) throw new Refused('shared and 64-bit memories are not supported');
        let min, max = Infinity;
        [min, r] = leb(b, r);
        if (flags & 1) [max, r] = leb(b, r);
        if (min > maxPages) throw new RangeError('the module needs ' + min + ' pages of memory at start; the limit is ' + maxPages);
        body.push(1, ...uleb(min), ...uleb(Math.min(max, maxPages)));
      }
      const payload = Buffer.from(body);
      parts.push(Buffer.from([5, ...uleb(payload.length)]), payload);
    } else {
      parts.push(b.subarray(p, end));
    }
    p = end;
  }
  return Buffer.concat(parts);
}
let instance, wasi;
try {
  const bytes = capMemory(fs.readFileSync(cfg.module), cfg.maxPages);
  const mod = new WebAssembly.Module(bytes);
  if (WebAssembly.Module.imports(mod).some((i) => i.kind === 'memory')) throw new Refused('imported memories are not supported (the module must define its memory)');
  wasi = new WASI({
    version: 'preview1',
    args: cfg.args,
    env: cfg.env,
    preopens: { '/inputs': cfg.inputs, '/outputs': cfg.outputs },
    returnOnExit: true,
  });
  instance = new WebAssembly.Instance(mod, wasi.getImportObject());
} catch (e) {
  if (e instanceof RangeError) report({ limit: e.message });
  else report({ error: String(e && e.message || e) });
  process.exit(70);
}
try {
  const code = wasi.start(instance);
  report({ exit: code === undefined ? 0 : code });
  process.exitCode = (code === undefined ? 0 : code) & 0xff;
} catch (e) {
  report({ trap: String(e && e.message || e) });
  process.exitCode = 71;
}
`;
