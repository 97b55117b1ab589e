/** `git gatos policy explain <policy> --input …`: per rule and per condition, whether it held and why. */
import { ErrorCodes, explainPolicy, type PolicyInput, renderExplanation } from '@gatos/core';
import type { Argv } from 'yargs';
import type { CommandModule, GlobalArgs } from '../../command.js';
import { readJsonArg } from '../../input.js';
import { denyCode, loadPolicy, policyRequestArgs } from './test.js';

interface ExplainArgs {
  policy: string;
  input: string;
}

const mod: CommandModule<ExplainArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    policyRequestArgs(y).example(
      'git gatos policy explain lab.rgs --input @request.json',
      'Why a request is allowed or denied',
    ) as unknown as Argv<ExplainArgs>,
  handler: async (argv, io) => {
    const { rgc, root } = await loadPolicy(io, argv.policy);
    const input = (await readJsonArg(io, argv.input)) as PolicyInput;
    const x = explainPolicy(rgc, input);
    const allowed = x.decision === 'allow';
    return {
      json: { ok: allowed, ...(allowed ? {} : { code: denyCode(x) }), policy_code_root: root, ...x },
      human: [`policy "${rgc.name}" version ${rgc.version} (${root})`, ...renderExplanation(x)],
      exitCode: allowed ? 0 : ErrorCodes.GATOS_E_POLICY_DENY[0],
    };
  },
};
export const { builder, handler } = mod;
