/**
 * The daemon's signing identity: its private key from `$GATOS_HOME/keys` (as written by `git gatos key new`),
 * which must be registered in the repository's trust set. Same rules as the CLI's `signerFor`.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type EventSigner,
  GatosError,
  type ObjectStore,
  type RefStore,
  readTrust,
  signEvent,
} from '@gatos/core';

interface KeyFile {
  actor: string;
  key_id: string;
  seed: string;
}

/** The directory holding private keys (`$GATOS_HOME/keys`, default `~/.config/gatos/keys`). */
export function keysDir(env: NodeJS.ProcessEnv): string {
  const home = env.GATOS_HOME || join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'gatos');
  return join(home, 'keys');
}

async function localKeys(env: NodeJS.ProcessEnv): Promise<KeyFile[]> {
  const dir = keysDir(env);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const keys: KeyFile[] = [];
  for (const n of names.filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, n);
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      throw new GatosError('GATOS_E_KEY_PERMISSIONS', `private key ${path} is accessible by others`, {
        data: { path, mode: (st.mode & 0o777).toString(8) },
        hint: `chmod 600 ${path}`,
      });
    }
    keys.push(JSON.parse(await readFile(path, 'utf8')) as KeyFile);
  }
  return keys;
}

/** The signer for `actor`: its local key that is registered in this repository. */
export async function daemonSigner(
  actor: string,
  env: NodeJS.ProcessEnv,
  objects: ObjectStore,
  refs: RefStore,
): Promise<EventSigner> {
  const trust = await readTrust(objects, refs);
  const mine = (await localKeys(env)).filter((k) => k.actor === actor);
  const key = mine.find((k) => trust.byId.get(k.key_id)?.actor === actor);
  if (!key) {
    throw new GatosError(
      'GATOS_E_KEY_NOT_FOUND',
      mine.length
        ? `no key of ${actor} is registered in this repository`
        : `no local private key for ${actor}`,
      {
        data: { actor },
        hint: `Run \`git gatos key new --actor ${actor}\` in this repository (same GATOS_HOME).`,
      },
    );
  }
  const seed = Uint8Array.from(Buffer.from(key.seed, 'hex'));
  return { actor, keyId: key.key_id, sign: (position) => signEvent(seed, position) };
}
