/**
 * Plain data and its one canonical byte form: DAG-CBOR as `@ipld/dag-cbor` writes it.
 *
 * The encoder silently accepts values outside the GATOS data model (floats, `-0`, Maps, class instances, BigInt
 * beyond 64 bits) and the decoder silently accepts non-canonical input (unsorted keys, float16, CBOR `undefined`).
 * So every value is validated BEFORE encoding, and ingest requires that re-encoding the decoded value gives back
 * exactly the input bytes. See `spec/event-envelope.md` § Canonical encoding.
 */
import { bytesEqual } from './bytes.js';
import * as dagCbor from '@ipld/dag-cbor';
import { GatosError, type ErrorCode } from '../errors.js';

/**
 * The GATOS data model: what a payload may hold.
 *
 * Integers are safe JS numbers (|n| ≤ 2^53−1) or bigints in the signed 64-bit range; decoding returns a number
 * for safe values and a bigint otherwise. Bytes are `Uint8Array`s (decoded as plain `Uint8Array`).
 */
export type PlainData =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly PlainData[]
  | { readonly [key: string]: PlainData };

/** Limits for encoding and decoding. */
export interface CanonicalOptions {
  /** Largest encoded size accepted, in bytes (default {@link DEFAULT_MAX_BYTES}). */
  maxBytes?: number;
  /** Deepest nesting of arrays and maps accepted in a payload (default {@link DEFAULT_MAX_DEPTH}). */
  maxDepth?: number;
}

/** Default size limit of an encoded envelope: 1 MiB. */
export const DEFAULT_MAX_BYTES = 1_048_576;
/** Default nesting limit of a payload: 64 levels of arrays/maps. */
export const DEFAULT_MAX_DEPTH = 64;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const LONE_SURROGATE_RE = /\p{Surrogate}/u;
const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';

/** True when `s` is well-formed Unicode (no lone surrogates), i.e. survives a UTF-8 round trip unchanged. */
export function isWellFormedString(s: string): boolean {
  return hasIsWellFormed
    ? (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : !LONE_SURROGATE_RE.test(s);
}

/** Renders a data path like `payload.a[3]["odd key"]`. */
export function formatPath(base: string, segments: readonly (string | number)[]): string {
  let out = base;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENT_RE.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out === '' ? '(root)' : out;
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'object' && v !== null) {
    const ctor = (v as { constructor?: { name?: unknown } }).constructor;
    return typeof ctor?.name === 'string' && ctor.name !== ''
      ? `a ${ctor.name}`
      : 'an object with a foreign prototype';
  }
  return typeof v;
}

/**
 * Throws the {@link GatosError} of the first value outside the GATOS data model, in depth-first order (array
 * elements by index, object keys in own-property order). `base` names the root in error paths.
 */
