import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGatosError } from '../../src/errors.js';
import { createEchoLua } from '../../src/fold/echolua.js';
import type { EchoLua, FoldRunResult, LoadedFold } from '../../src/fold/interface.js';
import {
  ECHOLUA_VERSION,
  echoLuaEngineId,
  echoLuaPreludeSha256,
  WASMOON_VERSION,
  wasmoonWasmPath,
} from '../../src/fold/echolua-identity.js';
import type { FoldValue } from '../../src/fold/lua-value.js';

const root = join(import.meta.dirname, '../../../..');
const reducer = (name: string) => readFileSync(join(root, 'conformance/fold/reducers', name), 'utf8');
const OPTS = { fuel: 1_000_000, memoryBytes: 16 << 20 };

/** The GatosError `fn` rejects with (fails the test when it resolves). */
async function failure(fn: () => Promise<unknown>): Promise<{ code: string; data: Record<string, unknown> }> {
  try {
    await fn();
  } catch (e) {
    if (isGatosError(e)) return { code: e.code, data: e.data };
    throw e;
  }
  throw new Error('expected a GatosError');
}

/** A deterministic pseudo-random sequence (LCG) for generated events. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

function kvEvents(n: number, seed: number): FoldValue[] {
  const rnd = lcg(seed);
  const out: FoldValue[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const key = `k${r % 13}`;
    if (r % 7 === 0) out.push({ type: 'del', key });
    else if (r % 11 === 0) out.push({ type: 'noop', key });
    else
      out.push({
        type: 'put',
        key,
        value: { n: r % 1000, tags: [`t${r % 3}`, null, r % 2 === 0], s: 'é✓𝄞' },
      });
  }
  return out;
}

/** Fold `events` in batches of `size`; returns the final state, summed fuel, and logs with global indices. */
async function foldInBatches(fold: LoadedFold, state: FoldValue, events: FoldValue[], size: number) {
  let fuel = 0;
  const logs: { event: number; message: string }[] = [];
  for (let i = 0; i < events.length; i += size) {
    const r: FoldRunResult = await fold.run(state, events.slice(i, i + size));
    state = r.state;
    fuel += r.fuelUsed;
    for (const l of r.logs) logs.push({ event: l.event + i, message: l.message });
  }
  return { state, fuel, logs };
}

let echo: EchoLua;
beforeAll(async () => {
  echo = await createEchoLua(OPTS);
});
afterAll(() => echo.close());

/** Run one fold over events in the shared engine. */
async function runFold(source: string, state: FoldValue, events: FoldValue[]): Promise<FoldRunResult> {
  const fold = await echo.loadFold(source, 'test');
  try {
    return await fold.run(state, events);
  } finally {
    fold.unload();
  }
}

/** The value a one-event fold `return <expr>` computes (the event is bound to `e`). */
async function evalLua(expr: string, event: FoldValue = {}): Promise<FoldValue> {
  const r = await runFold(`function fold(s, e) return { v = ${expr} } end`, {}, [event]);
  return (r.state as { v?: FoldValue }).v ?? null;
}

