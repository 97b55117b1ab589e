/**
 * The daemon's signing identity: its private key from `$GATOS_HOME/keys` (as written by `git gatos key new`),
 * which must be registered in the repository's trust set. Same rules as the CLI's `signerFor`.
 */
import { type EventSigner, type ObjectStore, type RefStore, readTrust } from '@gatos/core';
import { listKeyFiles } from '../key-file.js';
import { signerFor } from '../signer.js';

/** The signer for `actor`: its local key (`$GATOS_HOME/keys`) that is registered in this repository. */
export async function daemonSigner(
  actor: string,
  env: NodeJS.ProcessEnv,
  objects: ObjectStore,
  refs: RefStore,
): Promise<EventSigner> {
  return signerFor(actor, await listKeyFiles(env), await readTrust(objects, refs));
}
