/**
 * The main thread's side of the daemon's writer thread (`writer-thread.ts`): bus group commits, object writes,
 * ref compare-and-swaps, listings and reads are one message each way; object reads (`get`, `has`, `chain`) stay
 * on this thread's own `git cat-file`. Durability is unchanged: a call resolves only after the writer thread's
 * fsyncs and compare-and-swap.
 */
import { Worker } from 'node:worker_threads';
import {
  type ErrorCode,
  type EventEnvelope,
  GatosError,
  type GitObject,
  type ObjectStore,
  type PublishResult,
  type RefEntry,
  type RefStore,
  type RefUpdate,
} from '@gatos/core';

/** What the writer thread is started with. */
export interface WriterInit {
  repo: string;
  packThreshold: number;
  consolidateAfter: number;
  /** The daemon's actor: the writer thread signs as it, with the same local key as the main thread found. */
  actor: string;
  maxEnvelopeBytes: number;
}

/** One request to the writer thread. */
export type WriterCall = { id: number } & (
  | { op: 'publish'; topic: string; envelopes: EventEnvelope[]; now: number }
  | { op: 'put'; objects: readonly GitObject[] }
  | { op: 'cas'; update: RefUpdate }
  | { op: 'list'; prefix: string }
  | { op: 'read'; ref: string }
  | { op: 'close' }
);

/** Its answer: the value, or the error (a {@link GatosError}'s fields survive the thread boundary). */
export type WriterReply =
  | { id: number; ok: true; value: unknown }
  | {
      id: number;
      ok: false;
      error:
        | {
            gatos: true;
            code: ErrorCode;
            message: string;
            data: Record<string, unknown>;
            hint?: string;
          }
        | { gatos: false; message: string; stack: string | undefined };
    };

type WriterRequest = WriterCall extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/** A running writer thread. */
export interface Writer {
  /** Stores whose writes (and ref reads) go through the writer thread. */
  objects: ObjectStore;
  refs: RefStore;
  /** One group commit: core `publish` of `envelopes` to `topic` on the writer thread. */
  publish(topic: string, envelopes: EventEnvelope[], now: Date): Promise<PublishResult>;
  /** Waits for the writer's pending work, stops it, and closes the reader. */
  close(): Promise<void>;
}

/** Options of {@link startWriter}. */
export interface WriterOptions extends WriterInit {
  /** Serves object reads on this thread (its `put` is never called); closed by {@link Writer.close}. */
  reader: ObjectStore;
  /** The writer thread's environment (where it finds the daemon's key). */
  env: NodeJS.ProcessEnv;
}

function revive(error: Extract<WriterReply, { ok: false }>['error']): Error {
  if (error.gatos) {
    const { code, message, data, hint } = error;
    return new GatosError(code, message, { data, ...(hint === undefined ? {} : { hint }) });
  }
  const e = new Error(error.message);
  if (error.stack) e.stack = error.stack;
  return e;
}

/** Starts the writer thread; resolves once it has opened the repository and its signer. */
export async function startWriter(opts: WriterOptions): Promise<Writer> {
  const { reader, env, ...init } = opts;
  const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: init, env });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  let ready!: () => void;
  let failed!: (e: unknown) => void;
  const started = new Promise<void>((res, rej) => {
    ready = res;
    failed = rej;
  });
  const die = (e: Error) => {
    dead ??= e;
    failed(dead);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  worker.on('message', (r: WriterReply) => {
    if (r.id === 0) return r.ok ? ready() : failed(revive(r.error));
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(revive(r.error));
  });
  worker.on('error', (e) => die(internal(e.message)));
  worker.on('exit', (code) => die(internal(`exit ${code}`)));
  await started;

  const call = <T>(req: WriterRequest): Promise<T> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id });
    });
  };
  let closing: Promise<void> | null = null;
  return {
    objects: {
      put: (objects) => call<void>({ op: 'put', objects }),
      get: (oids) => reader.get(oids),
      has: (oids) => reader.has(oids),
      chain: (head, stop) => reader.chain(head, stop),
      close: () => reader.close(),
    },
    refs: {
      cas: (update) => call<boolean>({ op: 'cas', update }),
      list: (prefix) => call<RefEntry[]>({ op: 'list', prefix }),
      read: (ref) => call<string | null>({ op: 'read', ref }),
    },
    publish: (topic, envelopes, now) =>
      call<PublishResult>({ op: 'publish', topic, envelopes, now: now.getTime() }),
    close() {
      closing ??= (async () => {
        if (!dead) {
          await call<void>({ op: 'close' }).catch(() => {});
          await worker.terminate();
        }
        await reader.close();
      })();
      return closing;
    },
  };
}

function internal(why: string): GatosError {
  return new GatosError('GATOS_E_INTERNAL', `the daemon's writer thread stopped: ${why}`);
}
