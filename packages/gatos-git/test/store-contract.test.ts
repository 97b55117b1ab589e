/** The git stores keep the store contract core's memory stores keep (one suite, `gatos-core/test/store-contract.ts`). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../../gatos-core/test/store-contract.js';
import { createObjectStore, createRefStore, openRepository } from '../src/index.js';

for (const syncIo of [false, true]) {
  storeContract(`git (${syncIo ? 'sync' : 'async'} I/O)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatos-contract-'));
    execFileSync('git', ['init', '-q', '--bare', dir]);
    const repo = await openRepository({ cwd: dir });
    const objects = createObjectStore(repo, { syncIo });
    return {
      objects,
      refs: createRefStore(repo, { syncIo }),
      close: async () => {
        // git agrees with everything the stores wrote.
        execFileSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: dir, stdio: 'ignore' });
        await objects.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
