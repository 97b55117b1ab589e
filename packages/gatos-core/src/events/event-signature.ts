/**
 * Event signatures: a domain-separated signing input bound to the journal position, and the `ed25519:<base64>`
 * string form used in commit trailers. Normative text: `spec/event-envelope.md` § Signatures.
 *
 * signing input = "GATOS-EVENT-SIG-v1\0" ‖ ref (UTF-8) ‖ "\0" ‖ parent oid (40 lowercase hex; 40 zeros for the
 * first event) ‖ "\0" ‖ Event-CID binary bytes (36)
 */
import type { CID } from 'multiformats/cid';
import { assertSignature, ED25519_SIGNATURE_BYTES, sign, verifySignature } from '../trust/ed25519.js';
import { GatosError } from '../errors.js';
import { assertEventCid } from './event-cid.js';
import { isOid, ZERO_OID } from '../store/git-object.js';

/** Domain separation tag that starts every event signing input (19 bytes, ends in NUL). */
export const EVENT_SIG_DOMAIN = 'GATOS-EVENT-SIG-v1\0';

/** Where an event sits: its journal ref, the commit it extends, and its Event-CID. */
export interface EventSigContext {
  /** Full journal ref name, e.g. `refs/gatos/journal/…`; no NUL or control characters. */
  ref: string;
  /** Parent commit oid (40 lowercase hex); `null` or `ZERO_OID` for the first event of a journal. */
  parent: string | null;
  /** The event's Event-CID. */
  cid: CID;
}

const enc = new TextEncoder();
const DOMAIN_BYTES = enc.encode(EVENT_SIG_DOMAIN);
const REF_BAD_RE = /[\u0000-\u001f\u007f]/;

/** The exact bytes an event signature signs. Throws `GATOS_E_REF_NAME`, `GATOS_E_INTERNAL` or `GATOS_E_CID_INVALID`. */
export function eventSigningInput(ctx: EventSigContext): Uint8Array {
  const { ref } = ctx;
  const parent = ctx.parent === null ? ZERO_OID : ctx.parent;
  if (typeof ref !== 'string' || !ref.startsWith('refs/') || REF_BAD_RE.test(ref)) {
    throw new GatosError('GATOS_E_REF_NAME', `invalid journal ref for a signature: ${JSON.stringify(ref)}`, {
      data: { ref },
      hint: 'a full ref name starting with refs/, without control characters',
    });
  }
  if (!isOid(parent)) {
    throw new GatosError(
      'GATOS_E_INTERNAL',
      `invalid parent oid for a signature: ${JSON.stringify(parent)}`,
      {
        data: { parent },
      },
    );
  }
  const cid = assertEventCid(ctx.cid).bytes;
  const refBytes = enc.encode(ref);
  const out = new Uint8Array(DOMAIN_BYTES.length + refBytes.length + 1 + 40 + 1 + cid.length);
  let o = 0;
  out.set(DOMAIN_BYTES, o);
  o += DOMAIN_BYTES.length;
  out.set(refBytes, o);
  o += refBytes.length;
  out[o++] = 0;
  o += enc.encodeInto(parent, out.subarray(o)).written;
  out[o++] = 0;
  out.set(cid, o);
  return out;
}

/** Signs an event at its position; returns the 64-byte signature. */
export function signEvent(seed: Uint8Array, ctx: EventSigContext): Uint8Array {
  return sign(seed, eventSigningInput(ctx));
}

/** Strictly verifies an event signature (see `verifySignature`); false for any bad key, signature or context. */
export function verifyEventSignature(publicKey: Uint8Array, ctx: EventSigContext, sig: Uint8Array): boolean {
  let msg: Uint8Array;
  try {
    msg = eventSigningInput(ctx);
  } catch {
    return false;
  }
  return verifySignature(publicKey, msg, sig);
}

/** Like {@link verifyEventSignature} but throws the reason (`GATOS_E_SIG_INVALID`, `GATOS_E_SIG_MALFORMED`, …). */
export function assertEventSignature(publicKey: Uint8Array, ctx: EventSigContext, sig: Uint8Array): void {
  assertSignature(publicKey, eventSigningInput(ctx), sig);
}

/** Prefix of the signature string form. */
export const SIG_STRING_PREFIX = 'ed25519:';
// 64 bytes = 86 base64 chars + 2 padding; the last data char carries 2 bits, so its low 4 bits must be zero.
const SIG_STRING_RE = /^ed25519:[A-Za-z0-9+/]{85}[AQgw]==$/;

/** `ed25519:` + standard padded base64 of a 64-byte signature (for commit trailers). */
export function formatSignature(sig: Uint8Array): string {
  if (!(sig instanceof Uint8Array) || sig.length !== ED25519_SIGNATURE_BYTES) {
    throw new GatosError('GATOS_E_SIG_MALFORMED', 'a signature must be 64 bytes');
  }
  return SIG_STRING_PREFIX + Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).toString('base64');
}

/**
 * Strictly parses `ed25519:<base64>`: standard alphabet, padded, exactly 64 bytes, canonical (no stray bits).
 * Throws `GATOS_E_SIG_MALFORMED`. (Whether `S < L` is checked at verification.)
 */
export function parseSignature(text: string): Uint8Array {
  if (typeof text !== 'string' || !SIG_STRING_RE.test(text)) {
    throw new GatosError('GATOS_E_SIG_MALFORMED', 'signature is not `ed25519:` + 88 chars of padded base64', {
      data: { sig: typeof text === 'string' ? text.slice(0, 100) : typeof text },
    });
  }
  const bytes = Buffer.from(text.slice(SIG_STRING_PREFIX.length), 'base64');
  return Uint8Array.from(bytes);
}
