/** EchoLua loads wasmoon lazily, so it keeps its own copy of Lua's registry pseudo-index: pinned to wasmoon's. */
import { LUA_REGISTRYINDEX } from 'wasmoon';
import { describe, expect, it } from 'vitest';
import { LUA_REGISTRY_INDEX } from '../../src/fold/echolua.js';

describe('EchoLua registry index', () => {
  it("equals wasmoon's LUA_REGISTRYINDEX", () => {
    expect(LUA_REGISTRY_INDEX).toBe(LUA_REGISTRYINDEX);
  });
});
