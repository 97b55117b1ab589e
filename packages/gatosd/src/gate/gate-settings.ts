/**
 * The gate's server-side settings: read from the served repository's own git config (`gatos.gate.*`), which a push
 * cannot change, never from `refs/gatos/config`, which a push can.
 */
import { GatosError } from '@gatos/core';
import { type Repository, runGit } from '@gatos/git';

/** The settings `decidePush` takes from the server (each absent: the gate's default). */
export interface GateSettings {
  /** `gatos.gate.maxFutureSkewSeconds`: how far ahead of the gate's clock an event's `ts` may be. */
  maxFutureMs?: number;
}

/** Reads `gatos.gate.*` from the repository's git config; a malformed value is `GATOS_E_USAGE` (the gate fails closed). */
export async function readGateSettings(repo: Repository): Promise<GateSettings> {
  let text = '';
  try {
    text = (await runGit(repo, ['config', '--get-regexp', '^gatos\\.gate\\.'])).toString('utf8');
  } catch (e) {
    // Exit 1: no such keys.
    if ((e as GatosError).data?.exitCode !== 1) throw e;
  }
  const out: GateSettings = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const [, key, value] = m;
    if (key === 'gatos.gate.maxfutureskewseconds') {
      if (!/^\d{1,9}$/.test(value!)) {
        throw new GatosError(
          'GATOS_E_USAGE',
          `gatos.gate.maxFutureSkewSeconds must be whole seconds, got ${value}`,
          {
            hint: 'git config gatos.gate.maxFutureSkewSeconds 300 (in the served repository)',
          },
        );
      }
      out.maxFutureMs = Number(value) * 1000;
    }
  }
  return out;
}
