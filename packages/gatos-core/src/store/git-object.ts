/**
 * Git object serialization, as pure functions: the bytes and ids of blobs, trees and commits.
 *
 * Journals, checkpoints and proofs are git objects whose ids must be identical on every machine, so GATOS builds
 * them byte by byte here instead of asking a local git (whose config, clock and locale could leak in).
 */
import { createHash } from 'node:crypto';
import { GatosError } from '../errors.js';

/** A git object id: 40 lowercase hex characters (SHA-1 repositories). */
export type Oid = string;

/** The all-zero id git uses for "no object". */
export const ZERO_OID: Oid = '0000000000000000000000000000000000000000';

/** The kinds of git object GATOS writes. */
export type GitObjectType = 'blob' | 'tree' | 'commit';

/** A serialized git object: its id, kind and body (without the `type len\0` header). */
export interface GitObject {
  oid: Oid;
  type: GitObjectType;
  body: Uint8Array;
}

/** One entry of a tree. */
export interface TreeEntry {
  /** `100644` file, `100755` executable, `40000` subtree. */
  mode: '100644' | '100755' | '40000';
  name: string;
  oid: Oid;
}

/** A person line in a commit: name, email, seconds since the epoch, and a `+hhmm` offset. */
export interface GitIdent {
  name: string;
  email: string;
  seconds: number;
  tz: string;
}

/** The parts of a commit. */
export interface CommitInit {
  tree: Oid;
  parents: Oid[];
  author: GitIdent;
  committer: GitIdent;
  message: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const OID_RE = /^[0-9a-f]{40}$/;

/** True for a well-formed object id. */
export function isOid(s: unknown): s is Oid {
  return typeof s === 'string' && OID_RE.test(s);
}

/** Hashes a body as a git object of the given type. */
export function hashObject(type: GitObjectType, body: Uint8Array): GitObject {
  const h = createHash('sha1');
  h.update(`${type} ${body.length}\0`);
  h.update(body);
  return { oid: h.digest('hex'), type, body };
}

/** A blob object. */
export function blobObject(data: Uint8Array | string): GitObject {
  return hashObject('blob', typeof data === 'string' ? enc.encode(data) : data);
}

function treeSortKey(e: TreeEntry): string {
  return e.mode === '40000' ? `${e.name}/` : e.name;
}

/** A tree object; entries are sorted in git's order (subtrees sort as if named `name/`). */
export function treeObject(entries: readonly TreeEntry[]): GitObject {
  const sorted = [...entries].sort((a, b) => {
    const ka = enc.encode(treeSortKey(a));
    const kb = enc.encode(treeSortKey(b));
    return Buffer.compare(ka, kb);
  });
  const parts: Uint8Array[] = [];
  let prev: string | undefined;
  for (const e of sorted) {
    if (!e.name || e.name.includes('/') || e.name.includes('\0') || e.name === '.' || e.name === '..') {
      throw new GatosError('GATOS_E_INTERNAL', `invalid tree entry name ${JSON.stringify(e.name)}`);
    }
    if (e.name === prev) throw new GatosError('GATOS_E_INTERNAL', `duplicate tree entry ${e.name}`);
    prev = e.name;
    if (!isOid(e.oid)) throw new GatosError('GATOS_E_INTERNAL', `invalid oid in tree entry ${e.name}`);
    parts.push(enc.encode(`${e.mode} ${e.name}\0`), Buffer.from(e.oid, 'hex'));
  }
  return hashObject('tree', Buffer.concat(parts));
}

function identLine(kind: string, p: GitIdent): string {
  if (/[<>\n\0]/.test(p.name) || /[<>\n\0]/.test(p.email)) {
    throw new GatosError('GATOS_E_INTERNAL', `invalid characters in ${kind} identity`);
  }
  if (!Number.isSafeInteger(p.seconds)) throw new GatosError('GATOS_E_INTERNAL', `invalid ${kind} time`);
  if (!/^[+-]\d{4}$/.test(p.tz)) throw new GatosError('GATOS_E_INTERNAL', `invalid ${kind} tz`);
  return `${kind} ${p.name} <${p.email}> ${p.seconds} ${p.tz}\n`;
}

/** A commit object. The message is used as given (end it with `\n` as git does). */
export function commitObject(c: CommitInit): GitObject {
  let s = `tree ${c.tree}\n`;
  for (const p of c.parents) s += `parent ${p}\n`;
  s += identLine('author', c.author);
  s += identLine('committer', c.committer);
  s += `\n${c.message}`;
  return hashObject('commit', enc.encode(s));
}

/** A parsed commit. */
export interface ParsedCommit extends CommitInit {
  oid: Oid;
}

function parseIdent(line: string): GitIdent {
  const m = /^(.*) <([^<>]*)> (-?\d+) ([+-]\d{4})$/.exec(line);
  if (!m) throw new GatosError('GATOS_E_OBJECT_CORRUPT', `malformed identity line: ${line}`);
  return { name: m[1]!, email: m[2]!, seconds: Number(m[3]), tz: m[4]! };
}

/** Parses a commit body. Unknown headers (e.g. `gpgsig`) are rejected: GATOS never writes them. */
export function parseCommit(oid: Oid, body: Uint8Array): ParsedCommit {
  let text: string;
  try {
    text = dec.decode(body);
  } catch (cause) {
    throw new GatosError('GATOS_E_OBJECT_CORRUPT', `commit ${oid} is not UTF-8`, { cause });
  }
  const end = text.indexOf('\n\n');
  if (end < 0) throw new GatosError('GATOS_E_OBJECT_CORRUPT', `commit ${oid} has no message separator`);
  const headers = text.slice(0, end).split('\n');
  const message = text.slice(end + 2);
  let tree: Oid | undefined;
  const parents: Oid[] = [];
  let author: GitIdent | undefined;
  let committer: GitIdent | undefined;
  for (const h of headers) {
    const sp = h.indexOf(' ');
    const key = h.slice(0, sp);
    const val = h.slice(sp + 1);
    if (key === 'tree' && tree === undefined && isOid(val)) tree = val;
    else if (key === 'parent' && isOid(val)) parents.push(val);
    else if (key === 'author' && !author) author = parseIdent(val);
    else if (key === 'committer' && !committer) committer = parseIdent(val);
    else throw new GatosError('GATOS_E_OBJECT_CORRUPT', `commit ${oid} has an unexpected header: ${key}`);
  }
  if (!tree || !author || !committer) {
    throw new GatosError('GATOS_E_OBJECT_CORRUPT', `commit ${oid} misses tree, author or committer`);
  }
  return { oid, tree, parents, author, committer, message };
}

/** Parses a tree body into entries (in stored order). */
export function parseTree(oid: Oid, body: Uint8Array): TreeEntry[] {
  const out: TreeEntry[] = [];
  let i = 0;
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > buf.length) {
      throw new GatosError('GATOS_E_OBJECT_CORRUPT', `tree ${oid} is truncated`);
    }
    const mode = buf.toString('latin1', i, sp);
    const name = buf.toString('utf8', sp + 1, nul);
    const entryOid = buf.toString('hex', nul + 1, nul + 21);
    const normMode = mode === '40000' || mode === '100644' || mode === '100755' ? mode : undefined;
    if (!normMode) throw new GatosError('GATOS_E_OBJECT_CORRUPT', `tree ${oid} has unsupported mode ${mode}`);
    out.push({ mode: normMode, name, oid: entryOid });
    i = nul + 21;
  }
  return out;
}