describe('sample reducers', () => {
  it('counter folds to the expected count', async () => {
    const fold = await echo.loadFold(reducer('counter.lua'), 'counter');
    const r = await fold.run({ count: 0 }, [
      { type: 'inc', n: 5 },
      { type: 'dec', n: 2 },
      { type: 'inc' },
      { type: 'other' },
    ]);
    expect(r.state).toEqual({ count: 4 });
    expect(r.logs).toEqual([]);
    expect(r.fuelUsed).toBeGreaterThan(0);
  });

  it('key-value store folds to the expected entries, version and logs', async () => {
    const fold = await echo.loadFold(reducer('kv.lua'), 'kv');
    const r = await fold.run({}, [
      { type: 'put', key: 'b', value: { x: [1, 2, null] } },
      { type: 'put', key: 'a', value: 'é\n"' },
      { type: 'zap', key: 'q' },
      { type: 'del', key: 'b' },
      { type: 'put', key: 'c', value: true },
    ]);
    expect(r.state).toEqual({
      entries: { a: 'é\n"', c: true },
      keys: 'a,c',
      recent: ['b', 'a', 'c'],
      version: 4,
    });
    expect(r.logs).toEqual([{ event: 2, message: 'ignored event type zap' }]);
  });

  it('folding in batches equals folding one by one (state, fuel and logs)', async () => {
    const events = kvEvents(300, 7);
    const fold = await echo.loadFold(reducer('kv.lua'), 'kv');
    const whole = await foldInBatches(fold, {}, events, events.length);
    for (const size of [1, 7, 64]) {
      expect(await foldInBatches(fold, {}, events, size)).toEqual(whole);
    }
    expect(whole.logs.length).toBeGreaterThan(0);
  });

  it('the same fold over the same events in two engines gives identical results', async () => {
    const events = kvEvents(200, 99);
    const results = [];
    for (let i = 0; i < 2; i++) {
      const engine = await createEchoLua(OPTS);
      try {
        const fold = await engine.loadFold(reducer('kv.lua'), 'kv');
        results.push(await foldInBatches(fold, {}, events, 50));
      } finally {
        engine.close();
      }
    }
    expect(results[1]).toEqual(results[0]);
  });
});

describe('values', () => {
  const identity = 'function fold(s, e) return e end';
  const roundTrip = async (v: FoldValue) => (await runFold(identity, null, [v])).state;

  it('round-trips JSON-like data exactly', async () => {
    const values: FoldValue[] = [
      null,
      true,
      false,
      0,
      -1,
      9007199254740991,
      -9007199254740991,
      '',
      'plain',
      'quote " backslash \\ newline \n tab \t nul \u0000 del \u007f',
      'literal \\u0041 stays text',
      'é ✓ 日本 𝄞 emoji 😀',
      [1, 'two', [3, [4, {}]], { five: 5 }, null, false],
      {
        a: { b: { c: [1, 2, 3] } },
        'key with spaces': 1,
        end: 'keyword key',
        '': 'empty key',
        '1': 'digit key',
      },
      { nested: { empty: {} }, list: [{}, { x: null }] },
      { 'ü ключ 𝄞': 'unicode key', 'quote"key': 'q', 'back\\slash': 'b' },
    ];
    for (const v of values) expect(await roundTrip(v)).toEqual(v);
    // Objects come back with keys in bytewise (UTF-8) order.
    expect(Object.keys((await roundTrip({ b: 1, a: 2, B: 3 })) as object)).toEqual(['B', 'a', 'b']);
  });

  it('round-trips the state unchanged through an identity fold', async () => {
    const state = { count: 9007199254740991, items: ['a', { b: [true, null] }], name: 'ñ' };
    const r = await runFold('function fold(s, e) return s end', state, [{}, {}]);
    expect(r.state).toEqual(state);
  });

  it('an empty table is an object: [] comes back as {}', async () => {
    expect(await roundTrip([])).toEqual({});
    expect(await roundTrip({ list: [] })).toEqual({ list: {} });
  });

  it('rejects input values EchoLua cannot exchange, with their path', async () => {
    const cases: [unknown, string, string][] = [
      [Number.NaN, '$.events[0]', 'is NaN'],
      [Number.POSITIVE_INFINITY, '$.events[0]', 'is infinite'],
      [-0, '$.events[0]', 'is -0'],
      [0.5, '$.events[0]', 'is not an integer'],
      [2 ** 53, '$.events[0]', 'is an integer beyond ±(2^53−1)'],
      [{ a: [1, undefined] }, '$.events[0].a[1]', 'is undefined'],
      [{ f: () => 1 }, '$.events[0].f', 'is a function'],
      [{ m: new Map() }, '$.events[0].m', 'is a Map, not plain data'],
      [{ d: new Uint8Array(2) }, '$.events[0].d', 'is a Uint8Array, not plain data'],
      [{ s: 'lone \ud800' }, '$.events[0].s', 'is a string that is not well-formed Unicode'],
      [{ big: 10n }, '$.events[0].big', 'is a bigint'],
    ];
    for (const [v, path, reason] of cases) {
      const f = await failure(() => runFold(identity, null, [v as FoldValue]));
      expect(f).toEqual({ code: 'GATOS_E_FOLD_STATE', data: { path, reason, side: 'input' } });
    }
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect((await failure(() => runFold(identity, cyclic as FoldValue, []))).data).toMatchObject({
      path: '$.state.self',
      reason: 'is cyclic',
    });
    let deep: FoldValue = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(await roundTrip(deep)).toEqual(deep);
    expect((await runFold(identity, deep, [])).state).toEqual(deep);
    deep = [deep];
    expect((await failure(() => runFold(identity, deep, []))).data['reason']).toBe(
      'nests deeper than 100 levels',
    );
  });

  it('rejects non-representable output values with their path', async () => {
    const f = await failure(() =>
      runFold('function fold(s, e) s.list = { 1, { x = 0.25 } } return s end', {}, [{}]),
    );
    expect(f).toEqual({
      code: 'GATOS_E_FOLD_STATE',
      data: {
        fold: 'test',
        path: '$.list[1].x',
        reason: 'is a float (0.25); use integers (math.tointeger)',
        side: 'output',
      },
    });
    const g = await failure(() => runFold('function fold(s, e) s[true] = 1 return s end', {}, [{}]));
    expect(g.data['reason']).toBe('has a key of type boolean; keys are strings (objects) or 1..n (arrays)');
  });

  it('follows Lua 5.4 integer semantics inside the fold', async () => {
    expect(await evalLua('math.maxinteger + 1 == math.mininteger')).toBe(true);
    expect(await evalLua('{ 7 // 2, -7 // 2, -7 % 2, 7 % -2, math.tointeger(3.0) }')).toEqual([
      3, -4, 1, -1, 3,
    ]);
    expect(await evalLua('7 / 2 == 3.5 and math.type(7 / 2)')).toBe('float');
    expect(await evalLua('e.n * 2', { n: 4503599627370495 })).toBe(9007199254740990);
  });
});

