/**
 * The pre-receive hook (`spec/push-gate.md`): reads `<old> <new> <ref>` lines, decides the push with
 * {@link decidePush}, and for a refused push appends a DENY record OUTSIDE the quarantine (git discards the
 * quarantine's objects when the push is refused, and forbids ref updates inside it), then tells the pusher why.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  appendDenyRecord,
  createUlidFactory,
  type Oid,
  sha256Digest,
  type StoredDenyRecord,
  type TrustedKey,
} from '@gatos/core';
import { createObjectStore, createRefStore, type GitEnv, isAncestor, openRepository } from '@gatos/git';
import { type GateSettings, readGateSettings } from './gate-settings.js';
import { type GateDecision, parsePushLines, type PushUpdate } from './gate-types.js';
import { decidePush, type TrustCache } from './push-gate.js';

/** The variables git sets for a pre-receive quarantine; unset them to write to the real repository. */
export const QUARANTINE_ENV: GitEnv = {
  GIT_QUARANTINE_PATH: undefined,
  GIT_OBJECT_DIRECTORY: undefined,
  GIT_ALTERNATE_OBJECT_DIRECTORIES: undefined,
};

/** The outside world of one hook run. */
export interface PreReceiveIo {
  /** The repository directory (git runs hooks there). */
  cwd: string;
  stdin: Buffer;
  stderr: (s: string) => void;
  now?: () => Date;
  randomBytes?: (n: number) => Uint8Array;
  /** Decides the push; default: in this thread (`decideInProcess`). The hook's entry decides on a bounded thread. */
  decide?: (updates: PushUpdate[]) => Promise<GateDecision>;
}

/** What one hook run decided and wrote. */
export interface PreReceiveResult {
  exitCode: number;
  decision: GateDecision;
  record: StoredDenyRecord | null;
}

/** Decides a push in this thread, reading the pushed objects (the hook inherits the quarantine environment). */
export async function decideInProcess(
  cwd: string,
  updates: readonly PushUpdate[],
  settings: GateSettings = readGateSettings(cwd),
): Promise<GateDecision> {
  const repo = await openRepository({ cwd });
  const objects = createObjectStore(repo);
  const trustCache = await openTrustCache(repo.commonDir);
  try {
    return await decidePush({
      trustCache,
      objects,
      refs: createRefStore(repo),
      isAncestor: (a: Oid, d: Oid) => isAncestor(repo, a, d),
      updates,
      ...(settings.maxFutureMs === undefined ? {} : { maxFutureMs: settings.maxFutureMs }),
    });
  } finally {
    await objects.close();
    await trustCache.flush();
  }
}

/** The server-side record of what this gate proved about trust registries: `<git-dir>/gatos/trust-proven`. */
export function provenKeysPath(gitDir: string): string {
  return join(gitDir, 'gatos', 'trust-proven');
}

