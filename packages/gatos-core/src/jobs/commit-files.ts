/**
 * Job records are commits of a few files with a fixed identity (no clock), so two parties that build the same
 * record build the same commit. This file writes such a commit from path → bytes and reads one back.
 */
import { GatosError } from '../errors.js';
import {
  type GitIdent,
  type GitObject,
  type Oid,
  type ParsedCommit,
  blobObject,
  commitObject,
  parseCommit,
  treeFromFiles,
} from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import { readTreeFiles } from '../store/tree-files.js';

/** Author and committer of every job-plane commit: fixed, so records hash the same everywhere. */
export const JOB_IDENT: GitIdent = { name: 'GATOS', email: 'gatos@localhost', seconds: 0, tz: '+0000' };

/** A commit built from files, with every object it needs (blobs, trees, commit last). */
export interface FilesCommit {
  commit: GitObject;
  tree: Oid;
  objects: GitObject[];
}

/** Builds blobs, trees and a commit (ident {@link JOB_IDENT}) for `files` (path → bytes). */
export function filesCommit(
  files: ReadonlyMap<string, Uint8Array>,
  parents: Oid[],
  message: string,
): FilesCommit {
  const blobs = [...files].map(([path, bytes]) => ({ path, blob: blobObject(bytes) }));
  const { root, trees } = treeFromFiles(blobs.map((b) => ({ path: b.path, oid: b.blob.oid })));
  const commit = commitObject({ tree: root, parents, author: JOB_IDENT, committer: JOB_IDENT, message });
  const seen = new Set<Oid>();
  const objects: GitObject[] = [];
  for (const o of [...blobs.map((b) => b.blob), ...trees, commit]) {
    if (!seen.has(o.oid)) {
      seen.add(o.oid);
      objects.push(o);
    }
  }
  return { commit, tree: root, objects };
}

/** A commit read back with all its files (path → bytes, sorted by path). */
export interface CommitFiles {
  commit: ParsedCommit;
  files: Map<string, Uint8Array>;
}

/** Reads a commit and every file of its tree (three pipelined rounds plus one per directory level). */
export async function readCommitFiles(objects: ObjectStore, oid: Oid): Promise<CommitFiles> {
  const [c] = await objects.get([oid]);
  if (c?.type !== 'commit') {
    throw new GatosError('GATOS_E_JOB_RECORD', `${oid} is not a commit`, { data: { commit: oid } });
  }
  const commit = parseCommit(oid, c.body);
  const list = await readTreeFiles(objects, commit.tree);
  const blobs = await objects.get(list.map((f) => f.oid));
  const files = new Map<string, Uint8Array>();
  list.forEach((f, i) => {
    if (f.mode !== '100644') {
      throw new GatosError('GATOS_E_JOB_RECORD', `commit ${oid}: ${f.path} is not a plain file`, {
        data: { commit: oid, file: f.path },
      });
    }
    files.set(f.path, blobs[i]!.body);
  });
  return { commit, files };
}

/** Files of `files` below `dir/`, with the prefix removed (sorted as given). */
export function filesUnder(files: ReadonlyMap<string, Uint8Array>, dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [p, b] of files) if (p.startsWith(`${dir}/`)) out.set(p.slice(dir.length + 1), b);
  return out;
}
