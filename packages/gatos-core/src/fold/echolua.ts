/**
 * EchoLua: the deterministic reducer VM of GATOS (Lua 5.4 in WebAssembly via wasmoon, sandboxed and metered).
 *
 * A fold is Lua source defining a global `fold(state, event) -> state`. `createEchoLua` starts a fresh VM (its own
 * WebAssembly instance, so its heap layout and string-hash seed are the same in every process); `loadFold` lints,
 * compiles and checks a fold; `LoadedFold.run` folds a batch of events in ONE JS→Lua crossing and returns the
 * state, the fuel used and the fold's log lines. See spec/echolua.md for the contract.
 *
 * Mechanisms (all deterministic):
 * - fuel: a Lua count hook (`lua_sethook`, LUA_MASKCOUNT) re-armed at every event boundary and an exact reading of
 *   the VM's instruction countdown (`lua_State.hookcount`, located at start-up), plus ⌈n/64⌉ units for every long
 *   string of n bytes the fold creates. The budget is per event. Exhaustion is sticky: the fold cannot catch it.
 * - memory: the Lua allocator is a JS function that refuses to grow the Lua heap past `memoryBytes`.
 * - purity: every event is folded by a fresh instance of the fold chunk (fresh globals, fresh upvalues), or, when
 *   a static rule proves the chunk cannot carry anything from one event to the next (`foldReuse`), by one instance
 *   reused for every event, charged the fuel a fresh instantiation would have cost (results and fuel identical).
 */
import type { LuaWasm } from 'wasmoon';
import { GatosError } from '../errors.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { type FoldReuseVerdict, foldReuse, lintFold } from './echolua-lint.js';
import { DRIVER_FUNCTIONS, ECHOLUA_PRELUDE, FUEL_MESSAGE, MEMORY_MESSAGE } from './echolua-prelude.js';
import { batchChunk, type FoldEvent, type FoldValue, outputStateError } from './lua-value.js';
import type {
  EchoLua,
  EchoLuaOptions,
  LoadedFold,
  LoadFoldOptions,
  TimedFoldRunResult,
} from './interface.js';
import { type RawModule, withPinnedClock } from './lua-abi.js';

const MASK_COUNT = 8;
const HOOK_CHUNK = 1 << 24;
const LUA_OK = 0;
const LUA_ERRMEM = 4;
const LUA_TNUMBER = 3;
const LUA_TSTRING = 4;
/** Lua 5.4's `LUA_REGISTRYINDEX` (`-LUAI_MAXSTACK - 1000`), as wasmoon exports it; a test pins the two equal. */
export const LUA_REGISTRY_INDEX = -1001000;
const REGISTRY = LUA_REGISTRY_INDEX;
/** `osize` tag Lua passes to the allocator for a new string object. */
const ALLOC_TAG_STRING = LUA_TSTRING;
/** Size of a Lua string object of n bytes on wasm32: 16-byte header + n + NUL. */
const STRING_OVERHEAD = 17;
/** Lua interns strings up to 40 bytes (short strings); longer ones are always new objects. */
const LONG_STRING_MIN_ALLOC = STRING_OVERHEAD + 41;
/** Bytes of a new long string per fuel unit. */
const STRING_BYTES_PER_FUEL = 64;
const MIN_MEMORY = 1 << 20;
const HOOKCOUNT_PROBE = 0x07a5a5a5;
const UPVALUE_PROBE = 0x5a17c0de;
/** Lua's type tag of an integer TValue (`LUA_VNUMINT`). */
const LUA_VNUMINT = 3;
/**
 * Instructions of `CUR, EVLOGS = i, 0` in the prelude's `run` loop, which `run_reuse` leaves to TICK (the engine
 * writes the two upvalues in place) and the engine charges with the instantiation instead (spec § 1.1).
 */
const REUSE_LOOP_SAVED = 4;

type DriverName = (typeof DRIVER_FUNCTIONS)[number];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function optionsError(message: string): GatosError {
  return new GatosError('GATOS_E_FOLD_OPTIONS', message, {
    hint: 'fuel is a positive safe integer (per event); memoryBytes is an integer of at least 1 MiB.',
  });
}

interface Exhaustion {
  event: number;
  instructions: number;
  allocation: number;
}

