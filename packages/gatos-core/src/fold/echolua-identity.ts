/**
 * EchoLua engine identity: what a checkpoint records as `Fold-Engine`, so a verifier knows which VM produced a
 * state and its fuel counts.
 *
 * The id names the EchoLua version, the wasmoon version, the Lua version, the sha256 of the prelude source and
 * the sha256 of the WebAssembly binary wasmoon runs (`wasmoon/dist/glue.wasm`). Reading that file is the one file
 * system access of the pure core.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { ECHOLUA_PRELUDE } from './echolua-prelude.js';

/** The EchoLua release; bump it whenever the prelude, the value model or fuel accounting changes. */
export const ECHOLUA_RELEASE = '0.1.2';
/** The EchoLua version string. */
export const ECHOLUA_VERSION = `echolua/${ECHOLUA_RELEASE}`;
/** The wasmoon release EchoLua is pinned to (exact version in package.json). */
export const WASMOON_VERSION = '1.16.0';
/** The Lua language version inside wasmoon 1.16. */
export const LUA_VERSION = '5.4';

/** Path of the WebAssembly binary wasmoon loads. */
export function wasmoonWasmPath(): string {
  const main = createRequire(import.meta.url).resolve('wasmoon');
  return join(dirname(main), 'glue.wasm');
}

/** sha256 (hex) of the EchoLua prelude source. */
export function echoLuaPreludeSha256(): string {
  return bytesToHex(sha256(utf8ToBytes(ECHOLUA_PRELUDE)));
}

/** The parts of the engine identity (e.g. for `engineString` of proof-of-fold). */
export interface EchoLuaEngineParts {
  /** The EchoLua release, e.g. `0.1.0`. */
  echolua: string;
  /** The wasmoon release, e.g. `1.16.0`. */
  wasmoon: string;
  /** The Lua language version, `5.4`. */
  lua: string;
  /** sha256 (hex) of the WebAssembly binary wasmoon runs. */
  wasmSha256: string;
  /** sha256 (hex) of the EchoLua prelude source. */
  preludeSha256: string;
}

let parts: Promise<EchoLuaEngineParts> | undefined;

/** The engine identity parts; reads (once) the wasm binary wasmoon loads. */
export function echoLuaEngineParts(): Promise<EchoLuaEngineParts> {
  parts ??= readFile(wasmoonWasmPath()).then(
    (wasm) => ({
      echolua: ECHOLUA_RELEASE,
      wasmoon: WASMOON_VERSION,
      lua: LUA_VERSION,
      wasmSha256: bytesToHex(sha256(wasm)),
      preludeSha256: echoLuaPreludeSha256(),
    }),
    (e: unknown) => {
      parts = undefined;
      throw e;
    },
  );
  return parts;
}

/**
 * The engine id, e.g.
 * `echolua/0.1.0;wasmoon/1.16.0;lua/5.4;prelude-sha256:<64 hex>;wasm-sha256:<64 hex>`.
 */
export async function echoLuaEngineId(): Promise<string> {
  const p = await echoLuaEngineParts();
  return (
    `echolua/${p.echolua};wasmoon/${p.wasmoon};lua/${p.lua};` +
    `prelude-sha256:${p.preludeSha256};wasm-sha256:${p.wasmSha256}`
  );
}
