/**
 * Deciding a push on a thread of its own, so the hook's time is bounded (`spec/push-gate.md` § 7): the thread is
 * terminated when the server's time budget runs out or when the pusher goes away (git's receive-pack, the hook's
 * parent, exits), even in the middle of a re-fold. Either way the push is refused (`gate-error`), and the refusal is
 * recorded like any other.
 */
import { Worker } from 'node:worker_threads';
import { refKind } from '@gatos/core/ref-layout';
import type { GateSettings } from './gate-settings.js';
import type { GateDecision, PushUpdate } from './gate-types.js';

/** The refusal of every update when the gate could not decide (`gate-error`, with `reason`). */
export function undecided(updates: readonly PushUpdate[], reason: string): GateDecision {
  return {
    allowed: false,
    checked: updates.map((u) => ({ ref: u.ref, kind: refKind(u.ref) })),
    denials: updates.map((u) => ({ ref: u.ref, old: u.old, new: u.new, rule: 'gate-error', reason })),
  };
}

/** The refusal of every update when the gate itself failed: it fails closed, and the refusal is recorded. */
export function gateFailed(updates: readonly PushUpdate[], why: string): GateDecision {
  return undecided(updates, `the push-gate failed (${why}); push refused`);
}

/** Options of {@link decideOnThread}. */
export interface DecideOnThreadOptions {
  timeoutMs: number;
  /** The server's settings, handed to the thread (read once, by the hook's entry). */
  settings: GateSettings;
  /** How often to look whether the pusher is still there (ms). */
  watchMs?: number;
  /**
   * Told every `progressMs` while the decision runs (the hook prints it to the pusher). Besides informing the
   * pusher, writing is how a gone pusher is noticed: git's receive-pack only learns that its client is gone when it
   * forwards hook output, and then exits, which the parent watch sees.
   */
  progress?: (elapsedMs: number) => void;
  progressMs?: number;
}

/** Decides `updates` on a worker thread, within `timeoutMs` and only while the hook's parent lives. */
export function decideOnThread(
  cwd: string,
  updates: readonly PushUpdate[],
  opts: DecideOnThreadOptions,
): Promise<GateDecision> {
  const parent = process.ppid;
  const worker = new Worker(new URL('./decide-thread.js', import.meta.url), {
    workerData: { cwd, updates, settings: opts.settings },
  });
  return new Promise<GateDecision>((resolve) => {
    let settled = false;
    // The first answer wins; the thread is then terminated (its exit after that is not an answer).
    const settle = (d: GateDecision) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(watch);
      resolve(d);
      void worker.terminate();
    };
    const failed = (why: string) => settle(gateFailed(updates, why));
    const deadline = setTimeout(
      () =>
        settle(
          undecided(
            updates,
            `the gate did not decide within ${opts.timeoutMs / 1000} s (gatos.gate.timeoutSeconds); push refused`,
          ),
        ),
      opts.timeoutMs,
    );
    const started = Date.now();
    let lastProgress = started;
    const watch = setInterval(() => {
      if (process.ppid !== parent)
        return settle(undecided(updates, 'the pusher went away before the gate decided'));
      if (opts.progress && Date.now() - lastProgress >= (opts.progressMs ?? 2000)) {
        lastProgress = Date.now();
        opts.progress(lastProgress - started);
      }
    }, opts.watchMs ?? 200);
    worker.once('message', (m: { decision?: GateDecision; error?: { code: string; message: string } }) =>
      m.decision ? settle(m.decision) : failed(m.error?.message ?? 'no decision'),
    );
    worker.once('error', (e) => failed(e.message));
    worker.once('exit', (code) => failed(`its thread exited with ${code} before deciding`));
  });
}