describe('sandbox', () => {
  it('offers deterministic iteration: integers ascending, then strings bytewise', async () => {
    const keys = await evalLua(
      '(function() local t = { [10] = 1, [2] = 1, [-1] = 1, b = 1, a = 1, B = 1, ["é"] = 1, aa = 1 } ' +
        'local out = {} for k, v in dpairs(t) do out[#out + 1] = k end return out end)()',
    );
    expect(keys).toEqual([-1, 2, 10, 'B', 'a', 'aa', 'b', 'é']);
    expect(await evalLua('dkeys({ z = 1, y = 2, [3] = 0 })')).toEqual([3, 'y', 'z']);
    const f = await failure(() => evalLua('dkeys({ [1.5] = 1 })'));
    expect(f.code).toBe('GATOS_E_FOLD_RUNTIME');
  });

  it('sorts stably with dsort and table.sort', async () => {
    const sorted = await evalLua(
      '(function() local t = {} for i = 1, 40 do t[i] = { k = i % 3, i = i } end ' +
        'table.sort(t, function(a, b) return a.k < b.k end) local out = {} ' +
        'for i = 1, #t do out[i] = t[i].i end return out end)()',
    );
    const expected = [0, 1, 2].flatMap((k) =>
      Array.from({ length: 40 }, (_, j) => j + 1).filter((i) => i % 3 === k),
    );
    expect(sorted).toEqual(expected);
    expect(await evalLua('dsort({ "b", 3, "a", -1, 2 })')).toEqual([-1, 2, 3, 'a', 'b']);
  });

  it('json_encode writes canonical JSON', async () => {
    expect(await evalLua('json_encode({ b = 1, a = { 1, 2, {} }, c = "x\\n\\1", d = null })')).toBe(
      '{"a":[1,2,{}],"b":1,"c":"x\\n\\u0001","d":null}',
    );
  });

  it('tostring and string.format print no addresses and one NaN', async () => {
    expect(
      await evalLua('{ tostring(0/0), tostring(-(0/0)), tostring(null), tostring(1.5), tostring(2^53) }'),
    ).toEqual(['nan', 'nan', 'null', '1.5', '9.007199254741e+15']);
    expect(await evalLua('string.format("%s|%5.1f|%d|%x", 0/0, 2.25, 7, 255)')).toBe('nan|  2.2|7|ff');
    for (const expr of [
      'tostring(fold)',
      'string.format("%f", 0/0)',
      'string.format("%s", {})',
      'string.format("%p", 1)',
    ]) {
      expect((await failure(() => evalLua(expr))).code).toBe('GATOS_E_FOLD_RUNTIME');
    }
  });

  it('keeps plain string.find and the string methods that are safe', async () => {
    expect(await evalLua('{ string.find("a.b.c", ".", 3, true) }')).toEqual([4, 4]);
    expect(await evalLua('("abc"):upper() .. ("x"):rep(3, "-") .. ("hello"):sub(2, 3)')).toBe('ABCx-x-xel');
    expect(await evalLua('utf8.len("é𝄞")')).toBe(2);
    const missing = ['string["gs".."ub"]', 'string["du".."mp"]', 'math["ran".."dom"]', '("x")["mat".."ch"]'];
    expect(await evalLua(missing.map((m) => `type(${m})`).join(' .. '))).toBe('nilnilnilnil');
  });

  it('lets pcall catch ordinary errors but not fuel exhaustion', async () => {
    expect(await evalLua('{ pcall(error, "boom", 0) }')).toEqual([false, 'boom']);
    const f = await failure(() => evalLua('(function() error({ code = 1 }) end)()'));
    expect(f).toMatchObject({ code: 'GATOS_E_FOLD_RUNTIME', data: { message: '(error object is a table)' } });
  });

  it('gives every event a fresh instance: globals and upvalues do not carry over', async () => {
    const events = [{}, {}, {}];
    const globals = await runFold(
      'function fold(s, e) seen = (seen or 0) + 1 s.seen = seen return s end',
      {},
      events,
    );
    expect(globals.state).toEqual({ seen: 1 });
    const upvalues = await runFold(
      'local n = 0 function fold(s, e) n = n + 1 s.n = n return s end',
      {},
      events,
    );
    expect(upvalues.state).toEqual({ n: 1 });
  });

  it('collects log lines per event, bounded', async () => {
    const r = await runFold(
      'function fold(s, e) log(e.i, "a", { x = 1 }, null, true, 0.5) if e.i == 1 then for i = 1, 150 do log(i) end end return s end',
      {},
      [{ i: 0 }, { i: 1 }],
    );
    expect(r.logs[0]).toEqual({ event: 0, message: '0 a {"x":1} null true 0.5' });
    expect(r.logs.filter((l) => l.event === 1)).toHaveLength(100);
    expect(r.logs.at(-1)).toEqual({
      event: 1,
      message: 'log: 100 lines for this event; further lines are dropped',
    });
  });
});

