/**
 * The daemon's writer thread: owns the write side of the repository — group commits of bus messages (signing,
 * encoding, the object pack, the segment compare-and-swap), and ref updates and listings — on its own event loop.
 * On the main loop each of a group commit's ~15 file steps waited behind queued HTTP work, and its CPU (~0.45 ms
 * per message: signature, canonical encoding, hashes) delayed the HTTP work in turn; here neither waits on the
 * other, and the main thread pays one message per call. Started by {@link startWriter}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  createTopicIndex,
  type EventSigner,
  isGatosError,
  type ObjectStore,
  publish,
  type RefStore,
  type TopicIndex,
} from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { resolveIdentity } from '../identity/identity.js';
import type { WriterCall, WriterInit, WriterReply } from './writer-client.js';

const init = workerData as WriterInit;
const port = parentPort!;
const indexes = new Map<string, TopicIndex>();

function failure(id: number, e: unknown): WriterReply {
  if (isGatosError(e)) return { id, ok: false, error: { gatos: true, ...e.toJSON() } };
  const err = e as Error | undefined;
  return { id, ok: false, error: { gatos: false, message: err?.message ?? String(e), stack: err?.stack } };
}

/** Opens the repository and the daemon's signer (resolved like the main thread's, which already vetted it). */
async function open(): Promise<{ objects: ObjectStore; refs: RefStore; signer: EventSigner }> {
  const repo = await openRepository({ cwd: init.repo });
  const objects = createObjectStore(repo, {
    packThreshold: init.packThreshold,
    consolidateAfter: init.consolidateAfter,
    consolidateOnThread: true,
    syncIo: true,
  });
  const refs = createRefStore(repo, { syncIo: true });
  try {
    return {
      objects,
      refs,
      signer: (await resolveIdentity({ actor: init.actor, env: process.env, objects, refs })).events,
    };
  } catch (e) {
    await objects.close();
    throw e;
  }
}

function index(topic: string): TopicIndex {
  let i = indexes.get(topic);
  if (!i) {
    i = createTopicIndex(topic);
    indexes.set(topic, i);
  }
  return i;
}

async function run(
  { objects, refs, signer }: Awaited<ReturnType<typeof open>>,
  call: WriterCall,
): Promise<unknown> {
  switch (call.op) {
    case 'publish':
      return publish(call.envelopes, {
        objects,
        refs,
        topic: call.topic,
        signer,
        now: new Date(call.now),
        maxEnvelopeBytes: init.maxEnvelopeBytes,
        index: index(call.topic),
        retry: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random },
      });
    case 'put':
      return objects.put(call.objects);
    case 'cas':
      return refs.cas(call.update);
    case 'list':
      return refs.list(call.prefix);
    case 'read':
      return refs.read(call.ref);
    case 'close':
      return objects.close();
  }
}

// The start-up answer (id 0) carries an error's code; after a failed start the thread just ends.
const opened = await open().catch((e: unknown) => {
  port.postMessage(failure(0, e));
  port.close();
  return null;
});
if (opened) {
  port.on('message', (call: WriterCall) => {
    run(opened, call).then(
      (value) => {
        port.postMessage({ id: call.id, ok: true, value } satisfies WriterReply);
        if (call.op === 'close') port.close();
      },
      (e: unknown) => port.postMessage(failure(call.id, e)),
    );
  });
  port.postMessage({ id: 0, ok: true, value: 'ready' } satisfies WriterReply);
}
