/**
 * Notices bus messages written by anyone else (a `git push` into this repository, a `git fetch`, the CLI): polls
 * the segment heads under `refs/gatos/mbus/` (one cheap ref listing) and reports topics whose heads changed.
 */
import { MBUS_PREFIX, parseSegmentRef, type RefStore } from '@gatos/core';

/** A running watcher. */
export interface RefsWatcher {
  stop(): void;
}

/**
 * Polls every `intervalMs`; calls `onChange` with the topics whose segment refs changed since the last poll.
 * A change that `known(ref, oid)` already accounts for (this daemon's own append) is not reported.
 */
export function startRefsWatcher(
  refs: RefStore,
  intervalMs: number,
  onChange: (topics: Set<string>) => void,
  onError: (e: unknown) => void = () => {},
  known: (ref: string, oid: string) => boolean = () => false,
): RefsWatcher {
  let last: Map<string, string> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const poll = async () => {
    try {
      const now = new Map((await refs.list(MBUS_PREFIX)).map((e) => [e.ref, e.oid]));
      if (last) {
        const changed = new Set<string>();
        for (const [ref, oid] of now) {
          if (last.get(ref) !== oid && !known(ref, oid)) {
            const p = parseSegmentRef(ref);
            if (p) changed.add(p.topic);
          }
        }
        if (changed.size) onChange(changed);
      }
      last = now;
    } catch (e) {
      onError(e);
    }
    if (!stopped) timer = setTimeout(poll, intervalMs);
  };
  void poll();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
