/**
 * Private keys on disk, outside every repository: `$GATOS_HOME/keys/<key-id>.json`, mode 0600, in a 0700
 * directory. `GATOS_HOME` defaults to `${XDG_CONFIG_HOME:-~/.config}/gatos`.
 */
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GatosError, encodeRefComponent, keyId, keyPairFromSeed, parseActor } from '@gatos/core';

/** A private key as stored on disk. */
export interface KeyFile {
  version: 1;
  actor: string;
  alg: 'ed25519';
  key_id: string;
  public_key: string;
  /** The 32-byte ed25519 seed, hex. Never printed. */
  seed: string;
}

/** The directory holding private keys. */
export function keysDir(env: NodeJS.ProcessEnv): string {
  const home = env.GATOS_HOME || join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'gatos');
  return join(home, 'keys');
}

function fileFor(dir: string, id: string): string {
  return join(dir, `${encodeRefComponent(id)}.json`);
}

/** Creates and stores a new key for `actor` from a 32-byte random seed; the file is written 0600, atomically. */
export async function createKeyFile(
  env: NodeJS.ProcessEnv,
  actor: string,
  seed: Uint8Array,
): Promise<KeyFile> {
  parseActor(actor);
  const { publicKey } = keyPairFromSeed(seed);
  const key: KeyFile = {
    version: 1,
    actor,
    alg: 'ed25519',
    key_id: keyId(publicKey),
    public_key: Buffer.from(publicKey).toString('hex'),
    seed: Buffer.from(seed).toString('hex'),
  };
  const dir = keysDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const final = fileFor(dir, key.key_id);
  const tmp = `${final}.tmp-${process.pid}`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(key, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  return key;
}

async function readKeyFile(path: string): Promise<KeyFile> {
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) {
    throw new GatosError('GATOS_E_KEY_PERMISSIONS', `private key ${path} is accessible by others`, {
      data: { path, mode: (st.mode & 0o777).toString(8) },
      hint: `chmod 600 ${path}`,
    });
  }
  return JSON.parse(await readFile(path, 'utf8')) as KeyFile;
}

/** Every local private key, sorted by actor then key id. */
export async function listKeyFiles(env: NodeJS.ProcessEnv): Promise<KeyFile[]> {
  const dir = keysDir(env);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const keys: KeyFile[] = [];
  for (const n of names.filter((n) => n.endsWith('.json')).sort()) keys.push(await readKeyFile(join(dir, n)));
  return keys.sort((a, b) =>
    a.actor === b.actor ? (a.key_id < b.key_id ? -1 : 1) : a.actor < b.actor ? -1 : 1,
  );
}

/** Removes a private key file (used when publishing its public half failed). */
export async function deleteKeyFile(env: NodeJS.ProcessEnv, id: string): Promise<void> {
  await unlink(fileFor(keysDir(env), id)).catch(() => {});
}

/** The private seed of a key file (32 bytes). */
export function keySeed(key: KeyFile): Uint8Array {
  return Uint8Array.from(Buffer.from(key.seed, 'hex'));
}
