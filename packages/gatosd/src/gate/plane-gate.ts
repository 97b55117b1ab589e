/**
 * The gate's rows for the config, governance and bus refs (`spec/push-gate.md` § 2.6): every new commit must be a
 * record of its plane (a readable profile; a governance event signed for its ref and position by a key registered
 * for its actor, of a type its ref may hold; a bus message signed the same way, a summary or a position of its own
 * topic and group), and a bus segment may only be deleted once the topic's summary chain records it as pruned.
 */
import {
  checkChainEvent,
  CONFIG_REF,
  GOV_EVENT,
  isGatosError,
  type JournalEvent,
  loadEventCommits,
  messageTrailers,
  type ObjectStore,
  type Oid,
  type ParsedCommit,
  parseBusRef,
  parseEventCommit,
  parseGovernanceRef,
  parseMessageCommit,
  parsePosition,
  parseSummary,
  parseTree,
  POSITION_FILE,
  type RefStore,
  readOnlyRefView,
  readRepoConfig,
  readSummaries,
  SUMMARY_FILE,
  type TrustSet,
} from '@gatos/core';
import { GateRefusal, type PushUpdate } from './gate-types.js';

const short = (oid: Oid) => oid.slice(0, 12);
const msgOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** What the plane checks read: the pushed objects, the refs before the push, every update, the registry. */
export interface PlaneGateContext {
  objects: ObjectStore;
  refs: RefStore;
  updates: readonly PushUpdate[];
  trust: () => Promise<TrustSet>;
}

/** The refs as they stand once the push is applied (read-only). */
function afterPush(ctx: PlaneGateContext): RefStore {
  return readOnlyRefView(ctx.refs, new Map(ctx.updates.map((u) => [u.ref, u.new])));
}

/** The one file of a record commit's tree, or a refusal naming the commit. */
async function recordFile(objects: ObjectStore, c: ParsedCommit, name: string): Promise<Uint8Array> {
  const [tree] = await objects.get([c.tree]);
  const entries = parseTree(c.tree, tree!.body);
  if (entries.length !== 1 || entries[0]!.name !== name) {
    throw new GateRefusal('bus-record', `commit ${short(c.oid)}: its tree must hold exactly ${name}`, {
      commit: c.oid,
    });
  }
  const [blob] = await objects.get([entries[0]!.oid]);
  return blob!.body;
}

/** `refs/gatos/config`: the pushed value must be a profile the repository can run under. */
export async function checkConfigUpdate(ctx: PlaneGateContext, u: PushUpdate & { new: Oid }): Promise<void> {
  try {
    await readRepoConfig(ctx.objects, readOnlyRefView(ctx.refs, new Map([[CONFIG_REF, u.new]])));
  } catch (e) {
    throw new GateRefusal('config-invalid', `config ${short(u.new)}: ${msgOf(e)}`, {
      commit: u.new,
      ...(isGatosError(e) ? { code: e.code } : {}),
    });
  }
}

/** The new signed events of `u`, oldest first, each checked by `check`; a malformed commit is refused. */
async function newSignedEvents(
  ctx: PlaneGateContext,
  u: PushUpdate & { new: Oid },
  rule: 'governance-event' | 'bus-record',
  check: (e: JournalEvent, commit: ParsedCommit, index: number) => string[] | Promise<string[]>,
): Promise<void> {
  let loaded: Awaited<ReturnType<typeof loadEventCommits>>;
  try {
    loaded = await loadEventCommits(ctx.objects, u.ref, u.new, u.old);
  } catch (e) {
    throw new GateRefusal(rule, `${u.ref}: ${msgOf(e)}`, isGatosError(e) ? { code: e.code } : {});
  }
  for (const [i, l] of loaded.entries()) {
    const at = `commit ${short(l.commit.oid)}`;
    let problems: string[];
    try {
      if (l.error) throw l.error;
      problems = await check(parseEventCommit(u.ref, l.commit, l.blob!), l.commit, i);
    } catch (e) {
      if (e instanceof GateRefusal) throw e;
      throw new GateRefusal(rule, `${at}: ${msgOf(e)}`, {
        commit: l.commit.oid,
        ...(isGatosError(e) ? { code: e.code } : {}),
      });
    }
    if (problems.length)
      throw new GateRefusal(rule, `${at}: ${problems.join('; ')}`, { commit: l.commit.oid });
  }
}

