/**
 * The repository's GATOS config, stored as `profile.json` on the `refs/gatos/config` chain.
 *
 * Profiles set limits every participant must agree on (a fold's fuel, the largest envelope), so they live in the
 * repository, not in anyone's local settings.
 */
import { GatosError } from './errors.js';
import {
  type GitIdent,
  type GitObject,
  blobObject,
  commitObject,
  parseCommit,
  parseTree,
  treeObject,
} from './store/git-object.js';
import type { ObjectStore } from './store/object-store.js';
import { CONFIG_REF } from './ref-layout.js';
import type { RefStore } from './store/ref-store.js';

/** The profiles GATOS defines. */
export type ProfileName = 'default' | 'research';

/** The repository config (`profile.json`). */
export interface RepoConfig {
  version: 1;
  profile: ProfileName;
  /** Largest canonical envelope accepted, in bytes. */
  max_envelope_bytes: number;
  /** Fold VM limits. */
  fold: { fuel: number; memory_bytes: number };
  /** Whether the push-gate re-folds state pushes to compare (research) or checks proofs only (default). */
  gate_refold: boolean;
}

/** The built-in profiles. */
export const PROFILES: Record<ProfileName, RepoConfig> = {
  default: {
    version: 1,
    profile: 'default',
    max_envelope_bytes: 1_048_576,
    fold: { fuel: 100_000_000, memory_bytes: 256 * 1024 * 1024 },
    gate_refold: false,
  },
  research: {
    version: 1,
    profile: 'research',
    max_envelope_bytes: 1_048_576,
    fold: { fuel: 100_000_000, memory_bytes: 256 * 1024 * 1024 },
    gate_refold: true,
  },
};

/** The identity on commits GATOS itself writes (config, trust): fixed, so they hash the same everywhere. */
export const SYSTEM_IDENT: GitIdent = { name: 'GATOS', email: 'gatos@localhost', seconds: 0, tz: '+0000' };

/** Looks up a profile by name; throws `GATOS_E_BAD_PROFILE`. */
export function profileConfig(name: string): RepoConfig {
  if (name !== 'default' && name !== 'research') {
    throw new GatosError('GATOS_E_BAD_PROFILE', `unknown profile ${JSON.stringify(name)}`, {
      hint: 'Profiles: default, research.',
    });
  }
  return structuredClone(PROFILES[name]);
}

/** The objects of a config commit on top of `parent`. */
export function configCommit(
  config: RepoConfig,
  parent: string | null,
): { commit: GitObject; objects: GitObject[] } {
  const blob = blobObject(`${JSON.stringify(config, null, 2)}\n`);
  const tree = treeObject([{ mode: '100644', name: 'profile.json', oid: blob.oid }]);
  const commit = commitObject({
    tree: tree.oid,
    parents: parent ? [parent] : [],
    author: SYSTEM_IDENT,
    committer: SYSTEM_IDENT,
    message: `gatos config: profile ${config.profile}\n`,
  });
  return { commit, objects: [blob, tree, commit] };
}

/** Reads the config, or null when the repository is not initialized. */
export async function readRepoConfig(objects: ObjectStore, refs: RefStore): Promise<RepoConfig | null> {
  const head = await refs.read(CONFIG_REF);
  if (!head) return null;
  const [commit] = await objects.get([head]);
  const { tree } = parseCommit(head, commit!.body);
  const [treeObj] = await objects.get([tree]);
  const entry = parseTree(tree, treeObj!.body).find((e) => e.name === 'profile.json');
  if (!entry) throw new GatosError('GATOS_E_OBJECT_CORRUPT', `config commit ${head} has no profile.json`);
  const [blob] = await objects.get([entry.oid]);
  return JSON.parse(Buffer.from(blob!.body).toString('utf8')) as RepoConfig;
}

/** Reads the config or throws `GATOS_E_NOT_INITIALIZED`. */
export async function requireRepoConfig(objects: ObjectStore, refs: RefStore): Promise<RepoConfig> {
  const cfg = await readRepoConfig(objects, refs);
  if (!cfg) {
    throw new GatosError('GATOS_E_NOT_INITIALIZED', 'this repository has no GATOS config', {
      hint: 'Run `git gatos init` (or `git gatos init --profile research`).',
    });
  }
  return cfg;
}

/** The `policy_root` of events written while no policy bundle is active: 64 zeros. */
export const NO_POLICY_ROOT = '0'.repeat(64);
