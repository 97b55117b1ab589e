/** In-memory Object/Ref stores and a test signer for bus tests of the core (no git). */
import {
  createEnvelope,
  type EventEnvelope,
  type EventSigner,
  keyId,
  keyPairFromSeed,
  NO_POLICY_ROOT,
  type ObjectStore,
  parseCommit,
  type ParsedCommit,
  type RefStore,
  signEvent,
  type TrustSet,
  ulidFrom,
} from '../../src/index.js';
import type { GitObject } from '../../src/store/git-object.js';
import type { StoredObject } from '../../src/store/object-store.js';

export function memoryStores(): {
  objects: ObjectStore;
  refs: RefStore;
  data: Map<string, GitObject>;
  refMap: Map<string, string>;
} {
  const data = new Map<string, GitObject>();
  const refMap = new Map<string, string>();
  const objects: ObjectStore = {
    put: async (objs) => {
      for (const o of objs) data.set(o.oid, o);
    },
    get: async (oids) =>
      oids.map((oid): StoredObject => {
        const o = data.get(oid);
        if (!o) throw new Error(`missing ${oid}`);
        return o;
      }),
    has: async (oids) => oids.map((o) => data.has(o)),
    chain: async (head, stop = null) => {
      const out: ParsedCommit[] = [];
      let cur: string | undefined = head;
      while (cur && cur !== stop) {
        const o = data.get(cur);
        if (!o) throw new Error(`missing ${cur}`);
        const c = parseCommit(cur, o.body);
        out.push(c);
        cur = c.parents[0];
      }
      return out.reverse();
    },
    close: async () => {},
  };
  const refs: RefStore = {
    read: async (ref) => refMap.get(ref) ?? null,
    cas: async ({ ref, expect, next }) => {
      if ((refMap.get(ref) ?? null) !== expect) return false;
      if (next === null) refMap.delete(ref);
      else refMap.set(ref, next);
      return true;
    },
    list: async (prefix) =>
      [...refMap.entries()]
        .filter(([r]) => r.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([ref, oid]) => ({ ref, oid })),
  };
  return { objects, refs, data, refMap };
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
