/**
 * Who is acting, and with which key: the one resolver every command and the daemon use. The actor is `--actor`,
 * else `$GATOS_ACTOR`, else the only local key registered here; its key is the local private key
 * (`$GATOS_HOME/keys`) registered for it in the repository's trust registry.
 */
import {
  type DsseSigner,
  type EventSigner,
  type ObjectStore,
  type RefStore,
  type TrustSet,
  readTrust,
  sign,
} from '@gatos/core';
import { type KeyFile, keySeed, listKeyFiles } from './key-file.js';
import { resolveActor, signerFor } from './signer.js';

/** The acting identity: actor, key, the trust registry it was checked against, and its signers. */
export interface Identity {
  actor: string;
  keyId: string;
  key: KeyFile;
  trust: TrustSet;
  /** Signs events (journals, governance chains, bus messages) for their ref and position. */
  events: EventSigner;
  /** Signs DSSE envelopes (Proofs-of-Fold, claim records, Proofs-of-Execution) with the same key. */
  dsse: DsseSigner;
}

/** Where to resolve an identity: the repository's stores, the environment, and an explicit actor if given. */
export interface IdentityInit {
  objects: ObjectStore;
  refs: RefStore;
  env: NodeJS.ProcessEnv;
  /** `--actor`; default `$GATOS_ACTOR`, else the only local key registered here. */
  actor?: string | undefined;
  /** The trust registry, when the caller has read it already. */
  trust?: TrustSet;
}

/** Resolves the acting identity; `GATOS_E_USAGE` when no actor can be chosen, `GATOS_E_KEY_NOT_FOUND` without a key. */
export async function resolveIdentity(init: IdentityInit): Promise<Identity> {
  const trust = init.trust ?? (await readTrust(init.objects, init.refs));
  const keys = await listKeyFiles(init.env);
  const actor = resolveActor(init.actor, init.env, keys, trust);
  const events = signerFor(actor, keys, trust);
  const key = keys.find((k) => k.key_id === events.keyId)!;
  const seed = keySeed(key);
  return {
    actor,
    keyId: key.key_id,
    key,
    trust,
    events,
    dsse: { keyId: key.key_id, sign: (m) => sign(seed, m) },
  };
}
