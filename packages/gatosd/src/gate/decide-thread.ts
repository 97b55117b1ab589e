/** The push-gate's decision thread: decides the push it is given and posts the decision back (see `decide-thread-client.ts`). */
import { parentPort, workerData } from 'node:worker_threads';
import type { GateSettings } from './gate-settings.js';
import type { PushUpdate } from './gate-types.js';
import { decideInProcess } from './pre-receive.js';

const { cwd, updates, settings } = workerData as {
  cwd: string;
  updates: PushUpdate[];
  settings: GateSettings;
};
try {
  parentPort!.postMessage({ decision: await decideInProcess(cwd, updates, settings) });
} catch (e) {
  const err = e as { code?: string; message?: string };
  parentPort!.postMessage({
    error: { code: err.code ?? 'GATOS_E_INTERNAL', message: err.message ?? String(e) },
  });
}
