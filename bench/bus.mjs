// Message bus benchmark: publish throughput (in-process and over gatosd's HTTP API, single and batched) next to
// `git fast-import` commits/s in the same run, and publish→subscriber latency over SSE at a steady rate.
// usage: pnpm bench:bus [-- --rate 500 --seconds 5 --warmup 5 --latency-only]   (loopback; about a minute)
// Latency: requests are fired open-loop on a timer (never waiting for earlier responses) for `warmup` + `seconds`
// seconds; for each message it reports request-sent → SSE-received (`p50_ms`, `p99_ms`, `max_ms`: includes
// queueing in the daemon) and 201-received → SSE-received (`after_201_*`; negative when the stream beat the
// response). The headline figures cover the `seconds` after the warm-up (a daemon is long-lived; V8 is still
// compiling its hot paths during the first seconds); the warm-up's own figures are reported as `cold_*`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NO_POLICY_ROOT, createEnvelope, createTopicIndex, createUlidFactory, publish } from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';
import { resolveIdentity } from '../packages/gatosd/dist/identity/index.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    'latency-only': { type: 'boolean' },
  },
});
const FULL = !values['latency-only'];
const RATE = Number(values.rate ?? 500);
const SECONDS = Number(values.seconds ?? 5);
const WARMUP = Number(values.warmup ?? 5);
const ROOT = join(import.meta.dirname, '..');
const CLI_DIR = join(ROOT, 'packages/git-gatos/bin');
const GATOSD = join(ROOT, 'packages/gatosd/bin/gatosd');
const dirs = [];
const tmp = (p) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
const env = {
  ...process.env,
  GATOS_HOME: tmp('bus-bench-home-'),
  GATOS_ACTOR: '',
  PATH: `${CLI_DIR}:${process.env.PATH}`,
};
const git = (cwd, ...a) => execFileSync('git', a, { cwd, encoding: 'utf8' }).trim();
function setupRepo() {
  const repo = tmp('bus-bench-repo-');
  git(repo, 'init', '-q');
  for (const args of [['init'], ['key', 'new', '--actor', 'service:gatosd']]) {
    const r = spawnSync('git', ['gatos', ...args], { cwd: repo, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  }
  return repo;
}
const rate = (n, ms) => Math.round((n / ms) * 1000);
const results = {};

// git fast-import: 10k chained commits (blob + tree + commit each), one stream.
if (FULL) {
  const repo = tmp('bus-bench-fi-');
  git(repo, 'init', '-q');
  const n = 10_000;
  let s = '';
  for (let i = 0; i < n; i++) {
    const data = `{"i":${i}}`;
    s += `blob\nmark :${2 * i + 1}\ndata ${data.length}\n${data}\n`;
    const msg = `m ${i}`;
    s += `commit refs/heads/fi\nmark :${2 * i + 2}\ncommitter b <b@x> ${1_700_000_000 + i} +0000\ndata ${msg.length}\n${msg}\n`;
    if (i > 0) s += `from :${2 * i}\n`;
    s += `M 100644 :${2 * i + 1} event.json\n\n`;
  }
  const t0 = performance.now();
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, input: s });
  results.fast_import_commits_per_s = rate(n, performance.now() - t0);
}

// In-process publish.
if (FULL) {
  const repo = setupRepo();
  const r = await openRepository({ cwd: repo });
  const objects = createObjectStore(r);
  const refs = createRefStore(r);
  const signer = (await resolveIdentity({ actor: 'service:gatosd', env, objects, refs })).events;
  const next = createUlidFactory(Date.now, (k) => crypto.getRandomValues(new Uint8Array(k)));
  const env1 = (i, tag) =>
    createEnvelope({
      type: 'bus.message',
      ulid: next(),
      actor: signer.actor,
      payload: { tag, i },
      policy_root: NO_POLICY_ROOT,
      ts: new Date().toISOString(),
    });
  const index = createTopicIndex('single');
  const opts = (topic, idx) => ({ objects, refs, topic, signer, now: new Date(), index: idx });
  const n1 = 500;
  let t0 = performance.now();
  for (let i = 0; i < n1; i++) await publish([env1(i, 's')], opts('single', index));
  results.inproc_single_msgs_per_s = rate(n1, performance.now() - t0);
  // The daemon's store: every batch one pack (merged in the background) instead of fsynced loose objects.
  const packed = createObjectStore(r, { packThreshold: 1, consolidateAfter: 16 });
  const pIndex = createTopicIndex('single-packed');
  t0 = performance.now();
  for (let i = 0; i < n1; i++) {
    await publish([env1(i, 'p')], { ...opts('single-packed', pIndex), objects: packed });
  }
  results.inproc_single_pack_per_call_msgs_per_s = rate(n1, performance.now() - t0);
  await packed.close();
  const bIndex = createTopicIndex('batch');
  const batches = 10;
  const size = 1000;
  t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    await publish(
      Array.from({ length: size }, (_, i) => env1(b * size + i, 'b')),
      opts('batch', bIndex),
    );
  }
  results.inproc_batch1000_msgs_per_s = rate(batches * size, performance.now() - t0);

  // The daemon's write path per group commit: groups of 5 messages, the default store (loose objects below
  // 32) against the daemon's (one pack per group, merged in the background); wall time per group and CPU
  // (this process, kernel time included) per message.
  const groups = {};
  for (const [label, store] of [
    ['loose', objects],
    ['pack', createObjectStore(r, { packThreshold: 1, consolidateAfter: 16 })],
  ]) {
    const gIndex = createTopicIndex(`group-${label}`);
    const walls = [];
    const rounds = 200;
    const cpu0 = process.cpuUsage();
    for (let g = 0; g < rounds; g++) {
      const envs = Array.from({ length: 5 }, (_, i) => env1(g * 5 + i, label));
      const t = performance.now();
      await publish(envs, { ...opts(`group-${label}`, gIndex), objects: store });
      walls.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    walls.sort((a, b) => a - b);
    groups[label] = {
      p50_ms: Math.round(walls[rounds >> 1] * 10) / 10,
      p99_ms: Math.round(walls[Math.floor(rounds * 0.99)] * 10) / 10,
      cpu_ms_per_msg: Math.round(((cpu.user + cpu.system) / 1000 / rounds / 5) * 100) / 100,
    };
    if (store !== objects) await store.close();
  }
  results.inproc_groups_of_5 = groups;
  await objects.close();
}

