/**
 * Completion notices on bus topic `jobs`, queued and published together by one flusher: a job's slot is not held
 * while its notice is written, and concurrent completions share one compare-and-swap. Notices are a courtesy to
 * subscribers (the results are already durable), so a failed publish is reported, never thrown.
 */
import {
  busEnvelope,
  type EventEnvelope,
  type EventSigner,
  JOBS_TOPIC,
  type JobStores,
  type Oid,
  publish,
} from '@gatos/core';

/** The notice queue of one worker. */
export interface CompletionNotices {
  /** Queues the notice that `jobId` completed with `status` (its result commit `result`). */
  notify(jobId: string, status: string, result: Oid): void;
  /** Publishes everything queued, including what is queued meanwhile. */
  drain(): Promise<void>;
}

/** A notice queue publishing as `signer` (none: notices are dropped). */
export function createCompletionNotices(init: {
  stores: JobStores;
  signer?: EventSigner | undefined;
  now: () => number;
  ulid: () => string;
  onError: (e: unknown) => void;
}): CompletionNotices {
  const notices: EventEnvelope[] = [];
  let flushing: Promise<void> | null = null;
  const flush = (): Promise<void> => {
    if (flushing || notices.length === 0 || !init.signer) return flushing ?? Promise.resolve();
    const signer = init.signer;
    flushing = (async () => {
      while (notices.length) {
        const batch = notices.splice(0);
        try {
          await publish(batch, { ...init.stores, topic: JOBS_TOPIC, signer, now: new Date(init.now()) });
        } catch (e) {
          init.onError(e);
        }
      }
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  };
  return {
    notify: (jobId, status, result) => {
      if (!init.signer) return;
      notices.push(
        busEnvelope({
          actor: init.signer.actor,
          ulid: init.ulid(),
          now: new Date(init.now()),
          data: { event: 'job.completed', job_id: jobId, status, result },
        }),
      );
      void flush();
    },
    drain: async () => {
      while (flushing || notices.length) await flush();
    },
  };
}
