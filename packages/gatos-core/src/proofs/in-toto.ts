/**
 * in-toto Statement v1 and the canonical JSON GATOS writes statements in.
 *
 * Canonical JSON here is RFC 8785 (JCS) restricted to integers: object keys sorted by UTF-16 code units
 * (recursively), no whitespace, strings as `JSON.stringify` writes them, numbers only as safe integers (so JCS's
 * float formatting never applies). A statement is accepted only in that byte form, so each statement has exactly
 * one spelling and one digest. Normative text: `spec/proof-of-fold.md` § Canonical JSON, § in-toto Statement.
 */
import { isPlainObject } from '../encoding/bytes.js';
import { formatPath, isWellFormedString } from '../encoding/canonical.js';
import { type ErrorCode, GatosError, isGatosError } from '../errors.js';

/** JSON data with integers only: what statements, predicates and fold states hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object of {@link JsonValue}s. */
export type JsonObject = { [key: string]: JsonValue };

/** `_type` of an in-toto Statement v1. */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** DSSE `payloadType` of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Default nesting limit of canonical JSON values. */
export const JSON_MAX_DEPTH = 64;
/** Largest statement accepted by {@link parseStatement} by default: 1 MiB. */
export const STATEMENT_MAX_BYTES = 1_048_576;

/** A statement subject: a name and its digests (`algorithm → lowercase hex`). */
export interface InTotoSubject {
  name: string;
  digest: Record<string, string>;
}

/** An in-toto Statement v1. */
export interface InTotoStatement<P = JsonObject> {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: InTotoSubject[];
  predicateType: string;
  predicate: P;
}

const enc = new TextEncoder();
const DIGEST_ALG_RE = /^[A-Za-z0-9_]{1,32}$/;
const HEX_RE = /^(?:[0-9a-f]{2})+$/;
const MAX_SUBJECTS = 1024;

/**
 * Walks a value that must be {@link JsonValue}; calls `visit` (if given) in serialization order. Errors use the
 * data-model codes of `spec/event-envelope.md` § 2 (`GATOS_E_PAYLOAD_FLOAT`, `…_NAN`, `…_UNSAFE_INT`,
 * `…_UNDEFINED`, `…_CLASS`, `…_KEY`, `…_STRING`, `…_DEPTH`) with `data.path`; bytes and bigints are refused as
 * `GATOS_E_PAYLOAD_CLASS` / `GATOS_E_PAYLOAD_UNSAFE_INT` (JSON cannot carry them).
 */
