/** `git gatos key show <key>`: one key by key id or actor (public parts only). */
import { GatosError, isGatosError, readTrust, type TrustSet } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { listKeyFiles } from '@gatos/gatosd/identity';

interface ShowArgs {
  key: string;
}

const mod: CommandModule<ShowArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('key', { type: 'string', demandOption: true, describe: 'A key id or an actor' })
      .example('git gatos key show user:alice', 'Keys of alice') as unknown as Argv<ShowArgs>,
  handler: async (argv, io) => {
    let trust: TrustSet | null = null;
    try {
      trust = await withContext(io, ({ objects, refs }) => readTrust(objects, refs));
    } catch (e) {
      if (!isGatosError(e, 'GATOS_E_NOT_A_REPO')) throw e;
    }
    const match = (k: { actor: string; key_id: string }) => k.key_id === argv.key || k.actor === argv.key;
    const byId = new Map<
      string,
      { actor: string; key_id: string; public_key: string; local: boolean; registered: boolean }
    >();
    for (const k of (await listKeyFiles(io.env)).filter(match)) {
      byId.set(k.key_id, {
        actor: k.actor,
        key_id: k.key_id,
        public_key: k.public_key,
        local: true,
        registered: false,
      });
    }
    for (const k of (trust?.keys ?? []).filter(match)) {
      const prev = byId.get(k.key_id);
      byId.set(k.key_id, {
        actor: k.actor,
        key_id: k.key_id,
        public_key: k.public_key,
        local: prev?.local ?? false,
        registered: true,
      });
    }
    const keys = [...byId.values()].sort((a, b) => (a.key_id < b.key_id ? -1 : 1));
    if (keys.length === 0) {
      throw new GatosError('GATOS_E_KEY_NOT_FOUND', `no key matches ${argv.key}`, {
        hint: 'List keys with `git gatos key list`.',
      });
    }
    const human = keys.flatMap((k) => [
      `key ${k.key_id}`,
      `  actor       ${k.actor}`,
      `  public key  ${k.public_key}`,
      `  private key ${k.local ? 'on this machine' : 'not on this machine'}`,
      `  registered  ${trust ? (k.registered ? 'yes, in this repository' : 'no') : 'not in a repository'}`,
    ]);
    return { json: { ok: true, keys }, human };
  },
};
export const { builder, handler } = mod;