/** The event types each governance chain may hold (`spec/governance.md` § 3). */
const GOV_TYPES = {
  proposal: [GOV_EVENT.propose, GOV_EVENT.revoke],
  approval: [GOV_EVENT.approve, GOV_EVENT.unapprove],
  grant: [GOV_EVENT.grant],
} as const;

/**
 * A proposal, approval or grant chain: every new event signed for this ref and position by a key registered for
 * its actor, of a type the ref may hold; an approval chain holds only its own actor's events; a proposal chain
 * starts with `policy.propose`.
 */
export async function checkGovernanceUpdate(
  ctx: PlaneGateContext,
  u: PushUpdate & { new: Oid },
): Promise<void> {
  const g = parseGovernanceRef(u.ref)!;
  const trust = await ctx.trust();
  await newSignedEvents(ctx, u, 'governance-event', (e, _c, i) => {
    const problems = checkChainEvent(e, {
      trust,
      keyOfActor: true,
      ...(g.kind === 'approval' ? { owner: g.actor } : {}),
    }).map((p) => p.message);
    const types: readonly string[] = GOV_TYPES[g.kind];
    if (!types.includes(e.envelope.type))
      problems.push(`a ${g.kind} chain holds ${types.join(' or ')}, not ${e.envelope.type}`);
    if (g.kind === 'proposal' && u.old === null && i === 0 && e.envelope.type !== GOV_EVENT.propose) {
      problems.push('a proposal chain starts with policy.propose');
    }
    if ((e.envelope.payload as { proposal?: unknown }).proposal !== g.proposal) {
      problems.push(`the event is about another proposal than ${g.proposal}`);
    }
    return problems;
  });
}

/**
 * A bus ref: a segment's new messages signed for their segment and position by registered keys; a summary chain's
 * and a position chain's new records of their own topic (and group); a segment deleted only once a `pruned`
 * summary of its topic (as it stands after the push) records that very head.
 */
export async function checkBusUpdate(ctx: PlaneGateContext, u: PushUpdate): Promise<void> {
  const b = parseBusRef(u.ref)!;
  if (u.new === null) {
    if (b.kind !== 'segment') throw new GateRefusal('no-delete', 'a GATOS chain ref cannot be deleted');
    const summaries = await readSummaries({ objects: ctx.objects, refs: afterPush(ctx) }, b.topic).catch(
      (e) => {
        throw new GateRefusal('bus-record', `the summaries of ${b.topic} cannot be read: ${msgOf(e)}`);
      },
    );
    const pruned = summaries.some(
      (s) => s.summary.kind === 'pruned' && s.summary.segment === b.name && s.summary.last_commit === u.old,
    );
    if (!pruned) {
      throw new GateRefusal(
        'no-delete',
        `segment ${b.name} of ${b.topic} is deleted without a pruned summary of it`,
      );
    }
    return;
  }
  const nu = u as PushUpdate & { new: Oid };
  if (b.kind === 'segment') {
    const trust = await ctx.trust();
    return newSignedEvents(ctx, nu, 'bus-record', (e, c) => {
      const meta = parseMessageCommit(c);
      return checkChainEvent(e, {
        trust,
        trailers: messageTrailers(meta.contentHash, {
          offset: meta.offset,
          index: meta.index,
          bytes: meta.bytes,
        }),
      }).map((p) => p.message);
    });
  }
  const commits = await ctx.objects.chain(nu.new, nu.old);
  for (const c of commits) {
    try {
      if (b.kind === 'summary') {
        const s = parseSummary(await recordFile(ctx.objects, c, SUMMARY_FILE));
        if (s.topic !== b.topic) throw new Error(`a summary of topic ${s.topic}, not ${b.topic}`);
      } else {
        const p = parsePosition(await recordFile(ctx.objects, c, POSITION_FILE));
        if (p.topic !== b.topic || p.group !== b.group) {
          throw new Error(`a position of ${p.topic}/${p.group}, not ${b.topic}/${b.group}`);
        }
      }
    } catch (e) {
      if (e instanceof GateRefusal) throw e;
      throw new GateRefusal('bus-record', `commit ${short(c.oid)}: ${msgOf(e)}`, {
        commit: c.oid,
        ...(isGatosError(e) ? { code: e.code } : {}),
      });
    }
  }
}
