/**
 * Re-folding at the push-gate (`spec/push-gate.md` § 2.4): in a `research` repository (`gate_refold: true`) a
 * correctly signed checkpoint whose state was altered is refused with `state-refold`; a `default` repository
 * accepts it (its proof verifies); an honest fold is accepted by both.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildFoldStatement,
  checkpointCommit,
  configCommit,
  encodeRefComponent,
  foldRoot,
  journalRef,
  PROFILES,
  readCheckpoint,
  sign,
  signProofOfFold,
  stateRef,
  stateRoot,
  TRUST_KEYS_REF,
} from '@gatos/core';
import { createObjectStore, openRepository } from '@gatos/git';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOk, gatos, git, tmp } from '../../git-gatos/test/helpers.js';

const DENY_REF = 'refs/gatos/audit/policy/deny';
const LEDGER = join(import.meta.dirname, '../../git-gatos/test/fixtures/ledger.lua');
const ALICE = journalRef('lab', 'user:alice');
const STATE = stateRef('lab');

let research: string;
let plain: string;
let client: string;
let env: NodeJS.ProcessEnv;
let home: string;
/** The looping checkpoint and the config with a huge fuel that come with it (made by the first limits test). */
let looping: { forged: string; cfg: string } | undefined;

function push(server: string, ...args: string[]): { status: number; out: string } {
  const r = spawnSync('git', ['push', '--porcelain', server, ...args], {
    cwd: client,
    encoding: 'utf8',
    env: { ...env, LC_ALL: 'C' },
  });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** The pids of pre-receive hooks (node running the gate) whose working directory is `server`. */
function hooksOf(server: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (
        cmd.includes('gatos-pre-receive') &&
        realpathSync(readlinkSync(`/proc/${pid}/cwd`)) === realpathSync(server)
      ) {
        out.push(Number(pid));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function refsOf(server: string): string {
  return git(server, 'for-each-ref', '--format=%(objectname) %(refname)')
    .split('\n')
    .filter((l) => !l.endsWith(` ${DENY_REF}`))
    .join('\n');
}

function append(n: number) {
  expectOk(
    gatos(client, env, ['event', 'append', '--ns', 'lab', '--type', 'add', '--payload', `{"n":${n}}`]),
  );
}

/** Alice's checkpoint `honest` with its state altered, re-signed with her registered key. */
async function alteredCheckpoint(honest: string): Promise<string> {
  const repo = await openRepository({ cwd: client });
  const objects = createObjectStore(repo);
  try {
    const cp = await readCheckpoint(objects, honest);
    const state = structuredClone(cp.state) as { totals: Record<string, number> };
    state.totals['user:alice']! += 100;
    const statement = buildFoldStatement({ ...cp.predicate, state_root: stateRoot(state) });
    const keys = join(home, 'keys');
    const file = spawnSync('ls', [keys], { encoding: 'utf8' }).stdout.trim().split('\n')[0]!;
    const key = JSON.parse(readFileSync(join(keys, file), 'utf8')) as { key_id: string; seed: string };
    expect(file).toBe(`${encodeRefComponent(key.key_id)}.json`);
    const seed = Uint8Array.from(Buffer.from(key.seed, 'hex'));
    const envelope = signProofOfFold(statement, { keyId: key.key_id, sign: (m) => sign(seed, m) });
    const c = checkpointCommit({ envelope, state, foldSource: cp.foldSource });
    await objects.put(c.objects);
    return c.commit.oid;
  } finally {
    await objects.close();
  }
}

beforeAll(async () => {
  const root = tmp('gatos-gate-refold-');
  research = join(root, 'research.git');
  plain = join(root, 'default.git');
  home = join(root, 'home');
  env = { ...process.env, GATOS_HOME: home, GATOS_ACTOR: '' };
  for (const s of [research, plain]) {
    git(root, 'init', '-q', '--bare', s);
    expectOk(gatos(root, env, ['hook', 'install', s, '--json']));
  }
  client = join(root, 'client');
  git(root, 'init', '-q', client);
  expectOk(gatos(client, env, ['init', '--profile', 'research']));
  expectOk(gatos(client, env, ['key', 'new', '--actor', 'user:alice']));
  append(1);
  append(2);
  expectOk(gatos(client, env, ['fold', 'lab', '--fold', LEDGER, '--actor', 'user:alice']));
  // The default repository gets a default-profile config commit.
  const repo = await openRepository({ cwd: client });
  const objects = createObjectStore(repo);
  try {
    const cfg = configCommit(PROFILES.default, null);
    await objects.put(cfg.objects);
    const p = push(plain, `${cfg.commit.oid}:refs/gatos/config`);
    expect(p.status, p.out).toBe(0);
  } finally {
    await objects.close();
  }
  const r = push(research, 'refs/gatos/config');
  expect(r.status, r.out).toBe(0);
});

describe('push-gate re-fold (research profile)', () => {
  it('accepts an honest root checkpoint in both profiles', () => {
    for (const s of [research, plain]) {
      const p = push(s, TRUST_KEYS_REF, ALICE, STATE);
      expect(p.status, p.out).toBe(0);
      expect(git(s, 'rev-parse', STATE)).toBe(git(client, 'rev-parse', STATE));
    }
  });

  it('refuses a signed checkpoint with an altered state in research, accepts it in default', async () => {
    append(3);
    expectOk(gatos(client, env, ['fold', 'lab', '--actor', 'user:alice']));
    const honest = git(client, 'rev-parse', STATE);
    const forged = await alteredCheckpoint(honest);
    const e3 = git(client, 'log', '-1', '--format=%(trailers:key=Event-CID,valueonly)', ALICE).trim();

    const before = refsOf(research);
    const p = push(research, ALICE, `${forged}:${STATE}`);
    expect(p.status, p.out).not.toBe(0);
    const m = /GATOS DENY (\w{26}): (\S+) rule state-refold: (.*)/.exec(p.out);
    expect(m, p.out).not.toBeNull();
    expect(m![2]).toBe(STATE);
    expect(m![3]).toContain(`checkpoint ${forged.slice(0, 12)}`);
    expect(m![3]).toContain('first diverges at event #0 (user:alice add');
    expect(e3).toMatch(/^b/);
    expect(m![3]).toContain(e3);
    expect(m![3]).toContain('path ["totals","user:alice"]: history gives 6, checkpoint has 106');
    expect(refsOf(research)).toBe(before);
    const log = expectOk(gatos(research, env, ['audit', 'log', '--json'])).json;
    const rec = log.records.find((x: { id: string }) => x.id === m![1]);
    expect(rec.denials[0]).toMatchObject({
      rule: 'state-refold',
      code: 'GATOS_E_FOLD_DIVERGED',
      commit: forged,
    });

    // The default profile checks the proof only: the same push is accepted.
    const d = push(plain, ALICE, `${forged}:${STATE}`);
    expect(d.status, d.out).toBe(0);
    expect(git(plain, 'rev-parse', STATE)).toBe(forged);

    // The honest incremental checkpoint passes the re-fold.
    const h = push(research, ALICE, STATE);
    expect(h.status, h.out).toBe(0);
    expect(git(research, 'rev-parse', STATE)).toBe(honest);
  });

  it('a looping fold with a huge fuel is refused within the server time budget; the hook then exits', async () => {
    git(research, 'config', 'gatos.gate.timeoutSeconds', '3');
    try {
      append(5);
      expectOk(gatos(client, env, ['fold', 'lab', '--actor', 'user:alice']));
      const honest = git(client, 'rev-parse', STATE);
      const loop = 'function fold(state, event)\n  while true do end\nend\n';
      const fuel = 1_000_000_000_000;
      const repo = await openRepository({ cwd: client });
      const objects = createObjectStore(repo);
      let forged: string;
      let cfg: string;
      try {
        const cp = await readCheckpoint(objects, honest);
        const statement = buildFoldStatement({
          ...cp.predicate,
          fold_root: foldRoot(loop),
          profile: { ...cp.predicate.profile, fuel },
        });
        const keys = join(home, 'keys');
        const file = spawnSync('ls', [keys], { encoding: 'utf8' }).stdout.trim().split('\n')[0]!;
        const key = JSON.parse(readFileSync(join(keys, file), 'utf8')) as { key_id: string; seed: string };
        const seed = Uint8Array.from(Buffer.from(key.seed, 'hex'));
        const envelope = signProofOfFold(statement, { keyId: key.key_id, sign: (m) => sign(seed, m) });
        const c = checkpointCommit({ envelope, state: cp.state, foldSource: loop });
        const config = configCommit(
          { ...PROFILES.research, fold: { ...PROFILES.research.fold, fuel } },
          git(client, 'rev-parse', 'refs/gatos/config'),
        );
        await objects.put([...c.objects, ...config.objects]);
        forged = c.commit.oid;
        cfg = config.commit.oid;
        looping = { forged, cfg };
      } finally {
        await objects.close();
      }
      // The profile's fuel is repository config, which a push may still raise (its governance is not built yet);
      // the server's time budget bounds the gate whatever it says.
      const c = push(research, `${cfg}:refs/gatos/config`);
      expect(c.status, c.out).toBe(0);
      const before = refsOf(research);
      const t0 = Date.now();
      const p = push(research, '--atomic', ALICE, `${forged}:${STATE}`);
      const ms = Date.now() - t0;
      expect(p.status, p.out).not.toBe(0);
      expect(p.out).toMatch(
        /rule gate-error: the gate did not decide within 3 s \(gatos\.gate\.timeoutSeconds\)/,
      );
      expect(ms).toBeLessThan(15_000);
      expect(refsOf(research)).toBe(before);
      const log = expectOk(gatos(research, env, ['audit', 'log', '--json'])).json;
      expect(log.records[0].denials.map((d: { rule: string }) => d.rule)).toEqual([
        'gate-error',
        'gate-error',
      ]);
      // No hook of this repository is left running.
      expect(hooksOf(research)).toEqual([]);
      console.log(`looping re-fold with fuel ${fuel}: refused after ${ms} ms (budget 3 s)`);
    } finally {
      git(research, 'config', '--unset', 'gatos.gate.timeoutSeconds');
    }
  });

  it('when the pusher goes away mid-decision, the hook does not keep running', async () => {
    git(research, 'config', 'gatos.gate.timeoutSeconds', '600');
    try {
      const { forged } = looping!;
      const child = spawn('git', ['push', '--atomic', research, ALICE, `${forged}:${STATE}`], {
        cwd: client,
        env: { ...env, LC_ALL: 'C' },
        stdio: 'ignore',
      });
      child.unref();
      const waitFor = async (ok: () => boolean, ms: number) => {
        for (const end = Date.now() + ms; Date.now() < end; ) {
          if (ok()) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return ok();
      };
      expect(await waitFor(() => hooksOf(research).length > 0, 10_000)).toBe(true);
      // The connection to the pusher goes away: sshd or the web server ends git's receive-pack (the hook's parent).
      const receivePack = Number(
        readFileSync(`/proc/${hooksOf(research)[0]}/stat`, 'utf8')
          .split(') ')[1]!
          .split(' ')[1],
      );
      expect(readFileSync(`/proc/${receivePack}/cmdline`, 'utf8')).toContain('receive-pack');
      const t0 = Date.now();
      process.kill(receivePack, 'SIGKILL');
      child.kill('SIGKILL');
      expect(await waitFor(() => hooksOf(research).length === 0, 10_000)).toBe(true);
      const ms = Date.now() - t0;
      expect(ms).toBeLessThan(5_000);
      console.log(`hook gone ${ms} ms after its receive-pack was killed`);
    } finally {
      git(research, 'config', '--unset', 'gatos.gate.timeoutSeconds');
    }
  });
});
