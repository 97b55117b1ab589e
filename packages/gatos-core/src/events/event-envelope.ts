/**
 * The GATOS event envelope: its type, validation, canonical bytes and ingest.
 *
 * Normative text: `spec/event-envelope.md`. Vectors: `conformance/envelope/`.
 */
import {
  type CanonicalOptions,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_DEPTH,
  decodeStrict,
  encodeValidated,
  type PlainData,
  validatePlainData,
} from '../encoding/canonical.js';
import { GatosError, type ErrorCode } from '../errors.js';

/** An event envelope, without its signature (which travels in the journal commit's trailers). */
export interface EventEnvelope {
  /** Dotted lowercase type name, e.g. `issue.comment.added`; see {@link EVENT_TYPE_RE}. */
  type: string;
  /** Canonical (uppercase) 26-char Crockford base32 ULID. */
  ulid: string;
  /** `user:<name>`, `agent:<name>` or `service:<name>`. */
  actor: string;
  /** Any plain data. */
  payload: PlainData;
  /** 64 lowercase hex chars: the 32-byte digest of the policy the event was written under. */
  policy_root: string;
  /** Capabilities claimed: non-empty, strictly ascending (sorted, unique); absent when none. */
  caps?: readonly string[];
  /** Always `ed25519`. */
  sig_alg: 'ed25519';
  /** RFC 3339 UTC with exactly 3 fraction digits: `YYYY-MM-DDTHH:MM:SS.sssZ`. */
  ts: string;
}

/** What {@link createEnvelope} takes: caps in any order (sorted, de-duplicated, dropped when empty). */
export interface EnvelopeInit {
  type: string;
  ulid: string;
  actor: string;
  payload: PlainData;
  policy_root: string;
  caps?: Iterable<string> | undefined;
  ts: string;
  sig_alg?: 'ed25519';
}

/** Limits for envelopes: `maxBytes` (default 1 MiB) bounds the encoded envelope, `maxDepth` the payload. */
export type EnvelopeOptions = CanonicalOptions;