function walkJson(
  value: unknown,
  base: string,
  maxDepth: number,
  out: string[] | null,
  indent: string | null,
): void {
  const segs: (string | number)[] = [];
  const fail = (code: ErrorCode, what: string, hint?: string): GatosError => {
    const path = formatPath(base, segs);
    return new GatosError(code, `${path}: ${what}`, {
      data: { path },
      ...(hint === undefined ? {} : { hint }),
    });
  };
  const str = (s: string, key: boolean): string => {
    if (!isWellFormedString(s)) {
      throw fail(
        key ? 'GATOS_E_PAYLOAD_KEY' : 'GATOS_E_PAYLOAD_STRING',
        `${key ? 'key' : 'string'} holds a lone surrogate`,
      );
    }
    return JSON.stringify(s);
  };
  const walk = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case 'string':
        out?.push(str(v, false));
        return;
      case 'boolean':
        out?.push(v ? 'true' : 'false');
        return;
      case 'number':
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
          out?.push(String(v));
          return;
        }
        if (Number.isNaN(v) || !Number.isFinite(v)) throw fail('GATOS_E_PAYLOAD_NAN', `${v} is not a number`);
        if (Number.isInteger(v) && !Object.is(v, -0)) {
          throw fail('GATOS_E_PAYLOAD_UNSAFE_INT', `integer ${v} is beyond ±(2^53−1)`);
        }
        throw fail(
          'GATOS_E_PAYLOAD_FLOAT',
          `${Object.is(v, -0) ? '-0' : v} is not an integer`,
          'JSON data here carries integers only',
        );
      case 'bigint':
        throw fail('GATOS_E_PAYLOAD_UNSAFE_INT', `bigint ${v}n cannot be carried in JSON`);
      case 'undefined':
      case 'function':
      case 'symbol':
        throw fail('GATOS_E_PAYLOAD_UNDEFINED', `${typeof v} is not JSON data`, 'omit the field or use null');
      default:
        break;
    }
    if (v === null) {
      out?.push('null');
      return;
    }
    if (depth >= maxDepth) {
      throw fail('GATOS_E_PAYLOAD_DEPTH', `nesting deeper than ${maxDepth} levels`);
    }
    const pad = indent === null ? '' : `\n${indent.repeat(depth + 1)}`;
    const close = indent === null ? '' : `\n${indent.repeat(depth)}`;
    if (Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Array.prototype)
        throw fail('GATOS_E_PAYLOAD_CLASS', 'not a plain array');
      out?.push('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out?.push(',');
        out?.push(pad);
        segs.push(i);
        walk(v[i], depth + 1);
        segs.pop();
      }
      out?.push(v.length > 0 ? `${close}]` : ']');
      return;
    }
    if (!isPlainObject(v)) {
      throw fail(
        'GATOS_E_PAYLOAD_CLASS',
        'not a plain object',
        'use plain objects, arrays, strings and integers',
      );
    }
    const keys = Object.keys(v);
    if (Reflect.ownKeys(v).length !== keys.length) {
      throw fail('GATOS_E_PAYLOAD_KEY', 'object has a symbol or non-enumerable key');
    }
    keys.sort();
    out?.push('{');
    keys.forEach((k, i) => {
      if (i > 0) out?.push(',');
      out?.push(pad);
      segs.push(k);
      out?.push(str(k, true), indent === null ? ':' : ': ');
      walk(v[k], depth + 1);
      segs.pop();
    });
    out?.push(keys.length > 0 ? `${close}}` : '}');
  };
  walk(value, 0);
}

/** Throws unless `value` is {@link JsonValue} (codes as for payloads, with `data.path`; `base` names the root). */
export function validateJsonValue(
  value: unknown,
  base = '',
  maxDepth: number = JSON_MAX_DEPTH,
): asserts value is JsonValue {
  walkJson(value, base, maxDepth, null, null);
}

/**
 * The canonical JSON text of `value`: keys sorted by UTF-16 code units at every level, no whitespace, safe
 * integers only. Throws the data-model codes (see {@link validateJsonValue}).
 */
