/**
 * Reading `packed-refs`, cached by the file's identity.
 *
 * git replaces `packed-refs` only by renaming a new file over it, so one read through one open descriptor is
 * always a consistent snapshot, and (inode, size, mtime, ctime) from that descriptor tells whether the cached
 * parse is still current.
 */
import { join } from 'node:path';
import { GatosError, isOid, type Oid, type RefEntry } from '@gatos/core';
import { asyncFs, type FsOps } from './fs-ops.js';
import { errCode } from './fs-util.js';

/** A parsed `packed-refs`: by name, and as a list sorted by name (bytewise, as git sorts). */
export interface PackedRefs {
  readonly byName: ReadonlyMap<string, Oid>;
  readonly sorted: readonly RefEntry[];
}

const EMPTY: PackedRefs = { byName: new Map(), sorted: [] };

/**
 * Sorts entries by name in git's order (strcmp over UTF-8 bytes), in place. UTF-16 comparison gives the same
 * order except when surrogate pairs meet characters U+E000..U+FFFF, so the cheap comparison is used unless a
 * name contains a surrogate.
 */
export function sortRefEntries<T extends { ref: string }>(entries: T[]): T[] {
  if (entries.some((e) => /[\uD800-\uDFFF]/.test(e.ref))) {
    return entries.sort((a, b) => Buffer.compare(Buffer.from(a.ref, 'utf8'), Buffer.from(b.ref, 'utf8')));
  }
  return entries.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** Parses the text of a `packed-refs` file; peeled (`^`) lines and the header are skipped. */
export function parsePackedRefs(text: string, path: string): PackedRefs {
  const byName = new Map<string, Oid>();
  const sorted: RefEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const oid = line.slice(0, 40);
    if (line.charCodeAt(40) !== 0x20 || !isOid(oid)) {
      throw new GatosError('GATOS_E_GIT', `malformed line in ${path}: ${line.slice(0, 120)}`, {
        data: { path },
      });
    }
    const ref = line.slice(41);
    byName.set(ref, oid);
    sorted.push({ ref, oid });
  }
  return { byName, sorted: sortRefEntries(sorted) };
}

/** A reader of one repository's `packed-refs` that re-parses only when the file changed. */
export class PackedRefsCache {
  readonly #path: string;
  readonly #fs: FsOps;
  #key = '';
  #value: PackedRefs = EMPTY;

  constructor(commonDir: string, fs: FsOps = asyncFs) {
    this.#path = join(commonDir, 'packed-refs');
    this.#fs = fs;
  }

  /** The current packed refs (empty when there is no `packed-refs`). */
  async get(): Promise<PackedRefs> {
    const fs = this.#fs;
    let fd: number;
    try {
      fd = await fs.open(this.#path, 'r');
    } catch (e) {
      if (errCode(e) === 'ENOENT') {
        this.#key = '';
        this.#value = EMPTY;
        return EMPTY;
      }
      throw e;
    }
    try {
      const st = await fs.fstat(fd);
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      if (key !== this.#key) {
        const text = (await fs.readFile(fd)).toString('utf8');
        this.#value = parsePackedRefs(text, this.#path);
        this.#key = key;
      }
      return this.#value;
    } finally {
      await fs.close(fd);
    }
  }
}
