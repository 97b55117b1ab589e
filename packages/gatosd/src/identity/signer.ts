/** Chooses the acting identity and turns its local private key into an event signer. */
import { type EventSigner, GatosError, type TrustSet, parseActor, signEvent } from '@gatos/core';
import { type KeyFile, keySeed } from './key-file.js';

/**
 * The actor a command acts as: `--actor`, else `$GATOS_ACTOR`, else the only local key registered in this
 * repository.
 */
export function resolveActor(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  keys: KeyFile[],
  trust: TrustSet,
): string {
  if (explicit) return parseActor(explicit) && explicit;
  if (env.GATOS_ACTOR) return parseActor(env.GATOS_ACTOR) && env.GATOS_ACTOR;
  const actors = [...new Set(keys.filter((k) => trust.byId.has(k.key_id)).map((k) => k.actor))];
  if (actors.length === 1) return actors[0]!;
  throw new GatosError(
    'GATOS_E_USAGE',
    actors.length ? 'several local actors; say which' : 'no actor with a key here',
    {
      hint: actors.length
        ? `Pass --actor (one of ${actors.join(', ')}) or set GATOS_ACTOR.`
        : 'Create one: `git gatos key new --actor user:<you>`.',
    },
  );
}

/** The signer for `actor`: its local key that is registered in this repository. */
export function signerFor(actor: string, keys: KeyFile[], trust: TrustSet): EventSigner {
  const mine = keys.filter((k) => k.actor === actor);
  const key = mine.find((k) => trust.byId.get(k.key_id)?.actor === actor);
  if (!key) {
    throw new GatosError(
      'GATOS_E_KEY_NOT_FOUND',
      mine.length
        ? `no key of ${actor} is registered in this repository`
        : `no local private key for ${actor}`,
      { data: { actor }, hint: `Run \`git gatos key new --actor ${actor}\` in this repository.` },
    );
  }
  const seed = keySeed(key);
  return { actor, keyId: key.key_id, sign: (position) => signEvent(seed, position) };
}
