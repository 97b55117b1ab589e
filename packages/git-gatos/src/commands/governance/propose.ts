/** `git gatos propose --bundle <file.rgs> [--version N]`: propose a new policy bundle as a signed event. */
import {
  type ActivePolicy,
  appendGovEvents,
  compileRgs,
  createEnvelope,
  createUlidFactory,
  envelopeTimestamp,
  type EventSigner,
  GatosError,
  GOV_EVENT,
  isPolicyVersion,
  NO_POLICY_ROOT,
  type PlainData,
  proposalRef,
  readActivePolicy,
  requireRepoConfig,
  type TrustSet,
} from '@gatos/core';
import { resolveIdentity } from '@gatos/gatosd/identity';
import type { Argv } from 'yargs';
import type { CliIo, CommandModule, GlobalArgs } from '../../command.js';
import { type GatosContext, withContext } from '../../context.js';
import { readTextInput } from '../../input.js';

/** What every governance command needs: config limit, trust, active policy, the acting signer, a ULID source. */
export interface GovSession {
  trust: TrustSet;
  active: ActivePolicy | null;
  actor: string;
  signer: EventSigner;
  maxBytes: number;
  nextUlid: () => string;
  /** A signed-event envelope for this actor. */
  envelope: (type: string, payload: PlainData, ulid?: string) => ReturnType<typeof createEnvelope>;
}

/** Opens a governance session in an open repository. */
export async function govSession(ctx: GatosContext, io: CliIo, actorArg?: string): Promise<GovSession> {
  const config = await requireRepoConfig(ctx.objects, ctx.refs);
  const { trust, actor, events: signer } = await resolveIdentity({ ...ctx, env: io.env, actor: actorArg });
  const active = await readActivePolicy(ctx.objects, ctx.refs);
  const nextUlid = createUlidFactory(() => io.now().getTime(), io.randomBytes);
  const maxBytes = config.max_envelope_bytes;
  return {
    trust,
    active,
    actor,
    signer,
    maxBytes,
    nextUlid,
    envelope: (type, payload, ulid) =>
      createEnvelope(
        {
          type,
          payload,
          actor,
          ulid: ulid ?? nextUlid(),
          ts: envelopeTimestamp(io.now()),
          policy_root: active?.record.policy_code_root ?? NO_POLICY_ROOT,
        },
        { maxBytes },
      ),
  };
}

/** Parses `--version`. */
export function versionArg(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!isPolicyVersion(n) || String(n) !== String(v)) {
    throw new GatosError('GATOS_E_USAGE', `--policy-version must be a positive integer, got ${String(v)}`);
  }
  return n;
}

interface ProposeArgs {
  bundle: string;
  'policy-version'?: string;
  actor?: string;
}

const mod: CommandModule<ProposeArgs> = {
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('bundle', {
        type: 'string',
        demandOption: true,
        requiresArg: true,
        describe: 'The .rgs policy to propose',
      })
      .option('policy-version', { type: 'string', describe: 'Bundle version (default: active version + 1)' })
      .option('actor', {
        type: 'string',
        describe: 'Who proposes (default: $GATOS_ACTOR or your only key here)',
      })
      .example(
        'git gatos propose --bundle policy.rgs',
        'Propose the next policy version',
      ) as unknown as Argv<ProposeArgs>,
  handler: async (argv, io) =>
    withContext(io, async (ctx) => {
      const s = await govSession(ctx, io, argv.actor);
      const source = await readTextInput(io, argv.bundle);
      const compiled = compileRgs(source, { file: argv.bundle });
      const activeVersion = s.active?.record.version ?? 0;
      const version = versionArg(argv['policy-version']) ?? activeVersion + 1;
      if (version <= activeVersion) {
        throw new GatosError(
          'GATOS_E_POLICY_ROLLBACK',
          `version ${version} does not exceed the active version ${activeVersion}`,
          {
            data: { version, active: activeVersion },
          },
        );
      }
      const id = s.nextUlid();
      const payload = {
        proposal: id,
        version,
        parent_version: s.active?.record.version ?? null,
        policy_code_root: compiled.policyCodeRoot,
        source,
      };
      const ref = proposalRef(id);
      const [w] = await appendGovEvents([s.envelope(GOV_EVENT.propose, payload, id)], {
        objects: ctx.objects,
        refs: ctx.refs,
        ref,
        signer: s.signer,
        maxBytes: s.maxBytes,
      });
      return {
        json: {
          ok: true,
          proposal: id,
          ref,
          commit: w!.commit,
          version,
          policy_code_root: compiled.policyCodeRoot,
          actor: s.actor,
        },
        human: [
          `proposal ${id}: policy version ${version} (${compiled.policyCodeRoot.slice(0, 16)}…) by ${s.actor}`,
          `  ${ref}`,
        ],
      };
    }),
};
export const { builder, handler } = mod;
