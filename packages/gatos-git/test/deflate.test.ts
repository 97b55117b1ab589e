import { randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { blobObject } from '@gatos/core';
import { afterAll, describe, expect, it } from 'vitest';
import { adler32, deflateBody, STORED_MAX_BYTES, storedZlib } from '../src/deflate.js';
import { createObjectStore, openRepository } from '../src/index.js';
import { expectFsckClean, git, tempRepo } from './helpers.js';

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

describe('deflate', () => {
  it('computes Adler-32 (RFC 1950 vectors, and across the modulo-reduction runs)', () => {
    expect(adler32(new Uint8Array(0))).toBe(1);
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
    // 0xff bytes stress the running sums: zlib's own checksum is the reference.
    const big = Buffer.alloc(200_000, 0xff);
    const z = storedZlib(big);
    expect(z.readUInt32BE(z.length - 4)).toBe(adler32(big));
    expect(inflateSync(z).equals(big)).toBe(true);
  });

  it('stored streams inflate back at every block boundary', () => {
    for (const n of [0, 1, 2, 1024, 65534, 65535, 65536, 131070, 131071, 200_000]) {
      const data = randomBytes(n);
      const z = storedZlib(data);
      expect(z.length).toBe(2 + Math.max(1, Math.ceil(n / 65535)) * 5 + n + 4);
      expect(inflateSync(z).equals(data)).toBe(true);
    }
  });

  it('stores small bodies and compresses large ones; the bytes depend only on the input', () => {
    const small = Buffer.alloc(STORED_MAX_BYTES, 'a');
    const large = Buffer.alloc(STORED_MAX_BYTES + 1, 'a');
    expect(deflateBody(small).length).toBe(small.length + 11);
    expect(deflateBody(large).length).toBeLessThan(100);
    expect(deflateBody(small).equals(deflateBody(Buffer.from(small)))).toBe(true);
    expect(inflateSync(deflateBody(large)).equals(large)).toBe(true);
  });

  it('git reads stored objects, loose and packed, on both sides of the threshold; fsck clean', async () => {
    for (const packThreshold of [1_000_000, 1]) {
      const r = tempRepo();
      cleanups.push(r.cleanup);
      const repo = await openRepository({ cwd: r.dir });
      const store = createObjectStore(repo, { packThreshold });
      const sizes = [0, 1, STORED_MAX_BYTES - 20, STORED_MAX_BYTES - 7, STORED_MAX_BYTES, 5000];
      const blobs = sizes.map((n) => blobObject(randomBytes(n)));
      await store.put(blobs);
      await store.close();
      for (const b of blobs) {
        expect(git(r.dir, 'cat-file', '-s', b.oid)).toBe(String(b.body.length));
      }
      for (const [i, b] of blobs.entries()) git(r.dir, 'update-ref', `refs/tags/b${i}`, b.oid);
      // fsck inflates every object and checks its id against the bytes.
      expectFsckClean(r.dir);
    }
  });
});