// Over HTTP.
const repo = setupRepo();
const daemon = spawn(
  process.execPath,
  [
    ...(process.env.DAEMON_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.DAEMON_PROF] : []),
    GATOSD,
    '--repo',
    repo,
    '--port',
    '0',
  ],
  { env },
);
const url = await new Promise((resolve, reject) => {
  let out = '';
  daemon.stdout.on('data', (d) => {
    out += d;
    if (out.includes('\n')) resolve(out.split('\n')[0]);
  });
  daemon.on('exit', (c) => reject(new Error(`gatosd exited ${c}`)));
});
// A plain keep-alive http client: `fetch` (undici) cost ~1.5 ms of CPU per request here, on the same 2 cores
// as the daemon, which inflated the daemon's latency under open-loop load.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const post = (topic, body) =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${url}/v1/topics/${topic}/messages`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 201) reject(new Error(`publish: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
try {
  let n = 300;
  if (FULL) {
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await post('hs', { data: { i } });
    results.http_single_sequential_msgs_per_s = rate(n, performance.now() - t0);
    const clients = 32;
    const per = 100;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; i < per; i++) await post('hc', { data: { c, i } });
      }),
    );
    results.http_single_32_clients_msgs_per_s = rate(clients * per, performance.now() - t0);
    n = 10;
    t0 = performance.now();
    for (let b = 0; b < n; b++) {
      await post('hb', { messages: Array.from({ length: 1000 }, (_, i) => ({ data: { b, i } })) });
    }
    results.http_batch1000_msgs_per_s = rate(n * 1000, performance.now() - t0);
  }

  // Latency: one SSE subscriber, single-message publishes at RATE/s for WARMUP + SECONDS.
  const sent = new Map();
  const accepted = new Map();
  const received = new Map();
  /** Sent → received per message number. */
  const lat = new Map();
  const cold = RATE * WARMUP;
  const total = cold + RATE * SECONDS;
  let got = 0;
  let resolveDone;
  const done = new Promise((r) => {
    resolveDone = r;
  });
  const req = request(`${url}/v1/topics/lat/stream`, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      buf += chunk;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!data) continue;
        const m = JSON.parse(data);
        const t = sent.get(m.data.k);
        if (t !== undefined) {
          lat.set(m.data.k, performance.now() - t);
          received.set(m.data.k, performance.now());
        }
        if (++got >= total) resolveDone();
      }
    });
  });
  req.end();
  await new Promise((r) => setTimeout(r, 300));
  const start = performance.now();
  let clientCpu = process.cpuUsage();
  let measuredFrom = start;
  const inflight = [];
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (k === cold) {
      measuredFrom = performance.now();
      clientCpu = process.cpuUsage();
    }
    sent.set(k, performance.now());
    inflight.push(post('lat', { data: { k } }).then(() => accepted.set(k, performance.now())));
  }
  await Promise.all(inflight);
  const achieved = rate(total - cold, performance.now() - measuredFrom);
  const cpu = process.cpuUsage(clientCpu);
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  req.destroy();
  const sortedLat = (from, to) =>
    [...lat]
      .filter(([k]) => k >= from && k < to)
      .map(([, v]) => v)
      .sort((a, b) => a - b);
  const pctOf = (xs, p) =>
    xs.length === 0
      ? null
      : Math.round(xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] * 10) / 10;
  const measured = sortedLat(cold, total);
  const warmup = sortedLat(0, cold);
  const after201 = [...received]
    .filter(([k]) => k >= cold)
    .map(([k, t]) => t - accepted.get(k))
    .sort((a, b) => a - b);
  // p99 of every 2-second window after the warm-up, to show how steady it is.
  const windows = [];
  for (let from = cold; from < total; from += 2 * RATE)
    windows.push(pctOf(sortedLat(from, from + 2 * RATE), 99));
  results.sse_latency = {
    target_rate: RATE,
    achieved_rate: achieved,
    warmup_seconds: WARMUP,
    measured_seconds: SECONDS,
    received: measured.length,
    sent: total - cold,
    p50_ms: pctOf(measured, 50),
    p99_ms: pctOf(measured, 99),
    max_ms: pctOf(measured, 100),
    p99_per_2s_window_ms: windows,
    after_201_p50_ms: pctOf(after201, 50),
    after_201_p99_ms: pctOf(after201, 99),
    cold_p50_ms: pctOf(warmup, 50),
    cold_p99_ms: pctOf(warmup, 99),
    // The bench client shares the machine's cores with the daemon.
    client_cpu_ms_per_message: Math.round(((cpu.user + cpu.system) / 1000 / (total - cold)) * 100) / 100,
  };
} finally {
  agent.destroy();
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('exit', r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
if (FULL)
  results.ratio_http_batch_to_fast_import =
    Math.round((results.http_batch1000_msgs_per_s / results.fast_import_commits_per_s) * 100) / 100;
console.log(JSON.stringify(results, null, 2));
