/**
 * The result-cache index (`refs/gatos/jobs/cache`): a chain whose tree maps each cache key to the job id of a
 * result that may be reused. A file per key, named by the key's hex (`<64 hex>`), holding `<job-id>\n`. The index
 * is a hint: a worker that reuses a result MUST verify the source job first (`verifyExecution`, `cacheSource`).
 */
import { type RetryOptions, casDone, casRetry, casWrite } from '../chain/cas-retry.js';
import { GatosError } from '../errors.js';
import type { GitObject, Oid } from '../store/git-object.js';
import type { ObjectStore } from '../store/object-store.js';
import type { RefStore } from '../store/ref-store.js';
import { filesCommit, readCommitFiles } from './commit-files.js';
import { CONTENT_DIGEST_RE } from './fields.js';
import { JOB_CACHE_REF, JOB_ID_RE } from '../ref-layout.js';

/** The index at one commit. */
export interface CacheIndex {
  head: Oid | null;
  /** `blake3:<hex>` cache key → job id. */
  entries: Map<string, string>;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Reads the index (empty when the ref is absent); malformed entries are `GATOS_E_JOB_RECORD`. */
export async function readCacheIndex(objects: ObjectStore, refs: RefStore): Promise<CacheIndex> {
  const head = await refs.read(JOB_CACHE_REF);
  const entries = new Map<string, string>();
  if (!head) return { head, entries };
  const { files } = await readCommitFiles(objects, head);
  for (const [name, bytes] of files) {
    const key = `blake3:${name}`;
    const text = dec.decode(bytes);
    const jobId = text.slice(0, -1);
    if (!CONTENT_DIGEST_RE.test(key) || !text.endsWith('\n') || !JOB_ID_RE.test(jobId)) {
      throw new GatosError('GATOS_E_JOB_RECORD', `cache index entry ${name} is malformed`, {
        data: { commit: head, file: name },
      });
    }
    entries.set(key, jobId);
  }
  return { head, entries };
}

/** The commit that sets `add` (key → job id) on top of `index`. */
export function cacheIndexCommit(
  index: CacheIndex,
  add: ReadonlyMap<string, string>,
): { commit: GitObject; objects: GitObject[] } {
  const all = new Map(index.entries);
  for (const [k, v] of add) {
    if (!CONTENT_DIGEST_RE.test(k) || !JOB_ID_RE.test(v)) {
      throw new GatosError('GATOS_E_JOB_RECORD', `invalid cache entry ${k} → ${v}`);
    }
    all.set(k, v);
  }
  const files = new Map<string, Uint8Array>();
  for (const k of [...all.keys()].sort()) files.set(k.slice('blake3:'.length), enc.encode(`${all.get(k)}\n`));
  const built = filesCommit(files, index.head ? [index.head] : [], `gatos job cache: ${all.size} entries\n`);
  return { commit: built.commit, objects: built.objects };
}

/**
 * Adds entries by compare-and-swap, re-reading on a lost race (`casRetry`, then `GATOS_E_REF_CONFLICT`). An
 * existing key keeps its job id (first verified result wins); returns the index after.
 */
export async function updateCacheIndex(
  objects: ObjectStore,
  refs: RefStore,
  add: ReadonlyMap<string, string>,
  retry?: Partial<RetryOptions>,
): Promise<CacheIndex> {
  const message = `could not update ${JOB_CACHE_REF}: it keeps moving`;
  const done = await casRetry<CacheIndex | null>(
    { objects, refs, ref: JOB_CACHE_REF, retry, message },
    async () => {
      const index = await readCacheIndex(objects, refs);
      const fresh = new Map([...add].filter(([k]) => !index.entries.has(k)));
      if (fresh.size === 0) return casDone(index);
      const { commit, objects: objs } = cacheIndexCommit(index, fresh);
      return casWrite(objs, { ref: JOB_CACHE_REF, expect: index.head, next: commit.oid }, null);
    },
  );
  return done ?? readCacheIndex(objects, refs);
}

/** The job id cached under `key`, or null. */
export async function lookupCache(objects: ObjectStore, refs: RefStore, key: string): Promise<string | null> {
  return (await readCacheIndex(objects, refs)).entries.get(key) ?? null;
}
