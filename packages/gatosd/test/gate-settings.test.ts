/** The gate's server-side settings (`gatos.gate.*` in the served repository's git config). */
import { describe, expect, it } from 'vitest';
import { parseGateSettings } from '../src/gate/gate-settings.js';

describe('gate settings', () => {
  it('reads whole seconds as ms; git prints keys lowercased', () => {
    expect(parseGateSettings('gatos.gate.timeoutseconds 5\ngatos.gate.maxfutureskewseconds 0\n')).toEqual({
      timeoutMs: 5000,
      maxFutureMs: 0,
    });
    expect(parseGateSettings('')).toEqual({});
  });

  it('refuses a budget of 0 s and values that are not whole seconds (the gate fails closed)', () => {
    for (const line of [
      'gatos.gate.timeoutseconds 0',
      'gatos.gate.timeoutseconds 1.5',
      'gatos.gate.timeoutseconds 1000000',
      'gatos.gate.maxfutureskewseconds soon',
    ]) {
      expect(() => parseGateSettings(line), line).toThrow(/must be whole seconds/);
    }
  });
});
