/**
 * Reading `packed-refs`, cached by the file's identity.
 *
 * git replaces `packed-refs` only by renaming a new file over it, so one read through one open descriptor is
 * always a consistent snapshot, and (inode, size, mtime, ctime) from that descriptor tells whether the cached
 * parse is still current.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { GatosError, isOid, type Oid, type RefEntry } from '@gatos/core';
import { errCode } from './fs-util.js';

/** A parsed `packed-refs`: by name, and as a list sorted by name (bytewise, as git sorts). */
export interface PackedRefs {
  readonly byName: ReadonlyMap<string, Oid>;
  readonly sorted: readonly RefEntry[];
}

const EMPTY: PackedRefs = { byName: new Map(), sorted: [] };

/** Bytewise (UTF-8) order of ref names, git's order. */
export function compareRefNames(a: string, b: string): number {
  if (a === b) return 0;
  // Pure-ASCII names (the norm) compare the same as UTF-16 strings; otherwise compare the UTF-8 bytes.
  if (/^[\x00-\x7f]*$/.test(a + b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
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
  sorted.sort((a, b) => compareRefNames(a.ref, b.ref));
  return { byName, sorted };
}

/** A reader of one repository's `packed-refs` that re-parses only when the file changed. */
export class PackedRefsCache {
  readonly #path: string;
  #key = '';
  #value: PackedRefs = EMPTY;

  constructor(commonDir: string) {
    this.#path = join(commonDir, 'packed-refs');
  }

  /** The current packed refs (empty when there is no `packed-refs`). */
  async get(): Promise<PackedRefs> {
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(this.#path, 'r');
    } catch (e) {
      if (errCode(e) === 'ENOENT') {
        this.#key = '';
        this.#value = EMPTY;
        return EMPTY;
      }
      throw e;
    }
    try {
      const st = await fh.stat({ bigint: true });
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      if (key !== this.#key) {
        const text = (await fh.readFile()).toString('utf8');
        this.#value = parsePackedRefs(text, this.#path);
        this.#key = key;
      }
      return this.#value;
    } finally {
      await fh.close();
    }
  }
}