export function validatePlainData(
  value: unknown,
  base = '',
  maxDepth: number = DEFAULT_MAX_DEPTH,
): asserts value is PlainData {
  const segs: (string | number)[] = [];
  const fail = (
    code: ErrorCode,
    what: string,
    hint?: string,
    extra?: Record<string, unknown>,
  ): GatosError => {
    const path = formatPath(base, segs);
    return new GatosError(code, `${path}: ${what}`, {
      data: { path, ...extra },
      ...(hint === undefined ? {} : { hint }),
    });
  };

  const walk = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case 'string':
        if (!isWellFormedString(v)) {
          throw fail(
            'GATOS_E_PAYLOAD_STRING',
            'string holds a lone surrogate',
            'strings must be well-formed Unicode',
          );
        }
        return;
      case 'boolean':
        return;
      case 'number':
        if (Number.isSafeInteger(v)) {
          if (Object.is(v, -0)) {
            throw fail('GATOS_E_PAYLOAD_FLOAT', '-0 is a float, not an integer', 'use 0', { value: '-0' });
          }
          return;
        }
        if (Number.isNaN(v) || !Number.isFinite(v)) {
          throw fail('GATOS_E_PAYLOAD_NAN', `${v} is not a number GATOS can encode`, undefined, {
            value: String(v),
          });
        }
        if (Number.isInteger(v)) {
          throw fail(
            'GATOS_E_PAYLOAD_UNSAFE_INT',
            `integer ${v} is beyond ±(2^53−1) and may have lost precision`,
            'pass integers beyond 2^53 as bigint (within the signed 64-bit range) or as strings',
            { value: String(v) },
          );
        }
        throw fail(
          'GATOS_E_PAYLOAD_FLOAT',
          `non-integer number ${v}`,
          'carry fractions as strings or scaled integers',
          { value: String(v) },
        );
      case 'bigint':
        if (v < INT64_MIN || v > INT64_MAX) {
          throw fail(
            'GATOS_E_PAYLOAD_UNSAFE_INT',
            `integer ${v} is outside the signed 64-bit range`,
            undefined,
            {
              value: String(v),
            },
          );
        }
        return;
      case 'undefined':
      case 'function':
      case 'symbol':
        throw fail(
          'GATOS_E_PAYLOAD_UNDEFINED',
          `${typeof v} is not plain data`,
          'omit the field or use null',
        );
      default:
        break;
    }
    if (v === null) return;
    if (v instanceof Uint8Array) return;
    const obj = v as object;
    if (depth >= maxDepth) {
      throw fail('GATOS_E_PAYLOAD_DEPTH', `nesting deeper than ${maxDepth} levels`, undefined, { maxDepth });
    }
    if (Array.isArray(obj)) {
      if (Object.getPrototypeOf(obj) !== Array.prototype) {
        throw fail('GATOS_E_PAYLOAD_CLASS', `${describe(obj)} is not a plain array`);
      }
      const arr = obj as unknown[];
      for (let i = 0; i < arr.length; i++) {
        segs.push(i);
        walk(arr[i], depth + 1);
        segs.pop();
      }
      return;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      throw fail(
        'GATOS_E_PAYLOAD_CLASS',
        `${describe(obj)} is not plain data`,
        'convert Maps, Sets, Dates and class instances to plain objects, arrays or strings',
      );
    }
    const keys = Object.keys(obj);
    const own = Reflect.ownKeys(obj);
    if (own.length !== keys.length) {
      const odd = own.find(
        (k) => typeof k === 'symbol' || !Object.prototype.propertyIsEnumerable.call(obj, k),
      );
      throw fail(
        'GATOS_E_PAYLOAD_KEY',
        typeof odd === 'symbol' ? `symbol key ${String(odd)}` : `non-enumerable key ${JSON.stringify(odd)}`,
        'map keys must be enumerable strings',
      );
    }
    for (const k of keys) {
      segs.push(k);
      if (!isWellFormedString(k)) {
        throw fail(
          'GATOS_E_PAYLOAD_KEY',
          'key holds a lone surrogate',
          'map keys must be well-formed Unicode',
        );
      }
      walk((obj as Record<string, unknown>)[k], depth + 1);
      segs.pop();
    }
  };
  walk(value, 0);
}

/** Encodes ALREADY VALIDATED data; checks the size limit. */
export function encodeValidated(value: PlainData | object, maxBytes: number = DEFAULT_MAX_BYTES): Uint8Array {
  const bytes = dagCbor.encode(value);
  if (bytes.length > maxBytes) {
    throw new GatosError(
      'GATOS_E_PAYLOAD_TOO_LARGE',
      `encoded size ${bytes.length} exceeds ${maxBytes} bytes`,
      {
        data: { size: bytes.length, maxBytes },
      },
    );
  }
  return bytes;
}

