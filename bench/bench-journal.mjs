// Shared by the benchmarks: a registered bench actor and a factory of valid, ever-later envelopes.
import { randomBytes } from 'node:crypto';
import {
  NO_POLICY_ROOT,
  createEnvelope,
  createUlidFactory,
  keyPairFromSeed,
  readTrust,
  registerKey,
  sign,
  signEvent,
  trustedKeyEntry,
} from '@gatos/core';

/** Registers `user:bench` (key from `seed`) in the repository; returns its event signer and an envelope factory. */
export async function benchActor(objects, refs, seed) {
  const actor = 'user:bench';
  await registerKey(
    objects,
    refs,
    trustedKeyEntry(actor, keyPairFromSeed(seed).publicKey, (m) => sign(seed, m)),
  );
  const trust = await readTrust(objects, refs);
  const signer = { actor, keyId: trust.keys[0].key_id, sign: (pos) => signEvent(seed, pos) };
  let ms = Date.parse('2026-01-01T00:00:00.000Z');
  const nextUlid = createUlidFactory(
    () => ms,
    (n) => randomBytes(n),
  );
  const envelope = (i) => {
    ms += 1;
    return createEnvelope({
      type: 'bench.tick',
      ulid: nextUlid(),
      actor,
      payload: { i, note: 'a typical small payload of a few dozen bytes' },
      policy_root: NO_POLICY_ROOT,
      ts: new Date(ms).toISOString(),
    });
  };
  return { actor, signer, trust, envelope };
}
