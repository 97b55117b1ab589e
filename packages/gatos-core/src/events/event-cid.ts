/**
 * Event-CID: `CIDv1(dag-cbor 0x71, blake3-256 multihash 0x1e)` over an envelope's canonical bytes.
 *
 * Binary form (36 bytes): `01 71 1e 20` + the 32-byte blake3 digest. String form: multibase base32 lower,
 * `b…` (59 chars), as `CID.toString()` writes it. Normative text: `spec/event-envelope.md` § Event-CID.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { GatosError } from '../errors.js';

/** Multicodec code of dag-cbor. */
export const DAG_CBOR_CODE = 0x71;
/** Multihash code of blake3 (256-bit output here). */
export const BLAKE3_256_CODE = 0x1e;
/** Length of an Event-CID's binary form. */
export const EVENT_CID_BYTES = 36;
const EVENT_CID_STRING_RE = /^b[a-z2-7]{58}$/;

/** The Event-CID of canonical envelope bytes (the caller encodes; this function only hashes). */
export function eventCid(canonicalBytes: Uint8Array): CID {
  return CID.createV1(DAG_CBOR_CODE, Digest.create(BLAKE3_256_CODE, blake3(canonicalBytes)));
}

/** The Event-CID string (`b…`, base32 lower) of canonical envelope bytes. */
export function eventCidString(canonicalBytes: Uint8Array): string {
  return eventCid(canonicalBytes).toString();
}

function invalid(message: string, value?: string): never {
  throw new GatosError('GATOS_E_CID_INVALID', message, {
    data: value === undefined ? {} : { cid: value },
    hint: 'an Event-CID is CIDv1, dag-cbor (0x71), blake3-256 (0x1e), written base32 lower: b…',
  });
}

/** True when `cid` is a CID object shaped like an Event-CID (v1, dag-cbor, 32-byte blake3 multihash). */
export function isEventCid(cid: unknown): cid is CID {
  const c = CID.asCID(cid);
  return (
    c !== null &&
    c.version === 1 &&
    c.code === DAG_CBOR_CODE &&
    c.multihash.code === BLAKE3_256_CODE &&
    c.multihash.size === 32 &&
    c.bytes.length === EVENT_CID_BYTES
  );
}

/** Throws `GATOS_E_CID_INVALID` unless `cid` is shaped like an Event-CID; returns it as a CID. */
export function assertEventCid(cid: unknown): CID {
  if (!isEventCid(cid)) invalid('not an Event-CID');
  return CID.asCID(cid)!;
}

/** Strictly parses an Event-CID string: base32 lower, exactly the canonical `toString()` form. */
export function parseEventCid(text: string): CID {
  if (typeof text !== 'string' || !EVENT_CID_STRING_RE.test(text))
    invalid('malformed Event-CID string', String(text));
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch (cause) {
    throw new GatosError('GATOS_E_CID_INVALID', `malformed Event-CID string: ${(cause as Error).message}`, {
      data: { cid: text },
      cause,
    });
  }
  if (!isEventCid(cid) || cid.toString() !== text) invalid('not an Event-CID', text);
  return cid;
}

/** Strictly parses an Event-CID's 36-byte binary form. */
export function eventCidFromBytes(bytes: Uint8Array): CID {
  if (!(bytes instanceof Uint8Array) || bytes.length !== EVENT_CID_BYTES)
    invalid('Event-CID bytes must be 36 bytes');
  let cid: CID;
  try {
    cid = CID.decode(bytes);
  } catch (cause) {
    throw new GatosError('GATOS_E_CID_INVALID', `malformed Event-CID bytes: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (!isEventCid(cid)) invalid('not an Event-CID');
  return cid;
}
