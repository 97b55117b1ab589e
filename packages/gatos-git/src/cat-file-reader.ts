/**
 * One long-lived `git cat-file --batch-command --buffer` child serving pipelined reads.
 *
 * A batch of requests is written in one go followed by `flush`, and responses are parsed in order as they
 * stream back, so N objects cost one round trip instead of N. Bodies are binary and framed by their size.
 * The child is unref'd while idle so it never keeps the process alive, and ref'd while a request is in flight
 * so a pending read is not abandoned by an exiting event loop.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { GatosError, isOid, type Oid, type StoredObject } from '@gatos/core';
import { gitEnvironment, type GitTarget, targetOf } from './run-git.js';

/** What one request asks for: object contents, or only existence. */
export type ReadKind = 'contents' | 'info';

interface Pending {
  kind: ReadKind;
  oids: readonly Oid[];
  results: (StoredObject | null)[];
  next: number;
  resolve: (r: (StoredObject | null)[]) => void;
  reject: (e: unknown) => void;
}

const OBJECT_TYPES = new Set(['blob', 'tree', 'commit', 'tag']);
const EMPTY = Buffer.alloc(0);
const STDERR_KEEP = 4096;

/** Refs or unrefs a child and its pipes (net.Sockets, whose ref() keeps the event loop alive). */
function setRef(c: ChildProcessWithoutNullStreams, on: boolean): void {
  const streams = [c.stdin, c.stdout, c.stderr] as unknown as { ref?: () => void; unref?: () => void }[];
  if (on) {
    c.ref();
    for (const s of streams) s.ref?.();
  } else {
    c.unref();
    for (const s of streams) s.unref?.();
  }
}

/** A pipelined reader over one `git cat-file` child; starts a new child if the last one died. */
export class CatFileReader {
  readonly #target: GitTarget;
  #child: ChildProcessWithoutNullStreams | null = null;
  #queue: Pending[] = [];
  #buf: Buffer = EMPTY;
  #pos = 0;
  /** Set while a body larger than the buffered bytes is being collected. */
  #body: { oid: Oid; type: string; size: number; chunks: Buffer[]; have: number } | null = null;
  #stderr = '';
  #closed = false;

  constructor(target: GitTarget) {
    this.#target = target;
  }

