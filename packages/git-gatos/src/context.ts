/** Opens the repository a command runs in: the git store behind the pure core. */
import type { ObjectStore, RefStore } from '@gatos/core';
import { createObjectStore, createRefStore, openRepository, type Repository } from '@gatos/git';
import type { CliIo } from './command.js';

/** An opened repository with its stores; call `close()` when done. */
export interface GatosContext {
  repo: Repository;
  objects: ObjectStore;
  refs: RefStore;
  close: () => Promise<void>;
}

/** Opens the repository containing `io.cwd`; throws `GATOS_E_NOT_A_REPO` outside one. */
export async function openContext(io: CliIo): Promise<GatosContext> {
  const repo = await openRepository({ cwd: io.cwd });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  return { repo, objects, refs, close: () => objects.close() };
}

/** Runs `fn` with an opened repository and always closes it. */
export async function withContext<T>(io: CliIo, fn: (ctx: GatosContext) => Promise<T>): Promise<T> {
  const ctx = await openContext(io);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
