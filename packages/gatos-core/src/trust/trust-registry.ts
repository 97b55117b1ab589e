/**
 * The trust registry: public keys of actors (and engines), published in the repository on `refs/gatos/trust/keys`
 * as `keys/<kind>/<enc-name>/<enc-key-id>.json`. Every entry carries a proof of possession, and every key is
 * checked (canonical, not small order) before it is accepted, when written and again when read.
 */
import { type RetryOptions, casDone, casRetry, casWrite } from '../chain/cas-retry.js';
import { GatosError } from '../errors.js';
import {
  type GitObject,
  type Oid,
  blobObject,
  commitObject,
  parseCommit,
  treeFromFiles,
} from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { actorRefPath, encodeRefComponent, parseActor, TRUST_KEYS_REF } from '../ref-layout.js';
import type { RefStore } from '../store/ref-store.js';
import { SYSTEM_IDENT } from '../repo-config.js';
import { keyId, validatePublicKey, verifySignature } from './ed25519.js';
import { formatSignature, parseSignature } from '../events/event-signature.js';
import { readTreeFiles } from '../store/tree-files.js';

/** A registered public key. */
export interface TrustedKey {
  actor: string;
  alg: 'ed25519';
  key_id: string;
  /** 32-byte public key, lowercase hex. */
  public_key: string;
  /** Proof of possession: signature over {@link popInput}, as `ed25519:<base64>`. */
  pop: string;
}

/** The registry as read at one head. */
export interface TrustSet {
  head: Oid | null;
  keys: TrustedKey[];
  byId: Map<string, TrustedKey & { publicKey: Uint8Array }>;
}

const enc = new TextEncoder();

/** The bytes a key's proof of possession signs: domain, actor and public key. */
export function popInput(actor: string, publicKey: Uint8Array): Uint8Array {
  return Buffer.concat([enc.encode('GATOS-KEY-POP-v1\0'), enc.encode(actor), enc.encode('\0'), publicKey]);
}

/** Builds a registry entry; `sign` signs with the key's own private half. */
export function trustedKeyEntry(
  actor: string,
  publicKey: Uint8Array,
  sign: (msg: Uint8Array) => Uint8Array,
): TrustedKey {
  parseActor(actor);
  validatePublicKey(publicKey);
  return {
    actor,
    alg: 'ed25519',
    key_id: keyId(publicKey),
    public_key: Buffer.from(publicKey).toString('hex'),
    pop: formatSignature(sign(popInput(actor, publicKey))),
  };
}

/** Checks an entry: actor, key validity, key id and proof of possession. Throws `GATOS_E_KEY_INVALID`. */
export function checkTrustedKey(k: TrustedKey): Uint8Array {
  return trustedKeyBytes(k, true);
}

/**
 * An entry's public key, checked in full (`prove`: a canonical curve point, its proof of possession), or for
 * format and key id only (an entry a verifier already proved, see {@link ReadTrustOptions}).
 */
function trustedKeyBytes(k: TrustedKey, prove: boolean): Uint8Array {
  const bad = (why: string) =>
    new GatosError('GATOS_E_KEY_INVALID', `registered key ${k.key_id} for ${k.actor}: ${why}`, {
      data: { key_id: k.key_id },
    });
  parseActor(k.actor);
  if (k.alg !== 'ed25519' || !/^[0-9a-f]{64}$/.test(k.public_key)) throw bad('malformed');
  const pk = Uint8Array.from(Buffer.from(k.public_key, 'hex'));
  if (prove) validatePublicKey(pk);
  if (keyId(pk) !== k.key_id) throw bad('key id does not match the public key');
  if (prove && !verifySignature(pk, popInput(k.actor, pk), parseSignature(k.pop)))
    throw bad('proof of possession fails');
  return pk;
}

function entryPath(k: TrustedKey): string {
  return `keys/${actorRefPath(k.actor)}/${encodeRefComponent(k.key_id)}.json`;
}

/**
 * What {@link readTrust} may skip: entries whose blob (their exact bytes) a verifier of its own already checked in
 * full. Their format and key id are still checked; their proof of possession and curve point are not re-verified.
 */
