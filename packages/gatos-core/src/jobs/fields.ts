/**
 * Field checks shared by the job records (manifest, claim, result): exact key sets, names and paths, digests and
 * integer ranges, each failing with one error code and a `data.path` naming the field. Normative text:
 * `spec/job-plane.md` § 2.
 */
import { hexOf, isPlainObject } from '../encoding/bytes.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { isWellFormedString } from '../encoding/canonical.js';
import { type ErrorCode, GatosError } from '../errors.js';

/** A content digest: `blake3:` and 64 lowercase hex characters. */
export const CONTENT_DIGEST_RE = /^blake3:[0-9a-f]{64}$/;
/** A program path, input name or output path: slash-separated segments of `[A-Za-z0-9._-]`. */
export const JOB_PATH_RE = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
/** Longest path or name, in bytes. */
export const JOB_PATH_MAX_BYTES = 255;
/** A worker key id: `ed25519:` and 32 lowercase hex characters. */
export const WORKER_KEY_ID_RE = /^ed25519:[0-9a-f]{32}$/;

const enc = new TextEncoder();

/** `blake3:<hex>` of raw bytes: the digest of every program file, input, output and log. */
export function contentDigest(bytes: Uint8Array): string {
  return `blake3:${hexOf(blake3(bytes))}`;
}

/** `blake3:` hex of blake3(`domain` ‖ `body`): every job identity is one of these (§ 3). */
export function domainDigest(domain: string, body: Uint8Array): string {
  const h = blake3.create();
  h.update(enc.encode(domain));
  h.update(body);
  return `blake3:${hexOf(h.digest())}`;
}

/** Builds the error of one field; `what` names the record (`manifest`, `claim`, `result`). */
export type FieldFail = (path: string, why: string) => GatosError;

/** A {@link FieldFail} producing `code` errors whose message starts with `what path:`. */
export function fieldFail(code: ErrorCode, what: string, hint?: string): FieldFail {
  return (path, why) =>
    new GatosError(code, `${what} ${path}: ${why}`, {
      data: { path },
      ...(hint === undefined ? {} : { hint }),
    });
}

/** Checks that `v` is a plain object with exactly `keys`. */
export function objectWith(
  v: unknown,
  keys: readonly string[],
  path: string,
  fail: FieldFail,
): Record<string, unknown> {
  if (!isPlainObject(v)) throw fail(path, 'must be an object');
  if (Reflect.ownKeys(v).length !== Object.keys(v).length) throw fail(path, 'has a symbol or hidden key');
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw fail(path, `unknown field ${JSON.stringify(k)}`);
  }
  for (const k of keys) if (!Object.hasOwn(v, k)) throw fail(path, `missing field ${k}`);
  return v;
}

/** Checks that `v` is a plain array of at most `max` entries. */
export function arrayOf(v: unknown, max: number, path: string, fail: FieldFail): unknown[] {
  if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) throw fail(path, 'must be an array');
  if (v.length > max) throw fail(path, `has ${v.length} entries, at most ${max} are allowed`);
  return v;
}

/** Checks a well-formed string of at most `maxBytes` UTF-8 bytes (and at least `minBytes`), without NUL. */
export function stringOf(
  v: unknown,
  path: string,
  fail: FieldFail,
  opts: { min?: number; max: number; re?: RegExp; reWhy?: string },
): string {
  if (typeof v !== 'string') throw fail(path, 'must be a string');
  if (!isWellFormedString(v)) throw fail(path, 'holds a lone surrogate');
  if (v.includes('\0')) throw fail(path, 'must not contain NUL');
  const n = enc.encode(v).length;
  if (n < (opts.min ?? 0))
    throw fail(path, opts.min === 1 ? 'must not be empty' : `is shorter than ${opts.min}`);
  if (n > opts.max) throw fail(path, `is ${n} bytes, at most ${opts.max} are allowed`);
  if (opts.re && !opts.re.test(v)) throw fail(path, opts.reWhy ?? `must match ${opts.re}`);
  return v;
}

/** Checks a safe integer in `[min, max]`. */
export function intIn(v: unknown, min: number, max: number, path: string, fail: FieldFail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || Object.is(v, -0)) {
    throw fail(path, 'must be an integer');
  }
  if (v < min || v > max) throw fail(path, `${v} is outside ${min}..${max}`);
  return v;
}

/** Checks a content digest (`blake3:<64 hex>`). */
export function digestOf(v: unknown, path: string, fail: FieldFail): string {
  return stringOf(v, path, fail, {
    max: 71,
    re: CONTENT_DIGEST_RE,
    reWhy: 'must be blake3:<64 lowercase hex>',
  });
}

/** Checks a path or name (§ 2): the pattern, no `.` or `..` segment, at most 255 bytes. */
export function jobPathOf(v: unknown, path: string, fail: FieldFail): string {
  const s = stringOf(v, path, fail, {
    min: 1,
    max: JOB_PATH_MAX_BYTES,
    re: JOB_PATH_RE,
    reWhy: 'must be slash-separated segments of A-Z a-z 0-9 . _ -',
  });
  if (s.split('/').some((seg) => seg === '.' || seg === '..')) throw fail(path, 'has a . or .. segment');
  return s;
}

/** Bytewise (UTF-8) order of strings; paths here are ASCII so this is also code-unit order. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Checks a list of `{<key>, digest, size}` entries: sorted by `key` strictly (so unique) and no entry is a
 * directory of another (`a` and `a/b` cannot both be files of one git tree).
 */
export function fileListOf(
  v: unknown,
  key: 'path' | 'name',
  max: number,
  path: string,
  fail: FieldFail,
): { path: string; digest: string; size: number }[] {
  const list = arrayOf(v, max, path, fail);
  const out: { path: string; digest: string; size: number }[] = [];
  list.forEach((e, i) => {
    const at = `${path}[${i}]`;
    const o = objectWith(e, [key, 'digest', 'size'], at, fail);
    const p = jobPathOf(o[key], `${at}.${key}`, fail);
    digestOf(o.digest, `${at}.digest`, fail);
    intIn(o.size, 0, Number.MAX_SAFE_INTEGER, `${at}.size`, fail);
    const prev = out[i - 1]?.path;
    if (prev !== undefined && compareBytes(prev, p) >= 0) {
      throw fail(
        `${at}.${key}`,
        `${prev === p ? 'duplicate' : 'not sorted'}: ${JSON.stringify(p)} after ${JSON.stringify(prev)}`,
      );
    }
    out.push({ path: p, digest: o.digest as string, size: o.size as number });
  });
  const all = new Set(out.map((f) => f.path));
  for (const f of out) {
    const segs = f.path.split('/');
    for (let k = 1; k < segs.length; k++) {
      const dir = segs.slice(0, k).join('/');
      if (all.has(dir))
        throw fail(
          path,
          `${JSON.stringify(dir)} is both a file and the directory of ${JSON.stringify(f.path)}`,
        );
    }
  }
  return out;
}
