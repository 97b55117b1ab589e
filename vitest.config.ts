import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@gatos/core': src('gatos-core'),
      '@gatos/git': src('gatos-git'),
      '@gatos/gatosd': src('gatosd'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'conformance/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests forge commits with plain git (`commit-tree`); a fresh machine has no git identity configured.
    env: {
      GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'GATOS test',
      GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'test@gatos.invalid',
      GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'GATOS test',
      GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'test@gatos.invalid',
    },
    reporters: ['default', './vitest.summary-reporter.ts'],
  },
});
