/** The list of commands: their names, one-line help, and how to load them lazily. */
import type { CommandModule } from './command.js';

/** One entry: the words that select it, its usage string, help line, and its module loader. */
export interface CommandEntry {
  words: string[];
  usage: string;
  describe: string;
  // biome-ignore lint/suspicious/noExplicitAny: each module narrows its own argument type
  load: () => Promise<CommandModule<any>>;
}

/** Every command, in the order `--help` lists them. */
export const COMMANDS: CommandEntry[] = [
  {
    words: ['init'],
    usage: 'init',
    describe: 'Set up GATOS in this repository (profile default or research)',
    load: () => import('./commands/init.js'),
  },
  {
    words: ['key', 'new'],
    usage: 'new',
    describe: 'Create an ed25519 key for an actor and publish its public key',
    load: () => import('./commands/key/new.js'),
  },
  {
    words: ['key', 'list'],
    usage: 'list',
    describe: 'List local private keys and keys registered in this repository',
    load: () => import('./commands/key/list.js'),
  },
  {
    words: ['key', 'show'],
    usage: 'show <key>',
    describe: 'Show one key by key id or actor',
    load: () => import('./commands/key/show.js'),
  },
  {
    words: ['event', 'append'],
    usage: 'append',
    describe: "Sign an event and append it to the actor's journal in a namespace",
    load: () => import('./commands/event/append.js'),
  },
  {
    words: ['event', 'cid'],
    usage: 'cid [file]',
    describe: 'Print the Event-CID of an unsigned envelope given as JSON (file or - for stdin)',
    load: () => import('./commands/event/cid.js'),
  },
  {
    words: ['event', 'verify'],
    usage: 'verify <ns>',
    describe: 'Check every signature, chain link and commit of the journals of a namespace',
    load: () => import('./commands/event/verify.js'),
  },
  {
    words: ['log'],
    usage: 'log <ns>',
    describe: 'List the events of a namespace, with stable paging cursors',
    load: () => import('./commands/log.js'),
  },
];

COMMANDS.push(
  {
    words: ['fold', 'verify'],
    usage: 'verify <state-ref>',
    describe: 'Re-fold history and check every checkpoint, proof and root of a state chain',
    load: () => import('./commands/fold/verify.js'),
  },
  {
    words: ['fold'],
    usage: '$0 <ns>',
    describe: 'Fold new events of a namespace into a checkpoint with a signed Proof-of-Fold',
    load: () => import('./commands/fold/fold.js'),
  },
  {
    words: ['state', 'show'],
    usage: 'show <ns>',
    describe: 'Show the state of a namespace at its last (or a given) checkpoint',
    load: () => import('./commands/state/show.js'),
  },
  {
    words: ['verify-determinism'],
    usage: 'verify-determinism <ns>',
    describe: 'Fold in N fresh processes with different TZ, locale, cwd and umask; all roots must match',
    load: () => import('./commands/fold/verify-determinism.js'),
  },
);

/** Help lines of command groups (`git gatos key …`). */
export const GROUPS: Record<string, string> = {
  key: 'Manage signing keys (new, list, show)',
  event: 'Work with signed events (append, cid, verify)',
  fold: 'Fold a namespace into a checkpoint (git gatos fold <ns>), or verify a state chain (fold verify)',
  state: 'Inspect folded state (show)',
  hook: 'Guard a repository with the push-gate (install)',
  audit: 'Inspect the DENY audit chain of the push-gate (log, show)',
  policy: 'Policies: compile, test, explain, activate (bootstrap), check (dry-run of the push-gate)',
  bus: 'Commit-backed message bus: publish, read, ack, prune, verify, stats',
  job: 'Job plane: submit, list, show, claim, release, result, verify (Proof-of-Execution)',
};

COMMANDS.push(
  {
    words: ['hook', 'install'],
    usage: 'install <repo>',
    describe: 'Install the push-gate as the pre-receive hook of a (bare) repository',
    load: () => import('./commands/hook/install.js'),
  },
  {
    words: ['audit', 'log'],
    usage: 'log',
    describe: 'List the DENY records of refused pushes, newest first',
    load: () => import('./commands/audit/log.js'),
  },
  {
    words: ['audit', 'show'],
    usage: 'show <id>',
    describe: 'Explain one DENY record: which refs broke which rule and why',
    load: () => import('./commands/audit/show.js'),
  },
);

COMMANDS.push(
  {
    words: ['policy', 'compile'],
    usage: 'compile <file>',
    describe: 'Compile a .rgs policy to canonical .rgc and print its policy_code_root',
    load: () => import('./commands/policy/compile.js'),
  },
  {
    words: ['policy', 'test'],
    usage: 'test <policy>',
    describe: 'Decide one request against a policy (.rgs or .rgc); exit 0 allow, 7 deny',
    load: () => import('./commands/policy/test.js'),
  },
  {
    words: ['policy', 'explain'],
    usage: 'explain <policy>',
    describe: 'Show, per rule and per condition, why a request is allowed or denied',
    load: () => import('./commands/policy/explain.js'),
  },
);