export interface ReadTrustOptions {
  /** True for a blob id whose entry was proven before (e.g. the push-gate's server-side cache). */
  proven?: (blob: Oid) => boolean;
  /** Told the blob ids of entries proven by this read. */
  onProven?: (blobs: Oid[]) => void;
  /**
   * Registries already read in full, by trust commit (e.g. the push-gate's server-side snapshot): a registry whose
   * commit has one is taken from it without reading its entries; one read in full is handed to `put`.
   */
  snapshots?: {
    get(head: Oid): readonly TrustedKey[] | undefined;
    put(head: Oid, keys: readonly TrustedKey[]): void;
  };
}

/** Reads and checks the whole registry (entries `opts.proven` vouches for are not re-proven). */
export async function readTrust(
  objects: ObjectStore,
  refs: RefStore,
  opts: ReadTrustOptions = {},
): Promise<TrustSet> {
  const head = await refs.read(TRUST_KEYS_REF);
  const set: TrustSet = { head, keys: [], byId: new Map() };
  if (!head) return set;
  const snapshot = opts.snapshots?.get(head);
  if (snapshot) {
    for (const k of snapshot) {
      set.keys.push(k);
      set.byId.set(k.key_id, { ...k, publicKey: Uint8Array.from(Buffer.from(k.public_key, 'hex')) });
    }
    return set;
  }
  const [c] = await objects.get([head]);
  const files = await readTreeFiles(objects, parseCommit(head, c!.body).tree);
  const blobs = await objects.get(files.map((f) => f.oid));
  const fresh: Oid[] = [];
  files.forEach((f, i) => {
    const k = JSON.parse(Buffer.from(blobs[i]!.body).toString('utf8')) as TrustedKey;
    if (entryPath(k) !== f.path) {
      throw new GatosError('GATOS_E_KEY_INVALID', `trust entry ${f.path} does not match its content`);
    }
    const known = opts.proven?.(f.oid) === true;
    const publicKey = trustedKeyBytes(k, !known);
    if (!known) fresh.push(f.oid);
    set.keys.push(k);
    set.byId.set(k.key_id, { ...k, publicKey });
  });
  if (fresh.length) opts.onProven?.(fresh);
  opts.snapshots?.put(head, set.keys);
  return set;
}

/** The commit that adds `key` to the registry at `set.head` (idempotent callers check `byId` first). */
export function registerKeyCommit(
  set: TrustSet,
  key: TrustedKey,
): { commit: GitObject; objects: GitObject[] } {
  checkTrustedKey(key);
  const all = [...set.keys.filter((k) => k.key_id !== key.key_id), key];
  const blobs = all.map((k) => ({ k, blob: blobObject(`${JSON.stringify(k, null, 2)}\n`) }));
  const { root, trees } = treeFromFiles(blobs.map(({ k, blob }) => ({ path: entryPath(k), oid: blob.oid })));
  const commit = commitObject({
    tree: root,
    parents: set.head ? [set.head] : [],
    author: SYSTEM_IDENT,
    committer: SYSTEM_IDENT,
    message: `gatos trust: register ${key.key_id} for ${key.actor}\n`,
  });
  return { commit, objects: [...blobs.map((b) => b.blob), ...trees, commit] };
}

/** Adds a key with compare-and-swap, re-reading on a lost race; returns the registry after. */
export async function registerKey(
  objects: ObjectStore,
  refs: RefStore,
  key: TrustedKey,
  retry?: Partial<RetryOptions>,
): Promise<TrustSet> {
  const message = `could not register ${key.key_id}: ${TRUST_KEYS_REF} keeps moving`;
  const set = await casRetry<TrustSet | null>(
    { objects, refs, ref: TRUST_KEYS_REF, retry, message },
    async () => {
      const set = await readTrust(objects, refs);
      if (set.byId.has(key.key_id)) return casDone(set);
      const { commit, objects: objs } = registerKeyCommit(set, key);
      return casWrite(objs, { ref: TRUST_KEYS_REF, expect: set.head, next: commit.oid }, null);
    },
  );
  return set ?? readTrust(objects, refs);
}
