/**
 * The one compare-and-swap retry loop of GATOS. Every chain ref (journals, bus segments and positions, governance
 * chains, the trust registry, audit chains, job claims and caches, fold checkpoints) moves through
 * {@link casRetry}: read, plan, write objects, swap; on a lost race wait a growing, jittered delay and plan again.
 *
 * The delay is the only thing here that depends on timing, and it never reaches a hashed or signed byte. By
 * default it really waits (a timer, not a clock reading) and its jitter is derived from the commit the writer
 * proposed, which differs between racing writers, so the core needs no randomness of its own; callers may inject
 * `sleep` and `random` (tests pass a no-op sleep).
 */
import { GatosError } from '../errors.js';
import type { GitObject, Oid } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import type { RefStore, RefUpdate } from '../store/ref-store.js';

/** Retry policy of a compare-and-swap loop; every field has a default (64 attempts, 2 ms doubling to 250 ms). */
export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter; default: derived from the proposed commit id. */
  random?: () => number;
}

/** The default retry policy (what a caller that passes nothing gets: real, jittered waits). */
export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  attempts: 64,
  baseDelayMs: 2,
  maxDelayMs: 250,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
});

/** Resolved retry settings: `r` over {@link DEFAULT_RETRY}. */
function retryOptions(r?: Partial<RetryOptions>): RetryOptions {
  return { ...DEFAULT_RETRY, ...r };
}

/** A [0, 1) number from an object id: racing writers propose different commits, so they wait different times. */
function jitterOf(oid: Oid | null, attempt: number): number {
  const hex = oid ?? '0';
  const start = (attempt * 8) % Math.max(1, hex.length - 8);
  return Number.parseInt(hex.slice(start, start + 8).padEnd(8, '0'), 16) / 2 ** 32;
}

/** The delay after the `attempt`-th lost race (0-based): exponential, capped, jittered into [cap/2, cap). */
function backoffDelay(retry: RetryOptions, attempt: number, proposed: Oid | null = null): number {
  const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(attempt, 16));
  const r = retry.random ? retry.random() : jitterOf(proposed, attempt);
  return cap * (0.5 + r / 2);
}

/** One attempt's plan: nothing to write (return `value`), or objects to store and the ref update to swap. */
export type CasPlan<T> =
  | { kind: 'done'; value: T }
  | { kind: 'write'; objects: readonly GitObject[]; update: RefUpdate; value: T };

/** A plan that writes nothing and returns `value` (the ref already says what the caller wants). */
export function casDone<T>(value: T): CasPlan<T> {
  return { kind: 'done', value };
}

/** A plan that stores `objects`, then swaps `update`, returning `value` on success. */
export function casWrite<T>(objects: readonly GitObject[], update: RefUpdate, value: T): CasPlan<T> {
  return { kind: 'write', objects, update, value };
}

/** Where a {@link casRetry} loop writes, and how it gives up. */
export interface CasRetryInit {
  objects: ObjectStore;
  refs: RefStore;
  /** The ref being moved, for the error when every attempt lost. */
  ref: string;
  retry?: Partial<RetryOptions>;
  /** The message of the `GATOS_E_REF_CONFLICT` error (default: `gave up updating <ref> after <n> lost races`). */
  message?: string;
  hint?: string;
}

/**
 * Runs `plan` until its swap wins: each attempt re-reads what it needs, so a lost race re-plans on the new head.
 * Objects are stored before the swap (a ref never names a missing object). Throws `GATOS_E_REF_CONFLICT` after
 * `attempts` lost races.
 */
export async function casRetry<T>(
  init: CasRetryInit,
  plan: (attempt: number) => Promise<CasPlan<T>>,
): Promise<T> {
  const retry = retryOptions(init.retry);
  for (let attempt = 0; attempt < retry.attempts; attempt++) {
    const p = await plan(attempt);
    if (p.kind === 'done') return p.value;
    if (p.objects.length) await init.objects.put(p.objects);
    if (await init.refs.cas(p.update)) return p.value;
    await retry.sleep(backoffDelay(retry, attempt, p.update.next));
  }
  throw new GatosError(
    'GATOS_E_REF_CONFLICT',
    init.message ?? `gave up updating ${init.ref} after ${retry.attempts} lost races`,
    {
      data: { ref: init.ref, attempts: retry.attempts },
      hint: init.hint ?? 'Other writers are moving the same ref very fast; retry.',
    },
  );
}