describe('fuel', () => {
  const source = 'function fold(s, e) local x = 0 for i = 1, e.n do x = x + i end s.x = x return s end';

  it('is exact: a budget of exactly the fuel an event needs passes, one less fails', async () => {
    const need = (await runFold(source, {}, [{ n: 50 }])).fuelUsed;
    const exact = await createEchoLua({ fuel: need, memoryBytes: OPTS.memoryBytes });
    const short = await createEchoLua({ fuel: need - 1, memoryBytes: OPTS.memoryBytes });
    try {
      const ok = await (await exact.loadFold(source)).run({}, [{ n: 50 }]);
      expect(ok).toEqual({ state: { x: 1275 }, fuelUsed: need, logs: [] });
      const f = await failure(async () => (await short.loadFold(source)).run({}, [{ n: 50 }]));
      expect(f).toEqual({
        code: 'GATOS_E_FOLD_FUEL',
        data: { fold: 'fold', phase: 'run', event: 0, fuel: need - 1, instructions: need, allocation: 0 },
      });
    } finally {
      exact.close();
      short.close();
    }
  });

  it('is a per-event budget: batch size does not change fuel, and it reports the failing event', async () => {
    const one = (await runFold(source, {}, [{ n: 10 }])).fuelUsed;
    expect((await runFold(source, {}, [{ n: 10 }, { n: 10 }, { n: 10 }])).fuelUsed).toBe(3 * one);
    const small = await createEchoLua({ fuel: 5000, memoryBytes: OPTS.memoryBytes });
    try {
      const fold = await small.loadFold(source);
      const f = await failure(() => fold.run({}, [{ n: 10 }, { n: 10 }, { n: 100000 }, { n: 1 }]));
      expect(f.data).toMatchObject({ event: 2, instructions: 5001 });
      // The engine is still usable after a failure.
      expect((await fold.run({}, [{ n: 10 }])).state).toEqual({ x: 55 });
    } finally {
      small.close();
    }
  });

  it('charges long strings by length: 100 more units for 6400 bytes than for 40', async () => {
    const cost = async (n: number) =>
      (await runFold(`function fold(s, e) local x = string.rep("x", ${n}) return s end`, {}, [{}])).fuelUsed;
    expect((await cost(6400)) - (await cost(40))).toBe(100);
  });
});