/** Event type grammar: dotted segments `[a-z][a-z0-9_-]*`, at most {@link MAX_NAME_LENGTH} chars. */
export const EVENT_TYPE_RE = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)*$/;
/** Capability grammar: the same as {@link EVENT_TYPE_RE}. */
export const CAPABILITY_RE = EVENT_TYPE_RE;
/** Longest type or capability name. */
export const MAX_NAME_LENGTH = 128;
/** Most capabilities in one envelope. */
export const MAX_CAPS = 64;
/** Canonical ULID: 26 Crockford base32 chars, uppercase, first char 0-7 (48-bit time). */
export const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
/** Envelope actor: `user|agent|service:<name>`. */
export const ENVELOPE_ACTOR_RE = /^(?:user|agent|service):[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
/** Policy root: 32-byte digest as 64 lowercase hex chars. */
export const POLICY_ROOT_RE = /^[0-9a-f]{64}$/;
/** Timestamp shape: `YYYY-MM-DDTHH:MM:SS.sssZ` (calendar checked separately). */
export const TS_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/;
/** The only signature algorithm. */
export const SIG_ALG = 'ed25519';

const REQUIRED = ['type', 'ulid', 'actor', 'payload', 'policy_root', 'sig_alg', 'ts'] as const;
const KNOWN = new Set<string>([...REQUIRED, 'caps']);

function bad(code: ErrorCode, field: string, message: string, hint: string, value?: unknown): never {
  throw new GatosError(code, `${field}: ${message}`, {
    data: { path: field, ...(value === undefined ? {} : { value }) },
    hint,
  });
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True for a canonical GATOS timestamp naming a real instant (proleptic Gregorian, no leap second). */
export function isEnvelopeTimestamp(ts: unknown): ts is string {
  if (typeof ts !== 'string') return false;
  const m = TS_RE.exec(ts);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h <= 23 && mi <= 59 && s <= 59;
}

/** The canonical `ts` of a JS Date (years 0000–9999): `Date.prototype.toISOString()`. */
export function envelopeTimestamp(date: Date): string {
  const ts = date.toISOString();
  if (!isEnvelopeTimestamp(ts)) {
    throw new GatosError('GATOS_E_ENVELOPE_TS', `date ${ts} is outside years 0000-9999`, {
      data: { path: 'ts', value: ts },
    });
  }
  return ts;
}

function isName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MAX_NAME_LENGTH && EVENT_TYPE_RE.test(s);
}

function fieldType(field: string, value: unknown, want: string): void {
  if (typeof value !== want) {
    bad(
      'GATOS_E_ENVELOPE_SHAPE',
      field,
      `must be a ${want}, got ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`,
      `\`${field}\` is a ${want}`,
    );
  }
}

/**
 * Throws the {@link GatosError} of the first problem, checking in this order: shape (plain object), unknown
 * fields, missing fields, then `type`, `ulid`, `actor`, `ts`, `policy_root`, `caps`, `sig_alg`, `payload`.
 * Does not check the encoded size; {@link encodeEnvelope} does.
 */
export function validateEnvelope(value: unknown, opts: EnvelopeOptions = {}): asserts value is EventEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatosError('GATOS_E_ENVELOPE_SHAPE', 'the envelope must be a map (JSON object)', {
      data: { path: '(root)' },
    });
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new GatosError('GATOS_E_ENVELOPE_SHAPE', 'the envelope must be a plain object', {
      data: { path: '(root)' },
    });
  }
  const own = Reflect.ownKeys(value);
  const unknown = own.filter((k) => typeof k !== 'string' || !KNOWN.has(k)).map(String);
  if (unknown.length > 0) {
    throw new GatosError(
      'GATOS_E_ENVELOPE_UNKNOWN_FIELD',
      `unknown envelope field(s): ${unknown.join(', ')}`,
      {
        data: { fields: unknown, path: unknown[0] },
        hint: `envelope fields are ${[...KNOWN].sort().join(', ')}; the signature travels outside the envelope`,
      },
    );
  }
  const env = value as Record<string, unknown>;
  const missing = REQUIRED.filter((f) => !Object.hasOwn(env, f));
  if (missing.length > 0) {
    throw new GatosError('GATOS_E_ENVELOPE_SHAPE', `missing envelope field(s): ${missing.join(', ')}`, {
      data: { fields: missing, path: missing[0] },
    });
  }
  for (const k of own as string[]) {
    if (!Object.prototype.propertyIsEnumerable.call(env, k)) {
      bad('GATOS_E_ENVELOPE_SHAPE', k, 'is not an enumerable property', 'use a plain object literal');
    }
  }

  fieldType('type', env.type, 'string');
  if (!isName(env.type)) {
    bad(
      'GATOS_E_ENVELOPE_TYPE',
      'type',
      `invalid type name ${JSON.stringify(env.type)}`,
      `dotted lowercase segments [a-z][a-z0-9_-]*, at most ${MAX_NAME_LENGTH} chars, e.g. issue.comment.added`,
      env.type,
    );
  }
  fieldType('ulid', env.ulid, 'string');
  if (!ULID_RE.test(env.ulid as string)) {
    bad(
      'GATOS_E_ENVELOPE_ULID',
      'ulid',
      `invalid ULID ${JSON.stringify(env.ulid)}`,
      '26 uppercase Crockford base32 chars (no I, L, O, U), first char 0-7',
      env.ulid,
    );
  }
  fieldType('actor', env.actor, 'string');
  if (!ENVELOPE_ACTOR_RE.test(env.actor as string)) {
    bad(
      'GATOS_E_ENVELOPE_ACTOR',
      'actor',
      `invalid actor ${JSON.stringify(env.actor)}`,
      'user:<name>, agent:<name> or service:<name>; name [A-Za-z0-9][A-Za-z0-9._@+-]{0,127}',
      env.actor,
    );
  }
  fieldType('ts', env.ts, 'string');
  if (!isEnvelopeTimestamp(env.ts)) {
    bad(
      'GATOS_E_ENVELOPE_TS',
      'ts',
      `invalid timestamp ${JSON.stringify(env.ts)}`,
      'UTC with milliseconds, a real date and time: YYYY-MM-DDTHH:MM:SS.sssZ (Date.prototype.toISOString)',
      env.ts,
    );
  }
  fieldType('policy_root', env.policy_root, 'string');
  if (!POLICY_ROOT_RE.test(env.policy_root as string)) {
    bad(
      'GATOS_E_ENVELOPE_POLICY_ROOT',
      'policy_root',
      `invalid policy root ${JSON.stringify(env.policy_root)}`,
      '64 lowercase hex chars (a 32-byte digest)',
      env.policy_root,
    );
  }
  if (Object.hasOwn(env, 'caps')) validateCaps(env.caps);
  fieldType('sig_alg', env.sig_alg, 'string');
  if (env.sig_alg !== SIG_ALG) {
    bad(
      'GATOS_E_ENVELOPE_SIG_ALG',
      'sig_alg',
      `unsupported algorithm ${JSON.stringify(env.sig_alg)}`,
      'sig_alg is exactly "ed25519"',
      env.sig_alg,
    );
  }
  validatePlainData(env.payload, 'payload', opts.maxDepth ?? DEFAULT_MAX_DEPTH);
}

