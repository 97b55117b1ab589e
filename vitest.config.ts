import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; every package entry point (and subpath export) maps to its source file.
    alias: [
      { find: /^@gatos\/core$/, replacement: src('gatos-core/src/index.ts') },
      { find: /^@gatos\/core\/(errors|ref-layout)$/, replacement: src('gatos-core/src/$1.ts') },
      { find: /^@gatos\/git$/, replacement: src('gatos-git/src/index.ts') },
      { find: /^@gatos\/gatosd$/, replacement: src('gatosd/src/index.ts') },
      { find: /^@gatos\/gatosd\/(gate|daemon|jobs|identity)$/, replacement: src('gatosd/src/$1/index.ts') },
    ],
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'conformance/**/*.test.ts',
      'test/**/*.test.ts',
    ],
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
