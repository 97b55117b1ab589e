/**
 * Computing git object ids (SHA-1 of `type len\0` + body) for verification, fast for many small objects.
 */
import { hash } from 'node:crypto';

/** Reused for small objects: one-shot `crypto.hash` over one buffer beats a Hash object per object (~1.5×). */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** The id git gives an object of this type and body. */
export function objectId(type: string, body: Uint8Array): string {
  const hl = scratch.write(`${type} ${body.length}\0`, 0, 'latin1');
  if (hl + body.length <= scratch.length) {
    scratch.set(body, hl);
    return hash('sha1', scratch.subarray(0, hl + body.length), 'hex');
  }
  return hash('sha1', Buffer.concat([scratch.subarray(0, hl), body]), 'hex');
}
