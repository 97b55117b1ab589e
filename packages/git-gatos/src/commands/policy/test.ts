/** `git gatos policy test <policy> --input <json|@file|->`: decide one request; exit 0 allow, 7 deny. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  compileRgs,
  decodeRgc,
  ErrorCodes,
  evaluatePolicy,
  GatosError,
  journalRef,
  policyCodeRoot,
  type PolicyDecision,
  type PolicyInput,
  type Rgc,
} from '@gatos/core';
import type { Argv } from 'yargs';
import type { CliIo, CommandModule, GlobalArgs } from '../../command.js';
import { readJsonArg, readTextInput } from '../../input.js';

/** A policy loaded from `.rgs` (compiled) or `.rgc` (decoded strictly), with its root. */
export async function loadPolicy(io: CliIo, file: string): Promise<{ rgc: Rgc; root: string }> {
  if (file.endsWith('.rgc')) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(resolve(io.cwd, file)));
    } catch (cause) {
      throw new GatosError('GATOS_E_INPUT_FILE', `cannot read ${file}`, { cause, data: { path: file } });
    }
    return { rgc: decodeRgc(bytes), root: policyCodeRoot(bytes) };
  }
  const c = compileRgs(await readTextInput(io, file), { file });
  return { rgc: c.rgc, root: c.policyCodeRoot };
}

/** The error code a deny reports: EVAL when an error forced it, DENY otherwise. */
export function denyCode(d: PolicyDecision): 'GATOS_E_POLICY_DENY' | 'GATOS_E_POLICY_EVAL' {
  return d.errors.length > 0 && !d.matched.some((m) => m.effect === 'deny' && m.rule === d.rule)
    ? 'GATOS_E_POLICY_EVAL'
    : 'GATOS_E_POLICY_DENY';
}

interface TestArgs {
  policy: string;
  input: string;
}

/** The arguments `policy test` and `policy explain` share: a policy and a request. */
export function policyRequestArgs(y: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return y
    .positional('policy', {
      type: 'string',
      demandOption: true,
      describe: 'The .rgs source or compiled .rgc',
    })
    .option('input', {
      type: 'string',
      demandOption: true,
      requiresArg: true,
      describe: 'The request as JSON, @file or - : {ref, actor, event?, approvals?, keysByActor?}',
    });
}

const mod: CommandModule<TestArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    policyRequestArgs(y).example(
      `git gatos policy test lab.rgs --input '{"ref":"${journalRef('lab', 'user:alice')}","actor":"user:alice"}'`,
      'Exit 0 when allowed, 7 when denied',
    ) as unknown as Argv<TestArgs>,
  handler: async (argv, io) => {
    const { rgc, root } = await loadPolicy(io, argv.policy);
    const input = (await readJsonArg(io, argv.input)) as PolicyInput;
    const d = evaluatePolicy(rgc, input);
    const allowed = d.decision === 'allow';
    const code = allowed ? null : denyCode(d);
    const human = [
      `${d.decision.toUpperCase()}${d.rule ? ` by rule "${d.rule}"` : ''}: ${d.reason}`,
      ...d.errors.map((e) => `  error${e.rule ? ` in rule "${e.rule}"` : ''}: ${e.message}`),
    ];
    return {
      json: { ok: allowed, ...(code ? { code } : {}), policy_code_root: root, ...d },
      human,
      exitCode: allowed ? 0 : ErrorCodes.GATOS_E_POLICY_DENY[0],
    };
  },
};
export const { builder, handler } = mod;