export function canonicalJson(value: unknown, maxDepth: number = JSON_MAX_DEPTH): string {
  const out: string[] = [];
  walkJson(value, '', maxDepth, out, null);
  return out.join('');
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalJsonBytes(value: unknown, maxDepth: number = JSON_MAX_DEPTH): Uint8Array {
  return enc.encode(canonicalJson(value, maxDepth));
}

/**
 * A human-readable JSON text of `value`: same sorted key order as {@link canonicalJson}, two-space indentation
 * as `JSON.stringify(v, null, 2)` lays it out, and a final `\n`.
 */
export function prettyJson(value: unknown, maxDepth: number = JSON_MAX_DEPTH): string {
  const out: string[] = [];
  walkJson(value, '', maxDepth, out, '  ');
  out.push('\n');
  return out.join('');
}

function bad(message: string, data: Record<string, unknown> = {}, cause?: unknown): GatosError {
  return new GatosError('GATOS_E_PROOF_MALFORMED', `in-toto statement: ${message}`, {
    data,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Checks that `value` is an in-toto Statement v1 in the GATOS profile: exactly the fields `_type` (the v1 URI),
 * `subject` (1–1024 entries of exactly `name`: non-empty string and `digest`: a non-empty map from algorithm names
 * `[A-Za-z0-9_]{1,32}` to lowercase hex of whole bytes), `predicateType` (non-empty string) and `predicate` (a JSON
 * object); all JSON data with integers only. Throws `GATOS_E_PROOF_MALFORMED`.
 */
export function validateStatement(value: unknown): asserts value is InTotoStatement {
  if (!isPlainObject(value)) throw bad('not a JSON object');
  const keys = Object.keys(value).sort();
  const want = ['_type', 'predicate', 'predicateType', 'subject'];
  for (const k of keys) if (!want.includes(k)) throw bad(`unknown field ${JSON.stringify(k)}`, { field: k });
  for (const k of want) if (!Object.hasOwn(value, k)) throw bad(`missing field ${k}`, { field: k });
  if (value._type !== IN_TOTO_STATEMENT_TYPE) {
    throw bad(`_type must be ${IN_TOTO_STATEMENT_TYPE}`, { field: '_type', actual: value._type });
  }
  const subject = value.subject;
  if (!Array.isArray(subject) || subject.length === 0 || subject.length > MAX_SUBJECTS) {
    throw bad(`subject must be an array of 1 to ${MAX_SUBJECTS} entries`, { field: 'subject' });
  }
  subject.forEach((s: unknown, i) => {
    const field = `subject[${i}]`;
    if (!isPlainObject(s)) throw bad(`${field} is not an object`, { field });
    const sk = Object.keys(s);
    if (sk.length !== 2 || !Object.hasOwn(s, 'name') || !Object.hasOwn(s, 'digest')) {
      throw bad(`${field} must have exactly name and digest`, { field });
    }
    if (typeof s.name !== 'string' || s.name === '')
      throw bad(`${field}.name must be a non-empty string`, { field });
    const d = s.digest;
    if (!isPlainObject(d) || Object.keys(d).length === 0) {
      throw bad(`${field}.digest must be a non-empty object`, { field });
    }
    for (const [alg, hex] of Object.entries(d)) {
      if (!DIGEST_ALG_RE.test(alg))
        throw bad(`${field}.digest has an invalid algorithm name`, { field, alg });
      if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
        throw bad(`${field}.digest.${alg} is not lowercase hex`, { field, alg });
      }
    }
  });
  if (typeof value.predicateType !== 'string' || value.predicateType === '') {
    throw bad('predicateType must be a non-empty string', { field: 'predicateType' });
  }
  if (!isPlainObject(value.predicate)) throw bad('predicate must be a JSON object', { field: 'predicate' });
  try {
    validateJsonValue(value, 'statement');
  } catch (e) {
    if (isGatosError(e)) throw bad(e.message, { ...e.data, reason: e.code }, e);
    throw e;
  }
}

/** Builds and validates a statement (the predicate is kept as given; it must be JSON data). */
export function buildStatement<P>(
  subject: InTotoSubject[],
  predicateType: string,
  predicate: P,
): InTotoStatement<P> {
  const st = { _type: IN_TOTO_STATEMENT_TYPE, subject, predicateType, predicate } as const;
  validateStatement(st);
  return st as InTotoStatement<P>;
}

/** The canonical bytes of a statement (validated first). */
export function statementBytes(statement: InTotoStatement<unknown>): Uint8Array {
  validateStatement(statement);
  return canonicalJsonBytes(statement);
}

/**
 * Parses statement bytes: UTF-8, JSON, {@link validateStatement}, and the bytes MUST be exactly the canonical JSON
 * of the result (`data.reason: 'not-canonical'` otherwise). Throws `GATOS_E_PROOF_MALFORMED`.
 */
export function parseStatement(bytes: Uint8Array, maxBytes: number = STATEMENT_MAX_BYTES): InTotoStatement {
  if (!(bytes instanceof Uint8Array)) throw bad('input is not bytes');
  if (bytes.length > maxBytes) throw bad(`${bytes.length} bytes exceed ${maxBytes}`, { size: bytes.length });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw bad('not UTF-8', {}, cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw bad(`not JSON: ${(cause as Error).message}`, {}, cause);
  }
  validateStatement(value);
  const again = canonicalJsonBytes(value);
  if (Buffer.compare(again, bytes) !== 0) {
    let at = 0;
    while (at < again.length && at < bytes.length && again[at] === bytes[at]) at++;
    throw bad(`bytes are not canonical JSON (first difference at byte ${at})`, {
      reason: 'not-canonical',
      offset: at,
    });
  }
  return value;
}
