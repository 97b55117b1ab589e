/**
 * DSSE v1 (Dead Simple Signing Envelope): the pre-authentication encoding, envelopes, signing and verification.
 *
 * A DSSE signature covers `PAE(payloadType, payload)`, never the envelope's JSON, so the JSON needs no canonical
 * form to verify. GATOS still writes one exact byte form ({@link serializeDsse}) because proof envelopes are stored
 * in git and named by digest. Normative text: `spec/proof-of-fold.md` § DSSE.
 */
import { isPlainObject } from '../encoding/bytes.js';
import { TRUST_KEYS_REF } from '../ref-layout.js';
import { isValidPublicKey, verifySignature } from '../trust/ed25519.js';
import { GatosError } from '../errors.js';

/** A DSSE signature entry: key id hint and the standard-base64 signature. */
export interface DsseSignature {
  keyid: string;
  sig: string;
}

/** A DSSE envelope (JSON shape of the DSSE spec). `payload` is standard base64 of the payload bytes. */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

/** Something that signs: its key id (written as `keyid`) and a function returning a 64-byte Ed25519 signature. */
export interface DsseSigner {
  keyId: string;
  sign(msg: Uint8Array): Uint8Array;
}

/** Resolves a `keyid` to its Ed25519 public key, or `undefined` when the key is unknown. */
export type DsseKeyResolver = (keyid: string) => Uint8Array | undefined;

/** Options of {@link verifyDsse}. */
export interface DsseVerifyOptions {
  /** How many distinct public keys must have a valid signature (default 1). */
  threshold?: number;
}

/** The outcome of one signature in {@link openDsse}. */
export type DsseSignatureResult =
  | 'ok'
  | 'unknown-key'
  | 'invalid-key'
  | 'malformed-signature'
  | 'bad-signature'
  | 'duplicate-key';

/** A verified envelope: its payload and the signatures that counted (one per distinct public key). */
export interface DsseOpened {
  payloadType: string;
  payload: Uint8Array;
  verified: { keyid: string; publicKey: Uint8Array }[];
  results: { keyid: string; result: DsseSignatureResult }[];
}

const enc = new TextEncoder();
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_SIGNATURES = 64;

function malformed(message: string, data: Record<string, unknown> = {}): GatosError {
  return new GatosError('GATOS_E_PROOF_MALFORMED', `DSSE envelope: ${message}`, {
    data,
    hint: 'a DSSE envelope is {"payloadType","payload","signatures":[{"keyid","sig"}]}, base64 standard and padded',
  });
}

function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/**
 * Strict standard base64 (RFC 4648 § 4, `+/`, padded, no whitespace): the input must be exactly what
 * re-encoding the decoded bytes gives, so each byte string has one spelling. Returns null otherwise.
 */
export function decodeBase64Strict(text: string): Uint8Array | null {
  if (typeof text !== 'string' || !BASE64_RE.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The DSSE v1 pre-authentication encoding:
 * `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths as ASCII decimal byte counts (type as UTF-8).
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  if (typeof payloadType !== 'string') throw malformed('payloadType is not a string');
  if (!(payload instanceof Uint8Array)) throw malformed('payload is not bytes');
  const type = enc.encode(payloadType);
  const head = enc.encode(`DSSEv1 ${type.length} `);
  const mid = enc.encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + type.length + mid.length + payload.length);
  out.set(head, 0);
  out.set(type, head.length);
  out.set(mid, head.length + type.length);
  out.set(payload, head.length + type.length + mid.length);
  return out;
}

/** Signs `payload` with every signer, in the order given; returns the envelope. */
export function signDsse(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly DsseSigner[],
): DsseEnvelope {
  if (typeof payloadType !== 'string' || payloadType === '') throw malformed('payloadType must not be empty');
  if (signers.length === 0) throw malformed('at least one signer is required');
  const msg = pae(payloadType, payload);
  const signatures = signers.map((s) => {
    if (typeof s.keyId !== 'string' || s.keyId === '') throw malformed('a signer has an empty key id');
    const sig = s.sign(msg);
    if (!(sig instanceof Uint8Array) || sig.length !== 64) {
      throw malformed(`signer ${s.keyId} returned a signature that is not 64 bytes`, { keyid: s.keyId });
    }
    return { keyid: s.keyId, sig: toBase64(sig) };
  });
  return { payloadType, payload: toBase64(payload), signatures };
}

function exactKeys(v: Record<string, unknown>, keys: readonly string[], what: string): void {
  const own = Object.keys(v);
  for (const k of own)
    if (!keys.includes(k)) throw malformed(`${what} has an unknown field ${JSON.stringify(k)}`);
  for (const k of keys) if (!Object.hasOwn(v, k)) throw malformed(`${what} misses the field ${k}`);
}

/**
 * Checks the shape of a DSSE envelope: exactly `payloadType` (non-empty string), `payload` (strict standard
 * base64) and `signatures` (0–64 entries of exactly `keyid`: non-empty string, `sig`: strict base64). Throws
 * `GATOS_E_PROOF_MALFORMED`.
 */
export function assertDsseEnvelope(value: unknown): asserts value is DsseEnvelope {
  if (!isPlainObject(value)) throw malformed('not a JSON object');
  exactKeys(value, ['payloadType', 'payload', 'signatures'], 'envelope');
  if (typeof value.payloadType !== 'string' || value.payloadType === '') {
    throw malformed('payloadType must be a non-empty string');
  }
  if (typeof value.payload !== 'string' || decodeBase64Strict(value.payload) === null) {
    throw malformed('payload is not strict standard base64');
  }
  const sigs = value.signatures;
  if (!Array.isArray(sigs)) throw malformed('signatures is not an array');
  if (sigs.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signatures`);
  sigs.forEach((s: unknown, i) => {
    if (!isPlainObject(s)) throw malformed(`signatures[${i}] is not an object`);
    exactKeys(s, ['keyid', 'sig'], `signatures[${i}]`);
    if (typeof s.keyid !== 'string' || s.keyid === '') {
      throw malformed(`signatures[${i}].keyid must be a non-empty string`);
    }
    if (typeof s.sig !== 'string' || decodeBase64Strict(s.sig) === null) {
      throw malformed(`signatures[${i}].sig is not strict standard base64`);
    }
  });
}

