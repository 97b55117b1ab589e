/** A tiny Prometheus text-format registry: the daemon's counters, gauges and one latency histogram. */

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Publish latency buckets, seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The daemon's metrics. */
export class DaemonMetrics {
  readonly published = new Map<string, number>();
  readonly duplicates = new Map<string, number>();
  readonly delivered = new Map<string, number>();
  sseClients = 0;
  httpErrors = 0;
  readonly #buckets = LATENCY_BUCKETS.map(() => 0);
  #count = 0;
  #sum = 0;

  add(map: Map<string, number>, topic: string, n: number): void {
    if (n > 0) map.set(topic, (map.get(topic) ?? 0) + n);
  }

  /** Records one publish request's duration. */
  observePublish(seconds: number): void {
    this.#count++;
    this.#sum += seconds;
    LATENCY_BUCKETS.forEach((b, i) => {
      if (seconds <= b) this.#buckets[i]!++;
    });
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    const counter = (name: string, help: string, map: Map<string, number>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [topic, v] of [...map].sort()) out.push(`${name}${labels({ topic })} ${v}`);
    };
    counter('gatosd_messages_published_total', 'Messages stored by this daemon, per topic.', this.published);
    counter(
      'gatosd_messages_duplicate_total',
      'Messages not stored again (ULID or content duplicates).',
      this.duplicates,
    );
    counter('gatosd_sse_events_sent_total', 'Messages sent on SSE streams, per topic.', this.delivered);
    out.push('# HELP gatosd_sse_clients Open SSE streams.', '# TYPE gatosd_sse_clients gauge');
    out.push(`gatosd_sse_clients ${this.sseClients}`);
    out.push(
      '# HELP gatosd_http_errors_total HTTP responses with status >= 400.',
      '# TYPE gatosd_http_errors_total counter',
    );
    out.push(`gatosd_http_errors_total ${this.httpErrors}`);
    const h = 'gatosd_publish_duration_seconds';
    out.push(
      `# HELP ${h} Publish request duration (validation, signing, git write).`,
      `# TYPE ${h} histogram`,
    );
    LATENCY_BUCKETS.forEach((b, i) => {
      out.push(`${h}_bucket${labels({ le: String(b) })} ${this.#buckets[i]}`);
    });
    out.push(`${h}_bucket{le="+Inf"} ${this.#count}`, `${h}_sum ${this.#sum}`, `${h}_count ${this.#count}`);
    return `${out.join('\n')}\n`;
  }
}