/** The last registry this gate read in full: `<git-dir>/gatos/trust-snapshot.json` (`{head, keys}`). */
export function trustSnapshotPath(gitDir: string): string {
  return join(gitDir, 'gatos', 'trust-snapshot.json');
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Opens the gate's trust cache: proven entries (one blob id a line) and the last registry read in full. Both are
 * server-side files only the gate writes; `flush` appends what this push proved and replaces the snapshot.
 */
async function openTrustCache(gitDir: string): Promise<TrustCache & { flush(): Promise<void> }> {
  const known = new Set<string>();
  for (const line of ((await readOptional(provenKeysPath(gitDir))) ?? '').split('\n')) {
    if (/^[0-9a-f]{40}$/.test(line)) known.add(line);
  }
  let snapshot: { head: string; keys: TrustedKey[] } | null = null;
  try {
    snapshot = JSON.parse((await readOptional(trustSnapshotPath(gitDir))) ?? 'null');
  } catch {
    snapshot = null; // A torn or damaged snapshot is only a cache miss.
  }
  const added: string[] = [];
  let fresh: { head: string; keys: readonly TrustedKey[] } | null = null;
  return {
    has: (blob) => known.has(blob),
    add: (blobs) => {
      for (const b of blobs) {
        if (known.has(b)) continue;
        known.add(b);
        added.push(b);
      }
    },
    get: (head) => (snapshot?.head === head ? snapshot.keys : undefined),
    put: (head, keys) => {
      fresh = { head, keys };
    },
    flush: async () => {
      if (!added.length && !fresh) return;
      await mkdir(join(gitDir, 'gatos'), { recursive: true });
      if (added.length) await appendFile(provenKeysPath(gitDir), `${added.join('\n')}\n`);
      if (fresh) {
        // Whole or not at all: written aside, then renamed into place.
        const tmp = `${trustSnapshotPath(gitDir)}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(fresh));
        await rename(tmp, trustSnapshotPath(gitDir));
      }
    },
  };
}

/** Runs the gate for one push; resolves to the exit status the hook must exit with (0 accepts). */
export async function runPreReceive(io: PreReceiveIo): Promise<PreReceiveResult> {
  const updates = parsePushLines(io.stdin.toString('utf8'));
  const decision = await (io.decide ?? ((u) => decideInProcess(io.cwd, u)))(updates);
  if (decision.allowed) return { exitCode: 0, decision, record: null };
  return recordRefusal(io, updates, decision);
}

/**
 * Records a refused push: appends its DENY record OUTSIDE the quarantine (or, when that fails, a gate-log line),
 * then tells the pusher why. Resolves to the hook's exit status (1) with what was written.
 */
export async function recordRefusal(
  io: PreReceiveIo,
  updates: readonly PushUpdate[],
  decision: GateDecision,
): Promise<PreReceiveResult> {
  const now = io.now ?? (() => new Date());
  const rand = io.randomBytes ?? ((n: number) => randomBytes(n));
  // Outside the quarantine: git discards its objects when the push is refused.
  const real = await openRepository({ cwd: io.cwd, env: QUARANTINE_ENV });
  const date = now();
  const id = createUlidFactory(() => date.getTime(), rand)();
  let record: StoredDenyRecord | null = null;
  try {
    const wObjects = createObjectStore(real);
    try {
      record = await appendDenyRecord(wObjects, createRefStore(real), {
        id,
        ts: date.toISOString(),
        push_digest: sha256Digest(io.stdin),
        updates: updates.map((u) => ({ ref: u.ref, old: u.old, new: u.new })),
        denials: decision.denials,
      });
    } finally {
      await wObjects.close();
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(
      `GATOS DENY ${id}: could not write the DENY audit record (${msg}); the push is refused anyway\n`,
    );
    // The refusal is still recorded where the admin looks: the server-side gate log.
    await appendGateLog(real.commonDir, {
      ts: date.toISOString(),
      id,
      event: 'deny-record-failed',
      error: msg,
      push_digest: sha256Digest(io.stdin),
      denials: decision.denials,
    }).catch((le: unknown) =>
      io.stderr(`GATOS DENY ${id}: the gate log could not be written either (${String(le)})\n`),
    );
  }
  for (const d of decision.denials) {
    io.stderr(`GATOS DENY ${id}: ${d.ref} rule ${d.rule}: ${d.reason}\n`);
  }
  io.stderr(
    `GATOS DENY ${id}: push refused (${decision.denials.length} of ${updates.length} ref update(s) broke a rule; ` +
      `nothing was applied). Details: git gatos audit show ${id}\n`,
  );
  return { exitCode: 1, decision, record };
}

/** The server-side gate log: one JSON line per entry, in `<git-dir>/gatos/gate.log` (never in a ref). */
export function gateLogPath(gitDir: string): string {
  return join(gitDir, 'gatos', 'gate.log');
}

/** Appends one entry to the gate log (creating its directory). */
async function appendGateLog(gitDir: string, entry: Record<string, unknown>): Promise<void> {
  const path = gateLogPath(gitDir);
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, `${JSON.stringify(entry)}\n`);
}