COMMANDS.push(
  {
    words: ['propose'],
    usage: 'propose',
    describe: 'Propose a new policy bundle (a signed policy.propose event; prints the proposal id)',
    load: () => import('./commands/governance/propose.js'),
  },
  {
    words: ['approve'],
    usage: 'approve <proposal>',
    describe: 'Approve a proposal with your key (a signed event on your approval ref of that proposal)',
    load: () => import('./commands/governance/approve.js'),
  },
  {
    words: ['grant'],
    usage: 'grant <proposal>',
    describe: 'Check quorum under the active policy, record the grant, publish and activate the bundle',
    load: () => import('./commands/governance/grant.js'),
  },
  {
    words: ['revoke'],
    usage: 'revoke <proposal>',
    describe: 'Before a grant: withdraw your proposal, or your approval of it',
    load: () => import('./commands/governance/revoke.js'),
  },
  {
    words: ['policy', 'activate'],
    usage: 'activate <file>',
    describe: 'Activate the first policy (--bootstrap), only while no policy is active',
    load: () => import('./commands/policy/activate.js'),
  },
  {
    words: ['policy', 'check'],
    usage: 'check',
    describe: 'Dry-run the push-gate for local GATOS refs that differ from a remote (exit 7: refused)',
    load: () => import('./commands/policy/check.js'),
  },
);

COMMANDS.push(
  {
    words: ['bus', 'publish'],
    usage: 'publish',
    describe: "Sign messages and store them on the topic's current segment (dedupe by key and content)",
    load: () => import('./commands/bus/publish.js'),
  },
  {
    words: ['bus', 'read'],
    usage: 'read',
    describe: 'Read the messages a consumer group has not acknowledged (at-least-once)',
    load: () => import('./commands/bus/read.js'),
  },
  {
    words: ['bus', 'ack'],
    usage: 'ack',
    describe: "Move a consumer group's position forward to a message (commit or offset)",
    load: () => import('./commands/bus/ack.js'),
  },
  {
    words: ['bus', 'prune'],
    usage: 'prune',
    describe: 'Remove segments older than the TTL, after writing their summaries',
    load: () => import('./commands/bus/prune.js'),
  },
  {
    words: ['bus', 'verify'],
    usage: 'verify <topic>',
    describe: "Verify a topic's live segments (signatures, Merkle roots) and its summary chain",
    load: () => import('./commands/bus/verify.js'),
  },
  {
    words: ['bus', 'stats'],
    usage: 'stats',
    describe: 'Messages and bytes per segment, live refs, oldest age, rotation suggestions',
    load: () => import('./commands/bus/stats.js'),
  },
);

COMMANDS.push({
  words: ['bus', 'subscribe'],
  usage: 'subscribe',
  describe: 'Follow a topic live from a consumer group (gatosd SSE, or polling the repository)',
  load: () => import('./commands/bus/subscribe.js'),
});

COMMANDS.push(
  {
    words: ['job', 'submit'],
    usage: 'submit',
    describe: 'Submit a job (program files, inputs, args, env, limits) and announce it on bus topic `jobs`',
    load: () => import('./commands/job/submit.js'),
  },
  {
    words: ['job', 'list'],
    usage: 'list',
    describe: 'List jobs with their state, worker, epoch, lease left and result status',
    load: () => import('./commands/job/list.js'),
  },
  {
    words: ['job', 'show'],
    usage: 'show <job>',
    describe: "Show a job's manifest, claim chain, result and audit",
    load: () => import('./commands/job/show.js'),
  },
  {
    words: ['job', 'claim'],
    usage: 'claim <job>',
    describe: 'Claim a job by hand (one compare-and-swap; exit 5 while someone else holds it)',
    load: () => import('./commands/job/claim.js'),
  },
  {
    words: ['job', 'release'],
    usage: 'release <job>',
    describe: 'Release a claim you hold',
    load: () => import('./commands/job/release.js'),
  },
  {
    words: ['job', 'result'],
    usage: 'result <job>',
    describe: "A done job's result: summary, one output or a log raw, or all outputs into a directory",
    load: () => import('./commands/job/result.js'),
  },
  {
    words: ['job', 'verify'],
    usage: 'verify <job>',
    describe:
      "Verify a job's result and Proof-of-Execution against the trust registry (exit 6 on any problem)",
    load: () => import('./commands/job/verify.js'),
  },
);

COMMANDS.push({
  words: ['worker', 'run'],
  usage: 'run',
  describe: 'Claim, run and prove jobs from a shared repository (leased claims, heartbeats, signed results)',
  load: () => import('./commands/worker/run.js'),
});
GROUPS.worker = 'Run jobs: git gatos worker run --remote <shared repo> [--concurrency N] [--until-idle]';
