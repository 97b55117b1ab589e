/**
 * The Merkle root of a segment: a binary blake3-256 tree over its messages' Event-CIDs (binary form), in order.
 *
 * leaf = H(0x00 ‖ cid bytes); node = H(0x01 ‖ left ‖ right); an odd node at the end of a level is promoted
 * unchanged to the next level; the root of no leaves is H(0x02). Normative text: `spec/message-bus.md`.
 *
 * The same root can be kept up to date while a segment grows ({@link MerklePeaks}), so sealing a 10k-message
 * segment costs a few hashes instead of 20k (~250 ms on a busy daemon's writer thread).
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { parseEventCid } from '../events/event-cid.js';

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

/**
 * A Merkle root under construction: the roots of the perfect subtrees over the first `count` leaves, biggest
 * first (one per set bit of `count`). Immutable: appending returns a new value.
 */
export interface MerklePeaks {
  readonly count: number;
  readonly peaks: readonly Uint8Array[];
}

/** The peaks of no leaves. */
export const EMPTY_MERKLE_PEAKS: MerklePeaks = { count: 0, peaks: [] };

/** Appends Event-CIDs (binary) as leaves: one leaf hash each and, on average, one node hash. */
export function appendMerkleLeaves(acc: MerklePeaks, cids: readonly Uint8Array[]): MerklePeaks {
  const peaks = [...acc.peaks];
  let count = acc.count;
  for (const cid of cids) {
    let node = merkleLeaf(cid);
    // Each trailing 1 bit of the count is a peak of the new leaf's size: pair with it, as the level walk would.
    for (let n = count; n & 1; n >>>= 1) node = h(NODE, peaks.pop()!, node);
    peaks.push(node);
    count++;
  }
  return { count, peaks };
}

/**
 * The root of the leaves so far, equal to {@link merkleRootBytes} over them: folding the peaks from the right is
 * what the level walk does when it promotes each level's odd last node until it meets a partner.
 */
export function merklePeaksRoot(acc: MerklePeaks): Uint8Array {
  const { peaks } = acc;
  if (peaks.length === 0) return h(EMPTY);
  let root = peaks[peaks.length - 1]!;
  for (let i = peaks.length - 2; i >= 0; i--) root = h(NODE, peaks[i]!, root);
  return root;
}