/** Validates `value` as {@link PlainData} and returns its canonical DAG-CBOR bytes. */
export function encodeCanonical(value: unknown, opts: CanonicalOptions = {}): Uint8Array {
  validatePlainData(value, '', opts.maxDepth ?? DEFAULT_MAX_DEPTH);
  return encodeValidated(value, opts.maxBytes ?? DEFAULT_MAX_BYTES);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeError(message: string, cause?: unknown): GatosError {
  return new GatosError('GATOS_E_DECODE', message, cause === undefined ? {} : { cause });
}

/**
 * A structural pre-scan of CBOR bytes: enforces the nesting limit (so hostile input cannot exhaust the decoder's
 * stack) and rejects text strings that are not valid UTF-8 (the decoder would replace them silently). Anything
 * else it does not understand (indefinite lengths, reserved values, truncation) is left for the decoder to refuse.
 */
function prescan(bytes: Uint8Array, maxNesting: number): void {
  const stack: number[] = [];
  let remaining = 1;
  let pos = 0;
  const n = bytes.length;
  for (;;) {
    if (remaining === 0) {
      const up = stack.pop();
      if (up === undefined) return;
      remaining = up;
      continue;
    }
    if (pos >= n) return;
    const ib = bytes[pos++]!;
    const major = ib >> 5;
    const ai = ib & 31;
    remaining--;
    let len: number;
    if (ai < 24) len = ai;
    else if (ai === 24) len = bytes[pos++] ?? 0;
    else if (ai === 25) {
      len = ((bytes[pos] ?? 0) << 8) | (bytes[pos + 1] ?? 0);
      pos += 2;
    } else if (ai === 26) {
      len =
        (bytes[pos] ?? 0) * 2 ** 24 +
        (bytes[pos + 1] ?? 0) * 2 ** 16 +
        (bytes[pos + 2] ?? 0) * 2 ** 8 +
        (bytes[pos + 3] ?? 0);
      pos += 4;
    } else if (ai === 27) {
      // 8-byte argument: fine for integers and floats; as a length it exceeds any input we accept.
      if (major >= 2 && major <= 5) return;
      pos += 8;
      len = 0;
    } else return; // reserved or indefinite: the decoder refuses it
    if (pos > n) return;
    switch (major) {
      case 2:
        pos += len;
        break;
      case 3: {
        const end = pos + len;
        if (end > n) return;
        for (let i = pos; i < end; i++) {
          if (bytes[i]! >= 0x80) {
            try {
              utf8.decode(bytes.subarray(pos, end));
            } catch (cause) {
              throw decodeError(`invalid UTF-8 in a text string at byte ${pos}`, cause);
            }
            break;
          }
        }
        pos = end;
        break;
      }
      case 4:
      case 5:
      case 6: {
        if (stack.length + 1 > maxNesting) {
          throw new GatosError('GATOS_E_PAYLOAD_DEPTH', `CBOR nests deeper than ${maxNesting} levels`, {
            data: { maxNesting },
          });
        }
        const items = major === 4 ? len : major === 5 ? 2 * len : 1;
        if (items > 0) {
          stack.push(remaining);
          remaining = items;
        }
        break;
      }
      default:
        break;
    }
  }
}

/**
 * Strict decode WITHOUT data-model validation: size limit, nesting limit, DAG-CBOR strict decode
 * (`GATOS_E_DECODE`), then re-encode must equal the input (`GATOS_E_NOT_CANONICAL`). `maxNesting` counts every
 * array/map/tag level from the root. Callers validate the result themselves.
 */
export function decodeStrict(bytes: Uint8Array, maxBytes: number, maxNesting: number): unknown {
  if (!(bytes instanceof Uint8Array)) throw decodeError('input is not a Uint8Array');
  if (bytes.length > maxBytes) {
    throw new GatosError(
      'GATOS_E_PAYLOAD_TOO_LARGE',
      `input of ${bytes.length} bytes exceeds ${maxBytes} bytes`,
      {
        data: { size: bytes.length, maxBytes },
      },
    );
  }
  if (bytes.length === 0) throw decodeError('empty input');
  prescan(bytes, maxNesting);
  let value: unknown;
  try {
    value = dagCbor.decode(bytes);
  } catch (cause) {
    throw decodeError(`not DAG-CBOR: ${(cause as Error)?.message ?? String(cause)}`, cause);
  }
  let again: Uint8Array;
  try {
    again = dagCbor.encode(value);
  } catch (cause) {
    throw new GatosError('GATOS_E_NOT_CANONICAL', 'decoded value cannot be re-encoded', { cause });
  }
  if (!bytesEqual(again, bytes)) {
    let at = 0;
    while (at < again.length && at < bytes.length && again[at] === bytes[at]) at++;
    throw new GatosError(
      'GATOS_E_NOT_CANONICAL',
      `bytes are not canonical DAG-CBOR (first difference at byte ${at})`,
      {
        data: { offset: at, size: bytes.length, canonicalSize: again.length },
        hint: 'sorted keys (length-first), minimal integers, no floats for integers, no CBOR undefined',
      },
    );
  }
  return value;
}

/** Strictly decodes canonical DAG-CBOR bytes and validates the result as {@link PlainData}. */
export function decodeCanonical(bytes: Uint8Array, opts: CanonicalOptions = {}): PlainData {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const value = decodeStrict(bytes, opts.maxBytes ?? DEFAULT_MAX_BYTES, maxDepth);
  validatePlainData(value, '', maxDepth);
  return value;
}
