/** Reads every file below a tree, one pipelined round per directory level. */
import { type Oid, type TreeFile, parseTree } from './git-object.js';
import type { ObjectStore } from './object-store.js';

/** All files below `tree` with their paths (sorted by path) and blob ids. */
export async function readTreeFiles(objects: ObjectStore, tree: Oid): Promise<TreeFile[]> {
  const files: TreeFile[] = [];
  let level: { path: string; oid: Oid }[] = [{ path: '', oid: tree }];
  while (level.length) {
    const bodies = await objects.get(level.map((d) => d.oid));
    const next: { path: string; oid: Oid }[] = [];
    level.forEach((dir, i) => {
      for (const e of parseTree(dir.oid, bodies[i]!.body)) {
        const path = dir.path ? `${dir.path}/${e.name}` : e.name;
        if (e.mode === '40000') next.push({ path, oid: e.oid });
        else files.push({ path, oid: e.oid, mode: e.mode });
      }
    });
    level = next;
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