/** Parses `Key: value` trailers from the last paragraph of a commit message. */
export function parseTrailers(message: string): Map<string, string[]> {
  const paras = message.replace(/\n+$/, '').split('\n\n');
  const last = paras[paras.length - 1] ?? '';
  const out = new Map<string, string[]>();
  for (const line of last.split('\n')) {
    const m = /^([A-Za-z0-9-]+): (.*)$/.exec(line);
    if (!m) return new Map();
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!);
    out.set(m[1]!, list);
  }
  return out;
}

/** A file to place in a tree built by {@link treeFromFiles}. */
export interface TreeFile {
  /** Slash-separated path, e.g. `keys/user/alice/k1.json`. */
  path: string;
  /** The blob id of the file's content. */
  oid: Oid;
  mode?: '100644' | '100755';
}

/** Builds nested trees for a set of files; returns the root tree id and every tree object (blobs not included). */
export function treeFromFiles(files: readonly TreeFile[]): { root: Oid; trees: GitObject[] } {
  interface Dir {
    files: TreeEntry[];
    dirs: Map<string, Dir>;
  }
  const top: Dir = { files: [], dirs: new Map() };
  for (const f of files) {
    const parts = f.path.split('/');
    const name = parts.pop();
    if (!name) throw new GatosError('GATOS_E_INTERNAL', `invalid tree path ${f.path}`);
    let dir = top;
    for (const p of parts) {
      let next = dir.dirs.get(p);
      if (!next) {
        next = { files: [], dirs: new Map() };
        dir.dirs.set(p, next);
      }
      dir = next;
    }
    dir.files.push({ mode: f.mode ?? '100644', name, oid: f.oid });
  }
  const trees: GitObject[] = [];
  const build = (dir: Dir): Oid => {
    const entries: TreeEntry[] = [...dir.files];
    for (const [name, sub] of dir.dirs) entries.push({ mode: '40000', name, oid: build(sub) });
    const t = treeObject(entries);
    trees.push(t);
    return t.oid;
  };
  const root = build(top);
  return { root, trees };
}