describe('engine', () => {
  it('validates options', async () => {
    for (const opts of [
      { fuel: 0, memoryBytes: 1 << 20 },
      { fuel: 1.5, memoryBytes: 1 << 20 },
      { fuel: 10, memoryBytes: 1000 },
    ]) {
      expect((await failure(() => createEchoLua(opts))).code).toBe('GATOS_E_FOLD_OPTIONS');
    }
  });

  it('reports a syntax error as a lint error with its line', async () => {
    const f = await failure(() => echo.loadFold('function fold(s, e)\n  return s +\nend', 'broken'));
    expect(f.code).toBe('GATOS_E_FOLD_LINT');
    expect(f.data['line']).toBe(3);
    const deep = `function fold(s, e) return ${'('.repeat(1000)}1${')'.repeat(1000)} end`;
    expect((await failure(() => echo.loadFold(deep, 'deep'))).code).toBe('GATOS_E_FOLD_LINT');
  });

  it('tracks memory, refuses use after unload and close', async () => {
    const engine = await createEchoLua(OPTS);
    expect(engine.memoryUsed()).toBeGreaterThan(10_000);
    const fold = await engine.loadFold(reducer('counter.lua'));
    fold.unload();
    expect((await failure(() => fold.run({}, []))).code).toBe('GATOS_E_INTERNAL');
    engine.close();
    expect((await failure(() => engine.loadFold(reducer('counter.lua')))).code).toBe('GATOS_E_INTERNAL');
  });

  it('has an id naming the versions and the sha256 of the prelude and of the wasm binary', async () => {
    const id = await echoLuaEngineId();
    const wasmSha = createHash('sha256').update(readFileSync(wasmoonWasmPath())).digest('hex');
    expect(id).toBe(
      `${ECHOLUA_VERSION};wasmoon/${WASMOON_VERSION};lua/5.4;prelude-sha256:${echoLuaPreludeSha256()};wasm-sha256:${wasmSha}`,
    );
    const pkg = JSON.parse(readFileSync(join(wasmoonWasmPath(), '../../package.json'), 'utf8')) as {
      version: string;
    };
    expect(pkg.version).toBe(WASMOON_VERSION);
  });
});

