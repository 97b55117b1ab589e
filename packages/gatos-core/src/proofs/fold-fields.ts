import { GatosError } from '../errors.js';
import { parseEventCid } from '../events/event-cid.js';

export const HEX64_RE = /^[0-9a-f]{64}$/;
export const ENGINE_RE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;
export const MAX_JOURNALS = 100_000;

export function malformed(field: string, why: string, actual?: unknown): GatosError {
  return new GatosError('GATOS_E_PROOF_MALFORMED', `proof-of-fold ${field}: ${why}`, {
    data: { field, ...(actual === undefined ? {} : { actual }) },
  });
}

export function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

export function mismatch(
  field: string,
  expected: unknown,
  actual: unknown,
  what = 'proof-of-fold',
): GatosError {
  return new GatosError(
    'GATOS_E_PROOF_MISMATCH',
    `${what} ${field}: expected ${show(expected)}, got ${show(actual)}`,
    { data: { field, expected, actual } },
  );
}

export function exactKeys(v: Record<string, unknown>, keys: readonly string[], field: string): void {
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw malformed(field, `unknown field ${JSON.stringify(k)}`);
  }
  for (const k of keys) if (!Object.hasOwn(v, k)) throw malformed(field, `missing field ${k}`);
}

export function isCid(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    parseEventCid(v);
    return true;
  } catch {
    return false;
  }
}

export const isCount = (v: unknown, min: number): v is number =>
  Number.isSafeInteger(v) && (v as number) >= min;