function validateCaps(caps: unknown): void {
  if (!Array.isArray(caps) || Object.getPrototypeOf(caps) !== Array.prototype) {
    bad(
      'GATOS_E_ENVELOPE_SHAPE',
      'caps',
      `must be an array, got ${caps === null ? 'null' : typeof caps}`,
      'omit caps when there are none',
    );
  }
  const list = caps as unknown[];
  const hint = `non-empty, sorted, unique names like ${'`journal.append`'}; at most ${MAX_CAPS}`;
  if (list.length === 0) bad('GATOS_E_ENVELOPE_CAPS', 'caps', 'is empty', 'omit caps when there are none');
  if (list.length > MAX_CAPS) bad('GATOS_E_ENVELOPE_CAPS', 'caps', `has more than ${MAX_CAPS} entries`, hint);
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    const path = `caps[${i}]`;
    if (!isName(c)) {
      bad('GATOS_E_ENVELOPE_CAPS', path, `invalid capability ${JSON.stringify(c) ?? String(c)}`, hint, c);
    }
    if (i > 0 && !((list[i - 1] as string) < c)) {
      const dup = list[i - 1] === c;
      bad('GATOS_E_ENVELOPE_CAPS', path, dup ? `duplicate capability ${c}` : `not sorted: ${c}`, hint, c);
    }
  }
}

/** Builds a validated envelope: sorts and de-duplicates caps (omitted when empty), defaults `sig_alg`. */
export function createEnvelope(init: EnvelopeInit, opts: EnvelopeOptions = {}): EventEnvelope {
  const env: EventEnvelope = {
    type: init.type,
    ulid: init.ulid,
    actor: init.actor,
    payload: init.payload,
    policy_root: init.policy_root,
    sig_alg: init.sig_alg ?? SIG_ALG,
    ts: init.ts,
  };
  if (init.caps !== undefined) {
    const caps = [...new Set(init.caps)].sort();
    if (caps.length > 0) env.caps = caps;
  }
  validateEnvelope(env, opts);
  return env;
}

/** Validates and returns the canonical bytes: DAG-CBOR of the envelope (no signature). */
export function encodeEnvelope(env: EventEnvelope, opts: EnvelopeOptions = {}): Uint8Array {
  validateEnvelope(env, opts);
  return encodeValidated(env, opts.maxBytes ?? DEFAULT_MAX_BYTES);
}

/**
 * Ingests envelope bytes: size limit (`GATOS_E_PAYLOAD_TOO_LARGE`), nesting limit (`GATOS_E_PAYLOAD_DEPTH`),
 * strict DAG-CBOR decode (`GATOS_E_DECODE`), re-encode must equal the input (`GATOS_E_NOT_CANONICAL`), then
 * full validation.
 */
export function decodeEnvelope(bytes: Uint8Array, opts: EnvelopeOptions = {}): EventEnvelope {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const value = decodeStrict(bytes, opts.maxBytes ?? DEFAULT_MAX_BYTES, maxDepth + 1);
  validateEnvelope(value, opts);
  return value;
}

/**
 * Parses a JSON envelope (`GATOS_E_INPUT_JSON` when it is not JSON) and validates it. JSON numbers become JS
 * numbers: `1.0` is the integer 1, `1.5` is refused, integers beyond 2^53−1 are refused (they lost precision).
 * JSON cannot carry bytes or bigints; build such envelopes in code.
 */
export function envelopeFromJson(text: string, opts: EnvelopeOptions = {}): EventEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new GatosError('GATOS_E_INPUT_JSON', `envelope is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  validateEnvelope(value, opts);
  return value;
}
