/**
 * Server-Sent Events: each client follows one topic from an offset. A client is pumped whenever the topic may
 * have changed (a publish by this daemon, or the refs watcher seeing a segment head move): it reads every live
 * message after the last offset it sent, in offset order, so a stream has no gap and no repeat. `id:` is the
 * message offset, so a reconnecting client's `Last-Event-ID` resumes exactly after the last message it saw.
 */
import type { ServerResponse } from 'node:http';
import { type BusMessage, type BusStores, readMessages, type TopicIndex } from '@gatos/core';
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

  /** Wakes every stream of `topic`. */
  notify(topic: string): void {
    for (const c of this.#clients.get(topic) ?? []) void this.#pump(c);
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
