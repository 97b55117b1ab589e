/**
 * Shared pieces of the `git gatos job …` commands: opening the job stores (this repository, or a shared one
 * reached by leased pushes), the acting worker's claim signer, the clock, and parsing/printing durations and
 * sizes.
 */
import { createHash } from 'node:crypto';
import {
  type ClaimSigner,
  type EventSigner,
  GatosError,
  type JobStores,
  type ObjectStore,
  type RefStore,
  type TrustSet,
  ulidFrom,
} from '@gatos/core';
import { resolveIdentity } from '@gatos/gatosd/identity';
import { createRemoteRefStore, fetchJobs } from '@gatos/git';
import type { CliIo } from '../../command.js';
import { type GatosContext, withContext } from '../../context.js';
import { busNow } from '../bus/common.js';

/** The option every job command that writes or reads shared state accepts. */
export const REMOTE_OPTION = {
  type: 'string',
  describe:
    'Shared repository (remote name, path or URL): fetch its jobs first, then write there by leased push ' +
    '(a lost race is reported, never overwritten)',
} as const;

/** The stores a job command works on, and where they lead. */
export interface JobContext {
  ctx: GatosContext;
  stores: JobStores;
  /** The shared repository written to, or null for this repository. */
  remote: string | null;
}

/**
 * Runs `fn` on this repository's stores, or — with `remote` — on a ref store whose compare-and-swap is a leased
 * push to the shared repository, after mirroring its job plane (jobs, audit chains, bus topic `jobs`, trust).
 */
export async function withJobStores<T>(
  io: CliIo,
  remote: string | undefined,
  fn: (j: JobContext) => Promise<T>,
): Promise<T> {
  return withContext(io, async (ctx) => {
    if (remote === undefined || remote === '') {
      return fn({ ctx, stores: { objects: ctx.objects, refs: ctx.refs }, remote: null });
    }
    await fetchJobs(ctx.repo, remote);
    const refs = createRemoteRefStore({ repo: ctx.repo, local: ctx.refs, remote });
    return fn({ ctx, stores: { objects: ctx.objects, refs }, remote });
  });
}

/** The acting identity with both of its signers: events (bus messages) and claims/proofs (raw Ed25519). */
export interface JobActor {
  actor: string;
  keyId: string;
  trust: TrustSet;
  events: EventSigner;
  claims: ClaimSigner;
}

/**
 * Resolves the actor as every command does (`--actor`, `$GATOS_ACTOR`, the only local key registered here) and
 * builds its signers from the local key registered in the trust registry (`GATOS_E_KEY_NOT_FOUND` otherwise).
 */
export async function jobActor(
  io: CliIo,
  objects: ObjectStore,
  refs: RefStore,
  explicit: string | undefined,
): Promise<JobActor> {
  const id = await resolveIdentity({ objects, refs, env: io.env, actor: explicit });
  return { actor: id.actor, keyId: id.keyId, trust: id.trust, events: id.events, claims: id.dsse };
}

/** The job commands' clock in ms: `$GATOS_NOW` when set (tests of lease expiry), else the wall clock. */
export function jobNowMs(io: CliIo): number {
  return busNow(io).getTime();
}

/**
 * The idempotency key (a ULID) of a job's announcement on bus topic `jobs`: all 128 bits from
 * sha256(`gatos/job-announce/v1\0` ‖ job id), so every submitter of the same job announces with the same key
 * and the bus stores it once while the message is live.
 */
export function announceUlid(jobId: string): string {
  const h = createHash('sha256').update('gatos/job-announce/v1\0').update(jobId).digest();
  return ulidFrom(h.readUIntBE(0, 6), h.subarray(6, 16));
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `30s`, `5m`, `2h` (a bare number is seconds) into milliseconds; `GATOS_E_USAGE` otherwise. */
export function parseDuration(value: string | number, option: string): number {
  const s = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  const ms = m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new GatosError('GATOS_E_USAGE', `--${option}: not a duration: ${JSON.stringify(s)}`, {
      data: { option, value: s },
      hint: 'Write a positive number with a unit: 500ms, 30s, 5m or 2h (a bare number means seconds).',
    });
  }
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses `65536`, `64KiB`, `64MiB`, `1GiB` (also kB/MB/GB, decimal) into bytes; `GATOS_E_USAGE` otherwise. */
export function parseSize(value: string | number, option: string): number {
  const s = String(value).trim();
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(s);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new GatosError('GATOS_E_USAGE', `--${option}: not a size: ${JSON.stringify(s)}`, {
      data: { option, value: s },
      hint: 'Write bytes, or a number with a unit: 64KiB, 64MiB, 1GiB (kB, MB, GB are powers of 1000).',
    });
  }
  return n;
}

/** A duration for people: `950ms`, `42s`, `3m20s`, `1h05m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A byte count for people: `812 B`, `4.0 KiB`, `64.0 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** An instant in ms as ISO 8601 (UTC). */
export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** Lays out rows as aligned columns (first row: headers). */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}
