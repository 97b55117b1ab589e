/**
 * gatosd as the backend of the bus commands: which daemon (`--daemon <url>`, else `$GATOSD_URL`), its bearer token
 * (`$GATOSD_TOKEN`), and JSON requests whose error answers become the same {@link GatosError} (code, exit status)
 * the command would raise against the repository directly.
 */
import { ErrorCodes, GatosError } from '@gatos/core';
import type { CliIo } from '../../command.js';

/** A resolved daemon: base URL without a trailing slash, and the auth header to send. */
export interface Daemon {
  url: string;
  headers: Record<string, string>;
}

/** The daemon to use, or null to work on the repository directly. */
export function resolveDaemon(flag: string | undefined, io: CliIo): Daemon | null {
  const url = flag ?? io.env.GATOSD_URL;
  if (!url) return null;
  const token = io.env.GATOSD_TOKEN;
  return { url: url.replace(/\/+$/, ''), headers: token ? { authorization: `Bearer ${token}` } : {} };
}

/** The URL path of a topic's endpoint. */
export function topicPath(topic: string, rest: string): string {
  return `/v1/topics/${encodeURIComponent(topic)}/${rest}`;
}

/**
 * Sends one JSON request and returns the parsed answer. An error answer (`{"ok": false, "error": {code, message}}`)
 * is thrown as that GATOS error; a daemon that cannot be reached is `GATOS_E_DAEMON_UNREACHABLE`.
 */
export async function daemonRequest<T>(
  daemon: Daemon,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${daemon.url}${path}`, {
      method,
      headers: { ...daemon.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new GatosError(
      'GATOS_E_DAEMON_UNREACHABLE',
      `cannot reach gatosd at ${daemon.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      {
        data: { daemon: daemon.url },
        hint: 'Start gatosd, or unset GATOSD_URL / drop --daemon to work on the repository directly.',
      },
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok && json && typeof json === 'object') return json as T;
  const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const data = { daemon: daemon.url, status: res.status };
  if (err && typeof err.code === 'string' && Object.hasOwn(ErrorCodes, err.code)) {
    throw new GatosError(err.code as keyof typeof ErrorCodes, String(err.message ?? err.code), { data });
  }
  throw new GatosError('GATOS_E_INTERNAL', `gatosd answered ${res.status}: ${text.slice(0, 300)}`, { data });
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Follows gatosd's SSE stream, reconnecting (with `Last-Event-ID`) after errors until `signal` aborts. */
export async function followDaemon(
  daemon: Daemon,
  argv: { topic: string; group: string; ack: boolean },
  signal: AbortSignal,
  emit: (message: { offset: number } & Record<string, unknown>) => void,
  onInterrupt: (why: string) => void,
): Promise<void> {
  const root = daemon.url;
  const topic = encodeURIComponent(argv.topic);
  const auth = daemon.headers;
  let lastId: string | null = null;
  let retryMs = 1000;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...auth };
      if (lastId !== null) headers['last-event-id'] = lastId;
      const res = await fetch(`${root}/v1/topics/${topic}/stream?group=${encodeURIComponent(argv.group)}`, {
        headers,
        signal,
      });
      if (!res.ok || !res.body) {
        const text = await res.text().catch(() => '');
        const err = new GatosError('GATOS_E_USAGE', `gatosd answered ${res.status}: ${text.slice(0, 300)}`);
        // Client errors do not heal by retrying.
        if (res.status >= 400 && res.status < 500) throw err;
        throw Object.assign(err, { retry: true });
      }
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | null = null;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const c = line.indexOf(':');
            const field = c < 0 ? line : line.slice(0, c);
            const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
            if (field === 'id') id = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
            else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
          }
          if (event !== 'message' || data.length === 0) continue;
          const m = JSON.parse(data.join('\n')) as { offset: number } & Record<string, unknown>;
          emit(m);
          if (id !== null) lastId = id;
          if (argv.ack) {
            const r = await fetch(`${root}/v1/topics/${topic}/ack`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...auth },
              body: JSON.stringify({ group: argv.group, offset: m.offset }),
              signal,
            });
            if (!r.ok) throw new GatosError('GATOS_E_USAGE', `ack answered ${r.status}: ${await r.text()}`);
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof GatosError && !(e as GatosError & { retry?: boolean }).retry) throw e;
      onInterrupt((e as Error).message);
    }
    await abortableSleep(retryMs, signal);
  }
}
