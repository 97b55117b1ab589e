/** The core's in-memory Object/Ref stores and a test signer for bus tests of the core (no git). */
import {
  createEnvelope,
  createMemoryObjectStore,
  createMemoryRefStore,
  type EventEnvelope,
  type EventSigner,
  keyId,
  keyPairFromSeed,
  NO_POLICY_ROOT,
  type ObjectStore,
  type RefStore,
  signEvent,
  type TrustSet,
  ulidFrom,
} from '../../src/index.js';
import type { GitObject } from '../../src/store/git-object.js';

export function memoryStores(): {
  objects: ObjectStore;
  refs: RefStore;
  data: Map<string, GitObject>;
  refMap: Map<string, string>;
} {
  const objects = createMemoryObjectStore();
  const refs = createMemoryRefStore();
  return { objects, refs, data: objects.objects, refMap: refs.refs };
}

export function testSigner(actor = 'user:alice'): { signer: EventSigner; trust: TrustSet } {
  const seed = new Uint8Array(32).fill(7);
  const pair = keyPairFromSeed(seed);
  const id = keyId(pair.publicKey);
  const signer: EventSigner = { actor, keyId: id, sign: (ctx) => signEvent(seed, ctx) };
  const key = {
    actor,
    alg: 'ed25519' as const,
    key_id: id,
    public_key: Buffer.from(pair.publicKey).toString('hex'),
    pop: '',
  };
  return {
    signer,
    trust: { head: null, keys: [key], byId: new Map([[id, { ...key, publicKey: pair.publicKey }]]) },
  };
}

let counter = 0;
export function message(payload: unknown, now: Date, actor = 'user:alice', ulid?: string): EventEnvelope {
  const rnd = new Uint8Array(10);
  new DataView(rnd.buffer).setUint32(6, ++counter);
  return createEnvelope({
    type: 'bus.message',
    ulid: ulid ?? ulidFrom(now.getTime(), rnd),
    actor,
    payload: payload as never,
    policy_root: NO_POLICY_ROOT,
    ts: now.toISOString(),
  });
}
