/** Shared pieces of the `git gatos bus …` commands. */
import { GatosError } from '@gatos/core';
import type { CliIo } from '../../command.js';

/**
 * The bus commands' clock: `$GATOS_NOW` (an ISO 8601 instant) when set, else the wall clock. Meant for tests of
 * rotation by day and TTL pruning; only the bus commands read it.
 */
export function busNow(io: CliIo): Date {
  const v = io.env.GATOS_NOW;
  if (!v) return io.now();
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) {
    throw new GatosError('GATOS_E_USAGE', `GATOS_NOW is not a date: ${JSON.stringify(v)}`, {
      hint: 'Use an ISO 8601 instant such as 2026-11-23T10:00:00.000Z, or unset it.',
    });
  }
  return d;
}
