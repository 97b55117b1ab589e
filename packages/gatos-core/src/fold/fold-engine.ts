/** One EchoLua engine with a repository profile's limits: what `fold`, `fold verify` and the push-gate start. */
import type { RepoConfig } from '../repo-config.js';
import { createEchoLua } from './echolua.js';
import type { LoadedFold } from './interface.js';
import { echoLuaEngineId } from './echolua-identity.js';

/** An engine with the profile's limits, its id (recorded as `Fold-Engine`), and the loader fold code uses. */
export interface FoldEngine {
  engine: string;
  loadFold: (source: string) => Promise<LoadedFold>;
  close: () => void;
}

/** Starts an EchoLua engine with the fuel and memory limits of `config`. */
export async function openFoldEngine(config: RepoConfig): Promise<FoldEngine> {
  const vm = await createEchoLua({ fuel: config.fold.fuel, memoryBytes: config.fold.memory_bytes });
  return {
    engine: await echoLuaEngineId(),
    loadFold: (source) => vm.loadFold(source, 'fold'),
    close: () => vm.close(),
  };
}
