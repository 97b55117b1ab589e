// A consumer process for bus-cli-consumer.test.ts: reads its group from the repository, applies each message once
// (the effect log doubles as the SeenStore: one write records effect and key together), acks after each page.
// Usage: node bus-cli-consumer-fixture.mjs <repo> <topic> <group> <effects-file> <stop-after-total>
// $CRASH_AFTER=k: SIGKILLs itself right after the k-th effect of this run, before that page is acked.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { ack, applyOnce, readGroup } from '@gatos/core';
import { createObjectStore, createRefStore, openRepository } from '@gatos/git';

const [repoPath, topic, group, effectsPath, stopAt] = process.argv.slice(2);
const crashAfter = Number(process.env.CRASH_AFTER ?? 0);
const repo = await openRepository({ cwd: repoPath });
const stores = { objects: createObjectStore(repo), refs: createRefStore(repo) };

// Only whole lines count: a line is written by one write(2), so a kill leaves it complete or absent.
const seenKeys = new Set();
if (existsSync(effectsPath)) {
  for (const line of readFileSync(effectsPath, 'utf8').split('\n').slice(0, -1))
    seenKeys.add(line.split(' ')[0]);
}
const fd = openSync(effectsPath, 'a');
const seen = { has: (k) => seenKeys.has(k), add: () => {} };
let appliedHere = 0;
let skipped = 0;
while (seenKeys.size < Number(stopAt)) {
  const { messages } = await readGroup(stores, { topic, group, limit: 7 });
  if (messages.length === 0) {
    await new Promise((r) => setTimeout(r, 50));
    continue;
  }
  const r = await applyOnce(messages, seen, async (m) => {
    writeSync(fd, `${m.ulid} ${m.offset} ${JSON.stringify(m.envelope.payload)}\n`);
    fsyncSync(fd);
    seenKeys.add(m.ulid);
    appliedHere++;
    if (appliedHere === crashAfter) process.kill(process.pid, 'SIGKILL');
    await new Promise((res) => setTimeout(res, 20));
  });
  skipped += r.skipped;
  if (r.skipped > 0) process.stdout.write(`${JSON.stringify({ redelivered_skipped: r.skipped })}\n`);
  await ack(stores, { topic, group, to: { offset: messages.at(-1).offset }, now: new Date() });
}
closeSync(fd);
await stores.objects.close();
process.stdout.write(`${JSON.stringify({ applied: appliedHere, skipped })}\n`);
