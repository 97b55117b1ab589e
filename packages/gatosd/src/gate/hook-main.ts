/**
 * The pre-receive hook's process entry, kept light: it reads the push, decides it on a thread bounded in time
 * (`decide-thread-client.ts`), and only for a refused push loads what writes the DENY record. An accepted push
 * loads nothing else on this thread.
 */
import { decideOnThread, gateFailed } from './decide-thread-client.js';
import { DEFAULT_GATE_TIMEOUT_MS, readGateSettings } from './gate-settings.js';
import { type GateDecision, parsePushLines } from './gate-types.js';

/** stdin → decision → exit status (0 accepts). Fails closed: an error of the hook itself refuses the push. */
export async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const stdin = Buffer.concat(chunks);
  const stderr = (s: string) => void process.stderr.write(s);
  try {
    const cwd = process.cwd();
    const updates = parsePushLines(stdin.toString('utf8'));
    if (updates.length === 0) return;
    let decision: GateDecision;
    try {
      const settings = readGateSettings(cwd);
      decision = await decideOnThread(cwd, updates, {
        settings,
        timeoutMs: settings.timeoutMs ?? DEFAULT_GATE_TIMEOUT_MS,
        progress: (ms) => stderr(`GATOS gate: still checking (${Math.round(ms / 1000)} s)\n`),
      });
    } catch (e) {
      // The gate fails closed, and its own failure is a refusal recorded like any other.
      decision = gateFailed(updates, e instanceof Error ? e.message : String(e));
    }
    if (decision.allowed) return;
    const { recordRefusal } = await import('./pre-receive.js');
    process.exitCode = (await recordRefusal({ cwd, stdin, stderr }, updates, decision)).exitCode;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    stderr(`GATOS DENY: the push-gate failed (${msg}); push refused\n`);
    process.exitCode = 1;
  }
}
