/** `git gatos key list`: local private keys, and the keys registered in this repository. */
import { isGatosError, readTrust, type TrustSet } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { withContext } from '../../context.js';
import { listKeyFiles } from '@gatos/gatosd/identity';

const mod: CommandModule = {
  builder: (y: Argv<GlobalArgs>) => y.example('git gatos key list --json', 'As JSON'),
  handler: async (_argv, io) => {
    const local = await listKeyFiles(io.env);
    let trust: TrustSet | null = null;
    try {
      trust = await withContext(io, ({ objects, refs }) => readTrust(objects, refs));
    } catch (e) {
      if (!isGatosError(e, 'GATOS_E_NOT_A_REPO')) throw e;
    }
    const localView = local.map((k) => ({
      actor: k.actor,
      key_id: k.key_id,
      public_key: k.public_key,
      ...(trust ? { registered: trust.byId.has(k.key_id) } : {}),
    }));
    const registered =
      trust?.keys.map((k) => ({ actor: k.actor, key_id: k.key_id, public_key: k.public_key })) ?? null;
    const human = [`local keys (${local.length}):`];
    for (const k of localView)
      human.push(`  ${k.key_id} ${k.actor}${k.registered === false ? ' (not registered here)' : ''}`);
    if (registered) {
      human.push(`registered in this repository (${registered.length}):`);
      for (const k of registered) human.push(`  ${k.key_id} ${k.actor}`);
    }
    return { json: { ok: true, local: localView, registered }, human };
  },
};
export const { builder, handler } = mod;
