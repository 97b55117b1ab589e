/**
 * Server-Sent Events: each client follows one topic from an offset. A client is pumped whenever the topic may
 * have changed (a publish by this daemon, or the refs watcher seeing a segment head move): it reads every live
 * message after the last offset it sent, in offset order, so a stream has no gap and no repeat. `id:` is the
 * message offset, so a reconnecting client's `Last-Event-ID` resumes exactly after the last message it saw.
 */
import type { ServerResponse } from 'node:http';
import {
  type BusMessage,
  type BusStores,
  type EventEnvelope,
  type PublishedMessage,
  readMessages,
  type TopicIndex,
} from '@gatos/core';
import type { DaemonMetrics } from './metrics.js';

/** The JSON form of a delivered message (HTTP reads and SSE `data:`). */
export interface MessageJson {
  topic: string;
  offset: number;
  ulid: string;
  type: string;
  actor: string;
  ts: string;
  segment: string;
  commit: string;
  cid: string;
  data: unknown;
}

/** Converts a bus message to its JSON form. */
export function messageJson(m: BusMessage): MessageJson {
  return {
    topic: m.topic,
    offset: m.offset,
    ulid: m.ulid,
    type: m.type,
    actor: m.envelope.actor,
    ts: m.envelope.ts,
    segment: m.segment,
    commit: m.commit,
    cid: m.cid,
    data: m.envelope.payload,
  };
}

/** The messages this daemon published last, per topic index (ascending offsets), for delivery from memory. */
const recent = new WeakMap<TopicIndex, MessageJson[]>();
/** How many recent messages are kept per topic. */
const RECENT_MAX = 4096;

/**
 * Records messages this daemon just stored (after their compare-and-swap), so streams that are caught up get them
 * without reading them back from the repository.
 */
export function rememberPublished(
  index: TopicIndex,
  items: readonly { p: PublishedMessage; e: EventEnvelope }[],
): void {
  if (items.length === 0) return;
  const list = recent.get(index) ?? [];
  const add = items
    .map(({ p, e }) => ({
      topic: index.topic,
      offset: p.offset,
      ulid: p.ulid,
      type: e.type,
      actor: e.actor,
      ts: e.ts,
      segment: p.segment,
      commit: p.commit,
      cid: p.cid,
      data: e.payload,
    }))
    .sort((a, b) => a.offset - b.offset);
  // Only a contiguous run is useful: start over when the new messages do not follow the kept ones.
  const next = list.length && list.at(-1)!.offset + 1 === add[0]!.offset ? list.concat(add) : add;
  recent.set(index, next.length > RECENT_MAX ? next.slice(next.length - RECENT_MAX) : next);
}

interface Client {
  topic: string;
  res: ServerResponse;
  after: number;
  busy: boolean;
  again: boolean;
  closed: boolean;
}

const PAGE = 500;

/** The set of open streams. */
export class SseHub {
  readonly #clients = new Map<string, Set<Client>>();
  readonly #keepAlive: NodeJS.Timeout;

  constructor(
    private readonly stores: BusStores,
    private readonly indexFor: (topic: string) => TopicIndex,
    private readonly metrics: DaemonMetrics,
    private readonly log: (msg: string) => void = () => {},
    keepAliveMs = 15_000,
  ) {
    this.#keepAlive = setInterval(() => {
      for (const set of this.#clients.values())
        for (const c of set) if (!c.closed) c.res.write(': keep-alive\n\n');
    }, keepAliveMs);
    this.#keepAlive.unref();
  }

  /** Topics with at least one open stream. */
  topics(): string[] {
    return [...this.#clients.keys()];
  }

  /** Starts streaming `topic` to `res` from the message after offset `after` (−1: from the oldest live one). */
  open(topic: string, res: ServerResponse, after: number): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const client: Client = { topic, res, after, busy: false, again: false, closed: false };
    let set = this.#clients.get(topic);
    if (!set) {
      set = new Set();
      this.#clients.set(topic, set);
    }
    set.add(client);
    this.metrics.sseClients++;
    res.on('close', () => this.#drop(client));
    void this.#pump(client);
  }

  /**
   * Wakes every stream of `topic`. A stream that is idle and exactly caught up with this daemon's recent
   * publishes gets the new ones straight from memory (no repository read); any other is pumped.
   */
  notify(topic: string): void {
    const set = this.#clients.get(topic);
    if (!set) return;
    const kept = recent.get(this.indexFor(topic)) ?? [];
    for (const c of set) if (c.busy || !this.#fromMemory(c, kept)) void this.#pump(c);
  }

  /** Sends `c` the kept messages after `c.after` when that is gap-free; false when it must read the repository. */
  #fromMemory(c: Client, kept: readonly MessageJson[]): boolean {
    if (c.closed || c.res.writableNeedDrain || kept.length === 0) return false;
    const first = kept[0]!.offset;
    const last = kept.at(-1)!.offset;
    if (c.after < first - 1 || c.after >= last) return false;
    let out = '';
    for (let i = c.after + 1 - first; i < kept.length; i++) {
      const m = kept[i]!;
      out += `id: ${m.offset}\nevent: message\ndata: ${JSON.stringify(m)}\n\n`;
    }
    this.metrics.add(this.metrics.delivered, c.topic, last - c.after);
    c.after = last;
    c.res.write(out);
    return true;
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const set of this.#clients.values()) for (const c of set) c.res.end();
    clearInterval(this.#keepAlive);
  }

  #drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    this.metrics.sseClients--;
    const set = this.#clients.get(c.topic);
    set?.delete(c);
    if (set?.size === 0) this.#clients.delete(c.topic);
  }

  async #pump(c: Client): Promise<void> {
    if (c.busy) {
      c.again = true;
      return;
    }
    c.busy = true;
    try {
      for (;;) {
        c.again = false;
        if (c.res.writableNeedDrain) await new Promise((r) => c.res.once('drain', r));
        if (c.closed) return;
        // Whatever this daemon just published comes from memory; then the repository is read for anything else.
        if (this.#fromMemory(c, recent.get(this.indexFor(c.topic)) ?? [])) continue;
        const page = await readMessages(this.stores, {
          topic: c.topic,
          after: c.after,
          limit: PAGE,
          index: this.indexFor(c.topic),
        });
        for (const m of page) {
          if (c.closed) return;
          if (m.offset <= c.after) continue;
          const ok = c.res.write(
            `id: ${m.offset}\nevent: message\ndata: ${JSON.stringify(messageJson(m))}\n\n`,
          );
          c.after = m.offset;
          this.metrics.add(this.metrics.delivered, c.topic, 1);
          if (!ok) await new Promise((r) => c.res.once('drain', r));
        }
        if (c.closed || (page.length < PAGE && !c.again)) break;
      }
    } catch (e) {
      this.log(`sse pump ${c.topic}: ${(e as Error).message}`);
    } finally {
      c.busy = false;
    }
  }
}
