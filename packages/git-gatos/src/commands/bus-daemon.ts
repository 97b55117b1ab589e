/**
 * gatosd as the backend of the bus commands: which daemon (`--daemon <url>`, else `$GATOSD_URL`), its bearer token
 * (`$GATOSD_TOKEN`), and JSON requests whose error answers become the same {@link GatosError} (code, exit status)
 * the command would raise against the repository directly.
 */
import { ErrorCodes, GatosError } from '@gatos/core';
import type { CliIo } from '../command.js';

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
