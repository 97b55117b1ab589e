/**
 * The daemon's bus: one {@link TopicIndex} per topic, and one writer per topic. Concurrent publish requests to a
 * topic are queued and written together (group commit: one `publish` call on the writer thread, one compare-and-swap per segment);
 * each request is answered only after its messages' compare-and-swap succeeded.
 */
import {
  busEnvelope,
  applyAppend,
  type BusStores,
  createTopicIndex,
  createUlidFactory,
  type DuplicateMessage,
  type EventEnvelope,
  type EventSigner,
  type PublishedMessage,
  type PublishResult,
  type TopicIndex,
} from '@gatos/core';
import { createRandomPool } from '../random-pool.js';
import { rememberPublished } from './sse.js';

/** One message to publish, as received over HTTP. */
export interface Draft {
  data: unknown;
  key?: string;
  type?: string;
}

/** What one request got. */
export interface RequestResult {
  published: PublishedMessage[];
  duplicates: DuplicateMessage[];
}

interface Pending {
  envelopes: EventEnvelope[];
  resolve: (r: RequestResult) => void;
  reject: (e: unknown) => void;
}

/** Most envelopes written by one group commit. */
const GROUP_MAX = 2000;

/** Publishing and indexes for the daemon. */
export class BusService {
  readonly #indexes = new Map<string, TopicIndex>();
  readonly #queues = new Map<string, Pending[]>();
  readonly #running = new Set<string>();
  readonly #ulid = createUlidFactory(() => Date.now(), createRandomPool());
  /** The segment heads this daemon's own appends produced last, by ref. */
  readonly #ownHeads = new Map<string, string>();
  #inflight = 0;
  #idle: (() => void)[] = [];

  constructor(
    readonly stores: BusStores,
    readonly signer: EventSigner,
    readonly maxEnvelopeBytes: number,
    private readonly onPublished: (topic: string, r: RequestResult) => void,
    /** Writes one group (core `publish`, on the daemon's writer thread). */
    private readonly writeGroup: (
      topic: string,
      envelopes: EventEnvelope[],
      now: Date,
    ) => Promise<PublishResult>,
  ) {}

  /** The shared index of `topic`. */
  index(topic: string): TopicIndex {
    let i = this.#indexes.get(topic);
    if (!i) {
      i = createTopicIndex(topic);
      this.#indexes.set(topic, i);
    }
    return i;
  }

  /** Builds (and validates) signed-to-be envelopes; throws before anything is queued. */
  envelopes(drafts: Draft[], now = new Date()): EventEnvelope[] {
    return drafts.map((d) =>
      busEnvelope(
        { actor: this.signer.actor, ulid: d.key ?? this.#ulid(), now, data: d.data, type: d.type },
        { maxBytes: this.maxEnvelopeBytes },
      ),
    );
  }

  /** Publishes `envelopes` to `topic` (queued behind, and possibly written with, other requests). */
  publish(topic: string, envelopes: EventEnvelope[]): Promise<RequestResult> {
    this.#inflight++;
    const p = new Promise<RequestResult>((resolve, reject) => {
      let q = this.#queues.get(topic);
      if (!q) {
        q = [];
        this.#queues.set(topic, q);
      }
      q.push({ envelopes, resolve, reject });
      void this.#drain(topic);
    });
    return p.finally(() => {
      if (--this.#inflight === 0) for (const f of this.#idle.splice(0)) f();
    });
  }

  /** Whether `ref` points at `oid` because of this daemon's own last append to it (its streams were told). */
  wrote(ref: string, oid: string): boolean {
    return this.#ownHeads.get(ref) === oid;
  }

  /** Resolves once no publish is in flight. */
  idle(): Promise<void> {
    return this.#inflight === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }

  async #drain(topic: string): Promise<void> {
    if (this.#running.has(topic)) return;
    this.#running.add(topic);
    try {
      for (;;) {
        const q = this.#queues.get(topic) ?? [];
        if (q.length === 0) break;
        const group: Pending[] = [];
        let n = 0;
        while (q.length && (group.length === 0 || n + q[0]!.envelopes.length <= GROUP_MAX)) {
          const p = q.shift()!;
          group.push(p);
          n += p.envelopes.length;
        }
        await this.#write(topic, group);
      }
    } finally {
      this.#running.delete(topic);
    }
  }

  async #write(topic: string, group: Pending[]): Promise<void> {
    let result: PublishResult;
    try {
      const envelopes = group.flatMap((g) => g.envelopes);
      result = await this.writeGroup(topic, envelopes, new Date());
      // Readers and streams on this thread then find the new messages without reading them back.
      for (const a of result.appends) {
        applyAppend(this.index(topic), a);
        this.#ownHeads.set(a.ref, a.head);
      }
    } catch (e) {
      if (group.length === 1) group[0]!.reject(e);
      // One request's failure must not fail the others: write them one by one.
      else for (const g of group) await this.#write(topic, [g]);
      return;
    }
    // Hand each request its own results (the first occurrence of a ULID was stored, later ones are duplicates).
    const published = new Map<string, PublishedMessage>(result.published.map((p) => [p.ulid, p]));
    const dups = [...result.duplicates];
    const stored: { p: PublishedMessage; e: EventEnvelope }[] = [];
    const all: RequestResult = { published: [], duplicates: [] };
    const mine = group.map((g) => {
      const r: RequestResult = { published: [], duplicates: [] };
      for (const e of g.envelopes) {
        const p = published.get(e.ulid);
        if (p) {
          r.published.push(p);
          stored.push({ p, e });
          published.delete(e.ulid);
          continue;
        }
        const i = dups.findIndex((d) => d.ulid === e.ulid);
        if (i >= 0) r.duplicates.push(...dups.splice(i, 1));
      }
      all.published.push(...r.published);
      all.duplicates.push(...r.duplicates);
      return r;
    });
    // Streams learn of the whole group at once (one wake-up, delivered from memory when caught up).
    rememberPublished(this.index(topic), stored);
    this.onPublished(topic, all);
    for (const [i, g] of group.entries()) g.resolve(mine[i]!);
  }
}