class Engine implements EchoLua {
  private readonly M: RawModule;
  private readonly L: number;
  private readonly fuel: number;
  private readonly cap: number;
  private used = 0;
  private memRefused = false;
  private closed = false;
  private readonly allocPtr: number;
  private readonly hookPtr: number;
  private readonly tickPtr: number;
  private readonly scratch: number;
  private readonly cstrs = new Map<string, number>();
  private readonly driver = new Map<DriverName, bigint>();
  private hookcountIndex = 0;
  /** HEAP32 indices of the values of the prelude's log counters CUR and EVLOGS (closed upvalues, integers). */
  private curIndex = 0;
  private evlogsIndex = 0;

  // Metering state of the call in progress.
  private metering = false;
  private chunk = 0;
  private evIndex = -1;
  private evInstr = 0;
  private evAlloc = 0;
  private fuelTotal = 0;
  /** Instructions charged at the start of every event (the reuse path's stand-in for the instantiation). */
  private preCharge = 0;
  /** Fuel of each event segment, collected while a fold loads. */
  private segments: number[] | undefined;
  private exhaustion: Exhaustion | undefined;

  constructor(lw: LuaWasm, opts: EchoLuaOptions) {
    this.M = lw.module as unknown as RawModule;
    this.fuel = opts.fuel;
    this.cap = opts.memoryBytes;
    const M = this.M;
    this.allocPtr = M.addFunction(this.alloc, 'iiiii');
    this.hookPtr = M.addFunction(this.hook, 'vii');
    this.tickPtr = M.addFunction(this.tick, 'ii');
    this.scratch = M._malloc(8);
    const L = withPinnedClock(() => {
      const state = M._lua_newstate(this.allocPtr, 0);
      if (state !== 0) M._luaL_openlibs(state);
      return state;
    });
    if (L === 0) {
      this.freeCallbacks();
      throw new GatosError('GATOS_E_FOLD_MEMORY', 'EchoLua: the Lua state does not fit in memoryBytes', {
        data: { memoryBytes: this.cap },
      });
    }
    this.L = L;
    try {
      this.locateHookCount();
      this.loadPrelude();
      this.locateLogCounters();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  // ---- callbacks from the VM ----

  private readonly alloc = (_ud: number, ptr: number, osize: number, nsize: number): number => {
    const M = this.M;
    if (nsize === 0) {
      if (ptr !== 0) {
        this.used -= osize;
        M._free(ptr);
      }
      return 0;
    }
    const delta = ptr !== 0 ? nsize - osize : nsize;
    if (delta > 0 && this.used + delta > this.cap) {
      this.memRefused = true;
      return 0;
    }
    const block = M._realloc(ptr, nsize);
    if (block === 0) {
      this.memRefused = true;
      return 0;
    }
    this.used += delta;
    if (ptr === 0 && osize === ALLOC_TAG_STRING && nsize >= LONG_STRING_MIN_ALLOC && this.metering) {
      this.chargeString(nsize - STRING_OVERHEAD);
    }
    return block;
  };

  private chargeString(bytes: number): void {
    if (this.evIndex < 0 || this.exhaustion !== undefined) return;
    this.evAlloc += Math.ceil(bytes / STRING_BYTES_PER_FUEL);
    const started = this.evInstr + (this.chunk - this.hookcount());
    if (started + this.evAlloc > this.fuel) {
      // Stop at the next instruction: the hook sees the budget exceeded.
      this.evInstr = started;
      this.setChunk(1);
    }
  }

  private readonly hook = (L: number, _ar: number): undefined => {
    // Lua calls this before the instruction that brings the countdown to 0; that instruction counts as started.
    this.evInstr += this.chunk;
    if (this.evIndex < 0) {
      this.setChunk(HOOK_CHUNK);
      return;
    }
    const used = this.evInstr + this.evAlloc;
    if (this.exhaustion === undefined && used <= this.fuel) {
      this.setChunk(Math.min(HOOK_CHUNK, this.fuel + 1 - used));
      return;
    }
    if (this.exhaustion === undefined) {
      this.exhaustion = { event: this.evIndex, instructions: this.evInstr, allocation: this.evAlloc };
    }
    // Sticky: every further instruction raises again, so pcall cannot swallow it.
    this.setChunk(1);
    this.M._lua_pushstring(L, this.cstr(FUEL_MESSAGE));
    this.M._lua_error(L);
    return;
  };

  /** TICK(): called by the driver at every event boundary. */
  private readonly tick = (_L: number): number => {
    const started = this.evInstr + (this.chunk - this.hookcount());
    if (this.evIndex >= 0) {
      this.fuelTotal += started + this.evAlloc;
      this.segments?.push(started + this.evAlloc);
    }
    const ev = ++this.evIndex;
    // CUR, EVLOGS = ev + 1, 0 (the log counters of the event that starts; integers stay integers).
    const heap = this.M.HEAP32;
    heap[this.curIndex] = ev + 1;
    heap[this.curIndex + 1] = 0;
    heap[this.evlogsIndex] = 0;
    heap[this.evlogsIndex + 1] = 0;
    const pre = this.preCharge;
    this.evAlloc = 0;
    if (pre <= this.fuel) {
      this.evInstr = pre;
      this.setChunk(Math.min(HOOK_CHUNK, this.fuel + 1 - pre));
    } else {
      // The charge alone exceeds the budget (pre = fuel + 1): the event's first instruction is fuel + 1.
      this.evInstr = pre - 1;
      this.setChunk(1);
    }
    return 0;
  };

  private hookcount(): number {
    return this.M.HEAP32[this.hookcountIndex]!;
  }

  /**
   * Re-arm the count hook to fire before the `count`-th next instruction. While the hook is installed this writes
   * `basehookcount` and `hookcount` directly (what `lua_sethook` does, minus re-installing), saving a wasm call per
   * event.
   */
  private setChunk(count: number): void {
    this.chunk = count;
    const heap = this.M.HEAP32;
    heap[this.hookcountIndex - 1] = count;
    heap[this.hookcountIndex] = count;
  }

  // ---- start-up ----

  /** Find `lua_State.hookcount` (the live countdown of the count hook; the C API only exposes its base). */
  private locateHookCount(): void {
    const M = this.M;
    M._lua_sethook(this.L, this.hookPtr, MASK_COUNT, HOOKCOUNT_PROBE);
    const base = this.L >> 2;
    let index = -1;
    for (let i = 0; i < 64; i++) {
      if (M.HEAP32[base + i] === HOOKCOUNT_PROBE && M.HEAP32[base + i + 1] === HOOKCOUNT_PROBE) {
        index = base + i + 1; // basehookcount, then hookcount
        break;
      }
    }
    let ok = false;
    if (index >= 0) {
      this.hookcountIndex = index;
      this.chunk = HOOKCOUNT_PROBE;
      if (this.loadChunk('local a = 1 return a + 1', 'probe') === LUA_OK) {
        const st = M._lua_pcallk(this.L, 0, 0, 0, 0, 0);
        const executed = HOOKCOUNT_PROBE - this.hookcount();
        ok = st === LUA_OK && executed > 0 && executed < 16;
      }
    }
    M._lua_settop(this.L, 0);
    M._lua_sethook(this.L, 0, 0, 0);
    if (!ok) throw new GatosError('GATOS_E_INTERNAL', 'EchoLua: cannot locate the Lua instruction counter');
  }

  /**
   * Find where the values of the prelude's upvalues CUR and EVLOGS live, so that TICK sets them without running Lua
   * instructions. `lua_upvalueid` gives the `UpVal`; its value pointer follows the 8-byte GC header. Checked by
   * writing a probe there and reading it back through the Lua API.
   */
  private locateLogCounters(): void {
    const M = this.M;
    const L = this.L;
    this.pushDriver('run'); // its loop still sets CUR and EVLOGS (shared with log)
    const found = new Map<string, number>();
    for (let n = 1; ; n++) {
      const namePtr = M._lua_getupvalue(L, 1, n);
      if (namePtr === 0) break;
      M._lua_settop(L, 1);
      let end = namePtr;
      while (M.HEAPU8[end] !== 0) end++;
      const name = decoder.decode(M.HEAPU8.subarray(namePtr, end));
      if (name !== 'CUR' && name !== 'EVLOGS') continue;
      const upval = M._lua_upvalueid(L, 1, n);
      const value = upval === 0 ? 0 : M.HEAPU32[(upval + 8) >> 2]!;
      let ok = value !== 0 && value % 8 === 0 && M.HEAPU8[value + 8] === LUA_VNUMINT;
      if (ok) {
        const i = value >> 2;
        const saved = [M.HEAP32[i]!, M.HEAP32[i + 1]!];
        M.HEAP32[i] = UPVALUE_PROBE;
        M.HEAP32[i + 1] = 0;
        M._lua_getupvalue(L, 1, n);
        ok = M._lua_type(L, -1) === LUA_TNUMBER && M._lua_tointegerx(L, -1, 0) === BigInt(UPVALUE_PROBE);
        M._lua_settop(L, 1);
        M.HEAP32[i] = saved[0]!;
        M.HEAP32[i + 1] = saved[1]!;
        if (ok) found.set(name, i);
      }
    }
    M._lua_settop(L, 0);
    const cur = found.get('CUR');
    const evlogs = found.get('EVLOGS');
    if (cur === undefined || evlogs === undefined) {
      throw new GatosError('GATOS_E_INTERNAL', 'EchoLua: cannot locate the log counters of the prelude');
    }
    this.curIndex = cur;
    this.evlogsIndex = evlogs;
  }

  private loadPrelude(): void {
    const M = this.M;
    const L = this.L;
    if (this.loadChunk(ECHOLUA_PRELUDE, 'echolua-prelude') !== LUA_OK) {
      throw new GatosError(
        'GATOS_E_INTERNAL',
        `EchoLua: the prelude does not compile: ${this.errorText(-1)}`,
      );
    }
    M._lua_pushlightuserdata(L, 0);
    M._lua_pushcclosure(L, this.tickPtr, 0);
    const st = M._lua_pcallk(L, 2, 1, 0, 0, 0);
    if (st !== LUA_OK) {
      const msg = this.errorText(-1);
      M._lua_settop(L, 0);
      if (st === LUA_ERRMEM) {
        throw new GatosError('GATOS_E_FOLD_MEMORY', 'EchoLua: the prelude does not fit in memoryBytes', {
          data: { memoryBytes: this.cap },
        });
      }
      throw new GatosError('GATOS_E_INTERNAL', `EchoLua: the prelude failed: ${msg}`);
    }
    for (const name of DRIVER_FUNCTIONS) {
      M._lua_getfield(L, 1, this.cstr(name));
      this.driver.set(name, BigInt(M._luaL_ref(L, REGISTRY)));
    }
    M._lua_settop(L, 0);
  }

  // ---- helpers ----

  /** A NUL-terminated copy of `s` in the wasm heap, kept for the engine's life. */
  private cstr(s: string): number {
    let p = this.cstrs.get(s);
    if (p === undefined) {
      const bytes = encoder.encode(s);
      p = this.M._malloc(bytes.length + 1);
      this.M.HEAPU8.set(bytes, p);
      this.M.HEAPU8[p + bytes.length] = 0;
      this.cstrs.set(s, p);
    }
    return p;
  }

  /** luaL_loadbufferx in text mode; the chunk (or an error message) is pushed. */
  private loadChunk(src: string, name: string): number {
    const M = this.M;
    const bytes = encoder.encode(src);
    const buf = M._malloc(bytes.length + 1);
    if (buf === 0) throw new GatosError('GATOS_E_FOLD_MEMORY', 'EchoLua: the host heap is exhausted');
    M.HEAPU8.set(bytes, buf);
    const label = encoder.encode(`=${name}`);
    const namePtr = M._malloc(label.length + 1);
    M.HEAPU8.set(label, namePtr);
    M.HEAPU8[namePtr + label.length] = 0;
    try {
      return M._luaL_loadbufferx(this.L, buf, bytes.length, namePtr, this.cstr('t'));
    } finally {
      M._free(buf);
      M._free(namePtr);
    }
  }

  private pushDriver(name: DriverName): void {
    this.M._lua_rawgeti(this.L, REGISTRY, this.driver.get(name)!);
  }

  /** The string at `idx` (numbers are converted), or '' when it is neither. */
  private str(idx: number): string {
    const M = this.M;
    const p = M._lua_tolstring(this.L, idx, this.scratch);
    if (p === 0) return '';
    const n = M.HEAPU32[this.scratch >> 2]!;
    return decoder.decode(M.HEAPU8.subarray(p, p + n));
  }

  /** Text of the error value at `idx`, without ever printing an address. */
  private errorText(idx: number): string {
    const t = this.M._lua_type(this.L, idx);
    if (t === LUA_TSTRING || t === LUA_TNUMBER) return this.str(idx);
    const names = [
      'nil',
      'boolean',
      'userdata',
      'number',
      'string',
      'table',
      'function',
      'userdata',
      'thread',
    ];
    return `(error object is a ${names[t] ?? 'value'})`;
  }

  private assertOpen(): void {
    if (this.closed) throw new GatosError('GATOS_E_INTERNAL', 'EchoLua: the engine is closed');
  }

  private beginMetering(): void {
    this.M._lua_sethook(this.L, this.hookPtr, MASK_COUNT, HOOK_CHUNK);
    this.metering = true;
    this.evIndex = -1;
    this.evInstr = 0;
    this.evAlloc = 0;
    this.fuelTotal = 0;
    this.exhaustion = undefined;
    this.memRefused = false;
    this.setChunk(HOOK_CHUNK);
  }

  private endMetering(): void {
    this.metering = false;
    this.preCharge = 0;
    this.M._lua_sethook(this.L, 0, 0, 0);
  }

  /** Classify a failed metered call (status `st`, error value on top) and clean up. */
  private failure(st: number, fold: string, phase: 'load' | 'run'): GatosError {
    const M = this.M;
    const L = this.L;
    const event = phase === 'run' ? this.evIndex : null;
    const where = phase === 'run' ? `${fold}: event ${this.evIndex}` : `${fold}: while loading`;
    let err: GatosError;
    const ex = this.exhaustion;
    if (ex !== undefined) {
      err = new GatosError(
        'GATOS_E_FOLD_FUEL',
        `${where}: out of fuel (budget ${this.fuel} per event; ${ex.instructions} instructions, ` +
          `${ex.allocation} units for long strings)`,
        {
          data: {
            fold,
            phase,
            event: phase === 'run' ? ex.event : null,
            fuel: this.fuel,
            instructions: ex.instructions,
            allocation: ex.allocation,
          },
          hint: 'The fold may loop forever; otherwise raise the fuel budget.',
        },
      );
    } else {
      const msg = this.errorText(-1);
      if (st === LUA_ERRMEM || (this.memRefused && msg === MEMORY_MESSAGE)) {
        err = new GatosError('GATOS_E_FOLD_MEMORY', `${where}: the Lua heap would exceed ${this.cap} bytes`, {
          data: { fold, phase, event, memoryBytes: this.cap },
          hint: 'Raise memoryBytes, or fold smaller batches.',
        });
      } else {
        M._lua_settop(L, 0);
        this.pushDriver('contract');
        const contract = M._lua_pcallk(L, 0, 1, 0, 0, 0) === LUA_OK && M._lua_type(L, -1) === LUA_TSTRING;
        if (contract) {
          err = new GatosError('GATOS_E_FOLD_CONTRACT', `${where}: ${this.str(-1)}`, {
            data: { fold, phase, event },
            hint: 'Define `function fold(state, event) ... return state end` as a global function.',
          });
        } else {
          err = new GatosError('GATOS_E_FOLD_RUNTIME', `${where}: ${msg}`, {
            data: { fold, phase, event, message: msg },
          });
        }
      }
    }
    M._lua_settop(L, 0);
    this.pushDriver('gc');
    M._lua_pcallk(L, 0, 0, 0, 0, 0);
    M._lua_settop(L, 0);
    this.memRefused = false;
    return err;
  }

  // ---- API ----

  memoryUsed(): number {
    return this.used;
  }

  async loadFold(source: string, name = 'fold', opts: LoadFoldOptions = {}): Promise<LoadedFold> {
    this.assertOpen();
    const label = name.replace(/[\u0000-\u001f]/g, '?').slice(0, 50) || 'fold';
    lintFold(source, label);
    const verdict: FoldReuseVerdict =
      opts.instance === 'fresh'
        ? { reusable: false, line: 0, reason: 'fresh instances requested' }
        : foldReuse(source);
    const M = this.M;
    const L = this.L;
    M._lua_settop(L, 0);
    this.pushDriver('prepare');
    const st = this.loadChunk(source, label);
    if (st !== LUA_OK) {
      const msg = this.errorText(-1);
      M._lua_settop(L, 0);
      if (st === LUA_ERRMEM) {
        throw new GatosError('GATOS_E_FOLD_MEMORY', `${label}: compiling the fold exceeds memoryBytes`, {
          data: { fold: label, phase: 'load', event: null, memoryBytes: this.cap },
        });
      }
      // LUA_ERRSYNTAX, or LUA_ERRRUN for "C stack overflow" (too many nested syntax levels).
      const line = /:(\d+): /.exec(msg);
      throw new GatosError('GATOS_E_FOLD_LINT', msg.startsWith(`${label}:`) ? msg : `${label}: ${msg}`, {
        data: { line: line ? Number(line[1]) : null, name: null, message: msg },
        hint: 'The fold source is not valid Lua 5.4 (or nests too deeply).',
      });
    }
    if (M._lua_pcallk(L, 1, 1, 0, 0, 0) !== LUA_OK) {
      const msg = this.errorText(-1);
      M._lua_settop(L, 0);
      throw new GatosError('GATOS_E_INTERNAL', `EchoLua: preparing the fold failed: ${msg}`);
    }
    const ref = M._luaL_ref(L, REGISTRY);
    const refBig = BigInt(ref);
    this.pushDriver('check');
    M._lua_rawgeti(L, REGISTRY, refBig);
    this.beginMetering();
    this.segments = [];
    const checked = M._lua_pcallk(L, 1, 0, 0, 0, 0);
    this.endMetering();
    const segments = this.segments;
    this.segments = undefined;
    if (checked !== LUA_OK) {
      const err = this.failure(checked, label, 'load');
      M._luaL_unref(L, REGISTRY, ref);
      throw err;
    }
    M._lua_settop(L, 0);
    // Reuse path: one instance (its top level is definitions only), charged per event what instantiate(chunk)
    // costs on the fresh path: segment 1 (the call) minus segment 2 (empty), minus the one instruction that
    // loads the reused instance instead, plus the log-counter instructions run_reuse leaves to TICK (see run_reuse
    // in the prelude).
    let instRef = -1;
    let preCharge = 0;
    if (verdict.reusable && segments.length === 2) {
      preCharge = segments[0]! - segments[1]! - 1 + REUSE_LOOP_SAVED;
      this.pushDriver('instance');
      M._lua_rawgeti(L, REGISTRY, refBig);
      this.beginMetering();
      const st = M._lua_pcallk(L, 1, 1, 0, 0, 0);
      this.endMetering();
      if (st !== LUA_OK) {
        const err = this.failure(st, label, 'load');
        M._luaL_unref(L, REGISTRY, ref);
        throw err;
      }
      instRef = M._luaL_ref(L, REGISTRY);
      M._lua_settop(L, 0);
    }
    const reuse = instRef >= 0 ? { ref: BigInt(instRef), preCharge } : undefined;
    const sourceSha256 = bytesToHex(sha256(utf8ToBytes(source)));
    let unloaded = false;
    const live = (): void => {
      if (unloaded) throw new GatosError('GATOS_E_INTERNAL', `EchoLua: fold ${label} was unloaded`);
    };
    return {
      name: label,
      instance: reuse ? 'reuse' : 'fresh',
      freshReason: reuse
        ? null
        : verdict.reusable
          ? 'no instantiation measurement'
          : `${verdict.reason}${verdict.line ? ` (line ${verdict.line})` : ''}`,
      sourceSha256,
      run: async (state, events) => {
        live();
        const { loopSeconds: _, ...r } = this.run(refBig, reuse, label, state, events);
        return r;
      },
      timedRun: async (state, events) => {
        live();
        return this.run(refBig, reuse, label, state, events);
      },
      unload: () => {
        if (unloaded || this.closed) return;
        unloaded = true;
        M._luaL_unref(L, REGISTRY, ref);
        if (instRef >= 0) M._luaL_unref(L, REGISTRY, instRef);
      },
    };
  }

  private run(
    ref: bigint,
    reuse: { ref: bigint; preCharge: number } | undefined,
    fold: string,
    state: FoldValue,
    events: readonly FoldEvent[],
  ): TimedFoldRunResult {
    this.assertOpen();
    if (!Array.isArray(events)) {
      throw new GatosError('GATOS_E_FOLD_STATE', `${fold}: events must be an array`, {
        data: { path: '$.events', reason: 'is not an array', side: 'input' },
      });
    }
    const src = batchChunk(state, events);
    const M = this.M;
    const L = this.L;
    M._lua_settop(L, 0);
    try {
      if (reuse) {
        this.pushDriver('run_reuse');
        M._lua_rawgeti(L, REGISTRY, reuse.ref);
      } else {
        this.pushDriver('run');
        M._lua_rawgeti(L, REGISTRY, ref);
      }
      this.memRefused = false;
      let st = this.loadChunk(src, 'echolua-batch');
      if (st === LUA_OK) {
        M._lua_pushlightuserdata(L, 0);
        st = M._lua_pcallk(L, 1, 3, 0, 0, 0);
      }
      if (st !== LUA_OK) {
        const msg = this.errorText(-1);
        if (st === LUA_ERRMEM || this.memRefused) {
          throw new GatosError('GATOS_E_FOLD_MEMORY', `${fold}: the batch does not fit in memoryBytes`, {
            data: { fold, phase: 'run', event: null, memoryBytes: this.cap },
            hint: 'Raise memoryBytes, or fold smaller batches.',
          });
        }
        throw new GatosError('GATOS_E_INTERNAL', `EchoLua: the batch chunk failed: ${msg}`);
      }
      this.beginMetering();
      if (reuse) this.preCharge = reuse.preCharge;
      const t0 = performance.now();
      st = M._lua_pcallk(L, 4, 1, 0, 0, 0);
      const loopSeconds = (performance.now() - t0) / 1000;
      this.endMetering();
      if (st !== LUA_OK) throw this.failure(st, fold, 'run');
      const fuelUsed = this.fuelTotal;
      this.pushDriver('finish');
      M._lua_pushvalue(L, 1);
      st = M._lua_pcallk(L, 1, 3, 0, 0, 0);
      if (st !== LUA_OK) {
        if (st === LUA_ERRMEM || this.memRefused) {
          throw new GatosError('GATOS_E_FOLD_MEMORY', `${fold}: encoding the state exceeds memoryBytes`, {
            data: { fold, phase: 'run', event: null, memoryBytes: this.cap },
          });
        }
        throw new GatosError('GATOS_E_INTERNAL', `EchoLua: encoding the state failed: ${this.errorText(-1)}`);
      }
      if (M._lua_type(L, 2) !== LUA_TSTRING) throw outputStateError(fold, this.str(4), this.str(3));
      const [outState, logs] = JSON.parse(this.str(2)) as [FoldValue, [number, string][]];
      return {
        state: outState,
        fuelUsed,
        logs: logs.map(([event, message]) => ({ event, message })),
        loopSeconds,
      };
    } finally {
      M._lua_settop(L, 0);
    }
  }

  private freeCallbacks(): void {
    const M = this.M;
    M.removeFunction(this.allocPtr);
    M.removeFunction(this.hookPtr);
    M.removeFunction(this.tickPtr);
    M._free(this.scratch);
    for (const p of this.cstrs.values()) M._free(p);
    this.cstrs.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.M._lua_close(this.L);
    this.freeCallbacks();
  }
}

/**
 * Start an EchoLua engine: a fresh WebAssembly instance of Lua 5.4 with the EchoLua sandbox.
 * Throws `GATOS_E_FOLD_OPTIONS` on invalid options.
 */
export async function createEchoLua(opts: EchoLuaOptions): Promise<EchoLua> {
  if (!Number.isSafeInteger(opts.fuel) || opts.fuel < 1) {
    throw optionsError(`EchoLua: fuel must be a positive safe integer, got ${String(opts.fuel)}`);
  }
  if (!Number.isSafeInteger(opts.memoryBytes) || opts.memoryBytes < MIN_MEMORY) {
    throw optionsError(
      `EchoLua: memoryBytes must be an integer ≥ ${MIN_MEMORY}, got ${String(opts.memoryBytes)}`,
    );
  }
  // One wasm instance per engine: the Lua state lands at the same address in every process, which (with the
  // pinned clock) fixes the string-hash seed.
  // wasmoon is loaded on first use: commands that never fold do not pay for it at start-up.
  const { LuaFactory } = await import('wasmoon');
  const lw = await new LuaFactory().getLuaModule();
  return new Engine(lw, opts);
}