  /** Reads `oids`: one entry per id, null when the object is absent. `info` entries carry an empty body. */
  read(kind: ReadKind, oids: readonly Oid[]): Promise<(StoredObject | null)[]> {
    if (this.#closed) return Promise.reject(new GatosError('GATOS_E_INTERNAL', 'object store is closed'));
    for (const o of oids) {
      // Also what keeps a newline or a `--batch-command` keyword out of the request stream.
      if (!isOid(o))
        return Promise.reject(new GatosError('GATOS_E_INTERNAL', `not an object id: ${String(o)}`));
    }
    if (oids.length === 0) return Promise.resolve([]);
    const child = this.#ensureChild();
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind, oids, results: new Array(oids.length), next: 0, resolve, reject });
      this.#setRef(true);
      let req = '';
      for (const o of oids) req += `${kind} ${o}\n`;
      req += 'flush\n';
      child.stdin.write(req);
    });
  }

  /** Ends the child and waits for it to exit; further reads fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#child;
    if (!c) return;
    const exited = new Promise<void>((r) => c.once('close', () => r()));
    this.#detach(c, new GatosError('GATOS_E_INTERNAL', 'object store closed during a read'));
    // Keep the event loop alive until the child is gone; an unref'd child would let the process exit mid-close.
    setRef(c, true);
    c.stdin.end();
    await exited;
  }

  #ensureChild(): ChildProcessWithoutNullStreams {
    if (this.#child) return this.#child;
    const { cwd, env } = targetOf(this.#target);
    const child = spawn('git', ['cat-file', '--batch-command', '--buffer'], {
      cwd,
      env: gitEnvironment(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#body = null;
    this.#stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      if (this.#child === child) this.#onData(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (this.#stderr.length < STDERR_KEEP) this.#stderr += c.toString('utf8');
    });
    child.stdin.on('error', () => {}); // EPIPE after the child died: reported by 'close' below.
    const fail = (why: string) => {
      if (this.#child !== child) return;
      this.#detach(
        child,
        new GatosError('GATOS_E_GIT', `git cat-file ${why}`, { data: { stderr: this.#stderr.trim() } }),
      );
    };
    child.on('error', (e) => fail(`could not run: ${e.message}`));
    child.on('close', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
    this.#setRef(false);
    return child;
  }

  /** Forgets a child and fails every request still waiting on it. */
  #detach(child: ChildProcessWithoutNullStreams, err: unknown): void {
    if (this.#child !== child) return;
    this.#child = null;
    const q = this.#queue;
    this.#queue = [];
    for (const p of q) p.reject(err);
    setRef(child, false);
  }

  #setRef(on: boolean): void {
    if (this.#child) setRef(this.#child, on);
  }

  #onData(chunk: Buffer): void {
    const body = this.#body;
    if (body) {
      body.chunks.push(chunk);
      body.have += chunk.length;
      if (body.have < body.size + 1) return;
      this.#buf = Buffer.concat(body.chunks, body.have);
      this.#pos = 0;
      this.#body = null;
      if (this.#buf[body.size] !== 10) {
        this.#protocolError(`object ${body.oid} is not followed by a newline`);
        return;
      }
      this.#deliver(body.oid, body.type, this.#buf.subarray(0, body.size));
      this.#pos = body.size + 1;
    } else if (this.#pos < this.#buf.length) {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
      this.#pos = 0;
    } else {
      this.#buf = chunk;
      this.#pos = 0;
    }
    this.#parse();
  }

  #parse(): void {
    const buf = this.#buf;
    let pos = this.#pos;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      const line = buf.toString('latin1', pos, nl);
      const p = this.#queue[0];
      if (!p) {
        this.#protocolError(`unexpected output: ${line}`);
        return;
      }
      const expected = p.oids[p.next]!;
      if (line === `${expected} missing`) {
        pos = nl + 1;
        this.#record(p, null);
        continue;
      }
      const m = /^([0-9a-f]{40}) ([a-z]+) (\d+)$/.exec(line);
      if (!m || m[1] !== expected || !OBJECT_TYPES.has(m[2]!)) {
        this.#protocolError(`unexpected response for ${expected}: ${line}`);
        return;
      }
      const type = m[2]!;
      const size = Number(m[3]);
      if (p.kind === 'info') {
        pos = nl + 1;
        this.#record(p, { oid: expected, type: type as StoredObject['type'], body: EMPTY });
        continue;
      }
      const start = nl + 1;
      if (buf.length - start >= size + 1) {
        if (buf[start + size] !== 10) {
          this.#protocolError(`object ${expected} is not followed by a newline`);
          return;
        }
        pos = start + size + 1;
        this.#deliver(expected, type, buf.subarray(start, start + size));
        continue;
      }
      // The body straddles chunks: collect them and concatenate once, not once per chunk.
      const rest = buf.subarray(start);
      this.#body = { oid: expected, type, size, chunks: [rest], have: rest.length };
      this.#buf = EMPTY;
      this.#pos = 0;
      return;
    }
    this.#pos = pos;
  }

  #deliver(oid: Oid, type: string, body: Buffer): void {
    const p = this.#queue[0]!;
    // Copy, so one small object kept by a caller does not pin a whole 64 KiB read chunk.
    this.#record(p, { oid, type: type as StoredObject['type'], body: new Uint8Array(body) });
  }

  #record(p: Pending, r: StoredObject | null): void {
    p.results[p.next++] = r;
    if (p.next === p.oids.length) {
      this.#queue.shift();
      if (this.#queue.length === 0) this.#setRef(false);
      p.resolve(p.results);
    }
  }

  #protocolError(msg: string): void {
    const c = this.#child;
    if (!c) return;
    this.#detach(
      c,
      new GatosError('GATOS_E_GIT', `git cat-file: ${msg}`, { data: { stderr: this.#stderr } }),
    );
    c.kill();
  }
}
