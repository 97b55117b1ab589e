/**
 * zlib deflate for object bodies, sized for many small objects.
 */
import { deflateSync } from 'node:zlib';

/**
 * Deflates at a fixed level (so bytes depend only on the input and zlib's version). The output chunk is sized
 * to the input: with the default 16 KiB chunk, each small result is a view pinning 16 KiB, and a batch of
 * 100k objects spends most of its time in the garbage collector (measured: 9 s vs 2 s for 150k objects).
 */
export function deflateBody(data: Uint8Array): Buffer {
  return deflateSync(data, { level: 6, chunkSize: Math.max(64, Math.min(16384, data.length + 64)) });
}
