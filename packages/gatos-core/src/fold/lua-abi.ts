/**
 * The raw Lua 5.4 C API as wasmoon's emscripten module exports it (wasmoon types only its wrappers), and how
 * EchoLua creates a Lua state deterministically.
 */

/** The raw emscripten exports EchoLua uses (typed here; wasmoon types only its wrappers). */
export interface RawModule {
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _realloc(ptr: number, size: number): number;
  addFunction(fn: (...args: number[]) => number | undefined, signature: string): number;
  removeFunction(ptr: number): void;
  _lua_newstate(alloc: number, ud: number): number;
  _lua_close(L: number): void;
  _luaL_openlibs(L: number): void;
  _lua_sethook(L: number, fn: number, mask: number, count: number): void;
  _lua_settop(L: number, idx: number): void;
  _lua_pushvalue(L: number, idx: number): void;
  _lua_pcallk(L: number, nargs: number, nres: number, errfunc: number, ctx: number, k: number): number;
  _lua_type(L: number, idx: number): number;
  _lua_typename(L: number, tp: number): number;
  _lua_tolstring(L: number, idx: number, lenPtr: number): number;
  _lua_pushlightuserdata(L: number, p: number): void;
  _lua_pushcclosure(L: number, fn: number, n: number): void;
  _lua_pushstring(L: number, s: number): number;
  _lua_getfield(L: number, idx: number, k: number): number;
  _lua_rawgeti(L: number, idx: number, n: bigint): number;
  _luaL_ref(L: number, t: number): number;
  _luaL_unref(L: number, t: number, ref: number): void;
  _luaL_loadbufferx(L: number, buf: number, size: number, name: number, mode: number): number;
  _lua_error(L: number): number;
  _lua_getupvalue(L: number, funcindex: number, n: number): number;
  _lua_upvalueid(L: number, funcindex: number, n: number): number;
  _lua_tointegerx(L: number, idx: number, isnum: number): bigint;
}

/** Run `fn` with `Date.now` pinned to 0, so Lua's string-hash seed (it mixes in `time(NULL)`) is fixed. */
export function withPinnedClock<T>(fn: () => T): T {
  const now = Date.now;
  Date.now = () => 0;
  try {
    return fn();
  } finally {
    Date.now = now;
  }
}
