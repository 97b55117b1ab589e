// GATOS push-gate bench: the latency the pre-receive gate adds to a push of 1 and of 1,000 fresh events, against
// the same push to an identical bare repository without the hook (the limit: git's own cost of the push).
// usage: pnpm bench:gate [-- --rounds 5]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFIG_REF,
  NO_POLICY_ROOT,
  PROFILES,
  TRUST_KEYS_REF,
  appendEvents,
  configCommit,
  createEnvelope,
  createUlidFactory,
  journalRef,
  keyPairFromSeed,
  readTrust,
  registerKey,
  sign,
  signEvent,
  trustedKeyEntry,
} from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { installHook } from '../packages/gatosd/dist/index.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 0) || 5;
const SIZES = [1, 1000];
const results = {};
const dirs = [];

function tmp() {
  const d = mkdtempSync(join(tmpdir(), 'gatos-bench-gate-'));
  dirs.push(d);
  return d;
}
function git(cwd, ...a) {
  const r = spawnSync('git', a, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
function pushTimed(client, server, ...refs) {
  const t = process.hrtime.bigint();
  const r = spawnSync('git', ['push', '-q', server, ...refs], { cwd: client, encoding: 'utf8' });
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`push to ${server} failed: ${r.stderr}`);
  return secs;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const root = tmp();
  const guarded = join(root, 'guarded.git');
  const bare = join(root, 'bare.git');
  const client = join(root, 'client');
  for (const s of [guarded, bare]) git(root, 'init', '-q', '--bare', s);
  await installHook(guarded);
  git(root, 'init', '-q', client);

  const repo = await openRepository({ cwd: client });
  const objects = createObjectStore(repo);
  const refs = createRefStore(repo);
  const cfg = configCommit(PROFILES.default, null);
  await objects.put(cfg.objects);
  await refs.cas({ ref: CONFIG_REF, expect: null, next: cfg.commit.oid });
  const seed = Uint8Array.from(randomBytes(32));
  const actor = 'user:bench';
  await registerKey(
    objects,
    refs,
    trustedKeyEntry(actor, keyPairFromSeed(seed).publicKey, (m) => sign(seed, m)),
  );
  const trust = await readTrust(objects, refs);
  const signer = { actor, keyId: trust.keys[0].key_id, sign: (pos) => signEvent(seed, pos) };
  let ms = Date.parse('2026-01-01T00:00:00.000Z');
  const nextUlid = createUlidFactory(
    () => ms,
    (n) => randomBytes(n),
  );
  const envelope = (i) => {
    ms += 1;
    return createEnvelope({
      type: 'bench.tick',
      ulid: nextUlid(),
      actor,
      payload: { i, note: 'a typical small payload of a few dozen bytes' },
      policy_root: NO_POLICY_ROOT,
      ts: new Date(ms).toISOString(),
    });
  };
  const ref = journalRef('bench', actor);
  // The first push (config, trust, one event) is not measured.
  await appendEvents([envelope(0)], { objects, refs, ns: 'bench', signer });
  for (const s of [guarded, bare]) pushTimed(client, s, CONFIG_REF, TRUST_KEYS_REF, ref);

  console.log(`push-gate latency, ${ROUNDS} rounds per size, medians (node ${process.version})`);
  for (const n of SIZES) {
    const gated = [];
    const plain = [];
    for (let r = 0; r < ROUNDS; r++) {
      await appendEvents(
        Array.from({ length: n }, (_, i) => envelope(i)),
        { objects, refs, ns: 'bench', signer },
      );
      // Alternate the order so neither side always runs with a warmer cache.
      if (r % 2 === 0) {
        gated.push(pushTimed(client, guarded, ref));
        plain.push(pushTimed(client, bare, ref));
      } else {
        plain.push(pushTimed(client, bare, ref));
        gated.push(pushTimed(client, guarded, ref));
      }
    }
    if (git(guarded, 'rev-parse', ref) !== git(client, 'rev-parse', ref))
      throw new Error('guarded push lost');
    const g = median(gated) * 1000;
    const p = median(plain) * 1000;
    const name = `push of ${n.toLocaleString('en-US')} event${n === 1 ? '' : 's'}`;
    results[name] = {
      events: n,
      rounds: ROUNDS,
      gated_ms: +g.toFixed(1),
      ungated_ms: +p.toFixed(1),
      added_ms: +(g - p).toFixed(1),
      added_ms_per_event: +((g - p) / n).toFixed(3),
      ratio: +(g / p).toFixed(2),
    };
    console.log(
      `${name.padEnd(24)} gated ${g.toFixed(1).padStart(8)} ms   without hook ${p.toFixed(1).padStart(8)} ms   ` +
        `added ${(g - p).toFixed(1).padStart(8)} ms (${((g - p) / n).toFixed(2)} ms/event)   ratio ${(g / p).toFixed(2)}x`,
    );
  }
  await objects.close();
  const out = join(import.meta.dirname, 'gate-results.json');
  writeFileSync(out, `${JSON.stringify({ node: process.version, rounds: ROUNDS, results }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

try {
  await main();
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