describe('instance reuse (spec § 1.1)', () => {
  /** Fold `events` both ways (reuse when eligible, and fresh forced) in batches of `size`. */
  async function bothWays(source: string, events: FoldValue[], size: number) {
    const auto = await echo.loadFold(source, 'reuse');
    const fresh = await echo.loadFold(source, 'reuse', { instance: 'fresh' });
    try {
      expect(fresh.instance).toBe('fresh');
      return {
        instance: auto.instance,
        reason: auto.freshReason,
        auto: await foldInBatches(auto, {}, events, size),
        fresh: await foldInBatches(fresh, {}, events, size),
      };
    } finally {
      auto.unload();
      fresh.unload();
    }
  }

  const helpers = `-- Top-level literal constants and helpers: reusable.
local LIMIT, PREFIX, ON, NOTHING = 3, "k:", true, nil
local NEG = -7
local function bump(n) return (n or 0) + 1 end
function clamp(n) if n > LIMIT then return LIMIT end return n end
function fold(state, event)
  state.n = bump(state.n)
  state.c = clamp(state.n)
  state.neg = NEG
  if ON and NOTHING == nil then state.last = PREFIX .. (event.key or "?") end
  local t = {}
  for i = 1, 3 do local x = i t[#t + 1] = x end
  state.t = t
  return state
end
`;

  it('reuses one instance for eligible folds: same states, fuel and logs as fresh instances', async () => {
    const events = kvEvents(200, 3);
    for (const source of [reducer('kv.lua'), reducer('counter.lua'), helpers]) {
      const r = await bothWays(source, events, 64);
      expect(r.instance).toBe('reuse');
      expect(r.reason).toBeNull();
      expect(r.auto).toEqual(r.fresh);
    }
  });

  it('gives identical states, fuel and logs for batch sizes 1, 7, 64 and 1024 on the reuse path', async () => {
    const events = kvEvents(1100, 11);
    const fold = await echo.loadFold(reducer('kv.lua'), 'kv');
    expect(fold.instance).toBe('reuse');
    const whole = await foldInBatches(fold, {}, events, 1024);
    for (const size of [1, 7, 64]) expect(await foldInBatches(fold, {}, events, size)).toEqual(whole);
    const fresh = await echo.loadFold(reducer('kv.lua'), 'kv', { instance: 'fresh' });
    expect(await foldInBatches(fresh, {}, events, 1024)).toEqual(whole);
    fold.unload();
    fresh.unload();
  });

  it('puts folds that could leak between events on the fresh path, with the same result as one by one', async () => {
    const leaky: [string, RegExp][] = [
      // top-level local / upvalue
      ['local n = 0\nfunction fold(s, e) n = n + 1 s.n = n return s end', /top-level local n/],
      ['local n, m = 0, 0\nfunction fold(s, e) m, n = 1, n + 1 s.n = n return s end', /top-level local m/],
      ['local n = 0\nfunction fold(s, e) for n = 1, 2 do end return s end', /top-level local n/],
      // global written from a function
      ['function fold(s, e) seen = (seen or 0) + 1 s.n = seen return s end', /global seen/],
      ['function fold(s, e) do local x = 1 end x = (x or 0) + 1 s.n = x return s end', /global x/],
      ['function fold(s, e) if e then local y = 1 else y = 2 end s.n = 1 return s end', /global y/],
      ['function fold(s, e) function helper() return 1 end s.n = helper() return s end', /global helper/],
      // top-level tables, computed values, other statements
      ['local seen = {}\nfunction fold(s, e) seen[#seen + 1] = 1 s.n = #seen return s end', /literal/],
      ['local k = "a" .. "b"\nfunction fold(s, e) s.n = 1 return s end', /literal/],
      ['count = 0\nfunction fold(s, e) count = count + 1 s.n = count return s end', /top level/],
      // function identity kept across events
      [
        'local function h() end\nfunction fold(s, e) local same = s.f == h s.f = h s.same = same s.f = nil return s end',
        /function h as a value/,
      ],
    ];
    const events: FoldValue[] = [{ key: 'a' }, { key: 'b' }, { key: 'c' }];
    for (const [source, why] of leaky) {
      const r = await bothWays(source, events, events.length);
      expect(r.instance, source).toBe('fresh');
      expect(r.reason, source).toMatch(why);
      expect(r.auto).toEqual(r.fresh);
      // One by one gives the same: nothing leaked through the top-level local, the upvalue or the global.
      expect(await bothWays(source, events, 1)).toMatchObject({ auto: r.auto });
    }
    const counter = await bothWays(leaky[0]![0], events, 3);
    expect(counter.auto.state).toEqual({ n: 1 });
  });

  it('still reads globals through the frozen environment of a reused instance', async () => {
    // The reused instance's environment refuses writes (defence in depth behind the static rule, which already
    // sends every fold with a global write to the fresh path); reads, of defined or undefined names, are unchanged.
    const r = await bothWays('function fold(s, e) s.v = undefined_global == nil return s end', [{}], 1);
    expect(r.instance).toBe('reuse');
    expect(r.auto.state).toEqual({ v: true });
  });

  it('gives the same log lines, per-event numbering and per-event caps on both paths', async () => {
    const source =
      'local function say(x) log("ev", x) end\nfunction fold(s, e) say(e.i) if e.i % 2 == 1 then for i = 1, 120 do log(i) end end s.n = (s.n or 0) + 1 return s end';
    const events = [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }];
    for (const size of [1, 2, 5]) {
      const r = await bothWays(source, events, size);
      expect(r.instance).toBe('reuse');
      expect(r.auto).toEqual(r.fresh);
    }
    const a = await echo.loadFold(source);
    const { logs } = await a.run({}, events);
    expect(logs.filter((l) => l.event === 1)).toHaveLength(100);
    expect(logs.filter((l) => l.event === 2)).toEqual([{ event: 2, message: 'ev 2' }]);
    expect(logs.filter((l) => l.event === 3)).toHaveLength(100);
    a.unload();
  });

  it('fails or passes at the same instruction on both paths for every small budget', async () => {
    // Covers budgets where the charge for the instantiation alone nearly exhausts an event.
    const source = 'function fold(s, e) s.n = (s.n or 0) + e.k return s end';
    const passes: number[] = [];
    for (let fuel = 20; fuel <= 48; fuel++) {
      const engine = await createEchoLua({ fuel, memoryBytes: OPTS.memoryBytes });
      try {
        const outcome = async (opts: { instance: 'auto' | 'fresh' }) => {
          try {
            const fold = await engine.loadFold(source, 'fold', opts);
            return { instance: fold.instance, r: await fold.run({}, [{ k: 1 }, { k: 2 }]) };
          } catch (e) {
            if (isGatosError(e)) return { code: e.code, data: e.data };
            throw e;
          }
        };
        const auto = await outcome({ instance: 'auto' });
        const fresh = await outcome({ instance: 'fresh' });
        if ('instance' in auto) {
          expect(auto.instance).toBe('reuse');
          passes.push(fuel);
        }
        expect({ fuel, ...auto, instance: undefined }).toEqual({ fuel, ...fresh, instance: undefined });
      } finally {
        engine.close();
      }
    }
    // Some budgets fail at load, some while folding, some pass.
    expect(passes.length).toBeGreaterThan(0);
    expect(passes[0]).toBeGreaterThan(30);
  });

  it('charges the same fuel on both paths, exhaustion included', async () => {
    const source =
      'local K = 2\nlocal function f(x) return x * K end\nfunction fold(s, e) local x = 0 for i = 1, e.n do x = x + f(i) end s.x = x return s end';
    const a = await echo.loadFold(source);
    const b = await echo.loadFold(source, 'fold', { instance: 'fresh' });
    expect(a.instance).toBe('reuse');
    const need = (await b.run({}, [{ n: 30 }])).fuelUsed;
    expect((await a.run({}, [{ n: 30 }])).fuelUsed).toBe(need);
    for (const fuel of [need, need - 1, 40, 20]) {
      const engine = await createEchoLua({ fuel, memoryBytes: OPTS.memoryBytes });
      try {
        const outcome = async (opts: { instance: 'auto' | 'fresh' }) => {
          try {
            const fold = await engine.loadFold(source, 'fold', opts);
            return await fold.run({}, [{ n: 30 }]);
          } catch (e) {
            if (isGatosError(e)) return { code: e.code, data: e.data };
            throw e;
          }
        };
        expect(await outcome({ instance: 'auto' })).toEqual(await outcome({ instance: 'fresh' }));
      } finally {
        engine.close();
      }
    }
  });
});
