/**
 * gatosd's configuration: a JSON file, then environment variables, then command-line flags (later wins). The
 * result is validated once and frozen.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GatosError, parseActor } from '@gatos/core';

/** The daemon's validated, frozen settings. */
export interface DaemonConfig {
  /** The repository the daemon serves (any directory inside it). */
  readonly repo: string;
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** Bearer token required on `/v1/*` and `/metrics`; null: none (loopback only). */
  readonly token: string | null;
  /** The identity that signs published messages (its key must be in `$GATOS_HOME` and registered). */
  readonly actor: string;
  /** Largest HTTP request body. */
  readonly maxBodyBytes: number;
  /** Most messages in one batch publish. */
  readonly maxBatch: number;
  /** How often the refs watcher polls `refs/gatos/mbus/` (ms). */
  readonly pollMs: number;
  /**
   * Host names requests may name (the `Host` header, and the host of an `Origin`), besides the listen host and,
   * on loopback, `localhost`, `127.0.0.1` and `::1`. Empty with a wildcard listen host: no Host check.
   */
  readonly allowedHosts: readonly string[];
}

/** The defaults; `repo` has none. */
export const DEFAULT_DAEMON_CONFIG: Omit<DaemonConfig, 'repo'> = Object.freeze({
  host: '127.0.0.1',
  port: 7467,
  token: null,
  actor: 'service:gatosd',
  maxBodyBytes: 4 * 1024 * 1024,
  maxBatch: 1000,
  pollMs: 200,
  allowedHosts: [],
});

type Raw = Partial<Record<keyof DaemonConfig, unknown>>;

/** File keys (snake_case) → config fields. */
const FILE_KEYS: Record<string, keyof DaemonConfig> = {
  repo: 'repo',
  host: 'host',
  port: 'port',
  token: 'token',
  actor: 'actor',
  max_body_bytes: 'maxBodyBytes',
  max_batch: 'maxBatch',
  poll_ms: 'pollMs',
  allowed_hosts: 'allowedHosts',
};

/** Environment variables → config fields. */
const ENV_KEYS: Record<string, keyof DaemonConfig> = {
  GATOSD_REPO: 'repo',
  GATOSD_HOST: 'host',
  GATOSD_PORT: 'port',
  GATOSD_TOKEN: 'token',
  GATOSD_ACTOR: 'actor',
  GATOSD_MAX_BODY_BYTES: 'maxBodyBytes',
  GATOSD_MAX_BATCH: 'maxBatch',
  GATOSD_POLL_MS: 'pollMs',
  GATOSD_ALLOWED_HOSTS: 'allowedHosts',
};

function bad(message: string, data: Record<string, unknown> = {}): GatosError {
  return new GatosError('GATOS_E_DAEMON_CONFIG', message, {
    data,
    hint: 'Run `gatosd --help` for the options.',
  });
}

/** True for a loopback host name or address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function int(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw bad(`${name} must be an integer from ${min} to ${max}`, { [name]: v });
  }
  return n;
}

function str(name: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw bad(`${name} must be a non-empty string`, { [name]: v });
  return v;
}

const HOST_NAME_RE =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|[0-9a-f:.]+)$/;

/** A list of host names: an array, or a comma-separated string (environment, flag); lowercased. */
function hostList(v: unknown): string[] {
  const items =
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v;
  if (
    !Array.isArray(items) ||
    items.some((h) => typeof h !== 'string' || !HOST_NAME_RE.test(h.toLowerCase()))
  ) {
    throw bad('allowed hosts must be host names or IP addresses (no port, no scheme)', { allowedHosts: v });
  }
  return items.map((h: string) => h.toLowerCase());
}

/**
 * The host names a request may name: the listen host, the loopback names when it is loopback, and the configured
 * ones; null when the daemon listens on a wildcard address and none are configured (the token guards it then).
 */
export function servedHosts(config: Pick<DaemonConfig, 'host' | 'allowedHosts'>): ReadonlySet<string> | null {
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  if (wildcard && config.allowedHosts.length === 0) return null;
  const names = new Set(config.allowedHosts);
  if (!wildcard) names.add(config.host.toLowerCase());
  if (isLoopback(config.host)) for (const h of ['localhost', '127.0.0.1', '::1']) names.add(h);
  return names;
}

