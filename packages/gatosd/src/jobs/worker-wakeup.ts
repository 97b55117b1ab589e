/**
 * How an idle worker waits: a nap of `pollMs` that a bus announcement (a live subscription to topic `jobs`) or an
 * abort cuts short. An announcement that arrives while the worker is busy makes the next nap return at once.
 */

/** A worker's waiting: `nap` until woken, `wake` from anywhere, `stop` ends the subscription. */
export interface Wakeup {
  nap(ms: number): Promise<void>;
  wake(): void;
  stop(): Promise<void>;
}

/** Starts waiting support; `subscribe` (optional) runs until `stop` or `signal`, calling back per announcement. */
export function createWakeup(init: {
  signal?: AbortSignal | undefined;
  subscribe?: ((onMessage: () => void, signal: AbortSignal) => Promise<void>) | undefined;
  onAnnouncement: () => void;
  onError: (e: unknown) => void;
}): Wakeup {
  let wakeNap: (() => void) | null = null;
  /** Set by an announcement that arrived while the loop was busy, so the next nap is skipped. */
  let woken = false;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        return resolve();
      }
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wakeNap = null;
        woken = false;
        resolve();
      }
      wakeNap = done;
      init.signal?.addEventListener('abort', done, { once: true });
    });
  const subscription = new AbortController();
  const onOuterAbort = () => subscription.abort();
  init.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const following = init.subscribe
    ? init
        .subscribe(() => {
          init.onAnnouncement();
          woken = true;
          wakeNap?.();
        }, subscription.signal)
        .catch(init.onError)
    : Promise.resolve();
  return {
    nap,
    wake: () => wakeNap?.(),
    stop: async () => {
      subscription.abort();
      init.signal?.removeEventListener('abort', onOuterAbort);
      await following;
    },
  };
}
