/**
 * A consumer killed mid-stream (SIGKILL, as a separate process) resumes without loss: messages it applied but did
 * not ack are delivered again and skipped by applyOnce over its durable effect log, so in the end every message
 * is applied exactly once, including messages published while it was down.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOk, gatos, tmp } from '../../git-gatos/test/helpers.js';
import { busRepo, track } from './bus-cli-helpers.js';

const FIXTURE = join(import.meta.dirname, 'bus-cli-consumer-fixture.mjs');

function publishBatch(repo: string, env: NodeJS.ProcessEnv, from: number, n: number): string[] {
  const file = join(tmp(), 'batch.jsonl');
  writeFileSync(
    file,
    Array.from({ length: n }, (_, i) => JSON.stringify({ data: { n: from + i } })).join('\n'),
  );
  const r = expectOk(gatos(repo, env, ['bus', 'publish', '--topic', 'work', '--batch', file, '--json'])).json;
  return r.published.map((p: { ulid: string }) => p.ulid);
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function consumer(repo: string, effects: string, stopAt: number, crashAfter = 0) {
  const child = track(
    spawn(process.execPath, [FIXTURE, repo, 'work', 'billing', effects, String(stopAt)], {
      cwd: import.meta.dirname,
      env: { ...process.env, CRASH_AFTER: String(crashAfter) },
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((r) =>
    child.on('exit', (code, signal) => r({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('bus consumer killed mid-stream', () => {
  it('is killed with SIGKILL twice, restarts, and applies every message exactly once', async () => {
    const { repo, env } = busRepo();
    const e = { ...env, GATOS_ACTOR: 'user:alice' };
    const ulids = publishBatch(repo, e, 0, 60);
    const effects = join(tmp(), 'effects.log');
    const total = 100;

    // 1. Dies by its own SIGKILL after 17 effects: mid-page (pages of 7), so 3 are applied but not acked.
    const r1 = await consumer(repo, effects, total, 17).done;
    expect(r1.signal).toBe('SIGKILL');
    expect(lines(effects)).toHaveLength(17);

    // 2. Restarted, then killed from outside while it works through the backlog.
    const c2 = consumer(repo, effects, total);
    while (!(lines(effects).length >= 30)) await new Promise((r) => setTimeout(r, 5));
    c2.child.kill('SIGKILL');
    const r2 = await c2.done;
    expect(r2.signal, r2.stderr).toBe('SIGKILL');
    const afterKill = lines(effects).length;
    expect(afterKill).toBeLessThan(60); // mid-stream: part of the backlog was still unread
    // Run 1 acked through offset 13 (two pages of 7) and applied 14-16: run 2 got those again and skipped them.
    expect(r2.stdout.split('\n')[0]).toBe('{"redelivered_skipped":3}');
    // More messages arrive while no consumer runs.
    ulids.push(...publishBatch(repo, e, 60, 40));

    // 3. Restarted, runs to the end.
    const r3 = await consumer(repo, effects, total).done;
    expect(r3.code, r3.stderr).toBe(0);
    const summary = JSON.parse(r3.stdout.trim().split('\n').at(-1)!);
    const applied = lines(effects).map((l) => l.split(' '));
    expect(applied.map(([u]) => u)).toEqual(ulids); // each exactly once, in offset order, none lost
    expect(applied.map(([, o]) => Number(o))).toEqual(Array.from({ length: total }, (_, i) => i));
    const read = expectOk(
      gatos(repo, env, ['bus', 'read', '--topic', 'work', '--group', 'billing', '--json']),
    ).json;
    expect(read.position.offset).toBe(total - 1);
    expect(read.messages).toEqual([]);
    console.log(
      `consumer runs: killed at 17 (self), at ${afterKill} (external); run 3 applied ${summary.applied}, skipped ${summary.skipped}`,
    );
  });
});
