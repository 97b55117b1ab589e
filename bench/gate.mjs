// GATOS push-gate bench: the latency the pre-receive gate adds to a push of 1 and of 1,000 fresh events, against
// the same push to an identical bare repository without the hook (the limit: git's own cost of the push); and the
// policy evaluator's decisions per second (conformance/policy/lab.rgs compiled once, varied inputs).
// usage: pnpm bench:gate [-- --rounds 5] [-- --decisions 200000]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFIG_REF,
  PROFILES,
  SYSTEM_IDENT,
  TRUST_KEYS_REF,
  actorRefPath,
  appendEvents,
  blobObject,
  commitObject,
  compileRgs,
  configCommit,
  encodeRefComponent,
  evaluatePolicy,
  journalRef,
  keyPairFromSeed,
  readTreeFiles,
  sign,
  treeFromFiles,
  trustedKeyEntry,
  parseCommit,
} from '@gatos/core';
import { benchActor } from './bench-journal.mjs';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { installHook } from '../packages/gatosd/dist/gate/index.js';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] || 0) || 5;
const DECISIONS = Number(args[args.indexOf('--decisions') + 1] || 0) || 200_000;
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

/**
 * Policy decisions per second: `lab.rgs` compiled once, then `evaluatePolicy` on the IR (what the gate does for
 * each journal event) over 1,000 varied inputs taken in turn: allowed writes, default denies (stranger, missing
 * cap, payload too large, other ref), and API changes with 0 to 3 approvals (quorum rules). Also from `.rgc`
 * bytes (decoded and validated on every call). Median of 5 runs.
 */
function policyDecisions() {
  const source = readFileSync(join(import.meta.dirname, '../conformance/policy/lab.rgs'), 'utf8');
  const compiled = compileRgs(source, { file: 'lab.rgs' });
  const actors = ['user:alice', 'user:bob', 'user:carol', 'agent:sensor-1', 'user:eve'];
  const pk = (i) => i.toString(16).padStart(64, '0');
  const keysByActor = Object.fromEntries(actors.map((a, i) => [a, [pk(i + 1)]]));
  const inputs = Array.from({ length: 1000 }, (_, i) => {
    const actor = actors[i % actors.length];
    const [, kind, name] = actor.match(/^(\w+):(.*)$/);
    const api = i % 4 === 3;
    return {
      ref: i % 10 === 9 ? `refs/gatos/state/lab` : `refs/gatos/journal/lab/${kind}/${name}`,
      actor,
      event: {
        type: api ? 'api.changed' : i % 2 ? 'note.created' : 'sample.registered',
        caps: i % 7 === 6 ? [] : ['lab.write'],
        payload: { volume_ul: (i * 37) % 1200, note: 'a typical small payload' },
      },
      approvals: api
        ? actors.slice(0, i % 4 === 3 ? (i >> 2) % 4 : 0).map((a, k) => ({ actor: a, publicKey: pk(k + 1) }))
        : [],
      keysByActor,
    };
  });
  const run = (policy, n) => {
    let allowed = 0;
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++)
      if (evaluatePolicy(policy, inputs[i % inputs.length]).decision === 'allow') allowed++;
    return { secs: Number(process.hrtime.bigint() - t) / 1e9, allowed };
  };
  const out = {};
  for (const [name, policy, n] of [
    ['ir', compiled.rgc, DECISIONS],
    ['rgc_bytes', compiled.bytes, Math.max(1000, Math.floor(DECISIONS / 4))],
  ]) {
    run(policy, Math.min(n, 20_000)); // warm-up
    const runs = Array.from({ length: 5 }, () => run(policy, n));
    const rate = n / median(runs.map((r) => r.secs));
    out[name] = {
      decisions: n,
      decisions_per_s: Math.round(rate),
      us_per_decision: +(1e6 / rate).toFixed(2),
      allowed_fraction: +(runs[0].allowed / n).toFixed(3),
    };
    console.log(
      `policy decisions (${name === 'ir' ? 'compiled IR, as the gate' : '.rgc bytes, decoded per call'})`.padEnd(
        52,
      ) +
        `${Math.round(rate).toLocaleString('en-US').padStart(10)} decisions/s   ` +
        `${(1e6 / rate).toFixed(2)} µs/decision   ${(100 * out[name].allowed_fraction).toFixed(1)}% allowed`,
    );
  }
  return {
    policy: 'conformance/policy/lab.rgs',
    rules: compiled.rgc.rules.length,
    inputs: inputs.length,
    ...out,
  };
}

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
  const { actor, signer, envelope } = await benchActor(objects, refs, seed);
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
  // Registry size: an honest 1-event push costs what it changes, whether 5 or 5,000 keys are registered.
  console.log('');
  for (const n of [5, 5000]) {
    const server = join(root, `keys-${n}.git`);
    git(root, 'init', '-q', '--bare', server);
    await installHook(server);
    const head = await refs.read(TRUST_KEYS_REF);
    const [c] = await objects.get([head]);
    const files = await readTreeFiles(objects, parseCommit(head, c.body).tree);
    const blobs = [];
    for (let i = 0; i < n; i++) {
      const junk = Uint8Array.from(randomBytes(32));
      const e = trustedKeyEntry(`user:junk-${i}`, keyPairFromSeed(junk).publicKey, (m) => sign(junk, m));
      const blob = blobObject(`${JSON.stringify(e, null, 2)}\n`);
      blobs.push(blob);
      files.push({
        path: `keys/${actorRefPath(e.actor)}/${encodeRefComponent(e.key_id)}.json`,
        oid: blob.oid,
      });
    }
    const { root: tree, trees } = treeFromFiles(files);
    const trust = commitObject({
      tree,
      parents: [head],
      author: SYSTEM_IDENT,
      committer: SYSTEM_IDENT,
      message: `${n} keys\n`,
    });
    await objects.put([...blobs, ...trees, trust]);
    const first = pushTimed(client, server, CONFIG_REF, `${trust.oid}:${TRUST_KEYS_REF}`, ref);
    const times = [];
    for (let r = 0; r < ROUNDS; r++) {
      await appendEvents([envelope(r)], { objects, refs, ns: 'bench', signer });
      times.push(pushTimed(client, server, ref));
    }
    const ms = median(times) * 1000;
    results[`1-event push, ${n} keys registered`] = {
      keys: n,
      rounds: ROUNDS,
      gated_ms: +ms.toFixed(1),
      first_push_ms: +(first * 1000).toFixed(1),
    };
    console.log(
      `1-event push, ${String(n).padStart(5)} keys registered   gated ${ms.toFixed(1).padStart(8)} ms   ` +
        `(the push registering them: ${(first * 1000).toFixed(0)} ms)`,
    );
  }
  await objects.close();
  console.log('');
  const policy = policyDecisions();
  const out = join(import.meta.dirname, 'gate-results.json');
  writeFileSync(
    out,
    `${JSON.stringify({ node: process.version, git: git(root, 'version'), rounds: ROUNDS, results, policy }, null, 2)}\n`,
  );
  console.log(`\nwrote ${out}`);
}

try {
  await main();
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
