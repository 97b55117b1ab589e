/**
 * The gate's server-side settings: read from the served repository's own git config (`gatos.gate.*`), which a push
 * cannot change, never from `refs/gatos/config`, which a push can. One `git config` run per push.
 */
import { spawnSync } from 'node:child_process';
import { GatosError } from '@gatos/core/errors';

/** Default of `gatos.gate.timeoutSeconds`: the longest a hook may take to decide. */
export const DEFAULT_GATE_TIMEOUT_MS = 60_000;

/** The settings the gate takes from the server (each absent: the gate's default). */
export interface GateSettings {
  /** `gatos.gate.maxFutureSkewSeconds`: how far ahead of the gate's clock an event's `ts` may be. */
  maxFutureMs?: number;
  /** `gatos.gate.timeoutSeconds`: the hook's time budget for one decision. */
  timeoutMs?: number;
}

function seconds(key: string, value: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new GatosError('GATOS_E_USAGE', `${key} must be whole seconds (${min} to ${max}), got ${value}`, {
      hint: `git config ${key} <seconds> (in the served repository)`,
    });
  }
  return Number(value) * 1000;
}

/** Parses `git config --get-regexp ^gatos\.gate\.` output; a malformed value is `GATOS_E_USAGE` (fail closed). */
export function parseGateSettings(text: string): GateSettings {
  const out: GateSettings = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    // git prints keys lowercased.
    if (key === 'gatos.gate.maxfutureskewseconds')
      out.maxFutureMs = seconds('gatos.gate.maxFutureSkewSeconds', value, 0, 999_999_999);
    else if (key === 'gatos.gate.timeoutseconds')
      out.timeoutMs = seconds('gatos.gate.timeoutSeconds', value, 1, 999_999);
  }
  return out;
}

/** Reads `gatos.gate.*` from the git config of the repository at `cwd`. */
export function readGateSettings(cwd: string): GateSettings {
  const r = spawnSync('git', ['config', '--get-regexp', '^gatos\\.gate\\.'], { cwd, encoding: 'utf8' });
  // Exit 1: no such keys.
  if (r.status !== 0 && r.status !== 1) {
    throw new GatosError('GATOS_E_GIT', `git config failed: ${r.stderr?.trim() ?? r.error?.message}`);
  }
  return parseGateSettings(r.stdout ?? '');
}
