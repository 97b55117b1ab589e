/** `git gatos event cid`: the Event-CID of an unsigned envelope given as JSON. */
import { encodeEnvelope, envelopeFromJson, eventCid } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { readTextInput } from '../../input.js';

interface CidArgs {
  file: string;
}

const mod: CommandModule<CidArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('file', { type: 'string', default: '-', describe: 'Envelope JSON file, or - for stdin' })
      .example('git gatos event cid envelope.json', 'Print the CID')
      .example('echo \'{"type":…}\' | git gatos event cid -', 'From stdin') as unknown as Argv<CidArgs>,
  handler: async (argv, io) => {
    const envelope = envelopeFromJson(await readTextInput(io, argv.file));
    const bytes = encodeEnvelope(envelope);
    const cid = eventCid(bytes).toString();
    return {
      json: { cid, canonical_hex: Buffer.from(bytes).toString('hex'), bytes: bytes.length },
      human: cid,
    };
  },
};
export const { builder, handler } = mod;
