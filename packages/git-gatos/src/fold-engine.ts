/** The shell around EchoLua for fold commands: one engine per command, limits from the repository profile. */
import {
  type DsseSigner,
  type EchoLua,
  type LoadedFold,
  type RepoConfig,
  createEchoLua,
  echoLuaEngineId,
  sign,
} from '@gatos/core';
import type { KeyFile } from './key-file.js';

/** An engine with the profile's limits, and the loader fold code uses. */
export interface FoldEngine {
  engine: string;
  loadFold: (source: string) => Promise<LoadedFold>;
  close: () => void;
}

/** Starts an EchoLua engine for `config`. */
export async function openFoldEngine(config: RepoConfig): Promise<FoldEngine> {
  const vm: EchoLua = await createEchoLua({ fuel: config.fold.fuel, memoryBytes: config.fold.memory_bytes });
  return {
    engine: await echoLuaEngineId(),
    loadFold: (source) => vm.loadFold(source, 'fold'),
    close: () => vm.close(),
  };
}

/** A DSSE signer from a local key file. */
export function dsseSignerOf(key: KeyFile): DsseSigner {
  const seed = Uint8Array.from(Buffer.from(key.seed, 'hex'));
  return { keyId: key.key_id, sign: (msg) => sign(seed, msg) };
}