/** Validates merged raw settings into a frozen {@link DaemonConfig}. */
export function validateConfig(raw: Raw, cwd: string): DaemonConfig {
  const m: Raw = {
    ...DEFAULT_DAEMON_CONFIG,
    ...Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
  };
  if (m.repo === undefined) throw bad('missing --repo (or GATOSD_REPO, or "repo" in the config file)');
  const repo = str('repo', m.repo);
  const host = str('host', m.host);
  const token = m.token === null || m.token === '' ? null : str('token', m.token);
  if (token !== null && token.length < 16) throw bad('the token must be at least 16 characters');
  const actor = str('actor', m.actor);
  try {
    parseActor(actor);
  } catch (e) {
    throw bad(`bad actor ${actor}: ${(e as Error).message}`, { actor });
  }
  if (!isLoopback(host) && token === null) {
    throw bad(`refusing to listen on non-loopback host ${host} without a bearer token`, { host });
  }
  return Object.freeze({
    repo: isAbsolute(repo) ? repo : resolve(cwd, repo),
    host,
    port: int('port', m.port, 0, 65535),
    token,
    actor,
    maxBodyBytes: int('maxBodyBytes', m.maxBodyBytes, 1024, 256 * 1024 * 1024),
    maxBatch: int('maxBatch', m.maxBatch, 1, 100_000),
    pollMs: int('pollMs', m.pollMs, 10, 60_000),
    allowedHosts: Object.freeze(hostList(m.allowedHosts)),
  });
}

function fromFile(path: string): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw bad(`cannot read config file ${path}: ${(e as Error).message}`, { path });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw bad(`${path}: expected a JSON object`);
  const out: Raw = {};
  for (const [k, v] of Object.entries(parsed)) {
    const field = FILE_KEYS[k];
    if (!field) throw bad(`${path}: unknown key ${JSON.stringify(k)}`, { key: k });
    out[field] = v;
  }
  return out;
}

/** The usage text of `gatosd --help`. */
export const USAGE = `usage: gatosd --repo <path> [--host 127.0.0.1] [--port 7467|0] [--token <t>] [--config file.json]
              [--actor service:gatosd] [--max-body-bytes N] [--max-batch N] [--poll-ms N]
              [--allowed-hosts name,name]
Requests must name a served host (Host header; the listen host, loopback names on loopback, --allowed-hosts),
may not come from a foreign web Origin, and writes must be application/json.
Precedence: config file < environment (GATOSD_REPO, GATOSD_HOST, GATOSD_PORT, GATOSD_TOKEN, GATOSD_ACTOR,
GATOSD_MAX_BODY_BYTES, GATOSD_MAX_BATCH, GATOSD_POLL_MS, GATOSD_ALLOWED_HOSTS, GATOSD_CONFIG) < flags.`;

/** Builds the config from argv, env and the optional config file (`--config` or `GATOSD_CONFIG`). */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, cwd: string): DaemonConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        repo: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        token: { type: 'string' },
        actor: { type: 'string' },
        config: { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'max-batch': { type: 'string' },
        'poll-ms': { type: 'string' },
        'allowed-hosts': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (values.help) return 'help';
  const file = (values.config as string | undefined) ?? env.GATOSD_CONFIG;
  const raw: Raw = file ? fromFile(resolve(cwd, file)) : {};
  for (const [k, field] of Object.entries(ENV_KEYS)) if (env[k] !== undefined) raw[field] = env[k];
  const flags: Record<string, keyof DaemonConfig> = {
    repo: 'repo',
    host: 'host',
    port: 'port',
    token: 'token',
    actor: 'actor',
    'max-body-bytes': 'maxBodyBytes',
    'max-batch': 'maxBatch',
    'poll-ms': 'pollMs',
    'allowed-hosts': 'allowedHosts',
  };
  for (const [k, field] of Object.entries(flags)) if (values[k] !== undefined) raw[field] = values[k];
  return validateConfig(raw, cwd);
}