/**
 * The one byte form GATOS writes for an envelope: `JSON.stringify` of
 * `{"payloadType","payload","signatures":[{"keyid","sig"},…]}` in exactly that key order, no whitespace, then
 * one `\n`; UTF-8.
 */
export function serializeDsse(envelope: DsseEnvelope): Uint8Array {
  assertDsseEnvelope(envelope);
  const ordered = {
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
  };
  return enc.encode(`${JSON.stringify(ordered)}\n`);
}

/**
 * Parses envelope bytes (UTF-8 JSON) and checks its shape. With `canonical` (default true) the bytes must also be
 * exactly {@link serializeDsse} of the result. Throws `GATOS_E_PROOF_MALFORMED`.
 */
export function parseDsse(bytes: Uint8Array | string, opts: { canonical?: boolean } = {}): DsseEnvelope {
  let text: string;
  let raw: Uint8Array;
  if (typeof bytes === 'string') {
    text = bytes;
    raw = enc.encode(bytes);
  } else {
    raw = bytes;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw malformed('not UTF-8');
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new GatosError('GATOS_E_PROOF_MALFORMED', `DSSE envelope: not JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  assertDsseEnvelope(value);
  if (opts.canonical ?? true) {
    const again = serializeDsse(value);
    if (Buffer.compare(again, raw) !== 0) {
      throw malformed('bytes are not the canonical serialization', { reason: 'not-canonical' });
    }
  }
  return value;
}

/**
 * Verifies an envelope and returns its payload, the signatures that counted and the verdict of each. Each
 * signature's `keyid` is resolved with `resolveKey`; a signature counts when its key is known, valid, its
 * signature verifies over the PAE, and its public key has not counted already (quorums count distinct public
 * keys, not key ids). Throws `GATOS_E_PROOF_MALFORMED` for a bad shape and `GATOS_E_PROOF_SIG` when fewer than
 * `threshold` distinct keys verify (also when there is no signature at all).
 */
export function openDsse(
  envelope: unknown,
  resolveKey: DsseKeyResolver,
  opts: DsseVerifyOptions = {},
): DsseOpened {
  const threshold = opts.threshold ?? 1;
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw new GatosError('GATOS_E_INTERNAL', `invalid DSSE threshold ${threshold}`);
  }
  assertDsseEnvelope(envelope);
  const payload = decodeBase64Strict(envelope.payload)!;
  const msg = pae(envelope.payloadType, payload);
  const seen = new Set<string>();
  const verified: DsseOpened['verified'] = [];
  const results: DsseOpened['results'] = [];
  for (const s of envelope.signatures) {
    const result = ((): DsseSignatureResult => {
      const pk = resolveKey(s.keyid);
      if (pk === undefined) return 'unknown-key';
      if (!isValidPublicKey(pk)) return 'invalid-key';
      const sig = decodeBase64Strict(s.sig)!;
      if (sig.length !== 64) return 'malformed-signature';
      if (!verifySignature(pk, msg, sig)) return 'bad-signature';
      const id = Buffer.from(pk).toString('hex');
      if (seen.has(id)) return 'duplicate-key';
      seen.add(id);
      verified.push({ keyid: s.keyid, publicKey: pk });
      return 'ok';
    })();
    results.push({ keyid: s.keyid, result });
  }
  if (verified.length < threshold) {
    const why =
      results.length === 0 ? 'no signatures' : results.map((r) => `${r.keyid}: ${r.result}`).join(', ');
    throw new GatosError(
      'GATOS_E_PROOF_SIG',
      `DSSE envelope: ${verified.length} of ${threshold} required signatures verify (${why})`,
      {
        data: { threshold, verified: verified.length, signatures: results },
        hint: `the signing key must be registered on ${TRUST_KEYS_REF} and sign the PAE of this payload`,
      },
    );
  }
  return { payloadType: envelope.payloadType, payload, verified, results };
}

/** Verifies an envelope ({@link openDsse}) and returns the verified payload bytes. */
export function verifyDsse(
  envelope: unknown,
  resolveKey: DsseKeyResolver,
  opts: DsseVerifyOptions = {},
): Uint8Array {
  return openDsse(envelope, resolveKey, opts).payload;
}
