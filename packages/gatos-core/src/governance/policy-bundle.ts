/**
 * Policy bundles and the active-policy chain (`spec/governance.md`).
 *
 * A bundle is ONE parentless commit on `refs/gatos/policies/bundles/<version>` whose tree holds exactly
 * `bundle.json`, `policy.rgc` and `policy.rgs`. `refs/gatos/policies/active` is a chain: each commit holds
 * `active.json` naming the bundle it activates and the grant that authorised it; versions strictly increase.
 * Every commit here is derived from its content alone (fixed identity and date), so it can be rebuilt and compared.
 */
import { POLICY_ACTIVE_REF, POLICY_BUNDLES_PREFIX } from '../ref-layout.js';
import { GatosError } from '../errors.js';
import {
  blobObject,
  commitObject,
  type GitObject,
  type Oid,
  type ParsedCommit,
  isOid,
  parseCommit,
  parseTree,
  treeObject,
} from '../store/git-object.js';
import { canonicalJson } from '../proofs/in-toto.js';
import type { ObjectStore } from '../store/object-store.js';
import { decodeRgc, type Rgc } from '../policy/rgc.js';
import { compileRgs } from '../policy/rgs-parser.js';
import type { RefStore } from '../store/ref-store.js';
import { SYSTEM_IDENT } from '../repo-config.js';

/** `bundle.json` format tag. */
export const BUNDLE_FORMAT = 'gatos.policy-bundle/1';
/** `active.json` format tag. */
export const ACTIVATION_FORMAT = 'gatos.policy-active/1';
/** Versions: plain decimal, no leading zeros, 1 ≤ v ≤ 2^53−1. */
const VERSION_RE = /^[1-9][0-9]{0,15}$/;

/** `bundle.json`. */
export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  /** blake3-256 hex of `policy.rgc`: the `policy_root` events written under this bundle carry. */
  policy_code_root: string;
  /** The version active when the bundle was proposed, or null (bootstrap). */
  parent_version: number | null;
  /** The proposal the bundle came from, or null (bootstrap). */
  proposal: string | null;
}

/** A bundle as read back. */
export interface PolicyBundle {
  commit: Oid;
  manifest: BundleManifest;
  source: string;
  rgc: Rgc;
  rgcBytes: Uint8Array;
}

/** `active.json`: one activation. */
export interface ActivationRecord {
  format: typeof ACTIVATION_FORMAT;
  version: number;
  /** The bundle commit activated. */
  bundle: Oid;
  policy_code_root: string;
  /** The grant that authorised it; null only for the bootstrap (first) activation. */
  grant: { proposal: string; commit: Oid } | null;
}

/** The active policy: the head of the activation chain, its record and its bundle. */
export interface ActivePolicy {
  head: Oid;
  record: ActivationRecord;
  bundle: PolicyBundle;
}

const bad = (message: string, data: Record<string, unknown> = {}) =>
  new GatosError('GATOS_E_POLICY_BUNDLE', message, { data });

/** True for a valid bundle version. */
export function isPolicyVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

/** `refs/gatos/policies/bundles/<version>`. */
export function bundleRef(version: number): string {
  if (!isPolicyVersion(version)) throw bad(`invalid policy version ${version}`, { version });
  return `${POLICY_BUNDLES_PREFIX}${version}`;
}

/** The version a bundle ref names, or null when the ref is not a canonical bundle ref. */
export function parseBundleRef(ref: string): number | null {
  if (!ref.startsWith(POLICY_BUNDLES_PREFIX)) return null;
  const v = ref.slice(POLICY_BUNDLES_PREFIX.length);
  return VERSION_RE.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : null;
}

const text = (s: string) => `${s}\n`;

/** Builds the bundle commit for a `.rgs` source (compiled here; compile errors are thrown as they are). */
export function bundleCommit(init: {
  source: string;
  version: number;
  parentVersion: number | null;
  proposal: string | null;
  file?: string;
}): { commit: GitObject; objects: GitObject[]; manifest: BundleManifest; rgc: Rgc; rgcBytes: Uint8Array } {
  if (!isPolicyVersion(init.version)) throw bad(`invalid policy version ${init.version}`);
  const compiled = compileRgs(init.source, init.file ? { file: init.file } : {});
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: init.version,
    policy_code_root: compiled.policyCodeRoot,
    parent_version: init.parentVersion,
    proposal: init.proposal,
  };
  const blobs = {
    'bundle.json': blobObject(text(canonicalJson(manifest))),
    'policy.rgc': blobObject(compiled.bytes),
    'policy.rgs': blobObject(init.source),
  };
  const tree = treeObject(
    Object.entries(blobs).map(([name, b]) => ({ mode: '100644' as const, name, oid: b.oid })),
  );
  const commit = commitObject({
    tree: tree.oid,
    parents: [],
    author: SYSTEM_IDENT,
    committer: SYSTEM_IDENT,
    message: `gatos policy bundle ${init.version}\n\nPolicy-Code-Root: ${compiled.policyCodeRoot}\n`,
  });
  return {
    commit,
    objects: [...Object.values(blobs), tree, commit],
    manifest,
    rgc: compiled.rgc,
    rgcBytes: compiled.bytes,
  };
}

