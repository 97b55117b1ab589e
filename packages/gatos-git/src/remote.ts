/**
 * The git transport of a worker that keeps its own clone of a shared repository: fetching the job plane's
 * refs, and publishing ref updates as ONE atomic push whose every ref carries a lease (a remote
 * compare-and-swap). A lost race is an answer (`{ ok: false }`); anything else is `GATOS_E_REMOTE`.
 */
import { spawn } from 'node:child_process';
import { GatosError, isOid, JOB_FETCH_REFSPECS, type Oid } from '@gatos/core';
import { checkRefName } from './ref-name.js';
import type { Repository } from './repository.js';

/** One leased update: move `ref` to `next` only if the remote still has `expect` (null: only if absent). */
export interface LeaseUpdate {
  readonly ref: string;
  readonly expect: Oid | null;
  readonly next: Oid;
}

/** A ref the remote did not update, with git's reason (`stale info`, `atomic push failed`, …). */
export interface LeaseRejection {
  readonly ref: string;
  readonly reason: string;
}

/** The answer of {@link pushWithLease}: all refs updated, or none (atomic) because a race was lost. */
export type LeasePushResult = { ok: true; upToDate?: string[] } | { ok: false; rejected: LeaseRejection[] };

interface GitRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs git in the repository, keeping stdout AND stderr whatever the exit (push reports on stdout). */
function git(repo: Repository, args: readonly string[]): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(repo.env)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    // We parse git's messages; and a background worker must fail rather than wait for a password or a host key.
    env.LC_ALL = 'C';
    env.GIT_TERMINAL_PROMPT = '0';
    env.GIT_SSH_COMMAND ??= 'ssh -o BatchMode=yes';
    const child = spawn('git', args, { cwd: repo.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (cause) =>
      reject(
        new GatosError('GATOS_E_REMOTE', `could not run git ${args[0]}: ${cause.message}`, {
          cause,
          hint: 'Is git installed and on PATH?',
        }),
      ),
    );
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8').slice(0, 8192).trim(),
      }),
    );
  });
}

function remoteError(
  what: string,
  remote: string,
  r: GitRun,
  extra: Record<string, unknown> = {},
): GatosError {
  const first = r.stderr.split('\n').find((l) => /fatal|error/.test(l)) ?? r.stderr.split('\n')[0] ?? '';
  return new GatosError('GATOS_E_REMOTE', `${what} ${remote} failed: ${first}`, {
    data: { remote, exitCode: r.code, stderr: r.stderr, stdout: r.stdout, ...extra },
    hint: 'Check that the shared repository is reachable and that this worker may read and push to it.',
  });
}

/**
 * Mirrors the job plane from `remote` (a remote name, path or URL) into the same ref names locally: jobs,
 * job audit chains, bus topic `jobs` and its summary, and the trust registry. Forced (the remote is the
 * authority) and pruned (refs deleted there disappear here), in one atomic local ref transaction.
 */
export async function fetchJobs(repo: Repository, remote: string): Promise<void> {
  const r = await git(repo, [
    'fetch',
    '--atomic',
    '--prune',
    '--no-tags',
    '--no-write-fetch-head',
    '--quiet',
    remote,
    ...JOB_FETCH_REFSPECS,
  ]);
  if (r.code !== 0) throw remoteError('fetch from', remote, r);
}

/** `[remote rejected]` reasons that mean someone else's update landed first (checked again by receive-pack). */
const RACE_REMOTE_REASONS =
  /cannot lock ref|failed to lock|failed to update ref|incorrect old value|is at [0-9a-f]+ but expected|reference already exists|atomic transaction failed|atomic push failed/;

/** `[rejected]` reasons of the client-side lease check and of the atomic all-or-nothing. */
const RACE_LOCAL_REASONS = /^(stale info|atomic push failed|fetch first|non-fast-forward|already exists)$/;

/**
 * Pushes `updates` to `remote` in ONE `git push --atomic`, each ref leased (`--force-with-lease=<ref>:<expect>`):
 * either every ref moves or none does. The objects must already be in the local repository (written with the
 * object store; no local ref needs to name them). Resolves `{ ok: false }` when a lease was stale (a lost race);
 * throws `GATOS_E_REMOTE` when the push could not be made or was refused for another reason (e.g. a hook).
 */
export async function pushWithLease(
  repo: Repository,
  remote: string,
  updates: readonly LeaseUpdate[],
): Promise<LeasePushResult> {
  if (updates.length === 0) return { ok: true };
  const seen = new Set<string>();
  for (const u of updates) {
    checkRefName(u.ref);
    if (!isOid(u.next) || (u.expect !== null && !isOid(u.expect))) {
      throw new GatosError('GATOS_E_INTERNAL', `lease update of ${u.ref}: expect/next must be object ids`, {
        data: { ...u },
      });
    }
    if (seen.has(u.ref)) throw new GatosError('GATOS_E_INTERNAL', `ref ${u.ref} appears twice in one push`);
    seen.add(u.ref);
  }
  const args = ['push', '--atomic', '--porcelain', remote];
  for (const u of updates) args.push(`--force-with-lease=${u.ref}:${u.expect ?? ''}`);
  // `<oid>:<full ref>` pushes an object that no local ref names.
  for (const u of updates) args.push(`${u.next}:${u.ref}`);
  const r = await git(repo, args);
  const status = new Map<string, { flag: string; summary: string }>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([ +\-*=!])\t[^:\t]*:([^\t]+)\t(.*)$/.exec(line);
    if (m) status.set(m[2] as string, { flag: m[1] as string, summary: m[3] as string });
  }
  const rejected: LeaseRejection[] = [];
  let foreign = false;
  for (const u of updates) {
    const s = status.get(u.ref);
    if (!s) continue;
    if (s.flag !== '!') continue;
    const m = /^\[(rejected|remote rejected|remote failure)\] \((.*)\)$/.exec(s.summary);
    const kind = m?.[1];
    const reason = m?.[2] ?? s.summary;
    rejected.push({ ref: u.ref, reason: kind === 'rejected' ? reason : `${kind}: ${reason}` });
    const race =
      (kind === 'rejected' && RACE_LOCAL_REASONS.test(reason)) ||
      (kind === 'remote rejected' && RACE_REMOTE_REASONS.test(reason));
    if (!race) foreign = true;
  }
  const missing = updates.filter((u) => !status.has(u.ref)).map((u) => u.ref);
  if (r.code === 0 && rejected.length === 0 && missing.length === 0) {
    // git skips the lease of a ref that already names the pushed value ("up to date"): callers that need a
    // strict compare-and-swap must know which refs those were.
    const upToDate = updates.filter((u) => status.get(u.ref)?.flag === '=').map((u) => u.ref);
    return upToDate.length ? { ok: true, upToDate } : { ok: true };
  }
  if (rejected.length > 0 && !foreign) return { ok: false, rejected };
  throw remoteError('push to', remote, r, { rejected, missing });
}
