import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isGatosError } from '../../src/errors.js';
import { createEchoLua } from '../../src/fold/echolua.js';
import type { EchoLuaOptions } from '../../src/fold/interface.js';
import type { FoldValue } from '../../src/fold/lua-value.js';

const root = join(import.meta.dirname, '../../../..');
const dir = join(root, 'conformance/fold');

interface HostileCase {
  file: string;
  code: string;
  phase: 'load' | 'run';
  instructions?: number;
}
interface HostileSuite {
  options: EchoLuaOptions;
  state: FoldValue;
  events: FoldValue[];
  cases: HostileCase[];
}

const suite = JSON.parse(readFileSync(join(dir, 'hostile.json'), 'utf8')) as HostileSuite;

interface Outcome {
  phase: 'load' | 'run' | 'none';
  code: string;
  data: Record<string, unknown>;
}

async function attempt(c: HostileCase): Promise<Outcome> {
  const source = readFileSync(join(dir, 'hostile', c.file), 'utf8');
  const echo = await createEchoLua(suite.options);
  let phase: Outcome['phase'] = 'load';
  try {
    const fold = await echo.loadFold(source, c.file);
    phase = 'run';
    await fold.run(suite.state, suite.events);
    return { phase: 'none', code: 'OK', data: {} };
  } catch (e) {
    if (!isGatosError(e)) throw e;
    return { phase, code: e.code, data: e.data };
  } finally {
    echo.close();
  }
}

describe('hostile folds (conformance/fold/hostile.json)', () => {
  it.each(suite.cases.map((c) => [c.file, c] as const))(
    '%s fails the same way in 3 fresh engines',
    async (_, c) => {
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 3; i++) outcomes.push(await attempt(c));
      const first = outcomes[0]!;
      expect({ code: first.code, phase: first.phase }).toEqual({ code: c.code, phase: c.phase });
      if (c.instructions !== undefined) expect(first.data['instructions']).toBe(c.instructions);
      // Same code and the same details (fuel counts, lines, paths, messages) every time.
      for (const o of outcomes) expect(o).toEqual(first);
    },
  );

  it('every hostile file is listed', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(join(dir, 'hostile')).filter((f) => f.endsWith('.lua'));
    expect(files.sort()).toEqual(suite.cases.map((c) => c.file).sort());
  });
});
