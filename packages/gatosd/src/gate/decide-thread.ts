/** The push-gate's decision thread: decides the push it is given and posts the decision back (see `decide-thread-client.ts`). */
import { parentPort, workerData } from 'node:worker_threads';
import type { PushUpdate } from './gate-types.js';
import { decideInProcess } from './pre-receive.js';

const { cwd, updates } = workerData as { cwd: string; updates: PushUpdate[] };
try {
  parentPort!.postMessage({ decision: await decideInProcess(cwd, updates) });
} catch (e) {
  const err = e as { code?: string; message?: string };
  parentPort!.postMessage({
    error: { code: err.code ?? 'GATOS_E_INTERNAL', message: err.message ?? String(e) },
  });
}
