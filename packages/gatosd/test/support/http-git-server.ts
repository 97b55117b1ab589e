/**
 * A small smart-HTTP git server: `git http-backend` run as a CGI program behind `node:http`, serving ONE bare
 * repository. Pushes go through receive-pack, so the repository's hooks (the push-gate) run as for any other
 * transport and their stderr reaches the pusher as `remote: …` lines.
 *
 * This slice has no authentication: it listens on the loopback interface by default and is meant for tests and
 * local use. `remoteUser` lets a caller that did authenticate the request pass the user on as `REMOTE_USER`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Options of {@link startGitHttpServer}. */
export interface GitHttpServerOptions {
  /** The bare repository to serve; it is reachable at `<url>` (`http://host:port/<basename>`). */
  repo: string;
  /** Interface to listen on; default `127.0.0.1` (loopback only). */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Set `http.receivepack=true` in the repository's config so anonymous pushes are served; default true. */
  enableReceivePack?: boolean;
  /** The authenticated user of a request, passed to git as `REMOTE_USER` (none by default). */
  remoteUser?: (req: IncomingMessage) => string | undefined;
  /** The `git` executable; default `git` on PATH. */
  git?: string;
}

/** A running server. */
export interface GitHttpServer {
  /** The repository's URL, e.g. `http://127.0.0.1:40123/srv.git`. */
  url: string;
  port: number;
  /** Requests served so far (for tests and logs). */
  requests: number;
  /** Stops listening, ends idle connections and waits for running `git http-backend` processes. */
  close: () => Promise<void>;
}

/** A parsed CGI response head. */
export interface CgiHead {
  status: number;
  reason: string;
  headers: [string, string][];
}

/**
 * Parses the header block a CGI program printed (RFC 3875 § 6): `Name: value` lines; `Status: 404 Not Found`
 * sets the status (default 200, or 302 with a `Location`).
 */
export function parseCgiHead(text: string): CgiHead {
  let status = 200;
  let reason = 'OK';
  const headers: [string, string][] = [];
  let location = false;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(`malformed CGI header line ${JSON.stringify(line)}`);
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === 'status') {
      const m = /^(\d{3})\s*(.*)$/.exec(value);
      if (!m) throw new Error(`malformed CGI Status ${JSON.stringify(value)}`);
      status = Number(m[1]);
      reason = m[2] || '';
    } else {
      if (name.toLowerCase() === 'location') location = true;
      headers.push([name, value]);
    }
  }
  if (location && status === 200) {
    status = 302;
    reason = 'Found';
  }
  return { status, reason, headers };
}

/** Finds the end of the CGI head in `buf`: index of the body's first byte and the head's length, or null. */
function headEnd(buf: Buffer): { head: number; body: number } | null {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { head: crlf, body: crlf + 4 };
  if (lf >= 0) return { head: lf, body: lf + 2 };
  return null;
}

const MAX_HEAD = 64 * 1024;

/**
 * Starts a smart-HTTP server for the bare repository `opts.repo` (`git http-backend` as CGI with
 * `GIT_PROJECT_ROOT`, `GIT_HTTP_EXPORT_ALL`). Request bodies are streamed to the backend as received; a chunked
 * body is passed without `CONTENT_LENGTH` (the backend reads to end of input) and a gzip body with
 * `HTTP_CONTENT_ENCODING` (the backend inflates it). Only paths under `/<basename of repo>/` are served.
 */
export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  const gitBin = opts.git ?? 'git';
  const repo = resolve(opts.repo);
  const root = dirname(repo);
  const name = basename(repo);
  if (opts.enableReceivePack ?? true) {
    await promisify(execFile)(gitBin, ['config', 'http.receivepack', 'true'], { cwd: repo });
  }
  const children = new Set<ChildProcess>();
  const state = { requests: 0 };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    if (!path.startsWith(`/${name}/`) || path.split('/').some((s) => s === '..' || s === '.')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      req.resume();
      return;
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      SERVER_SOFTWARE: 'gatosd',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: path,
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
    };
    // Only a body of known length carries CONTENT_LENGTH; chunked bodies are read to end of input.
    if (req.headers['content-length'] !== undefined && req.headers['transfer-encoding'] === undefined) {
      env.CONTENT_LENGTH = req.headers['content-length'];
    } else delete env.CONTENT_LENGTH;
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const proto = req.headers['git-protocol'];
    if (typeof proto === 'string') env.GIT_PROTOCOL = proto;
    const user = opts.remoteUser?.(req);
    if (user) env.REMOTE_USER = user;
    else delete env.REMOTE_USER;
    for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY']) delete env[k];

    const child = spawn(gitBin, ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => {
      if (stderr.length < 8192) stderr += d;
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {}); // the backend may exit before reading the whole body
    let head: Buffer | null = Buffer.alloc(0);
    const fail = (msg: string) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`${msg}\n`);
      child.kill();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (head === null) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = headEnd(head);
      if (!end) {
        if (head.length > MAX_HEAD) fail('git http-backend: CGI head too large');
        return;
      }
      let parsed: CgiHead;
      try {
        parsed = parseCgiHead(head.subarray(0, end.head).toString('latin1'));
      } catch (e) {
        fail(`git http-backend: ${(e as Error).message}`);
        return;
      }
      const body = head.subarray(end.body);
      head = null;
      res.statusCode = parsed.status;
      res.statusMessage = parsed.reason || res.statusMessage;
      for (const [k, v] of parsed.headers) res.appendHeader(k, v);
      if (body.length > 0) res.write(body);
    });
    child.on('close', (code) => {
      children.delete(child);
      if (head !== null) {
        fail(`git http-backend exited (${code}) without a response: ${stderr.trim()}`);
        return;
      }
      res.end();
    });
    child.on('error', (e) => {
      children.delete(child);
      fail(`git http-backend: ${e.message}`);
    });
    res.on('close', () => {
      if (child.exitCode === null && !res.writableFinished) child.kill();
    });
  };

  const server: Server = createServer(handle);
  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', ko);
      ok();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/${encodeURIComponent(name)}`,
    port: addr.port,
    get requests() {
      return state.requests;
    },
    close: async () => {
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      await Promise.all(
        [...children].map(
          (c) => new Promise<void>((ok) => (c.exitCode !== null ? ok() : c.once('close', ok))),
        ),
      );
      server.closeAllConnections();
      await closed;
    },
  };
}