async function readFlatTree(objects: ObjectStore, c: ParsedCommit, names: string[]): Promise<Uint8Array[]> {
  const [t] = await objects.get([c.tree]);
  const entries = parseTree(c.tree, t!.body);
  const got = entries.map((e) => e.name);
  if (got.join('\0') !== names.join('\0') || entries.some((e) => e.mode !== '100644')) {
    throw bad(`${c.oid.slice(0, 12)}: tree must hold exactly ${names.join(', ')}`, { commit: c.oid });
  }
  return (await objects.get(entries.map((e) => e.oid))).map((o) => o.body);
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  const s = Buffer.from(bytes).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    throw bad(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || text(canonicalJson(v)) !== s) {
    throw bad(`${what} is not a canonical JSON object`);
  }
  return v as Record<string, unknown>;
}

/**
 * Reads and checks a bundle commit: exact files, canonical manifest, `.rgc` decoding strictly, the source
 * compiling to exactly those bytes, and the commit rebuilt from its parts giving the same id.
 */
export async function readBundle(objects: ObjectStore, oid: Oid): Promise<PolicyBundle> {
  const [o] = await objects.get([oid]);
  if (o!.type !== 'commit') throw bad(`${oid} is not a commit`);
  const c = parseCommit(oid, o!.body);
  const [manifestBytes, rgcBytes, rgsBytes] = await readFlatTree(objects, c, [
    'bundle.json',
    'policy.rgc',
    'policy.rgs',
  ]);
  const m = parseJson(manifestBytes!, `bundle ${oid.slice(0, 12)} bundle.json`);
  const keys = Object.keys(m).sort().join(',');
  if (
    keys !== 'format,parent_version,policy_code_root,proposal,version' ||
    m.format !== BUNDLE_FORMAT ||
    !isPolicyVersion(m.version) ||
    !(m.parent_version === null || isPolicyVersion(m.parent_version)) ||
    !(m.proposal === null || typeof m.proposal === 'string')
  ) {
    throw bad(`bundle ${oid.slice(0, 12)}: malformed bundle.json`, { commit: oid });
  }
  const manifest = m as unknown as BundleManifest;
  const source = Buffer.from(rgsBytes!).toString('utf8');
  const rebuilt = bundleCommit({
    source,
    version: manifest.version,
    parentVersion: manifest.parent_version,
    proposal: manifest.proposal,
  });
  if (rebuilt.commit.oid !== oid) {
    throw bad(`bundle ${oid.slice(0, 12)} differs from the bundle its source and manifest derive`, {
      commit: oid,
    });
  }
  return { commit: oid, manifest, source, rgc: decodeRgc(rgcBytes!), rgcBytes: rgcBytes! };
}

/** The activation commit for `record` on top of `parent`. */
export function activationCommit(
  record: ActivationRecord,
  parent: Oid | null,
): { commit: GitObject; objects: GitObject[] } {
  const blob = blobObject(text(canonicalJson(record)));
  const tree = treeObject([{ mode: '100644', name: 'active.json', oid: blob.oid }]);
  const how = record.grant ? `grant ${record.grant.proposal}` : 'bootstrap';
  const commit = commitObject({
    tree: tree.oid,
    parents: parent ? [parent] : [],
    author: SYSTEM_IDENT,
    committer: SYSTEM_IDENT,
    message: `gatos policy activate ${record.version} (${how})\n\nPolicy-Code-Root: ${record.policy_code_root}\n`,
  });
  return { commit, objects: [blob, tree, commit] };
}

/** Reads one activation commit and checks it rebuilds exactly. */
export async function readActivation(
  objects: ObjectStore,
  oid: Oid,
): Promise<{ record: ActivationRecord; parent: Oid | null }> {
  const [o] = await objects.get([oid]);
  if (o!.type !== 'commit') throw bad(`${oid} is not a commit`);
  const c = parseCommit(oid, o!.body);
  if (c.parents.length > 1) throw bad(`activation ${oid.slice(0, 12)} has several parents`);
  const [bytes] = await readFlatTree(objects, c, ['active.json']);
  const r = parseJson(bytes!, `activation ${oid.slice(0, 12)} active.json`);
  const g = r.grant as Record<string, unknown> | null;
  if (
    Object.keys(r).sort().join(',') !== 'bundle,format,grant,policy_code_root,version' ||
    r.format !== ACTIVATION_FORMAT ||
    !isPolicyVersion(r.version) ||
    !isOid(r.bundle) ||
    typeof r.policy_code_root !== 'string' ||
    !(
      g === null ||
      (typeof g === 'object' &&
        Object.keys(g).sort().join(',') === 'commit,proposal' &&
        typeof g.proposal === 'string' &&
        isOid(g.commit))
    )
  ) {
    throw bad(`activation ${oid.slice(0, 12)}: malformed active.json`, { commit: oid });
  }
  const record = r as unknown as ActivationRecord;
  const parent = c.parents[0] ?? null;
  if (activationCommit(record, parent).commit.oid !== oid) {
    throw bad(`activation ${oid.slice(0, 12)} differs from the commit its record derives`, { commit: oid });
  }
  return { record, parent };
}

/** The policy active at activation commit `head` (its bundle checked), or null when `head` is null. */
export async function readActivePolicyAt(
  objects: ObjectStore,
  head: Oid | null,
): Promise<ActivePolicy | null> {
  if (!head) return null;
  const { record } = await readActivation(objects, head);
  const bundle = await readBundle(objects, record.bundle);
  if (
    bundle.manifest.version !== record.version ||
    bundle.manifest.policy_code_root !== record.policy_code_root
  ) {
    throw bad(`activation ${head.slice(0, 12)} does not match its bundle`, { commit: head });
  }
  return { head, record, bundle };
}

/** The policy active in a repository, or null when none is. */
export async function readActivePolicy(objects: ObjectStore, refs: RefStore): Promise<ActivePolicy | null> {
  return readActivePolicyAt(objects, await refs.read(POLICY_ACTIVE_REF));
}
