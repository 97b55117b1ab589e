/**
 * The JS ⇄ Lua value model of EchoLua (see spec/echolua.md, "Values").
 *
 * JS → Lua: a state and a batch of events are validated and written as ONE Lua chunk of table constructors
 * (`local N=... return <state>,{<event>,...},<n>`), compiled by Lua's own parser (C speed) and run once.
 * Lua → JS: the prelude writes the state as canonical JSON and JS parses it (see `echolua-prelude.ts`).
 */
import { GatosError } from '../errors.js';
import { LUA_KEYWORDS } from './echolua-lint.js';
import { MAX_DEPTH } from './echolua-prelude.js';

/** A value EchoLua exchanges with JS: JSON-like data with integers only. */
export type FoldValue = null | boolean | number | string | FoldValue[] | { [key: string]: FoldValue };

/** An event handed to a fold: the same data model as the state. */
export type FoldEvent = FoldValue;

const LUA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Strings that can be written between double quotes as they are (no quote, backslash, control, surrogate). */
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function pathText(path: readonly (string | number)[]): string {
  let s = '$';
  for (const p of path)
    s += typeof p === 'number' ? `[${p}]` : LUA_NAME.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  return s;
}

function stateError(path: readonly (string | number)[], why: string): GatosError {
  const at = pathText(path);
  return new GatosError('GATOS_E_FOLD_STATE', `the input value at ${at} ${why}`, {
    data: { path: at, reason: why, side: 'input' },
    hint:
      'EchoLua exchanges null, booleans, safe integers, well-formed strings, arrays and string-keyed objects; ' +
      'see spec/echolua.md "Values".',
  });
}

/** A Lua string literal (double-quoted) holding exactly the UTF-8 bytes of `s`; `undefined` for lone surrogates. */
export function luaStringLiteral(s: string): string | undefined {
  if (PLAIN_STRING.test(s)) return `"${s}"`;
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return undefined;
  // JSON escapes are Lua escapes except \uXXXX, which Lua writes \u{XXXX}; consume escapes pairwise so that
  // an escaped backslash followed by "u0041" stays text.
  return JSON.stringify(s).replace(/\\(u[0-9a-fA-F]{4}|.)/g, (m, e: string) =>
    e.length === 5 ? `\\u{${e.slice(1)}}` : m,
  );
}

/** The slow validating pass: walks a value with its path and throws the first problem as GATOS_E_FOLD_STATE. */
class Explainer {
  private readonly path: (string | number)[] = [];
  private readonly open = new Set<object>();

  constructor(...at: (string | number)[]) {
    this.path.push(...at);
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        if (luaStringLiteral(v) === undefined) {
          throw stateError(this.path, 'is a string that is not well-formed Unicode');
        }
        return;
      case 'number':
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) return;
        throw stateError(
          this.path,
          Number.isNaN(v)
            ? 'is NaN'
            : !Number.isFinite(v)
              ? 'is infinite'
              : Object.is(v, -0)
                ? 'is -0'
                : Number.isInteger(v)
                  ? 'is an integer beyond ±(2^53−1)'
                  : 'is not an integer',
        );
      case 'boolean':
        return;
      case 'object':
        if (v !== null) this.table(v, depth);
        return;
      default:
        throw stateError(this.path, `is ${typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`}`);
    }
  }

  private table(v: object, depth: number): void {
    if (depth >= MAX_DEPTH) throw stateError(this.path, `nests deeper than ${MAX_DEPTH} levels`);
    if (this.open.has(v)) throw stateError(this.path, 'is cyclic');
    this.open.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        this.path.push(i);
        this.value(v[i], depth + 1);
        this.path.pop();
      }
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        throw stateError(this.path, `is a ${name}, not plain data`);
      }
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        this.path.push(k);
        if (luaStringLiteral(k) === undefined) {
          throw stateError(this.path, 'is under a key that is not well-formed Unicode');
        }
        this.value(rec[k], depth + 1);
        this.path.pop();
      }
    }
    this.open.delete(v);
  }
}

/** Thrown by the fast writer; the explaining pass then finds the path and the reason. */
const INVALID: unique symbol = Symbol('invalid');

const keyCache = new Map<string, string>();
const KEY_CACHE_MAX = 4096;

/** `k=` or `["k"]=` for a table constructor; throws INVALID for keys that are not well-formed Unicode. */
function keyText(k: string): string {
  let t = keyCache.get(k);
  if (t !== undefined) return t;
  if (LUA_NAME.test(k) && !LUA_KEYWORDS.has(k)) t = `${k}=`;
  else {
    const lit = luaStringLiteral(k);
    if (lit === undefined) throw INVALID;
    t = `[${lit}]=`;
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(k, t);
  return t;
}

/** The Lua constructor text of `v` (fast path: no path tracking; cycles end at MAX_DEPTH). */
function literal(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'string': {
      if (PLAIN_STRING.test(v)) return `"${v}"`;
      const lit = luaStringLiteral(v);
      if (lit === undefined) throw INVALID;
      return lit;
    }
    case 'number':
      if (Number.isSafeInteger(v) && (v !== 0 || 1 / v > 0)) return String(v);
      throw INVALID;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'N';
      if (depth >= MAX_DEPTH) throw INVALID;
      let s = '{';
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) s += `${literal(v[i], depth + 1)},`;
        return `${s}}`;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw INVALID;
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) s += `${keyText(k)}${literal(rec[k], depth + 1)},`;
      return `${s}}`;
    }
    default:
      throw INVALID;
  }
}

/**
 * The Lua chunk that rebuilds `state` and `events` inside the VM: `local N=... return S,{E1,...},n`, where
 * `N` (the chunk's argument) is the `null` sentinel. Throws `GATOS_E_FOLD_STATE` (data.side = 'input') when a
 * value is not exchangeable.
 */
export function batchChunk(state: unknown, events: readonly unknown[]): string {
  try {
    let s = `local N=... return ${literal(state, 0)},{`;
    for (let i = 0; i < events.length; i++) s += `${literal(events[i], 0)},`;
    return `${s}},${events.length}`;
  } catch (e) {
    if (e !== INVALID) throw e;
  }
  // Explain: the slow pass tracks the path and throws the detailed error.
  new Explainer('state').value(state, 0);
  for (let i = 0; i < events.length; i++) new Explainer('events', i).value(events[i], 0);
  /* c8 ignore next */
  throw new GatosError('GATOS_E_INTERNAL', 'EchoLua: a batch value was rejected without a reason');
}

/** A `GATOS_E_FOLD_STATE` error for a value the fold left in its state (path as reported by the prelude). */
export function outputStateError(fold: string, path: string, why: string): GatosError {
  return new GatosError('GATOS_E_FOLD_STATE', `${fold}: the fold state value at ${path} ${why}`, {
    data: { fold, path, reason: why, side: 'output' },
    hint:
      'A fold state holds null, booleans, integers within ±(2^53−1), UTF-8 strings, arrays (keys 1..n) and ' +
      'string-keyed tables, each table once; see spec/echolua.md "Values".',
  });
}
