/**
 * The Merkle root of a segment: a binary blake3-256 tree over its messages' Event-CIDs (binary form), in order.
 *
 * leaf = H(0x00 ‖ cid bytes); node = H(0x01 ‖ left ‖ right); an odd node at the end of a level is promoted
 * unchanged to the next level; the root of no leaves is H(0x02). Normative text: `spec/message-bus.md`.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { parseEventCid } from '../event-cid.js';

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);
const EMPTY = Uint8Array.of(0x02);

function h(...parts: Uint8Array[]): Uint8Array {
  const hasher = blake3.create();
  for (const p of parts) hasher.update(p);
  return hasher.digest();
}

/** The leaf hash of one Event-CID (binary). */
export function merkleLeaf(cidBytes: Uint8Array): Uint8Array {
  return h(LEAF, cidBytes);
}

/** The Merkle root (32 bytes) over Event-CIDs in binary form. */
export function merkleRootBytes(cids: readonly Uint8Array[]): Uint8Array {
  if (cids.length === 0) return h(EMPTY);
  let level = cids.map(merkleLeaf);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(h(NODE, level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** The Merkle root, as 64 lowercase hex chars, over Event-CID strings (`b…`). */
export function merkleRoot(cids: readonly string[]): string {
  return Buffer.from(merkleRootBytes(cids.map((c) => parseEventCid(c).bytes))).toString('hex');
}
