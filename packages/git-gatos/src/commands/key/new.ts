/**
 * `git gatos key new --actor <actor>`: create an ed25519 key (private half to `$GATOS_HOME/keys`, 0600) and
 * publish its public half with a proof of possession to `refs/gatos/trust/keys`. Run again in another
 * repository to publish the same key there.
 */
import { TRUST_KEYS_REF, keyPairFromSeed, registerKey, sign, trustedKeyEntry } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { type KeyFile, createKeyFile, keySeed, keysDir, listKeyFiles } from '@gatos/gatosd/identity';

interface KeyNewArgs {
  actor: string;
  publish: boolean;
}

const mod: CommandModule<KeyNewArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('actor', {
        type: 'string',
        demandOption: true,
        describe: 'user:<name>, agent:<name> or service:<name>',
      })
      .option('publish', {
        type: 'boolean',
        default: true,
        describe: 'Publish the public key in this repository (--no-publish: only create it locally)',
      })
      .example('git gatos key new --actor user:alice', 'Create (or reuse) alice’s key and publish it here'),
  handler: async (argv, io) => {
    const existing = (await listKeyFiles(io.env)).find((k) => k.actor === argv.actor);
    const key: KeyFile = existing ?? (await createKeyFile(io.env, argv.actor, io.randomBytes(32)));
    const created = !existing;
    const pub = { actor: key.actor, key_id: key.key_id, public_key: key.public_key, file: keysDir(io.env) };
    if (!argv.publish) {
      return {
        json: { ok: true, created, published: false, ...pub },
        human: `${key.key_id} ${key.actor} (local only)`,
      };
    }
    return withContext(io, async ({ objects, refs }) => {
      const seed = keySeed(key);
      const { publicKey } = keyPairFromSeed(seed);
      const entry = trustedKeyEntry(key.actor, publicKey, (msg) => sign(seed, msg));
      const trust = await registerKey(objects, refs, entry);
      return {
        json: { ok: true, created, published: true, ref: TRUST_KEYS_REF, trust_head: trust.head, ...pub },
        human: [
          `${created ? 'created' : 'reusing'} key ${key.key_id} for ${key.actor}`,
          `published to ${TRUST_KEYS_REF} (${trust.keys.length} keys registered)`,
        ],
      };
    });
  },
};
export const { builder, handler } = mod;
