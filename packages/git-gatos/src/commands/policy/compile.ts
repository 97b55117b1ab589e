/** `git gatos policy compile <file.rgs>`: compile a policy to `.rgc` and print its policy_code_root. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { compileRgs, GatosError } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { readTextInput } from '../../input.js';

interface CompileArgs {
  file: string;
  o?: string;
}

const mod: CommandModule<CompileArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'The .rgs source' })
      .option('o', {
        type: 'string',
        alias: 'output',
        requiresArg: true,
        describe: 'Where to write the .rgc (default: the source path with .rgc)',
      })
      .example('git gatos policy compile lab.rgs', 'Write lab.rgc and print its policy_code_root')
      .example(
        'git gatos policy compile lab.rgs -o /tmp/lab.rgc --json',
        'As JSON',
      ) as unknown as Argv<CompileArgs>,
  handler: async (argv, io) => {
    const source = await readTextInput(io, argv.file);
    const compiled = compileRgs(source, { file: argv.file });
    const out = argv.o ?? (argv.file === '-' ? undefined : argv.file.replace(/(\.rgs)?$/, '.rgc'));
    if (out !== undefined) {
      try {
        await writeFile(resolve(io.cwd, out), compiled.bytes);
      } catch (cause) {
        throw new GatosError('GATOS_E_INPUT_FILE', `cannot write ${out}`, { cause, data: { path: out } });
      }
    }
    const { rgc } = compiled;
    return {
      json: {
        ok: true,
        policy_code_root: compiled.policyCodeRoot,
        name: rgc.name,
        version: rgc.version,
        rules: rgc.rules.map((r) => ({ id: r.id, effect: r.effect })),
        groups: Object.keys(rgc.groups),
        bytes: compiled.bytes.length,
        output: out ?? null,
        ...(out === undefined ? { rgc_hex: Buffer.from(compiled.bytes).toString('hex') } : {}),
      },
      human: compiled.policyCodeRoot,
    };
  },
};
export const { builder, handler } = mod;
