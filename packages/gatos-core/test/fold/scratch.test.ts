import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { createEchoLua } from '../../src/fold/echolua.js';

it('perf', async () => {
  const e = await createEchoLua({ fuel: 1_000_000, memoryBytes: 64 << 20 });
  const f = await e.loadFold(readFileSync('conformance/fold/reducers/counter.lua', 'utf8'), 'counter');
  const N = 100_000;
  const events = Array.from({ length: N }, (_, i) => ({ type: i % 3 === 0 ? 'dec' : 'inc', n: (i % 7) + 1 }));
  for (const B of [100, 1000, 10000, 100000]) {
    let best = Infinity; let st: unknown; let fu = 0;
    for (let rep = 0; rep < 3; rep++) {
      let state: any = { count: 0 }; fu = 0;
      const t0 = performance.now();
      for (let i = 0; i < N; i += B) { const r = await f.run(state, events.slice(i, i + B)); state = r.state; fu += r.fuelUsed; }
      best = Math.min(best, performance.now() - t0); st = state;
    }
    console.log('batch', B, Math.round(N / best * 1000), 'events/s', JSON.stringify(st), 'fuel', fu);
  }
  const r = await (await e.loadFold('function fold(s, e) s.x = string.rep("x", 6400) s.x = nil return s end')).run({}, [{}]);
  const r0 = await (await e.loadFold('function fold(s, e) s.x = string.rep("x", 40) s.x = nil return s end')).run({}, [{}]);
  console.log('rep fuel', r.fuelUsed, r0.fuelUsed);
  console.log(JSON.stringify((globalThis as any).__T));
  e.close();
});
